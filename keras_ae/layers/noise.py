"""Corruption layers for denoising autoencoders (Vincent et al. 2008, 2010).

Each layer corrupts its input only when called with ``training=True`` and is
the identity otherwise (``training=False`` or ``None``), so a denoising model
sees fresh noise every step of `fit` and none in `predict` or in an export.

The noise is drawn in float32 with `keras.random` from the seed tensor
returned by `RandomLayer.next_seed` (saved with the model, distinct on every
replica), then cast to the layer's compute dtype, so the same seed gives the
same corruption under ``float32`` and ``mixed_float16`` policies.
"""

import keras
from keras import ops

from keras_ae import rng
from keras_ae import validation
from keras_ae.layers.random_layer import RandomLayer


def _check_rate(rate):
    return validation.number(rate, "rate", low=0.0, high=1.0)


def _uniform(layer, inputs):
    """Uniform [0, 1) draws shaped like ``inputs``, in float32."""
    return rng.uniform(ops.shape(inputs), layer.next_seed())


@keras.saving.register_keras_serializable(package="keras_ae")
class GaussianNoise(RandomLayer):
    """Additive isotropic Gaussian noise, optionally clipped to a range.

    In training the output is ``x + N(0, stddev²)`` (clipped to ``clip`` if
    given, e.g. ``(0.0, 1.0)`` to stay in the data range of images); at
    inference it is ``x`` unchanged (no clipping either). Unlike
    ``keras.layers.GaussianNoise``, any ``stddev >= 0`` is accepted;
    ``stddev=0`` is the identity.

    Args:
        stddev: non-negative float, standard deviation of the noise.
        clip: ``None`` or a pair ``(low, high)`` with ``low < high``: the
            range the corrupted output is clipped to.
        seed: optional integer seed.
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Example:
        >>> layer = GaussianNoise(0.5, clip=(0.0, 1.0), seed=0)
        >>> x = np.full((2, 4), 0.5, "float32")
        >>> y = layer(x, training=True)   # noisy, within [0, 1]
        >>> z = layer(x)                  # == x
    """

    def __init__(self, stddev, clip=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        stddev = validation.number(stddev, "stddev", low=0.0)
        if clip is not None:
            if (
                not isinstance(clip, (list, tuple))
                or len(clip) != 2
                or not all(validation.is_number(c) for c in clip)
                or not clip[0] < clip[1]
            ):
                raise ValueError(
                    "Argument `clip` must be None or a pair (low, high) of "
                    f"floats with low < high. Received: clip={clip!r}"
                )
            clip = (float(clip[0]), float(clip[1]))
        self.stddev = float(stddev)
        self.clip = clip
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.stddev == 0.0:
            return inputs
        inputs = ops.convert_to_tensor(inputs)
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if "float" not in dtype:
            dtype = self.compute_dtype
            inputs = ops.cast(inputs, dtype)
        noise = rng.normal(ops.shape(inputs), self.next_seed(), stddev=self.stddev)
        outputs = inputs + ops.cast(noise, dtype)
        if self.clip is not None:
            outputs = ops.clip(outputs, self.clip[0], self.clip[1])
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "clip": self.clip})
        return config


@keras.saving.register_keras_serializable(package="keras_ae")
class MaskingNoise(RandomLayer):
    """Masking noise: sets a random fraction ``rate`` of the entries to 0.

    Vincent et al.'s masking corruption: each entry is independently zeroed
    with probability ``rate`` and kept unchanged otherwise. Unlike
    ``keras.layers.Dropout`` the kept entries are *not* rescaled by
    ``1 / (1 - rate)``: the model must reconstruct the clean input from the
    partially destroyed one. Identity at inference.

    Args:
        rate: float in [0, 1], probability that an entry is zeroed.
        seed: optional integer seed.
        **kwargs: base layer arguments.

    Example:
        >>> layer = MaskingNoise(0.3, seed=0)
        >>> y = layer(np.ones((2, 100), "float32"), training=True)
        >>> # about 30% of y is 0, the rest is 1
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(rate)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        inputs = ops.convert_to_tensor(inputs)
        keep = _uniform(self, inputs) >= self.rate
        return ops.where(keep, inputs, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate})
        return config


@keras.saving.register_keras_serializable(package="keras_ae")
class SaltAndPepperNoise(RandomLayer):
    """Salt-and-pepper noise: sets a fraction ``rate`` of entries to low or high.

    Each entry is independently corrupted with probability ``rate``; a
    corrupted entry becomes ``low`` ("pepper") or ``high`` ("salt") with
    equal probability, the others are unchanged (Vincent et al. 2010).
    Identity at inference.

    Args:
        rate: float in [0, 1], probability that an entry is corrupted.
        low: value of pepper entries (the data minimum, 0 for images).
        high: value of salt entries (the data maximum, 1 for images);
            must be greater than ``low``.
        seed: optional integer seed.
        **kwargs: base layer arguments.

    Example:
        >>> layer = SaltAndPepperNoise(0.2, seed=0)
        >>> y = layer(np.full((2, 100), 0.5, "float32"), training=True)
        >>> # about 10% of y is 0, 10% is 1, the rest 0.5
    """

    def __init__(self, rate, low=0.0, high=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(rate)
        low = validation.number(low, "low")
        high = validation.number(high, "high")
        if not low < high:
            raise ValueError(
                "Argument `high` must be greater than `low`. "
                f"Received: low={low!r}, high={high!r}"
            )
        self.low = float(low)
        self.high = float(high)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        inputs = ops.convert_to_tensor(inputs)
        # One uniform draw u: u < rate/2 -> low, rate/2 <= u < rate -> high.
        u = _uniform(self, inputs)
        low = ops.cast(self.low, inputs.dtype)
        high = ops.cast(self.high, inputs.dtype)
        outputs = ops.where(u < self.rate, high, inputs)
        return ops.where(u < 0.5 * self.rate, low, outputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "low": self.low, "high": self.high})
        return config


_SHORTCUTS = {
    "gaussian": (GaussianNoise, "stddev", 0.3),
    "masking": (MaskingNoise, "rate", 0.3),
    "salt_and_pepper": (SaltAndPepperNoise, "rate", 0.2),
}
_ALIASES = {
    "gaussian_noise": "gaussian",
    "masking_noise": "masking",
    "mask": "masking",
    "salt_and_pepper_noise": "salt_and_pepper",
    "salt_pepper": "salt_and_pepper",
    "s&p": "salt_and_pepper",
}


def corrupt(noise, x, seed=0, batch_size=256):
    """A corrupted copy of ``x`` made by a keras_ae noise layer, reproducibly.

    The layer's own random state is left untouched: a fresh layer of the same
    configuration with seed ``seed`` draws the noise.

    Args:
        noise: a noise layer (`GaussianNoise`, `MaskingNoise`, `SaltAndPepperNoise`).
        x: NumPy array of examples.
        seed: seed of the fresh layer.
        batch_size: examples corrupted per call.

    Returns:
        A float32 NumPy array like ``x``.

    Example:
        >>> x_noisy = corrupt(MaskingNoise(0.3), x_test, seed=1)
    """
    import numpy as np

    config = dict(noise.get_config())
    if "seed" in config:
        config["seed"] = seed
    layer = noise.__class__.from_config(config)
    parts = [
        np.asarray(layer(x[i : i + batch_size], training=True), "float32")
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(parts) if parts else x.copy()


def get_noise(identifier, noise_level=None, seed=None):
    """Resolves a corruption-layer identifier to a layer (or ``None``).

    Args:
        identifier: one of
            * ``None``: no corruption, returns ``None``;
            * a `keras.layers.Layer` instance: returned as is (``noise_level``
              and ``seed`` must then be ``None``);
            * a config dict from ``keras.saving.serialize_keras_object``;
            * a string shortcut: ``"gaussian"`` (``stddev=noise_level``,
              default 0.3), ``"masking"`` (``rate=noise_level``, default 0.3)
              or ``"salt_and_pepper"`` (``rate=noise_level``, default 0.2).
              Case, ``-`` and spaces are ignored, and the class names
              (``"GaussianNoise"``...) are accepted too.
        noise_level: strength used with a string shortcut.
        seed: seed used with a string shortcut.

    Returns:
        A corruption layer, or ``None``.

    Raises:
        ValueError: for an unknown string or an unusable identifier.

    Example:
        >>> get_noise("masking", noise_level=0.5, seed=1)   # MaskingNoise(rate=0.5)
        >>> get_noise(GaussianNoise(0.1))                   # the same instance
    """
    if identifier is None:
        return None
    if isinstance(identifier, keras.layers.Layer):
        if noise_level is not None or seed is not None:
            raise ValueError(
                "`noise_level` and `seed` only apply to string shortcuts; pass "
                "them to the layer's constructor instead. Received: "
                f"noise_level={noise_level!r}, seed={seed!r}"
            )
        return identifier
    if isinstance(identifier, dict):
        layer = keras.saving.deserialize_keras_object(
            identifier,
            module_objects={
                "GaussianNoise": GaussianNoise,
                "MaskingNoise": MaskingNoise,
                "SaltAndPepperNoise": SaltAndPepperNoise,
            },
        )
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(
                "A noise config must describe a layer. "
                f"Received: identifier={identifier!r}"
            )
        return layer
    if isinstance(identifier, str):
        key = identifier.strip()
        for cls in (GaussianNoise, MaskingNoise, SaltAndPepperNoise):
            if key == cls.__name__:
                key = {
                    GaussianNoise: "gaussian",
                    MaskingNoise: "masking",
                    SaltAndPepperNoise: "salt_and_pepper",
                }[cls]
        key = key.lower().replace("-", "_").replace(" ", "_")
        key = _ALIASES.get(key, key)
        if key not in _SHORTCUTS:
            raise ValueError(
                f"Unknown noise {identifier!r}. Valid string shortcuts are "
                f"{sorted(_SHORTCUTS)}. Received: identifier={identifier!r}"
            )
        cls, arg, default = _SHORTCUTS[key]
        level = default if noise_level is None else noise_level
        return cls(**{arg: level}, seed=seed)
    raise ValueError(
        "Could not interpret noise identifier: expected None, a layer, a "
        f"config dict or one of {sorted(_SHORTCUTS)}. "
        f"Received: identifier={identifier!r}"
    )
