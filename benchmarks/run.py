"""keras_ae vs hand-written plain Keras vs pythae: speed and quality, side by side.

One entry point for every comparison. Each (framework, Keras backend,
model, thread setting, variant, repeat) trains in its own subprocess, so
thread settings are clean (``--threads 1`` pins TensorFlow's intra/inter-op
pools, JAX/XLA and PyTorch to one thread, plus ``OMP_NUM_THREADS=1``), and
runs are interleaved (keras_ae, plain Keras on each backend, then pythae,
keras_ae, ...) so that ratios hold on a noisy, shared machine. Read the
ratios; absolute times vary from run to run.

``--backends tensorflow,jax,torch`` runs keras_ae and plain Keras once per
Keras backend (``KERAS_BACKEND`` set in the child's environment); keras_ae is
compared with plain Keras on the same backend, and a cross-backend table puts
every backend against plain Keras on TensorFlow and against pythae. pythae
(PyTorch with its own trainer) runs once per model, whatever the backends.

Examples::

    # the full comparison (Fashion-MNIST 60k/10k)
    python benchmarks/run.py --models ae,dae,sae,vae,aae --epochs 10 --repeats 3 \\
        --threads 1,default --out bench_out --pythae-python /work/pythae-venv/bin/python

    # smoke test (CI): one small epoch on 2048/512 examples
    python benchmarks/run.py --quick --out /tmp/bench

    # plain Keras on the three Keras backends
    python benchmarks/run.py --models ae,vae --frameworks plain_keras \\
        --backends tensorflow,jax,torch --epochs 2 --repeats 2 --threads default --out bench_backends

    # fit settings for keras_ae's defaults (issue 8, item 3)
    python benchmarks/run.py --models ae,vae --frameworks keras_ae \\
        --variants base,spe=8,spe=32,jit,tfdata,bs=256 --epochs 3 --out bench_variants

Writes ``results.json`` (every run + the summaries) and ``results.md`` in
``--out``. pythae runs need a Python with torch and pythae
(``--pythae-python`` or ``KERAS_AE_PYTHAE_PYTHON``); without one they are
skipped with a message.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import common  # noqa: E402

FRAMEWORKS = ("keras_ae", "plain_keras", "pythae")
RUNNERS = {
    "keras_ae": "keras_ae_runner.py",
    "plain_keras": "plain_keras.py",
    "pythae": "pythae_runner.py",
}
PYTHAE_MODELS = ("ae", "vae", "aae-joint")
PYTHAE_ENV = "KERAS_AE_PYTHAE_PYTHON"
#: Keras backends, in report order; pythae always runs on PyTorch.
BACKENDS = ("tensorflow", "jax", "torch")
PYTHAE_BACKEND = "torch"
QUALITY = ("test_bce", "test_mse", "neg_elbo", "log_likelihood", "probe_accuracy")


# ------------------------------------------------------------------ arguments
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    p.add_argument("--models", default="ae,dae,sae,vae,aae",
                   help="comma list of %s; 'aae' = aae-paper,aae-joint" % ",".join(common.MODELS))
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    p.add_argument("--backends", default="tensorflow",
                   help="comma list of Keras backends for keras_ae and plain Keras, of "
                   f"{','.join(BACKENDS)} (default tensorflow); pythae runs once, on PyTorch")
    p.add_argument("--epochs", type=int, default=None, help="default 10 (quick: 1)")
    p.add_argument("--repeats", type=int, default=None, help="default 3 (quick: 1)")
    p.add_argument("--threads", default=None, help="comma list of 'default' and integers "
                   "(default '1,default'; quick: 'default')")
    p.add_argument("--variants", default="base",
                   help="comma list of fit settings for the Keras runners: base, spe=N, jit, "
                   "nojit, tfdata, bs=N, joined with '+'; pythae takes base and loop=manual")
    p.add_argument("--out", default="bench_out")
    p.add_argument("--quick", action="store_true", help="one epoch on 2048/512 examples")
    p.add_argument("--pythae-python", default=os.environ.get(PYTHAE_ENV),
                   help=f"Python with torch + pythae (or ${PYTHAE_ENV})")
    p.add_argument("--batch-size", type=int, default=common.BATCH_SIZE)
    p.add_argument("--activation", default="relu")
    p.add_argument("--iwae-k", type=int, default=None, help="VAE importance samples (default 100; quick 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of repeat 0 (repeat r uses seed + r)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per run")
    p.add_argument("--no-probe", action="store_true", help="skip the linear probes")
    p.add_argument("--keep-codes", action="store_true")
    p.add_argument("--render", nargs="+", metavar="RESULTS_JSON",
                   help="train nothing: merge the runs of these results.json files (e.g. "
                   "extra repeats) and rewrite the tables into --out")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 10
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.threads is None:
        args.threads = "default" if args.quick else "1,default"
    if args.iwae_k is None:
        args.iwae_k = 5 if args.quick else 100
    if args.timeout is None:
        args.timeout = 300 if args.quick else 6 * 3600
    models = []
    for m in filter(None, args.models.split(",")):
        for mm in common.ALIASES.get(m, (m,)):
            if mm not in common.MODELS:
                p.error(f"unknown model {m!r}; choose from {common.MODELS} or 'aae'")
            if mm not in models:
                models.append(mm)
    args.model_list = models
    args.framework_list = [f for f in args.frameworks.split(",") if f]
    for f in args.framework_list:
        if f not in FRAMEWORKS:
            p.error(f"unknown framework {f!r}; choose from {FRAMEWORKS}")
    args.backend_list = []
    for b in filter(None, args.backends.split(",")):
        if b not in BACKENDS:
            p.error(f"unknown backend {b!r}; choose from {BACKENDS}")
        if b not in args.backend_list:
            args.backend_list.append(b)
    if not args.backend_list:
        p.error("--backends needs at least one backend")
    args.thread_list = [t for t in args.threads.split(",") if t]
    args.variant_list = [v for v in args.variants.split(",") if v]
    return args


def run_backend(run):
    """Backend of a run; reports written before ``--backends`` ran Keras on TensorFlow."""
    if run.get("backend"):
        return run["backend"]
    return PYTHAE_BACKEND if run.get("framework") == "pythae" else "tensorflow"


def _backend_order(backend):
    return BACKENDS.index(backend) if backend in BACKENDS else len(BACKENDS)


def applies(framework, model, variant):
    """Whether a (framework, model, variant) run makes sense."""
    if framework == "pythae":
        return model in PYTHAE_MODELS and (variant == "base" or variant.startswith("loop="))
    return not variant.startswith("loop=")


# ---------------------------------------------------------------------- runs
def run_one(args, python, framework, model, threads, variant, repeat, codes_path,
            backend="tensorflow"):
    cmd = [
        python, os.path.join(HERE, RUNNERS[framework]),
        "--model", model,
        "--epochs", str(args.epochs),
        "--batch-size", str(args.batch_size),
        "--threads", threads,
        "--seed", str(args.seed + repeat),
        "--variant", variant,
        "--activation", args.activation,
        "--iwae-k", str(args.iwae_k),
    ]
    if args.quick:
        cmd.append("--quick")
    if codes_path:
        cmd += ["--codes-out", codes_path]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(common.thread_env(threads))
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if framework == "pythae":
        backend = PYTHAE_BACKEND
        env.pop("KERAS_BACKEND", None)
    else:
        env["KERAS_BACKEND"] = backend
        cmd += ["--backend", backend]
    t0 = time.perf_counter()
    base = {"framework": framework, "backend": backend, "model": model, "threads": threads,
            "variant": variant, "repeat": repeat, "seed": args.seed + repeat}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return dict(base, error=f"timed out after {args.timeout:.0f} s", command=shlex.join(cmd))
    lines = [l for l in proc.stdout.splitlines() if l.startswith(common.RESULT_PREFIX)]
    result = json.loads(lines[-1][len(common.RESULT_PREFIX):]) if lines else {}
    if result.get("error"):
        # The runner caught the failure and said what it was (e.g. keras_ae on a
        # backend it does not run on yet); its traceback is on stderr.
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return dict(base, **{k: v for k, v in result.items() if k != "error"},
                    error=f"{tail}\n{result['error']}".strip(), command=shlex.join(cmd))
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return dict(base, error=f"exit code {proc.returncode}: {tail}", command=shlex.join(cmd))
    result.setdefault("backend", backend)
    result.update(repeat=repeat, process_wall_s=time.perf_counter() - t0, command=shlex.join(cmd))
    return result


def schedule(args):
    """Interleaved order: frameworks innermost, backends next (A B C A B C ...).

    Jobs are ``(framework, model, threads, variant, repeat, backend)``. For
    each (repeat, threads, model, variant): keras_ae and plain Keras on the
    first backend, on the next backend, ..., then pythae once (PyTorch).
    """
    backends = getattr(args, "backend_list", None) or ["tensorflow"]
    jobs = []
    for r in range(args.repeats):
        for threads in args.thread_list:
            for model in args.model_list:
                for variant in args.variant_list:
                    for i, backend in enumerate(backends):
                        for fw in args.framework_list:
                            if not applies(fw, model, variant):
                                continue
                            if fw == "pythae":
                                if i == len(backends) - 1:
                                    jobs.append((fw, model, threads, variant, r, PYTHAE_BACKEND))
                            else:
                                jobs.append((fw, model, threads, variant, r, backend))
    return jobs


# -------------------------------------------------------------------- probes
def linear_probe(train, train_labels, test, test_labels):
    """Test accuracy of a logistic regression on standardised codes (fixed settings)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000, tol=1e-4))
    clf.fit(train, train_labels)
    return float(clf.score(test, test_labels))


def pca_baseline(quick):
    """PCA with ``LATENT_DIM`` components: reconstruction metrics and probe."""
    import numpy as np
    from sklearn.decomposition import PCA

    (x, y), (xt, yt) = common.load_fashion_mnist(quick=quick)
    t0 = time.perf_counter()
    pca = PCA(n_components=common.LATENT_DIM, svd_solver="randomized", random_state=0).fit(x)
    recon = np.clip(pca.inverse_transform(pca.transform(xt)), 0.0, 1.0)
    out = common.reconstruction_metrics(xt, recon)
    n = min(common.PROBE_TRAIN, len(x))
    out["probe_accuracy"] = linear_probe(pca.transform(x[:n]), y[:n], pca.transform(xt), yt)
    out["fit_s"] = time.perf_counter() - t0
    out["note"] = "reconstructions clipped to [0, 1] before the BCE"
    return out


# ---------------------------------------------------------------- summaries
def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def peaks(runs):
    """Best measured matmul GFLOP/s per (backend, threads)."""
    out = {}
    for r in runs:
        if r.get("matmul_peak_gflops"):
            key = f"{run_backend(r)}/{r['threads']}"
            out[key] = max(out.get(key, 0.0), r["matmul_peak_gflops"])
    return out


def wall_rate(run):
    """Training samples/s of the fastest steady epoch (epochs 2..N) of one run.

    A shared VM stalls a process for seconds at random (an epoch taking 10 s
    of wall time for 6 s of CPU time); like `timeit`, the best epoch is the
    estimate that such stalls cannot inflate. With one epoch (quick mode)
    it is the steady part of that epoch.
    """
    t = run["timing"]
    steady = t.get("epoch_wall_s", [])[1:]
    if steady and run.get("n_train"):
        return run["n_train"] / min(steady)
    return t["samples_per_s"]


def summarize(runs, peak):
    groups = {}
    for r in runs:
        key = (r["framework"], run_backend(r), r["model"], r["threads"], r["variant"])
        groups.setdefault(key, []).append(r)
    rows = []
    for (fw, backend, model, threads, variant), rs in groups.items():
        t = [r["timing"] for r in rs]
        rate = _median([wall_rate(r) for r in rs])
        cpu_rate = _median([x["samples_per_cpu_s"] for x in t])
        flops = rs[0]["train_flops_per_sample"]
        gflops = rate * flops / 1e9 if rate else None
        pk = peak.get(f"{backend}/{threads}")
        row = {
            "framework": fw, "backend": backend, "model": model, "threads": threads,
            "variant": variant,
            "n": len(rs),
            "samples_per_s": rate,
            "samples_per_s_all_steady": _median([x["samples_per_s"] for x in t]),
            "samples_per_cpu_s": cpu_rate,
            "s_per_epoch": _median([x["s_per_epoch"] for x in t]),
            "first_epoch_s": _median([x["first_epoch_wall_s"] for x in t]),
            "train_gflops": gflops,
            "pct_of_matmul_peak": 100.0 * gflops / pk if gflops and pk else None,
            "peak_rss_train_mb": max(r["peak_rss_train_mb"] for r in rs),
        }
        # Quality over distinct seeds: a seed run twice (merged reports) trains the
        # same model and must not shrink the spread.
        by_seed = {}
        for r in rs:
            by_seed.setdefault(r.get("seed", id(r)), r)
        row["n_seeds"] = len(by_seed)
        for q in QUALITY:
            vals = [r.get("probe_accuracy") if q == "probe_accuracy" else r["metrics"].get(q)
                    for r in by_seed.values()]
            row[q], row[q + "_sd"] = _mean_sd(vals)
        rows.append(row)
    order = {m: i for i, m in enumerate(common.MODELS)}
    rows.sort(key=lambda r: (order[r["model"]], r["threads"] != "1", r["variant"] != "base",
                             r["variant"], _backend_order(r["backend"]),
                             FRAMEWORKS.index(r["framework"])))
    return rows


def _summary_index(summary):
    return {(r["framework"], r.get("backend", "tensorflow"), r["model"], r["threads"], r["variant"]): r
            for r in summary}


def _pythae_row(by, model, threads):
    """pythae's base row for (model, threads); pythae runs on one backend."""
    return next((row for (fw, _, m, th, v), row in by.items()
                 if fw == "pythae" and (m, th, v) == (model, threads, "base")), None)


def ratios(runs, summary):
    """keras_ae / plain Keras (same backend) and keras_ae / pythae, per model, threads,
    variant and backend."""
    by = _summary_index(summary)
    paired = {}
    for r in runs:
        key = (r["model"], r["threads"], r["repeat"])
        paired.setdefault(key, {})[(r["framework"], run_backend(r), r["variant"])] = r
    out = []
    for (fw, backend, model, threads, variant), row in by.items():
        if fw != "keras_ae":
            continue
        for peer in ("plain_keras", "pythae"):
            if peer == "plain_keras":
                other = by.get((peer, backend, model, threads, variant))
                peer_key = (peer, backend, variant)
            else:
                other = _pythae_row(by, model, threads)
                peer_key = (peer, other and other["backend"], "base")
            if other is None:
                continue
            pr = []
            for (m, th, _), fws in paired.items():
                mine = fws.get(("keras_ae", backend, variant))
                theirs = fws.get(peer_key)
                # pythae only pairs with the base fit settings (like before --backends).
                if (m, th) == (model, threads) and mine and theirs and (
                        peer == "plain_keras" or variant == "base"):
                    pr.append(wall_rate(mine) / wall_rate(theirs))
            item = {
                "model": model, "threads": threads, "variant": variant, "backend": backend,
                "peer": peer, "peer_backend": other["backend"],
                "wall": _div(row["samples_per_s"], other["samples_per_s"]),
                "wall_all_steady": _div(row["samples_per_s_all_steady"],
                                        other["samples_per_s_all_steady"]),
                "cpu": _div(row["samples_per_cpu_s"], other["samples_per_cpu_s"]),
                "paired_wall_median": _median(pr),
                "n_pairs": len(pr),
            }
            for q in ("test_bce", "neg_elbo"):
                if row.get(q) is not None and other.get(q) is not None:
                    item[f"{q}_rel_diff_pct"] = 100.0 * (row[q] - other[q]) / abs(other[q])
            if row.get("test_bce") is not None and other.get("test_bce") is not None:
                item.update(quality_verdict(row, other))
            out.append(item)
    order = {m: i for i, m in enumerate(common.MODELS)}
    out.sort(key=lambda r: (order[r["model"]], r["threads"] != "1", r["variant"],
                            _backend_order(r["backend"]), r["peer"]))
    return out


def cross_backend(summary):
    """Each Keras backend against plain Keras on TensorFlow and against pythae.

    One row per (model, threads, variant, backend) that keras_ae or plain Keras
    ran on, when the report holds more than one Keras backend: samples/s of
    both, keras_ae / plain Keras on the same backend, keras_ae and plain Keras
    / plain Keras on TensorFlow, keras_ae / pythae (base fit settings).
    """
    by = _summary_index(summary)
    keras_rows = {k: r for k, r in by.items() if k[0] in ("keras_ae", "plain_keras")}
    if len({k[1] for k in keras_rows}) < 2:
        return []
    out = []
    for key in sorted({k[1:] for k in keras_rows}):
        backend, model, threads, variant = key
        ka = by.get(("keras_ae",) + key)
        pk = by.get(("plain_keras",) + key)
        pk_tf = by.get(("plain_keras", "tensorflow", model, threads, variant))
        py = _pythae_row(by, model, threads) if variant == "base" else None
        rate = lambda row: row["samples_per_s"] if row else None  # noqa: E731
        bce = lambda row: row.get("test_bce") if row else None  # noqa: E731
        out.append({
            "model": model, "threads": threads, "variant": variant, "backend": backend,
            "keras_ae_samples_per_s": rate(ka),
            "plain_keras_samples_per_s": rate(pk),
            "keras_ae_vs_plain_keras": _div(rate(ka), rate(pk)),
            "keras_ae_vs_plain_keras_tf": _div(rate(ka), rate(pk_tf)),
            "plain_keras_vs_plain_keras_tf": _div(rate(pk), rate(pk_tf)),
            "keras_ae_vs_pythae": _div(rate(ka), rate(py)),
            "keras_ae_cpu_vs_plain_keras_tf": _div(ka and ka["samples_per_cpu_s"],
                                                   pk_tf and pk_tf["samples_per_cpu_s"]),
            "keras_ae_test_bce": bce(ka),
            "plain_keras_test_bce": bce(pk),
        })
    order = {m: i for i, m in enumerate(common.MODELS)}
    out.sort(key=lambda r: (order[r["model"]], r["threads"] != "1", r["variant"] != "base",
                            r["variant"], _backend_order(r["backend"])))
    return out


def quality_verdict(row, other):
    """Is keras_ae's seed-averaged test BCE the peer's, within noise?

    "same" when the difference of the means is within 1 % of the peer's, or
    within two standard errors of the difference (seed-to-seed spread of
    both, from their repeats); "better"/"worse" otherwise.
    """
    diff = row["test_bce"] - other["test_bce"]
    se = math.sqrt(
        (row.get("test_bce_sd") or 0.0) ** 2 / row.get("n_seeds", row["n"])
        + (other.get("test_bce_sd") or 0.0) ** 2 / other.get("n_seeds", other["n"])
    )
    same = abs(diff) <= max(0.01 * abs(other["test_bce"]), 2.0 * se)
    return {
        "test_bce_diff": diff,
        "test_bce_diff_se": se,
        "quality": "same" if same else ("better" if diff < 0 else "worse"),
    }


def variant_table(summary):
    """Each variant against the base fit settings of the same framework."""
    by = _summary_index(summary)
    out = []
    for (fw, backend, model, threads, variant), row in by.items():
        base = by.get((fw, backend, model, threads, "base"))
        if variant == "base" or base is None:
            continue
        out.append({
            "framework": fw, "backend": backend, "model": model, "threads": threads,
            "variant": variant,
            "speedup_wall": _div(row["samples_per_s"], base["samples_per_s"]),
            "speedup_cpu": _div(row["samples_per_cpu_s"], base["samples_per_cpu_s"]),
            "test_bce_delta": (row["test_bce"] - base["test_bce"]) if row["test_bce"] is not None else None,
        })
    return out


def _div(a, b):
    return a / b if a is not None and b else None


# ------------------------------------------------------------------ markdown
def _f(v, fmt="{:.0f}", sd=None):
    if v is None:
        return "–"
    s = fmt.format(v)
    if sd:
        s += " ± " + fmt.format(sd)
    return s


def machine():
    info = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
        with open("/proc/meminfo") as f:
            info["mem_gb"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, StopIteration):
        pass
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def markdown(report):
    meta, lines = report["meta"], []
    lines += [
        "# keras_ae benchmark",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; wall time {meta['wall_s']:.0f} s; machine: {meta['machine'].get('cpu', '?')}, "
        f"{meta['machine'].get('cpus')} CPUs, {meta['machine'].get('mem_gb', '?')} GB; "
        f"load average at start {meta['machine'].get('loadavg_start')}, at end {meta.get('loadavg_end')}.  ",
        f"Data: Fashion-MNIST {meta['n_train']}/{meta['n_test']}; {meta['epochs']} epoch(s), batch "
        f"{meta['batch_size']}, Adam 1e-3, dense 784-512-256-32 ({meta['activation']}), "
        f"discriminator 256-256; {meta['repeats']} interleaved repeat(s); Keras backend(s): "
        f"{', '.join(meta.get('backends') or ['tensorflow'])} (pythae: PyTorch).  ",
        "Throughput: samples/s = training samples per second of the fastest steady epoch of "
        f"each run ({meta['steady_rule']}; robust to the multi-second stalls of a shared VM), "
        "median over repeats; 'all steady' = all of epochs 2..N; samples/CPU-s uses process CPU "
        "time (all threads) over epochs 2..N. Absolute times vary between runs on a shared "
        "machine: read the ratios.",
        "",
    ]
    if report["peaks"]:
        lines += ["Measured dense-matmul peak (float32, best of a few): " + ", ".join(
            f"{k} threads: {v:.0f} GFLOP/s" for k, v in sorted(report["peaks"].items())) + ".", ""]
    lines += [
        "| model | threads | backend | framework | variant | samples/s | all steady | samples/CPU-s "
        "| s/epoch | GFLOP/s (% peak) | peak RSS MB | test BCE (nats) | MSE/pixel | -ELBO | log p(x) "
        "| probe acc | n |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["summary"]:
        gf = "–" if r["train_gflops"] is None else f"{r['train_gflops']:.1f}" + (
            f" ({r['pct_of_matmul_peak']:.0f} %)" if r["pct_of_matmul_peak"] else "")
        lines.append(
            f"| {r['model']} | {r['threads']} | {r.get('backend', 'tensorflow')} | {r['framework']} | "
            f"{r['variant']} | {_f(r['samples_per_s'])} | {_f(r.get('samples_per_s_all_steady'))} | "
            f"{_f(r['samples_per_cpu_s'])} | {_f(r['s_per_epoch'], '{:.2f}')} | {gf} | "
            f"{_f(r['peak_rss_train_mb'])} | {_f(r['test_bce'], '{:.1f}', r['test_bce_sd'])} | "
            f"{_f(r['test_mse'], '{:.4f}')} | {_f(r['neg_elbo'], '{:.1f}', r['neg_elbo_sd'])} | "
            f"{_f(r['log_likelihood'], '{:.1f}')} | {_f(r['probe_accuracy'], '{:.3f}')} | {r['n']} |"
        )
    if report.get("pca"):
        p = report["pca"]
        lines.append(
            f"| PCA-{common.LATENT_DIM} | – | – | scikit-learn | – | – | – | – | – | – | – | "
            f"{p['test_bce']:.1f} | {p['test_mse']:.4f} | – | – | {_f(p.get('probe_accuracy'), '{:.3f}')} | 1 |"
        )
    lines.append("")
    if report["ratios"]:
        lines += [
            "## Ratios (keras_ae / peer; > 1 means keras_ae is faster)",
            "",
            "keras_ae on each backend against plain Keras on the same backend, and against pythae.",
            "",
            "| model | threads | backend | variant | peer | samples/s | all steady | samples/CPU-s "
            "| paired median (n) | Δ test BCE (± s.e.) | Δ -ELBO | quality |",
            "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in report["ratios"]:
            bce = _f(r.get("test_bce_rel_diff_pct"), "{:+.2f} %")
            if r.get("test_bce_diff") is not None:
                bce += f" ({r['test_bce_diff']:+.1f} ± {r['test_bce_diff_se']:.1f} nats)"
            peer = r["peer"] if r["peer"] != "pythae" else f"pythae ({r.get('peer_backend', 'torch')})"
            lines.append(
                f"| {r['model']} | {r['threads']} | {r.get('backend', 'tensorflow')} | {r['variant']} | "
                f"{peer} | {_f(r['wall'], '{:.2f}')} | "
                f"{_f(r.get('wall_all_steady'), '{:.2f}')} | {_f(r['cpu'], '{:.2f}')} | {_f(r['paired_wall_median'], '{:.2f}')} ({r['n_pairs']}) | "
                f"{bce} | {_f(r.get('neg_elbo_rel_diff_pct'), '{:+.2f} %')} | {r.get('quality', '–')} |"
            )
        lines += [
            "",
            "quality: *same* when keras_ae's seed-averaged test BCE is within 1 % of the peer's or "
            "within two standard errors of the difference (seed-to-seed spread over the repeats).",
            "",
        ]
    if report.get("cross_backend"):
        lines += [
            "## Across backends (samples/s ratios; > 1 means faster)",
            "",
            "Each Keras backend against plain Keras on TensorFlow (the reference) and against "
            "pythae (PyTorch, base fit settings).",
            "",
            "| model | threads | variant | backend | keras_ae samples/s | plain Keras samples/s "
            "| keras_ae / plain Keras (same backend) | keras_ae / plain Keras TF "
            "| plain Keras / plain Keras TF | keras_ae / pythae | keras_ae test BCE "
            "| plain Keras test BCE |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in report["cross_backend"]:
            lines.append(
                f"| {r['model']} | {r['threads']} | {r['variant']} | {r['backend']} | "
                f"{_f(r['keras_ae_samples_per_s'])} | {_f(r['plain_keras_samples_per_s'])} | "
                f"{_f(r['keras_ae_vs_plain_keras'], '{:.2f}')} | "
                f"{_f(r['keras_ae_vs_plain_keras_tf'], '{:.2f}')} | "
                f"{_f(r['plain_keras_vs_plain_keras_tf'], '{:.2f}')} | "
                f"{_f(r['keras_ae_vs_pythae'], '{:.2f}')} | "
                f"{_f(r['keras_ae_test_bce'], '{:.1f}')} | {_f(r['plain_keras_test_bce'], '{:.1f}')} |"
            )
        lines.append("")
    if report["variants"]:
        lines += [
            "## Fit settings (speed-up over the same framework's base settings)",
            "",
            "| model | threads | backend | framework | variant | wall | CPU | Δ test BCE (nats) |",
            "|---|---|---|---|---|---:|---:|---:|",
        ]
        for r in report["variants"]:
            lines.append(
                f"| {r['model']} | {r['threads']} | {r.get('backend', 'tensorflow')} | {r['framework']} | "
                f"{r['variant']} | {_f(r['speedup_wall'], '{:.2f}')} | {_f(r['speedup_cpu'], '{:.2f}')} | "
                f"{_f(r['test_bce_delta'], '{:+.2f}')} |"
            )
        lines.append("")
    notes = list(report["notes"])
    notes += [f"skipped: {s['framework']} on {run_backend(s)} {s['model']} ({s['variant']}): {s['skipped']}"
              for s in report["skipped"]]
    notes += [f"ERROR: {e['framework']} on {run_backend(e)} {e['model']} threads={e['threads']} "
              f"({e['variant']}): {e['error'].splitlines()[-1] if e['error'] else ''}"
              for e in report["errors"]]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


NOTES = [
    "Losses: Bernoulli NLL summed over the 784 pixels, averaged over the batch, for every framework. "
    "pythae's AE uses the summed squared error by default: its loss_function is replaced by this BCE "
    "(a 5-line subclass). pythae's VAE with reconstruction_loss='bce' already matches.",
    "AAE: 'aae-paper' is Makhzani et al.'s three phases per batch (pythae has none); 'aae-joint' is "
    "pythae's single joint update (autoencoder loss = BCE + 0.5 x generator BCE, discriminator "
    "loss = BCE(prior) + BCE(codes), two optimizers step on one forward pass); compare keras_ae "
    "with pythae on aae-joint.",
    "pythae trains with its own trainer (DataLoader over per-example items, tqdm progress bar, "
    "a copy of the best model each epoch): that is what a pythae user runs. The variant "
    "'loop=manual' measures the same pythae model in a bare PyTorch loop.",
    "Test metrics on the reconstruction of the clean input (VAE: decoded posterior mean); -ELBO "
    "(one sample) and log p(x) (IWAE) use one NumPy estimator for every framework; keras_ae's own "
    "vae.elbo / vae.log_likelihood are stored in results.json (api_metrics).",
    "Linear probe: scikit-learn LogisticRegression(C=1, max_iter=1000) on standardised codes "
    f"of the first {common.PROBE_TRAIN} training images (VAE: posterior mean), accuracy on the test set.",
    "GFLOP/s: dense-matmul FLOPs of one training step (3x the forward pass for trained networks), "
    "times the measured samples/s; the peak is a float32 matmul of the same backend at the same threads.",
    "Backends: keras_ae and plain Keras run once per Keras backend (--backends; KERAS_BACKEND in "
    "each run's environment) and are paired on the same backend; pythae runs once per model (PyTorch) "
    "and is the peer of keras_ae on every backend. Plain Keras: AE/DAE/SAE/VAE are backend-neutral "
    "functional models with a compiled loss (VAE: KL via add_loss); the AAE's step gets its gradients "
    "from tf.GradientTape, torch.autograd.grad or jax.vjp (stateless train_step). Threads on JAX: "
    "CPU affinity (XLA sizes its pool from it), plus single-threaded Eigen for --threads 1; on torch: "
    "torch.set_num_threads.",
]


# ----------------------------------------------------------------------- main
def render(paths, out):
    """Merges the runs of several results.json files and rewrites the report."""
    reports = []
    for path in paths:
        with open(path) as f:
            reports.append(json.load(f))
    runs = []
    for i, rep in enumerate(reports):
        for r in rep["runs"]:
            # Repeats of different reports are different pairs (even with one seed).
            runs.append(dict(r, repeat=f"{i}.{r['repeat']}") if len(reports) > 1 else r)
    first = reports[0]
    meta = dict(first["meta"])
    if len(reports) > 1:
        meta["command"] = " + ".join(rep["meta"]["command"] for rep in reports)
        meta["wall_s"] = sum(rep["meta"]["wall_s"] for rep in reports)
        meta["repeats"] = "/".join(str(rep["meta"]["repeats"]) for rep in reports)
    report = build_report(
        meta, runs,
        pca=next((rep["pca"] for rep in reports if rep.get("pca")), None),
        skipped=[s for rep in reports for s in rep["skipped"]],
        errors=[e for rep in reports for e in rep["errors"]],
        notes=first["notes"],
    )
    return write_report(report, out)


def build_report(meta, runs, *, pca, skipped, errors, notes):
    """Summary, ratios and fit-settings tables of ``runs``, with everything to rerender them."""
    pk = peaks(runs)
    summary = summarize(runs, pk)
    return {
        "meta": meta,
        "peaks": pk,
        "pca": pca,
        "summary": summary,
        "ratios": ratios(runs, summary),
        "cross_backend": cross_backend(summary),
        "variants": variant_table(summary),
        "runs": runs,
        "skipped": skipped,
        "errors": errors,
        "notes": notes,
    }


def write_report(report, out):
    """Writes ``results.json`` and ``results.md`` into ``out``; 1 if any run failed."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(report, f, indent=1)
    md = markdown(report)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    return 1 if report["errors"] else 0

def main(argv=None):
    args = parse_args(argv)
    if args.render:
        return render(args.render, args.out)
    os.makedirs(args.out, exist_ok=True)
    codes_dir = os.path.join(args.out, "codes")
    os.makedirs(codes_dir, exist_ok=True)
    start = time.perf_counter()
    meta = {
        "command": shlex.join([os.path.relpath(sys.argv[0], os.getcwd()) if argv is None else "run.py"]
                              + (sys.argv[1:] if argv is None else list(argv))),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "epochs": args.epochs, "repeats": args.repeats, "batch_size": args.batch_size,
        "threads": args.thread_list, "variants": args.variant_list, "models": args.model_list,
        "frameworks": args.framework_list, "backends": args.backend_list,
        "quick": args.quick, "activation": args.activation,
        "iwae_k": args.iwae_k,
        "n_train": common.QUICK_TRAIN if args.quick else 60000,
        "n_test": common.QUICK_TEST if args.quick else 10000,
        "steady_rule": "epochs 2..N" if args.epochs >= 2 else "epoch 1 after the first warm-up steps",
    }
    notes = list(NOTES)
    pythae_python = args.pythae_python
    if "pythae" in args.framework_list:
        if not pythae_python or not os.path.exists(pythae_python):
            msg = (f"pythae skipped: no Python with torch + pythae (pass --pythae-python PATH or set "
                   f"{PYTHAE_ENV}; got {pythae_python!r})")
            print(msg, flush=True)
            notes.insert(0, msg)
            args.framework_list = [f for f in args.framework_list if f != "pythae"]
    jobs = schedule(args)
    print(f"{len(jobs)} runs -> {args.out}", flush=True)
    runs, skipped, errors = [], [], []
    for i, (fw, model, threads, variant, r, backend) in enumerate(jobs, 1):
        python = pythae_python if fw == "pythae" else sys.executable
        codes = None if args.no_probe else os.path.join(
            codes_dir, f"{fw}_{backend}_{model}_{threads}_{variant.replace('=', '')}_r{r}.npz")
        res = run_one(args, python, fw, model, threads, variant, r, codes, backend)
        if "error" in res:
            errors.append(res)
            status = "ERROR " + res["error"].splitlines()[-1][:200] if res["error"] else "ERROR"
        elif "skipped" in res:
            res["repeat"] = r
            skipped.append(res)
            status = "skipped: " + res["skipped"]
        else:
            res["codes_path"] = codes
            runs.append(res)
            t = res["timing"]
            status = (f"{t['samples_per_s']:.0f} samples/s, {t['samples_per_cpu_s']:.0f} samples/CPU-s, "
                      f"test BCE {res['metrics']['test_bce']:.1f}")
        print(f"[{i}/{len(jobs)}] {fw:11s} {backend:10s} {model:9s} threads={threads:7s} {variant:10s} "
              f"r{r}: {status}", flush=True)
    if not args.no_probe:
        for res in runs:
            import numpy as np

            with np.load(res["codes_path"]) as z:
                res["probe_accuracy"] = linear_probe(z["train"], z["train_labels"], z["test"], z["test_labels"])
            if not args.keep_codes:
                os.remove(res["codes_path"])
                res["codes_path"] = None
        if not args.keep_codes:
            try:
                os.rmdir(codes_dir)
            except OSError:
                pass
    # one skip message per (framework, backend, model, variant) is enough.
    seen, uniq = set(), []
    for s in skipped:
        key = (s["framework"], run_backend(s), s["model"], s["variant"])
        if key not in seen:
            seen.add(key)
            uniq.append(s)
    try:
        loadavg_end = os.getloadavg()
    except OSError:
        loadavg_end = None
    report = build_report(
        dict(meta, wall_s=time.perf_counter() - start, loadavg_end=loadavg_end), runs,
        pca=None if args.no_probe else pca_baseline(args.quick),
        skipped=uniq, errors=errors, notes=notes,
    )
    return write_report(report, args.out)

if __name__ == "__main__":
    sys.exit(main())
