"""`keras_ae.layers.VectorQuantizer`: nearest codes, losses, straight-through
gradients, EMA codebook updates and dead-code restarts against NumPy."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import ops  # noqa: E402

from keras_ae.layers import VectorQuantizer  # noqa: E402

RNG = np.random.default_rng(0)
Z = RNG.normal(size=(3, 4, 4, 2)).astype("float32")


def _layer(**kwargs):
    kwargs.setdefault("num_embeddings", 6)
    kwargs.setdefault("embedding_dim", 2)
    kwargs.setdefault("seed", 0)
    layer = VectorQuantizer(**kwargs)
    layer.build(Z.shape)
    return layer


def _numpy_nearest(z, e):
    d = ((z.reshape(-1, e.shape[1])[:, None, :] - e[None]) ** 2).sum(-1)
    return d.argmin(1)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


@pytest.mark.backends
def test_nearest_codes_losses_and_usage_match_numpy():
    layer = _layer(ema=False, commitment_cost=0.25)
    e = _np(layer.embeddings)
    out = layer.compute_quantization(Z, training=False)
    idx = _numpy_nearest(Z, e)
    np.testing.assert_array_equal(_np(out["indices"]).ravel(), idx)
    codes = e[idx].reshape(Z.shape)
    np.testing.assert_allclose(_np(out["quantized"]), codes, atol=1e-6)
    sq = ((Z - codes) ** 2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(_np(out["commitment_loss"]), sq, rtol=1e-5)
    np.testing.assert_allclose(_np(out["vq_loss"]), 1.25 * sq, rtol=1e-5)
    p = np.bincount(idx, minlength=6) / idx.size
    nz = p[p > 0]
    assert float(out["perplexity"]) == pytest.approx(np.exp(-(nz * np.log(nz)).sum()), rel=1e-5)
    assert float(out["usage"]) == pytest.approx(np.mean(p > 0))
    # EMA: the codebook is not trained by gradient, no codebook loss.
    ema = _layer(ema=True, commitment_cost=0.25)
    np.testing.assert_allclose(
        _np(ema.compute_quantization(Z)["vq_loss"]),
        0.25 * _np(ema.compute_quantization(Z)["commitment_loss"]),
        rtol=1e-6,
    )
    assert [w.name for w in ema.trainable_weights] == []
    assert [w.name for w in layer.trainable_weights] == ["embeddings"]


def test_straight_through_and_codebook_gradients():
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        pytest.skip("uses tf.GradientTape")
    layer = _layer(ema=False, commitment_cost=0.25)
    z = tf.constant(Z)
    w = tf.constant(RNG.normal(size=Z.shape).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(z)
        out = layer.compute_quantization(z, training=False)
        through = tf.reduce_sum(out["quantized"] * w)
        vq = tf.reduce_sum(out["vq_loss"])
    # Straight through: d/dz sum(q * w) = w.
    np.testing.assert_allclose(tape.gradient(through, z).numpy(), w.numpy(), atol=1e-6)
    e = layer.embeddings.numpy()
    idx = _numpy_nearest(Z, e)
    codes = e[idx].reshape(Z.shape)
    # Commitment: d/dz 0.25 ||z - sg(e)||^2 = 0.5 (z - e).
    np.testing.assert_allclose(tape.gradient(vq, z).numpy(), 0.5 * (Z - codes), atol=1e-5)
    # Codebook loss: d/de_k ||sg(z) - e_k||^2 = 2 sum_{z -> k} (e_k - z).
    expected = np.zeros_like(e)
    np.add.at(expected, idx, 2 * (codes - Z).reshape(-1, 2))
    np.testing.assert_allclose(
        tf.convert_to_tensor(tape.gradient(vq, layer.embeddings.value)).numpy(),
        expected,
        atol=1e-5,
    )


def _numpy_ema(z, e, n, m, decay, eps):
    flat = z.reshape(-1, e.shape[1]).astype("float64")
    idx = _numpy_nearest(z, e)
    one_hot = np.eye(len(e))[idx]
    n = decay * n + (1 - decay) * one_hot.sum(0)
    m = decay * m + (1 - decay) * one_hot.T @ flat
    total = n.sum()
    smoothed = (n + eps) / (total + len(e) * eps) * total
    return n, m, m / smoothed[:, None]


@pytest.mark.backends
def test_ema_update_of_one_training_call_matches_numpy():
    layer = _layer(ema=True, decay=0.9, epsilon=1e-3, restart_dead_codes=False)
    e0 = _np(layer.embeddings).astype("float64")
    np.testing.assert_array_equal(_np(layer.embedding_sum), e0)
    np.testing.assert_array_equal(_np(layer.cluster_size), np.ones(6))
    layer.compute_quantization(Z, training=True)
    n, m, e = _numpy_ema(Z, e0, np.ones(6), e0, 0.9, 1e-3)
    np.testing.assert_allclose(_np(layer.cluster_size), n, rtol=1e-5)
    np.testing.assert_allclose(_np(layer.embedding_sum), m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(layer.embeddings), e, rtol=1e-4, atol=1e-6)
    # Inference leaves the statistics alone.
    before = _np(layer.embeddings)
    layer.compute_quantization(Z, training=False)
    np.testing.assert_array_equal(_np(layer.embeddings), before)


@pytest.mark.backends
def test_dead_codes_restart_from_batch_vectors():
    flat = Z.reshape(-1, 2)
    for ema in (True, False):
        # Every code is dead (usage below a huge threshold).
        layer = _layer(ema=ema, restart_threshold=1e9)
        layer.compute_quantization(Z, training=True)
        layer.apply_restarts()  # ema=False: the model's restart step
        e = _np(layer.embeddings)
        distance = ((e[:, None, :] - flat[None]) ** 2).sum(-1).min(1)
        np.testing.assert_allclose(distance, 0.0, atol=1e-10)
        np.testing.assert_array_equal(_np(layer.cluster_size), np.ones(6))
        if ema:
            np.testing.assert_allclose(_np(layer.embedding_sum), e, atol=1e-6)
    # Live codes are kept: a tiny threshold restarts nothing.
    layer = _layer(ema=False, restart_threshold=1e-9)
    before = _np(layer.embeddings)
    layer.compute_quantization(Z, training=True)
    layer.apply_restarts()
    np.testing.assert_array_equal(_np(layer.embeddings), before)


def test_switches_and_config_roundtrip():
    layer = _layer(ema=False, restart_dead_codes=False, decay=0.5)
    assert [w.name for w in layer.weights] == ["embeddings", "cluster_size"]
    config = layer.get_config()
    clone = VectorQuantizer.from_config(config)
    assert clone.get_config() == config
    assert _layer(ema=False).restart_candidates is not None
    assert _layer(ema=True).restart_candidates is None


def test_float16_inputs_compute_in_float32():
    layer = _layer()
    out = layer.compute_quantization(ops.cast(Z, "float16"), training=True)
    assert out["quantized"].dtype == "float16" or str(out["quantized"].dtype).endswith("float16")
    assert layer.embeddings.dtype == "float32"
    assert np.isfinite(_np(out["vq_loss"])).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_embeddings=0), "num_embeddings"),
        (dict(embedding_dim=1.5), "embedding_dim"),
        (dict(commitment_cost=-1.0), "commitment_cost"),
        (dict(decay=1.0), "decay"),
        (dict(epsilon=0.0), "epsilon"),
        (dict(ema="yes"), "ema"),
        (dict(restart_dead_codes=1), "restart_dead_codes"),
        (dict(restart_threshold=0.0), "restart_threshold"),
        (dict(seed="0"), "seed"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"`{match}` must be .*Received: {match}="):
        VectorQuantizer(**kwargs)


def test_wrong_input_size_raises():
    with pytest.raises(ValueError, match="embedding_dim=2.*Received: input_shape"):
        VectorQuantizer(num_embeddings=4, embedding_dim=2).build((None, 3))
