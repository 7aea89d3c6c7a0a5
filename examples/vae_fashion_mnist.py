"""
Title: A variational autoencoder on Fashion-MNIST, measured properly
Description: Train `keras_ae.VAE` (784-512-256-32, Bernoulli likelihood) and
report what VAE papers report: the test ELBO, the importance-weighted test
log-likelihood, the number of active latent units, and the training speed.

## Introduction

A variational autoencoder (Kingma & Welling 2013) learns an encoder q(z|x),
a decoder p(x|z) and, through them, a density p(x) = E_p(z)[p(x|z)]. Its
training loss is the negative evidence lower bound (ELBO):

    -ELBO(x) = -E_q(z|x)[log p(x|z)] + KL(q(z|x) || N(0, I))

`keras_ae.VAE` reports both terms as the metrics `reconstruction_loss` and
`kl_loss`, in nats per image, summed over the 784 pixels. The ELBO is only a
bound; the number to compare across models is log p(x) itself, estimated by
importance sampling with K posterior samples (Burda et al. 2015):

    log p(x) ~= log (1/K) sum_k p(x, z_k) / q(z_k|x),    z_k ~ q(z|x)

which `vae.log_likelihood(x, num_samples=K)` computes in chunks, so K = 1000
fits in memory. Finally, `vae.active_units(x)` counts the latent dimensions
whose posterior mean varies across images (Burda et al.'s criterion,
Cov_x(E_q[z_j]) > 0.01): the others have collapsed to the prior.

What this example does not need to do, because the model does it: sampling
with `training=True` inside the training step, float32 KL under mixed
precision, loss scaling across replicas under `tf.distribute`, saving the
random-number state and the KL weight with the model.

Run (about 10 minutes on 2 CPU cores, most of it the K = 1000 estimate):

```
python examples/vae_fashion_mnist.py --epochs 10 --ll-examples 1000 \\
    --out vae_fashion_mnist.json --plot vae_fashion_mnist.png
```

Quick smoke run: ``--epochs 1 --train-examples 2000 --ll-examples 20 --num-samples 50``.
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
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--latent-dim", type=int, default=32)
parser.add_argument("--hidden-units", type=int, nargs="+", default=[512, 256])
parser.add_argument("--kl-warmup", type=int, default=0,
                    help="epochs of linear KL warm-up (0: none, the plain ELBO)")
parser.add_argument("--train-examples", type=int, default=None,
                    help="use only the first N training images")
parser.add_argument("--ll-examples", type=int, default=1000,
                    help="test images for the K-sample log-likelihood (0: all)")
parser.add_argument("--num-samples", type=int, default=1000, help="K")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default=None, help="write the figures as JSON")
parser.add_argument("--plot", default=None, help="save reconstructions PNG (+ _samples.png)")
parser.add_argument("--save", default=None, help="save the model (.keras)")
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)

"""
## Data

`keras_ae.datasets.load_data` returns float32 images in [0, 1], flattened to
784 features. The Bernoulli likelihood treats each grey level as the
probability of a white pixel (the usual practice for Fashion-MNIST; the
numbers are not comparable with those on binarised MNIST).
"""

(x_train, _), (x_test, y_test) = keras_ae.datasets.load_data("fashion_mnist")
if args.train_examples:
    x_train = x_train[: args.train_examples]
print(f"train {x_train.shape}, test {x_test.shape}")

"""
## The model

Everything is a constructor argument. `likelihood="bernoulli"` makes the
decoder output logits (the loss uses them directly, which is numerically
stable) while `predict`, `reconstruct`, `decode` and `sample` return
probabilities. `beta` is the weight of the KL term (1: the ELBO).
"""

vae = keras_ae.VAE(
    input_shape=(784,),
    latent_dim=args.latent_dim,
    hidden_units=tuple(args.hidden_units),
    likelihood="bernoulli",
    beta=1.0,
    seed=args.seed,
)
vae.compile()  # Adam(1e-3)
vae.encoder.summary()

"""
## Training

Two optional callbacks from `keras_ae.callbacks`:

* `KLAnnealing` raises the KL weight from 0 to `beta` (a warm-up that helps
  against posterior collapse with strong decoders; a cyclical schedule is
  available too);
* `ActiveUnits` adds the active-unit count to the epoch logs, so collapse is
  visible while training.

A third, local callback times the epochs.
"""


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


timer = EpochTimer()
callbacks = [timer, keras_ae.callbacks.ActiveUnits(x_test[:2000])]
if args.kl_warmup:
    callbacks.append(keras_ae.callbacks.KLAnnealing("linear", warmup=args.kl_warmup))
history = vae.fit(
    x_train,
    epochs=args.epochs,
    batch_size=args.batch_size,
    validation_data=(x_test,),
    callbacks=callbacks,
    verbose=2,
)

"""
## Evaluation

* the test -ELBO (one posterior sample per image, analytic KL);
* the test log-likelihood with K importance samples, on a subset of the test
  set if asked (its standard error over images is printed);
* active units and the KL of each latent dimension on the whole test set.
"""

neg_elbo = -vae.elbo(x_test, num_samples=1, seed=args.seed)
n_ll = args.ll_examples or len(x_test)
start = time.perf_counter()
ll = vae.log_likelihood(
    x_test[:n_ll], num_samples=args.num_samples, seed=args.seed, reduction="none"
)
ll_seconds = time.perf_counter() - start
neg_elbo_subset = -vae.elbo(x_test[:n_ll], num_samples=1, seed=args.seed)
active, variances = vae.active_units(x_test, return_variances=True)
kl_dims = vae.kl_per_dimension(x_test)

steady = timer.seconds[1:] or timer.seconds
figures = {
    "architecture": f"784-{'-'.join(map(str, args.hidden_units))}-{args.latent_dim} dense",
    "epochs": args.epochs,
    "batch_size": args.batch_size,
    "train_examples": len(x_train),
    "test_neg_elbo": neg_elbo,
    "test_neg_elbo_on_ll_subset": neg_elbo_subset,
    "test_log_likelihood": float(ll.mean()),
    "test_log_likelihood_stderr": float(ll.std() / np.sqrt(len(ll))),
    "log_likelihood_examples": int(n_ll),
    "num_samples": args.num_samples,
    "log_likelihood_seconds": ll_seconds,
    "active_units": active,
    "latent_dim": args.latent_dim,
    "kl_per_dimension": [round(float(v), 4) for v in kl_dims],
    "seconds_per_epoch": float(np.mean(steady)),
    "seconds_first_epoch": timer.seconds[0],
    "final_train_loss": history.history["loss"][-1],
    "final_val_loss": history.history["val_loss"][-1],
}
print(f"test -ELBO:               {neg_elbo:.2f} nats/image")
print(
    f"test log p(x), K={args.num_samples}: {ll.mean():.2f} +- "
    f"{figures['test_log_likelihood_stderr']:.2f} nats/image on {n_ll} images "
    f"(-ELBO on the same images {neg_elbo_subset:.2f}; {ll_seconds:.0f} s)"
)
print(f"active units:             {active} / {args.latent_dim}")
print(f"seconds per epoch:        {figures['seconds_per_epoch']:.1f} "
      f"(first epoch {timer.seconds[0]:.1f})")
if args.out:
    with open(args.out, "w") as f:
        json.dump(figures, f, indent=2)

"""
## Samples and reconstructions

`vae.sample(n, seed=...)` decodes draws from the prior; the same seed gives
the same images. The model saves to a single `.keras` file and reloads with
`keras.models.load_model` (safe mode), optimizer and random state included.
"""

if args.plot:
    from keras_ae import plotting

    stem = os.path.splitext(args.plot)[0]
    plotting.reconstructions(vae, x_test[:10], path=args.plot)
    plotting.samples_grid(vae, n=64, seed=args.seed, path=stem + "_samples.png")
    print(f"saved {args.plot} and {stem}_samples.png")
if args.save:
    vae.save(args.save)
    print(f"saved {args.save}")
