"""Hand-written plain-Keras autoencoders: the baseline keras_ae must match.

Written the way an expert writes them without keras_ae, in Keras 3 on any
backend (``--backend tensorflow|jax|torch``, or ``$KERAS_BACKEND``):
functional models with a compiled loss where that suffices (AE, DAE, SAE,
and the VAE, whose sampling layer adds the KL term with ``add_loss``), a
subclassed model with a custom ``train_step`` where it does not (AAE: three
optimizers). Same networks, losses and optimizer as the keras_ae runner:

* dense 784-512-256-32, hidden activation ``--activation`` (ReLU), the code
  layer with the same activation (keras_ae's default, docs/design.md, "Semantics") for
  AE/DAE/SAE and linear for the VAE heads and the AAE code; sigmoid outputs;
* reconstruction: Bernoulli NLL summed over pixels, averaged over the batch
  (nats/image); the VAE decoder outputs logits;
* DAE: masking noise (30 % of the pixels set to 0, ``keras.random`` with a
  ``SeedGenerator``) inside the model, only in training; SAE:
  ``activity_regularizer=L1(1e-4)`` on the code (Keras divides it by the
  batch size: 1e-4 x mean per-example L1 norm);
* AAE: discriminator 32-256-256-1 (logits), N(0, I) prior; ``aae-paper`` does
  the paper's three phases per batch (reconstruction, discriminator,
  generator, one Adam each); ``aae-joint`` is pythae's single joint update
  (autoencoder loss rec + 0.5 x generator BCE, discriminator loss
  BCE(real) + BCE(fake), both optimizers step on one forward pass). The step
  is written once; its gradients come from ``tf.GradientTape`` (TensorFlow),
  ``torch.autograd.grad`` (torch) or ``jax.vjp`` inside a stateless
  ``train_step(state, data)`` (JAX);
* Adam(1e-3), batch 128.

Run one model (prints ``BENCH_RESULT {json}``)::

    python benchmarks/plain_keras.py --model vae --epochs 2 --threads 1
    python benchmarks/plain_keras.py --model aae-paper --quick --backend jax
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402
import keras_harness  # noqa: E402


# ------------------------------------------------------------------ networks
def dense_net(keras, input_dim, units, activation, out_units, out_activation, name):
    inputs = keras.Input((input_dim,))
    h = inputs
    for u in units:
        h = keras.layers.Dense(u, activation=activation)(h)
    if isinstance(out_units, tuple):  # several linear heads
        outs = [keras.layers.Dense(u, name=n)(h) for n, u in out_units]
        return keras.Model(inputs, outs, name=name)
    return keras.Model(
        inputs, keras.layers.Dense(out_units, activation=out_activation)(h), name=name
    )


def build_masking_noise(keras):
    class MaskingNoise(keras.layers.Layer):
        """Sets a fraction ``rate`` of the inputs to 0 while training."""

        def __init__(self, rate, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, x, training=False):
            if not training:
                return x
            keep = keras.random.uniform(keras.ops.shape(x), seed=self.seed_generator)
            return keras.ops.where(keep >= self.rate, x, 0.0)

    return MaskingNoise


def bce_sum(y_true, y_pred):
    """Bernoulli NLL summed over pixels (Keras averages it over the batch)."""
    from keras import ops

    return ops.sum(ops.binary_crossentropy(y_true, y_pred), axis=-1)


def build_ae(keras, kind, act, seed, compile_kwargs):
    """AE / DAE / SAE as functional models with a compiled loss."""
    d, k = 784, common.LATENT_DIM
    inputs = keras.Input((d,))
    h = inputs
    if kind == "dae":
        h = build_masking_noise(keras)(common.MASKING_RATE, seed=seed)(h)
    for u in common.HIDDEN_UNITS:
        h = keras.layers.Dense(u, activation=act)(h)
    reg = keras.regularizers.L1(common.L1_SPARSITY) if kind == "sae" else None
    code = keras.layers.Dense(k, activation=act, activity_regularizer=reg, name="code")(h)
    encoder = keras.Model(inputs, code, name="encoder")
    decoder = dense_net(keras, k, common.HIDDEN_UNITS[::-1], act, d, "sigmoid", "decoder")
    model = keras.Model(inputs, decoder(code), name=kind)
    model.compile(
        optimizer=keras.optimizers.Adam(common.LEARNING_RATE), loss=bce_sum, **compile_kwargs
    )
    return model, encoder, decoder


def build_sampling(keras):
    from keras import ops

    class Sampling(keras.layers.Layer):
        """``z = mu + sigma * eps`` while training (else the posterior mean); adds the KL."""

        def __init__(self, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, inputs, training=False):
            z_mean, z_log_var = inputs
            if not training:
                return z_mean
            kl = -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
            self.add_loss(ops.mean(kl))
            eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * eps

    return Sampling


def bce_logits_sum(y_true, logits):
    """Bernoulli NLL from logits, summed over pixels (Keras averages it over the batch)."""
    from keras import ops

    return ops.sum(ops.binary_crossentropy(y_true, logits, from_logits=True), axis=-1)


def build_vae(keras, encoder, decoder, seed, compile_kwargs):
    """Bernoulli VAE, backend-neutral: a functional model whose sampling layer adds
    the KL term (``add_loss``); the compiled loss is the reconstruction NLL."""
    inputs = keras.Input((784,))
    z_mean, z_log_var = encoder(inputs)
    z = build_sampling(keras)(seed=seed, name="sampling")([z_mean, z_log_var])
    model = keras.Model(inputs, decoder(z), name="vae")  # outputs logits
    model.compile(
        optimizer=keras.optimizers.Adam(common.LEARNING_RATE), loss=bce_logits_sum, **compile_kwargs
    )
    return model


# ------------------------------------------------------- AAE, one step per backend
def _tf_grads(fn, *groups):
    """``fn() -> (losses, aux)``; gradients of ``losses[i]`` w.r.t. ``groups[i]``."""
    import tensorflow as tf

    with tf.GradientTape(persistent=len(groups) > 1) as tape:
        losses, aux = fn()
    return losses, aux, [tape.gradient(loss, vs) for loss, vs in zip(losses, groups)]


def _tf_apply(optimizer, grads, variables):
    optimizer.apply(grads, variables)


def _torch_grads(fn, *groups):
    import torch

    losses, aux = fn()
    grads = [
        torch.autograd.grad(loss, [v.value for v in vs], retain_graph=i < len(groups) - 1)
        for i, (loss, vs) in enumerate(zip(losses, groups))
    ]
    detach = lambda t: t.detach()  # noqa: E731 - metrics need values, not graphs
    return [detach(l) for l in losses], aux and tuple(map(detach, aux)), grads


def _torch_apply(optimizer, grads, variables):
    import torch

    with torch.no_grad():
        optimizer.apply(list(grads), variables)


def _jax_grads(keras, outer, variables, fn, *groups):
    """JAX: ``fn`` run as a pure function of the values of ``groups``.

    ``outer`` is the `StatelessScope` that holds the current value of every
    variable in ``variables``; the other variables' updates made by ``fn``
    (seed generators) are written back to it.
    """
    import jax
    import jax.numpy as jnp

    diff = {id(v) for vs in groups for v in vs}
    rest = [v for v in variables if id(v) not in diff]

    def pure(*group_values):
        mapping = {id(v): outer.get_current_value(v) for v in variables}
        for vs, vals in zip(groups, group_values):
            mapping.update(zip(map(id, vs), vals))
        with keras.StatelessScope(state_mapping=[(v, mapping[id(v)]) for v in variables]) as scope:
            losses, aux = fn()
        return tuple(losses), (aux, [scope.get_current_value(v) for v in rest])

    primals = [[outer.get_current_value(v) for v in vs] for vs in groups]
    losses, vjp, (aux, updated) = jax.vjp(pure, *primals, has_aux=True)
    for v, value in zip(rest, updated):
        outer.add_update((v, value))
    grads = []
    for i in range(len(groups)):  # one forward pass, one backward pass per loss
        cotangent = tuple(jnp.ones_like(l) if j == i else jnp.zeros_like(l) for j, l in enumerate(losses))
        grads.append(vjp(cotangent)[i])
    return losses, aux, grads


def build_aae_class(keras):
    from keras import ops

    backend = keras.backend.backend()

    def bce_logits(labels_value, logits):
        labels = ops.full(ops.shape(logits), labels_value)
        return ops.mean(ops.binary_crossentropy(labels, logits, from_logits=True))

    class AAE(keras.Model):
        """Adversarial autoencoder: ``mode="paper"`` (3 phases) or ``"joint"``.

        The step is written once (`_step`) with two backend hooks: ``grads``
        (TensorFlow: ``GradientTape``; torch: ``torch.autograd.grad``; JAX:
        ``jax.vjp`` of a pure function) and ``apply`` (an optimizer update).
        """

        def __init__(self, encoder, decoder, discriminator, mode, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.encoder, self.decoder = encoder, decoder
            self.discriminator = discriminator
            self.mode = mode
            self.seed_generator = keras.random.SeedGenerator(seed)
            self.trackers = {
                n: keras.metrics.Mean(name=n)
                for n in ("reconstruction_loss", "discriminator_loss", "generator_loss")
            }

        @property
        def metrics(self):
            return list(self.trackers.values())

        def compile(
            self, optimizer, discriminator_optimizer, generator_optimizer=None, **kwargs
        ):
            super().compile(optimizer=optimizer, **kwargs)
            self.d_optimizer = discriminator_optimizer
            self.g_optimizer = generator_optimizer
            self.d_optimizer.build(self.discriminator.trainable_weights)
            if self.g_optimizer is not None:
                self.g_optimizer.build(self.encoder.trainable_weights)
            if backend == "jax":
                # JAX's trainer threads the model's variables and `self.optimizer`'s
                # through the jitted step, nothing else: the other optimizers' slots
                # travel as (tracked) non-trainable variables of the model.
                extra = self.d_optimizer.variables
                if self.g_optimizer is not None:
                    extra = extra + self.g_optimizer.variables
                self.extra_optimizer_variables = list(extra)

        def call(self, x, training=False):
            return self.decoder(self.encoder(x, training=training), training=training)

        def _reconstruction(self, x, x_hat):
            return ops.mean(ops.sum(ops.binary_crossentropy(x, x_hat), axis=1))

        def _discriminator_loss(self, z_fake):
            """Prior samples are real, codes are fake."""
            z_real = keras.random.normal(ops.shape(z_fake), seed=self.seed_generator)
            return bce_logits(1.0, self.discriminator(z_real, training=True)) + bce_logits(
                0.0, self.discriminator(ops.stop_gradient(z_fake), training=True)
            )

        def _step(self, x, grads, apply):
            e_vars = self.encoder.trainable_weights
            ae_vars = e_vars + self.decoder.trainable_weights
            d_vars = self.discriminator.trainable_weights
            if self.mode == "paper":
                # 1. reconstruction phase: encoder + decoder.
                (rec,), _, (g,) = grads(
                    lambda: ((self._reconstruction(x, self(x, training=True)),), None), ae_vars
                )
                apply(self.optimizer, g, ae_vars)
                # 2. regularisation phase, discriminator.
                (d_loss,), _, (g,) = grads(
                    lambda: ((self._discriminator_loss(self.encoder(x, training=True)),), None),
                    d_vars,
                )
                apply(self.d_optimizer, g, d_vars)
                # 3. regularisation phase, generator: the encoder fools D.
                (g_loss,), _, (g,) = grads(
                    lambda: (
                        (bce_logits(1.0, self.discriminator(self.encoder(x, training=True), training=True)),),
                        None,
                    ),
                    e_vars,
                )
                apply(self.g_optimizer, g, e_vars)
            else:
                # pythae's Adversarial_AE: one forward pass, two optimizers.
                def joint():
                    z = self.encoder(x, training=True)
                    rec = self._reconstruction(x, self.decoder(z, training=True))
                    g_loss = bce_logits(1.0, self.discriminator(z, training=True))
                    ae_loss = rec + common.ADVERSARIAL_LOSS_SCALE * g_loss
                    return (ae_loss, self._discriminator_loss(z)), (rec, g_loss)

                (_, d_loss), (rec, g_loss), (ae_grads, d_grads) = grads(joint, ae_vars, d_vars)
                apply(self.optimizer, ae_grads, ae_vars)
                apply(self.d_optimizer, d_grads, d_vars)
            for name, value in (
                ("reconstruction_loss", rec),
                ("discriminator_loss", d_loss),
                ("generator_loss", g_loss),
            ):
                self.trackers[name].update_state(value)
            return {m.name: m.result() for m in self.metrics}

        if backend == "jax":

            def train_step(self, state, data):
                # Stateless: every variable's value comes in `state` and goes out
                # in the returned state; inside, the step is written as if it
                # were stateful, in a StatelessScope that records every update.
                x = keras.utils.unpack_x_y_sample_weight(data)[0]
                groups = (
                    self.trainable_variables,
                    self.non_trainable_variables,
                    self.optimizer.variables,
                    self.metrics_variables,
                )
                variables = [v for vs in groups for v in vs]
                values = [value for vs in state for value in vs]
                with keras.StatelessScope(state_mapping=list(zip(variables, values))) as scope:
                    grads = lambda fn, *g: _jax_grads(keras, scope, variables, fn, *g)  # noqa: E731
                    logs = self._step(x, grads, lambda opt, g, vs: opt.apply(g, vs))
                new, out = iter([scope.get_current_value(v) for v in variables]), []
                for vs in groups:
                    out.append([next(new) for _ in vs])
                return logs, tuple(out)

        else:

            def train_step(self, data):
                x = keras.utils.unpack_x_y_sample_weight(data)[0]
                if backend == "torch":
                    return self._step(x, _torch_grads, _torch_apply)
                return self._step(x, _tf_grads, _tf_apply)

    return AAE


def build(model_id, act, seed, variant):
    """Returns ``(model, encoder, decoder, pairs)``, compiled; pairs: fit(x, x)."""
    import keras

    adam = lambda: keras.optimizers.Adam(common.LEARNING_RATE)  # noqa: E731
    kw = keras_harness.compile_kwargs(variant)
    d, k = 784, common.LATENT_DIM
    if model_id in ("ae", "dae", "sae"):
        model, enc, dec = build_ae(keras, model_id, act, seed, kw)
        return model, enc, dec, True
    if model_id == "vae":
        enc = dense_net(
            keras, d, common.HIDDEN_UNITS, act, (("z_mean", k), ("z_log_var", k)), None, "encoder"
        )
        dec = dense_net(keras, k, common.HIDDEN_UNITS[::-1], act, d, None, "decoder")
        return build_vae(keras, enc, dec, seed, kw), enc, dec, True
    enc = dense_net(keras, d, common.HIDDEN_UNITS, act, k, None, "encoder")
    dec = dense_net(keras, k, common.HIDDEN_UNITS[::-1], act, d, "sigmoid", "decoder")
    disc = dense_net(keras, k, common.DISCRIMINATOR_UNITS, act, 1, None, "discriminator")
    mode = "paper" if model_id == "aae-paper" else "joint"
    model = build_aae_class(keras)(enc, dec, disc, mode, seed=seed)
    model.compile(adam(), adam(), adam() if mode == "paper" else None, **kw)
    return model, enc, dec, False


class Adapter:
    def __init__(self, model, encoder, decoder, is_vae):
        self.model, self.encoder, self.decoder, self.is_vae = model, encoder, decoder, is_vae

    def encode(self, x):
        out = self.encoder.predict(x, batch_size=1024, verbose=0)
        return out[0] if self.is_vae else out

    def reconstruct(self, x):
        out = self.model.predict(x, batch_size=1024, verbose=0)
        return _sigmoid(out) if self.is_vae else out  # the VAE outputs logits

    def posterior(self, x):
        mu, log_var = self.encoder.predict(x, batch_size=1024, verbose=0)
        return mu, log_var

    def decode(self, z):
        return _sigmoid(self.decoder.predict(z, batch_size=4096, verbose=0))

    def matmul_peak(self, size):
        return keras_harness.matmul_peak(size)


def _sigmoid(logits):
    import numpy as np

    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-logits))


def main(argv=None):
    args = keras_harness.runner_parser(__doc__.splitlines()[0]).parse_args(argv)
    reason = keras_harness.unsupported(args.variant, args.backend)
    if reason:
        common.emit_skip(args, "plain_keras", reason)
        return
    keras = keras_harness.setup(args)
    keras.utils.set_random_seed(args.seed)
    data = common.load_fashion_mnist(quick=args.quick)
    model, enc, dec, pairs = build(args.model, args.activation, args.seed, args.variant)
    timing = keras_harness.fit_timed(model, data[0][0], args, pairs, args.seed)
    extra = keras_harness.versions()
    extra["jit_compile"] = bool(getattr(model, "jit_compile", False))
    extra["steps_per_execution"] = int(getattr(model, "steps_per_execution", 1) or 1)
    common.evaluate_and_report(
        args, "plain_keras", Adapter(model, enc, dec, args.model == "vae"), data, timing, extra
    )


if __name__ == "__main__":
    main()
