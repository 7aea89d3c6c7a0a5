"""Sparsity penalties on autoencoder codes: `L1Sparsity` and `KLSparsity`.

Scale: both penalties are **per-example** quantities averaged over the batch
(or, for `KLSparsity`, a function of the batch-mean activation), so the same
activations give the same value at any batch size. keras_ae models apply them
with `activity_penalty(regularizer, codes)` inside their loss, *not* through
Keras's ``activity_regularizer`` mechanism, which divides a layer's activity
loss by the batch size (docs/design.md, trap 6). The value returned by
calling the regularizer is therefore exactly the term added to the model's
per-example mean loss.

Both are ordinary `keras.regularizers.Regularizer` subclasses and can still be
passed as ``activity_regularizer=`` to any Keras layer, but Keras then divides
the value by the batch size.
"""

import math

import keras
from keras import ops

from keras_ae import validation


def _check_float(value, name, low=0.0, high=None, low_inclusive=True):
    return validation.number(
        value, name, low=low, high=high, low_inclusive=low_inclusive, high_inclusive=False
    )


def _flatten_examples(x):
    """float32 view of ``x`` as ``(batch, features)``."""
    x = ops.cast(x, "float32")
    return ops.reshape(x, (ops.shape(x)[0], -1))


@keras.saving.register_keras_serializable(package="keras_ae")
class L1Sparsity(keras.regularizers.Regularizer):
    """L1 penalty on code activity, per example and averaged over the batch.

    ``L1Sparsity(l1)(codes) = l1 * mean_i sum_j |codes[i, j]|``: the L1 norm
    of each example's code (all non-batch axes), averaged over the batch, in
    float32. Its value does not depend on the batch size. It equals what
    ``keras.regularizers.L1(l1)`` contributes as a Keras ``activity_regularizer``
    after Keras's division by the batch size, so the Keras blog's
    ``activity_regularizer=regularizers.l1(1e-4)`` recipe corresponds to
    ``L1Sparsity(1e-4)`` here.

    Args:
        l1: non-negative float, the penalty weight.

    Example:
        >>> reg = L1Sparsity(0.1)
        >>> float(reg(np.array([[1.0, -2.0], [0.0, 3.0]])))   # 0.1 * (3 + 3) / 2
        0.3
    """

    def __init__(self, l1=1e-4):
        self.l1 = _check_float(l1, "l1")

    def __call__(self, x):
        x = _flatten_examples(x)
        return self.l1 * ops.mean(ops.sum(ops.abs(x), axis=1))

    def get_config(self):
        return {"l1": self.l1}


@keras.saving.register_keras_serializable(package="keras_ae")
class KLSparsity(keras.regularizers.Regularizer):
    """KL-divergence sparsity penalty of Ng's sparse autoencoder notes.

    ``KLSparsity(target, weight)(codes) = weight * sum_j KL(rho || rho_hat_j)``
    with ``rho = target``, ``rho_hat_j`` the batch-mean activation of code
    unit ``j`` (every non-batch position is a unit), clipped into
    ``(eps, 1 - eps)`` with ``eps = keras.config.epsilon()``, and
    ``KL(p || q) = p log(p / q) + (1 - p) log((1 - p) / (1 - q))``. Computed in
    float32. The value does not depend on the batch size (only on the mean
    activations). It is meant for codes in (0, 1), e.g. a sigmoid code layer;
    activations outside that range are clipped and get no gradient.

    Args:
        target: the desired mean activation ``rho``, strictly in (0, 1).
        weight: non-negative float, ``beta`` in Ng's notes.

    Example:
        >>> reg = KLSparsity(target=0.05, weight=3.0)
        >>> penalty = reg(codes)   # codes: (batch, units) sigmoid activations
    """

    def __init__(self, target=0.05, weight=1.0):
        self.target = _check_float(target, "target", 0.0, 1.0, low_inclusive=False)
        self.weight = _check_float(weight, "weight")

    def __call__(self, x):
        x = _flatten_examples(x)
        eps = keras.config.epsilon()
        rho_hat = ops.clip(ops.mean(x, axis=0), eps, 1.0 - eps)
        rho = self.target
        kl = rho * ops.log(rho / rho_hat) + (1.0 - rho) * ops.log(
            (1.0 - rho) / (1.0 - rho_hat)
        )
        return self.weight * ops.sum(kl)

    def get_config(self):
        return {"target": self.target, "weight": self.weight}


_SHORTCUTS = {"l1": L1Sparsity, "kl": KLSparsity}
_ALIASES = {
    "l1_sparsity": "l1",
    "l1sparsity": "l1",
    "kl_sparsity": "kl",
    "klsparsity": "kl",
}


def get(identifier):
    """Resolves a sparsity regularizer identifier.

    Args:
        identifier: ``None``; a regularizer instance or any callable mapping
            codes to a scalar (returned as is); a config dict from
            ``keras.saving.serialize_keras_object``; or a string: ``"l1"``
            (``L1Sparsity()``, l1=1e-4) or ``"kl"`` (``KLSparsity()``,
            target=0.05, weight=1.0); the class names are accepted too.

    Returns:
        A regularizer, or ``None``.

    Raises:
        ValueError: for an unknown string or an unusable identifier.

    Example:
        >>> get("kl")                       # KLSparsity(target=0.05, weight=1.0)
        >>> get({"class_name": "L1Sparsity", "config": {"l1": 0.01}})
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        identifier = keras.saving.deserialize_keras_object(
            identifier,
            module_objects={"L1Sparsity": L1Sparsity, "KLSparsity": KLSparsity},
        )
    elif isinstance(identifier, str):
        key = identifier.strip().lower().replace("-", "_").replace(" ", "_")
        key = _ALIASES.get(key, key)
        if key not in _SHORTCUTS:
            raise ValueError(
                f"Unknown sparsity regularizer {identifier!r}. Valid string "
                f"shortcuts are {sorted(_SHORTCUTS)}. "
                f"Received: identifier={identifier!r}"
            )
        return _SHORTCUTS[key]()
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    raise ValueError(
        "Could not interpret sparsity regularizer identifier: expected None, "
        f"a regularizer, a config dict or one of {sorted(_SHORTCUTS)}. "
        f"Received: identifier={identifier!r}"
    )


def activity_penalty(regularizer, codes):
    """The sparsity term a keras_ae model adds to its loss, as a float32 scalar.

    keras_ae models call this on their code tensor inside the loss instead of
    setting ``activity_regularizer`` on a layer, because Keras divides
    activity losses by the batch size. The result is ``regularizer(codes)``
    unchanged, so a `KLSparsity` or `L1Sparsity` penalty reaches the loss with
    the value documented on its class, whatever the batch size. Under
    ``tf.distribute`` it is computed on each replica's batch; the model scales
    it by ``1 / num_replicas`` together with its other loss terms.

    Args:
        regularizer: anything `get` accepts (``None`` gives 0).
        codes: the code tensor, shape ``(batch, ...)``.

    Returns:
        A float32 scalar tensor.

    Example:
        >>> loss = reconstruction + activity_penalty(KLSparsity(0.05, 3.0), z)
    """
    regularizer = get(regularizer)
    if regularizer is None:
        return ops.convert_to_tensor(0.0, dtype="float32")
    return ops.cast(regularizer(codes), "float32")
