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


def active_updates(phase):
    """The phase's updates that have variables (warns about the others)."""
    updates = []
    for update in phase.updates:
        if update.variables:
            updates.append(update)
        else:
            warnings.warn("The model does not have any trainable weights.")
    return updates
