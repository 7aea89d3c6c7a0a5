"""Evaluating clusterings against class labels.

`cluster_accuracy` is the measure of Makhzani et al. 2015 (section 8): each
cluster takes the majority label of its members, and the accuracy is the
fraction of examples whose cluster's label is their own. `kmeans` is a small
NumPy k-means (k-means++ seeding, Lloyd iterations) for baselines.
"""

import numpy as np

from keras_ae import data_checks
from keras_ae import validation

__all__ = ["cluster_accuracy", "majority_labels", "kmeans"]


def _integers(values, name):
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype.kind not in "iu":
        raise ValueError(
            f"`{name}` must be a 1-D array of integers. Received: "
            f"shape={values.shape}, dtype={values.dtype}"
        )
    if values.size and values.min() < 0:
        raise ValueError(
            f"`{name}` must be non-negative integers. Received: min={values.min()}"
        )
    return values.astype(np.int64)


def majority_labels(labels_true, clusters):
    """The majority label of every cluster.

    Args:
        labels_true: integer class labels ``(n,)``, >= 0.
        clusters: integer cluster indices ``(n,)``, >= 0.

    Returns:
        A dict ``{cluster: label}`` for every cluster that has members (ties go
        to the smaller label).

    Example:
    ```python
    majority_labels([0, 0, 1, 1], [5, 5, 5, 2])   # {2: 1, 5: 0}
    ```
    """
    labels_true = _integers(labels_true, "labels_true")
    clusters = _integers(clusters, "clusters")
    if len(labels_true) != len(clusters):
        raise ValueError(
            "`labels_true` and `clusters` must have the same length. "
            f"Received: {len(labels_true)} and {len(clusters)}"
        )
    table = {}
    for c in np.unique(clusters):
        table[int(c)] = int(np.argmax(np.bincount(labels_true[clusters == c])))
    return table


def cluster_accuracy(labels_true, clusters):
    """Accuracy when every cluster predicts its majority label.

    Args:
        labels_true: integer class labels ``(n,)``, >= 0.
        clusters: integer cluster indices ``(n,)``, >= 0 (any number of
            clusters).

    Returns:
        A Python float in [0, 1] (1 - the paper's clustering error).

    Example:
    ```python
    cluster_accuracy([0, 0, 1, 1], [5, 5, 5, 2])   # 0.75
    ```
    """
    table = majority_labels(labels_true, clusters)
    labels_true = np.asarray(labels_true)
    clusters = np.asarray(clusters)
    if len(clusters) == 0:
        raise ValueError("`clusters` must not be empty. Received: 0 examples")
    predicted = np.array([table[int(c)] for c in clusters])
    return float(np.mean(predicted == labels_true))


def kmeans(x, k, iterations=100, seed=0):
    """k-means (k-means++ seeding, Lloyd's iterations) in NumPy.

    Args:
        x: data ``(n, d)``.
        k: number of clusters, ``1 <= k <= n``.
        iterations: maximum number of Lloyd iterations.
        seed: integer seed of the k-means++ seeding.

    Returns:
        ``(assignments, centres)``: int ``(n,)`` and float ``(k, d)``.

    Example:
    ```python
    clusters, centres = kmeans(pca_codes, 16, seed=0)
    ```
    """
    x = data_checks.as_array(x, "x")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"`x` must have shape (n, d) with n >= 1. Received: shape={x.shape}")
    k = validation.integer(k, "k", low=1, high=len(x))
    iterations = validation.integer(iterations, "iterations", low=1)
    seed = validation.integer(seed, "seed")
    rs = np.random.default_rng(seed)
    sq = np.sum(x**2, axis=1)
    centres = [x[rs.integers(len(x))]]
    d2 = np.sum((x - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else None
        centres.append(x[rs.choice(len(x), p=p)])
        d2 = np.minimum(d2, np.sum((x - centres[-1]) ** 2, axis=1))
    centres = np.array(centres)
    assign = None
    for _ in range(iterations):
        dist = sq[:, None] - 2 * x @ centres.T + np.sum(centres**2, axis=1)[None, :]
        new = np.argmin(dist, axis=1)
        if assign is not None and np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            members = x[assign == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    return assign.astype(np.int64), centres
