"""Random draws from explicit seed tensors, on every backend.

`keras.random` ops take an int or a `keras.random.SeedGenerator`, not a seed
tensor (Keras 3.15, TensorFlow backend), while keras_ae's layers and priors
draw from seed tensors (one ``seed_generator.next()`` per op, folded per
replica, or a fixed seed for reproducible inference and export). `SeedTensor`
wraps such a tensor as a generator that always returns it, so every draw
goes through `keras.random` and is defined once for all backends and for
the exported graphs.
"""

import keras
from keras import ops

from keras_ae import backend


class SeedTensor(keras.random.SeedGenerator):
    """A `SeedGenerator` stand-in that returns one fixed seed tensor.

    Args:
        seed: a seed tensor of shape ``(2,)``.
    """

    def __init__(self, seed):  # noqa: D107 - no state variable on purpose
        self._seed = seed

    def next(self, ordered=True):
        return self._seed


def seed_tensor(seed):
    """The seed tensor ``[seed, 0]`` of an integer (any backend)."""
    return ops.convert_to_tensor([int(seed), 0], dtype=backend.SEED_DTYPE)


def fold(seed, i):
    """A seed derived from ``seed`` for the ``i``-th independent draw."""
    offset = ops.convert_to_tensor([0, 7919 * (i + 1)], dtype=seed.dtype)
    return seed + offset


def normal(shape, seed, stddev=1.0, dtype="float32"):
    """Normal draws of ``shape`` from the seed tensor ``seed``."""
    return keras.random.normal(shape, stddev=stddev, dtype=dtype, seed=SeedTensor(seed))


def uniform(shape, seed, minval=0.0, maxval=1.0, dtype="float32"):
    """Uniform draws in ``[minval, maxval)`` from the seed tensor ``seed``."""
    return keras.random.uniform(
        shape, minval=minval, maxval=maxval, dtype=dtype, seed=SeedTensor(seed)
    )


def randint(shape, maxval, seed):
    """Integers in ``[0, maxval)`` (int32) from the seed tensor ``seed``."""
    return keras.random.randint(shape, 0, maxval, dtype="int32", seed=SeedTensor(seed))
