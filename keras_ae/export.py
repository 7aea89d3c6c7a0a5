"""SavedModel export for serving, and trained encoders for reuse inside Keras.

`export_saved_model` writes a TF SavedModel with the endpoints

| endpoint | input | output |
|---|---|---|
| ``encode`` (also ``serving_default``) | ``x``: float32 ``(batch,) + input_shape`` | codes ``(batch, latent_dim)`` (the posterior mean for a VAE) |
| ``decode`` | ``z``: float32 ``(batch, latent_dim)`` | reconstructions ``(batch,) + input_shape`` (probabilities for a Bernoulli VAE) |
| ``reconstruct`` | ``x`` | ``decode(encode(x))`` without noise or sampling |
| ``sample`` (generative models only) | ``n``: int32 scalar | ``n`` decoded prior draws, a new draw every call |
| ``sample_seeded`` (generative models only) | ``n``: int32 scalar, ``seed``: int32 scalar | the same draws for the same seed |

All inputs take any batch size. The export loads with plain
``tf.saved_model.load`` (no keras_ae, no Keras objects needed) and each
endpoint is also a serving signature, so TF Serving can serve the directory
as one model version. The directory also holds, under ``assets.extra/``
(ignored by TensorFlow and TF Serving):

* ``keras_ae.json``: metadata (model class, input shape, latent size,
  keras_ae/Keras/TensorFlow versions, endpoints and their shapes);
* ``model.keras``: the full Keras model, so that `load_encoder` rebuilds a
  real Keras encoder from an export (a `keras.layers.TFSMLayer` cannot be
  fine-tuned with Adam and does not reload under ``safe_mode``: docs/design.md,
  trap 9).

**Protocol for model authors.** The endpoints work for every
`BaseAutoencoder` subclass through these defaults; a model overrides one by
defining the method (tensors in, tensors out, no NumPy):

* ``_encode_graph(x)``: codes of ``x``. Default: the first output of
  ``model.encoder(x, training=False)`` (a dict output: the entry named
  ``model.encoder_heads[0]``), so a VAE encoder returning
  ``[z_mean, z_log_var]`` gives ``z_mean``. `load_encoder` also calls it on a
  symbolic ``keras.Input``, so write it with Keras layers and ``keras.ops``.
* ``_decode_graph(z)``: outputs for codes ``z``. Default:
  ``model.decoder_mean(z)`` if the model has it (the VAE), else
  ``model.decoder(z, training=False)``.
* ``_reconstruct_graph(x)``: default ``model(x, training=False)``.
* ``_sample_graph(n, seed)``: ``n`` decoded prior draws from an int64 seed
  tensor of shape ``(2,)``. Default: codes from ``model.prior.draw(n,
  latent_dim, seed)`` if the model has a ``prior`` (the AAE; this equals the
  AAE's ``sample(n, seed=s)`` for ``seed=[s, 0]``), else a stateless standard
  normal, then ``_decode_graph``. A model is *generative* (gets the sample
  endpoints) when it has a ``sample`` method.
"""

import datetime
import json
import os
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

from keras_ae import atomic

__all__ = [
    "METADATA_FILE",
    "KERAS_FILE",
    "export_saved_model",
    "load_encoder",
    "read_metadata",
    "endpoint_functions",
    "encoder_model",
]

#: Metadata and Keras model paths inside an export directory.
METADATA_FILE = os.path.join("assets.extra", "keras_ae.json")
KERAS_FILE = os.path.join("assets.extra", "model.keras")
FORMAT = "keras_ae.saved_model"
FORMAT_VERSION = 1


# --------------------------------------------------------------------- graphs
def _first_output(model, outputs):
    if isinstance(outputs, dict):
        heads = getattr(model, "encoder_heads", None) or ()
        for key in tuple(heads) + ("code", "z_mean"):
            if key in outputs:
                return outputs[key]
        return outputs[sorted(outputs)[0]]
    if isinstance(outputs, (list, tuple)):
        return outputs[0]
    return outputs


def _encode_graph(model, x, training=False):
    hook = getattr(model, "_encode_graph", None)
    if hook is not None:
        return hook(x)
    return _first_output(model, model.encoder(x, training=training))


def _decode_graph(model, z):
    hook = getattr(model, "_decode_graph", None)
    if hook is not None:
        return hook(z)
    if hasattr(model, "decoder_mean"):
        return model.decoder_mean(z, training=False)
    return model.decoder(z, training=False)


def _reconstruct_graph(model, x):
    hook = getattr(model, "_reconstruct_graph", None)
    if hook is not None:
        return hook(x)
    return model(x, training=False)


def _sample_graph(model, n, seed):
    hook = getattr(model, "_sample_graph", None)
    if hook is not None:
        return hook(n, seed)
    prior = getattr(model, "prior", None)
    shape = tf.stack([tf.cast(n, tf.int32), model.latent_dim])
    if prior is not None:
        z = prior.draw(tf.cast(n, tf.int32), model.latent_dim, seed)
    else:
        z = tf.random.stateless_normal(shape, seed=seed, dtype=tf.float32)
    return _decode_graph(model, tf.cast(z, tf.float32))


def is_generative(model):
    """Whether ``model`` gets the ``sample`` endpoints (it has a ``sample`` method)."""
    return callable(getattr(model, "sample", None))


def _float32(t):
    return tf.cast(t, tf.float32)


def endpoint_functions(model):
    """The endpoint functions of ``model`` and their input signatures.

    Used by `export_saved_model`; tests call the functions eagerly to compare
    an export with the in-memory model.

    Args:
        model: a keras_ae model.

    Returns:
        A dict ``name -> (fn, input_signature)`` in export order (``encode``
        first: it is also ``serving_default``).

    Example:
        >>> fns = endpoint_functions(model)
        >>> codes = fns["encode"][0](tf.constant(x))
    """
    x_spec = tf.TensorSpec((None,) + tuple(model.input_shape_), tf.float32, name="x")
    z_spec = tf.TensorSpec((None, model.latent_dim), tf.float32, name="z")
    n_spec = tf.TensorSpec((), tf.int32, name="n")
    seed_spec = tf.TensorSpec((), tf.int32, name="seed")

    def encode(x):
        return _float32(_encode_graph(model, x))

    def decode(z):
        return _float32(_decode_graph(model, z))

    def reconstruct(x):
        return _float32(_reconstruct_graph(model, x))

    fns = {
        "encode": (encode, [x_spec]),
        "decode": (decode, [z_spec]),
        "reconstruct": (reconstruct, [x_spec]),
    }
    if is_generative(model):

        def sample_seeded(n, seed):
            pair = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
            return _float32(_sample_graph(model, n, pair))

        def sample(n):
            pair = tf.random.uniform((2,), maxval=2**62, dtype=tf.int64)
            return _float32(_sample_graph(model, n, pair))

        fns["sample"] = (sample, [n_spec])
        fns["sample_seeded"] = (sample_seeded, [n_spec, seed_spec])
    return fns


# --------------------------------------------------------------------- export
def _check_model(model):
    from keras_ae.models.base import BaseAutoencoder

    if not isinstance(model, BaseAutoencoder):
        raise ValueError(
            "`model` must be a keras_ae model (a subclass of "
            "keras_ae.models.BaseAutoencoder, e.g. keras_ae.Autoencoder). "
            f"Received: model={model!r} of type {type(model).__name__}"
        )
    if not model.built:
        raise ValueError(
            "`model` must be built before export (keras_ae models build at "
            f"construction). Received: model={model!r}"
        )


def _metadata(model, fns):
    import keras_ae

    def shape(spec):
        return [None if d is None else int(d) for d in spec.shape]

    endpoints = {}
    for name, (_, signature) in fns.items():
        endpoints[name] = {
            "inputs": {s.name: {"shape": shape(s), "dtype": s.dtype.name} for s in signature}
        }
    endpoints["serving_default"] = {"alias_of": "encode"}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_class": type(model).__name__,
        "registered_name": keras.saving.get_registered_name(type(model)),
        "input_shape": [int(d) for d in model.input_shape_],
        "latent_dim": int(model.latent_dim),
        "generative": is_generative(model),
        "endpoints": endpoints,
        "keras_file": KERAS_FILE.replace(os.sep, "/"),
        "keras_ae_version": keras_ae.__version__,
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _write_export(model, directory):
    """Writes the SavedModel, metadata and .keras file into ``directory``."""
    fns = endpoint_functions(model)
    archive = keras.export.ExportArchive()
    # No `archive.track(model)`: add_endpoint tracks every variable the
    # endpoints use, and tracking the model as well stores the weights twice
    # in variables/ (measured: 8.67 MB instead of 4.34 MB for 784-512-256-32).
    for name, (fn, signature) in fns.items():
        archive.add_endpoint(name, fn, input_signature=signature)
    archive.write_out(directory, verbose=False)
    extra = os.path.join(directory, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    model.save(os.path.join(directory, KERAS_FILE))
    with open(os.path.join(directory, METADATA_FILE), "w") as f:
        json.dump(_metadata(model, fns), f, indent=2)


def _is_saved_model_dir(path):
    return os.path.isdir(path) and (
        os.path.exists(os.path.join(path, "saved_model.pb"))
        or os.path.exists(os.path.join(path, "saved_model.pbtxt"))
    )


def export_saved_model(model, path, *, overwrite=False):
    """Exports a keras_ae model as a TF SavedModel for serving.

    Endpoints: ``encode`` (= ``serving_default``), ``decode``,
    ``reconstruct``, and for generative models ``sample(n)`` and
    ``sample_seeded(n, seed)``; every input takes any batch size (see the
    module docstring for shapes and the protocol a model can implement).
    The directory loads with ``tf.saved_model.load`` in a process that never
    imports keras_ae, is servable by TF Serving as a model version, and also
    holds ``assets.extra/keras_ae.json`` (metadata) and
    ``assets.extra/model.keras`` (for `load_encoder`).

    Writing is atomic: everything is written into a hidden temporary
    directory beside ``path`` and renamed into place only when complete, so an
    interrupted export never leaves a half-written directory at ``path`` (nor
    a temporary one, unless the process is killed outright). With
    ``overwrite=True`` an existing export is moved aside, the new one renamed
    in, and only then the old one deleted; if the rename fails the old export
    is put back.

    Args:
        model: a keras_ae model (any `keras_ae.models.BaseAutoencoder`).
        path: target directory; its parent is created if needed.
        overwrite: replace an existing export at ``path``. Only a SavedModel
            directory is ever replaced; any other existing file or directory
            is refused.

    Returns:
        The absolute path of the export.

    Raises:
        ValueError: ``model`` is not a keras_ae model, or ``path`` exists and
            is not a SavedModel directory.
        FileExistsError: ``path`` exists and ``overwrite`` is False.

    Example:
        >>> keras_ae.export_saved_model(vae, "saved_models/vae_fashion")
        >>> served = tf.saved_model.load("saved_models/vae_fashion")
        >>> codes = served.encode(x)            # any batch size
        >>> images = served.sample(tf.constant(16))
    """
    _check_model(model)
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a string or path-like. Received: path={path!r}")
    target = os.path.abspath(os.fspath(path))
    if os.path.lexists(target):
        if not overwrite:
            raise FileExistsError(
                f"Export path already exists: pass overwrite=True to replace it. "
                f"Received: path={os.fspath(path)!r}"
            )
        if not _is_saved_model_dir(target):
            raise ValueError(
                "Refusing to overwrite a path that is not a SavedModel directory "
                f"(no saved_model.pb in it). Received: path={os.fspath(path)!r}"
            )
    with atomic.directory(target) as tmp:
        if keras.backend.backend() == "tensorflow":
            _write_export(model, tmp)
        else:
            _write_export_in_tensorflow(model, tmp)
    return target


def _write_export_in_tensorflow(model, directory):
    """Writes the export of a JAX or torch model from a TensorFlow process.

    A `.keras` file loads on every backend with identical outputs
    (tests/test_backends.py), so the model is saved and exported by a child
    process on the TensorFlow backend: the same endpoints (the random
    ``sample`` ones included) as an export made on TensorFlow. Keras can
    convert JAX functions itself (jax2tf), but not the dynamic-size
    ``sample(n)`` endpoints, and cannot convert torch functions at all.
    """
    source = os.path.join(directory, "source.keras")
    model.save(source)
    code = (
        "import sys, keras, keras_ae.export as e\n"
        "m = keras.models.load_model(sys.argv[1], safe_mode=True)\n"
        "e._write_export(m, sys.argv[2])\n"
    )
    out = os.path.join(directory, "saved")
    os.makedirs(out)
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-c", code, source, out], capture_output=True, text=True, env=env
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


def read_metadata(path):
    """Reads the metadata of an `export_saved_model` directory.

    Args:
        path: export directory.

    Returns:
        The metadata dict (model class, input shape, latent size, versions,
        endpoints).

    Raises:
        ValueError: ``path`` is not a keras_ae export.
    """
    file = os.path.join(os.fspath(path), METADATA_FILE)
    if not os.path.isfile(file):
        raise ValueError(
            f"Not a keras_ae export directory (no {METADATA_FILE}); for a "
            "SavedModel made elsewhere use tf.saved_model.load or "
            f"keras.layers.TFSMLayer. Received: path={os.fspath(path)!r}"
        )
    with open(file) as f:
        return json.load(f)


# -------------------------------------------------------------- load_encoder
def encoder_model(model, name="encoder"):
    """A functional Keras model mapping inputs to the codes of ``model``.

    Shares its layers (and weights) with ``model``. For an encoder with
    several outputs (a VAE's ``[z_mean, z_log_var]``) it is the sub-graph
    computing only the code, so no variable is left without a gradient when
    it is fine-tuned.

    Args:
        model: a keras_ae model.
        name: name of the returned model.

    Returns:
        A functional `keras.Model` with ``model.input_shape`` inputs and
        ``(batch, latent_dim)`` outputs.
    """
    _check_model(model)
    enc = model.encoder
    custom = getattr(model, "_encode_graph", None) is not None
    if not custom and isinstance(enc, keras.Model) and hasattr(enc, "_outputs_struct"):
        outputs = _first_output(model, enc._outputs_struct)
        if len(enc.inputs) == 1:
            return keras.Model(enc.inputs[0], outputs, name=name)
    inputs = keras.Input(shape=tuple(model.input_shape_), name="inputs")
    if custom:
        outputs = model._encode_graph(inputs)
    else:
        outputs = _first_output(model, enc(inputs))
    return keras.Model(inputs, outputs, name=name)


def _resolve_zoo(name):
    """Path of the ``.keras`` file of zoo model ``name`` (via `keras_ae.zoo.path_of`)."""
    try:
        from keras_ae import zoo
    except ImportError:
        zoo = None
    resolver = getattr(zoo, "path_of", None)
    if resolver is None:
        raise ValueError(
            "`path` is neither a .keras file nor an export directory, and no "
            "model zoo is available to resolve it as a name. "
            f"Received: path={name!r}"
        )
    try:
        return os.fspath(resolver(name, "keras"))
    except (KeyError, FileNotFoundError) as error:
        raise ValueError(
            "`path` is neither an existing .keras file or export directory nor "
            f"a zoo name ({error}). Received: path={name!r}"
        ) from None


def _load_autoencoder(path):
    from keras_ae.models.base import BaseAutoencoder

    if isinstance(path, BaseAutoencoder):
        return path, False
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(
            "`path` must be a .keras file, an export_saved_model directory, a "
            f"zoo name or a keras_ae model. Received: path={path!r}"
        )
    source = os.fspath(path)
    if not os.path.exists(source):
        if os.sep in source or source.endswith(".keras"):
            raise FileNotFoundError(f"No such file or directory. Received: path={source!r}")
        source = _resolve_zoo(source)
    if os.path.isdir(source):
        read_metadata(source)  # clear error for directories that are not ours
        source = os.path.join(source, KERAS_FILE)
    elif not source.endswith(".keras"):
        raise ValueError(
            "`path` must be a .keras file or an export_saved_model directory. "
            f"Received: path={os.fspath(path)!r}"
        )
    model = keras.models.load_model(source, compile=False)
    if not isinstance(model, BaseAutoencoder):
        raise ValueError(
            "The file does not hold a keras_ae model, so its encoder is unknown. "
            f"Received: a {type(model).__name__} from path={os.fspath(path)!r}"
        )
    return model, True


def load_encoder(path, *, trainable=False, name="encoder"):
    """A trained encoder as a Keras model, ready to drop into another model.

    Args:
        path: a ``.keras`` file of a keras_ae model, an `export_saved_model`
            directory (its ``assets.extra/model.keras`` is used, not the
            graph), a zoo name (resolved by ``keras_ae.zoo.path_of``), or an
            in-memory keras_ae model (the encoder then shares its weights).
        trainable: False freezes the encoder (its weights stay fixed when the
            containing model trains); True lets it fine-tune with any
            optimizer. Set ``encoder.trainable`` later and recompile the
            containing model for the change to take effect (docs/design.md,
            trap 10).
        name: name of the returned model.

    Returns:
        A functional `keras.Model` mapping ``(batch,) + input_shape`` inputs
        to ``(batch, latent_dim)`` codes (the posterior mean for a VAE). It
        is built from plain Keras layers, so a model containing it saves to
        ``.keras`` and reloads under ``safe_mode=True``.

    Example:
        >>> encoder = keras_ae.load_encoder("saved_models/vae_fashion")
        >>> clf = keras.Sequential([keras.Input((784,)), encoder,
        ...                         keras.layers.Dense(10, activation="softmax")])
    """
    if not isinstance(trainable, bool):
        raise ValueError(f"`trainable` must be a bool. Received: trainable={trainable!r}")
    model, _ = _load_autoencoder(path)
    encoder = encoder_model(model, name=name)
    encoder.trainable = trainable
    return encoder
