"""Tests for keras_ae.plotting: figure contents, PNG files and shape errors.

Most tests use a small NumPy stand-in for a model (the plotting functions are
duck-typed); `filters` is also checked on a real Keras encoder and the
denoising figure on a real keras_ae noise layer.
"""

import os
import struct
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from keras_ae import plotting  # noqa: E402
from keras_ae.layers import GaussianNoise  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class FakeModel:
    """Linear encoder, sigmoid decoder; a NumPy stand-in for a keras_ae model."""

    def __init__(self, input_shape=(64,), latent_dim=2, seed=0, generative=True):
        self.input_shape = tuple(input_shape)
        self.latent_dim = latent_dim
        rng = np.random.default_rng(seed)
        self.w = rng.normal(size=(int(np.prod(input_shape)), latent_dim)) / 4
        # Declares the capability as keras_ae models do (`BaseAutoencoder.generative`).
        self.generative = generative
        if generative:
            self.sample = self._sample

    def encode(self, x):
        x = np.asarray(x, "float32")
        return (x.reshape(len(x), -1) @ self.w).astype("float32")

    def decode(self, z):
        z = np.asarray(z, "float32")
        out = 1 / (1 + np.exp(-(z @ self.w.T)))
        return out.reshape((len(z),) + self.input_shape).astype("float32")

    def reconstruct(self, x):
        return self.decode(self.encode(x))

    def _sample(self, n, seed=None):
        z = np.random.default_rng(seed).normal(size=(n, self.latent_dim))
        return self.decode(z)


def _images(fig):
    return [im for ax in fig.axes for im in ax.images]


def _data(n=20, features=64, seed=1):
    return np.random.default_rng(seed).uniform(size=(n, features)).astype("float32")


def _check_png(path, min_kb=5, min_width=300):
    assert os.path.isfile(path)
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", head[16:24])
    assert width >= min_width and height >= 150
    assert os.path.getsize(path) > min_kb * 1024


# ------------------------------------------------------------ image shapes
@pytest.mark.parametrize(
    "shape, expected",
    [
        ((64,), (8, 8)),
        ((784,), (28, 28)),
        ((3072,), (32, 32, 3)),
        ((100,), (10, 10)),
        ((28, 28, 1), (28, 28, 1)),
        ((16, 12), (16, 12)),
    ],
)
def test_infer_image_shape(shape, expected):
    assert plotting.infer_image_shape(shape) == expected


def test_infer_image_shape_explicit_and_errors():
    assert plotting.infer_image_shape((6,), image_shape=(2, 3)) == (2, 3)
    with pytest.raises(ValueError, match="pass image_shape"):
        plotting.infer_image_shape((50,))
    with pytest.raises(ValueError, match="must hold 64 values"):
        plotting.infer_image_shape((64,), image_shape=(7, 7))
    with pytest.raises(ValueError, match="channels"):
        plotting.infer_image_shape((32,), image_shape=(4, 4, 2))


# --------------------------------------------------------- reconstructions
def test_reconstructions_rows_and_png(tmp_path):
    model, x = FakeModel(), _data()
    path = tmp_path / "new" / "dir" / "recon.png"
    fig = plotting.reconstructions(model, x, n=5, path=path)
    assert isinstance(fig, Figure)
    images = _images(fig)
    assert len(images) == 10 and len(fig.axes) == 10
    # top row: the originals; bottom row: the model's reconstructions
    np.testing.assert_allclose(images[0].get_array(), x[0].reshape(8, 8))
    recon = model.reconstruct(x[:5])
    np.testing.assert_allclose(images[5].get_array(), recon[0].reshape(8, 8), rtol=1e-6)
    assert "MSE" in fig._suptitle.get_text()
    _check_png(str(path))


def test_reconstructions_keeps_image_data_shape_and_colour():
    model = FakeModel(input_shape=(28, 28, 1))
    fig = plotting.reconstructions(model, _data(4, 784).reshape(4, 28, 28, 1), n=3)
    assert [im.get_array().shape for im in _images(fig)] == [(28, 28)] * 6
    rgb = FakeModel(input_shape=(3072,))
    fig = plotting.reconstructions(rgb, _data(2, 3072), n=2)
    assert _images(fig)[0].get_array().shape == (32, 32, 3)


# ----------------------------------------------------------- latent plots
def test_latent_scatter_2d_codes_drawn_as_is(tmp_path):
    codes = np.random.default_rng(0).normal(size=(30, 2)).astype("float32")
    labels = np.arange(30) % 3
    fig = plotting.latent_scatter(
        codes, labels=labels, label_names=["a", "b", "c"], path=tmp_path / "s.png"
    )
    (ax,) = fig.axes
    drawn = np.concatenate([c.get_offsets() for c in ax.collections])
    expected = np.concatenate([codes[labels == k] for k in range(3)])
    np.testing.assert_allclose(drawn, expected)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    _check_png(str(tmp_path / "s.png"), min_kb=10)


def test_latent_scatter_projects_larger_codes():
    model, x = FakeModel(latent_dim=5), _data(40)
    fig = plotting.latent_scatter(model, x, labels=np.arange(40) % 4)
    assert fig.axes[0].get_xlabel().startswith("PC1")
    assert "(PCA)" in fig.axes[0].get_title()
    fig = plotting.latent_scatter(model, x, method="tsne")
    assert fig.axes[0].get_xlabel() == "t-SNE 1"
    assert fig.axes[0].collections[0].get_offsets().shape == (40, 2)


def test_latent_scatter_continuous_labels_and_1d_codes():
    codes = np.random.default_rng(0).normal(size=(50, 2))
    fig = plotting.latent_scatter(codes, labels=np.linspace(0, 1, 50))
    assert len(fig.axes) == 2  # scatter + colour bar
    fig = plotting.latent_scatter(codes[:, :1])
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets()[:, 0], codes[:, 0])


def test_latent_scatter_errors():
    with pytest.raises(ValueError, match="Received: method='umap'"):
        plotting.latent_scatter(np.zeros((5, 2)), method="umap")
    with pytest.raises(ValueError, match="Received: x=None"):
        plotting.latent_scatter(FakeModel())
    with pytest.raises(ValueError, match="labels.shape"):
        plotting.latent_scatter(np.zeros((5, 2)), labels=np.zeros(4))


def test_latent_grid(tmp_path):
    model = FakeModel(latent_dim=2)
    fig = plotting.latent_grid(model, n=6, extent=2.0, path=tmp_path / "g.png")
    (image,) = _images(fig)
    assert image.get_array().shape == (6 * 9 - 1, 6 * 9 - 1)
    # top-left tile decodes (-extent, +extent)
    expected = model.decode(np.array([[-2.0, 2.0]]))[0].reshape(8, 8)
    np.testing.assert_allclose(image.get_array()[:8, :8], expected, rtol=1e-6)
    _check_png(str(tmp_path / "g.png"))
    with pytest.raises(ValueError, match="Received: latent_dim=3"):
        plotting.latent_grid(FakeModel(latent_dim=3))


def test_latent_traversal(tmp_path):
    model, x = FakeModel(latent_dim=4), _data(3)
    values = np.linspace(-1, 1, 5)
    fig = plotting.latent_traversal(
        model, x, dims=[1, 3], values=values, path=tmp_path / "t.png"
    )
    (image,) = _images(fig)
    assert image.get_array().shape == (2 * 9 - 1, 5 * 9 - 1)
    code = model.encode(x[:1])[0]
    code[3] = values[4]
    expected = model.decode(code[None])[0].reshape(8, 8)
    np.testing.assert_allclose(image.get_array()[9:, -8:], expected, rtol=1e-5)
    # a code gives the same figure as the example it encodes
    from_code = plotting.latent_traversal(
        model, model.encode(x[:1])[0], dims=[1, 3], values=values
    )
    np.testing.assert_allclose(_images(from_code)[0].get_array(), image.get_array())
    _check_png(str(tmp_path / "t.png"))
    with pytest.raises(ValueError, match="Received: dims="):
        plotting.latent_traversal(model, x, dims=[4])


# ----------------------------------------------------- samples, denoising
def test_samples_grid(tmp_path):
    model = FakeModel()
    fig = plotting.samples_grid(model, n=10, seed=3, path=tmp_path / "s.png")
    (image,) = _images(fig)
    assert image.get_array().shape == (3 * 9 - 1, 4 * 9 - 1)
    np.testing.assert_allclose(
        image.get_array()[:8, :8], model.sample(10, seed=3)[0].reshape(8, 8)
    )
    _check_png(str(tmp_path / "s.png"))
    with pytest.raises(TypeError, match="sample"):
        plotting.samples_grid(FakeModel(generative=False))


def test_denoising_rows(tmp_path):
    model, x = FakeModel(), _data(10)
    noisy = np.clip(x + 0.5, 0, 1)
    fig = plotting.denoising(model, x, noisy, n=4, path=tmp_path / "d.png")
    images = _images(fig)
    assert len(images) == 12
    np.testing.assert_allclose(images[4].get_array(), noisy[0].reshape(8, 8))
    np.testing.assert_allclose(
        images[8].get_array(), model.reconstruct(noisy[:1])[0].reshape(8, 8), rtol=1e-6
    )
    _check_png(str(tmp_path / "d.png"))


def test_denoising_with_noise_layer_and_errors():
    model, x = FakeModel(), _data(10)
    fig = plotting.denoising(model, x, GaussianNoise(0.5, seed=0), n=3)
    clean, noisy = _images(fig)[0].get_array(), _images(fig)[3].get_array()
    assert np.abs(noisy - clean).mean() > 0.1  # noise applied (training=True)
    fig = plotting.denoising(model, x, lambda v: 1 - v, n=2)
    np.testing.assert_allclose(_images(fig)[2].get_array(), 1 - x[0].reshape(8, 8))
    with pytest.raises(ValueError, match="noisy.shape"):
        plotting.denoising(model, x, np.zeros((10, 63)))


# ----------------------------------------------------------------- filters
def _tiles(image, size, count, cols):
    step = size + 1
    return [
        image[(i // cols) * step : (i // cols) * step + size, (i % cols) * step :][:, :size]
        for i in range(count)
    ]


def test_filters_from_kernel_normalised_per_filter(tmp_path):
    kernel = np.random.default_rng(0).normal(size=(64, 10)) * np.arange(1, 11)
    fig = plotting.filters(kernel, path=tmp_path / "f.png")
    (image,) = _images(fig)
    tiles = _tiles(np.ma.filled(image.get_array(), np.nan), 8, 10, cols=4)
    for j, tile in enumerate(tiles):
        assert tile.min() == pytest.approx(0) and tile.max() == pytest.approx(1)
        w = kernel[:, j].reshape(8, 8)
        np.testing.assert_allclose(tile, (w - w.min()) / (w.max() - w.min()), atol=1e-6)
    assert "10 of 10" in fig.axes[0].get_title()
    _check_png(str(tmp_path / "f.png"))
    fig = plotting.filters(kernel, n=4)
    assert _images(fig)[0].get_array().shape == (17, 17)


def test_filters_finds_first_dense_kernel_of_a_keras_encoder():
    encoder = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(9),
         keras.layers.Dense(2)]
    )

    class Holder:
        input_shape = (28, 28, 1)

    holder = Holder()
    holder.encoder = encoder
    fig = plotting.filters(holder, n=9)
    (image,) = _images(fig)
    assert image.get_array().shape == (3 * 29 - 1, 3 * 29 - 1)
    w = encoder.layers[1].kernel.numpy()[:, 4].reshape(28, 28)
    tile = image.get_array()[29:57, 29:57]
    np.testing.assert_allclose(tile, (w - w.min()) / (w.max() - w.min()), atol=1e-5)
    # a Conv2D kernel (kh, kw, in, out) is shown as kh x kw tiles
    conv = np.random.default_rng(0).normal(size=(3, 3, 1, 4))
    assert _images(plotting.filters(conv))[0].get_array().shape == (7, 7)
    with pytest.raises(ValueError, match="Dense"):
        plotting.filters(keras.Sequential([keras.Input((4,)), keras.layers.ReLU()]))


# ---------------------------------------------------------- training curves
def test_training_curves_dict_and_history(tmp_path):
    logs = {
        "mse": [0.3, 0.2, 0.1],
        "loss": [3.0, 2.0, 1.0],
        "val_loss": [3.5, 2.5, 1.5],
        "val_mse": [0.4, 0.3, 0.2],
        "kl_loss": [1.0, 1.1, 1.2],
    }
    fig = plotting.training_curves(logs, path=tmp_path / "c.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mse", "kl_loss"]
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 2, 1]
    np.testing.assert_allclose(fig.axes[0].get_lines()[1].get_ydata(), logs["val_loss"])
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_xdata(), [1, 2, 3])
    _check_png(str(tmp_path / "c.png"), min_kb=10)
    history = keras.callbacks.History()
    history.history, history.epoch = {"loss": [1e3, 1.0]}, [0, 1]
    fig = plotting.training_curves(history)
    assert len(fig.axes) == 1 and fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="no per-epoch values"):
        plotting.training_curves({})


# -------------------------------------------------------------- generic
@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: plotting.reconstructions(m, x, image_shape=(5, 5)),
        lambda m, x: plotting.denoising(m, x, x, image_shape=(5, 5)),
        lambda m, x: plotting.samples_grid(m, n=4, image_shape=(5, 5)),
        lambda m, x: plotting.latent_grid(m, n=3, image_shape=(5, 5)),
        lambda m, x: plotting.latent_traversal(m, x, image_shape=(5, 5)),
        lambda m, x: plotting.filters(m.w, image_shape=(5, 5)),
    ],
    ids=["reconstructions", "denoising", "samples", "grid", "traversal", "filters"],
)
def test_bad_image_shape_raises(call):
    with pytest.raises(ValueError, match="image_shape"):
        call(FakeModel(), _data(4))


def test_uninferable_image_shape_asks_for_it():
    model = FakeModel(input_shape=(50,))
    with pytest.raises(ValueError, match="pass image_shape"):
        plotting.reconstructions(model, _data(3, 50))
    fig = plotting.reconstructions(model, _data(3, 50), n=2, image_shape=(5, 10))
    assert _images(fig)[0].get_array().shape == (5, 10)


def test_figures_from_threads_without_pyplot(tmp_path):
    errors = []

    def work(i):
        try:
            plotting.samples_grid(FakeModel(seed=i), n=16, path=tmp_path / f"{i}.png")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all((tmp_path / f"{i}.png").read_bytes()[:8] == PNG_MAGIC for i in range(3))
    source = open(plotting.__file__).read()
    assert "import pyplot" not in source and "matplotlib.pyplot import" not in source
    assert "plt." not in source
