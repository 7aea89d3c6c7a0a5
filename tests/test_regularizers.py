"""Tests for keras_ae.regularizers: L1Sparsity, KLSparsity, get, activity_penalty."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_ae import regularizers  # noqa: E402
from keras_ae.regularizers import KLSparsity  # noqa: E402
from keras_ae.regularizers import L1Sparsity  # noqa: E402
from keras_ae.regularizers import activity_penalty  # noqa: E402


def _codes(batch=32, units=8, seed=0):
    return np.random.default_rng(seed).uniform(0.01, 0.6, (batch, units)).astype(
        "float32"
    )


# ---------------------------------------------------------------- values


def test_kl_sparsity_hand_computed():
    codes = np.array([[0.1, 0.5], [0.3, 0.7]], "float32")  # rho_hat = (0.2, 0.6)
    # KL(0.1 || 0.2) = 0.1 ln(0.5) + 0.9 ln(0.9 / 0.8) = 0.036690
    # KL(0.1 || 0.6) = 0.1 ln(1/6) + 0.9 ln(0.9 / 0.4) = 0.550661
    value = float(KLSparsity(target=0.1, weight=2.0)(codes))
    assert value == pytest.approx(2.0 * (0.036690 + 0.550661), abs=1e-5)


def test_kl_sparsity_zero_at_target_and_positive_elsewhere():
    at_target = np.tile(np.array([[0.0, 0.1], [0.1, 0.0]], "float32"), (3, 1))
    assert float(KLSparsity(0.05, 1.0)(at_target)) == pytest.approx(0.0, abs=1e-6)
    assert float(KLSparsity(0.05, 1.0)(at_target + 0.2)) > 0.1


def test_kl_sparsity_finite_for_saturated_codes():
    for value in (0.0, 1.0):
        codes = np.full((4, 3), value, "float32")
        penalty = float(KLSparsity(0.05, 1.0)(codes))
        assert np.isfinite(penalty) and penalty > 1.0


def test_kl_sparsity_conv_codes_use_every_position_as_a_unit():
    codes = _codes(batch=16, units=12).reshape(16, 2, 3, 2)
    flat = codes.reshape(16, 12)
    assert float(KLSparsity(0.1, 1.0)(codes)) == pytest.approx(
        float(KLSparsity(0.1, 1.0)(flat)), rel=1e-6
    )


def test_l1_sparsity_hand_computed():
    codes = np.array([[1.0, -2.0], [0.0, 3.0]], "float32")
    # per-example L1 norms 3 and 3, batch mean 3
    assert float(L1Sparsity(0.1)(codes)) == pytest.approx(0.3, rel=1e-6)
    assert float(L1Sparsity(0.0)(codes)) == 0.0


@pytest.mark.parametrize(
    "regularizer", [KLSparsity(0.05, 3.0), L1Sparsity(1e-3)], ids=["kl", "l1"]
)
def test_penalty_does_not_depend_on_batch_size(regularizer):
    codes = _codes(batch=32)
    big = np.tile(codes, (8, 1))  # batch 256, same activations
    small_value = float(regularizer(codes))
    assert small_value > 0
    assert float(regularizer(big)) == pytest.approx(small_value, rel=1e-5)
    assert float(activity_penalty(regularizer, big)) == pytest.approx(
        small_value, rel=1e-5
    )


def test_l1_matches_keras_activity_regularizer_scale():
    """L1Sparsity(l1) == what keras.regularizers.L1(l1) adds as an activity loss."""
    codes = _codes(batch=32)
    layer = keras.layers.Activation(
        "linear", activity_regularizer=keras.regularizers.L1(0.01)
    )
    layer(codes)
    keras_value = float(sum(layer.losses))
    assert float(L1Sparsity(0.01)(codes)) == pytest.approx(keras_value, rel=1e-5)


def test_computes_in_float32():
    codes = tf.constant(_codes(), dtype="float16")
    for regularizer in (KLSparsity(0.05, 1.0), L1Sparsity(0.01)):
        assert regularizer(codes).dtype == tf.float32
        assert activity_penalty(regularizer, codes).dtype == tf.float32


def test_activity_penalty_none_and_plain_callables():
    codes = _codes()
    zero = activity_penalty(None, codes)
    assert zero.dtype == tf.float32 and float(zero) == 0.0
    value = activity_penalty(lambda x: tf.reduce_sum(x), codes)
    assert float(value) == pytest.approx(float(codes.sum()), rel=1e-5)
    assert float(activity_penalty("kl", codes)) == pytest.approx(
        float(KLSparsity()(codes)), rel=1e-6
    )


def test_kl_gradient_pushes_mean_activation_towards_target():
    codes = tf.Variable(_codes())
    with tf.GradientTape() as tape:
        penalty = KLSparsity(0.05, 1.0)(codes)
    grad = tape.gradient(penalty, codes)
    assert np.all(np.asarray(grad) > 0)  # means above 0.05: decrease them


# ------------------------------------------------------ validation / config


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: KLSparsity(target=0.0), "target=0.0"),
        (lambda: KLSparsity(target=1.0), "target=1.0"),
        (lambda: KLSparsity(target=-0.5), "target=-0.5"),
        (lambda: KLSparsity(target=float("nan")), "target=nan"),
        (lambda: KLSparsity(target=0.1, weight=-1.0), "weight=-1.0"),
        (lambda: L1Sparsity(-0.1), "l1=-0.1"),
        (lambda: L1Sparsity(float("inf")), "l1=inf"),
        (lambda: L1Sparsity("0.1"), "l1='0.1'"),
    ],
)
def test_invalid_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "regularizer, expected",
    [
        (KLSparsity(0.1, 2.0), {"target": 0.1, "weight": 2.0}),
        (L1Sparsity(0.5), {"l1": 0.5}),
    ],
)
def test_config_round_trip(regularizer, expected):
    assert regularizer.get_config() == expected
    clone = type(regularizer).from_config(regularizer.get_config())
    assert clone.get_config() == expected
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(regularizer)
    )
    assert type(restored) is type(regularizer) and restored.get_config() == expected
    assert regularizers.get(keras.saving.serialize_keras_object(regularizer)).get_config() == expected


def test_saved_inside_a_keras_layer(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activity_regularizer=KLSparsity(0.2, 0.5)),
        ]
    )
    path = str(tmp_path / "reg.keras")
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    reg = restored.layers[0].activity_regularizer
    assert type(reg) is KLSparsity and reg.get_config() == {"target": 0.2, "weight": 0.5}


def test_get():
    assert regularizers.get(None) is None
    reg = L1Sparsity(0.2)
    assert regularizers.get(reg) is reg
    assert type(regularizers.get("l1")) is L1Sparsity
    assert type(regularizers.get("KL")) is KLSparsity
    assert type(regularizers.get("KLSparsity")) is KLSparsity
    assert type(regularizers.get("l1_sparsity")) is L1Sparsity
    with pytest.raises(ValueError, match=r"'tv'.*\['kl', 'l1'\]"):
        regularizers.get("tv")
    with pytest.raises(ValueError):
        regularizers.get(0.1)
