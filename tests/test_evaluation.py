"""keras_ae.evaluation (the metrics of the CLI, demo and model cards) and the
TensorBoard fallback of the CLI."""

import glob
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import evaluation  # noqa: E402
from keras_ae.app import recipes  # noqa: E402
from keras_ae.app.tensorboard import EpochScalars  # noqa: E402

X = np.random.default_rng(0).uniform(size=(40, 16)).astype("float32")
SMALL = dict(latent_dim=3, hidden_units=(8,), seed=0)
COMMON = {"loss", "reconstruction_loss", "mse"}
EXTRA = {
    "autoencoder": set(),
    "sparse": {"mean_activation"},
    "denoising": {"denoising_mse"},
    "vae": {"kl_loss", "neg_elbo", "log_likelihood", "active_units"},
    "aae": {"code_mean", "code_std", "prior_frechet", "discriminator_accuracy"},
}


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_metrics_by_kind_of_model(name):
    recipe = recipes.get(name)
    model = recipes.build(recipe, (16,), **SMALL)
    model.compile()
    metrics = evaluation.evaluate(model, X, num_samples=4)
    assert set(metrics) == COMMON | EXTRA[name]
    assert all(isinstance(v, float) and np.isfinite(v) for v in metrics.values())
    expected_mse = np.mean((model.reconstruct(X) - X) ** 2)
    np.testing.assert_allclose(metrics["mse"], expected_mse, rtol=1e-6)
    again = evaluation.evaluate(model, X, num_samples=4)
    assert again == metrics  # fixed seeds: the same numbers every time


def test_denoising_mse_is_worse_than_clean_and_leaves_the_model_noise_alone():
    model = recipes.build("denoising", (16,), noise="masking:0.5", **SMALL)
    model.compile()
    state = [np.array(v) for v in model.noise.weights]
    metrics = evaluation.evaluate(model, X)
    assert metrics["denoising_mse"] > metrics["mse"]
    for before, after in zip(state, model.noise.weights):
        np.testing.assert_array_equal(before, np.array(after))


def test_corrupt_is_reproducible_and_seeded():
    layer = keras_ae.layers.get_noise("masking", noise_level=0.5, seed=3)
    a = evaluation.corrupt(layer, X, seed=1, batch_size=7)
    b = evaluation.corrupt(layer, X, seed=1)
    c = evaluation.corrupt(layer, X, seed=2)
    np.testing.assert_array_equal(a[:7], b[:7])
    assert 0.3 < np.mean(a == 0) < 0.7
    assert not np.array_equal(b, c)


def test_vae_log_likelihood_can_be_skipped():
    model = recipes.build("vae", (16,), **SMALL)
    model.compile()
    assert "log_likelihood" not in evaluation.evaluate(model, X, log_likelihood=False)


def test_describe_knows_every_metric():
    for name in set().union(COMMON, *EXTRA.values()):
        assert evaluation.describe(name) != name


def test_epoch_scalars_write_readable_tensorboard_events(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.ones((8, 4), "float32")
    model.fit(x, x[:, :1], validation_data=(x, x[:, :1]), epochs=3, verbose=0,
              callbacks=[EpochScalars(tmp_path)])
    for run in ("train", "validation"):
        (events,) = glob.glob(str(tmp_path / run / "events.out.tfevents.*"))
        steps = []
        for record in tf.data.TFRecordDataset(events):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                assert value.tag == "epoch_loss"
                assert value.metadata.plugin_data.plugin_name == "scalars"
                steps.append(event.step)
        assert steps == [0, 1, 2]


def test_run_figures_of_a_factor_labelled_dataset(tmp_path):
    """shapes has (N, 5) factor labels: the scatter is coloured by the shape factor."""
    from keras_ae.app import figures

    (x, f), (x_test, f_test) = keras_ae.datasets.load_data("shapes")
    data = keras_ae.datasets.Dataset(
        "shapes", "test", x[:64], f[:64], x_test[:64], f_test[:64], image_shape=(32, 32, 1)
    )
    model = keras_ae.Autoencoder(input_shape=(1024,), latent_dim=2, hidden_units=(8,), seed=0)
    model.compile()
    history = model.fit(data.x_train, epochs=1, verbose=0)
    notes = []
    written = figures.make_all(model, recipes.get("autoencoder"), data, history, str(tmp_path),
                               log=notes.append)
    assert "latent_scatter.png" in written, notes
