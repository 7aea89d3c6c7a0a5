"""Tests for keras_ae.priors: Gaussian, MixtureOfGaussians, Uniform and get."""

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import priors  # noqa: E402
from keras_ae.layers.random_layer import RandomLayer  # noqa: E402
from keras_ae.priors import Gaussian  # noqa: E402
from keras_ae.priors import MixtureOfGaussians  # noqa: E402
from keras_ae.priors import Uniform  # noqa: E402

ALL_PRIORS = {
    "gaussian": lambda seed=1: Gaussian(stddev=1.5, seed=seed),
    "mixture": lambda seed=1: MixtureOfGaussians(5, radius=3.0, stddev=0.4, seed=seed),
    "uniform": lambda seed=1: Uniform(-2.0, 0.5, seed=seed),
}


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(
    "prior, expected",
    [
        (Gaussian(2.0, seed=3), {"stddev": 2.0, "seed": 3}),
        (Gaussian(), {"stddev": 1.0, "seed": None}),
        (
            MixtureOfGaussians(7, radius=2, stddev=0.25, seed=4),
            {"num_components": 7, "radius": 2.0, "stddev": 0.25, "seed": 4, "layout": "circle"},
        ),
        (Uniform(0, 1, seed=5), {"low": 0.0, "high": 1.0, "seed": 5}),
    ],
)
def test_config_round_trip(prior, expected):
    assert isinstance(prior, RandomLayer)
    config = prior.get_config()
    own = set(config) - set(keras.layers.Layer().get_config())
    assert own == set(expected)
    assert {k: config[k] for k in expected} == expected
    assert type(prior).from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(prior)
    )
    assert type(restored) is type(prior)
    assert restored.get_config() == config


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Gaussian(0.0), "stddev=0.0"),
        (lambda: Gaussian(-1), "stddev=-1"),
        (lambda: Gaussian(float("nan")), "stddev=nan"),
        (lambda: Uniform(1.0, 1.0), "low=1.0, high=1.0"),
        (lambda: Uniform(2, -2), "low=2.0, high=-2.0"),
        (lambda: MixtureOfGaussians(0), "num_components=0"),
        (lambda: MixtureOfGaussians(2.5), "num_components=2.5"),
        (lambda: MixtureOfGaussians(3, radius=-1.0), "radius=-1.0"),
        (lambda: MixtureOfGaussians(3, stddev=0), "stddev=0"),
        (lambda: Gaussian(seed=1.5), "seed=1.5"),
    ],
)
def test_invalid_arguments(make, message):
    with pytest.raises(ValueError, match=f"Received: {message}"):
        make()


def test_invalid_sample_arguments():
    prior = Gaussian(seed=0)
    with pytest.raises(ValueError, match="latent_dim=0"):
        prior.sample(4, 0)
    with pytest.raises(ValueError, match="n=-1"):
        prior.sample(-1, 2)
    with pytest.raises(ValueError, match="seed='a'"):
        prior.sample(4, 2, seed="a")


# ----------------------------------------------------------------- get


def test_get():
    g = Gaussian(3.0)
    assert priors.get(g) is g
    assert isinstance(priors.get(None), Gaussian)
    assert isinstance(priors.get("Gaussian"), Gaussian)
    assert isinstance(priors.get("mog"), MixtureOfGaussians)
    assert isinstance(priors.get("mixture"), MixtureOfGaussians)
    assert isinstance(priors.get("uniform"), Uniform)
    u = priors.get({"class_name": "Uniform", "config": {"low": 0, "high": 2}})
    assert (u.low, u.high) == (0.0, 2.0)
    m = priors.get(keras.saving.serialize_keras_object(MixtureOfGaussians(4, seed=2)))
    assert (m.num_components, m.seed) == (4, 2)
    for bad in ("laplace", 3, {"class_name": "Nope", "config": {}}):
        with pytest.raises(ValueError, match="Could not interpret the prior"):
            priors.get(bad)


# ------------------------------------------------------------- sampling


def test_gaussian_moments():
    z = Gaussian(stddev=1.5, seed=0).sample(20000, 4).numpy()
    assert z.dtype == np.float32 and z.shape == (20000, 4)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose(z.std(axis=0), 1.5, rtol=0.03)
    corr = np.corrcoef(z, rowvar=False) - np.eye(4)
    assert np.abs(corr).max() < 0.05


def test_uniform_moments_and_range():
    z = Uniform(-2.0, 0.5, seed=0).sample(20000, 3).numpy()
    assert z.min() >= -2.0 and z.max() <= 0.5
    np.testing.assert_allclose(z.mean(axis=0), -0.75, atol=0.03)
    np.testing.assert_allclose(z.std(axis=0), 2.5 / math.sqrt(12), rtol=0.03)


def test_mixture_moments_and_components():
    prior = MixtureOfGaussians(5, radius=3.0, stddev=0.4, seed=0)
    z, k = prior.sample(20000, 2, return_components=True)
    z, k = z.numpy(), k.numpy()
    assert k.dtype == np.int32 and set(np.unique(k)) == set(range(5))
    counts = np.bincount(k, minlength=5) / len(k)
    np.testing.assert_allclose(counts, 0.2, atol=0.02)
    means = prior.component_means(2)
    for c in range(5):
        np.testing.assert_allclose(z[k == c].mean(axis=0), means[c], atol=0.05)
        np.testing.assert_allclose(z[k == c].std(axis=0), 0.4, rtol=0.08)
    mean, cov = prior.moments(2)
    np.testing.assert_allclose(z.mean(axis=0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(z, rowvar=False), cov, atol=0.15)


@pytest.mark.parametrize("latent_dim", [1, 2, 3, 8])
def test_mixture_means(latent_dim):
    prior = MixtureOfGaussians(10, radius=4.0, stddev=0.5)
    means = prior.component_means(latent_dim)
    assert means.shape == (10, latent_dim) and means.dtype == np.float32
    np.testing.assert_array_equal(means, prior.component_means(latent_dim))
    dists = np.linalg.norm(means[:, None] - means[None], axis=-1) + np.eye(10) * 1e9
    if latent_dim == 1:
        np.testing.assert_allclose(means[:, 0], np.linspace(-4, 4, 10), atol=1e-6)
        return
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 4.0, rtol=1e-6)
    np.testing.assert_allclose(dists.min(axis=1), 8.0 * math.sin(math.pi / 10), rtol=1e-5)
    if latent_dim == 2:
        np.testing.assert_allclose(means[0], [4.0, 0.0], atol=1e-6)
        angle = 0.2 * math.pi
        np.testing.assert_allclose(means[1], [4 * math.cos(angle), 4 * math.sin(angle)], atol=1e-6)


@pytest.mark.parametrize("latent_dim", [2, 8])
def test_mixture_assigns_its_own_samples(latent_dim):
    prior = MixtureOfGaussians(10, seed=0)
    z, k = prior.sample(5000, latent_dim, return_components=True)
    accuracy = np.mean(prior.assign_components(z).numpy() == k.numpy())
    assert accuracy > 0.95
    # A useless assignment (here: a shifted one) must fail the same check.
    assert np.mean((prior.assign_components(z).numpy() + 1) % 10 == k.numpy()) < 0.05


def test_mixture_axes_layout():
    prior = MixtureOfGaussians(4, radius=3.0, stddev=0.5, seed=0, layout="axes")
    np.testing.assert_array_equal(prior.component_means(6), 3.0 * np.eye(4, 6))
    z, k = prior.sample(4000, 6, return_components=True)
    assert np.mean(prior.assign_components(z).numpy() == k.numpy()) > 0.99
    assert np.mean(np.argmax(z.numpy()[:, :4], axis=1) == k.numpy()) > 0.99
    assert priors.get(keras.saving.serialize_keras_object(prior)).layout == "axes"
    assert MixtureOfGaussians(4).layout == "circle"
    with pytest.raises(ValueError, match="latent_dim >= num_components"):
        prior.component_means(3)
    with pytest.raises(ValueError, match="Received: layout='grid'"):
        MixtureOfGaussians(4, layout="grid")
    # Reported by the model at construction, not at the first prior draw in fit.
    with pytest.raises(ValueError, match="or use layout='circle'"):
        keras_ae.AAE(input_shape=(4,), latent_dim=3, hidden_units=(4,), prior=prior)


def test_mixture_given_components():
    prior = MixtureOfGaussians(4, radius=10.0, stddev=0.1, seed=0)
    wanted = np.array([3, 0, 0, 2, 1, 3], "int32")
    z, k = prior.sample(6, 2, components=wanted, return_components=True)
    np.testing.assert_array_equal(k.numpy(), wanted)
    np.testing.assert_array_equal(prior.assign_components(z).numpy(), wanted)
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        prior.sample(2, 2, components=[0, 4])


@pytest.mark.parametrize("name", sorted(ALL_PRIORS))
def test_int_seed_is_reproducible_and_stateless(name):
    prior = ALL_PRIORS[name]()
    state = prior.seed_generator.state.numpy().copy()
    a = prior.sample(50, 3, seed=7).numpy()
    b = prior.sample(50, 3, seed=7).numpy()
    c = prior.sample(50, 3, seed=8).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_array_equal(prior.seed_generator.state.numpy(), state)
    # Same draw from another instance, whatever its own seed.
    np.testing.assert_array_equal(ALL_PRIORS[name](seed=99).sample(50, 3, seed=7).numpy(), a)


@pytest.mark.parametrize("name", sorted(ALL_PRIORS))
def test_stream_differs_per_call_and_follows_layer_seed(name):
    prior = ALL_PRIORS[name](seed=1)
    a, b = prior.sample(50, 3).numpy(), prior.sample(50, 3).numpy()
    assert not np.allclose(a, b)
    again = ALL_PRIORS[name](seed=1)
    np.testing.assert_array_equal(again.sample(50, 3).numpy(), a)
    np.testing.assert_array_equal(again.sample(50, 3).numpy(), b)


@pytest.mark.parametrize("name", sorted(ALL_PRIORS))
def test_dynamic_n_in_tf_function(name):
    prior = ALL_PRIORS[name]()

    @tf.function
    def draw(x):
        return prior.sample(tf.shape(x)[0], 4), prior(x)

    for n in (3, 11):
        z, like = draw(tf.zeros((n, 4)))
        assert z.shape == (n, 4) and z.dtype == tf.float32
        assert like.shape == (n, 4)
    assert draw.experimental_get_tracing_count() <= 2
    z1, _ = draw(tf.zeros((5, 4)))
    z2, _ = draw(tf.zeros((5, 4)))
    assert not np.allclose(z1.numpy(), z2.numpy())


def test_call_matches_codes_shape_and_dtype():
    prior = Gaussian(seed=0, dtype="mixed_float16")
    out = prior(np.zeros((6, 5), "float32"))
    assert out.shape == (6, 5) and out.dtype == tf.float16
    assert float(tf.math.reduce_std(tf.cast(out, tf.float32))) > 0.5


# ---------------------------------------------------- save / reload stream


@pytest.mark.parametrize("name", sorted(ALL_PRIORS))
def test_saved_model_continues_the_random_stream(name, tmp_path):
    x = np.zeros((8, 3), "float32")
    model = keras.Sequential([keras.Input((3,)), ALL_PRIORS[name](seed=5)])
    first = model(x).numpy()
    path = str(tmp_path / "prior.keras")
    model.save(path)
    expected = model(x).numpy()
    assert not np.allclose(first, expected)
    reloaded = keras.models.load_model(path)
    assert type(reloaded.layers[-1]) is type(model.layers[-1])
    np.testing.assert_array_equal(reloaded(x).numpy(), expected)


# ---------------------------------------------------------- densities


def test_gaussian_log_prob():
    prior = Gaussian(stddev=2.0)
    z = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]], "float32")
    expected = [
        np.sum(-0.5 * (row / 2.0) ** 2 - math.log(2.0) - 0.5 * math.log(2 * math.pi))
        for row in z
    ]
    np.testing.assert_allclose(prior.log_prob(z).numpy(), expected, rtol=1e-6)


def test_uniform_log_prob():
    prior = Uniform(-1.0, 3.0)
    out = prior.log_prob([[0.0, 2.0], [0.0, 3.5]]).numpy()
    np.testing.assert_allclose(out[0], -2 * math.log(4.0), rtol=1e-6)
    assert out[1] == -np.inf


def test_mixture_log_prob_integrates_to_one():
    prior = MixtureOfGaussians(3, radius=2.0, stddev=0.5)
    grid = np.linspace(-5, 5, 201)
    xx, yy = np.meshgrid(grid, grid)
    z = np.stack([xx.ravel(), yy.ravel()], axis=1).astype("float32")
    density = np.exp(prior.log_prob(z).numpy())
    total = density.sum() * (grid[1] - grid[0]) ** 2
    assert abs(total - 1.0) < 1e-3
    # Highest density at a component mean.
    means = prior.component_means(2)
    assert prior.log_prob(means).numpy().min() > prior.log_prob([[0.0, 0.0]]).numpy()[0]


# ---------------------------------------- chi-square ball and Fréchet distance


@pytest.mark.parametrize(
    "p, df, expected",
    [
        (0.99, 2, -2 * math.log(0.01)),  # closed form for 2 degrees of freedom
        (0.5, 2, 2 * math.log(2.0)),
        (0.99, 8, 20.090235029663233),  # standard table value
        (0.95, 1, 1.959963984540054**2),  # the square of the normal 97.5% quantile
    ],
)
def test_chi2_quantile_known_values(p, df, expected):
    assert priors.chi2_quantile(p, df) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("df", [1, 3, 16, 100, 784])
@pytest.mark.parametrize("p", [0.01, 0.5, 0.99, 0.999])
def test_chi2_quantile_inverts_tf_igamma(p, df):
    x = priors.chi2_quantile(p, df)
    cdf = tf.math.igamma(tf.constant(df / 2, tf.float64), tf.constant(x / 2, tf.float64))
    assert float(cdf) == pytest.approx(p, abs=1e-9)


def test_chi2_quantile_validation():
    with pytest.raises(ValueError, match="p=1"):
        priors.chi2_quantile(1, 3)
    with pytest.raises(ValueError, match="df=0"):
        priors.chi2_quantile(0.5, 0)


def test_gaussian_ball_holds_its_mass():
    prior = Gaussian(stddev=0.7, seed=0)
    assert prior.ball_radius(0.99, 8) == pytest.approx(0.7 * math.sqrt(20.090235029663233))
    z = prior.sample(20000, 8).numpy()
    assert prior.fraction_inside(z, p=0.99) == pytest.approx(0.99, abs=0.003)
    assert prior.fraction_inside(z, p=0.5) == pytest.approx(0.5, abs=0.015)
    assert prior.fraction_inside(z + 3.0, p=0.99) < 0.05


@pytest.mark.parametrize("name", sorted(ALL_PRIORS))
def test_frechet_distance(name):
    prior = ALL_PRIORS[name](seed=0)
    z = prior.sample(20000, 4).numpy()
    assert prior.frechet_distance(z) < 0.02
    # Shifting all codes by s = (1, 1, 1, 1) adds |s|^2 + 2 s.(mean(z) - mu)
    # (same covariance): 4 plus twice the sum of the sample mean's errors.
    shifted = prior.frechet_distance(z + 1.0)
    mu, _ = prior.moments(4)
    expected = prior.frechet_distance(z) + 4.0 + 2.0 * float(np.sum(z.mean(0) - mu))
    assert shifted == pytest.approx(expected, abs=1e-3)
    # Codes twice as spread out are far from the prior.
    assert prior.frechet_distance(2.0 * (z - z.mean(0)) + z.mean(0)) > 0.5


# ---------------------------------------------------------------- replicas


@pytest.mark.parametrize("name", sorted(ALL_PRIORS))
def test_replicas_draw_different_samples(name, mirrored_strategy):
    with mirrored_strategy.scope():
        prior = ALL_PRIORS[name](seed=3)

    @tf.function
    def step():
        return mirrored_strategy.run(lambda: prior.sample(16, 4))

    results = [r.numpy() for r in mirrored_strategy.experimental_local_results(step())]
    assert len(results) == 2
    assert not np.allclose(results[0], results[1])
    again = [r.numpy() for r in mirrored_strategy.experimental_local_results(step())]
    assert not np.allclose(again[0], results[0])
