"""Tests for keras_ae.datasets: named datasets, local search, idx/npz files, tf.data."""

import gzip
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_ae import datasets  # noqa: E402
from keras_ae.datasets import files as dataset_files  # noqa: E402
from keras_ae.datasets import streaming as dataset_streaming  # noqa: E402

FASHION_DIR = datasets.DEBIAN_FASHION_MNIST_DIR
HAVE_FASHION = os.path.isfile(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))


def _write_idx(path, array):
    """Writes ``array`` (uint8) as an idx file, gzipped if ``path`` ends in .gz."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def _fake_arrays(n_train=5, n_test=3, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def _write_idx_dir(directory, arrays, gz=True):
    os.makedirs(directory, exist_ok=True)
    for key, stem in dataset_files._IDX_FILES.items():
        _write_idx(os.path.join(directory, stem + (".gz" if gz else "")), arrays[key])


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No KERAS_AE_DATA, an empty Keras cache, and a download that fails."""
    monkeypatch.delenv("KERAS_AE_DATA", raising=False)
    home = tmp_path / "keras_home"
    monkeypatch.setattr(dataset_files, "_keras_homes", lambda: [str(home)])

    def no_download(name):
        raise OSError("URL fetch failure: network is unreachable")

    monkeypatch.setattr(dataset_files, "_keras_download", no_download)
    return home


def _check_loaded(loaded, arrays):
    (x, y), (x_test, y_test) = loaded
    for got_x, got_y, part in ((x, y, "train"), (x_test, y_test, "test")):
        assert got_x.dtype == np.float32 and got_y.dtype == np.int32
        np.testing.assert_allclose(
            got_x, arrays["x_" + part].reshape(len(got_x), -1) / 255.0, rtol=1e-6
        )
        np.testing.assert_array_equal(got_y, arrays["y_" + part])


# ----------------------------------------------------------------- names


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="digits.*fashion_mnist.*mnist.*Received: name='cifar'"):
        datasets.load_data("cifar")


def test_info_and_image_shapes():
    assert datasets.IMAGE_SHAPES == {
        "digits": (8, 8, 1),
        "fashion_mnist": (28, 28, 1),
        "mnist": (28, 28, 1),
        "shapes": (32, 32, 1),
    }
    facts = datasets.info("fashion_mnist")
    assert facts["image_shape"] == (28, 28, 1) and facts["num_features"] == 784
    assert facts["num_classes"] == 10 and facts["class_names"][9] == "Ankle boot"
    assert datasets.info("digits")["num_train"] == 1500


# ---------------------------------------------------------------- digits


def test_digits():
    from sklearn.datasets import load_digits

    (x, y), (x_test, y_test) = datasets.load_data("digits")
    assert x.shape == (1500, 64) and x_test.shape == (297, 64)
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.min() == 0.0 and x.max() == 1.0 and x_test.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))
    raw = load_digits()
    np.testing.assert_allclose(x, raw.data[:1500] / 16.0, rtol=1e-6)
    np.testing.assert_allclose(x_test, raw.data[1500:] / 16.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test, raw.target[1500:])
    (x2, y2), (x2_test, _) = datasets.load_data("digits")
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(x_test, x2_test)
    np.testing.assert_array_equal(y, y2)


def test_digits_images():
    (x, _), (x_test, _) = datasets.load_data("digits", flatten=False)
    assert x.shape == (1500, 8, 8, 1) and x_test.shape == (297, 8, 8, 1)
    (flat, _), _ = datasets.load_data("digits")
    np.testing.assert_array_equal(x.reshape(1500, 64), flat)


# --------------------------------------------------------- fashion_mnist


@pytest.mark.skipif(
    not HAVE_FASHION and not os.environ.get("CI"),
    reason="apt-get install -y dataset-fashion-mnist",
)
def test_fashion_mnist_from_debian_package(offline):
    (x, y), (x_test, y_test) = datasets.load_data("fashion_mnist")
    assert x.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert y.shape == (60000,) and y_test.shape == (10000,)
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    # The first training image is an ankle boot (label 9), as in Keras's docs.
    assert y[0] == 9
    (images, _), (test_images, _) = datasets.load_data("fashion_mnist", flatten=False)
    assert images.shape == (60000, 28, 28, 1) and test_images.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(images[:5].reshape(5, 784), x[:5])


# -------------------------------------------------- local copies, in order


def test_keras_ae_data_idx_dir_for_mnist(offline, monkeypatch, tmp_path):
    arrays = _fake_arrays()
    _write_idx_dir(tmp_path / "data" / "mnist", arrays)
    monkeypatch.setenv("KERAS_AE_DATA", str(tmp_path / "data"))
    _check_loaded(datasets.load_data("mnist"), arrays)
    (images, _), _ = datasets.load_data("mnist", flatten=False)
    assert images.shape == (5, 28, 28, 1)


def test_keras_ae_data_uncompressed_and_hyphenated_dir(offline, monkeypatch, tmp_path):
    arrays = _fake_arrays(4, 2)
    _write_idx_dir(tmp_path / "fashion-mnist", arrays, gz=False)
    monkeypatch.setenv("KERAS_AE_DATA", str(tmp_path))
    # Takes precedence over /usr/share/datasets/fashion-mnist.
    _check_loaded(datasets.load_data("fashion_mnist"), arrays)


def test_keras_ae_data_npz(offline, monkeypatch, tmp_path):
    arrays = _fake_arrays(6, 2, seed=1)
    np.savez(tmp_path / "mnist.npz", **arrays)
    monkeypatch.setenv("KERAS_AE_DATA", os.pathsep.join([str(tmp_path / "nothing"), str(tmp_path)]))
    _check_loaded(datasets.load_data("mnist"), arrays)


def test_keras_cache_npz_and_idx(offline, tmp_path):
    arrays = _fake_arrays(3, 2, seed=2)
    os.makedirs(offline / "datasets")
    np.savez(offline / "datasets" / "mnist.npz", **arrays)
    _check_loaded(datasets.load_data("mnist"), arrays)
    fashion = _fake_arrays(2, 2, seed=3)
    _write_idx_dir(offline / "datasets" / "fashion-mnist", fashion)
    if not HAVE_FASHION:  # Otherwise the Debian copy comes first.
        _check_loaded(datasets.load_data("fashion_mnist"), fashion)
    kinds_paths = datasets.search_paths("fashion_mnist")
    assert ("idx", str(offline / "datasets" / "fashion-mnist")) in kinds_paths
    assert kinds_paths.index(("idx", FASHION_DIR)) < kinds_paths.index(
        ("idx", str(offline / "datasets" / "fashion-mnist"))
    )


def test_keras_download_is_the_last_resort(offline, monkeypatch):
    arrays = _fake_arrays(2, 1, seed=4)
    calls = []

    def download(name):
        calls.append(name)
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

    monkeypatch.setattr(dataset_files, "_keras_download", download)
    _check_loaded(datasets.load_data("mnist"), arrays)
    assert calls == ["mnist"]


def test_offline_error_names_every_place(offline, monkeypatch, tmp_path):
    monkeypatch.setattr(dataset_files, "DEBIAN_FASHION_MNIST_DIR", str(tmp_path / "debian"))
    monkeypatch.setenv("KERAS_AE_DATA", str(tmp_path / "mine"))
    os.makedirs(tmp_path / "mine" / "fashion_mnist")  # present but incomplete
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.load_data("fashion_mnist")
    assert isinstance(info.value, OSError)
    message = str(info.value)
    for place in (
        tmp_path / "mine" / "fashion_mnist",
        tmp_path / "mine" / "fashion-mnist",
        tmp_path / "mine" / "fashion_mnist.npz",
        tmp_path / "debian",
        offline / "datasets" / "fashion-mnist",
    ):
        assert str(place) in message
    assert "missing train-images-idx3-ubyte" in message
    assert "network is unreachable" in message
    assert "apt-get install -y dataset-fashion-mnist" in message
    assert "KERAS_AE_DATA" in message

    monkeypatch.delenv("KERAS_AE_DATA")
    with pytest.raises(OSError, match=r"(?s)KERAS_AE_DATA \(not set\).*mnist\.npz") as info:
        datasets.load_data("mnist")
    assert "apt-get" not in str(info.value)  # no Debian package for MNIST


# ------------------------------------------------------------- idx format


def test_read_idx_round_trip(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", array)
    out = datasets.read_idx(str(tmp_path / "a.gz"))
    np.testing.assert_array_equal(out, array)
    # A big-endian int32 idx file.
    values = np.array([1, -2, 70000], ">i4")
    with open(tmp_path / "b", "wb") as f:
        f.write(bytes([0, 0, 0x0C, 1]) + np.asarray([3], ">u4").tobytes() + values.tobytes())
    np.testing.assert_array_equal(datasets.read_idx(str(tmp_path / "b")), [1, -2, 70000])


def test_bad_magic_number(offline, monkeypatch, tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(bytes([0x1F, 0x00, 0x08, 0x03]) + bytes(40))
    with pytest.raises(ValueError, match="bad magic number.*Received: magic=0x1f000803"):
        datasets.read_idx(str(bad))
    # Through load_data a corrupt local copy is an error, not silently skipped.
    arrays = _fake_arrays()
    _write_idx_dir(tmp_path / "data" / "mnist", arrays)
    with gzip.open(tmp_path / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 0x07, 1, 0, 0, 0, 3, 1, 2, 3]))
    monkeypatch.setenv("KERAS_AE_DATA", str(tmp_path / "data"))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz.*bad magic number"):
        datasets.load_data("mnist")


def test_idx_size_mismatch(tmp_path):
    with open(tmp_path / "short", "wb") as f:
        f.write(bytes([0, 0, 0x08, 2]) + np.asarray([3, 4], ">u4").tobytes() + bytes(11))
    with pytest.raises(ValueError, match=r"shape \(3, 4\).*holds 11 bytes"):
        datasets.read_idx(str(tmp_path / "short"))


def test_wrong_image_shape_in_local_copy(offline, monkeypatch, tmp_path):
    arrays = _fake_arrays()
    arrays["x_train"] = np.zeros((5, 8, 8), np.uint8)
    np.savez(tmp_path / "mnist.npz", **arrays)
    monkeypatch.setenv("KERAS_AE_DATA", str(tmp_path))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\).*x_train.shape=\(5, 8, 8\)"):
        datasets.load_data("mnist")


# --------------------------------------------------------------- load_npz


def test_load_npz_keras_layout(tmp_path):
    arrays = _fake_arrays(4, 2)
    np.savez(tmp_path / "d.npz", **arrays)
    _check_loaded(datasets.load_npz(tmp_path / "d.npz"), arrays)
    (x, _), (x_test, _) = datasets.load_npz(tmp_path / "d.npz", flatten=False)
    assert x.shape == (4, 28, 28, 1) and x_test.shape == (2, 28, 28, 1)


def test_load_npz_single_array(tmp_path):
    x = np.random.default_rng(0).random((7, 10)).astype("float64")
    np.savez(tmp_path / "x.npz", x=x)
    (got, y), test = datasets.load_npz(str(tmp_path / "x.npz"))
    assert got.dtype == np.float32 and got.shape == (7, 10)
    np.testing.assert_allclose(got, x, rtol=1e-6)
    assert y is None and test == (None, None)
    np.savez(tmp_path / "xy.npz", x=x, y=np.arange(7))
    (_, y), _ = datasets.load_npz(tmp_path / "xy.npz")
    np.testing.assert_array_equal(y, np.arange(7))


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.array([[0.5, np.nan]])}, "NaN or Inf"),
        ({"x": np.array([[0.5, 1.5]])}, r"\[0, 1\].*max=1.5"),
        ({"x": np.array([[0, 300]])}, r"\[0, 255\].*max=300"),
        ({"x": np.zeros((3, 2)), "y": np.arange(4)}, r"shape \(3,\).*shape=\(4,\)"),
        ({"x": np.zeros(3)}, r"shape \(N, \.\.\.\).*shape=\(3,\)"),
        ({"x_train": np.zeros((2, 4)), "x_test": np.zeros((2, 5))}, "same example shape"),
        ({"images": np.zeros((2, 4))}, r"expected keys.*Received keys: \['images'\]"),
        ({"x": np.array([["a", "b"]])}, "must be numeric"),
    ],
)
def test_load_npz_validation(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        datasets.load_npz(tmp_path / "bad.npz")


def test_load_npz_refuses_pickles(tmp_path):
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match="without pickles"):
        datasets.load_npz(tmp_path / "obj.npz")


# ----------------------------------------------------------- make_dataset


def _write_shards(directory, sizes, kind="npz", with_labels=True, start=0):
    """Shards whose examples carry their global id: x[:, 0] = id / 1000."""
    os.makedirs(directory, exist_ok=True)
    ids = np.arange(start, start + sum(sizes))
    offset = 0
    for i, size in enumerate(sizes):
        part = ids[offset : offset + size]
        offset += size
        x = np.full((size, 3, 2), 0.5, np.float32)
        x[:, 0, 0] = part / 1000.0
        if kind == "npy":
            np.save(os.path.join(directory, f"shard{i:02d}.npy"), x)
        elif with_labels:
            np.savez(os.path.join(directory, f"shard{i:02d}.npz"), x=x, y=part)
        else:
            np.savez(os.path.join(directory, f"shard{i:02d}.npz"), x=x)
    return ids


def _ids(batches):
    return np.concatenate([np.rint(np.asarray(b)[:, 0] * 1000).astype(int) for b in batches])


def test_make_dataset_over_shards_yields_each_example_once_per_epoch(tmp_path):
    ids = _write_shards(tmp_path, [7, 5, 9, 1, 6])
    ds = datasets.make_dataset(str(tmp_path), batch_size=4, seed=0)
    epochs = [_ids(list(ds)) for _ in range(2)]
    for seen in epochs:
        np.testing.assert_array_equal(np.sort(seen), ids)
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled every epoch
    first = next(iter(ds))
    assert first.shape == (4, 6) and first.dtype.name == "float32"


def test_make_dataset_shards_with_labels_and_images(tmp_path):
    ids = _write_shards(tmp_path, [4, 3])
    ds = datasets.make_dataset(tmp_path, batch_size=3, with_labels=True, flatten=False, seed=1)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    assert xs[0].shape == (3, 3, 2, 1)
    assert ys[0].dtype == np.int32
    got = np.concatenate([np.rint(x[:, 0, 0, 0] * 1000).astype(int) for x in xs])
    np.testing.assert_array_equal(got, np.concatenate(ys))  # x and y stay paired
    np.testing.assert_array_equal(np.sort(got), ids)


def test_make_dataset_npy_shards_and_split_dirs(tmp_path):
    train_ids = _write_shards(tmp_path / "train", [5, 5], kind="npy")
    test_ids = _write_shards(tmp_path / "test", [2, 2], kind="npy", start=100)
    train = datasets.make_dataset(tmp_path, batch_size=None, shuffle=False)
    np.testing.assert_array_equal(_ids([np.stack(list(train))]), train_ids)
    test = datasets.make_dataset(tmp_path, split="test", batch_size=2, seed=0)
    np.testing.assert_array_equal(np.sort(_ids(list(test))), test_ids)
    with pytest.raises(ValueError, match="holds no labels"):
        datasets.make_dataset(tmp_path, with_labels=True)


@pytest.mark.parametrize("shuffle, max_reads", [(False, 2), (True, 5)])
def test_make_dataset_streams_shard_by_shard(tmp_path, monkeypatch, shuffle, max_reads):
    _write_shards(tmp_path, [10] * 8)
    reads = []
    original = dataset_streaming._read_shard

    def counting(path, *args):
        reads.append(path)
        return original(path, *args)

    monkeypatch.setattr(dataset_streaming, "_read_shard", counting)
    ds = datasets.make_dataset(
        tmp_path, batch_size=2, shuffle=shuffle, shuffle_buffer=2, prefetch=False, seed=0
    )
    iterator = iter(ds)
    next(iterator)
    # The signature peek plus the shards being interleaved, not all 8.
    assert len(reads) <= max_reads
    rest = list(iterator)
    assert sum(len(b) for b in rest) == 78
    assert len(reads) == 1 + 8


def test_make_dataset_named():
    ds = datasets.make_dataset("digits", batch_size=500, seed=0, with_labels=True, cache=True)
    batches = list(ds)
    assert [len(x) for x, _ in batches] == [500, 500, 500]
    assert batches[0][0].shape == (500, 64)
    ys = np.concatenate([y.numpy() for _, y in batches])
    (_, y), _ = datasets.load_data("digits")
    np.testing.assert_array_equal(np.sort(ys), np.sort(y))
    assert not np.array_equal(ys, y)  # shuffled
    test = datasets.make_dataset("digits", split="test", batch_size=100, shuffle=False,
                                 drop_remainder=True, flatten=False)
    shapes = [tuple(b.shape) for b in test]
    assert shapes == [(100, 8, 8, 1)] * 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"source": "digits", "split": "valid"}, "split='valid'"),
        ({"source": "digits", "batch_size": 0}, "batch_size=0"),
        ({"source": "nowhere/at/all"}, "source='nowhere/at/all'"),
    ],
)
def test_make_dataset_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.make_dataset(**kwargs)


def test_make_dataset_empty_dir(tmp_path):
    with pytest.raises(ValueError, match="at least one .npy or .npz shard"):
        datasets.make_dataset(tmp_path)


def test_load_data_shapes_is_the_factor_set_split_reproducibly():
    (x, f), (x_test, f_test) = datasets.load_data("shapes")
    info = datasets.info("shapes")
    assert x.shape == (info["num_train"], 32 * 32) and x_test.shape == (info["num_test"], 1024)
    assert f.shape == (len(x), 5) and f.dtype == np.int32
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    # Every grid point once, in train or test.
    grid = {tuple(r) for r in np.concatenate([f, f_test])}
    assert len(grid) == 3 * 4 * 6 * 8 * 8
    (x2, f2), _ = datasets.load_data("shapes", flatten=False)
    np.testing.assert_array_equal(x2.reshape(len(x2), -1), x)
    np.testing.assert_array_equal(f2, f)

