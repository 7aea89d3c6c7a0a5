"""Keras-side harness shared by the plain-Keras and keras_ae runners.

Backend selection and thread pinning (before the backend starts), the timing
callback, the fit settings under comparison (``--variant``) and a dense-matmul
peak of the backend. Nothing here changes what a model computes; both Keras
runners go through the same code, so the only difference between them is the
model itself.

Backends: ``--backend tensorflow|jax|torch`` (default: ``$KERAS_BACKEND``,
else TensorFlow) sets ``KERAS_BACKEND`` before Keras is imported; ``run.py``
sets it in the child's environment and passes the flag too. ``--threads N``
pins each backend the way its users do:

* TensorFlow: intra- and inter-op thread pools of N threads;
* JAX: the process is restricted to N CPUs (``sched_setaffinity``; XLA sizes
  its CPU thread pool from the CPUs it may run on) and, for N = 1, XLA's
  multi-threaded Eigen kernels are switched off
  (``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``);
* torch: ``torch.set_num_threads(N)`` and ``set_num_interop_threads(N)``.

``run.py`` also sets ``OMP_NUM_THREADS`` and friends for every backend.

Variants (joined with ``+``, e.g. ``spe=8+tfdata``):

* ``base``: ``fit(numpy)`` with the compile defaults;
* ``spe=N``: ``compile(steps_per_execution=N)``;
* ``jit`` / ``nojit``: ``compile(jit_compile=True/False)`` (XLA on TensorFlow,
  ``torch.compile`` on torch; JAX always compiles with XLA);
* ``tfdata``: a ``tf.data`` pipeline (cache, shuffle, batch, prefetch)
  instead of NumPy arrays (Keras feeds it to every backend);
* ``bs=N``: batch size N (changes the optimisation budget: read its
  quality metrics, not only its speed).
"""

import os

import common

BACKENDS = ("tensorflow", "jax", "torch")


def add_backend_argument(parser):
    """Adds ``--backend`` to a Keras runner's argument parser."""
    parser.add_argument(
        "--backend",
        default=os.environ.get("KERAS_BACKEND") or "tensorflow",
        choices=BACKENDS,
        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)",
    )
    return parser


def runner_parser(description):
    """`common.runner_parser` plus ``--backend``."""
    return add_backend_argument(common.runner_parser(description))


def setup(args):
    """Selects the backend and pins its threads; call before Keras is imported.

    Returns the imported ``keras`` module, checked to run on ``args.backend``.
    """
    os.environ["KERAS_BACKEND"] = args.backend
    setup_threads(args.threads, args.backend)
    import keras

    if keras.backend.backend() != args.backend:
        raise RuntimeError(
            f"Keras runs on {keras.backend.backend()!r}, not on the requested backend "
            f"{args.backend!r}: Keras was imported before keras_harness.setup()."
        )
    return keras


def setup_threads(threads, backend="tensorflow"):
    """Pins the backend's thread pools; call before the backend runs any op."""
    if backend == "tensorflow":
        import tensorflow as tf

        if threads != "default":
            n = int(threads)
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(n)
        return
    if threads == "default":
        return
    n = int(threads)
    if backend == "jax":
        if hasattr(os, "sched_setaffinity"):
            cpus = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(0, cpus[:n])
        if n == 1:
            flags = os.environ.get("XLA_FLAGS", "")
            os.environ["XLA_FLAGS"] = (
                flags + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            ).strip()
    elif backend == "torch":
        import torch

        torch.set_num_threads(n)
        torch.set_num_interop_threads(n)
    else:
        raise ValueError(f"Unknown backend. Received: backend={backend!r}")


def parse_variant(variant):
    """``"spe=8+tfdata"`` -> ``{"spe": 8, "tfdata": True}``."""
    out = {}
    for part in filter(None, variant.split("+")):
        if part == "base":
            continue
        if part in ("jit", "nojit", "tfdata"):
            out[part] = True
        elif part.startswith("spe="):
            out["spe"] = int(part[4:])
        elif part.startswith("bs="):
            out["bs"] = int(part[3:])
        else:
            raise ValueError(
                "Unknown variant part; use base, spe=N, jit, nojit, tfdata, bs=N "
                f"joined with '+'. Received: variant={variant!r}"
            )
    return out


def unsupported(variant, backend):
    """Why a fit setting cannot run on ``backend`` (None when it can)."""
    if parse_variant(variant).get("spe", 1) > 1 and backend == "torch":
        return "steps_per_execution > 1 is not supported by Keras on the torch backend"
    return None


def compile_kwargs(variant):
    v = parse_variant(variant)
    kw = {}
    if "spe" in v:
        kw["steps_per_execution"] = v["spe"]
    if v.get("jit"):
        kw["jit_compile"] = True
    if v.get("nojit"):
        kw["jit_compile"] = False
    return kw


def batch_size(args):
    return parse_variant(args.variant).get("bs", args.batch_size)


def make_timing_callback(recorder):
    import keras

    class Timing(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            recorder.epoch_begin()

        def on_train_batch_end(self, batch, logs=None):
            recorder.batch_end(batch + 1)

        def on_epoch_end(self, epoch, logs=None):
            recorder.epoch_end()

    return Timing()


def fit_timed(model, x, args, pairs, seed):
    """Fits with the variant's input pipeline and returns the timing summary.

    Args:
        model: a compiled Keras model.
        x: training data (NumPy).
        args: runner arguments (epochs, variant, ...).
        pairs: feed ``(x, x)`` (a plain model with a compiled loss) instead
            of ``x`` alone (models that reconstruct their input).
        seed: shuffle seed of the tf.data pipeline.
    """
    bs = batch_size(args)
    v = parse_variant(args.variant)
    recorder = common.Recorder(common.warmup_steps(len(x), bs))
    cb = make_timing_callback(recorder)
    if v.get("tfdata"):
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices((x, x) if pairs else x)
        ds = (
            ds.cache()
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .batch(bs)
            .prefetch(tf.data.AUTOTUNE)
        )
        model.fit(ds, epochs=args.epochs, verbose=0, callbacks=[cb])
    elif pairs:
        model.fit(x, x, epochs=args.epochs, batch_size=bs, verbose=0, callbacks=[cb])
    else:
        model.fit(x, epochs=args.epochs, batch_size=bs, verbose=0, callbacks=[cb])
    return recorder.summary(len(x), bs)


def matmul_peak(size, reps=None):
    """Best dense float32 matmul GFLOP/s of the Keras backend at the current threads."""
    import time

    import keras

    reps = reps or (3 if size <= 1024 else 5)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        a = tf.random.uniform((size, size), seed=1)
        b = tf.random.uniform((size, size), seed=2)
        mm = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
        run = lambda: mm(a, b).numpy()  # noqa: E731
    elif backend == "jax":
        import jax

        a = jax.random.uniform(jax.random.key(1), (size, size))
        b = jax.random.uniform(jax.random.key(2), (size, size))
        mm = jax.jit(lambda a, b: (a @ b).sum())
        run = lambda: mm(a, b).block_until_ready()  # noqa: E731
    elif backend == "torch":
        import torch

        a, b = torch.rand(size, size), torch.rand(size, size)
        run = lambda: torch.matmul(a, b)  # noqa: E731
    else:
        return None
    run()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t)
    return 2.0 * size**3 / best / 1e9


def versions():
    """Versions, backend and thread settings, for the JSON result."""
    import keras
    import numpy as np

    backend = keras.backend.backend()
    out = {
        "backend": backend,
        "versions": {"keras": keras.__version__, "numpy": np.__version__},
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    if backend == "tensorflow":
        import tensorflow as tf

        out["versions"]["tensorflow"] = tf.__version__
        out["tf_threads"] = {
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads(),
        }
    elif backend == "jax":
        import jax
        import jaxlib

        out["versions"]["jax"] = jax.__version__
        out["versions"]["jaxlib"] = jaxlib.__version__
        out["xla_flags"] = os.environ.get("XLA_FLAGS")
        if hasattr(os, "sched_getaffinity"):
            out["cpu_affinity"] = len(os.sched_getaffinity(0))
    elif backend == "torch":
        import torch

        out["versions"]["torch"] = torch.__version__
        out["torch_threads"] = {
            "intra": torch.get_num_threads(),
            "inter": torch.get_num_interop_threads(),
        }
        # torch's OpenMP threads spin while they wait: on a busy machine with
        # more threads than free cores, that costs several times the compute.
        out["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY")
    return out
