"""Test metrics of a trained keras_ae model, one dict per model.

`evaluate` is what ``keras-ae evaluate``, the demo's summary table and the
model cards of ``saved_models/`` report. Every model gets:

* ``loss``: the model's own objective on ``x`` (``model.evaluate``): the
  reconstruction loss plus any penalty (-ELBO estimate for a VAE);
* ``reconstruction_loss``: the reconstruction term, nats per example for
  ``"bce"`` (summed over features, averaged over examples);
* ``mse``: per-feature mean squared error of the deterministic
  reconstruction (``model.reconstruct``), averaged over features and examples.

and, by kind of model (each model class adds its own through
`BaseAutoencoder.evaluation_metrics`):

* VAE: ``kl_loss``, ``neg_elbo`` (one-sample Monte-Carlo, fixed seed),
  ``log_likelihood`` (importance-weighted estimate of log p(x), nats per
  example, ``num_samples`` draws) and ``active_units``;
* AAE: code statistics ``code_mean``, ``code_std`` (averaged over code
  dimensions), ``prior_frechet``, the Fréchet distance between the codes
  and the prior (0 when their first two moments agree), and the
  discriminator's ``discriminator_accuracy`` (0.5: codes and prior draws are
  indistinguishable to it);
* sparse AE: ``mean_activation`` of the code units;
* denoising AE: ``denoising_mse``, the per-feature MSE between the clean data
  and the reconstruction of a corrupted copy (the model's own noise, fixed
  seed).

Example:
```python
metrics = keras_ae.evaluation.evaluate(vae, x_test)
print(metrics["log_likelihood"])
```
"""

import numpy as np

from keras_ae.layers import noise as noise_layers

__all__ = ["evaluate", "describe"]

# Human-readable descriptions of every metric `evaluate` may return.
DESCRIPTIONS = {
    "loss": "the model's training objective on the test set",
    "reconstruction_loss": "reconstruction term, nats per example (bce) or squared error",
    "mse": "per-feature mean squared error of the reconstruction",
    "kl_loss": "KL(q(z|x) || p(z)), nats per example",
    "neg_elbo": "-ELBO, nats per example (one-sample estimate)",
    "log_likelihood": "importance-weighted log p(x), nats per example",
    "active_units": "latent units whose posterior mean varies with x",
    "code_mean": "mean of the codes (averaged over dimensions)",
    "code_std": "standard deviation of the codes (averaged over dimensions)",
    "prior_frechet": "Fréchet distance between the codes and the prior",
    "mean_activation": "mean activation of the code units",
    "discriminator_accuracy": "discriminator accuracy, codes vs prior draws",
    "denoising_mse": "per-feature MSE of the reconstruction of a corrupted input",
}


def describe(name):
    """One-line description of a metric name returned by `evaluate`."""
    return DESCRIPTIONS.get(name, name)


def evaluate(model, x, *, batch_size=256, num_samples=100, seed=0, log_likelihood=True):
    """Test metrics of ``model`` on ``x``.

    Args:
        model: a trained keras_ae model.
        x: test data, shape ``(N,) + model.input_shape``.
        batch_size: batch size of the evaluation loops.
        num_samples: importance samples per example for a VAE's
            ``log_likelihood`` (more is tighter and slower).
        seed: integer seed of the Monte-Carlo estimates and of the corruption
            used for ``denoising_mse``: the same seed gives the same values.
        log_likelihood: compute a VAE's ``log_likelihood`` (the slowest
            metric: ``num_samples`` decodes per example).

    Returns:
        A dict of Python floats (see the module docstring).
    """
    x = np.asarray(x, dtype="float32")
    logs = model.evaluate(x, batch_size=batch_size, verbose=0, return_dict=True)
    x_hat = np.asarray(model.reconstruct(x, batch_size=batch_size), "float32")
    metrics = {
        "loss": float(logs["loss"]),
        "reconstruction_loss": float(logs["reconstruction_loss"]),
        "mse": float(np.mean((x - x_hat) ** 2)),
    }
    metrics.update(
        model.evaluation_metrics(
            x, logs, batch_size=batch_size, num_samples=num_samples, seed=seed,
            log_likelihood=log_likelihood,
        )
    )
    return metrics


def corrupt(noise, x, seed=0, batch_size=256):
    """A corrupted copy of ``x``: `keras_ae.layers.noise.corrupt`."""
    return noise_layers.corrupt(noise, x, seed=seed, batch_size=batch_size)
