"""`SemiSupervisedAAE.fit(x_unlabelled, labelled=(x_l, labels))` (issue 17).

* Every batch holds ``batch_size - labelled_per_batch`` unlabelled rows and
  ``labelled_per_batch`` labelled rows; an epoch passes over every
  unlabelled row once; the labelled set is cycled, each cycle a permutation
  of it, continuing across epochs (every labelled row used before any is
  used again).
* `fit` with it trains exactly as `fit` on the same batches laid out as
  ``(x, labels)`` arrays, and the classifier learns from a small labelled set.
* Clear errors for wrong shapes and arguments.
"""

import keras
import numpy as np
import pytest

import keras_ae
from harness import compile_sgd
from harness import weights_of

SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1, num_classes=3)
RS = np.random.default_rng(7)
X_U = RS.uniform(size=(50, 16)).astype("float32")
X_L = RS.uniform(size=(14, 16)).astype("float32")
Y_L = np.arange(14) % 3


def _rows(batch_x, pool):
    """Index in ``pool`` of every row of ``batch_x`` (rows are unique)."""
    return [int(np.flatnonzero((pool == row).all(axis=1))[0]) for row in batch_x]


def test_batches_cycle_the_labelled_set_and_pass_over_the_unlabelled_once():
    model = keras_ae.SemiSupervisedAAE(**SMALL)
    batches = model.mixed_batches(X_U, (X_L, Y_L), batch_size=10, labelled_per_batch=3)
    assert batches.num_batches == 8  # ceil(50 / 7)
    stream = iter(batches)
    labelled_stream, unlabelled_orders = [], []
    for epoch in range(2):
        seen = []
        for i in range(8):
            x, labels = batches.batch(epoch, i)
            for a, b in zip(next(stream), (x, labels)):  # iterating: the same
                np.testing.assert_array_equal(a, b)
            n_u = len(x) - 3
            assert n_u == (7 if i < 7 else 1)
            np.testing.assert_array_equal(labels[:n_u], -1)
            seen += _rows(x[:n_u], X_U)
            rows = _rows(x[n_u:], X_L)
            np.testing.assert_array_equal(labels[n_u:], Y_L[rows])
            labelled_stream += rows
        assert sorted(seen) == list(range(50))
        unlabelled_orders.append(seen)
    assert unlabelled_orders[0] != unlabelled_orders[1]  # reshuffled
    # 48 labelled draws: three whole cycles of the 14 rows, then 6 rows.
    cycles = [labelled_stream[i : i + 14] for i in range(0, 42, 14)]
    for cycle in cycles:
        assert sorted(cycle) == list(range(14))
    assert len(set(map(tuple, cycles))) == 3  # a new order each cycle
    assert len(set(labelled_stream[42:])) == 6
    # Default share: the labelled set's share of all rows, at least one.
    assert model.mixed_batches(X_U, (X_L, Y_L), batch_size=32).labelled_per_batch == 7
    assert model.mixed_batches(X_U, (X_L[:1], Y_L[:1]), batch_size=8).labelled_per_batch == 1


@pytest.mark.backends
def test_fit_with_a_labelled_set_trains_as_the_same_batches_in_arrays():
    """49 unlabelled rows, 7 per batch + 3 labelled: 7 steps, unshuffled."""
    mixed = compile_sgd(keras_ae.SemiSupervisedAAE(**SMALL), 0.1)
    mixed.fit(X_U[:49], labelled=(X_L, Y_L), labelled_per_batch=3, batch_size=10,
              shuffle=False, epochs=1, verbose=0)
    x, labels = [], []
    for i in range(7):
        x += [X_U[7 * i : 7 * i + 7], X_L[(3 * i + np.arange(3)) % 14]]
        labels += [np.full(7, -1), Y_L[(3 * i + np.arange(3)) % 14]]
    arrays = compile_sgd(keras_ae.SemiSupervisedAAE(**SMALL), 0.1)
    arrays.fit(np.concatenate(x), np.concatenate(labels), batch_size=10, shuffle=False,
               epochs=1, verbose=0)
    assert int(mixed.classifier_optimizer.iterations.numpy()) == 7
    for a, b in zip(weights_of(mixed), weights_of(arrays)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_consecutive_fits_continue_the_stream():
    """Two ``fit(..., epochs=1)`` calls train as one ``fit(..., epochs=2)``:
    the second call does not replay the first epoch's batches."""
    kw = dict(labelled=(X_L, Y_L), labelled_per_batch=3, batch_size=10, verbose=0)
    once = compile_sgd(keras_ae.SemiSupervisedAAE(**SMALL), 0.1)
    once.fit(X_U, epochs=2, **kw)
    twice = compile_sgd(keras_ae.SemiSupervisedAAE(**SMALL), 0.1)
    twice.fit(X_U, epochs=1, **kw)
    twice.fit(X_U, epochs=1, **kw)
    for a, b in zip(weights_of(once), weights_of(twice)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_a_small_labelled_set_teaches_the_classifier():
    rs = np.random.default_rng(0)
    centres = rs.uniform(size=(3, 16))
    y = rs.integers(3, size=300)
    x = np.clip(centres[y] + 0.05 * rs.normal(size=(300, 16)), 0, 1).astype("float32")
    model = keras_ae.SemiSupervisedAAE(**dict(SMALL, hidden_units=(16,)))
    model.compile(classifier_optimizer=keras.optimizers.Adam(0.01))
    # 12 labelled rows (4 per batch), 288 unlabelled: 6 epochs of 10 steps.
    history = model.fit(x[12:], labelled=(x[:12], y[:12]), labelled_per_batch=4,
                        batch_size=32, epochs=6, verbose=0)
    loss = history.history["classification_loss"]
    assert loss[-1] < 0.2 * loss[0]
    assert np.mean(model.predict_labels(x[12:]) == y[12:]) >= 0.9


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(labelled=(X_L[:, :8], Y_L)), r"Expected `x_labelled` of shape \(N, 16\)"),
        (dict(labelled=(X_L, Y_L[:5])), r"one label per example \(14\)"),
        (dict(labelled=(X_L, np.full(14, -1))), r"\[0, 3\)"),
        (dict(labelled=(X_L, Y_L.astype("float32"))), "1-D array of integers"),
        (dict(labelled=(X_L,)), r"a pair \(x_labelled, labels\)"),
        (dict(labelled=(X_L, Y_L), labelled_per_batch=10), r"labelled_per_batch` must be an integer >= 1 and <= 9"),
        (dict(labelled=(X_L, Y_L), y=np.zeros(50, int)), "not `y`"),
        (dict(labelled=(X_L, Y_L), sample_weight=np.ones(50)), "sample_weight"),
        (dict(labelled_per_batch=3), "needs `labelled"),
    ],
)
def test_bad_labelled_sets_fail_before_training(kwargs, match):
    model = keras_ae.SemiSupervisedAAE(**SMALL)
    model.compile()
    before = weights_of(model)
    with pytest.raises(ValueError, match=match):
        model.fit(X_U, **dict(dict(batch_size=10, verbose=0), **kwargs))
    for a, b in zip(before, weights_of(model)):
        np.testing.assert_array_equal(a, b)


def test_the_clustering_model_takes_no_labelled_set():
    model = keras_ae.ClusteringAAE(input_shape=(16,), latent_dim=4, hidden_units=(8,),
                                   num_clusters=3, seed=1)
    model.compile()
    with pytest.raises(ValueError, match="unsupervised"):
        model.fit(X_U, labelled=(X_L, Y_L), verbose=0)
