"""Replica helpers for backends where one step sees the whole batch.

On JAX a step on several devices (`keras.distribution.DataParallel`) is one
program over the global batch, sharded by XLA; on torch Keras trains on one
device. Either way the model never sees a per-replica slice: losses are
global-batch means, one random draw covers the global batch and no loss is
rescaled.
"""

from keras import ops


def num_replicas():
    """Always 1: the step sees the global batch."""
    return 1


def replica_id():
    """Always 0."""
    return 0


def scale_for_replicas(value):
    """The loss unchanged (the step's mean is already the global mean)."""
    return value


def replica_seed(seed_generator):
    """``seed_generator.next()``."""
    return seed_generator.next()


def global_batch_mean(values):
    """Mean over the batch axis, float32, shape ``(1,) + values.shape[1:]``."""
    return ops.mean(ops.cast(values, "float32"), axis=0, keepdims=True)


def global_sum(values):
    """``values`` as float32: the step already sums over the whole batch."""
    return ops.cast(values, "float32")


def argmin(x, axis=-1):
    """``keras.ops.argmin`` as int32."""
    return ops.cast(ops.argmin(x, axis=axis), "int32")


def global_batch(values):
    """``(values, 0)``: the step already sees the whole batch."""
    return values, 0


def replica_slice(draw, n):
    """``draw(n)``: there is one replica."""
    return draw(n)


def shape_logs_for_reduction(logs):
    """The logs unchanged."""
    return logs
