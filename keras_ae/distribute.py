"""Loss scaling for replicas and mixed precision, and per-replica seeds, in one place.

Every custom training step in keras_ae goes through these helpers so that the
traps listed in DESIGN.md section 4 are handled once:

* Under ``tf.distribute`` gradients are *summed* over replicas, so each
  replica's mean loss is multiplied by ``1 / num_replicas_in_sync`` before
  differentiation (`scale_for_replicas`); metrics receive the unscaled value.
* Under ``mixed_float16`` every optimizer must scale its own loss
  (`scale_for_optimizer`), not only ``model.optimizer``.
* A ``SeedGenerator`` gives the same draws on every replica: `replica_seed`
  folds the global replica id into the drawn seed.
"""

import keras
import tensorflow as tf
from keras import ops


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

    Args:
        value: scalar loss tensor computed on this replica's batch.

    Returns:
        ``value / num_replicas`` (``value`` itself on a single replica).
    """
    n = num_replicas()
    if n > 1:
        value = ops.multiply(value, ops.cast(1.0 / n, value.dtype))
    return value


def scale_for_optimizer(optimizer, loss):
    """Applies the optimizer's loss scale (mixed precision), if it has one."""
    if optimizer is None:
        return loss
    return optimizer.scale_loss(loss)


def replica_seed(seed_generator):
    """Draws a seed from ``seed_generator`` that differs on every replica.

    On a single replica this is exactly ``seed_generator.next()``, so results
    without a strategy are unchanged. On several replicas the global replica
    id is folded into the second seed word, so each replica draws independent
    noise that is still reproducible for a given seed and replica count.

    Args:
        seed_generator: a `keras.random.SeedGenerator`.

    Returns:
        A seed tensor of shape ``(2,)`` usable by `keras.random` ops.
    """
    seed = seed_generator.next()
    if num_replicas() > 1:
        rid = replica_id()
        if not isinstance(rid, int) or rid != 0:
            rid = ops.cast(rid, seed.dtype)
            # Large odd multiplier so that replica streams never overlap with
            # the ordered counter increments of the generator itself.
            offset = ops.stack([ops.cast(0, seed.dtype), rid * 1000003])
            seed = seed + ops.cast(offset, seed.dtype)
    return seed


def is_multi_worker():
    """Whether the current strategy all-reduces across several workers."""
    strategy = tf.distribute.get_strategy()
    extended = getattr(strategy, "extended", None)
    in_multi_worker = getattr(extended, "_in_multi_worker_mode", None)
    return bool(in_multi_worker and in_multi_worker())


def shape_logs_for_reduction(logs):
    """Gives logged scalars a shape of ``(1,)`` under multi-worker training.

    Keras 3 reduces per-replica logs with ``strategy.reduce("MEAN", v,
    axis=0)`` under `MultiWorkerMirroredStrategy`, which fails on scalars
    ("Invalid reduction dimension 0 for input with 0 dimensions",
    tensorflow/tensorflow#72388). A leading axis of size one makes the
    reduction valid and yields the same mean. Elsewhere logs are unchanged.

    Args:
        logs: dict of metric name to scalar tensor.

    Returns:
        The logs, reshaped to ``(1,)`` under multi-worker strategies.
    """
    if not is_multi_worker():
        return logs
    return {k: ops.reshape(v, (1,)) if len(v.shape) == 0 else v for k, v in logs.items()}


def loss_dtype():
    """Losses and KL terms are always computed in float32."""
    return "float32"


def to_float32(x):
    """Casts a tensor to float32 (for losses under mixed precision)."""
    return ops.cast(x, "float32")


__all__ = [
    "num_replicas",
    "replica_id",
    "scale_for_replicas",
    "scale_for_optimizer",
    "replica_seed",
    "to_float32",
    "is_multi_worker",
    "shape_logs_for_reduction",
]

del keras
