"""KL-weight annealing for variational autoencoders."""

import math

import keras
import numpy as np

from keras_ae import validation

SCHEDULES = ("linear", "cyclical")
UNITS = ("epoch", "batch")


def _check_float(value, name, low=0.0, allow_none=False):
    if value is None and allow_none:
        return None
    return validation.number(value, name, low=low)


def _check_count(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    return validation.integer(value, name, low=1)


@keras.saving.register_keras_serializable(package="keras_ae")
class KLAnnealing(keras.callbacks.Callback):
    """Schedules the KL weight (``model.kl_weight``) of a VAE during `fit`.

    * ``"linear"`` warm-up (Bowman et al. 2016): the weight rises linearly
      from ``start`` to ``stop`` over ``warmup`` epochs (or steps), then stays
      at ``stop``.
    * ``"cyclical"`` (Fu et al. 2019): the schedule restarts every ``period``
      epochs (or steps); in each cycle the weight rises linearly from
      ``start`` to ``stop`` over the first ``ratio * period`` and then stays
      at ``stop``.
    * a callable ``schedule(t) -> float`` gives the weight directly.

    ``t`` is the epoch index (``unit="epoch"``, set at the start of each
    epoch) or the optimizer's global step count (``unit="batch"``, set before
    each training batch; with ``steps_per_execution > 1`` the weight changes
    once per execution). Both are absolute counts that survive a reload or a
    `keras.callbacks.BackupAndRestore` resume (``fit(initial_epoch=...)``), so
    a resumed run follows the same schedule. The current weight is a model
    variable saved with the weights, and is reported as the ``kl_weight``
    metric (its mean over the epoch's batches).

    Args:
        schedule: ``"linear"``, ``"cyclical"`` or a callable of ``t``.
        warmup: ``"linear"`` only: epochs (or steps) from ``start`` to ``stop``.
        start: weight at ``t = 0`` and at the start of every cycle.
        stop: final weight; ``None`` uses the model's ``beta``.
        period: ``"cyclical"`` only: length of one cycle in epochs (or steps).
        ratio: ``"cyclical"`` only: fraction of each cycle spent increasing,
            in (0, 1].
        unit: ``"epoch"`` or ``"batch"``.
        verbose: 1 prints the weight at the start of every epoch.

    Example:
        >>> vae = keras_ae.VAE(input_shape=(784,), latent_dim=16)
        >>> vae.compile()
        >>> warmup = keras_ae.callbacks.KLAnnealing("linear", warmup=10)
        >>> vae.fit(x, epochs=30, callbacks=[warmup])
        >>> cyclic = keras_ae.callbacks.KLAnnealing(
        ...     "cyclical", period=1000, ratio=0.5, unit="batch")
    """

    def __init__(
        self,
        schedule="linear",
        warmup=10,
        start=0.0,
        stop=None,
        period=None,
        ratio=0.5,
        unit="epoch",
        verbose=0,
    ):
        super().__init__()
        if not callable(schedule) and schedule not in SCHEDULES:
            raise ValueError(
                f"`schedule` must be one of {SCHEDULES} or a callable. "
                f"Received: schedule={schedule!r}"
            )
        if unit not in UNITS:
            raise ValueError(f"`unit` must be one of {UNITS}. Received: unit={unit!r}")
        self.schedule = schedule
        self.warmup = _check_count(warmup, "warmup", allow_none=schedule != "linear")
        self.start = _check_float(start, "start")
        self.stop = _check_float(stop, "stop", allow_none=True)
        self.period = _check_count(period, "period", allow_none=schedule != "cyclical")
        ratio = _check_float(ratio, "ratio")
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f"`ratio` must be in (0, 1]. Received: ratio={ratio!r}")
        self.ratio = ratio
        self.unit = unit
        self.verbose = int(verbose)

    # -------------------------------------------------------------- schedule
    def _stop(self):
        if self.stop is not None:
            return self.stop
        if self.model is None or not hasattr(self.model, "beta"):
            raise ValueError(
                "`KLAnnealing(stop=None)` takes the final weight from the "
                "model's `beta`; set `stop` or attach it to a VAE. "
                f"Received: model={self.model!r}"
            )
        return float(self.model.beta)

    def value(self, t):
        """KL weight at epoch (or step) ``t``."""
        if callable(self.schedule):
            return float(self.schedule(t))
        stop = self._stop()
        if self.schedule == "linear":
            progress = min(1.0, t / self.warmup)
        else:
            phase = (t % self.period) / self.period
            progress = min(1.0, phase / self.ratio)
        return self.start + (stop - self.start) * progress

    # ------------------------------------------------------------- callbacks
    def on_train_begin(self, logs=None):
        if not isinstance(getattr(self.model, "kl_weight", None), keras.Variable):
            raise ValueError(
                "`KLAnnealing` needs a model with a `kl_weight` variable "
                f"(keras_ae.VariationalAutoencoder). Received: model={self.model!r}"
            )

    def _set(self, t):
        value = self.value(t)
        self.model.kl_weight.assign(value)
        return value

    def on_epoch_begin(self, epoch, logs=None):
        if self.unit == "epoch":
            value = self._set(epoch)
        else:
            value = self._set(int(self.model.optimizer.iterations.numpy()))
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: KLAnnealing sets kl_weight to {value:.6g}.")

    def on_train_batch_begin(self, batch, logs=None):
        if self.unit == "batch":
            self._set(int(self.model.optimizer.iterations.numpy()))

    def get_config(self):
        return {
            "schedule": self.schedule,
            "warmup": self.warmup,
            "start": self.start,
            "stop": self.stop,
            "period": self.period,
            "ratio": self.ratio,
            "unit": self.unit,
            "verbose": self.verbose,
        }
