"""Jacobian-vector products of a Keras function, on every backend.

`keras.ops` has no forward-mode differentiation, so the one thing the
contractive autoencoder needs beyond `keras.ops` for encoders that are not a
plain stack of Dense layers lives here: ``J v``, the product of the Jacobian
of ``fn`` at ``x`` with a tangent ``v`` (one forward-mode pass), and
``J^T u`` (one reverse-mode pass). Both results stay differentiable with
respect to the variables ``fn`` reads, so a training step can minimise a
function of them (second-order differentiation through the backend's own
training step).

* TensorFlow: `tf.autodiff.ForwardAccumulator` (nested inside the step's
  `tf.GradientTape`); ``J^T u`` with a nested tape.
* JAX: `jax.jvp` / `jax.vjp` of ``fn`` with the variables read as usual:
  inside keras_ae's stateless training step they resolve to the traced
  values of the enclosing `keras.StatelessScope`. ``fn`` runs in a nested
  scope that sees the same values and drops its state updates (batch
  statistics, random streams), which would otherwise leak JAX tracers.
* torch: `torch.func.jvp` (dual tensors; autograd flows through to the
  parameters ``fn`` reads); ``J^T u`` with `torch.autograd.grad`
  (``create_graph=True``).

Example:
```python
from keras_ae.backend import jvp
codes, jv = jvp.jvp(model.encoder, x, v)   # J_f(x) v, shape of the codes
```
"""

import keras

__all__ = ["jvp", "vjp"]


def _check(x, tangent, name):
    if tuple(x.shape) != tuple(tangent.shape):
        raise ValueError(
            f"Expected `{name}` of the same shape as `x`. "
            f"Received: x.shape={tuple(x.shape)}, {name}.shape={tuple(tangent.shape)}"
        )


def jvp(fn, x, tangent):
    """``(fn(x), J_fn(x) @ tangent)`` by forward-mode differentiation.

    Args:
        fn: a function of one tensor (e.g. a Keras model) returning one tensor.
        x: the point, a tensor.
        tangent: a tensor of the same shape as ``x``.

    Returns:
        ``(y, jv)``: ``fn(x)`` and the Jacobian-vector product, both of the
        shape of ``fn(x)``.
    """
    x = keras.ops.convert_to_tensor(x)
    tangent = keras.ops.cast(keras.ops.convert_to_tensor(tangent), x.dtype)
    _check(x, tangent, "tangent")
    return _IMPL[keras.backend.backend()][0](fn, x, tangent)


def vjp(fn, x, cotangent):
    """``(fn(x), J_fn(x)^T @ cotangent)`` by reverse-mode differentiation.

    Args:
        fn: a function of one tensor returning one tensor.
        x: the point, a tensor.
        cotangent: a tensor of the shape of ``fn(x)``.

    Returns:
        ``(y, vjp)``: ``fn(x)`` and the vector-Jacobian product (shape of ``x``).
    """
    x = keras.ops.convert_to_tensor(x)
    return _IMPL[keras.backend.backend()][1](fn, x, cotangent)


# ------------------------------------------------------------------ tensorflow
def _tf_jvp(fn, x, tangent):
    import tensorflow as tf

    with tf.autodiff.ForwardAccumulator(primals=x, tangents=tangent) as acc:
        y = fn(x)
    jv = acc.jvp(y, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return y, jv


def _tf_vjp(fn, x, cotangent):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    cotangent = tf.cast(cotangent, y.dtype)
    g = tape.gradient(
        y, x, output_gradients=cotangent, unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    return y, g


# ------------------------------------------------------------------------ jax
def _isolated(fn):
    """``fn`` run in a stateless scope that sees the enclosing values and
    discards its own state updates and losses."""
    from keras.src.backend.common.stateless_scope import get_stateless_scope

    outer = get_stateless_scope()

    def wrapped(x):
        inner = keras.StatelessScope(collect_losses=False)
        if outer is not None:
            inner.state_mapping = dict(outer.state_mapping)
        with inner:
            return fn(x)

    return wrapped


def _jax_jvp(fn, x, tangent):
    import jax

    return jax.jvp(_isolated(fn), (x,), (tangent,))


def _jax_vjp(fn, x, cotangent):
    import jax

    y, pullback = jax.vjp(_isolated(fn), x)
    (g,) = pullback(keras.ops.cast(cotangent, y.dtype))
    return y, g


# ---------------------------------------------------------------------- torch
def _torch_jvp(fn, x, tangent):
    import torch

    return torch.func.jvp(fn, (x,), (tangent,))


def _torch_vjp(fn, x, cotangent):
    import torch

    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(x)
        (g,) = torch.autograd.grad(
            y, x, grad_outputs=cotangent.to(y.dtype), create_graph=True, allow_unused=True
        )
    if g is None:
        g = torch.zeros_like(x)
    return y, g


_IMPL = {
    "tensorflow": (_tf_jvp, _tf_vjp),
    "jax": (_jax_jvp, _jax_vjp),
    "torch": (_torch_jvp, _torch_vjp),
}
