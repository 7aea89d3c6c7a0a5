"""TensorBoard logs with or without the ``tensorboard`` package.

`keras.callbacks.TensorBoard` needs the ``tensorboard`` package (TensorFlow
2.21 no longer installs it): without it, ``tf.summary.scalar`` raises
``TBNotInstalledError``. `tensorboard_callback` returns Keras's callback when
the package is importable and otherwise `EpochScalars`, which writes the
same per-epoch scalars (``train/`` and ``validation/`` runs, ``epoch_<name>``
tags) with the low-level ``tf.summary.write``, readable by any TensorBoard.
"""

import importlib.util
import os

import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
)


class EpochScalars(keras.callbacks.Callback):
    """Writes every epoch's logs as TensorBoard scalars.

    Args:
        log_dir: directory of the event files; ``train/`` and
            ``validation/`` sub-directories are created like Keras's
            `keras.callbacks.TensorBoard` does.

    Example:
        >>> model.fit(x, epochs=3, callbacks=[EpochScalars("logs")])
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self._writers = {}

    def _writer(self, run):
        if run not in self._writers:
            self._writers[run] = tf.summary.create_file_writer(
                os.path.join(self.log_dir, run)
            )
        return self._writers[run]

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self._writer(run).as_default():
                tf.summary.write(
                    f"epoch_{name}",
                    tf.constant(float(value), tf.float32),
                    step=epoch,
                    metadata=_SCALAR_METADATA,
                )

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def tensorboard_callback(log_dir):
    """Keras's TensorBoard callback if available, else `EpochScalars`."""
    if importlib.util.find_spec("tensorboard") is not None:
        return keras.callbacks.TensorBoard(log_dir=os.fspath(log_dir))
    return EpochScalars(log_dir)
