"""Batches mixing an unlabelled set with a fixed share of a labelled set.

`SemiSupervisedAAE.fit(x, labelled=(x_l, labels_l))` trains from these:
every batch holds ``batch_size - labelled_per_batch`` unlabelled rows
(label ``-1``) followed by ``labelled_per_batch`` labelled rows. One epoch
is one pass over the unlabelled set; the (usually much smaller) labelled
set is cycled, in a new order each cycle, and the cycles run on across
epochs, so every labelled row is used once before any is used again.
"""

import itertools

import numpy as np

from keras_ae.models import _labels


class MixedBatches:
    """The ``(x, labels)`` batches of every epoch (private).

    Iterating gives the batches of epoch 0, 1, ... without end (a Python
    generator: `fit` takes it with ``steps_per_epoch=num_batches`` and keeps
    one iterator across epochs, so the stream never depends on when Keras
    calls its epoch hooks). `batch(epoch, index)` gives one batch.

    Args:
        unlabelled: checked NumPy array ``(n_u,) + input_shape``.
        x_labelled: checked NumPy array ``(n_l,) + input_shape``.
        labels: int32 NumPy array ``(n_l,)`` in ``[0, num_classes)``.
        batch_size: rows per batch.
        labelled_per_batch: labelled rows per batch, in ``[1, batch_size)``.
        shuffle: new orders every epoch (unlabelled) and cycle (labelled).
        seed: integer seed of the orders.
    """

    def __init__(
        self, unlabelled, x_labelled, labels, batch_size, labelled_per_batch, shuffle, seed
    ):
        self.unlabelled = unlabelled
        self.x_labelled = x_labelled
        self.labels = labels
        self.batch_size = batch_size
        self.labelled_per_batch = labelled_per_batch
        self.shuffle = shuffle
        self.seed = seed
        self._orders = {}  # (kind, epoch or cycle) -> permutation, a few kept

    @property
    def num_batches(self):
        rows = self.batch_size - self.labelled_per_batch
        return int(np.ceil(len(self.unlabelled) / rows))

    def _order(self, n, *key):
        if not self.shuffle:
            return np.arange(n)
        if key not in self._orders:
            if len(self._orders) > 8:
                self._orders.clear()
            self._orders[key] = np.random.default_rng((self.seed,) + key).permutation(n)
        return self._orders[key]

    def labelled_indices(self, epoch, index):
        """Rows of the labelled set in batch ``index`` of ``epoch``."""
        n = len(self.labels)
        start = (epoch * self.num_batches + index) * self.labelled_per_batch
        positions = start + np.arange(self.labelled_per_batch)
        cycles, offsets = np.divmod(positions, n)
        return np.array(
            [self._order(n, 1, int(c))[o] for c, o in zip(cycles, offsets)], "int64"
        )

    def unlabelled_indices(self, epoch, index):
        """Rows of the unlabelled set in batch ``index`` of ``epoch``."""
        rows = self.batch_size - self.labelled_per_batch
        order = self._order(len(self.unlabelled), 0, int(epoch))
        return order[index * rows : (index + 1) * rows]

    def batch(self, epoch, index):
        """Batch ``index`` of ``epoch``: unlabelled rows (label -1) first."""
        u = self.unlabelled_indices(epoch, index)
        lab = self.labelled_indices(epoch, index)
        x = np.concatenate([self.unlabelled[u], self.x_labelled[lab]]).astype("float32")
        y = np.concatenate(
            [np.full(len(u), _labels.UNLABELLED, "int32"), self.labels[lab]]
        )
        return x, y

    #: The epoch iteration starts at (`SemiSupervisedAAE.fit` continues the
    #: stream of the model's earlier ``fit(..., labelled=...)`` calls).
    first_epoch = 0

    def __iter__(self):
        for epoch in itertools.count(self.first_epoch):
            for index in range(self.num_batches):
                yield self.batch(epoch, index)
