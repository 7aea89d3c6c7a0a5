"""Two workers on loopback train like one process (docs/design.md, trap 11).

The test starts two processes running tests/multiworker_worker.py with a
``TF_CONFIG`` naming both (ports picked free), each with one CPU device and a
`MultiWorkerMirroredStrategy`. Each worker trains every model case with
`fit` for a few SGD steps, feeding its own shard of every global batch.
Both workers must end with identical weights, equal (<= 1e-5) to a
single-process run over the same global batches with every random draw held
fixed; the logged losses must match too. Plain Keras 3.15 `fit` fails under
`MultiWorkerMirroredStrategy` reducing scalar logs (tf#72388): keras_ae's
workaround (`distribute.shape_logs_for_reduction`) is what lets `fit` run.

The workers are always killed in a ``finally`` and every wait is bounded.
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
import pytest

import multiworker_worker as worker
from harness import one_per_class
from harness import compile_sgd
from harness import weights_of

pytestmark = pytest.mark.multiworker

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "multiworker_worker.py")
NUM_WORKERS = 2
TIMEOUT = 240  # seconds for both workers, start-up included

# One case per model class (the first of each), plus one noisy run.
CASES = one_per_class()
NOISY = [c for c in CASES if c.stochastic][:1]


def _free_ports(n):
    """``n`` distinct free TCP ports on 127.0.0.1 (bound to port 0, released)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _tail(path, n=3000):
    with open(path, errors="replace") as f:
        return f.read()[-n:]


def _run_workers(out_dir, runs):
    ports = _free_ports(NUM_WORKERS)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs, logs = [], []
    try:
        for index in range(NUM_WORKERS):
            tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            env = dict(
                os.environ,
                TF_CONFIG=json.dumps(tf_config),
                TF_CPP_MIN_LOG_LEVEL="2",
                CUDA_VISIBLE_DEVICES="-1",
            )
            log_path = os.path.join(out_dir, f"worker{index}.log")
            logs.append(log_path)
            with open(log_path, "w") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, WORKER, out_dir, *runs],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        cwd=os.path.dirname(WORKER),
                    )
                )
        deadline = time.monotonic() + TIMEOUT
        for proc in procs:
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"workers did not finish within {TIMEOUT}s:\n"
                    + "\n".join(_tail(p) for p in logs)
                )
        for index, proc in enumerate(procs):
            assert proc.returncode == 0, (
                f"worker {index} exited with {proc.returncode}:\n{_tail(logs[index])}"
            )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def _load(out_dir, run, index):
    path = os.path.join(out_dir, f"{run.replace(':', '_')}.worker{index}.npz")
    with np.load(path) as f:
        weights = [f[f"w{i}"] for i in range(sum(k.startswith("w") for k in f.files))]
        logs = {k[4:]: f[k] for k in f.files if k.startswith("log_")}
    return weights, logs


def _single_process(case):
    """The same global batches, one process, no strategy."""
    model = compile_sgd(case.make_fixed(), worker.LEARNING_RATE)
    start = weights_of(model)
    data = worker.global_batches(case.x)
    if model.accepts_datasets:
        # A dataset as on the workers (an array would also fit the VQ-VAE's
        # prior after training, which a dataset-trained model does not).
        data = tf.data.Dataset.from_tensor_slices(data).batch(worker.GLOBAL_BATCH)
    history = model.fit(
        data, batch_size=worker.GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0
    )
    return start, weights_of(model), history.history


@pytest.fixture(scope="module")
def worker_results(tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp("multiworker"))
    runs = [c.id for c in CASES] + [f"{c.id}:noisy" for c in NOISY]
    start = time.monotonic()
    _run_workers(out_dir, runs)
    print(f"two workers, {len(runs)} runs: {time.monotonic() - start:.1f}s")
    return out_dir


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_two_workers_match_single_process(case, worker_results):
    start, expected, expected_logs = _single_process(case)
    step = max(float(np.max(np.abs(a - b))) for a, b in zip(expected, start))
    assert step > 1e-2, f"the steps are too small to test anything: {step}"
    results = [_load(worker_results, case.id, i) for i in range(NUM_WORKERS)]
    (w0, logs0), (w1, logs1) = results
    assert len(w0) == len(w1) == len(expected)
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)  # workers in sync
    for got, want in zip(w0, expected):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    # `fit` ran and logged the global-batch means (trap 11 worked around).
    assert set(logs0) == set(expected_logs)
    for name, values in expected_logs.items():
        np.testing.assert_allclose(logs0[name], values, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(logs1[name], values, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", NOISY, ids=lambda c: c.id)
def test_two_workers_stay_in_sync_with_noise_on(case, worker_results):
    """Independent draws per worker, yet one all-reduced update: same weights."""
    (w0, logs0), (w1, _) = [_load(worker_results, f"{case.id}:noisy", i) for i in range(2)]
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)
    fixed, _ = _load(worker_results, case.id, 0)
    assert any(not np.allclose(a, b, atol=1e-6) for a, b in zip(w0, fixed))
    assert all(np.all(np.isfinite(v)) for v in logs0.values())


@pytest.mark.slow
def test_multi_worker_example_runs(tmp_path):
    """examples/multi_worker.py starts two local workers and saves the model."""
    script = os.path.join(os.path.dirname(WORKER), "..", "examples", "multi_worker.py")
    out = tmp_path / "out"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1")
    env.pop("TF_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, script, "--data", "digits", "--model", "vae", "--epochs", "1",
         "--steps-per-epoch", "3", "--eval-steps", "1", "--batch-size", "32",
         "--timeout", str(TIMEOUT), "--out", str(out)],
        capture_output=True, text=True, timeout=TIMEOUT + 60, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 replicas" in proc.stdout and "Saved" in proc.stdout, proc.stdout
    import keras

    import keras_ae  # noqa: F401  (registers the classes)

    model = keras.models.load_model(str(out / "vae.keras"))
    assert model.input_shape == (64,)
