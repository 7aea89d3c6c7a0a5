"""Tests for keras_ae.layers.sampling.Sampling (reparameterisation trick)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ae.layers.sampling import Sampling  # noqa: E402


def _inputs(n=20000, mean=(1.0, -2.0), var=(4.0, 0.25)):
    z_mean = np.tile(np.asarray(mean, "float32"), (n, 1))
    z_log_var = np.tile(np.log(np.asarray(var, "float32")), (n, 1))
    return z_mean, z_log_var


@pytest.fixture
def restore_policy():
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)


def test_config_round_trip():
    layer = Sampling(seed=3, noise_scale=0.5)
    config = layer.get_config()
    own = set(config) - set(keras.layers.Layer().get_config())
    assert own == {"seed", "noise_scale"}
    assert config["seed"] == 3 and config["noise_scale"] == 0.5
    assert Sampling.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is Sampling and restored.get_config() == config


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan"), "1", True])
def test_invalid_noise_scale_raises(bad):
    with pytest.raises(ValueError, match="noise_scale="):
        Sampling(noise_scale=bad)


def test_requires_two_inputs():
    with pytest.raises(ValueError, match="z_mean, z_log_var"):
        Sampling()(np.zeros((2, 2), "float32"), training=True)


def test_sample_mean_and_variance():
    z_mean, z_log_var = _inputs()
    z = np.asarray(Sampling(seed=0)([z_mean, z_log_var], training=True))
    assert z.shape == z_mean.shape and z.dtype == np.float32
    # Standard errors: sqrt(var / n) ~ 0.014 for var=4; ~1% for the variance.
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.var(axis=0), [4.0, 0.25], rtol=0.05)
    # Columns are independent.
    assert abs(np.corrcoef(z.T)[0, 1]) < 0.03


def test_deterministic_at_inference():
    rng = np.random.default_rng(0)
    z_mean = rng.normal(size=(16, 4)).astype("float32")
    z_log_var = rng.normal(size=(16, 4)).astype("float32")
    layer = Sampling(seed=0)
    for kwargs in ({}, {"training": False}, {"training": None}):
        np.testing.assert_array_equal(layer([z_mean, z_log_var], **kwargs), z_mean)
    z = np.asarray(layer([z_mean, z_log_var], training=True))
    assert np.all(z != z_mean)


def test_noise_scale_zero_gives_mean_in_training():
    rng = np.random.default_rng(1)
    z_mean = rng.normal(size=(16, 4)).astype("float32")
    z_log_var = rng.normal(size=(16, 4)).astype("float32")
    layer = Sampling(seed=0, noise_scale=0.0)
    np.testing.assert_array_equal(layer([z_mean, z_log_var], training=True), z_mean)


def test_noise_scale_scales_eps():
    z_mean, z_log_var = _inputs(n=8)
    full = np.asarray(Sampling(seed=4)([z_mean, z_log_var], training=True))
    half = np.asarray(
        Sampling(seed=4, noise_scale=0.5)([z_mean, z_log_var], training=True)
    )
    np.testing.assert_allclose(half - z_mean, 0.5 * (full - z_mean), rtol=1e-5, atol=1e-6)


def test_extreme_log_var_stays_finite():
    z_mean = np.zeros((64, 3), "float32")
    layer = Sampling(seed=0)
    for value in (1e4, -1e4, 1e30):
        z_log_var = np.full((64, 3), value, "float32")
        z = np.asarray(layer([z_mean, z_log_var], training=True))
        assert np.all(np.isfinite(z)), value
    # Clipped to [-30, 20]: the spread is exp(10) at most, exp(-15) at least.
    big = np.asarray(layer([z_mean, np.full((64, 3), 1e4, "float32")], training=True))
    assert np.abs(big).max() < 6 * np.exp(10.0)
    tiny = np.asarray(layer([z_mean, np.full((64, 3), -1e4, "float32")], training=True))
    assert 0 < np.abs(tiny).max() < 6 * np.exp(-15.0)


def test_gradients_flow_and_are_finite():
    z_mean = tf.Variable(np.zeros((8, 2), "float32"))
    z_log_var = tf.Variable(np.full((8, 2), 1e4, "float32"))
    layer = Sampling(seed=0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer([z_mean, z_log_var], training=True))
    g_mean, g_log_var = tape.gradient(loss, [z_mean, z_log_var])
    np.testing.assert_array_equal(g_mean, np.ones((8, 2)))
    assert np.all(np.isfinite(g_log_var))


def test_seeded_determinism_and_fresh_noise():
    z_mean, z_log_var = _inputs(n=16)
    a, b = Sampling(seed=9), Sampling(seed=9)
    first = np.asarray(a([z_mean, z_log_var], training=True))
    np.testing.assert_array_equal(first, b([z_mean, z_log_var], training=True))
    assert np.all(first != np.asarray(a([z_mean, z_log_var], training=True)))


def test_random_stream_survives_keras_save(tmp_path):
    z_mean, z_log_var = _inputs(n=4)
    mean_in, log_var_in = keras.Input((2,)), keras.Input((2,))
    model = keras.Model(
        [mean_in, log_var_in], Sampling(seed=5)([mean_in, log_var_in])
    )
    model([z_mean, z_log_var], training=True)
    path = str(tmp_path / "sampling.keras")
    model.save(path)
    expected = np.asarray(model([z_mean, z_log_var], training=True))
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(restored([z_mean, z_log_var], training=True), expected)
    np.testing.assert_array_equal(restored.predict([z_mean, z_log_var], verbose=0), z_mean)


def test_mixed_float16(restore_policy):
    z_mean, z_log_var = _inputs(n=8)
    expected = np.asarray(Sampling(seed=2)([z_mean, z_log_var], training=True))
    keras.config.set_dtype_policy("mixed_float16")
    layer = Sampling(seed=2)
    z = layer([z_mean, z_log_var], training=True)
    assert z.dtype == tf.float16
    assert layer([z_mean, z_log_var]).dtype == tf.float16
    np.testing.assert_allclose(np.asarray(z, "float32"), expected, rtol=2e-3, atol=2e-3)
    # log_var = 1e4 is clipped in float32 before exp; float16 output stays finite.
    huge = layer([z_mean, np.full_like(z_log_var, 1e4)], training=True)
    assert np.all(np.isfinite(np.asarray(huge, "float32")))


def test_replicas_draw_different_noise(mirrored_strategy):
    with mirrored_strategy.scope():
        layer = Sampling(seed=3)
    z_mean = tf.zeros((4, 8))
    z_log_var = tf.zeros((4, 8))

    @tf.function
    def step(mean, log_var):
        return mirrored_strategy.run(
            lambda m, v: layer([m, v], training=True), args=(mean, log_var)
        )

    results = [
        np.asarray(r)
        for r in mirrored_strategy.experimental_local_results(step(z_mean, z_log_var))
    ]
    assert len(results) == 2
    assert np.all(results[0] != results[1])
