"""Tests for keras_ae.SemiSupervisedAAE (paper §7) and ClusteringAAE (§8).

* four phases with four optimizers on their own variables (the
  classification phase never touches the style head or the decoder);
* the classification loss and accuracy are means over labelled examples
  only (exact against NumPy); unlabelled batches leave the classifier alone;
* categorical prior draws are one-hot; mixed precision scales every
  optimizer; the clustering model has three phases and no labels.
"""

import keras
import numpy as np
import pytest
from keras import ops

import keras_ae
from harness import LABELS
from harness import X_FLAT
from harness import weights_of

pytestmark = pytest.mark.backends

SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)
SOME = np.where(np.arange(64) % 4 == 0, -1, LABELS)


def _sgd(model, lr=0.1, classifier_lr=0.1):
    kwargs = dict(
        optimizer=keras.optimizers.SGD(lr),
        discriminator_optimizer=keras.optimizers.SGD(lr),
        generator_optimizer=keras.optimizers.SGD(lr),
    )
    if model.classification_phase:
        kwargs["classifier_optimizer"] = keras.optimizers.SGD(classifier_lr)
    model.compile(**kwargs)
    return model


def _semi(**kw):
    return keras_ae.SemiSupervisedAAE(**dict(SMALL, num_classes=3, **kw))


def test_heads_networks_and_phases():
    model = _sgd(_semi())
    code = ops.convert_to_numpy(model.encoder(X_FLAT[:5]))
    assert code.shape == (5, 3 + 4)  # one output, the code [y | z]
    y, z = code[:, :3], code[:, 3:]
    np.testing.assert_allclose(model.classify(X_FLAT[:5]), y, atol=1e-6)
    np.testing.assert_allclose(model.encode(X_FLAT[:5]), z, atol=1e-6)
    np.testing.assert_allclose(
        model.reconstruct(X_FLAT[:5]),
        ops.convert_to_numpy(model.decoder(code)),
        atol=1e-6,
    )
    np.testing.assert_allclose(ops.convert_to_numpy(ops.sum(y, axis=-1)), 1.0, atol=1e-5)
    assert model.decoder.input_shape == (None, 3 + 4)
    assert model.categorical_discriminator.input_shape == (None, 3)
    phases = model.training_phases()
    assert [u.loss for p in phases for u in p.updates] == [
        "loss",
        "discriminator_loss",
        "generator_objective",
        "classification_objective",
    ]
    assert [u.optimizer for p in phases for u in p.updates] == [
        model.optimizer,
        model.discriminator_optimizer,
        model.generator_optimizer,
        model.classifier_optimizer,
    ]
    ids = lambda vs: {id(v) for v in vs}  # noqa: E731
    disc = ids(phases[1].updates[0].variables)
    assert disc == ids(model.discriminator.trainable_variables) | ids(
        model.categorical_discriminator.trainable_variables
    )
    classifier = ids(phases[3].updates[0].variables)
    assert not classifier & ids(model.encoder.get_layer("z").trainable_variables)
    assert not classifier & ids(model.decoder.trainable_variables)
    assert ids(model.encoder.get_layer("y").trainable_variables) <= classifier


def test_categorical_draws_are_one_hot():
    model = _semi()
    y_real, z_real = model.draw_priors(ops.zeros((50, 4)), training=False)
    y_real = ops.convert_to_numpy(y_real)
    np.testing.assert_array_equal(y_real.sum(axis=1), 1.0)
    assert set(np.unique(y_real)) == {0.0, 1.0}
    assert tuple(z_real.shape) == (50, 4)


def test_classification_terms_are_means_over_labelled_examples():
    model = _semi()
    rs = np.random.default_rng(0)
    y = rs.dirichlet(np.ones(3), size=10).astype("float32")
    labels = np.array([0, 1, 2, -1, -1, 2, 1, 0, -1, 1], "int32")
    terms = model._classification_terms(ops.convert_to_tensor(y), labels, None)
    m = labels >= 0
    ce = -np.log(y[m, labels[m]]).mean()
    acc = (y[m].argmax(1) == labels[m]).mean()
    assert float(terms["classification_loss"]) == pytest.approx(ce, rel=1e-5)
    assert float(terms["classification_accuracy"]) == pytest.approx(acc)
    assert float(terms["labelled_count"]) == 7
    none = model._classification_terms(ops.convert_to_tensor(y), np.full(10, -1), None)
    assert float(none["classification_loss"]) == 0.0


def test_evaluate_reports_labelled_loss_and_accuracy_over_the_labelled_only():
    model = _sgd(_semi())
    logs = model.evaluate(X_FLAT, SOME, batch_size=16, verbose=0, return_dict=True)
    probs = model.classify(X_FLAT)
    m = SOME >= 0
    ce = -np.log(np.clip(probs[m, SOME[m]], 1e-7, 1)).mean()
    acc = (model.predict_labels(X_FLAT)[m] == SOME[m]).mean()
    assert logs["classification_loss"] == pytest.approx(ce, rel=1e-4)
    assert logs["classification_accuracy"] == pytest.approx(acc, abs=1e-6)
    assert model.predict_labels(X_FLAT).dtype == np.int32


def test_unlabelled_batches_leave_the_classifier_phase_without_effect():
    """With every label -1 the classification loss is 0: the weights after
    a step do not depend on the classifier's learning rate; with labels
    they do."""
    a = _sgd(_semi(), classifier_lr=0.5)
    b = _sgd(_semi(), classifier_lr=0.0)
    a.fit(X_FLAT, epochs=1, batch_size=32, shuffle=False, verbose=0)
    b.fit(X_FLAT, np.full(64, -1), epochs=1, batch_size=32, shuffle=False, verbose=0)
    for wa, wb in zip(weights_of(a), weights_of(b)):
        np.testing.assert_allclose(wa, wb, atol=1e-6)
    c = _sgd(_semi(), classifier_lr=0.5)
    c.fit(X_FLAT, SOME, epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert any(not np.allclose(wa, wc) for wa, wc in zip(weights_of(a), weights_of(c)))


def test_classification_phase_learns_the_labels():
    # fit's shuffling draws from Keras's global seed: fixed here, so the
    # result does not depend on the tests run before this one in the same
    # process (torch, unseeded: 0.89-1.0 by test order; seeds 0-7: 0.93-1.0;
    # seed 0: 1.0 on tensorflow, jax and torch).
    keras.utils.set_random_seed(0)
    rs = np.random.default_rng(0)
    centres = rs.uniform(size=(3, 16))
    y = rs.integers(3, size=256)
    x = np.clip(centres[y] + 0.05 * rs.normal(size=(256, 16)), 0, 1).astype("float32")
    model = _semi(hidden_units=(16,))
    model.compile()
    labels = np.where(np.arange(256) < 128, y, -1)
    history = model.fit(x, labels, epochs=20, batch_size=32, verbose=0)
    assert history.history["classification_loss"][-1] < history.history[
        "classification_loss"
    ][0]
    assert np.mean(model.predict_labels(x) == y) >= 0.9


def test_decode_and_sample_with_categories():
    model = _semi()
    z = np.zeros((3, 4), "float32")
    joined = np.concatenate([np.eye(3, dtype="float32"), z], axis=1)
    expected = ops.convert_to_numpy(model.decoder(joined))
    np.testing.assert_allclose(model.decode(z, [0, 1, 2]), expected, atol=1e-6)
    a = model.sample(4, labels=[0, 1, 2, 0], seed=2)
    np.testing.assert_array_equal(a, model.sample(4, labels=[0, 1, 2, 0], seed=2))


def test_bad_arguments():
    with pytest.raises(ValueError, match="classification_weight"):
        _semi(classification_weight=0.0)
    with pytest.raises(ValueError, match="`encoder` is not available"):
        _semi(encoder=keras.Sequential([keras.layers.Dense(4)]))
    with pytest.raises(ValueError, match="posterior"):
        _semi(posterior="gaussian")  # the phases use deterministic codes
    model = _sgd(_semi())
    with pytest.raises(ValueError, match=r"\[-1, 3\)"):
        model.fit(X_FLAT, np.full(64, 3), epochs=1, verbose=0)


@pytest.fixture
def restore_policy():
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)


@pytest.mark.parametrize("cls", ["SemiSupervisedAAE", "ClusteringAAE"])
def test_mixed_float16_scales_every_optimizer(cls, restore_policy):
    keras.config.set_dtype_policy("mixed_float16")
    size = dict(num_classes=3) if cls == "SemiSupervisedAAE" else dict(num_clusters=3)
    model = getattr(keras_ae, cls)(**SMALL, **size)
    model.compile()
    optimizers = (model.optimizer,) + tuple(model.extra_optimizers())
    assert len(optimizers) == (4 if cls == "SemiSupervisedAAE" else 3)
    assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers)
    labels = SOME if cls == "SemiSupervisedAAE" else None
    history = model.fit(X_FLAT, labels, epochs=1, batch_size=16, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())


# ------------------------------------------------------------- clustering


def test_clustering_has_three_phases_no_labels_and_its_own_config():
    model = keras_ae.ClusteringAAE(**SMALL, num_clusters=5)
    _sgd(model)
    assert len(model.training_phases()) == 3
    assert model.classifier_optimizer is None
    assert len(model.extra_optimizers()) == 2
    config = model.get_config()
    assert config["num_clusters"] == 5 and "num_classes" not in config
    clusters = model.cluster(X_FLAT)
    assert clusters.shape == (64,) and clusters.min() >= 0 and clusters.max() < 5
    with pytest.raises(ValueError, match="unsupervised"):
        model.fit(X_FLAT, LABELS, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="num_clusters"):
        keras_ae.ClusteringAAE(**SMALL, num_classes=3)
    # Clusters are balanced by default (the head collapses without it).
    assert config["balance_weight"] == 5.0
    assert keras_ae.SemiSupervisedAAE(**SMALL).balance_weight == 0.0
    history = model.fit(X_FLAT, epochs=1, batch_size=16, verbose=0)
    assert "classification_loss" not in history.history


def test_categorical_noise_only_in_training():
    model = _semi(categorical_noise=0.5)
    assert model.get_config()["categorical_noise"] == 0.5
    y = ops.convert_to_tensor(np.eye(3, dtype="float32"))
    clean = ops.convert_to_numpy(model.categorical_discriminator(y))
    np.testing.assert_allclose(
        ops.convert_to_numpy(model._categorical_logits(y, False)), clean, atol=1e-6
    )
    assert not np.allclose(ops.convert_to_numpy(model._categorical_logits(y, True)), clean)
    np.testing.assert_allclose(  # no noise by default
        ops.convert_to_numpy(_semi()._categorical_logits(y, True)), clean, atol=1e-6
    )
    with pytest.raises(ValueError, match="categorical_noise"):
        _semi(categorical_noise=-1.0)


# ------------------------------------------------- balance and input noise


def _kl_uniform(p):
    return float(np.sum(p * np.log(p)) + np.log(len(p)))


def test_balance_loss_is_kl_of_the_batch_mean_from_uniform():
    model = _semi()
    rs = np.random.default_rng(3)
    y = rs.dirichlet([0.2, 0.5, 1.0], size=20).astype("float32")
    w = rs.uniform(size=20).astype("float32")
    value = float(model.balance_loss(ops.convert_to_tensor(y)))
    assert value == pytest.approx(_kl_uniform(y.mean(0)), abs=1e-6)
    weighted = float(model.balance_loss(ops.convert_to_tensor(y), w))
    assert weighted == pytest.approx(
        _kl_uniform((w[:, None] * y).sum(0) / w.sum()), abs=1e-6
    )
    balanced = np.tile(np.eye(3, dtype="float32"), (4, 1))
    assert float(model.balance_loss(balanced)) == pytest.approx(0.0, abs=1e-6)
    collapsed = np.tile(np.eye(3, dtype="float32")[:1], (12, 1))
    assert float(model.balance_loss(collapsed)) == pytest.approx(np.log(3), rel=1e-5)


@pytest.mark.parametrize("weight", [0.0, 2.5])
def test_generator_objective_adds_the_weighted_balance(weight):
    model = _sgd(_semi(balance_weight=weight, adversarial_weight=0.5))
    terms, _ = model._generator_phase(X_FLAT[:16], SOME[:16], None)
    expected = 0.5 * float(terms["generator_loss"]) + weight * float(terms["balance_loss"])
    assert float(terms["generator_objective"]) == pytest.approx(expected, abs=1e-5)
    y = model.classify(X_FLAT[:16])
    assert float(terms["balance_loss"]) == pytest.approx(
        _kl_uniform(y.mean(0)), abs=1e-5
    )
    logs = model.evaluate(X_FLAT, SOME, batch_size=64, verbose=0, return_dict=True)
    assert "balance_loss" in logs


def test_balance_term_spreads_a_collapsed_head():
    """Generator steps on the balance term alone move a head whose every
    example sits in category 0 towards using all three: the batch-level
    signal the one-example-at-a-time discriminator lacks. Without the term
    (weight 0) the same steps leave the batch mean where the adversarial
    loss takes it."""

    def run(weight):
        model = _semi(balance_weight=weight, adversarial_weight=1e-6)
        head = model.encoder.get_layer("y")
        kernel, bias = head.get_weights()
        head.set_weights([np.zeros_like(kernel), np.array([6.0, 0.0, 0.0], "float32")])
        # Small SGD steps: the saturated softmax releases suddenly and
        # larger steps overshoot into another corner.
        model.compile(generator_optimizer=keras.optimizers.SGD(0.05))
        before = float(model.balance_loss(model.classify(X_FLAT)))
        model.fit(X_FLAT, SOME, epochs=48, batch_size=64, verbose=0, shuffle=False)
        return before, float(model.balance_loss(model.classify(X_FLAT)))

    before, after = run(5.0)
    assert before > 1.0  # log 3 = 1.10 when collapsed
    assert after < 0.2 * before
    _, unchanged = run(0.0)
    assert unchanged > 0.9 * before


def test_input_noise_only_in_training_and_saved():
    model = _semi(input_noise=0.3)
    assert model.get_config()["input_noise"] == 0.3
    x = ops.convert_to_tensor(X_FLAT[:8])
    clean = ops.convert_to_numpy(model.encoder(x)[:, :3])
    np.testing.assert_allclose(ops.convert_to_numpy(model._heads(x, False)[0]), clean, atol=1e-6)
    assert not np.allclose(ops.convert_to_numpy(model._heads(x, True)[0]), clean)
    plain = _semi()  # no noise by default
    np.testing.assert_allclose(
        ops.convert_to_numpy(plain._heads(x, True)[0]),
        ops.convert_to_numpy(plain.encoder(x)[:, :3]),
        atol=1e-6,
    )
    for name in ("input_noise", "balance_weight"):
        with pytest.raises(ValueError, match=name):
            _semi(**{name: -0.1})
