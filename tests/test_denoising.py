"""DenoisingAutoencoder: noise only in training, clean targets, and real denoising.

The common battery (tests/test_common.py, cases ``denoising`` and
``denoising_gaussian_conv``) covers building, config, saving (including the
noise stream continuing after a ``.keras`` reload) and bad input; replica
noise and parity are in tests/test_distribute.py.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import losses  # noqa: E402
from keras_ae.layers import GaussianNoise  # noqa: E402
from keras_ae.layers import MaskingNoise  # noqa: E402
from keras_ae.layers import SaltAndPepperNoise  # noqa: E402
from keras_ae.models.denoising import DenoisingAutoencoder  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(64, 16)).astype("float32")
SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)


def _weights(model):
    return [np.array(w) for w in model.weights]


# ------------------------------------------------ noise in training only
def test_noise_only_when_training_is_true():
    model = DenoisingAutoencoder(**SMALL, noise="masking", noise_level=0.5)
    clean = np.asarray(model(X, training=False))
    np.testing.assert_array_equal(np.asarray(model(X)), clean)  # training=None
    np.testing.assert_allclose(model.predict(X, verbose=0), clean, atol=1e-6)
    np.testing.assert_allclose(model.predict(X, verbose=0), clean, atol=1e-6)
    np.testing.assert_allclose(model.reconstruct(X), clean, atol=1e-6)
    np.testing.assert_allclose(
        model.encode(X), np.asarray(model.encoder(X)), atol=1e-6
    )
    first = np.asarray(model(X, training=True))
    second = np.asarray(model(X, training=True))
    assert np.abs(first - clean).max() > 1e-3  # noise applied in training
    assert np.abs(first - second).max() > 1e-3  # fresh noise on every call


def test_training_loss_differs_from_eval_loss_on_the_same_batch():
    """Frozen weights, same batch: the training-mode loss sees noise, the
    evaluation loss does not (and is reproducible); with noise_level=0 they
    coincide, so the difference comes from the corruption alone."""
    model = DenoisingAutoencoder(**SMALL, noise="gaussian", noise_level=0.5)
    model.compile()
    before = _weights(model)
    train_loss = float(model.compute_loss_terms(X, X, training=True)[0]["loss"])
    eval_a = model.evaluate(X, batch_size=len(X), verbose=0, return_dict=True)
    eval_b = model.evaluate(X, batch_size=len(X), verbose=0, return_dict=True)
    assert eval_a == eval_b
    clean = losses.reduce_mean(
        losses.reconstruction("bce", X, model.decoder(model.encoder(X)))
    )
    np.testing.assert_allclose(eval_a["loss"], float(clean), rtol=1e-5)
    assert abs(train_loss - eval_a["loss"]) > 1e-4
    for a, b in zip(before, _weights(model)):
        np.testing.assert_array_equal(a, b)

    quiet = DenoisingAutoencoder(**SMALL, noise="gaussian", noise_level=0.0)
    quiet.compile()
    train_quiet = float(quiet.compute_loss_terms(X, X, training=True)[0]["loss"])
    eval_quiet = quiet.evaluate(X, batch_size=len(X), verbose=0, return_dict=True)
    np.testing.assert_allclose(train_quiet, eval_quiet["loss"], rtol=1e-6)


def test_fit_applies_noise_and_noise_level_zero_is_a_plain_autoencoder():
    """One SGD step: with noise_level=0 the DAE moves exactly like the plain
    Autoencoder with the same seed; with noise it moves differently."""

    def step(model):
        model.compile(keras.optimizers.SGD(0.5))
        model.fit(X, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
        return _weights(model)

    plain = step(keras_ae.Autoencoder(**SMALL))
    quiet = step(DenoisingAutoencoder(**SMALL, noise="masking", noise_level=0.0))
    noisy = step(DenoisingAutoencoder(**SMALL, noise="masking", noise_level=0.5))
    for a, b in zip(plain, quiet[: len(plain)]):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert max(np.abs(a - b).max() for a, b in zip(plain, noisy)) > 1e-4


def test_loss_is_against_the_clean_input():
    """MaskingNoise(rate=1) zeroes the whole input: the training loss must
    compare f(0) with the clean x, not with the zeroed input."""
    model = DenoisingAutoencoder(**SMALL, noise=MaskingNoise(1.0, seed=0))
    terms, y_pred = model.compute_loss_terms(X, X, training=True)
    f_zero = model(np.zeros_like(X), training=False)
    np.testing.assert_allclose(np.asarray(y_pred), np.asarray(f_zero), atol=1e-6)
    expected = losses.reduce_mean(losses.reconstruction("bce", X, f_zero))
    np.testing.assert_allclose(float(terms["reconstruction_loss"]), float(expected), rtol=1e-5)


def test_fit_noisy_to_clean_pairs_targets_the_clean_data():
    x_clean = X
    x_noisy = np.where(RNG.uniform(size=X.shape) < 0.5, 0.0, X).astype("float32")
    model = DenoisingAutoencoder(**SMALL, noise_level=0.0)
    model.compile()
    logs = model.evaluate(x_noisy, x_clean, batch_size=len(X), verbose=0,
                          return_dict=True)
    pred = model.predict(x_noisy, verbose=0)
    expected = losses.reduce_mean(losses.reconstruction("bce", x_clean, pred))
    np.testing.assert_allclose(logs["reconstruction_loss"], float(expected), rtol=1e-5)
    # Training on (noisy, clean) pairs: the output moves towards the clean data.
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(x_noisy, x_clean, epochs=20, batch_size=16, verbose=0)
    out = model.reconstruct(x_noisy)
    assert np.mean((out - x_clean) ** 2) < 0.7 * np.mean((out - x_noisy) ** 2)


# ------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    "noise, level, cls, attr, value",
    [
        ("masking", None, MaskingNoise, "rate", 0.3),
        ("gaussian", 0.5, GaussianNoise, "stddev", 0.5),
        ("salt_and_pepper", 0.1, SaltAndPepperNoise, "rate", 0.1),
    ],
)
def test_string_shortcuts_build_the_layer_seeded_by_the_model(noise, level, cls, attr, value):
    model = DenoisingAutoencoder(**dict(SMALL, seed=7), noise=noise, noise_level=level)
    assert isinstance(model.noise, cls)
    assert getattr(model.noise, attr) == value
    assert model.noise.seed == 7
    assert model.noise in model._flatten_layers(include_self=False)
    clone = DenoisingAutoencoder.from_config(model.get_config())
    assert isinstance(clone.noise, cls) and getattr(clone.noise, attr) == value
    assert clone.noise_level == model.noise_level


def test_same_seed_same_noise_stream():
    a = DenoisingAutoencoder(**dict(SMALL, seed=3), noise="gaussian")
    b = DenoisingAutoencoder(**dict(SMALL, seed=3), noise="gaussian")
    c = DenoisingAutoencoder(**dict(SMALL, seed=4), noise="gaussian")
    ya, yb = np.asarray(a.noise(X, training=True)), np.asarray(b.noise(X, training=True))
    np.testing.assert_array_equal(ya, yb)
    assert not np.allclose(ya, np.asarray(c.noise(X, training=True)))


def test_layer_instance_is_used_as_is_and_round_trips():
    layer = GaussianNoise(0.4, clip=(0.0, 1.0), seed=5)
    model = DenoisingAutoencoder(**SMALL, noise=layer)
    assert model.noise is layer
    clone = DenoisingAutoencoder.from_config(model.get_config())
    assert clone.noise.get_config() == layer.get_config()
    # noise_level equal to the layer's strength is accepted (config reload).
    DenoisingAutoencoder(**SMALL, noise=GaussianNoise(0.4), noise_level=0.4)


def test_noise_layer_state_survives_reload(tmp_path):
    model = DenoisingAutoencoder(**SMALL, noise="salt_and_pepper")
    model.noise(X, training=True)  # advance the stream
    path = str(tmp_path / "dae.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.noise, SaltAndPepperNoise)
    np.testing.assert_array_equal(
        np.asarray(reloaded.noise(X, training=True)),
        np.asarray(model.noise(X, training=True)),
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(noise=None), "needs a corruption.*Received: noise=None"),
        (dict(noise="dropout"), "Unknown noise.*Received: noise='dropout'"),
        (dict(noise=3), "Could not interpret.*Received: noise=3"),
        (dict(noise="masking", noise_level=1.5), "rate.*Received: noise='masking', noise_level=1.5"),
        (dict(noise="gaussian", noise_level=-1.0), "stddev.*noise_level=-1.0"),
        (dict(noise="gaussian", noise_level="high"), "Received: noise_level='high'"),
        (dict(noise=MaskingNoise(0.2), noise_level=0.5), "Received: noise_level=0.5"),
    ],
)
def test_invalid_noise_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DenoisingAutoencoder(**SMALL, **kwargs)


# --------------------------------------------------------- real denoising
def test_denoises_fashion_mnist_better_than_plain_autoencoder():
    """Test inputs corrupted by clip(x + N(0, 0.5^2), 0, 1): the DAE's MSE to
    the clean images is below the noisy images' own MSE and below a plain
    Autoencoder of the same shape and budget (5k images, 3 epochs)."""
    (x, _), (x_test, _) = keras_ae.datasets.load_data("fashion_mnist")
    x, x_test = x[:5000], x_test[:1000]
    rng = np.random.default_rng(0)
    noisy = np.clip(x_test + rng.normal(0.0, 0.5, x_test.shape), 0.0, 1.0)
    noisy = noisy.astype("float32")
    shape = dict(input_shape=(784,), latent_dim=32, hidden_units=(256,), seed=0)
    budget = dict(epochs=3, batch_size=128, verbose=0)
    plain = keras_ae.Autoencoder(**shape)
    dae = DenoisingAutoencoder(**shape, noise=GaussianNoise(0.5, clip=(0.0, 1.0), seed=0))
    for model in (plain, dae):
        model.compile()
        model.fit(x, **budget)
    mse_noisy = np.mean((noisy - x_test) ** 2)
    mse_plain = np.mean((plain.reconstruct(noisy) - x_test) ** 2)
    mse_dae = np.mean((dae.reconstruct(noisy) - x_test) ** 2)
    assert mse_dae < 0.5 * mse_noisy, (mse_dae, mse_noisy)
    assert mse_dae < 0.85 * mse_plain, (mse_dae, mse_plain)
