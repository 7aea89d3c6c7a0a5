"""Tests for keras_ae.VariationalAutoencoder (the battery is in test_common.py).

* the loss is the negative ELBO in nats per example, KL weighted by `kl_weight`;
* log p(x) estimates are exact when the posterior is exact, and a trained
  linear VAE reaches the probabilistic-PCA log-likelihood (Tipping & Bishop);
* one step under `MirroredStrategy` equals one step on one device;
* mixed precision, exact resume with `BackupAndRestore` in a fresh process,
  `KLAnnealing`, and posterior-collapse diagnostics.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from scipy.stats import multivariate_normal  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

import keras_ae  # noqa: E402
from harness import X_FLAT  # noqa: E402
from harness import X_IMG  # noqa: E402
from harness import assert_weights_close  # noqa: E402
from harness import compile_sgd  # noqa: E402
from harness import fit_quietly  # noqa: E402
from harness import run_in_fresh_process  # noqa: E402
from harness import weights_of  # noqa: E402
from keras_ae.callbacks import ActiveUnits  # noqa: E402
from keras_ae.callbacks import KLAnnealing  # noqa: E402
from keras_ae.models.vae import VariationalAutoencoder  # noqa: E402

SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)


def _digits():
    x = (load_digits().data / 16.0).astype("float32")
    return x[:1500], x[1500:]


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@pytest.fixture
def restore_policy():
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)


# ------------------------------------------------------------- the loss


def test_loss_is_negative_elbo_in_nats_with_weighted_kl():
    """Hand-computed -ELBO at z = mean (noise_scale=0): Bernoulli NLL summed
    over features + beta * analytic KL, averaged over the batch."""
    vae = keras_ae.VAE(**SMALL, beta=0.5, noise_scale=0.0)
    vae.compile()
    x = X_FLAT
    mean, log_var = vae.encode(x, return_distribution=True)
    logits = vae.decoder.predict(mean, verbose=0)
    rec = np.sum(
        np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits))), axis=1
    ).mean()
    kl = np.sum(-0.5 * (1 + log_var - mean**2 - np.exp(log_var)), axis=1).mean()
    logs = vae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["reconstruction_loss"], rec, rtol=1e-5)
    np.testing.assert_allclose(logs["kl_loss"], kl, rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], rec + 0.5 * kl, rtol=1e-5)
    assert logs["kl_weight"] == 0.5
    np.testing.assert_allclose(vae.kl_per_dimension(x).sum(), kl, rtol=1e-5)


def test_gaussian_likelihood_with_fixed_and_learned_variance():
    x = X_FLAT
    fixed = keras_ae.VAE(**SMALL, likelihood="gaussian", observation_variance=0.1,
                         noise_scale=0.0)
    assert fixed.observation_log_var is None
    fixed.compile()
    x_hat = fixed.predict(x, verbose=0)
    nll = 0.5 * np.sum(np.log(2 * np.pi * 0.1) + (x - x_hat) ** 2 / 0.1, axis=1).mean()
    logs = fixed.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["reconstruction_loss"], nll, rtol=1e-5)
    # The learned shared variance moves to the expected squared error under
    # q(z|x), its maximum-likelihood value.
    learned = keras_ae.VAE(**SMALL, likelihood="gaussian")
    assert learned.observation_log_var.trainable
    learned.compile(optimizer=keras.optimizers.Adam(0.05))
    fit_quietly(learned, np.tile(x, (60, 1)), batch_size=64)  # 60 steps
    mean, log_var = learned.encode(x, return_distribution=True)
    eps = np.random.default_rng(0).standard_normal((20,) + mean.shape)
    z = (mean + np.exp(0.5 * log_var) * eps).reshape(-1, 4).astype("float32")
    err = np.mean((learned.decode(z).reshape(20, len(x), 16) - x) ** 2)
    learned_log_var = float(learned.observation_log_var.numpy())
    assert learned_log_var < -1.0  # it started at 0
    assert abs(learned_log_var - np.log(err)) < 0.15, (learned_log_var, np.log(err))


def test_inference_is_deterministic_and_returns_probabilities():
    vae = keras_ae.VAE(**SMALL)
    x = X_FLAT
    out = vae.predict(x, verbose=0)
    assert np.all((out > 0) & (out < 1))
    np.testing.assert_array_equal(out, vae.predict(x, verbose=0))
    mean = vae.encode(x)
    np.testing.assert_allclose(
        vae.decode(mean), _sigmoid(vae.decoder.predict(mean, verbose=0)), rtol=1e-5
    )
    np.testing.assert_allclose(vae.reconstruct(x), vae.decode(mean), rtol=1e-5)
    m, lv = vae.encode(x, return_distribution=True)
    np.testing.assert_array_equal(m, mean)
    assert lv.shape == (len(x), 4) and np.all(np.isfinite(lv))
    # training=True samples z.
    assert not np.allclose(np.asarray(vae(x, training=True)), out)


def test_sample_is_seeded():
    vae = keras_ae.VAE(**SMALL)
    a, b = vae.sample(5, seed=0), vae.sample(5, seed=0)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, 16) and np.all((a > 0) & (a < 1))
    assert not np.allclose(a, vae.sample(5, seed=1))
    # The same random stream as the exported sample_seeded: decoded prior
    # noise drawn from the seed.
    z = vae.codes_from_noise(vae.draw_prior_noise(5, keras_ae.rng.seed_tensor(0)))
    np.testing.assert_allclose(a, vae.decode(np.asarray(z)), rtol=1e-5, atol=1e-6)
    assert vae.sample(0).shape == (0, 16)  # no examples: an empty array
    with pytest.raises(ValueError, match="Received: n=-1"):
        vae.sample(-1)


def test_extreme_log_variance_stays_finite():
    """exp(log_var) never overflows: loss, gradients and weights stay finite."""
    vae = keras_ae.VAE(**SMALL)
    head = vae.encoder.get_layer("z_log_var")
    for value in (1e4, -1e4):
        head.bias.assign(np.full((4,), value, "float32"))
        vae.compile(optimizer=keras.optimizers.SGD(1e-3))
        logs = fit_quietly(vae, X_FLAT, batch_size=64).history
        assert all(np.isfinite(v[0]) for v in logs.values()), logs
        assert all(np.all(np.isfinite(w)) for w in weights_of(vae))


def test_evaluation_noise_is_reproducible_and_separate_from_training():
    """evaluate (and so validation) samples z from its own stream, restarted
    at every call: equal results, and the training run is unchanged."""
    a, b = keras_ae.VAE(**SMALL), keras_ae.VAE(**SMALL)
    a.compile(), b.compile()
    fit_quietly(a, X_FLAT, epochs=2, batch_size=32)
    fit_quietly(b, X_FLAT, batch_size=32)
    first = b.evaluate(X_FLAT, verbose=0, return_dict=True)
    assert first == b.evaluate(X_FLAT, verbose=0, return_dict=True)
    fit_quietly(b, X_FLAT, batch_size=32)
    assert_weights_close(weights_of(a), weights_of(b), atol=0)


def test_conv_architecture_and_user_networks():
    vae = keras_ae.VAE(input_shape=(8, 8, 1), latent_dim=3, hidden_units=(4, 8),
                       architecture="conv", seed=0)
    vae.compile()
    fit_quietly(vae, X_IMG)
    assert vae.sample(2, seed=0).shape == (2, 8, 8, 1)
    assert np.isfinite(vae.log_likelihood(X_IMG[:4], num_samples=8, seed=0))
    inputs = keras.Input((16,))
    bad_encoder = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    with pytest.raises(ValueError, match=r"\[z_mean, z_log_var\]"):
        keras_ae.VAE(input_shape=(16,), latent_dim=4, encoder=bad_encoder)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(likelihood="poisson"), "Received: likelihood='poisson'"),
        (dict(beta=-1.0), "Received: beta=-1.0"),
        (dict(beta=float("nan")), "Received: beta=nan"),
        (dict(observation_variance=0.1), "Received: observation_variance=0.1"),
        (dict(likelihood="gaussian", observation_variance=0.0),
         "Received: observation_variance=0.0"),
        (dict(reconstruction_loss="mse"), "Received: reconstruction_loss='mse'"),
        (dict(tied_weights=True), "Received: tied_weights=True"),
        (dict(noise_scale=-0.5), "Received: noise_scale=-0.5"),
    ],
)
def test_invalid_vae_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_ae.VAE(**dict(SMALL, **kwargs))


def test_alias_and_config():
    assert keras_ae.VAE is keras_ae.VariationalAutoencoder
    vae = keras_ae.VAE(**SMALL, likelihood="gaussian", beta=2.0, observation_variance=0.5)
    config = vae.get_config()
    assert config["likelihood"] == "gaussian" and config["beta"] == 2.0
    assert config["observation_variance"] == 0.5 and config["reconstruction_loss"] == "mse"
    # The config stores the constructor's beta, not the current kl_weight.
    vae.kl_weight.assign(0.25)
    assert vae.get_config()["beta"] == 2.0


# --------------------------------------------------- log-likelihood estimates


def _exact_linear_vae(sigma2=0.05, k=3, d=16, n=50, seed=0):
    """A linear Gaussian VAE whose encoder is the exact posterior.

    Decoder x = W z + c + N(0, sigma2 I) with orthogonal columns of W, so the
    true posterior N(M^-1 W^T (x - c), sigma2 M^-1), M = W^T W + sigma2 I, is
    diagonal and the encoder can represent it exactly.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, k)))
    w = q * np.array([1.5, 1.0, 0.5])[:k]
    c = rng.uniform(0.2, 0.8, size=d)
    m = np.diag(w.T @ w) + sigma2
    vae = keras_ae.VAE(input_shape=(d,), latent_dim=k, hidden_units=(), activation=None,
                       likelihood="gaussian", output_activation=None,
                       observation_variance=sigma2, seed=seed)
    vae.decoder.get_layer("output").set_weights([w.T, c])
    vae.encoder.get_layer("z_mean").set_weights([w / m, -(w.T @ c) / m])
    vae.encoder.get_layer("z_log_var").set_weights(
        [np.zeros((d, k)), np.log(sigma2 / m)]
    )
    x = rng.multivariate_normal(c, w @ w.T + sigma2 * np.eye(d), size=n)
    exact = multivariate_normal(c, w @ w.T + sigma2 * np.eye(d)).logpdf(x)
    return vae, x.astype("float32"), exact


def test_estimates_are_exact_when_the_posterior_is_exact():
    """All importance weights equal p(x): every estimate is log p(x)."""
    vae, x, exact = _exact_linear_vae()
    for k, rows in ((1, 2048), (7, 5), (300, 64)):
        got = vae.log_likelihood(x, num_samples=k, batch_size=rows, seed=0, reduction="none")
        np.testing.assert_allclose(got, exact, atol=2e-3)
    # E_q[log p(x|z)] - KL is exact in expectation only (Monte-Carlo term).
    elbo = vae.elbo(x, num_samples=500, seed=1, reduction="none")
    assert abs(elbo.mean() - exact.mean()) < 0.05
    np.testing.assert_allclose(elbo, exact, atol=0.5)
    assert isinstance(vae.log_likelihood(x, num_samples=2, seed=0), float)


def test_estimates_with_an_approximate_posterior():
    """Tripling the posterior variance opens a gap: the ELBO drops below log
    p(x); IWAE estimates rise towards it with K (Burda et al. 2015 Thm. 1),
    reproducibly for a seed and independent of the chunking."""
    vae, x, exact = _exact_linear_vae(n=200)
    head = vae.encoder.get_layer("z_log_var")
    kernel, bias = head.get_weights()
    head.set_weights([kernel, bias + np.log(3.0)])
    elbo = vae.elbo(x, num_samples=50, seed=0, reduction="none")
    ll = {k: vae.log_likelihood(x, num_samples=k, seed=0, reduction="none")
          for k in (1, 3, 1000)}

    def above(a, b):  # mean(a - b) > 0 beyond 3 standard errors
        d = a - b
        return d.mean() > 3 * d.std() / np.sqrt(len(d))

    assert above(exact, elbo)
    assert above(ll[3], ll[1]) and above(ll[1000], ll[3])
    assert above(ll[3], elbo)
    assert abs(ll[1000].mean() - exact.mean()) < 0.02
    assert np.all(ll[1000] < exact + 0.2)
    np.testing.assert_array_equal(
        ll[3], vae.log_likelihood(x, num_samples=3, seed=0, reduction="none")
    )
    chunked = vae.log_likelihood(x, num_samples=1000, batch_size=100, seed=3)
    assert abs(chunked - ll[1000].mean()) < 0.02


@pytest.mark.slow
@pytest.mark.backends
def test_linear_vae_reaches_the_probabilistic_pca_likelihood():
    """At its optimum a linear VAE with a shared learned variance is
    probabilistic PCA (Tipping & Bishop 1999; Lucas et al. 2019): its test
    log-likelihood is within 1 nat/image of PPCA's exact one and not above it
    by more than a standard error; ELBO <= IWAE bound, which grows with K."""
    x_train, x_test = _digits()
    k = 8
    ppca = PCA(k).fit(x_train)
    ppca_test = ppca.score(x_test)  # exact average log-likelihood under PPCA
    vae = keras_ae.VAE(input_shape=(64,), latent_dim=k, hidden_units=(), activation=None,
                       likelihood="gaussian", output_activation=None, seed=0)
    epochs = 40
    schedule = keras.optimizers.schedules.CosineDecay(2e-2, 15 * epochs, alpha=1e-2)
    vae.compile(optimizer=keras.optimizers.Adam(schedule))
    vae.fit(x_train, epochs=epochs, batch_size=100, verbose=0)
    ll = vae.log_likelihood(x_test, num_samples=1000, seed=0, reduction="none")
    se = ll.std() / np.sqrt(len(ll))
    print(f"linear VAE {ll.mean():.3f} +- {se:.3f} nats, PPCA {ppca_test:.3f}")
    assert abs(ll.mean() - ppca_test) < 1.0
    assert ll.mean() <= ppca_test + se
    # The learned shared variance is PPCA's noise variance.
    np.testing.assert_allclose(
        float(vae.observation_log_var.numpy()), np.log(ppca.noise_variance_), atol=0.1
    )
    elbo = vae.elbo(x_test, num_samples=10, seed=1, reduction="none")
    ll1 = vae.log_likelihood(x_test, num_samples=1, seed=1, reduction="none")
    ll10 = vae.log_likelihood(x_test, num_samples=10, seed=1, reduction="none")
    for lower, upper in ((elbo, ll10), (ll1, ll10), (ll10, ll)):
        d = upper - lower
        assert d.mean() > -2 * d.std() / np.sqrt(len(d)), d.mean()
    assert elbo.mean() <= ll.mean()


def test_log_likelihood_validates_its_arguments():
    vae = keras_ae.VAE(**SMALL)
    with pytest.raises(ValueError, match="Received: num_samples=0"):
        vae.log_likelihood(X_FLAT, num_samples=0)
    with pytest.raises(ValueError, match="Received: reduction='sum'"):
        vae.log_likelihood(X_FLAT, num_samples=2, reduction="sum")
    with pytest.raises(ValueError, match=r"expects targets in \[0, 1\]"):
        vae.log_likelihood(X_FLAT * 255.0, num_samples=2)


# ----------------------------------------------------------- diagnostics


def test_kl_per_dimension_and_active_units():
    vae = keras_ae.VAE(**SMALL)
    head = vae.encoder.get_layer("z_mean")
    kernel, bias = head.get_weights()
    kernel[:, 2:] = 0.0  # units 2 and 3: the same posterior mean for every x
    head.set_weights([kernel * 5.0, bias])
    count, variances = vae.active_units(X_FLAT, return_variances=True)
    assert count == 2 and variances[2] == variances[3] == 0.0
    np.testing.assert_allclose(variances, np.var(vae.encode(X_FLAT), axis=0), rtol=1e-5)
    assert vae.active_units(X_FLAT, threshold=float(variances.max())) == 0
    kl = vae.kl_per_dimension(X_FLAT)
    assert kl.shape == (4,) and np.all(kl >= 0)
    callback = ActiveUnits(X_FLAT, per_dimension=True)
    vae.compile(optimizer=keras.optimizers.SGD(0.0))
    history = fit_quietly(vae, X_FLAT, epochs=2, callbacks=[callback]).history
    assert history["active_units"] == [2, 2]
    np.testing.assert_allclose(history["kl_dim_0"][-1], kl[0], rtol=1e-5)


# --------------------------------------------------------- distribution


def _regularized_encoder():
    """Two-headed user encoder with a weight and an activity regularizer."""
    inputs = keras.Input((16,))
    h = keras.layers.Dense(
        8, activation="relu",
        kernel_initializer=keras.initializers.GlorotUniform(seed=3),
        kernel_regularizer=keras.regularizers.L2(0.05),
        activity_regularizer=keras.regularizers.L1(0.05),
    )(inputs)
    heads = [
        keras.layers.Dense(4, kernel_initializer=keras.initializers.GlorotUniform(seed=s),
                           name=name)(h)
        for s, name in ((4, "z_mean"), (5, "z_log_var"))
    ]
    return keras.Model(inputs, heads, name="regularized_encoder")


class _NaiveVAE(VariationalAutoencoder):
    """A deliberately wrong step: no 1/replicas scaling (trap 4)."""

    def train_step(self, data):
        x, y, sample_weight = self.unpack(data)
        with tf.GradientTape() as tape:
            terms, y_pred = self.compute_loss_terms(x, y, sample_weight, training=True)
        gradients = tape.gradient(terms["loss"], self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self.update_metrics(terms, x, y, y_pred, sample_weight)


def _step_pair(make, x, strategy):
    """One SGD step on the full batch ``x`` without and under ``strategy``."""
    ref = compile_sgd(make(), 0.1)
    start = weights_of(ref)
    ref_logs = fit_quietly(ref, x, batch_size=len(x)).history
    with strategy.scope():
        dist = compile_sgd(make(), 0.1)
        assert_weights_close(weights_of(dist), start, atol=0)
        dist_logs = fit_quietly(dist, x, batch_size=len(x)).history
    return start, (ref, ref_logs), (dist, dist_logs)


def _update_norm(model, start):
    return np.sqrt(sum(np.sum((w - s) ** 2) for w, s in zip(weights_of(model), start)))


def test_one_step_under_mirrored_strategy_equals_one_device(mirrored_strategy):
    """Noise held fixed, regularizers present: the same weights (<= 1e-6)."""
    assert mirrored_strategy.num_replicas_in_sync == 2

    def make():
        return keras_ae.VAE(**SMALL, encoder=_regularized_encoder(), noise_scale=0.0)

    model = make()
    model.compute_loss_terms(X_FLAT, X_FLAT, training=True)
    assert len(model.losses) == 2 and float(model.regularization_loss()) > 1e-3
    start, (ref, ref_logs), (dist, dist_logs) = _step_pair(make, X_FLAT[:16], mirrored_strategy)
    assert max(np.max(np.abs(w - s)) for w, s in zip(weights_of(ref), start)) > 1e-3
    assert_weights_close(weights_of(dist), weights_of(ref), atol=1e-6)
    for name, values in ref_logs.items():
        np.testing.assert_allclose(dist_logs[name], values, rtol=1e-5, atol=1e-6)


def test_update_size_with_sampling_on(mirrored_strategy):
    """Noise on: other draws per replica but an update of the same size. A
    step without the 1/replicas scaling moves twice as far and fails."""
    def ratio(cls):
        def make():
            return cls(**SMALL)
        start, (ref, _), (dist, _) = _step_pair(make, X_FLAT, mirrored_strategy)
        return _update_norm(dist, start) / _update_norm(ref, start)

    assert 0.85 < ratio(VariationalAutoencoder) < 1.15
    assert ratio(_NaiveVAE) > 1.7


# ------------------------------------------------------- mixed precision


def test_mixed_float16_trains_like_float32(restore_policy):
    x = X_FLAT

    def train():
        vae = keras_ae.VAE(**SMALL)
        # A moderate initial loss scale: the default 2**15 overflows float16
        # on the first step, which LossScaleOptimizer then skips (by design).
        vae.compile(optimizer=keras.optimizers.LossScaleOptimizer(
            keras.optimizers.Adam(1e-2), initial_scale=2.0**8))
        start = weights_of(vae)
        logs = fit_quietly(vae, x, epochs=3, batch_size=32).history
        return vae, start, logs

    ref, start, ref_logs = train()
    keras.config.set_dtype_policy("mixed_float16")
    mixed, mixed_start, logs = train()
    assert int(mixed.optimizer.iterations.numpy()) == 6  # no step skipped
    assert mixed.decoder.get_layer("dense_0").compute_dtype == "float16"
    assert mixed.kl_weight.dtype == "float32"
    assert_weights_close(mixed_start, start, atol=1e-7)
    for name, values in logs.items():
        assert np.all(np.isfinite(values)), name
        np.testing.assert_allclose(values, ref_logs[name], rtol=2e-2, atol=2e-2)
    delta_ref = [w - s for w, s in zip(weights_of(ref), start)]
    delta_mixed = [w - s for w, s in zip(weights_of(mixed), start)]
    diff = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(delta_mixed, delta_ref)))
    norm = np.sqrt(sum(np.sum(a**2) for a in delta_ref))
    assert diff < 0.1 * norm, (diff, norm)


# ------------------------------------------------------------- KL annealing


def test_kl_annealing_schedules():
    linear = KLAnnealing("linear", warmup=4, stop=2.0)
    assert [linear.value(t) for t in range(6)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    cyclical = KLAnnealing("cyclical", period=4, ratio=0.5, start=0.1, stop=1.1)
    np.testing.assert_allclose(
        [cyclical.value(t) for t in range(9)], [0.1, 0.6, 1.1, 1.1, 0.1, 0.6, 1.1, 1.1, 0.1]
    )
    assert KLAnnealing(lambda t: 0.1 * t).value(3) == pytest.approx(0.3)
    for kwargs, match in (
        (dict(schedule="cosine"), "Received: schedule='cosine'"),
        (dict(warmup=0), "Received: warmup=0"),
        (dict(schedule="cyclical"), "Received: period=None"),
        (dict(schedule="cyclical", period=4, ratio=0.0), "Received: ratio=0.0"),
        (dict(unit="step"), "Received: unit='step'"),
    ):
        with pytest.raises(ValueError, match=match):
            KLAnnealing(**kwargs)


def test_kl_annealing_sets_the_reported_weight_and_survives_reload(tmp_path):
    vae = keras_ae.VAE(**SMALL, beta=2.0)
    vae.compile()
    history = fit_quietly(vae, X_FLAT, epochs=2, callbacks=[KLAnnealing(warmup=4)])
    assert history.history["kl_weight"] == [0.0, 0.5]  # stop = beta = 2.0
    # The loss really uses the weight: kl_weight 0 -> loss == reconstruction.
    logs0 = {k: v[0] for k, v in history.history.items()}
    np.testing.assert_allclose(logs0["loss"], logs0["reconstruction_loss"], rtol=1e-6)
    path = str(tmp_path / "vae.keras")
    vae.save(path)
    reloaded = keras.models.load_model(path)
    assert float(reloaded.kl_weight.numpy()) == 0.5 and reloaded.beta == 2.0
    assert reloaded.evaluate(X_FLAT, verbose=0, return_dict=True)["kl_weight"] == 0.5
    # Continuing the schedule from epoch 2 gives the same run on both.
    more = dict(initial_epoch=2, epochs=4)
    a = fit_quietly(vae, X_FLAT, callbacks=[KLAnnealing(warmup=4)], **more).history
    b = fit_quietly(reloaded, X_FLAT, callbacks=[KLAnnealing(warmup=4)], **more).history
    assert a["kl_weight"] == b["kl_weight"] == [1.0, 1.5]
    assert_weights_close(weights_of(vae), weights_of(reloaded), atol=1e-5)


def test_kl_annealing_per_batch_follows_the_global_step():
    vae = keras_ae.VAE(**SMALL)
    vae.compile()
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: seen.append(float(vae.kl_weight.numpy()))
    )
    annealing = KLAnnealing("cyclical", period=6, ratio=0.5, unit="batch")
    history = fit_quietly(vae, X_FLAT, epochs=3, callbacks=[annealing, record])
    expected = [annealing.value(t) for t in range(12)]  # 4 batches per epoch
    np.testing.assert_allclose(seen, expected, atol=1e-7)
    np.testing.assert_allclose(
        history.history["kl_weight"], np.reshape(expected, (3, 4)).mean(1), atol=1e-6
    )
    with pytest.raises(ValueError, match="kl_weight"):
        ae = keras_ae.Autoencoder(**SMALL)
        ae.compile()
        fit_quietly(ae, X_FLAT, callbacks=[KLAnnealing(stop=1.0)])


def test_kl_annealing_under_mirrored_strategy(mirrored_strategy):
    """The callback assigns the (mirrored) variable from the cross-replica
    context; every replica's step uses it."""
    with mirrored_strategy.scope():
        vae = keras_ae.VAE(**SMALL)
        vae.compile()
        history = fit_quietly(vae, X_FLAT, epochs=2, callbacks=[KLAnnealing(warmup=2)])
    assert history.history["kl_weight"] == [0.0, 0.5]
    logs0 = {k: v[0] for k, v in history.history.items()}
    np.testing.assert_allclose(logs0["loss"], logs0["reconstruction_loss"], rtol=1e-6)


# ---------------------------------------------------------------- resume


def test_save_weights_restores_random_state_and_kl_weight(tmp_path):
    """What `BackupAndRestore` relies on: `save_weights` keeps the sampling
    seed state, the kl_weight and the optimizer state."""
    vae = keras_ae.VAE(**SMALL)
    vae.compile()
    fit_quietly(vae, X_FLAT, epochs=2)
    vae.kl_weight.assign(0.3)
    path = str(tmp_path / "w.weights.h5")
    vae.save_weights(path)
    fresh = keras_ae.VAE(**SMALL)
    fresh.compile()
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(path)
    for layer in ("sampling", "eval_sampling"):
        np.testing.assert_array_equal(
            getattr(fresh, layer).seed_generator.state, getattr(vae, layer).seed_generator.state
        )
    assert not np.array_equal(
        fresh.sampling.seed_generator.state, keras_ae.VAE(**SMALL).sampling.seed_generator.state
    )
    assert float(fresh.kl_weight.numpy()) == pytest.approx(0.3)
    assert int(fresh.optimizer.iterations.numpy()) == 8
    fit_quietly(vae, X_FLAT)
    fit_quietly(fresh, X_FLAT)
    assert_weights_close(weights_of(fresh), weights_of(vae), atol=1e-6)


_RESUME_SCRIPT = """
import numpy as np, keras, keras_ae
from keras_ae.callbacks import KLAnnealing
vae = keras_ae.VAE(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)
vae.compile()
vae.fit(np.load({x!r}), epochs=4, batch_size=16, shuffle=False, verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore({backup!r}),
                   KLAnnealing("cyclical", period=5, ratio=0.5, unit="batch")])
np.savez({out!r}, *[np.asarray(w) for w in vae.weights])
"""


@pytest.mark.slow
def test_interrupted_fit_resumes_exactly_in_a_fresh_process(tmp_path):
    x = X_FLAT
    kwargs = dict(epochs=4, batch_size=16, shuffle=False, verbose=0)

    def annealing():
        return KLAnnealing("cyclical", period=5, ratio=0.5, unit="batch")

    full = keras_ae.VAE(**SMALL)
    full.compile()
    full.fit(x, callbacks=[annealing()], **kwargs)

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if self.model.optimizer.iterations.numpy() == 10:  # epoch 2, batch 2
                raise RuntimeError("interrupted")

    backup = str(tmp_path / "backup")
    broken = keras_ae.VAE(**SMALL)
    broken.compile()
    with pytest.raises(RuntimeError, match="interrupted"):
        broken.fit(x, callbacks=[keras.callbacks.BackupAndRestore(backup), annealing(),
                                 Interrupt()], **kwargs)
    assert not np.allclose(weights_of(broken)[1], weights_of(full)[1])
    np.save(tmp_path / "x.npy", x)
    out = str(tmp_path / "resumed.npz")
    run_in_fresh_process(
        _RESUME_SCRIPT.format(x=str(tmp_path / "x.npy"), backup=backup, out=out)
    )
    resumed = np.load(out)
    resumed = [resumed[f"arr_{i}"] for i in range(len(resumed.files))]
    assert_weights_close(resumed, weights_of(full), atol=1e-6)
