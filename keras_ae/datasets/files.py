"""Where MNIST-like datasets are found on disk, and reading them from there.

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
raised, naming every place that was searched and how to fix it.
"""

import os

import numpy as np

from keras_ae.datasets.catalog import IMAGE_SHAPES
from keras_ae.datasets.catalog import check_name
from keras_ae.datasets.readers import read_idx
from keras_ae.datasets.readers import read_npz

DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
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
    name = check_name(name)
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


def load_idx_dataset(name):
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

