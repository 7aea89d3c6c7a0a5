"""Does an XLA CPU flag make JAX's float32 matmuls (and so keras_ae) faster?

Times jitted matmuls of the benchmark AE's shapes and a 2048 square, each
flag set in its own process (``XLA_FLAGS`` is read once, at JAX start-up),
and prints GFLOP/s. A flag that raises these is then worth a training run:
``XLA_FLAGS=<flag> python benchmarks/run.py --models ae --frameworks
keras_ae,plain_keras --backends jax --threads default --epochs 3``.

Example::

    python benchmarks/xla_cpu_flags.py \\
        "" --xla_cpu_use_xnnpack=true --xla_cpu_experimental_ynn_fusion_type=dot
"""

import json
import os
import subprocess
import sys
import time

SHAPES = ((2048, 2048, 2048), (128, 784, 512), (128, 512, 256), (784, 128, 512))


def _child():
    import jax

    out = {}
    for m, k, n in SHAPES:
        a = jax.random.uniform(jax.random.key(1), (m, k))
        b = jax.random.uniform(jax.random.key(2), (k, n))
        f = jax.jit(lambda a, b: (a @ b).sum())
        f(a, b).block_until_ready()
        best = float("inf")
        for _ in range(5 if m == 2048 else 200):
            t = time.perf_counter()
            f(a, b).block_until_ready()
            best = min(best, time.perf_counter() - t)
        out[f"{m}x{k}x{n}"] = round(2.0 * m * k * n / best / 1e9, 1)
    print(json.dumps(out))


def main(flag_sets):
    for flags in flag_sets or [""]:
        env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
        proc = subprocess.run([sys.executable, __file__, "--child"], env=env,
                              capture_output=True, text=True, timeout=300)
        line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
        print(f"{flags or '(none)'}: {line}  GFLOP/s", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        _child()
    else:
        main(sys.argv[1:])
