"""A denoising autoencoder with a sparsity penalty on its code."""

import keras

from keras_ae.models.denoising import DenoisingAutoencoder
from keras_ae.models.sparse import SparseAutoencoder


@keras.saving.register_keras_serializable(package="keras_ae")
class SparseDenoisingAutoencoder(DenoisingAutoencoder, SparseAutoencoder):
    """Reconstructs clean inputs from corrupted ones under a sparsity penalty.

    Used by `keras_ae.greedy_pretrain` when a layer gets both ``noise`` and
    ``sparsity``. Training corrupts each batch with ``noise`` (only with
    ``training=True``), encodes it once, and minimises the reconstruction loss
    against the clean target plus ``sparsity(codes)``, with the metrics of
    `SparseAutoencoder`. Inference is noise-free.

    Args:
        input_shape: shape of one example.
        noise: corruption (see `DenoisingAutoencoder`), default ``"masking"``.
        noise_level: strength of a string ``noise``.
        sparsity: penalty on the code (see `SparseAutoencoder`), default ``"l1"``.
        **kwargs: the common constructor arguments (``latent_dim``,
            ``hidden_units``, ``activation``...) and base `keras.Model` ones.

    Example:
        >>> sdae = SparseDenoisingAutoencoder((784,), latent_dim=64, hidden_units=(),
        ...                                   activation="sigmoid", noise="masking",
        ...                                   sparsity="kl")
    """

    def __init__(self, input_shape, noise="masking", noise_level=None, sparsity="l1", **kwargs):
        # DenoisingAutoencoder.__init__ passes `sparsity` on to SparseAutoencoder.
        super().__init__(
            input_shape, noise=noise, noise_level=noise_level, sparsity=sparsity, **kwargs
        )

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """`SparseAutoencoder`'s terms on the corrupted batch (clean targets)."""
        corrupted = self.noise(x, training=training)
        return SparseAutoencoder.compute_loss_terms(
            self, corrupted, y, sample_weight=sample_weight, training=training
        )
