"""Checks on the data handed to a model, made before anything trains.

Arrays are checked whole (shape, real numeric dtype, at least one example,
finite values, ``[0, 1]`` targets for binary cross-entropy, matching
lengths of ``x``, ``y`` and ``sample_weight``). A `tf.data.Dataset` is
checked in two steps: its element spec (shape, dtype) before the first step,
and every batch as it is read (finite values, range), failing with a
`DataError` at the batch where bad data appears rather than training to NaN
weights.
"""

import numpy as np

#: Marker in the message of a failed per-batch dataset check.
_MARKER = "keras_ae data check: "


class DataError(ValueError):
    """Data a model cannot train on (raised before or during `fit`)."""


def is_dataset(x):
    """Whether ``x`` is a `tf.data.Dataset` (without importing TensorFlow)."""
    return type(x).__module__.startswith("tensorflow.python.data")


def as_array(x, name):
    """A Python list (or nested lists) as a NumPy array; other inputs unchanged."""
    if not isinstance(x, list):
        return x
    try:
        arr = np.asarray(x)
    except ValueError:
        arr = np.asarray(x, dtype=object)
    if arr.dtype == object:
        raise DataError(
            f"Expected `{name}` to be an array of numbers (or a list convertible "
            f"to one). Received: a ragged list of {len(x)} items"
        )
    return arr


def _describe(shape):
    return "(N, " + ", ".join(map(str, shape)) + ")"


def check_array(x, name, input_shape, *, unit_range=False, allow_empty=False):
    """Checks an array or tensor of examples; returns it as NumPy.

    Args:
        x: array-like of shape ``(N,) + input_shape``.
        name: its name in messages (``"x"``, ``"validation_y"``...).
        input_shape: expected shape of one example.
        unit_range: require values in ``[0, 1]`` (binary cross-entropy targets).
        allow_empty: accept ``N = 0`` (inference on no examples).

    Returns:
        The data as a NumPy array.
    """
    import keras

    arr = x if isinstance(x, np.ndarray) else keras.ops.convert_to_numpy(x)
    shape = tuple(arr.shape)
    if len(shape) < 1 or shape[1:] != tuple(input_shape):
        raise DataError(
            f"Expected `{name}` of shape {_describe(input_shape)} for this model "
            f"(input_shape={tuple(input_shape)}). Received: {name}.shape={shape}"
        )
    if np.iscomplexobj(arr) or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise DataError(
            f"Expected real numbers (float or int) in `{name}`. "
            f"Received: {name}.dtype={arr.dtype}"
        )
    if not allow_empty and shape[0] == 0:
        raise DataError(
            f"Expected at least one example in `{name}`. Received: {name}.shape={shape}"
        )
    if arr.size and not np.isfinite(arr).all():
        bad = int(arr.size - np.isfinite(arr).sum())
        raise DataError(
            f"Expected finite values in `{name}`. Received: {bad} NaN or Inf "
            f"value(s) in {name} of shape {shape}"
        )
    if unit_range and arr.size:
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise DataError(
                f"`reconstruction_loss='bce'` expects targets in [0, 1]; "
                f"rescale the data (e.g. x / 255.) or use 'mse'. "
                f"Received: {name} in [{lo:g}, {hi:g}]"
            )
    return arr


def check_sample_weight(sample_weight, n, name="sample_weight"):
    """Checks per-example weights for ``n`` examples; returns them as NumPy."""
    if sample_weight is None:
        return None
    w = as_array(sample_weight, name)
    w = np.asarray(w)
    if w.ndim != 1 or len(w) != n:
        raise DataError(
            f"Expected `{name}` of shape ({n},), one weight per example. "
            f"Received: {name}.shape={w.shape}"
        )
    if not np.issubdtype(w.dtype, np.number) or np.iscomplexobj(w):
        raise DataError(f"Expected real numbers in `{name}`. Received: dtype={w.dtype}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise DataError(f"Expected finite weights >= 0 in `{name}`.")
    return w


def split_validation_data(validation_data):
    """``(x, y, sample_weight)`` of Keras's ``validation_data`` forms.

    A tuple or a list of arrays is read as Keras reads it (``(x,)``,
    ``(x, y)``, ``(x, y, sample_weight)``); a single array is ``x``.
    """
    if isinstance(validation_data, (tuple, list)) and validation_data and not (
        isinstance(validation_data, list)
        and all(np.isscalar(v) or isinstance(v, (int, float)) for v in validation_data)
    ):
        items = list(validation_data) + [None] * (3 - len(validation_data))
        if len(validation_data) > 3:
            raise DataError(
                "Expected `validation_data` as x, (x,), (x, y) or (x, y, sample_weight). "
                f"Received: a sequence of {len(validation_data)} items"
            )
        return items[0], items[1], items[2]
    return validation_data, None, None


def check_dataset(dataset, name, input_shape, *, unit_range=False):
    """Checks a `tf.data.Dataset`'s element spec and wraps it with batch checks.

    The spec must be batched examples of ``input_shape`` with a real dtype
    (``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``). Each batch is
    then checked as it is read: a NaN/Inf or out-of-range value raises
    `DataError` (through `reraise`) at that step.

    Returns:
        The wrapped dataset.
    """
    import tensorflow as tf

    spec = dataset.element_spec
    parts = spec if isinstance(spec, tuple) else (spec,)
    if not parts or len(parts) > 3:
        raise DataError(
            f"Expected `{name}` to yield x, (x,), (x, y) or (x, y, sample_weight). "
            f"Received: element_spec={spec}"
        )
    for label, part in zip(("x", "y"), parts[:2]):
        if not isinstance(part, tf.TensorSpec):
            raise DataError(
                f"Expected `{name}` to yield tensors for {label}. Received: {part}"
            )
        shape = tuple(part.shape.as_list()) if part.shape.rank is not None else None
        if shape is None or shape[1:] != tuple(input_shape):
            raise DataError(
                f"Expected `{name}` to yield batches of {label} of shape "
                f"{_describe(input_shape).replace('N', 'batch')} for this model "
                f"(input_shape={tuple(input_shape)}). Received: element_spec shape "
                f"{shape} (an unbatched dataset needs .batch(...))"
            )
        if not (part.dtype.is_floating or part.dtype.is_integer) or part.dtype.is_complex:
            raise DataError(
                f"Expected real numbers (float or int) in `{name}`. "
                f"Received: {label} dtype {part.dtype.name}"
            )

    def check(*batch):
        checked = []
        for i, tensor in enumerate(batch):
            if i < 2:
                values = tf.cast(tensor, tf.float32)
                tensor = tf.debugging.assert_all_finite(
                    tensor if tensor.dtype.is_floating else values,
                    f"{_MARKER}Expected finite values in `{name}`; a batch holds NaN or Inf",
                )
                if unit_range and (i == 1 or len(batch) == 1):
                    with tf.control_dependencies(
                        [
                            tf.debugging.assert_greater_equal(
                                values, 0.0, message=_range_message(name)
                            ),
                            tf.debugging.assert_less_equal(
                                values, 1.0, message=_range_message(name)
                            ),
                        ]
                    ):
                        tensor = tf.identity(tensor)
            checked.append(tensor)
        return tuple(checked) if len(checked) > 1 else checked[0]

    options = dict(num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if isinstance(spec, tuple):
        return dataset.map(check, **options).prefetch(tf.data.AUTOTUNE)
    return dataset.map(lambda x: check(x), **options).prefetch(tf.data.AUTOTUNE)


def _range_message(name):
    return (
        f"{_MARKER}`reconstruction_loss='bce'` expects targets in [0, 1]; a batch of "
        f"`{name}` holds values outside; rescale the data (e.g. x / 255.) or use 'mse'"
    )


def reraise(error):
    """Re-raises a failed data check from inside a TensorFlow input pipeline
    (a per-batch check, or a reader's `ValueError` in a `tf.py_function`) as
    one clear `DataError`; returns for any other error."""
    message = str(error)
    if _MARKER in message:
        text = message.split(_MARKER, 1)[1].splitlines()[0]
        for stop in (" : ", "\n"):
            text = text.split(stop)[0]
        raise DataError(text) from None
    if type(error).__name__ == "InvalidArgumentError":
        for line in message.splitlines():
            line = line.strip()
            if line.startswith("ValueError: "):
                raise DataError(line[len("ValueError: "):]) from None
