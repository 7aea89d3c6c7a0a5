"""Priors for the adversarial autoencoder (Makhzani et al. 2015).

A prior is a `keras_ae.layers.random_layer.RandomLayer`: its random stream
is seeded, drawn per replica under ``tf.distribute`` and saved with the model
that holds it, so a reloaded AAE continues the same stream of prior draws.

Every prior offers:

* ``sample(n, latent_dim, seed=None)``: float32 samples of shape
  ``(n, latent_dim)``; ``n`` may be a scalar tensor (dynamic batch size in an
  exported TensorFlow graph). With ``seed=None`` the layer's own stream is used (a fresh
  draw every call); with an integer seed the draw is stateless and
  reproducible, and the layer's stream is left untouched.
* ``prior(codes)``: samples shaped like ``codes`` (and of their dtype), the
  form used inside a training step: ``real = prior(z)``.
* ``log_prob(z)``: log density per row, float32.
* ``noise_spec(latent_dim)``, ``draw_noise(n, latent_dim, seed)`` and
  ``from_noise(noise)``: the standard noise tensors the prior transforms
  (normal N(0, 1) or uniform [0, 1) draws) and the transform, so that a
  prior sample can be made from noise drawn anywhere (the exported
  ``sample_from_noise`` endpoint); ``draw`` is ``from_noise(draw_noise(...))``.
* ``moments(latent_dim)`` and ``frechet_distance(z)``: the prior's mean and
  covariance, and the Fréchet distance between the Gaussian fitted to codes
  ``z`` and the one with the prior's moments.

`get` turns a name, a config dict, None or an instance into a prior.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_ae import rng
from keras_ae import validation
from keras_ae.layers.random_layer import RandomLayer

__all__ = [
    "Prior",
    "Gaussian",
    "MixtureOfGaussians",
    "Uniform",
    "chi2_quantile",
    "get",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _check_number(name, value, *, positive=False, non_negative=False):
    low = 0.0 if (positive or non_negative) else None
    return validation.number(value, name, low=low, low_inclusive=not positive)


def _check_latent_dim(latent_dim):
    return validation.integer(latent_dim, "latent_dim", low=1)


@keras.saving.register_keras_serializable(package="keras_ae")
class Prior(RandomLayer):
    """Base class of the priors: a seeded layer with ``sample``.

    Subclasses implement ``draw(n, latent_dim, seed)`` (float32 samples from
    a ``(2,)`` seed tensor, the one definition of the prior's random stream
    used by training, `sample` and the exported ``sample`` endpoints), ``log_prob(z)`` and ``moments(latent_dim)``.

    Calling the layer on codes returns prior samples of the same shape and
    dtype, drawn from the layer's own stream.

    Args:
        seed: optional integer seed of the layer's random stream.
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Example:
    ```python
    prior = keras_ae.priors.Gaussian(seed=0)
    real = prior(codes)            # same shape and dtype as codes
    ```
    """

    def sample(self, n, latent_dim, seed=None):
        """Draws ``n`` samples of dimension ``latent_dim``.

        Args:
            n: number of samples, a Python int or a scalar integer tensor.
            latent_dim: dimension of each sample (a Python int).
            seed: None to draw from the layer's stream (a different draw each
                call, distinct on every replica), or an int for a stateless,
                reproducible draw.

        Returns:
            A float32 tensor of shape ``(n, latent_dim)``.
        """
        latent_dim = _check_latent_dim(latent_dim)
        return self.draw(self._check_n(n), latent_dim, self._seed_tensor(seed))

    def draw(self, n, latent_dim, seed):
        """``n`` float32 samples ``(n, latent_dim)`` from the seed tensor ``seed``.

        The prior's one random stream: ``from_noise(draw_noise(n, latent_dim, seed))``.
        """
        return self.from_noise(self.draw_noise(n, latent_dim, seed))

    def noise_spec(self, latent_dim):
        """The noise tensors the prior transforms into samples.

        Args:
            latent_dim: dimension of the codes (a Python int).

        Returns:
            A dict ``name -> {"distribution": "normal" | "uniform",
            "shape": shape of one row}`` in input order: ``"normal"`` is
            N(0, 1) and ``"uniform"`` is uniform on [0, 1).
        """
        raise NotImplementedError

    def draw_noise(self, n, latent_dim, seed):
        """The noise of `noise_spec` for ``n`` samples, from the seed tensor ``seed``.

        Returns:
            A dict ``name -> float32 tensor (n,) + shape``.
        """
        raise NotImplementedError

    def from_noise(self, noise):
        """Prior samples from noise tensors shaped as `noise_spec` says.

        Args:
            noise: a dict ``name -> tensor`` (the keys of `noise_spec`).

        Returns:
            A float32 tensor ``(n, latent_dim)``.
        """
        raise NotImplementedError

    def _check_noise(self, noise):
        if not isinstance(noise, dict) or set(noise) != set(self.noise_spec(1)):
            raise ValueError(
                f"`noise` must be a dict with the keys {sorted(self.noise_spec(1))}. "
                f"Received: noise={noise!r}"
            )
        return {k: ops.cast(ops.convert_to_tensor(v), "float32") for k, v in noise.items()}

    def call(self, inputs):
        inputs = ops.convert_to_tensor(inputs)
        if len(inputs.shape) == 0 or inputs.shape[-1] is None:
            raise ValueError(
                "A prior must be called on codes of static shape (batch, latent_dim). "
                f"Received: shape={inputs.shape}"
            )
        shape = ops.shape(inputs)
        batch = 1
        for d in shape[:-1]:
            batch = batch * d
        z = self.draw(batch, int(inputs.shape[-1]), self.next_seed())
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        dtype = dtype if "float" in dtype else "float32"
        return ops.reshape(ops.cast(z, dtype), shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def log_prob(self, z):
        """Log density of each row of ``z`` (float32, shape ``(n,)``)."""
        raise NotImplementedError

    def moments(self, latent_dim):
        """Mean ``(d,)`` and covariance ``(d, d)`` of the prior, as NumPy float64."""
        raise NotImplementedError

    def frechet_distance(self, z):
        """Fréchet distance between codes ``z`` and the prior.

        The squared 2-Wasserstein distance between the Gaussian with the
        sample mean and covariance of ``z`` and the Gaussian with the prior's
        mean and covariance (`moments`), as in the FID:
        ``|m1 - m2|² + tr(C1 + C2 - 2 (C2^½ C1 C2^½)^½)``.

        Args:
            z: array of codes, shape ``(n, latent_dim)`` with ``n >= 2``.

        Returns:
            A Python float (0 when the codes' moments equal the prior's).
        """
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 2 or len(z) < 2:
            raise ValueError(
                f"Argument `z` must have shape (n, latent_dim) with n >= 2. Received: "
                f"z.shape={z.shape}"
            )
        mean, cov = self.moments(z.shape[1])
        mu = z.mean(axis=0)
        c = np.atleast_2d(np.cov(z, rowvar=False))
        root = _sqrtm_psd(cov)
        cross = np.linalg.eigvalsh(root @ c @ root)
        tr_cross = np.sum(np.sqrt(np.clip(cross, 0.0, None)))
        return float(np.sum((mu - mean) ** 2) + np.trace(c) + np.trace(cov) - 2 * tr_cross)

    def _seed_tensor(self, seed):
        if seed is None:
            return self.next_seed()
        return rng.seed_tensor(validation.integer(seed, "seed"))

    @staticmethod
    def _check_n(n):
        if validation.is_integer(n):
            return validation.integer(n, "n", low=0)
        if (
            ops.is_tensor(n)
            and "int" in keras.backend.standardize_dtype(n.dtype)
            and len(n.shape) == 0
        ):
            return ops.cast(n, "int32")
        raise ValueError(
            f"Argument `n` must be an integer or a scalar integer tensor. Received: n={n!r}"
        )


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
        self.stddev = _check_number("stddev", stddev, positive=True)

    def noise_spec(self, latent_dim):
        return {"noise": {"distribution": "normal", "shape": (_check_latent_dim(latent_dim),)}}

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
            math.log(s) + 0.5 * _LOG_2PI
        )

    def moments(self, latent_dim):
        d = _check_latent_dim(latent_dim)
        return np.zeros(d), np.eye(d) * self.stddev**2

    def ball_radius(self, p=0.99, latent_dim=None):
        """Radius of the centred ball holding a fraction ``p`` of the mass.

        ``stddev * sqrt(chi2_quantile(p, latent_dim))``: the squared norm of
        a sample divided by ``stddev²`` is chi-square with ``latent_dim``
        degrees of freedom.

        Args:
            p: probability in (0, 1).
            latent_dim: dimension of the codes.

        Returns:
            A Python float.
        """
        return self.stddev * math.sqrt(chi2_quantile(p, _check_latent_dim(latent_dim)))

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
        low = _check_number("low", low)
        high = _check_number("high", high)
        if not low < high:
            raise ValueError(
                f"Argument `low` must be smaller than `high`. Received: low={low}, high={high}"
            )
        self.low = low
        self.high = high

    def noise_spec(self, latent_dim):
        return {"noise": {"distribution": "uniform", "shape": (_check_latent_dim(latent_dim),)}}

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
        d = _check_latent_dim(latent_dim)
        mean = np.full(d, 0.5 * (self.low + self.high))
        return mean, np.eye(d) * (self.high - self.low) ** 2 / 12.0

    def get_config(self):
        config = super().get_config()
        config.update({"low": self.low, "high": self.high})
        return config


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

    Args:
        num_components: number of components, >= 1.
        radius: norm of every component mean, >= 0.
        stddev: standard deviation of every component, > 0.
        seed: optional integer seed of the layer's random stream.
        **kwargs: base layer arguments.

    Example:
    ```python
    prior = keras_ae.priors.MixtureOfGaussians(10, radius=4.0, stddev=0.5, seed=0)
    z, k = prior.sample(256, latent_dim=2, return_components=True)
    z3 = prior.sample(4, latent_dim=2, components=[3, 3, 3, 3])  # from component 3
    prior.assign_components(z)      # nearest means, equal to k for ~98.6%
    ```
    """

    def __init__(self, num_components=10, radius=4.0, stddev=0.5, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.num_components = validation.integer(num_components, "num_components", low=1)
        self.radius = _check_number("radius", radius, non_negative=True)
        self.stddev = _check_number("stddev", stddev, positive=True)

    def component_means(self, latent_dim):
        """Component means, a float32 NumPy array ``(num_components, latent_dim)``."""
        d = _check_latent_dim(latent_dim)
        k = self.num_components
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
        latent_dim = _check_latent_dim(latent_dim)
        n = self._check_n(n)
        seed = self._seed_tensor(seed)
        z, k = self._draw_with_components(n, latent_dim, seed, components)
        return (z, k) if return_components else z

    def noise_spec(self, latent_dim):
        return {
            "component_noise": {"distribution": "uniform", "shape": ()},
            "noise": {"distribution": "normal", "shape": (_check_latent_dim(latent_dim),)},
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
        log_components = -0.5 * sq / s**2 - d * (math.log(s) + 0.5 * _LOG_2PI)
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
            }
        )
        return config


_ALIASES = {
    "gaussian": Gaussian,
    "normal": Gaussian,
    "mixture": MixtureOfGaussians,
    "mog": MixtureOfGaussians,
    "mixture_of_gaussians": MixtureOfGaussians,
    "mixtureofgaussians": MixtureOfGaussians,
    "uniform": Uniform,
}


def get(identifier):
    """Returns a prior from an instance, None, a name or a config.

    Args:
        identifier: a `Prior` (returned as is); None (a default `Gaussian`);
            a string: ``"gaussian"``/``"normal"``, ``"mixture"``/``"mog"``/
            ``"mixture_of_gaussians"``, ``"uniform"`` (case-insensitive,
            default arguments); or a dict, either a Keras serialization
            (``keras.saving.serialize_keras_object(prior)``) or
            ``{"class_name": "Gaussian", "config": {...}}``.

    Returns:
        A `Prior`.

    Raises:
        ValueError: an identifier that names no prior.

    Example:
    ```python
    keras_ae.priors.get("mog")                          # MixtureOfGaussians()
    keras_ae.priors.get({"class_name": "Uniform", "config": {"low": 0, "high": 1}})
    ```
    """
    if identifier is None:
        return Gaussian()
    if isinstance(identifier, Prior):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower().replace("-", "_").replace(" ", "_")
        if key in _ALIASES:
            return _ALIASES[key]()
    elif isinstance(identifier, dict):
        name = identifier.get("class_name")
        config = identifier.get("config")
        if isinstance(name, str) and isinstance(config, dict):
            key = name.strip().lower().replace("-", "_")
            if key in _ALIASES and "module" not in identifier:
                return _ALIASES[key].from_config(config)
            try:
                prior = keras.saving.deserialize_keras_object(identifier)
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"Could not interpret the prior config: {e} Received: "
                    f"identifier={identifier!r}"
                ) from e
            if isinstance(prior, Prior):
                return prior
    raise ValueError(
        "Could not interpret the prior. Expected a keras_ae.priors.Prior, None, one of "
        f"{sorted(_ALIASES)} or a config dict. Received: identifier={identifier!r}"
    )


def _lower_regularized_gamma(a, x):
    """P(a, x), the regularized lower incomplete gamma function (series)."""
    if x <= 0.0:
        return 0.0
    if x > a + 40.0 * math.sqrt(a) + 60.0:
        return 1.0
    term = total = 1.0 / a
    n = 1
    while n < 100000:
        term *= x / (a + n)
        total += term
        if term < total * 1e-17:
            break
        n += 1
    return min(1.0, math.exp(a * math.log(x) - x - math.lgamma(a) + math.log(total)))


def chi2_quantile(p, df):
    """Quantile of the chi-square distribution (no SciPy needed).

    Inverts the CDF ``P(df / 2, x / 2)`` (regularized lower incomplete gamma,
    evaluated by its power series) by bisection to double precision.

    Args:
        p: probability in (0, 1).
        df: degrees of freedom, a positive integer.

    Returns:
        ``x`` with ``Pr[chi2(df) <= x] = p``, a Python float.

    Example:
    ```python
    chi2_quantile(0.99, 2)    # 9.2103 (= -2 ln 0.01)
    ```
    """
    p = validation.number(p, "p", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    df = validation.integer(df, "df", low=1)
    a = df / 2.0
    lo, hi = 0.0, df + 10.0 * math.sqrt(2.0 * df) + 20.0
    while _lower_regularized_gamma(a, hi / 2.0) < p:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _lower_regularized_gamma(a, mid / 2.0) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def _sqrtm_psd(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
