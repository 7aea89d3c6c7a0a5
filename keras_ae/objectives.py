"""Training objectives of the VAE family beyond the one-sample ELBO.

Two groups of pure `keras.ops` functions, the same on every backend and in
float32 whatever the dtype policy:

* importance-weighted bounds (Burda et al. 2015; Rainforth et al. 2018):
  `log_weight_terms` computes ``log p(x|z_s)`` and ``log p(z_s) - log
  q(z_s|x)`` for S draws per example (shared with
  `VariationalAutoencoder.log_likelihood`), `bound` reduces log weights to
  the ELBO, IWAE, MIWAE or CIWAE bound with `logsumexp` (stable), and
  `importance_weighted_terms` is the loss of a VAE built with
  ``objective != "elbo"`` or ``num_importance_samples > 1``. Memory is
  linear in S: the S x batch draws are decoded as one batch of S * batch
  rows (lower the batch size for large S).
* the total-correlation decomposition of the KL term (Chen et al. 2018):
  `tc_decomposition` estimates, per example, the index-code mutual
  information, the total correlation and the dimension-wise KL from one
  minibatch (`keras_ae.BetaTCVAE`).

Example:
```python
log_w = keras.ops.convert_to_tensor(np.random.randn(5, 3), "float32")
keras_ae.objectives.bound(log_w, "iwae")   # (3,): log mean_s exp(log_w)
```
"""

import math

from keras import ops

from keras_ae import losses
from keras_ae import rng
from keras_ae import validation

#: Accepted values of `VariationalAutoencoder(objective=...)`.
OBJECTIVES = ("elbo", "iwae", "miwae", "ciwae")
#: Accepted values of `tc_decomposition(estimator=...)`.
TC_ESTIMATORS = ("mws", "stratified")
#: Metrics added by `importance_weighted_terms`.
IW_METRICS = ("iwae_bound", "effective_sample_size")

LOG_2PI = losses.LOG_2PI


# ------------------------------------------------------------------ arguments
def check_objective(objective, num_importance_samples, num_outer_samples, ciwae_beta):
    """Checks the objective arguments of a VAE; returns them normalised.

    Args:
        objective: one of `OBJECTIVES`.
        num_importance_samples: K >= 1, draws per bound (per outer sample).
        num_outer_samples: M for ``"miwae"`` (an integer >= 1); None otherwise.
        ciwae_beta: the ELBO's share for ``"ciwae"`` (in [0, 1], default
            0.5); None otherwise.

    Returns:
        ``(objective, K, M, ciwae_beta)``.
    """
    validation.one_of(objective, "objective", OBJECTIVES)
    k = validation.integer(num_importance_samples, "num_importance_samples", low=1)
    if objective == "miwae":
        m = validation.integer(num_outer_samples, "num_outer_samples", low=1)
    elif num_outer_samples is not None:
        raise ValueError(
            "`num_outer_samples` is only used with objective='miwae'; leave it "
            f"None for objective={objective!r}. "
            f"Received: num_outer_samples={num_outer_samples!r}"
        )
    else:
        m = None
    if objective == "ciwae":
        beta = 0.5 if ciwae_beta is None else ciwae_beta
        beta = validation.number(beta, "ciwae_beta", low=0.0, high=1.0)
    elif ciwae_beta is not None:
        raise ValueError(
            "`ciwae_beta` is only used with objective='ciwae'; leave it None for "
            f"objective={objective!r}. Received: ciwae_beta={ciwae_beta!r}"
        )
    else:
        beta = None
    return objective, k, m, beta


def uses_samples(model):
    """Whether a VAE trains on `importance_weighted_terms` (not the 1-sample ELBO)."""
    return model.objective != "elbo" or model.num_importance_samples > 1


def total_samples(model):
    """Draws per example of one training step (M * K for MIWAE, else K)."""
    return model.num_importance_samples * (model.num_outer_samples or 1)


# ------------------------------------------------------------- log weights
def draw_eps(sampler, shape):
    """Standard normal draws of ``shape`` from a `Sampling` layer's stream.

    Times the layer's ``noise_scale`` (0 draws nothing: zeros), float32.
    """
    scale = float(sampler.noise_scale)
    if scale == 0.0:
        return ops.zeros(shape, "float32")
    eps = rng.normal(shape, sampler.next_seed())
    return eps if scale == 1.0 else eps * scale


def log_weight_terms(model, x, z_mean, z_log_var, eps, training=False):
    """``log p(x|z_s)`` and ``log p(z_s) - log q(z_s|x)`` for S draws per example.

    ``z_s = z_mean + exp(z_log_var / 2) * eps_s``; ``log q`` is computed from
    ``eps`` itself (exact, also under mixed precision).

    Args:
        model: a `VariationalAutoencoder` (its decoder and likelihood).
        x: targets, shape ``(b,) + input_shape``.
        z_mean: posterior means ``(b, d)``, float32.
        z_log_var: posterior log-variances ``(b, d)``, float32.
        eps: standard normal draws ``(S, b, d)``.
        training: passed to the decoder.

    Returns:
        ``(log_px_z, log_ratio, out)``: two float32 ``(S, b)`` tensors and the
        decoder outputs of the ``S * b`` draws (sample-major rows).
    """
    eps = ops.cast(eps, "float32")
    s, b, d = ops.shape(eps)[0], ops.shape(eps)[1], ops.shape(eps)[2]
    z = z_mean[None] + ops.exp(0.5 * z_log_var)[None] * eps  # (S, b, d)
    out = model.decoder(ops.reshape(z, (s * b, d)), training=training)
    x_shape = tuple(ops.shape(x))
    x_rep = ops.reshape(ops.broadcast_to(x[None], (s,) + x_shape), (s * b,) + x_shape[1:])
    log_px_z = ops.reshape(-model._negative_log_likelihood(x_rep, out), (s, b))
    log_pz = -0.5 * ops.sum(LOG_2PI + ops.square(z), axis=-1)
    log_qz_x = -0.5 * ops.sum(LOG_2PI + z_log_var[None] + ops.square(eps), axis=-1)
    return log_px_z, log_pz - log_qz_x, out


def log_mean_exp(a, axis=0):
    """``log mean exp(a)`` along ``axis``, computed stably (`logsumexp`)."""
    n = ops.cast(ops.shape(a)[axis], "float32")
    return ops.logsumexp(a, axis=axis) - ops.log(n)


def bound(log_w, objective, num_outer_samples=None, ciwae_beta=None):
    """Per-example bound on log p(x) from log importance weights.

    Args:
        log_w: float32 ``(S, b)`` log weights ``log p(x, z_s) - log q(z_s|x)``.
        objective: ``"elbo"`` (``mean_s log_w``), ``"iwae"``
            (``log mean_s exp(log_w)``), ``"miwae"`` (the S = M * K rows read
            as M groups of K: the mean over groups of their IWAE-K bounds) or
            ``"ciwae"`` (``beta * ELBO + (1 - beta) * IWAE``).
        num_outer_samples: M, for ``"miwae"``.
        ciwae_beta: beta, for ``"ciwae"``.

    Returns:
        A ``(b,)`` tensor.
    """
    if objective == "elbo":
        return ops.mean(log_w, axis=0)
    if objective == "iwae":
        return log_mean_exp(log_w, axis=0)
    if objective == "miwae":
        m = int(num_outer_samples)
        grouped = ops.reshape(log_w, (m, -1, ops.shape(log_w)[-1]))
        return ops.mean(log_mean_exp(grouped, axis=1), axis=0)
    if objective == "ciwae":
        beta = float(ciwae_beta)
        return beta * ops.mean(log_w, axis=0) + (1.0 - beta) * log_mean_exp(log_w, axis=0)
    validation.one_of(objective, "objective", OBJECTIVES)


def effective_sample_size(log_w):
    """``(sum_s w_s)^2 / sum_s w_s^2`` per example, from ``(S, b)`` log weights."""
    normalised = ops.softmax(log_w, axis=0)
    return 1.0 / ops.sum(ops.square(normalised), axis=0)


def importance_weighted_terms(model, x, y, sample_weight=None, training=False):
    """Loss terms of a VAE trained on a multi-sample bound.

    Draws S = M * K (MIWAE) or K samples per example from the model's
    sampling stream (`eval_sampling` outside training) and minimises
    ``-bound + regularizers``; the weights inside the bound are
    ``log p(y|z) + kl_weight * (log p(z) - log q(z|x))`` so that
    `kl_weight` (``beta``, `KLAnnealing`) keeps its meaning (1: the bound of
    the paper). For ``"elbo"`` with K > 1 the reconstruction term is
    averaged over the K draws and the KL is analytic, as with K = 1.

    Returns:
        ``(terms, x_hat)``: the VAE's terms (``reconstruction_loss``: the mean
        over draws; ``kl_loss``: analytic) plus ``iwae_bound`` (the S-sample
        IWAE bound with weight 1, nats) and ``effective_sample_size`` (1 to
        S); ``x_hat`` is the decoder mean of the first draw.
    """
    z_mean, z_log_var = model._posterior(x, training=training)
    sampler = model.sampling if training else model.eval_sampling
    s = total_samples(model)
    eps = draw_eps(sampler, (s,) + tuple(ops.shape(z_mean)))
    log_px_z, log_ratio, out = log_weight_terms(
        model, y, z_mean, z_log_var, eps, training=training
    )
    kl_weight = ops.cast(model.kl_weight, "float32")
    kl = losses.kl_divergence(z_mean, z_log_var)
    if model.objective == "elbo":
        per_example = ops.mean(log_px_z, axis=0) - kl_weight * kl
    else:
        per_example = bound(
            log_px_z + kl_weight * log_ratio,
            model.objective,
            model.num_outer_samples,
            model.ciwae_beta,
        )
    log_w = log_px_z + log_ratio
    b = ops.shape(z_mean)[0]
    first = ops.reshape(out, (s, b) + tuple(ops.shape(out))[1:])[0]
    x_hat = model._mean_from_output(first)
    mean = lambda v: losses.reduce_mean(v, sample_weight)  # noqa: E731
    terms = {
        "loss": -mean(per_example) + model.regularization_loss(),
        "reconstruction_loss": mean(-ops.mean(log_px_z, axis=0)),
        "kl_loss": mean(kl),
        "kl_weight": kl_weight,
        "mse": mean(losses.mean_squared_error(y, x_hat)),
        "iwae_bound": mean(log_mean_exp(log_w, axis=0)),
        "effective_sample_size": mean(effective_sample_size(log_w)),
    }
    return terms, x_hat


# ------------------------------------------------- total-correlation terms
def check_dataset_size(dataset_size):
    """An integer >= 1 (the number of training examples)."""
    return validation.integer(dataset_size, "dataset_size", low=1)


def _log_weight_matrix(own, dataset_size, estimator):
    """``(b, B)`` log weights of ``q(z_i|x_j)`` in the estimate of ``q(z_i)``."""
    n = float(dataset_size)
    total = ops.cast(ops.shape(own)[1], "float32")
    if estimator == "mws":
        return ops.zeros_like(own) - math.log(n) - ops.log(total)
    if n == 1.0:  # no other example exists
        return own * 0.0 + (1.0 - own) * -1e30
    off = math.log(n - 1.0) - math.log(n) - ops.log(ops.maximum(total - 1.0, 1.0))
    return own * (-math.log(n)) + (1.0 - own) * off


def tc_decomposition(z, z_mean, z_log_var, dataset_size, estimator="stratified", offset=0):
    """Per-example index-code MI, total correlation and dimension-wise KL.

    With ``log q(z_i|x_j) = log N(z_i; mean_j, var_j)`` over the minibatch
    (B examples, ``z_i ~ q(z|x_i)``) and a weight ``w_ij``:

    * ``log q(z_i) ~= logsumexp_j [log q(z_i|x_j) + log w_ij]``;
    * ``log prod_d q(z_id) ~= sum_d logsumexp_j [log q(z_id|x_jd) + log w_ij]``;
    * MI = ``log q(z_i|x_i) - log q(z_i)``, TC = ``log q(z_i) - log prod_d
      q(z_id)``, dimension-wise KL = ``log prod_d q(z_id) - log p(z_i)``.

    They sum to ``log q(z_i|x_i) - log p(z_i)`` (a one-sample KL estimate).
    Weights: ``"stratified"``: the example's own posterior weighs ``1 / N``
    and each of the B - 1 others ``(N - 1) / (N (B - 1))``, an unbiased
    estimate of ``q(z_i) = (1/N) sum_n q(z_i|x_n)`` for a batch drawn
    without replacement; ``"mws"`` (minibatch-weighted sampling, Chen et al.
    2018, Sec. 3): ``w_ij = 1 / (N B)``, whose ``log q(z)`` is biased low by
    between log B and log N.

    Args:
        z: samples ``(b, d)`` of rows ``offset .. offset + b`` of the batch.
        z_mean, z_log_var: posteriors ``(B, d)`` of the whole batch (B = b
            unless the batch is split over replicas, `backend.global_batch`).
        dataset_size: N, the number of training examples.
        estimator: ``"stratified"`` or ``"mws"``.
        offset: row of ``z[0]``'s example in ``z_mean``.

    Returns:
        ``(mi, tc, dwkl)``, three float32 ``(b,)`` tensors (nats).
    """
    validation.one_of(estimator, "estimator", TC_ESTIMATORS)
    z = ops.cast(z, "float32")
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    # log q(z_id | x_j): (b_i, B_j, d).
    diff = z[:, None, :] - z_mean[None, :, :]
    log_q = -0.5 * (LOG_2PI + z_log_var[None] + ops.square(diff) * ops.exp(-z_log_var)[None])
    rows = ops.arange(ops.shape(z)[0]) + offset
    own = ops.one_hot(rows, ops.shape(z_mean)[0], dtype="float32")  # (b, B)
    log_w = _log_weight_matrix(own, dataset_size, estimator)
    log_q_joint = ops.sum(log_q, axis=-1)
    log_qz_x = ops.sum(log_q_joint * own, axis=1)
    log_qz = ops.logsumexp(log_q_joint + log_w, axis=1)
    log_prod = ops.sum(ops.logsumexp(log_q + log_w[:, :, None], axis=1), axis=-1)
    log_pz = -0.5 * ops.sum(LOG_2PI + ops.square(z), axis=-1)
    return log_qz_x - log_qz, log_qz - log_prod, log_prod - log_pz
