"""JAX: a stateless training step that reads like a stateful one.

Keras's JAX trainer passes the model's state in and out of a jitted
``train_step(state, data)``: trainable, non-trainable, optimizer and metric
values. keras_ae maps every variable to its value in a `keras.StatelessScope`
and runs the backend-neutral phases inside it, differentiating each phase
with `jax.vjp` (one forward pass, one backward pass per update) and applying
each optimizer inside the scope (`LossScaleOptimizer` through
`stateless_apply`).

Keras 3.15 threads only ``model.optimizer.variables`` through the state, so
models with extra optimizers (`extra_optimizers`, the adversarial
autoencoder's discriminator and generator optimizers) list those optimizers'
variables among their ``non_trainable_variables`` on this backend; they are
still saved with their optimizers, not as weights.

Several devices: with `keras.distribution.DataParallel` the jitted step is
one program over the global batch, sharded by XLA, so losses are global
means and one random draw covers the global batch (helpers of `_single`).
"""

import jax
import jax.numpy as jnp
import keras

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

#: `keras.export.ExportArchive` converts JAX functions with jax2tf.
#: dtype of Keras's seed tensors on this backend (`SeedGenerator.state`).
SEED_DTYPE = "uint32"

#: Whether `keras.export.ExportArchive` can write a SavedModel here.
CAN_EXPORT_SAVED_MODEL = True


def _apply(scope, update, gradients):
    """Applies one optimizer inside the step's scope."""
    opt = update.optimizer
    if isinstance(opt, keras.optimizers.LossScaleOptimizer):
        # Its `apply` branches with a stateful `ops.cond`, which JAX cannot
        # trace; `stateless_apply` needs the variables it was built on.
        new_values, new_opt_values = opt.stateless_apply(
            [scope.get_current_value(v) for v in opt.variables],
            gradients,
            [scope.get_current_value(v) for v in update.variables],
        )
        for v, value in zip(update.variables, new_values):
            v.assign(value)
        for v, value in zip(opt.variables, new_opt_values):
            v.assign(value)
    else:
        # Exactly what `stateless_apply` does, for any subset of the
        # variables the optimizer was built on (frozen stacked layers).
        opt.apply(gradients, update.variables)


def _apply_phase(scope, refs, phase, x, y, sample_weight):
    """Differentiates and applies one phase inside the step's scope."""
    updates = phases.active_updates(phase)
    targets = phases.unique([v for u in updates for v in u.variables])
    target_ids = {id(v) for v in targets}
    others = [v for v in refs if id(v) not in target_ids]
    other_values = [scope.get_current_value(v) for v in others]

    def forward(target_values):
        mapping = list(zip(targets, target_values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping, collect_losses=True) as inner:
            terms, y_pred = phase.loss_fn(x, y, sample_weight)
            losses = tuple(u.optimizer.scale_loss(terms[u.loss]) for u in updates)
        changed = [inner.get_current_value(v) for v in others]
        return losses, (terms, y_pred, changed)

    target_values = [scope.get_current_value(v) for v in targets]
    losses, vjp_fn, (terms, y_pred, changed) = jax.vjp(
        forward, target_values, has_aux=True
    )
    # Random streams, batch statistics... advanced by the forward pass.
    for v, value in zip(others, changed):
        v.assign(value)
    for i, update in enumerate(updates):
        cotangent = tuple(
            jnp.ones_like(l) if j == i else jnp.zeros_like(l) for j, l in enumerate(losses)
        )
        (gradients,) = vjp_fn(cotangent)
        by_id = {id(v): g for v, g in zip(targets, gradients)}
        _apply(scope, update, [by_id[id(v)] for v in update.variables])
    return terms, y_pred


def _run(groups, values, fn):
    """Runs ``fn(scope, refs)`` with every variable mapped to its value.

    Returns ``fn``'s result and the new values, grouped like ``values``.
    """
    refs = [v for group in groups for v in group]
    flat = [value for group in values for value in group]
    with keras.StatelessScope(state_mapping=list(zip(refs, flat)), collect_losses=True) as scope:
        result = fn(scope, refs)
    new, start = [], 0
    for group in groups:
        new.append([scope.get_current_value(v) for v in group])
        start += len(group)
    return result, tuple(new)


class TrainerMixin:
    """`train_step` / `test_step` of `BaseAutoencoder` on JAX."""

    @property
    def non_trainable_variables(self):
        variables = list(super().non_trainable_variables)
        for optimizer in self.extra_optimizers():
            variables.extend(optimizer.variables)
        return variables

    def train_step(self, state, data):
        x, y, sample_weight = self.unpack(data)
        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.optimizer.variables,
            self.metrics_variables,
        )

        def step(scope, refs):
            def apply_phase(phase, x, y, sample_weight):
                return _apply_phase(scope, refs, phase, x, y, sample_weight)

            return phases.run_phases(self, x, y, sample_weight, apply_phase)

        return _run(groups, state, step)

    def test_step(self, state, data):
        x, y, sample_weight = self.unpack(data)
        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.metrics_variables,
        )

        def step(scope, refs):
            terms, y_pred = self.compute_loss_terms(
                x, y, sample_weight=sample_weight, training=False
            )
            return self.update_metrics(terms, x, y, y_pred, sample_weight)

        return _run(groups, state, step)


def inference_function(model, fn):
    """``fn`` jitted, with the model's current variable values as arguments.

    Passing the values (rather than closing over them) keeps a cached
    function correct after the model trains further.
    """
    variables = model.variables

    def stateless(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return fn(*args)

    jitted = jax.jit(stateless)
    return lambda *args: jitted([v.value for v in variables], *args)
