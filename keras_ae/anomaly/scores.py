"""Anomaly scores of keras_ae models: higher means more anomalous.

Every function takes a trained model and an array ``x`` of shape
``(N,) + model.input_shape`` and returns a NumPy float64 array of shape
``(N,)`` (or per-feature values for `reconstruction_error` with
``per_feature=True``). Monte-Carlo scores use a fixed seed by default, so
scoring the same data twice gives the same values (a threshold fitted on
one call applies to the next).

==============================  ===================================  ==========================
kind                            score                                models
==============================  ===================================  ==========================
``"reconstruction"``            mean squared error per feature       every model
                                (optionally standardised)
``"negative_log_likelihood"``   ``-log p(x)``, importance-weighted   VAE
``"negative_elbo"``             ``-ELBO``                            VAE
``"prior_negative_log_density"``  ``-log p(f(x))`` of the code         AAE (models with a prior)
``"jacobian_norm"``             ``||J_f(x)||_F^2`` of the encoder    every model
==============================  ===================================  ==========================

Example:
```python
from keras_ae.anomaly import scores
s = scores.reconstruction_error(model, x_test)         # (N,)
s = scores.negative_log_likelihood(vae, x_test, 100)   # nats, (N,)
s = scores.score(aae, x_test, kind="prior_negative_log_density")
```
"""

import numpy as np

from keras_ae.anomaly import scaling

__all__ = [
    "SCORES",
    "score",
    "reconstruction_error",
    "negative_log_likelihood",
    "negative_elbo",
    "prior_negative_log_density",
    "jacobian_norm",
]


def _check_model(model):
    from keras_ae.models.base import BaseAutoencoder

    if not isinstance(model, BaseAutoencoder):
        raise ValueError(
            "Expected a keras_ae model (a `keras_ae.models.BaseAutoencoder`). "
            f"Received: model of type {type(model).__name__}"
        )
    return model


def check_x(model, x):
    """``x`` as a float32 NumPy array of shape ``(N,) + input_shape``."""
    if isinstance(x, (str, bytes)) or x is None or np.isscalar(x):
        raise ValueError(
            f"Expected `x` as an array of shape (N, {', '.join(map(str, model.input_shape))}). "
            f"Received: x={x!r}"
        )
    if not hasattr(x, "shape"):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError):
            raise ValueError(
                "Expected `x` as an array of shape "
                f"(N, {', '.join(map(str, model.input_shape))}). Received: x={x!r}"
            ) from None
    model._check_x(x, "x")
    x = np.asarray(x if isinstance(x, np.ndarray) else _to_numpy(x), dtype="float32")
    if len(x) == 0:
        raise ValueError(f"Expected at least one example in `x`. Received: x.shape={x.shape}")
    return x


def _to_numpy(x):
    from keras import ops

    return ops.convert_to_numpy(x)


def _require(model, attribute, kind, what):
    if not hasattr(model, attribute):
        raise ValueError(
            f"Expected {what} for the score {kind!r}. "
            f"Received: model of type {type(model).__name__}"
        )


def reconstruction_error(model, x, per_feature=False, batch_size=None, feature_scale=None):
    """Squared error of the deterministic reconstruction (`model.reconstruct`).

    Args:
        model: a trained keras_ae model.
        x: array of shape ``(N,) + model.input_shape``.
        per_feature: return the squared error of every feature (shape of
            ``x``) instead of its mean over features.
        batch_size: batch size of the reconstruction loop.
        feature_scale: optional array of shape ``model.input_shape`` (> 0):
            each feature's error is divided by its scale squared, i.e.
            measured in standardised units
            (`keras_ae.anomaly.scaling.feature_scale` of normal data).

    Returns:
        ``(N,)`` mean squared errors, or ``(N,) + input_shape`` squared errors.
    """
    _check_model(model)
    if feature_scale is not None:
        feature_scale = scaling.check_feature_scale(feature_scale, model.input_shape)
    x = check_x(model, x)
    x_hat = np.asarray(model.reconstruct(x, batch_size=batch_size), dtype="float64")
    err = np.square(x_hat - x.astype("float64"))
    if feature_scale is not None:
        err = err / np.square(feature_scale)
    if per_feature:
        return err
    return err.reshape(len(x), -1).mean(axis=1)


def _vae_per_example(method, x, num_samples, batch_size, seed):
    """Per-example values of a VAE estimate (it checks ``x`` and its arguments)."""
    values = method(x, num_samples=num_samples, batch_size=batch_size, seed=seed, reduction="none")
    return np.asarray(values, dtype="float64")


def negative_log_likelihood(vae, x, num_samples=100, batch_size=None, seed=0):
    """``-log p(x)`` of a VAE (importance-weighted, `VAE.log_likelihood`), nats.

    Args:
        vae: a trained `keras_ae.VariationalAutoencoder`.
        x: array of shape ``(N,) + vae.input_shape``.
        num_samples: importance samples per example.
        batch_size: (example, sample) pairs decoded at once.
        seed: integer seed of the estimate (the same seed, the same scores).

    Returns:
        ``(N,)`` float64 scores.
    """
    check_model_for("negative_log_likelihood", vae)
    return -_vae_per_example(vae.log_likelihood, x, num_samples, batch_size, seed)


def negative_elbo(vae, x, num_samples=1, batch_size=None, seed=0):
    """``-ELBO`` of a VAE (`VAE.elbo`), nats; an upper bound on ``-log p(x)``.

    Args:
        vae: a trained `keras_ae.VariationalAutoencoder`.
        x: array of shape ``(N,) + vae.input_shape``.
        num_samples: Monte-Carlo draws of the reconstruction term.
        batch_size: (example, sample) pairs decoded at once.
        seed: integer seed of the estimate.

    Returns:
        ``(N,)`` float64 scores.
    """
    check_model_for("negative_elbo", vae)
    return -_vae_per_example(vae.elbo, x, num_samples, batch_size, seed)


def prior_negative_log_density(aae, x, batch_size=None):
    """``-log p(f(x))``: the prior's negative log density at the code of ``x``.

    For an adversarial autoencoder, whose codes are trained to follow the
    prior: codes far from the prior's mass are unusual.

    Args:
        aae: a trained model with a ``prior`` (`keras_ae.AdversarialAutoencoder`).
        x: array of shape ``(N,) + aae.input_shape``.
        batch_size: batch size of the encoding loop.

    Returns:
        ``(N,)`` float64 scores.
    """
    check_model_for("prior_negative_log_density", aae)
    x = check_x(aae, x)
    z = np.asarray(aae.encode(x, batch_size=batch_size), dtype="float32")
    return -np.asarray(_to_numpy(aae.prior.log_prob(z)), dtype="float64")


def jacobian_norm(model, x, batch_size=None):
    """``||J_f(x)||_F^2`` of the model's encoder at each example (exact).

    Args:
        model: a trained keras_ae model with a deterministic encoder.
        x: array of shape ``(N,) + model.input_shape``.
        batch_size: batch size of the loop.

    Returns:
        ``(N,)`` float64 scores.
    """
    from keras_ae.models import contractive

    _check_model(model)
    x = check_x(model, x)
    return contractive.jacobian_norm(model.encoder, x, batch_size=batch_size, reduction="none")


#: Score kinds by name.
SCORES = {
    "reconstruction": reconstruction_error,
    "negative_log_likelihood": negative_log_likelihood,
    "negative_elbo": negative_elbo,
    "prior_negative_log_density": prior_negative_log_density,
    "jacobian_norm": jacobian_norm,
}


#: What each score needs of the model: ``(attribute, description)``.
REQUIREMENTS = {
    "negative_log_likelihood": ("log_likelihood", "a VariationalAutoencoder"),
    "negative_elbo": ("elbo", "a VariationalAutoencoder"),
    "prior_negative_log_density": (
        "prior",
        "an AdversarialAutoencoder (a model with a prior)",
    ),
}


def check_model_for(kind, model):
    """Raises a ValueError if ``model`` cannot give the score ``kind``."""
    _check_model(model)
    if kind in REQUIREMENTS:
        attribute, what = REQUIREMENTS[kind]
        _require(model, attribute, kind, what)
    return model


def check_kind(kind):
    """``kind`` if it names a score of `SCORES`."""
    if not isinstance(kind, str) or kind not in SCORES:
        raise ValueError(
            f"Expected a score kind, one of {tuple(SCORES)}. Received: kind={kind!r}"
        )
    return kind


def score(model, x, kind="reconstruction", **kwargs):
    """Per-example anomaly scores of ``x`` by name (higher: more anomalous).

    Args:
        model: a trained keras_ae model.
        x: array of shape ``(N,) + model.input_shape``.
        kind: a key of `SCORES`.
        **kwargs: arguments of the score function (e.g. ``num_samples``).

    Returns:
        ``(N,)`` float64 scores.
    """
    fn = SCORES[check_kind(kind)]
    if kwargs.get("per_feature"):
        raise ValueError(
            "`score` returns one value per example; use `reconstruction_error("
            "model, x, per_feature=True)` for per-feature scores. "
            f"Received: per_feature={kwargs['per_feature']!r}"
        )
    return fn(model, x, **kwargs)
