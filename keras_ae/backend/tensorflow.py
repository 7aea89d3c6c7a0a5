"""TensorFlow: `tf.GradientTape` steps and `tf.distribute` replicas.

Under `tf.distribute` each replica runs the step on its slice of the batch
and the strategy *sums* gradients, so every per-replica mean loss is divided
by the number of replicas before differentiation (`scale_for_replicas`);
metrics receive the unscaled value. Random draws fold the replica id into
the seed (`replica_seed`), and penalties of a batch mean use the global
batch (`global_batch_mean`).
"""

import keras
import tensorflow as tf
from keras import ops

from keras_ae.backend import phases

#: dtype of Keras's seed tensors on this backend (`SeedGenerator.state`).
SEED_DTYPE = "int64"

#: Whether `keras.export.ExportArchive` can write a SavedModel here.
CAN_EXPORT_SAVED_MODEL = True


def num_replicas():
    """Number of replicas taking part in the current (or default) strategy."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_id():
    """Global id of the replica running this code (0 outside a replica context)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return 0
    return ctx.replica_id_in_sync_group


def scale_for_replicas(value):
    """Divides a per-replica mean loss by the number of replicas.

    Gradients of the returned value, summed over replicas by the strategy,
    equal the gradient of the global-batch mean.
    """
    n = num_replicas()
    if n > 1:
        value = ops.multiply(value, ops.cast(1.0 / n, value.dtype))
    return value


def replica_seed(seed_generator):
    """Draws a seed from ``seed_generator`` that differs on every replica.

    On one replica this is exactly ``seed_generator.next()``. On several the
    global replica id is folded into the second seed word, so each replica
    draws independent noise, reproducible for a given seed and replica count.
    """
    seed = seed_generator.next()
    if num_replicas() > 1:
        rid = replica_id()
        if not isinstance(rid, int) or rid != 0:
            rid = ops.cast(rid, seed.dtype)
            # A large odd multiplier keeps replica streams apart from the
            # generator's own ordered increments.
            offset = ops.stack([ops.cast(0, seed.dtype), rid * 1000003])
            seed = seed + ops.cast(offset, seed.dtype)
    return seed


def global_batch_mean(values):
    """Mean over the batch axis of the *global* batch (all replicas), float32.

    Returns shape ``(1,) + values.shape[1:]``. The cross-replica sum is
    differentiable (its gradient is again an all-reduce).
    """
    values = ops.cast(values, "float32")
    total = ops.sum(values, axis=0, keepdims=True)
    count = ops.cast(ops.shape(values)[0], "float32")
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        total, count = ctx.all_reduce("SUM", [total, count])
    return total / count


def global_sum(values):
    """``values`` (float32) summed over the replicas; on one replica, unchanged.

    For statistics that every replica must update identically (the VQ-VAE's
    codebook counts and sums): each replica passes its own sum over its
    slice and receives the sum over the global batch.
    """
    values = ops.cast(values, "float32")
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        values = ctx.all_reduce("SUM", values)
    return values


def argmin(x, axis=-1):
    """Index (int32) of the smallest value along ``axis``, first on ties.

    `keras.ops.argmin` on TensorFlow first maps -0.0 below +0.0 with a
    bitcast and `tf.BitwiseAnd`, an op the LiteRT converter rejects (Keras
    3.15); plain `tf.argmin` treats the two zeros as equal, which is what a
    nearest-neighbour search needs, and converts.
    """
    return tf.argmin(x, axis=axis, output_type=tf.int32)


def global_batch(values):
    """The rows of every replica's ``values`` and this replica's first row.

    Returns ``(gathered, offset)``: ``values`` of all replicas concatenated
    along the batch axis in replica order (``values`` itself on one
    replica) and the row where this replica's ``values`` start. The gather
    is differentiable: each replica receives the gradients its rows get
    from every replica's loss.
    """
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return values, 0
    sizes = ctx.all_gather(tf.shape(values)[:1], axis=0)
    offset = tf.reduce_sum(sizes[: ctx.replica_id_in_sync_group])
    return ctx.all_gather(values, axis=0), offset


def replica_slice(draw, n):
    """This replica's ``n`` rows of one draw made for the global batch.

    ``draw(total)`` must return ``total`` rows from a seed shared by the
    replicas, so the result does not depend on the number of replicas.
    """
    replicas = num_replicas()
    if replicas == 1:
        return draw(n)
    rows = draw(n * replicas)
    start = tf.cast(replica_id(), tf.int32) * tf.cast(n, tf.int32)
    return tf.slice(rows, tf.stack([start, 0]), tf.stack([n, tf.shape(rows)[1]]))


def _is_multi_worker():
    # No public API tells a multi-worker strategy apart (Keras 3.15, TF 2.21).
    extended = getattr(tf.distribute.get_strategy(), "extended", None)
    in_multi_worker = getattr(extended, "_in_multi_worker_mode", None)
    return bool(in_multi_worker and in_multi_worker())


def shape_logs_for_reduction(logs):
    """Gives logged scalars shape ``(1,)`` under multi-worker training.

    Keras 3 reduces per-replica logs with ``strategy.reduce("MEAN", v,
    axis=0)`` under `MultiWorkerMirroredStrategy`, which fails on scalars
    (tensorflow/tensorflow#72388); a leading axis of one gives the same mean.
    """
    if not _is_multi_worker():
        return logs
    return {k: ops.reshape(v, (1,)) if len(v.shape) == 0 else v for k, v in logs.items()}


def _apply_phase(phase, x, y, sample_weight):
    updates = phases.active_updates(phase)
    with tf.GradientTape(persistent=len(updates) > 1) as tape:
        terms, y_pred = phase.loss_fn(x, y, sample_weight)
        scaled = [
            u.optimizer.scale_loss(scale_for_replicas(terms[u.loss])) for u in updates
        ]
    for update, loss in zip(updates, scaled):
        gradients = tape.gradient(loss, update.variables)
        update.optimizer.apply_gradients(zip(gradients, update.variables))
    del tape
    return terms, y_pred


#: `train_step` / `test_step` of `BaseAutoencoder` on TensorFlow.
TrainerMixin = phases.eager_trainer(_apply_phase)


del keras


def inference_function(model, fn):
    """``fn`` compiled for repeated inference calls (a `tf.function`)."""
    del model  # variables are captured by reference
    return tf.function(fn, reduce_retracing=True)
