"""One vocabulary for checking arguments, with one message style.

Every argument check in keras_ae goes through these helpers, so every bad
argument is reported the same way, before anything is built or trained:
``ValueError: `name` must be <what>. Received: name=<value>``. Python and
NumPy numbers are treated alike; booleans and strings are never numbers.
"""

import math
import numbers

import numpy as np


def _fail(name, what, value):
    raise ValueError(f"`{name}` must be {what}. Received: {name}={value!r}")


def is_integer(value):
    """Whether ``value`` is a Python or NumPy integer (not a bool)."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def is_number(value):
    """Whether ``value`` is a real Python or NumPy number (not a bool)."""
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _bounds(low, high, low_inclusive, high_inclusive):
    parts = []
    if low is not None:
        parts.append(f">= {low:g}" if low_inclusive else f"> {low:g}")
    if high is not None:
        parts.append(f"<= {high:g}" if high_inclusive else f"< {high:g}")
    return " and ".join(parts)


def _in_bounds(v, low, high, low_inclusive, high_inclusive):
    if low is not None and not (v >= low if low_inclusive else v > low):
        return False
    if high is not None and not (v <= high if high_inclusive else v < high):
        return False
    return True


def integer(value, name, *, low=None, high=None, allow_none=False):
    """An integer in ``[low, high]``, returned as a Python int.

    Args:
        value: the argument.
        name: its name, for the message.
        low: optional inclusive lower bound.
        high: optional inclusive upper bound.
        allow_none: accept (and return) None.

    Example:
        >>> integer(np.int64(3), "latent_dim", low=1)
        3
    """
    if value is None and allow_none:
        return None
    if not is_integer(value) or not _in_bounds(value, low, high, True, True):
        bounds = _bounds(low, high, True, True)
        _fail(name, "an integer" + (f" {bounds}" if bounds else ""), value)
    return int(value)


def number(
    value,
    name,
    *,
    low=None,
    high=None,
    low_inclusive=True,
    high_inclusive=True,
    allow_none=False,
):
    """A finite real number within the bounds, returned as a Python float.

    Example:
        >>> number(np.float32(0.5), "rate", low=0.0, high=1.0)
        0.5
    """
    if value is None and allow_none:
        return None
    ok = is_number(value) and math.isfinite(float(value))
    if not ok or not _in_bounds(float(value), low, high, low_inclusive, high_inclusive):
        bounds = _bounds(low, high, low_inclusive, high_inclusive)
        _fail(name, "a finite number" + (f" {bounds}" if bounds else ""), value)
    return float(value)


def integer_tuple(value, name, *, low=1, allow_empty=True):
    """A tuple of integers ``>= low`` from an integer or a sequence of them.

    Strings, floats and bools are refused (``"44"`` is not ``(4, 4)``).

    Example:
        >>> integer_tuple([512, 256], "hidden_units")
        (512, 256)
    """
    what = f"an integer >= {low} or a sequence of them"
    if is_integer(value):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, np.ndarray)):
        _fail(name, what, value)
    items = tuple(value)
    if not allow_empty and not items:
        _fail(name, "a non-empty sequence of integers", value)
    if not all(is_integer(v) and v >= low for v in items):
        _fail(name, what, value)
    return tuple(int(v) for v in items)


def one_of(value, name, options):
    """``value`` if it is one of ``options``."""
    if not isinstance(value, str) or value not in options:
        _fail(name, f"one of {tuple(options)}", value)
    return value
