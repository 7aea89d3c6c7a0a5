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

| module | job |
|---|---|
| `base` | `Prior` |
| `gaussian`, `uniform`, `mixture` | one prior each |
| `registry` | `get` |

`get` turns a name, a config dict, None or an instance into a prior.
"""

from keras_ae.priors.base import Prior
from keras_ae.priors.gaussian import Gaussian
from keras_ae.priors.mixture import MixtureOfGaussians
from keras_ae.priors.registry import get
from keras_ae.priors.uniform import Uniform
from keras_ae.stats import chi2_quantile

__all__ = [
    "Prior",
    "Gaussian",
    "MixtureOfGaussians",
    "Uniform",
    "chi2_quantile",
    "get",
]
