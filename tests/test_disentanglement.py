"""Disentanglement metrics (MIG, DCI) and the shapes data set (issue 18)."""

import numpy as np
import pytest

from keras_ae import evaluation
from keras_ae.datasets import shapes

RNG = np.random.default_rng(0)
N = 4000
FACTORS = np.stack([RNG.integers(0, n, N) for n in (3, 5, 4)], axis=1)


def _perfect(noise=0.05, extra=1):
    """One code dimension per factor (plus unused noise dimensions)."""
    codes = FACTORS + RNG.normal(0.0, noise, FACTORS.shape)
    return np.concatenate([codes, RNG.normal(size=(N, extra))], axis=1)


# -------------------------------------------------------------------- MIG
def test_mig_is_one_for_disentangled_codes_and_permutation_invariant():
    codes = _perfect()
    mig, details = evaluation.mutual_information_gap(codes, FACTORS, return_details=True)
    assert mig > 0.95
    np.testing.assert_allclose(details["gaps"], 1.0, atol=0.05)
    # Entropies are the plug-in entropies of the factors (nats).
    p = np.bincount(FACTORS[:, 1]) / N
    assert details["entropies"][1] == pytest.approx(-np.sum(p * np.log(p)))
    perm = codes[:, [3, 2, 0, 1]] * np.array([2.0, -1.0, 0.5, 3.0])
    assert evaluation.mutual_information_gap(perm, FACTORS) == pytest.approx(mig)


def test_mig_is_near_zero_for_random_duplicated_and_mixed_codes():
    assert evaluation.mutual_information_gap(RNG.normal(size=(N, 4)), FACTORS) < 0.02
    # Each factor carried by two dimensions equally: no gap.
    dup = np.concatenate([_perfect(extra=0)] * 2, axis=1)
    assert evaluation.mutual_information_gap(dup, FACTORS) < 0.02
    # Two factors on a regular grid, rotated 45 degrees: each dimension
    # mixes both factors, so each factor is shared by two dimensions.
    f = np.stack([RNG.integers(0, 8, N), RNG.integers(0, 8, N)], axis=1)
    rotated = (f + RNG.normal(0, 0.05, f.shape)) @ np.array([[1.0, 1.0], [-1.0, 1.0]])
    assert evaluation.mutual_information_gap(rotated, f) < 0.15
    assert evaluation.mutual_information_gap(f + 0.0, f) > 0.95


def test_mig_validates_its_inputs():
    with pytest.raises(ValueError, match=r"codes.*Received: codes.shape=\(10, 2\)"):
        evaluation.mutual_information_gap(np.zeros((10, 2)), FACTORS)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        evaluation.mutual_information_gap(np.zeros((N, 1)), FACTORS)
    with pytest.raises(ValueError, match=r"constant factor columns \[1\]"):
        evaluation.mutual_information_gap(
            RNG.normal(size=(N, 3)), np.stack([FACTORS[:, 0], np.zeros(N)], 1)
        )
    bad = RNG.normal(size=(N, 3))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        evaluation.mutual_information_gap(bad, FACTORS)
    with pytest.raises(ValueError, match="num_bins"):
        evaluation.mutual_information_gap(RNG.normal(size=(N, 3)), FACTORS, num_bins=1)


def test_histogram_discretize_uses_equal_width_bins():
    codes = np.array([[0.0], [0.49], [0.51], [1.0]])
    np.testing.assert_array_equal(evaluation.histogram_discretize(codes, 2)[:, 0], [0, 0, 1, 1])


# -------------------------------------------------------------------- DCI
def test_dci_separates_disentangled_from_random_and_mixed_codes():
    good = evaluation.dci(_perfect(), FACTORS, n_estimators=20)
    assert good["disentanglement"] > 0.8 and good["completeness"] > 0.8
    assert good["informativeness"] > 0.99
    assert good["importance"].shape == (4, 3)
    rand = evaluation.dci(RNG.normal(size=(N, 4)), FACTORS, n_estimators=20)
    assert rand["disentanglement"] < 0.1 and rand["informativeness"] < 0.5
    mixed = _perfect(extra=0) @ np.ones((3, 3))  # every code sees every factor
    mixed += _perfect(extra=0) @ RNG.normal(size=(3, 3))
    assert evaluation.dci(mixed, FACTORS, n_estimators=20)["disentanglement"] < 0.3
    # Same seed, same scores.
    again = evaluation.dci(_perfect(), FACTORS, n_estimators=20)
    assert again.keys() == good.keys()


def test_dci_validates_its_inputs():
    with pytest.raises(ValueError, match="test_fraction"):
        evaluation.dci(_perfect(), FACTORS, test_fraction=1.0)
    with pytest.raises(ValueError, match="at least 2 code dimensions and 2 factors"):
        evaluation.dci(_perfect()[:, :1], FACTORS)


# ----------------------------------------------------------------- shapes
def test_full_grid_has_every_factor_combination_once_and_is_deterministic():
    images, factors = shapes.make_shapes()
    assert images.shape == (4608, 32, 32, 1) and images.dtype == np.float32
    assert factors.shape == (4608, 5) and factors.dtype == np.int32
    assert len(np.unique(factors, axis=0)) == 4608
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert len(np.unique(images.reshape(4608, -1).round(4), axis=0)) == 4608
    again, _ = shapes.make_shapes()
    np.testing.assert_array_equal(images, again)


def test_factors_act_as_described():
    base = np.array([[0, 1, 0, 3, 3]])
    area = lambda f: shapes.render(np.array(f)).sum()  # noqa: E731
    # Larger scale, larger area; area is invariant to translation.
    assert area([[0, 3, 0, 3, 3]]) > area([[0, 1, 0, 3, 3]]) > area([[0, 0, 0, 3, 3]])
    assert area([[0, 1, 0, 6, 2]]) == pytest.approx(area(base), rel=1e-2)
    # x moves the centroid right, y moves it down.
    def centroid(f):
        img = shapes.render(np.array(f))[0, :, :, 0]
        rows, cols = np.nonzero(img > 0.5)
        return rows.mean(), cols.mean()
    r0, c0 = centroid(base)
    r1, c1 = centroid([[0, 1, 0, 5, 3]])
    r2, c2 = centroid([[0, 1, 0, 3, 5]])
    # Positions are 2 pixels apart on 32 x 32 images.
    assert (c1, r1) == pytest.approx((c0 + 4, r0))
    assert (c2, r2) == pytest.approx((c0, r0 + 4))  # y counts rows, downwards
    # Orientation changes the image for every shape.
    for s in range(3):
        a = shapes.render(np.array([[s, 3, 0, 3, 3], [s, 3, 3, 3, 3]]))
        assert np.abs(a[0] - a[1]).sum() > 5


def test_random_draws_and_split():
    x, f = shapes.make_shapes(n=50, seed=3, flatten=True, image_size=28)
    assert x.shape == (50, 784) and f.shape == (50, 5)
    np.testing.assert_array_equal(shapes.make_shapes(n=50, seed=3)[1], f)
    assert not np.array_equal(shapes.make_shapes(n=50, seed=4)[1], f)
    np.testing.assert_array_equal(shapes.render(f, 28).reshape(50, -1), x)
    (xt, ft), (xs, fs) = shapes.load_data(test_fraction=0.25, seed=0)
    assert len(xt) == 3456 and len(xs) == 1152 and xt.shape[1] == 1024
    both = np.concatenate([ft, fs])
    assert len(np.unique(both, axis=0)) == 4608  # disjoint, complete


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: shapes.make_shapes(n=-1), "n"),
        (lambda: shapes.make_shapes(image_size=8), "image_size"),
        (lambda: shapes.make_shapes(seed=1.5), "seed"),
        (lambda: shapes.render(np.array([[3, 0, 0, 0, 0]])), "factors"),
        (lambda: shapes.render(np.zeros((2, 4), "int32")), "factors"),
        (lambda: shapes.load_data(test_fraction=1.0), "test_fraction"),
    ],
)
def test_shapes_arguments_are_checked(call, match):
    with pytest.raises(ValueError, match=f"{match}.*Received"):
        call()
