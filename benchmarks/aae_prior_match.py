"""Prior match of the adversarial autoencoder at 32-D on Fashion-MNIST (issue #17).

Trains `AdversarialAutoencoder(latent_dim=32)` (784-512-256-32 dense,
``prior=Gaussian(1)``) with the given per-phase learning rates and
discriminator size, and optionally the plain `Autoencoder` with the same
networks and epochs, then prints one JSON line: the share of test codes in
the prior's 99% ball, the largest per-dimension |mean|, the range of the
per-dimension std, the test reconstruction loss (nats per image) and the
ratio to the plain autoencoder's, with wall and process CPU seconds.

Bars (issue #17): >= 95% in the ball, every |mean| <= 0.5, every std in
[0.7, 1.3], reconstruction within 5% of the plain autoencoder's. Measured
rows: benchmarks/RESULTS_aae_prior_match.jsonl (the figures are quoted in
examples/aae_fashion_mnist.py).

Run (the model's defaults - since session 6 ``minibatch_features=
"covariance_norm"`` - and `default_optimizers()` unless overridden;
``--validation`` for choosing settings on a split of the training set):
    KERAS_BACKEND=jax python benchmarks/aae_prior_match.py --epochs 10 --seed 0 \\
        --baseline --out benchmarks/RESULTS_aae_prior_match.jsonl
The 8-D digits check (the slow test's setting):
    KERAS_BACKEND=jax python benchmarks/aae_prior_match.py --dataset digits \\
        --latent-dim 8 --batch-size 32 --epochs 50 --seed 0 --baseline
``--minibatch-features none`` (or ``moments`` with ``--posterior gaussian``)
runs the earlier settings. Session 6 rows (tags ``covariance`` and
``covariance_norm``; 10 epochs, jax): validation seeds 0 / 1: 93.4% / 90.4%
and 98.4% / 97.2% in the ball; test (``covariance_norm``, ``--baseline``)
seeds 0 / 1 / 2: 98.0% / 97.2% / 97.6%, max |mean| 0.29 / 0.27 / 0.30,
std 0.92-1.02 / 0.94-1.06 / 0.87-1.06, reconstruction +1.8% / +2.1% / +1.9%;
TensorFlow, seed 0 (tag ``default_tf``, no flag): 97.3%; digits 8-D 99.3% / 99.3%.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import common  # noqa: E402  (benchmarks/common.py, next to this script)
import keras_ae  # noqa: E402
from keras_ae.models.adversarial import default_optimizers  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=("fashion_mnist", "digits"), default="fashion_mnist",
                   help="digits: the 8-D check of tests/test_adversarial.py (64-128-64-8, "
                        "use --latent-dim 8 --batch-size 32 --epochs 50)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--latent-dim", type=int, default=32)
    p.add_argument("--rec-lr", type=float, default=None)
    p.add_argument("--disc-lr", type=float, default=None)
    p.add_argument("--gen-lr", type=float, default=None)
    p.add_argument("--discriminator-units", type=int, nargs="+", default=None)
    p.add_argument("--minibatch-features", default=None,
                   choices=("none", "std", "moments", "hidden_moments", "covariance", "covariance_norm"))
    p.add_argument("--posterior", default=None, choices=("deterministic", "gaussian"))
    p.add_argument("--posterior-log-var-init", type=float, default=None,
                   help="start log sigma^2 of a Gaussian posterior here (the model starts at 0)")
    p.add_argument("--decay", action="store_true",
                   help="cosine-decay every phase's learning rate to 0 over the run")
    p.add_argument("--validation", action="store_true",
                   help="train on the first 5/6 of the training images and measure on "
                        "the last 1/6 (for choosing settings) instead of the test set")
    p.add_argument("--baseline", action="store_true", help="also train the plain AE")
    p.add_argument("--tag", default="")
    p.add_argument("--out", default=None, help="append the JSON line to this file")
    return p.parse_args()


def optimizers(args, steps):
    rates = [float(o.learning_rate) for o in default_optimizers().values()]
    for i, value in enumerate((args.rec_lr, args.disc_lr, args.gen_lr)):
        if value is not None:
            rates[i] = value
    if args.decay:
        rates = [keras.optimizers.schedules.CosineDecay(r, steps) for r in rates]
    return {
        "optimizer": keras.optimizers.Adam(rates[0]),
        "discriminator_optimizer": keras.optimizers.Adam(rates[1], beta_1=0.5),
        "generator_optimizer": keras.optimizers.Adam(rates[2], beta_1=0.5),
    }


def main():
    args = parse_args()
    (x, _), (x_test, _) = keras_ae.datasets.load_data(args.dataset)
    if args.validation:
        cut = len(x) - len(x) // 6  # Fashion-MNIST: 50,000 / 10,000
        x, x_test = x[:cut], x[cut:]
    prior = keras_ae.priors.Gaussian(1.0)
    shape, units = ((64,), (128, 64)) if args.dataset == "digits" else ((784,), (512, 256))
    net = dict(input_shape=shape, latent_dim=args.latent_dim, hidden_units=units,
               seed=args.seed)
    extra = {}
    if args.discriminator_units:
        extra["discriminator_units"] = tuple(args.discriminator_units)
    if args.posterior:
        extra["posterior"] = args.posterior
    if args.minibatch_features:
        extra["minibatch_features"] = args.minibatch_features
    keras.utils.set_random_seed(args.seed)
    t0, c0 = time.perf_counter(), time.process_time()
    aae = keras_ae.AAE(**net, **extra)
    if args.posterior_log_var_init is not None:
        bias = aae.posterior_log_var.get_layer("log_var").bias
        bias.assign(np.full(bias.shape, args.posterior_log_var_init, "float32"))
    steps = args.epochs * -(-len(x) // args.batch_size)
    opts = optimizers(args, steps)
    aae.compile(**opts)
    hist = aae.fit(x, epochs=args.epochs, batch_size=args.batch_size, verbose=0).history
    z = np.asarray(aae.encode(x_test), "float64")
    rec = aae.evaluate(x_test, batch_size=512, verbose=0, return_dict=True)["reconstruction_loss"]
    mean, std = z.mean(axis=0), z.std(axis=0)
    eig = np.linalg.eigvalsh(np.cov(z, rowvar=False))  # correlated codes widen |z|
    z_train = np.asarray(aae.encode(x[:10000]), "float64")  # the codes D was trained on
    row = dict(
        tag=args.tag, dataset=args.dataset, split="validation" if args.validation else "test",
        backend=keras.backend.backend(), seed=args.seed, epochs=args.epochs,
        learning_rates=[args.rec_lr, args.disc_lr, args.gen_lr], decay=args.decay,
        discriminator_units=list(aae.discriminator_units),
        minibatch_features=aae.minibatch_features, posterior=aae.posterior,
        posterior_log_var_init=args.posterior_log_var_init,
        inside_99_ball=round(float(prior.fraction_inside(z, p=0.99)), 4),
        max_abs_mean=round(float(np.abs(mean).max()), 3),
        std_min=round(float(std.min()), 3), std_max=round(float(std.max()), 3),
        dims_off=int(np.sum((np.abs(mean) > 0.5) | (std < 0.7) | (std > 1.3))),
        frechet=round(float(prior.frechet_distance(z)), 3),
        cov_eig_min=round(float(eig.min()), 3), cov_eig_max=round(float(eig.max()), 3),
        # spread of |z|^2 / d (prior: sqrt(2 / d)) and the largest per-dimension
        # excess kurtosis (prior: 0): heavy tails put codes outside the ball.
        norm_sq_std=round(float(np.mean(z ** 2, axis=1).std()), 3),
        kurtosis_max=round(float((((z - mean) / std) ** 4).mean(axis=0).max() - 3.0), 2),
        inside_99_ball_train=round(float(prior.fraction_inside(z_train, p=0.99)), 4),
        discriminator_accuracy_last=round(float(hist["discriminator_accuracy"][-1]), 3),
        reconstruction=round(float(rec), 2),
        wall_s=round(time.perf_counter() - t0, 1), cpu_s=round(time.process_time() - c0, 1),
    )
    if args.baseline:
        keras.utils.set_random_seed(args.seed)
        ae = keras_ae.Autoencoder(**net)
        ae.compile()
        ae.fit(x, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
        ae_rec = ae.evaluate(x_test, batch_size=512, verbose=0, return_dict=True)
        row["ae_reconstruction"] = round(float(ae_rec["reconstruction_loss"]), 2)
        row["ratio_to_ae"] = round(float(rec) / row["ae_reconstruction"], 4)
    common.write_json_line(row, args.out)


if __name__ == "__main__":
    main()
