"""The vector-quantised variational autoencoder (van den Oord et al. 2017)."""

import keras
import numpy as np
from keras import ops

from keras_ae import data_checks
from keras_ae import losses
from keras_ae import networks
from keras_ae import rng
from keras_ae import validation
from keras_ae.backend import phases
from keras_ae.layers.vector_quantizer import VectorQuantizer
from keras_ae.models.base import BaseAutoencoder
from keras_ae.models.endpoint import Endpoint

ENCODE_OUTPUTS = ("indices", "quantized", "latents")


def _initializer(seed, index):
    if seed is None:
        return "glorot_uniform"
    return keras.initializers.GlorotUniform(seed=seed + 7919 * index)


@keras.saving.register_keras_serializable(package="keras_ae")
class VQVAE(BaseAutoencoder):
    """VQ-VAE: a conv autoencoder with a discrete grid of codes.

    The encoder maps an ``(H, W, C)`` image to a grid ``(h, w, embedding_dim)``
    (one stride-2 3x3 convolution per entry of ``hidden_units``, then a
    linear 1x1 convolution), a `keras_ae.layers.VectorQuantizer` replaces
    every grid vector by its nearest codebook entry, and the decoder (a 3x3
    convolution, one stride-2 transposed convolution per hidden layer, a 3x3
    output convolution) reconstructs the image. The loss is
    ``reconstruction_loss + commitment_cost * ||z_e - sg(e)||^2`` (plus the
    codebook loss ``||sg(z_e) - e||^2`` when ``ema=False``), each summed over
    features (pixels, grid vectors) and averaged over the batch. Metrics:
    ``loss``, ``reconstruction_loss``, ``commitment_loss`` (unweighted),
    ``perplexity`` and ``codebook_usage`` (fraction of the codebook used by
    a batch; `codebook_usage` measures it over a data set) and ``mse``.

    Prior: the paper fits a PixelCNN over the code grid after training. Here
    `fit_prior` fits an independent categorical distribution per grid
    position (code frequencies of the training set, stored as the
    non-trainable weight ``prior_counts`` and saved with the model);
    `fit(x)` calls it at the end of training on arrays. `sample` draws a
    grid from it and decodes it. It reproduces position-wise code statistics,
    not the dependence between positions, so samples are blurrier than a
    PixelCNN's.

    Args:
        input_shape: ``(H, W, C)`` of one image.
        num_embeddings: codebook size K.
        embedding_dim: size D of a code vector (``latent_dim`` of the base).
        hidden_units: filters of the stride-2 convolutions (default ``(32, 64)``:
            a 7x7 grid for 28x28 images).
        activation: activation of the hidden layers.
        output_activation: activation of the decoder's last layer.
        reconstruction_loss: ``"mse"`` (default, the paper's Gaussian
            likelihood up to constants) or ``"bce"``.
        commitment_cost: beta of the commitment loss (0.25 in the paper).
        ema: codebook by exponential moving averages (True) or by gradient.
        decay: EMA decay.
        restart_dead_codes: restart codes whose usage count falls below
            ``restart_threshold`` from random encoder outputs.
        restart_threshold: usage count threshold of a dead code.
        architecture: ``"conv"`` (the only one).
        tied_weights: must be False (conv networks).
        seed: optional integer seed.
        **kwargs: base `keras.Model` arguments.

    Example:
    ```python
    vq = keras_ae.VQVAE((28, 28, 1), num_embeddings=512, embedding_dim=16, seed=0)
    vq.compile()
    vq.fit(x, epochs=5, batch_size=128)     # also fits the prior
    idx = vq.encode(x_test)                 # (N, 7, 7) int32 codes
    x_hat = vq.decode(idx)                  # (N, 28, 28, 1)
    usage, perplexity = vq.codebook_usage(x_test)
    images = vq.sample(16, seed=0)
    ```
    """

    generative = True

    def __init__(
        self,
        input_shape,
        num_embeddings=512,
        embedding_dim=16,
        hidden_units=None,
        activation="relu",
        output_activation="sigmoid",
        reconstruction_loss="mse",
        commitment_cost=0.25,
        ema=True,
        decay=0.99,
        restart_dead_codes=True,
        restart_threshold=1.0,
        architecture="conv",
        tied_weights=False,
        seed=None,
        **kwargs,
    ):
        if architecture != "conv":
            raise ValueError(
                "`architecture` must be 'conv': VQVAE quantizes a grid of "
                f"conv features. Received: architecture={architecture!r}"
            )
        for key in ("latent_dim", "encoder", "decoder"):
            if key in kwargs:
                raise ValueError(
                    f"VQVAE builds its own conv networks and does not take `{key}`; "
                    f"use `embedding_dim`/`hidden_units`. Received: {key}={kwargs[key]!r}"
                )
        self._init_keras_model(kwargs)
        seed = validation.integer(seed, "seed", allow_none=True)
        self.quantizer = VectorQuantizer(
            num_embeddings=num_embeddings,
            embedding_dim=embedding_dim,
            commitment_cost=commitment_cost,
            ema=ema,
            decay=decay,
            restart_dead_codes=restart_dead_codes,
            restart_threshold=restart_threshold,
            seed=seed,
            name="quantizer",
        )
        self.num_embeddings = self.quantizer.num_embeddings
        self.embedding_dim = self.quantizer.embedding_dim
        self.commitment_cost = self.quantizer.commitment_cost
        self.ema = self.quantizer.ema
        self.decay = self.quantizer.decay
        self.restart_dead_codes = self.quantizer.restart_dead_codes
        self.restart_threshold = self.quantizer.restart_threshold
        shape = validation.integer_tuple(input_shape, "input_shape", allow_empty=False)
        if len(shape) != 3:
            raise ValueError(
                "`input_shape` must be (H, W, C): VQVAE is convolutional. "
                f"Received: input_shape={input_shape!r}"
            )
        super().__init__(
            input_shape=shape,
            latent_dim=self.embedding_dim,
            hidden_units=hidden_units,
            activation=activation,
            output_activation=output_activation,
            reconstruction_loss=reconstruction_loss,
            architecture=architecture,
            tied_weights=tied_weights,
            seed=seed,
            **kwargs,
        )

    # ------------------------------------------------------------------ build
    @property
    def code_shape(self):
        """Shape of one example's code from `encode`: ``(h, w)`` indices."""
        return self.grid_shape

    @property
    def grid_shape(self):
        """``(h, w)`` of the code grid."""
        units = self.hidden_units or networks.DEFAULT_HIDDEN_UNITS["conv"]
        return networks.conv_downsampled_shape(self.input_shape_, len(units))

    def build_encoder(self, hidden_units):
        inputs = keras.Input(shape=self.input_shape_, name="inputs")
        h = inputs
        for i, filters in enumerate(hidden_units):
            h = keras.layers.Conv2D(
                filters, 3, strides=2, padding="same", activation=self.activation,
                kernel_initializer=_initializer(self.seed, i), name=f"conv_{i}",
            )(h)
        h = keras.layers.Conv2D(
            self.embedding_dim, 1, kernel_initializer=_initializer(self.seed, 50),
            name="pre_quantization",
        )(h)
        return keras.Model(inputs, h, name="encoder")

    def build_decoder(self, hidden_units):
        height, width, channels = self.input_shape_
        gh, gw = networks.conv_downsampled_shape(self.input_shape_, len(hidden_units))
        inputs = keras.Input(shape=(gh, gw, self.embedding_dim), name="codes")
        h = keras.layers.Conv2D(
            hidden_units[-1], 3, padding="same", activation=self.activation,
            kernel_initializer=_initializer(self.seed, 100), name="post_quantization",
        )(inputs)
        for i, filters in enumerate(reversed(hidden_units)):
            h = keras.layers.Conv2DTranspose(
                filters, 3, strides=2, padding="same", activation=self.activation,
                kernel_initializer=_initializer(self.seed, 101 + i), name=f"deconv_{i}",
            )(h)
        up_h, up_w = gh * 2 ** len(hidden_units), gw * 2 ** len(hidden_units)
        crop_h, crop_w = up_h - height, up_w - width
        if crop_h or crop_w:
            h = keras.layers.Cropping2D(
                ((crop_h // 2, crop_h - crop_h // 2), (crop_w // 2, crop_w - crop_w // 2)),
                name="crop",
            )(h)
        h = keras.layers.Conv2D(
            channels, 3, padding="same", activation=self.output_activation,
            kernel_initializer=_initializer(self.seed, 200), dtype="float32", name="output",
        )(h)
        return keras.Model(inputs, h, name="decoder")

    def _build_model(self):
        gh, gw = self.grid_shape
        self.quantizer.build((None, gh, gw, self.embedding_dim))
        self.prior_counts = self.add_weight(
            shape=(gh, gw, self.num_embeddings), initializer="zeros",
            trainable=False, dtype="float32", name="prior_counts",
        )
        super()._build_model()

    # ------------------------------------------------------------------ call
    def decoder_outputs(self, inputs, training=None):
        z_e = self.encoder(inputs, training=training)
        return self.decoder(self.quantizer(z_e, training=False), training=training)

    # ------------------------------------------------------------ loss terms
    def loss_term_names(self):
        return (
            "loss", "reconstruction_loss", "commitment_loss",
            "perplexity", "codebook_usage", "mse",
        )

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """Reconstruction + VQ losses of one batch; in training the quantizer
        updates its codebook statistics (EMA, usage, restarts)."""
        z_e = self.encoder(x, training=training)
        vq = self.quantizer.compute_quantization(z_e, training=training)
        y_pred = self.decoder(vq["quantized"], training=training)
        rec, mse = self.reconstruction_terms(y, y_pred, sample_weight)
        vq_loss = losses.reduce_mean(vq["vq_loss"], sample_weight)
        total = rec + vq_loss + self.regularization_loss()
        terms = {
            "loss": total,
            "reconstruction_loss": rec,
            "commitment_loss": losses.reduce_mean(vq["commitment_loss"], sample_weight),
            "perplexity": vq["perplexity"],
            "codebook_usage": vq["usage"],
            "mse": mse,
        }
        return terms, y_pred

    def training_phases(self):
        """The base phase; with ``ema=False`` and restarts, a second step that
        restarts dead codes of the (trainable) codebook after the update."""
        base_phases = super().training_phases()
        if self.ema or not self.restart_dead_codes:
            return base_phases

        def restart(x, y, sample_weight):
            self.quantizer.apply_restarts()
            return {}, None

        return base_phases + (phases.Phase(restart, ()),)

    # ------------------------------------------------------------ inference
    def encode(self, x, batch_size=None, output="indices"):
        """Codes of ``x`` (NumPy).

        Args:
            x: images ``(N, H, W, C)``.
            batch_size: batch size of the internal loop.
            output: ``"indices"`` (int32 ``(N, h, w)``, default),
                ``"quantized"`` (the code vectors, float32
                ``(N, h, w, embedding_dim)``) or ``"latents"`` (the encoder's
                outputs before quantization).
        """
        validation.one_of(output, "output", ENCODE_OUTPUTS)
        latents = np.asarray(super().encode(x, batch_size=batch_size), "float32")
        if output == "latents":
            return latents
        indices = self._indices_of(latents, batch_size)
        if output == "indices":
            return indices
        return ops.convert_to_numpy(self.quantizer.lookup(indices)).astype("float32")

    def _indices_of(self, latents, batch_size=None):
        step = batch_size or 1024
        out = [
            ops.convert_to_numpy(self.quantizer.codes(latents[i : i + step]))
            for i in range(0, len(latents), step)
        ]
        if not out:
            return np.zeros(latents.shape[:-1], "int32")
        return np.concatenate(out).astype("int32")

    def _check_codes(self, codes):
        gh, gw = self.grid_shape
        arr = data_checks.as_array(codes, "codes")
        arr = arr if isinstance(arr, np.ndarray) else ops.convert_to_numpy(arr)
        if arr.ndim == 3 and arr.dtype.kind in "iu":
            if arr.shape[1:] != (gh, gw):
                raise ValueError(
                    f"`codes` of indices must have shape (N, {gh}, {gw}). "
                    f"Received: codes.shape={arr.shape}"
                )
            if arr.size and (arr.min() < 0 or arr.max() >= self.num_embeddings):
                raise ValueError(
                    f"`codes` indices must be in [0, {self.num_embeddings}). "
                    f"Received: values in [{arr.min()}, {arr.max()}]"
                )
            return ops.convert_to_numpy(self.quantizer.lookup(arr)).astype("float32")
        return data_checks.check_array(
            arr, "codes", (gh, gw, self.embedding_dim), allow_empty=True
        ).astype("float32")

    def decode(self, codes, batch_size=None):
        """Images of codes: integer indices ``(N, h, w)`` or code vectors
        ``(N, h, w, embedding_dim)`` (e.g. ``encode(x, output="quantized")``)."""
        return self._predict_with(self.decoder, self._check_codes(codes), batch_size)

    def codebook_usage(self, x, batch_size=None):
        """Fraction of the codebook used by ``x`` and the perplexity of its codes.

        Returns:
            ``(fraction, perplexity)``: the share of the ``num_embeddings``
            codes assigned to at least one grid vector of ``x``, and
            ``exp(entropy)`` of the code frequencies (``num_embeddings`` at most).
        """
        counts = np.bincount(
            self.encode(x, batch_size=batch_size).ravel(), minlength=self.num_embeddings
        )
        if not counts.sum():
            raise ValueError("`codebook_usage` needs at least one example. Received: 0")
        p = counts / counts.sum()
        nz = p[p > 0]
        return float(np.mean(counts > 0)), float(np.exp(-np.sum(nz * np.log(nz))))

    def evaluation_metrics(self, x, logs, **options):
        """Adds ``codebook_usage`` and ``perplexity`` of the codes of ``x``."""
        metrics = super().evaluation_metrics(x, logs, **options)
        used, perplexity = self.codebook_usage(x, batch_size=options.get("batch_size"))
        metrics.update(codebook_usage=used, perplexity=perplexity)
        return metrics

    # ----------------------------------------------------------------- prior
    def fit_prior(self, x, batch_size=None):
        """Fits the per-position categorical prior to the codes of ``x``.

        Stores the code counts of every grid position in ``prior_counts``.
        """
        idx = self.encode(x, batch_size=batch_size)
        if not len(idx):
            raise ValueError("`fit_prior` needs at least one example. Received: 0")
        gh, gw = self.grid_shape
        counts = np.zeros((gh, gw, self.num_embeddings), "float32")
        for i in range(gh):
            for j in range(gw):
                counts[i, j] = np.bincount(idx[:, i, j], minlength=self.num_embeddings)
        self.prior_counts.assign(counts)
        return self

    def prior_probabilities(self):
        """``(h, w, num_embeddings)`` code probabilities of the fitted prior."""
        counts = np.asarray(ops.convert_to_numpy(self.prior_counts), "float64")
        total = counts.sum(axis=-1, keepdims=True)
        if not np.all(total > 0):
            raise ValueError(
                "The prior is not fitted: call `fit(x)` on an array or "
                "`fit_prior(x)` before `sample`. Received: prior_counts all zero"
            )
        return counts / total

    def prior_noise_spec(self):
        """The noise the prior transforms: ``{"noise": uniform [0, 1) (h, w)}``."""
        return {"noise": {"distribution": "uniform", "shape": tuple(self.grid_shape)}}

    def draw_prior_noise(self, n, seed):
        """``{"noise": (n, h, w)}`` uniform draws from the seed tensor ``seed``."""
        return {"noise": rng.uniform((n,) + tuple(self.grid_shape), seed)}

    def codes_from_noise(self, noise):
        """Prior code grids from uniform noise, as an int32 tensor ``(n, h, w)``.

        Inverse-CDF sampling of the per-position categorical prior: the
        index at ``(i, j)`` is the number of cumulative probabilities at or
        below ``noise[:, i, j]`` (noise uniform in ``[0, 1)``).

        Args:
            noise: ``{"noise": (n, h, w)}`` (`prior_noise_spec`) or the
                tensor itself.
        """
        if isinstance(noise, dict):
            noise = noise["noise"]
        counts = ops.convert_to_tensor(self.prior_counts)
        cdf = ops.cumsum(counts / ops.sum(counts, axis=-1, keepdims=True), axis=-1)
        u = ops.cast(noise, "float32")[..., None]
        below = ops.sum(ops.cast(u >= cdf[None], "int32"), axis=-1)
        return ops.minimum(below, self.num_embeddings - 1)

    def sample(self, n, seed=None, batch_size=None, return_codes=False):
        """Decodes ``n`` code grids drawn from the fitted prior.

        Args:
            n: number of samples.
            seed: optional integer; the same seed gives the same samples.
            batch_size: batch size of the decoding loop.
            return_codes: also return the ``(n, h, w)`` indices.
        """
        n = validation.integer(n, "n", low=0)
        self.prior_probabilities()  # raises if the prior is not fitted
        noise = np.random.default_rng(seed).random((n,) + self.grid_shape).astype("float32")
        idx = ops.convert_to_numpy(self.codes_from_noise(noise)).astype("int32")
        images = self.decode(idx, batch_size=batch_size)
        return (images, idx) if return_codes else images

    # ---------------------------------------------------------------- export
    def export_endpoints(self):
        """Endpoints on code grids: ``encode`` (int32 indices), ``encode_quantized``,
        ``decode`` (from indices), ``decode_quantized``, ``reconstruct`` and
        ``sample_from_noise`` (uniform noise per grid position)."""
        gh, gw = self.grid_shape
        x = ((None,) + tuple(self.input_shape_), "float32")
        grid = f"(batch, {gh}, {gw})"
        quantized = ((None, gh, gw, self.embedding_dim), "float32")
        data = f"(batch,) + {tuple(self.input_shape_)} in data space"

        def decode_indices(indices):
            codes = self.quantizer.lookup(indices)
            return {"reconstruction": ops.cast(self.decoder(codes), "float32")}

        def encode_quantized(x):
            codes = self.quantizer.lookup(self.quantizer.codes(self.encoder(x)))
            return {"codes": ops.cast(codes, "float32")}

        return {
            "encode": Endpoint(
                lambda x: {"indices": self.quantizer.codes(self.encoder(x))},
                {"x": x}, {"indices": f"{grid} int32 code indices"},
                "codebook indices of x",
            ),
            "encode_quantized": Endpoint(
                encode_quantized, {"x": x},
                {"codes": f"{grid[:-1]}, {self.embedding_dim}) code vectors"},
                "the code vectors of x",
            ),
            "decode": Endpoint(
                decode_indices, {"indices": ((None, gh, gw), "int32")},
                {"reconstruction": data}, "decoded grids of code indices",
            ),
            "decode_quantized": Endpoint(
                lambda codes: {"reconstruction": ops.cast(self.decoder(codes), "float32")},
                {"codes": quantized}, {"reconstruction": data}, "decoded grids of code vectors",
            ),
            "reconstruct": Endpoint(
                lambda x: {"reconstruction": ops.cast(self(x, training=False), "float32")},
                {"x": x}, {"reconstruction": data}, "decode(encode(x))",
            ),
            "sample_from_noise": Endpoint(
                lambda noise: {
                    "samples": decode_indices(self.codes_from_noise(noise))["reconstruction"]
                },
                {"noise": ((None, gh, gw), "float32")}, {"samples": data},
                f"decoded draws of the fitted categorical prior from uniform [0, 1) noise {grid}",
            ),
        }

    def fit(self, x=None, y=None, **kwargs):
        """Trains the model, then fits the prior on ``x`` if it is an array."""
        history = super().fit(x, y, **kwargs)
        if isinstance(x, np.ndarray) and y is None:
            self.fit_prior(x)
        return history

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        for key in ("latent_dim", "encoder", "decoder"):
            config.pop(key, None)
        config.update(
            {
                "num_embeddings": self.num_embeddings,
                "embedding_dim": self.embedding_dim,
                "commitment_cost": self.commitment_cost,
                "ema": self.ema,
                "decay": self.decay,
                "restart_dead_codes": self.restart_dead_codes,
                "restart_threshold": self.restart_threshold,
            }
        )
        return config

    @classmethod
    def nested_config_keys(cls):
        return ()
