"""Semi-supervised adversarial autoencoder (Makhzani et al. 2015, section 7)."""

import keras
import numpy as np
from keras import ops

from keras_ae import backend
from keras_ae import data_checks
from keras_ae import networks
from keras_ae import rng
from keras_ae import validation
from keras_ae.backend import phases
from keras_ae.layers.noise import GaussianNoise
from keras_ae.models import _labels
from keras_ae.models import _mixed_batches
from keras_ae.models import adversarial
from keras_ae.models.adversarial import AdversarialAutoencoder
from keras_ae.models.endpoint import Endpoint


@keras.saving.register_keras_serializable(package="keras_ae")
class SemiSupervisedAAE(_labels.LabelledData, AdversarialAutoencoder):
    """AAE with a categorical code ``y`` and a style code ``z`` (section 7).

    The encoder maps ``x`` to class probabilities ``y`` (softmax over
    ``num_classes``) and a style code ``z`` (``latent_dim``); the decoder
    reconstructs ``x`` from ``[y, z]``. Two discriminators regularize the
    codes: one tells one-hot draws of a uniform categorical from ``y``, the
    other prior draws from ``z``. Every batch runs four phases, each with its
    own optimizer on its own variables:

    1. reconstruction (encoder and decoder, ``optimizer``);
    2. regularization: both discriminators (``discriminator_optimizer``);
    3. generator: the encoder fools both (``generator_optimizer``);
    4. semi-supervised classification: cross-entropy of ``y`` on the
       labelled examples of the batch (``classifier_optimizer``).

    ``fit(x, labels)`` takes integers in ``[-1, num_classes)``, ``-1`` for
    unlabelled examples (checked before the first step); ``fit(x)`` is fully
    unsupervised; ``fit(x_unlabelled, labelled=(x_l, labels))`` gives every
    batch a fixed number of rows of a (small, cycled) labelled set. The
    encoder's one output is the code ``[y | z]``; `encode` gives ``z``,
    `classify` ``y``. Exports serve ``encode``, ``classify``, ``decode``
    (``z`` + labels), ``reconstruct`` and ``sample_from_noise``
    (`export_endpoints`); training runs under `tf.distribute` as on one
    device (prior draws for the global batch, the classification loss a
    mean over the global batch's labelled examples). ``mode="joint"`` makes one update from one forward pass
    (reconstruction + adversarial_weight * generator + classification for
    the autoencoder, both discriminators together).

    Metrics: the AAE's (``discriminator_loss`` and ``generator_loss`` sum
    the two adversarial games; ``discriminator_accuracy`` is the style
    discriminator's), ``categorical_discriminator_accuracy``, and
    ``classification_loss`` / ``classification_accuracy`` averaged over the
    labelled examples only.

    Args:
        input_shape: shape of one example.
        num_classes: number of classes of ``y``, >= 2.
        classification_weight: weight of the classification loss (> 0).
        categorical_noise: standard deviation of Gaussian noise added in
            training to both inputs of the categorical discriminator (the
            one-hot draws and ``y``); 0 disables it.
        balance_weight: weight (>= 0) of the batch balance term added to
            the generator phase: ``log K - H(mean of y over the batch)``, the
            KL divergence of the batch's average category from the uniform
            prior (``balance_loss`` metric, 0 when balanced). The
            categorical discriminator judges one example at a time and
            sees an unbalanced batch only through frequencies; this term
            gives the encoder the batch-level signal directly.
        input_noise: standard deviation of Gaussian noise added to the
            encoder's input in training (every phase; the reconstruction
            target stays clean); 0 disables it.
        **kwargs: the other `AdversarialAutoencoder` arguments (``latent_dim``
            is the size of the style code ``z``; ``prior`` its prior;
            ``discriminator_units`` sizes both discriminators). User
            ``encoder``/``decoder``/``discriminator`` and ``tied_weights``
            are not available.

    Example:
    ```python
    model = keras_ae.SemiSupervisedAAE((784,), num_classes=10, latent_dim=10)
    model.compile()
    labels = np.full(len(x), -1); labels[:1000] = y[:1000]
    model.fit(x, labels, epochs=20, batch_size=100)
    accuracy = np.mean(model.predict_labels(x_test) == y_test)
    ```
    """

    generative = True
    #: Its phases call the encoder directly: deterministic codes only.
    posterior_options = ("deterministic",)
    default_minibatch_features = "none"
    #: Whether training includes the supervised classification phase.
    classification_phase = True

    def __init__(
        self,
        input_shape,
        num_classes=10,
        classification_weight=1.0,
        categorical_noise=0.0,
        balance_weight=0.0,
        input_noise=0.0,
        **kwargs,
    ):
        self.num_classes = validation.integer(num_classes, "num_classes", low=2)
        self.categorical_noise = validation.number(
            categorical_noise, "categorical_noise", low=0.0
        )
        self.balance_weight = validation.number(balance_weight, "balance_weight", low=0.0)
        self.input_noise = validation.number(input_noise, "input_noise", low=0.0)
        self.classification_weight = validation.number(
            classification_weight, "classification_weight", low=0.0, low_inclusive=False
        )
        for name in ("encoder", "decoder", "discriminator", "tied_weights"):
            if kwargs.get(name):
                raise ValueError(
                    f"`{name}` is not available for {type(self).__name__}: it builds "
                    f"its own two-headed networks. Received: {name}={kwargs[name]!r}"
                )
        self.classifier_optimizer = None
        self._labelled_epochs = 0  # epochs trained by fit(..., labelled=...)
        super().__init__(input_shape, **kwargs)

    # ------------------------------------------------------------------ build
    def build_encoder(self, hidden_units):
        trunk = networks.build_encoder(
            self.input_shape_,
            self.latent_dim,
            hidden_units,
            activation=self.activation,
            code_activation=None,
            architecture=self.architecture,
            heads=("z",),
            seed=self.seed,
        )
        features = trunk.get_layer("z").input
        y = keras.layers.Dense(
            self.num_classes,
            activation="softmax",
            dtype="float32",
            kernel_initializer=(
                "glorot_uniform"
                if self.seed is None
                else keras.initializers.GlorotUniform(seed=self.seed + 31337)
            ),
            name="y",
        )(features)
        # One output, the code ``[y | z]`` (float32): the decoder reads it as
        # it comes, ``decoder(encoder(x))`` reconstructs as in every model.
        code = keras.layers.Concatenate(dtype="float32", name="code")(
            [y, trunk.outputs[0]]
        )
        return keras.Model(trunk.inputs, code, name="encoder")

    def build_decoder(self, hidden_units):
        return networks.build_decoder(
            self.input_shape_,
            self.num_classes + self.latent_dim,
            hidden_units,
            activation=self.activation,
            output_activation=self.decoder_output_activation(),
            architecture=self.architecture,
            seed=self.seed,
        )

    def _build_model(self):
        net = adversarial.build_discriminator(
            self.num_classes,
            self.discriminator_units,
            seed=None if self.seed is None else self.seed + 1,
        )
        self.categorical_discriminator = keras.Model(
            net.inputs, net.outputs, name="categorical_discriminator"
        )
        # Only a model with input noise has the layer (and its seed state).
        self.input_corruption = None
        if self.input_noise > 0:
            self.input_corruption = GaussianNoise(
                self.input_noise,
                seed=None if self.seed is None else self.seed + 17,
                name="input_noise",
            )
            self.input_corruption.build((None,) + tuple(self.input_shape_))
        super()._build_model()

    # ------------------------------------------------------------------ call
    def _heads(self, x, training):
        if self.input_corruption is not None:
            x = self.input_corruption(x, training=bool(training))  # identity unless training
        return self._split(self.encoder(x, training=training))

    def _split(self, code):
        """``(y, z)`` of codes ``[y | z]`` (float32)."""
        code = ops.cast(code, "float32")
        return code[:, : self.num_classes], code[:, self.num_classes :]

    def _decode_heads(self, y, z, training):
        joined = ops.concatenate([y, ops.cast(z, "float32")], axis=-1)
        return self.decoder(joined, training=training)

    def decoder_outputs(self, inputs, training=None):
        y, z = self._heads(inputs, training)
        return self._decode_heads(y, z, training)

    # --------------------------------------------------------------- compile
    def compile(
        self,
        optimizer=None,
        discriminator_optimizer=None,
        generator_optimizer=None,
        classifier_optimizer=None,
        **kwargs,
    ):
        """Configures training with one optimizer per phase.

        Args:
            optimizer: reconstruction phase. Default ``Adam(1e-3)``.
            discriminator_optimizer: both discriminators. Default
                ``Adam(2e-4, beta_1=0.5)``.
            generator_optimizer: encoder against both discriminators.
                Default ``Adam(3e-4, beta_1=0.5)``.
            classifier_optimizer: the supervised phase (encoder). Default
                ``Adam(1e-3)``.
            **kwargs: `keras.Model.compile` arguments.
        """
        self._set_classifier_optimizer(classifier_optimizer, kwargs)
        super().compile(
            optimizer=optimizer,
            discriminator_optimizer=discriminator_optimizer,
            generator_optimizer=generator_optimizer,
            **kwargs,
        )

    def _set_classifier_optimizer(self, classifier_optimizer, kwargs):
        if classifier_optimizer is None:
            classifier_optimizer = keras.optimizers.Adam(learning_rate=1e-3)
        classifier_optimizer = keras.optimizers.get(classifier_optimizer)
        self._classifier_optimizer_config = classifier_optimizer
        if kwargs.get("auto_scale_loss", True) and self.dtype_policy.name == (
            "mixed_float16"
        ):
            classifier_optimizer = self._loss_scaled(
                classifier_optimizer, "classifier_loss_scale_optimizer"
            )
        self.classifier_optimizer = classifier_optimizer

    def phase_variables(self):
        pv = super().phase_variables()
        pv.discriminator = phases.unique(
            pv.discriminator + self.categorical_discriminator.trainable_variables
        )
        # The classification loss does not reach the style head.
        style = {id(v) for v in self.encoder.get_layer("z").trainable_variables}
        pv.classifier = [v for v in pv.generator if id(v) not in style]
        return pv

    def _build_optimizers(self):
        super()._build_optimizers()
        pv = self._phase_variables
        opt = self.classifier_optimizer
        if pv is not None and opt is not None and not opt.built:
            opt.build(pv.classifier)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config and getattr(self, "_classifier_optimizer_config", None):
            config["classifier_optimizer"] = keras.saving.serialize_keras_object(
                self._classifier_optimizer_config
            )
        return config

    def extra_optimizers(self):
        extra = super().extra_optimizers()
        if extra and self.classifier_optimizer is not None:
            extra = extra + (self.classifier_optimizer,)
        return extra

    # ------------------------------------------------------------ loss terms
    def loss_term_names(self):
        names = super().loss_term_names() + (
            "categorical_discriminator_accuracy",
            "balance_loss",
        )
        if self.classification_phase:
            names += ("classification_loss", "classification_accuracy")
        return names

    def draw_priors(self, z, training=True):
        """Prior draws pairing with a batch: one-hot categories and styles.

        Args:
            z: style codes ``(batch, latent_dim)``.
            training: draw from the prior's stream (else a fixed seed).

        Returns:
            ``(y_real, z_real)`` float32 tensors.
        """
        n = ops.shape(z)[0]
        seed = self.prior.seed_generator.next() if training else rng.seed_tensor(0)
        # Both draws are made for the global batch from a seed shared by
        # the replicas; each replica takes its slice (as the AAE's prior).
        z_real = backend.replica_slice(
            lambda total: self.prior.draw(total, self.latent_dim, seed), n
        )
        y_real = backend.replica_slice(
            lambda total: _labels.one_hot(
                rng.randint((total,), self.num_classes, rng.fold(seed, 5)),
                self.num_classes,
            ),
            n,
        )
        return y_real, z_real

    def draw_prior(self, codes, training=True):
        """Prior draws pairing with codes ``[y | z]``: ``[one-hot | style]``.

        Args:
            codes: codes ``(batch, num_classes + latent_dim)`` (only the
                batch size is read).
            training: draw from the prior's stream (else a fixed seed).

        Returns:
            float32 ``(batch, num_classes + latent_dim)``.
        """
        y_real, z_real = self.draw_priors(codes, training=training)
        return ops.concatenate([y_real, ops.cast(z_real, "float32")], axis=-1)

    def _categorical_logits(self, y, training):
        if training and self.categorical_noise > 0:
            # Instance noise: exact one-hot draws and softmax outputs are
            # blurred alike, so the discriminator judges the categories.
            seed = self.prior.seed_generator.next()
            noise = backend.replica_slice(
                lambda total: rng.normal(
                    (total, self.num_classes),
                    rng.fold(seed, 9),
                    stddev=self.categorical_noise,
                ),
                ops.shape(y)[0],
            )
            y = ops.cast(y, "float32") + noise
        return ops.cast(self.categorical_discriminator(y, training=training), "float32")

    def _adversarial_terms(self, y, z, y_real, z_real, sample_weight, training):
        d_z, acc_z, fake_z = self._discriminator_terms(z_real, z, sample_weight, training)
        d_y, acc_y, fake_y = self._discriminator_terms(
            y_real, y, sample_weight, training, logits=self._categorical_logits
        )
        d_loss = (
            d_z
            + d_y
            + self._sum_losses(self.discriminator, self.categorical_discriminator)
        )
        g_loss = self._generator_loss(fake_z, sample_weight) + self._generator_loss(
            fake_y, sample_weight
        )
        return {
            "discriminator_loss": d_loss,
            "discriminator_accuracy": acc_z,
            "categorical_discriminator_accuracy": acc_y,
        }, g_loss

    def balance_loss(self, y, sample_weight=None):
        """``log K - H(p)``, ``p`` the (weighted) mean of ``y`` over the batch.

        The KL divergence of the batch's average category from the uniform
        categorical prior: 0 when every category is used equally,
        ``log K`` when the whole batch sits in one category.

        Args:
            y: category probabilities ``(batch, num_classes)``.
            sample_weight: optional example weights ``(batch,)``.

        Returns:
            A float32 scalar.
        """
        y = ops.cast(y, "float32")
        # Means over the global batch (all replicas; differentiable).
        if sample_weight is None:
            mean = backend.global_batch_mean(y)[0]
        else:
            w = ops.cast(ops.reshape(sample_weight, (-1, 1)), "float32")
            mean = backend.global_batch_mean(w * y)[0] / ops.maximum(
                backend.global_batch_mean(w)[0], 1e-12
            )
        mean = ops.clip(mean, 1e-12, 1.0)
        return ops.sum(mean * ops.log(mean)) + float(np.log(self.num_classes))

    def _classification_terms(self, y, labels, sample_weight):
        labelled = ops.cast(labels >= 0, "float32")
        if sample_weight is not None:
            labelled = labelled * ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
        count = ops.sum(labelled)
        onehot = _labels.one_hot(labels, self.num_classes)
        log_y = ops.log(ops.clip(y, 1e-7, 1.0))
        ce = -ops.sum(onehot * log_y, axis=-1)
        correct = ops.cast(
            ops.equal(
                ops.cast(ops.argmax(y, axis=-1), "int32"),
                ops.cast(ops.maximum(labels, 0), "int32"),
            ),
            "float32",
        )
        safe = ops.maximum(count, 1.0)
        # Metrics: means over this replica's labelled examples, weighted by
        # their count (0 without any). The objective is the mean over the
        # labelled examples of the *global* batch: this replica's sum over
        # the global count, times the replica count that the step divides
        # every loss by (exactly the one-device loss on one replica).
        ce_sum = ops.sum(ce * labelled)
        loss = ce_sum / safe
        acc = ops.sum(correct * labelled) / safe
        total = ops.maximum(backend.global_sum(ops.stop_gradient(count)), 1.0)
        objective = ce_sum * float(backend.num_replicas()) / total
        return {
            "classification_loss": loss,
            "classification_accuracy": acc,
            "classification_objective": self.classification_weight * objective,
            "labelled_count": count,
        }

    def _labels_of(self, x, y):
        """The labels of a batch: ``y``, or all ``-1`` when ``y`` is None or
        the batch itself (the autoencoder's target, as generic callers pass)."""
        if y is None or tuple(y.shape[1:]) == tuple(self.input_shape_):
            return _labels.LabelledData.unpack((x,))[1]
        return y

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """All loss terms of one batch; ``y`` are the labels (-1: unlabelled;
        None or the batch ``x`` itself: all unlabelled)."""
        labels = self._labels_of(x, y)
        y_prob, z = self._heads(x, training)
        y_pred = self._decode_heads(y_prob, z, training)
        terms, y_pred = self._reconstruction_from(y_pred, x, sample_weight)
        y_real, z_real = self.draw_priors(z, training=training)
        adv, g_loss = self._adversarial_terms(
            y_prob, z, y_real, z_real, sample_weight, training
        )
        terms.update(
            adv, generator_loss=g_loss, balance_loss=self.balance_loss(y_prob, sample_weight)
        )
        if self.classification_phase:
            terms.update(self._classification_terms(y_prob, labels, sample_weight))
        if self.mode == "joint":
            terms["loss"] = terms["loss"] + self._generator_objective(
                g_loss, terms["balance_loss"]
            )
            if self.classification_phase:
                terms["loss"] = terms["loss"] + terms["classification_objective"]
        return terms, y_pred

    def _reconstruction_from(self, y_pred, x, sample_weight):
        rec, mse = self.reconstruction_terms(x, y_pred, sample_weight)
        terms = {
            "loss": rec + self.regularization_loss(),
            "reconstruction_loss": rec,
            "mse": mse,
        }
        return terms, y_pred

    # ------------------------------------------------------------ train step
    def training_phases(self):
        """Reconstruction, both discriminators, generator, classification."""
        phased = super().training_phases()
        if self.mode == "joint" or not self.classification_phase:
            return phased
        classify = phases.Phase(
            self._classification_phase,
            (
                phases.Update(
                    "classification_objective",
                    self.classifier_optimizer,
                    self._phase_variables.classifier,
                ),
            ),
        )
        return tuple(phased) + (classify,)

    def _reconstruction_phase(self, x, labels, sample_weight):
        y, z = self._heads(x, True)
        return self._reconstruction_from(self._decode_heads(y, z, True), x, sample_weight)

    def _discriminator_phase(self, x, labels, sample_weight):
        y, z = self._heads(x, True)
        y, z = ops.stop_gradient(y), ops.stop_gradient(z)
        y_real, z_real = self.draw_priors(z, training=True)
        adv, _ = self._adversarial_terms(y, z, y_real, z_real, sample_weight, True)
        return adv, None

    def _generator_phase(self, x, labels, sample_weight):
        y, z = self._heads(x, True)
        g_loss = self._generator_loss(
            self._logits(z, True), sample_weight
        ) + self._generator_loss(self._categorical_logits(y, True), sample_weight)
        balance = self.balance_loss(y, sample_weight)
        return {
            "generator_loss": g_loss,
            "balance_loss": balance,
            "generator_objective": self._generator_objective(g_loss, balance),
        }, None

    def _generator_objective(self, g_loss, balance):
        objective = self.adversarial_weight * g_loss
        if self.balance_weight > 0:
            objective = objective + self.balance_weight * balance
        return objective

    def _classification_phase(self, x, labels, sample_weight):
        y, _ = self._heads(x, True)
        return self._classification_terms(y, labels, sample_weight), None

    def update_metrics(self, terms, x, y, y_pred, sample_weight):
        terms = dict(terms)
        count = terms.pop("labelled_count", None)
        if count is not None:
            for name in ("classification_loss", "classification_accuracy"):
                value = terms.pop(name, None)
                if value is not None:
                    self._trackers[name].update_state(value, sample_weight=count)
        return super().update_metrics(terms, x, y, y_pred, sample_weight)

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, labelled=None, labelled_per_batch=None, **kwargs):
        """Trains on ``(x, labels)`` or on an unlabelled and a labelled set.

        ``fit(x, labels)`` takes labels in ``[-1, num_classes)`` (``-1``:
        unlabelled); ``fit(x)`` is unsupervised. ``fit(x_unlabelled,
        labelled=(x_labelled, labels))`` gives every batch ``labelled_per_batch``
        labelled rows beside ``batch_size - labelled_per_batch`` unlabelled
        ones: an epoch is one pass over ``x_unlabelled`` and the labelled set
        is cycled (a new order each cycle when ``shuffle``), so a small
        labelled set takes part in every step. Consecutive calls continue
        the stream where the last one stopped (the position is kept on the
        model for the session, not saved). Use `mixed_batches` for the
        batches themselves.

        Args:
            x: examples (the unlabelled set with ``labelled``).
            y: labels of ``x`` (not with ``labelled``).
            labelled: optional pair ``(x_labelled, labels)``, labels in
                ``[0, num_classes)``.
            labelled_per_batch: labelled rows per batch, in
                ``[1, batch_size)``; default the labelled set's share of
                all rows (at least 1).
            **kwargs: `keras.Model.fit` arguments (``batch_size``,
                ``epochs``, ``shuffle``, ``validation_data``...).

        Example:
        ```python
        model.fit(x_unlabelled, labelled=(x_l, y_l), labelled_per_batch=10,
                  batch_size=100, epochs=20)
        ```
        """
        if labelled is None:
            if labelled_per_batch is not None:
                raise ValueError(
                    "`labelled_per_batch` needs `labelled=(x_labelled, labels)`. "
                    f"Received: labelled_per_batch={labelled_per_batch!r}"
                )
            return super().fit(x, y, **kwargs)
        for name in ("sample_weight", "validation_split", "class_weight"):
            if kwargs.get(name) is not None:
                raise ValueError(
                    f"`{name}` is not available with `labelled`. "
                    f"Received: {name}={kwargs[name]!r}"
                )
        if y is not None:
            raise ValueError(
                "With `labelled`, `x` is the unlabelled set: pass its labels "
                "through `labelled=(x_labelled, labels)`, not `y`. "
                f"Received: y of type {type(y).__name__}"
            )
        batches = self.mixed_batches(
            x,
            labelled,
            batch_size=kwargs.pop("batch_size", None) or 32,
            labelled_per_batch=labelled_per_batch,
            shuffle=kwargs.pop("shuffle", True),
        )
        kwargs["shuffle"] = False  # the batches come in their own order
        kwargs.setdefault("steps_per_epoch", batches.num_batches)
        batches.first_epoch = self._labelled_epochs
        history = super().fit(iter(batches), **kwargs)
        self._labelled_epochs += len(history.epoch)
        return history

    def mixed_batches(
        self, x, labelled, batch_size=32, labelled_per_batch=None, shuffle=True, seed=None
    ):
        """Batches of an unlabelled set with a fixed share of a labelled set.

        Args:
            x: the unlabelled examples ``(n_u,) + input_shape``.
            labelled: pair ``(x_labelled, labels)``, labels in
                ``[0, num_classes)``.
            batch_size: rows per batch (>= 2).
            labelled_per_batch: labelled rows per batch in ``[1,
                batch_size)``; default ``round(batch_size * n_l / (n_u +
                n_l))``, at least 1.
            shuffle: new orders every epoch and labelled cycle.
            seed: integer seed of the orders (default: the model's seed,
                else random).

        Returns:
            The batches (a private ``MixedBatches``): ``batch(epoch,
            index)`` gives ``(x, labels)``, the unlabelled rows first
            (label -1); iterating runs through the epochs without end, and
            ``num_batches`` is the number of batches of an epoch.
        """
        if not self.classification_phase:
            raise ValueError(
                f"{type(self).__name__} is unsupervised and takes no labelled set. "
                f"Received: labelled of type {type(labelled).__name__}"
            )
        if not isinstance(labelled, (tuple, list)) or len(labelled) != 2:
            raise ValueError(
                "`labelled` must be a pair (x_labelled, labels). "
                f"Received: labelled of type {type(labelled).__name__}"
                + (f" with {len(labelled)} items" if isinstance(labelled, (tuple, list)) else "")
            )
        x = self._check_x(x, "x", check_range=True)
        x_l = self._check_x(labelled[0], "x_labelled", check_range=True)
        for name, value in (("x", x), ("x_labelled", x_l)):
            if not isinstance(value, np.ndarray):
                raise ValueError(
                    f"`{name}` must be an array with `labelled`. "
                    f"Received: {name} of type {type(value).__name__}"
                )
        labels = _labels.check_labels(
            labelled[1], len(x_l), self.num_classes, name="labels", allow_unlabelled=False
        )
        batch_size = validation.integer(batch_size, "batch_size", low=2)
        if labelled_per_batch is None:
            share = batch_size * len(x_l) / (len(x) + len(x_l))
            labelled_per_batch = min(max(1, int(round(share))), batch_size - 1)
        labelled_per_batch = validation.integer(
            labelled_per_batch, "labelled_per_batch", low=1, high=batch_size - 1
        )
        if seed is None:
            seed = self.seed if self.seed is not None else int(
                np.random.default_rng().integers(2**31 - 1)
            )
        seed = validation.integer(seed, "seed", low=0)
        return _mixed_batches.MixedBatches(
            x, x_l, labels, batch_size, labelled_per_batch, bool(shuffle), seed
        )

    # ------------------------------------------------------------- inference
    def code(self, x, training=False):
        """Style codes ``z`` of ``x`` as a tensor (see `BaseAutoencoder.code`)."""
        return self._heads(x, training)[1]

    def encode(self, x, batch_size=None):
        """Style codes ``z`` of ``x`` (NumPy ``(n, latent_dim)``)."""
        x = self._check_x(x, "x", allow_empty=True)
        codes = np.asarray(self._predict_with(self.encoder, x, batch_size))
        return codes[:, self.num_classes :].astype("float32")

    def classify(self, x, batch_size=None):
        """Class probabilities ``y`` of ``x`` (NumPy ``(n, num_classes)``)."""
        x = self._check_x(x, "x", allow_empty=True)
        codes = np.asarray(self._predict_with(self.encoder, x, batch_size))
        return codes[:, : self.num_classes].astype("float32")

    def predict_labels(self, x, batch_size=None):
        """Most probable class of every example (int NumPy ``(n,)``)."""
        return np.argmax(self.classify(x, batch_size), axis=-1).astype("int32")

    def decode(self, z, labels=None, batch_size=None):
        """Decodes style codes ``z`` with the categories ``labels``.

        Args:
            z: style codes ``(n, latent_dim)``.
            labels: integers ``(n,)`` in ``[0, num_classes)``; None gives the
                decoder an all-zero category.
            batch_size: batch size of the decoding loop.

        Returns:
            NumPy array ``(n,) + input_shape`` in data space.
        """
        z = data_checks.check_array(
            data_checks.as_array(z, "z"), "z", (self.latent_dim,), allow_empty=True
        ).astype("float32")
        if labels is None:
            onehot = np.zeros((len(z), self.num_classes), "float32")
        else:
            labels = _labels.check_labels(
                list(labels) if isinstance(labels, range) else labels,
                len(z),
                self.num_classes,
                allow_unlabelled=False,
            )
            onehot = _labels.one_hot_numpy(labels, self.num_classes)
        return self._decode_joined(np.concatenate([onehot, z], axis=-1), batch_size)

    def _decode_joined(self, joined, batch_size=None):
        out = self._predict_with(self.decoder, joined, batch_size)
        if self.reconstruction_from_logits():
            out = ops.convert_to_numpy(self.to_data_space(out))
        return out

    def sample(self, n, labels=None, seed=None, batch_size=None):
        """Decodes ``n`` style draws with categories ``labels`` (uniform if None)."""
        n = validation.integer(n, "n", low=0)
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        seed = validation.integer(seed, "seed")
        if labels is None:
            labels = np.random.default_rng(seed).integers(self.num_classes, size=n)
        z = np.asarray(self.prior.sample(n, self.latent_dim, seed=seed))
        return self.decode(z, labels, batch_size)

    # ---------------------------------------------------------------- export
    #: name of the export endpoint that assigns categories, and of its
    #: int32 output (`ClusteringAAE`: ``cluster`` / ``clusters``).
    category_endpoint = ("classify", "labels")

    def export_endpoints(self):
        """Endpoints of every export format (`keras_ae.export`).

        ``encode`` (default): ``x`` -> ``codes`` (style ``z``) and
        ``probabilities`` (``y``); ``classify`` (``cluster`` for
        `ClusteringAAE`): ``x`` -> ``probabilities`` and int32 ``labels``
        (``clusters``); ``decode``: ``z`` and int32 ``labels`` -> data;
        ``reconstruct``: ``x`` -> data; ``sample_from_noise``: the prior's
        standard noise and int32 ``labels`` -> samples. All portable (no
        random ops): SavedModel, ONNX and LiteRT serve the same five.
        """
        x = ((None,) + tuple(self.input_shape_), "float32")
        z = ((None, self.latent_dim), "float32")
        labels = ((None,), "int32")
        k, d = self.num_classes, self.latent_dim
        data = f"(batch,) + {tuple(self.input_shape_)} in data space"
        spec = self.prior_noise_spec()
        name, output = self.category_endpoint

        def f32(outputs):
            return {key: ops.cast(v, "float32") for key, v in outputs.items()}

        def encode(x):
            y, z = self._heads(x, False)
            return f32({"codes": z, "probabilities": y})

        def categories(x):
            y, _ = self._heads(x, False)
            return {
                "probabilities": ops.cast(y, "float32"),
                # argmax as the argmin of -y: keras.ops.argmax does not
                # convert to LiteRT (see `keras_ae.backend.argmin`).
                output: backend.argmin(-y, axis=-1),
            }

        def decode(z, labels):
            joined = self._decode_heads(_labels.one_hot(labels, k), z, False)
            return f32({"reconstruction": self.to_data_space(joined)})

        def sample_from_noise(**inputs):
            labels = inputs.pop("labels")
            return {"samples": decode(self.codes_from_noise(inputs), labels)["reconstruction"]}

        return {
            "encode": Endpoint(
                encode, {"x": x},
                {"codes": f"(batch, {d}) style codes z",
                 "probabilities": f"(batch, {k}) category probabilities y"},
                "style codes and category probabilities of x",
            ),
            name: Endpoint(
                categories, {"x": x},
                {"probabilities": f"(batch, {k}) category probabilities y",
                 output: "(batch,) int32 most probable category"},
                f"the category of every example of x ({name})",
            ),
            "decode": Endpoint(
                decode, {"z": z, "labels": labels}, {"reconstruction": data},
                "decoded style codes z with the one-hot categories labels",
            ),
            "reconstruct": Endpoint(
                lambda x: f32({"reconstruction": self(x, training=False)}),
                {"x": x}, {"reconstruction": data}, "decode(encode(x)), without noise",
            ),
            "sample_from_noise": Endpoint(
                sample_from_noise,
                dict(
                    {n: ((None,) + tuple(spec[n]["shape"]), "float32") for n in spec},
                    labels=labels,
                ),
                {"samples": data},
                "decoded prior styles of the categories labels, from standard noise "
                "drawn by the client (normal: N(0, 1), uniform: [0, 1)): "
                + ", ".join(f"{n}: {spec[n]['distribution']} {tuple(spec[n]['shape'])}"
                            for n in spec),
            ),
        }

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            classification_weight=self.classification_weight,
            categorical_noise=self.categorical_noise,
            balance_weight=self.balance_weight,
            input_noise=self.input_noise,
        )
        return config

