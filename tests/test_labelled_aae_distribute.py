"""The semi-supervised AAE's batch-level terms under `tf.distribute` (issue 17).

The common parity test (tests/test_distribute.py) fits without labels. Here
the labelled examples are spread unevenly over the two replicas (seven on
one, one on the other), so a per-replica mean of the classification loss
would weigh them wrongly, and the balance term (a function of the batch
mean of ``y``) is on: one SGD step on two replicas must equal the step on
one device, and log the same classification and balance values.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras_ae  # noqa: E402
from harness import X_FLAT  # noqa: E402
from harness import assert_weights_close  # noqa: E402
from harness import compile_sgd  # noqa: E402
from harness import fixed_prior_draws  # noqa: E402
from harness import weights_of  # noqa: E402

BATCH = 16


def _make():
    model = keras_ae.SemiSupervisedAAE(
        input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1, num_classes=3,
        balance_weight=2.0,
    )
    fixed_prior_draws(model)
    return compile_sgd(model, 0.5)


def test_labelled_step_on_two_replicas_equals_one_device(mirrored_strategy):
    x = X_FLAT[:BATCH]
    # Replica 0 gets rows 0-7 (seven labelled), replica 1 rows 8-15 (one).
    labels = np.full(BATCH, -1, "int32")
    labels[:7] = np.arange(7) % 3
    labels[12] = 2
    ref = _make()
    start = weights_of(ref)
    ref_logs = ref.fit(x, labels, batch_size=BATCH, shuffle=False, verbose=0).history
    with mirrored_strategy.scope():
        dist = _make()
        assert_weights_close(weights_of(dist), start, atol=0)
        dist_logs = dist.fit(x, labels, batch_size=BATCH, shuffle=False, verbose=0).history
    # The step moved the category head, by the same step on both.
    ids = [id(v) for v in ref.encoder.get_layer("y").weights]
    head = [i for i, v in enumerate(ref.weights) if id(v) in ids]
    assert len(head) == 2
    assert max(float(np.max(np.abs(weights_of(ref)[i] - start[i]))) for i in head) > 1e-3
    assert_weights_close(weights_of(dist), weights_of(ref), atol=1e-6)
    for name in ("classification_loss", "classification_accuracy", "balance_loss"):
        np.testing.assert_allclose(dist_logs[name], ref_logs[name], rtol=1e-5, atol=1e-6)
