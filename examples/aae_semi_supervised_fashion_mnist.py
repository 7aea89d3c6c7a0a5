"""Semi-supervised adversarial autoencoder on Fashion-MNIST (Makhzani et al.
2015, section 7), against the same encoder + softmax trained on the labels
alone.

`keras_ae.SemiSupervisedAAE` reads ``fit(x, labels)`` with ``-1`` for the
unlabelled examples. The labelled examples are repeated (``--repeat``) so that
every batch holds some of them for the classification phase; the baseline is
the model's own encoder (trunk + softmax head), freshly initialised, trained
with Adam(1e-3) on the labelled examples only for as many steps as the AAE
takes (same batch size, same input noise, same learning-rate schedule).

Validation (``--validation N``, default 5,000): N unlabelled training
images whose labels are never used in training (they stay in the AAE's
unlabelled pool, as the 59,000 of the protocol); their accuracy chose the
settings below, and the baseline is also reported *early-stopped*: the
weights of its epoch with the best validation accuracy, scored on the test
set (its best figure; the AAE gets no such choice of epoch).

Measured (KERAS_BACKEND=jax, 2 CPU cores shared with other jobs (load
10-24), hidden (512, 256), latent_dim 10, batch 100, 1,000 labels, 3 epochs
= 2,670 steps unless noted; test accuracy on the 10,000 test images; every
seed run is listed):

| setting | SemiSupervisedAAE test (validation) | labels only, after all steps | labels only, early-stopped on validation |
|---|---|---|---|
| defaults (``--input-noise 0.3 --balance 1 --decay-after 0.67``), seeds 0 1 2 | 0.821, 0.811, 0.826 = **0.819 ± 0.006** (0.831, 0.820, 0.828) | 0.812, 0.803, 0.811 = 0.809 ± 0.004 | 0.816, 0.810, 0.815 = **0.814 ± 0.003** |
| same, 6 epochs = 5,340 steps, seeds 0 1 2 | 0.824, 0.815, 0.820 = **0.820 ± 0.003** (0.828, 0.834, 0.825) | 0.810, 0.806, 0.807 = 0.808 ± 0.002 | 0.817, 0.810, 0.812 = **0.813 ± 0.003** |
| ``--classifier-lr 3e-3``, seeds 0 1 2 | 0.815, 0.808, 0.823 = 0.815 ± 0.006 (0.825, 0.822, 0.824) | the same runs' baseline: 0.809 ± 0.004 | 0.814 ± 0.003 |
| no decay (``--decay-after 0``), 6 epochs, seed 0 | 0.809 (0.825; per epoch 0.801 0.808 0.813 0.819 0.806 0.809) | 0.798 | 0.822 (epoch 424 of 534) |
| no decay, 3 epochs, seeds 0 1 2 (last round, no validation) | 0.820 ± 0.002 | 0.800 ± 0.008 | – |
| no decay, no input noise, balance 0, seeds 0 1 2 (earlier) | 0.807 ± 0.011 | 0.813 ± 0.002 | – |
| 100 labels, ``--repeat 300``, seed 0 (2,697 steps) | 0.710 (0.730) | 0.704 | 0.710 (epoch 1261 of 2697) |
| 100 labels, no decay, seed 0 (last round) | 0.713 | 0.673 | – |
| all 60,000 labels, ``--repeat 1``, seed 0 (1,800 steps) | 0.852 | 0.862 | – |
| session 6, seed 0 each, one change from the defaults: ``--input-noise 0.5`` | 0.807 (0.818) | 0.802 | 0.807 |
| ``--repeat 10`` (2,070 steps) | 0.808 (0.815) | 0.811 | 0.819 |
| ``--categorical-noise 0.3`` | 0.818 (0.826) | 0.813 | 0.819 |
| ``--latent-dim 5`` | 0.818 (0.827) | 0.813 | 0.819 |
| ``--repeat 60`` (3,570 steps) | 0.821 (0.827) | 0.811 | 0.819 |
| ``--hidden-units 1000 1000`` (the paper's width) | 0.821 (0.827) | killed in the baseline after 1,526 s wall | – |
| ``--architecture conv`` (filters 32, 64) | killed: epoch 1 (890 steps) unfinished after 10 min wall | – | – |
| session 7, seed 0 each (baseline's own validation accuracy in brackets where printed): ``--encoder conv`` (conv 32, 64 encoder, dense 512-256 decoder; 221 s wall) | 0.786 (0.789) | 0.815 | 0.815 (epoch 194 of 267) |
| ``--encoder conv --epochs 10`` (8,900 steps, 763 s) | 0.815 (0.821; 0.827 at epoch 7) | 0.812 | 0.815 (epoch 180 of 890) |
| ``--epochs 20`` (17,800 steps, 615 s) | 0.820 (0.834; 0.841 at epoch 18) | 0.818 | 0.822 (epoch 939 of 1,780) |
| ``--epochs 15 --decay-after 0.87`` (13,350 steps, 474 s) | 0.829 (0.832) | 0.815 (0.820) | 0.822 (0.828, epoch 939 of 1,335) |
| ``--repeat 10 --epochs 10`` (6,900 steps, 255 s) | 0.828 (0.834) | 0.814 (0.820) | 0.816 (0.826, epoch 366 of 690) |
| ``--repeat 10 --epochs 20`` (13,800 steps, 479 s) | 0.832 (0.834; 0.836 at epoch 19) | 0.815 (0.819) | 0.816 (0.826, epoch 366 of 1,380) |
| ``--hidden-units 1000 1000`` (1,043 s) | 0.825 (0.830) | 0.812 (0.820) | 0.823 (0.825, epoch 134 of 267) |
| ``--latent-dim 32`` (112 s) | 0.824 (0.832) | 0.813 | 0.819 (epoch 135 of 267) |
| ``--classification-weight 0.3`` | 0.821 (0.822) | 0.813 | 0.819 |
| ``--adversarial-weight 3`` | 0.817 (0.823) | 0.813 | 0.819 |
| ``--balance 3`` | 0.818 (0.823) | 0.813 | 0.819 |

Session 6: no single change beat the defaults' seed-0 validation accuracy
(0.831), so no new 3-seed figure was run; the conv encoder/decoder costs
over 10x the dense one per step here (its transposed convolutions).

Session 7: a convolutional encoder with the dense decoder (``--encoder
conv``: 221 s wall for 3 epochs and the baseline on JAX CPU, so no
TensorFlow run was needed) gains nothing from the unlabelled images: -2.9
points against its labels-only copy in 3 epochs, +0.3 in 10 (+0.05
against the early-stopped copy). Longer dense runs, fewer
repeats of the labelled set and the paper's width lift the AAE's own
validation accuracy to 0.830-0.834 (0.841 at one epoch), but the
labels-only classifier given the same steps also gains, and its best
validation epoch reaches 0.825-0.828: no single seed-0 setting was 2
points above it on validation, so no 3-seed test figure was run. The
closest, ``--repeat 10 --epochs 20``, is +1.5 points over the labels-only
classifier's last epoch on validation (+0.8 over its best epoch) and
+1.7 / +1.6 on the test set, one seed. Run on seeds 1 and 2 as well
(test set; 13,800 steps, 480-600 s wall each): AAE 0.832 / 0.819 / 0.826
= **0.826 +- 0.007** (SD), labels-only after all steps 0.815 / 0.804 /
0.803 = 0.807 +- 0.007, early-stopped 0.816 / 0.808 / 0.815 = **0.813 +-
0.005** (sample SDs): +1.8 / +1.3 points, the largest 3-seed gain so far
and still short of +2 (the setting was chosen among ~11 seed-0 validation
runs; the baseline got only early stopping). The
AAE's training accuracy on the 1,000 labelled images reaches 0.96-0.995
in every dense setting (conv encoder, 10 epochs: 0.93;
``classification_accuracy`` printed per epoch).

Reading: the issue's bar (+2 points over the labels-only classifier) is
not met. Against the labels-only classifier after the same steps and the
same schedule the AAE gains 1.1-1.2 points; against its early-stopped
figure 0.6-0.7 points. Last round's +1.9 compared with the baseline's last
epoch without a decay, where that small-data classifier swings by up to 2
points from epoch to epoch (0.798 at the end, 0.822 at its best
validation epoch on seed 0): part of that gain was the baseline's noisy end
point; with 100 labels the same holds (+4.0 points last round without a
decay, +0.7 with it, 0 against the early-stopped baseline). Dividing every
learning rate by 10 for the last third
(``--decay-after 0.67``, after the paper's per-phase schedule) steadies
both end points; doubling the epochs moves neither. The same seed run twice
differs by up to 1 point (JAX CPU runs here are not bitwise reproducible).

Run:
    KERAS_BACKEND=jax python examples/aae_semi_supervised_fashion_mnist.py \\
        --labels 1000 --epochs 3 --seeds 0 1 2 --figure curve.png


The paper's dataset, where MNIST is available locally (``$KERAS_AE_DATA`` or
Keras's cache): ``--dataset mnist`` (the paper reports 1.90% error with 100
labels, 1.60% with 1,000 and 0.85% with all labels).
"""

import argparse
import sys
import time

import keras
import numpy as np

import keras_ae


def split(y, per_class, seed, validation=0):
    """Labelled indices (``per_class`` of every class) and validation indices.

    Args:
        y: training labels.
        per_class: labelled examples drawn from every class.
        seed: seed of the draw.
        validation: number of further examples (none of them labelled)
            whose labels only choose settings and stop the baseline early
            (fewer if fewer are left).

    Returns:
        ``(labelled, validation_indices)`` int arrays, disjoint.
    """
    rs = np.random.default_rng(seed)
    labelled = np.concatenate(
        [rs.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)]
    )
    rest = np.setdiff1d(np.arange(len(y)), labelled)
    return labelled, np.sort(rs.choice(rest, min(validation, len(rest)), replace=False))


def schedule(learning_rate, steps, decay_after):
    """``learning_rate``, divided by 10 after ``decay_after`` of ``steps``.

    Args:
        learning_rate: initial rate.
        steps: number of updates of the whole run.
        decay_after: fraction of the steps in (0, 1), or None for a constant
            rate.

    Returns:
        A float or a `keras.optimizers.schedules.PiecewiseConstantDecay`.
    """
    if decay_after is None:
        return learning_rate
    if not 0 < decay_after < 1:
        raise ValueError(
            f"`decay_after` must be a fraction in (0, 1). Received: decay_after={decay_after}"
        )
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        [int(decay_after * steps)], [learning_rate, learning_rate / 10]
    )


def accuracy(predict, x, y):
    return float(np.mean(predict(x) == y)) if len(y) else float("nan")


@keras.saving.register_keras_serializable(package="keras_ae_examples")
class DenseDecoderSemiSupervisedAAE(keras_ae.SemiSupervisedAAE):
    """`keras_ae.SemiSupervisedAAE` whose decoder stays dense with a conv encoder.

    With ``architecture="conv"`` the model's encoder is stride-2 3x3
    convolutions (``hidden_units`` filters); this subclass builds a dense
    decoder instead of the transposed-convolution one (which costs about 50x
    more per step on JAX CPU).

    Args:
        input_shape: ``(H, W, C)``.
        decoder_units: hidden units of the dense decoder (``build_decoder``
            order: the code's side last).
        **kwargs: the `keras_ae.SemiSupervisedAAE` arguments.

    Example:
    ```python
    model = DenseDecoderSemiSupervisedAAE((28, 28, 1), architecture="conv",
                                          hidden_units=(32, 64))
    ```
    """

    def __init__(self, input_shape, decoder_units=(512, 256), **kwargs):
        self.decoder_units = tuple(int(u) for u in decoder_units)
        super().__init__(input_shape, **kwargs)

    def build_decoder(self, hidden_units):
        return keras_ae.networks.build_decoder(
            self.input_shape_,
            self.num_classes + self.latent_dim,
            self.decoder_units,
            activation=self.activation,
            output_activation=self.decoder_output_activation(),
            seed=self.seed,
        )

    def get_config(self):
        return {**super().get_config(), "decoder_units": list(self.decoder_units)}


def train_aae(x, y, evals, labelled, args, seed):
    """Trains the AAE; returns it, its steps and per-epoch accuracies."""
    labels = np.full(len(x), -1)
    labels[labelled] = y[labelled]
    extra = np.repeat(labelled, args.repeat - 1)
    xs = np.concatenate([x, x[extra]])
    ls = np.concatenate([labels, y[extra]])
    if args.encoder == "conv":
        cls = DenseDecoderSemiSupervisedAAE
        options = dict(architecture="conv", hidden_units=tuple(args.filters),
                       decoder_units=tuple(args.hidden_units or (512, 256)))
    else:
        cls = keras_ae.SemiSupervisedAAE
        options = dict(architecture=args.architecture, hidden_units=args.hidden_units)
    model = cls(
        x.shape[1:],
        num_classes=10,
        **options,
        latent_dim=args.latent_dim,
        seed=seed,
        balance_weight=args.balance,
        input_noise=args.input_noise,
        categorical_noise=args.categorical_noise,
        classification_weight=args.classification_weight,
        adversarial_weight=args.adversarial_weight,
    )
    steps = args.epochs * int(np.ceil(len(xs) / args.batch_size))
    rate = lambda lr: schedule(lr, steps, args.decay_after)  # noqa: E731
    model.compile(
        optimizer=keras.optimizers.Adam(rate(1e-3)),
        discriminator_optimizer=keras.optimizers.Adam(rate(2e-4), beta_1=0.5),
        generator_optimizer=keras.optimizers.Adam(rate(3e-4), beta_1=0.5),
        classifier_optimizer=keras.optimizers.Adam(rate(args.classifier_lr)),
    )
    curves = {name: [] for name in evals}
    for epoch in range(args.epochs):
        history = model.fit(xs, ls, epochs=1, batch_size=args.batch_size, verbose=0)
        for name, (xe, ye) in evals.items():
            curves[name].append(accuracy(model.predict_labels, xe, ye))
        logs = {k: v[-1] for k, v in history.history.items()}
        print(f"  epoch {epoch + 1}: " + ", ".join(
            f"{name} accuracy {c[-1]:.4f}" for name, c in curves.items())
            + " (" + ", ".join(f"{k} {logs[k]:.3f}" for k in (
                "classification_accuracy", "categorical_discriminator_accuracy",
                "discriminator_accuracy", "balance_loss", "reconstruction_loss")
                if k in logs) + ")", flush=True)
    return model, steps, curves


class _BestOnValidation(keras.callbacks.Callback):
    """Keeps the weights with the best validation accuracy (every epoch)."""

    def __init__(self, x_val, y_val):
        super().__init__()
        self.x_val, self.y_val = x_val, y_val
        self.best, self.best_epoch, self.weights = -1.0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        pred = np.argmax(self.model.predict(self.x_val, verbose=0, batch_size=1000), 1)
        acc = float(np.mean(pred == self.y_val))
        if acc > self.best:
            self.best, self.best_epoch = acc, epoch + 1
            self.weights = self.model.get_weights()


def train_baseline(model, x, y, x_test, y_test, labelled, val, steps, args, seed):
    """The AAE's encoder architecture (trunk + softmax), fresh, labels only,
    with the same input noise in training as the AAE's encoder, for the same
    number of steps. With a validation split, the weights of the epoch with
    the best validation accuracy are also scored (early stopping).

    Returns:
        ``(test accuracy after all steps, test accuracy early-stopped or
        None, best epoch or None, epochs)``.
    """
    keras.utils.set_random_seed(seed)
    clone = keras.models.clone_model(model.encoder)  # fresh initial weights
    inputs = keras.Input(x.shape[1:])
    noisy = keras_ae.layers.GaussianNoise(args.input_noise, seed=seed)(inputs)
    # The encoder's code is [y | z]: the first num_classes columns are y.
    classifier = keras.Model(inputs, clone(noisy)[:, : model.num_classes])
    classifier.compile(
        optimizer=keras.optimizers.Adam(schedule(1e-3, steps, args.decay_after)),
        loss="sparse_categorical_crossentropy",
    )
    per_epoch = int(np.ceil(len(labelled) / args.batch_size))
    epochs = max(1, steps // per_epoch)
    best = _BestOnValidation(x[val], y[val]) if len(val) else None
    classifier.fit(
        x[labelled],
        y[labelled],
        epochs=epochs,
        batch_size=args.batch_size,
        verbose=0,
        callbacks=[best] if best else [],
    )

    def predict(a):
        return np.argmax(classifier.predict(a, verbose=0, batch_size=1000), 1)

    final = accuracy(predict, x_test, y_test)
    if best is None:
        return final, None, None, epochs
    print(f"  baseline validation accuracy: after all steps "
          f"{accuracy(predict, x[val], y[val]):.4f}, best {best.best:.4f} "
          f"(epoch {best.best_epoch})", flush=True)
    classifier.set_weights(best.weights)
    return final, accuracy(predict, x_test, y_test), best.best_epoch, epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--architecture", default="dense", choices=("dense", "conv"),
                        help="conv: the images as (28, 28, 1), stride-2 convolutions "
                        "(the baseline is the same encoder)")
    parser.add_argument("--hidden-units", type=int, nargs="+", default=None,
                        help="hidden units (dense) or filters (--architecture conv); "
                        "default (512, 256) / (32, 64); with --encoder conv the dense "
                        "decoder's units")
    parser.add_argument("--encoder", default="dense", choices=("dense", "conv"),
                        help="conv: the images as (28, 28, 1), stride-2 3x3 convolutions "
                        "(--filters) in the encoder (and the baseline), the dense decoder")
    parser.add_argument("--filters", type=int, nargs="+", default=[32, 64],
                        help="filters of the conv encoder")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--balance", type=float, default=1.0, help="balance_weight")
    parser.add_argument("--input-noise", type=float, default=0.3, help="input_noise")
    parser.add_argument("--categorical-noise", type=float, default=0.0)
    parser.add_argument("--classification-weight", type=float, default=1.0)
    parser.add_argument("--adversarial-weight", type=float, default=1.0,
                        help="weight of the generator phase (both discriminators)")
    parser.add_argument("--classifier-lr", type=float, default=1e-3,
                        help="Adam learning rate of the classification phase")
    parser.add_argument(
        "--decay-after", type=float, default=0.67,
        help="divide every learning rate (AAE phases and baseline) by 10 after "
        "this fraction of the steps; 0: constant rates")
    parser.add_argument(
        "--validation", type=int, default=5000,
        help="unlabelled training images whose labels only choose settings and "
        "early-stop the baseline (they stay in the AAE's unlabelled pool)")
    parser.add_argument("--figure", default=None, help="learning curve (PNG)")
    parser.add_argument("--dataset", default="fashion_mnist", choices=("fashion_mnist", "mnist"),
                        help="mnist: the paper's dataset, where it is available locally")
    args = parser.parse_args()
    args.decay_after = args.decay_after or None
    if args.encoder == "conv" and args.architecture == "conv":
        parser.error("--encoder conv takes the dense decoder: use --architecture dense")
    try:
        (x, y), (x_test, y_test) = keras_ae.datasets.load_data(args.dataset)
    except keras_ae.datasets.DatasetNotFoundError as error:
        sys.exit(f"{args.dataset} is not available here: {error}")
    if args.architecture == "conv" or args.encoder == "conv":
        x, x_test = x.reshape(-1, 28, 28, 1), x_test.reshape(-1, 28, 28, 1)
    rows = []
    for seed in args.seeds:
        start = time.time()
        labelled, val = split(y, args.labels // 10, seed, args.validation)
        evals = {"validation": (x[val], y[val])} if len(val) else {}
        evals["test"] = (x_test, y_test)
        model, steps, curves = train_aae(x, y, evals, labelled, args, seed)
        base, base_es, best_epoch, epochs = train_baseline(
            model, x, y, x_test, y_test, labelled, val, steps, args, seed
        )
        rows.append((curves, base, base_es))
        stopped = (
            f", early-stopped on validation {base_es:.4f} (epoch {best_epoch} of {epochs})"
            if base_es is not None else ""
        )
        print(
            f"seed {seed}: AAE test {curves['test'][-1]:.4f}"
            + (f" (validation {curves['validation'][-1]:.4f})" if len(val) else "")
            + f", encoder+softmax on labels only {base:.4f}{stopped}, {steps} steps, "
            f"{time.time() - start:.0f} s wall, {time.process_time():.0f} s process "
            "CPU so far",
            flush=True,
        )
    aae = [r[0]["test"][-1] for r in rows]
    base = [r[1] for r in rows]
    summary = (
        f"{args.labels} labels, {len(args.seeds)} seed(s): AAE "
        f"{np.mean(aae):.4f} ± {np.std(aae):.4f}, baseline "
        f"{np.mean(base):.4f} ± {np.std(base):.4f}"
    )
    if all("validation" in r[0] for r in rows):
        es = [r[2] for r in rows]
        val = [r[0]["validation"][-1] for r in rows]
        summary += (f", baseline early-stopped {np.mean(es):.4f} ± {np.std(es):.4f}; "
                    f"AAE validation {np.mean(val):.4f}")
    print(summary)
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4, 3))
        for seed, row in zip(args.seeds, rows):
            curve = row[0]["test"]
            ax.plot(range(1, len(curve) + 1), curve, marker="o", label=f"AAE seed {seed}")
        ax.axhline(np.mean(base), color="grey", ls="--", label="labels only")
        ax.set(xlabel="epoch", ylabel="test accuracy", title=f"{args.labels} labels")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.figure)


if __name__ == "__main__":
    main()
