"""Runs exports in their own runtimes and compares them with the Keras model.

Runtimes: ``tf.saved_model.load`` (SavedModel), onnxruntime (ONNX) and the
LiteRT interpreter (``ai_edge_litert``, else ``tf.lite.Interpreter``). The
reference is the model's own NumPy API (`encode`, `decode`, `reconstruct`,
`sample`...), not the exported graph.
"""

import os

import numpy as np
from keras import ops

from keras_ae.export.paths import LITERT_FILE
from keras_ae.export.paths import read_metadata


def endpoint_inputs(model, x, batch_size, seed=0):
    """Inputs of every endpoint for the first ``batch_size`` rows of ``x``.

    ``z`` are the codes of ``x``; the prior noise is drawn with NumPy as
    `BaseAutoencoder.prior_noise_spec` says.
    """
    x = np.asarray(x[:batch_size], "float32")
    inputs = {"x": {"x": x}, "z": {"z": model.encode(x)}}
    if model.generative:
        r = np.random.default_rng(seed)
        noise = {}
        for name, spec in model.prior_noise_spec().items():
            shape = (batch_size,) + tuple(spec["shape"])
            draw = r.standard_normal if spec["distribution"] == "normal" else r.uniform
            noise[name] = draw(size=shape).astype("float32")
        inputs["noise"] = noise
        inputs["seeded"] = {"n": np.int32(batch_size), "seed": np.int32(seed + 7)}
    return inputs


def _feeds(name, inputs):
    if name in ("encode", "encode_distribution", "reconstruct"):
        return inputs["x"]
    if name == "decode":
        return inputs["z"]
    if name == "sample_from_noise":
        return inputs["noise"]
    if name == "sample_seeded":
        return inputs["seeded"]
    raise ValueError(f"No test inputs for the endpoint. Received: endpoint={name!r}")


def keras_reference(model, name, feeds):
    """The model's own outputs for endpoint ``name`` (NumPy, by output name)."""
    if name == "encode":
        return {"codes": model.encode(feeds["x"])}
    if name == "encode_distribution":
        z_mean, z_log_var = model.encode(feeds["x"], return_distribution=True)
        return {"z_mean": z_mean, "z_log_var": z_log_var}
    if name == "decode":
        return {"reconstruction": model.decode(feeds["z"])}
    if name == "reconstruct":
        return {"reconstruction": model.reconstruct(feeds["x"])}
    if name == "sample_from_noise":
        codes = ops.convert_to_numpy(model.codes_from_noise(feeds))
        return {"samples": model.decode(codes)}
    if name == "sample_seeded":
        return {"samples": model.sample(int(feeds["n"]), seed=int(feeds["seed"]))}
    raise ValueError(f"No Keras reference for the endpoint. Received: endpoint={name!r}")


def _run_saved_model(path):
    import tensorflow as tf

    served = tf.saved_model.load(path)

    def run(name, feeds):
        out = getattr(served, name)(*[tf.constant(v) for v in feeds.values()])
        return {k: v.numpy() for k, v in out.items()}

    return run


def _run_onnx(path):
    import onnxruntime

    sessions = {}

    def run(name, feeds):
        if name not in sessions:
            sessions[name] = onnxruntime.InferenceSession(
                os.path.join(path, f"{name}.onnx"), providers=["CPUExecutionProvider"]
            )
        session = sessions[name]
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, feeds)))

    return run


def _interpreter(file):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - the TensorFlow copy of the runtime
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=file)


def _run_litert(path):
    interpreter = _interpreter(os.path.join(path, LITERT_FILE))

    def run(name, feeds):
        runner = interpreter.get_signature_runner(name)
        return {k: np.asarray(v) for k, v in runner(**feeds).items()}

    return run


RUNTIMES = {"tf_saved_model": _run_saved_model, "onnx": _run_onnx, "litert": _run_litert}


def compare(model, exports, x, batch_sizes=(1, 8), seed=0):
    """Max abs difference to the Keras model, per endpoint and format.

    Args:
        model: the exported keras_ae model.
        exports: dict ``format -> export directory``.
        x: example inputs (at least ``max(batch_sizes)`` rows).
        batch_sizes: batch sizes to run (a dynamic batch dimension).
        seed: seed of the test noise.

    Returns:
        A dict ``endpoint -> format -> max abs difference`` over every output
        and batch size (endpoints absent from a format are left out).

    Example:
        >>> compare(vae, {"onnx": "exports/vae_onnx"}, x_test)["decode"]["onnx"]
        1.2e-07
    """
    runners = {fmt: RUNTIMES[fmt](path) for fmt, path in exports.items()}
    available = {fmt: read_metadata(path)["endpoints"] for fmt, path in exports.items()}
    table = {}
    for b in batch_sizes:
        inputs = endpoint_inputs(model, x, b, seed)
        for name in model.export_endpoints():
            feeds = _feeds(name, inputs)
            want = keras_reference(model, name, feeds)
            for fmt, run in runners.items():
                if name not in available[fmt]:
                    continue
                got = run(name, feeds)
                if set(got) != set(want):
                    raise AssertionError(
                        f"{fmt} {name}: outputs {sorted(got)} instead of {sorted(want)}"
                    )
                for k in want:
                    if got[k].shape != want[k].shape:
                        raise AssertionError(
                            f"{fmt} {name} {k}: shape {got[k].shape} instead of {want[k].shape}"
                        )
                diff = max(float(np.max(np.abs(got[k] - want[k]), initial=0.0)) for k in want)
                row = table.setdefault(name, {})
                row[fmt] = max(row.get(fmt, 0.0), diff)
    return table
