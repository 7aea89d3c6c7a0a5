"""The one place where keras_ae differs between Keras backends.

keras_ae's models, layers and priors are written with `keras.ops` and
`keras.random`; what cannot be written that way lives in one small module
per backend, picked once at import from `keras.backend.backend()`:

* `tensorflow`: gradients with `tf.GradientTape`, `tf.distribute` replicas
  (loss scaling, per-replica seeds, cross-replica means);
* `jax`: a stateless training step (every variable, the extra optimizers'
  included, threaded through Keras's JAX state); several devices through
  `keras.distribution.DataParallel`, where one step sees the global batch;
* `torch`: gradients with `torch.autograd.grad`, eager steps.

Each module exposes the same names: `TrainerMixin` (the `train_step` /
`test_step` of `keras_ae.models.BaseAutoencoder`), `num_replicas`,
`replica_id`, `replica_seed`, `scale_for_replicas`, `global_batch`,
`global_batch_mean`, `global_sum`, `argmin`, `replica_slice` and `shape_logs_for_reduction`.
"""

import keras

NAME = keras.backend.backend()

if NAME == "tensorflow":
    from keras_ae.backend import tensorflow as _impl
elif NAME == "jax":
    from keras_ae.backend import jax as _impl
elif NAME == "torch":
    from keras_ae.backend import torch as _impl
else:  # pragma: no cover - numpy / openvino cannot train
    raise ImportError(
        "keras_ae trains models and needs the 'tensorflow', 'jax' or 'torch' "
        f"Keras backend. Received: KERAS_BACKEND={NAME!r}"
    )

TrainerMixin = _impl.TrainerMixin
num_replicas = _impl.num_replicas
replica_id = _impl.replica_id
replica_seed = _impl.replica_seed
scale_for_replicas = _impl.scale_for_replicas
global_batch = _impl.global_batch
global_batch_mean = _impl.global_batch_mean
global_sum = _impl.global_sum
argmin = _impl.argmin
replica_slice = _impl.replica_slice
inference_function = _impl.inference_function
SEED_DTYPE = _impl.SEED_DTYPE
shape_logs_for_reduction = _impl.shape_logs_for_reduction
#: Whether `keras.export.ExportArchive` can write a SavedModel on this backend.
CAN_EXPORT_SAVED_MODEL = _impl.CAN_EXPORT_SAVED_MODEL

__all__ = [
    "NAME",
    "TrainerMixin",
    "num_replicas",
    "replica_id",
    "replica_seed",
    "scale_for_replicas",
    "global_batch",
    "global_batch_mean",
    "global_sum",
    "argmin",
    "replica_slice",
    "inference_function",
    "SEED_DTYPE",
    "shape_logs_for_reduction",
    "CAN_EXPORT_SAVED_MODEL",
]
