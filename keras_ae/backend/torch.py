"""PyTorch: eager steps with `torch.autograd.grad`.

Keras 3.15 trains on one torch device (there is no torch
`keras.distribution`); the replica helpers are those of `_single`.
"""

import torch

from keras_ae.backend import phases
from keras_ae.backend._single import argmin  # noqa: F401
from keras_ae.backend._single import global_batch  # noqa: F401
from keras_ae.backend._single import global_batch_mean  # noqa: F401
from keras_ae.backend._single import global_sum  # noqa: F401
from keras_ae.backend._single import num_replicas  # noqa: F401
from keras_ae.backend._single import replica_id  # noqa: F401
from keras_ae.backend._single import replica_seed  # noqa: F401
from keras_ae.backend._single import replica_slice  # noqa: F401
from keras_ae.backend._single import scale_for_replicas  # noqa: F401
from keras_ae.backend._single import shape_logs_for_reduction  # noqa: F401

#: Keras 3.15 cannot trace torch functions into a TensorFlow SavedModel.
#: dtype of Keras's seed tensors on this backend (`SeedGenerator.state`).
SEED_DTYPE = "int32"

#: Whether `keras.export.ExportArchive` can write a SavedModel here.
CAN_EXPORT_SAVED_MODEL = False


def _apply_phase(phase, x, y, sample_weight):
    updates = phases.active_updates(phase)
    terms, y_pred = phase.loss_fn(x, y, sample_weight)
    for i, update in enumerate(updates):
        loss = update.optimizer.scale_loss(terms[update.loss])
        tensors = [v.value for v in update.variables]
        grads = torch.autograd.grad(
            loss, tensors, retain_graph=i < len(updates) - 1, allow_unused=True
        )
        grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, tensors)]
        with torch.no_grad():
            update.optimizer.apply(grads, update.variables)
    terms = {k: v.detach() for k, v in terms.items()}
    return terms, (None if y_pred is None else y_pred.detach())


#: `train_step` / `test_step` of `BaseAutoencoder` on torch.
TrainerMixin = phases.eager_trainer(_apply_phase, no_grad=torch.no_grad)


def inference_function(model, fn):
    """``fn`` run eagerly without gradient tracking."""
    del model

    def run(*args):
        with torch.no_grad():
            return fn(*args)

    return run
