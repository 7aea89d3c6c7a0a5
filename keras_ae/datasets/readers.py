"""Readers for idx and ``.npz`` files, and the checks that turn arrays into data.

Integer images are divided by 255; float data must already lie in [0, 1].
idx files may be gzipped (``*.gz``) or not; their magic numbers are validated.
"""

import functools
import gzip
import os
import zipfile
import zlib

import numpy as np

# idx type codes (third byte of the magic number) -> numpy dtype (big endian).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


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


def prepare_x(x, where, flatten):
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


def prepare_y(y, n, where):
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
            x = prepare_x(arrays["x_" + part], f"{where}[x_{part}]", flatten)
            y = arrays.get("y_" + part)
            if y is not None:
                y = prepare_y(y, len(x), f"{where}[y_{part}]")
            parts.append((x, y))
        if parts[0][0].shape[1:] != parts[1][0].shape[1:]:
            raise ValueError(
                f"{where}: x_train and x_test must have the same example shape. "
                f"Received: {parts[0][0].shape[1:]} and {parts[1][0].shape[1:]}"
            )
        return tuple(parts)
    if "x" in keys:
        x = prepare_x(arrays["x"], f"{where}[x]", flatten)
        y = arrays.get("y")
        if y is not None:
            y = prepare_y(y, len(x), f"{where}[y]")
        return (x, y), (None, None)
    raise ValueError(
        f"{where}: expected keys 'x_train' and 'x_test' (optionally 'y_train', "
        f"'y_test'), or 'x' (optionally 'y'). Received keys: {sorted(keys)}"
    )

