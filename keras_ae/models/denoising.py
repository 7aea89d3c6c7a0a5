"""The denoising autoencoder (Vincent et al. 2008, 2010)."""

import keras
import numpy as np

from keras_ae.layers.noise import corrupt
from keras_ae.layers.noise import get_noise
from keras_ae import validation
from keras_ae.models.base import BaseAutoencoder


def _noise_strength(layer):
    """The ``stddev``/``rate`` of a keras_ae corruption layer (else None)."""
    for name in ("stddev", "rate"):
        value = getattr(layer, name, None)
        if validation.is_number(value):
            return float(value)
    return None


def _resolve_noise(noise, noise_level, seed):
    """The corruption layer for the `DenoisingAutoencoder` arguments."""
    if noise is None:
        raise ValueError(
            "`DenoisingAutoencoder` needs a corruption: 'masking', 'gaussian', "
            "'salt_and_pepper' or a noise layer; use `keras_ae.Autoencoder` for "
            f"none. Received: noise={noise!r}"
        )
    level = validation.number(noise_level, "noise_level", allow_none=True)
    if isinstance(noise, str):
        layer_seed = int(seed) if validation.is_integer(seed) else None
        try:
            return get_noise(noise, noise_level=level, seed=layer_seed)
        except ValueError as error:
            raise ValueError(
                f"Invalid `noise`/`noise_level`: {error}. "
                f"Received: noise={noise!r}, noise_level={noise_level!r}"
            ) from None
    try:
        layer = get_noise(noise)
    except ValueError as error:
        raise ValueError(f"Invalid `noise`: {error}. Received: noise={noise!r}") from None
    if level is not None and _noise_strength(layer) != level:
        raise ValueError(
            "`noise_level` only sets the strength of a string shortcut; with a "
            "noise layer it must be None or equal to the layer's stddev/rate "
            f"({_noise_strength(layer)}). Received: noise_level={noise_level!r}"
        )
    return layer


@keras.saving.register_keras_serializable(package="keras_ae")
class DenoisingAutoencoder(BaseAutoencoder):
    """Autoencoder trained to reconstruct clean inputs from corrupted ones.

    Vincent et al. (2008, 2010): a corruption layer inside the model corrupts
    each training batch afresh (every epoch sees new noise), and the loss
    compares the reconstruction with the *clean* target. The corruption is
    applied in `call` only with ``training=True`` (the training step); with
    ``training=None`` or ``False`` it is the identity, so `predict`,
    `reconstruct`, `encode`, `evaluate`, validation and exports never add
    noise.

    * ``fit(x)``: inputs ``corrupt(x)``, targets ``x``.
    * ``fit(x_noisy, x_clean)``: inputs ``corrupt(x_noisy)``, targets
      ``x_clean``. The model's own corruption is still applied on top of
      yours; pass ``noise_level=0.0`` to train on your corruption only.

    The noise layer's random state is saved with the model, so training
    resumed from a ``.keras`` file continues the same noise stream.

    Args:
        input_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)``.
        latent_dim: size of the code.
        hidden_units: units (dense) or filters (conv) of the hidden layers;
            ``None`` picks ``(512, 256)`` for dense and ``(32, 64)`` for conv.
        activation: activation of the hidden and code layers.
        output_activation: activation of the decoder's last layer.
        reconstruction_loss: ``"bce"`` or ``"mse"``.
        architecture: ``"dense"`` or ``"conv"``.
        encoder: optional user `keras.Model` replacing the built-in encoder.
        decoder: optional user `keras.Model` replacing the built-in decoder.
        tied_weights: dense only; decoder kernels are the encoder's transposed.
        seed: optional integer seed of the initializers and, when ``noise``
            is a string, of the noise layer.
        noise: the corruption: ``"masking"`` (default; `MaskingNoise`,
            zeroes a fraction ``noise_level`` of the entries, default 0.3),
            ``"gaussian"`` (`GaussianNoise`, ``stddev=noise_level``, default
            0.3), ``"salt_and_pepper"`` (`SaltAndPepperNoise`,
            ``rate=noise_level``, default 0.2), a corruption layer instance
            (e.g. ``keras_ae.layers.GaussianNoise(0.5, clip=(0, 1))``) or its
            config dict. Any Keras layer whose ``call`` takes ``training`` works.
        noise_level: strength of a string ``noise``; with a layer it must be
            ``None`` or equal to the layer's ``stddev``/``rate``.
        **kwargs: base `keras.Model` arguments.

    Example:
        >>> (x, _), (x_test, _) = keras_ae.datasets.load_data("fashion_mnist")
        >>> dae = keras_ae.DenoisingAutoencoder(
        ...     input_shape=(784,), latent_dim=32, noise="gaussian",
        ...     noise_level=0.5, seed=0)
        >>> dae.compile()
        >>> dae.fit(x, epochs=5, batch_size=128, validation_data=(x_test,))
        >>> noisy = np.clip(x_test + np.random.normal(0, 0.5, x_test.shape), 0, 1)
        >>> denoised = dae.reconstruct(noisy)     # no noise added at inference
    """

    def __init__(
        self,
        input_shape,
        latent_dim=32,
        hidden_units=None,
        activation="relu",
        output_activation="sigmoid",
        reconstruction_loss="bce",
        architecture="dense",
        encoder=None,
        decoder=None,
        tied_weights=False,
        seed=None,
        noise="masking",
        noise_level=None,
        **kwargs,
    ):
        # Validated before any network is built; tracked as a sublayer.
        self._init_keras_model(kwargs)
        self.noise = _resolve_noise(noise, noise_level, seed)
        self.noise_level = None if noise_level is None else float(noise_level)
        super().__init__(
            input_shape=input_shape,
            latent_dim=latent_dim,
            hidden_units=hidden_units,
            activation=activation,
            output_activation=output_activation,
            reconstruction_loss=reconstruction_loss,
            architecture=architecture,
            encoder=encoder,
            decoder=decoder,
            tied_weights=tied_weights,
            seed=seed,
            **kwargs,
        )

    # ------------------------------------------------------------------ call
    def decoder_outputs(self, inputs, training=None):
        """Decoder outputs for ``inputs``, corrupted first only in training."""
        corrupted = self.noise(inputs, training=training)
        return super().decoder_outputs(corrupted, training=training)

    def evaluation_metrics(self, x, logs, **options):
        """Adds ``denoising_mse``: per-feature MSE between the clean ``x`` and
        the reconstruction of a copy corrupted by the model's own noise (fixed seed)."""
        metrics = super().evaluation_metrics(x, logs, **options)
        batch_size = options["batch_size"]
        x_noisy = corrupt(self.noise, x, seed=options["seed"], batch_size=batch_size)
        x_hat = np.asarray(self.reconstruct(x_noisy, batch_size=batch_size), "float32")
        metrics["denoising_mse"] = float(np.mean((x - x_hat) ** 2))
        return metrics

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        noise = keras.saving.serialize_keras_object(self.noise)
        # The model builds the layer at construction; its build config (a
        # shape tuple) would not survive a JSON round trip unchanged.
        noise.pop("build_config", None)
        config.update({"noise": noise, "noise_level": self.noise_level})
        return config

    @classmethod
    def nested_config_keys(cls):
        return super().nested_config_keys() + ("noise",)
