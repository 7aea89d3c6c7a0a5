"""Datasets for keras_ae: local copies first, then the Keras download.

Three named datasets are known:

| name              | train / test   | image shape | source                                  |
|-------------------|----------------|-------------|-----------------------------------------|
| ``"digits"``      | 1500 / 297     | (8, 8, 1)   | `sklearn.datasets.load_digits` (embedded) |
| ``"fashion_mnist"`` | 60000 / 10000 | (28, 28, 1) | local idx/npz copies, else Keras download |
| ``"mnist"``       | 60000 / 10000  | (28, 28, 1) | local idx/npz copies, else Keras download |

Every loader returns ``(x_train, y_train), (x_test, y_test)`` with ``x``
float32 in ``[0, 1]`` (flattened to ``(N, H * W)`` by default, or
``(N, H, W, 1)`` with ``flatten=False``) and ``y`` int32 class labels.

The digits split is fixed and independent of the scikit-learn version: the
first 1500 images are the training set and the last 297 the test set (the
images are ordered by writer, so the test writers are not seen in training;
every class has 27-33 test images). Pixels are divided by 16.

Fashion-MNIST and MNIST are looked up, in this order, in:

1. ``$KERAS_AE_DATA`` (one directory, or several separated by ``os.pathsep``)
   holding ``<name>/`` (or ``fashion-mnist/``) with the four idx files, or
   ``<name>.npz`` in the ``keras.datasets`` npz format (keys ``x_train``,
   ``y_train``, ``x_test``, ``y_test``);
2. ``/usr/share/datasets/fashion-mnist`` (Debian package
   ``dataset-fashion-mnist``; Fashion-MNIST only);
3. the Keras cache (``$KERAS_HOME``, ``~/.keras``, ``/tmp/.keras``):
   ``datasets/fashion-mnist/`` idx files, ``datasets/mnist.npz``;
4. the Keras download (``keras.datasets.<name>.load_data()``).

If all of these fail, `DatasetNotFoundError` (a subclass of `OSError`) is
raised, naming every place that was searched and how to fix it. idx files may
be gzipped (``*.gz``) or not; their magic numbers are validated.

`make_dataset` builds a `tf.data.Dataset` over a named dataset or over a
directory of ``.npy``/``.npz`` shards that is streamed shard by shard.
"""

import functools
import gzip
import os
import zipfile
import zlib

import numpy as np

__all__ = [
    "DATASETS",
    "IMAGE_SHAPES",
    "DatasetNotFoundError",
    "info",
    "load_data",
    "load_npz",
    "make_dataset",
    "read_idx",
    "search_paths",
]

DATASETS = ("digits", "fashion_mnist", "mnist")

IMAGE_SHAPES = {
    "digits": (8, 8, 1),
    "fashion_mnist": (28, 28, 1),
    "mnist": (28, 28, 1),
}

_INFO = {
    "digits": {
        "num_train": 1500,
        "num_test": 297,
        "class_names": tuple(str(i) for i in range(10)),
    },
    "fashion_mnist": {
        "num_train": 60000,
        "num_test": 10000,
        "class_names": (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    },
    "mnist": {
        "num_train": 60000,
        "num_test": 10000,
        "class_names": tuple(str(i) for i in range(10)),
    },
}

DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

# idx type codes (third byte of the magic number) -> numpy dtype (big endian).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# Sub-directory names under which each dataset's idx files may live.
_DIR_NAMES = {
    "fashion_mnist": ("fashion_mnist", "fashion-mnist"),
    "mnist": ("mnist",),
}


class DatasetNotFoundError(OSError):
    """No local copy of a dataset was found and the download failed.

    A subclass of `OSError` (like `FileNotFoundError`); its message names
    every place that was searched and how to provide the data.
    """


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def info(name):
    """Facts about a named dataset.

    Args:
        name: one of `DATASETS`.

    Returns:
        A dict with ``image_shape`` (``(H, W, C)``), ``num_features``,
        ``num_classes``, ``num_train``, ``num_test`` and ``class_names``.

    Example:
    ```python
    keras_ae.datasets.info("digits")["image_shape"]   # (8, 8, 1)
    ```
    """
    name = _check_name(name)
    shape = IMAGE_SHAPES[name]
    facts = dict(_INFO[name])
    facts["image_shape"] = shape
    facts["num_features"] = int(np.prod(shape))
    facts["num_classes"] = len(facts["class_names"])
    return facts


def load_data(name, *, flatten=True):
    """Loads a named dataset as float32 images in [0, 1] and int labels.

    Args:
        name: ``"digits"``, ``"fashion_mnist"`` or ``"mnist"``.
        flatten: if True (default) images are returned as ``(N, H * W)``
            vectors, otherwise as ``(N, H, W, 1)`` arrays.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``x`` float32 in [0, 1],
        ``y`` int32 of shape ``(N,)``.

    Raises:
        ValueError: unknown ``name``, or a local file that is not a valid
            idx/npz file for the dataset.
        DatasetNotFoundError: Fashion-MNIST/MNIST not found locally and the
            download failed (e.g. offline). The message lists the places
            searched.

    Example:
    ```python
    (x, y), (x_test, y_test) = keras_ae.datasets.load_data("fashion_mnist")
    x.shape, x.dtype          # (60000, 784), float32
    (x, y), _ = keras_ae.datasets.load_data("digits", flatten=False)
    x.shape                   # (1500, 8, 8, 1)
    ```
    """
    name = _check_name(name)
    if name == "digits":
        (x_train, y_train), (x_test, y_test) = _load_digits_uint()
        scale = 16.0
    else:
        (x_train, y_train), (x_test, y_test) = _load_idx_dataset(name)
        scale = 255.0
    shape = IMAGE_SHAPES[name]
    out = []
    for x, y in ((x_train, y_train), (x_test, y_test)):
        x = np.asarray(x, dtype=np.float32) / np.float32(scale)
        x = x.reshape((len(x),) + (shape if not flatten else (int(np.prod(shape)),)))
        out.append((x, np.asarray(y, dtype=np.int32)))
    return tuple(out)


def search_paths(name):
    """The local places `load_data` searches for ``name``, in order.

    Args:
        name: ``"fashion_mnist"`` or ``"mnist"`` (``"digits"`` is embedded).

    Returns:
        A list of ``(kind, path)`` with ``kind`` either ``"idx"`` (a
        directory with the four idx files) or ``"npz"`` (a keras-format npz).

    Example:
    ```python
    for kind, path in keras_ae.datasets.search_paths("mnist"):
        print(kind, path)
    ```
    """
    name = _check_name(name)
    if name == "digits":
        return []
    places = []
    for root in _env_dirs():
        for sub in _DIR_NAMES[name]:
            places.append(("idx", os.path.join(root, sub)))
        places.append(("npz", os.path.join(root, name + ".npz")))
    if name == "fashion_mnist":
        places.append(("idx", DEBIAN_FASHION_MNIST_DIR))
    for home in _keras_homes():
        datasets_dir = os.path.join(home, "datasets")
        if name == "fashion_mnist":
            places.append(("idx", os.path.join(datasets_dir, "fashion-mnist")))
        else:
            places.append(("npz", os.path.join(datasets_dir, "mnist.npz")))
            places.append(("idx", os.path.join(datasets_dir, "mnist")))
    # Remove duplicates while keeping the order.
    seen, unique = set(), []
    for place in places:
        key = (place[0], os.path.abspath(place[1]))
        if key not in seen:
            seen.add(key)
            unique.append(place)
    return unique


def load_npz(path, *, flatten=True):
    """Loads a user's ``.npz`` file as float32 data in [0, 1].

    The file is read with ``allow_pickle=False``. Accepted layouts:

    * ``x_train``, ``x_test`` (and optionally ``y_train``, ``y_test``), the
      ``keras.datasets`` format;
    * ``x`` (and optionally ``y``): a single array, returned as the training
      part with ``(None, None)`` as the test part.

    Integer images (e.g. uint8 pixels in [0, 255]) are divided by 255; float
    data must already lie in [0, 1]. ``(N, H, W)`` images get a channel axis.

    Args:
        path: path to the ``.npz`` file.
        flatten: if True (default) every example is flattened to a vector;
            otherwise images keep their ``(H, W, C)`` shape.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``; missing labels (or the
        missing test part) are None.

    Raises:
        ValueError: missing keys, inconsistent shapes, NaN/Inf values, values
            outside [0, 1] (or [0, 255] for integers), or labels whose length
            does not match.

    Example:
    ```python
    np.savez("mine.npz", x_train=x_train_uint8, x_test=x_test_uint8)
    (x, _), (x_test, _) = keras_ae.datasets.load_npz("mine.npz")
    ```
    """
    path = os.fspath(path)
    arrays = read_npz(path)
    return _split_arrays(arrays, path, flatten=flatten)


def make_dataset(
    source,
    *,
    batch_size=128,
    split="train",
    shuffle=True,
    seed=None,
    cache=False,
    prefetch=True,
    flatten=True,
    with_labels=False,
    shuffle_buffer=None,
    drop_remainder=False,
):
    """A `tf.data.Dataset` over a named dataset or a directory of shards.

    Named datasets come from `load_data` (already in memory). A directory of
    ``.npy``/``.npz`` shards is streamed through
    `tf.data.Dataset.from_generator`: with ``shuffle=False`` shards are read
    one after the other in sorted file order; with ``shuffle=True`` the shard
    order is shuffled every epoch and the examples of 4 shards at a time are
    interleaved before the example shuffle buffer. The whole directory never
    needs to fit in memory. If the directory has a
    sub-directory named ``split`` (e.g. ``train/``), the shards are read from
    there. A ``.npy`` shard holds the examples ``x``; a ``.npz`` shard holds
    ``x`` (and ``y``) or ``x_<split>`` (and ``y_<split>``). Integer shards are
    scaled by 1/255; float shards must lie in [0, 1].

    Args:
        source: a name from `DATASETS`, a directory of shards, or a single
            ``.npy``/``.npz`` file.
        batch_size: examples per batch; None leaves the dataset unbatched.
        split: ``"train"`` or ``"test"``.
        shuffle: shuffle the shard order and the examples every epoch.
        seed: seed of the shuffles (None: different order on every run).
        cache: False (default) for no cache; True to cache the decoded
            examples in memory after the first epoch; a string to cache them
            in that file. Leave it False for shards that do not fit in memory.
        prefetch: add ``prefetch(tf.data.AUTOTUNE)`` at the end.
        flatten: flatten examples to vectors (as `load_data`).
        with_labels: yield ``(x, y)`` instead of ``x``.
        shuffle_buffer: examples in the shuffle buffer; default: the whole
            split for a named dataset, 10000 for shards.
        drop_remainder: drop the last incomplete batch.

    Returns:
        A `tf.data.Dataset` of float32 ``x`` (or ``(x, y)`` with int32 ``y``).

    Raises:
        ValueError: unknown name or split, an empty directory, shards with
            different example shapes, ``with_labels=True`` on shards without
            labels.

    Example:
    ```python
    ds = keras_ae.datasets.make_dataset("fashion_mnist", batch_size=128, seed=0)
    model.fit(ds, epochs=5)
    ds = keras_ae.datasets.make_dataset("/data/shards", batch_size=256)
    ```
    """
    import tensorflow as tf

    if split not in ("train", "test"):
        raise ValueError(
            f"Argument `split` must be 'train' or 'test'. Received: split={split!r}"
        )
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(
            "Argument `batch_size` must be a positive integer or None. "
            f"Received: batch_size={batch_size!r}"
        )
    if shuffle_buffer is not None and (
        not isinstance(shuffle_buffer, int) or shuffle_buffer < 1
    ):
        raise ValueError(
            "Argument `shuffle_buffer` must be a positive integer or None. "
            f"Received: shuffle_buffer={shuffle_buffer!r}"
        )

    source_str = os.fspath(source) if not isinstance(source, str) else source
    if source_str in DATASETS:
        (x_train, y_train), (x_test, y_test) = load_data(source_str, flatten=flatten)
        x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
        ds = tf.data.Dataset.from_tensor_slices((x, y) if with_labels else x)
        buffer = shuffle_buffer or len(x)
    elif os.path.exists(source_str):
        files = _shard_files(source_str, split)
        ds = _shard_dataset(
            files, split, flatten=flatten, with_labels=with_labels, shuffle=shuffle, seed=seed
        )
        buffer = shuffle_buffer or 10000
    else:
        raise ValueError(
            f"Argument `source` must be one of {list(DATASETS)} or an existing "
            f"directory or .npy/.npz file. Received: source={source!r}"
        )

    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


# --------------------------------------------------------------------------
# Named datasets
# --------------------------------------------------------------------------


def _check_name(name):
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset. Expected one of {list(DATASETS)}. Received: name={name!r}"
        )
    return name


def _load_digits_uint():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data.astype(np.float32)
    y = digits.target.astype(np.int32)
    n_train = _INFO["digits"]["num_train"]
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def _env_dirs():
    value = os.environ.get("KERAS_AE_DATA", "")
    return [os.path.expanduser(p) for p in value.split(os.pathsep) if p]


def _keras_homes():
    homes = []
    if os.environ.get("KERAS_HOME"):
        homes.append(os.environ["KERAS_HOME"])
    homes.append(os.path.join(os.path.expanduser("~"), ".keras"))
    homes.append(os.path.join("/tmp", ".keras"))
    return [os.path.expanduser(h) for h in homes]


def _idx_file(directory, stem):
    """The gzipped or plain idx file ``stem`` in ``directory``, or None."""
    for candidate in (stem + ".gz", stem):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    # Some mirrors name the files with a dot: train-images.idx3-ubyte.
    dotted = stem.replace("-idx", ".idx")
    for candidate in (dotted + ".gz", dotted):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _load_idx_dataset(name):
    """Local copies first, then the Keras download; uint8 arrays."""
    searched = [] if _env_dirs() else ["$KERAS_AE_DATA (not set)"]
    for kind, path in search_paths(name):
        if kind == "npz":
            if os.path.isfile(path):
                return _read_keras_npz(path, name)
            searched.append(f"{path} (no such file)")
            continue
        if not os.path.isdir(path):
            searched.append(f"{path}/ (no such directory)")
            continue
        files = {key: _idx_file(path, stem) for key, stem in _IDX_FILES.items()}
        missing = [_IDX_FILES[k] + "[.gz]" for k, f in files.items() if f is None]
        if missing:
            searched.append(f"{path}/ (missing {', '.join(missing)})")
            continue
        arrays = {key: read_idx(f) for key, f in files.items()}
        return _check_arrays(arrays, name, path)

    try:
        (x_train, y_train), (x_test, y_test) = _keras_download(name)
    except Exception as e:  # noqa: BLE001 - any download failure is reported.
        searched.append(f"keras.datasets.{name}.load_data() download ({type(e).__name__}: {e})")
        raise DatasetNotFoundError(_not_found_message(name, searched)) from e
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return _check_arrays(arrays, name, f"keras.datasets.{name}")


def _keras_download(name):
    import keras

    return getattr(keras.datasets, name).load_data()


def _not_found_message(name, searched):
    lines = [f"Could not find the {name!r} dataset. Searched, in order:"]
    lines += [f"  - {place}" for place in searched]
    lines.append("To fix it, do one of:")
    if name == "fashion_mnist":
        lines.append(
            "  - apt-get install -y dataset-fashion-mnist "
            f"(installs the idx files in {DEBIAN_FASHION_MNIST_DIR});"
        )
    lines.append(
        f"  - set KERAS_AE_DATA to a directory holding {name}/ with the four idx "
        f"files ({', '.join(s + '.gz' for s in _IDX_FILES.values())}) or {name}.npz "
        "(keys x_train, y_train, x_test, y_test);"
    )
    lines.append(
        f"  - connect to the internet once so that keras.datasets.{name}.load_data() "
        "fills the Keras cache."
    )
    return "\n".join(lines)


def read_npz(path):
    """Every array of an ``.npz`` file, read without pickles.

    Any unreadable file (truncated, corrupt, a ``.npy`` renamed ``.npz``,
    empty, pickled) raises one `ValueError` that names the file and the reason.

    Returns:
        A dict ``name -> array``.
    """
    path = os.fspath(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single .npy array, not named arrays")
        with loaded as f:
            return {key: f[key] for key in f.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, KeyError, zlib.error, zipfile.BadZipFile) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        if isinstance(e, EOFError) or "No data left" in reason:
            reason = "the file is empty or truncated"
        raise ValueError(
            f"Could not read {path!r} as an .npz file without pickles: {reason}"
        ) from None


def _read_keras_npz(path, name):
    f = read_npz(path)
    keys = ("x_train", "y_train", "x_test", "y_test")
    missing = [k for k in keys if k not in f]
    if missing:
        raise ValueError(
            f"{path!r} is not a keras.datasets npz file for {name!r}: missing keys "
            f"{missing}. Expected keys {list(keys)}. Received keys: {sorted(f)}"
        )
    arrays = {k: f[k] for k in keys}
    return _check_arrays(arrays, name, path)


def _check_arrays(arrays, name, where):
    """Validates the uint8 arrays of an MNIST-like dataset."""
    h, w, _ = IMAGE_SHAPES[name]
    out = []
    for part in ("train", "test"):
        x, y = np.asarray(arrays["x_" + part]), np.asarray(arrays["y_" + part])
        if x.ndim == 2 and x.shape[1] == h * w:
            x = x.reshape(-1, h, w)
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 3 or x.shape[1:] != (h, w):
            raise ValueError(
                f"{name!r} images from {where} must have shape (N, {h}, {w}). "
                f"Received: x_{part}.shape={x.shape}"
            )
        if y.shape != (len(x),):
            raise ValueError(
                f"{name!r} labels from {where} must have shape ({len(x)},), one per "
                f"image. Received: y_{part}.shape={y.shape}"
            )
        if x.dtype != np.uint8:
            raise ValueError(
                f"{name!r} images from {where} must be uint8 pixels. "
                f"Received: x_{part}.dtype={x.dtype}"
            )
        out.append((x, y))
    return tuple(out)


# --------------------------------------------------------------------------
# idx files
# --------------------------------------------------------------------------


def read_idx(path):
    """Reads an idx file (gzipped if its name ends in ``.gz``) with NumPy.

    The idx format (LeCun's MNIST format) starts with a 4-byte magic number
    ``0x00 0x00 <type> <ndim>`` followed by ``ndim`` big-endian uint32 sizes
    and the data.

    Args:
        path: path to the file.

    Returns:
        A read-only NumPy array of the stored shape and dtype.

    Raises:
        ValueError: bad magic number, unknown type code or a size that does
            not match the header.

    Example:
    ```python
    x = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    x.shape   # (10000, 28, 28)
    ```
    """
    stat = os.stat(path)
    return _read_idx_cached(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path, mtime_ns, size):
    del mtime_ns, size  # Only part of the cache key.
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"Could not read idx file {path!r}: {e}") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path!r} is not an idx file: bad magic number. Expected bytes "
            "00 00 <type in 08,09,0B,0C,0D,0E> <ndim> (e.g. 0x00000803 for images, "
            f"0x00000801 for labels). Received: magic=0x{data[:4].hex()}"
        )
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path!r}: truncated idx header. Received: {len(data)} bytes")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path!r}: the idx header announces shape {shape} ({expected} bytes of data) "
            f"but the file holds {len(data) - header} bytes of data."
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


# --------------------------------------------------------------------------
# User arrays and shards
# --------------------------------------------------------------------------


def _prepare_x(x, where, flatten):
    """Validates one array of examples and returns float32 in [0, 1]."""
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(
            f"{where}: examples must be an array of shape (N, ...) with N >= 1 and at "
            f"least one feature. Received: shape={x.shape}"
        )
    if x.dtype == np.bool_:
        x = x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"{where}: integer pixels must lie in [0, 255]. "
                f"Received: min={lo}, max={hi}"
            )
        x = x.astype(np.float32) / np.float32(255.0)
    elif np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32, copy=False)
        if not np.all(np.isfinite(x)):
            raise ValueError(
                f"{where}: data contains NaN or Inf. "
                f"Received: {int(np.sum(~np.isfinite(x)))} non-finite values"
            )
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{where}: float data must lie in [0, 1] (scale it first). "
                f"Received: min={lo}, max={hi}"
            )
    else:
        raise ValueError(
            f"{where}: data must be numeric. Received: dtype={x.dtype}"
        )
    if flatten:
        return x.reshape(len(x), -1)
    if x.ndim == 3:
        x = x[..., None]
    return x


def _prepare_y(y, n, where):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (n,):
        raise ValueError(
            f"{where}: labels must have shape ({n},), one per example. "
            f"Received: shape={y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(y == np.round(y)):
            raise ValueError(
                f"{where}: labels must be integers. Received: dtype={y.dtype}"
            )
    return y.astype(np.int32)


def _split_arrays(arrays, where, flatten):
    keys = set(arrays)
    if {"x_train", "x_test"} <= keys:
        parts = []
        for part in ("train", "test"):
            x = _prepare_x(arrays["x_" + part], f"{where}[x_{part}]", flatten)
            y = arrays.get("y_" + part)
            if y is not None:
                y = _prepare_y(y, len(x), f"{where}[y_{part}]")
            parts.append((x, y))
        if parts[0][0].shape[1:] != parts[1][0].shape[1:]:
            raise ValueError(
                f"{where}: x_train and x_test must have the same example shape. "
                f"Received: {parts[0][0].shape[1:]} and {parts[1][0].shape[1:]}"
            )
        return tuple(parts)
    if "x" in keys:
        x = _prepare_x(arrays["x"], f"{where}[x]", flatten)
        y = arrays.get("y")
        if y is not None:
            y = _prepare_y(y, len(x), f"{where}[y]")
        return (x, y), (None, None)
    raise ValueError(
        f"{where}: expected keys 'x_train' and 'x_test' (optionally 'y_train', "
        f"'y_test'), or 'x' (optionally 'y'). Received keys: {sorted(keys)}"
    )


def _shard_files(source, split):
    if os.path.isfile(source):
        files = [source]
    else:
        directory = source
        if os.path.isdir(os.path.join(source, split)):
            directory = os.path.join(source, split)
        files = sorted(
            os.path.join(directory, f)
            for f in os.listdir(directory)
            if f.endswith((".npy", ".npz"))
        )
    if not files or not all(f.endswith((".npy", ".npz")) for f in files):
        raise ValueError(
            "Argument `source` must hold at least one .npy or .npz shard. "
            f"Received: source={source!r}"
        )
    return files


def _read_shard(path, split, flatten, with_labels):
    """The (x, y) arrays of one shard, validated; y is None without labels."""
    path = path.decode() if isinstance(path, bytes) else path
    if path.endswith(".npy"):
        try:
            x, y = np.load(path, allow_pickle=False), None
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(f"Could not read {path!r} as a .npy array: {e}") from None
    else:
        f = read_npz(path)
        if "x_" + split in f:
            x, y = f["x_" + split], f.get("y_" + split)
        elif "x" in f:
            x, y = f["x"], f.get("y")
        else:
            raise ValueError(
                f"Shard {path!r} must hold 'x' (and 'y') or 'x_{split}' (and "
                f"'y_{split}'). Received keys: {sorted(f)}"
            )
    x = _prepare_x(x, f"shard {path!r}", flatten)
    if with_labels:
        if y is None:
            raise ValueError(
                f"with_labels=True but shard {path!r} holds no labels "
                f"('y' or 'y_{split}'). Received: with_labels=True"
            )
        y = _prepare_y(y, len(x), f"shard {path!r}")
    return x, y


def _shard_dataset(files, split, flatten, with_labels, shuffle, seed):
    """A dataset streaming the examples of ``files``, a few shards at a time."""
    import tensorflow as tf

    # Peek at the first shard only for the element signature.
    x0, _ = _read_shard(files[0], split, flatten, with_labels)
    x_spec = tf.TensorSpec(shape=x0.shape[1:], dtype=tf.float32)
    del x0
    if with_labels:
        signature = (x_spec, tf.TensorSpec(shape=(), dtype=tf.int32))
    else:
        signature = x_spec

    def generate(path):
        x, y = _read_shard(path, split, flatten, with_labels)
        if x.shape[1:] != tuple(x_spec.shape):
            raise ValueError(
                f"All shards must have the same example shape {tuple(x_spec.shape)}. "
                f"Received: shape={x.shape[1:]} in {path!r}"
            )
        for i in range(len(x)):
            yield (x[i], y[i]) if with_labels else x[i]

    def read(path):
        return tf.data.Dataset.from_generator(
            generate, output_signature=signature, args=(path,)
        )

    paths = tf.data.Dataset.from_tensor_slices(files)
    if not shuffle:
        # Examples in file order, one shard after the other.
        return paths.interleave(read, cycle_length=1)
    # Shuffled shard order, and examples of 4 shards mixed before the shuffle
    # buffer: 4 shards are held in memory at a time.
    paths = paths.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    return paths.interleave(read, cycle_length=min(len(files), 4), block_length=1)
