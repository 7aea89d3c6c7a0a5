"""One worker of the two-worker test (tests/test_multiworker.py).

Run by the test, never collected by pytest. ``TF_CONFIG`` names the cluster
and this worker's index. The worker builds a `MultiWorkerMirroredStrategy`
(one CPU device per worker: it does NOT import tests/conftest.py), then for
every model case id given on the command line builds the model inside the
strategy scope, compiles it with plain SGD and trains it with `fit` for
``STEPS`` steps of ``GLOBAL_BATCH`` examples (noise held fixed for the
``<id>`` runs, on for the ``<id>:noisy`` runs), feeding its own shard of every
global batch. It writes the final weights and the training logs to
``OUT_DIR/<run>.worker<index>.npz``.

Usage:
    TF_CONFIG=... python multiworker_worker.py OUT_DIR CASE_ID[:noisy] ...
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

GLOBAL_BATCH = 16
STEPS = 2
LEARNING_RATE = 0.5
TIMEOUT_SECONDS = 60


def global_batches(x):
    """The examples of the ``STEPS`` global batches, in order."""
    return x[: GLOBAL_BATCH * STEPS]


def sharded_dataset(x, strategy):
    """Each worker feeds its shard: every global batch split across workers."""

    def dataset_fn(context):
        per_replica = context.get_per_replica_batch_size(GLOBAL_BATCH)
        ds = tf.data.Dataset.from_tensor_slices(global_batches(x)).batch(per_replica)
        # Mini-batch k goes to replica k % n: global batch j is mini-batches
        # j*n ... j*n + n - 1, i.e. examples j*GLOBAL_BATCH ... in order.
        return ds.shard(context.num_input_pipelines, context.input_pipeline_id)

    return strategy.distribute_datasets_from_function(dataset_fn)


def main(argv):
    out_dir, runs = argv[1], argv[2:]
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=TIMEOUT_SECONDS
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync

    # Imported after the strategy exists (TF collectives are configured).
    from harness import MODEL_CASES
    from harness import compile_sgd

    from keras_ae import distribute

    cases = {case.id: case for case in MODEL_CASES}
    for run in runs:
        case_id, _, mode = run.partition(":")
        case = cases[case_id]
        with strategy.scope():
            # keras_ae's multi-worker log shaping (docs/design.md, trap 11)
            # keys on this.
            assert distribute.is_multi_worker()
            model = case.make() if mode == "noisy" else case.make_fixed()
            compile_sgd(model, LEARNING_RATE)
        history = model.fit(
            sharded_dataset(case.x, strategy),
            epochs=1,
            steps_per_epoch=STEPS,
            verbose=0,
        )
        arrays = {f"w{i}": np.asarray(w) for i, w in enumerate(model.weights)}
        arrays.update(
            {f"log_{k}": np.asarray(v, dtype="float64") for k, v in history.history.items()}
        )
        path = os.path.join(out_dir, f"{run.replace(':', '_')}.worker{task['index']}.npz")
        np.savez(path + ".tmp.npz", **arrays)
        os.replace(path + ".tmp.npz", path)
        print(f"worker {task['index']}: {run} done", flush=True)


if __name__ == "__main__":
    main(sys.argv)
