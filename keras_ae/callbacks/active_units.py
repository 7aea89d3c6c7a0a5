"""Active-units metric for variational autoencoders."""

import keras


class ActiveUnits(keras.callbacks.Callback):
    """Reports the number of active latent units at the end of every epoch.

    A unit is active when the variance over ``x`` of its posterior mean
    exceeds ``threshold`` (Burda et al. 2015; see
    `VariationalAutoencoder.active_units`). The count is added to the epoch
    logs as ``active_units`` (so it appears in the progress bar of the next
    epoch, in ``History`` and in CSV/TensorBoard logs); with
    ``per_dimension=True`` the per-dimension KL is logged too, as
    ``kl_dim_<j>``.

    Args:
        x: data to measure on, e.g. a validation subset (N >= 2).
        threshold: activity threshold (0.01 in the paper).
        batch_size: batch size of the encoding loop.
        per_dimension: also log the average KL of every latent dimension.

    Not serializable (it holds data); create it again when resuming.

    Example:
        >>> vae.fit(x, epochs=10, callbacks=[
        ...     keras_ae.callbacks.ActiveUnits(x_test[:1000])])
        >>> history.history["active_units"]
    """

    def __init__(self, x, threshold=1e-2, batch_size=None, per_dimension=False):
        super().__init__()
        if not 0.0 <= float(threshold) < float("inf"):
            raise ValueError(
                f"`threshold` must be a finite float >= 0. Received: threshold={threshold!r}"
            )
        if len(x) < 2:
            raise ValueError(
                f"`ActiveUnits` needs at least 2 examples. Received: len(x)={len(x)}"
            )
        self.x = x
        self.threshold = float(threshold)
        self.batch_size = batch_size
        self.per_dimension = bool(per_dimension)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs["active_units"] = self.model.active_units(
            self.x, threshold=self.threshold, batch_size=self.batch_size
        )
        if self.per_dimension:
            kl = self.model.kl_per_dimension(self.x, batch_size=self.batch_size)
            for j, value in enumerate(kl):
                logs[f"kl_dim_{j}"] = float(value)
