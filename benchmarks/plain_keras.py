"""Hand-written plain-Keras autoencoders: the baseline keras_ae must match.

Written the way an expert writes them without keras_ae (Keras 3, TensorFlow
backend): functional models with a compiled loss where that suffices (AE,
DAE, SAE), a subclassed model with a custom ``train_step`` where it does not
(VAE, AAE). Same networks, losses and optimizer as the keras_ae runner:

* dense 784-512-256-32, hidden activation ``--activation`` (ReLU), the code
  layer with the same activation (keras_ae's default, DESIGN.md 2b) for
  AE/DAE/SAE and linear for the VAE heads and the AAE code; sigmoid outputs;
* reconstruction: Bernoulli NLL summed over pixels, averaged over the batch
  (nats/image); the VAE decoder outputs logits;
* DAE: masking noise (30 % of the pixels set to 0) inside the model, only in
  training; SAE: ``activity_regularizer=L1(1e-4)`` on the code (Keras divides
  it by the batch size: 1e-4 x mean per-example L1 norm);
* AAE: discriminator 32-256-256-1 (logits), N(0, I) prior; ``aae-paper`` does
  the paper's three phases per batch (reconstruction, discriminator,
  generator, one Adam each); ``aae-joint`` is pythae's single joint update
  (autoencoder loss rec + 0.5 x generator BCE, discriminator loss
  BCE(real) + BCE(fake), both optimizers step on one forward pass);
* Adam(1e-3), batch 128.

Run one model (prints ``BENCH_RESULT {json}``)::

    python benchmarks/plain_keras.py --model vae --epochs 2 --threads 1
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


def build_vae_class(keras):
    import tensorflow as tf
    from keras import ops

    class VAE(keras.Model):
        """Bernoulli VAE with a custom train_step (keras-io style, logits)."""

        def __init__(self, encoder, decoder, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.encoder, self.decoder = encoder, decoder
            self.seed_generator = keras.random.SeedGenerator(seed)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.rec_tracker = keras.metrics.Mean(name="reconstruction_loss")
            self.kl_tracker = keras.metrics.Mean(name="kl_loss")

        @property
        def metrics(self):
            return [self.loss_tracker, self.rec_tracker, self.kl_tracker]

        def call(self, x, training=False):
            z_mean, _ = self.encoder(x, training=training)
            return ops.sigmoid(self.decoder(z_mean, training=training))

        def train_step(self, data):
            x = data
            with tf.GradientTape() as tape:
                z_mean, z_log_var = self.encoder(x, training=True)
                eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
                z = z_mean + ops.exp(0.5 * z_log_var) * eps
                logits = self.decoder(z, training=True)
                rec = ops.mean(
                    ops.sum(ops.binary_crossentropy(x, logits, from_logits=True), axis=1)
                )
                kl = ops.mean(
                    -0.5
                    * ops.sum(
                        1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=1
                    )
                )
                loss = rec + kl
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            self.loss_tracker.update_state(loss)
            self.rec_tracker.update_state(rec)
            self.kl_tracker.update_state(kl)
            return {m.name: m.result() for m in self.metrics}

    return VAE


def build_aae_class(keras):
    import tensorflow as tf
    from keras import ops

    def bce_logits(labels_value, logits):
        labels = ops.full(ops.shape(logits), labels_value)
        return ops.mean(ops.binary_crossentropy(labels, logits, from_logits=True))

    class AAE(keras.Model):
        """Adversarial autoencoder: ``mode="paper"`` (3 phases) or ``"joint"``."""

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

        def call(self, x, training=False):
            return self.decoder(self.encoder(x, training=training), training=training)

        def _reconstruction(self, x, x_hat):
            return ops.mean(ops.sum(ops.binary_crossentropy(x, x_hat), axis=1))

        def train_step(self, x):
            ae_vars = self.encoder.trainable_weights + self.decoder.trainable_weights
            d_vars = self.discriminator.trainable_weights
            if self.mode == "paper":
                # 1. reconstruction phase: encoder + decoder.
                with tf.GradientTape() as tape:
                    rec = self._reconstruction(x, self(x, training=True))
                self.optimizer.apply_gradients(zip(tape.gradient(rec, ae_vars), ae_vars))
                # 2. regularisation phase, discriminator: prior = real, codes = fake.
                z_fake = self.encoder(x, training=True)
                z_real = keras.random.normal(ops.shape(z_fake), seed=self.seed_generator)
                with tf.GradientTape() as tape:
                    d_loss = bce_logits(1.0, self.discriminator(z_real, training=True)) + bce_logits(
                        0.0, self.discriminator(z_fake, training=True)
                    )
                self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
                # 3. regularisation phase, generator: the encoder fools D.
                e_vars = self.encoder.trainable_weights
                with tf.GradientTape() as tape:
                    g_loss = bce_logits(
                        1.0, self.discriminator(self.encoder(x, training=True), training=True)
                    )
                self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, e_vars), e_vars))
            else:
                # pythae's Adversarial_AE: one forward pass, two optimizers.
                with tf.GradientTape(persistent=True) as tape:
                    z = self.encoder(x, training=True)
                    rec = self._reconstruction(x, self.decoder(z, training=True))
                    g_loss = bce_logits(1.0, self.discriminator(z, training=True))
                    ae_loss = rec + common.ADVERSARIAL_LOSS_SCALE * g_loss
                    z_real = keras.random.normal(ops.shape(z), seed=self.seed_generator)
                    d_loss = bce_logits(1.0, self.discriminator(z_real, training=True)) + bce_logits(
                        0.0, self.discriminator(ops.stop_gradient(z), training=True)
                    )
                ae_grads = tape.gradient(ae_loss, ae_vars)
                d_grads = tape.gradient(d_loss, d_vars)
                del tape
                self.optimizer.apply_gradients(zip(ae_grads, ae_vars))
                self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
            for name, value in (
                ("reconstruction_loss", rec),
                ("discriminator_loss", d_loss),
                ("generator_loss", g_loss),
            ):
                self.trackers[name].update_state(value)
            return {m.name: m.result() for m in self.metrics}

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
        model = build_vae_class(keras)(enc, dec, seed=seed)
        model.compile(optimizer=adam(), **kw)
        return model, enc, dec, False
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
        return self.model.predict(x, batch_size=1024, verbose=0)

    def posterior(self, x):
        mu, log_var = self.encoder.predict(x, batch_size=1024, verbose=0)
        return mu, log_var

    def decode(self, z):
        import numpy as np

        logits = np.concatenate(
            [
                np.asarray(self.decoder(z[i : i + 4096], training=False))
                for i in range(0, len(z), 4096)
            ]
        )
        return 1.0 / (1.0 + np.exp(-logits))

    def matmul_peak(self, size):
        return keras_harness.matmul_peak(size)


def main(argv=None):
    args = common.runner_parser(__doc__.splitlines()[0]).parse_args(argv)
    keras_harness.setup_threads(args.threads)
    import keras

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
