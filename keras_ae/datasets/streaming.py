"""`make_dataset`: a `tf.data.Dataset` over a named dataset or streamed shards."""

import os

import numpy as np

from keras_ae.datasets.catalog import DATASETS
from keras_ae.datasets.load import load_data
from keras_ae.datasets.readers import prepare_x
from keras_ae.datasets.readers import prepare_y
from keras_ae.datasets.readers import read_npz

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
    x = prepare_x(x, f"shard {path!r}", flatten)
    if with_labels:
        if y is None:
            raise ValueError(
                f"with_labels=True but shard {path!r} holds no labels "
                f"('y' or 'y_{split}'). Received: with_labels=True"
            )
        y = prepare_y(y, len(x), f"shard {path!r}")
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

