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

__all__ = ["evaluate", "describe", "mutual_information_gap", "dci", "histogram_discretize"]

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


# ------------------------------------------------------ disentanglement
def _discrete_columns(values, name):
    """Each column of ``values`` as integer codes 0..n-1 (`np.unique`)."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or not len(values):
        raise ValueError(
            f"`{name}` must be a non-empty array of shape (N, K). "
            f"Received: {name}.shape={values.shape}"
        )
    return np.stack(
        [np.unique(values[:, k], return_inverse=True)[1].reshape(-1) for k in range(values.shape[1])],
        axis=1,
    )


def _check_codes(codes, n):
    codes = np.asarray(codes, "float64")
    if codes.ndim != 2 or len(codes) != n or not np.all(np.isfinite(codes)):
        raise ValueError(
            "`codes` must be a finite array of shape (N, latent_dim) with one row "
            f"per row of `factors` (N={n}). Received: codes.shape={codes.shape}"
        )
    return codes


def _entropy(labels):
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def _mutual_information(a, b):
    """Plug-in mutual information (nats) of two integer-coded vectors."""
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= len(a)
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])))


def histogram_discretize(codes, num_bins=20):
    """Each code dimension cut into ``num_bins`` equal-width bins (0..num_bins-1)."""
    codes = np.asarray(codes, "float64")
    out = np.zeros(codes.shape, "int64")
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], num_bins)[1]
        out[:, j] = np.clip(np.digitize(codes[:, j], edges[1:-1]), 0, num_bins - 1)
    return out


def mutual_information_gap(codes, factors, num_bins=20, return_details=False):
    """Mutual information gap (MIG, Chen et al. 2018) of codes for known factors.

    Each code dimension is discretised into ``num_bins`` equal-width bins
    (as in disentanglement_lib); for each factor ``v_k`` the plug-in mutual
    information ``I(z_j; v_k)`` with every code dimension is computed and
    MIG is the mean over factors of ``(I_top1 - I_top2) / H(v_k)``: 1 when
    each factor is captured by exactly one dimension (and no other), 0 when
    the two most informative dimensions share it equally or carry nothing.

    Args:
        codes: array ``(N, latent_dim)`` (e.g. posterior means), latent_dim >= 2.
        factors: array ``(N, K)`` of discrete factor values (any values;
            each column is read through `np.unique`).
        num_bins: bins per code dimension.
        return_details: also return a dict with the ``(latent_dim, K)`` MI
            matrix (nats), the factor entropies and the per-factor gaps.

    Returns:
        MIG as a float in [0, 1] (or ``(mig, details)``).

    Example:
    ```python
    mig = keras_ae.evaluation.mutual_information_gap(vae.encode(x), factors)
    ```
    """
    from keras_ae import validation

    num_bins = validation.integer(num_bins, "num_bins", low=2)
    factors = _discrete_columns(factors, "factors")
    codes = _check_codes(codes, len(factors))
    if codes.shape[1] < 2:
        raise ValueError(
            "`codes` must have at least 2 dimensions for a gap. "
            f"Received: codes.shape={codes.shape}"
        )
    entropies = np.array([_entropy(factors[:, k]) for k in range(factors.shape[1])])
    if np.any(entropies == 0):
        raise ValueError(
            "Every factor must take at least two values. Received: constant "
            f"factor columns {np.flatnonzero(entropies == 0).tolist()}"
        )
    binned = histogram_discretize(codes, num_bins)
    mi = np.array(
        [[_mutual_information(binned[:, j], factors[:, k]) for k in range(factors.shape[1])]
         for j in range(codes.shape[1])]
    )
    top = np.sort(mi, axis=0)[::-1]
    gaps = (top[0] - top[1]) / entropies
    mig = float(np.mean(gaps))
    if return_details:
        return mig, {"mutual_information": mi, "entropies": entropies, "gaps": gaps}
    return mig


def dci(codes, factors, test_fraction=0.2, n_estimators=50, max_depth=8, seed=0):
    """DCI disentanglement, completeness and informativeness (Eastwood & Williams 2018).

    For each factor a random-forest classifier (scikit-learn) predicts the
    factor from all code dimensions; its impurity importances form column
    ``k`` of the importance matrix ``R`` (latent_dim x K). With
    ``P_jk = R_jk / sum_k R_jk``: disentanglement ``D = sum_j rho_j (1 -
    H_K(P_j.))`` weighted by ``rho_j = sum_k R_jk / sum R`` (entropy in base
    K); completeness ``C = mean_k (1 - H_latent_dim(R_.k / sum_j R_jk))``;
    informativeness is the mean test accuracy of the classifiers.

    Args:
        codes: array ``(N, latent_dim)``; factors: array ``(N, K)`` of discrete
            values (K >= 2 for D, latent_dim >= 2 for C).
        test_fraction: share of the examples held out for informativeness.
        n_estimators, max_depth: of each `RandomForestClassifier`.
        seed: integer seed of the split and the forests.

    Returns:
        ``{"disentanglement", "completeness", "informativeness"}`` floats and
        ``"importance"`` (the matrix R).

    Example:
    ```python
    scores = keras_ae.evaluation.dci(vae.encode(x), factors)
    scores["disentanglement"]
    ```
    """
    from sklearn.ensemble import RandomForestClassifier

    from keras_ae import validation

    test_fraction = validation.number(
        test_fraction, "test_fraction", low=0.0, high=1.0, low_inclusive=False,
        high_inclusive=False,
    )
    seed = validation.integer(seed, "seed")
    factors = _discrete_columns(factors, "factors")
    codes = _check_codes(codes, len(factors))
    d, k = codes.shape[1], factors.shape[1]
    if d < 2 or k < 2:
        raise ValueError(
            "`dci` needs at least 2 code dimensions and 2 factors. "
            f"Received: codes.shape={codes.shape}, factors.shape={factors.shape}"
        )
    order = np.random.default_rng(seed).permutation(len(codes))
    n_test = max(1, int(round(test_fraction * len(codes))))
    test, train = order[:n_test], order[n_test:]
    importance = np.zeros((d, k))
    accuracy = []
    for j in range(k):
        forest = RandomForestClassifier(
            n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=1
        )
        forest.fit(codes[train], factors[train, j])
        importance[:, j] = np.abs(forest.feature_importances_)
        accuracy.append(float(forest.score(codes[test], factors[test, j])))

    def one_minus_entropy(p, base):
        p = p / max(p.sum(), 1e-12)
        nz = p[p > 0]
        return 1.0 - float(-np.sum(nz * np.log(nz)) / np.log(base))

    total = importance.sum()
    rho = importance.sum(axis=1) / total if total > 0 else np.full(d, 1.0 / d)
    dis = sum(rho[i] * one_minus_entropy(importance[i], k) for i in range(d))
    comp = np.mean([one_minus_entropy(importance[:, j], d) for j in range(k)])
    return {
        "disentanglement": float(dis),
        "completeness": float(comp),
        "informativeness": float(np.mean(accuracy)),
        "importance": importance,
    }
