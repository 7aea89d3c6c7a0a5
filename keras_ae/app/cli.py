"""The ``keras-ae`` command line (also ``python -m keras_ae``).

Subcommands::

    keras-ae demo [--out DIR] [--quick | --epochs-scale F] [--models a,b]
    keras-ae train MODEL --dataset NAME|PATH.npz [--latent-dim N]
                   [--hidden-units 512,256] [--noise KIND[:LEVEL]] [--epochs N]
                   [--batch-size N] [--out DIR]
    keras-ae evaluate PATH --dataset NAME|PATH.npz [--json]
    keras-ae export PATH OUT [--overwrite]
    keras-ae score PATH --dataset NAME|PATH.npz [--fpr 0.05] [--kind KIND]
    keras-ae zoo list | keras-ae zoo show NAME

Errors in arguments or files (unknown model, missing or malformed ``.npz``,
data of the wrong shape...) print one line on stderr and exit with status 1
(2 for command-line syntax errors, as argparse does). Set
``KERAS_AE_DEBUG=1`` to get the full traceback instead.
"""

import argparse
import json
import os
import shlex
import sys
import time
import zipfile

import numpy as np

from keras_ae.app import startup
from keras_ae import atomic

EXIT_ERROR = 1
DEFAULT_DEMO_OUT = "demo_out"
DEMO_HIDDEN_UNITS = (64, 32)
DEMO_BATCH_SIZE = 64


def _quiet_tensorflow():
    """Hides TensorFlow's info logs and retracing warnings (CLI only)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


class CommandError(ValueError):
    """A user error reported as one line by `main`."""


# ---------------------------------------------------------------- helpers
def _units(text):
    """``"512,256"`` -> ``(512, 256)``; ``""`` or ``"none"`` -> ``()``."""
    text = text.strip()
    if text.lower() in ("", "none"):
        return ()
    try:
        units = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 512,256, got {text!r}"
        ) from None
    if any(u <= 0 for u in units):
        raise argparse.ArgumentTypeError(f"units must be positive, got {text!r}")
    return units


def _positive(cast, kind):
    """argparse type: ``cast(text)``, which must be > 0 (``kind`` names it in errors)."""

    def parse(text):
        try:
            value = cast(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind}, got {text!r}")
        return value

    parse.__name__ = f"positive {kind}"
    return parse


_positive_int = _positive(int, "integer")
_positive_float = _positive(float, "number")


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(rows, columns):
    """Plain-text table of dict ``rows`` over ``columns`` (missing cells: ``-``)."""
    cells = [[_format_value(row.get(c, "-")) if row.get(c) is not None else "-"
              for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _load_model(path):
    """Loads a ``.keras`` file, a run folder holding ``model.keras`` or a zoo name."""
    import keras

    from keras_ae import zoo
    from keras_ae.models import BaseAutoencoder

    path = os.fspath(path)
    if not os.path.exists(path):
        try:
            names = zoo.list()
        except OSError:
            names = []
        if path in names:
            return zoo.load(path)
        raise FileNotFoundError(
            f"No such model file, run folder or zoo model: {path!r}"
        )
    if os.path.isdir(path):
        inner = os.path.join(path, "model.keras")
        if os.path.isfile(inner):
            path = inner
        elif os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise CommandError(
                f"{path!r} is a SavedModel export (for serving); this command needs "
                "the .keras file (keras-ae writes it next to the export as model.keras)"
            )
        else:
            raise FileNotFoundError(f"No model.keras in the folder {path!r}")
    if not zipfile.is_zipfile(path):
        raise CommandError(
            f"{path!r} is not a .keras model file: not a zip archive (truncated or corrupt?)"
        )
    try:
        model = keras.models.load_model(path)
    except Exception as e:  # any unreadable file: corrupt, truncated, tampered
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CommandError(
            f"Could not read {path!r} as a keras_ae .keras model file (corrupt, "
            f"truncated or not a .keras file): {reason}"
        ) from None
    if not isinstance(model, BaseAutoencoder):
        raise CommandError(
            f"{path!r} holds a {type(model).__name__}, not a keras_ae model"
        )
    return model


# ------------------------------------------------------------------- demo
def cmd_demo(args):
    from keras_ae import datasets
    from keras_ae.app import recipes

    scale = 0.05 if args.quick else args.epochs_scale
    wanted = None
    if args.models:
        wanted = [recipes.get(n).name for n in args.models.split(",") if n.strip()]
    atomic.refuse_existing(os.path.abspath(args.out), args.overwrite, "demo", flag="--overwrite")
    data = datasets.load_dataset("digits")
    print(f"keras-ae demo: {data.describe()}")
    print(f"writing to {os.path.abspath(args.out)}/")
    with atomic.directory(args.out) as tmp:
        rows, wall = _demo_runs(args, data, scale, wanted, tmp)
    return _demo_report(args, rows, wall)


def _demo_runs(args, data, scale, wanted, out):
    """Trains the demo models into ``out``; writes the summary files."""
    from keras_ae.app import run
    from keras_ae.app import recipes

    rows = []
    start = time.perf_counter()
    for recipe in recipes.RECIPES:
        if wanted is not None and recipe.name not in wanted:
            continue
        settings = dict(recipe.demo)
        epochs = max(1, int(round(settings.pop("epochs", 30) * scale)))
        t0 = time.perf_counter()
        card, _, _ = run.run(
            recipe, data, os.path.join(out, recipe.name),
            latent_dim=settings.get("latent_dim", 8),
            hidden_units=settings.get("hidden_units", DEMO_HIDDEN_UNITS),
            epochs=epochs, batch_size=settings.get("batch_size", DEMO_BATCH_SIZE),
            learning_rate=settings.get("learning_rate"), seed=args.seed, verbose=0,
            export=not args.no_export, command="keras-ae demo", log=print,
        )
        seconds = time.perf_counter() - t0
        row = _summary_row(card, seconds)
        rows.append(row)
        print(f"  {recipe.name:<12} {epochs:>3} epochs  {seconds:5.1f}s  "
              f"test mse={row['mse']:.4f}")
    wall = time.perf_counter() - start
    summary = {
        "dataset": data.describe(),
        "epochs_scale": scale,
        "wall_seconds": round(wall, 1),
        "models": rows,
    }
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as f:
        f.write(_summary_markdown(summary))
    return rows, wall


def _demo_report(args, rows, wall):
    print()
    print(format_table(rows, _SUMMARY_COLUMNS))
    print(f"\ndone in {wall:.0f}s: {os.path.join(args.out, 'summary.md')}")
    return 0


_SUMMARY_COLUMNS = ("model", "latent_dim", "params", "epochs", "seconds",
                    "reconstruction_loss", "mse", "denoising_mse", "log_likelihood",
                    "prior_frechet")


def _summary_row(card, seconds):
    row = {
        "model": card["model"],
        "class": card["class"],
        "latent_dim": card["config"].get("latent_dim"),
        "params": card["params"],
        "epochs": card["training"]["epochs"],
        "seconds": round(seconds, 1),
    }
    row.update(card["metrics"])
    row["files"] = {k: f"{card['model']}/{v}" if isinstance(v, str)
                    else [f"{card['model']}/{p}" for p in v]
                    for k, v in card["files"].items()}
    return row


def _summary_markdown(summary):
    lines = ["# keras-ae demo", "", summary["dataset"], "",
             f"Wall time: {summary['wall_seconds']} s "
             f"(epochs scaled by {summary['epochs_scale']}).", ""]
    columns = [c for c in _SUMMARY_COLUMNS
               if any(row.get(c) is not None for row in summary["models"])]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in summary["models"]:
        lines.append("| " + " | ".join(
            _format_value(row[c]) if row.get(c) is not None else "-" for c in columns
        ) + " |")
    lines.append("\nMetrics are on the 297 test digits; see `keras_ae.evaluation` "
                 "for their definitions.\n")
    for row in summary["models"]:
        lines.append(f"## {row['model']} ({row['class']})\n")
        for png in row["files"].get("plots", []):
            lines.append(f"![{os.path.basename(png)}]({png})")
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------ train
def cmd_train(args):
    from keras_ae.app import run
    from keras_ae import datasets
    from keras_ae.app import recipes

    recipe = recipes.get(args.model)
    recipes.parse_noise(args.noise)
    if args.noise is not None and not recipe.noisy:
        raise CommandError(
            f"--noise only applies to the denoising and stacked models, not {recipe.name!r}"
        )
    data = datasets.load_dataset(args.dataset, flatten=args.architecture != "conv")
    out = args.out or os.path.join("runs", f"{recipe.name}_{data.name}")
    atomic.refuse_existing(os.path.abspath(out), args.overwrite, "run", flag="--overwrite")
    print(f"keras-ae train {recipe.name}: {data.describe()}")
    card, _, _ = run.run(
        recipe, data, out, latent_dim=args.latent_dim, hidden_units=args.hidden_units,
        noise=args.noise, architecture=args.architecture, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
        verbose=args.verbose,
        export=not args.no_export, plots=not args.no_plots,
        command="keras-ae " + shlex.join(args.argv), log=print, overwrite=args.overwrite,
    )
    print(format_table([card["metrics"]], list(card["metrics"])))
    print(f"wrote {os.path.abspath(out)}/ ({', '.join(_files_list(card['files']))})")
    return 0


def _files_list(files):
    out = []
    for value in files.values():
        out.extend([value] if isinstance(value, str) else value)
    return out


# --------------------------------------------------------------- evaluate
def cmd_evaluate(args):
    from keras_ae import datasets
    from keras_ae import evaluation

    model = _load_model(args.path)
    data = datasets.load_dataset(args.dataset, flatten=len(model.input_shape) == 1)
    x = data.x_test if args.split == "test" else data.x_train
    x = datasets.fit_to_model(x, model.input_shape)
    metrics = evaluation.evaluate(model, x, num_samples=args.num_samples, seed=args.seed)
    if args.json:
        print(json.dumps({"model": type(model).__name__, "dataset": data.name,
                          "split": args.split, "examples": int(len(x)),
                          "metrics": metrics}, indent=2))
        return 0
    print(f"{type(model).__name__} on {data.name} ({args.split}, {len(x)} examples)")
    rows = [{"metric": k, "value": v, "meaning": evaluation.describe(k)}
            for k, v in metrics.items()]
    print(format_table(rows, ("metric", "value", "meaning")))
    return 0


# ------------------------------------------------------------------ score
def cmd_score(args):
    """Fits a threshold on normal data, scores the test split, writes CSV + histogram."""
    from keras_ae import datasets
    from keras_ae import anomaly

    model = _load_model(args.path)
    flatten = len(model.input_shape) == 1
    data = datasets.load_dataset(args.dataset, flatten=flatten)
    normal = data if args.normal is None else datasets.load_dataset(args.normal, flatten=flatten)
    x_normal = datasets.fit_to_model(normal.x_train, model.input_shape)
    x = datasets.fit_to_model(data.x_test if args.split == "test" else data.x_train,
                               model.input_shape)
    out = args.out or os.path.join(
        os.path.dirname(os.path.abspath(args.path)) if os.path.isfile(args.path) else args.path,
        "scores",
    )
    atomic.refuse_existing(os.path.abspath(out), args.overwrite, "scores", flag="--overwrite")
    detector = anomaly.Detector(
        model, score=args.kind, standardize=args.standardize
    ).fit_threshold(x_normal, fpr=args.fpr)
    scores = detector.score(x)
    flags = scores > detector.threshold
    with atomic.directory(out) as tmp:
        with open(os.path.join(tmp, "scores.csv"), "w", encoding="utf-8") as f:
            f.write("index,score,anomaly,probability\n")
            for i, (value, flag, prob) in enumerate(
                zip(scores, flags, detector.predict_proba(x))
            ):
                f.write(f"{i},{value:.8g},{int(flag)},{prob:.6g}\n")
        with open(os.path.join(tmp, "threshold.json"), "w", encoding="utf-8") as f:
            json.dump({"kind": args.kind, "standardize": args.standardize,
                       "fpr": args.fpr, "threshold": detector.threshold,
                       "normal_data": normal.describe(), "scored": data.describe(),
                       "split": args.split, "flagged": int(flags.sum()),
                       "examples": int(len(x))}, f, indent=2)
        _score_histogram(scores, scores_normal=detector.calibration_scores,
                         threshold=detector.threshold, kind=args.kind,
                         path=os.path.join(tmp, "score_histogram.png"))
    print(f"{type(model).__name__}: {args.kind} scores of {len(x)} {args.split} examples; "
          f"threshold {detector.threshold:.6g} (fpr {args.fpr:g} on {len(x_normal)} normal "
          f"examples); {int(flags.sum())} flagged")
    print(f"wrote {os.path.abspath(out)}/ (scores.csv, threshold.json, score_histogram.png)")
    return 0


def _score_histogram(scores, scores_normal, threshold, kind, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.add_subplot()
    values = np.concatenate([scores, scores_normal])
    bins = np.histogram_bin_edges(values[np.isfinite(values)], bins=50)
    ax.hist(scores_normal, bins=bins, alpha=0.6, label="normal (threshold fit)", density=True)
    ax.hist(scores, bins=bins, alpha=0.6, label="scored", density=True)
    ax.axvline(threshold, color="black", linestyle="--", label="threshold")
    ax.set_xlabel(f"{kind} score")
    ax.set_ylabel("density")
    ax.legend()
    fig.savefig(path, dpi=100)


# ----------------------------------------------------------------- export
def cmd_export(args):
    from keras_ae import export

    if os.path.lexists(args.out) and not args.overwrite:
        raise CommandError(f"{args.out!r} already exists; pass --overwrite to replace it")
    model = _load_model(args.path)
    export.export_model(model, args.out, format=args.format, overwrite=args.overwrite,
                        card=_run_card_facts(args.path))
    print(f"exported {type(model).__name__} ({args.format}) to {os.path.abspath(args.out)}/")
    return 0


def _run_card_facts(path):
    """The data and test metrics of a run folder (from its card.json), else None."""
    card_path = os.path.join(os.fspath(path), "card.json")
    if not os.path.isfile(card_path):
        return None
    with open(card_path, encoding="utf-8") as f:
        card = json.load(f)
    return {"data": card.get("dataset"), "metrics": card.get("metrics")}


# -------------------------------------------------------------------- zoo
def cmd_zoo_list(args):
    from keras_ae import zoo

    entries = zoo.entries()
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    rows = []
    for e in entries:
        m = e.get("metrics", {})
        rows.append({"name": e["name"], "class": e["class"], "dataset": e["dataset"],
                     "latent_dim": e.get("latent_dim"), "params": e.get("params"),
                     "rec_loss": m.get("reconstruction_loss"), "mse": m.get("mse")})
    print(format_table(rows, ("name", "class", "dataset", "latent_dim", "params",
                              "rec_loss", "mse")))
    print(f"\n{len(rows)} models in {zoo.location()}; `keras-ae zoo show NAME` for a card")
    return 0


def cmd_zoo_show(args):
    from keras_ae import zoo

    if args.json:
        print(json.dumps(zoo.card(args.name), indent=2))
        return 0
    with open(zoo.path_of(args.name, "readme"), encoding="utf-8") as f:
        print(f.read().rstrip())
    print(f"\nfiles: {zoo.path_of(args.name)}")
    return 0


# ----------------------------------------------------------------- parser
def build_parser():
    """The argparse parser of ``keras-ae``."""
    parser = argparse.ArgumentParser(
        prog="keras-ae",
        description="Autoencoders in Keras 3: train, evaluate, export, and the "
        "pretrained zoo.",
        epilog="Run `keras-ae COMMAND --help` for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="train every model of the zoo on the embedded digits",
        description="Trains every model type on the embedded 8x8 digits (small "
        "budgets, about two minutes on 2 CPU cores) and writes, per model, the "
        ".keras file, a SavedModel export, pictures and metrics, plus "
        "summary.md/summary.json.",
    )
    demo.add_argument("--out", default=DEFAULT_DEMO_OUT,
                      help=f"output directory (default: {DEFAULT_DEMO_OUT})")
    demo.add_argument("--overwrite", action="store_true",
                      help="replace an existing, non-empty output directory")
    budget = demo.add_mutually_exclusive_group()
    budget.add_argument("--epochs-scale", type=_positive_float, default=1.0, metavar="F",
                        help="multiply every model's epochs by F (default: 1)")
    budget.add_argument("--quick", action="store_true",
                        help="a few epochs per model (smoke test, poor models)")
    demo.add_argument("--models", metavar="A,B",
                      help="only these models (default: all), e.g. autoencoder,vae")
    demo.add_argument("--no-export", action="store_true", help="skip SavedModel exports")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    _add_backend_argument(demo)
    demo.set_defaults(func=cmd_demo)

    from keras_ae.app import recipes

    train = sub.add_parser(
        "train", help="train one model on a named dataset or your .npz",
        description="Trains MODEL on a named dataset (digits, fashion_mnist, "
        "mnist) or on a .npz file (keys x_train[, x_test, y_train, y_test] or x[, "
        "y]; uint8 pixels or floats in [0, 1]; read without pickles). Writes "
        "model.keras, saved_model/, history.csv, TensorBoard logs/, pictures "
        "and card.json into --out.",
        epilog="Models: " + ", ".join(
            f"{r.name} ({r.title})" for r in recipes.RECIPES
        ),
    )
    train.add_argument("model", metavar="MODEL",
                       help="one of: " + ", ".join(recipes.names()))
    train.add_argument("--dataset", required=True, metavar="NAME|PATH.npz",
                       help="digits, fashion_mnist, mnist, or a path to an .npz file")
    train.add_argument("--latent-dim", type=_positive_int, metavar="N",
                       help="code size (default: 32)")
    train.add_argument("--hidden-units", type=_units, metavar="U1,U2",
                       help="hidden layer sizes, e.g. 512,256 (default: 512,256 dense, "
                       "32,64 conv)")
    train.add_argument("--architecture", choices=("dense", "conv"), default="dense",
                       help="dense (default) or conv networks")
    train.add_argument("--noise", metavar="KIND[:LEVEL]",
                       help="corruption of the denoising/stacked models: masking, "
                       "gaussian or salt_and_pepper, e.g. masking:0.3")
    train.add_argument("--epochs", type=_positive_int, default=10, help="(default: 10)")
    train.add_argument("--batch-size", type=_positive_int, default=128,
                       help="(default: 128)")
    train.add_argument("--learning-rate", type=_positive_float, metavar="LR",
                       help="Adam learning rate (default: 1e-3)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--out", metavar="DIR",
                       help="output directory (default: runs/MODEL_DATASET)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace an existing run in --out (kept intact until the new one is complete)")
    train.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    train.add_argument("--no-plots", action="store_true", help="skip the pictures")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                       help="Keras fit verbosity: 0 silent, 1 progress bar (default), "
                       "2 one line per epoch")
    _add_backend_argument(train)
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser(
        "evaluate", help="test metrics of a trained model",
        description="Reconstruction loss and per-feature MSE of a trained model "
        "(plus -ELBO and log-likelihood for a VAE, code statistics for an AAE, "
        "denoising MSE for a denoising AE) on a dataset's test split.",
    )
    evaluate.add_argument("path", metavar="PATH",
                          help="a .keras file, a run folder holding model.keras, or a "
                          "zoo name")
    evaluate.add_argument("--dataset", required=True, metavar="NAME|PATH.npz",
                          help="digits, fashion_mnist, mnist, or a path to an .npz file")
    evaluate.add_argument("--split", choices=("test", "train"), default="test",
                          help="(default: test)")
    evaluate.add_argument("--num-samples", type=_positive_int, default=100, metavar="K",
                          help="importance samples for a VAE's log-likelihood "
                          "(default: 100)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the estimates")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.set_defaults(func=cmd_evaluate)

    export = sub.add_parser(
        "export", help="export a model for serving (SavedModel, ONNX, LiteRT)",
        description="Exports a .keras model (or run folder, or zoo name) with endpoints "
        "encode, decode, reconstruct (+ encode_distribution for a VAE, "
        "sample_from_noise for generative models) in one format; see keras_ae.export.",
    )
    export.add_argument("path", metavar="PATH", help="a .keras file, run folder or zoo name")
    export.add_argument("out", metavar="OUT", help="the export directory to create")
    export.add_argument("--format", default="tf_saved_model",
                        choices=("tf_saved_model", "onnx", "litert"),
                        help="tf_saved_model (default; a directory for tf.saved_model.load "
                        "and TF Serving), onnx (one .onnx per endpoint) or litert "
                        "(model.tflite with one signature per endpoint)")
    export.add_argument("--overwrite", action="store_true",
                        help="replace OUT if it exists")
    export.set_defaults(func=cmd_export)

    score = sub.add_parser(
        "score", help="anomaly scores and flags of a dataset (CSV + histogram)",
        description="Fits an anomaly threshold at --fpr on normal data (the training split "
        "of --normal, default --dataset) and writes the scores and flags of --split.",
    )
    score.add_argument("path", help="a .keras file, a run folder or a zoo name")
    score.add_argument("--dataset", required=True, help="dataset name or .npz to score")
    score.add_argument("--normal", default=None,
                       help="normal data for the threshold (default: --dataset's training split)")
    score.add_argument("--split", choices=("test", "train"), default="test")
    score.add_argument("--kind", default="reconstruction",
                       help="score: reconstruction, negative_log_likelihood, negative_elbo "
                            "(VAE), prior_negative_log_density (AAE)")
    score.add_argument("--standardize", action="store_true",
                       help="reconstruction errors in standardised units: each feature's "
                            "squared error over (std of the normal data + 0.1)^2")
    score.add_argument("--fpr", type=_positive_float, default=0.05,
                       help="target false-positive rate on normal data (default 0.05)")
    score.add_argument("--out", default=None, help="output folder (default: RUN/scores)")
    score.add_argument("--overwrite", action="store_true")
    score.set_defaults(func=cmd_score)

    zoo = sub.add_parser("zoo", help="the pretrained models",
                         description="List the pretrained models or show a model card.")
    zoo_sub = zoo.add_subparsers(dest="zoo_command", required=True, metavar="ACTION")
    zoo_list = zoo_sub.add_parser("list", help="list the pretrained models",
                                  description="List the pretrained models and their "
                                  "test metrics.")
    zoo_list.add_argument("--json", action="store_true", help="print JSON")
    zoo_list.set_defaults(func=cmd_zoo_list)
    zoo_show = zoo_sub.add_parser("show", help="show a model card",
                                  description="Show the model card of a pretrained model.")
    zoo_show.add_argument("name", metavar="NAME", help="a name from `keras-ae zoo list`")
    zoo_show.add_argument("--json", action="store_true", help="print the card as JSON")
    zoo_show.set_defaults(func=cmd_zoo_show)
    return parser


def _one_line(error):
    if isinstance(error, KeyError) and error.args:
        text = str(error.args[0])
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def _add_backend_argument(parser):
    parser.add_argument(
        "--backend",
        choices=startup.BACKENDS,
        default=None,
        help="Keras backend to train on (default: KERAS_BACKEND if set, else "
        "the fastest installed: jax, then tensorflow)",
    )


def _check_backend(args):
    """Prints the backend in use; refuses a --backend that cannot apply."""
    import keras

    current = keras.backend.backend()
    wanted = getattr(args, "backend", None)
    if wanted and wanted != current:
        raise CommandError(
            f"--backend {wanted} was requested but Keras already runs on {current} in this "
            "process; run the keras-ae command itself, or set KERAS_BACKEND before Python starts"
        )
    if args.command in ("demo", "train"):
        print(f"keras-ae: Keras backend {current}")


def main(argv=None):
    """Runs ``keras-ae`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    _quiet_tensorflow()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        _check_backend(args)
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("keras-ae: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as error:
        if os.environ.get("KERAS_AE_DEBUG"):
            raise
        print(f"keras-ae {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
