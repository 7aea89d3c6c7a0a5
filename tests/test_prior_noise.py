"""Priors as transforms of standard noise (the portable `sample_from_noise`)."""

import numpy as np
import pytest
from keras import ops

import keras_ae
from keras_ae import priors
from keras_ae import rng

pytestmark = pytest.mark.backends

R = np.random.default_rng(0)
NORMAL = R.standard_normal((50, 4)).astype("float32")
UNIFORM = R.uniform(size=(50, 4)).astype("float32")


def test_gaussian_and_uniform_transforms_are_affine():
    g = priors.Gaussian(stddev=2.5)
    assert g.noise_spec(4) == {"noise": {"distribution": "normal", "shape": (4,)}}
    np.testing.assert_allclose(ops.convert_to_numpy(g.from_noise({"noise": NORMAL})), 2.5 * NORMAL, rtol=1e-6)
    u = priors.Uniform(-3.0, 1.0)
    assert u.noise_spec(4) == {"noise": {"distribution": "uniform", "shape": (4,)}}
    np.testing.assert_allclose(
        ops.convert_to_numpy(u.from_noise({"noise": UNIFORM})), -3.0 + 4.0 * UNIFORM, rtol=1e-6, atol=1e-6
    )


def test_mixture_transform_picks_floor_k_u_and_adds_scaled_normal():
    m = priors.MixtureOfGaussians(num_components=5, radius=3.0, stddev=0.25)
    u = np.array([0.0, 0.1999, 0.2, 0.99999994, 0.5], "float32")
    z = ops.convert_to_numpy(m.from_noise({"component_noise": u, "noise": NORMAL[:5]}))
    means = m.component_means(4)
    expected = means[[0, 0, 1, 4, 2]] + 0.25 * NORMAL[:5]
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-6)
    assert list(m.noise_spec(4)) == ["component_noise", "noise"]


@pytest.mark.parametrize("name", ["gaussian", "uniform", "mixture"])
def test_draw_is_from_noise_of_draw_noise(name):
    """One stream: training draws, `sample(seed=)` and the export share it."""
    prior = priors.get(name)
    seed = rng.seed_tensor(5)
    direct = ops.convert_to_numpy(prior.draw(7, 3, seed))
    via_noise = ops.convert_to_numpy(prior.from_noise(prior.draw_noise(7, 3, seed)))
    np.testing.assert_array_equal(direct, via_noise)
    np.testing.assert_array_equal(ops.convert_to_numpy(prior.sample(7, 3, seed=5)), direct)
    z, k = prior.sample(7, 3, seed=5, return_components=True) if name == "mixture" else (None, None)
    if name == "mixture":
        np.testing.assert_array_equal(ops.convert_to_numpy(z), direct)
        assert ops.convert_to_numpy(k).min() >= 0 and ops.convert_to_numpy(k).max() < 10


def test_bad_noise_is_refused():
    with pytest.raises(ValueError, match="`noise` must be a dict with the keys.*Received: noise="):
        priors.MixtureOfGaussians().from_noise({"noise": NORMAL})


@pytest.mark.parametrize("cls", ["VAE", "AAE"])
def test_model_sample_is_decoded_codes_from_noise(cls):
    model = getattr(keras_ae, cls)((16,), latent_dim=4, hidden_units=(8,), seed=1)
    noise = model.draw_prior_noise(6, rng.seed_tensor(9))
    codes = ops.convert_to_numpy(model.codes_from_noise(noise))
    np.testing.assert_allclose(model.sample(6, seed=9), model.decode(codes), atol=1e-6)
    assert model.generative and not keras_ae.Autoencoder.generative
