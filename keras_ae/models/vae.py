"""The variational autoencoder (Kingma & Welling 2013)."""

import math

import keras
import numpy as np
from keras import ops

from keras_ae import backend
from keras_ae import losses
from keras_ae import objectives
from keras_ae import rng
from keras_ae import validation
from keras_ae.layers.sampling import LOG_VAR_MAX
from keras_ae.layers.sampling import LOG_VAR_MIN
from keras_ae.layers.sampling import Sampling
from keras_ae.models.base import BaseAutoencoder
from keras_ae.models.endpoint import Endpoint

LIKELIHOODS = ("bernoulli", "gaussian")
_LOSS_OF_LIKELIHOOD = {"bernoulli": "bce", "gaussian": "mse"}
_LIKELIHOOD_OF_LOSS = {v: k for k, v in _LOSS_OF_LIKELIHOOD.items()}
#: Rows (example x sample pairs) decoded at once by `log_likelihood`/`elbo`.
DEFAULT_EVAL_ROWS = 2048


def _sigmoid(x):
    """Numerically stable NumPy sigmoid."""
    return np.exp(-np.logaddexp(0.0, -x)).astype(x.dtype)


def _logsumexp(a, axis=0):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def _check_positive_int(value, name):
    return validation.integer(value, name, low=1)


@keras.saving.register_keras_serializable(package="keras_ae")
class VariationalAutoencoder(BaseAutoencoder):
    """Variational autoencoder with a Gaussian encoder (Kingma & Welling 2013).

    The encoder outputs the mean and log-variance of a diagonal Gaussian
    posterior q(z|x); a `keras_ae.layers.Sampling` layer draws
    ``z = mean + exp(log_var / 2) * eps`` (reparameterisation trick) and the
    decoder parameterises p(x|z). Training maximises the ELBO: the loss is
    ``reconstruction_loss + kl_weight * kl_loss`` (+ weight and activity
    regularizers), where ``reconstruction_loss = -log p(x|z)`` summed over
    features and ``kl_loss = KL(q(z|x) || N(0, I))`` (analytic), both in nats
    per example and in float32 whatever the dtype policy. Metrics: ``loss``,
    ``reconstruction_loss``, ``kl_loss``, ``kl_weight`` and a per-feature
    ``mse`` of the decoded mean.

    Likelihoods:

    * ``"bernoulli"`` (data in [0, 1]): the decoder outputs logits; ``call``,
      ``reconstruct``, ``decode`` and ``sample`` return probabilities.
    * ``"gaussian"``: the decoder outputs the mean (through
      ``output_activation``) and the observation variance is one value shared
      by every feature, learned (`observation_log_var`, a trainable scalar
      starting at 0) unless ``observation_variance`` fixes it. A per-feature
      variance would make log p(x) unbounded on data with constant features.

    The KL weight is the non-trainable float32 variable `kl_weight`,
    initialised to ``beta``: `keras_ae.callbacks.KLAnnealing` changes it during
    `fit`, and its current value is saved with the weights (``.keras`` files,
    `save_weights`, `keras.callbacks.BackupAndRestore`). The random state of
    the sampling layers is saved too, so a reloaded model continues the same
    random stream.

    The training step is the base class's: every loss term is a per-replica
    batch mean divided by the number of replicas before differentiation
    (correct under `tf.distribute`), scaled by the optimizer under mixed
    precision, and logged unscaled. Sampling is on in training; evaluation
    (``evaluate``, validation) draws from a separate random stream that is
    reset at the start of every `evaluate`, so the validation loss is an
    unbiased one-sample ELBO estimate, identical across calls, and does not
    change the training noise. ``call``/``predict`` are deterministic
    (``z = mean``).

    Args:
        input_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)``.
        latent_dim: size of the latent code.
        hidden_units: units (dense) or filters (conv) of the hidden layers;
            ``None`` picks ``(512, 256)`` for dense and ``(32, 64)`` for conv.
        activation: activation of the hidden layers (the two posterior heads
            are linear).
        output_activation: activation of the decoder mean for
            ``likelihood="gaussian"`` (``"sigmoid"`` by default; ``None`` for
            unbounded data). With ``"bernoulli"`` the decoder always outputs
            logits and ``"sigmoid"`` (or ``None``) is the only valid value.
        reconstruction_loss: ``None`` (default: follows ``likelihood``), or
            ``"bce"`` / ``"mse"`` as aliases of ``likelihood="bernoulli"`` /
            ``"gaussian"``; a value that contradicts ``likelihood`` raises.
        architecture: ``"dense"`` or ``"conv"``.
        encoder: optional `keras.Model` returning ``[z_mean, z_log_var]``,
            each of shape ``(batch, latent_dim)``.
        decoder: optional `keras.Model` mapping codes to logits
            (``"bernoulli"``) or means (``"gaussian"``).
        tied_weights: not supported by the VAE (must be False).
        seed: optional integer seed (initializers and sampling).
        likelihood: ``"bernoulli"`` (default) or ``"gaussian"``.
        beta: initial KL weight (``1.0``: the ELBO; Higgins et al. 2017's
            beta-VAE for ``beta > 1``); a finite float >= 0.
        observation_variance: ``"gaussian"`` only; ``None`` learns one shared
            variance, a positive float fixes it.
        noise_scale: multiplies the sampling noise in training and evaluation
            (1.0: a VAE). 0.0 trains on ``z = mean`` without drawing random
            numbers: a test hook to compare training runs exactly (e.g. with
            and without a distribution strategy). `log_likelihood`, `elbo`
            and `sample` ignore it.
        objective: training bound (`keras_ae.objectives`): ``"elbo"``
            (default), ``"iwae"`` (Burda et al. 2015), ``"miwae"`` or
            ``"ciwae"`` (Rainforth et al. 2018). Adds the metrics
            ``iwae_bound`` and ``effective_sample_size`` unless it is the
            one-sample ELBO.
        num_importance_samples: K draws per bound (``"elbo"``: the
            reconstruction term averaged over K draws).
        num_outer_samples: M, ``"miwae"`` only: the mean of M IWAE-K bounds.
        ciwae_beta: ``"ciwae"`` only: ``beta * ELBO + (1 - beta) * IWAE``
            (default 0.5).
        **kwargs: base `keras.Model` arguments.

    Example:
        >>> (x, _), (x_test, _) = keras_ae.datasets.load_data("digits")
        >>> vae = keras_ae.VAE(input_shape=(64,), latent_dim=4,
        ...                    hidden_units=(64,), seed=0)
        >>> vae.compile()
        >>> vae.fit(x, epochs=5, batch_size=64, verbose=0)
        >>> z = vae.encode(x_test)                       # posterior means
        >>> mean, log_var = vae.encode(x_test, return_distribution=True)
        >>> images = vae.sample(16, seed=0)              # (16, 64) in [0, 1]
        >>> vae.log_likelihood(x_test, num_samples=100)  # nats per image
    """

    code_activation = None
    encoder_heads = ("z_mean", "z_log_var")
    generative = True

    def __init__(
        self,
        input_shape,
        latent_dim=32,
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
        beta=1.0,
        observation_variance=None,
        noise_scale=1.0,
        objective="elbo",
        num_importance_samples=1,
        num_outer_samples=None,
        ciwae_beta=None,
        **kwargs,
    ):
        # ---- VAE arguments (validated before any network is built) ---------
        if likelihood not in LIKELIHOODS:
            raise ValueError(
                f"`likelihood` must be one of {LIKELIHOODS}. "
                f"Received: likelihood={likelihood!r}"
            )
        if reconstruction_loss is None:
            reconstruction_loss = _LOSS_OF_LIKELIHOOD[likelihood]
        elif reconstruction_loss not in _LIKELIHOOD_OF_LOSS:
            raise ValueError(
                "`reconstruction_loss` must be None, 'bce' (likelihood='bernoulli') "
                "or 'mse' (likelihood='gaussian'). "
                f"Received: reconstruction_loss={reconstruction_loss!r}"
            )
        elif _LIKELIHOOD_OF_LOSS[reconstruction_loss] != likelihood:
            raise ValueError(
                f"`reconstruction_loss={reconstruction_loss!r}` contradicts "
                f"`likelihood={likelihood!r}`; pass only `likelihood`. "
                f"Received: reconstruction_loss={reconstruction_loss!r}"
            )
        beta = validation.number(beta, "beta", low=0.0)
        if observation_variance is not None:
            if likelihood != "gaussian":
                raise ValueError(
                    "`observation_variance` is only used with likelihood='gaussian'. "
                    f"Received: observation_variance={observation_variance!r}"
                )
            observation_variance = validation.number(
                observation_variance, "observation_variance", low=0.0, low_inclusive=False
            )
        noise_scale = validation.number(noise_scale, "noise_scale", low=0.0)
        if tied_weights:
            raise ValueError(
                "`tied_weights=True` is not supported by VariationalAutoencoder. "
                f"Received: tied_weights={tied_weights!r}"
            )
        # Plain attributes, read by `build_decoder` during the base __init__.
        self.likelihood = likelihood
        self.beta = float(beta)
        self.observation_variance = observation_variance
        self.noise_scale = float(noise_scale)
        (
            self.objective,
            self.num_importance_samples,
            self.num_outer_samples,
            self.ciwae_beta,
        ) = objectives.check_objective(
            objective, num_importance_samples, num_outer_samples, ciwae_beta
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
            **kwargs,
        )

    # ------------------------------------------------------------------ build
    def decoder_output_activation(self):
        return None if self.likelihood == "bernoulli" else self.output_activation

    def _build_model(self):
        # ---- layers and variables (before the first call builds the rest) --
        self.sampling = Sampling(
            seed=self.seed, noise_scale=self.noise_scale, name="sampling"
        )
        self.eval_sampling = Sampling(
            seed=None if self.seed is None else self.seed + 1,
            noise_scale=self.noise_scale,
            name="eval_sampling",
        )
        for layer in (self.sampling, self.eval_sampling):
            layer.build([(None, self.latent_dim)] * 2)
        self._eval_seed_state = np.array(self.eval_sampling.seed_generator.state)
        self.kl_weight = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.beta),
            trainable=False,
            dtype="float32",
            name="kl_weight",
        )
        self.observation_log_var = None
        if self.likelihood == "gaussian" and self.observation_variance is None:
            self.observation_log_var = self.add_weight(
                shape=(),
                initializer="zeros",
                trainable=True,
                dtype="float32",
                name="observation_log_var",
            )
        super()._build_model()

    # ------------------------------------------------------------------ call
    def _posterior(self, x, training=None):
        """(z_mean, z_log_var) in float32, log-variance clipped to be finite."""
        outputs = self.encoder(x, training=training)
        if isinstance(outputs, dict):
            outputs = [outputs.get(k) for k in self.encoder_heads]
        if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
            raise ValueError(
                "The VAE encoder must return [z_mean, z_log_var], two tensors of "
                f"shape (batch, {self.latent_dim}). Received: {outputs!r}"
            )
        z_mean = ops.cast(outputs[0], "float32")
        z_log_var = ops.clip(ops.cast(outputs[1], "float32"), LOG_VAR_MIN, LOG_VAR_MAX)
        return z_mean, z_log_var

    def posterior(self, x, training=False):
        """``(z_mean, z_log_var)`` of q(z|x) as float32 tensors.

        The log-variance is clipped to a finite range, as in training.

        Args:
            x: tensor of shape ``(batch,) + input_shape``.
            training: passed to the encoder.

        Returns:
            Two tensors of shape ``(batch, latent_dim)``.
        """
        return self._posterior(x, training=training)

    def _mean_from_output(self, out):
        """Mean of p(x|z) from the decoder's output (logits or mean)."""
        out = ops.cast(out, "float32")
        return ops.sigmoid(out) if self.likelihood == "bernoulli" else out

    def call(self, inputs, training=None):
        """Mean of p(x|z) at ``z = mean`` (sampled ``z`` when ``training``)."""
        z_mean, z_log_var = self._posterior(inputs, training=training)
        z = self.sampling([z_mean, z_log_var], training=training)
        return self._mean_from_output(self.decoder(z, training=training))

    def decoder_mean(self, z, training=False):
        """Mean of p(x|z) as a tensor (probabilities for ``"bernoulli"``).

        Args:
            z: codes, tensor of shape ``(batch, latent_dim)``.
            training: passed to the decoder.

        Returns:
            A float32 tensor of shape ``(batch,) + input_shape``.
        """
        return self._mean_from_output(self.decoder(z, training=training))

    def observation_log_variance(self):
        """log sigma^2 of the Gaussian likelihood, float32 scalar (None for Bernoulli)."""
        if self.likelihood != "gaussian":
            return None
        if self.observation_log_var is None:
            return ops.cast(math.log(self.observation_variance), "float32")
        return ops.clip(
            ops.cast(self.observation_log_var, "float32"), LOG_VAR_MIN, LOG_VAR_MAX
        )

    def _negative_log_likelihood(self, x, out):
        """-log p(x|z) per example (nats, summed over features)."""
        if self.likelihood == "bernoulli":
            return losses.binary_crossentropy(x, out, from_logits=True)
        return losses.gaussian_nll(x, out, self.observation_log_variance())

    # ------------------------------------------------------------ loss terms
    def loss_term_names(self):
        names = ("loss", "reconstruction_loss", "kl_loss", "kl_weight", "mse")
        return names + (objectives.IW_METRICS if objectives.uses_samples(self) else ())

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """-ELBO of one batch: ``reconstruction + kl_weight * kl + regularizers``.

        Sampling is on in training and evaluation alike (evaluation uses its
        own random stream, `eval_sampling`); KL and log-variances are in
        float32. Returns per-replica batch means, as the base step expects.
        Other objectives: `keras_ae.objectives.importance_weighted_terms`.
        """
        if objectives.uses_samples(self):
            return objectives.importance_weighted_terms(
                self, x, y, sample_weight=sample_weight, training=training
            )
        z_mean, z_log_var = self._posterior(x, training=training)
        sampler = self.sampling if training else self.eval_sampling
        z = sampler([z_mean, z_log_var], training=True)
        out = self.decoder(z, training=training)
        rec = losses.reduce_mean(self._negative_log_likelihood(y, out), sample_weight)
        kl = losses.reduce_mean(losses.kl_divergence(z_mean, z_log_var), sample_weight)
        kl_weight = ops.cast(self.kl_weight, "float32")
        total = rec + kl_weight * kl + self.regularization_loss()
        x_hat = self._mean_from_output(out)
        mse = losses.reduce_mean(losses.mean_squared_error(y, x_hat), sample_weight)
        terms = {
            "loss": total,
            "reconstruction_loss": rec,
            "kl_loss": kl,
            "kl_weight": kl_weight,
            "mse": mse,
        }
        return terms, x_hat

    def evaluate(self, x=None, y=None, **kwargs):
        """Evaluates the -ELBO; the evaluation noise restarts at every call."""
        self.eval_sampling.seed_generator.state.assign(self._eval_seed_state)
        return super().evaluate(x, y, **kwargs)

    def reconstruction_from_logits(self):
        """False: the VAE maps its decoder's outputs itself (`decoder_mean`)."""
        return False

    # ------------------------------------------------------------ inference
    def encode(self, x, batch_size=None, return_distribution=False):
        """Posterior means of ``x`` (NumPy), batched like `predict`.

        Args:
            x: array of shape ``(N,) + input_shape``.
            batch_size: batch size of the internal loop (default 256).
            return_distribution: if True, return ``(mean, log_var)``.

        Returns:
            ``(N, latent_dim)`` means, or the tuple ``(mean, log_var)``.
        """
        x = self._check_x(x, "x", allow_empty=True)
        outputs = self._predict_with(self.encoder, x, batch_size)
        if isinstance(outputs, dict):
            outputs = [outputs[k] for k in self.encoder_heads]
        z_mean = np.asarray(outputs[0], "float32")
        if not return_distribution:
            return z_mean
        z_log_var = np.clip(np.asarray(outputs[1], "float32"), LOG_VAR_MIN, LOG_VAR_MAX)
        return z_mean, z_log_var

    def decode(self, z, batch_size=None):
        """Mean of p(x|z) for codes ``z`` (NumPy; probabilities for Bernoulli)."""
        out = np.asarray(super().decode(z, batch_size), "float32")
        return _sigmoid(out) if self.likelihood == "bernoulli" else out

    def sample(self, n, seed=None, batch_size=None):
        """Decodes ``n`` draws from the prior N(0, I).

        The draws are `draw_prior_noise` from the seed ``[seed, 0]``, the
        random stream of the exported ``sample_seeded`` endpoint.

        Args:
            n: number of samples.
            seed: optional integer; the same seed gives the same samples.
            batch_size: batch size of the decoding loop.

        Returns:
            NumPy array ``(n,) + input_shape``: the mean of p(x|z) for each
            prior draw ``z`` (probabilities for ``"bernoulli"``).
        """
        n = validation.integer(n, "n", low=0)
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        seed = validation.integer(seed, "seed")
        z = self.codes_from_noise(self.draw_prior_noise(n, rng.seed_tensor(seed)))
        return self.decode(ops.convert_to_numpy(z), batch_size=batch_size)

    def prior_noise_spec(self):
        """The noise the prior N(0, I) transforms: ``{"noise": N(0, 1) (latent_dim,)}``."""
        return {"noise": {"distribution": "normal", "shape": (self.latent_dim,)}}

    def draw_prior_noise(self, n, seed):
        """``{"noise": (n, latent_dim)}`` standard normal draws from the seed tensor ``seed``."""
        return {"noise": rng.normal((n, self.latent_dim), seed)}

    def codes_from_noise(self, noise):
        """Prior draws from noise: the N(0, 1) ``noise["noise"]`` itself."""
        return ops.cast(noise["noise"], "float32")

    def export_endpoints(self):
        """The base endpoints plus ``encode_distribution`` (``z_mean``, ``z_log_var``)."""
        endpoints = super().export_endpoints()
        d = f"(batch, {self.latent_dim})"

        def encode_distribution(x):
            z_mean, z_log_var = self.posterior(x)
            return {"z_mean": z_mean, "z_log_var": z_log_var}

        distribution = Endpoint(
            encode_distribution,
            dict(endpoints["encode"].inputs),
            {"z_mean": f"{d} posterior mean", "z_log_var": f"{d} posterior log-variance"},
            "the Gaussian posterior q(z|x)",
        )
        items = list(endpoints.items())
        items.insert(1, ("encode_distribution", distribution))
        return dict(items)

    # ------------------------------------------------------------ evaluation
    def _log_terms_fn(self):
        """Compiled: log p(x|z), log p(z) - log q(z|x) for s samples of b examples."""
        fn = getattr(self, "_log_terms_cached", None)
        if fn is not None:
            return fn

        def log_terms(x, eps):
            z_mean, z_log_var = self._posterior(x, training=False)
            log_px_z, log_ratio, _ = objectives.log_weight_terms(
                self, x, z_mean, z_log_var, eps
            )
            kl = losses.kl_divergence(z_mean, z_log_var)
            return log_px_z, log_ratio, kl

        fn = backend.inference_function(self, log_terms)
        self._log_terms_cached = fn
        return fn

    def _iterate_log_terms(self, x, num_samples, batch_size, seed):
        """Yields ``(log p(x|z), log p(z)/q(z|x), kl)`` chunk by chunk (float64).

        ``batch_size`` bounds the number of (example, sample) rows decoded at
        once: ``num_samples`` is split into chunks of at most ``batch_size``
        samples and the examples into chunks of ``batch_size // samples``.
        """
        if type(x).__module__.startswith("tensorflow.python.data"):
            raise ValueError(
                "`log_likelihood`/`elbo` take an array of examples, not a "
                f"tf.data.Dataset. Received: x={x!r}"
            )
        x = self._check_x(x, "x", check_range=True, allow_empty=True)
        num_samples = _check_positive_int(num_samples, "num_samples")
        rows = _check_positive_int(batch_size or DEFAULT_EVAL_ROWS, "batch_size")
        x = np.asarray(x, "float32")
        rng = np.random.default_rng(seed)
        fn = self._log_terms_fn()
        per_chunk = min(num_samples, rows)
        examples = max(1, rows // per_chunk)
        for start in range(0, len(x), examples):
            xb = x[start : start + examples]
            b = int(xb.shape[0])
            log_px, log_ratio, kl = [], [], None
            for done in range(0, num_samples, per_chunk):
                s = min(per_chunk, num_samples - done)
                eps = rng.standard_normal((s, b, self.latent_dim), dtype=np.float32)
                lp, lr, kl = fn(xb, eps)
                log_px.append(ops.convert_to_numpy(lp).astype("float64"))
                log_ratio.append(ops.convert_to_numpy(lr).astype("float64"))
            yield (
                np.concatenate(log_px, axis=0),
                np.concatenate(log_ratio, axis=0),
                ops.convert_to_numpy(kl).astype("float64"),
            )

    @staticmethod
    def _reduce(values, reduction):
        validation.one_of(reduction, "reduction", ("mean", "none"))
        values = np.concatenate(values) if values else np.zeros((0,), "float64")
        if reduction == "none":
            return values
        if not len(values):
            raise ValueError(
                "The mean over no examples is undefined; pass at least one example "
                "or reduction='none'. Received: x with 0 examples"
            )
        return float(np.mean(values))

    def log_likelihood(
        self, x, num_samples=1000, batch_size=None, seed=None, reduction="mean"
    ):
        """Importance-weighted estimate of log p(x) (Burda et al. 2015), in nats.

        ``log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)]
        - log K`` with ``z_k ~ q(z|x)``: a lower bound on log p(x) in
        expectation that tightens as ``num_samples`` grows (``num_samples=1``
        is a one-sample ELBO estimate). Computed chunk by chunk, so thousands
        of samples fit in memory.

        Args:
            x: array of shape ``(N,) + input_shape``.
            num_samples: importance samples K per example (default 1000).
            batch_size: at most this many (example, sample) pairs are decoded
                at once (default 2048); lower it for big conv decoders.
            seed: optional integer for reproducible estimates.
            reduction: ``"mean"`` (a float: nats per example) or ``"none"``
                (NumPy array of shape ``(N,)``).

        Returns:
            The mean estimate (float) or the per-example estimates.
        """
        values = []
        for log_px, log_ratio, _ in self._iterate_log_terms(
            x, num_samples, batch_size, seed
        ):
            values.append(_logsumexp(log_px + log_ratio, axis=0) - math.log(len(log_px)))
        return self._reduce(values, reduction)

    def elbo(self, x, num_samples=1, batch_size=None, seed=None, reduction="mean"):
        """Evidence lower bound ``E_q[log p(x|z)] - KL(q(z|x) || p(z))``, in nats.

        The expectation is a Monte-Carlo average over ``num_samples`` draws;
        the KL is analytic.

        Args:
            x: array of shape ``(N,) + input_shape``.
            num_samples: draws per example for the reconstruction term.
            batch_size: as in `log_likelihood`.
            seed: optional integer for reproducible estimates.
            reduction: ``"mean"`` or ``"none"``.

        Returns:
            The mean ELBO (float) or the per-example values.
        """
        values = []
        for log_px, _, kl in self._iterate_log_terms(x, num_samples, batch_size, seed):
            values.append(np.mean(log_px, axis=0) - kl)
        return self._reduce(values, reduction)

    # ----------------------------------------------------------- diagnostics
    def kl_per_dimension(self, x, batch_size=None):
        """Average KL(q(z_j|x) || N(0, 1)) of every latent dimension over ``x``.

        Dimensions with a KL near zero carry no information (posterior
        collapse); the values sum to the average ``kl_loss``.

        Returns:
            NumPy array of shape ``(latent_dim,)``, nats.
        """
        mean, log_var = self.encode(x, batch_size=batch_size, return_distribution=True)
        if not len(mean):
            raise ValueError(
                "`kl_per_dimension` averages over examples and needs at least one. "
                "Received: x with 0 examples"
            )
        mean, log_var = mean.astype("float64"), log_var.astype("float64")
        return np.mean(-0.5 * (1.0 + log_var - mean**2 - np.exp(log_var)), axis=0)

    def evaluation_metrics(self, x, logs, **options):
        """Adds ``kl_loss``, ``neg_elbo`` (one-sample estimate), the
        importance-weighted ``log_likelihood`` (when asked) and ``active_units``."""
        metrics = super().evaluation_metrics(x, logs, **options)
        seed = options["seed"]
        metrics["kl_loss"] = float(logs["kl_loss"])
        metrics["neg_elbo"] = -float(self.elbo(x, num_samples=1, seed=seed))
        if options["log_likelihood"]:
            metrics["log_likelihood"] = float(
                self.log_likelihood(x, num_samples=options["num_samples"], seed=seed)
            )
        metrics["active_units"] = float(self.active_units(x))
        return metrics

    def active_units(self, x, threshold=1e-2, batch_size=None, return_variances=False):
        """Number of active latent units (Burda et al. 2015).

        Unit ``j`` is active when ``Cov_x(E_q[z_j | x]) > threshold``: the
        posterior mean of that unit varies across the data.

        Args:
            x: array of shape ``(N,) + input_shape`` (N >= 2).
            threshold: activity threshold (0.01 in the paper).
            batch_size: batch size of the encoding loop.
            return_variances: also return the per-unit variances.

        Returns:
            An int, or ``(count, variances)``.
        """
        if not 0.0 <= float(threshold) < float("inf"):
            raise ValueError(
                f"`threshold` must be a finite float >= 0. Received: threshold={threshold!r}"
            )
        mean = self.encode(x, batch_size=batch_size).astype("float64")
        variances = np.var(mean, axis=0)
        count = int(np.sum(variances > threshold))
        return (count, variances) if return_variances else count

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "likelihood": self.likelihood,
                "beta": self.beta,
                "observation_variance": self.observation_variance,
                "noise_scale": self.noise_scale,
                "objective": self.objective,
                "num_importance_samples": self.num_importance_samples,
                "num_outer_samples": self.num_outer_samples,
                "ciwae_beta": self.ciwae_beta,
            }
        )
        return config


VAE = VariationalAutoencoder
