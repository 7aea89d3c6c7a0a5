"""The training-step protocol shared by every backend.

A model's training step is a sequence of `Phase`s (one for most models, the
adversarial autoencoder's three). A phase runs one forward pass
(``loss_fn(x, y, sample_weight) -> (terms, y_pred)``, ``terms`` a dict of
float32 scalars) and then makes one or more `Update`s, each differentiating
one term with respect to its own variables and applying its own optimizer.
Later phases see the variables updated by earlier ones. The backends
(`keras_ae.backend.tensorflow`, `.jax`, `.torch`) only differ in how they
differentiate and apply.
"""

import collections
import contextlib
import warnings

#: One optimizer step: ``optimizer`` minimises ``terms[loss]`` over ``variables``.
Update = collections.namedtuple("Update", ["loss", "optimizer", "variables"])

#: One forward pass and the updates made from it.
Phase = collections.namedtuple("Phase", ["loss_fn", "updates"])


def run_phases(model, x, y, sample_weight, apply_phase):
    """Runs ``model.training_phases()`` and updates the model's metrics.

    Args:
        model: a `keras_ae.models.BaseAutoencoder`.
        x, y, sample_weight: the unpacked batch.
        apply_phase: the backend's ``(phase, x, y, sample_weight) -> (terms,
            y_pred)``, which also applies the phase's updates.

    Returns:
        The logs of `model.update_metrics`.
    """
    terms, y_pred = {}, None
    for phase in model.training_phases():
        phase_terms, phase_pred = apply_phase(phase, x, y, sample_weight)
        terms.update(phase_terms)
        if y_pred is None:
            y_pred = phase_pred
    return model.update_metrics(terms, x, y, y_pred, sample_weight)


def unique(items):
    """``items`` without repeats (by identity), in order."""
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def eager_trainer(apply_phase, no_grad=None):
    """`train_step`/`test_step` for backends that run a step statefully.

    Args:
        apply_phase: the backend's ``(phase, x, y, sample_weight) -> (terms,
            y_pred)``.
        no_grad: optional context manager factory for the evaluation step.

    Returns:
        A mixin class with ``train_step(data)`` and ``test_step(data)``.
    """

    class TrainerMixin:
        def train_step(self, data):
            x, y, sample_weight = self.unpack(data)
            return run_phases(self, x, y, sample_weight, apply_phase)

        def test_step(self, data):
            x, y, sample_weight = self.unpack(data)
            context = no_grad() if no_grad is not None else contextlib.nullcontext()
            with context:
                terms, y_pred = self.compute_loss_terms(
                    x, y, sample_weight=sample_weight, training=False
                )
            return self.update_metrics(terms, x, y, y_pred, sample_weight)

    return TrainerMixin


def active_updates(phase):
    """The phase's updates that have variables (warns about the others)."""
    updates = []
    for update in phase.updates:
        if update.variables:
            updates.append(update)
        else:
            warnings.warn("The model does not have any trainable weights.")
    return updates
