"""keras_ae.losses: the per-example conventions every model shares."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ae import losses  # noqa: E402


def test_bce_sums_over_features_of_any_shape():
    x = np.ones((2, 2, 3), "float32")
    np.testing.assert_allclose(
        losses.binary_crossentropy(x, np.full_like(x, 0.5)), [6 * np.log(2)] * 2, rtol=1e-6
    )


def test_bce_of_sigmoid_outputs_is_computed_from_their_logits():
    # What the built-in decoders produce in a training step: a Keras sigmoid.
    # Scored from the logits, saturated outputs keep their exact loss; the
    # clipped-probability formula would be off by up to 16 nats per pixel.
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(8, 20)).astype("float32")
    logits = (30.0 * rng.normal(size=(8, 20))).astype("float32")

    @tf.function
    def both(x, logits):
        probs = keras.activations.sigmoid(logits)
        return (
            losses.binary_crossentropy(x, probs),
            losses.binary_crossentropy(x, logits, from_logits=True),
        )

    from_probs, from_logits = both(x, logits)
    np.testing.assert_allclose(from_probs.numpy(), from_logits.numpy(), rtol=1e-6)
    exact = np.sum(np.logaddexp(0, logits) - x * logits, axis=1)
    np.testing.assert_allclose(from_logits.numpy(), exact, rtol=1e-5)
