"""
Title: Export a VAE to SavedModel, ONNX and LiteRT and serve it without keras_ae
Description: Train a small VAE, export it with `vae.export(path, format=...)`
in the three formats, then call every endpoint with the runtimes alone
(`tf.saved_model.load`, onnxruntime, the LiteRT interpreter) in a process that
never imports keras_ae or Keras, and print the largest difference to the
Keras model for every endpoint and format.

## Introduction

A `.keras` file is for Keras users: it rebuilds the Python objects and needs
the classes that made them (here, keras_ae). Serving wants something else: a
self-contained graph with fixed entry points, loadable from any TensorFlow
runtime (Python, C++, TF Serving, TFLite converters). keras_ae writes
the same endpoints, with named inputs and outputs and any batch size, as a TF
SavedModel, as ONNX files and as a LiteRT flatbuffer
(`vae.export(path, format="tf_saved_model" | "onnx" | "litert")`):

| endpoint | inputs | outputs | formats |
|---|---|---|---|
| `encode` (default) | `x` (batch, 64) | `codes`: the posterior mean | all |
| `encode_distribution` | `x` | `z_mean`, `z_log_var` | all |
| `decode` | `z` (batch, latent_dim) | `reconstruction`: pixel probabilities | all |
| `reconstruct` | `x` | `reconstruction`: `decode(encode(x))`, no sampling | all |
| `sample_from_noise` | `noise` ~ N(0, 1) (batch, latent_dim) | `samples` | all |
| `sample_seeded` / `sample` | `n` (and `seed`) | `samples` = `vae.sample(n, seed=seed)` | SavedModel only |

ONNX and LiteRT hold no seeded random-number ops, so a client draws the
noise itself (NumPy, Java, Swift...) and calls `sample_from_noise`: this is
how a phone or an ONNX server generates. The SavedModel keeps `sample` and
`sample_seeded` as functions (not serving signatures, so the default TFLite
converter and TF Serving take the directory as it is). ONNX exports are one
`<endpoint>.onnx` per endpoint; the LiteRT export is one `model.tflite` with a
signature per endpoint; both sit next to `model_card.json`/`.md`. Exports
are atomic and refuse to overwrite unless ``overwrite=True``.

Needs `onnxruntime`, `tf2onnx` and `ai-edge-litert` (the `test` extra).
Run (about a minute on 2 CPU cores):

```
python examples/export_and_serve.py --out vae_export
```
"""

import argparse
import json
import os
import subprocess
import sys
import textwrap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_ae  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
parser.add_argument("--epochs", type=int, default=40)
parser.add_argument("--out", default="vae_export", help="export directory")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)

"""
## Train a small VAE on the embedded digits
"""

(x_train, _), (x_test, _) = keras_ae.datasets.load_data("digits")
vae = keras_ae.VAE(input_shape=(64,), latent_dim=4, hidden_units=(64, 32), seed=args.seed)
vae.compile()
vae.fit(x_train, epochs=args.epochs, batch_size=64, verbose=0)
print(f"test loss (-ELBO): {vae.evaluate(x_test, verbose=0, return_dict=True)['loss']:.2f}")

"""
## Export in the three formats

Each export is a directory; `keras_ae.export.read_metadata` reads its model
card (architecture, input range, versions, what each endpoint returns).
"""

card = {"data": "digits (sklearn 8x8, scaled to [0, 1])",
        "metrics": {"test_loss": round(vae.evaluate(x_test, verbose=0, return_dict=True)["loss"], 3)}}
exports = {}
for fmt in keras_ae.export.FORMATS:
    exports[fmt] = vae.export(os.path.join(args.out, fmt), format=fmt, overwrite=True, card=card)
    card_of = keras_ae.export.read_metadata(exports[fmt])
    files = sorted(os.listdir(exports[fmt]))
    print(f"{fmt:15s} endpoints: {', '.join(card_of['endpoints'])}\n{'':15s} files: {files}")

"""
## Serve every format in a process without keras_ae

The inputs and the in-memory model's outputs go to a `.npz` file; a fresh
Python process that imports only the runtimes and NumPy runs every endpoint
of every format and prints the largest absolute difference.
"""

reference = os.path.abspath(os.path.join(args.out, "reference.npz"))
x = x_test[:16]
noise = np.random.default_rng(1).standard_normal((16, vae.latent_dim)).astype("float32")
z_mean, z_log_var = vae.encode(x, return_distribution=True)
np.savez(reference, x=x, noise=noise, codes=z_mean, z_mean=z_mean, z_log_var=z_log_var,
         decoded=vae.decode(z_mean), recon=vae.reconstruct(x),
         samples=vae.decode(noise), seeded=vae.sample(16, seed=3))

server_code = textwrap.dedent(
    f"""
    import os, sys
    import numpy as np
    import onnxruntime
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    ref = np.load({reference!r})
    cases = {{  # endpoint: (inputs, {{output: expected}})
        "encode": ({{"x": ref["x"]}}, {{"codes": ref["codes"]}}),
        "encode_distribution": ({{"x": ref["x"]}},
                                {{"z_mean": ref["z_mean"], "z_log_var": ref["z_log_var"]}}),
        "decode": ({{"z": ref["codes"]}}, {{"reconstruction": ref["decoded"]}}),
        "reconstruct": ({{"x": ref["x"]}}, {{"reconstruction": ref["recon"]}}),
        "sample_from_noise": ({{"noise": ref["noise"]}}, {{"samples": ref["samples"]}}),
    }}

    served = tf.saved_model.load({exports["tf_saved_model"]!r})
    def saved_model(name, feeds):
        return {{k: v.numpy() for k, v in getattr(served, name)(**feeds).items()}}

    def onnx(name, feeds):
        s = onnxruntime.InferenceSession(os.path.join({exports["onnx"]!r}, name + ".onnx"))
        names = [o.name for o in s.get_outputs()]
        return dict(zip(names, s.run(names, feeds)))

    lite = Interpreter(model_path=os.path.join({exports["litert"]!r}, "model.tflite"))
    def litert(name, feeds):
        return lite.get_signature_runner(name)(**feeds)

    runtimes = {{"SavedModel": saved_model, "ONNX": onnx, "LiteRT": litert}}
    print(f"{{'endpoint':20s}}" + "".join(f"{{r:>12s}}" for r in runtimes))
    for name, (feeds, want) in cases.items():
        row = []
        for run in runtimes.values():
            diffs = [np.abs(run(name, {{k: v[:b] for k, v in feeds.items()}})[k] - want[k][:b]).max()
                     for b in (1, 16) for k in want]
            row.append(max(diffs))
        print(f"{{name:20s}}" + "".join(f"{{d:12.1e}}" for d in row))
    got = served.sample_seeded(n=tf.constant(16), seed=tf.constant(3))["samples"].numpy()
    print(f"{{'sample_seeded':20s}}{{np.abs(got - ref['seeded']).max():12.1e}}"
          "         n/a         n/a  (SavedModel only: vae.sample(16, seed=3))")
    print("imported keras_ae:", "keras_ae" in sys.modules)
    """
)
result = subprocess.run([sys.executable, "-c", server_code], capture_output=True,
                        text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
if result.returncode != 0:
    sys.exit(f"serving process failed:\n{result.stderr[-2000:]}")
print("max abs difference to the Keras model (batch 1 and 16):")
print(result.stdout.strip())

"""
## TF Serving

The portable endpoints are also serving signatures, so the SavedModel is one
version of a TF Serving model: copy it to ``models/vae/1/`` and start the
server, e.g.

```
docker run -p 8501:8501 -v "$PWD/models/vae:/models/vae" -e MODEL_NAME=vae \\
    tensorflow/serving
```

A REST request to ``POST /v1/models/vae:predict`` names the signature and
gives one instance per image; the response names the outputs
(``reconstruction`` here). The request for two test digits:
"""

request = {
    "signature_name": "reconstruct",
    "instances": [{"x": row.astype(float).round(3).tolist()} for row in x_test[:2]],
}
print(json.dumps(request)[:160] + " ...")

"""
## Reuse inside Keras

For Keras users the SavedModel directory gives back a real Keras encoder
(built from the `.keras` copy, so it fine-tunes with any optimizer and saves
with the model that contains it):
"""

encoder = keras_ae.load_encoder(exports["tf_saved_model"])
np.testing.assert_allclose(encoder.predict(x, verbose=0), vae.encode(x), atol=1e-5)
print("load_encoder(export) matches vae.encode:", encoder.output_shape)
