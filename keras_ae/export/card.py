"""The model card that travels with every export (JSON and Markdown)."""

import datetime
import json
import os

import keras

from keras_ae.export.paths import CARD_JSON
from keras_ae.export.paths import CARD_MARKDOWN
FORMAT = "keras_ae.export"
FORMAT_VERSION = 2

_ARCHITECTURE_KEYS = (
    "input_shape", "latent_dim", "hidden_units", "layer_units", "activation",
    "output_activation", "reconstruction_loss", "architecture", "tied_weights",
    "likelihood", "beta", "noise", "noise_level", "sparsity", "prior",
)


def _versions():
    from keras_ae.version import __version__

    versions = {"keras_ae": __version__, "keras": keras.__version__}
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:  # pragma: no cover - exports always run on TensorFlow
        pass
    return versions


def _architecture(model):
    config = model.get_config()
    out = {"model_class": type(model).__name__}
    for key in _ARCHITECTURE_KEYS:
        if key in config and config[key] is not None:
            value = config[key]
            if isinstance(value, dict):  # a serialized object (prior, sparsity)
                value = {"class_name": value.get("class_name"), "config": value.get("config")}
            out[key] = value
    return out


def _input_range(model):
    if model.reconstruction_loss == "bce":
        return "float32 in [0, 1] (pixel intensities / probabilities)"
    return "float32, real values on the scale of the training data"


def _shape(shape):
    return [None if d is None else int(d) for d in shape]


def make_card(model, fns, fmt, files, extra=None):
    """The card of an export of ``model``.

    Args:
        model: the exported keras_ae model.
        fns: the exported functions (`keras_ae.export.graphs.endpoint_functions`).
        fmt: the format name.
        files: dict ``endpoint -> file`` inside the export (formats with one
            file per endpoint) or ``None``.
        extra: optional dict with ``data`` and ``metrics`` (and any other
            entries) describing the training run.

    Returns:
        A JSON-serialisable dict.
    """
    endpoints = {}
    for name, (_, signature, endpoint) in fns.items():
        inputs = {s.name: {"shape": _shape(s.shape), "dtype": s.dtype.name} for s in signature}
        entry = {"inputs": inputs}
        if endpoint is None:  # `sample`: sample_seeded with a fresh seed
            entry["outputs"] = fns["sample_seeded"][2].outputs
            entry["description"] = "n decoded prior samples, a new draw every call"
            entry["random"] = True
        else:
            entry["outputs"] = dict(endpoint.outputs)
            entry["description"] = endpoint.description
            entry["random"] = endpoint.random
        if files is not None:
            entry["file"] = files[name]
        endpoints[name] = entry
    extra = dict(extra or {})
    card = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "export_format": fmt,
        "model_class": type(model).__name__,
        "registered_name": keras.saving.get_registered_name(type(model)),
        "input_shape": [int(d) for d in model.input_shape_],
        "latent_dim": int(model.latent_dim),
        "generative": bool(model.generative),
        "architecture": _architecture(model),
        "input_range": _input_range(model),
        "data": extra.pop("data", None),
        "metrics": extra.pop("metrics", None),
        "endpoints": endpoints,
        "default_endpoint": "encode",
        "versions": _versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if model.generative:
        card["prior_noise"] = {
            k: {"distribution": v["distribution"], "shape": list(v["shape"])}
            for k, v in model.prior_noise_spec().items()
        }
    card.update(extra)
    return card


def markdown(card):
    """The card as Markdown."""
    arch = ", ".join(f"{k}={v}" for k, v in card["architecture"].items() if k != "model_class")
    lines = [
        f"# {card['model_class']} ({card['export_format']})",
        "",
        f"- Architecture: {card['model_class']}({arch})",
        f"- Input: shape (batch,) + {tuple(card['input_shape'])}, {card['input_range']}",
        f"- Data: {card['data'] or 'not recorded'}",
        f"- Metrics: {json.dumps(card['metrics']) if card['metrics'] else 'not recorded'}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in card["versions"].items()),
        "",
        "| endpoint | inputs | outputs | what it returns |",
        "|---|---|---|---|",
    ]
    for name, e in card["endpoints"].items():
        inputs = ", ".join(f"`{k}` {tuple(v['shape'])} {v['dtype']}" for k, v in e["inputs"].items())
        outputs = ", ".join(f"`{k}` {v}" for k, v in e["outputs"].items())
        where = f" (`{e['file']}`)" if "file" in e else ""
        lines.append(f"| `{name}`{where} | {inputs} | {outputs} | {e['description']} |")
    if "prior_noise" in card:
        lines += ["", "`sample_from_noise` takes standard noise: `normal` is N(0, 1), "
                  "`uniform` is uniform on [0, 1)."]
    return "\n".join(lines) + "\n"


def write(card, directory):
    """Writes ``model_card.json`` and ``model_card.md`` into ``directory``."""
    with open(os.path.join(directory, CARD_JSON), "w") as f:
        json.dump(card, f, indent=2)
    with open(os.path.join(directory, CARD_MARKDOWN), "w") as f:
        f.write(markdown(card))
