"""Helpers of the semi-supervised and clustering AAE examples (fast, no
training)."""

import importlib.util
import pathlib

import keras
import numpy as np
import pytest
from keras import ops

import keras_ae

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example():
    return load("aae_semi_supervised_fashion_mnist")


@pytest.fixture(scope="module")
def clustering_example():
    return load("aae_clustering_fashion_mnist")


def test_split_labelled_per_class_and_disjoint_validation(example):
    y = np.repeat(np.arange(10), 50)
    labelled, val = example.split(y, 7, seed=3, validation=40)
    assert np.array_equal(np.bincount(y[labelled], minlength=10), np.full(10, 7))
    assert len(val) == 40 and len(np.unique(val)) == 40
    assert not set(labelled) & set(val)
    again = example.split(y, 7, seed=3, validation=40)
    assert np.array_equal(labelled, again[0]) and np.array_equal(val, again[1])
    assert len(example.split(y, 7, seed=3)[1]) == 0
    every, none_left = example.split(y, 50, seed=0, validation=10)
    assert len(every) == 500 and len(none_left) == 0


def test_schedule_divides_by_ten_after_the_fraction(example):
    assert example.schedule(1e-3, 100, None) == 1e-3
    rate = example.schedule(1e-3, 100, 0.5)
    values = [float(ops.convert_to_numpy(rate(step))) for step in (0, 49, 50, 51, 99)]
    np.testing.assert_allclose(values, [1e-3, 1e-3, 1e-3, 1e-4, 1e-4], rtol=1e-6)


def test_baseline_takes_the_models_image_inputs(example):
    # --architecture conv: the labels-only baseline is the conv encoder on
    # (H, W, C) images (it was built on (784,) inputs only).
    import argparse

    rs = np.random.default_rng(0)
    x = rs.uniform(size=(30, 8, 8, 1)).astype("float32")
    y = np.arange(30) % 3
    model = keras_ae.SemiSupervisedAAE(
        (8, 8, 1), num_classes=3, latent_dim=2, architecture="conv",
        hidden_units=(4,), seed=0,
    )
    args = argparse.Namespace(input_noise=0.1, batch_size=10, decay_after=None)
    final, stopped, best_epoch, epochs = example.train_baseline(
        model, x, y, x[:6], y[:6], np.arange(10), np.arange(10, 20), 2, args, 0
    )
    assert epochs == 2 and 1 <= best_epoch <= 2
    assert 0.0 <= final <= 1.0 and 0.0 <= stopped <= 1.0


def test_conv_encoder_model_has_a_dense_decoder_and_trains(example, tmp_path):
    # --encoder conv: stride-2 convolutions in the encoder (and so in the
    # baseline, its clone), the dense decoder (no transposed convolutions).
    import argparse

    rs = np.random.default_rng(0)
    x = rs.uniform(size=(30, 8, 8, 1)).astype("float32")
    y = np.arange(30) % 3
    model = example.DenseDecoderSemiSupervisedAAE(
        (8, 8, 1), architecture="conv", hidden_units=(4, 6), decoder_units=(5,),
        num_classes=3, latent_dim=2, seed=0,
    )
    kinds = [type(layer).__name__ for layer in model.encoder.layers]
    assert kinds.count("Conv2D") == 2
    assert model.encoder.get_layer("conv_1").filters == 6
    decoder_kinds = {type(layer).__name__ for layer in model.decoder.layers}
    assert "Conv2DTranspose" not in decoder_kinds and "Dense" in decoder_kinds
    assert [l.units for l in model.decoder.layers if hasattr(l, "units")][0] == 5
    assert model.decoder.output_shape == (None, 8, 8, 1)
    assert model.get_config()["decoder_units"] == [5]
    model.compile()
    labels = np.where(np.arange(30) < 10, y, -1)
    model.fit(x, labels, epochs=1, batch_size=10, verbose=0)
    assert model.predict_labels(x).shape == (30,)
    # Registered: saves and reloads under safe_mode with equal predictions.
    path = str(tmp_path / "semi.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    assert type(again) is example.DenseDecoderSemiSupervisedAAE
    np.testing.assert_allclose(
        ops.convert_to_numpy(again.encode(x)), ops.convert_to_numpy(model.encode(x)),
        atol=1e-6,
    )
    args = argparse.Namespace(input_noise=0.1, batch_size=10, decay_after=None)
    final, stopped, _, _ = example.train_baseline(
        model, x, y, x[:6], y[:6], np.arange(10), np.arange(10, 20), 2, args, 0
    )
    assert 0.0 <= final <= 1.0 and 0.0 <= stopped <= 1.0


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2, 1.5])
def test_schedule_rejects_a_fraction_outside_0_1(example, bad):
    with pytest.raises(ValueError, match="`decay_after` must be a fraction in"):
        example.schedule(1e-3, 100, bad)


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_reverse_balance_loss_exact_and_revives_a_dead_cluster(clustering_example):
    model = clustering_example.ReverseBalanceClusteringAAE(
        (4,), num_clusters=3, latent_dim=2, hidden_units=(8,), seed=0
    )
    forward = keras_ae.ClusteringAAE(
        (4,), num_clusters=3, latent_dim=2, hidden_units=(8,), seed=0
    )
    rs = np.random.default_rng(0)
    y = _softmax(rs.normal(size=(5, 3))).astype("float32")
    mean = y.mean(axis=0)
    expected = -np.mean(np.log(mean)) - np.log(3)
    np.testing.assert_allclose(float(model.balance_loss(y)), expected, rtol=1e-5)
    w = np.array([1.0, 0.0, 2.0, 1.0, 0.5], "float32")
    wmean = (w[:, None] * y).sum(0) / w.sum()
    np.testing.assert_allclose(
        float(model.balance_loss(y, w)), -np.mean(np.log(wmean)) - np.log(3), rtol=1e-5
    )
    # Cluster 2 is dead (logit -20 everywhere): raising its logit changes the
    # reverse term at a rate of about 1/(K * batch) per example, the
    # model's forward term hardly at all.
    logits = np.tile(np.array([[2.0, -1.0, -20.0], [-1.0, 2.0, -20.0]]), (2, 1))
    eps = 1e-2
    bumped = logits.copy()
    bumped[:, 2] += eps
    slopes = [
        (float(m.balance_loss(_softmax(bumped).astype("float32")))
         - float(m.balance_loss(_softmax(logits).astype("float32")))) / eps
        for m in (model, forward)
    ]
    np.testing.assert_allclose(slopes[0], -1 / 3, rtol=0.02)  # 4 examples x 1/12
    assert abs(slopes[1]) < 1e-6


def test_label_conditioned_share_in_own_ball_is_the_chi2_quantile():
    example = load("aae_label_conditioned_fashion_mnist")
    prior = keras_ae.priors.MixtureOfGaussians(10, layout="axes")
    rs = np.random.default_rng(0)
    classes = rs.integers(10, size=20000)
    means = prior.component_means(10)
    z = means[classes] + prior.stddev * rs.normal(size=(20000, 10))
    assert example.share_in_own_ball(prior, z, classes) == pytest.approx(0.99, abs=0.003)
    # The nearest mean is not enough: codes far out along their own axis.
    assert example.share_in_own_ball(prior, 3.0 * means[classes], classes) == 0.0


def test_label_conditioned_conv_encoder_with_dense_head():
    example = load("aae_label_conditioned_fashion_mnist")
    plain = example.conv_encoder((28, 28, 1), 10, [8, 16], 0, seed=0)
    headed = example.conv_encoder((28, 28, 1), 10, [8, 16], 32, seed=None)
    assert plain.output_shape == headed.output_shape == (None, 10)
    units = [layer.units for layer in headed.layers if hasattr(layer, "units")]
    assert units == [32, 10]


def test_conv_encoder_keeps_a_dense_decoder(clustering_example):
    model = clustering_example.DenseDecoderClusteringAAE(
        (8, 8, 1), num_clusters=3, latent_dim=2, architecture="conv",
        hidden_units=(4,), seed=0,
    )
    conv = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    assert any(isinstance(layer, conv) for layer in model.encoder.layers)
    assert not any(isinstance(layer, conv) for layer in model.decoder.layers)
    assert model.decoder.output_shape == (None, 8, 8, 1)
    assert model.get_config()["decoder_units"] == [512, 256]
    config = model.get_config()
    again = type(model).from_config(config)
    assert again.decoder_units == (512, 256) and again.architecture == "conv"


def test_warm_up_frozen_head_and_softened_logits(clustering_example):
    rs = np.random.default_rng(0)
    x = rs.uniform(size=(40, 6)).astype("float32")
    model = keras_ae.ClusteringAAE((6,), num_clusters=3, latent_dim=2, hidden_units=(8,), seed=0)
    model.compile()
    head = model.encoder.get_layer("y")
    before = [ops.convert_to_numpy(w).copy() for w in head.weights]
    trunk = ops.convert_to_numpy(model.encoder.get_layer("dense_0").kernel).copy()
    clustering_example.warm_up(model, x, 1, 20, freeze_head=True)
    for w, b in zip(head.weights, before):
        np.testing.assert_array_equal(ops.convert_to_numpy(w), b)
    assert head.trainable
    assert not np.allclose(ops.convert_to_numpy(model.encoder.get_layer("dense_0").kernel), trunk)
    # soften divides the (here frozen) head's kernel and bias: same argmax.
    clustering_example.warm_up(model, x, 1, 20, freeze_head=True, soften=10.0)
    for w, b in zip(head.weights, before):
        np.testing.assert_allclose(ops.convert_to_numpy(w), b / 10.0, rtol=1e-6)
    # 0 epochs: no change at all.
    weights = [ops.convert_to_numpy(w).copy() for w in model.weights]
    clustering_example.warm_up(model, x, 0, 20, soften=10.0)
    for w, b in zip(model.weights, weights):
        np.testing.assert_array_equal(ops.convert_to_numpy(w), b)
