"""Regenerates the pretrained zoo in this folder.

Every model is trained by the same code as ``keras-ae train`` (the exact
command is written into its card), reloaded without its optimizer state, and
exported with `keras_ae.export_saved_model` into ``<name>/`` (the SavedModel,
with the Keras model at ``<name>/assets.extra/model.keras``). Its test
metrics are recomputed from the exported files, so they are what
``keras_ae.zoo.load(name)`` reproduces; ``card.json``, ``README.md`` and one
picture complete the folder, and ``index.json`` / ``README.md`` list the zoo.

Usage (from a source checkout; a few minutes on 2 CPU cores)::

    python tools/make_zoo.py              # everything
    python tools/make_zoo.py --only vae_digits,aae_digits
    python tools/make_zoo.py --list       # print the table of commands
    python tools/make_zoo.py --reexport   # new export format, same weights
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae.app import cli  # noqa: E402
from keras_ae import datasets  # noqa: E402
from keras_ae import evaluation  # noqa: E402
from keras_ae import zoo  # noqa: E402

ZOO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "saved_models")

# Settings of `keras_ae.evaluation.evaluate` for the cards (and the tests).
EVALUATION = {"num_samples": 100, "seed": 0}

_DIGITS = ["--dataset", "digits", "--latent-dim", "8", "--hidden-units", "64,32",
           "--batch-size", "64"]
# Fashion-MNIST models are kept small (784-64-16) so that the zoo stays small.
_FASHION = ["--dataset", "fashion_mnist", "--latent-dim", "16", "--hidden-units", "64",
            "--batch-size", "128"]

#: name -> (arguments of `keras-ae train`, picture kept in the zoo)
ZOO = {
    "autoencoder_digits": (["autoencoder", *_DIGITS, "--epochs", "100"],
                           "reconstructions.png"),
    "denoising_digits": (["denoising", *_DIGITS, "--noise", "masking:0.3",
                          "--epochs", "100"], "denoising.png"),
    "sparse_digits": (["sparse", "--dataset", "digits", "--latent-dim", "64",
                       "--hidden-units", "none", "--learning-rate", "0.003",
                       "--batch-size", "64", "--epochs", "100"], "reconstructions.png"),
    "stacked_digits": (["stacked", *_DIGITS, "--noise", "masking:0.3", "--epochs", "50",
                        "--learning-rate", "0.003"], "reconstructions.png"),
    "vae_digits": (["vae", *_DIGITS, "--epochs", "100"], "samples.png"),
    "aae_digits": (["aae", *_DIGITS, "--batch-size", "32", "--epochs", "60"],
                   "samples.png"),
    "autoencoder_fashion": (["autoencoder", *_FASHION, "--epochs", "10"],
                            "reconstructions.png"),
    # Gaussian noise: masking without rescaling shifts the mean input and the
    # model then over-brightens clean images (test MSE 0.027 vs 0.014).
    "denoising_fashion": (["denoising", *_FASHION, "--noise", "gaussian:0.3",
                           "--epochs", "10"], "denoising.png"),
    "stacked_fashion": (["stacked", *_FASHION, "--noise", "masking:0.3", "--epochs", "5",
                         "--learning-rate", "0.003"], "reconstructions.png"),
    "vae_fashion": (["vae", *_FASHION, "--epochs", "10"], "samples.png"),
    # With the default optimizers the discriminator wins on Fashion-MNIST
    # (accuracy ~0.96, codes' std ~2: prior_frechet ~21) but reconstructions are
    # good; one learning rate (2e-4 or 3e-4) for all three phases matches the
    # prior (frechet ~6) while the reconstruction degrades (MSE 0.05-0.06).
    "aae_fashion": (["aae", *_FASHION, "--epochs", "20"], "samples.png"),
}


def _dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def _test_split(dataset):
    (_, _), (x_test, _) = datasets.load_data(dataset)
    return x_test


def make_one(name, out_root, work):
    """Trains, exports and documents zoo model ``name``; returns its index entry."""
    argv, picture = ZOO[name]
    run_dir = os.path.join(work, name)
    train_argv = ["train", *argv, "--out", run_dir, "--verbose", "2"]
    start = time.perf_counter()
    code = cli.main(train_argv)
    if code != 0:
        raise SystemExit(f"training {name} failed (exit code {code})")
    with open(os.path.join(run_dir, "card.json"), encoding="utf-8") as f:
        card = json.load(f)
    # Reload without the optimizer state (a third of the size for Adam) and export.
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"), compile=False)
    target = os.path.join(out_root, name)
    keras_ae.export_saved_model(model, target, overwrite=True)
    shutil.copy(os.path.join(run_dir, picture), os.path.join(target, picture))
    card["metrics"] = _shipped_metrics(target, card["dataset"])
    card["evaluation"] = dict(EVALUATION)
    card["name"] = name
    card["command"] = "keras-ae " + shlex.join(
        ["train", *argv, "--out", f"runs/{name}"]
    )
    card["endpoints"] = sorted(keras_ae.export.read_metadata(target)["endpoints"])
    card["files"] = {
        "saved_model": ".",
        "keras": "assets.extra/model.keras",
        "plots": [picture],
        "size_bytes": 0,
    }
    card["training"]["wall_seconds_including_export"] = round(
        time.perf_counter() - start, 1
    )
    _write_card(target, card)
    return _index_entry(name, card)


def reexport_one(name, out_root, work):
    """Rewrites ``<name>/`` from its own ``model.keras`` (same weights, no training).

    For a change of the export format: the card (metrics recomputed from the
    new files, which must agree with the card's to 1e-4, or nothing is
    replaced) and the picture are kept.
    """
    target = os.path.join(out_root, name)
    with open(os.path.join(target, "card.json"), encoding="utf-8") as f:
        card = json.load(f)
    model = keras.models.load_model(
        os.path.join(target, "assets.extra", "model.keras"), compile=False
    )
    staged = os.path.join(work, name)
    keras_ae.export_saved_model(model, staged)
    for filename in card["files"]["plots"]:
        shutil.copy(os.path.join(target, filename), os.path.join(staged, filename))
    metrics = _shipped_metrics(staged, card["dataset"])
    for key, value in card["metrics"].items():
        # Same weights: only the evaluation code may move the last digits.
        if isinstance(value, float) and abs(metrics[key] - value) > 1e-4 * max(1.0, abs(value)):
            raise SystemExit(
                f"{name}: re-exported model gives {key}={metrics[key]!r}, card says {value!r}"
            )
    card["metrics"] = metrics
    card["endpoints"] = sorted(keras_ae.export.read_metadata(staged)["endpoints"])
    _write_card(staged, card)
    shutil.rmtree(target)
    shutil.move(staged, target)
    return _index_entry(name, card)


def _shipped_metrics(directory, dataset):
    """Test metrics of the exported files (what ``zoo.load`` reproduces)."""
    shipped = keras.models.load_model(
        os.path.join(directory, "assets.extra", "model.keras"), compile=False
    )
    shipped.compile()
    return evaluation.evaluate(shipped, _test_split(dataset), **EVALUATION)


def _write_card(directory, card):
    """Writes ``card.json`` and ``README.md``; the recorded size includes them."""
    for _ in range(2):
        card["files"]["size_bytes"] = _dir_size(directory)
        with open(os.path.join(directory, "card.json"), "w", encoding="utf-8") as f:
            json.dump(card, f, indent=2)
        with open(os.path.join(directory, "README.md"), "w", encoding="utf-8") as f:
            f.write(zoo.card_markdown(card))


def _index_entry(name, card):
    """The ``index.json`` entry of a zoo model, from its card."""
    return {
        "name": name,
        "model": card["model"],
        "class": card["class"],
        "title": card["title"],
        "paper": card["paper"],
        "dataset": card["dataset"],
        "latent_dim": card["config"]["latent_dim"],
        "params": card["params"],
        "architecture": card["architecture"],
        "metrics": card["metrics"],
        "size_bytes": card["files"]["size_bytes"],
        "dir": name,
        "files": {
            "keras": f"{name}/assets.extra/model.keras",
            "saved_model": name,
            "card": f"{name}/card.json",
            "readme": f"{name}/README.md",
        },
    }


def write_index(out_root, entries):
    entries = sorted(entries, key=lambda e: list(ZOO).index(e["name"]))
    with open(os.path.join(out_root, zoo.INDEX_FILE), "w", encoding="utf-8") as f:
        json.dump({"format": 1, "models": entries}, f, indent=2)
    lines = [
        "# keras_ae pretrained zoo",
        "",
        "Regenerate with `python tools/make_zoo.py`; list with "
        "`keras-ae zoo list`, read a card with `keras-ae zoo show NAME`, load with "
        "`keras_ae.zoo.load(NAME)` / `keras_ae.zoo.load_encoder(NAME)`.",
        "Every folder is a TF SavedModel export (`tf.saved_model.load(folder)`) "
        "holding the Keras model at `assets.extra/model.keras` and its model card.",
        "Metrics are on the test split; `bce` reconstruction losses are nats per "
        "example (summed over pixels).",
        "",
        "| name | model | data | architecture | params | rec. loss | MSE | other | size |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        m = e["metrics"]
        other = []
        for key in ("log_likelihood", "denoising_mse", "prior_frechet", "mean_activation"):
            if key in m:
                other.append(f"{key} {m[key]:.4g}")
        lines.append(
            f"| [{e['name']}]({e['name']}/README.md) | {e['class']} | {e['dataset']} | "
            f"{e['architecture'].split(' (')[0]} | {e['params']:,} | "
            f"{m['reconstruction_loss']:.2f} | {m['mse']:.4f} | {', '.join(other)} | "
            f"{e['size_bytes'] / 1e6:.2f} MB |"
        )
    total = sum(e["size_bytes"] for e in entries)
    lines += ["", f"Total: {len(entries)} models, {total / 1e6:.1f} MB."]
    with open(os.path.join(out_root, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated names (default: all)")
    parser.add_argument("--out", default=ZOO_DIR, help="zoo folder (default: saved_models/)")
    parser.add_argument("--list", action="store_true", help="print the commands and exit")
    parser.add_argument("--reexport", action="store_true",
                        help="rewrite the SavedModels from their model.keras files "
                             "(same weights, metrics checked against the cards)")
    args = parser.parse_args(argv)
    if args.list:
        for name, (train_argv, _) in ZOO.items():
            print(f"{name:<22} keras-ae train {shlex.join(train_argv)}")
        return 0
    names = list(ZOO) if not args.only else args.only.split(",")
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        parser.error(f"unknown zoo names: {unknown}")
    index_path = os.path.join(args.out, zoo.INDEX_FILE)
    entries = {}
    if os.path.exists(index_path):
        with open(index_path, encoding="utf-8") as f:
            entries = {e["name"]: e for e in json.load(f)["models"] if e["name"] in ZOO}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            t0 = time.perf_counter()
            make = reexport_one if args.reexport else make_one
            entries[name] = make(name, args.out, work)
            print(f"== {name}: {time.perf_counter() - t0:.0f}s", flush=True)
    write_index(args.out, list(entries.values()))
    print(f"zoo written to {args.out} in {time.perf_counter() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
