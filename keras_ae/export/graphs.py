"""The endpoints of a model as TensorFlow functions (TensorFlow backend only).

Every format is written from these functions: the SavedModel holds them all,
ONNX and LiteRT the portable ones (no random ops).
"""

import inspect

import tensorflow as tf


def _spec(name, shape, dtype):
    return tf.TensorSpec(shape, tf.as_dtype(dtype), name=name)


def _positional(fn, names):
    """``fn`` with the input names as its parameters (``served.decode(z=z)``)."""

    def positional(*args):
        return fn(**dict(zip(names, args)))

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    positional.__signature__ = inspect.Signature([inspect.Parameter(n, kind) for n in names])
    return positional


def endpoint_functions(model):
    """The endpoints of ``model`` as plain TensorFlow functions.

    Built from `BaseAutoencoder.export_endpoints`, plus ``sample(n)`` (a
    fresh seed every call) for models with ``sample_seeded``.

    Args:
        model: a keras_ae model (TensorFlow backend).

    Returns:
        A dict ``name -> (fn, input_signature, endpoint)`` in export order;
        ``fn`` takes the inputs positionally and returns a dict of named
        float32 outputs; ``endpoint`` is the `Endpoint` (None for ``sample``).

    Example:
        >>> fns = endpoint_functions(vae)
        >>> fns["encode"][0](tf.constant(x))["codes"]
    """
    fns = {}
    for name, endpoint in model.export_endpoints().items():
        names = tuple(endpoint.inputs)
        signature = [_spec(k, *endpoint.inputs[k]) for k in names]

        fns[name] = (_positional(endpoint.fn, names), signature, endpoint)
    if "sample_seeded" in fns:
        seeded, signature, _ = fns["sample_seeded"]

        def sample(n):
            seed = tf.random.uniform((), maxval=2**31 - 1, dtype=tf.int32)
            return seeded(n, seed)


        fns["sample"] = (sample, signature[:1], None)
    return fns


def portable(fns):
    """The functions of `endpoint_functions` without random ops (ONNX, LiteRT)."""
    return {
        name: value
        for name, value in fns.items()
        if value[2] is not None and not value[2].random
    }
