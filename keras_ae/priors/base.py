"""`Prior`: the base class of the priors (a seeded `RandomLayer`)."""

import math

import keras
import numpy as np
from keras import ops

from keras_ae import rng
from keras_ae import stats
from keras_ae import validation
from keras_ae.layers.random_layer import RandomLayer

LOG_2PI = math.log(2.0 * math.pi)


def check_number(name, value, *, positive=False, non_negative=False):
    """A prior's real-valued argument, through `keras_ae.validation`."""
    low = 0.0 if (positive or non_negative) else None
    return validation.number(value, name, low=low, low_inclusive=not positive)


def check_latent_dim(latent_dim):
    """A positive integer code size, through `keras_ae.validation`."""
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

    def validate_latent_dim(self, latent_dim):
        """Raises ``ValueError`` if this prior cannot draw ``latent_dim``-D codes.

        Models call it at construction, so a mismatch is reported before
        training. Any positive size works here; subclasses narrow it.

        Args:
            latent_dim: the model's code size.
        """
        check_latent_dim(latent_dim)

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
        latent_dim = check_latent_dim(latent_dim)
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
        return stats.frechet_distance(
            z.mean(axis=0), np.atleast_2d(np.cov(z, rowvar=False)), mean, cov
        )

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
