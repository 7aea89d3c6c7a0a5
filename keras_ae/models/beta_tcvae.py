"""The β-TCVAE (Chen et al. 2018): the KL term split into MI, TC and dimension-wise KL."""

import keras
from keras import ops

from keras_ae import backend
from keras_ae import losses
from keras_ae import objectives
from keras_ae import validation
from keras_ae.models.vae import VariationalAutoencoder

#: VAE arguments that the β-TCVAE fixes (the one-sample ELBO family).
_FIXED = ("objective", "num_importance_samples", "num_outer_samples", "ciwae_beta")


def _gather(z_mean, z_log_var):
    both, offset = backend.global_batch(ops.concatenate([z_mean, z_log_var], axis=1))
    d = ops.shape(z_mean)[1]
    return (both[:, :d], both[:, d:]), offset


@keras.saving.register_keras_serializable(package="keras_ae")
class BetaTCVAE(VariationalAutoencoder):
    """β-TCVAE: a VAE whose KL term is decomposed and reweighted (Chen et al. 2018).

    The KL term of the ELBO, averaged over the data, splits into the
    index-code mutual information ``I(x; z)``, the total correlation ``TC(z)
    = KL(q(z) || prod_j q(z_j))`` and the dimension-wise KL ``sum_j
    KL(q(z_j) || p(z_j))``. The loss is::

        reconstruction + kl_weight * (alpha * MI + beta * TC + gamma * DWKL)

    with the three terms estimated on each minibatch at one sample
    ``z_i ~ q(z|x_i)`` (`keras_ae.objectives.tc_decomposition`): the
    aggregate posterior ``q(z) = (1/N) sum_n q(z|x_n)`` needs the number of
    training examples N, ``dataset_size``. ``alpha = beta = gamma = 1`` is the
    VAE (a sampled KL); Chen et al. train with ``alpha = gamma = 1`` and
    ``beta > 1``. ``kl_weight`` (non-trainable, starts at 1) scales all three,
    for `keras_ae.callbacks.KLAnnealing`.

    Metrics: the VAE's (``kl_loss``: the analytic KL) plus
    ``mutual_information``, ``total_correlation`` and ``dimension_wise_kl``
    (nats, batch estimates). `fit` checks that an array ``x`` has at most
    ``dataset_size`` examples and that ``batch_size <= dataset_size``
    (``>= 2`` for the stratified estimator); `tf.data` inputs are not
    counted. Under `tf.distribute` each replica estimates the terms on its
    share of the examples against the posteriors of the whole batch
    (`keras_ae.backend.global_batch`), so the step equals the one-device step.

    Args:
        input_shape, latent_dim, hidden_units, activation, output_activation,
        reconstruction_loss, architecture, encoder, decoder, tied_weights,
        seed, likelihood, observation_variance, noise_scale: as in
            `keras_ae.VAE`.
        dataset_size: N, the number of training examples (an integer >= 1).
        alpha: weight of the index-code mutual information (>= 0).
        beta: weight of the total correlation (>= 0; 6 in many of Chen et
            al.'s experiments).
        gamma: weight of the dimension-wise KL (>= 0).
        estimator: ``"stratified"`` (default: an unbiased minibatch estimate
            of q(z_i)) or ``"mws"`` (minibatch-weighted sampling, the paper's
            main estimator: its log q(z) is biased low by between log b and
            log N, so its TC reads about (latent_dim - 1) log N when the
            posteriors overlap; the gradients are those of the paper).
        **kwargs: base `keras.Model` arguments.

    Example:
    ```python
    (x, factors), _ = keras_ae.datasets.shapes.load_data()
    model = keras_ae.BetaTCVAE(input_shape=(1024,), latent_dim=6,
                               dataset_size=len(x), beta=6.0, seed=0)
    model.compile()
    model.fit(x, epochs=10, batch_size=128)
    keras_ae.evaluation.mutual_information_gap(model.encode(x), factors)
    ```
    """

    def __init__(
        self,
        input_shape,
        latent_dim=10,
        hidden_units=None,
        activation="relu",
        output_activation="sigmoid",
        reconstruction_loss=None,
        architecture="dense",
        encoder=None,
        decoder=None,
        tied_weights=False,
        seed=None,
        likelihood="bernoulli",
        dataset_size=None,
        alpha=1.0,
        beta=6.0,
        gamma=1.0,
        estimator="stratified",
        observation_variance=None,
        noise_scale=1.0,
        **kwargs,
    ):
        if dataset_size is None:
            raise ValueError(
                "`dataset_size` must be an integer >= 1: the number of training "
                "examples, which the estimate of q(z) needs. Received: dataset_size=None"
            )
        self.dataset_size = objectives.check_dataset_size(dataset_size)
        self.alpha = validation.number(alpha, "alpha", low=0.0)
        tc_weight = validation.number(beta, "beta", low=0.0)
        self.gamma = validation.number(gamma, "gamma", low=0.0)
        self.estimator = validation.one_of(estimator, "estimator", objectives.TC_ESTIMATORS)
        fixed = sorted(set(_FIXED) & set(kwargs))
        if fixed:
            raise ValueError(
                "BetaTCVAE trains on its own decomposed ELBO; it does not take "
                f"{fixed}. Received: {', '.join(f'{k}={kwargs[k]!r}' for k in fixed)}"
            )
        super().__init__(
            input_shape=input_shape,
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
            likelihood=likelihood,
            beta=1.0,  # the initial kl_weight: the three weights carry beta
            observation_variance=observation_variance,
            noise_scale=noise_scale,
            **kwargs,
        )
        self.beta = tc_weight

    def loss_term_names(self):
        return super().loss_term_names() + (
            "mutual_information",
            "total_correlation",
            "dimension_wise_kl",
        )

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """Reconstruction plus the weighted MI, TC and dimension-wise KL of one batch."""
        z_mean, z_log_var = self._posterior(x, training=training)
        sampler = self.sampling if training else self.eval_sampling
        eps = objectives.draw_eps(sampler, tuple(ops.shape(z_mean)))
        z = z_mean + ops.exp(0.5 * z_log_var) * eps
        out = self.decoder(z, training=training)
        mean = lambda v: losses.reduce_mean(v, sample_weight)  # noqa: E731
        rec = mean(self._negative_log_likelihood(y, out))
        # The whole batch's posteriors, also when it is split over
        # tf.distribute replicas (one estimate, as on one device).
        (all_mean, all_log_var), offset = _gather(z_mean, z_log_var)
        mi, tc, dwkl = objectives.tc_decomposition(
            z, all_mean, all_log_var, self.dataset_size, self.estimator, offset
        )
        mi, tc, dwkl = mean(mi), mean(tc), mean(dwkl)
        kl_weight = ops.cast(self.kl_weight, "float32")
        penalty = self.alpha * mi + self.beta * tc + self.gamma * dwkl
        x_hat = self._mean_from_output(out)
        terms = {
            "loss": rec + kl_weight * penalty + self.regularization_loss(),
            "reconstruction_loss": rec,
            "kl_loss": mean(losses.kl_divergence(z_mean, z_log_var)),
            "kl_weight": kl_weight,
            "mse": mean(losses.mean_squared_error(y, x_hat)),
            "mutual_information": mi,
            "total_correlation": tc,
            "dimension_wise_kl": dwkl,
        }
        return terms, x_hat

    def fit(self, x=None, y=None, **kwargs):
        """`VAE.fit` after checking the data against ``dataset_size``.

        An array ``x`` may hold at most ``dataset_size`` examples (fewer: a
        shard, e.g. one worker's share); ``batch_size`` is at most
        ``dataset_size`` (and at least 2 for ``"stratified"``).
        """
        shape = getattr(x, "shape", None)
        if shape is not None and len(shape) and not hasattr(x, "element_spec"):
            if shape[0] is not None and int(shape[0]) > self.dataset_size:
                raise ValueError(
                    "`dataset_size` must be at least the number of training "
                    "examples: the estimate of q(z) divides by it. Received: "
                    f"dataset_size={self.dataset_size} and x with {int(shape[0])} examples"
                )
        batch_size = kwargs.get("batch_size")
        if batch_size is not None:
            low = 2 if self.estimator == "stratified" else 1
            validation.integer(batch_size, "batch_size", low=low, high=self.dataset_size)
        return super().fit(x, y, **kwargs)

    def get_config(self):
        config = super().get_config()
        for key in _FIXED:
            config.pop(key, None)
        config.update(
            {
                "dataset_size": self.dataset_size,
                "alpha": self.alpha,
                "beta": self.beta,
                "gamma": self.gamma,
                "estimator": self.estimator,
            }
        )
        return config
