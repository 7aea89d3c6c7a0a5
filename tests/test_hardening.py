"""Careless-user defects: nothing a user has is lost, no silent wrong answer,
every bad input gets one clear line (one test per class of defect)."""

import json
import os
import shutil
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import keras_ae
from keras_ae.app import cli
from keras_ae.app import run as app_run
from keras_ae import data_checks

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(64, 8)).astype("float32")
SMALL = dict(input_shape=(8,), latent_dim=2, hidden_units=(4,), seed=0)
CLASSES = (
    keras_ae.Autoencoder,
    keras_ae.DenoisingAutoencoder,
    keras_ae.SparseAutoencoder,
    keras_ae.VAE,
    keras_ae.AAE,
)


def make(cls, **kwargs):
    extra = dict(noise="masking") if cls is keras_ae.DenoisingAutoencoder else {}
    model = cls(**dict(SMALL, **extra, **kwargs))
    model.compile()
    return model


def weights(model):
    return [np.array(w) for w in model.get_weights()]


def snapshot(folder):
    """Every file under ``folder`` with its bytes."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


# ------------------------------------------------------------ 1. runs are kept
@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ae"
    argv = ["train", "autoencoder", "--dataset", "digits", "--epochs", "1",
            "--no-export", "--no-plots", "--out", str(out)]
    assert cli.main(argv) == 0
    return out, argv


def test_train_refuses_an_existing_run_and_keeps_it(first_run, capsys):
    out, argv = first_run
    before = snapshot(out)
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0]
    assert snapshot(out) == before


def test_interrupted_overwrite_leaves_the_previous_run_intact(first_run, monkeypatch):
    out, argv = first_run
    before = snapshot(out)
    real = app_run._run_into

    def interrupted(recipe, data, tmp, **kwargs):
        real(recipe, data, tmp, **kwargs)  # a complete new run in the temp folder...
        raise KeyboardInterrupt  # ...interrupted before it is moved into place

    monkeypatch.setattr(app_run, "_run_into", interrupted)
    assert cli.main(argv + ["--overwrite", "--epochs", "2"]) == 130
    assert snapshot(out) == before
    leftovers = [n for n in os.listdir(out.parent) if n.startswith(".")]
    assert leftovers == []


def test_overwrite_replaces_the_run(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "autoencoder", "--dataset", "digits", "--epochs", "1",
            "--no-export", "--no-plots", "--out", str(out)]
    assert cli.main(argv) == 0
    assert cli.main(argv[:-2] + ["--seed", "3", "--out", str(out), "--overwrite"]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["seed"] == 3


@pytest.mark.parametrize(
    "model, extra",
    [("denoising", ["--noise", "nonsense:0.2"]), ("autoencoder", ["--architecture", "conv"])],
    ids=["unknown-noise", "conv-on-tabular"],
)
def test_late_argument_errors_leave_no_folder(tmp_path, model, extra, capsys):
    data = tmp_path / "tabular.npz"
    np.savez(data, x_train=RNG.uniform(size=(64, 10)).astype("float32"))
    out = tmp_path / "nested" / "run"
    argv = ["train", model, "--dataset", str(data), "--epochs", "1", "--out", str(out)]
    assert cli.main(argv + extra) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "nested").exists()


# --------------------------------------------------- 2. zoo paths stay inside
def test_tampered_zoo_index_cannot_read_outside(tmp_path, monkeypatch, capsys):
    zoo_copy = tmp_path / "zoo"
    shutil.copytree(keras_ae.zoo.location(), zoo_copy)
    secret = tmp_path / "secret.txt"
    secret.write_text("do not print me")
    index = json.loads((zoo_copy / "index.json").read_text())
    name = index["models"][0]["name"]
    index["models"][0]["files"]["readme"] = "../secret.txt"
    (zoo_copy / "index.json").write_text(json.dumps(index))
    monkeypatch.setenv(keras_ae.zoo.ENV_VAR, str(zoo_copy))
    assert cli.main(["zoo", "show", name]) == 1
    captured = capsys.readouterr()
    assert "do not print me" not in captured.out + captured.err
    assert "outside" in captured.err
    with pytest.raises(ValueError, match="outside"):
        keras_ae.zoo.path_of(name, "readme")


# ------------------------------------------------- 3. sample weights apply
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_sample_weight_applies_without_y(cls):
    w = np.where(np.arange(64) < 32, 1.0, 0.0).astype("float32")
    a, b = make(cls), make(cls)
    a.fit(X, sample_weight=w, epochs=1, batch_size=64, shuffle=False, verbose=0)
    b.fit(X, X, sample_weight=w, epochs=1, batch_size=64, shuffle=False, verbose=0)
    for u, v in zip(weights(a), weights(b)):
        np.testing.assert_allclose(u, v, atol=1e-6)
    unweighted = make(cls)
    unweighted.fit(X, epochs=1, batch_size=64, shuffle=False, verbose=0)
    assert any(not np.allclose(u, v) for u, v in zip(weights(a), weights(unweighted)))
    assert make(cls).evaluate(X, sample_weight=w, verbose=0, return_dict=True)["loss"] == (
        pytest.approx(make(cls).evaluate(X, X, sample_weight=w, verbose=0, return_dict=True)["loss"])
    )


def test_sample_weight_of_the_wrong_length_is_refused():
    model = make(keras_ae.Autoencoder)
    before = weights(model)
    with pytest.raises(ValueError, match=r"sample_weight.*\(64,\).*Received.*\(10,\)"):
        model.fit(X, sample_weight=np.ones(10), verbose=0)
    assert all(np.array_equal(u, v) for u, v in zip(before, weights(model)))


# ---------------------------------------------- 4. outputs are in data space
def test_logit_decoders_return_probabilities_everywhere(tmp_path):
    model = make(keras_ae.Autoencoder, output_activation=None)
    model.fit(X, epochs=3, verbose=0)
    logs = model.evaluate(X, verbose=0, return_dict=True)
    for out in (model.predict(X, verbose=0), model.reconstruct(X),
                model.decode(model.encode(X))):
        assert out.min() >= 0.0 and out.max() <= 1.0
    # The evaluation helper scores probabilities: its MSE is the metric's.
    metrics = keras_ae.evaluation.evaluate(model, X)
    assert metrics["mse"] == pytest.approx(logs["mse"], rel=1e-3)
    keras_ae.export_saved_model(model, tmp_path / "export")
    served = tf.saved_model.load(str(tmp_path / "export"))
    np.testing.assert_allclose(
        served.reconstruct(tf.constant(X))["reconstruction"].numpy(), model.reconstruct(X), atol=1e-5
    )


# ---------------------------------------------------- 5. real numbers only
@pytest.mark.parametrize("dtype", [np.complex64, np.bool_, object])
def test_non_real_arrays_are_refused(dtype):
    model = make(keras_ae.Autoencoder)
    data = X.astype(dtype) if dtype is not object else X.astype(object)
    with pytest.raises(ValueError, match=r"real numbers|array of numbers"):
        model.fit(data, verbose=0)


# ------------------------------------------------------------- 6. empty data
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_empty_data_is_refused_for_training_and_empty_for_inference(cls):
    model = make(cls)
    before = weights(model)
    empty = np.zeros((0, 8), "float32")
    for call in (lambda: model.fit(empty, verbose=0), lambda: model.evaluate(empty, verbose=0)):
        with pytest.raises(ValueError, match=r"at least one example.*\(0, 8\)"):
            call()
    assert int(model.optimizer.iterations) == 0
    assert all(np.array_equal(u, v) for u, v in zip(before, weights(model)))
    assert model.encode(empty).shape == (0, 2)
    assert model.reconstruct(empty).shape == (0, 8)
    assert model.decode(np.zeros((0, 2))).shape == (0, 8)
    if hasattr(model, "sample"):
        assert model.sample(0, seed=0).shape == (0, 8)
    if isinstance(model, keras_ae.VAE):
        assert model.log_likelihood(empty, num_samples=4, reduction="none").shape == (0,)
        with pytest.raises(ValueError, match="at least one"):
            model.kl_per_dimension(empty)


def test_greedy_pretrain_refuses_empty_data():
    with pytest.raises(ValueError, match="at least one example|0 examples|empty"):
        keras_ae.greedy_pretrain(np.zeros((0, 8), "float32"), (4,), epochs=1, verbose=0)


# ------------------------------------------------------ 7. datasets checked
def _ds(x, batch=16):
    return tf.data.Dataset.from_tensor_slices(x).batch(batch)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_dataset_with_nan_raises_at_that_step_not_nan_weights(cls):
    model = make(cls)
    bad = X.copy()
    bad[40] = np.nan
    with pytest.raises(data_checks.DataError, match="finite"):
        model.fit(_ds(bad), verbose=0)
    assert all(np.isfinite(w).all() for w in weights(model))
    assert 0 < int(model.optimizer.iterations) < 4  # stopped before the end of the epoch


def test_dataset_out_of_range_for_bce_and_wrong_shapes_are_refused():
    model = make(keras_ae.Autoencoder)
    with pytest.raises(data_checks.DataError, match=r"\[0, 1\]"):
        model.fit(_ds(X * 5), verbose=0)
    before = weights(model)
    with pytest.raises(ValueError, match=r"batches of x of shape \(batch, 8\)"):
        model.fit(_ds(X[:, :5]), verbose=0)
    with pytest.raises(ValueError, match=r"validation_x.*\(batch, 8\)"):
        model.fit(X, validation_data=_ds(X[:, :5]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="unbatched"):
        model.fit(tf.data.Dataset.from_tensor_slices(X), verbose=0)
    assert all(np.array_equal(u, v) for u, v in zip(before, weights(model)))


def test_mis_shaped_later_shard_gives_a_clear_error(tmp_path):
    np.savez(tmp_path / "a.npz", x=RNG.uniform(size=(32, 8)).astype("float32"))
    np.savez(tmp_path / "b.npz", x=RNG.uniform(size=(32, 5)).astype("float32"))
    ds = keras_ae.datasets.make_dataset(str(tmp_path), batch_size=16)
    model = make(keras_ae.Autoencoder)
    with pytest.raises(ValueError) as info:
        model.fit(ds, verbose=0)
    assert "InvalidArgumentError" not in type(info.value).__name__
    assert "b.npz" in str(info.value) or "shape" in str(info.value)


# ------------------------------------------------------------ 8. lists
def test_lists_are_read_as_arrays_and_validation_lists_as_keras_does():
    model = make(keras_ae.Autoencoder)
    history = model.fit(X.tolist(), validation_data=[X, X], epochs=1, verbose=0)
    assert "val_loss" in history.history
    history = model.fit(X, validation_data=[X], epochs=1, verbose=0)
    assert "val_loss" in history.history
    with pytest.raises(ValueError, match="ragged"):
        model.fit([[0.1] * 8, [0.2] * 3], verbose=0)


# ------------------------------------------------------- 9. no coercions
@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(hidden_units=(4.7,)), "hidden_units"),
        (dict(hidden_units="44"), "hidden_units"),
        (dict(input_shape=(8.9,)), "input_shape"),
        (dict(latent_dim=True), "latent_dim"),
        (dict(latent_dim=2.0), "latent_dim"),
        (dict(seed="1"), "seed"),
    ],
)
def test_integer_arguments_are_not_coerced(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}` must be"):
        keras_ae.Autoencoder(**dict(SMALL, **kwargs))


def test_numbers_and_numpy_scalars_are_treated_alike():
    keras_ae.regularizers.KLSparsity(np.float32(0.05))
    keras_ae.VAE(**dict(SMALL, beta=np.float32(1.0)))
    keras_ae.Autoencoder(**dict(SMALL, latent_dim=np.int64(2)))
    with pytest.raises(ValueError, match="`layer_units` must be"):
        keras_ae.greedy_pretrain(X, "42", epochs=1, verbose=0)
    with pytest.raises(ValueError, match="`beta` must be"):
        keras_ae.VAE(**dict(SMALL, beta=True))


# ----------------------------------------- 10. trainable after any error
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_model_trains_after_a_failed_fit(cls):
    model = make(cls)
    bad = X.copy()
    bad[20] = np.inf
    with pytest.raises(ValueError):
        model.fit(_ds(bad), verbose=0)
    with pytest.raises(ValueError):
        model.fit(_ds(X[:, :5]), verbose=0)
    history = model.fit(X, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


# ------------------------------------ 11. every image layout gets pictures
@pytest.mark.parametrize(
    "shape, model, arch",
    [((6, 6, 3), "autoencoder", "dense"), ((4, 4, 4), "vae", "dense"),
     ((4, 4, 4), "autoencoder", "conv")],
)
def test_train_on_colour_images_completes_the_run(tmp_path, shape, model, arch):
    data = tmp_path / "img.npz"
    np.savez(data, x_train=RNG.uniform(size=(96,) + shape).astype("float32"),
             x_test=RNG.uniform(size=(32,) + shape).astype("float32"))
    out = tmp_path / "run"
    argv = ["train", model, "--dataset", str(data), "--epochs", "1", "--no-export",
            "--architecture", arch, "--out", str(out)]
    assert cli.main(argv) == 0
    card = json.loads((out / "card.json").read_text())
    assert "reconstructions.png" in card["files"]["plots"]


# ---------------------------------------------- 12. one line for bad files
def _corrupt_files(tmp_path):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, x_train=X, x_test=X)
    raw = bytearray(good.read_bytes())
    files = {}
    deflate = tmp_path / "deflate.npz"
    middle = len(raw) // 2
    raw[middle : middle + 64] = bytes(64)
    deflate.write_bytes(bytes(raw))
    files["corrupt deflate member"] = deflate
    npy = tmp_path / "renamed.npz"
    np.save(tmp_path / "plain.npy", X)
    shutil.copy(tmp_path / "plain.npy", npy)
    files[".npy renamed .npz"] = npy
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    files["0-byte .npz"] = empty
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: len(raw) // 3])
    files["truncated .npz"] = truncated
    random = tmp_path / "random.npz"
    random.write_bytes(np.random.default_rng(1).bytes(2000))
    files["random bytes"] = random
    return files


def test_cli_reports_every_unreadable_dataset_in_one_line(first_run, tmp_path, capsys):
    existing, _ = first_run
    before = snapshot(existing)
    for label, path in _corrupt_files(tmp_path).items():
        for out, extra in ((tmp_path / "never", []), (existing, ["--overwrite"])):
            code = cli.main(["train", "autoencoder", "--dataset", str(path), "--epochs", "1",
                             "--out", str(out)] + extra)
            err = capsys.readouterr().err.strip().splitlines()
            assert code == 1, label
            assert len(err) == 1 and err[0].startswith("keras-ae train: error:"), (label, err)
        assert not (tmp_path / "never").exists()
        assert snapshot(existing) == before, label


def _keras_variants(tmp_path):
    model = make(keras_ae.Autoencoder)
    good = tmp_path / "good.keras"
    model.save(good)
    out = {}
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[:200])
    out["truncated"] = truncated
    with zipfile.ZipFile(good) as z:
        members = {n: z.read(n) for n in z.namelist()}
    for label, config in (
        ("broken config", b"{not json"),
        ("tampered config", json.dumps({"class_name": "Nope", "config": {}}).encode()),
        ("wrong arguments", members["config.json"].replace(b'"latent_dim": 2', b'"latent_dim": "x"')),
    ):
        path = tmp_path / f"{label.replace(' ', '_')}.keras"
        with zipfile.ZipFile(path, "w") as z:
            for name, data in members.items():
                z.writestr(name, config if name == "config.json" else data)
        out[label] = path
    return out


def test_cli_reports_every_unreadable_model_in_one_line(tmp_path, capsys):
    existing = tmp_path / "existing_export"
    keras_ae.export_saved_model(make(keras_ae.Autoencoder), existing)
    before = snapshot(existing)
    for label, path in _keras_variants(tmp_path).items():
        for argv in (["evaluate", str(path), "--dataset", "digits"],
                     ["export", str(path), str(tmp_path / "out")],
                     ["export", str(path), str(existing), "--overwrite"]):
            code = cli.main(argv)
            err = capsys.readouterr().err.strip().splitlines()
            assert code == 1, (label, argv)
            assert len(err) == 1, (label, err)
            assert "not found" not in err[0].lower(), err
        assert not (tmp_path / "out").exists()
        assert snapshot(existing) == before, label


# ------------------------------------------------ property-based: any input
_SHAPES = st.one_of(
    st.just((8,)), st.just((7,)), st.just((8, 1)), st.just(()), st.just((2, 4))
)


@st.composite
def _inputs(draw):
    n = draw(st.integers(0, 40))
    shape = draw(_SHAPES)
    dtype = draw(st.sampled_from(["float32", "float64", "int32", "uint8", "float16",
                                  "complex64", "bool"]))
    kind = draw(st.sampled_from(["unit", "wide", "nan", "inf", "zeros"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.uniform(size=(n,) + shape)
    if kind == "wide":
        x = x * 300 - 20
    elif kind == "zeros":
        x = np.zeros_like(x)
    elif kind in ("nan", "inf") and x.size:
        x.flat[rng.integers(x.size)] = np.nan if kind == "nan" else np.inf
    with np.errstate(invalid="ignore"):
        return x.astype(dtype)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(x=_inputs(), method=st.sampled_from(["fit", "evaluate", "encode"]))
def test_any_input_is_refused_cleanly_or_handled(cls, x, method):
    model = make(cls)
    before = weights(model)
    try:
        if method == "fit":
            model.fit(x, epochs=1, batch_size=16, verbose=0)
        elif method == "evaluate":
            model.evaluate(x, verbose=0)
        else:
            out = model.encode(x)
            assert out.shape == (len(x), model.latent_dim)
    except ValueError as error:
        # Refused before any weight changed, with a message that names x.
        assert "x" in str(error)
        assert all(np.array_equal(u, v) for u, v in zip(before, weights(model)))
        return
    assert all(np.isfinite(w).all() for w in weights(model))
