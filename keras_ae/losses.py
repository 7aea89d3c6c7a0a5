"""Pure per-example loss functions, reduced in one helper.

Every function here maps a batch to a vector of shape ``(batch,)``: the loss of
each example, **summed over features** (nats per example for the likelihood
terms). `reduce_mean` turns such a vector into the batch mean, optionally
weighted. One convention for every model of the zoo, so that numbers compare
across AE, VAE and AAE. All computations are done in float32, whatever the
compute dtype of the model (mixed precision).
"""

import math

from keras import ops

EPSILON = 1e-7
LOG_2PI = math.log(2.0 * math.pi)


def _flat(x):
    x = ops.cast(x, "float32")
    return ops.reshape(x, (ops.shape(x)[0], -1))


def _sum_features(per_feature):
    """Sums a ``(batch, ...)`` tensor over every axis but the first."""
    return ops.sum(_flat(per_feature), axis=-1)


def binary_crossentropy(x, x_hat, from_logits=False):
    """Bernoulli negative log-likelihood per example, summed over features.

    Computed by `keras.ops.binary_crossentropy`: probabilities that come
    straight from a Keras sigmoid (the built-in decoders) are turned back
    into their logits by Keras and scored with the fused, exact
    ``sigmoid_cross_entropy_with_logits``; other probabilities are clipped
    to ``[1e-7, 1 - 1e-7]``.

    Args:
        x: targets in [0, 1], shape ``(batch, ...)``.
        x_hat: probabilities (or logits when ``from_logits=True``), same shape.
        from_logits: whether ``x_hat`` holds logits.

    Returns:
        Tensor of shape ``(batch,)``, nats per example.

    Example:
        >>> binary_crossentropy(np.ones((2, 3)), np.full((2, 3), 0.5))  # 3*log 2
    """
    # No reshape before the loss: it would hide the sigmoid from Keras.
    x, x_hat = ops.cast(x, "float32"), ops.cast(x_hat, "float32")
    return _sum_features(ops.binary_crossentropy(x, x_hat, from_logits=from_logits))


def squared_error(x, x_hat):
    """Squared error per example, summed over features.

    Args:
        x: targets, shape ``(batch, ...)``.
        x_hat: reconstructions, same shape.

    Returns:
        Tensor of shape ``(batch,)``.
    """
    return ops.sum(ops.square(_flat(x) - _flat(x_hat)), axis=-1)


def mean_squared_error(x, x_hat):
    """Squared error per example, averaged over features (the ``mse`` metric)."""
    return ops.mean(ops.square(_flat(x) - _flat(x_hat)), axis=-1)


def gaussian_nll(x, mean, log_var):
    """Gaussian negative log-likelihood per example, summed over features.

    Args:
        x: targets, shape ``(batch, ...)``.
        mean: predicted means, same shape as ``x``.
        log_var: log-variance, broadcastable to ``x`` after flattening (a
            scalar for one shared variance, or one value per feature).

    Returns:
        Tensor of shape ``(batch,)`` in nats.
    """
    x, mean = _flat(x), _flat(mean)
    log_var = ops.cast(log_var, "float32")
    per_feature = 0.5 * (
        LOG_2PI + log_var + ops.square(x - mean) * ops.exp(-log_var)
    )
    return ops.sum(per_feature + ops.zeros_like(x), axis=-1)


def kl_divergence(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per example, summed over dims.

    Args:
        z_mean: posterior means, shape ``(batch, latent_dim)``.
        z_log_var: posterior log-variances, same shape.

    Returns:
        Tensor of shape ``(batch,)`` in nats.
    """
    return ops.sum(kl_divergence_per_dim(z_mean, z_log_var), axis=-1)


def kl_divergence_per_dim(z_mean, z_log_var):
    """KL to N(0, 1) for every latent dimension, shape ``(batch, latent_dim)``."""
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    return -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))


def gaussian_log_prob(z, mean, log_var):
    """log N(z; mean, exp(log_var)) per example, summed over the last axis."""
    z = ops.cast(z, "float32")
    mean = ops.cast(mean, "float32")
    log_var = ops.cast(log_var, "float32")
    return -0.5 * ops.sum(
        LOG_2PI + log_var + ops.square(z - mean) * ops.exp(-log_var), axis=-1
    )


def reduce_mean(per_example, sample_weight=None):
    """Batch mean of a per-example loss, weighted by ``sample_weight`` if given.

    Args:
        per_example: tensor of shape ``(batch,)``.
        sample_weight: optional weights of shape ``(batch,)`` or ``(batch, 1)``.

    Returns:
        A float32 scalar.
    """
    per_example = ops.cast(per_example, "float32")
    if sample_weight is None:
        return ops.mean(per_example)
    w = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    return ops.sum(per_example * w) / ops.maximum(ops.sum(w), EPSILON)


RECONSTRUCTION_LOSSES = ("bce", "mse")


def reconstruction(name, x, x_hat, from_logits=False):
    """Per-example reconstruction loss by name (``"bce"`` or ``"mse"``)."""
    if name == "bce":
        return binary_crossentropy(x, x_hat, from_logits=from_logits)
    if name == "mse":
        return squared_error(x, x_hat)
    raise ValueError(
        f"`reconstruction_loss` must be one of {RECONSTRUCTION_LOSSES}. "
        f"Received: reconstruction_loss={name!r}"
    )
