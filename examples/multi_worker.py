"""
Title: Multi-worker training with tf.distribute
Description: Train a keras_ae VAE (or any keras_ae model) on several worker
processes with `tf.distribute.MultiWorkerMirroredStrategy`: the script starts
two local workers itself, or runs as one worker of a real cluster.

## Introduction

keras_ae does not bring its own distributed runtime: its models run on
TensorFlow's. `MultiWorkerMirroredStrategy` keeps one copy of the weights on
every worker and all-reduces the gradients of each step, so N workers with
a global batch of B examples make the same update as one process with the
same B examples. The keras_ae training steps are written for that:

* every loss term is a per-replica mean divided by the number of replicas
  (gradients are *summed* across replicas), regularizer losses included;
* noise and sampling layers draw different, reproducible noise on every
  replica;
* Keras 3's `fit` fails under this strategy when reducing scalar logs
  (tensorflow/tensorflow#72388); keras_ae's steps give their logs the shape
  the reduction needs, so plain `fit` works.

tests/test_multiworker.py checks that two workers end with the same weights
as one process trained on the same global batches.

## How a cluster is described

Every worker process reads the environment variable ``TF_CONFIG``: the
address of every worker, and which one it is. Worker 0 is the *chief*: it
writes the logs and saves the model.

```
TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
            "task": {"type": "worker", "index": 0}}' python multi_worker.py
```

Run without ``TF_CONFIG``, this script plays the cluster itself: it picks two
free ports on 127.0.0.1 and starts two copies of itself, each with its own
``TF_CONFIG`` (about a minute on 2 CPU cores):

```
python examples/multi_worker.py --model vae --epochs 2 --out multi_worker
```
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

"""
## The launcher: two local workers

Free ports come from binding to port 0. Each worker gets its own
``TF_CONFIG``; the launcher waits with a deadline and always kills the
workers on the way out (a worker whose peer died would otherwise wait for it
until the collective timeout).
"""


def free_ports(n):
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def launch(args, argv):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(args.workers)]}
    print(f"Starting {args.workers} workers: {cluster['worker']}", flush=True)
    procs = []
    try:
        for index in range(args.workers):
            tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            env = dict(os.environ, TF_CONFIG=json.dumps(tf_config))
            # Worker 0 (the chief) prints; the others stay quiet.
            out = None if index == 0 else subprocess.DEVNULL
            procs.append(
                subprocess.Popen([sys.executable, __file__, *argv], env=env, stdout=out)
            )
        deadline = time.monotonic() + args.timeout
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        codes = [proc.returncode for proc in procs]
        if any(codes):
            sys.exit(f"A worker failed: exit codes {codes}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


"""
## One worker

The strategy must be created before any other TensorFlow work (it connects
the workers). The model is built and compiled inside ``strategy.scope()``, so
its variables are mirrored on every worker.

The input is a `tf.data.Dataset` of *global* batches:
`keras_ae.datasets.make_dataset` streams a named dataset or a directory of
``.npy``/``.npz`` shards, and `fit` splits every global batch across the
workers (tf.data auto-sharding). Every worker shuffles with the same seed,
so together they see each example once per epoch.
"""


def train(args):
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()

    import keras_ae

    task = json.loads(os.environ["TF_CONFIG"])["task"]
    chief = task["index"] == 0
    if chief:
        print(
            f"{strategy.num_replicas_in_sync} replicas; global batch {args.batch_size}",
            flush=True,
        )

    train_ds = keras_ae.datasets.make_dataset(
        args.data, batch_size=args.batch_size, seed=args.seed
    )
    test_ds = keras_ae.datasets.make_dataset(
        args.data, split="test", batch_size=args.batch_size, shuffle=False
    )
    input_shape = tuple(train_ds.element_spec.shape[1:])

    models = {
        "ae": keras_ae.Autoencoder,
        "vae": keras_ae.VAE,
        "aae": keras_ae.AAE,
    }
    with strategy.scope():
        model = models[args.model](
            input_shape=input_shape,
            latent_dim=args.latent_dim,
            hidden_units=(256, 128),
            seed=args.seed,
        )
        model.compile()

    model.fit(
        train_ds,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        verbose=2 if chief else 0,
    )
    # Every worker takes part in evaluate (it all-reduces the metrics).
    logs = model.evaluate(test_ds, steps=args.eval_steps, verbose=0, return_dict=True)

    # Only the chief writes files; its weights equal every other worker's.
    if chief:
        print("test:", {k: round(float(v), 4) for k, v in logs.items()}, flush=True)
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"{args.model}.keras")
        model.save(path)
        print(f"Saved {path}", flush=True)


"""
## Running it
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["ae", "vae", "aae"], default="vae")
    p.add_argument("--data", default="fashion_mnist", help="dataset name or shard directory")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps-per-epoch", type=int, default=100)
    p.add_argument("--eval-steps", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=256, help="global batch size")
    p.add_argument("--latent-dim", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="local workers to start")
    p.add_argument("--timeout", type=float, default=1800, help="seconds (launcher)")
    p.add_argument("--out", default="multi_worker")
    return p.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if "TF_CONFIG" in os.environ:
        train(arguments)
    else:
        launch(arguments, sys.argv[1:])
