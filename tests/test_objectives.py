"""Importance-weighted objectives of the VAE (keras_ae.objectives, issue 18)."""

import json

import keras
import numpy as np
import pytest
from keras import ops

import keras_ae
from harness import X_FLAT
from harness import assert_config_roundtrip
from harness import fit_quietly
from harness import weights_of
from keras_ae import objectives

SMALL = dict(input_shape=(16,), latent_dim=3, hidden_units=(8,), seed=1)


def _logmeanexp(a, axis=0):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.mean(np.exp(a - m), axis=axis))


# ------------------------------------------------------------- the bounds
@pytest.mark.backends
@pytest.mark.parametrize("shift", [0.0, -1e4])
def test_bounds_equal_numpy_and_are_stable(shift):
    log_w = np.random.default_rng(0).normal(size=(6, 4)) * 3.0 + shift
    t = ops.convert_to_tensor(log_w, "float32")
    got = {
        "elbo": objectives.bound(t, "elbo"),
        "iwae": objectives.bound(t, "iwae"),
        "miwae": objectives.bound(t, "miwae", num_outer_samples=2),
        "ciwae": objectives.bound(t, "ciwae", ciwae_beta=0.25),
    }
    want = {
        "elbo": log_w.mean(0),
        "iwae": _logmeanexp(log_w),
        # rows 0-2 are group 0, rows 3-5 group 1
        "miwae": 0.5 * (_logmeanexp(log_w[:3]) + _logmeanexp(log_w[3:])),
        "ciwae": 0.25 * log_w.mean(0) + 0.75 * _logmeanexp(log_w),
    }
    for name in want:
        value = ops.convert_to_numpy(got[name])
        assert np.all(np.isfinite(value)), name
        np.testing.assert_allclose(value, want[name], rtol=1e-5, atol=2e-3, err_msg=name)
    # IWAE >= MIWAE >= ELBO for the same weights (Jensen).
    assert np.all(want["iwae"] >= want["miwae"]) and np.all(want["miwae"] >= want["elbo"])
    ess = ops.convert_to_numpy(objectives.effective_sample_size(t))
    w = np.exp(log_w - log_w.max(0))
    np.testing.assert_allclose(ess, w.sum(0) ** 2 / (w**2).sum(0), rtol=2e-3)  # float32 at 1e4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(objective="vimco"), "objective"),
        (dict(objective="iwae", num_importance_samples=0), "num_importance_samples"),
        (dict(objective="iwae", num_importance_samples=2.0), "num_importance_samples"),
        (dict(objective="miwae", num_importance_samples=2), "num_outer_samples"),
        (dict(objective="iwae", num_outer_samples=2), "num_outer_samples.*only"),
        (dict(objective="iwae", ciwae_beta=0.5), "ciwae_beta.*only"),
        (dict(objective="ciwae", ciwae_beta=1.5), "ciwae_beta"),
    ],
)
def test_bad_objective_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=f"{match}.*Received"):
        keras_ae.VAE(**SMALL, **kwargs)


# -------------------------------------------------- the VAE's loss terms
def _numpy_log_weights(vae, x, eps):
    """log p(x|z) + log p(z) - log q(z|x) for eps (S, b, d), in NumPy float64."""
    mean, log_var = vae.encode(x, return_distribution=True)
    z = mean[None] + np.exp(0.5 * log_var)[None] * eps
    s, b, d = eps.shape
    logits = np.asarray(vae.decoder.predict(z.reshape(s * b, d).astype("float32"), verbose=0), "float64")
    logits = logits.reshape(s, b, -1)
    log_px = np.sum(x[None] * logits - np.logaddexp(0.0, logits), axis=-1)
    log_pz = -0.5 * np.sum(np.log(2 * np.pi) + z**2, axis=-1)
    log_q = -0.5 * np.sum(np.log(2 * np.pi) + log_var[None] + eps**2, axis=-1)
    kl = np.sum(-0.5 * (1 + log_var - mean**2 - np.exp(log_var)), axis=-1)
    return log_px, log_pz - log_q, kl


@pytest.mark.backends
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(objective="iwae", num_importance_samples=4),
        dict(objective="miwae", num_importance_samples=2, num_outer_samples=2),
        dict(objective="ciwae", num_importance_samples=4, ciwae_beta=0.3),
        dict(objective="elbo", num_importance_samples=4),
    ],
    ids=lambda k: f"{k['objective']}",
)
def test_loss_terms_equal_numpy_for_fixed_draws(kwargs, monkeypatch):
    vae = keras_ae.VAE(**SMALL, **kwargs)
    x = X_FLAT[:5].astype("float64")
    eps = np.random.default_rng(3).normal(size=(4, 5, 3))
    monkeypatch.setattr(
        objectives, "draw_eps", lambda sampler, shape: ops.convert_to_tensor(eps, "float32")
    )
    vae.kl_weight.assign(0.5)
    terms, x_hat = vae.compute_loss_terms(X_FLAT[:5], X_FLAT[:5], training=True)
    terms = {k: float(ops.convert_to_numpy(v)) for k, v in terms.items()}
    log_px, log_ratio, kl = _numpy_log_weights(vae, x, eps)
    weighted = log_px + 0.5 * log_ratio
    objective = kwargs["objective"]
    if objective == "iwae":
        per_example = _logmeanexp(weighted)
    elif objective == "miwae":
        per_example = 0.5 * (_logmeanexp(weighted[:2]) + _logmeanexp(weighted[2:]))
    elif objective == "ciwae":
        per_example = 0.3 * weighted.mean(0) + 0.7 * _logmeanexp(weighted)
    else:
        per_example = log_px.mean(0) - 0.5 * kl
    np.testing.assert_allclose(terms["loss"], -per_example.mean(), rtol=1e-4)
    np.testing.assert_allclose(terms["reconstruction_loss"], -log_px.mean(), rtol=1e-4)
    np.testing.assert_allclose(terms["kl_loss"], kl.mean(), rtol=1e-4)
    np.testing.assert_allclose(
        terms["iwae_bound"], _logmeanexp(log_px + log_ratio).mean(), rtol=1e-4
    )
    assert 1.0 <= terms["effective_sample_size"] <= 4.0
    assert x_hat.shape == (5, 16)


@pytest.mark.backends
def test_iwae_bound_matches_log_likelihood_and_training_improves_it():
    # iwae_bound (evaluate) and log_likelihood estimate the same quantity.
    vae = keras_ae.VAE(**SMALL, objective="iwae", num_importance_samples=50)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = vae.evaluate(X_FLAT, batch_size=64, verbose=0, return_dict=True)
    ll = vae.log_likelihood(X_FLAT, num_samples=50, seed=0)
    assert abs(before["iwae_bound"] - ll) < 0.05 * abs(ll)
    assert before["loss"] == pytest.approx(-before["iwae_bound"], rel=1e-5)
    history = fit_quietly(vae, X_FLAT, epochs=15, shuffle=True)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    for name in ("iwae_bound", "effective_sample_size", "kl_loss", "reconstruction_loss"):
        assert name in history.history and np.all(np.isfinite(history.history[name]))


def test_one_sample_elbo_keeps_the_vae_metrics():
    vae = keras_ae.VAE(**SMALL)
    assert "iwae_bound" not in vae.loss_term_names()
    assert vae.get_config()["objective"] == "elbo"
    iw = keras_ae.VAE(**SMALL, objective="iwae", num_importance_samples=2)
    assert {"iwae_bound", "effective_sample_size"} <= set(iw.loss_term_names())


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(objective="iwae", num_importance_samples=3),
        dict(objective="miwae", num_importance_samples=2, num_outer_samples=3),
        dict(objective="ciwae", num_importance_samples=2, ciwae_beta=0.1),
    ],
)
def test_config_roundtrip_and_safe_mode_reload(kwargs, tmp_path):
    vae = keras_ae.VAE(**SMALL, **kwargs)
    clone = assert_config_roundtrip(vae)
    for key, value in kwargs.items():
        assert getattr(clone, key) == value
    vae.compile()
    fit_quietly(vae, X_FLAT)
    path = tmp_path / "iw.keras"
    vae.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    assert json.dumps(reloaded.get_config()) == json.dumps(vae.get_config())
    fit_quietly(vae, X_FLAT)
    fit_quietly(reloaded, X_FLAT)
    for a, b in zip(weights_of(vae), weights_of(reloaded)):
        np.testing.assert_allclose(a, b, atol=1e-5)
