"""The undercomplete autoencoder."""

import keras

from keras_ae.models.base import BaseAutoencoder


@keras.saving.register_keras_serializable(package="keras_ae")
class Autoencoder(BaseAutoencoder):
    """Undercomplete autoencoder: an encoder/decoder funnel trained with `fit`.

    The encoder maps inputs through ``hidden_units`` to a ``latent_dim`` code;
    the decoder mirrors it. The reconstruction loss (``"bce"`` or ``"mse"``)
    is summed over features and averaged over the batch (nats per example for
    ``"bce"``); a per-feature ``mse`` metric is reported too.

    Args:
        input_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)``.
        latent_dim: size of the code.
        hidden_units: units (dense) or filters (conv) of the hidden layers;
            ``None`` picks ``(512, 256)`` for dense and ``(32, 64)`` for conv.
        activation: activation of the hidden and code layers (``None``: linear).
        output_activation: activation of the decoder's last layer.
        reconstruction_loss: ``"bce"`` or ``"mse"``.
        architecture: ``"dense"`` or ``"conv"``.
        encoder: optional user `keras.Model` replacing the built-in encoder.
        decoder: optional user `keras.Model` replacing the built-in decoder.
        tied_weights: dense only; decoder kernels are the encoder's transposed.
        seed: optional integer seed (initializers).
        **kwargs: base `keras.Model` arguments.

    Example:
        >>> (x, _), (x_test, _) = keras_ae.datasets.load_data("digits")
        >>> ae = keras_ae.Autoencoder(input_shape=(64,), latent_dim=8,
        ...                           hidden_units=(32,))
        >>> ae.compile()
        >>> ae.fit(x, epochs=5, batch_size=64, verbose=0)
        >>> codes = ae.encode(x_test)        # (N, 8)
        >>> x_hat = ae.reconstruct(x_test)   # (N, 64)
    """
