"""Trained encoders for reuse inside Keras: `load_encoder` and `encoder_model`."""

import os

import keras

from keras_ae.export.paths import KERAS_FILE
from keras_ae.export.paths import check_model
from keras_ae.export.paths import read_metadata
from keras_ae.models.base import BaseAutoencoder


def _functional_code(model):
    """The code output of a functional encoder as a symbolic tensor, or None.

    Reads `keras.Model._outputs_struct` (private, Keras 3.15): the encoder's
    outputs in their structure (e.g. ``[z_mean, z_log_var]``), so the code
    is a sub-graph of the encoder and no variable of another head is left
    without a gradient when it is fine-tuned. The only private Keras
    attribute read here.
    """
    enc = model.encoder
    outputs = getattr(enc, "_outputs_struct", None)
    if not isinstance(enc, keras.Model) or outputs is None or len(enc.inputs) != 1:
        return None
    if isinstance(outputs, dict):
        return enc.inputs[0], outputs[model.encoder_heads[0]]
    if isinstance(outputs, (list, tuple)):
        return enc.inputs[0], outputs[0]
    return enc.inputs[0], outputs


def encoder_model(model, name="encoder"):
    """A functional Keras model mapping inputs to the codes of ``model``.

    Shares its layers (and weights) with ``model``. For an encoder with
    several outputs (a VAE's ``[z_mean, z_log_var]``) it is the sub-graph
    computing only the code (``model.code``).

    Args:
        model: a keras_ae model.
        name: name of the returned model.

    Returns:
        A functional `keras.Model` with ``model.input_shape`` inputs and
        ``(batch, latent_dim)`` outputs.

    Example:
        >>> encoder = encoder_model(vae)
    """
    check_model(model)
    graph = _functional_code(model)
    if graph is not None:
        return keras.Model(graph[0], graph[1], name=name)
    inputs = keras.Input(shape=tuple(model.input_shape_), name="inputs")
    return keras.Model(inputs, model.code(inputs), name=name)


def _resolve_zoo(name):
    """Path of the ``.keras`` file of zoo model ``name`` (via `keras_ae.zoo.path_of`)."""
    from keras_ae import zoo

    try:
        return os.fspath(zoo.path_of(name, "keras"))
    except (KeyError, FileNotFoundError) as error:
        raise ValueError(
            "`path` is neither an existing .keras file or export directory nor "
            f"a zoo name ({error}). Received: path={name!r}"
        ) from None


def _load_autoencoder(path):
    if isinstance(path, BaseAutoencoder):
        return path
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
        if not os.path.isfile(source):
            raise ValueError(
                "Only a tf_saved_model export holds the Keras model; ONNX and "
                f"LiteRT exports do not. Received: path={os.fspath(path)!r}"
            )
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
    return model


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
    encoder = encoder_model(_load_autoencoder(path), name=name)
    encoder.trainable = trainable
    return encoder
