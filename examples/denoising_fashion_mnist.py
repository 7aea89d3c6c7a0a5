"""
Title: Denoising Fashion-MNIST: a denoising autoencoder against a plain one
Description: Train `keras_ae.DenoisingAutoencoder` and a plain
`keras_ae.Autoencoder` of the same shape on the same budget, corrupt the test
images with Gaussian noise, and measure how close each gets to the clean
images.

## Introduction

A denoising autoencoder (Vincent et al. 2008, 2010) is trained to undo a
corruption: every training batch is corrupted afresh, and the loss compares
the reconstruction with the *clean* image. It must therefore learn what
clothes look like rather than copy pixels, which is what a plain
autoencoder can get away with.

In `keras_ae` the corruption is a layer inside the model, applied in the
training step only (`training=True`). `fit(x)` is all it takes: there is no
pre-noised copy of the data set, each epoch sees new noise, and `predict`,
`reconstruct`, `evaluate` and exports never add noise.

The comparison in numbers: test images are corrupted by
``clip(x + N(0, 0.5^2), 0, 1)``; we report the per-pixel mean squared error to
the clean test images of

1. the noisy images themselves (doing nothing),
2. a plain `Autoencoder` applied to the noisy images,
3. the `DenoisingAutoencoder` applied to the noisy images,

with the same architecture (784-512-256-32 dense, ReLU, sigmoid output,
binary cross-entropy), optimizer (Adam 1e-3), batch size and number of
epochs.

Run (about 2 minutes on 2 CPU cores; the 5-epoch run gave noisy 0.1176,
plain 0.0714, denoising 0.0190):

```
python examples/denoising_fashion_mnist.py --epochs 5 \\
    --out denoising_fashion_mnist.json --plot denoising_fashion_mnist.png
```

Quick smoke run: ``--epochs 1 --train-examples 5000 --hidden-units 256``.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_ae  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--latent-dim", type=int, default=32)
parser.add_argument("--hidden-units", type=int, nargs="+", default=[512, 256])
parser.add_argument("--noise-std", type=float, default=0.5,
                    help="stddev of the Gaussian corruption (train and test)")
parser.add_argument("--train-examples", type=int, default=None,
                    help="use only the first N training images")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default=None, help="write the figures as JSON")
parser.add_argument("--plot", default=None, help="save a before/after PNG")
parser.add_argument("--save", default=None, help="save the DAE (.keras)")
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)

"""
## Data

`keras_ae.datasets.load_data` returns float32 images in [0, 1], flattened to
784 features. The last 5,000 training images are held out for validation;
the test set is only used for the final numbers.

The test corruption is fixed once (seeded NumPy draws), so every model is
scored on exactly the same noisy images.
"""

(x_train, _), (x_test, _) = keras_ae.datasets.load_data("fashion_mnist")
x_train, x_val = x_train[:-5000], x_train[-5000:]
if args.train_examples:
    x_train = x_train[: args.train_examples]
rng = np.random.default_rng(args.seed)


def corrupt(x):
    """The test corruption: clip(x + N(0, std^2), 0, 1)."""
    noisy = x + rng.normal(0.0, args.noise_std, size=x.shape)
    return np.clip(noisy, 0.0, 1.0).astype("float32")


x_val_noisy = corrupt(x_val)
x_test_noisy = corrupt(x_test)
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

"""
## The models

Both models share every constructor argument but the corruption. The
`DenoisingAutoencoder` takes the corruption as a layer:
`keras_ae.layers.GaussianNoise(0.5, clip=(0, 1))` is the same corruption as
the test one, drawn anew for every batch. String shortcuts exist too
(``noise="gaussian", noise_level=0.5`` gives unclipped Gaussian noise;
``"masking"`` and ``"salt_and_pepper"`` are Vincent et al.'s other two).
"""

shape = dict(
    input_shape=(784,),
    latent_dim=args.latent_dim,
    hidden_units=tuple(args.hidden_units),
    seed=args.seed,
)
plain = keras_ae.Autoencoder(**shape, name="plain_autoencoder")
dae = keras_ae.DenoisingAutoencoder(
    **shape,
    noise=keras_ae.layers.GaussianNoise(args.noise_std, clip=(0.0, 1.0), seed=args.seed),
    name="denoising_autoencoder",
)
dae.summary()

"""
## Training

Same optimizer, batch size and epochs for both. Both are validated on the
*noisy* held-out images against the *clean* ones: ``validation_data=(noisy,
clean)`` makes `val_mse` the denoising error directly. No noise is added at
validation: the corruption layer is off outside the training step.
"""

budget = dict(epochs=args.epochs, batch_size=args.batch_size, verbose=2)
seconds = {}
histories = {}
for model in (plain, dae):
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    start = time.perf_counter()
    histories[model.name] = model.fit(
        x_train, validation_data=(x_val_noisy, x_val), **budget
    ).history
    seconds[model.name] = time.perf_counter() - start

"""
## Evaluation

The per-pixel MSE to the clean test images, for the three candidates. The
denoising autoencoder is also scored on the *clean* test images: it was never
trained on them, and it is worth knowing what it does to an image that needs
no denoising.
"""


def mse(a, b):
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


figures = {
    "architecture": f"784-{'-'.join(map(str, args.hidden_units))}-{args.latent_dim} dense",
    "budget": {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": "Adam(1e-3)",
        "train_examples": len(x_train),
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    },
    "corruption": f"clip(x + N(0, {args.noise_std}^2), 0, 1)",
    "mse_noisy_input": mse(x_test_noisy, x_test),
    "mse_plain_autoencoder": mse(plain.reconstruct(x_test_noisy), x_test),
    "mse_denoising_autoencoder": mse(dae.reconstruct(x_test_noisy), x_test),
    "mse_plain_autoencoder_clean_input": mse(plain.reconstruct(x_test), x_test),
    "mse_denoising_autoencoder_clean_input": mse(dae.reconstruct(x_test), x_test),
}
print(f"test MSE to the clean images ({figures['corruption']}):")
print(f"  noisy input:               {figures['mse_noisy_input']:.4f}")
print(f"  plain Autoencoder:         {figures['mse_plain_autoencoder']:.4f}")
print(f"  DenoisingAutoencoder:      {figures['mse_denoising_autoencoder']:.4f}")
print(f"on clean inputs: plain {figures['mse_plain_autoencoder_clean_input']:.4f}, "
      f"denoising {figures['mse_denoising_autoencoder_clean_input']:.4f}")
print(f"training seconds: {figures['budget']['seconds']}")
if args.out:
    with open(args.out, "w") as f:
        json.dump(figures, f, indent=2)

"""
## Before and after

Four rows: clean test images, their noisy versions, the plain autoencoder's
output and the denoising autoencoder's output.
"""

if args.plot:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 10
    rows = [
        ("clean", x_test[:n]),
        ("noisy", x_test_noisy[:n]),
        ("plain AE", plain.reconstruct(x_test_noisy[:n])),
        ("denoising AE", dae.reconstruct(x_test_noisy[:n])),
    ]
    fig, axes = plt.subplots(len(rows), n, figsize=(n, len(rows) * 1.1))
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            axes[r, c].imshow(images[c].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            axes[r, c].axis("off")
        axes[r, 0].set_title(label, fontsize=8, loc="left")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    print(f"saved {args.plot}")

"""
## Saving

The whole model, the corruption layer and its random state included, saves to
one `.keras` file and reloads with `keras.models.load_model` (safe mode);
training resumed from it continues the same noise stream.
"""

if args.save:
    dae.save(args.save)
    reloaded = keras.models.load_model(args.save)
    np.testing.assert_allclose(
        reloaded.reconstruct(x_test_noisy[:100]), dae.reconstruct(x_test_noisy[:100]),
        atol=1e-6,
    )
    print(f"saved and reloaded {args.save}")
