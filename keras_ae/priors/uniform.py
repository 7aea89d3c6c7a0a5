"""`Uniform`: a uniform prior on the box [low, high]^d."""

import math

import keras
import numpy as np
from keras import ops

from keras_ae import rng
from keras_ae.priors.base import Prior
from keras_ae.priors.base import check_latent_dim
from keras_ae.priors.base import check_number


@keras.saving.register_keras_serializable(package="keras_ae")
class Uniform(Prior):
    """Uniform prior on the box ``[low, high]^latent_dim``.

    Args:
        low: lower bound of every coordinate.
        high: upper bound of every coordinate, > ``low``.
        seed: optional integer seed of the layer's random stream.
        **kwargs: base layer arguments.

    Example:
    ```python
    prior = keras_ae.priors.Uniform(-1.0, 1.0, seed=0)
    z = prior.sample(64, latent_dim=2)      # in [-1, 1)
    ```
    """

    def __init__(self, low=-1.0, high=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        low = check_number("low", low)
        high = check_number("high", high)
        if not low < high:
            raise ValueError(
                f"Argument `low` must be smaller than `high`. Received: low={low}, high={high}"
            )
        self.low = low
        self.high = high

    def noise_spec(self, latent_dim):
        return {"noise": {"distribution": "uniform", "shape": (check_latent_dim(latent_dim),)}}

    def draw_noise(self, n, latent_dim, seed):
        return {"noise": rng.uniform((n, latent_dim), seed)}

    def from_noise(self, noise):
        """``low + (high - low) * noise["noise"]`` (uniform [0, 1) noise ``(n, latent_dim)``)."""
        return self.low + (self.high - self.low) * self._check_noise(noise)["noise"]

    def log_prob(self, z):
        z = ops.cast(ops.convert_to_tensor(z), "float32")
        d = float(z.shape[-1])
        inside = ops.all(ops.logical_and(z >= self.low, z <= self.high), axis=-1)
        density = -d * math.log(self.high - self.low)
        return ops.where(inside, density, -np.inf)

    def moments(self, latent_dim):
        d = check_latent_dim(latent_dim)
        mean = np.full(d, 0.5 * (self.low + self.high))
        return mean, np.eye(d) * (self.high - self.low) ** 2 / 12.0

    def get_config(self):
        config = super().get_config()
        config.update({"low": self.low, "high": self.high})
        return config
