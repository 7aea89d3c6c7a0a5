"""`keras_ae.VQVAE`: the codebook after one training step equals a NumPy EMA
computation on every backend, restarts inside the step, encode/decode APIs,
the fitted categorical prior, saving, mixed precision and argument checks."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import ops  # noqa: E402

import keras_ae  # noqa: E402
from harness import assert_config_roundtrip  # noqa: E402
from harness import assert_weights_close  # noqa: E402
from harness import fit_quietly  # noqa: E402
from harness import weights_of  # noqa: E402

X = np.random.default_rng(0).uniform(size=(32, 8, 8, 1)).astype("float32")
SMALL = dict(input_shape=(8, 8, 1), num_embeddings=8, embedding_dim=3,
             hidden_units=(4, 6), seed=1)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), "float64")


def _make(**kwargs):
    return keras_ae.VQVAE(**dict(SMALL, **kwargs))


@pytest.mark.backends
def test_codebook_after_one_step_equals_numpy_ema():
    model = _make(decay=0.8, restart_dead_codes=False)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    z = _np(model.encoder(X)).reshape(-1, 3)  # before the step's update
    e = _np(model.quantizer.embeddings)
    idx = ((z[:, None] - e[None]) ** 2).sum(-1).argmin(1)
    one_hot = np.eye(8)[idx]
    n = 0.8 * np.ones(8) + 0.2 * one_hot.sum(0)
    m = 0.8 * e + 0.2 * one_hot.T @ z
    smoothed = (n + 1e-5) / (n.sum() + 8e-5) * n.sum()
    fit_quietly(model, X, batch_size=len(X))
    np.testing.assert_allclose(_np(model.quantizer.cluster_size), n, rtol=1e-5)
    np.testing.assert_allclose(_np(model.quantizer.embedding_sum), m, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        _np(model.quantizer.embeddings), m / smoothed[:, None], rtol=1e-4, atol=1e-5
    )
    # Evaluation does not touch the codebook.
    before = _np(model.quantizer.embeddings)
    model.evaluate(X, verbose=0)
    np.testing.assert_array_equal(_np(model.quantizer.embeddings), before)


@pytest.mark.backends
@pytest.mark.parametrize("ema", [True, False])
def test_dead_codes_restart_inside_the_training_step(ema):
    # Every code is dead after the first step: each becomes an encoder output
    # of that step (ema=False: the restart step runs after the gradient update).
    model = _make(ema=ema, restart_threshold=1e9)
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    z = _np(model.encoder(X)).reshape(-1, 3)
    fit_quietly(model, X, batch_size=len(X))
    e = _np(model.quantizer.embeddings)
    distance = ((e[:, None] - z[None]) ** 2).sum(-1).min(1)
    np.testing.assert_allclose(distance, 0.0, atol=1e-8)
    np.testing.assert_array_equal(_np(model.quantizer.cluster_size), np.ones(8))


@pytest.mark.backends
def test_gradient_codebook_trains_and_logs():
    model = _make(ema=False, restart_dead_codes=False)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    before = _np(model.quantizer.embeddings)
    history = fit_quietly(model, X, epochs=2)
    assert not np.allclose(before, _np(model.quantizer.embeddings))
    logs = {k: v[-1] for k, v in history.history.items()}
    assert set(logs) == {"loss", "reconstruction_loss", "commitment_loss", "perplexity",
                         "codebook_usage", "mse"}
    assert all(np.isfinite(v) for v in logs.values())
    assert 1.0 <= logs["perplexity"] <= 8.0 and 0.0 < logs["codebook_usage"] <= 1.0


def test_loss_terms_match_numpy():
    model = _make(commitment_cost=0.5)
    terms, y_pred = model.compute_loss_terms(X, X)
    z = _np(model.encoder(X))
    e = _np(model.quantizer.embeddings)
    idx = ((z.reshape(-1, 3)[:, None] - e[None]) ** 2).sum(-1).argmin(1)
    commitment = ((z.reshape(-1, 3) - e[idx]) ** 2).sum() / len(X)
    x_hat = _np(model.decoder(e[idx].reshape(z.shape).astype("float32")))
    rec = ((X - x_hat) ** 2).sum() / len(X)
    assert float(terms["commitment_loss"]) == pytest.approx(commitment, rel=1e-4)
    assert float(terms["reconstruction_loss"]) == pytest.approx(rec, rel=1e-4)
    assert float(terms["loss"]) == pytest.approx(rec + 0.5 * commitment, rel=1e-4)


@pytest.mark.backends
def test_encode_decode_apis():
    model = _make()
    idx = model.encode(X)
    assert idx.shape == (32, 2, 2) and idx.dtype == np.int32
    assert idx.min() >= 0 and idx.max() < 8
    quantized = model.encode(X, output="quantized")
    np.testing.assert_allclose(quantized, _np(model.quantizer.embeddings)[idx], atol=1e-6)
    latents = model.encode(X, output="latents")
    assert latents.shape == (32, 2, 2, 3)
    np.testing.assert_allclose(model.decode(idx), model.decode(quantized), atol=1e-6)
    np.testing.assert_allclose(model.decode(idx), model.reconstruct(X), atol=1e-5)
    assert model.encode(X[:0]).shape == (0, 2, 2)
    used, perplexity = model.codebook_usage(X)
    assert used == len(np.unique(idx)) / 8 and 1.0 <= perplexity <= 8.0


def test_decode_and_encode_reject_bad_codes():
    model = _make()
    with pytest.raises(ValueError, match=r"indices must be in \[0, 8\).*Received"):
        model.decode(np.full((2, 2, 2), 8))
    with pytest.raises(ValueError, match=r"shape \(N, 2, 2\).*Received"):
        model.decode(np.zeros((2, 3, 3), "int32"))
    with pytest.raises(ValueError, match="Expected `codes` of shape"):
        model.decode(np.zeros((2, 2, 2, 5), "float32"))
    with pytest.raises(ValueError, match="`output` must be one of"):
        model.encode(X, output="codes")


@pytest.mark.backends
def test_fit_fits_the_categorical_prior_and_sample_is_seeded():
    model = _make()
    with pytest.raises(ValueError, match="prior is not fitted"):
        model.sample(2, seed=0)
    model.compile()
    fit_quietly(model, X)
    counts = _np(model.prior_counts)
    idx = model.encode(X)
    for i in range(2):
        for j in range(2):
            np.testing.assert_array_equal(counts[i, j], np.bincount(idx[:, i, j], minlength=8))
    images, codes = model.sample(200, seed=3, return_codes=True)
    assert images.shape == (200, 8, 8, 1)
    np.testing.assert_array_equal(images, model.sample(200, seed=3))
    # Only codes the prior has seen at each position are drawn.
    for i in range(2):
        for j in range(2):
            assert set(np.unique(codes[:, i, j])) <= set(np.flatnonzero(counts[i, j]))


def test_config_roundtrip_and_keras_reload(tmp_path):
    for kwargs in (dict(), dict(ema=False, decay=0.5, commitment_cost=1.0)):
        model = _make(**kwargs)
        assert_config_roundtrip(model)
        model.compile()
        fit_quietly(model, X)
        path = str(tmp_path / "vq.keras")
        model.save(path)
        again = keras.models.load_model(path, safe_mode=True)
        assert type(again) is keras_ae.VQVAE and again.get_config() == model.get_config()
        np.testing.assert_array_equal(again.encode(X), model.encode(X))
        np.testing.assert_array_equal(again.sample(4, seed=0), model.sample(4, seed=0))
        fit_quietly(model, X)
        fit_quietly(again, X)
        assert_weights_close(weights_of(model), weights_of(again), atol=1e-5)


@pytest.mark.backends
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = _make()
        model.compile()
        history = fit_quietly(model, X, epochs=2)
        assert all(np.isfinite(v[-1]) for v in history.history.values())
        assert model.quantizer.embeddings.dtype == "float32"
        assert model.reconstruct(X).dtype == np.float32
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(input_shape=(64,)), "input_shape"),
        (dict(latent_dim=4), "latent_dim"),
        (dict(architecture="dense"), "architecture"),
        (dict(num_embeddings=0), "num_embeddings"),
        (dict(decay=1.5), "decay"),
        (dict(reconstruction_loss="hinge"), "reconstruction_loss"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"{match}.*Received"):
        _make(**kwargs)


def test_bad_data_raises_before_training():
    model = _make()
    model.compile()
    before = weights_of(model)
    with pytest.raises(ValueError, match="Expected `x` of shape"):
        model.fit(np.zeros((4, 9, 9, 1), "float32"), verbose=0)
    assert_weights_close(before, weights_of(model), atol=0)


@pytest.mark.backends
def test_export_endpoints_match_the_numpy_api():
    model = _make()
    model.compile()
    fit_quietly(model, X)
    endpoints = model.export_endpoints()
    assert list(endpoints) == ["encode", "encode_quantized", "decode", "decode_quantized",
                               "reconstruct", "sample_from_noise"]
    assert endpoints["decode"].inputs == {"indices": ((None, 2, 2), "int32")}
    x = ops.convert_to_tensor(X[:5])
    idx = endpoints["encode"].fn(x=x)["indices"]
    np.testing.assert_array_equal(_np(idx), model.encode(X[:5]))
    codes = endpoints["encode_quantized"].fn(x=x)["codes"]
    np.testing.assert_allclose(_np(codes), model.encode(X[:5], output="quantized"), atol=1e-6)
    np.testing.assert_allclose(
        _np(endpoints["decode"].fn(indices=idx)["reconstruction"]),
        model.decode(model.encode(X[:5])),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        _np(endpoints["decode_quantized"].fn(codes=codes)["reconstruction"]),
        model.reconstruct(X[:5]), atol=1e-5,
    )
    noise = np.random.default_rng(7).random((5, 2, 2)).astype("float32")
    images, grid = model.sample(5, seed=7, return_codes=True)
    np.testing.assert_allclose(
        _np(endpoints["sample_from_noise"].fn(noise=ops.convert_to_tensor(noise))["samples"]),
        images, atol=1e-5,
    )
    assert model.prior_noise_spec() == {"noise": {"distribution": "uniform", "shape": (2, 2)}}
    np.testing.assert_array_equal(_np(model.codes_from_noise({"noise": noise})), grid)
    # Inverse CDF against NumPy.
    cdf = np.cumsum(_np(model.prior_counts) / _np(model.prior_counts).sum(-1, keepdims=True), -1)
    expected = np.minimum((noise[..., None] >= cdf[None]).sum(-1), 7)
    np.testing.assert_array_equal(grid, expected)


def test_exports_in_every_format_match_the_numpy_api(tmp_path):
    """SavedModel, ONNX and LiteRT: every endpoint, run in its own runtime,
    gives the model's own NumPy results (indices exactly)."""
    from keras_ae import export
    from keras_ae.export import parity

    if keras.backend.backend() != "tensorflow":
        pytest.skip("exports are written on the TensorFlow backend")
    model = _make()
    model.compile()
    fit_quietly(model, X)
    x = X[:8]
    idx = model.encode(x)
    noise = np.random.default_rng(7).random((8, 2, 2)).astype("float32")
    feeds = {
        "encode": {"x": x},
        "encode_quantized": {"x": x},
        "decode": {"indices": idx.astype("int32")},
        "decode_quantized": {"codes": model.encode(x, output="quantized")},
        "reconstruct": {"x": x},
        "sample_from_noise": {"noise": noise},
    }
    want = {
        "encode": {"indices": idx},
        "encode_quantized": {"codes": model.encode(x, output="quantized")},
        "decode": {"reconstruction": model.decode(idx)},
        "decode_quantized": {"reconstruction": model.reconstruct(x)},
        "reconstruct": {"reconstruction": model.reconstruct(x)},
        "sample_from_noise": {
            "samples": model.decode(ops.convert_to_numpy(model.codes_from_noise({"noise": noise})))
        },
    }
    for fmt in export.FORMATS:
        path = model.export(os.path.join(str(tmp_path), fmt), format=fmt)
        run = parity.RUNTIMES[fmt](path)
        for name, expected in want.items():
            got = run(name, feeds[name])
            assert set(got) == set(expected), (fmt, name, sorted(got))
            for key, value in expected.items():
                if key == "indices":
                    np.testing.assert_array_equal(got[key], value, err_msg=f"{fmt} {name}")
                else:
                    np.testing.assert_allclose(got[key], value, atol=1e-5, err_msg=f"{fmt} {name}")


def test_evaluation_reports_codebook_usage():
    from keras_ae import evaluation

    model = _make()
    model.compile()
    metrics = evaluation.evaluate(model, X, batch_size=16)
    used, perplexity = model.codebook_usage(X)
    assert metrics["codebook_usage"] == used and metrics["perplexity"] == perplexity
    assert np.isfinite(metrics["mse"])
