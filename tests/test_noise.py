"""Tests for keras_ae.layers.noise: corruption layers and get_noise."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ae.layers.noise import GaussianNoise  # noqa: E402
from keras_ae.layers.noise import MaskingNoise  # noqa: E402
from keras_ae.layers.noise import SaltAndPepperNoise  # noqa: E402
from keras_ae.layers.noise import get_noise  # noqa: E402

ALL_LAYERS = {
    "gaussian": lambda seed=1: GaussianNoise(0.4, seed=seed),
    "gaussian_clipped": lambda seed=1: GaussianNoise(0.4, clip=(0.0, 1.0), seed=seed),
    "masking": lambda seed=1: MaskingNoise(0.3, seed=seed),
    "salt_and_pepper": lambda seed=1: SaltAndPepperNoise(0.2, seed=seed),
}


def _x(shape=(200, 1000), value=0.5):
    return np.full(shape, value, "float32")


@pytest.fixture
def restore_policy():
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)


# --------------------------------------------------------------- config


@pytest.mark.parametrize(
    "layer, expected",
    [
        (GaussianNoise(0.7, clip=(0, 1), seed=3), {"stddev": 0.7, "clip": (0.0, 1.0), "seed": 3}),
        (GaussianNoise(2.0), {"stddev": 2.0, "clip": None, "seed": None}),
        (MaskingNoise(0.25, seed=4), {"rate": 0.25, "seed": 4}),
        (
            SaltAndPepperNoise(0.1, low=-1, high=1, seed=5),
            {"rate": 0.1, "low": -1.0, "high": 1.0, "seed": 5},
        ),
    ],
)
def test_config_round_trip(layer, expected):
    config = layer.get_config()
    assert {k: config[k] for k in expected} == expected
    own = set(config) - set(keras.layers.Layer().get_config())
    assert own == set(expected)  # exactly the constructor arguments
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    # Also through Keras's (JSON) serialization, where tuples become lists.
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is type(layer)
    assert restored.get_config() == config


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: GaussianNoise(-0.1), "stddev=-0.1"),
        (lambda: GaussianNoise(float("nan")), "stddev=nan"),
        (lambda: GaussianNoise("0.1"), "stddev='0.1'"),
        (lambda: GaussianNoise(0.1, clip=(1.0, 0.0)), r"clip=\(1.0, 0.0\)"),
        (lambda: GaussianNoise(0.1, clip=(0.0,)), "clip="),
        (lambda: MaskingNoise(1.5), "rate=1.5"),
        (lambda: MaskingNoise(-0.1), "rate=-0.1"),
        (lambda: SaltAndPepperNoise(2), "rate=2"),
        (lambda: SaltAndPepperNoise(0.1, low=1.0, high=0.0), "low=1.0, high=0.0"),
        (lambda: MaskingNoise(0.1, seed=1.5), "seed=1.5"),
    ],
)
def test_invalid_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_zero_level_is_identity_in_training():
    x = np.random.default_rng(0).random((8, 16)).astype("float32")
    for layer in (GaussianNoise(0.0), MaskingNoise(0.0), SaltAndPepperNoise(0.0)):
        np.testing.assert_array_equal(layer(x, training=True), x)


# ----------------------------------------------------- training vs inference


@pytest.mark.parametrize("name", sorted(ALL_LAYERS))
def test_identity_at_inference_noise_in_training(name):
    layer = ALL_LAYERS[name]()
    x = np.random.default_rng(0).random((16, 64)).astype("float32")
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False), x)
    np.testing.assert_array_equal(layer(x, training=None), x)
    y = np.asarray(layer(x, training=True))
    assert y.shape == x.shape
    assert np.mean(y != x) > 0.1


@pytest.mark.parametrize("name", ["gaussian", "masking"])
def test_fit_sees_noise_predict_and_evaluate_do_not(name):
    """A model [noise, identity Dense]: train loss > 0, inference loss == 0."""
    x = np.random.default_rng(1).random((64, 8)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((8,)),
            ALL_LAYERS[name](),
            keras.layers.Dense(8, kernel_initializer="identity", use_bias=False),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    history = model.fit(x, x, epochs=1, batch_size=32, verbose=0)
    assert history.history["loss"][0] > 1e-3
    assert model.evaluate(x, x, verbose=0) == 0.0
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(model(x), x)


# ----------------------------------------------------------- statistics


def test_gaussian_statistics():
    y = np.asarray(GaussianNoise(0.3, seed=0)(_x(), training=True))
    noise = y - 0.5
    assert abs(noise.mean()) < 0.005
    assert abs(noise.std() - 0.3) < 0.005


def test_gaussian_large_stddev_and_clip():
    layer = GaussianNoise(3.0, clip=(0.0, 1.0), seed=0)
    y = np.asarray(layer(_x(), training=True))
    assert y.min() == 0.0 and y.max() == 1.0
    # About P(|N(0, 9)| > 0.5) of the entries end up clipped on either side.
    assert 0.35 < np.mean(y == 0.0) < 0.5
    assert 0.35 < np.mean(y == 1.0) < 0.5


def test_masking_statistics():
    x = _x(value=2.0)
    y = np.asarray(MaskingNoise(0.3, seed=0)(x, training=True))
    assert abs(np.mean(y == 0.0) - 0.3) < 0.01
    # Kept entries are unchanged (no dropout-style rescaling).
    assert set(np.unique(y)) == {0.0, 2.0}


def test_salt_and_pepper_statistics():
    x = np.random.default_rng(0).uniform(0.2, 0.8, (200, 1000)).astype("float32")
    y = np.asarray(SaltAndPepperNoise(0.2, seed=0)(x, training=True))
    changed = y != x
    assert abs(changed.mean() - 0.2) < 0.01
    assert set(np.unique(y[changed])) == {0.0, 1.0}
    assert abs(np.mean(y[changed] == 1.0) - 0.5) < 0.02


def test_salt_and_pepper_custom_range():
    y = np.asarray(
        SaltAndPepperNoise(1.0, low=-1.0, high=3.0, seed=0)(_x(), training=True)
    )
    assert set(np.unique(y)) == {-1.0, 3.0}


# ----------------------------------------------------------- randomness


@pytest.mark.parametrize("name", sorted(ALL_LAYERS))
def test_seeded_determinism_and_fresh_noise(name):
    x = _x((8, 64))
    a, b = ALL_LAYERS[name](seed=7), ALL_LAYERS[name](seed=7)
    first_a = np.asarray(a(x, training=True))
    np.testing.assert_array_equal(first_a, b(x, training=True))
    second_a = np.asarray(a(x, training=True))
    assert np.mean(first_a != second_a) > 0.1  # successive calls differ
    other = np.asarray(ALL_LAYERS[name](seed=8)(x, training=True))
    assert np.mean(first_a != other) > 0.1


@pytest.mark.parametrize("name", sorted(ALL_LAYERS))
def test_random_stream_survives_keras_save(name, tmp_path):
    x = _x((4, 32))
    model = keras.Sequential([keras.Input((32,)), ALL_LAYERS[name](seed=11)])
    model(x, training=True)  # advance the stream before saving
    path = str(tmp_path / "noise.keras")
    model.save(path)
    expected = np.asarray(model(x, training=True))
    restored = keras.models.load_model(path, safe_mode=True)
    assert type(restored.layers[0]) is type(model.layers[0])
    np.testing.assert_array_equal(restored(x, training=True), expected)
    np.testing.assert_array_equal(restored(x), x)


def test_replicas_draw_different_noise(mirrored_strategy):
    with mirrored_strategy.scope():
        layer = MaskingNoise(0.5, seed=3)
    x = tf.ones((4, 64))

    @tf.function
    def step(inputs):
        return mirrored_strategy.run(lambda v: layer(v, training=True), args=(inputs,))

    results = [np.asarray(r) for r in mirrored_strategy.experimental_local_results(step(x))]
    assert len(results) == 2
    assert np.mean(results[0] != results[1]) > 0.2
    # And each replica's stream moves on at the next step.
    again = [np.asarray(r) for r in mirrored_strategy.experimental_local_results(step(x))]
    assert np.mean(again[0] != results[0]) > 0.2


# ------------------------------------------------------- mixed precision


@pytest.mark.parametrize("name", sorted(ALL_LAYERS))
def test_mixed_float16_dtype(name, restore_policy):
    x = _x((8, 64))
    expected = np.asarray(ALL_LAYERS[name](seed=5)(x, training=True))
    keras.config.set_dtype_policy("mixed_float16")
    layer = ALL_LAYERS[name](seed=5)
    y = layer(x, training=True)
    assert y.dtype == tf.float16
    assert layer(x).dtype == tf.float16
    # Noise is drawn in float32 then cast: the same corruption as in float32.
    np.testing.assert_allclose(np.asarray(y, "float32"), expected, atol=2e-3)


def test_float64_input_keeps_layer_dtype():
    layer = MaskingNoise(0.5, seed=0, dtype="float64")
    y = layer(np.ones((4, 4)), training=True)
    assert y.dtype == tf.float64


# --------------------------------------------------------------- get_noise


@pytest.mark.parametrize(
    "identifier, cls, attr, default",
    [
        ("gaussian", GaussianNoise, "stddev", 0.3),
        ("masking", MaskingNoise, "rate", 0.3),
        ("salt_and_pepper", SaltAndPepperNoise, "rate", 0.2),
        ("Salt-and-Pepper", SaltAndPepperNoise, "rate", 0.2),
        ("GaussianNoise", GaussianNoise, "stddev", 0.3),
    ],
)
def test_get_noise_strings(identifier, cls, attr, default):
    layer = get_noise(identifier)
    assert type(layer) is cls and getattr(layer, attr) == default
    layer = get_noise(identifier, noise_level=0.6, seed=2)
    assert getattr(layer, attr) == 0.6 and layer.seed == 2


def test_get_noise_other_identifiers():
    assert get_noise(None) is None
    layer = MaskingNoise(0.1)
    assert get_noise(layer) is layer
    config = keras.saving.serialize_keras_object(SaltAndPepperNoise(0.4, seed=9))
    restored = get_noise(config)
    assert type(restored) is SaltAndPepperNoise
    assert restored.rate == 0.4 and restored.seed == 9
    with pytest.raises(ValueError, match="noise_level"):
        get_noise(layer, noise_level=0.2)


def test_get_noise_unknown_string_lists_valid_names():
    with pytest.raises(ValueError, match="gaussian.*masking.*salt_and_pepper") as info:
        get_noise("speckle")
    assert "speckle" in str(info.value)
    with pytest.raises(ValueError):
        get_noise(0.3)
