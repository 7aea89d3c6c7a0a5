"""Cost of keras_ae's per-batch checks on `tf.data.Dataset` input.

`BaseAutoencoder.fit` wraps a dataset with a map that asserts every batch is
finite (and in [0, 1] for binary cross-entropy). This script trains the
784-512-256-32 Autoencoder on Fashion-MNIST from a `tf.data.Dataset` through
keras_ae's `fit` (checked) and through `keras.Model.fit` on the same model
(unchecked), interleaved, and reports the best steady epoch of each::

    python benchmarks/data_checks.py --epochs 3 --repeats 3
"""

import argparse
import json
import time

import keras
import numpy as np
import tensorflow as tf

import keras_ae


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def one_run(x, checked, epochs, batch_size, seed):
    model = keras_ae.Autoencoder(input_shape=(784,), latent_dim=32, hidden_units=(512, 256), seed=seed)
    model.compile()
    ds = tf.data.Dataset.from_tensor_slices(x).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    timer = _EpochTimer()
    fit = model.fit if checked else (lambda *a, **k: keras.Model.fit(model, *a, **k))
    fit(ds, epochs=epochs, verbose=0, callbacks=[timer])
    return len(x) / min(timer.times[1:] or timer.times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args()
    (x, _), _ = keras_ae.datasets.load_data("fashion_mnist")
    rates = {"checked": [], "unchecked": []}
    for r in range(args.repeats):
        for mode in ("checked", "unchecked") if r % 2 == 0 else ("unchecked", "checked"):
            rates[mode].append(one_run(x, mode == "checked", args.epochs, args.batch_size, r))
    ratios = [c / u for c, u in zip(rates["checked"], rates["unchecked"])]
    print(json.dumps({
        "backend": keras.backend.backend(),
        "samples_per_s": {k: [round(v) for v in vs] for k, vs in rates.items()},
        "checked_over_unchecked_median": round(float(np.median(ratios)), 3),
    }))


if __name__ == "__main__":
    main()
