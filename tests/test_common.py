"""The common battery, run over every public model class (tests/harness.py)."""

import numpy as np
import pytest

import keras
from harness import MODEL_CASES
from harness import assert_config_roundtrip
from harness import assert_weights_close
from harness import fit_quietly
from harness import run_in_fresh_process
from harness import weights_of

CASES = pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.id)


@CASES
def test_built_at_construction(case):
    model = case.make()
    assert model.built
    assert model.weights, "model has no variables after construction"
    assert model.encoder.built and model.decoder.built


@CASES
def test_config_roundtrip(case):
    model = case.make()
    clone = assert_config_roundtrip(model)
    assert clone.latent_dim == model.latent_dim


@CASES
def test_one_fit_step_changes_weights_and_logs_finite_losses(case):
    model = case.make()
    model.compile()
    before = weights_of(model)
    history = fit_quietly(model, case.x, case.y, epochs=1, batch_size=len(case.x))
    assert model.optimizer.iterations.numpy() == 1
    for name, values in history.history.items():
        assert np.all(np.isfinite(values)), (name, values)
    assert "loss" in history.history and "reconstruction_loss" in history.history
    changed = [not np.array_equal(a, b) for a, b in zip(before, weights_of(model))]
    assert any(changed)


@CASES
def test_compile_keeps_keras_auto_jit_choice(case, monkeypatch):
    # Keras turns XLA on by itself on GPU/TPU ("auto"); keras_ae must not
    # override that, and must pass an explicit choice through.
    monkeypatch.setattr(
        keras.Model, "_resolve_auto_jit_compile", lambda self: True, raising=True
    )
    model = case.make()
    model.compile()
    assert model.jit_compile is True
    model.compile(jit_compile=False)
    assert model.jit_compile is False


@CASES
def test_encode_decode_reconstruct_shapes(case):
    model = case.make()
    n = len(case.x)
    z = model.encode(case.x)
    assert z.shape == (n,) + model.code_shape
    x_hat = model.decode(z)
    assert x_hat.shape == case.x.shape
    assert model.reconstruct(case.x).shape == case.x.shape
    # Any length: larger than the internal batch, and a single example.
    big = np.concatenate([case.x] * (300 // len(case.x) + 1))[:300]
    assert model.encode(big, batch_size=64).shape == (300,) + model.code_shape
    assert model.encode(case.x[:1]).shape == (1,) + model.code_shape


@CASES
def test_predict_is_deterministic(case):
    model = case.make()
    model.compile()
    fit_quietly(model, case.x, case.y)
    a = model.predict(case.x, verbose=0)
    b = model.predict(case.x, verbose=0)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.encode(case.x), model.encode(case.x))


@CASES
def test_same_seed_same_model(case):
    a, b = case.make(), case.make()
    assert_weights_close(weights_of(a), weights_of(b), atol=0)


@CASES
def test_keras_save_reload_and_continued_training(case, tmp_path):
    """Reload under safe_mode gives identical outputs and resumes training
    exactly (optimizer state and random state restored)."""
    model = case.make()
    model.compile()
    fit_quietly(model, case.x, case.y, epochs=1)
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)  # safe_mode=True by default
    assert type(reloaded) is type(model)
    np.testing.assert_allclose(
        reloaded.predict(case.x, verbose=0), model.predict(case.x, verbose=0), atol=1e-6
    )
    assert reloaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy()
    fit_quietly(model, case.x, case.y, epochs=1)
    fit_quietly(reloaded, case.x, case.y, epochs=1)
    assert_weights_close(weights_of(model), weights_of(reloaded), atol=1e-5)


def test_reload_in_fresh_process_gives_identical_outputs(tmp_path):
    """Every case's `.keras` file, loaded by a new interpreter, predicts what
    the model that wrote it predicts. One interpreter loads them all: a
    process per case cost about a minute of CI."""
    expected = {}
    for case in MODEL_CASES:
        model = case.make()
        model.compile()
        fit_quietly(model, case.x, case.y)
        model.save(tmp_path / f"{case.id}.keras")
        np.save(tmp_path / f"{case.id}.x.npy", case.x)
        expected[case.id] = model.predict(case.x, verbose=0)
    run_in_fresh_process(
        f"""
        import pathlib, sys, numpy as np, keras, keras_ae
        folder = pathlib.Path({str(tmp_path)!r})
        for case_id in {sorted(expected)!r}:
            print("loading", case_id, file=sys.stderr)  # names a failing case
            m = keras.models.load_model(folder / (case_id + ".keras"))
            x = np.load(folder / (case_id + ".x.npy"))
            np.save(folder / (case_id + ".out.npy"), m.predict(x, verbose=0))
        """,
        timeout=600,
    )
    differ = {
        case_id: float(np.max(np.abs(np.load(tmp_path / f"{case_id}.out.npy") - want)))
        for case_id, want in expected.items()
    }
    assert all(d <= 1e-6 for d in differ.values()), {k: d for k, d in differ.items() if d > 1e-6}


# ------------------------------------------------------------------ bad input
def _assert_untouched(model, before):
    assert model.optimizer.iterations.numpy() == 0
    assert_weights_close(before, weights_of(model), atol=0)


@CASES
def test_wrong_feature_shape_raises_before_training(case):
    model = case.make()
    model.compile()
    before = weights_of(model)
    bad = np.zeros((8,) + tuple(d + 1 for d in case.x.shape[1:]), "float32")
    with pytest.raises(ValueError, match=r"Expected `x` of shape .*Received: x.shape="):
        model.fit(bad, epochs=1, verbose=0)
    _assert_untouched(model, before)


@CASES
def test_nan_and_inf_raise_before_training(case):
    model = case.make()
    model.compile()
    before = weights_of(model)
    for value in (np.nan, np.inf):
        bad = case.x.copy()
        bad.flat[3] = value
        with pytest.raises(ValueError, match="Expected finite values in `x`.*Received: 1 NaN or Inf"):
            model.fit(bad, epochs=1, verbose=0)
    _assert_untouched(model, before)


@CASES
def test_bce_rejects_data_outside_unit_interval(case):
    model = case.make()
    if getattr(model, "reconstruction_loss", "bce") != "bce":
        pytest.skip("model does not use bce")
    model.compile()
    before = weights_of(model)
    with pytest.raises(ValueError, match=r"expects targets in \[0, 1\].*Received: x in \[0\.0[0-9]*, 254\.[0-9]*\]"):
        model.fit(case.x * 255.0, epochs=1, verbose=0)
    _assert_untouched(model, before)


@CASES
@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(latent_dim=0), "latent_dim"),
        (dict(latent_dim=-3), "latent_dim"),
        (dict(hidden_units=(8, 0)), "hidden_units"),
        (dict(architecture="recurrent"), "architecture"),
        (dict(activation="not_an_activation"), "activation"),
        (dict(reconstruction_loss="hinge"), "reconstruction_loss"),
        (dict(input_shape=(0,)), "input_shape"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_invalid_constructor_arguments(case, bad, match):
    with pytest.raises(ValueError, match=f"{match}.*Received"):
        case.make(**bad)


@CASES
def test_conv_needs_images_and_tied_needs_dense(case):
    if case.kwargs.get("architecture") == "conv":
        with pytest.raises(ValueError, match="tied_weights.*Received: architecture='conv'"):
            case.make(tied_weights=True)
        with pytest.raises(ValueError, match=r"\(H, W, C\).*Received: input_shape"):
            case.make(input_shape=(64,))
    else:
        with pytest.raises(ValueError, match=r"\(H, W, C\).*Received: input_shape=\(16,\)"):
            case.make(architecture="conv")
