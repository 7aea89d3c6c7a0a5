"""export_saved_model and load_encoder."""

import json
import os
import sys
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from harness import MODEL_CASES  # noqa: E402
from harness import X_FLAT  # noqa: E402
from harness import fit_quietly  # noqa: E402
from harness import run_in_fresh_process  # noqa: E402
from harness import weights_of  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import export  # noqa: E402

BATCH_SIZES = (3, 64)
# Labelled decoders (labels, codes) need their own `export_endpoints`: the
# semi-supervised and clustering AAEs' are checked in every runtime by
# tests/test_labelled_aae_export.py; the VQ-VAE's encode serves indices
# (tests/test_vqvae.py checks its endpoints).
EXPORTED_CASES = [
    c for c in MODEL_CASES if c.cls_name not in ("SemiSupervisedAAE", "ClusteringAAE", "VQVAE")
]


def _small_ae(seed=1):
    return keras_ae.Autoencoder((16,), latent_dim=4, hidden_units=(8,), seed=seed)


def _small_vae(seed=1):
    return keras_ae.VAE((16,), latent_dim=4, hidden_units=(8,), seed=seed)


def _siblings(path):
    parent, base = os.path.split(str(path))
    return sorted(n for n in os.listdir(parent) if n.startswith(f".{base}."))


# ------------------------------------------------------------ fresh process
def test_every_endpoint_matches_in_a_process_without_keras_ae(tmp_path):
    """All models of the battery: exported, then loaded with plain
    tf.saved_model.load in a process that never imports keras_ae; every
    endpoint matches the in-memory model at two batch sizes (<= 1e-5)."""
    expected, jobs = {}, []
    for case in EXPORTED_CASES:
        model = case.make()
        model.compile()
        fit_quietly(model, case.x, case.y)
        path = str(tmp_path / case.id)
        keras_ae.export_saved_model(model, path)
        fns = export.endpoint_functions(model)
        x = case.x
        z = model.encode(x)
        out = {
            "encode": model.encode(x),
            "decode": model.decode(z),
            "reconstruct": model.reconstruct(x),
        }
        np.testing.assert_allclose(
            fns["encode"][0](tf.constant(x))["codes"].numpy(), out["encode"], atol=1e-6
        )
        if model.generative:
            seeded = fns["sample_seeded"][0](tf.constant(5), tf.constant(7))["samples"].numpy()
            # the same draws as model.sample(n, seed) (VAE and AAE)
            np.testing.assert_allclose(seeded, model.sample(5, seed=7), atol=1e-6)
            out["sample_seeded"] = seeded
        np.savez(tmp_path / f"{case.id}_in.npz", x=x, z=z)
        expected[case.id] = out
        jobs.append(case.id)

    stdout = run_in_fresh_process(
        f"""
        import json, sys
        import numpy as np
        import tensorflow as tf
        results = {{}}
        for name in {jobs!r}:
            served = tf.saved_model.load({str(tmp_path)!r} + "/" + name)
            data = np.load({str(tmp_path)!r} + "/" + name + "_in.npz")
            out = {{}}
            for b in {BATCH_SIZES!r}:
                x, z = tf.constant(data["x"][:b]), tf.constant(data["z"][:b])
                out[f"encode_{{b}}"] = served.encode(x)["codes"].numpy()
                out[f"decode_{{b}}"] = served.decode(z)["reconstruction"].numpy()
                out[f"reconstruct_{{b}}"] = served.reconstruct(x)["reconstruction"].numpy()
                sig = served.signatures["serving_default"](x=x)
                out[f"serving_{{b}}"] = sig["codes"].numpy()
            if hasattr(served, "sample"):
                out["sample_seeded"] = served.sample_seeded(
                    tf.constant(5), tf.constant(7))["samples"].numpy()
                a = served.sample(tf.constant(4))["samples"].numpy()
                b = served.sample(tf.constant(4))["samples"].numpy()
                out["sample_a"], out["sample_b"] = a, b
            np.savez({str(tmp_path)!r} + "/" + name + "_out.npz", **out)
        print(json.dumps({{"keras_ae_imported": "keras_ae" in sys.modules}}))
        """,
        timeout=600,
    )
    assert json.loads(stdout.strip().splitlines()[-1]) == {"keras_ae_imported": False}
    for case in EXPORTED_CASES:
        got = np.load(tmp_path / f"{case.id}_out.npz")
        want = expected[case.id]
        for b in BATCH_SIZES:
            for name in ("encode", "decode", "reconstruct"):
                np.testing.assert_allclose(
                    got[f"{name}_{b}"], want[name][:b], atol=1e-5, err_msg=f"{case.id} {name} {b}"
                )
            np.testing.assert_allclose(got[f"serving_{b}"], want["encode"][:b], atol=1e-5)
        if "sample_seeded" in want:
            np.testing.assert_allclose(got["sample_seeded"], want["sample_seeded"], atol=1e-5)
            assert got["sample_a"].shape == (4,) + case.x.shape[1:]
            assert not np.allclose(got["sample_a"], got["sample_b"])  # a new draw each call
        else:
            assert "sample_a" not in got


def test_metadata_signatures_and_keras_copy(tmp_path):
    vae = _small_vae()
    path = keras_ae.export_saved_model(vae, tmp_path / "vae")
    meta = export.read_metadata(path)
    assert meta["model_class"] == "VariationalAutoencoder"
    assert meta["input_shape"] == [16] and meta["latent_dim"] == 4
    assert meta["versions"]["keras_ae"] == keras_ae.__version__
    assert meta["generative"] is True
    assert list(meta["endpoints"]) == [
        "encode", "encode_distribution", "decode", "reconstruct",
        "sample_from_noise", "sample_seeded", "sample",
    ]
    assert meta["endpoints"]["encode"]["inputs"]["x"]["shape"] == [None, 16]
    assert meta["endpoints"]["encode_distribution"]["outputs"].keys() == {"z_mean", "z_log_var"}
    served = tf.saved_model.load(path)
    # random endpoints are functions, not signatures (TFLite converts every signature)
    assert set(served.signatures) == {
        "serving_default", "encode", "encode_distribution", "decode", "reconstruct",
        "sample_from_noise",
    } == set(meta["signatures"])
    # the VAE's encode endpoint is the posterior mean, not a sample
    np.testing.assert_allclose(served.encode(X_FLAT)["codes"], vae.encode(X_FLAT), atol=1e-6)
    copy = keras.models.load_model(os.path.join(path, export.KERAS_FILE))
    np.testing.assert_allclose(copy.predict(X_FLAT, verbose=0), vae.predict(X_FLAT, verbose=0), atol=1e-6)

    ae_meta = export.read_metadata(keras_ae.export_saved_model(_small_ae(), tmp_path / "ae"))
    assert ae_meta["generative"] is False and "sample" not in ae_meta["endpoints"]


def test_saved_model_stores_the_weights_once(tmp_path):
    model = keras_ae.Autoencoder((784,), latent_dim=32, seed=0)
    weight_bytes = sum(4 * int(np.prod(v.shape)) for v in model.weights)
    path = keras_ae.export_saved_model(model, tmp_path / "ae")
    variables = os.path.join(path, "variables")
    stored = sum(
        os.path.getsize(os.path.join(variables, n))
        for n in os.listdir(variables)
        if n.startswith("variables.data")
    )
    # one copy plus a little bookkeeping; tracking the model twice gave 2x
    assert weight_bytes <= stored < 1.1 * weight_bytes, (stored, weight_bytes)


# ------------------------------------------------------ overwrite, atomicity
def test_existing_path_is_refused_unless_overwrite(tmp_path):
    path = tmp_path / "model"
    first, second = _small_ae(seed=1), _small_ae(seed=2)
    keras_ae.export_saved_model(first, path)
    with pytest.raises(FileExistsError, match="overwrite=True.*Received: path="):
        keras_ae.export_saved_model(second, path)
    served = tf.saved_model.load(str(path))
    np.testing.assert_allclose(served.encode(X_FLAT)["codes"], first.encode(X_FLAT), atol=1e-6)

    keras_ae.export_saved_model(second, path, overwrite=True)
    served = tf.saved_model.load(str(path))
    np.testing.assert_allclose(served.encode(X_FLAT)["codes"], second.encode(X_FLAT), atol=1e-6)
    assert _siblings(path) == []  # no temporary or old directory left


def test_files_and_foreign_directories_are_never_replaced(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("precious")
    with pytest.raises(ValueError, match="not a SavedModel directory.*Received: path="):
        keras_ae.export_saved_model(_small_ae(), tmp_path / "notes", overwrite=True)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "precious"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        keras_ae.export_saved_model(_small_ae(), tmp_path / "file")


def _crashing_save():
    def save(obj, export_dir, *args, **kwargs):
        os.makedirs(export_dir, exist_ok=True)
        with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
            f.write(b"half")  # a half-written export...
        raise RuntimeError("simulated crash while writing")  # ...then the crash

    return save


def test_crash_mid_write_leaves_old_export_intact_and_no_temp_dir(tmp_path, monkeypatch):
    path = tmp_path / "model"
    old = _small_ae(seed=1)
    keras_ae.export_saved_model(old, path)
    before = sorted(os.listdir(path))
    monkeypatch.setattr(tf.saved_model, "save", _crashing_save())
    with pytest.raises(RuntimeError, match="simulated crash"):
        keras_ae.export_saved_model(_small_ae(seed=2), path, overwrite=True)
    with pytest.raises(RuntimeError, match="simulated crash"):
        keras_ae.export_saved_model(_small_ae(seed=2), tmp_path / "fresh")
    monkeypatch.undo()
    assert not os.path.exists(tmp_path / "fresh")
    assert sorted(os.listdir(path)) == before
    assert _siblings(path) == [] and _siblings(tmp_path / "fresh") == []
    served = tf.saved_model.load(str(path))
    np.testing.assert_allclose(served.encode(X_FLAT)["codes"], old.encode(X_FLAT), atol=1e-6)


def test_failed_swap_puts_the_old_export_back(tmp_path, monkeypatch):
    path = tmp_path / "model"
    old = _small_ae(seed=1)
    keras_ae.export_saved_model(old, path)
    real_rename, calls = os.rename, []

    def rename(src, dst):
        if os.path.dirname(os.fspath(dst)) != str(tmp_path):
            return real_rename(src, dst)  # not the commit's renames
        calls.append((src, dst))
        if len(calls) == 2:  # old moved aside; moving the new one in fails
            raise OSError("simulated failure renaming the new export")
        return real_rename(src, dst)

    monkeypatch.setattr(export.os, "rename", rename)
    with pytest.raises(OSError, match="simulated failure"):
        keras_ae.export_saved_model(_small_ae(seed=2), path, overwrite=True)
    monkeypatch.undo()
    assert len(calls) == 3  # aside, (failed) in, back
    assert _siblings(path) == []
    served = tf.saved_model.load(str(path))
    np.testing.assert_allclose(served.encode(X_FLAT)["codes"], old.encode(X_FLAT), atol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), "model.keras", None],
    ids=["sequential", "string", "none"],
)
def test_non_keras_ae_models_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="keras_ae model.*Received: model="):
        keras_ae.export_saved_model(bad, tmp_path / "x")
    assert not os.path.exists(tmp_path / "x")


# -------------------------------------------------------------- load_encoder
@pytest.fixture(scope="module")
def trained_vae(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    vae = _small_vae()
    vae.compile()
    fit_quietly(vae, X_FLAT, epochs=2)
    vae.save(root / "vae.keras")
    keras_ae.export_saved_model(vae, root / "vae_export")
    return vae, root


def _fake_zoo(monkeypatch, mapping):
    def path_of(name, kind="dir"):
        assert kind == "keras"
        return mapping[name]

    zoo = types.ModuleType("keras_ae.zoo")
    zoo.path_of = path_of
    monkeypatch.setitem(sys.modules, "keras_ae.zoo", zoo)
    monkeypatch.setattr(keras_ae, "zoo", zoo, raising=False)


@pytest.mark.parametrize("source", ["keras_file", "export_dir", "zoo_name", "model"])
def test_load_encoder_from_each_source_gives_posterior_means(trained_vae, source, monkeypatch):
    vae, root = trained_vae
    _fake_zoo(monkeypatch, {"tiny_vae": str(root / "vae.keras")})
    path = {
        "keras_file": str(root / "vae.keras"),
        "export_dir": str(root / "vae_export"),
        "zoo_name": "tiny_vae",
        "model": vae,
    }[source]
    encoder = keras_ae.load_encoder(path)
    assert isinstance(encoder, keras.Model)
    assert encoder.output_shape == (None, 4)
    assert not encoder.trainable and not encoder.trainable_weights
    np.testing.assert_allclose(encoder.predict(X_FLAT, verbose=0), vae.encode(X_FLAT), atol=1e-6)
    # only z_mean's sub-graph: no z_log_var variables without gradients
    assert "z_log_var" not in [layer.name for layer in encoder.layers]


def test_load_encoder_bad_sources(tmp_path, monkeypatch):
    _fake_zoo(monkeypatch, {})
    with pytest.raises(FileNotFoundError, match="Received: path="):
        keras_ae.load_encoder(str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match="zoo name.*Received: path='no_such_model'"):
        keras_ae.load_encoder("no_such_model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="Not a keras_ae export directory.*Received: path="):
        keras_ae.load_encoder(str(tmp_path / "empty"))
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    plain.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="not hold a keras_ae model"):
        keras_ae.load_encoder(str(tmp_path / "plain.keras"))
    with pytest.raises(ValueError, match="trainable"):
        keras_ae.load_encoder(_small_ae(), trainable="yes")


def _labels(n=len(X_FLAT)):
    return (X_FLAT[:n, :8].sum(axis=1) > X_FLAT[:n, 8:].sum(axis=1)).astype("int32")


def _classifier(encoder, functional):
    if functional:
        inputs = keras.Input((16,))
        outputs = keras.layers.Dense(2, activation="softmax", name="head")(encoder(inputs))
        model = keras.Model(inputs, outputs)
    else:
        model = keras.Sequential(
            [keras.Input((16,)), encoder, keras.layers.Dense(2, activation="softmax", name="head")]
        )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_frozen_encoder_stays_fixed_and_container_reloads_safely(trained_vae, tmp_path, functional):
    _, root = trained_vae
    encoder = keras_ae.load_encoder(str(root / "vae_export"), trainable=False)
    clf = _classifier(encoder, functional)
    before_enc = weights_of(encoder)
    before_head = weights_of(clf.get_layer("head"))
    clf.fit(X_FLAT, _labels(), epochs=3, batch_size=16, verbose=0)
    for a, b in zip(before_enc, weights_of(encoder)):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(before_head, weights_of(clf.get_layer("head"))))

    clf.save(tmp_path / "clf.keras")
    reloaded = keras.models.load_model(tmp_path / "clf.keras", safe_mode=True)
    np.testing.assert_allclose(
        reloaded.predict(X_FLAT, verbose=0), clf.predict(X_FLAT, verbose=0), atol=1e-6
    )


def test_trainable_encoder_fine_tunes_with_adam_and_freezing_needs_recompile(trained_vae, tmp_path):
    _, root = trained_vae
    encoder = keras_ae.load_encoder(str(root / "vae.keras"), trainable=True)
    clf = _classifier(encoder, functional=False)
    y = _labels()
    start = clf.evaluate(X_FLAT, y, verbose=0)
    before = weights_of(encoder)
    clf.fit(X_FLAT, y, epochs=20, batch_size=16, verbose=0)
    assert clf.evaluate(X_FLAT, y, verbose=0) < start
    assert all(not np.array_equal(a, b) for a, b in zip(before, weights_of(encoder)))

    # docs/design.md, trap 10: freezing takes effect after recompiling.
    encoder.trainable = False
    clf.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    frozen = weights_of(encoder)
    clf.fit(X_FLAT, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(frozen, weights_of(encoder)):
        np.testing.assert_array_equal(a, b)

    clf.save(tmp_path / "clf.keras")
    reloaded = keras.models.load_model(tmp_path / "clf.keras", safe_mode=True)
    np.testing.assert_allclose(
        reloaded.predict(X_FLAT, verbose=0), clf.predict(X_FLAT, verbose=0), atol=1e-6
    )


def test_in_memory_encoder_shares_weights_with_its_model():
    ae = _small_ae()
    encoder = keras_ae.load_encoder(ae, trainable=True)
    assert {id(v) for v in encoder.weights} <= {id(v) for v in ae.encoder.weights}
    np.testing.assert_allclose(encoder.predict(X_FLAT, verbose=0), ae.encode(X_FLAT), atol=1e-6)
