"""greedy_pretrain and StackedAutoencoder."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from harness import X_FLAT  # noqa: E402
from harness import fit_quietly  # noqa: E402
from harness import weights_of  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae.models.base import BaseAutoencoder  # noqa: E402
from keras_ae.models.sparse_denoising import SparseDenoisingAutoencoder  # noqa: E402

X = np.random.default_rng(3).uniform(size=(128, 16)).astype("float32")


# ------------------------------------------------------------ greedy_pretrain
@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A tiny SdA: 16-8-4-3, masking 0.1/0.2/0.3, with export_dir."""
    out = tmp_path_factory.mktemp("sda")
    calls = []
    real_encode = BaseAutoencoder.encode

    def counting_encode(self, x, batch_size=None):
        calls.append((self.name, len(x)))
        return real_encode(self, x, batch_size)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseAutoencoder, "encode", counting_encode)
        stack = keras_ae.greedy_pretrain(
            X,
            (8, 4, 3),
            noise="masking",
            noise_level=[0.1, 0.2, 0.3],
            epochs=[2, 2, 3],
            batch_size=32,
            optimizer=keras.optimizers.Adam(5e-3),
            validation_data=(X[:16],),
            export_dir=out / "run",
            verbose=0,
            seed=0,
        )
    return stack, out / "run", calls


def test_codes_are_computed_once_per_layer(pretrained):
    _, _, calls = pretrained
    # one predict over the training set and one over the validation set per layer
    assert calls == [
        ("layer_1", 128), ("layer_1", 16),
        ("layer_2", 128), ("layer_2", 16),
        ("layer_3", 128), ("layer_3", 16),
    ]


def test_export_dir_contents_and_summary(pretrained):
    stack, run, _ = pretrained
    names = sorted(os.listdir(run))
    assert names == sorted(
        ["layer_1", "layer_1.keras", "layer_2", "layer_2.keras", "layer_3", "layer_3.keras",
         "stack", "stack.keras", "pretraining.json"]
    )
    summary = json.loads((run / "pretraining.json").read_text())
    assert summary["layer_units"] == [8, 4, 3]
    layers = summary["layers"]
    assert [l["noise_level"] for l in layers] == [0.1, 0.2, 0.3]
    assert [len(l["history"]["loss"]) for l in layers] == [2, 2, 3]
    assert all(np.isfinite(l["final"]["loss"]) and np.isfinite(l["final"]["val_loss"]) for l in layers)
    assert [l["reconstruction_loss"] for l in layers] == ["bce"] * 3  # sigmoid codes: bce
    assert stack.pretraining_summary_["layers"][2]["units"] == 3
    # every layer is a SavedModel too
    served = tf.saved_model.load(str(run / "layer_2"))
    layer_2 = keras.models.load_model(run / "layer_2.keras")
    z1 = keras.models.load_model(run / "layer_1.keras").encode(X)
    np.testing.assert_allclose(served.encode(z1)["codes"].numpy(), layer_2.encode(z1), atol=1e-6)


def test_layers_get_their_noise_level_and_a_fresh_optimizer(pretrained):
    _, run, _ = pretrained
    for i, (rate, epochs) in enumerate([(0.1, 2), (0.2, 2), (0.3, 3)]):
        layer = keras.models.load_model(run / f"layer_{i + 1}.keras")
        assert isinstance(layer, keras_ae.DenoisingAutoencoder)
        assert layer.noise.rate == pytest.approx(rate)
        assert layer.hidden_units == () and layer.latent_dim == (8, 4, 3)[i]
        # a fresh optimizer per layer: its step count is this layer's steps only
        assert int(layer.optimizer.iterations.numpy()) == epochs * 4
        assert layer.optimizer.learning_rate.numpy() == pytest.approx(5e-3)


def test_stack_is_the_composition_of_the_pretrained_layers(pretrained):
    stack, run, _ = pretrained
    layers = [keras.models.load_model(run / f"layer_{i}.keras") for i in (1, 2, 3)]
    h = X
    for layer in layers:
        h = layer.encode(h)
    np.testing.assert_allclose(stack.encode(X), h, atol=1e-5)
    out = h
    for layer in reversed(layers):
        out = layer.decode(out)
    np.testing.assert_allclose(stack.decode(h), out, atol=1e-5)
    saved = keras.models.load_model(run / "stack.keras")
    np.testing.assert_allclose(saved.predict(X, verbose=0), stack.predict(X, verbose=0), atol=1e-6)


def test_stack_fine_tunes_saves_and_exports(pretrained, tmp_path):
    stack, _, _ = pretrained
    stack = keras_ae.StackedAutoencoder.from_config(stack.get_config())
    stack.set_weights(pretrained[0].get_weights())  # keep the fixture's model intact
    stack.compile(optimizer=keras.optimizers.Adam(1e-2))
    start = stack.evaluate(X, verbose=0, return_dict=True)["loss"]
    fit_quietly(stack, X, epochs=15, batch_size=32, shuffle=True)
    assert stack.evaluate(X, verbose=0, return_dict=True)["loss"] < start
    stack.save(tmp_path / "s.keras")
    reloaded = keras.models.load_model(tmp_path / "s.keras", safe_mode=True)
    assert isinstance(reloaded, keras_ae.StackedAutoencoder)
    assert reloaded.layer_units == (8, 4, 3)
    served = tf.saved_model.load(keras_ae.export_saved_model(reloaded, tmp_path / "export"))
    np.testing.assert_allclose(served.reconstruct(X)["reconstruction"].numpy(), stack.reconstruct(X), atol=1e-5)


def test_progress_names_each_layer(capsys):
    keras_ae.greedy_pretrain(X[:32], (4, 2), epochs=1, batch_size=32, verbose=2, seed=0)
    out = capsys.readouterr().out
    assert "greedy_pretrain: layer 1/2: Autoencoder 16 -> 4" in out
    assert "greedy_pretrain: layer 2/2: Autoencoder 4 -> 2" in out
    assert keras_ae.greedy_pretrain(X[:32], (4,), epochs=1, verbose=0).num_layers == 1
    assert capsys.readouterr().out == ""


def test_layer_classes_losses_and_optimizer_factories():
    made = []

    def factory():
        made.append(keras.optimizers.SGD(0.1))
        return made[-1]

    stack = keras_ae.greedy_pretrain(
        X[:32], (4, 2), noise=[None, "gaussian"], sparsity=["kl", "kl"], activation="sigmoid",
        epochs=1, batch_size=32, optimizer=factory, verbose=0, seed=0,
    )
    classes = [l["class"] for l in stack.pretraining_summary_["layers"]]
    assert classes == ["SparseAutoencoder", "SparseDenoisingAutoencoder"]
    assert "sparsity_loss" in stack.pretraining_summary_["layers"][1]["final"]
    assert len(made) == 2 and made[0] is not made[1]

    relu = keras_ae.greedy_pretrain(
        X[:32] * 4.0, (4, 2), activation="relu", epochs=1, optimizer="sgd", verbose=0
    )
    layers = relu.pretraining_summary_["layers"]
    # data outside [0, 1]: linear output and squared error; relu codes: mse
    assert [l["reconstruction_loss"] for l in layers] == ["mse", "mse"]
    assert layers[0]["output_activation"] is None and layers[1]["output_activation"] == "relu"
    assert relu.output_activation is None and relu.activation == "relu"


def test_pretraining_is_reproducible_with_a_seed():
    a = keras_ae.greedy_pretrain(X, (4, 2), noise="masking", epochs=1, verbose=0, seed=5)
    b = keras_ae.greedy_pretrain(X, (4, 2), noise="masking", epochs=1, verbose=0, seed=5)
    for wa, wb in zip(weights_of(a), weights_of(b)):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(layer_units=()), ValueError, "layer_units.*Received"),
        (dict(layer_units=(4, 0)), ValueError, "layer_units.*Received"),
        (dict(layer_units=(4, 2), noise_level=[0.1]), ValueError, "noise_level.*one value per layer"),
        (dict(layer_units=(4, 2), epochs=-1), ValueError, "epochs.*Received"),
        (dict(layer_units=(4, 2), batch_size=0), ValueError, "batch_size.*Received"),
        (dict(layer_units=(4, 2), optimizer=3), ValueError, "optimizer.*Received"),
        (dict(layer_units=(4, 2), noise="blur"), ValueError, "noise"),
        (dict(layer_units=(4, 2), noise=[None, "masking"], noise_level=0.2), ValueError,
         "no `noise`.*Received"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        keras_ae.greedy_pretrain(X, verbose=0, **kwargs)


def test_bad_data_and_existing_export_dir_fail_before_training(tmp_path, monkeypatch):
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        keras_ae.greedy_pretrain(bad, (4,), verbose=0)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "stack.keras").write_text("old")

    def no_fit(*args, **kwargs):
        raise AssertionError("trained before checking export_dir")

    monkeypatch.setattr(BaseAutoencoder, "fit", no_fit)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        keras_ae.greedy_pretrain(X, (4,), export_dir=tmp_path / "run", verbose=0)
    assert (tmp_path / "run" / "stack.keras").read_text() == "old"


# ---------------------------------------------------------- StackedAutoencoder
def test_constructor_forms_and_errors():
    a = keras_ae.StackedAutoencoder((16,), layer_units=(8, 4), seed=1)
    b = keras_ae.StackedAutoencoder((16,), latent_dim=4, hidden_units=(8,), seed=1)
    assert a.layer_units == b.layer_units == (8, 4) and a.num_layers == 2
    assert a.get_config()["layer_units"] == [8, 4]
    for wa, wb in zip(weights_of(a), weights_of(b)):
        np.testing.assert_array_equal(wa, wb)
    img = keras_ae.StackedAutoencoder((4, 4, 1), layer_units=(6, 3))
    assert img.reconstruct(np.zeros((2, 4, 4, 1), "float32")).shape == (2, 4, 4, 1)
    with pytest.raises(ValueError, match="layer_units.*Received"):
        keras_ae.StackedAutoencoder((16,), layer_units=())
    with pytest.raises(ValueError, match="layer_units.*Received: layer_units=None"):
        keras_ae.StackedAutoencoder((16,))
    with pytest.raises(ValueError, match="dense only.*Received: architecture='conv'"):
        keras_ae.StackedAutoencoder((8, 8, 1), layer_units=(4,), architecture="conv")
    with pytest.raises(ValueError, match="Autoencoder\\(encoder=.*Received: encoder="):
        keras_ae.StackedAutoencoder((16,), layer_units=(4,), encoder=keras.Sequential([keras.layers.Dense(4)]))
    with pytest.raises(ValueError, match="frozen_layers.*Received: frozen_layers=3"):
        keras_ae.StackedAutoencoder((16,), layer_units=(8, 4), frozen_layers=3)


def test_from_pretrained_checks_the_layers_fit_together():
    ae1 = keras_ae.Autoencoder((16,), latent_dim=8, hidden_units=(), activation="sigmoid")
    ae2 = keras_ae.Autoencoder((8,), latent_dim=4, hidden_units=(), activation="sigmoid")
    stack = keras_ae.StackedAutoencoder.from_pretrained([ae1, ae2])
    np.testing.assert_allclose(stack.encode(X), ae2.encode(ae1.encode(X)), atol=1e-6)
    wrong_in = keras_ae.Autoencoder((5,), latent_dim=4, hidden_units=(), activation="sigmoid")
    with pytest.raises(ValueError, match=r"autoencoders\[1\] must take inputs of shape \(8,\)"):
        keras_ae.StackedAutoencoder.from_pretrained([ae1, wrong_in])
    deep = keras_ae.Autoencoder((8,), latent_dim=4, hidden_units=(6,), activation="sigmoid")
    with pytest.raises(ValueError, match="one layer"):
        keras_ae.StackedAutoencoder.from_pretrained([ae1, deep])
    relu = keras_ae.Autoencoder((8,), latent_dim=4, hidden_units=(), activation="relu")
    with pytest.raises(ValueError, match="same `activation`"):
        keras_ae.StackedAutoencoder.from_pretrained([ae1, relu])
    with pytest.raises(ValueError, match="output_activation=activation"):
        keras_ae.StackedAutoencoder.from_pretrained([ae1, ae2.__class__(
            (8,), latent_dim=4, hidden_units=(), activation="sigmoid", output_activation=None)])
    with pytest.raises(ValueError, match="non-empty list of keras_ae models"):
        keras_ae.StackedAutoencoder.from_pretrained([])


def _pair_weights(stack, i):
    enc, dec = stack.layer_pair(i)
    return [np.array(w) for w in enc.weights + dec.weights]


def test_freezing_and_unfreezing_take_effect_after_fit(tmp_path):
    """docs/design.md, trap 10: freeze_layers recompiles, so the change
    applies to the next fit even after the train function was built."""
    stack = keras_ae.StackedAutoencoder((16,), layer_units=(8, 4), seed=1)
    stack.compile(optimizer=keras.optimizers.Adam(1e-2))
    fit_quietly(stack, X_FLAT)  # builds and caches the train function
    stack.freeze_layers(1)
    bottom, top = _pair_weights(stack, 0), _pair_weights(stack, 1)
    fit_quietly(stack, X_FLAT, epochs=2)
    for a, b in zip(bottom, _pair_weights(stack, 0)):
        np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(a, b) for a, b in zip(top, _pair_weights(stack, 1)))

    stack.save(tmp_path / "frozen.keras")
    reloaded = keras.models.load_model(tmp_path / "frozen.keras")
    assert reloaded.frozen_layers == 1
    assert len(reloaded.trainable_weights) == len(stack.trainable_weights) == 4
    assert reloaded.optimizer.iterations.numpy() == stack.optimizer.iterations.numpy()
    for a, b in zip(reloaded.optimizer.variables, stack.optimizer.variables):
        np.testing.assert_array_equal(np.array(a), np.array(b))  # state restored

    stack.freeze_layers(0)
    fit_quietly(stack, X_FLAT, epochs=2)
    assert all(not np.array_equal(a, b) for a, b in zip(bottom, _pair_weights(stack, 0)))

    # frozen before the first fit: unfreezing still works
    late = keras_ae.StackedAutoencoder((16,), layer_units=(8, 4), seed=1, frozen_layers=1)
    late.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = _pair_weights(late, 0)
    fit_quietly(late, X_FLAT)
    for a, b in zip(before, _pair_weights(late, 0)):
        np.testing.assert_array_equal(a, b)
    late.freeze_layers(0)
    fit_quietly(late, X_FLAT)
    assert all(not np.array_equal(a, b) for a, b in zip(before, _pair_weights(late, 0)))
    with pytest.raises(ValueError, match="num_layers.*Received: num_layers=5"):
        late.freeze_layers(5)


# ---------------------------------------------------------- the effect, small
def _accuracy(stack, x, y, x_test, y_test, seed):
    keras.utils.set_random_seed(seed)
    encoder = keras_ae.load_encoder(stack, trainable=True)
    clf = keras.Sequential(
        [keras.Input(stack.input_shape), encoder,
         keras.layers.Dense(10, activation="softmax",
                            kernel_initializer=keras.initializers.GlorotUniform(seed))]
    )
    clf.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
    clf.fit(x, y, epochs=30, batch_size=16, verbose=0)
    return clf.evaluate(x_test, y_test, verbose=0)[1]


@pytest.mark.slow
def test_pretraining_helps_with_few_labels_on_digits():
    """Small version of examples/pretraining_few_labels.py: 8x8 digits,
    100 labels, pretraining on all 1,500 training images (labels unused);
    pretrained body + softmax beats the identical random-init network,
    averaged over two seeds, with the same fine-tuning budget."""
    (x, y), (x_test, y_test) = keras_ae.datasets.load_data("digits")
    gains = []
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        labelled = np.concatenate([rng.choice(np.flatnonzero(y == c), 10, replace=False) for c in range(10)])
        stack = keras_ae.greedy_pretrain(
            x, (64, 32), noise="masking", noise_level=0.2, epochs=15, batch_size=32,
            optimizer=keras.optimizers.Adam(3e-3), verbose=0, seed=seed,
        )
        fresh = keras_ae.StackedAutoencoder((64,), layer_units=(64, 32), seed=seed)
        pre = _accuracy(stack, x[labelled], y[labelled], x_test, y_test, seed)
        rand = _accuracy(fresh, x[labelled], y[labelled], x_test, y_test, seed)
        gains.append(pre - rand)
    assert np.mean(gains) > 0.05, gains  # measured: +0.16 and +0.12
