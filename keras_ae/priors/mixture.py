"""`MixtureOfGaussians`: K Gaussians with means on a circle (or on the axes)."""

import math

import keras
import numpy as np
from keras import ops

from keras_ae import rng
from keras_ae import validation
from keras_ae.priors.base import LOG_2PI
from keras_ae.priors.base import Prior
from keras_ae.priors.base import check_latent_dim
from keras_ae.priors.base import check_number

LAYOUTS = ("circle", "axes")


@keras.saving.register_keras_serializable(package="keras_ae")
class MixtureOfGaussians(Prior):
    """Equal-weight mixture of isotropic Gaussians with means on a circle.

    In 2-D (the paper's Figure 4) component ``k`` has mean
    ``radius * (cos θ_k, sin θ_k)`` with ``θ_k = 2πk / num_components``.
    In ``d >= 2`` dimensions the same circle is drawn in the plane spanned by
    ``u = (1, 0, 1, 0, ...)`` and ``v = (0, 1, 0, 1, ...)`` (normalised):
    the 2-D means are copied into every pair of dimensions (0, 1), (2, 3)...
    and scaled by ``1 / sqrt(d // 2)``, so every mean has norm ``radius`` and
    neighbouring components are ``2 * radius * sin(π / num_components)``
    apart in any dimension (for odd ``d`` the last coordinate of every mean is
    0). In 1-D the means are evenly spaced on ``[-radius, radius]``. The
    means depend only on the configuration and ``latent_dim``.

    With the defaults (10 components, radius 4, stddev 0.5) neighbouring
    means are 4.9 standard deviations apart, so about 98.6% of the samples
    are nearer to their own component's mean than to any other.

    ``layout="axes"`` puts component ``k`` on the ``k``-th axis instead,
    ``radius * e_k`` (needs ``latent_dim >= num_components``): every pair of
    means is ``sqrt(2) * radius`` apart (11.3 standard deviations with the
    defaults), and the nearest mean of ``z`` is the largest of its first
    ``num_components`` coordinates. On the circle the nearest mean depends
    only on the code's projection on one plane whatever ``latent_dim``;
    on the axes every component has a direction of its own.

    Args:
        num_components: number of components, >= 1.
        radius: norm of every component mean, >= 0.
        stddev: standard deviation of every component, > 0.
        layout: ``"circle"`` (default, the paper's) or ``"axes"`` (one
            coordinate axis per component).
        seed: optional integer seed of the layer's random stream.
        **kwargs: base layer arguments.

    Example:
    ```python
    prior = keras_ae.priors.MixtureOfGaussians(10, radius=4.0, stddev=0.5, seed=0)
    z, k = prior.sample(256, latent_dim=2, return_components=True)
    z3 = prior.sample(4, latent_dim=2, components=[3, 3, 3, 3])  # from component 3
    prior.assign_components(z)      # nearest means, equal to k for ~98.6%
    axes = keras_ae.priors.MixtureOfGaussians(10, layout="axes")
    axes.component_means(16)[3]     # 4.0 at index 3, 0 elsewhere
    ```
    """

    def __init__(
        self, num_components=10, radius=4.0, stddev=0.5, seed=None, layout="circle", **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        self.num_components = validation.integer(num_components, "num_components", low=1)
        self.radius = check_number("radius", radius, non_negative=True)
        self.stddev = check_number("stddev", stddev, positive=True)
        self.layout = validation.one_of(layout, "layout", LAYOUTS)

    def validate_latent_dim(self, latent_dim):
        """Raises ``ValueError`` if the means cannot be placed in ``latent_dim`` dims."""
        self.component_means(latent_dim)

    def component_means(self, latent_dim):
        """Component means, a float32 NumPy array ``(num_components, latent_dim)``."""
        d = check_latent_dim(latent_dim)
        k = self.num_components
        if self.layout == "axes":
            if d < k:
                raise ValueError(
                    "`layout='axes'` needs latent_dim >= num_components (or use "
                    f"layout='circle'). Received: latent_dim={d}, num_components={k}"
                )
            return (self.radius * np.eye(k, d)).astype(np.float32)
        if d == 1:
            points = np.linspace(-1.0, 1.0, k) if k > 1 else np.ones(1)
            return (self.radius * points[:, None]).astype(np.float32)
        theta = 2.0 * np.pi * np.arange(k) / k
        pairs = d // 2
        means = np.zeros((k, d))
        means[:, 0 : 2 * pairs : 2] = np.cos(theta)[:, None]
        means[:, 1 : 2 * pairs : 2] = np.sin(theta)[:, None]
        return (self.radius / math.sqrt(pairs) * means).astype(np.float32)

    def sample(
        self, n, latent_dim, seed=None, *, components=None, return_components=False
    ):
        """Draws ``n`` samples, optionally from given components.

        Args:
            n: number of samples, a Python int or a scalar integer tensor.
            latent_dim: dimension of each sample.
            seed: None (the layer's stream) or an int (stateless draw).
            components: optional integer array/tensor ``(n,)`` of component
                indices to draw from (e.g. class labels, as in the paper's
                supervised AAE); by default components are drawn uniformly.
            return_components: also return the int32 component indices.

        Returns:
            float32 ``(n, latent_dim)`` samples, and with
            ``return_components=True`` a tuple ``(samples, components)``.
        """
        latent_dim = check_latent_dim(latent_dim)
        n = self._check_n(n)
        seed = self._seed_tensor(seed)
        z, k = self._draw_with_components(n, latent_dim, seed, components)
        return (z, k) if return_components else z

    def noise_spec(self, latent_dim):
        return {
            "component_noise": {"distribution": "uniform", "shape": ()},
            "noise": {"distribution": "normal", "shape": (check_latent_dim(latent_dim),)},
        }

    def draw_noise(self, n, latent_dim, seed):
        return {
            "component_noise": rng.uniform((n,), rng.fold(seed, 0)),
            "noise": rng.normal((n, latent_dim), rng.fold(seed, 1)),
        }

    def from_noise(self, noise):
        """``means[k] + stddev * noise["noise"]`` with component
        ``k = floor(num_components * noise["component_noise"])``."""
        noise = self._check_noise(noise)
        return self._from_components(self._components_of(noise["component_noise"]), noise["noise"])

    def _components_of(self, uniform):
        k = ops.floor(uniform * float(self.num_components))
        return ops.cast(ops.clip(k, 0.0, float(self.num_components - 1)), "int32")

    def _from_components(self, components, normal):
        means = ops.convert_to_tensor(self.component_means(int(normal.shape[-1])))
        return ops.take(means, components, axis=0) + self.stddev * normal

    def _draw_with_components(self, n, latent_dim, seed, components):
        noise = self.draw_noise(n, latent_dim, seed)
        if components is None:
            components = self._components_of(noise["component_noise"])
        else:
            components = self._check_components(components, n)
        return self._from_components(components, noise["noise"]), components

    def _check_components(self, components, n):
        values = np.asarray(ops.convert_to_numpy(components))
        if not isinstance(n, int):
            n = int(ops.convert_to_numpy(n))
        if values.shape != (n,) or not np.issubdtype(values.dtype, np.integer):
            raise ValueError(
                f"`components` must be integers of shape (n,) = ({n},). "
                f"Received: shape={values.shape}, dtype={values.dtype}"
            )
        if values.size and (values.min() < 0 or values.max() >= self.num_components):
            raise ValueError(
                f"`components` must lie in [0, {self.num_components}). "
                f"Received: values in [{values.min()}, {values.max()}]"
            )
        return ops.convert_to_tensor(values.astype("int32"))

    def assign_components(self, z):
        """Index of the nearest component mean for every row of ``z``.

        Args:
            z: codes, shape ``(n, latent_dim)``.

        Returns:
            An int32 tensor ``(n,)``.
        """
        z = ops.cast(ops.convert_to_tensor(z), "float32")
        means = ops.convert_to_tensor(self.component_means(int(z.shape[-1])))
        return ops.cast(ops.argmin(self._squared_distances(z, means), axis=-1), "int32")

    @staticmethod
    def _squared_distances(z, means):
        return (
            ops.sum(ops.square(z), axis=-1, keepdims=True)
            - 2.0 * ops.matmul(z, ops.transpose(means))
            + ops.sum(ops.square(means), axis=-1)[None, :]
        )

    def log_prob(self, z):
        z = ops.cast(ops.convert_to_tensor(z), "float32")
        d = int(z.shape[-1])
        means = ops.convert_to_tensor(self.component_means(d))
        sq = ops.maximum(self._squared_distances(z, means), 0.0)
        s = self.stddev
        log_components = -0.5 * sq / s**2 - d * (math.log(s) + 0.5 * LOG_2PI)
        return ops.logsumexp(log_components, axis=-1) - math.log(self.num_components)

    def moments(self, latent_dim):
        means = self.component_means(latent_dim).astype(np.float64)
        mean = means.mean(axis=0)
        centred = means - mean
        cov = centred.T @ centred / len(means) + np.eye(means.shape[1]) * self.stddev**2
        return mean, cov

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_components": self.num_components,
                "radius": self.radius,
                "stddev": self.stddev,
                "layout": self.layout,
            }
        )
        return config
