"""Smoke tests of benchmarks/: the quick benchmark runs end to end.

The fast tests check the framework-free parts (metrics, timing rule, FLOP
count, schedule, backends in the report, the pythae skip message); the slow
ones run ``benchmarks/run.py --quick`` for plain Keras and keras_ae in a
subprocess, and plain Keras on the TensorFlow and JAX backends, and check the
JSON report, so the benchmark cannot rot.
"""

import importlib.util
import json
import math
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
sys.path.insert(0, BENCH)

import common  # noqa: E402
import run  # noqa: E402

HAS_DATA = os.path.isdir(common.DATA_DIR)
HAS_JAX = importlib.util.find_spec("jax") is not None


def test_bce_per_image_matches_hand_value():
    x = np.array([[1.0, 0.0, 0.5]], "float32")
    p = np.array([[0.5, 0.5, 0.25]], "float32")
    expected = math.log(2) * 2 - (0.5 * math.log(0.25) + 0.5 * math.log(0.75))
    np.testing.assert_allclose(common.bce_per_image(x, p), [expected], rtol=1e-6)
    # probabilities of exactly 0/1 are clipped, not infinite
    assert np.isfinite(common.bce_per_image(x, np.array([[0.0, 1.0, 0.0]], "float32"))).all()


def test_vae_bounds_on_a_known_model():
    # p(x|z) does not depend on z and q = prior: log p(x) = ELBO = log p(x|z) exactly.
    x = np.array([[1.0, 0.0], [0.0, 0.0]], "float32")
    mu, log_var = np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")
    decode = lambda z: np.full((len(z), 2), 0.25, "float32")  # noqa: E731
    out = common.vae_bounds(x, mu, log_var, decode, num_samples=7, rows=5)
    nll = np.mean(common.bce_per_image(x, np.full((2, 2), 0.25, "float32")))
    assert out["neg_elbo"] == pytest.approx(nll, rel=1e-5)
    assert out["log_likelihood"] == pytest.approx(-nll, rel=1e-5)
    assert out["iwae_k"] == 7


def test_recorder_excludes_warm_up():
    rec = common.Recorder(warmup_steps=2)
    rec.epoch_begin()
    for step in range(1, 5):
        rec.batch_end(step)
    rec.epoch_end()
    one = rec.summary(n_train=512, batch_size=128)
    assert one["steady_samples"] == 512 - 2 * 128
    assert one["steady_rule"].startswith("epoch 1 after 2")
    rec.epoch_begin()
    rec.epoch_end()
    two = rec.summary(n_train=512, batch_size=128)
    assert two["steady_samples"] == 512 and two["steady_rule"] == "epochs 2..N"
    assert two["steady_wall_s"] == pytest.approx(two["epoch_wall_s"][1])


def test_flops_per_sample():
    ae = 2 * (784 * 512 + 512 * 256 + 256 * 32)
    assert common.train_flops_per_sample("ae") == 6 * ae
    assert common.train_flops_per_sample("aae-paper") > common.train_flops_per_sample("aae-joint")
    with pytest.raises(ValueError, match="model="):
        common.train_flops_per_sample("nope")


def test_schedule_interleaves_frameworks_and_expands_aae(tmp_path):
    args = run.parse_args(["--quick", "--models", "ae,aae", "--repeats", "2", "--out", str(tmp_path)])
    assert args.model_list == ["ae", "aae-paper", "aae-joint"]
    jobs = run.schedule(args)
    first = [j[0] for j in jobs[:3]]
    assert first == ["keras_ae", "plain_keras", "pythae"]
    # pythae only runs the models it has
    assert ("pythae", "aae-paper") not in {(j[0], j[1]) for j in jobs}
    assert [j[4] for j in jobs] == sorted(j[4] for j in jobs)  # repeat-major
    assert {j[5] for j in jobs if j[0] != "pythae"} == {"tensorflow"}  # default backend


def test_schedule_runs_keras_frameworks_once_per_backend(tmp_path):
    args = run.parse_args(["--quick", "--models", "ae,dae", "--backends", "tensorflow,jax,torch",
                           "--out", str(tmp_path)])
    jobs = run.schedule(args)
    first = [(j[0], j[5]) for j in jobs[:7]]
    assert first == [("keras_ae", "tensorflow"), ("plain_keras", "tensorflow"),
                     ("keras_ae", "jax"), ("plain_keras", "jax"),
                     ("keras_ae", "torch"), ("plain_keras", "torch"), ("pythae", "torch")]
    # pythae runs once per model it has, not once per backend
    assert [j[1] for j in jobs if j[0] == "pythae"] == ["ae"]
    assert len(jobs) == 2 * 3 * 2 + 1
    with pytest.raises(SystemExit):
        run.parse_args(["--backends", "tensorflow,numpy"])


def test_run_one_records_a_runner_error_with_its_backend(tmp_path, monkeypatch):
    # A runner that fails the way keras_ae_runner reports a backend it cannot run on.
    script = tmp_path / "failing_runner.py"
    script.write_text(
        "import json, os, sys\n"
        "sys.stderr.write('Traceback ...\\nValueError: boom\\n')\n"
        "print('BENCH_RESULT ' + json.dumps({'framework': 'keras_ae', 'model': 'ae', 'error': "
        "'keras_ae failed on the ' + os.environ['KERAS_BACKEND'] + ' backend while training: "
        "ValueError: boom'}))\n"
        "sys.exit(1)\n"
    )
    monkeypatch.setitem(run.RUNNERS, "keras_ae", str(script))
    args = run.parse_args(["--quick", "--models", "ae", "--out", str(tmp_path)])
    res = run.run_one(args, sys.executable, "keras_ae", "ae", "default", "base", 0, None, "jax")
    assert res["backend"] == "jax" and res["framework"] == "keras_ae"
    assert res["error"].splitlines()[-1] == (
        "keras_ae failed on the jax backend while training: ValueError: boom")
    assert "--backend jax" in res["command"]


def _fake_run(framework, repeat, rate, bce, backend=None):
    run_ = {
        "framework": framework, "model": "ae", "threads": "1", "variant": "base",
        "repeat": repeat, "train_flops_per_sample": 1e6, "peak_rss_train_mb": 100.0,
        "matmul_peak_gflops": 100.0,
        "timing": {"samples_per_s": rate, "samples_per_cpu_s": rate, "s_per_epoch": 1.0,
                   "first_epoch_wall_s": 1.0},
        "metrics": {"test_bce": bce, "test_mse": 0.01},
    }
    if backend:
        run_["backend"] = backend
    return run_


def test_quality_verdict_uses_one_percent_or_the_seed_spread():
    row = {"test_bce": 230.0, "test_bce_sd": 0.5, "n": 3}
    assert run.quality_verdict(row, {"test_bce": 228.0, "test_bce_sd": 0.5, "n": 3})["quality"] == "same"
    assert run.quality_verdict(row, {"test_bce": 220.0, "test_bce_sd": 0.5, "n": 3})["quality"] == "worse"
    assert run.quality_verdict(row, {"test_bce": 240.0, "test_bce_sd": 0.5, "n": 3})["quality"] == "better"
    # a 4 % gap is noise when the seeds themselves spread by 10 nats
    noisy = {"test_bce": 260.0, "test_bce_sd": 10.0, "n": 3}
    assert run.quality_verdict(dict(noisy, test_bce=270.0), noisy)["quality"] == "same"


def test_render_merges_the_runs_of_several_reports(tmp_path):
    meta = {"command": "run.py", "date": "d", "machine": {}, "n_train": 1, "n_test": 1,
            "epochs": 3, "batch_size": 128, "activation": "relu", "repeats": 1,
            "steady_rule": "epochs 2..N", "wall_s": 10.0}
    paths = []
    for i, (ka, pk) in enumerate([(1000.0, 900.0), (1100.0, 1000.0)]):
        rep = {"meta": meta, "pca": None, "skipped": [], "errors": [], "notes": [],
               "runs": [_fake_run("keras_ae", i, ka, 222.0), _fake_run("plain_keras", i, pk, 222.5)]}
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(rep))
    assert run.main(["--render", *map(str, paths), "--out", str(tmp_path / "out")]) == 0
    merged = json.loads((tmp_path / "out" / "results.json").read_text())
    (ratio,) = [r for r in merged["ratios"] if r["peer"] == "plain_keras"]
    assert ratio["n_pairs"] == 2
    assert ratio["paired_wall_median"] == pytest.approx((1000 / 900 + 1100 / 1000) / 2)
    assert ratio["quality"] == "same"
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| ae | 1 | tensorflow | base | plain_keras |" in md  # no backend recorded: TensorFlow
    assert "## Across backends" not in md  # one backend: nothing to compare across


def test_ratios_pair_the_same_backend_and_cross_backend_table(tmp_path):
    meta = {"command": "run.py", "date": "d", "machine": {}, "n_train": 1, "n_test": 1,
            "epochs": 3, "batch_size": 128, "activation": "relu", "repeats": 1,
            "steady_rule": "epochs 2..N", "wall_s": 10.0}
    # an old report (no backend fields) and a new one on JAX, rendered together
    old = {"meta": meta, "pca": None, "skipped": [], "errors": [], "notes": [],
           "runs": [_fake_run("keras_ae", 0, 1000.0, 222.0), _fake_run("plain_keras", 0, 800.0, 222.0),
                    _fake_run("pythae", 0, 500.0, 223.0)]}
    new = {"meta": dict(meta, backends=["jax"]), "pca": None, "skipped": [], "notes": [],
           "errors": [{"framework": "keras_ae", "backend": "torch", "model": "ae", "threads": "1",
                       "variant": "base", "error": "Traceback\nkeras_ae failed on the torch backend"}],
           "runs": [_fake_run("keras_ae", 0, 3000.0, 222.0, "jax"),
                    _fake_run("plain_keras", 0, 2000.0, 222.0, "jax")]}
    paths = []
    for i, rep in enumerate((old, new)):
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(rep))
    assert run.main(["--render", *map(str, paths), "--out", str(tmp_path / "out")]) == 1  # an error
    report = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {(r["framework"], r["backend"]) for r in report["summary"]} == {
        ("keras_ae", "tensorflow"), ("plain_keras", "tensorflow"), ("pythae", "torch"),
        ("keras_ae", "jax"), ("plain_keras", "jax")}
    ratio = {(r["backend"], r["peer"]): r for r in report["ratios"]}
    assert ratio[("tensorflow", "plain_keras")]["wall"] == pytest.approx(1000 / 800)
    assert ratio[("jax", "plain_keras")]["wall"] == pytest.approx(3000 / 2000)
    assert ratio[("jax", "pythae")]["wall"] == pytest.approx(3000 / 500)
    assert ratio[("jax", "pythae")]["peer_backend"] == "torch"
    cross = {r["backend"]: r for r in report["cross_backend"]}
    assert set(cross) == {"tensorflow", "jax"}
    assert cross["jax"]["keras_ae_vs_plain_keras_tf"] == pytest.approx(3000 / 800)
    assert cross["jax"]["plain_keras_vs_plain_keras_tf"] == pytest.approx(2000 / 800)
    assert cross["jax"]["keras_ae_vs_plain_keras"] == pytest.approx(3000 / 2000)
    assert cross["tensorflow"]["keras_ae_vs_pythae"] == pytest.approx(1000 / 500)
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| ae | 1 | jax | keras_ae | base |" in md
    assert "| ae | 1 | jax | base | plain_keras |" in md
    assert "## Across backends" in md and "| ae | 1 | base | jax | 3000 | 2000 | 1.50 | 3.75 | 2.50 | 6.00 |" in md
    assert "ERROR: keras_ae on torch ae threads=1 (base): keras_ae failed on the torch backend" in md


@pytest.mark.skipif(not HAS_DATA, reason="needs Fashion-MNIST in " + common.DATA_DIR)
def test_pythae_is_skipped_with_a_message(tmp_path, capsys):
    code = run.main(["--quick", "--models", "ae", "--frameworks", "pythae", "--no-probe",
                     "--pythae-python", str(tmp_path / "no-python"), "--out", str(tmp_path)])
    assert code == 0
    assert "pythae skipped" in capsys.readouterr().out
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["runs"] == [] and "pythae skipped" in report["notes"][0]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_DATA, reason="needs Fashion-MNIST in " + common.DATA_DIR)
def test_quick_benchmark_end_to_end(tmp_path):
    # Two runs (about 6 CPU-seconds each); the timeout only guards against a hang
    # on a loaded machine.
    cmd = [sys.executable, os.path.join(BENCH, "run.py"), "--quick", "--models", "vae",
           "--frameworks", "plain_keras,keras_ae", "--iwae-k", "2", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "results.md").read_text().startswith("# keras_ae benchmark")
    runs = {(r["framework"], r["model"]): r for r in report["runs"]}
    for model in ("vae",):
        r = runs[("plain_keras", model)]
        assert r["timing"]["samples_per_s"] > 0 and r["timing"]["samples_per_cpu_s"] > 0
        assert 100 < r["metrics"]["test_bce"] < 600  # nats/image after one small epoch
        assert 0 < r["metrics"]["test_mse"] < 0.2
        assert 0.3 < r["probe_accuracy"] <= 1.0
        assert r["peak_rss_train_mb"] > 0 and r["matmul_peak_gflops"] > 0
    vae = runs[("plain_keras", "vae")]["metrics"]
    assert vae["neg_elbo"] > -vae["log_likelihood"] - 50  # IWAE-2 is near the ELBO
    assert report["pca"]["probe_accuracy"] > 0.5
    assert report["summary"] and report["peaks"]
    for s in report["skipped"]:
        print(f"keras_ae row skipped: {s['model']}: {s['skipped']}")
    ka = [m for (fw, m) in runs if fw == "keras_ae"]
    if not ka:
        pytest.skip("no keras_ae model ran (classes missing): " + str(report["skipped"]))
    peers = {(r["model"], r["peer"]) for r in report["ratios"]}
    assert {(m, "plain_keras") for m in ka} <= peers


@pytest.mark.slow
@pytest.mark.skipif(not HAS_DATA, reason="needs Fashion-MNIST in " + common.DATA_DIR)
@pytest.mark.skipif(not HAS_JAX, reason="needs jax for the JAX backend")
def test_quick_benchmark_on_two_backends(tmp_path):
    # Plain Keras on TensorFlow and JAX: the VAE (KL via add_loss) and the
    # three-phase AAE (three optimizers: per-backend train_step, JAX's stateless
    # one). Four small runs, no probes; the timeout only guards against a hang.
    cmd = [sys.executable, os.path.join(BENCH, "run.py"), "--quick", "--models", "vae,aae-paper",
           "--frameworks", "plain_keras", "--backends", "tensorflow,jax", "--iwae-k", "2",
           "--no-probe", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    runs = {(r["backend"], r["model"]): r for r in report["runs"]}
    assert set(runs) == {(b, m) for b in ("tensorflow", "jax") for m in ("vae", "aae-paper")}
    for (backend, model), r in runs.items():
        assert r["framework"] == "plain_keras" and r["versions"]["keras"]
        assert r["timing"]["samples_per_s"] > 0 and r["matmul_peak_gflops"] > 0
        assert 100 < r["metrics"]["test_bce"] < 600, (backend, model)
    for model in ("vae", "aae-paper"):  # the same model on both backends: similar losses
        tf_bce, jax_bce = (runs[(b, model)]["metrics"]["test_bce"] for b in ("tensorflow", "jax"))
        assert abs(tf_bce - jax_bce) < 0.1 * tf_bce, (model, tf_bce, jax_bce)
    assert runs[("jax", "vae")]["metrics"]["neg_elbo"] > 0
    assert {r["backend"] for r in report["summary"]} == {"tensorflow", "jax"}
    cross = {(r["model"], r["backend"]): r for r in report["cross_backend"]}
    assert cross[("vae", "jax")]["plain_keras_vs_plain_keras_tf"] > 0
    assert "| vae | default | jax | plain_keras | base |" in (tmp_path / "results.md").read_text()
