"""Class labels for the labelled adversarial autoencoders (private helpers).

Labels are integers in ``[-1, num_classes)``, ``-1`` marking an unlabelled
example. `LabelledData` gives a model ``fit(x, labels)``: the labels are
checked whole before the first step, reach the training step as ``y`` and
the reconstruction target stays ``x``.
"""

import keras
import numpy as np
from keras import ops

from keras_ae import data_checks

#: The label of an unlabelled example.
UNLABELLED = -1


def check_labels(labels, n, num_classes, name="labels", allow_unlabelled=True):
    """Checks labels and returns them as an int32 NumPy array.

    Args:
        labels: array-like of shape ``(n,)``.
        n: number of examples they label.
        num_classes: number of classes.
        name: argument name for the message.
        allow_unlabelled: whether ``-1`` (unlabelled) is accepted.

    Returns:
        int32 NumPy array ``(n,)``.
    """
    low = UNLABELLED if allow_unlabelled else 0
    what = f"integers in [{low}, {num_classes})"
    if allow_unlabelled:
        what += " (-1: unlabelled)"
    if ops.is_tensor(labels):
        labels = ops.convert_to_numpy(labels)
    values = np.asarray(labels)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.dtype.kind not in "iu":
        raise data_checks.DataError(
            f"`{name}` must be a 1-D array of {what}. Received: "
            f"shape={values.shape}, dtype={values.dtype}"
        )
    if len(values) != n:
        raise data_checks.DataError(
            f"`{name}` must have one label per example ({n}). "
            f"Received: {len(values)} labels"
        )
    if values.size and (values.min() < low or values.max() >= num_classes):
        raise data_checks.DataError(
            f"`{name}` must be {what}. Received: values in "
            f"[{values.min()}, {values.max()}]"
        )
    return values.astype("int32")


def one_hot(labels, num_classes, unlabelled_slot=False):
    """One-hot float32 rows of integer ``labels`` (any backend).

    ``-1`` gives a row of zeros, or with ``unlabelled_slot=True`` a one in
    an extra last column (``num_classes + 1`` columns).
    """
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    width = num_classes + 1 if unlabelled_slot else num_classes
    if unlabelled_slot:
        labels = ops.where(labels < 0, num_classes, labels)
    classes = ops.arange(width, dtype="int32")
    return ops.cast(ops.equal(labels[:, None], classes[None, :]), "float32")


def one_hot_numpy(labels, num_classes):
    """NumPy float32 one-hot rows (zeros for ``-1``)."""
    labels = np.asarray(labels).reshape(-1)
    return (labels[:, None] == np.arange(num_classes)[None, :]).astype("float32")


class LabelledData:
    """Mixin: ``fit(x, labels)`` with labels checked, ``-1`` for unlabelled.

    The class using it sets ``num_classes`` and ``labels_required`` (every
    example must be labelled) before training.
    """

    labels_required = False
    #: labels are checked against whole arrays: no `tf.data` input yet.
    accepts_datasets = False

    def _labels_or_default(self, labels, n, name):
        if labels is None:
            if self.labels_required:
                raise data_checks.DataError(
                    f"{type(self).__name__} needs one label per example: call "
                    f"`fit(x, labels)` with integers in [0, {self.num_classes}). "
                    f"Received: {name}=None"
                )
            return np.full((n,), UNLABELLED, "int32")
        return check_labels(
            labels,
            n,
            self.num_classes,
            name=name,
            allow_unlabelled=not self.labels_required,
        )

    def _check_data(self, x, y, prefix="", sample_weight=None):
        if data_checks.is_dataset(x):
            raise data_checks.DataError(
                f"{type(self).__name__} takes arrays: `{prefix}x` and "
                f"`{prefix}labels` as NumPy arrays (labels -1 for unlabelled). "
                "Received: a dataset"
            )
        x = self._check_x(x, prefix + "x", check_range=True)
        if not isinstance(x, np.ndarray):  # arrays come back as NumPy
            return x, y, sample_weight
        labels = self._labels_or_default(y, len(x), prefix + "labels")
        if sample_weight is not None:
            sample_weight = data_checks.check_sample_weight(
                sample_weight, len(x), prefix + "sample_weight"
            )
        return x, labels, sample_weight

    @staticmethod
    def unpack(data):
        """``(x, labels, sample_weight)`` of a batch (labels -1 when absent)."""
        x, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if labels is None:
            batch = ops.shape(keras.tree.flatten(x)[0])[0]
            labels = ops.full((batch,), UNLABELLED, dtype="int32")
        return x, ops.cast(labels, "int32"), sample_weight

    def update_metrics(self, terms, x, y, y_pred, sample_weight):
        # ``y`` holds labels: compiled metrics compare reconstructions to x.
        return super().update_metrics(terms, x, x, y_pred, sample_weight)
