"""The pretrained zoo: every shipped model loads and reproduces its card."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import datasets  # noqa: E402
from keras_ae import evaluation  # noqa: E402
from keras_ae import zoo  # noqa: E402

try:
    NAMES = zoo.list()
except FileNotFoundError:  # pragma: no cover - a checkout without the zoo
    NAMES = []

# Metrics recomputed by the fast test; the VAE log-likelihood (100 importance
# samples per example) is recomputed by the slow one.
SLOW_METRICS = ("log_likelihood",)
REQUIRED = {
    ("Autoencoder", "digits"), ("DenoisingAutoencoder", "digits"),
    ("VariationalAutoencoder", "digits"), ("AdversarialAutoencoder", "digits"),
    ("Autoencoder", "fashion_mnist"), ("DenoisingAutoencoder", "fashion_mnist"),
    ("VariationalAutoencoder", "fashion_mnist"),
    ("AdversarialAutoencoder", "fashion_mnist"),
}
# The whole zoo folder must stay small (it ships inside the package).
MAX_ZOO_BYTES = 12_000_000


def _test_data(dataset):
    try:
        (_, _), (x_test, y_test) = datasets.load_data(dataset)
    except datasets.DatasetNotFoundError as error:  # pragma: no cover
        pytest.skip(f"{dataset} not available: {error}")
    return x_test, y_test


def test_zoo_is_found_from_this_checkout():
    root = zoo.location()
    assert os.path.isfile(os.path.join(root, "index.json"))
    assert NAMES, "the zoo index lists no model"


def test_zoo_covers_every_required_model_and_dataset():
    shipped = {(e["class"], e["dataset"]) for e in zoo.entries()}
    assert REQUIRED <= shipped, REQUIRED - shipped


def test_zoo_stays_small():
    total = 0
    for root, _, files in os.walk(zoo.location()):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    assert total < MAX_ZOO_BYTES, f"zoo is {total / 1e6:.1f} MB"


@pytest.mark.parametrize("name", NAMES)
def test_every_card_is_complete(name):
    card = zoo.card(name)
    for key in ("name", "class", "dataset", "data", "architecture", "command",
                "metrics", "date", "params", "training", "versions", "evaluation"):
        assert card.get(key) not in (None, "", {}), key
    assert card["name"] == name
    assert card["command"].startswith(f"keras-ae train {card['model']} --dataset ")
    readme = open(zoo.path_of(name, "readme"), encoding="utf-8").read()
    assert card["command"] in readme
    for png in card["files"]["plots"]:
        assert os.path.getsize(os.path.join(zoo.path_of(name), png)) > 1000


@pytest.mark.parametrize("name", NAMES)
def test_load_reproduces_the_card_metrics(name):
    card = zoo.card(name)
    model = zoo.load(name)
    assert type(model).__name__ == card["class"]
    assert model.count_params() == card["params"]
    x_test, _ = _test_data(card["dataset"])
    metrics = evaluation.evaluate(model, x_test, log_likelihood=False, **card["evaluation"])
    expected = {k: v for k, v in card["metrics"].items() if k not in SLOW_METRICS}
    assert set(metrics) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(metrics[key], value, rtol=1e-4, atol=1e-6, err_msg=key)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [n for n in NAMES if n.startswith("vae")] or ["no_vae_in_zoo"]
)
def test_vae_log_likelihood_matches_the_card(name):
    if name not in NAMES:
        pytest.skip("no VAE in the zoo")
    card = zoo.card(name)
    model = zoo.load(name)
    x_test, _ = _test_data(card["dataset"])
    value = model.log_likelihood(
        x_test, num_samples=card["evaluation"]["num_samples"],
        seed=card["evaluation"]["seed"],
    )
    np.testing.assert_allclose(value, card["metrics"]["log_likelihood"], rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_load_encoder_gives_the_model_codes(name):
    card = zoo.card(name)
    model = zoo.load(name, compile=False)
    encoder = zoo.load_encoder(name)
    assert not encoder.trainable
    shape = (5,) + tuple(card["data"]["input_shape"])
    x = np.random.default_rng(0).uniform(size=shape).astype("float32")
    np.testing.assert_allclose(encoder.predict(x, verbose=0), model.encode(x), atol=1e-5)


@pytest.mark.parametrize(
    "name", [n for n in ("autoencoder_digits", "vae_fashion") if n in NAMES]
)
def test_zoo_encoder_in_a_sequential_stays_frozen_and_saves(name, tmp_path):
    card = zoo.card(name)
    encoder = zoo.load_encoder(name)
    input_shape = tuple(card["data"]["input_shape"])
    clf = keras.Sequential(
        [keras.Input(input_shape), encoder, keras.layers.Dense(3, activation="softmax")]
    )
    x = np.random.default_rng(0).uniform(size=(5,) + input_shape).astype("float32")
    before = [w.copy() for w in encoder.get_weights()]
    clf.compile("adam", "sparse_categorical_crossentropy")
    clf.fit(x, np.array([0, 1, 2, 0, 1]), epochs=1, verbose=0)
    for a, b in zip(before, encoder.get_weights()):
        np.testing.assert_array_equal(a, b)
    path = tmp_path / "clf.keras"
    clf.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), clf.predict(x, verbose=0),
                               atol=1e-6)


def test_load_encoder_by_zoo_name_through_the_top_level_api():
    name = NAMES[0]
    encoder = keras_ae.load_encoder(name, trainable=True)
    assert encoder.trainable
    assert encoder.output_shape[-1] == zoo.card(name)["config"]["latent_dim"]


@pytest.mark.parametrize("name", NAMES[:1])
def test_saved_model_serves_without_keras_ae(name):
    """The zoo folder is a SavedModel that loads in a process without keras_ae."""
    from harness import run_in_fresh_process

    card = zoo.card(name)
    code = f"""
        import sys, numpy as np, tensorflow as tf
        served = tf.saved_model.load({zoo.path_of(name, 'saved_model')!r})
        x = np.zeros((2,) + {tuple(card['data']['input_shape'])!r}, 'float32')
        print(tuple(served.encode(x).shape), 'keras_ae' in sys.modules)
    """
    out = run_in_fresh_process(code).strip().splitlines()[-1]
    assert out == f"(2, {card['config']['latent_dim']}) False"


def test_unknown_name_is_a_clear_key_error():
    with pytest.raises(KeyError, match="no_such_model"):
        zoo.load("no_such_model")
    with pytest.raises(ValueError, match="kind"):
        zoo.path_of(NAMES[0], "weights")


def test_zoo_location_prefers_the_environment(tmp_path, monkeypatch):
    index = {"format": 1, "models": []}
    (tmp_path / "index.json").write_text(json.dumps(index))
    monkeypatch.setenv("KERAS_AE_ZOO", str(tmp_path))
    assert zoo.location() == str(tmp_path)
    assert zoo.list() == []
