"""Setuptools entry point; metadata lives in setup.cfg.

The pretrained zoo in the repository's ``saved_models/`` folder is shipped as
package data under ``keras_ae/saved_models`` so that ``keras_ae.zoo`` works
from a non-editable install.
"""
import os

from setuptools import find_packages
from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _zoo_files():
    root = os.path.join(HERE, "saved_models")
    files = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            files.append(os.path.relpath(os.path.join(dirpath, name), HERE))
    return files


setup(
    package_dir={"keras_ae": "keras_ae", "keras_ae.saved_models": "saved_models"},
    packages=find_packages(include=["keras_ae", "keras_ae.*"]) + ["keras_ae.saved_models"],
    package_data={"keras_ae.saved_models": ["**/*", "*"]},
)
