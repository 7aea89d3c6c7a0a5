"""ContractiveAutoencoder: the Jacobian penalty is right, estimated without
bias, differentiable on every backend, and it contracts the codes.

The common battery (tests/test_common.py, case ``contractive``) covers
building, config, saving, bad data and replica parity of the exact penalty;
tests/test_backends.py the same step on every backend. Here:

* the analytic ``||J_f(x)||_F^2`` of Dense stacks equals an autodiff
  Jacobian (`tf.GradientTape.batch_jacobian`, `jax.jacfwd` or
  `torch.autograd.functional.jacobian`, depending on the backend) to 1e-5;
* the exact path of other encoders (vector-Jacobian products) too;
* Hutchinson estimates average to the exact value (within 2%), through the
  analytic forward propagation and through `keras_ae.backend.jvp`;
* a training step through `keras_ae.backend.jvp` equals the analytic step;
* config, `.keras` reload under ``safe_mode`` (with the projection stream),
  one fit step per backend, bad arguments.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import ops  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import losses  # noqa: E402
from keras_ae.models.contractive import ContractiveAutoencoder  # noqa: E402
from keras_ae.models.contractive import DenseChain  # noqa: E402
from keras_ae.models.contractive import jacobian_norm  # noqa: E402
from keras_ae.models.contractive import squared_jacobian_norms  # noqa: E402

BACKEND = keras.backend.backend()
RNG = np.random.default_rng(0)
X = RNG.uniform(size=(64, 16)).astype("float32")
X_IMG = RNG.uniform(size=(8, 8, 8, 1)).astype("float32")
SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)
CONV = dict(
    input_shape=(8, 8, 1), latent_dim=4, hidden_units=(4, 8), architecture="conv", seed=1
)


def _numpy(x):
    return ops.convert_to_numpy(x)


def reference_norms(encoder, x):
    """``||J||_F^2`` per example from the backend's own autodiff Jacobian."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = encoder(xt)
        jac = tape.batch_jacobian(y, xt).numpy()
    elif BACKEND == "jax":
        import jax

        jac = np.asarray(
            jax.jit(jax.vmap(jax.jacfwd(lambda v: encoder(v[None])[0])))(x)
        )
    else:
        import torch

        jac = np.stack(
            [
                torch.autograd.functional.jacobian(
                    lambda v: encoder(v[None])[0], torch.tensor(xi)
                )
                .detach()
                .cpu()
                .numpy()
                for xi in x
            ]
        )
    return np.sum(np.square(jac.reshape(len(x), -1).astype("float64")), axis=1)


# ------------------------------------------------------- exact = autodiff
@pytest.mark.backends
@pytest.mark.parametrize(
    "activation, hidden_units",
    [
        ("sigmoid", (8,)),  # Rifai et al.'s setting
        ("sigmoid", ()),  # one layer: the closed form
        ("tanh", (12, 8)),
        ("relu", (32, 24, 8)),  # units_1 > features: the direct product
        ("gelu", (8, 6)),
        ("elu", (8,)),
        ("softplus", (8,)),
        ("silu", (8,)),
        (None, (8,)),
    ],
)
def test_analytic_penalty_equals_autodiff_jacobian(activation, hidden_units):
    model = ContractiveAutoencoder(
        input_shape=(16,), latent_dim=4, hidden_units=hidden_units,
        activation=activation, seed=3,
    )
    assert model.jacobian_method == "exact" and model._dense_chain is not None
    x = RNG.normal(size=(8, 16)).astype("float32")
    got = _numpy(model.squared_jacobian_norms(x)).astype("float64")
    ref = reference_norms(model.encoder, x)
    assert np.all(ref > 1e-6)
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    # The public helper gives the same values, for any model's encoder.
    np.testing.assert_allclose(model.jacobian_norm(x, reduction="none"), ref, rtol=1e-5)


@pytest.mark.backends
def test_exact_penalty_of_a_conv_encoder_equals_autodiff_jacobian():
    model = ContractiveAutoencoder(**CONV, jacobian="exact")
    assert model._dense_chain is None
    got = _numpy(model.squared_jacobian_norms(X_IMG)).astype("float64")
    np.testing.assert_allclose(got, reference_norms(model.encoder, X_IMG), rtol=1e-5)


def test_image_inputs_of_a_dense_encoder_use_the_flattened_chain():
    model = ContractiveAutoencoder(input_shape=(8, 8, 1), latent_dim=4, hidden_units=(8,))
    assert model.jacobian_method == "exact"
    got = _numpy(model.squared_jacobian_norms(X_IMG)).astype("float64")
    np.testing.assert_allclose(got, reference_norms(model.encoder, X_IMG), rtol=1e-5)


def test_loss_is_reconstruction_plus_weighted_batch_mean_penalty():
    model = ContractiveAutoencoder(**SMALL, contraction=0.7)
    terms, y_pred = model.compute_loss_terms(X, X, training=True)
    norms = reference_norms(model.encoder, X)
    rec = losses.reduce_mean(losses.reconstruction("bce", X, model.predict(X, verbose=0)))
    terms = {k: float(_numpy(v)) for k, v in terms.items()}
    np.testing.assert_allclose(terms["jacobian_norm"], norms.mean(), rtol=1e-5)
    np.testing.assert_allclose(terms["contractive_loss"], 0.7 * norms.mean(), rtol=1e-5)
    np.testing.assert_allclose(terms["loss"], float(rec) + 0.7 * norms.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        _numpy(y_pred).astype("float32"), model.predict(X, verbose=0), atol=1e-6
    )


# ------------------------------------------------------------- Hutchinson
@pytest.mark.backends
@pytest.mark.parametrize("where", ["dense_forward", "backend_jvp"])
def test_hutchinson_estimate_is_unbiased(where):
    """The mean over many projections is within 2% of the exact value."""
    if where == "dense_forward":
        model = ContractiveAutoencoder(**SMALL, jacobian="hutchinson", num_projections=3000)
        x = X[:16]
    else:
        model = ContractiveAutoencoder(**CONV, jacobian="hutchinson", num_projections=1500)
        x = X_IMG[:4]
    exact = _numpy(squared_jacobian_norms(model.encoder, x, "exact")).astype("float64")
    estimate = _numpy(model.squared_jacobian_norms(x, training=True)).astype("float64")
    assert abs(estimate.mean() / exact.mean() - 1.0) < 0.02
    # Every example's own estimate is close too (relative sd <= sqrt(2/k)).
    np.testing.assert_allclose(estimate, exact, rtol=0.15)


@pytest.mark.backends
def test_hutchinson_through_backend_jvp_equals_the_analytic_forward_pass():
    """`keras_ae.backend.jvp` gives J v; the same tangents give the same estimate."""
    model = ContractiveAutoencoder(**SMALL, activation="tanh", jacobian="hutchinson")
    tangents = RNG.normal(size=(5, 16, 16)).astype("float32")
    analytic = _numpy(
        squared_jacobian_norms(model.encoder, X[:16], "hutchinson", tangents=tangents)
    )
    from keras_ae.models import contractive

    autodiff = _numpy(
        contractive._squared_norms(
            model.encoder, None, ops.convert_to_tensor(X[:16]), "hutchinson", False, tangents
        )
    )
    np.testing.assert_allclose(autodiff, analytic, rtol=1e-5)


@pytest.mark.backends
@pytest.mark.parametrize("jacobian", ["exact", "hutchinson"])
def test_a_training_step_through_backend_autodiff_equals_the_analytic_step(jacobian):
    """The penalty computed by `keras_ae.backend.jvp` (J v or J^T e_k) is
    differentiated by the backend's own training step exactly like the
    analytic one: one SGD step lands on the same weights."""
    models = []
    for use_chain in (True, False):
        model = ContractiveAutoencoder(
            **SMALL, activation="tanh", contraction=5.0, jacobian=jacobian,
            num_projections=2,
        )
        if not use_chain:
            model._dense_chain = None  # force keras_ae.backend.jvp
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        start = [np.array(w) for w in model.get_weights()]
        model.fit(X[:16], batch_size=16, epochs=1, shuffle=False, verbose=0)
        models.append(model)
    a, b = (m.get_weights() for m in models)
    moved = max(float(np.max(np.abs(np.asarray(w) - s))) for w, s in zip(a, start))
    assert moved > 1e-3
    for wa, wb in zip(a, b):
        np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), atol=2e-6)


def test_evaluation_projections_are_fixed_and_leave_the_training_stream():
    model = ContractiveAutoencoder(**SMALL, jacobian="hutchinson")
    model.compile()
    state = np.array(model.jacobian_probe.seed_generator.state)
    a = model.evaluate(X, verbose=0, return_dict=True)
    b = model.evaluate(X, verbose=0, return_dict=True)
    assert a["jacobian_norm"] == b["jacobian_norm"]
    np.testing.assert_array_equal(np.array(model.jacobian_probe.seed_generator.state), state)


# ----------------------------------------------------------------- chains
def _my_swish(a):
    return a * ops.sigmoid(a)


def test_dense_chain_detection():
    seq = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(4)]
    )
    assert DenseChain.of(seq) is not None
    custom = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(4, activation=_my_swish)]
    )
    assert DenseChain.of(custom) is None
    inputs = keras.Input((16,))
    branch = keras.layers.Dense(4)(inputs) + keras.layers.Dense(4)(inputs)
    assert DenseChain.of(keras.Model(inputs, branch)) is None
    dropout = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dropout(0.1), keras.layers.Dense(4)]
    )
    assert DenseChain.of(dropout) is None
    conv = ContractiveAutoencoder(**CONV)
    assert conv.jacobian_method == "hutchinson"
    model = ContractiveAutoencoder(input_shape=(16,), latent_dim=4, encoder=seq)
    assert model.jacobian_method == "exact"


# --------------------------------------------------------- save and config
def test_config_roundtrip_keeps_every_argument():
    model = ContractiveAutoencoder(
        **SMALL, contraction=0.3, jacobian="hutchinson", num_projections=4
    )
    config = model.get_config()
    for key, value in dict(contraction=0.3, jacobian="hutchinson", num_projections=4).items():
        assert config[key] == value
    clone = ContractiveAutoencoder.from_config(config)
    assert clone.get_config() == config


@pytest.mark.backends
def test_keras_reload_under_safe_mode_keeps_outputs_and_projection_stream(tmp_path):
    model = ContractiveAutoencoder(**SMALL, jacobian="hutchinson", num_projections=2)
    model.compile()
    model.fit(X, epochs=1, batch_size=16, verbose=0)
    path = str(tmp_path / "cae.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(reloaded, ContractiveAutoencoder)
    assert reloaded.get_config() == model.get_config()
    np.testing.assert_allclose(
        reloaded.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6
    )
    np.testing.assert_allclose(reloaded.jacobian_norm(X), model.jacobian_norm(X), rtol=1e-6)
    # The saved projection stream continues where it was.
    np.testing.assert_allclose(
        _numpy(reloaded.squared_jacobian_norms(X, training=True)),
        _numpy(model.squared_jacobian_norms(X, training=True)),
        rtol=1e-6,
    )


# -------------------------------------------------------------- training
@pytest.mark.backends
@pytest.mark.parametrize(
    "kwargs, x",
    [
        (dict(SMALL), X),
        (dict(SMALL, jacobian="hutchinson", num_projections=2), X),
        (dict(CONV), X_IMG),
    ],
    ids=["exact", "hutchinson", "conv_hutchinson"],
)
def test_one_fit_step_logs_the_jacobian_norm_and_moves_the_weights(kwargs, x):
    model = ContractiveAutoencoder(**kwargs, contraction=1.0)
    model.compile()
    start = [np.array(w) for w in model.get_weights()]
    history = model.fit(x, batch_size=len(x), epochs=1, verbose=0)
    logs = {k: v[-1] for k, v in history.history.items()}
    for name in model.loss_term_names():
        assert np.isfinite(logs[name]), name
    assert logs["jacobian_norm"] > 0
    np.testing.assert_allclose(logs["contractive_loss"], logs["jacobian_norm"], rtol=1e-5)
    assert any(
        not np.allclose(np.asarray(w), s) for w, s in zip(model.get_weights(), start)
    )


def test_the_penalty_contracts_the_encoder():
    """Same data, same steps: a larger contraction gives a smaller Jacobian."""
    (x, _), _ = keras_ae.datasets.load_data("digits")
    x = x[:512]
    norms = []
    for contraction in (0.0, 1.0):
        model = ContractiveAutoencoder(
            input_shape=(64,), latent_dim=8, hidden_units=(32,), seed=0,
            contraction=contraction,
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        model.fit(x, epochs=3, batch_size=128, verbose=0)
        norms.append(model.jacobian_norm(x))
    assert norms[1] < 0.5 * norms[0]


def test_jacobian_norm_of_other_models_and_reduction():
    ae = keras_ae.Autoencoder(**SMALL)
    per_example = jacobian_norm(ae, X, reduction="none", batch_size=16)
    assert per_example.shape == (64,)
    np.testing.assert_allclose(per_example, reference_norms(ae.encoder, X), rtol=1e-5)
    assert jacobian_norm(ae, X) == pytest.approx(per_example.mean())
    with pytest.raises(ValueError, match="Received: reduction='sum'"):
        jacobian_norm(ae, X, reduction="sum")


# ------------------------------------------------------------ bad arguments
@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(contraction=-1.0), "contraction"),
        (dict(contraction=float("nan")), "contraction"),
        (dict(contraction="0.1"), "contraction"),
        (dict(jacobian="analytic"), "jacobian"),
        (dict(num_projections=0), "num_projections"),
        (dict(num_projections=1.5), "num_projections"),
        (dict(seed="1"), "seed"),
    ],
)
def test_invalid_arguments_raise_clear_errors(bad, match):
    with pytest.raises(ValueError, match=f"`{match}`.*Received"):
        ContractiveAutoencoder(**dict(SMALL, **bad))


def test_exported_names():
    assert keras_ae.ContractiveAutoencoder is ContractiveAutoencoder
    assert keras_ae.models.ContractiveAutoencoder is ContractiveAutoencoder
    assert "jacobian_norm" in ContractiveAutoencoder(**SMALL).loss_term_names()
