"""
Title: Export a VAE to a TF SavedModel and serve it without keras_ae
Description: Train a small VAE, export it with `keras_ae.export_saved_model`,
then load and call its endpoints (encode, decode, reconstruct, sample) with
plain `tf.saved_model.load` in a process that never imports keras_ae or
Keras, and build the request a TF Serving server would take.

## Introduction

A `.keras` file is for Keras users: it rebuilds the Python objects and needs
the classes that made them (here, keras_ae). Serving wants something else: a
self-contained graph with fixed entry points, loadable from any TensorFlow
runtime (Python, C++, TF Serving, TFLite converters). That is a TF
SavedModel. `keras_ae.export_saved_model(model, path)` writes one with these
endpoints, each taking any batch size:

| endpoint | input | output |
|---|---|---|
| `encode` (= `serving_default`) | `x` (batch, 64) | codes (batch, latent_dim); the posterior mean for a VAE |
| `decode` | `z` (batch, latent_dim) | images; pixel probabilities for a Bernoulli VAE |
| `reconstruct` | `x` | `decode(encode(x))`, no sampling |
| `sample` / `sample_seeded` | `n` (and `seed`) | `n` decoded prior draws |

The export is atomic (an interrupted export leaves nothing half-written) and
refuses to overwrite an existing directory unless ``overwrite=True``. From
the shell, ``keras-ae export model.keras OUT`` does the same.

Run (under a minute on 2 CPU cores):

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
## Export

The directory is a standard SavedModel; keras_ae adds its metadata and the
`.keras` model under `assets.extra/`, which TensorFlow and TF Serving ignore
(`keras_ae.load_encoder(path)` uses it to rebuild a trainable Keras encoder).
"""

path = keras_ae.export_saved_model(vae, args.out, overwrite=True)
metadata = keras_ae.export.read_metadata(path)
print(f"exported {metadata['model_class']} to {path}")
print("endpoints:", ", ".join(sorted(metadata["endpoints"])))

"""
## Serve it in a process without keras_ae

The reference outputs of the in-memory model go to a `.npz` file; a fresh
Python process that imports only TensorFlow and NumPy loads the export, calls
every endpoint and checks it against them. It also prints whether keras_ae
was imported: it is not needed (nor installed, on a serving machine).
"""

reference = os.path.abspath(args.out.rstrip("/") + "_reference.npz")
x = x_test[:5]
np.savez(reference, x=x, codes=vae.encode(x), recon=vae.reconstruct(x),
         decoded=vae.decode(vae.encode(x)))

server_code = textwrap.dedent(
    f"""
    import sys
    import numpy as np
    import tensorflow as tf

    served = tf.saved_model.load({path!r})
    ref = np.load({reference!r})
    x = tf.constant(ref["x"])
    codes = served.encode(x)
    np.testing.assert_allclose(codes, ref["codes"], atol=1e-5)
    np.testing.assert_allclose(served.reconstruct(x), ref["recon"], atol=1e-5)
    np.testing.assert_allclose(served.decode(codes), ref["decoded"], atol=1e-5)
    one = served.encode(x[:1])            # any batch size
    samples = served.sample_seeded(tf.constant(8), tf.constant(0))
    again = served.sample_seeded(tf.constant(8), tf.constant(0))
    np.testing.assert_array_equal(samples, again)
    print("codes", tuple(codes.shape), "one", tuple(one.shape),
          "samples", tuple(samples.shape))
    print("signatures:", sorted(served.signatures))
    print("imported keras_ae:", "keras_ae" in sys.modules)
    """
)
result = subprocess.run([sys.executable, "-c", server_code], capture_output=True,
                        text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
if result.returncode != 0:
    sys.exit(f"serving process failed:\n{result.stderr[-2000:]}")
print(result.stdout.strip())

"""
## TF Serving

Every endpoint is also a serving signature, so the export is one version of
a TF Serving model: copy it to ``models/vae/1/`` and start the server, e.g.

```
docker run -p 8501:8501 -v "$PWD/models/vae:/models/vae" -e MODEL_NAME=vae \\
    tensorflow/serving
```

A REST request to ``POST /v1/models/vae:predict`` names the signature and
gives one instance per image (the input is called ``x``; ``decode`` takes
``z``). The request for two test digits:
"""

request = {
    "signature_name": "reconstruct",
    "instances": [{"x": row.astype(float).round(3).tolist()} for row in x_test[:2]],
}
print(json.dumps(request)[:160] + " ...")

"""
## Reuse inside Keras

For Keras users the same directory gives back a real Keras encoder (built
from the `.keras` copy, so it fine-tunes with any optimizer and saves with
the model that contains it):
"""

encoder = keras_ae.load_encoder(path)
np.testing.assert_allclose(encoder.predict(x, verbose=0), vae.encode(x), atol=1e-5)
print("load_encoder(export) matches vae.encode:", encoder.output_shape)
