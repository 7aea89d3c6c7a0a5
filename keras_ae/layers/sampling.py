"""Reparameterised sampling from a diagonal Gaussian posterior (Kingma & Welling 2013)."""

import keras
import numpy as np
from keras import ops

from keras_ae import rng
from keras_ae import validation
from keras_ae.layers.random_layer import RandomLayer

# exp(0.5 * 20) ~ 2.2e4 and exp(0.5 * -30) ~ 3e-7: wide enough for any
# sensible posterior, narrow enough that exp never overflows in float32.
LOG_VAR_MIN = -30.0
LOG_VAR_MAX = 20.0


@keras.saving.register_keras_serializable(package="keras_ae")
class Sampling(RandomLayer):
    """Draws ``z = mean + exp(0.5 * log_var) * eps`` with ``eps ~ N(0, I)``.

    Called as ``layer([z_mean, z_log_var], training=...)``. In training the
    sample is computed in float32 whatever the dtype policy, with
    ``log_var`` clipped to ``[LOG_VAR_MIN, LOG_VAR_MAX] = [-30, 20]`` so that
    ``exp`` never overflows (no NaN or inf even for ``log_var = ±1e4``), and
    returned in the layer's compute dtype (float16 under ``mixed_float16``,
    clipped to float16's finite range). Inputs are not autocast, so a float32
    ``z_mean`` keeps its precision until the final cast.

    When ``training`` is false or ``None`` the layer returns ``z_mean``: a
    model's ``call``/``predict``/``encode`` is deterministic.

    ``noise_scale`` multiplies ``eps``. It is 1.0 for a real VAE; 0.0 holds
    the noise fixed at zero (``z = z_mean`` in training too, without drawing
    random numbers), which tests use to compare training runs exactly, e.g.
    with and without a distribution strategy. It is a plain Python float read
    when the step is traced: set it before the first `fit`/`train_on_batch`,
    or recompile after changing it.

    Under ``tf.distribute`` every replica draws different ``eps`` (through
    `RandomLayer.next_seed`), and the seed generator state is saved with the
    model, so a reloaded model continues the same random stream.

    Args:
        seed: optional integer seed.
        noise_scale: non-negative float multiplying ``eps`` (default 1.0).
        **kwargs: base layer arguments.

    Example:
        >>> sampling = Sampling(seed=0)
        >>> z_mean = np.zeros((4, 2), "float32")
        >>> z_log_var = np.zeros((4, 2), "float32")
        >>> z = sampling([z_mean, z_log_var], training=True)   # ~ N(0, I)
        >>> sampling([z_mean, z_log_var])                      # == z_mean
    """

    def __init__(self, seed=None, noise_scale=1.0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.noise_scale = validation.number(noise_scale, "noise_scale", low=0.0)
        # Inputs are cast to float32 inside `call`, not to the compute dtype.
        self.autocast = False

    def call(self, inputs, training=False):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                "`Sampling` expects a list [z_mean, z_log_var]. "
                f"Received: inputs={inputs!r}"
            )
        z_mean = ops.cast(inputs[0], "float32")
        if training and self.noise_scale != 0.0:
            z_log_var = ops.clip(
                ops.cast(inputs[1], "float32"), LOG_VAR_MIN, LOG_VAR_MAX
            )
            eps = rng.normal(ops.shape(z_mean), self.next_seed())
            if self.noise_scale != 1.0:
                eps = eps * self.noise_scale
            z = z_mean + ops.exp(0.5 * z_log_var) * eps
        else:
            z = z_mean
        dtype = self.compute_dtype
        if dtype == "float16":
            limit = float(np.finfo(np.float16).max)
            z = ops.clip(z, -limit, limit)
        return ops.cast(z, dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update({"noise_scale": self.noise_scale})
        return config
