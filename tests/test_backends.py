"""Every model on every Keras backend: the same step, portable `.keras` files,
several devices.

CI runs the ``backends`` marker under ``KERAS_BACKEND=tensorflow``, ``jax``
and ``torch``. Each test compares the backend under test with the others in
fresh processes (a Keras process has exactly one backend):

* one SGD step (random draws held fixed) equals TensorFlow's step from the
  same `.keras` file, which the TensorFlow suite checks against hand-written
  steps, for every model case and both adversarial modes;
* a model trained here, saved, loads on every other backend with the same
  outputs and optimizer state;
* on JAX, one step under `keras.distribution.DataParallel` on two devices
  equals the one-device step (noise held fixed), and with noise the update
  has the same size.
"""

import json
import os
import textwrap

import keras
import numpy as np
import pytest

import keras_ae
from harness import MODEL_CASES
from harness import run_in_fresh_process

pytestmark = pytest.mark.backends

BACKEND = keras.backend.backend()
BACKENDS = ("tensorflow", "jax", "torch")
OTHERS = [b for b in BACKENDS if b != BACKEND]
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def run_on(backend, code, timeout=300, env=None):
    """Runs ``code`` in a fresh interpreter on ``backend``; returns its last JSON line."""
    extra = dict(
        KERAS_BACKEND=backend,
        PYTHONPATH=TESTS_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""),
        **(env or {}),
    )
    out = run_in_fresh_process(textwrap.dedent(code), timeout=timeout, env=extra)
    return json.loads(out.strip().splitlines()[-1])


# Parity cases: the common battery with random draws held fixed, plus the
# adversarial autoencoder in both modes with a prior whose draws are its
# mean (one component, stddev 1e-7): the same on every backend.
PARITY_SETUP = """
import keras, numpy as np, keras_ae
from harness import MODEL_CASES, compile_sgd, fit_quietly, zero_sampling_noise

CASES = {c.id: c for c in MODEL_CASES}

def point_prior():
    return keras_ae.priors.MixtureOfGaussians(1, radius=1.0, stddev=1e-7, seed=0)

def make(case_id):
    if case_id.startswith("aae_"):
        case = CASES["aae"]
        model = case.make(prior=point_prior(), mode=case_id[4:])
    else:
        case = CASES[case_id]
        model = case.make_fixed()
    return case, model

def hold_fixed(case_id, model):
    case = CASES["aae" if case_id.startswith("aae_") else case_id]
    if case.hold_fixed is not None:
        case.hold_fixed(model)
"""

PARITY_IDS = [c.id for c in MODEL_CASES if c.cls_name != "AdversarialAutoencoder"] + [
    "aae_phased",
    "aae_joint",
]


@pytest.fixture(scope="module")
def tensorflow_reference(tmp_path_factory):
    """On TensorFlow: every parity model saved, its outputs, and its weights
    after one full-batch SGD step."""
    out = tmp_path_factory.mktemp("tf_reference")
    run_on(
        "tensorflow",
        PARITY_SETUP
        + f"""
out = {str(out)!r}
for case_id in {PARITY_IDS!r}:
    case, model = make(case_id)
    model.save(f"{{out}}/{{case_id}}.keras")
    pred = model.predict(case.x, verbose=0)
    hold_fixed(case_id, model)
    compile_sgd(model, 0.1)
    fit_quietly(model, case.x, batch_size=len(case.x))
    np.savez(f"{{out}}/{{case_id}}.npz", pred, *[np.asarray(w) for w in model.get_weights()])
print("{{}}")
""",
    )
    return out


@pytest.mark.parametrize("case_id", PARITY_IDS)
def test_tensorflow_file_loads_and_one_step_equals_tensorflow(case_id, tensorflow_reference):
    from harness import compile_sgd
    from harness import fit_quietly

    namespace = {}
    exec(PARITY_SETUP, namespace)  # the same case definitions as the reference
    case = namespace["CASES"]["aae" if case_id.startswith("aae_") else case_id]
    ref = np.load(tensorflow_reference / f"{case_id}.npz")
    expected = [ref[f"arr_{i}"] for i in range(len(ref.files))]
    model = keras.models.load_model(tensorflow_reference / f"{case_id}.keras", safe_mode=True)
    # Outputs of the TensorFlow-written file on this backend.
    np.testing.assert_allclose(model.predict(case.x, verbose=0), expected[0], atol=1e-5)
    namespace["hold_fixed"](case_id, model)
    compile_sgd(model, 0.1)
    fit_quietly(model, case.x, batch_size=len(case.x))
    weights = model.get_weights()
    assert len(weights) == len(expected) - 1
    for w, e in zip(weights, expected[1:]):
        np.testing.assert_allclose(w, e, atol=2e-5, rtol=1e-4)


def _fitted_models(tmp_path):
    """One model per class (and the AAE in both modes), trained here with Adam."""
    written = {}
    seen = set()
    for case in MODEL_CASES:
        if case.cls_name in seen:
            continue
        seen.add(case.cls_name)
        modes = ("phased", "joint") if case.cls_name == "AdversarialAutoencoder" else (None,)
        for mode in modes:
            model = case.make(mode=mode) if mode else case.make()
            model.compile()
            model.fit(case.x, epochs=1, batch_size=16, verbose=0)
            key = case.id + (f"_{mode}" if mode else "")
            path = str(tmp_path / f"{key}.keras")
            model.save(path)
            written[key] = dict(
                path=path,
                case=case.id,
                pred=model.predict(case.x, verbose=0).tolist(),
                iterations=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
                optimizer=[
                    np.asarray(keras.ops.convert_to_numpy(v)).tolist()
                    for opt in (model.optimizer,) + tuple(model.extra_optimizers())
                    for v in opt.variables
                ],
            )
    return written


def test_file_written_here_loads_on_every_other_backend(tmp_path):
    written = _fitted_models(tmp_path)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(written))
    for other in OTHERS:
        result = run_on(
            other,
            f"""
import json, keras, numpy as np, keras_ae
from harness import MODEL_CASES
cases = {{c.id: c for c in MODEL_CASES}}
written = json.load(open({str(spec)!r}))
out = {{}}
for key, item in written.items():
    model = keras.models.load_model(item["path"], safe_mode=True)
    pred = model.predict(cases[item["case"]].x, verbose=0)
    opt = [np.asarray(keras.ops.convert_to_numpy(v))
           for o in (model.optimizer,) + tuple(model.extra_optimizers()) for v in o.variables]
    out[key] = dict(
        pred=float(np.max(np.abs(pred - np.asarray(item["pred"])))),
        iterations=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        optimizer=max([float(np.max(np.abs(a - np.asarray(b)))) if a.size else 0.0
                       for a, b in zip(opt, item["optimizer"])] + [0.0]),
        n_optimizer=len(opt),
    )
print(json.dumps(out))
""",
        )
        for key, item in written.items():
            got = result[key]
            assert got["pred"] <= 1e-5, (other, key, got)
            assert got["iterations"] == item["iterations"], (other, key, got)
            assert got["n_optimizer"] == len(item["optimizer"]), (other, key, got)
            assert got["optimizer"] <= 1e-6, (other, key, got)


DATA_PARALLEL = PARITY_SETUP + """
import contextlib, json
devices = keras.distribution.list_devices("cpu")
assert len(devices) == 2, devices
out = {}
for case_id in %r:
    runs = []
    for distributed in (False, True):
        for fixed in (True, False):
            scope = (keras.distribution.DataParallel(devices=devices).scope()
                     if distributed else contextlib.nullcontext())
            with scope:
                if fixed:
                    case, model = make(case_id)
                    hold_fixed(case_id, model)
                else:
                    case = CASES["aae" if case_id.startswith("aae_") else case_id]
                    model = (case.make(mode=case_id[4:]) if case_id.startswith("aae_")
                             else case.make())
                start = [np.array(w) for w in model.get_weights()]
                compile_sgd(model, 0.1)
                x = case.x[:32]
                fit_quietly(model, x, batch_size=len(x))
            runs.append((start, [np.array(w) for w in model.get_weights()]))
    (s0, fixed_one), (s1, noisy_one), (s2, fixed_two), (s3, noisy_two) = runs
    assert all(np.array_equal(a, b) for a, b in zip(s0, s2)), "different initial weights"
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(fixed_one, fixed_two))
    norm = lambda s, w: float(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(w, s))))
    out[case_id] = dict(diff=diff, ratio=norm(s3, noisy_two) / norm(s1, noisy_one))
print(json.dumps(out))
"""


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution runs on JAX")
def test_jax_data_parallel_step_equals_one_device_step():
    ids = [c.id for c in MODEL_CASES if c.stochastic and c.cls_name != "AdversarialAutoencoder"]
    ids += ["ae_dense", "sparse_kl", "aae_phased", "aae_joint"]
    result = run_on(
        "jax",
        DATA_PARALLEL % (ids,),
        env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
    )
    for case_id, got in result.items():
        assert got["diff"] <= 1e-6, (case_id, got)
        # With noise on, the update keeps its size (not doubled or halved).
        assert 0.8 < got["ratio"] < 1.25, (case_id, got)


def test_every_model_runs_its_public_api_here(tmp_path):
    """Train, evaluate, predict, encode/decode, sample, save and reload on this backend."""
    for case in MODEL_CASES:
        model = case.make()
        model.compile()
        history = model.fit(case.x, epochs=2, batch_size=16, verbose=0)
        assert all(np.isfinite(v[-1]) for v in history.history.values()), case.id
        logs = model.evaluate(case.x, verbose=0, return_dict=True)
        assert np.isfinite(logs["loss"]), case.id
        codes = model.encode(case.x)
        assert codes.shape == (len(case.x),) + model.code_shape
        assert model.decode(codes).shape == case.x.shape
        if case.generative:
            assert model.sample(3, seed=0).shape == (3,) + case.x.shape[1:]
            np.testing.assert_array_equal(model.sample(3, seed=0), model.sample(3, seed=0))
        path = tmp_path / f"{case.id}.keras"
        model.save(path)
        again = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_allclose(
            again.predict(case.x, verbose=0), model.predict(case.x, verbose=0), atol=1e-6
        )


def test_vae_evaluation_helpers_here():
    x = np.random.default_rng(0).uniform(size=(64, 16)).astype("float32")
    vae = keras_ae.VAE(input_shape=(16,), latent_dim=3, hidden_units=(8,), seed=0)
    vae.compile()
    vae.fit(x, epochs=1, batch_size=16, verbose=0, callbacks=[keras_ae.callbacks.KLAnnealing(warmup=2)])
    ll = vae.log_likelihood(x[:8], num_samples=16, seed=0)
    elbo = vae.elbo(x[:8], num_samples=4, seed=0)
    assert np.isfinite(ll) and np.isfinite(elbo) and ll >= elbo - 1.0
    assert vae.log_likelihood(x[:8], num_samples=16, seed=0) == pytest.approx(ll, rel=1e-6)
    assert 0 <= vae.active_units(x) <= 3


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_every_optimizer_here(policy):
    """Every optimizer (the AAE's three included) is loss-scaled under
    ``mixed_float16`` and training stays finite under both policies."""
    x = np.random.default_rng(0).uniform(size=(64, 16)).astype("float32")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        for cls in (keras_ae.Autoencoder, keras_ae.VAE, keras_ae.AAE):
            model = cls(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=0)
            model.compile()
            optimizers = (model.optimizer,) + tuple(model.extra_optimizers())
            scaled = [isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers]
            assert all(scaled) if policy == "mixed_float16" else not any(scaled), cls
            start = [np.array(w) for w in model.get_weights()]
            history = model.fit(x, epochs=2, batch_size=16, verbose=0)
            assert all(np.isfinite(v[-1]) for v in history.history.values()), cls
            moved = [not np.allclose(a, b) for a, b in zip(start, model.get_weights())]
            assert any(moved), cls
            assert model.predict(x, verbose=0).dtype == np.float32 or policy != "mixed_float16"
    finally:
        keras.config.set_dtype_policy(previous)


def test_greedy_pretrain_load_encoder_and_zoo_here(tmp_path):
    x = np.random.default_rng(0).uniform(size=(128, 16)).astype("float32")
    stack = keras_ae.greedy_pretrain(
        x, (8, 4), noise="masking", noise_level=0.2, epochs=1, batch_size=32,
        verbose=0, seed=0, export_dir=str(tmp_path / "sda"),
    )
    codes = stack.encode(x)
    assert codes.shape == (128, 4)
    encoder = keras_ae.load_encoder(str(tmp_path / "sda" / "stack"))  # a SavedModel export
    np.testing.assert_allclose(encoder.predict(x, verbose=0), codes, atol=1e-5)
    # Every pretrained zoo model loads, encodes and reconstructs here.
    for name in keras_ae.zoo.list():
        model = keras_ae.zoo.load(name)
        x0 = np.full((2,) + tuple(model.input_shape_), 0.5, "float32")
        assert model.encode(x0).shape == (2, model.latent_dim), name
        assert np.isfinite(model.reconstruct(x0)).all(), name
        frozen = keras_ae.zoo.load_encoder(name)
        np.testing.assert_allclose(frozen.predict(x0, verbose=0), model.encode(x0), atol=1e-5)
