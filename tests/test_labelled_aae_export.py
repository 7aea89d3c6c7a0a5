"""Exports of the semi-supervised and clustering AAEs (issue 17).

Their decoders read ``[one-hot category | style]`` and their encoders give
categories as well as styles, so they describe their own endpoints:
``encode`` (styles and probabilities), ``classify`` / ``cluster``
(probabilities and int32 categories), ``decode`` (styles + int32 labels),
``reconstruct`` and ``sample_from_noise`` (noise + labels). Every endpoint
is loaded in its runtime (``tf.saved_model.load``, onnxruntime, the LiteRT
interpreter) and must equal the Python API (<= 1e-5, categories exactly)
at two batch sizes.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from harness import LABELS  # noqa: E402
from harness import X_FLAT  # noqa: E402
from harness import fit_quietly  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import export  # noqa: E402
from keras_ae.export import parity  # noqa: E402
from keras_ae.export.paths import read_metadata  # noqa: E402

pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")

TOLERANCE = 1e-5
BATCH_SIZES = (1, 8)
SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)


def _trained(cls_name, prior=None):
    if cls_name == "SemiSupervisedAAE":
        model = keras_ae.SemiSupervisedAAE(**SMALL, num_classes=3, prior=prior)
        labels = np.where(np.arange(64) % 4 == 0, -1, LABELS)
    else:
        model = keras_ae.ClusteringAAE(**SMALL, num_clusters=3, prior=prior)
        labels = None
    model.compile()
    fit_quietly(model, X_FLAT, labels)
    return model


def _inputs(model, b, seed=0):
    r = np.random.default_rng(seed)
    x = X_FLAT[:b]
    labels = r.integers(model.num_classes, size=b).astype("int32")
    noise = {}
    for name, spec in model.prior_noise_spec().items():
        draw = r.standard_normal if spec["distribution"] == "normal" else r.uniform
        noise[name] = draw(size=(b,) + tuple(spec["shape"])).astype("float32")
    return {
        "encode": {"x": x},
        model.category_endpoint[0]: {"x": x},
        "decode": {"z": model.encode(x), "labels": labels},
        "reconstruct": {"x": x},
        "sample_from_noise": dict(noise, labels=labels),
    }


def _python_api(model, name, feeds):
    """What the model's own NumPy API gives for endpoint ``name``."""
    if name == "encode":
        return {"codes": model.encode(feeds["x"]), "probabilities": model.classify(feeds["x"])}
    if name == model.category_endpoint[0]:
        return {
            "probabilities": model.classify(feeds["x"]),
            model.category_endpoint[1]: model.predict_labels(feeds["x"]),
        }
    if name == "decode":
        return {"reconstruction": model.decode(feeds["z"], feeds["labels"])}
    if name == "reconstruct":
        return {"reconstruction": model.reconstruct(feeds["x"])}
    noise = {k: v for k, v in feeds.items() if k != "labels"}
    codes = np.asarray(model.codes_from_noise(noise))
    return {"samples": model.decode(codes, feeds["labels"])}


def _check_every_runtime(model, tmp_path):
    exports = {
        fmt: model.export(os.path.join(str(tmp_path), fmt), format=fmt)
        for fmt in export.FORMATS
    }
    names = list(model.export_endpoints())
    assert names == ["encode", model.category_endpoint[0], "decode", "reconstruct",
                     "sample_from_noise"]
    runners = {fmt: parity.RUNTIMES[fmt](path) for fmt, path in exports.items()}
    for fmt, path in exports.items():
        assert set(names) <= set(read_metadata(path)["endpoints"]), fmt
    for b in BATCH_SIZES:
        inputs = _inputs(model, b)
        for name in names:
            want = _python_api(model, name, inputs[name])
            for fmt, run in runners.items():
                got = run(name, inputs[name])
                assert set(got) == set(want), (fmt, name, sorted(got))
                for key, value in want.items():
                    assert got[key].shape == value.shape, (fmt, name, key)
                    if value.dtype.kind == "i":  # categories: exactly
                        assert got[key].dtype == np.int32, (fmt, name, key, got[key].dtype)
                        np.testing.assert_array_equal(got[key], value, err_msg=f"{fmt} {name}")
                    else:
                        np.testing.assert_allclose(
                            got[key], value, atol=TOLERANCE, rtol=0,
                            err_msg=f"{fmt} {name} {key} batch {b}",
                        )
    return exports


def test_semi_supervised_endpoints_in_every_runtime_equal_the_python_api(tmp_path):
    model = _trained("SemiSupervisedAAE")
    _check_every_runtime(model, tmp_path)
    # The default serving signature is `encode`.
    import tensorflow as tf

    served = tf.saved_model.load(str(tmp_path / "tf_saved_model"))
    out = served.signatures["serving_default"](x=tf.constant(X_FLAT[:3]))
    np.testing.assert_allclose(out["codes"].numpy(), model.encode(X_FLAT[:3]), atol=TOLERANCE)


@pytest.mark.slow
def test_clustering_endpoints_with_a_mixture_prior_in_every_runtime(tmp_path):
    """The clustering model (``cluster`` / ``clusters``) and a mixture prior
    (two noise inputs) in every runtime."""
    model = _trained("ClusteringAAE", prior=keras_ae.priors.MixtureOfGaussians(3, seed=0))
    assert set(model.prior_noise_spec()) == {"component_noise", "noise"}
    _check_every_runtime(model, tmp_path)
