"""Semi-supervised adversarial autoencoder on Fashion-MNIST (Makhzani et al.
2015, section 7), against the same encoder + softmax trained on the labels
alone.

`keras_ae.SemiSupervisedAAE` reads ``fit(x, labels)`` with ``-1`` for the
unlabelled examples. The labelled examples are repeated (``--repeat``) so that
every batch holds some of them for the classification phase; the baseline is
the model's own encoder (trunk + softmax head), freshly initialised, trained
with Adam(1e-3) on the labelled examples only for as many steps as the AAE
takes (same batch size).

Measured (KERAS_BACKEND=jax, 2 CPU cores shared with other jobs (load
10-16), hidden (512, 256), latent_dim 10, batch 100, 3 epochs = 2,670 steps,
1,000 labels; test accuracy on the 10,000 test images; the baseline gets
the same 2,670 steps and the same input noise as the AAE's encoder):

| setting | SemiSupervisedAAE | encoder + softmax, labels only |
|---|---|---|
| defaults, ``--repeat 30``, seeds 0 1 2 | 0.807 ± 0.011 | 0.813 ± 0.002 |
| ``--input-noise 0.3 --balance 1``, seeds 0 1 2 | 0.820 ± 0.002 | 0.800 ± 0.008 |
| ``--input-noise 0.3``, seed 0 | 0.808 | 0.803 |
| ``--input-noise 0.3 --balance 1 --labels 100 --repeat 300``, seed 0 | 0.713 | 0.673 |
| ``--input-noise 0.3 --balance 1 --labels 60000 --repeat 1``, seed 0 (1,800 steps) | 0.846 | 0.865 |

With Gaussian noise (std 0.3) on the encoder's input in training
(``input_noise``, a denoising corruption) and the batch balance term
(``balance_weight``, see `keras_ae.SemiSupervisedAAE`), the AAE beats
the identically corrupted labels-only classifier by 1.9 points (per seed
+1.8, +2.8, +1.2); the issue asks for 2. The noise hurts the labels-only
classifier (0.800 against 0.813 without it), so against the best
labels-only run the gain is 0.7 points. With 100 labels the gain is 4
points (one seed); with every label the AAE is 1.9 points worse than the
plain classifier at this budget. The same seed run twice differs by
up to 1 point (0.812 and 0.821 for seed 0): these JAX CPU runs are not
bitwise reproducible (cause not isolated), so single-seed differences
below a point mean little.

Run:
    KERAS_BACKEND=jax python examples/aae_semi_supervised_fashion_mnist.py \\
        --labels 1000 --epochs 3 --repeat 30 --seeds 0 1 2 \\
        --input-noise 0.3 --balance 1 --figure curve.png
"""

import argparse
import time

import keras
import numpy as np

import keras_ae


def split(y, per_class, seed):
    """Indices of ``per_class`` labelled examples of every class."""
    rs = np.random.default_rng(seed)
    return np.concatenate(
        [rs.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)]
    )


def train_aae(x, y, x_test, y_test, labelled, args, seed):
    labels = np.full(len(x), -1)
    labels[labelled] = y[labelled]
    extra = np.repeat(labelled, args.repeat - 1)
    xs = np.concatenate([x, x[extra]])
    ls = np.concatenate([labels, y[extra]])
    model = keras_ae.SemiSupervisedAAE(
        (784,),
        num_classes=10,
        latent_dim=args.latent_dim,
        seed=seed,
        balance_weight=args.balance,
        input_noise=args.input_noise,
        categorical_noise=args.categorical_noise,
    )
    model.compile()
    curve = []
    for _ in range(args.epochs):
        model.fit(xs, ls, epochs=1, batch_size=args.batch_size, verbose=0)
        curve.append(float(np.mean(model.predict_labels(x_test) == y_test)))
        print(f"  epoch {len(curve)}: test accuracy {curve[-1]:.4f}", flush=True)
    steps = args.epochs * int(np.ceil(len(xs) / args.batch_size))
    return model, curve, steps


def train_baseline(model, x, y, x_test, y_test, labelled, steps, args, seed):
    """The AAE's encoder architecture (trunk + softmax), fresh, labels only,
    with the same input noise in training as the AAE's encoder."""
    keras.utils.set_random_seed(seed)
    clone = keras.models.clone_model(model.encoder)  # fresh initial weights
    inputs = keras.Input((784,))
    noisy = keras_ae.layers.GaussianNoise(args.input_noise, seed=seed)(inputs)
    classifier = keras.Model(inputs, clone(noisy)[0])
    classifier.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy"
    )
    per_epoch = int(np.ceil(len(labelled) / args.batch_size))
    classifier.fit(
        x[labelled],
        y[labelled],
        epochs=max(1, steps // per_epoch),
        batch_size=args.batch_size,
        verbose=0,
    )
    return float(np.mean(np.argmax(classifier.predict(x_test, verbose=0), 1) == y_test))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--balance", type=float, default=0.0, help="balance_weight")
    parser.add_argument("--input-noise", type=float, default=0.0, help="input_noise")
    parser.add_argument("--categorical-noise", type=float, default=0.0)
    parser.add_argument("--figure", default=None, help="learning curve (PNG)")
    args = parser.parse_args()
    (x, y), (x_test, y_test) = keras_ae.datasets.load_data("fashion_mnist")
    aae_acc, base_acc, curves = [], [], []
    for seed in args.seeds:
        start = time.time()
        labelled = split(y, args.labels // 10, seed)
        model, curve, steps = train_aae(x, y, x_test, y_test, labelled, args, seed)
        base = train_baseline(model, x, y, x_test, y_test, labelled, steps, args, seed)
        aae_acc.append(curve[-1])
        base_acc.append(base)
        curves.append(curve)
        print(
            f"seed {seed}: AAE {curve[-1]:.4f} (per epoch {curve}), "
            f"encoder+softmax on labels only {base:.4f}, {steps} steps, "
            f"{time.time() - start:.0f} s wall, {time.process_time():.0f} s process "
            "CPU so far",
            flush=True,
        )
    print(
        f"{args.labels} labels, {len(args.seeds)} seed(s): AAE "
        f"{np.mean(aae_acc):.4f} ± {np.std(aae_acc):.4f}, baseline "
        f"{np.mean(base_acc):.4f} ± {np.std(base_acc):.4f}"
    )
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4, 3))
        for seed, curve in zip(args.seeds, curves):
            ax.plot(range(1, len(curve) + 1), curve, marker="o", label=f"AAE seed {seed}")
        ax.axhline(np.mean(base_acc), color="grey", ls="--", label="labels only")
        ax.set(xlabel="epoch", ylabel="test accuracy", title=f"{args.labels} labels")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.figure)


if __name__ == "__main__":
    main()
