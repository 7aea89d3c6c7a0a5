"""Supervised adversarial autoencoder on Fashion-MNIST: style and content
(Makhzani et al. 2015, section 6).

`keras_ae.SupervisedAAE` decodes ``[code, one_hot(label)]``: the label carries
the class, the code (matched to a Gaussian prior) the style. We check that
samples ``sample(n, labels=...)`` show their label, by a classifier (an MLP)
trained on the real training images, and save a style x content grid
(`transfer_style`: each row one test image's style, each column a class).

Measured (KERAS_BACKEND=jax, latent_dim 8, batch 100, 2000 samples; the
judge MLP reaches 0.877 on the real test images):

| discriminator | epochs | label agreement | test reconstruction (nats) |
|---|---|---|---|
| codes only (paper, ``--paper-discriminator``) | 5 | 0.369 | 230.5 |
| codes + label (default) | 5 | 0.705 | 238.5 |
| codes + label (default) | 10 | 0.832 | 234.5 |

Run:
    KERAS_BACKEND=jax python examples/aae_supervised_fashion_mnist.py \\
        --epochs 10 --figure style_grid.png

The paper's dataset, where MNIST is available (``keras_ae.datasets.load_data``
finds it under ``$KERAS_AE_DATA`` or Keras's cache): ``--dataset mnist``.
"""

import argparse
import sys

import keras
import numpy as np

import keras_ae


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--latent-dim", type=int, default=8)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--paper-discriminator", action="store_true",
                        help="label_independent_style=False (codes only)")
    parser.add_argument("--figure", default=None, help="style x content grid (PNG)")
    parser.add_argument("--dataset", default="fashion_mnist", choices=("fashion_mnist", "mnist"))
    args = parser.parse_args()
    try:
        (x, y), (x_test, y_test) = keras_ae.datasets.load_data(args.dataset)
    except keras_ae.datasets.DatasetNotFoundError as error:
        sys.exit(f"{args.dataset} is not available here: {error}")
    model = keras_ae.SupervisedAAE(
        (784,), num_classes=10, latent_dim=args.latent_dim, seed=0,
        label_independent_style=not args.paper_discriminator,
    )
    model.compile()
    model.fit(x, y, epochs=args.epochs, batch_size=100, verbose=2)

    keras.utils.set_random_seed(0)
    judge = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
         keras.layers.Dense(10, activation="softmax")]
    )
    judge.compile("adam", "sparse_categorical_crossentropy")
    judge.fit(x, y, epochs=5, batch_size=128, verbose=0)
    real_acc = np.mean(np.argmax(judge.predict(x_test, verbose=0), 1) == y_test)

    labels = np.arange(args.samples) % 10
    samples = model.sample(args.samples, labels=labels, seed=0)
    agree = np.mean(np.argmax(judge.predict(samples, verbose=0), 1) == labels)
    rec = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["reconstruction_loss"]
    print(f"classifier test accuracy on real images {real_acc:.4f}")
    print(f"label agreement of {args.samples} samples {agree:.4f}")
    print(f"test reconstruction loss {rec:.2f}")
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        grid = model.transfer_style(x_test[:8])  # (8, 10, 784)
        fig, axes = plt.subplots(8, 11, figsize=(11, 8))
        for i in range(8):
            axes[i, 0].imshow(x_test[i].reshape(28, 28), cmap="gray")
            for j in range(10):
                axes[i, j + 1].imshow(grid[i, j].reshape(28, 28), cmap="gray")
        for ax in axes.flat:
            ax.axis("off")
        fig.savefig(args.figure, dpi=80)


if __name__ == "__main__":
    main()
