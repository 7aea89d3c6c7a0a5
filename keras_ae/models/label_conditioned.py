"""Adversarial autoencoder with label information in the regularization
(Makhzani et al. 2015, section 5)."""

import keras
import numpy as np
from keras import ops

from keras_ae import backend
from keras_ae import losses
from keras_ae import priors
from keras_ae import rng
from keras_ae import validation
from keras_ae.models import _labels
from keras_ae.models.adversarial import AdversarialAutoencoder

#: Values of ``LabelConditionedAAE(component_objective=...)``.
COMPONENT_OBJECTIVES = ("likelihood", "posterior")


@keras.saving.register_keras_serializable(package="keras_ae")
class LabelConditionedAAE(_labels.LabelledData, AdversarialAutoencoder):
    """AAE whose discriminator also sees the label (paper section 5).

    The prior is a `keras_ae.priors.MixtureOfGaussians` with one component
    per class. The discriminator receives the code (or prior draw) and a
    one-hot label with an extra "unlabelled" slot: for a labelled example the
    prior draw comes from the label's component, for an unlabelled one from
    the whole mixture. Labelled codes are thus pushed into their own
    component and unlabelled ones anywhere on the mixture. Training runs the
    AAE's phases (``mode="phased"`` or ``"joint"``) with the same optimizers.

    ``fit(x, labels)`` takes integer labels in ``[-1, num_classes)`` (``-1``:
    unlabelled), checked before the first step; ``fit(x)`` treats every
    example as unlabelled.

    The paper's objective alone (``component_weight=0``, the default) leaves
    each class in the component its codes first drift to: the reconstruction
    phase spreads the codes before the label-conditioned discriminator
    matters, and the generator phase is too slow to move a class across the
    mixture (3-class toy: 0.0 on TensorFlow seeds 1-3; Fashion-MNIST 0.17).
    ``component_weight > 0`` adds ``component_weight * component_loss`` to
    the autoencoder's loss (reconstruction phase, or the joint loss), over
    the labelled rows. ``component_objective="likelihood"`` (default) is
    ``-log p(code | label)``, the labelled code's negative log-likelihood
    under its own component (without the constant): a pull towards the
    component's mean that agrees with the prior; the adversarial game keeps
    part of the component's spread (codes end tighter than the prior).
    ``"posterior"`` is ``-log p(label | code)``, a softmax over the
    components: it has no minimum inside a component, so it drives codes far
    out along their mean's direction, away from the prior (Fashion-MNIST,
    10-D axes layout, validation split: 0-5% of the codes within their
    component's 99% ball, against 70-87% with ``"likelihood"``). Metric
    ``component_loss``.

    Args:
        input_shape: shape of one example.
        num_classes: number of classes (= mixture components), >= 2.
        prior: a `MixtureOfGaussians` with ``num_classes`` components;
            ``None`` is ``MixtureOfGaussians(num_classes, seed=seed)``.
        seed: optional integer seed.
        component_weight: weight (>= 0) of ``component_loss`` in the
            autoencoder's loss; 0 is the paper's objective. The
            reconstruction is a sum over features, so the weight scales with
            it: 1 places the 3-class toy (16 features) on every backend,
            Fashion-MNIST (784 pixels) used 10 (100 with ``"posterior"``).
        component_objective: ``"likelihood"`` (``-log p(code | label)``,
            default) or ``"posterior"`` (``-log p(label | code)``): the
            ``component_loss`` that ``component_weight`` scales.
        **kwargs: the other `AdversarialAutoencoder` arguments (``latent_dim``,
            ``hidden_units``, ``discriminator_units``, ``mode``...).

    Example:
    ```python
    prior = keras_ae.priors.MixtureOfGaussians(10, layout="axes")
    model = keras_ae.LabelConditionedAAE((784,), num_classes=10, latent_dim=10,
                                         prior=prior, component_weight=10.0)
    model.compile(generator_optimizer=keras.optimizers.Adam(3e-5, beta_1=0.5))
    model.fit(x, labels, epochs=10, batch_size=128)   # labels: -1 unlabelled
    k = model.prior.assign_components(model.encode(x_test))  # ~= y_test
    images = model.sample(10, labels=range(10), seed=0)
    ```
    """

    generative = True
    default_minibatch_features = "none"

    def __init__(
        self,
        input_shape,
        num_classes=10,
        prior=None,
        seed=None,
        component_weight=0.0,
        component_objective="likelihood",
        **kwargs,
    ):
        num_classes = validation.integer(num_classes, "num_classes", low=2)
        component_weight = validation.number(component_weight, "component_weight", low=0.0)
        component_objective = validation.one_of(
            component_objective, "component_objective", COMPONENT_OBJECTIVES
        )
        seed = validation.integer(seed, "seed", allow_none=True)
        if prior is None:
            prior = priors.MixtureOfGaussians(num_classes, seed=seed)
        prior = priors.get(prior)
        if not isinstance(prior, priors.MixtureOfGaussians) or (
            prior.num_components != num_classes
        ):
            raise ValueError(
                "`prior` must be a MixtureOfGaussians with `num_classes` = "
                f"{num_classes} components. Received: prior={prior!r}"
            )
        self.num_classes = num_classes
        self.component_weight = float(component_weight)
        self.component_objective = component_objective
        super().__init__(input_shape, prior=prior, seed=seed, **kwargs)

    def discriminator_input_dim(self):
        return self.latent_dim + self.num_classes + 1

    # ------------------------------------------------------------ prior draws
    def draw_prior(self, codes, labels=None, training=True):
        """Prior draws pairing with ``codes``: from the label's component for
        labelled rows, from the whole mixture for unlabelled ones.

        With every row unlabelled this is exactly ``prior.draw`` from the
        same seed. Draws are made for the global batch and sliced per
        replica, as in the AAE.
        """
        n = ops.shape(codes)[0]
        seed = self.prior.seed_generator.next() if training else rng.seed_tensor(0)
        d = self.latent_dim

        def rows(total):
            # One (total, 1 + d) draw, so a replica slices both noises alike.
            drawn = self.prior.draw_noise(total, d, seed)
            uniform = ops.expand_dims(drawn["component_noise"], -1)
            return ops.concatenate([uniform, drawn["noise"]], axis=-1)

        drawn = backend.replica_slice(rows, n)
        uniform, normal = drawn[:, 0], drawn[:, 1:]
        if labels is not None:
            # The component is floor(num_classes * uniform): a labelled row
            # gets the uniform value at the centre of its label's interval.
            labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
            k = float(self.num_classes)
            centre = (ops.cast(labels, "float32") + 0.5) / k
            uniform = ops.where(labels >= 0, centre, uniform)
        return self.prior.from_noise({"component_noise": uniform, "noise": normal})

    def _with_label(self, z, labels):
        cond = _labels.one_hot(labels, self.num_classes, unlabelled_slot=True)
        return ops.concatenate([ops.cast(z, "float32"), cond], axis=-1)

    # ------------------------------------------------------------- phases
    def _reconstruction_phase(self, x, labels, sample_weight):
        codes = self.posterior_codes(x, training=True)
        terms, y_pred = self._reconstruction_terms(codes, x, sample_weight, True)
        return self._with_component_loss(terms, codes, labels, sample_weight), y_pred

    def _with_component_loss(self, terms, codes, labels, sample_weight):
        c_loss = self.component_loss(codes, labels, sample_weight)
        terms["component_loss"] = c_loss
        terms["loss"] = terms["loss"] + self.component_weight * c_loss
        return terms

    def _prior_for(self, codes, labels):
        return self.draw_prior(codes, labels, training=True)

    def _discriminator_view(self, z, labels):
        return self._with_label(z, labels)

    def component_loss(self, codes, labels, sample_weight=None):
        """Batch mean of the labelled rows' component term (0 for unlabelled
        rows), float32.

        ``"likelihood"``: ``||z - mean_label||^2 / (2 stddev^2)``, the
        negative log-density of the code under its label's component up to
        a constant. ``"posterior"``: ``-log p(label | z)``, the softmax over
        components of ``-||z - mean_k||^2 / (2 stddev^2)`` (equal weights and
        widths).
        """
        means = ops.convert_to_tensor(self.prior.component_means(self.latent_dim))
        z = ops.cast(codes, "float32")
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        target = ops.one_hot(ops.maximum(labels, 0), self.num_classes)
        if self.component_objective == "likelihood":
            own = ops.matmul(target, means)
            per_example = ops.sum(ops.square(z - own), axis=-1) / (
                2.0 * self.prior.stddev**2
            )
        else:
            sq = (
                ops.sum(ops.square(z), axis=-1, keepdims=True)
                - 2.0 * ops.matmul(z, ops.transpose(means))
                + ops.sum(ops.square(means), axis=-1)[None, :]
            )
            logits = -sq / (2.0 * self.prior.stddev**2)
            per_example = ops.logsumexp(logits, axis=-1) - ops.sum(logits * target, axis=-1)
        per_example = ops.where(labels >= 0, per_example, ops.zeros_like(per_example))
        return losses.reduce_mean(per_example, sample_weight)

    def loss_term_names(self):
        return super().loss_term_names() + ("component_loss",)

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """All loss terms of one batch; ``y`` are the labels (1-D). ``None``
        or a reconstruction target (``compute_loss_terms(x, x)``, the base
        contract) leaves every row unlabelled."""
        if y is None or len(y.shape) != 1:
            y = None
        labels = y if y is not None else _labels.LabelledData.unpack((x,))[1]
        codes = self.posterior_codes(x, training=training)
        terms, y_pred = self._reconstruction_terms(codes, x, sample_weight, training)
        real = self.draw_prior(codes, labels, training=training)
        d_loss, d_acc, fake_logits = self._discriminator_terms(
            self._with_label(real, labels),
            self._with_label(codes, labels),
            sample_weight,
            training,
        )
        g_loss = self._generator_loss(fake_logits, sample_weight)
        terms = self._with_component_loss(terms, codes, labels, sample_weight)
        terms.update(
            discriminator_loss=d_loss + self._sum_losses(self.discriminator),
            generator_loss=g_loss,
            discriminator_accuracy=d_acc,
        )
        if self.mode == "joint":
            terms["loss"] = terms["loss"] + self.adversarial_weight * g_loss
        return terms, y_pred

    # ------------------------------------------------------------- sampling
    def sample(self, n, labels=None, seed=None, batch_size=None):
        """Decodes ``n`` prior draws, from the components ``labels`` if given.

        Args:
            n: number of samples.
            labels: optional integers ``(n,)`` in ``[0, num_classes)``.
            seed: optional integer for reproducible samples.
            batch_size: batch size of the decoding loop.

        Returns:
            NumPy array ``(n,) + input_shape``.
        """
        n = validation.integer(n, "n", low=0)
        if labels is not None:
            labels = _labels.check_labels(
                list(labels) if isinstance(labels, range) else labels,
                n,
                self.num_classes,
                allow_unlabelled=False,
            )
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        z = self.prior.sample(n, self.latent_dim, seed=seed, components=labels)
        return self.decode(np.asarray(z), batch_size=batch_size)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        config["component_weight"] = self.component_weight
        config["component_objective"] = self.component_objective
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuilds a model from `get_config`; configs written before
        ``component_objective`` existed load with ``"posterior"``, the term
        they were trained with."""
        config = dict(config)
        config.setdefault("component_objective", "posterior")
        return super().from_config(config)
