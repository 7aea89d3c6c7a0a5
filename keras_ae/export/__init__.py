"""Exports for serving (SavedModel, ONNX, LiteRT) and encoders for reuse in Keras.

``model.export(path, format=...)`` (Keras's method, overridden) and
`export_model` write the same endpoints in every format, with named inputs
and outputs:

| endpoint | inputs | outputs |
|---|---|---|
| ``encode`` (default) | ``x`` ``(batch,) + input_shape`` | ``codes`` ``(batch, latent_dim)`` (the posterior mean for a VAE) |
| ``encode_distribution`` (VAE) | ``x`` | ``z_mean``, ``z_log_var`` |
| ``decode`` | ``z`` ``(batch, latent_dim)`` | ``reconstruction`` (probabilities for a Bernoulli VAE) |
| ``reconstruct`` | ``x`` | ``reconstruction``: ``decode(encode(x))``, no noise or sampling |
| ``sample_from_noise`` (generative) | the prior's noise: ``noise`` (and ``component_noise`` for a mixture prior) | ``samples`` |
| ``sample_seeded`` (generative, SavedModel only) | ``n``, ``seed``: int32 scalars | ``samples``, equal to ``model.sample(n, seed=seed)`` |
| ``sample`` (generative, SavedModel only) | ``n`` | ``samples``, a new draw every call |

``sample_from_noise`` takes standard noise drawn by the client and applies
the prior's transform: a Gaussian prior (and the VAE's N(0, I)) takes
``noise`` ~ N(0, 1) of shape ``(batch, latent_dim)``; a uniform prior takes
``noise`` ~ U[0, 1); a mixture of Gaussians takes ``component_noise`` ~
U[0, 1) of shape ``(batch,)`` (component ``floor(K u)``) and ``noise`` ~
N(0, 1). ``model.codes_from_noise`` / ``keras_ae.priors.Prior.from_noise`` are
the same transform in Python. Every batch dimension is dynamic.

Layout per format (``path`` is always a directory, written atomically;
``overwrite=True`` replaces an earlier export of any format):

* ``tf_saved_model``: a SavedModel. Every endpoint is a function of
  ``tf.saved_model.load(path)``; the ones without random ops are also
  serving signatures (``serving_default`` = ``encode``), so TF Serving and
  the default ``TFLiteConverter.from_saved_model(path)`` take the directory
  as it is. ``assets.extra/keras_ae.json`` (the card as JSON, read by
  `read_metadata`), ``assets.extra/model_card.md`` and
  ``assets.extra/model.keras`` (for `load_encoder`) ride along.
* ``onnx``: ``<endpoint>.onnx`` for every endpoint without random ops
  (ONNX has no seeded random op), ``model_card.json``, ``model_card.md``.
* ``litert``: ``model.tflite`` holding one signature per endpoint without
  random ops (``interpreter.get_signature_runner("decode")(z=z)``),
  builtin ops only, ``model_card.json``, ``model_card.md``.

Exports are written on the TensorFlow backend; on JAX and torch the model
is saved to ``.keras`` and exported by a TensorFlow child process (a
``.keras`` file loads on every backend with identical outputs).
"""

import os
import subprocess
import sys

import keras

from keras_ae import atomic
from keras_ae.export.encoder import encoder_model
from keras_ae.export.encoder import load_encoder
from keras_ae.export.paths import CARD_JSON
from keras_ae.export.paths import CARD_MARKDOWN
from keras_ae.export.paths import KERAS_FILE
from keras_ae.export.paths import LITERT_FILE
from keras_ae.export.paths import METADATA_FILE
from keras_ae.export.paths import check_model
from keras_ae.export.paths import is_export_dir
from keras_ae.export.paths import is_saved_model_dir
from keras_ae.export.paths import read_metadata

__all__ = [
    "FORMATS",
    "METADATA_FILE",
    "KERAS_FILE",
    "CARD_JSON",
    "CARD_MARKDOWN",
    "LITERT_FILE",
    "export_model",
    "export_saved_model",
    "load_encoder",
    "read_metadata",
    "endpoint_functions",
    "encoder_model",
]

#: The formats of `export_model`.
FORMATS = ("tf_saved_model", "onnx", "litert")


def endpoint_functions(model):
    """The endpoints of ``model`` as TensorFlow functions (see `graphs.endpoint_functions`)."""
    from keras_ae.export import graphs

    return graphs.endpoint_functions(model)


def _check_path(path, overwrite, fmt):
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a string or path-like. Received: path={path!r}")
    target = os.path.abspath(os.fspath(path))
    if os.path.lexists(target):
        if not overwrite:
            raise FileExistsError(
                f"Export path already exists: pass overwrite=True to replace it. "
                f"Received: path={os.fspath(path)!r}"
            )
        accept = is_saved_model_dir if fmt == "tf_saved_model" else is_export_dir
        if not accept(target):
            what = "a SavedModel directory" if fmt == "tf_saved_model" else "a keras_ae export"
            raise ValueError(
                f"Refusing to overwrite a path that is not {what} "
                f"(no saved_model.pb or {CARD_JSON} in it). Received: path={os.fspath(path)!r}"
            )
    return target


def export_model(model, path, *, format="tf_saved_model", overwrite=False, card=None):
    """Exports a keras_ae model for serving in one format.

    The function behind ``model.export(path, format=...)`` and
    ``keras-ae export``. See the module docstring for the endpoints, the
    inputs each takes and the layout of each format.

    Args:
        model: a keras_ae model (any `keras_ae.models.BaseAutoencoder`).
        path: the export directory; its parent is created if needed.
        format: ``"tf_saved_model"``, ``"onnx"`` or ``"litert"``.
        overwrite: replace an existing export at ``path`` (only a keras_ae
            export, or for ``tf_saved_model`` a SavedModel, is replaced).
        card: optional dict for the model card, e.g. ``{"data":
            "fashion_mnist", "metrics": {"test_loss": 0.27}}``.

    Returns:
        The absolute path of the export.

    Raises:
        ValueError: a bad model, format or card, or ``path`` holds something
            else than an export.
        FileExistsError: ``path`` exists and ``overwrite`` is False.

    Example:
        >>> keras_ae.export.export_model(vae, "exports/vae_onnx", format="onnx")
        >>> session = onnxruntime.InferenceSession("exports/vae_onnx/decode.onnx")
        >>> session.run(["reconstruction"], {"z": z})
    """
    check_model(model)
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: format={format!r}")
    if card is not None and not isinstance(card, dict):
        raise ValueError(f"`card` must be a dict or None. Received: card={card!r}")
    target = _check_path(path, overwrite, format)
    with atomic.directory(target) as tmp:
        if keras.backend.backend() == "tensorflow":
            write(model, format, tmp, card)
        else:
            _write_in_tensorflow(model, format, tmp, card)
    return target


def write(model, format, directory, card=None):
    """Writes the export of ``model`` in ``format`` into the existing ``directory``."""
    from keras_ae.export import writers

    writers.WRITERS[format](model, directory, card)


def export_saved_model(model, path, *, overwrite=False, card=None):
    """Exports a keras_ae model as a TF SavedModel for serving.

    ``export_model(model, path, format="tf_saved_model")``: endpoints
    ``encode`` (= ``serving_default``), ``decode``, ``reconstruct``, for a
    VAE ``encode_distribution``, for generative models
    ``sample_from_noise``, ``sample(n)`` and ``sample_seeded(n, seed)``
    (functions of the loaded object, not serving signatures: they hold
    random ops). Outputs are named (``codes``, ``reconstruction``,
    ``z_mean``/``z_log_var``, ``samples``). The directory loads with
    ``tf.saved_model.load`` in a process that never imports keras_ae, is
    servable by TF Serving, converts with the default TFLite converter, and
    holds ``assets.extra/keras_ae.json`` (the card) and
    ``assets.extra/model.keras`` (for `load_encoder`).

    Writing is atomic: everything is written into a hidden temporary
    directory beside ``path`` and renamed into place only when complete;
    with ``overwrite=True`` an existing export is moved aside, the new one
    renamed in, and only then the old one deleted (put back if the rename
    fails).

    Args:
        model: a keras_ae model.
        path: target directory; its parent is created if needed.
        overwrite: replace an existing SavedModel at ``path`` (any other
            existing file or directory is refused).
        card: optional dict of card entries (``data``, ``metrics``).

    Returns:
        The absolute path of the export.

    Raises:
        ValueError: ``model`` is not a keras_ae model, or ``path`` exists and
            is not a SavedModel directory.
        FileExistsError: ``path`` exists and ``overwrite`` is False.

    Example:
        >>> keras_ae.export_saved_model(vae, "saved_models/vae_fashion")
        >>> served = tf.saved_model.load("saved_models/vae_fashion")
        >>> codes = served.encode(x)["codes"]           # any batch size
        >>> images = served.sample(tf.constant(16))["samples"]
    """
    return export_model(model, path, format="tf_saved_model", overwrite=overwrite, card=card)


_CHILD = """
import json, sys, keras
from keras_ae import export
m = keras.models.load_model(sys.argv[1], safe_mode=True)
export.write(m, sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
"""


def _write_in_tensorflow(model, format, directory, card):
    """Writes the export of a JAX or torch model from a TensorFlow process.

    A `.keras` file loads on every backend with identical outputs
    (tests/test_backends.py), so the model is saved and exported by a child
    process on the TensorFlow backend: the same endpoints (the random
    ``sample`` ones included) as an export made on TensorFlow. Keras can
    convert JAX functions itself (jax2tf), but not the dynamic-size
    ``sample(n)`` endpoints, and cannot convert torch functions at all.
    """
    import json

    source = os.path.join(directory, "source.keras")
    model.save(source)
    out = os.path.join(directory, "out")
    os.makedirs(out)
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, source, format, out, json.dumps(card)],
        capture_output=True, text=True, env=env,
    )
    if proc.returncode != 0:
        raise OSError(
            "Exporting from the TensorFlow backend failed: "
            + (proc.stderr.strip().splitlines() or ["no output"])[-1]
        )
    os.remove(source)
    for name in os.listdir(out):
        os.rename(os.path.join(out, name), os.path.join(directory, name))
    os.rmdir(out)
