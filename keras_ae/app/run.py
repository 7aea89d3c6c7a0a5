"""One training run of ``keras-ae``: data, fit, save, export, metrics, plots, card.

`load_dataset` reads a named dataset or a user's ``.npz``; `run` trains one
recipe and writes everything a run promises into its output folder:

```
OUT/model.keras        the trained model (with optimizer state)
OUT/saved_model/       TF SavedModel export (encode, decode, reconstruct[, sample])
OUT/history.csv        per-epoch metrics (keras.callbacks.CSVLogger)
OUT/logs/              TensorBoard logs (train/ and validation/ runs)
OUT/*.png              pictures (keras_ae.plotting)
OUT/card.json          what was trained, how, and its test metrics
```

The same code path serves ``keras-ae train``, ``keras-ae demo`` and the zoo
regeneration script, so a model card's ``command`` reproduces it.
"""

import datetime
import json
import os
import time

import keras

from keras_ae import atomic
from keras_ae import evaluation
from keras_ae.export import export_saved_model
from keras_ae import networks
from keras_ae.app import recipes
from keras_ae.version import __version__
from keras_ae.app.tensorboard import tensorboard_callback

def architecture_summary(model):
    """A one-line description such as ``dense 64-64-32-8, relu; sigmoid output, bce``."""
    hidden = getattr(model, "hidden_units", None)
    kind = getattr(model, "architecture", "dense")
    if hidden is None:
        hidden = networks.DEFAULT_HIDDEN_UNITS.get(kind, ())
    input_shape = tuple(model.input_shape)
    head = "x".join(map(str, input_shape))
    sizes = "-".join(str(v) for v in (head, *hidden, model.latent_dim))
    return (
        f"{kind} {sizes} ({model.activation}), mirrored decoder, "
        f"{model.output_activation} output, {model.reconstruction_loss} loss"
    )


def _versions():
    import tensorflow as tf

    return {"keras_ae": __version__, "keras": keras.__version__,
            "tensorflow": tf.__version__}


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda v: repr(v)))


def run(recipe, data, out, *, latent_dim=None, hidden_units=None, noise=None,
        architecture=None, epochs=10, batch_size=128, learning_rate=None, seed=0,
        verbose="auto", export=True, plots=True, command=None, log=print,
        overwrite=False):
    """Trains ``recipe`` on ``data`` and writes the run's files into ``out``.

    The run is written into a temporary folder beside ``out`` and moved into
    place only when complete: an interrupted or failed run leaves a previous
    run in ``out`` intact, and no half-written folder. An existing non-empty
    ``out`` is replaced only with ``overwrite=True``.

    Returns:
        ``(card, model, history)``; the card (a dict) is also written to
        ``out/card.json``.
    """
    recipe = recipes.get(recipe) if isinstance(recipe, str) else recipe
    atomic.refuse_existing(os.path.abspath(out), overwrite, "run", flag="--overwrite")
    with atomic.directory(out) as tmp:
        return _run_into(recipe, data, tmp, latent_dim=latent_dim, hidden_units=hidden_units,
                         noise=noise, architecture=architecture, epochs=epochs,
                         batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                         verbose=verbose, export=export, plots=plots, command=command,
                         log=log)


def _run_into(recipe, data, out, *, latent_dim, hidden_units, noise, architecture, epochs,
              batch_size, learning_rate, seed, verbose, export, plots, command, log):
    callbacks = [
        keras.callbacks.CSVLogger(os.path.join(out, "history.csv")),
        tensorboard_callback(os.path.join(out, "logs")),
    ]
    start = time.perf_counter()
    model, history = recipes.train(
        recipe, data.x_train, data.x_test, input_shape=data.input_shape,
        latent_dim=latent_dim, hidden_units=hidden_units, noise=noise,
        architecture=architecture, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed, callbacks=callbacks, verbose=verbose,
    )
    train_seconds = time.perf_counter() - start
    files = {"keras": "model.keras", "history": "history.csv", "logs": "logs"}
    model.save(os.path.join(out, "model.keras"))
    if export:
        export_saved_model(model, os.path.join(out, "saved_model"))
        files["saved_model"] = "saved_model"
    metrics = evaluation.evaluate(model, data.x_test, seed=seed)
    if plots:
        from keras_ae.app import figures

        files["plots"] = figures.make_all(model, recipe, data, history, out, log=log)
    card = {
        "model": recipe.name,
        "class": model.__class__.__name__,
        "title": recipe.title,
        "paper": recipe.paper,
        "purpose": recipe.purpose,
        "dataset": data.name,
        "data": {
            "source": data.source,
            "description": data.describe(),
            "num_train": int(len(data.x_train)),
            "num_test": int(len(data.x_test)),
            "input_shape": list(data.input_shape),
            "image_shape": None if data.image_shape is None else list(data.image_shape),
        },
        "architecture": architecture_summary(model),
        "params": int(model.count_params()),
        "config": _jsonable(model.get_config()),
        "training": {
            "epochs": int(epochs),
            "batch_size": int(batch_size),
            "optimizer": f"Adam(learning_rate={learning_rate or 1e-3:g})",
            "seed": int(seed),
            "seconds": round(train_seconds, 2),
            "final": {k: float(v[-1]) for k, v in history.history.items()},
            "validation": "the test split (monitoring only; no early stopping or selection)",
        },
        "command": command,
        "metrics": metrics,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "versions": _versions(),
        "files": files,
    }
    with open(os.path.join(out, "card.json"), "w", encoding="utf-8") as f:
        json.dump(card, f, indent=2)
    return card, model, history
