"""Batch statistics appended to every row, for discriminators."""

import keras
from keras import ops

from keras_ae import backend

MODES = ("std", "moments")


@keras.saving.register_keras_serializable(package="keras_ae")
class MinibatchFeatures(keras.layers.Layer):
    """Appends statistics of the whole (global) batch to every row.

    A discriminator that also reads them can tell a batch of codes that is
    too narrow or shifted against the prior (minibatch standard deviation,
    Karras et al. 2018). Statistics are unweighted means over the global
    batch under ``tf.distribute`` (`keras_ae.backend.global_batch_mean`) and
    are differentiable.

    Args:
        mode: ``"std"`` (one column: the batch standard deviation averaged
            over the features) or ``"moments"`` (every feature's batch mean
            and standard deviation: ``2 * width`` columns).
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    ```python
    layer = keras_ae.layers.MinibatchFeatures("moments")
    layer(np.zeros((8, 4))).shape   # (8, 12)
    ```
    """

    def __init__(self, mode="moments", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(
                f"`mode` must be one of {MODES}. Received: mode={mode!r}"
            )
        self.mode = mode

    def call(self, z):
        z32 = ops.cast(z, "float32")
        mean = backend.global_batch_mean(z32)
        std = ops.sqrt(backend.global_batch_mean(ops.square(z32 - mean)) + 1e-6)
        if self.mode == "std":
            stats = ops.mean(std, axis=-1, keepdims=True)
        else:
            stats = ops.concatenate([mean, std], axis=-1)
        stats = ops.broadcast_to(stats, (ops.shape(z)[0], ops.shape(stats)[1]))
        return ops.concatenate([z, ops.cast(stats, z.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        extra = 1 if self.mode == "std" else 2 * input_shape[-1]
        return tuple(input_shape[:-1]) + (input_shape[-1] + extra,)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
