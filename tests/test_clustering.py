"""Tests for keras_ae.clustering (cluster accuracy and the k-means baseline)."""

import numpy as np
import pytest

from keras_ae import clustering


def test_cluster_accuracy_by_majority_label():
    assert clustering.majority_labels([0, 0, 1, 1], [5, 5, 5, 2]) == {2: 1, 5: 0}
    assert clustering.cluster_accuracy([0, 0, 1, 1], [5, 5, 5, 2]) == 0.75
    # More clusters than classes: each can take the same label.
    assert clustering.cluster_accuracy([0, 0, 0, 1], [0, 1, 2, 3]) == 1.0
    # Ties go to the smaller label.
    assert clustering.majority_labels([1, 0], [0, 0]) == {0: 0}


def test_cluster_accuracy_invariant_to_renaming_clusters():
    rs = np.random.default_rng(0)
    y = rs.integers(4, size=500)
    c = rs.integers(6, size=500)
    perm = rs.permutation(6) + 10
    assert clustering.cluster_accuracy(y, c) == clustering.cluster_accuracy(y, perm[c])


@pytest.mark.parametrize(
    "y, c, match",
    [
        ([0, 1], [0], "same length"),
        ([0.5, 1], [0, 1], "integers"),
        ([0, -1], [0, 1], "non-negative"),
        ([], [], "empty"),
    ],
)
def test_bad_inputs(y, c, match):
    with pytest.raises(ValueError, match=match):
        clustering.cluster_accuracy(np.asarray(y, dtype=None if y else int), np.asarray(c, int))


def test_kmeans_recovers_separated_blobs():
    rs = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]], float)
    y = rs.integers(3, size=300)
    x = centres[y] + rs.normal(size=(300, 2))
    assign, found = clustering.kmeans(x, 3, seed=1)
    assert clustering.cluster_accuracy(y, assign) == 1.0
    assert found.shape == (3, 2)
    with pytest.raises(ValueError, match="`k`"):
        clustering.kmeans(x, 0)
