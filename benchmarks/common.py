"""Framework-free parts of the benchmark, shared by every runner.

This module imports only NumPy and the standard library, so that the pythae
runner (in its own virtualenv, with PyTorch) uses exactly the same data,
timing rules, metrics and JSON format as the Keras runners.

A runner is a script that trains one model once and prints one line
``BENCH_RESULT {json}`` on stdout. It is started by ``run.py``, one process per
(framework, model, thread setting, repeat), so that thread settings are clean.
"""

import argparse
import gzip
import json
import math
import os
import resource
import sys
import time

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
RESULT_PREFIX = "BENCH_RESULT "

#: Model ids. "aae-paper" is Makhzani et al.'s three phases per batch;
#: "aae-joint" is pythae's single joint update (one forward pass, the
#: autoencoder and the discriminator optimizers step together).
MODELS = ("ae", "dae", "sae", "vae", "aae-paper", "aae-joint")
ALIASES = {"aae": ("aae-paper", "aae-joint")}

LATENT_DIM = 32
HIDDEN_UNITS = (512, 256)
DISCRIMINATOR_UNITS = (256, 256)
LEARNING_RATE = 1e-3
BATCH_SIZE = 128
MASKING_RATE = 0.3
L1_SPARSITY = 1e-4
#: pythae's Adversarial_AE default: autoencoder loss = rec + 0.5 * generator BCE.
ADVERSARIAL_LOSS_SCALE = 0.5
QUICK_TRAIN, QUICK_TEST = 2048, 512
PROBE_TRAIN = 10000
EPS = 1e-7


# ----------------------------------------------------------------------- data
def _read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(quick=False, data_dir=None):
    """Fashion-MNIST as float32 in [0, 1], shape (N, 784), plus int labels.

    Args:
        quick: keep the first 2048 training and 512 test examples.
        data_dir: folder of the four idx .gz files (default: the system copy,
            or ``$KERAS_AE_DATA/fashion-mnist`` when that exists).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``.
    """
    if data_dir is None:
        env = os.environ.get("KERAS_AE_DATA")
        cand = os.path.join(env, "fashion-mnist") if env else None
        data_dir = cand if cand and os.path.isdir(cand) else DATA_DIR
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = _read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
        y = _read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
        parts[split] = (
            (x.reshape(len(x), -1).astype("float32") / 255.0),
            y.astype("int64"),
        )
    (x, y), (xt, yt) = parts["train"], parts["test"]
    if quick:
        x, y, xt, yt = x[:QUICK_TRAIN], y[:QUICK_TRAIN], xt[:QUICK_TEST], yt[:QUICK_TEST]
    return (x, y), (xt, yt)


# -------------------------------------------------------------------- metrics
def bce_per_image(x, p):
    """Bernoulli NLL summed over pixels (nats/image); p clipped to [1e-7, 1-1e-7]."""
    p = np.clip(p.astype("float32"), EPS, 1.0 - EPS)
    x = x.astype("float32")
    return -(x * np.log(p) + (1.0 - x) * np.log1p(-p)).sum(axis=1)


def reconstruction_metrics(x, x_hat):
    return {
        "test_bce": float(np.mean(bce_per_image(x, x_hat))),
        "test_mse": float(np.mean((x.astype("float64") - x_hat) ** 2)),
    }


def _logsumexp(a, axis=0):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def vae_bounds(x, mu, log_var, decode, num_samples, seed=0, rows=20000):
    """One-sample -ELBO and the IWAE-k estimate of log p(x), in nats/image.

    The same estimator for every framework: eps is drawn with NumPy, z is
    decoded by the framework's ``decode(z) -> probabilities``, the Bernoulli
    log-likelihood uses the clipped probabilities of `bce_per_image`.

    Args:
        x: data, (N, D).
        mu, log_var: the encoder's posterior, (N, d).
        decode: callable mapping (M, d) float32 codes to (M, D) probabilities.
        num_samples: K importance samples.
        seed: NumPy seed for eps.
        rows: at most this many (example, sample) pairs per decode call.

    Returns:
        dict with ``neg_elbo`` (analytic KL, one sample) and
        ``log_likelihood`` (IWAE-K, mean over examples) and ``iwae_k``.
    """
    rng = np.random.default_rng(seed)
    n, d = mu.shape
    std = np.exp(0.5 * log_var)
    kl = -0.5 * np.sum(1.0 + log_var - mu**2 - np.exp(log_var), axis=1)
    # -ELBO with one sample.
    eps = rng.standard_normal((n, d)).astype("float32")
    log_px1 = np.concatenate(
        [
            -bce_per_image(x[i : i + rows], decode(mu[i : i + rows] + std[i : i + rows] * eps[i : i + rows]))
            for i in range(0, n, rows)
        ]
    )
    neg_elbo = float(np.mean(kl - log_px1))
    # IWAE-K.
    chunk = max(1, rows // num_samples)
    ll = []
    for i in range(0, n, chunk):
        xb, mb, sb, lb = x[i : i + chunk], mu[i : i + chunk], std[i : i + chunk], log_var[i : i + chunk]
        b = len(xb)
        e = rng.standard_normal((num_samples, b, d)).astype("float32")
        z = mb[None] + sb[None] * e
        probs = decode(z.reshape(-1, d)).reshape(num_samples, b, -1)
        log_px = -bce_per_image(np.broadcast_to(xb[None], probs.shape).reshape(-1, probs.shape[-1]), probs.reshape(-1, probs.shape[-1])).reshape(num_samples, b)
        log_pz = -0.5 * np.sum(z**2 + math.log(2 * math.pi), axis=-1)
        log_qz = -0.5 * np.sum(e**2 + lb[None] + math.log(2 * math.pi), axis=-1)
        ll.append(_logsumexp(log_px + log_pz - log_qz, axis=0) - math.log(num_samples))
    return {
        "neg_elbo": neg_elbo,
        "log_likelihood": float(np.mean(np.concatenate(ll))),
        "iwae_k": int(num_samples),
    }


# ---------------------------------------------------------------------- FLOPs
def _macs(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def train_flops_per_sample(model, features=784):
    """Approximate training FLOPs per example (dense matmuls only).

    A trained network costs 3x its forward pass (forward, input grads, weight
    grads) = 6 FLOPs per multiply-add; a forward-only pass costs 2. Biases,
    activations, losses and optimizer updates are ignored.
    """
    enc = _macs((features,) + HIDDEN_UNITS + (LATENT_DIM,))
    dec = _macs((LATENT_DIM,) + HIDDEN_UNITS[::-1] + (features,))
    disc = _macs((LATENT_DIM,) + DISCRIMINATOR_UNITS + (1,))
    if model in ("ae", "dae", "sae"):
        return 6 * (enc + dec)
    if model == "vae":
        return 6 * (enc + HIDDEN_UNITS[-1] * LATENT_DIM + dec)
    if model == "aae-joint":
        # AE step through D(z); D on the prior and on stop_gradient(z).
        return 6 * (enc + dec) + 3 * 6 * disc
    if model == "aae-paper":
        # reconstruction (enc+dec), discriminator (enc forward, D on 2 batches),
        # generator (enc trained through D).
        return 6 * (enc + dec) + 2 * enc + 2 * 6 * disc + 6 * enc + 6 * disc
    raise ValueError(f"Unknown model. Received: model={model!r}")


# --------------------------------------------------------------------- timing
class Recorder:
    """Wall and CPU time per epoch, plus a warm-up mark inside epoch 1.

    Steady state: with two or more epochs, epochs 2..N; with one epoch, from
    the end of step ``warmup_steps`` to the end of the epoch (so tracing and
    the first steps are excluded either way).
    """

    def __init__(self, warmup_steps):
        self.warmup_steps = warmup_steps
        self.epochs = []  # (wall, cpu)
        self.mark = None  # (steps_done, wall, cpu) in epoch 1
        self._t0 = self._c0 = None
        self._end = None

    def epoch_begin(self):
        self._t0, self._c0 = time.perf_counter(), time.process_time()

    def batch_end(self, steps_done):
        if not self.epochs and self.mark is None and steps_done >= self.warmup_steps:
            self.mark = (steps_done, time.perf_counter(), time.process_time())

    def epoch_end(self):
        t, c = time.perf_counter(), time.process_time()
        if not self.epochs:
            self._end = (t, c)
        self.epochs.append((t - self._t0, c - self._c0))

    def summary(self, n_train, batch_size):
        walls = [w for w, _ in self.epochs]
        cpus = [c for _, c in self.epochs]
        out = {
            "epoch_wall_s": walls,
            "epoch_cpu_s": cpus,
            "first_epoch_wall_s": walls[0] if walls else None,
        }
        if len(self.epochs) >= 2:
            samples = n_train * (len(self.epochs) - 1)
            wall, cpu = sum(walls[1:]), sum(cpus[1:])
            out["steady_rule"] = "epochs 2..N"
        elif self.mark is not None:
            steps, tw, cw = self.mark
            samples = max(0, n_train - steps * batch_size)
            wall, cpu = self._end[0] - tw, self._end[1] - cw
            out["steady_rule"] = f"epoch 1 after {steps} warm-up steps"
        else:
            samples, wall, cpu = n_train, walls[0], cpus[0]
            out["steady_rule"] = "epoch 1 (no warm-up mark)"
        out.update(
            steady_samples=samples,
            steady_wall_s=wall,
            steady_cpu_s=cpu,
            samples_per_s=samples / wall if wall > 0 else None,
            samples_per_cpu_s=samples / cpu if cpu > 0 else None,
            s_per_epoch=n_train * wall / samples if samples else None,
        )
        return out


def warmup_steps(n_train, batch_size):
    steps = math.ceil(n_train / batch_size)
    return min(20, max(1, steps // 5))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------- runner CLI
def runner_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", required=True, choices=MODELS)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    p.add_argument("--threads", default="default", help="'default' or an integer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--variant", default="base")
    p.add_argument("--activation", default="relu")
    p.add_argument("--iwae-k", type=int, default=100)
    p.add_argument("--codes-out", default=None, help="write probe codes (.npz) here")
    p.add_argument("--matmul-size", type=int, default=None)
    return p


def thread_env(threads):
    """Environment variables that pin a child process to ``threads`` threads."""
    if threads == "default":
        return {}
    n = str(int(threads))
    return {
        "OMP_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "TF_NUM_INTRAOP_THREADS": n,
        "TF_NUM_INTEROP_THREADS": n,
    }


def evaluate_and_report(args, framework, adapter, data, timing, extra=None):
    """Shared evaluation and the ``BENCH_RESULT`` line.

    Args:
        args: parsed runner arguments.
        framework: ``"plain_keras"``, ``"keras_ae"`` or ``"pythae"``.
        adapter: object with ``encode(x)``, ``reconstruct(x)`` (probabilities)
            and, for the VAE, ``posterior(x) -> (mu, log_var)`` and
            ``decode(z) -> probabilities``; optional ``matmul_peak(size)``.
        data: ``((x, y), (x_test, y_test))``.
        timing: `Recorder.summary` output.
        extra: more fields for the JSON (versions, notes, ...).
    """
    (x, y), (xt, yt) = data
    rss_train = peak_rss_mb()
    t0 = time.perf_counter()
    metrics = reconstruction_metrics(xt, adapter.reconstruct(xt))
    if args.model == "vae":
        mu, log_var = adapter.posterior(xt)
        metrics.update(vae_bounds(xt, mu, log_var, adapter.decode, args.iwae_k, seed=args.seed))
    n_probe = min(PROBE_TRAIN, len(x))
    if args.codes_out:
        np.savez_compressed(
            args.codes_out,
            train=adapter.encode(x[:n_probe]).astype("float32"),
            train_labels=y[:n_probe],
            test=adapter.encode(xt).astype("float32"),
            test_labels=yt,
        )
    eval_s = time.perf_counter() - t0
    size = args.matmul_size or (1024 if args.quick else 2048)
    peak = adapter.matmul_peak(size) if hasattr(adapter, "matmul_peak") else None
    result = {
        "framework": framework,
        "model": args.model,
        "variant": args.variant,
        "threads": args.threads,
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "n_train": len(x),
        "n_test": len(xt),
        "quick": bool(args.quick),
        "activation": args.activation,
        "timing": timing,
        "metrics": metrics,
        "train_flops_per_sample": train_flops_per_sample(args.model, x.shape[1]),
        "peak_rss_train_mb": rss_train,
        "peak_rss_mb": peak_rss_mb(),
        "eval_s": eval_s,
        "matmul_peak_gflops": peak,
        "matmul_size": size,
        "python": sys.version.split()[0],
    }
    if extra:
        result.update(extra)
    emit(result)
    return result


def emit(result):
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def write_json_line(row, path=None):
    """Prints ``row`` as one JSON line and, with ``path``, appends it there
    (a ``.jsonl`` results file that successive runs extend)."""
    line = json.dumps(row)
    print(line, flush=True)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def emit_skip(args, framework, reason):
    """Reports a run that could not happen (e.g. a model class is missing)."""
    emit(
        {
            "framework": framework,
            "model": args.model,
            "variant": args.variant,
            "threads": args.threads,
            "seed": args.seed,
            "skipped": reason,
        }
    )
