"""Tests for keras_ae.SupervisedAAE (paper §6: style and content).

The conditional battery (`tests/test_conditional.py`) covers shapes,
reload and label checks; here: the decoder reads the label, every example
must be labelled, style transfer and labelled sampling.
"""

import keras
import numpy as np
import pytest

import keras_ae
from harness import LABELS
from harness import X_FLAT

pytestmark = pytest.mark.backends

SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1, num_classes=3)


def test_decoder_takes_code_and_label_and_paper_discriminator_only_codes():
    model = keras_ae.SupervisedAAE(**SMALL, label_independent_style=False)
    assert [tuple(i.shape) for i in model.decoder.inputs] == [(None, 4), (None, 3)]
    assert model.discriminator.input_shape == (None, 4)
    assert model.conditional and model.generative


def test_decode_equals_the_decoder_on_code_and_one_hot():
    model = keras_ae.SupervisedAAE(**SMALL)
    z = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    labels = np.array([0, 1, 2, 1, 0])
    onehot = np.eye(3, dtype="float32")[labels]
    expected = keras.ops.convert_to_numpy(model.decoder([z, onehot]))
    np.testing.assert_allclose(model.decode(z, labels), expected, atol=1e-6)
    np.testing.assert_allclose(
        model.predict((X_FLAT[:5], labels), verbose=0),
        model.reconstruct(X_FLAT[:5], labels),
        atol=1e-6,
    )


def test_every_example_needs_a_label():
    model = keras_ae.SupervisedAAE(**SMALL)
    model.compile()
    with pytest.raises(ValueError, match="needs one label per example"):
        model.fit(X_FLAT, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        model.fit(X_FLAT, np.full(64, -1), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="tied_weights"):
        keras_ae.SupervisedAAE(**SMALL, tied_weights=True)


def test_transfer_style_renders_every_label_for_every_style():
    model = keras_ae.SupervisedAAE(**SMALL)
    grid = model.transfer_style(X_FLAT[:4])
    assert grid.shape == (4, 3, 16)
    z = model.encode(X_FLAT[:4])
    for j in range(3):
        np.testing.assert_allclose(grid[:, j], model.decode(z, [j] * 4), atol=1e-6)
    assert model.transfer_style(X_FLAT[:2], labels=[2]).shape == (2, 1, 16)


def test_sample_is_seeded_and_uses_the_labels():
    model = keras_ae.SupervisedAAE(**SMALL)
    a = model.sample(4, labels=[0, 0, 1, 2], seed=7)
    np.testing.assert_array_equal(a, model.sample(4, labels=[0, 0, 1, 2], seed=7))
    z = np.asarray(model.prior.sample(4, 4, seed=7))
    np.testing.assert_allclose(a, model.decode(z, [0, 0, 1, 2]), atol=1e-6)
    assert model.sample(3, seed=1).shape == (3, 16)


def test_one_step_trains_with_labels():
    model = keras_ae.SupervisedAAE(**SMALL)
    model.compile()
    history = model.fit(X_FLAT, LABELS, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert {"discriminator_loss", "generator_loss"} <= set(history.history)


def test_label_independent_style_discriminator_sees_the_label():
    model = keras_ae.SupervisedAAE(**SMALL)  # label_independent_style=True
    assert model.discriminator.input_shape == (None, 4 + 3)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        discriminator_optimizer=keras.optimizers.SGD(0.1),
        generator_optimizer=keras.optimizers.SGD(0.1),
    )
    kernel = model.discriminator.get_layer("dense_0").kernel
    before = np.array(kernel)
    model.fit(X_FLAT, np.arange(64) % 2, epochs=1, batch_size=64, verbose=0)
    moved = np.abs(np.array(kernel) - before).sum(axis=1)
    assert np.all(moved[4:6] > 0)  # label slots 0 and 1
    np.testing.assert_array_equal(moved[6], 0.0)  # class 2 never seen
    assert keras_ae.SupervisedAAE.from_config(model.get_config()).label_independent_style
    with pytest.raises(ValueError, match="label_independent_style"):
        keras_ae.SupervisedAAE(**SMALL, label_independent_style="yes")
    with pytest.raises(ValueError, match="posterior"):
        keras_ae.SupervisedAAE(**SMALL, posterior="gaussian")  # phases use mu(x)
