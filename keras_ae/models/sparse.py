"""The sparse autoencoder (Ng's sparse autoencoder notes; the Keras blog's L1 recipe)."""

import warnings

import keras
import numpy as np
from keras import ops

from keras_ae import backend
from keras_ae import regularizers
from keras_ae.models.base import BaseAutoencoder

#: Code activations whose values lie in (0, 1), as `KLSparsity` expects.
_UNIT_INTERVAL_ACTIVATIONS = ("sigmoid", "hard_sigmoid", "softmax")


@keras.saving.register_keras_serializable(package="keras_ae")
class SparseAutoencoder(BaseAutoencoder):
    """Autoencoder with a sparsity penalty on the code.

    The loss is ``reconstruction_loss + sparsity_loss`` (+ weight
    regularizers), where ``sparsity_loss = sparsity(codes)`` is computed on
    the code batch of each step:

    * `keras_ae.regularizers.L1Sparsity(l1)`: ``l1 * mean_i sum_j |z_ij|``,
      the Keras blog's ``activity_regularizer=l1(1e-4)`` recipe (default);
    * `keras_ae.regularizers.KLSparsity(target, weight)`: Ng's
      ``weight * sum_j KL(target || rho_hat_j)`` on the batch-mean activation
      ``rho_hat`` of each code unit. It needs codes in (0, 1): use
      ``activation="sigmoid"`` (the code layer follows ``activation``).

    The penalty is added to the per-example mean loss with the value the
    regularizer documents, whatever the batch size: it is *not* a Keras
    ``activity_regularizer`` (Keras divides those by the batch size). Under
    ``tf.distribute``, `KLSparsity` sees the batch mean of the global batch
    (all replicas), so training matches a single device.

    Metrics: ``loss``, ``reconstruction_loss``, ``mse``, ``sparsity_loss``
    and ``mean_activation`` (the mean absolute code activation over the
    batch and the code units; the mean activation itself for non-negative
    codes such as sigmoid or relu). `evaluate` and validation report them on
    the clean codes as well.

    Args:
        input_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)``.
        latent_dim: size of the code.
        hidden_units: units (dense) or filters (conv) of the hidden layers;
            ``None`` picks ``(512, 256)`` for dense and ``(32, 64)`` for conv.
        activation: activation of the hidden and code layers (``"sigmoid"``
            for `KLSparsity`).
        output_activation: activation of the decoder's last layer.
        reconstruction_loss: ``"bce"`` or ``"mse"``.
        architecture: ``"dense"`` or ``"conv"``.
        encoder: optional user `keras.Model` replacing the built-in encoder;
            the penalty applies to its output.
        decoder: optional user `keras.Model` replacing the built-in decoder.
        tied_weights: dense only; decoder kernels are the encoder's transposed.
        seed: optional integer seed (initializers).
        sparsity: the penalty on the code: an `L1Sparsity` or `KLSparsity`
            instance, ``"l1"`` (``L1Sparsity(1e-4)``, the default), ``"kl"``
            (``KLSparsity(0.05, 1.0)``), a config dict, or any callable
            mapping a code batch to a scalar (registered with Keras to be
            saved).
        **kwargs: base `keras.Model` arguments.

    Example:
        >>> (x, _), (x_test, _) = keras_ae.datasets.load_data("digits")
        >>> sae = keras_ae.SparseAutoencoder(
        ...     input_shape=(64,), latent_dim=32, hidden_units=(64,),
        ...     activation="sigmoid",
        ...     sparsity=keras_ae.regularizers.KLSparsity(target=0.05, weight=3.0))
        >>> sae.compile()
        >>> history = sae.fit(x, epochs=20, batch_size=64, verbose=0)
        >>> history.history["mean_activation"][-1]   # close to 0.05
        >>> codes = sae.encode(x_test)               # (N, 32), mostly near 0
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
        sparsity="l1",
        **kwargs,
    ):
        if sparsity is None:
            raise ValueError(
                "`SparseAutoencoder` needs a sparsity penalty (e.g. 'l1', 'kl', "
                "`L1Sparsity(1e-4)`); use `keras_ae.Autoencoder` for none. "
                f"Received: sparsity={sparsity!r}"
            )
        try:
            resolved = regularizers.get(sparsity)
        except ValueError as error:
            raise ValueError(
                f"Invalid `sparsity`: {error}. Received: sparsity={sparsity!r}"
            ) from None
        # A plain attribute (not a layer): safe to set before Model.__init__.
        self.sparsity = resolved
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
        if (
            isinstance(resolved, regularizers.KLSparsity)
            and encoder is None
            and activation not in _UNIT_INTERVAL_ACTIVATIONS
        ):
            warnings.warn(
                "KLSparsity expects codes in (0, 1) but the code layer uses "
                f"activation={activation!r}; use activation='sigmoid'. Codes "
                "outside (0, 1) are clipped and get no sparsity gradient.",
                stacklevel=2,
            )

    # ------------------------------------------------------------ loss terms
    def loss_term_names(self):
        return super().loss_term_names() + ("sparsity_loss", "mean_activation")

    def sparsity_penalty(self, codes):
        """The sparsity term for a code batch (float32 scalar).

        `KLSparsity` is evaluated on the global batch mean (see
        `keras_ae.backend.global_batch_mean`), any other penalty on the codes themselves.
        """
        if isinstance(self.sparsity, regularizers.KLSparsity):
            return regularizers.activity_penalty(
                self.sparsity, backend.global_batch_mean(codes)
            )
        return regularizers.activity_penalty(self.sparsity, codes)

    def evaluation_metrics(self, x, logs, **options):
        """Adds ``mean_activation``, the mean activation of the code units."""
        metrics = super().evaluation_metrics(x, logs, **options)
        codes = self.encode(x, batch_size=options["batch_size"])
        metrics["mean_activation"] = float(np.mean(np.asarray(codes, "float64")))
        return metrics

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """Reconstruction, sparsity penalty and code statistics of one batch.

        The encoder runs once: its codes feed both the decoder and the
        penalty. The penalty ignores ``sample_weight``.
        """
        codes = self.encoder(x, training=training)
        y_pred = self.decoder(codes, training=training)
        rec, mse = self.reconstruction_terms(y, y_pred, sample_weight)
        penalty = self.sparsity_penalty(codes)
        mean_activation = ops.mean(ops.abs(ops.cast(codes, "float32")))
        terms = {
            "loss": rec + penalty + self.regularization_loss(),
            "reconstruction_loss": rec,
            "mse": mse,
            "sparsity_loss": penalty,
            "mean_activation": mean_activation,
        }
        return terms, y_pred

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config["sparsity"] = keras.saving.serialize_keras_object(self.sparsity)
        return config

    @classmethod
    def nested_config_keys(cls):
        return super().nested_config_keys() + ("sparsity",)
