"""Tests for keras_ae.AdversarialAutoencoder (the battery is in test_common.py).

* one `fit` step is exactly the paper's three phases (reconstruction, then
  the discriminator on the updated encoder's codes, then the encoder against
  the updated discriminator), each on its own variables; ``mode="joint"`` is
  one simultaneous update;
* one step under `MirroredStrategy` equals one step on one device, and a
  step that forgets the 1/replicas scaling would move twice as far;
* mixed precision: all three optimizers are loss-scaled;
* `.keras` reload and `BackupAndRestore` (fresh process) restore all three
  optimizers and the prior's random stream;
* trained codes match the prior (slow).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import zipfile  # noqa: E402

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_ae  # noqa: E402
from harness import X_FLAT  # noqa: E402
from harness import assert_weights_close  # noqa: E402
from harness import fit_quietly  # noqa: E402
from harness import run_in_fresh_process  # noqa: E402
from harness import weights_of  # noqa: E402
from keras_ae import losses  # noqa: E402
from keras_ae.models.adversarial import AdversarialAutoencoder  # noqa: E402
from keras_ae.priors import Gaussian  # noqa: E402
from keras_ae.priors import MixtureOfGaussians  # noqa: E402

SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)
LR = 0.1
OPTIMIZERS = ("optimizer", "discriminator_optimizer", "generator_optimizer")


def _sgd_all(model, lr=LR, **kwargs):
    model.compile(
        optimizer=keras.optimizers.SGD(lr),
        discriminator_optimizer=keras.optimizers.SGD(lr),
        generator_optimizer=keras.optimizers.SGD(lr),
        **kwargs,
    )
    return model


def _optimizers(model):
    return [getattr(model, name) for name in OPTIMIZERS]


def _values(variables):
    return [np.array(v) for v in variables]


@pytest.fixture
def restore_policy():
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)


# ----------------------------------------------------------- construction


def test_alias_linear_code_default_prior_and_discriminator():
    assert keras_ae.AAE is keras_ae.AdversarialAutoencoder
    model = keras_ae.AAE(**SMALL)
    code_layer = model.encoder.get_layer("code")
    assert code_layer.activation is keras.activations.linear
    assert isinstance(model.prior, Gaussian) and model.prior.stddev == 1.0
    assert model.prior.seed == 1
    units = [l.units for l in model.discriminator.layers if isinstance(l, keras.layers.Dense)]
    assert units == [256, 256, 1]
    logits = model.discriminator(np.zeros((3, 4), "float32"))
    assert tuple(logits.shape) == (3, 1)
    # Encoder, decoder and discriminator are all part of the model's weights.
    ids = {id(v) for v in model.weights}
    assert all(id(v) in ids for v in model.discriminator.weights)


def test_default_compile_builds_three_optimizers_on_their_own_variables():
    model = keras_ae.AAE(**SMALL)
    model.compile()
    opt, d_opt, g_opt = _optimizers(model)
    assert len({id(opt), id(d_opt), id(g_opt)}) == 3
    assert all(isinstance(o, keras.optimizers.Adam) and o.built for o in (opt, d_opt, g_opt))
    assert float(opt.learning_rate) == pytest.approx(1e-3)
    assert float(d_opt.learning_rate) == pytest.approx(2e-4)
    assert float(g_opt.learning_rate) == pytest.approx(3e-4)
    assert float(d_opt.beta_1) == float(g_opt.beta_1) == 0.5
    enc = len(model.encoder.trainable_variables)
    dec = len(model.decoder.trainable_variables)
    disc = len(model.discriminator.trainable_variables)
    # Adam: two slots per variable, plus iterations and learning rate.
    assert len(opt.variables) == 2 + 2 * (enc + dec)
    assert len(d_opt.variables) == 2 + 2 * disc
    assert len(g_opt.variables) == 2 + 2 * enc


def test_compile_accepts_names_and_instances():
    model = keras_ae.AAE(**SMALL)
    model.compile("sgd", discriminator_optimizer="rmsprop", generator_optimizer=keras.optimizers.SGD(0.01))
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert isinstance(model.discriminator_optimizer, keras.optimizers.RMSprop)
    assert float(model.generator_optimizer.learning_rate) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="loss"):
        model.compile(loss="mse")


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(discriminator_units=(8, 0)), "discriminator_units.*Received"),
        (dict(discriminator_units="big"), "discriminator_units.*Received"),
        (dict(adversarial_weight=0.0), "adversarial_weight.*Received: adversarial_weight=0.0"),
        (dict(adversarial_weight=float("inf")), "adversarial_weight.*Received"),
        (dict(mode="sequential"), "mode.*Received: mode='sequential'"),
        (dict(prior="laplace"), "prior.*Received: identifier='laplace'"),
        (dict(discriminator="mlp"), "discriminator.*Received: discriminator='mlp'"),
        (dict(posterior="laplace"), "posterior.*Received: posterior='laplace'"),
        (dict(minibatch_features="mean"), "minibatch_features.*Received: minibatch_features='mean'"),
        (
            dict(minibatch_features="std", discriminator=keras.layers.Dense(1)),
            "minibatch_features.*user `discriminator`.*Received: minibatch_features='std'",
        ),
    ],
)
def test_invalid_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        keras_ae.AAE(**dict(SMALL, **bad))


def test_user_discriminator_must_output_one_logit():
    bad = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"logits \(batch, 1\).*Received: .*\(1, 2\)"):
        keras_ae.AAE(**SMALL, discriminator=bad)


def test_config_roundtrip_with_user_discriminator_and_mixture_prior(tmp_path):
    disc = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)],
        name="my_disc",
    )
    prior = MixtureOfGaussians(num_components=6, radius=3.0, stddev=0.3, seed=4)
    model = keras_ae.AAE(
        **SMALL, prior=prior, discriminator=disc, adversarial_weight=2.0, mode="joint"
    )
    config = model.get_config()
    assert config["prior"]["class_name"] == "MixtureOfGaussians"
    assert config["discriminator"]["config"]["name"] == "my_disc"
    assert (config["mode"], config["adversarial_weight"]) == ("joint", 2.0)
    clone = AdversarialAutoencoder.from_config(config)
    assert clone.get_config() == config
    assert isinstance(clone.prior, MixtureOfGaussians) and clone.prior.num_components == 6
    assert [l.units for l in clone.discriminator.layers] == [5, 1]
    # The default discriminator is not serialized, only its units.
    assert keras_ae.AAE(**SMALL).get_config()["discriminator"] is None
    # Whole-model reload with the user discriminator, under safe_mode.
    model.compile()
    fit_quietly(model, X_FLAT)
    path = str(tmp_path / "joint.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert reloaded.mode == "joint"
    np.testing.assert_allclose(
        reloaded.discriminator.predict(np.ones((2, 4)), verbose=0),
        model.discriminator.predict(np.ones((2, 4)), verbose=0),
        atol=1e-6,
    )


# ------------------------------------------------------- minibatch features


@pytest.mark.backends
def _with_batch_moments(h):
    mean, std = h.mean(axis=0), np.sqrt(h.var(axis=0) + 1e-6)
    n = len(h)
    return np.concatenate([h, np.tile(mean, (n, 1)), np.tile(std, (n, 1))], axis=1)


def _with_batch_correlations(z):
    # moments, then the strict upper triangle of the batch correlation matrix.
    scaled = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + 1e-6)
    corr = scaled.T @ scaled / len(z)
    pairs = corr[np.triu_indices(z.shape[1], k=1)]
    return np.concatenate([_with_batch_moments(z), np.tile(pairs, (len(z), 1))], axis=1)


def _with_norm_moments(rows, z):
    # ... then the batch mean and std of |z|^2 / width.
    norms = (z**2).mean(axis=1)
    stats = [norms.mean(), np.sqrt(norms.var() + 1e-6)]
    return np.concatenate([rows, np.tile(stats, (len(z), 1))], axis=1)


@pytest.mark.backends
@pytest.mark.parametrize(
    "features", ["none", "std", "moments", "hidden_moments", "covariance", "covariance_norm"]
)
def test_minibatch_features_are_the_batch_statistics(features):
    """The built-in discriminator reads each code with the batch's
    statistics appended, exactly as NumPy computes them (``hidden_moments``
    also appends the first hidden layer's); a row's logit then depends on
    the other rows of its batch (and only then)."""
    model = keras_ae.AAE(**SMALL, minibatch_features=features)
    disc = model.discriminator
    z = np.random.default_rng(0).normal(1.0, 2.0, (8, 4)).astype("float32")
    std = np.sqrt(z.var(axis=0) + 1e-6)
    expected = {
        "none": z,
        "std": np.concatenate([z, np.full((8, 1), std.mean())], axis=1),
        "moments": _with_batch_moments(z),
        "hidden_moments": _with_batch_moments(z),
        "covariance": _with_batch_correlations(z),
        "covariance_norm": _with_norm_moments(_with_batch_correlations(z), z),
    }[features]
    assert tuple(disc.get_layer("dense_0").kernel.shape) == (expected.shape[1], 256)
    hidden_width = 3 * 256 if features == "hidden_moments" else 256
    assert tuple(disc.get_layer("dense_1").kernel.shape) == (hidden_width, 256)
    if features == "hidden_moments":
        dense_0 = disc.get_layer("dense_0")
        h = keras.ops.convert_to_numpy(dense_0(expected))
        got = disc.get_layer("hidden_minibatch_features")(h)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(got), _with_batch_moments(h), rtol=1e-5, atol=1e-5
        )
    if features != "none":
        layer = model.discriminator.get_layer("minibatch_features")
        got = keras.ops.convert_to_numpy(layer(z))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    shifted = z.copy()
    shifted[1:] += 3.0  # every row but the first
    logits = [keras.ops.convert_to_numpy(model.discriminator(v))[0, 0] for v in (z, shifted)]
    assert (abs(logits[0] - logits[1]) > 1e-4) == (features != "none"), logits


def test_discriminator_with_minibatch_features_saves_on_its_own(tmp_path):
    """`build_discriminator(..., minibatch_features=...)` is a public builder:
    the model it returns (with the registered `MinibatchFeatures` layer)
    reloads under safe_mode with the same logits; ``hidden_moments`` follows
    the first hidden layer whatever the depth, and needs one."""
    from keras_ae.models.adversarial import build_discriminator

    z = np.random.default_rng(2).normal(size=(6, 4)).astype("float32")
    for units in ((8,), (8, 8)):
        disc = build_discriminator(4, units, seed=0, minibatch_features="hidden_moments")
        assert [layer.name for layer in disc.layers][2:4] == [
            "dense_0", "hidden_minibatch_features"]
        path = str(tmp_path / f"disc{len(units)}.keras")
        disc.save(path)
        again = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_allclose(again.predict(z, verbose=0), disc.predict(z, verbose=0),
                                   atol=1e-6)
    with pytest.raises(ValueError, match=r"at least one hidden layer.*Received: units=\(\)"):
        build_discriminator(4, (), minibatch_features="hidden_moments")


def test_minibatch_features_default():
    """Unset, the built-in discriminator reads ``"covariance_norm"`` under a
    Gaussian prior; under other priors, with a user discriminator (no
    statistics to add) and in the labelled subclasses it is ``"none"``; an
    explicit value is kept."""
    assert keras_ae.AAE(**SMALL).minibatch_features == "covariance_norm"
    layer = keras_ae.AAE(**SMALL).discriminator.get_layer("minibatch_features")
    assert layer.mode == "covariance_norm"
    user = keras.Sequential([keras.layers.Dense(1)])
    assert keras_ae.AAE(**SMALL, discriminator=user).minibatch_features == "none"
    assert keras_ae.AAE(**SMALL, minibatch_features="none").minibatch_features == "none"
    for prior in ("mixture", "uniform"):
        assert keras_ae.AAE(**SMALL, prior=prior).minibatch_features == "none", prior
    mixed = keras_ae.AAE(**SMALL, prior="mixture", minibatch_features="covariance")
    assert mixed.minibatch_features == "covariance"
    labelled = dict(input_shape=(16,), num_classes=3, latent_dim=2, hidden_units=(8,))
    for cls in (keras_ae.SemiSupervisedAAE, keras_ae.SupervisedAAE, keras_ae.LabelConditionedAAE):
        assert cls(**labelled).minibatch_features == "none", cls


def test_config_from_before_minibatch_features_loads_without_statistics():
    """Files saved before the option existed (the shipped zoo's AAEs) have no
    ``minibatch_features`` key: they load with the discriminator they were
    trained with, not today's default."""
    config = keras_ae.AAE(**SMALL, minibatch_features="none").get_config()
    del config["minibatch_features"]
    clone = AdversarialAutoencoder.from_config(config)
    assert clone.minibatch_features == "none"
    assert "minibatch_features" not in [l.name for l in clone.discriminator.layers]


def test_minibatch_features_config_and_reload(tmp_path):
    model = keras_ae.AAE(**SMALL, minibatch_features="moments")
    config = model.get_config()
    assert config["minibatch_features"] == "moments"
    assert keras_ae.AAE(**SMALL).get_config()["minibatch_features"] == "covariance_norm"
    clone = AdversarialAutoencoder.from_config(config)
    assert clone.get_config() == config
    assert clone.discriminator.get_layer("minibatch_features").mode == "moments"
    model.compile()
    fit_quietly(model, X_FLAT)
    path = str(tmp_path / "moments.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert reloaded.minibatch_features == "moments"
    z = np.random.default_rng(1).normal(size=(6, 4)).astype("float32")
    np.testing.assert_allclose(
        reloaded.discriminator.predict(z, verbose=0),
        model.discriminator.predict(z, verbose=0),
        atol=1e-6,
    )


# ------------------------------------------------------- Gaussian posterior


@pytest.mark.backends
def test_gaussian_posterior_draws_only_in_training():
    """``posterior="gaussian"``: the phases' codes are ``mu + sigma * eps``
    in training, with ``log sigma^2`` a learned function of ``mu``; outside
    training, `encode` and the export's ``encode`` endpoint give ``mu``."""
    model = keras_ae.AAE(**SMALL, posterior="gaussian")
    assert keras_ae.AAE(**SMALL).posterior_sampling is None
    x = X_FLAT[:512]
    mu = keras.ops.convert_to_numpy(model.encoder(x))
    np.testing.assert_allclose(model.encode(x), mu, atol=1e-6)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model.posterior_codes(x, training=False)), mu, atol=1e-6
    )
    endpoint = model.export_endpoints()["encode"].fn(x=x)["codes"]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(endpoint), mu, atol=1e-6)
    model.posterior_log_var.get_layer("log_var").bias.assign(np.full(4, np.log(0.25), "float32"))
    z = keras.ops.convert_to_numpy(model.posterior_codes(x, training=True))
    eps = (z - mu) / 0.5  # sigma = 0.5 everywhere
    assert abs(eps.mean()) < 0.1 and abs(eps.std() - 1.0) < 0.1, (eps.mean(), eps.std())
    again = keras.ops.convert_to_numpy(model.posterior_codes(x, training=True))
    assert not np.allclose(again, z)


def test_gaussian_posterior_is_trained_saved_and_reloaded(tmp_path):
    model = keras_ae.AAE(**SMALL, posterior="gaussian")
    config = model.get_config()
    assert config["posterior"] == "gaussian"
    assert keras_ae.AAE(**SMALL).get_config()["posterior"] == "deterministic"
    assert AdversarialAutoencoder.from_config(config).get_config() == config
    model.compile()
    log_var = model.posterior_log_var.trainable_variables
    pv = model._phase_variables
    assert all(any(v is w for w in pv.autoencoder) for v in log_var)
    assert all(any(v is w for w in pv.generator) for v in log_var)
    start = _values(log_var)
    fit_quietly(model, X_FLAT)
    assert not np.allclose(_values(log_var)[0], start[0])
    path = str(tmp_path / "gaussian.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert reloaded.posterior == "gaussian"
    np.testing.assert_allclose(reloaded.encode(X_FLAT[:8]), model.encode(X_FLAT[:8]), atol=1e-6)
    for got, want in zip(_values(reloaded.posterior_log_var.weights), _values(log_var)):
        np.testing.assert_allclose(got, want, atol=1e-7)
    np.testing.assert_array_equal(
        reloaded.posterior_sampling.seed_generator.state,
        model.posterior_sampling.seed_generator.state,
    )


# ------------------------------------------------------- the procedure


def _bce_logits(logits, label):
    logits = tf.reshape(logits, (-1,))
    return tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), float(label)), logits=logits
    )


def _sgd(variables, gradients, lr=LR):
    for v, g in zip(variables, gradients):
        v.assign_sub(lr * g)


def _prior_draw(model, n):
    """The next prior draw of ``model``'s stream (what a training step uses)."""
    prior = model.prior
    return prior.draw(n, model.latent_dim, prior.seed_generator.next())


def _manual_phased_step(model, x):
    """The paper's procedure written out by hand, with plain SGD."""
    enc, dec, disc = model.encoder, model.decoder, model.discriminator
    ae_vars = enc.trainable_variables + dec.trainable_variables
    with tf.GradientTape() as tape:
        rec = tf.reduce_mean(losses.binary_crossentropy(x, dec(enc(x))))
    _sgd(ae_vars, tape.gradient(rec, ae_vars))
    z = enc(x)  # codes of the updated encoder
    real = _prior_draw(model, len(x))
    with tf.GradientTape() as tape:
        real_logits, fake_logits = disc(real), disc(z)
        d_loss = 0.5 * (
            tf.reduce_mean(_bce_logits(real_logits, 1))
            + tf.reduce_mean(_bce_logits(fake_logits, 0))
        )
    d_acc = 0.5 * (
        np.mean(np.asarray(real_logits) > 0) + np.mean(np.asarray(fake_logits) < 0)
    )
    _sgd(disc.trainable_variables, tape.gradient(d_loss, disc.trainable_variables))
    with tf.GradientTape() as tape:
        g_loss = tf.reduce_mean(_bce_logits(disc(enc(x)), 1))  # updated D
    _sgd(enc.trainable_variables, tape.gradient(g_loss, enc.trainable_variables))
    return dict(
        reconstruction_loss=float(rec),
        discriminator_loss=float(d_loss),
        discriminator_accuracy=d_acc,
        generator_loss=float(g_loss),
    )


@pytest.mark.parametrize("features", ["none", "moments"])
def test_one_step_is_the_three_phases_in_order(features):
    """A `fit` step equals reconstruction -> discriminator (on the updated
    encoder) -> generator (against the updated discriminator), each phase
    on its own variables; logged losses are the phases' losses. With
    minibatch features, prior draws and codes are judged as two batches."""
    x = X_FLAT[:32]
    model = _sgd_all(keras_ae.AAE(**SMALL, minibatch_features=features))
    manual = keras_ae.AAE(**SMALL, minibatch_features=features)
    assert_weights_close(weights_of(model), weights_of(manual), atol=0)
    logs = model.fit(x, batch_size=32, epochs=1, shuffle=False, verbose=0).history
    expected = _manual_phased_step(manual, tf.constant(x))
    assert_weights_close(weights_of(model), weights_of(manual), atol=1e-6)
    for name, value in expected.items():
        assert logs[name][0] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    assert [int(o.iterations) for o in _optimizers(model)] == [1, 1, 1]


def test_a_step_with_the_phases_in_another_order_differs():
    """The previous test has teeth: skipping the reconstruction update before
    the adversarial phases changes the result."""
    x = tf.constant(X_FLAT[:32])
    model = _sgd_all(keras_ae.AAE(**SMALL))
    model.fit(X_FLAT[:32], batch_size=32, epochs=1, shuffle=False, verbose=0)
    manual = keras_ae.AAE(**SMALL)
    saved = _values(manual.encoder.trainable_variables + manual.decoder.trainable_variables)
    _manual_phased_step(manual, x)
    # Redo it with the adversarial phases on the *old* encoder.
    other = keras_ae.AAE(**SMALL)
    for v, s in zip(other.encoder.trainable_variables + other.decoder.trainable_variables, saved):
        v.assign(s)
    enc, dec = other.encoder, other.decoder
    with tf.GradientTape() as tape:
        rec = tf.reduce_mean(losses.binary_crossentropy(x, dec(enc(x))))
    ae_vars = enc.trainable_variables + dec.trainable_variables
    grads = tape.gradient(rec, ae_vars)
    z = enc(x)
    real = _prior_draw(other, 32)
    with tf.GradientTape() as tape:
        d = other.discriminator
        d_loss = 0.5 * tf.reduce_mean(_bce_logits(d(real), 1)) + 0.5 * tf.reduce_mean(
            _bce_logits(d(z), 0)
        )
    _sgd(d.trainable_variables, tape.gradient(d_loss, d.trainable_variables))
    _sgd(ae_vars, grads)
    diff = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(weights_of(model), weights_of(other))
    )
    assert diff > 1e-4


@pytest.mark.parametrize("active", OPTIMIZERS)
def test_each_phase_updates_only_its_own_variables(active):
    model = keras_ae.AAE(**SMALL)
    sgd = {name: keras.optimizers.SGD(LR if name == active else 0.0) for name in OPTIMIZERS}
    model.compile(**sgd)
    groups = {
        "encoder": model.encoder.trainable_variables,
        "decoder": model.decoder.trainable_variables,
        "discriminator": model.discriminator.trainable_variables,
    }
    before = {k: _values(v) for k, v in groups.items()}
    fit_quietly(model, X_FLAT, epochs=1, batch_size=32)
    moved = {
        k: any(not np.array_equal(a, b) for a, b in zip(before[k], _values(v)))
        for k, v in groups.items()
    }
    expected = {
        "optimizer": {"encoder": True, "decoder": True, "discriminator": False},
        "discriminator_optimizer": {"encoder": False, "decoder": False, "discriminator": True},
        "generator_optimizer": {"encoder": True, "decoder": False, "discriminator": False},
    }[active]
    assert moved == expected


def test_joint_mode_is_one_simultaneous_update():
    """pythae's variant: AE loss + w * generator loss and the discriminator
    loss, both from one forward pass, one SGD step each; the generator
    optimizer is unused."""
    x = X_FLAT[:32]
    w = 3.0
    model = _sgd_all(keras_ae.AAE(**SMALL, mode="joint", adversarial_weight=w))
    manual = keras_ae.AAE(**SMALL)
    logs = model.fit(x, batch_size=32, epochs=1, shuffle=False, verbose=0).history
    enc, dec, disc = manual.encoder, manual.decoder, manual.discriminator
    xt = tf.constant(x)
    real = _prior_draw(manual, 32)
    ae_vars = enc.trainable_variables + dec.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        z = enc(xt)
        rec = tf.reduce_mean(losses.binary_crossentropy(xt, dec(z)))
        g_loss = tf.reduce_mean(_bce_logits(disc(z), 1))
        ae_loss = rec + w * g_loss
        d_loss = 0.5 * tf.reduce_mean(_bce_logits(disc(real), 1)) + 0.5 * tf.reduce_mean(
            _bce_logits(disc(tf.stop_gradient(z)), 0)
        )
    ae_grads = tape.gradient(ae_loss, ae_vars)
    d_grads = tape.gradient(d_loss, disc.trainable_variables)
    _sgd(ae_vars, ae_grads)
    _sgd(disc.trainable_variables, d_grads)
    assert_weights_close(weights_of(model), weights_of(manual), atol=1e-6)
    assert logs["loss"][0] == pytest.approx(float(ae_loss), rel=1e-5)
    assert logs["generator_loss"][0] == pytest.approx(float(g_loss), rel=1e-5)
    assert [int(o.iterations) for o in _optimizers(model)] == [1, 1, 0]


def test_evaluate_is_deterministic_and_leaves_the_prior_stream_alone():
    model = keras_ae.AAE(**SMALL)
    model.compile()
    fit_quietly(model, X_FLAT)
    state = np.array(model.prior.seed_generator.state)
    a = model.evaluate(X_FLAT, batch_size=16, verbose=0, return_dict=True)
    b = model.evaluate(X_FLAT, batch_size=16, verbose=0, return_dict=True)
    assert a == b
    assert set(a) >= {
        "loss", "reconstruction_loss", "mse", "discriminator_loss",
        "generator_loss", "discriminator_accuracy",
    }
    assert 0.0 <= a["discriminator_accuracy"] <= 1.0
    np.testing.assert_array_equal(model.prior.seed_generator.state, state)


def test_sample_decodes_prior_draws():
    model = keras_ae.AAE(**SMALL)
    state = np.array(model.prior.seed_generator.state)
    s = model.sample(5, seed=3)
    assert s.shape == (5, 16) and np.all((s >= 0) & (s <= 1))
    np.testing.assert_array_equal(s, model.sample(5, seed=3))
    z = np.asarray(model.prior.sample(5, 4, seed=3))
    np.testing.assert_allclose(s, model.decode(z), atol=1e-6)
    assert not np.allclose(model.sample(5), model.sample(5))
    np.testing.assert_array_equal(model.prior.seed_generator.state, state)
    with pytest.raises(ValueError, match="Received: n=-1"):
        model.sample(-1)


# ------------------------------------------------------- distribution


def _one_step(make, x, strategy=None):
    if strategy is None:
        model = _sgd_all(make())
        model.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
        return model
    with strategy.scope():
        model = _sgd_all(make())
        model.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return model


class _NaiveAAE(AdversarialAutoencoder):
    """A deliberately wrong step: losses not divided by the replicas."""

    def training_phases(self):
        from keras_ae.backend.phases import Phase

        n = keras_ae.distribute.num_replicas()

        def undo_scaling(loss_fn):
            def wrapped(x, y, sample_weight):
                terms, y_pred = loss_fn(x, y, sample_weight)
                return {k: v * n for k, v in terms.items()}, y_pred

            return wrapped

        return tuple(
            Phase(undo_scaling(p.loss_fn), p.updates) for p in super().training_phases()
        )


def _step_norms(model, start):
    groups = (model.encoder, model.decoder, model.discriminator)
    deltas = [w - s for w, s in zip(weights_of(model), start)]
    ids = [id(v) for v in model.weights]
    out = []
    for g in groups:
        idx = [ids.index(id(v)) for v in g.trainable_variables]
        out.append(float(np.sqrt(sum(np.sum(deltas[i] ** 2) for i in idx))))
    return np.array(out)


@pytest.mark.parametrize(
    "mode, features, posterior",
    [
        ("phased", "none", "deterministic"),
        ("joint", "none", "deterministic"),
        ("phased", "moments", "gaussian"),
        ("phased", "covariance_norm", "deterministic"),  # the default: all the statistics
    ],
)
def test_one_step_matches_single_device(mode, features, posterior, mirrored_strategy):
    """Prior draws come from one global draw sliced per replica, and
    minibatch features are statistics of the global batch, so the step is
    identical on one device and on two replicas (weights of encoder,
    decoder and discriminator within 1e-6; a Gaussian posterior's noise,
    drawn per replica, is set to zero here)."""
    x = X_FLAT[:32]

    def make():
        model = keras_ae.AAE(
            **SMALL, mode=mode, minibatch_features=features, posterior=posterior
        )
        if model.posterior_sampling is not None:
            model.posterior_sampling.noise_scale = 0.0
        return model

    start = weights_of(make())
    ref = _one_step(make, x)
    dist = _one_step(make, x, mirrored_strategy)
    assert min(_step_norms(ref, start)) > 1e-3
    assert_weights_close(weights_of(dist), weights_of(ref), atol=1e-6)


def test_replicas_draw_disjoint_slices_of_the_single_device_draw(mirrored_strategy):
    with mirrored_strategy.scope():
        model = keras_ae.AAE(**SMALL)
    single = keras_ae.AAE(**SMALL)
    expected = np.asarray(single.draw_prior(tf.zeros((8, 4))))

    @tf.function
    def run(v):
        return mirrored_strategy.run(lambda c: model.draw_prior(c), args=(v,))

    codes = mirrored_strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.zeros((4, 4))
    )
    draws = [np.asarray(d) for d in mirrored_strategy.experimental_local_results(run(codes))]
    assert not np.allclose(draws[0], draws[1])
    np.testing.assert_allclose(np.concatenate(draws), expected, atol=1e-6)


def test_random_draws_same_update_size_and_naive_step_doubles(mirrored_strategy):
    """With other prior draws (another prior seed) the update has the same
    size; a step that forgets the 1/replicas scaling moves ~2x."""
    x = X_FLAT[:32]
    start = weights_of(keras_ae.AAE(**SMALL))
    ref = _step_norms(_one_step(lambda: keras_ae.AAE(**SMALL), x), start)
    other = _one_step(
        lambda: keras_ae.AAE(**SMALL, prior=Gaussian(1.0, seed=99)), x, mirrored_strategy
    )
    ratio = _step_norms(other, start) / ref
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio
    naive = _one_step(lambda: _NaiveAAE(**SMALL), x, mirrored_strategy)
    ratio = _step_norms(naive, start) / ref
    assert np.all(ratio > 1.7), ratio


# ------------------------------------------------------- mixed precision


def test_mixed_float16_scales_all_three_optimizers(restore_policy, tmp_path):
    """Every optimizer is a LossScaleOptimizer and every phase scales its
    loss: the update equals the float32 one (a phase that forgot
    `scale_loss` would move ~scale times less)."""
    x = X_FLAT[:32]
    start_model = keras_ae.AAE(**SMALL)
    start = weights_of(start_model)
    ref = _step_norms(_one_step(lambda: keras_ae.AAE(**SMALL), x), start)
    keras.config.set_dtype_policy("mixed_float16")
    model = keras_ae.AAE(**SMALL)
    _sgd_all(model)
    for opt in _optimizers(model):
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
        opt.dynamic_scale.assign(256.0)  # no overflow on the first step
    assert model.discriminator.layers[-1].dtype_policy.name == "float32"
    logs = model.fit(x, batch_size=32, epochs=1, shuffle=False, verbose=0).history
    for name, values in logs.items():
        assert np.all(np.isfinite(values)), name
    assert [int(o.iterations) for o in _optimizers(model)] == [1, 1, 1]
    ratio = _step_norms(model, start) / ref
    np.testing.assert_allclose(ratio, 1.0, atol=0.05)
    # Loss scaling is the optimizers' own: losses are float32.
    terms, _ = model.compute_loss_terms(x, x, training=False)
    assert all(v.dtype == "float32" for v in terms.values())
    # A reload gives three loss-scaled optimizers with their state.
    path = str(tmp_path / "mixed.keras")
    model.save(path)
    keras.config.set_dtype_policy("float32")
    reloaded = keras.models.load_model(path)
    for got, want in zip(_optimizers(reloaded), _optimizers(model)):
        assert isinstance(got, keras.optimizers.LossScaleOptimizer)
        assert int(got.iterations) == 1
        assert float(got.dynamic_scale) == float(want.dynamic_scale)


# ------------------------------------------------------- save and resume


def _optimizer_arrays(model):
    return [_values(o.variables) for o in _optimizers(model)]


def test_keras_reload_restores_all_three_optimizers(tmp_path):
    model = keras_ae.AAE(**SMALL)
    model.compile()
    fit_quietly(model, X_FLAT, epochs=2)
    path = str(tmp_path / "aae.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        archive.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as f:
        for name, opt in zip(OPTIMIZERS, _optimizers(model)):
            assert len(f[name]["vars"]) == len(opt.variables), name
    reloaded = keras.models.load_model(path)
    assert [int(o.iterations) for o in _optimizers(reloaded)] == [8, 8, 8]
    for got, want in zip(_optimizer_arrays(reloaded), _optimizer_arrays(model)):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    assert float(reloaded.discriminator_optimizer.beta_1) == 0.5
    np.testing.assert_array_equal(
        reloaded.prior.seed_generator.state, model.prior.seed_generator.state
    )


class _Interrupt(keras.callbacks.Callback):
    """Records the epochs run; raises at the end of epoch ``stop_after``."""

    def __init__(self, stop_after=-1):
        super().__init__()
        self.stop_after = stop_after
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.stop_after:
            raise RuntimeError("interrupted")


def _state_arrays(model):
    return [np.asarray(w) for w in model.weights] + [
        a for arrays in _optimizer_arrays(model) for a in arrays
    ]


_RESUME_SCRIPT = """
import numpy as np, keras, keras_ae
from test_adversarial import _Interrupt, _state_arrays

model = keras_ae.AAE(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)
model.compile()
interrupt = _Interrupt()
model.fit(np.load({x!r}), epochs=4, batch_size=16, shuffle=False, verbose=0,
          callbacks=[keras.callbacks.BackupAndRestore({backup!r}), interrupt])
np.save({out!r} + ".epochs.npy", np.array(interrupt.seen))
np.savez({out!r}, *_state_arrays(model))
"""


def test_backup_and_restore_resumes_exactly_in_a_fresh_process(tmp_path):
    """Two epochs here, a crash, then a new process resumes from the backup
    and ends exactly where four uninterrupted epochs end: weights, prior
    stream and all three optimizers (iterations and slots)."""
    x_path, out = str(tmp_path / "x.npy"), str(tmp_path / "resumed.npz")
    np.save(x_path, X_FLAT)
    backup = str(tmp_path / "backup")
    model = keras_ae.AAE(**SMALL)
    model.compile()
    interrupt = _Interrupt(stop_after=1)
    with pytest.raises(RuntimeError, match="interrupted"):
        fit_quietly(
            model, X_FLAT, epochs=4,
            callbacks=[keras.callbacks.BackupAndRestore(backup), interrupt],
        )
    assert interrupt.seen == [0, 1]
    run_in_fresh_process(
        f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
        + _RESUME_SCRIPT.format(backup=backup, x=x_path, out=out)
    )
    assert list(np.load(out + ".epochs.npy")) == [2, 3], "it did not resume"
    with np.load(out) as f:
        resumed = [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]
    # The reference: four uninterrupted epochs.
    reference = keras_ae.AAE(**SMALL)
    reference.compile()
    fit_quietly(reference, X_FLAT, epochs=4)
    expected = _state_arrays(reference)
    assert len(resumed) == len(expected)
    for a, b in zip(resumed, expected):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert [int(o.iterations) for o in _optimizers(reference)] == [16, 16, 16]


# ------------------------------------------------------- it matches the prior


def _digits():
    (x, _), (x_test, y_test) = keras_ae.datasets.load_data("digits")
    return x, x_test, y_test


DIGITS = dict(input_shape=(64,), hidden_units=(128, 64), seed=0)
DIGITS_FIT = dict(epochs=50, batch_size=32, verbose=0)


@pytest.mark.slow
def test_codes_match_an_8d_gaussian_prior_and_reconstruct_as_well_as_an_ae():
    """Digits, 8-D N(0, I) prior, default compile: >= 95% of the test codes
    in the prior's 99% ball (a plain autoencoder: ~0%), every dimension
    with |mean| <= 0.75 and std in [0.6, 1.4]; the discriminator neither
    won nor never learned; reconstruction within 5% of the plain
    autoencoder trained as long."""
    keras.utils.set_random_seed(0)  # fit's shuffling
    x, x_test, _ = _digits()
    prior = Gaussian(1.0)
    aae = keras_ae.AAE(**DIGITS, latent_dim=8)
    aae.compile()
    history = aae.fit(x, **DIGITS_FIT).history
    z = aae.encode(x_test)
    inside = prior.fraction_inside(z, p=0.99)
    mean, std = z.mean(axis=0), z.std(axis=0)
    fd = prior.frechet_distance(z)
    acc = np.array(history["discriminator_accuracy"])
    aae_rec = aae.evaluate(x_test, verbose=0, return_dict=True)["reconstruction_loss"]

    ae = keras_ae.Autoencoder(**DIGITS, latent_dim=8)
    ae.compile()
    ae.fit(x, **DIGITS_FIT)
    ae_inside = prior.fraction_inside(ae.encode(x_test), p=0.99)
    ae_rec = ae.evaluate(x_test, verbose=0, return_dict=True)["reconstruction_loss"]
    print(
        f"\nAAE: {inside:.1%} of test codes in the 99% ball (AE {ae_inside:.1%}); "
        f"|mean| <= {np.abs(mean).max():.3f}, std in [{std.min():.3f}, {std.max():.3f}], "
        f"Frechet distance {fd:.3f}; discriminator accuracy first {acc[0]:.3f}, "
        f"last {acc[-1]:.3f}; reconstruction {aae_rec:.2f} vs AE {ae_rec:.2f} nats"
    )
    assert inside >= 0.95
    assert ae_inside <= 0.05
    assert np.all(np.abs(mean) <= 0.75), mean
    assert np.all((std >= 0.6) & (std <= 1.4)), std
    assert fd < 2.0
    assert 0.55 < acc[-1] < 0.95, acc
    assert acc.std() > 0.01, "the discriminator accuracy never moved"
    assert aae_rec <= 1.05 * ae_rec


@pytest.mark.slow
def test_codes_fall_into_the_components_of_a_mixture_prior():
    """Digits, 2-D mixture of 10 Gaussians on a circle (the paper's Figure
    4 setting): most test codes lie in their nearest component's 99% disc,
    spread over all the components."""
    keras.utils.set_random_seed(0)
    x, x_test, _ = _digits()
    prior = MixtureOfGaussians(10, radius=4.0, stddev=0.5, seed=0)
    aae = keras_ae.AAE(**DIGITS, latent_dim=2, prior=prior)
    aae.compile()
    aae.fit(x, **DIGITS_FIT)
    z = aae.encode(x_test)
    k = np.asarray(prior.assign_components(z))
    means = prior.component_means(2)
    r2 = np.sum((z - means[k]) ** 2, axis=1) / prior.stddev**2
    inside = float(np.mean(r2 <= keras_ae.priors.chi2_quantile(0.99, 2)))
    shares = np.bincount(k, minlength=10) / len(k)
    evenness = float(-(shares * np.log(np.maximum(shares, 1e-12))).sum() / np.log(10))
    print(
        f"\nmixture: {inside:.1%} of test codes in their component's 99% disc; "
        f"shares {np.round(shares, 3).tolist()}, normalised entropy {evenness:.3f}"
    )
    assert inside >= 0.6
    assert shares.min() >= 0.01, shares
    assert evenness >= 0.9
