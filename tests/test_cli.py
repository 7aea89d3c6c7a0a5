"""The ``keras-ae`` command line: help, exit codes, error messages, and runs."""

import csv
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae.app import cli  # noqa: E402
from keras_ae.app import recipes  # noqa: E402

SUBCOMMANDS = (["demo"], ["train"], ["evaluate"], ["export"], ["zoo"], ["zoo", "list"],
               ["zoo", "show"])


def run(argv, capsys):
    """Runs ``keras-ae argv`` in-process; returns (exit code, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse: --help and syntax errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("keras-ae ")
    assert ": error: " in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def tiny_npz(path, n_train=48, n_test=16, shape=(4, 4), seed=0):
    rng = np.random.default_rng(seed)
    np.savez(
        path,
        x_train=rng.integers(0, 256, size=(n_train,) + shape, dtype=np.uint8),
        y_train=rng.integers(0, 3, size=n_train),
        x_test=rng.integers(0, 256, size=(n_test,) + shape, dtype=np.uint8),
        y_test=rng.integers(0, 3, size=n_test),
    )
    return str(path)


# ------------------------------------------------------------------- help
@pytest.mark.parametrize("argv", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(argv, capsys):
    code, out, _ = run(argv + ["--help"], capsys)
    assert code == 0
    assert out.startswith("usage: keras-ae " + " ".join(argv))


def test_top_level_help_lists_the_commands(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for name in ("demo", "train", "evaluate", "export", "zoo"):
        assert name in out


def test_train_help_lists_every_model(capsys):
    _, out, _ = run(["train", "--help"], capsys)
    for name in recipes.names():
        assert name in out


def _env_without_tf_log_level():
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def _script():
    script = os.path.join(os.path.dirname(sys.executable), "keras-ae")
    if not os.path.exists(script):
        pytest.skip("the keras-ae script is not installed next to this Python")
    return script


def test_python_dash_m_runs_the_cli_and_ends_with_one_error_line():
    proc = subprocess.run(
        [sys.executable, "-m", "keras_ae", "train", "nope", "--dataset", "digits"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("keras-ae train: error: Unknown model 'nope'")
    assert "Traceback" not in proc.stderr


def test_python_dash_m_runs_on_the_backend_asked_for():
    proc = subprocess.run(
        [sys.executable, "-m", "keras_ae", "train", "nope", "--dataset", "digits",
         "--backend", "torch"],
        capture_output=True, text=True, timeout=180,
        env=dict(os.environ, KERAS_BACKEND="tensorflow"),
    )
    # Started on TensorFlow, re-run once on torch, where "nope" is refused.
    assert proc.stdout.splitlines() == ["keras-ae: Keras backend torch"]
    assert proc.returncode == 1
    assert "keras-ae train: error: Unknown model 'nope'" in proc.stderr


def test_the_script_prints_one_error_line_and_no_tensorflow_noise():
    proc = subprocess.run(
        [_script(), "train", "nope", "--dataset", "digits"],
        capture_output=True, text=True, timeout=120, env=_env_without_tf_log_level(),
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "keras-ae train: error: Unknown model 'nope'; choose one of: "
        + ", ".join(recipes.names()) + ". Received: model='nope'"
    ], proc.stderr


def test_the_script_help_has_no_tensorflow_noise():
    proc = subprocess.run([_script(), "--help"], capture_output=True, text=True,
                          timeout=120, env=_env_without_tf_log_level())
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert "demo" in proc.stdout


def test_a_training_run_prints_nothing_on_stderr(tmp_path):
    # TensorFlow initialises its devices (and on a machine without a GPU
    # driver logs "failed call to cuInit") only when the first op runs.
    proc = subprocess.run(
        [_script(), "train", "autoencoder", "--dataset", "digits", "--backend", "tensorflow",
         "--epochs", "1", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, env=_env_without_tf_log_level(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert (tmp_path / "run" / "model.keras").exists()


def test_startup_filter_keeps_everything_but_tensorflow_info_lines():
    from keras_ae.app import startup

    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795944235.563184   12553 port.cc:153] oneDNN custom operations are on.",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild",
    ]
    kept = ["E0000 00:00:1.0 1 cuda_dnn.cc:1] a real error",
            "Traceback (most recent call last):"]
    no_gpu = ("E0000 00:00:1795951389.944700   29506 cuda_platform.cc:52] failed call to "
              "cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)")
    text = "\n".join(noise + kept + [no_gpu])
    assert startup.kept_stderr_lines(text, no_gpu_found=True) == kept
    assert startup.kept_stderr_lines(text, no_gpu_found=False) == kept + [no_gpu]


def test_backend_choice_order():
    from keras_ae.app import startup

    assert startup.wanted_backend(["train", "--backend", "torch"], {"KERAS_BACKEND": "jax"}) == "torch"
    assert startup.wanted_backend(["train", "--backend=tensorflow"], {}) == "tensorflow"
    assert startup.wanted_backend(["train"], {"KERAS_BACKEND": "torch"}) == "torch"
    assert startup.wanted_backend(["train"], {}) == startup.fastest_installed_backend() == "jax"


# ------------------------------------------------------------ bad arguments
@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["fly"],
        ["train", "autoencoder"],  # --dataset is required
        ["train", "autoencoder", "--dataset", "digits", "--epochs", "0"],
        ["train", "autoencoder", "--dataset", "digits", "--hidden-units", "a,b"],
        ["train", "autoencoder", "--dataset", "digits", "--hidden-units", "8,-1"],
        ["train", "autoencoder", "--dataset", "digits", "--architecture", "rnn"],
        ["demo", "--quick", "--epochs-scale", "2"],
        ["demo", "--epochs-scale", "-1"],
        ["export", "model.keras"],
        ["zoo"],
        ["zoo", "show"],
    ],
    ids=lambda argv: " ".join(argv) or "<none>",
)
def test_syntax_errors_exit_2(argv, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert "usage: keras-ae" in err
    assert "Traceback" not in err


def test_unknown_model(capsys):
    code, _, err = run(["train", "nope", "--dataset", "digits"], capsys)
    assert_one_line_error(code, err, "Unknown model 'nope'", "autoencoder", "vae")


def test_noise_on_a_model_without_noise(capsys):
    code, _, err = run(["train", "vae", "--dataset", "digits", "--noise", "masking"], capsys)
    assert_one_line_error(code, err, "--noise only applies")


def test_malformed_noise_level(capsys):
    code, _, err = run(
        ["train", "denoising", "--dataset", "digits", "--noise", "masking:lots"], capsys
    )
    assert_one_line_error(code, err, "KIND:LEVEL")


def test_missing_dataset_file(capsys, tmp_path):
    missing = str(tmp_path / "nowhere.npz")
    code, _, err = run(["train", "autoencoder", "--dataset", missing], capsys)
    assert_one_line_error(code, err, "nowhere.npz", "digits")


def test_dataset_that_is_not_an_npz(capsys, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,3\n")
    code, _, err = run(["train", "autoencoder", "--dataset", str(path)], capsys)
    assert_one_line_error(code, err, ".npz")


def test_malformed_npz(capsys, tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"this is not a zip archive")
    code, _, err = run(["train", "autoencoder", "--dataset", str(path)], capsys)
    assert_one_line_error(code, err, "broken.npz")


def test_pickled_npz_is_refused(capsys, tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, x_train=np.array([{"a": 1}, {"b": 2}], dtype=object))
    code, _, err = run(["train", "autoencoder", "--dataset", str(path)], capsys)
    assert_one_line_error(code, err, "pickle")


def test_npz_without_data_keys(capsys, tmp_path):
    path = tmp_path / "keys.npz"
    np.savez(path, images=np.zeros((4, 3), "float32"))
    code, _, err = run(["train", "autoencoder", "--dataset", str(path)], capsys)
    assert_one_line_error(code, err, "keys.npz")


def test_npz_out_of_range_values(capsys, tmp_path):
    path = tmp_path / "range.npz"
    np.savez(path, x=np.full((8, 3), 7.5, "float32"))
    code, _, err = run(["train", "autoencoder", "--dataset", str(path)], capsys)
    assert_one_line_error(code, err, "range.npz")


def test_evaluate_missing_model(capsys, tmp_path):
    code, _, err = run(
        ["evaluate", str(tmp_path / "none.keras"), "--dataset", "digits"], capsys
    )
    assert_one_line_error(code, err, "none.keras")


def test_evaluate_file_that_is_not_a_model(capsys, tmp_path):
    path = tmp_path / "junk.keras"
    path.write_bytes(b"\x00\x01 not a zip")
    code, _, err = run(["evaluate", str(path), "--dataset", "digits"], capsys)
    assert_one_line_error(code, err, "junk.keras")


def test_zoo_show_unknown_name(capsys, tmp_path, monkeypatch):
    (tmp_path / "index.json").write_text(json.dumps({"models": []}))
    monkeypatch.setenv("KERAS_AE_ZOO", str(tmp_path))
    code, _, err = run(["zoo", "show", "no_such_model"], capsys)
    assert_one_line_error(code, err, "no_such_model")


def test_zoo_without_index(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_AE_ZOO", str(tmp_path))
    monkeypatch.setattr("keras_ae.zoo._candidates", lambda: iter([str(tmp_path)]))
    code, _, err = run(["zoo", "list"], capsys)
    assert_one_line_error(code, err, "No keras_ae zoo found", "KERAS_AE_ZOO")


# -------------------------------------------------------- train, evaluate, export
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """`keras-ae train` on a tiny .npz of 4x4 uint8 images (2 epochs)."""
    root = tmp_path_factory.mktemp("cli_run")
    data = tiny_npz(root / "tiny.npz")
    out = root / "run"
    argv = ["train", "autoencoder", "--dataset", data, "--latent-dim", "2",
            "--hidden-units", "8", "--epochs", "2", "--batch-size", "16",
            "--out", str(out), "--verbose", "0"]
    code = cli.main(argv)
    return {"code": code, "out": out, "data": data, "argv": argv}


def test_train_writes_every_promised_file(trained_run):
    assert trained_run["code"] == 0
    out = trained_run["out"]
    for name in ("model.keras", "card.json", "history.csv",
                 os.path.join("saved_model", "saved_model.pb")):
        assert (out / name).exists(), name
    assert list((out / "logs" / "train").iterdir()), "no TensorBoard events"
    assert list((out / "logs" / "validation").iterdir())
    with open(out / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert {"loss", "val_loss", "mse"} <= set(rows[0])


def test_train_card_describes_the_run(trained_run):
    card = json.loads((trained_run["out"] / "card.json").read_text())
    assert card["class"] == "Autoencoder"
    assert card["data"]["num_train"] == 48 and card["data"]["num_test"] == 16
    assert card["data"]["image_shape"] == [4, 4, 1]
    assert card["config"]["latent_dim"] == 2
    assert card["config"]["hidden_units"] == [8]
    assert card["training"]["epochs"] == 2
    assert card["command"].startswith("keras-ae train autoencoder --dataset ")
    assert set(card["metrics"]) >= {"loss", "reconstruction_loss", "mse"}
    for png in card["files"].get("plots", []):
        assert (trained_run["out"] / png).stat().st_size > 1000


def test_evaluate_json_matches_the_card(trained_run, capsys):
    code, out, err = run(
        ["evaluate", str(trained_run["out"]), "--dataset", trained_run["data"], "--json"],
        capsys,
    )
    assert code == 0, err
    report = json.loads(out)
    card = json.loads((trained_run["out"] / "card.json").read_text())
    assert report["model"] == "Autoencoder"
    assert report["examples"] == 16
    for key in ("reconstruction_loss", "mse"):
        np.testing.assert_allclose(report["metrics"][key], card["metrics"][key], rtol=1e-5)


def test_evaluate_table(trained_run, capsys):
    model_file = str(trained_run["out"] / "model.keras")
    code, out, _ = run(["evaluate", model_file, "--dataset", trained_run["data"]], capsys)
    assert code == 0
    assert "reconstruction_loss" in out and "mse" in out


def test_evaluate_on_data_of_the_wrong_shape(trained_run, capsys):
    code, _, err = run(["evaluate", str(trained_run["out"]), "--dataset", "digits"], capsys)
    assert_one_line_error(code, err, "shape")


def test_export_then_refuse_then_overwrite(trained_run, capsys, tmp_path):
    import tensorflow as tf

    target = str(tmp_path / "exported")
    model_file = str(trained_run["out"] / "model.keras")
    code, _, err = run(["export", model_file, target], capsys)
    assert code == 0, err
    code, _, err = run(["export", model_file, target], capsys)
    assert_one_line_error(code, err, "already exists", "--overwrite")
    code, _, err = run(["export", model_file, target, "--overwrite"], capsys)
    assert code == 0, err
    served = tf.saved_model.load(target)
    codes = served.encode(tf.zeros((3, 16)))["codes"]
    assert tuple(codes.shape) == (3, 2)


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_export_formats_from_a_run_folder_carry_the_run_card(trained_run, capsys, tmp_path, fmt):
    import keras

    target = tmp_path / fmt
    code, out, err = run(["export", str(trained_run["out"]), str(target), "--format", fmt], capsys)
    assert code == 0, err
    assert f"({fmt})" in out
    card = json.loads((target / "model_card.json").read_text())
    run_card = json.loads((trained_run["out"] / "card.json").read_text())
    assert json.dumps(run_card["metrics"], sort_keys=True) in json.dumps(card, sort_keys=True)
    x = np.random.default_rng(0).uniform(size=(3, 16)).astype("float32")
    model = keras.models.load_model(trained_run["out"] / "model.keras")
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(target / "reconstruct.onnx"))
        got = session.run(["reconstruction"], {"x": x})[0]
    else:
        from ai_edge_litert.interpreter import Interpreter

        runner = Interpreter(str(target / "model.tflite")).get_signature_runner("reconstruct")
        got = runner(x=x)["reconstruction"]
    np.testing.assert_allclose(got, model.reconstruct(x), atol=1e-5)


def test_export_of_a_saved_model_directory_is_explained(trained_run, capsys, tmp_path):
    code, _, err = run(
        ["export", str(trained_run["out"] / "saved_model"), str(tmp_path / "x")], capsys
    )
    assert_one_line_error(code, err, "SavedModel", "model.keras")


def test_train_on_tabular_npz_without_a_test_split(tmp_path, capsys):
    """x only, 10 features: the last 10% is the test split; no image pictures."""
    path = tmp_path / "table.npz"
    np.savez(path, x=np.random.default_rng(1).uniform(size=(50, 10)).astype("float32"))
    out = tmp_path / "run"
    code, _, err = run(["train", "vae", "--dataset", str(path), "--latent-dim", "2",
                        "--hidden-units", "4", "--epochs", "1", "--no-export",
                        "--verbose", "0", "--out", str(out)], capsys)
    assert code == 0, err
    card = json.loads((out / "card.json").read_text())
    assert (card["data"]["num_train"], card["data"]["num_test"]) == (45, 5)
    assert "last 5 examples" in card["data"]["description"]
    assert card["data"]["image_shape"] is None
    assert sorted(card["files"]["plots"]) == ["latent_scatter.png", "training_curves.png"]
    assert not (out / "saved_model").exists()


# ------------------------------------------------------------------- demo
def _check_demo_folder(out, models):
    summary = json.loads((out / "summary.json").read_text())
    assert [row["model"] for row in summary["models"]] == models
    assert (out / "summary.md").read_text().count("|") > 10
    for row in summary["models"]:
        folder = out / row["model"]
        assert (folder / "model.keras").exists()
        assert (folder / "saved_model" / "saved_model.pb").exists()
        assert np.isfinite(row["mse"]) and 0 < row["mse"] < 0.2
        for png in row["files"].get("plots", []):
            assert (out / png).stat().st_size > 1000, png
    return summary


def test_demo_on_a_reduced_budget(tmp_path, capsys):
    code, out, err = run(
        ["demo", "--quick", "--models", "autoencoder,vae", "--out", str(tmp_path)], capsys
    )
    assert code == 0, err
    _check_demo_folder(tmp_path, ["autoencoder", "vae"])
    assert "reconstruction_loss" in out  # the printed table


@pytest.mark.slow
def test_demo_every_model_quick(tmp_path, capsys):
    code, _, err = run(["demo", "--quick", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    available = [r.name for r in recipes.RECIPES]
    summary = _check_demo_folder(tmp_path, available)
    assert len(summary["models"]) == len(recipes.RECIPES)


@pytest.mark.parametrize("recipe", ["vae", "denoising"])
def test_steps_per_execution_of_train_gives_identical_weights(recipe):
    # The CLI trains with steps_per_execution=32 for speed; it must not
    # change a single weight (random layers included) against one step per call.
    (x, _), _ = keras_ae.datasets.load_data("digits")
    x = x[:300]  # 300 / 64: five full batches and a partial one
    weights = {}
    for spe in (1, recipes.STEPS_PER_EXECUTION):
        model, history = recipes.train(
            recipe, x, input_shape=(64,), latent_dim=4, hidden_units=(16,), epochs=2,
            batch_size=64, seed=3, verbose=0, steps_per_execution=spe,
        )
        assert model.steps_per_execution == spe
        weights[spe] = [w.numpy() for w in model.weights]
    for a, b in zip(weights[1], weights[recipes.STEPS_PER_EXECUTION]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "args, env_backend, expected",
    [
        ([], None, "jax"),  # the fastest installed backend by default
        (["--backend", "torch"], None, "torch"),
        ([], "tensorflow", "tensorflow"),  # a user's KERAS_BACKEND is kept
        (["--backend", "tensorflow"], "jax", "tensorflow"),
    ],
)
def test_train_picks_and_prints_its_backend(tmp_path, args, env_backend, expected):
    env = _env_without_tf_log_level()
    env.pop("KERAS_BACKEND", None)
    if env_backend:
        env["KERAS_BACKEND"] = env_backend
    proc = subprocess.run(
        [sys.executable, "-m", "keras_ae", "train", "autoencoder", "--dataset", "digits",
         "--epochs", "1", "--out", str(tmp_path / "run")] + args,
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"keras-ae: Keras backend {expected}" in proc.stdout.splitlines()
    assert os.path.exists(tmp_path / "run" / "model.keras")


def test_backend_flag_cannot_switch_a_running_process():
    import keras

    other = "torch" if keras.backend.backend() != "torch" else "jax"
    code = cli.main(["train", "autoencoder", "--dataset", "digits", "--backend", other])
    assert code == 1


def test_score_writes_scores_flags_and_a_histogram(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "vae", "--dataset", "digits", "--epochs", "1", "--no-export",
                     "--no-plots", "--out", str(run)]) == 0
    assert cli.main(["score", str(run), "--dataset", "digits", "--fpr", "0.1",
                     "--kind", "negative_elbo"]) == 0
    rows = (run / "scores" / "scores.csv").read_text().strip().splitlines()
    assert rows[0] == "index,score,anomaly,probability" and len(rows) == 1 + 297
    meta = json.loads((run / "scores" / "threshold.json").read_text())
    flagged = sum(int(r.split(",")[2]) for r in rows[1:])
    assert meta["flagged"] == flagged and meta["fpr"] == 0.1
    assert (run / "scores" / "score_histogram.png").stat().st_size > 0
    # Standardised reconstruction errors: the detector's own scores.
    out = tmp_path / "standardized"
    assert cli.main(["score", str(run), "--dataset", "digits", "--standardize",
                     "--out", str(out)]) == 0
    meta = json.loads((out / "threshold.json").read_text())
    assert meta["standardize"] is True and meta["kind"] == "reconstruction"
    model = keras.saving.load_model(str(run / "model.keras"))
    data = keras_ae.datasets.load_dataset("digits", flatten=True)
    detector = keras_ae.anomaly.Detector(model, standardize=True).fit_threshold(
        data.x_train, fpr=0.05)
    got = np.array([float(r.split(",")[1]) for r in
                    (out / "scores.csv").read_text().strip().splitlines()[1:]])
    np.testing.assert_allclose(got, detector.score(data.x_test), rtol=1e-6)
    np.testing.assert_allclose(meta["threshold"], detector.threshold, rtol=1e-6)
    # Refuses to replace the scores, and a score the model lacks is one line.
    assert cli.main(["score", str(run), "--dataset", "digits"]) == 1
    assert cli.main(["score", str(run), "--dataset", "digits", "--out", str(tmp_path / "s"),
                     "--kind", "prior_negative_log_density"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("keras-ae score: error:") for e in err)
    assert not (tmp_path / "s").exists()
