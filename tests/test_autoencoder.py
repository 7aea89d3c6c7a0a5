"""Tests specific to keras_ae.Autoencoder (the battery is in test_common.py)."""

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

import keras_ae
from harness import X_FLAT, fit_quietly, weights_of


@pytest.mark.backends
def test_linear_autoencoder_matches_pca_on_digits():
    """PCA is the optimal linear autoencoder (Baldi & Hornik 1989): a correct
    training loop gets within 3% of its test MSE and cannot beat it on the
    training set."""
    x = (load_digits().data / 16.0).astype("float32")
    x_train, x_test = x[:1500], x[1500:]
    k = 8
    pca = PCA(k).fit(x_train)
    pca_train = np.mean((pca.inverse_transform(pca.transform(x_train)) - x_train) ** 2)
    pca_test = np.mean((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2)

    ae = keras_ae.Autoencoder(
        input_shape=(64,), latent_dim=k, hidden_units=(), activation=None,
        output_activation=None, reconstruction_loss="mse", seed=0,
    )
    epochs = 150
    schedule = keras.optimizers.schedules.CosineDecay(1e-2, 15 * epochs, alpha=1e-3)
    ae.compile(optimizer=keras.optimizers.Adam(schedule))
    ae.fit(x_train, epochs=epochs, batch_size=100, verbose=0)
    ae_train = np.mean((ae.reconstruct(x_train) - x_train) ** 2)
    ae_test = np.mean((ae.reconstruct(x_test) - x_test) ** 2)
    ratio = ae_test / pca_test
    print(f"linear AE / PCA test MSE ratio: {ratio:.4f}")
    assert ratio <= 1.03, (ae_test, pca_test)
    assert ae_train >= pca_train * (1 - 1e-4), (ae_train, pca_train)


def test_fit_with_targets_maps_x_to_y():
    x = X_FLAT
    y = 1.0 - X_FLAT  # a different target than the input
    ae = keras_ae.Autoencoder(input_shape=(16,), latent_dim=8, hidden_units=(32,), seed=0)
    ae.compile(optimizer=keras.optimizers.Adam(1e-2))
    h = ae.fit(x, y, epochs=60, batch_size=64, verbose=0)
    out = ae.reconstruct(x)
    assert np.mean((out - y) ** 2) < np.mean((out - x) ** 2)
    assert h.history["loss"][-1] < h.history["loss"][0]
    # evaluate(x, y) scores against y, evaluate(x) against x
    against_y = ae.evaluate(x, y, verbose=0, return_dict=True)["mse"]
    against_x = ae.evaluate(x, verbose=0, return_dict=True)["mse"]
    assert against_y < against_x


def test_loss_is_summed_over_features_and_averaged_over_batch():
    ae = keras_ae.Autoencoder(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=0)
    ae.compile()
    x = X_FLAT
    x_hat = np.clip(ae.predict(x, verbose=0), 1e-7, 1 - 1e-7)
    bce = -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat)).sum(axis=1).mean()
    mse = ((x - x_hat) ** 2).mean()
    logs = ae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["reconstruction_loss"], bce, rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], bce, rtol=1e-5)
    np.testing.assert_allclose(logs["mse"], mse, rtol=1e-5)


def test_tied_weights_share_kernels():
    ae = keras_ae.Autoencoder(
        input_shape=(16,), latent_dim=4, hidden_units=(8,), tied_weights=True, seed=0
    )
    untied = keras_ae.Autoencoder(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=0)
    # kernels 16x8 and 8x4 only; decoder adds biases (8,) and (16,)
    assert len(ae.trainable_variables) == 6
    assert len(untied.trainable_variables) == 8
    enc_kernel = ae.encoder.get_layer("dense_0").kernel
    dec = ae.decoder.get_layer("output")
    assert dec.tied_to.kernel is enc_kernel
    z = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    h = np.maximum(z @ ae.encoder.get_layer("code").kernel.numpy().T
                   + ae.decoder.get_layer("dense_0").bias.numpy(), 0)
    expected = 1 / (1 + np.exp(-(h @ enc_kernel.numpy().T + dec.bias.numpy())))
    np.testing.assert_allclose(ae.decode(z), expected, atol=1e-5)


def test_image_inputs_are_flattened_and_reshaped():
    ae = keras_ae.Autoencoder(input_shape=(28, 28, 1), latent_dim=8, hidden_units=(32,))
    assert ae.decoder.output_shape == (None, 28, 28, 1)
    conv = keras_ae.Autoencoder(
        input_shape=(28, 28, 1), latent_dim=8, hidden_units=(4, 8, 8), architecture="conv"
    )
    assert conv.decoder.output_shape == (None, 28, 28, 1)
    assert any(isinstance(l, keras.layers.Conv2D) for l in conv.encoder.layers)


def _user_networks():
    enc = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(12, activation="tanh"), keras.layers.Dense(3)],
        name="my_encoder",
    )
    dec = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(16, activation="sigmoid")], name="my_decoder"
    )
    return enc, dec


def test_user_supplied_networks_are_used_and_serialized(tmp_path):
    enc, dec = _user_networks()
    ae = keras_ae.Autoencoder(input_shape=(16,), latent_dim=3, encoder=enc, decoder=dec)
    assert ae.encoder is enc and ae.decoder is dec
    ae.compile()
    fit_quietly(ae, X_FLAT)
    config = ae.get_config()
    assert config["encoder"]["config"]["name"] == "my_encoder"
    path = str(tmp_path / "custom.keras")
    ae.save(path)
    back = keras.models.load_model(path)
    assert back.encoder.name == "my_encoder"
    np.testing.assert_allclose(back.encode(X_FLAT), ae.encode(X_FLAT), atol=1e-6)


def test_encoder_and_decoder_usable_on_their_own():
    ae = keras_ae.Autoencoder(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=0)
    assert isinstance(ae.encoder, keras.Model) and isinstance(ae.decoder, keras.Model)
    clf = keras.Sequential([keras.Input((16,)), ae.encoder, keras.layers.Dense(2)])
    assert clf(X_FLAT[:2]).shape == (2, 2)


def test_compile_rejects_a_loss_and_fit_requires_compile():
    ae = keras_ae.Autoencoder(input_shape=(16,), latent_dim=4, hidden_units=(8,))
    with pytest.raises(ValueError, match="compile()"):
        ae.fit(X_FLAT, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="does not take `loss`. Received: loss='mse'"):
        ae.compile(loss="mse")


def test_bce_requires_sigmoid_or_logits():
    with pytest.raises(ValueError, match="Received: output_activation='relu'"):
        keras_ae.Autoencoder(input_shape=(16,), latent_dim=4, output_activation="relu")
    ae = keras_ae.Autoencoder(
        input_shape=(16,), latent_dim=4, hidden_units=(8,), output_activation=None, seed=0
    )
    ae.compile()
    # Public outputs are probabilities even when the decoder emits logits.
    p = ae.predict(X_FLAT, verbose=0)
    assert p.min() > 0.0 and p.max() < 1.0
    bce = -(X_FLAT * np.log(p) + (1 - X_FLAT) * np.log(1 - p)).sum(1).mean()
    got = ae.evaluate(X_FLAT, batch_size=64, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(got, bce, rtol=1e-5)


def test_validation_data_is_checked():
    ae = keras_ae.Autoencoder(input_shape=(16,), latent_dim=4, hidden_units=(8,))
    ae.compile()
    with pytest.raises(ValueError, match="validation_x"):
        ae.fit(X_FLAT, validation_data=(np.zeros((4, 5), "float32"),), verbose=0)
    assert ae.optimizer.iterations.numpy() == 0


def test_compiled_user_metrics_are_reported():
    ae = keras_ae.Autoencoder(input_shape=(16,), latent_dim=4, hidden_units=(8,))
    ae.compile(metrics=[keras.metrics.MeanAbsoluteError(name="mae")])
    h = fit_quietly(ae, X_FLAT)
    assert "mae" in h.history
