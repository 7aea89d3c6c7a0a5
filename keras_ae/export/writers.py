"""Writers of the three export formats (TensorFlow backend, into a directory).

* ``tf_saved_model``: Keras's `ExportArchive`; every endpoint is a function
  of the loaded object, the portable ones also serving signatures.
* ``onnx``: one ``<endpoint>.onnx`` per portable endpoint, converted by
  tf2onnx as Keras's own ONNX export does (`keras.src.export.onnx`).
* ``litert``: one ``model.tflite`` with a signature per portable endpoint,
  converted by the TFLite converter from a SavedModel of those endpoints (as
  Keras's LiteRT export does), builtin ops only.
"""

import json
import os
import tempfile

import keras
import tensorflow as tf

from keras_ae.export import card as cards
from keras_ae.export import graphs
from keras_ae.export.paths import KERAS_FILE
from keras_ae.export.paths import LITERT_FILE
from keras_ae.export.paths import METADATA_FILE


def _functions_only(archive, names):
    """Keeps the endpoints ``names`` of ``archive`` out of its serving signatures.

    They stay functions of the loaded SavedModel (``served.sample(n)``), but
    a consumer converting every signature (the default
    ``TFLiteConverter.from_saved_model(dir)``, TF Serving) never sees their
    random ops. `ExportArchive` has no public switch for this: it turns every
    endpoint in the private ``_endpoint_names`` (Keras 3.15) into a
    signature; the endpoint itself stays a tracked attribute of the archive.
    This is the only use of a private Keras attribute here.
    """
    endpoint_names = getattr(archive, "_endpoint_names", None)
    if not isinstance(endpoint_names, list):
        raise RuntimeError(
            "This Keras version's ExportArchive has no `_endpoint_names` list "
            f"(written for Keras 3.15). Received: keras {keras.__version__}"
        )
    for name in names:
        endpoint_names.remove(name)


def _archive(fns):
    archive = keras.export.ExportArchive()
    # No `archive.track(model)`: add_endpoint tracks every variable the
    # endpoints use, and tracking the model as well stores the weights twice
    # in variables/ (measured: 8.67 MB instead of 4.34 MB for 784-512-256-32).
    for name, (fn, signature, _) in fns.items():
        archive.add_endpoint(name, fn, input_signature=signature)
    return archive


def write_saved_model(model, directory, extra=None):
    """The SavedModel, metadata, card and ``.keras`` copy, into ``directory``."""
    fns = graphs.endpoint_functions(model)
    archive = _archive(fns)
    _functions_only(archive, [n for n in fns if n not in graphs.portable(fns)])
    archive.write_out(directory, verbose=False)
    extra_dir = os.path.join(directory, "assets.extra")
    os.makedirs(extra_dir, exist_ok=True)
    model.save(os.path.join(directory, KERAS_FILE))
    card = cards.make_card(model, fns, "tf_saved_model", None, extra)
    card["signatures"] = list(graphs.portable(fns)) + ["serving_default"]
    card["keras_file"] = KERAS_FILE.replace(os.sep, "/")
    with open(os.path.join(directory, METADATA_FILE), "w") as f:
        json.dump(card, f, indent=2)
    with open(os.path.join(extra_dir, cards.CARD_MARKDOWN), "w") as f:
        f.write(cards.markdown(card))


def write_onnx(model, directory, extra=None, opset=None):
    """One ``<endpoint>.onnx`` per portable endpoint and the card."""
    from keras.src.export.tf2onnx_lib import patch_tf2onnx  # Keras's numpy-2 fix

    patch_tf2onnx()
    import tf2onnx

    fns = graphs.portable(graphs.endpoint_functions(model))
    files = {}
    for name, (fn, signature, _) in fns.items():
        files[name] = f"{name}.onnx"
        tf2onnx.convert.from_function(
            tf.function(fn, input_signature=signature),
            input_signature=signature,
            opset=opset,
            output_path=os.path.join(directory, files[name]),
        )
    cards.write(cards.make_card(model, fns, "onnx", files, extra), directory)


def write_litert(model, directory, extra=None):
    """``model.tflite`` (one signature per portable endpoint) and the card."""
    fns = graphs.portable(graphs.endpoint_functions(model))
    with tempfile.TemporaryDirectory(dir=directory) as saved:
        _archive(fns).write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=list(fns))
        flatbuffer = converter.convert()
    with open(os.path.join(directory, LITERT_FILE), "wb") as f:
        f.write(flatbuffer)
    files = {name: LITERT_FILE for name in fns}
    cards.write(cards.make_card(model, fns, "litert", files, extra), directory)


WRITERS = {
    "tf_saved_model": write_saved_model,
    "onnx": write_onnx,
    "litert": write_litert,
}
