"""The conditional variational autoencoder (Sohn et al. 2015)."""

import keras
import numpy as np
from keras import ops

from keras_ae import data_checks
from keras_ae import losses
from keras_ae import networks
from keras_ae import rng
from keras_ae import validation
from keras_ae.layers.sampling import LOG_VAR_MAX
from keras_ae.layers.sampling import LOG_VAR_MIN
from keras_ae.models import _labels
from keras_ae.models.base import DEFAULT_BATCH_SIZE
from keras_ae.models.endpoint import Endpoint
from keras_ae.models.vae import VariationalAutoencoder
from keras_ae.models.vae import _sigmoid


@keras.saving.register_keras_serializable(package="keras_ae")
class ConditionalVAE(_labels.LabelledData, VariationalAutoencoder):
    """VAE whose encoder and decoder see a class label (Sohn et al. 2015).

    The label enters both networks as a one-hot vector: q(z|x, y) and
    p(x|z, y), with the prior p(z) = N(0, I) independent of the label (the
    paper's "CVAE" with a label-free prior). The dense encoder reads the
    flattened image concatenated with the one-hot; the conv encoder reads
    the image with ``num_classes`` extra constant channels (the one-hot
    broadcast over the pixels); the decoder reads ``[z, one_hot]``. The
    loss is the VAE's negative ELBO (``likelihood``, ``beta``...), given
    the label.

    Every call takes labels (integers in ``[0, num_classes)``, one per
    example, checked before training): ``fit(x, labels)``,
    ``evaluate(x, labels)``, ``encode(x, labels)``, ``decode(z, labels)``,
    ``reconstruct(x, labels)``, ``predict((x, labels))`` and
    ``sample(n, labels=..., seed=...)``. Labels must be part of the arrays:
    `tf.data` datasets are not accepted.

    Args:
        input_shape: shape of one example.
        num_classes: number of classes (>= 2).
        encoder: optional `keras.Model` taking ``[x, one_hot]`` and returning
            ``[z_mean, z_log_var]``.
        decoder: optional `keras.Model` taking ``[z, one_hot]``.
        **kwargs: the other `VariationalAutoencoder` arguments
            (``latent_dim``, ``hidden_units``, ``architecture``,
            ``likelihood``, ``beta``, ``seed``...).

    Example:
    ```python
    cvae = keras_ae.ConditionalVAE((784,), num_classes=10, latent_dim=16, seed=0)
    cvae.compile()
    cvae.fit(x, labels, epochs=10, batch_size=128)
    shoes = cvae.sample(16, labels=7, seed=0)        # 16 sneakers
    z = cvae.encode(x_test, y_test)
    x_hat = cvae.reconstruct(x_test, y_test)
    ```
    """

    generative = True
    conditional = True
    labels_required = True

    def __init__(self, input_shape, num_classes=10, **kwargs):
        self.num_classes = validation.integer(num_classes, "num_classes", low=2)
        super().__init__(input_shape, **kwargs)

    # ------------------------------------------------------------------ build
    def build_encoder(self, hidden_units):
        shape = self.input_shape_
        k = self.num_classes
        x_in = keras.Input(shape=shape, name="inputs")
        y_in = keras.Input(shape=(k,), name="labels")
        if self.architecture == "conv":
            planes = keras.layers.RepeatVector(shape[0] * shape[1], name="repeat_labels")(y_in)
            planes = keras.layers.Reshape((shape[0], shape[1], k), name="label_planes")(planes)
            joined = keras.layers.Concatenate(name="with_labels")([x_in, planes])
            inner_shape = shape[:2] + (shape[2] + k,)
        else:
            flat = keras.layers.Flatten(name="flatten_inputs")(x_in) if len(shape) > 1 else x_in
            joined = keras.layers.Concatenate(name="with_labels")([flat, y_in])
            inner_shape = (int(np.prod(shape)) + k,)
        inner = networks.build_encoder(
            inner_shape, self.latent_dim, hidden_units, activation=self.activation,
            code_activation=self.code_activation, architecture=self.architecture,
            heads=self.encoder_heads, seed=self.seed, name="conditional_encoder",
        )
        return keras.Model([x_in, y_in], inner(joined), name="encoder")

    def build_decoder(self, hidden_units):
        z_in = keras.Input(shape=(self.latent_dim,), name="code")
        y_in = keras.Input(shape=(self.num_classes,), name="labels")
        joined = keras.layers.Concatenate(name="with_labels")([z_in, y_in])
        inner = networks.build_decoder(
            self.input_shape_, self.latent_dim + self.num_classes, hidden_units,
            activation=self.activation, output_activation=self.decoder_output_activation(),
            architecture=self.architecture, seed=self.seed, name="conditional_decoder",
        )
        return keras.Model([z_in, y_in], inner(joined), name="decoder")

    def _build_model(self):
        self._building = True
        try:
            super()._build_model()
        finally:
            self._building = False

    # ------------------------------------------------------------------ call
    def _split(self, inputs):
        if isinstance(inputs, (list, tuple)) and len(inputs) == 2:
            return inputs[0], inputs[1]
        if getattr(self, "_building", False):
            return inputs, ops.zeros((ops.shape(inputs)[0],), "int32")
        raise ValueError(
            f"{type(self).__name__} takes `(x, labels)`: e.g. "
            f"`model((x, labels))` or `model.predict((x, labels))`. Received: {inputs!r}"
        )

    def one_hot(self, labels):
        """One-hot float32 rows of integer ``labels`` (a tensor)."""
        return _labels.one_hot(labels, self.num_classes)

    def posterior(self, x, labels=None, training=False):
        """``(z_mean, z_log_var)`` of q(z|x, y) as float32 tensors."""
        if labels is None:
            x, labels = self._split(x)
        x = ops.convert_to_tensor(x)
        return self._posterior([x, self.one_hot(labels)], training=training)

    def decoder_mean(self, z, labels=None, training=False):
        """Mean of p(x|z, y) as a float32 tensor (probabilities for Bernoulli)."""
        if labels is None:
            z, labels = self._split(z)
        z = ops.convert_to_tensor(z)
        return self._mean_from_output(
            self.decoder([z, self.one_hot(labels)], training=training)
        )

    def code(self, x, labels=None, training=False):
        """Posterior means of ``x`` given ``labels``, as a tensor."""
        return self.posterior(x, labels, training=training)[0]

    def call(self, inputs, training=None):
        """Mean of p(x|z, y) for ``inputs = (x, labels)`` at ``z = mean``."""
        x, labels = self._split(inputs)
        x, one_hot = ops.convert_to_tensor(x), self.one_hot(labels)
        z_mean, z_log_var = self._posterior([x, one_hot], training=training)
        z = self.sampling([z_mean, z_log_var], training=training)
        return self._mean_from_output(self.decoder([z, one_hot], training=training))

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """-ELBO of one batch given the labels ``y`` (see `VariationalAutoencoder`)."""
        x, one_hot = ops.convert_to_tensor(x), self.one_hot(y)
        z_mean, z_log_var = self._posterior([x, one_hot], training=training)
        sampler = self.sampling if training else self.eval_sampling
        z = sampler([z_mean, z_log_var], training=True)
        out = self.decoder([z, one_hot], training=training)
        rec = losses.reduce_mean(self._negative_log_likelihood(x, out), sample_weight)
        kl = losses.reduce_mean(losses.kl_divergence(z_mean, z_log_var), sample_weight)
        kl_weight = ops.cast(self.kl_weight, "float32")
        x_hat = self._mean_from_output(out)
        terms = {
            "loss": rec + kl_weight * kl + self.regularization_loss(),
            "reconstruction_loss": rec,
            "kl_loss": kl,
            "kl_weight": kl_weight,
            "mse": losses.reduce_mean(losses.mean_squared_error(x, x_hat), sample_weight),
        }
        return terms, x_hat

    # ------------------------------------------------------------ inference
    def _labels_for(self, labels, n, name="labels"):
        """Checked int32 labels ``(n,)``: one integer is repeated ``n`` times."""
        if labels is not None and validation.is_integer(labels):
            labels = np.full((n,), int(labels))
        elif isinstance(labels, (range, list, tuple)):
            labels = np.asarray(list(labels), "int64" if len(labels) == 0 else None)
        if labels is None:
            raise ValueError(
                f"{type(self).__name__} needs `{name}`: integers in "
                f"[0, {self.num_classes}), one per example. Received: {name}=None"
            )
        return _labels.check_labels(labels, n, self.num_classes, name, allow_unlabelled=False)

    def _predict_pair(self, network, a, labels, batch_size):
        """``network.predict([a, one_hot(labels)])``, also for no rows."""
        one_hot = _labels.one_hot_numpy(labels, self.num_classes)
        if len(a) == 0:
            pad = np.zeros((1,) + a.shape[1:], "float32")
            one = network.predict([pad, np.zeros((1, self.num_classes), "float32")], verbose=0)
            return keras.tree.map_structure(lambda v: np.asarray(v)[:0], one)
        return network.predict(
            [a, one_hot], batch_size=batch_size or DEFAULT_BATCH_SIZE, verbose=0
        )

    def encode(self, x, labels=None, batch_size=None, return_distribution=False):
        """Posterior means of ``x`` given ``labels`` (NumPy).

        Args:
            x: array ``(N,) + input_shape``.
            labels: integers ``(N,)`` in ``[0, num_classes)``.
            batch_size: batch size of the internal loop.
            return_distribution: return ``(mean, log_var)``.
        """
        x = self._check_x(x, "x", allow_empty=True)
        labels = self._labels_for(labels, len(x))
        mean, log_var = self._predict_pair(self.encoder, x, labels, batch_size)
        mean = np.asarray(mean, "float32")
        if not return_distribution:
            return mean
        return mean, np.clip(np.asarray(log_var, "float32"), LOG_VAR_MIN, LOG_VAR_MAX)

    def decode(self, z, labels=None, batch_size=None):
        """Mean of p(x|z, y) for codes ``z`` and ``labels`` (NumPy)."""
        z = data_checks.check_array(
            data_checks.as_array(z, "z"), "z", (self.latent_dim,), allow_empty=True
        ).astype("float32")
        labels = self._labels_for(labels, len(z))
        out = np.asarray(self._predict_pair(self.decoder, z, labels, batch_size), "float32")
        return _sigmoid(out) if self.likelihood == "bernoulli" else out

    def reconstruct(self, x, labels=None, batch_size=None):
        """Reconstructions of ``x`` given ``labels`` (NumPy, no sampling)."""
        return self.decode(self.encode(x, labels, batch_size), labels, batch_size)

    def sample(self, n, labels=None, seed=None, batch_size=None):
        """Decodes ``n`` prior draws z ~ N(0, I) with the given labels.

        Args:
            n: number of samples.
            labels: one integer for every sample, or ``n`` integers (a
                range or an array) in ``[0, num_classes)``.
            seed: optional integer; the same seed gives the same samples.
            batch_size: batch size of the decoding loop.

        Returns:
            NumPy array ``(n,) + input_shape``.
        """
        n = validation.integer(n, "n", low=0)
        labels = self._labels_for(labels, n)
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        seed = validation.integer(seed, "seed")
        z = ops.convert_to_numpy(
            self.codes_from_noise(self.draw_prior_noise(n, rng.seed_tensor(seed)))
        )
        return self.decode(z, labels, batch_size)

    # ------------------------------------------------ unconditional helpers
    def _needs_labels(self, name):
        raise ValueError(
            f"`{type(self).__name__}.{name}` is not available: the VAE's version "
            "takes no labels. Use encode/decode/reconstruct/sample with labels. "
            f"Received: a call to {name}"
        )

    def log_likelihood(self, *args, **kwargs):
        """Not available (the VAE's estimate takes no labels): raises ValueError."""
        self._needs_labels("log_likelihood")

    def elbo(self, *args, **kwargs):
        """Not available (the VAE's estimate takes no labels): raises ValueError."""
        self._needs_labels("elbo")

    def kl_per_dimension(self, *args, **kwargs):
        """Not available (takes no labels): raises ValueError."""
        self._needs_labels("kl_per_dimension")

    def active_units(self, *args, **kwargs):
        """Not available (takes no labels): raises ValueError."""
        self._needs_labels("active_units")

    def score(self, *args, **kwargs):
        """Not available (anomaly scores take no labels): raises ValueError."""
        self._needs_labels("score")

    def evaluation_metrics(self, *args, **kwargs):
        """Not available (`keras_ae.evaluation.evaluate` takes no labels)."""
        self._needs_labels("evaluation_metrics")

    # ---------------------------------------------------------------- export
    def export_endpoints(self):
        """Every VAE endpoint with an extra ``labels`` input (int32 ``(batch,)``)."""
        x = ((None,) + tuple(self.input_shape_), "float32")
        z = ((None, self.latent_dim), "float32")
        y = ((None,), "int32")
        d = f"(batch, {self.latent_dim})"
        data = f"(batch,) + {tuple(self.input_shape_)} in data space"

        def f32(outputs):
            return {k: ops.cast(v, "float32") for k, v in outputs.items()}

        def encode_distribution(x, labels):
            z_mean, z_log_var = self.posterior(x, labels)
            return f32({"z_mean": z_mean, "z_log_var": z_log_var})

        def sample_from_noise(noise, labels):
            codes = self.codes_from_noise({"noise": noise})
            return f32({"samples": self.decoder_mean(codes, labels)})

        return {
            "encode": Endpoint(
                lambda x, labels: f32({"codes": self.code(x, labels)}),
                {"x": x, "labels": y}, {"codes": f"{d} posterior means"},
                "posterior means of x given its labels",
            ),
            "encode_distribution": Endpoint(
                encode_distribution, {"x": x, "labels": y},
                {"z_mean": f"{d} posterior mean", "z_log_var": f"{d} posterior log-variance"},
                "the Gaussian posterior q(z|x, y)",
            ),
            "decode": Endpoint(
                lambda z, labels: f32({"reconstruction": self.decoder_mean(z, labels)}),
                {"z": z, "labels": y}, {"reconstruction": data}, "decoded codes z given labels",
            ),
            "reconstruct": Endpoint(
                lambda x, labels: f32({"reconstruction": self((x, labels), training=False)}),
                {"x": x, "labels": y}, {"reconstruction": data},
                "decode(encode(x, labels), labels), without sampling",
            ),
            "sample_from_noise": Endpoint(
                sample_from_noise, {"noise": z, "labels": y}, {"samples": data},
                f"decoded prior samples of the given labels from N(0, 1) noise {d}",
            ),
        }

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config
