"""model.export in every format: parity with Keras in the real runtimes
(tf.saved_model.load, onnxruntime, the LiteRT interpreter), named inputs and
outputs, dynamic batch, portable sampling, model cards, overwrite."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from harness import MODEL_CASES  # noqa: E402
from harness import X_FLAT  # noqa: E402
from harness import fit_quietly  # noqa: E402
from harness import run_in_fresh_process  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import export  # noqa: E402
from keras_ae.export import parity  # noqa: E402

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")

TOLERANCE = 1e-5
BATCH_SIZES = (1, 8)
PORTABLE = {"encode", "encode_distribution", "decode", "reconstruct", "sample_from_noise"}
# Categories in and out (decoders read [one-hot | style]): their own
# endpoints are checked in every runtime by tests/test_labelled_aae_export.py.
OWN_ENDPOINT_TESTS = {"SemiSupervisedAAE", "ClusteringAAE"}
FAST = {"ae_conv", "vae", "aae"}


def _params(cases):
    out = []
    for case in cases:
        if case.cls_name == "VQVAE":
            # Integer code grids in and out: its endpoints are checked in
            # every format by tests/test_vqvae.py.
            continue
        if case.cls_name in OWN_ENDPOINT_TESTS:
            continue
        marks = []
        if case.id not in FAST:
            marks.append(pytest.mark.slow)
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def _export_all(model, root, **kwargs):
    return {
        fmt: model.export(os.path.join(str(root), fmt), format=fmt, **kwargs)
        for fmt in export.FORMATS
    }


def _assert_table(table, model, exports):
    """Every endpoint in every format that can hold it, within TOLERANCE."""
    names = set(model.export_endpoints())
    assert set(table) == names
    for name, row in table.items():
        formats = set(exports) if name in PORTABLE else {"tf_saved_model"}
        assert set(row) == formats, (name, row)
        for fmt, diff in row.items():
            assert diff <= TOLERANCE, f"{name} {fmt}: {diff}"


# ------------------------------------------------------------------ parity
@pytest.mark.parametrize("case", _params(MODEL_CASES))
def test_every_endpoint_in_every_runtime_matches_keras(case, tmp_path):
    model = case.make()
    model.compile()
    fit_quietly(model, case.x, case.y)
    exports = _export_all(model, tmp_path)
    table = parity.compare(model, exports, case.x, batch_sizes=BATCH_SIZES)
    _assert_table(table, model, exports)


@pytest.mark.parametrize("model_name", ["vae", "aae"])
@pytest.mark.parametrize("prior", ["gaussian", "uniform", "mixture"])
def test_sample_seeded_equals_model_sample_for_every_prior(model_name, prior):
    """One random stream: the served sample_seeded(n, s) is model.sample(n, seed=s)."""
    if model_name == "vae":
        if prior != "gaussian":
            pytest.skip("the VAE's prior is N(0, I)")
        model = keras_ae.VAE((16,), latent_dim=3, hidden_units=(8,), seed=2)
    else:
        model = keras_ae.AAE((16,), latent_dim=3, hidden_units=(8,), prior=prior, seed=2)
    seeded = export.endpoint_functions(model)["sample_seeded"][0]
    for n, s in ((1, 0), (6, 11), (6, 12)):
        got = seeded(tf.constant(n), tf.constant(s))["samples"].numpy()
        np.testing.assert_allclose(got, model.sample(n, seed=s), atol=1e-6)
    assert not np.allclose(model.sample(6, seed=11), model.sample(6, seed=12))


@pytest.mark.parametrize("prior", ["uniform", "mixture"])
def test_sample_from_noise_onnx_and_litert_equal_the_saved_model(prior, tmp_path):
    """Every prior's transform converts: same noise, same samples in every runtime."""
    model = keras_ae.AAE((16,), latent_dim=2, hidden_units=(8,), prior=prior, seed=3)
    exports = _export_all(model, tmp_path)
    inputs = parity.endpoint_inputs(model, X_FLAT, 16)["noise"]
    expected_names = {"uniform": {"noise"}, "mixture": {"component_noise", "noise"}}[prior]
    assert set(inputs) == expected_names
    runs = {fmt: parity.RUNTIMES[fmt](path)("sample_from_noise", inputs) for fmt, path in exports.items()}
    for fmt in ("onnx", "litert"):
        np.testing.assert_allclose(runs[fmt]["samples"], runs["tf_saved_model"]["samples"], atol=TOLERANCE)
    # and the transform is the prior's own: from_noise(draw_noise(...)) is draw(...)
    codes = np.asarray(model.codes_from_noise(inputs))
    np.testing.assert_allclose(runs["onnx"]["samples"], model.decode(codes), atol=TOLERANCE)


# ------------------------------------------------- names, batch, conversion
def test_named_inputs_outputs_and_dynamic_batch_in_every_format(tmp_path):
    vae = keras_ae.VAE((16,), latent_dim=4, hidden_units=(8,), seed=1)
    exports = _export_all(vae, tmp_path)
    served = tf.saved_model.load(exports["tf_saved_model"])
    sig = served.signatures["encode_distribution"]
    assert set(sig.structured_outputs) == {"z_mean", "z_log_var"}
    assert [s.name for s in sig.structured_input_signature[1].values()] == ["x"]

    onnx_dir = exports["onnx"]
    assert sorted(f for f in os.listdir(onnx_dir) if f.endswith(".onnx")) == sorted(
        f"{n}.onnx" for n in PORTABLE
    )
    for name, inputs, outputs in [
        ("encode", ["x"], ["codes"]),
        ("encode_distribution", ["x"], ["z_log_var", "z_mean"]),
        ("decode", ["z"], ["reconstruction"]),
        ("reconstruct", ["x"], ["reconstruction"]),
        ("sample_from_noise", ["noise"], ["samples"]),
    ]:
        session = onnxruntime.InferenceSession(os.path.join(onnx_dir, f"{name}.onnx"))
        assert [i.name for i in session.get_inputs()] == inputs
        assert sorted(o.name for o in session.get_outputs()) == outputs
        assert not isinstance(session.get_inputs()[0].shape[0], int)  # dynamic batch

    interpreter = parity._interpreter(os.path.join(exports["litert"], export.LITERT_FILE))
    signatures = interpreter.get_signature_list()
    assert set(signatures) == PORTABLE
    assert signatures["sample_from_noise"] == {"inputs": ["noise"], "outputs": ["samples"]}
    runner = interpreter.get_signature_runner("decode")
    for b in (1, 5, 33):  # resized on the fly
        assert runner(z=np.zeros((b, 4), "float32"))["reconstruction"].shape == (b, 16)


def test_default_tflite_conversion_of_a_vae_export_succeeds(tmp_path):
    """The plain converter takes every signature: random ops must not be among them."""
    vae = keras_ae.VAE((16,), latent_dim=4, hidden_units=(8,), seed=1)
    path = keras_ae.export_saved_model(vae, tmp_path / "vae")
    flatbuffer = tf.lite.TFLiteConverter.from_saved_model(path).convert()
    with open(tmp_path / "m.tflite", "wb") as f:
        f.write(flatbuffer)
    interpreter = parity._interpreter(str(tmp_path / "m.tflite"))
    out = interpreter.get_signature_runner("encode")(x=X_FLAT[:3])
    np.testing.assert_allclose(out["codes"], vae.encode(X_FLAT[:3]), atol=TOLERANCE)
    # the random endpoints stay in the SavedModel as functions
    served = tf.saved_model.load(path)
    assert served.sample(tf.constant(2))["samples"].shape == (2, 16)


# ----------------------------------------------------------- cards, overwrite
def test_model_card_travels_with_onnx_and_litert(tmp_path):
    aae = keras_ae.AAE((16,), latent_dim=2, hidden_units=(8,), prior="mixture", seed=1)
    extra = {"data": "digits (1437 train images)", "metrics": {"test_mse": 0.0123}}
    exports = _export_all(aae, tmp_path, card=extra)
    for fmt, path in exports.items():
        card = export.read_metadata(path)
        assert card["export_format"] == fmt and card["model_class"] == "AdversarialAutoencoder"
        assert card["data"] == extra["data"] and card["metrics"] == extra["metrics"]
        assert card["input_range"].startswith("float32 in [0, 1]")
        assert card["architecture"]["prior"]["class_name"] == "MixtureOfGaussians"
        assert card["versions"]["keras_ae"] == keras_ae.__version__
        assert card["prior_noise"] == {
            "component_noise": {"distribution": "uniform", "shape": []},
            "noise": {"distribution": "normal", "shape": [2]},
        }
        assert card["endpoints"]["sample_from_noise"]["outputs"].keys() == {"samples"}
    onnx_card = export.read_metadata(exports["onnx"])
    assert onnx_card["endpoints"]["decode"]["file"] == "decode.onnx"
    assert "sample_seeded" not in onnx_card["endpoints"]
    for fmt in ("onnx", "litert"):
        md = open(os.path.join(exports[fmt], export.CARD_MARKDOWN)).read()
        assert "| `sample_from_noise`" in md and "digits (1437 train images)" in md
    with open(os.path.join(exports["litert"], export.CARD_JSON)) as f:
        assert set(json.load(f)["endpoints"]) == PORTABLE - {"encode_distribution"}


def test_overwrite_and_refusals_in_every_format(tmp_path):
    first = keras_ae.Autoencoder((16,), latent_dim=4, hidden_units=(8,), seed=1)
    second = keras_ae.Autoencoder((16,), latent_dim=4, hidden_units=(8,), seed=2)
    path = str(tmp_path / "ae_onnx")
    first.export(path, format="onnx")
    with pytest.raises(FileExistsError, match="overwrite=True.*Received: path="):
        second.export(path, format="onnx")
    second.export(path, format="litert", overwrite=True)  # an export of another format
    assert sorted(os.listdir(path)) == sorted([export.CARD_JSON, export.CARD_MARKDOWN, export.LITERT_FILE])
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("precious")
    with pytest.raises(ValueError, match="not a keras_ae export.*Received: path="):
        first.export(tmp_path / "notes", format="onnx", overwrite=True)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "precious"
    with pytest.raises(ValueError, match="`format` must be one of.*Received: format='tflite'"):
        first.export(tmp_path / "x", format="tflite")
    with pytest.raises(ValueError, match="`card` must be a dict"):
        export.export_model(first, tmp_path / "x", card="fashion")
    assert not os.path.exists(tmp_path / "x")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_export_from_jax_and_torch_matches_in_every_runtime(backend, tmp_path):
    """A model trained on JAX/torch exports (through a TensorFlow child process)."""
    run_in_fresh_process(
        f"""
        import keras_ae, numpy as np
        m = keras_ae.AAE((16,), latent_dim=2, hidden_units=(8,), prior="mixture", seed=4)
        m.save({str(tmp_path / "m.keras")!r})
        for fmt in ("tf_saved_model", "onnx", "litert"):
            m.export({str(tmp_path)!r} + "/" + fmt, format=fmt)
        """,
        env={"KERAS_BACKEND": backend},
        timeout=600,
    )
    import keras

    model = keras.models.load_model(tmp_path / "m.keras")
    exports = {fmt: str(tmp_path / fmt) for fmt in export.FORMATS}
    table = parity.compare(model, exports, X_FLAT, batch_sizes=BATCH_SIZES)
    _assert_table(table, model, exports)
