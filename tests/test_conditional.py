"""The common battery for conditional models (`harness.CONDITIONAL_CASES`).

A conditional model takes labels in every call: ``fit(x, labels)``,
``encode(x, labels)``, ``decode(z, labels)``, ``reconstruct(x, labels)``,
``predict((x, labels))`` and ``sample(n, labels=..., seed=...)``. Runs on
every backend (``backends`` marker).
"""

import keras
import numpy as np
import pytest

from harness import CONDITIONAL_CASES
from harness import assert_config_roundtrip
from harness import assert_weights_close
from harness import fit_quietly
from harness import weights_of

pytestmark = pytest.mark.backends

CASES = pytest.mark.parametrize("case", CONDITIONAL_CASES, ids=lambda c: c.id)


def test_there_are_conditional_cases():
    # Keeps the battery honest: an empty list would pass every test below.
    import keras_ae

    conditional = [
        name
        for name in dir(keras_ae)
        if isinstance(getattr(keras_ae, name), type)
        and getattr(getattr(keras_ae, name), "conditional", False)
    ]
    covered = {case.cls_name for case in CONDITIONAL_CASES}
    assert set(conditional) <= covered, sorted(set(conditional) - covered)


@CASES
def test_declares_capabilities_and_config_roundtrip(case):
    model = case.make()
    assert model.built and model.conditional
    assert_config_roundtrip(model)


@CASES
def test_fit_encode_decode_reconstruct_sample_shapes(case):
    model = case.make()
    model.compile()
    history = fit_quietly(model, case.x, case.y, epochs=1, batch_size=16)
    for name, values in history.history.items():
        assert np.all(np.isfinite(values)), (name, values)
    n = len(case.x)
    z = model.encode(case.x, case.y)
    assert z.shape == (n, model.latent_dim)
    assert model.decode(z, case.y).shape == case.x.shape
    assert model.reconstruct(case.x, case.y).shape == case.x.shape
    assert model.predict((case.x, case.y), verbose=0).shape == case.x.shape
    if model.generative:
        labels = case.y[:5]
        a = model.sample(5, labels=labels, seed=3)
        assert a.shape == (5,) + case.x.shape[1:]
        np.testing.assert_array_equal(a, model.sample(5, labels=labels, seed=3))


@CASES
def test_labels_change_the_reconstruction(case):
    model = case.make()
    z = model.encode(case.x[:8], case.y[:8])
    other = (np.asarray(case.y[:8]) + 1) % int(np.max(case.y) + 1)
    assert not np.allclose(model.decode(z, case.y[:8]), model.decode(z, other))


@CASES
def test_bad_labels_raise_before_training(case):
    model = case.make()
    model.compile()
    before = weights_of(model)
    too_big = np.full(len(case.x), 10_000)
    with pytest.raises(ValueError, match="Received"):
        model.fit(case.x, too_big, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Received"):
        model.fit(case.x, case.y[:-1], epochs=1, verbose=0)
    assert model.optimizer.iterations.numpy() == 0
    assert_weights_close(before, weights_of(model), atol=0)


@CASES
def test_keras_save_reload_and_continued_training(case, tmp_path):
    model = case.make()
    model.compile()
    fit_quietly(model, case.x, case.y, epochs=1)
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    assert type(reloaded) is type(model)
    np.testing.assert_allclose(
        reloaded.reconstruct(case.x, case.y), model.reconstruct(case.x, case.y), atol=1e-6
    )
    fit_quietly(model, case.x, case.y, epochs=1)
    fit_quietly(reloaded, case.x, case.y, epochs=1)
    assert_weights_close(weights_of(model), weights_of(reloaded), atol=1e-5)
