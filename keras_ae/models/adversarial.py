"""The adversarial autoencoder (Makhzani et al. 2015)."""

import keras
import numpy as np
from keras import ops

from keras_ae import backend
from keras_ae import losses
from keras_ae import priors
from keras_ae import rng
from keras_ae import validation
from keras_ae.backend import phases
from keras_ae.layers.minibatch_features import MinibatchFeatures
from keras_ae.layers.sampling import Sampling
from keras_ae.models.base import BaseAutoencoder

MODES = ("phased", "joint")
MINIBATCH_FEATURES = ("none", "std", "moments", "hidden_moments", "covariance", "covariance_norm")
POSTERIORS = ("deterministic", "gaussian")


def default_optimizers():
    """The default optimizers of `AdversarialAutoencoder.compile`.

    Reconstruction ``Adam(1e-3)`` as for the plain autoencoder; the
    adversarial phases with DCGAN-style ``beta_1=0.5`` and smaller rates,
    the generator's a little higher than the discriminator's.

    Returns:
        A dict with fresh ``optimizer``, ``discriminator_optimizer`` and
        ``generator_optimizer`` instances.
    """
    return {
        "optimizer": keras.optimizers.Adam(learning_rate=1e-3),
        "discriminator_optimizer": keras.optimizers.Adam(
            learning_rate=2e-4, beta_1=0.5
        ),
        "generator_optimizer": keras.optimizers.Adam(learning_rate=3e-4, beta_1=0.5),
    }


def build_discriminator(
    latent_dim, units=(256, 256), activation="relu", seed=None, minibatch_features="none"
):
    """Builds the default discriminator: an MLP from codes to one logit.

    Args:
        latent_dim: size of the codes.
        units: hidden layer sizes.
        activation: activation of the hidden layers.
        seed: optional integer seed of the kernel initializers.
        minibatch_features: ``"none"``, ``"std"`` (one column: the batch
            standard deviation averaged over the features), ``"moments"``
            (per-feature batch mean and standard deviation) appended to
            every row before the first layer, ``"hidden_moments"``
            (``"moments"``, and the first hidden layer's moments appended
            to its output), ``"covariance"`` (``"moments"`` and the batch
            correlation of every pair of dimensions) or
            ``"covariance_norm"`` (``"covariance"`` and the batch mean and
            std of the rows' squared norms over the width).

    Returns:
        A functional `keras.Model` mapping ``(batch, latent_dim)`` to
        ``(batch, 1)`` float32 logits ("prior" vs "code").
    """

    def init(index):
        if seed is None:
            return "glorot_uniform"
        return keras.initializers.GlorotUniform(seed=seed + 104729 + 7919 * index)

    inputs = keras.Input(shape=(latent_dim,), name="code")
    h = inputs
    if minibatch_features != "none":
        mode = "moments" if minibatch_features == "hidden_moments" else minibatch_features
        h = MinibatchFeatures(mode, name="minibatch_features")(h)
    if minibatch_features == "hidden_moments" and not units:
        raise ValueError(
            "`minibatch_features='hidden_moments'` needs at least one hidden layer "
            f"in the discriminator. Received: units={tuple(units)!r}"
        )
    for i, u in enumerate(units):
        h = keras.layers.Dense(
            u, activation=activation, kernel_initializer=init(i), name=f"dense_{i}"
        )(h)
        if i == 0 and minibatch_features == "hidden_moments":
            h = MinibatchFeatures("moments", name="hidden_minibatch_features")(h)
    logits = keras.layers.Dense(
        1, kernel_initializer=init(len(units)), dtype="float32", name="logit"
    )(h)
    return keras.Model(inputs, logits, name="discriminator")


class _PhaseVariables:
    """The variable list of each phase, fixed at `compile` (not tracked)."""

    def __init__(self, autoencoder, discriminator, generator):
        self.autoencoder = autoencoder
        self.discriminator = discriminator
        self.generator = generator


@keras.saving.register_keras_serializable(package="keras_ae")
class AdversarialAutoencoder(BaseAutoencoder):
    """Adversarial autoencoder: a deterministic autoencoder whose codes are
    pushed towards a prior by a discriminator (Makhzani et al. 2015).

    Every batch of ``fit`` runs the paper's three phases, each updating only
    its own variables with its own optimizer:

    1. **reconstruction**: encoder and decoder minimise the reconstruction
       loss (``optimizer``);
    2. **regularisation**: the discriminator learns to tell prior samples
       (real) from the codes of the updated encoder (fake)
       (``discriminator_optimizer``);
    3. **generator**: the encoder learns to make the updated discriminator
       call its codes real (non-saturating loss ``-log D(z)``,
       ``generator_optimizer``).

    ``mode="joint"`` instead makes one simultaneous update from one forward
    pass, as pythae's ``Adversarial_AE``: encoder and decoder minimise
    ``reconstruction + adversarial_weight * generator_loss`` with
    ``optimizer`` while the discriminator takes its step with
    ``discriminator_optimizer`` (``generator_optimizer`` is not used).

    The code layer is linear (``code_activation = None``) so that codes can
    cover the whole support of the prior. Losses are computed in float32,
    divided by the number of replicas under ``tf.distribute`` and scaled by
    each optimizer under mixed precision (the two extra optimizers are
    wrapped in `keras.optimizers.LossScaleOptimizer` under
    ``mixed_float16``). Prior draws are made for the whole global batch from
    a seed shared by the replicas, each replica using its own slice, so a
    step on N replicas equals the step on one device with the same seed
    (batches divisible by N).

    Metrics: ``loss`` (the autoencoder's objective: reconstruction plus
    weight penalties, plus ``adversarial_weight * generator_loss`` in joint
    mode), ``reconstruction_loss``, ``mse``, ``discriminator_loss`` (mean
    binary cross-entropy over prior samples and codes, ``log 2`` at chance),
    ``generator_loss`` and ``discriminator_accuracy`` (measured before the
    discriminator's update). `evaluate` reports the same values without
    updating, with prior draws from a fixed seed (deterministic, and the
    training stream is left untouched).

    Args:
        input_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)``.
        latent_dim: size of the code.
        hidden_units: units (dense) or filters (conv) of the hidden layers;
            ``None`` picks ``(512, 256)`` for dense and ``(32, 64)`` for conv.
        activation: activation of the hidden layers (the code is linear).
        output_activation: activation of the decoder's last layer.
        reconstruction_loss: ``"bce"`` or ``"mse"``.
        architecture: ``"dense"`` or ``"conv"``.
        encoder: optional user `keras.Model` replacing the built-in encoder.
        decoder: optional user `keras.Model` replacing the built-in decoder.
        tied_weights: dense only; decoder kernels are the encoder's transposed.
        seed: optional integer seed (initializers and the default prior).
        prior: a `keras_ae.priors` prior (`Gaussian`, `MixtureOfGaussians`,
            `Uniform`), a name (``"gaussian"``, ``"mixture"``, ``"uniform"``)
            or a config dict; ``None`` is ``Gaussian(1.0, seed=seed)``.
        discriminator: optional user `keras.Model` mapping codes
            ``(batch, latent_dim)`` to logits ``(batch, 1)``.
        discriminator_units: hidden layer sizes of the built-in
            discriminator (ReLU MLP with one linear output logit).
        adversarial_weight: weight of the generator loss (> 0). In joint mode
            it weighs the adversarial term against the reconstruction; in
            phased mode it multiplies the generator phase's loss (which
            changes nothing with Adam's scale-invariant steps).
        mode: ``"phased"`` (the paper's three phases, default) or
            ``"joint"`` (one simultaneous update, as pythae).
        minibatch_features: statistics of the batch the built-in
            discriminator also reads, so that a batch of codes too narrow or
            shifted against the prior is detectable: ``"none"``, ``"std"``
            (the batch standard deviation averaged over dimensions, Karras
            et al. 2018), ``"moments"`` (every dimension's batch mean and
            standard deviation), ``"hidden_moments"`` (``"moments"``, and
            the same statistics of the first hidden layer), ``"covariance"``
            (``"moments"`` and the batch correlation of every pair of
            dimensions: correlated codes are detectable) or
            ``"covariance_norm"`` (``"covariance"`` and the batch mean and
            std of ``|z|^2 / latent_dim``: too many codes far out are
            detectable). ``None`` (default) picks ``"covariance_norm"`` for
            a `Gaussian` prior (Fashion-MNIST 32-D, 10 epochs: 97-98% of
            test codes in the prior's 99% ball against 76-96% without; see
            benchmarks/aae_prior_match.py) and ``"none"`` for other priors
            (a 2-D mixture of 10 Gaussians matched worse with it) or with a
            user ``discriminator``. Prior draws and
            codes are judged as separate batches; the statistics are
            unweighted means over the global batch under ``tf.distribute``
            (``sample_weight`` does not enter them). Not available with a
            user ``discriminator``; the semi-supervised and clustering AAEs
            give them to the style discriminator only.
        posterior: ``"deterministic"`` (codes ``mu(x)``, the default) or
            ``"gaussian"`` (the paper's Gaussian posterior: in training the
            phases use ``z = mu(x) + sigma * eps`` with ``log sigma^2`` a
            learned linear function of ``mu(x)``; `encode` and exports give
            ``mu(x)``). The noise is drawn per replica and its stream is
            saved with the model.
        **kwargs: base `keras.Model` arguments.

    Example:
    ```python
    (x, _), (x_test, y_test) = keras_ae.datasets.load_data("fashion_mnist")
    aae = keras_ae.AAE(input_shape=(784,), latent_dim=8,
                       prior=keras_ae.priors.Gaussian(1.0), seed=0)
    aae.compile()        # Adam for each phase, tuned defaults
    aae.fit(x, epochs=10, batch_size=128)
    z = aae.encode(x_test)           # close to N(0, I)
    images = aae.sample(16, seed=0)  # decoded prior draws
    ```
    """

    code_activation = None
    generative = True
    #: The ``posterior`` values this class trains with (a subclass whose
    #: phases call the encoder directly lists only ``"deterministic"``).
    posterior_options = POSTERIORS
    #: The built-in discriminator's batch statistics when
    #: ``minibatch_features`` is not given and the prior is a `Gaussian`
    #: (other priors and a user discriminator: ``"none"``; the labelled
    #: subclasses keep ``"none"``: not measured with the others).
    default_minibatch_features = "covariance_norm"

    def __init__(
        self,
        input_shape,
        latent_dim=32,
        hidden_units=None,
        activation="relu",
        output_activation="sigmoid",
        reconstruction_loss="bce",
        architecture="dense",
        encoder=None,
        decoder=None,
        tied_weights=False,
        seed=None,
        prior=None,
        discriminator=None,
        discriminator_units=(256, 256),
        adversarial_weight=1.0,
        mode="phased",
        minibatch_features=None,
        posterior="deterministic",
        **kwargs,
    ):
        # The extra arguments are checked and stored before the base
        # constructor, which builds the whole model (`_build_model`).
        discriminator_units = validation.integer_tuple(
            discriminator_units, "discriminator_units"
        )
        adversarial_weight = validation.number(
            adversarial_weight, "adversarial_weight", low=0.0, low_inclusive=False
        )
        validation.one_of(mode, "mode", MODES)
        if prior is None:
            seed = validation.integer(seed, "seed", allow_none=True)
            prior = priors.Gaussian(1.0, seed=None if seed is None else int(seed))
        else:
            prior = priors.get(prior)
        prior.validate_latent_dim(latent_dim)
        if minibatch_features is None:
            minibatch_features = self._default_minibatch_features(prior, discriminator)
        validation.one_of(minibatch_features, "minibatch_features", MINIBATCH_FEATURES)
        validation.one_of(posterior, "posterior", self.posterior_options)
        if discriminator is not None and minibatch_features != "none":
            raise ValueError(
                "`minibatch_features` must be 'none' with a user `discriminator`. "
                f"Received: minibatch_features={minibatch_features!r}"
            )
        if discriminator is not None and not isinstance(
            discriminator, keras.layers.Layer
        ):
            raise ValueError(
                "`discriminator` must be a keras.Model or keras.layers.Layer. "
                f"Received: discriminator={discriminator!r}"
            )
        self._init_keras_model(kwargs)
        self.prior = prior
        self.discriminator_units = discriminator_units
        self.adversarial_weight = float(adversarial_weight)
        self.mode = mode
        self.minibatch_features = minibatch_features
        self.posterior = posterior
        self.posterior_log_var = None
        self.posterior_sampling = None
        self._custom_discriminator = discriminator is not None
        self._discriminator_arg = discriminator
        self._phase_variables = None
        self.discriminator_optimizer = None
        self.generator_optimizer = None
        super().__init__(
            input_shape,
            latent_dim=latent_dim,
            hidden_units=hidden_units,
            activation=activation,
            output_activation=output_activation,
            reconstruction_loss=reconstruction_loss,
            architecture=architecture,
            encoder=encoder,
            decoder=decoder,
            tied_weights=tied_weights,
            seed=seed,
            **kwargs,
        )

    # ------------------------------------------------------------------ build
    def _default_minibatch_features(self, prior, discriminator):
        # The statistics were chosen for a Gaussian prior; the 2-D mixture of
        # 10 components of the slow test matched worse with them (42.8% of
        # the digits' test codes in their component's disc, 60% needed).
        if discriminator is not None or not isinstance(prior, priors.Gaussian):
            return "none"
        return self.default_minibatch_features

    def _build_model(self):
        if self._discriminator_arg is not None:
            self.discriminator = self._discriminator_arg
        else:
            self.discriminator = build_discriminator(
                self.discriminator_input_dim(),
                self.discriminator_units,
                seed=self.seed,
                minibatch_features=self.minibatch_features,
            )
        self._discriminator_arg = None
        if self.posterior == "gaussian":
            self._build_posterior()
        width = self.discriminator_input_dim()
        logits = self.discriminator(ops.zeros((1, width)), training=False)
        if tuple(logits.shape) != (1, 1):
            raise ValueError(
                f"`discriminator` must map inputs (batch, {width}) to logits "
                f"(batch, 1). Received: discriminator output shape {tuple(logits.shape)} "
                f"for an input of shape (1, {width})"
            )
        # A prior has no weights to build (only its saved seed state).
        self.prior.built = True
        super()._build_model()

    def _build_posterior(self):
        # log sigma^2(x) is a linear function of the code mu(x), zero at the
        # start (unit noise); the encoder itself stays mu(x).
        codes = keras.Input(shape=(self.latent_dim,), name="code")
        log_var = keras.layers.Dense(
            self.latent_dim, kernel_initializer="zeros", name="log_var"
        )(codes)
        self.posterior_log_var = keras.Model(codes, log_var, name="posterior_log_var")
        self.posterior_sampling = Sampling(
            seed=None if self.seed is None else self.seed + 271, name="posterior_sampling"
        )
        zeros = ops.zeros((1, self.latent_dim))
        self.posterior_sampling([zeros, self.posterior_log_var(zeros)], training=False)

    def posterior_codes(self, x, training=False):
        """Codes the training phases use: ``mu(x)``, or with
        ``posterior="gaussian"`` and ``training`` a draw from
        ``N(mu(x), sigma(x)^2)`` (the reparameterisation trick)."""
        codes = self.encoder(x, training=training)
        if self.posterior_sampling is None or not training:
            return codes
        log_var = self.posterior_log_var(codes, training=training)
        return ops.cast(self.posterior_sampling([codes, log_var], training=True), codes.dtype)

    def _posterior_variables(self):
        if self.posterior_log_var is None:
            return []
        return list(self.posterior_log_var.trainable_variables)

    def discriminator_input_dim(self):
        """Width of the discriminator's input (``latent_dim``; subclasses
        that condition the discriminator on labels add the label width)."""
        return self.latent_dim

    # --------------------------------------------------------------- compile
    def compile(
        self,
        optimizer=None,
        discriminator_optimizer=None,
        generator_optimizer=None,
        **kwargs,
    ):
        """Configures training with one optimizer per phase.

        The default optimizers were tuned on Fashion-MNIST and digits
        (Adam(1e-3) in every phase reconstructs about 15% worse than a plain
        autoencoder trained as long): reconstruction stays within 5% of the
        plain `Autoencoder` at the same budget while the codes match the
        prior. In ``mode="joint"`` the generator term is part of the
        autoencoder's loss and ``generator_optimizer`` is built but unused.

        Args:
            optimizer: optimizer of the reconstruction phase (encoder and
                decoder). Default ``Adam(1e-3)``.
            discriminator_optimizer: optimizer of the discriminator. Default
                ``Adam(2e-4, beta_1=0.5)``.
            generator_optimizer: optimizer of the generator phase (encoder).
                Default ``Adam(3e-4, beta_1=0.5)``.
            **kwargs: `keras.Model.compile` arguments (``metrics``,
                ``jit_compile``, ``steps_per_execution``, ...); ``loss`` is
                not accepted.

        Every optimizer is built at once on the exact variables it updates,
        so `.keras` reload and `keras.callbacks.BackupAndRestore` restore
        all three (iterations and slots). Under ``mixed_float16`` all three
        are `LossScaleOptimizer`s.
        """
        defaults = default_optimizers()
        if optimizer is None:
            optimizer = defaults["optimizer"]
        if discriminator_optimizer is None:
            discriminator_optimizer = defaults["discriminator_optimizer"]
        if generator_optimizer is None:
            generator_optimizer = defaults["generator_optimizer"]
        discriminator_optimizer = keras.optimizers.get(discriminator_optimizer)
        generator_optimizer = keras.optimizers.get(generator_optimizer)
        super().compile(optimizer=optimizer, **kwargs)
        self._extra_optimizer_configs = (discriminator_optimizer, generator_optimizer)
        if kwargs.get("auto_scale_loss", True) and self.dtype_policy.name == (
            "mixed_float16"
        ):
            discriminator_optimizer = self._loss_scaled(
                discriminator_optimizer, "discriminator_loss_scale_optimizer"
            )
            generator_optimizer = self._loss_scaled(
                generator_optimizer, "generator_loss_scale_optimizer"
            )
        self.discriminator_optimizer = discriminator_optimizer
        self.generator_optimizer = generator_optimizer
        self._phase_variables = self.phase_variables()
        self._build_optimizers()

    def phase_variables(self):
        """The variables of each phase (autoencoder, discriminator, generator)."""
        return _PhaseVariables(
            autoencoder=phases.unique(
                self.encoder.trainable_variables
                + self.decoder.trainable_variables
                + self._posterior_variables()
            ),
            discriminator=list(self.discriminator.trainable_variables),
            generator=list(self.encoder.trainable_variables) + self._posterior_variables(),
        )

    @staticmethod
    def _loss_scaled(optimizer, name):
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer
        return keras.optimizers.LossScaleOptimizer(optimizer, name=name)

    def _build_optimizers(self):
        pv = self._phase_variables
        if pv is None:  # called by the base `compile`, before the phases exist
            return
        for opt, variables in (
            (self.optimizer, pv.autoencoder),
            (self.discriminator_optimizer, pv.discriminator),
            (self.generator_optimizer, pv.generator),
        ):
            if not opt.built:
                opt.build(variables)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config and getattr(self, "_extra_optimizer_configs", None):
            d_opt, g_opt = self._extra_optimizer_configs
            config["discriminator_optimizer"] = keras.saving.serialize_keras_object(d_opt)
            config["generator_optimizer"] = keras.saving.serialize_keras_object(g_opt)
        return config

    # ------------------------------------------------------------ loss terms
    def loss_term_names(self):
        return (
            "loss",
            "reconstruction_loss",
            "mse",
            "discriminator_loss",
            "generator_loss",
            "discriminator_accuracy",
        )

    def regularization_loss(self):
        """Weight penalties of the encoder and decoder (float32)."""
        return self._sum_losses(self.encoder, self.decoder)

    @staticmethod
    def _sum_losses(*layers):
        values = phases.unique([l for layer in layers for l in layer.losses])
        if not values:
            return ops.cast(0.0, "float32")
        return ops.sum(ops.stack([ops.cast(v, "float32") for v in values]))

    def _reconstruction_terms(self, codes, y, sample_weight, training):
        y_pred = self.decoder(codes, training=training)
        from_logits = self.reconstruction_from_logits()
        per_example = losses.reconstruction(
            self.reconstruction_loss, y, y_pred, from_logits=from_logits
        )
        rec = losses.reduce_mean(per_example, sample_weight)
        x_hat = ops.sigmoid(y_pred) if from_logits else y_pred
        mse = losses.reduce_mean(losses.mean_squared_error(y, x_hat), sample_weight)
        terms = {
            "loss": rec + self.regularization_loss(),
            "reconstruction_loss": rec,
            "mse": mse,
        }
        return terms, y_pred

    def draw_prior(self, codes, training=True):
        """Prior samples pairing with a (per-replica) batch of codes.

        In training, one draw of the global batch is made from a seed shared
        by the replicas (the prior's saved stream) and every replica takes
        its own slice, so the draws do not depend on the number of replicas.
        Otherwise a fixed stateless seed is used (deterministic evaluation,
        the training stream untouched).

        Args:
            codes: codes of shape ``(batch, latent_dim)``.
            training: whether to draw from the prior's stream.

        Returns:
            float32 samples of shape ``(batch, latent_dim)``.
        """
        n = ops.shape(codes)[0]
        if training:
            seed = self.prior.seed_generator.next()
        else:
            seed = rng.seed_tensor(0)
        return backend.replica_slice(
            lambda total: self.prior.draw(total, self.latent_dim, seed), n
        )

    def _logits(self, z, training):
        return ops.cast(self.discriminator(z, training=training), "float32")

    @staticmethod
    def _bce_logits(logits, label):
        # -log sigmoid(l) for label 1, -log(1 - sigmoid(l)) for label 0.
        logits = ops.reshape(logits, (-1,))
        sign = 1.0 if label else -1.0
        return ops.softplus(-sign * logits)

    def _discriminator_terms(self, real, codes, sample_weight, training, logits=None):
        logits = logits or self._logits  # another discriminator's logits
        real_logits = logits(real, training)
        fake_logits = logits(codes, training)
        real_loss = losses.reduce_mean(self._bce_logits(real_logits, 1))
        fake_loss = losses.reduce_mean(self._bce_logits(fake_logits, 0), sample_weight)
        real_acc = ops.mean(ops.cast(ops.reshape(real_logits, (-1,)) > 0, "float32"))
        fake_acc = losses.reduce_mean(
            ops.cast(ops.reshape(fake_logits, (-1,)) < 0, "float32"), sample_weight
        )
        d_loss = 0.5 * (real_loss + fake_loss)
        return d_loss, 0.5 * (real_acc + fake_acc), fake_logits

    def _generator_loss(self, fake_logits, sample_weight):
        return losses.reduce_mean(self._bce_logits(fake_logits, 1), sample_weight)

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """All loss terms of one batch, without updating anything."""
        codes = self.posterior_codes(x, training=training)
        terms, y_pred = self._reconstruction_terms(codes, y, sample_weight, training)
        real = self.draw_prior(codes, training=training)
        d_loss, d_acc, fake_logits = self._discriminator_terms(
            real, codes, sample_weight, training
        )
        g_loss = self._generator_loss(fake_logits, sample_weight)
        terms.update(
            discriminator_loss=d_loss + self._sum_losses(self.discriminator),
            generator_loss=g_loss,
            discriminator_accuracy=d_acc,
        )
        if self.mode == "joint":
            terms["loss"] = terms["loss"] + self.adversarial_weight * g_loss
        return terms, y_pred

    def evaluation_metrics(self, x, logs, **options):
        """Adds code statistics against the prior: ``code_mean``, ``code_std``
        (averaged over dimensions), ``prior_frechet`` and the discriminator's
        ``discriminator_accuracy`` (0.5: codes and prior draws look alike)."""
        metrics = super().evaluation_metrics(x, logs, **options)
        codes = np.asarray(self.encode(x, batch_size=options["batch_size"]), "float64")
        metrics["code_mean"] = float(np.mean(codes.mean(axis=0)))
        metrics["code_std"] = float(np.mean(codes.std(axis=0)))
        metrics["prior_frechet"] = float(self.prior.frechet_distance(codes))
        if "discriminator_accuracy" in logs:
            metrics["discriminator_accuracy"] = float(logs["discriminator_accuracy"])
        return metrics

    # ------------------------------------------------------------ train step
    def extra_optimizers(self):
        if self._phase_variables is None:
            return ()
        return (self.discriminator_optimizer, self.generator_optimizer)

    def training_phases(self):
        """The paper's three phases, or one joint phase with two updates."""
        if self._phase_variables is None:
            raise ValueError("You must call `compile()` before training.")
        pv = self._phase_variables
        if self.mode == "joint":
            return (
                phases.Phase(
                    self._joint_terms,
                    (
                        phases.Update("loss", self.optimizer, pv.autoencoder),
                        phases.Update(
                            "discriminator_loss",
                            self.discriminator_optimizer,
                            pv.discriminator,
                        ),
                    ),
                ),
            )
        return (
            # (1) Reconstruction: encoder + decoder.
            phases.Phase(
                self._reconstruction_phase,
                (phases.Update("loss", self.optimizer, pv.autoencoder),),
            ),
            # (2) Regularisation: the discriminator, on the updated
            # encoder's codes.
            phases.Phase(
                self._discriminator_phase,
                (
                    phases.Update(
                        "discriminator_loss",
                        self.discriminator_optimizer,
                        pv.discriminator,
                    ),
                ),
            ),
            # (3) Generator: the encoder fools the updated discriminator.
            phases.Phase(
                self._generator_phase,
                (
                    phases.Update(
                        "generator_objective", self.generator_optimizer, pv.generator
                    ),
                ),
            ),
        )

    def _reconstruction_phase(self, x, y, sample_weight):
        codes = self.posterior_codes(x, training=True)
        return self._reconstruction_terms(codes, y, sample_weight, True)

    def _prior_for(self, codes, y):
        """Prior draws the discriminator sees beside ``codes`` (hook: the
        label-conditioned AAE draws from each label's component)."""
        del y
        return self.draw_prior(codes, training=True)

    def _discriminator_view(self, z, y):
        """What the discriminator reads for codes or prior draws ``z`` (hook:
        labelled AAEs append the one-hot label)."""
        del y
        return z

    def _discriminator_phase(self, x, y, sample_weight):
        codes = ops.stop_gradient(self.posterior_codes(x, training=True))
        real = self._prior_for(codes, y)
        d_loss, d_acc, _ = self._discriminator_terms(
            self._discriminator_view(real, y),
            self._discriminator_view(codes, y),
            sample_weight,
            True,
        )
        terms = {
            "discriminator_loss": d_loss + self._sum_losses(self.discriminator),
            "discriminator_accuracy": d_acc,
        }
        return terms, None

    def _generator_phase(self, x, y, sample_weight):
        codes = self.posterior_codes(x, training=True)
        logits = self._logits(self._discriminator_view(codes, y), True)
        g_loss = self._generator_loss(logits, sample_weight)
        terms = {
            "generator_loss": g_loss,
            "generator_objective": self.adversarial_weight * g_loss,
        }
        return terms, None

    def _joint_terms(self, x, y, sample_weight):
        # One forward pass serves both updates: each loss is differentiated
        # only with respect to its own variables.
        return self.compute_loss_terms(x, y, sample_weight=sample_weight, training=True)

    # ------------------------------------------------------------- sampling
    def sample(self, n, seed=None, batch_size=None):
        """Decodes ``n`` draws from the prior.

        Args:
            n: number of samples.
            seed: optional integer for reproducible samples. Draws never
                consume the prior's training stream.
            batch_size: batch size of the decoding loop.

        Returns:
            NumPy array of shape ``(n,) + input_shape``.
        """
        n = validation.integer(n, "n", low=0)
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        z = self.prior.sample(int(n), self.latent_dim, seed=seed)
        return self.decode(np.asarray(z), batch_size=batch_size)

    def prior_noise_spec(self):
        """The noise tensors the prior transforms (`keras_ae.priors.Prior.noise_spec`)."""
        return self.prior.noise_spec(self.latent_dim)

    def draw_prior_noise(self, n, seed):
        """The prior's noise for ``n`` samples from the seed tensor ``seed``."""
        return self.prior.draw_noise(n, self.latent_dim, seed)

    def codes_from_noise(self, noise):
        """Prior draws from noise (`keras_ae.priors.Prior.from_noise`)."""
        return self.prior.from_noise(noise)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "prior": keras.saving.serialize_keras_object(self.prior),
                "discriminator": (
                    keras.saving.serialize_keras_object(self.discriminator)
                    if self._custom_discriminator
                    else None
                ),
                "discriminator_units": list(self.discriminator_units),
                "adversarial_weight": self.adversarial_weight,
                "mode": self.mode,
                "minibatch_features": self.minibatch_features,
                "posterior": self.posterior,
            }
        )
        return config

    @classmethod
    def nested_config_keys(cls):
        return super().nested_config_keys() + ("prior", "discriminator")

    @classmethod
    def from_config(cls, config):
        """Rebuilds a model from `get_config`.

        ``get_config`` stores the resolved ``minibatch_features``, so a
        loaded model keeps the discriminator it was saved with. Configs
        written before the option existed (no such key) had no batch
        statistics: they load with ``"none"``, not today's default.
        """
        config = dict(config)
        config.setdefault("minibatch_features", "none")
        return super().from_config(config)


#: Short alias.
AAE = AdversarialAutoencoder
