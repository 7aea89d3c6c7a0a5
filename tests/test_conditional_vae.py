"""`keras_ae.ConditionalVAE` beyond the conditional battery
(`tests/test_conditional.py`): the loss given the label against a hand
computation, label wiring in both networks, sampling, export endpoints,
conv inputs, mixed precision and label checks."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import ops  # noqa: E402

import keras_ae  # noqa: E402
from harness import fit_quietly  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(48, 16)).astype("float32")
Y = (np.arange(48) % 3).astype("int32")
SMALL = dict(input_shape=(16,), num_classes=3, latent_dim=4, hidden_units=(8,), seed=1)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), "float64")


def _make(**kwargs):
    return keras_ae.ConditionalVAE(**dict(SMALL, **kwargs))


def test_declares_capabilities():
    model = _make()
    assert model.conditional and model.generative and model.built
    assert keras_ae.ConditionalVAE.conditional and keras_ae.ConditionalVAE.generative


@pytest.mark.backends
def test_loss_terms_equal_hand_computation_without_noise():
    model = _make(noise_scale=0.0, beta=0.5)
    terms, _ = model.compute_loss_terms(X, Y, training=True)
    one_hot = np.eye(3, dtype="float32")[Y]
    mean, log_var = [_np(t) for t in model.encoder([X, one_hot])]
    logits = _np(model.decoder([mean.astype("float32"), one_hot]))
    bce = np.sum(np.logaddexp(0, logits) - X * logits, axis=1).mean()
    kl = np.mean(np.sum(-0.5 * (1 + log_var - mean**2 - np.exp(log_var)), axis=1))
    assert float(terms["reconstruction_loss"]) == pytest.approx(bce, rel=1e-4)
    assert float(terms["kl_loss"]) == pytest.approx(kl, rel=1e-4, abs=1e-6)
    assert float(terms["loss"]) == pytest.approx(bce + 0.5 * kl, rel=1e-4)


@pytest.mark.backends
def test_both_networks_see_the_label():
    model = _make()
    a = model.encode(X[:6], np.zeros(6, "int32"))
    b = model.encode(X[:6], np.ones(6, "int32"))
    assert not np.allclose(a, b)
    z = np.zeros((6, 4), "float32")
    assert not np.allclose(model.decode(z, 0), model.decode(z, 2))
    # reconstruct = decode(encode) given the same labels; predict((x, labels)) too.
    np.testing.assert_allclose(
        model.reconstruct(X, Y), model.decode(model.encode(X, Y), Y), atol=1e-6
    )
    np.testing.assert_allclose(model.predict((X, Y), verbose=0), model.reconstruct(X, Y), atol=1e-5)


@pytest.mark.backends
def test_sample_labels_and_seeds():
    model = _make()
    one = model.sample(4, labels=2, seed=0)
    np.testing.assert_array_equal(one, model.sample(4, labels=[2, 2, 2, 2], seed=0))
    np.testing.assert_array_equal(one, model.sample(4, labels=np.full(4, 2), seed=0))
    assert not np.allclose(one, model.sample(4, labels=0, seed=0))
    assert model.sample(3, labels=range(3), seed=1).shape == (3, 16)
    assert model.sample(0, labels=[], seed=1).shape == (0, 16)
    with pytest.raises(ValueError, match=r"needs `labels`.*Received: labels=None"):
        model.sample(3, seed=0)
    with pytest.raises(ValueError, match=r"one label per example \(3\). Received: 2"):
        model.sample(3, labels=[0, 1], seed=0)
    with pytest.raises(ValueError, match=r"integers in \[0, 3\). Received: values in \[-1, 1\]"):
        model.sample(2, labels=[-1, 1], seed=0)


def test_label_checks_before_training_and_in_inference():
    model = _make()
    model.compile()
    with pytest.raises(ValueError, match="needs one label per example"):
        model.fit(X, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="1-D array of integers"):
        model.fit(X, Y.astype("float32"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 3\). Received: values in \[0, 3\]"):
        model.fit(X, np.where(Y == 2, 3, Y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_labels"):
        model.fit(X, Y, validation_data=(X, Y[:-2]), epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 0
    with pytest.raises(ValueError, match="needs `labels`"):
        model.encode(X)
    with pytest.raises(ValueError, match="takes `\\(x, labels\\)`"):
        model.predict(X, verbose=0)
    with pytest.raises(ValueError, match="num_classes"):
        _make(num_classes=1)
    for name in ("log_likelihood", "elbo", "kl_per_dimension", "active_units", "score"):
        with pytest.raises(ValueError, match=f"{name}` is not available"):
            getattr(model, name)(X)


@pytest.mark.backends
def test_fit_evaluate_with_validation_labels_and_conv():
    model = _make()
    model.compile()
    history = fit_quietly(model, X, Y, epochs=2, validation_data=(X, Y))
    assert np.all(np.isfinite(history.history["val_loss"]))
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(
        model.evaluate(X, Y, verbose=0, return_dict=True)["loss"], rel=1e-6
    )
    images = RNG.uniform(size=(16, 8, 8, 1)).astype("float32")
    conv = keras_ae.ConditionalVAE(
        (8, 8, 1), num_classes=3, latent_dim=3, hidden_units=(4, 8), architecture="conv", seed=0
    )
    conv.compile()
    fit_quietly(conv, images, Y[:16])
    assert conv.sample(2, labels=1, seed=0).shape == (2, 8, 8, 1)
    assert not np.allclose(conv.encode(images, np.zeros(16, "int32")),
                           conv.encode(images, np.full(16, 2)))


@pytest.mark.backends
def test_export_endpoints_take_labels():
    model = _make()
    endpoints = model.export_endpoints()
    assert list(endpoints) == [
        "encode", "encode_distribution", "decode", "reconstruct", "sample_from_noise"
    ]
    for ep in endpoints.values():
        assert ep.inputs["labels"] == ((None,), "int32") and not ep.random
    x, y = ops.convert_to_tensor(X[:5]), ops.convert_to_tensor(Y[:5])
    codes = _np(endpoints["encode"].fn(x=x, labels=y)["codes"])
    np.testing.assert_allclose(codes, model.encode(X[:5], Y[:5]), atol=1e-5)
    z = ops.convert_to_tensor(codes.astype("float32"))
    np.testing.assert_allclose(
        _np(endpoints["decode"].fn(z=z, labels=y)["reconstruction"]),
        model.decode(codes, Y[:5]), atol=1e-5,
    )
    np.testing.assert_allclose(
        _np(endpoints["reconstruct"].fn(x=x, labels=y)["reconstruction"]),
        model.reconstruct(X[:5], Y[:5]), atol=1e-5,
    )
    noise = RNG.standard_normal((5, 4)).astype("float32")
    samples = endpoints["sample_from_noise"].fn(noise=ops.convert_to_tensor(noise), labels=y)
    np.testing.assert_allclose(_np(samples["samples"]), model.decode(noise, Y[:5]), atol=1e-5)


@pytest.mark.backends
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = _make()
        model.compile()
        history = fit_quietly(model, X, Y, epochs=2)
        assert all(np.isfinite(v[-1]) for v in history.history.values())
        assert model.reconstruct(X, Y).dtype == np.float32
    finally:
        keras.config.set_dtype_policy(previous)
