"""Smoke runs of the zoo/CLI examples with tiny budgets (slow: subprocesses)."""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args, cwd):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, timeout=600, cwd=cwd,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_export_and_serve(tmp_path):
    out = run_example("export_and_serve.py", "--epochs", "2", "--out",
                      str(tmp_path / "vae"), cwd=tmp_path)
    assert "imported keras_ae: False" in out
    assert "load_encoder(export) matches vae.encode" in out


@pytest.mark.slow
def test_zoo_encoder_transfer(tmp_path):
    out = run_example("zoo_encoder_transfer.py", "--epochs", "2", "--labels", "50",
                      "--save", str(tmp_path / "clf.keras"), cwd=tmp_path)
    assert "from scratch" in out and "saved and reloaded" in out


@pytest.mark.slow
def test_anomaly_detection(tmp_path):
    out = run_example("anomaly_detection.py", "--epochs", "1", "--out",
                      str(tmp_path), cwd=tmp_path)
    assert "ROC AUC" in out
    assert (tmp_path / "scores.png").exists() and (tmp_path / "most_anomalous.png").exists()


@pytest.mark.slow
def test_autoencoder_fashion_mnist(tmp_path):
    out = run_example("autoencoder_fashion_mnist.py", "--epochs", "1", "--train-examples",
                      "2000", "--out", str(tmp_path), cwd=tmp_path)
    assert "PCA(32)" in out
    for name in ("reconstructions.png", "latent_scatter.png", "filters.png",
                 "training_curves.png", "autoencoder.keras"):
        assert (tmp_path / name).exists(), name
