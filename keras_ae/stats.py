"""Statistics the priors and the evaluation share: chi-square quantiles, Fréchet distance.

Both come from SciPy (a dependency of scikit-learn).
"""

import numpy as np
from scipy import linalg
from scipy import stats as scipy_stats

from keras_ae import validation

__all__ = ["chi2_quantile", "frechet_distance"]


def chi2_quantile(p, df):
    """Quantile of the chi-square distribution with ``df`` degrees of freedom.

    Args:
        p: probability in (0, 1).
        df: degrees of freedom, a positive integer.

    Returns:
        ``x`` with ``Pr[chi2(df) <= x] = p``, a Python float.

    Example:
        >>> chi2_quantile(0.99, 2)    # 9.2103 (= -2 ln 0.01)
    """
    p = validation.number(p, "p", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    df = validation.integer(df, "df", low=1)
    return float(scipy_stats.chi2.ppf(p, df))


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """Fréchet (2-Wasserstein²) distance between two Gaussians, as in the FID.

    ``|m_a - m_b|² + tr(C_a + C_b - 2 (C_a C_b)^½)``.

    Args:
        mean_a: mean ``(d,)`` of the first Gaussian.
        cov_a: covariance ``(d, d)`` of the first Gaussian.
        mean_b: mean ``(d,)`` of the second Gaussian.
        cov_b: covariance ``(d, d)`` of the second Gaussian.

    Returns:
        A Python float, 0 for equal moments.

    Example:
        >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))   # 2.0
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.atleast_2d(cov_a).astype(np.float64), np.atleast_2d(cov_b).astype(np.float64)
    cross = linalg.sqrtm(cov_a @ cov_b)
    cross = np.real(cross)  # imaginary parts are round-off for PSD inputs
    value = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(cross)
    return float(max(value, 0.0))
