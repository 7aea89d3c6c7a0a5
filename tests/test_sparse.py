"""SparseAutoencoder: the penalty's value and scale, its metrics, and sparser codes.

The common battery (tests/test_common.py, cases ``sparse_kl`` and
``sparse_l1``) covers building, config, saving and bad input; replica parity
of the KL penalty (computed on the global batch mean) is in
tests/test_distribute.py.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import losses  # noqa: E402
from keras_ae.models.sparse import SparseAutoencoder  # noqa: E402
from keras_ae.regularizers import KLSparsity  # noqa: E402
from keras_ae.regularizers import L1Sparsity  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(64, 16)).astype("float32")
SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)


@pytest.fixture(scope="module")
def digits():
    (x, _), (x_test, _) = keras_ae.datasets.load_data("digits")
    return x, x_test


# ------------------------------------------------------------------ the loss
@pytest.mark.parametrize(
    "sparsity, activation",
    [(KLSparsity(0.1, 3.0), "sigmoid"), (L1Sparsity(1.0), "relu")],
    ids=["kl", "l1"],
)
def test_loss_terms_are_reconstruction_plus_penalty_on_the_codes(sparsity, activation):
    model = SparseAutoencoder(**SMALL, activation=activation, sparsity=sparsity)
    terms, y_pred = model.compute_loss_terms(X, X, training=True)
    codes = model.encoder(X)
    rec = losses.reduce_mean(losses.reconstruction("bce", X, model.decoder(codes)))
    expected_penalty = float(sparsity(codes))
    assert expected_penalty > 1e-3
    np.testing.assert_allclose(float(terms["sparsity_loss"]), expected_penalty, rtol=1e-5)
    np.testing.assert_allclose(float(terms["reconstruction_loss"]), float(rec), rtol=1e-5)
    np.testing.assert_allclose(
        float(terms["loss"]), float(rec) + expected_penalty, rtol=1e-5
    )
    np.testing.assert_allclose(
        float(terms["mean_activation"]), np.mean(np.abs(np.asarray(codes))), rtol=1e-5
    )
    np.testing.assert_allclose(np.asarray(y_pred), model.predict(X, verbose=0), atol=1e-6)


def test_sigmoid_codes_lie_in_the_unit_interval():
    """docs/design.md, "Semantics": `activation` applies to the code layer too."""
    model = SparseAutoencoder(**SMALL, activation="sigmoid", sparsity="kl")
    z = model.encode(RNG.normal(size=(32, 16)).astype("float32") * 5.0)
    assert np.all(z > 0.0) and np.all(z < 1.0)


@pytest.mark.parametrize(
    "sparsity", [KLSparsity(0.05, 1.0), L1Sparsity(1.0)], ids=["kl", "l1"]
)
def test_penalty_does_not_depend_on_the_batch_size(sparsity):
    """Not divided by the batch size (unlike a Keras activity_regularizer).

    The data repeats the same 32 rows, so every batch of 32 has the same
    codes as the whole set of 256: the penalty must be the same at both sizes.
    """
    model = SparseAutoencoder(**SMALL, activation="sigmoid", sparsity=sparsity)
    model.compile()
    x = np.tile(X[:32], (8, 1))
    small = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    large = model.evaluate(x, batch_size=256, verbose=0, return_dict=True)
    assert small["sparsity_loss"] > 1e-3
    np.testing.assert_allclose(small["sparsity_loss"], large["sparsity_loss"], rtol=1e-5)
    expected = float(sparsity(model.encoder(x)))
    np.testing.assert_allclose(large["sparsity_loss"], expected, rtol=1e-5)


def test_encoder_runs_once_per_step():
    calls = []

    class Count(keras.layers.Layer):
        def call(self, inputs):
            calls.append(1)
            return inputs

    encoder = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(4, activation="sigmoid"), Count()]
    )
    model = SparseAutoencoder(input_shape=(16,), latent_dim=4, encoder=encoder,
                              sparsity="kl")
    calls.clear()
    model.compute_loss_terms(X, X, training=True)
    assert len(calls) == 1


def test_weight_regularizers_are_added_to_the_loss():
    encoder = keras.Sequential(
        [
            keras.Input((16,)),
            keras.layers.Dense(
                4, activation="sigmoid", kernel_regularizer=keras.regularizers.L2(1.0)
            ),
        ]
    )
    model = SparseAutoencoder(input_shape=(16,), latent_dim=4, encoder=encoder,
                              sparsity="kl")
    terms, _ = model.compute_loss_terms(X, X, training=True)
    extra = float(terms["loss"]) - float(terms["reconstruction_loss"]) - float(
        terms["sparsity_loss"]
    )
    np.testing.assert_allclose(extra, float(model.regularization_loss()), rtol=1e-5)
    assert extra > 1e-2


# ------------------------------------------------------------------ metrics
def test_fit_and_evaluate_report_mean_activation_and_sparsity_loss():
    model = SparseAutoencoder(**SMALL, activation="sigmoid", sparsity="kl")
    model.compile()
    history = model.fit(X, epochs=2, batch_size=16, verbose=0, validation_data=(X,))
    for name in ("mean_activation", "sparsity_loss", "val_mean_activation",
                 "val_sparsity_loss"):
        assert len(history.history[name]) == 2, name
    logs = model.evaluate(X, batch_size=len(X), verbose=0, return_dict=True)
    z = model.encode(X)
    np.testing.assert_allclose(logs["mean_activation"], z.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        logs["sparsity_loss"], float(KLSparsity()(z)), rtol=1e-5
    )
    np.testing.assert_allclose(
        logs["loss"], logs["reconstruction_loss"] + logs["sparsity_loss"], rtol=1e-5
    )


def test_mixed_precision_keeps_the_penalty_in_float32():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        model = SparseAutoencoder(**SMALL, activation="sigmoid", sparsity="kl")
        terms, _ = model.compute_loss_terms(X, X, training=True)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert terms["sparsity_loss"].dtype == "float32"
    assert terms["mean_activation"].dtype == "float32"
    assert np.isfinite(float(terms["loss"]))


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize(
    "spec, cls, attrs",
    [
        ("l1", L1Sparsity, {"l1": 1e-4}),
        ("kl", KLSparsity, {"target": 0.05, "weight": 1.0}),
        (KLSparsity(0.2, 4.0), KLSparsity, {"target": 0.2, "weight": 4.0}),
        ({"class_name": "L1Sparsity", "config": {"l1": 0.3}}, L1Sparsity, {"l1": 0.3}),
    ],
    ids=["l1", "kl", "instance", "config"],
)
def test_sparsity_argument_forms_and_config_roundtrip(spec, cls, attrs):
    model = SparseAutoencoder(**SMALL, activation="sigmoid", sparsity=spec)
    assert isinstance(model.sparsity, cls)
    assert {k: getattr(model.sparsity, k) for k in attrs} == attrs
    clone = SparseAutoencoder.from_config(model.get_config())
    assert isinstance(clone.sparsity, cls)
    assert clone.sparsity.get_config() == model.sparsity.get_config()


def test_default_sparsity_is_the_keras_blog_l1():
    model = SparseAutoencoder(**SMALL)
    assert isinstance(model.sparsity, L1Sparsity) and model.sparsity.l1 == 1e-4


def test_keras_reload_keeps_the_penalty(tmp_path):
    model = SparseAutoencoder(**SMALL, activation="sigmoid",
                              sparsity=KLSparsity(0.2, 4.0))
    path = str(tmp_path / "sparse.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)  # safe_mode=True
    assert isinstance(reloaded.sparsity, KLSparsity)
    assert (reloaded.sparsity.target, reloaded.sparsity.weight) == (0.2, 4.0)


@pytest.mark.parametrize(
    "bad, match",
    [
        (None, "needs a sparsity penalty"),
        ("l2", "Unknown sparsity regularizer"),
        (3.0, "Could not interpret"),
    ],
)
def test_invalid_sparsity_raises(bad, match):
    with pytest.raises(ValueError, match=f"{match}.*Received: sparsity="):
        SparseAutoencoder(**SMALL, sparsity=bad)


def test_kl_with_unbounded_codes_warns():
    with pytest.warns(UserWarning, match="KLSparsity expects codes in \\(0, 1\\)"):
        SparseAutoencoder(**SMALL, activation="relu", sparsity="kl")


# ------------------------------------------------------------ sparser codes
def _fit_digits(model, x, epochs=12):
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(x, epochs=epochs, batch_size=64, verbose=0, shuffle=True)
    return model


_DIGITS = dict(input_shape=(64,), latent_dim=32, hidden_units=(64,), seed=0)


def test_kl_sparsity_drives_mean_activation_to_target_on_digits(digits):
    """Sigmoid codes: KLSparsity(0.05) brings the mean activation within 50%
    of 0.05, far below the plain autoencoder's at the same budget."""
    x, x_test = digits
    target = 0.05
    sparse = _fit_digits(
        SparseAutoencoder(**_DIGITS, activation="sigmoid",
                          sparsity=KLSparsity(target, 3.0)), x)
    plain = _fit_digits(keras_ae.Autoencoder(**_DIGITS, activation="sigmoid"), x)
    sparse_act = float(sparse.encode(x_test).mean())
    plain_act = float(plain.encode(x_test).mean())
    assert abs(sparse_act - target) < 0.5 * target, sparse_act
    assert sparse_act < 0.5 * plain_act, (sparse_act, plain_act)


def test_l1_sparsity_lowers_mean_activation_on_digits(digits):
    """ReLU codes: the L1 penalty halves the mean code activation."""
    x, x_test = digits
    sparse = _fit_digits(
        SparseAutoencoder(**_DIGITS, activation="relu", sparsity=L1Sparsity(1e-2)), x)
    plain = _fit_digits(keras_ae.Autoencoder(**_DIGITS, activation="relu"), x)
    sparse_act = float(sparse.encode(x_test).mean())
    plain_act = float(plain.encode(x_test).mean())
    assert sparse_act < 0.7 * plain_act, (sparse_act, plain_act)
