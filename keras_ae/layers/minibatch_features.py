"""Batch statistics appended to every row, for discriminators."""

import keras
import numpy as np
from keras import ops

from keras_ae import backend

MODES = ("std", "moments", "covariance", "covariance_norm")


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
            and standard deviation: ``2 * width`` columns) or
            ``"covariance"`` (``"moments"`` and the batch correlation of
            every pair of features, ``width * (width - 1) / 2`` more columns:
            codes correlated against an uncorrelated prior are detectable)
            or ``"covariance_norm"`` (``"covariance"`` and the batch mean and
            standard deviation of every row's squared norm divided by the
            width: 2 more columns, which detect batches with too many codes
            far from the origin). The correlations make the width of the
            discriminator's input grow as ``width ** 2 / 2``: 496 more
            columns for a 32-D code, 8,128 for a 128-D one.
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    ```python
    layer = keras_ae.layers.MinibatchFeatures("moments")
    layer(np.zeros((8, 4))).shape   # (8, 12)
    keras_ae.layers.MinibatchFeatures("covariance_norm")(np.zeros((8, 4))).shape
    # (8, 20)
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
        if self.mode in ("covariance", "covariance_norm"):
            stats = ops.concatenate([stats, self._correlations(z32, mean, std)], axis=-1)
        if self.mode == "covariance_norm":
            stats = ops.concatenate([stats, self._norm_moments(z32)], axis=-1)
        stats = ops.broadcast_to(stats, (ops.shape(z)[0], ops.shape(stats)[1]))
        return ops.concatenate([z, ops.cast(stats, z.dtype)], axis=-1)

    @staticmethod
    def _correlations(z32, mean, std):
        # The strict upper triangle of the batch correlation matrix, (1, pairs).
        width = z32.shape[-1]
        # One (width, width) Gram matrix, summed over the replicas: no
        # (batch, width, width) tensor is ever made.
        scaled = (z32 - mean) / std
        gram = backend.global_sum(ops.matmul(ops.transpose(scaled), scaled))
        count = backend.global_sum(ops.cast(ops.shape(scaled)[0], "float32"))
        corr = ops.reshape(gram / count, (1, width * width))
        rows, cols = np.triu_indices(width, k=1)
        return ops.take(corr, rows * width + cols, axis=1)

    @staticmethod
    def _norm_moments(z32):
        # Batch mean and std of |z|^2 / width, (1, 2).
        norms = ops.mean(ops.square(z32), axis=-1, keepdims=True)
        mean = backend.global_batch_mean(norms)
        std = ops.sqrt(backend.global_batch_mean(ops.square(norms - mean)) + 1e-6)
        return ops.concatenate([mean, std], axis=-1)

    def compute_output_shape(self, input_shape):
        width = input_shape[-1]
        extra = 1 if self.mode == "std" else 2 * width
        if self.mode in ("covariance", "covariance_norm"):
            extra += width * (width - 1) // 2
        if self.mode == "covariance_norm":
            extra += 2
        return tuple(input_shape[:-1]) + (width + extra,)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
