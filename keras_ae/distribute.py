"""Loss scaling, per-replica seeds and replica counts, whatever the backend.

The public face of `keras_ae.backend`: every custom training step and random
layer in keras_ae goes through these helpers, so that data-parallel training
matches single-device training on every backend (see docs/design.md,
"Several devices"):

* under ``tf.distribute`` gradients are *summed* over replicas, so each
  replica's mean loss is multiplied by ``1 / num_replicas_in_sync`` before
  differentiation (`scale_for_replicas`); on JAX and torch a step sees the
  global batch and nothing is rescaled;
* under ``mixed_float16`` every optimizer scales its own loss
  (`scale_for_optimizer`);
* a ``SeedGenerator`` gives the same draws on every TensorFlow replica:
  `replica_seed` folds the replica id into the drawn seed.
"""

from keras_ae import backend
from keras_ae.backend import num_replicas
from keras_ae.backend import replica_id
from keras_ae.backend import replica_seed
from keras_ae.backend import scale_for_replicas
from keras_ae.backend import shape_logs_for_reduction


def scale_for_optimizer(optimizer, loss):
    """Applies the optimizer's loss scale (mixed precision), if it has one."""
    if optimizer is None:
        return loss
    return optimizer.scale_loss(loss)


def is_multi_worker():
    """Whether the current `tf.distribute` strategy spans several workers."""
    if backend.NAME != "tensorflow":
        return False
    return backend._impl._is_multi_worker()


__all__ = [
    "num_replicas",
    "replica_id",
    "scale_for_replicas",
    "scale_for_optimizer",
    "replica_seed",
    "is_multi_worker",
    "shape_logs_for_reduction",
]
