"""`Dataset`: the arrays of one dataset, and `load_dataset` by name or file.

A named dataset comes with its own test split; a user's ``.npz`` without one
has its last 10% held out as the test split.
"""

import dataclasses
import os

import numpy as np

from keras_ae.datasets.catalog import DATASETS
from keras_ae.datasets.catalog import IMAGE_SHAPES
from keras_ae.datasets.load import load_data
from keras_ae.datasets.readers import load_npz

#: Fraction of a test-less ``.npz`` held out as its test split.
HOLDOUT_FRACTION = 0.1


@dataclasses.dataclass
class Dataset:
    """Arrays of one dataset plus what is needed to describe and plot it."""

    name: str
    source: str
    x_train: np.ndarray
    y_train: object
    x_test: np.ndarray
    y_test: object
    image_shape: object = None
    note: str = None

    @property
    def input_shape(self):
        return tuple(self.x_train.shape[1:])

    def describe(self):
        text = (
            f"{self.name}: {len(self.x_train)} train / {len(self.x_test)} test "
            f"examples of shape {self.input_shape}, float32 in [0, 1] ({self.source})"
        )
        return text + (f"; {self.note}" if self.note else "")


def load_dataset(spec, *, flatten=True):
    """Loads ``spec``: a name of `keras_ae.DATASETS` or a ``.npz`` path.

    A ``.npz`` is read by `keras_ae.load_npz` (``allow_pickle=False``);
    if it has no test part, its last 10% is held out as the test split.

    Args:
        spec: dataset name or path.
        flatten: flatten examples to vectors (dense models).

    Returns:
        A `Dataset`.

    Raises:
        FileNotFoundError: ``spec`` is neither a known name nor a file.
        ValueError: the file is not a valid dataset ``.npz``.
    """
    spec = os.fspath(spec)
    if spec in DATASETS:
        (x, y), (x_test, y_test) = load_data(spec, flatten=flatten)
        return Dataset(
            spec, f"keras_ae.load_data({spec!r})", x, y, x_test, y_test,
            image_shape=IMAGE_SHAPES[spec],
        )
    if not os.path.exists(spec):
        raise FileNotFoundError(
            f"No dataset named {spec!r} and no such file. Use one of "
            f"{', '.join(DATASETS)} or a path to an .npz file."
        )
    if os.path.isdir(spec) or not spec.endswith(".npz"):
        raise ValueError(
            f"Expected a dataset name or an .npz file (keys x_train/x_test or x). "
            f"Received: dataset={spec!r}"
        )
    (x, y), (x_test, y_test) = load_npz(spec, flatten=False)
    # Images come as (N, H, W, C); flat vectors keep plotting's own inference.
    image_shape = tuple(x.shape[1:]) if x.ndim == 4 else None
    note = None
    if x_test is None:
        n_test = max(1, int(round(HOLDOUT_FRACTION * len(x))))
        if len(x) - n_test < 1:
            raise ValueError(
                f"{spec!r} holds too few examples to hold out a test split. "
                f"Received: {len(x)} example(s)"
            )
        x, x_test = x[:-n_test], x[-n_test:]
        if y is not None:
            y, y_test = y[:-n_test], y[-n_test:]
        note = f"no test split in the file: its last {n_test} examples are the test split"
    if flatten:
        x, x_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)
    name = os.path.splitext(os.path.basename(spec))[0]
    return Dataset(name, os.path.abspath(spec), x, y, x_test, y_test, image_shape, note)


def fit_to_model(x, input_shape):
    """Reshapes ``x`` to ``(N,) + input_shape`` when only the layout differs."""
    input_shape = tuple(input_shape)
    if tuple(x.shape[1:]) != input_shape and int(np.prod(x.shape[1:])) == int(
        np.prod(input_shape)
    ):
        return x.reshape((len(x),) + input_shape)
    return x
