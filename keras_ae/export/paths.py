"""Export layouts on disk: where each format puts its files, and checks."""

import json
import os

from keras_ae.models.base import BaseAutoencoder

#: Metadata (the card as JSON) and Keras model paths inside a SavedModel export.
METADATA_FILE = os.path.join("assets.extra", "keras_ae.json")
KERAS_FILE = os.path.join("assets.extra", "model.keras")
#: The card beside ONNX and LiteRT files; the LiteRT flatbuffer.
CARD_JSON = "model_card.json"
CARD_MARKDOWN = "model_card.md"
LITERT_FILE = "model.tflite"


def check_model(model):
    """Raises unless ``model`` is a built keras_ae model."""
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


def is_saved_model_dir(path):
    return os.path.isdir(path) and (
        os.path.exists(os.path.join(path, "saved_model.pb"))
        or os.path.exists(os.path.join(path, "saved_model.pbtxt"))
    )


def is_export_dir(path):
    """Whether ``path`` holds an export of any format (may be replaced)."""
    return is_saved_model_dir(path) or os.path.isfile(os.path.join(path, CARD_JSON))


def read_metadata(path):
    """Reads the card of a keras_ae export directory (any format).

    Args:
        path: export directory (``tf_saved_model``, ``onnx`` or ``litert``).

    Returns:
        The card dict: model class, architecture, input shape and range,
        latent size, data, metrics, versions, endpoints (inputs, outputs,
        file) and the format.

    Raises:
        ValueError: ``path`` is not a keras_ae export.

    Example:
        >>> keras_ae.export.read_metadata("exports/vae_onnx")["endpoints"]
    """
    for name in (METADATA_FILE, CARD_JSON):
        file = os.path.join(os.fspath(path), name)
        if os.path.isfile(file):
            with open(file) as f:
                return json.load(f)
    raise ValueError(
        f"Not a keras_ae export directory (no {METADATA_FILE} or {CARD_JSON}); "
        "for a SavedModel made elsewhere use tf.saved_model.load or "
        f"keras.layers.TFSMLayer. Received: path={os.fspath(path)!r}"
    )
