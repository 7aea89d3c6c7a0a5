"""β-TCVAE (Chen et al. 2018): the TC decomposition estimator and the model."""

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

SMALL = dict(input_shape=(16,), latent_dim=3, hidden_units=(8,), seed=1, dataset_size=64)


def _density(v, mean, log_var):
    return np.exp(-0.5 * (np.log(2 * np.pi) + log_var + (v - mean) ** 2 / np.exp(log_var)))


def tc_reference(z, mu, lv, n, estimator):
    """MI, TC and dimension-wise KL per example, by explicit sums (float64)."""
    b, d = z.shape
    if estimator == "mws":
        w = np.full((b, b), 1.0 / (n * b))
    else:
        w = np.full((b, b), (n - 1.0) / (n * (b - 1)))
        np.fill_diagonal(w, 1.0 / n)
    mi, tc, dw = np.zeros(b), np.zeros(b), np.zeros(b)
    for i in range(b):
        q_joint = sum(w[i, j] * np.prod(_density(z[i], mu[j], lv[j])) for j in range(b))
        q_dims = [
            sum(w[i, j] * _density(z[i, k], mu[j, k], lv[j, k]) for j in range(b))
            for k in range(d)
        ]
        log_qzx = np.sum(np.log(_density(z[i], mu[i], lv[i])))
        log_pz = np.sum(np.log(_density(z[i], 0.0, 0.0)))
        mi[i] = log_qzx - np.log(q_joint)
        tc[i] = np.log(q_joint) - np.sum(np.log(q_dims))
        dw[i] = np.sum(np.log(q_dims)) - log_pz
    return mi, tc, dw


@pytest.mark.backends
@pytest.mark.parametrize("estimator", ["mws", "stratified"])
def test_tc_decomposition_equals_direct_numpy_sums(estimator):
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(5, 3))
    lv = rng.normal(scale=0.5, size=(5, 3)) - 1.0
    z = mu + np.exp(0.5 * lv) * rng.normal(size=(5, 3))
    got = objectives.tc_decomposition(
        *(ops.convert_to_tensor(a, "float32") for a in (z, mu, lv)), 100, estimator
    )
    want = tc_reference(z, mu, lv, 100, estimator)
    for name, g, w in zip(("mi", "tc", "dwkl"), got, want):
        np.testing.assert_allclose(ops.convert_to_numpy(g), w, rtol=1e-4, atol=1e-4, err_msg=name)
    # The three terms sum to the one-sample KL estimate log q(z|x) - log p(z).
    total = sum(ops.convert_to_numpy(g) for g in got)
    log_q = np.sum(np.log(_density(z, mu, lv)), 1)
    log_p = np.sum(np.log(_density(z, 0.0, 0.0)), 1)
    np.testing.assert_allclose(total, log_q - log_p, rtol=1e-4, atol=1e-4)


def test_stratified_tc_is_near_zero_for_a_factorised_aggregate():
    # Independent dimensions, the same posterior for every x: TC = 0 and MI = 0
    # exactly in the limit; the stratified estimate is close, MWS is offset by
    # about (d - 1) log N (documented bias).
    rng = np.random.default_rng(1)
    b, d, n = 256, 3, 10_000
    mu, lv = np.zeros((b, d)), np.zeros((b, d))
    z = rng.normal(size=(b, d))
    args = [ops.convert_to_tensor(a, "float32") for a in (z, mu, lv)]
    mi, tc, _ = (np.mean(ops.convert_to_numpy(t)) for t in objectives.tc_decomposition(*args, n, "stratified"))
    assert abs(tc) < 1e-3 and abs(mi) < 1e-3
    _, tc_mws, _ = (np.mean(ops.convert_to_numpy(t)) for t in objectives.tc_decomposition(*args, n, "mws"))
    np.testing.assert_allclose(tc_mws, (d - 1) * np.log(n), rtol=1e-4)


@pytest.mark.backends
@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0), (0.5, 6.0, 2.0)])
def test_loss_terms_equal_numpy_for_fixed_draws(weights, monkeypatch):
    alpha, beta, gamma = weights
    model = keras_ae.BetaTCVAE(**SMALL, alpha=alpha, beta=beta, gamma=gamma)
    x = X_FLAT[:6]
    eps = np.random.default_rng(2).normal(size=(6, 3))
    monkeypatch.setattr(
        objectives, "draw_eps", lambda sampler, shape: ops.convert_to_tensor(eps, "float32")
    )
    terms, _ = model.compute_loss_terms(x, x, training=True)
    terms = {k: float(ops.convert_to_numpy(v)) for k, v in terms.items()}
    mu, lv = (a.astype("float64") for a in model.encode(x, return_distribution=True))
    z = mu + np.exp(0.5 * lv) * eps
    logits = np.asarray(model.decoder.predict(z.astype("float32"), verbose=0), "float64")
    rec = -np.sum(x * logits - np.logaddexp(0.0, logits), axis=1).mean()
    mi, tc, dw = (v.mean() for v in tc_reference(z, mu, lv, 64, "stratified"))
    np.testing.assert_allclose(terms["reconstruction_loss"], rec, rtol=1e-4)
    for name, value in (("mutual_information", mi), ("total_correlation", tc), ("dimension_wise_kl", dw)):
        np.testing.assert_allclose(terms[name], value, rtol=1e-3, atol=1e-4, err_msg=name)
    np.testing.assert_allclose(
        terms["loss"], rec + alpha * mi + beta * tc + gamma * dw, rtol=1e-4
    )
    if weights == (1.0, 1.0, 1.0):  # the VAE with a sampled KL
        log_q = np.sum(np.log(_density(z, mu, lv)), 1)
        log_p = np.sum(np.log(_density(z, 0.0, 0.0)), 1)
        np.testing.assert_allclose(terms["loss"], rec + np.mean(log_q - log_p), rtol=1e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dataset_size=None), "dataset_size"),
        (dict(dataset_size=0), "dataset_size"),
        (dict(dataset_size=64.0), "dataset_size"),
        (dict(dataset_size="64"), "dataset_size"),
        (dict(alpha=-1.0), "alpha"),
        (dict(beta=float("nan")), "beta"),
        (dict(gamma="1"), "gamma"),
        (dict(estimator="mss"), "estimator"),
        (dict(objective="iwae"), "objective"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=f"{match}.*Received"):
        keras_ae.BetaTCVAE(**dict(SMALL, **kwargs))


def test_fit_checks_the_data_against_dataset_size():
    model = keras_ae.BetaTCVAE(**dict(SMALL, dataset_size=32))
    model.compile()
    before = weights_of(model)
    with pytest.raises(ValueError, match=r"dataset_size.*Received: dataset_size=32 and x with 64"):
        model.fit(X_FLAT, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"batch_size.*<= 32.*Received: batch_size=33"):
        model.fit(X_FLAT[:32], batch_size=33, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"batch_size.*>= 2"):
        model.fit(X_FLAT[:32], batch_size=1, epochs=1, verbose=0)
    assert model.optimizer.iterations.numpy() == 0
    for a, b in zip(before, weights_of(model)):
        np.testing.assert_array_equal(a, b)
    # A shard (fewer examples than the data set) is fine.
    fit_quietly(model, X_FLAT[:16], batch_size=8)


@pytest.mark.backends
def test_training_reports_the_three_terms_and_lowers_the_loss():
    model = keras_ae.BetaTCVAE(**SMALL, beta=4.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = fit_quietly(model, X_FLAT, epochs=10, shuffle=True)
    for name in ("mutual_information", "total_correlation", "dimension_wise_kl", "kl_loss"):
        assert np.all(np.isfinite(history.history[name])), name
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_config_roundtrip_and_safe_mode_reload(tmp_path):
    model = keras_ae.BetaTCVAE(**SMALL, alpha=0.5, beta=3.0, gamma=2.0, estimator="mws")
    clone = assert_config_roundtrip(model)
    assert (clone.alpha, clone.beta, clone.gamma, clone.estimator, clone.dataset_size) == (
        0.5, 3.0, 2.0, "mws", 64
    )
    assert float(clone.kl_weight.numpy()) == 1.0  # beta is the TC weight, not kl_weight
    assert "objective" not in model.get_config()
    model.compile()
    fit_quietly(model, X_FLAT)
    model.save(tmp_path / "tc.keras")
    reloaded = keras.models.load_model(tmp_path / "tc.keras", safe_mode=True)
    assert type(reloaded) is keras_ae.BetaTCVAE
    assert json.dumps(reloaded.get_config()) == json.dumps(model.get_config())
    fit_quietly(model, X_FLAT)
    fit_quietly(reloaded, X_FLAT)
    for a, b in zip(weights_of(model), weights_of(reloaded)):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.backends
def test_a_split_batch_with_offsets_gives_the_whole_batch_estimate():
    # What each tf.distribute replica computes (its rows against the whole
    # batch, `backend.global_batch`) equals the one-device estimate.
    rng = np.random.default_rng(4)
    mu, lv = rng.normal(size=(6, 2)), rng.normal(scale=0.3, size=(6, 2))
    z = mu + np.exp(0.5 * lv) * rng.normal(size=(6, 2))
    t = lambda a: ops.convert_to_tensor(a, "float32")  # noqa: E731
    for estimator in ("mws", "stratified"):
        whole = objectives.tc_decomposition(t(z), t(mu), t(lv), 50, estimator)
        parts = [
            objectives.tc_decomposition(t(z[s : s + 3]), t(mu), t(lv), 50, estimator, offset=s)
            for s in (0, 3)
        ]
        for k in range(3):
            np.testing.assert_allclose(
                np.concatenate([ops.convert_to_numpy(p[k]) for p in parts]),
                ops.convert_to_numpy(whole[k]),
                rtol=1e-5, atol=1e-5,
            )
