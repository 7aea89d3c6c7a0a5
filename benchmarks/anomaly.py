"""Anomaly detection and the contractive autoencoder on Fashion-MNIST.

Three measurements (dense 784-256-32 networks, Adam 1e-3, batch 128, Keras
backend of your choice; JAX is the fastest on CPU):

* ``contractive``: `ContractiveAutoencoder` against a plain `Autoencoder`
  with the same networks, trained on the whole training set: test
  reconstruction loss, the exact test ``||J_f(x)||_F^2`` of the encoder
  (ratio CAE / AE), and how far the codes move under small Gaussian input
  noise (absolute, and relative to the distance between the codes of two
  random test images).
* ``fpr``: one-class setup (one class normal): a `keras_ae.anomaly.Detector`
  with ``fit_threshold(x_heldout_normal, fpr=0.05)``; the false-positive rate
  it gives on the normal test images, its recall on the other classes and
  the ROC AUC.
* ``auc``: one-class ROC AUC with each class normal in turn, for the
  autoencoder's reconstruction error (plain, and standardised by the
  spread of the normal training data: ``Detector(standardize=True)``), the
  VAE's ``-log p(x)`` (importance-weighted) and reconstruction errors, and
  the contractive autoencoder's reconstruction error, with each method's
  training seconds (wall and process CPU); optionally pyod's ``AutoEncoder`` and alibi-detect's ``OutlierAE``,
  each run by its own Python (``--pyod-python``, ``--alibi-python``: the
  interpreters of virtualenvs where those packages are installed) on the
  same data, passed through a temporary ``.npz`` file.
* ``offset``: the ``scale_offset`` of standardised reconstruction errors,
  chosen on a validation split of the training set (held-out normal images
  and other classes' training images), the test AUC printed beside.

Usage::

    KERAS_BACKEND=jax python benchmarks/anomaly.py contractive --epochs 10
    KERAS_BACKEND=jax python benchmarks/anomaly.py fpr --normal-class 0
    KERAS_BACKEND=jax python benchmarks/anomaly.py auc --epochs 10 \\
        --pyod-python PYOD_VENV/bin/python --alibi-python ALIBI_VENV/bin/python
    KERAS_BACKEND=jax python benchmarks/anomaly.py offset --epochs 10
    python benchmarks/anomaly.py all --quick        # a smoke run, seconds

Results are printed as Markdown and, with ``--out FILE.json``, written as JSON.
The script also runs as ``python anomaly.py baseline ...`` inside the other
virtualenvs (NumPy and the tool only; keras_ae is not imported there).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


class Timer:
    """Wall and process CPU seconds (every thread of this process) of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def seconds(self):
        return {"wall": self.wall, "cpu": self.cpu}


# --------------------------------------------------------------- baselines
def _baseline_main(args):
    """Runs in the baseline's own Python: fit on normal, score the test set."""
    data = np.load(args.data)
    x_fit, x_test = data["x_fit"], data["x_test"]
    if args.tool == "pyod":
        from pyod.models.auto_encoder import AutoEncoder

        try:
            # pyod 2.x (torch): the decoder mirrors hidden_neuron_list; pyod's
            # other defaults (standardisation, batch norm, dropout 0.2) kept.
            model = AutoEncoder(
                hidden_neuron_list=[256, 32],
                epoch_num=args.epochs,
                batch_size=128,
                lr=1e-3,
                verbose=0,
                random_state=args.seed,
            )
        except TypeError:  # older pyod (Keras/TF based)
            model = AutoEncoder(
                hidden_neurons=[256, 32, 32, 256], epochs=args.epochs, batch_size=128,
                verbose=0, random_state=args.seed,
            )
        with Timer() as fit_time:  # pyod builds its network inside fit
            model.fit(x_fit)
        scores = model.decision_function(x_test)
    elif args.tool == "alibi":
        import tensorflow as tf
        from alibi_detect.od import OutlierAE

        tf.keras.utils.set_random_seed(args.seed)
        encoder = tf.keras.Sequential(
            [
                tf.keras.layers.InputLayer(input_shape=(784,)),
                tf.keras.layers.Dense(256, activation="relu"),
                tf.keras.layers.Dense(32, activation="relu"),
            ]
        )
        decoder = tf.keras.Sequential(
            [
                tf.keras.layers.InputLayer(input_shape=(32,)),
                tf.keras.layers.Dense(256, activation="relu"),
                tf.keras.layers.Dense(784, activation="sigmoid"),
            ]
        )
        with Timer() as fit_time:
            od = OutlierAE(threshold=0.0, encoder_net=encoder, decoder_net=decoder)
            od.fit(
                x_fit, epochs=args.epochs, batch_size=128, verbose=False,
                optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3),
            )
        preds = od.predict(x_test, outlier_type="instance", return_instance_score=True)
        scores = np.asarray(preds["data"]["instance_score"])
    else:
        raise ValueError(f"Expected --tool pyod or alibi. Received: tool={args.tool!r}")
    np.save(args.scores, np.asarray(scores, dtype="float64"))
    with open(args.scores + ".json", "w") as f:
        json.dump(fit_time.seconds(), f)


def _thread_env(threads):
    """Environment variables limiting OpenMP, torch and TensorFlow to ``threads``."""
    if not threads:
        return {}
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "TF_NUM_INTRAOP_THREADS": n,
            "TF_NUM_INTEROP_THREADS": n}


def run_baseline(python, tool, x_fit, x_test, epochs, seed, threads=None):
    """Scores of ``x_test`` by ``tool`` fitted on ``x_fit`` in ``python``, and the
    fit's wall and CPU seconds measured inside that process."""
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npz")
        out = os.path.join(tmp, "scores.npy")
        np.savez(data, x_fit=x_fit, x_test=x_test)
        proc = subprocess.run(
            [
                python, os.path.abspath(__file__), "baseline", "--tool", tool,
                "--data", data, "--scores", out, "--epochs", str(epochs),
                "--seed", str(seed),
            ],
            capture_output=True, text=True,
            # The baselines bring their own frameworks (alibi-detect: TensorFlow).
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow",
                     **_thread_env(threads)),
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} failed:\n{proc.stderr[-3000:]}")
        with open(out + ".json") as f:
            return np.load(out), json.load(f)


# ------------------------------------------------------------------ keras_ae
def _setup():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    import keras_ae

    return keras, keras_ae


def _dense(keras_ae, cls, seed, **kwargs):
    return cls(
        input_shape=(784,), latent_dim=32, hidden_units=(256,), seed=seed, **kwargs
    )


def _fit(keras, model, x, epochs, batch_size=128):
    """Compiles and fits ``model``; its wall seconds (JIT compilation included)."""
    with Timer() as t:
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        model.fit(x, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return t.wall


def _train(keras, make, x, epochs, seed):
    """Builds (``make()``), compiles and fits a model: it and the Timer of all three."""
    with Timer() as t:
        keras.utils.set_random_seed(seed)
        model = make()
        _fit(keras, model, x, epochs)
    return model, t


def _roc_auc(labels, scores):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def measure_contractive(args, data):
    keras, keras_ae = _setup()
    from keras_ae.models.contractive import jacobian_norm

    (x, _), (x_test, _) = data
    if args.quick:
        x, x_test = x[:2048], x_test[:512]
    rng = np.random.default_rng(args.seed)
    noise = rng.normal(scale=args.noise, size=x_test.shape).astype("float32")
    pairs = rng.permutation(len(x_test))
    rows = []
    for name, contraction in [("Autoencoder", None)] + [
        ("ContractiveAutoencoder", c) for c in args.contraction
    ]:
        keras.utils.set_random_seed(args.seed)
        if contraction is None:
            model = _dense(keras_ae, keras_ae.Autoencoder, args.seed, activation=args.activation)
        else:
            model = _dense(
                keras_ae, keras_ae.ContractiveAutoencoder, args.seed,
                activation=args.activation, contraction=contraction,
                jacobian=args.jacobian, num_projections=args.num_projections,
            )
        seconds = _fit(keras, model, x, args.epochs)
        logs = model.evaluate(x_test, batch_size=512, verbose=0, return_dict=True)
        z = model.encode(x_test)
        z_noisy = model.encode(x_test + noise)
        movement = np.linalg.norm(z_noisy - z, axis=1).mean()
        spread = np.linalg.norm(z - z[pairs], axis=1).mean()
        rows.append(
            {
                "model": name,
                "contraction": contraction,
                "jacobian": None if contraction is None else model.jacobian_method,
                "reconstruction_loss": float(logs["reconstruction_loss"]),
                "mse": float(logs["mse"]),
                "jacobian_norm": jacobian_norm(model, x_test),
                "code_movement": float(movement),
                "code_spread": float(spread),
                "relative_movement": float(movement / spread),
                "train_seconds": seconds,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    ae = rows[0]
    for row in rows:
        row["reconstruction_ratio"] = row["reconstruction_loss"] / ae["reconstruction_loss"]
        row["jacobian_ratio"] = row["jacobian_norm"] / ae["jacobian_norm"]
        row["movement_ratio"] = row["code_movement"] / ae["code_movement"]
        row["relative_movement_ratio"] = row["relative_movement"] / ae["relative_movement"]
    return rows


def _one_class_split(data, normal_class, heldout, seed, quick):
    (x, y), (x_test, y_test) = data
    normal = x[y == normal_class]
    normal = normal[np.random.default_rng(seed).permutation(len(normal))]
    if quick:
        normal, x_test, y_test = normal[:1500], x_test[:2000], y_test[:2000]
        heldout = min(heldout, 500)
    return normal[heldout:], normal[:heldout], x_test, (y_test != normal_class).astype(int)


def measure_fpr(args, data):
    keras, keras_ae = _setup()
    from keras_ae import anomaly

    x_fit, x_val, x_test, is_anomaly = _one_class_split(
        data, args.normal_class, args.heldout, args.seed, args.quick
    )
    rows = []
    for name, cls, kwargs in [
        ("Autoencoder", keras_ae.Autoencoder, dict(activation="relu")),
        ("ContractiveAutoencoder", keras_ae.ContractiveAutoencoder,
         dict(activation=args.activation, contraction=args.contraction[0],
              jacobian=args.jacobian, num_projections=args.num_projections)),
    ]:
        keras.utils.set_random_seed(args.seed)
        model = _dense(keras_ae, cls, args.seed, **kwargs)
        _fit(keras, model, x_fit, args.epochs)
        detector = anomaly.Detector(model).fit_threshold(x_val, fpr=args.fpr)
        s = detector.score(x_test)
        flags = s > detector.threshold
        rows.append(
            {
                "model": name,
                "normal_class": args.normal_class,
                "target_fpr": args.fpr,
                "heldout_normal": len(x_val),
                "test_normal": int(np.sum(is_anomaly == 0)),
                "test_fpr": float(flags[is_anomaly == 0].mean()),
                "recall": float(flags[is_anomaly == 1].mean()),
                "roc_auc": _roc_auc(is_anomaly, s),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def measure_auc(args, data):
    keras, keras_ae = _setup()
    from keras_ae import anomaly

    classes = range(10) if not args.quick else range(2)
    table = []
    for k in classes:
        x_fit, _, x_test, is_anomaly = _one_class_split(data, k, 0, args.seed, args.quick)
        row, seconds = {"normal_class": k}, {}

        def standardized(model, t):
            # The feature scale (spread of the normal training data) is fitted
            # after training: its seconds count as training time.
            with Timer() as t_scale:
                detector = anomaly.Detector(model, standardize=True).fit_feature_scale(x_fit)
            return detector.score(x_test), {
                "wall": t.wall + t_scale.wall, "cpu": t.cpu + t_scale.cpu
            }

        ae, t = _train(
            keras, lambda: _dense(keras_ae, keras_ae.Autoencoder, args.seed, activation="relu"),
            x_fit, args.epochs, args.seed,
        )
        row["ae_reconstruction"] = _roc_auc(is_anomaly, anomaly.reconstruction_error(ae, x_test))
        seconds["ae_reconstruction"] = t.seconds()
        s, seconds["ae_standardized"] = standardized(ae, t)
        row["ae_standardized"] = _roc_auc(is_anomaly, s)

        vae, t = _train(
            keras, lambda: _dense(keras_ae, keras_ae.VAE, args.seed, activation="relu"),
            x_fit, args.epochs, args.seed,
        )
        nll = anomaly.negative_log_likelihood(vae, x_test, num_samples=args.num_samples)
        row["vae_nll"] = _roc_auc(is_anomaly, nll)
        row["vae_reconstruction"] = _roc_auc(
            is_anomaly, anomaly.reconstruction_error(vae, x_test)
        )
        seconds["vae_nll"] = seconds["vae_reconstruction"] = t.seconds()
        s, seconds["vae_standardized"] = standardized(vae, t)
        row["vae_standardized"] = _roc_auc(is_anomaly, s)

        cae, t = _train(
            keras,
            lambda: _dense(
                keras_ae, keras_ae.ContractiveAutoencoder, args.seed,
                activation=args.activation, contraction=args.contraction[0],
                jacobian=args.jacobian, num_projections=args.num_projections,
            ),
            x_fit, args.epochs, args.seed,
        )
        row["cae_reconstruction"] = _roc_auc(
            is_anomaly, anomaly.reconstruction_error(cae, x_test)
        )
        seconds["cae_reconstruction"] = t.seconds()
        for tool, python in (("pyod", args.pyod_python), ("alibi", args.alibi_python)):
            if python:
                try:
                    s, seconds[f"{tool}_ae"] = run_baseline(
                        python, tool, x_fit, x_test, args.epochs, args.seed,
                        threads=args.peer_threads,
                    )
                    row[f"{tool}_ae"] = _roc_auc(is_anomaly, s)
                except RuntimeError as error:
                    row[f"{tool}_ae"] = None
                    print(str(error)[-1500:], file=sys.stderr)
        row["train_seconds"] = seconds
        table.append(row)
        print(json.dumps(row), flush=True)
    return table


def measure_offset(args, data):
    """Chooses ``scale_offset`` on a validation split of the training set.

    Per normal class: an autoencoder trained on the class's training images
    but 1,000; validation = those 1,000 (normal) and 9,000 training images
    of the other classes (anomalies). The test set is only scored beside.
    """
    keras, keras_ae = _setup()
    from keras_ae import anomaly

    (x, y), (x_test, y_test) = data
    classes = range(10) if not args.quick else range(2)
    table = []
    for k in classes:
        rng = np.random.default_rng(args.seed)
        normal = x[y == k][rng.permutation(int(np.sum(y == k)))]
        others = x[y != k][rng.permutation(int(np.sum(y != k)))[:9000]]
        x_fit, x_val = normal[1000:], np.concatenate([normal[:1000], others])
        val_labels = np.r_[np.zeros(1000), np.ones(len(others))]
        test_labels = (y_test != k).astype(int)
        if args.quick:
            x_fit = x_fit[:1500]
        ae, _ = _train(
            keras, lambda: _dense(keras_ae, keras_ae.Autoencoder, args.seed, activation="relu"),
            x_fit, args.epochs, args.seed,
        )
        row = {"normal_class": k}
        for offset in [None] + list(args.offsets):
            if offset is None:
                detector = anomaly.Detector(ae)
            else:
                detector = anomaly.Detector(ae, standardize=True, scale_offset=offset)
                detector.fit_feature_scale(x_fit)
            name = "mse" if offset is None else f"offset {offset:g}"
            row[f"val {name}"] = _roc_auc(val_labels, detector.score(x_val))
            row[f"test {name}"] = _roc_auc(test_labels, detector.score(x_test))
        table.append(row)
        print(json.dumps(row), flush=True)
    return table


# ------------------------------------------------------------------ report
def _markdown(results):
    lines = []
    if "contractive" in results:
        lines += [
            "## Contractive vs plain autoencoder (test set)",
            "",
            "| model | contraction | rec. loss | ratio | ‖J‖²_F | ratio | code movement | ratio | relative movement | ratio |",  # noqa: E501
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in results["contractive"]:
            lines.append(
                f"| {r['model']} | {r['contraction']} | {r['reconstruction_loss']:.2f} | "
                f"{r['reconstruction_ratio']:.3f} | {r['jacobian_norm']:.3g} | "
                f"{r['jacobian_ratio']:.3f} | {r['code_movement']:.4f} | "
                f"{r['movement_ratio']:.3f} | {r['relative_movement']:.4f} | "
                f"{r['relative_movement_ratio']:.3f} |"
            )
        lines.append("")
    if "fpr" in results:
        lines += [
            "## One-class detector, threshold at a target FPR",
            "",
            "| model | normal class | target FPR | test FPR | recall | ROC AUC |",
            "|---|---|---|---|---|---|",
        ]
        for r in results["fpr"]:
            lines.append(
                f"| {r['model']} | {r['normal_class']} | {r['target_fpr']} | "
                f"{r['test_fpr']:.4f} | {r['recall']:.3f} | {r['roc_auc']:.3f} |"
            )
        lines.append("")
    if "offset" in results:
        keys = [c for c in results["offset"][0] if c.startswith("val ")]
        lines += [
            "## scale_offset chosen on a validation split (training set); test beside",
            "",
            "| weighting | mean validation ROC AUC | mean test ROC AUC |",
            "|---|---|---|",
        ]
        for c in keys:
            val = np.mean([r[c] for r in results["offset"]])
            test = np.mean([r["test" + c[3:]] for r in results["offset"]])
            lines.append(f"| {c[4:]} | {val:.4f} | {test:.4f} |")
        lines.append("")
    if "auc" in results:
        cols = [c for c in results["auc"][0] if c not in ("normal_class", "train_seconds")]
        lines += [
            "## One-class ROC AUC (each class normal in turn)",
            "",
            "| normal class | " + " | ".join(cols) + " |",
            "|---" * (len(cols) + 1) + "|",
        ]
        for r in results["auc"]:
            vals = ["-" if r.get(c) is None else f"{r[c]:.3f}" for c in cols]
            lines.append(f"| {r['normal_class']} | " + " | ".join(vals) + " |")
        means = []
        for c in cols:
            v = [r[c] for r in results["auc"] if r.get(c) is not None]
            means.append(f"{np.mean(v):.3f}" if v else "-")
        lines.append("| mean | " + " | ".join(means) + " |")
        lines += [
            "",
            "Training seconds per class (mean over classes; wall / process CPU; "
            "keras_ae: build + compile + fit, JIT compilation included; peers: around "
            "their fit, measured in their own process):",
            "",
            "| method | mean ROC AUC | train wall s | train CPU s |",
            "|---|---|---|---|",
        ]
        for c, m in zip(cols, means):
            t = [r["train_seconds"][c] for r in results["auc"] if c in r["train_seconds"]]
            wall = f"{np.mean([v['wall'] for v in t]):.1f}" if t else "-"
            cpu = f"{np.mean([v['cpu'] for v in t]):.1f}" if t else "-"
            lines.append(f"| {c} | {m} | {wall} | {cpu} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "what", choices=["contractive", "fpr", "auc", "offset", "all", "baseline"]
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--activation", default="sigmoid",
                        help="activation of the contractive (and compared) encoders")
    parser.add_argument("--contraction", type=float, nargs="+", default=[0.1])
    parser.add_argument("--jacobian", default="auto", choices=["auto", "exact", "hutchinson"],
                        help="how the contractive autoencoder computes its penalty")
    parser.add_argument("--num-projections", type=int, default=1)
    parser.add_argument("--noise", type=float, default=0.05,
                        help="stddev of the input noise for the code movement")
    parser.add_argument("--normal-class", type=int, default=0)
    parser.add_argument("--heldout", type=int, default=1000,
                        help="normal training images held out to fit the threshold")
    parser.add_argument("--fpr", type=float, default=0.05)
    parser.add_argument("--num-samples", type=int, default=100,
                        help="importance samples of the VAE's -log p(x)")
    parser.add_argument("--pyod-python", default=None)
    parser.add_argument("--alibi-python", default=None)
    parser.add_argument("--peer-threads", type=int, default=None,
                        help="limit pyod/alibi-detect to this many threads (OMP_NUM_THREADS, "
                             "TF_NUM_INTRAOP_THREADS, ...); default: their own defaults")
    parser.add_argument("--offsets", type=float, nargs="+",
                        default=[0.001, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5],
                        help="scale_offset values compared by the offset measurement")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None, help="JSON file of the results")
    # baseline mode (inside the other virtualenvs)
    parser.add_argument("--tool", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--scores", default=None)
    args = parser.parse_args(argv)
    if args.what == "baseline":
        return _baseline_main(args)
    if args.quick:
        args.epochs = min(args.epochs, 1)
        args.num_samples = min(args.num_samples, 5)

    _, keras_ae = _setup()
    import keras

    data = keras_ae.datasets.load_data("fashion_mnist")
    results = {"backend": keras.backend.backend(), "epochs": args.epochs, "seed": args.seed}
    todo = ["contractive", "fpr", "auc"] if args.what == "all" else [args.what]
    for what in todo:
        results[what] = {"contractive": measure_contractive, "fpr": measure_fpr,
                         "auc": measure_auc, "offset": measure_offset}[what](args, data)
    print(_markdown(results))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
