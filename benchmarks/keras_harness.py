"""Keras-side harness shared by the plain-Keras and keras_ae runners.

Thread pinning (before TensorFlow starts), the timing callback, the fit
settings under comparison (``--variant``) and a dense-matmul peak. Nothing
here changes what a model computes; both Keras runners go through the same
code, so the only difference between them is the model itself.

Variants (joined with ``+``, e.g. ``spe=8+tfdata``):

* ``base``: ``fit(numpy)`` with the compile defaults;
* ``spe=N``: ``compile(steps_per_execution=N)``;
* ``jit`` / ``nojit``: ``compile(jit_compile=True/False)``;
* ``tfdata``: a ``tf.data`` pipeline (cache, shuffle, batch, prefetch)
  instead of NumPy arrays;
* ``bs=N``: batch size N (changes the optimisation budget: read its
  quality metrics, not only its speed).
"""

import os

import common


def setup_threads(threads):
    """Pins TensorFlow's thread pools; call before any TensorFlow op runs."""
    import tensorflow as tf

    if threads != "default":
        n = int(threads)
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    return tf


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
    import tensorflow as tf

    bs = batch_size(args)
    v = parse_variant(args.variant)
    recorder = common.Recorder(common.warmup_steps(len(x), bs))
    cb = make_timing_callback(recorder)
    if v.get("tfdata"):
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
    """Best dense float32 matmul GFLOP/s of TensorFlow at the current threads."""
    import time

    import tensorflow as tf

    reps = reps or (3 if size <= 1024 else 5)
    a = tf.random.uniform((size, size), seed=1)
    b = tf.random.uniform((size, size), seed=2)
    mm = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    mm(a, b).numpy()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        mm(a, b).numpy()
        best = min(best, time.perf_counter() - t)
    return 2.0 * size**3 / best / 1e9


def versions():
    import keras
    import numpy as np
    import tensorflow as tf

    return {
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "tf_threads": {
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads(),
        },
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
