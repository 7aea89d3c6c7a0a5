"""`Gaussian`: an isotropic normal prior N(0, stddev² I)."""

import math

import keras
import numpy as np
from keras import ops

from keras_ae import rng
from keras_ae import stats
from keras_ae.priors.base import LOG_2PI
from keras_ae.priors.base import Prior
from keras_ae.priors.base import check_latent_dim
from keras_ae.priors.base import check_number


@keras.saving.register_keras_serializable(package="keras_ae")
class Gaussian(Prior):
    """Isotropic Gaussian prior ``N(0, stddev² I)``.

    Args:
        stddev: standard deviation, > 0.
        seed: optional integer seed of the layer's random stream.
        **kwargs: base layer arguments.

    Example:
    ```python
    prior = keras_ae.priors.Gaussian(stddev=1.0, seed=0)
    z = prior.sample(128, latent_dim=8)           # (128, 8) float32
    r = prior.ball_radius(0.99, latent_dim=8)     # 4.482: 99% of the mass
    prior.fraction_inside(codes, p=0.99)          # share of codes in that ball
    ```
    """

    def __init__(self, stddev=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = check_number("stddev", stddev, positive=True)

    def noise_spec(self, latent_dim):
        return {"noise": {"distribution": "normal", "shape": (check_latent_dim(latent_dim),)}}

    def draw_noise(self, n, latent_dim, seed):
        return {"noise": rng.normal((n, latent_dim), seed)}

    def from_noise(self, noise):
        """``stddev * noise["noise"]`` (N(0, 1) noise of shape ``(n, latent_dim)``)."""
        return self.stddev * self._check_noise(noise)["noise"]

    def log_prob(self, z):
        z = ops.cast(ops.convert_to_tensor(z), "float32")
        d = float(z.shape[-1])
        s = self.stddev
        return -0.5 * ops.sum(ops.square(z / s), axis=-1) - d * (
            math.log(s) + 0.5 * LOG_2PI
        )

    def moments(self, latent_dim):
        d = check_latent_dim(latent_dim)
        return np.zeros(d), np.eye(d) * self.stddev**2

    def ball_radius(self, p=0.99, latent_dim=None):
        """Radius of the centred ball holding a fraction ``p`` of the mass.

        ``stddev * sqrt(stats.chi2_quantile(p, latent_dim))``: the squared norm of
        a sample divided by ``stddev²`` is chi-square with ``latent_dim``
        degrees of freedom.

        Args:
            p: probability in (0, 1).
            latent_dim: dimension of the codes.

        Returns:
            A Python float.
        """
        return self.stddev * math.sqrt(stats.chi2_quantile(p, check_latent_dim(latent_dim)))

    def fraction_inside(self, z, p=0.99):
        """Fraction of the rows of ``z`` inside the prior's ``p``-mass ball.

        About ``p`` for codes distributed as the prior.

        Args:
            z: codes, shape ``(n, latent_dim)``.
            p: probability in (0, 1) defining the ball (`ball_radius`).

        Returns:
            A Python float in [0, 1].
        """
        z = np.asarray(z, dtype=np.float64)
        radius = self.ball_radius(p, z.shape[-1])
        return float(np.mean(np.linalg.norm(z, axis=-1) <= radius))

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev})
        return config
