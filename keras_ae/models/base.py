"""Shared base of every keras_ae model: networks, validation, training step."""

import keras
import numpy as np
from keras import ops

from keras_ae import backend
from keras_ae import data_checks
from keras_ae import losses
from keras_ae import networks
from keras_ae import validation
from keras_ae.backend import phases
from keras_ae.models import endpoint

DEFAULT_BATCH_SIZE = 256
#: `keras.Model` constructor arguments accepted through ``**kwargs``.
_MODEL_KWARGS = ("name", "dtype", "trainable", "autocast")


def _check_activation(value, name):
    if value is None:
        return None
    try:
        keras.activations.get(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"Unknown `{name}`: it must be a Keras activation name or callable "
            f"(e.g. 'relu', 'sigmoid') or None. Received: {name}={value!r}"
        ) from None
    return value


def _is_array_like(x):
    if isinstance(x, (np.ndarray, list)):
        return True
    return keras.ops.is_tensor(x) and not data_checks.is_dataset(x)


class BaseAutoencoder(backend.TrainerMixin, keras.Model):
    """Base class of the keras_ae models (not used directly).

    Builds the encoder and decoder from the common constructor arguments
    (or takes user-supplied ones), builds the whole model at construction
    (docs/design.md, trap 1), validates data before training, and runs
    one training step for every subclass:

    * ``fit(x)`` reconstructs ``x``; ``fit(x, y)`` maps ``x`` to ``y``;
    * every loss term is a batch mean in float32, divided by the number of
      `tf.distribute` replicas before differentiation (`keras_ae.backend`)
      and scaled by the optimizer for mixed precision; trackers receive the
      unscaled values.

    The step is the same on TensorFlow, JAX and torch: `training_phases`
    lists what to differentiate and which optimizer applies it, and the
    backend module (`keras_ae.backend`) differentiates. Subclasses override
    `compute_loss_terms` (the loss terms of one batch) and, if they add
    metrics, `loss_term_names`; models with several optimizers override
    `training_phases` and `extra_optimizers`.

    Args:
        input_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)``.
        latent_dim: size of the code.
        hidden_units: units (dense) or filters (conv) of the encoder's hidden
            layers, mirrored by the decoder. ``None`` picks
            ``(512, 256)`` for dense and ``(32, 64)`` for conv.
        activation: activation of the hidden layers and of the code layer of
            the built-in dense networks (``None``: linear).
        output_activation: activation of the decoder's last layer
            (``"sigmoid"`` by default; ``None``: linear).
        reconstruction_loss: ``"bce"`` (binary cross-entropy, data in [0, 1])
            or ``"mse"`` (squared error); summed over features and averaged
            over the batch.
        architecture: ``"dense"`` or ``"conv"`` (``(H, W, C)`` inputs).
        encoder: optional `keras.Model` replacing the built-in encoder; it
            maps inputs to codes of size ``latent_dim``.
        decoder: optional `keras.Model` replacing the built-in decoder.
        tied_weights: dense only; decoder kernels are the transposes of the
            encoder kernels.
        seed: optional integer seed for initializers and random layers.
        **kwargs: base `keras.Model` arguments (e.g. ``name``).
    """

    #: activation of the code layer: "same" follows `activation`; None: linear.
    code_activation = "same"
    #: names of the encoder's outputs.
    encoder_heads = ("code",)
    #: whether the model draws new examples: ``sample(n, seed=None)`` and the
    #: prior-noise methods (`prior_noise_spec`, `draw_prior_noise`,
    #: `codes_from_noise`).
    generative = False
    #: whether `fit`/`evaluate` take a `tf.data.Dataset` (models that take
    #: labels accept arrays only).
    accepts_datasets = True

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
        **kwargs,
    ):
        self._init_keras_model(kwargs)
        unknown = sorted(set(kwargs) - set(_MODEL_KWARGS))
        if unknown:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                f"{unknown}"
            )
        # ---- arguments ----------------------------------------------------
        input_shape = validation.integer_tuple(input_shape, "input_shape", allow_empty=False)
        latent_dim = validation.integer(latent_dim, "latent_dim", low=1)
        validation.one_of(architecture, "architecture", networks.ARCHITECTURES)
        if hidden_units is not None:
            hidden_units = validation.integer_tuple(hidden_units, "hidden_units")
        if reconstruction_loss not in losses.RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"`reconstruction_loss` must be one of {losses.RECONSTRUCTION_LOSSES}. "
                f"Received: reconstruction_loss={reconstruction_loss!r}"
            )
        _check_activation(activation, "activation")
        _check_activation(output_activation, "output_activation")
        if reconstruction_loss == "bce" and output_activation not in ("sigmoid", None):
            raise ValueError(
                "`reconstruction_loss='bce'` needs outputs in (0, 1): use "
                "`output_activation='sigmoid'` (or None for logits). "
                f"Received: output_activation={output_activation!r}"
            )
        if architecture == "conv" and len(input_shape) != 3 and encoder is None:
            raise ValueError(
                "`architecture='conv'` needs image inputs of shape (H, W, C). "
                f"Received: input_shape={input_shape!r}"
            )
        if tied_weights and architecture != "dense":
            raise ValueError(
                "`tied_weights=True` is only available with "
                f"`architecture='dense'`. Received: architecture={architecture!r}"
            )
        if tied_weights and (encoder is not None or decoder is not None):
            raise ValueError(
                "`tied_weights=True` ties the built-in networks; it cannot be "
                "combined with user-supplied `encoder`/`decoder`. "
                f"Received: encoder={encoder!r}, decoder={decoder!r}"
            )
        seed = validation.integer(seed, "seed", allow_none=True)

        self.input_shape_ = input_shape
        self.latent_dim = int(latent_dim)
        self.hidden_units = hidden_units
        self.activation = activation
        self.output_activation = output_activation
        self.reconstruction_loss = reconstruction_loss
        self.architecture = architecture
        self.tied_weights = bool(tied_weights)
        self.seed = None if seed is None else int(seed)
        self._custom_encoder = encoder is not None
        self._custom_decoder = decoder is not None

        # ---- networks -----------------------------------------------------
        units = (
            hidden_units
            if hidden_units is not None
            else networks.DEFAULT_HIDDEN_UNITS[architecture]
        )
        self.encoder = encoder if encoder is not None else self.build_encoder(units)
        self.decoder = decoder if decoder is not None else self.build_decoder(units)
        self._check_networks()

        # ---- metrics ------------------------------------------------------
        self._trackers = {
            name: keras.metrics.Mean(name=name) for name in self.loss_term_names()
        }
        self._build_model()

    # ------------------------------------------------------------------ build
    def _init_keras_model(self, kwargs):
        """Initialises `keras.Model` once.

        Subclasses that attach layers before calling this constructor (a
        noise layer, a prior) call it first: on torch a layer is a
        `torch.nn.Module`, which cannot be attached to an uninitialised one.
        """
        if self.__dict__.get("_keras_model_initialised", False):
            return
        # Arguments of a class further down the MRO (e.g. `sparsity` of
        # SparseDenoisingAutoencoder) are still in ``kwargs`` here; this
        # constructor rejects whatever is left when it runs.
        model_kwargs = {k: v for k, v in kwargs.items() if k in _MODEL_KWARGS}
        super(BaseAutoencoder, self).__init__(**model_kwargs)
        self._keras_model_initialised = True

    @property
    def input_shape(self):
        """Shape of one example (without the batch dimension)."""
        return self.input_shape_

    @property
    def code_shape(self):
        """Shape of one example's code from `encode`: ``(latent_dim,)``."""
        return (self.latent_dim,)

    def build_encoder(self, hidden_units):
        """Builds the built-in encoder (subclasses may override)."""
        return networks.build_encoder(
            self.input_shape_,
            self.latent_dim,
            hidden_units,
            activation=self.activation,
            code_activation=self.code_activation,
            architecture=self.architecture,
            heads=self.encoder_heads,
            seed=self.seed,
        )

    def build_decoder(self, hidden_units):
        """Builds the built-in decoder (subclasses may override)."""
        return networks.build_decoder(
            self.input_shape_,
            self.latent_dim,
            hidden_units,
            activation=self.activation,
            output_activation=self.decoder_output_activation(),
            architecture=self.architecture,
            tied_encoder=self.encoder if self.tied_weights else None,
            seed=self.seed,
        )

    def decoder_output_activation(self):
        return self.output_activation

    def _check_networks(self):
        for name, net in (("encoder", self.encoder), ("decoder", self.decoder)):
            if not isinstance(net, keras.layers.Layer):
                raise ValueError(
                    f"`{name}` must be a keras.Model or keras.layers.Layer. "
                    f"Received: {name}={net!r}"
                )

    def _build_model(self):
        """Calls the model once so that every variable exists (trap 1)."""
        dummy = ops.zeros((1,) + self.input_shape_, dtype="float32")
        self(dummy, training=False)
        self.built = True

    # ------------------------------------------------------------------ call
    def decoder_outputs(self, inputs, training=None):
        """The decoder's raw outputs for ``inputs`` (logits when
        `reconstruction_from_logits()`), what the training loss uses."""
        codes = self.encoder(inputs, training=training)
        return self.decoder(codes, training=training)

    def to_data_space(self, outputs):
        """Maps decoder outputs to data space (probabilities for logits).

        Every public output (`predict`, `reconstruct`, `decode`, exports,
        evaluation, figures) goes through this method.
        """
        if self.reconstruction_from_logits():
            return ops.sigmoid(ops.cast(outputs, "float32"))
        return outputs

    def call(self, inputs, training=None):
        """Reconstructs ``inputs`` in data space (deterministic at inference)."""
        return self.to_data_space(self.decoder_outputs(inputs, training=training))

    # ------------------------------------------------------ tensor inference
    def code(self, x, training=False):
        """Codes of ``x`` as a tensor (also on a symbolic `keras.Input`).

        The encoder's first output (the head named ``encoder_heads[0]`` of a
        dict output); a VAE gives its posterior mean.

        Args:
            x: tensor of shape ``(batch,) + input_shape``.
            training: passed to the encoder.

        Returns:
            A tensor ``(batch, latent_dim)``.
        """
        outputs = self.encoder(x, training=training)
        if isinstance(outputs, dict):
            return outputs[self.encoder_heads[0]]
        if isinstance(outputs, (list, tuple)):
            return outputs[0]
        return outputs

    def decoder_mean(self, z, training=False):
        """Decoded codes ``z`` in data space, as a tensor (see `to_data_space`)."""
        return self.to_data_space(self.decoder(z, training=training))

    def export_endpoints(self):
        """The endpoints every export format serves (`keras_ae.export`).

        Returns:
            A dict ``name -> keras_ae.models.endpoint.Endpoint`` in export
            order: ``encode`` (the default), ``decode``, ``reconstruct``
            and, for generative models, ``sample_from_noise`` and the
            random ``sample_seeded``. Subclasses add theirs (the VAE:
            ``encode_distribution``).
        """
        return endpoint.default_endpoints(self)

    def export(self, filepath, format="tf_saved_model", verbose=None, **kwargs):
        """Exports the model's endpoints for serving (Keras's ``model.export``).

        ``format`` is ``"tf_saved_model"`` (a SavedModel directory),
        ``"onnx"`` (a directory of one ``.onnx`` file per endpoint) or
        ``"litert"`` (a directory holding ``model.tflite`` with one
        signature per endpoint); ONNX and LiteRT directories also hold the
        model card. See `keras_ae.export.export_model`.

        Args:
            filepath: the directory to write.
            format: ``"tf_saved_model"``, ``"onnx"`` or ``"litert"``.
            verbose: unused (kept for Keras's signature).
            **kwargs: ``overwrite=True`` replaces an earlier export.

        Example:
        ```python
        vae.export("exports/vae_onnx", format="onnx")
        ```
        """
        from keras_ae.export import export_model

        return export_model(self, filepath, format=format, **kwargs)

    # ------------------------------------------------------------ inference
    def _predict_with(self, network, x, batch_size=None):
        batch_size = batch_size or DEFAULT_BATCH_SIZE
        if len(x) == 0:
            # Keras cannot predict on no examples: the structure and shapes
            # of one example's output, with zero rows.
            one = network.predict(np.zeros((1,) + tuple(x.shape[1:]), "float32"), verbose=0)
            return keras.tree.map_structure(lambda a: np.asarray(a)[:0], one)
        return network.predict(x, batch_size=batch_size, verbose=0)

    def encode(self, x, batch_size=None):
        """Codes of ``x`` (NumPy), batched like `predict`.

        Args:
            x: array or tensor of shape ``(N,) + input_shape``.
            batch_size: batch size of the internal loop (default 256).

        Returns:
            NumPy array of shape ``(N, latent_dim)``.
        """
        x = self._check_x(x, "x", allow_empty=True)
        return self._predict_with(self.encoder, x, batch_size)

    def decode(self, z, batch_size=None):
        """Decoded outputs of codes ``z`` (NumPy), batched like `predict`."""
        z = data_checks.check_array(
            data_checks.as_array(z, "z"), "z", (self.latent_dim,), allow_empty=True
        ).astype("float32")
        out = self._predict_with(self.decoder, z, batch_size)
        if self.reconstruction_from_logits():
            out = ops.convert_to_numpy(self.to_data_space(out))
        return out

    def reconstruct(self, x, batch_size=None):
        """Reconstructions of ``x`` (NumPy, no noise), batched like `predict`."""
        x = self._check_x(x, "x", allow_empty=True)
        if len(x) == 0:
            return self._predict_with(self, x)
        return self.predict(x, batch_size=batch_size or DEFAULT_BATCH_SIZE, verbose=0)

    def evaluation_metrics(self, x, logs, *, batch_size, num_samples, seed, log_likelihood):
        """Metrics of this kind of model that `keras_ae.evaluation.evaluate` adds.

        Subclasses extend the dict of their parent (``super()``); the base
        model adds none.

        Args:
            x: the (checked) test data.
            logs: ``model.evaluate(x, return_dict=True)`` on it.
            batch_size: batch size of any extra inference.
            num_samples: Monte-Carlo samples per example where one is needed.
            seed: seed of every random estimate (same seed, same values).
            log_likelihood: whether to compute slow likelihood estimates.

        Returns:
            A dict of Python floats.
        """
        del x, logs, batch_size, num_samples, seed, log_likelihood
        return {}

    def score(self, x, kind="reconstruction", **kwargs):
        """Anomaly scores of ``x``, higher for more anomalous examples.

        Args:
            x: array of shape ``(N,) + input_shape``.
            kind: ``"reconstruction"`` (every model), ``"negative_log_likelihood"``
                and ``"negative_elbo"`` (VAE), ``"prior_negative_log_density"``
                (AAE); see `keras_ae.anomaly.score`.
            **kwargs: arguments of the score (e.g. ``num_samples``).

        Returns:
            NumPy array ``(N,)``. Per-feature reconstruction errors:
            `keras_ae.anomaly.reconstruction_error` with ``per_feature=True``.

        Example:
        ```python
        s = vae.score(x_test, kind="negative_log_likelihood", num_samples=100)
        ```
        """
        from keras_ae import anomaly

        return anomaly.score(self, x, kind=kind, **kwargs)

    # ------------------------------------------------------------ validation
    @property
    def builtin_networks(self):
        """Whether both networks were built by keras_ae (no user encoder/decoder)."""
        return not (self._custom_encoder or self._custom_decoder)

    def check_data(self, x, y=None, sample_weight=None):
        """Checks data exactly as `fit` does, without training.

        Args:
            x: examples (array or dataset).
            y: optional targets (or labels, for labelled models).
            sample_weight: optional per-example weights.

        Returns:
            The checked ``(x, y, sample_weight)``.

        Raises:
            ValueError: what was expected and what was received.

        Example:
            >>> model.check_data(x_train)   # raises before any training step
        """
        return self._check_data(x, y, sample_weight=sample_weight)

    def _check_x(self, x, name, check_range=False, allow_empty=False):
        """Checks an array of examples (see `keras_ae.data_checks`); returns it
        as NumPy. Datasets and other inputs are returned unchanged."""
        x = data_checks.as_array(x, name)
        if data_checks.is_dataset(x) or not _is_array_like(x):
            return x
        return data_checks.check_array(
            x,
            name,
            self.input_shape_,
            unit_range=check_range and self.reconstruction_loss == "bce",
            allow_empty=allow_empty,
        )

    def _check_data(self, x, y, prefix="", sample_weight=None):
        """Checks ``x``, ``y`` and ``sample_weight`` as `fit` takes them.

        Returns:
            The checked ``(x, y, sample_weight)``; ``y`` is ``x`` when only
            weights were given (Keras drops weights given without ``y``),
            and a dataset comes back wrapped with its per-batch checks.
        """
        if data_checks.is_dataset(x):
            if y is not None or sample_weight is not None:
                raise data_checks.DataError(
                    f"`{prefix}y` and `{prefix}sample_weight` must be part of the "
                    "dataset, not separate arguments."
                )
            checked = data_checks.check_dataset(
                x,
                prefix + "x",
                self.input_shape_,
                unit_range=self.reconstruction_loss == "bce",
            )
            return checked, None, None
        x = self._check_x(x, prefix + "x", check_range=y is None)
        if y is not None:
            y = self._check_x(y, prefix + "y", check_range=True)
            if _is_array_like(x) and _is_array_like(y) and len(x) != len(y):
                raise data_checks.DataError(
                    f"`{prefix}x` and `{prefix}y` must have the same number of "
                    f"examples. Received: {len(x)} and {len(y)}"
                )
        if sample_weight is not None and _is_array_like(x):
            sample_weight = data_checks.check_sample_weight(
                sample_weight, len(x), prefix + "sample_weight"
            )
            if y is None:
                y = x
        return x, y, sample_weight

    def _checked_validation_data(self, validation_data):
        vx, vy, vw = data_checks.split_validation_data(validation_data)
        vx, vy, vw = self._check_data(vx, vy, prefix="validation_", sample_weight=vw)
        if data_checks.is_dataset(vx):
            return vx
        if vw is not None:
            return (vx, vy, vw)
        return (vx,) if vy is None else (vx, vy)

    def _run_checked(self, method, x, y, kwargs):
        """Runs Keras's ``fit``/``evaluate`` on checked data."""
        x, y, sample_weight = self._check_data(
            x, y, sample_weight=kwargs.get("sample_weight")
        )
        if kwargs.get("sample_weight") is not None:
            kwargs["sample_weight"] = sample_weight
        if kwargs.get("validation_data") is not None:
            kwargs["validation_data"] = self._checked_validation_data(
                kwargs["validation_data"]
            )
        try:
            return method(x, y, **kwargs)
        except Exception as error:  # a failed per-batch dataset check
            data_checks.reraise(error)
            raise

    def fit(self, x=None, y=None, **kwargs):
        """Trains the model; ``fit(x)`` reconstructs ``x``.

        Data is validated before the first step: shape, real dtype, at least
        one example, finite values, range for ``"bce"``, one
        ``sample_weight`` per example (applied in the ``fit(x)`` form too);
        a `tf.data.Dataset` by its element spec, then batch by batch (a NaN
        or out-of-range batch raises `keras_ae.data_checks.DataError` at its
        step). Python lists are read as arrays. See `keras.Model.fit` for
        the other arguments.
        """
        if not self.compiled:
            raise ValueError(
                "You must call `compile()` before `fit()`; `model.compile()` "
                "with no arguments uses Adam(1e-3)."
            )
        return self._run_checked(super().fit, x, y, kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Evaluates the model; ``evaluate(x)`` scores the reconstruction of ``x``."""
        return self._run_checked(super().evaluate, x, y, kwargs)

    # --------------------------------------------------------------- compile
    def compile(self, optimizer=None, **kwargs):
        """Configures training; ``compile()`` uses Adam(1e-3).

        ``jit_compile`` keeps Keras's default ``"auto"``: XLA on GPU/TPU, off
        on CPU-only machines and under `tf.distribute`; pass
        ``jit_compile=True`` to try it on CPU (README "Performance").

        Args:
            optimizer: any Keras optimizer (instance or name). Default Adam(1e-3).
            **kwargs: `keras.Model.compile` arguments such as ``metrics``,
                ``steps_per_execution``, ``jit_compile``. ``loss`` is not
                accepted: the loss follows from the model's arguments.
        """
        if kwargs.get("loss") is not None:
            raise ValueError(
                "keras_ae models define their own loss (see `reconstruction_loss`); "
                f"`compile` does not take `loss`. Received: loss={kwargs['loss']!r}"
            )
        kwargs.pop("loss", None)
        if optimizer is None:
            optimizer = keras.optimizers.Adam(learning_rate=1e-3)
        super().compile(optimizer=optimizer, **kwargs)
        self._build_optimizers()

    def _build_optimizers(self):
        """Builds every optimizer at `compile` on the variables it updates.

        A first step that fails (bad data) then cannot leave an optimizer
        half-built, and the model stays trainable.
        """
        if self.built and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def compile_from_config(self, config):
        """Replays `compile` on load and builds the optimizer's variables.

        Without this, a `.keras` reload of a model with a custom `compile`
        would silently drop the optimizer state (docs/design.md, trap 3).
        """
        self.compile(**self._compile_arguments(config))

    @staticmethod
    def _compile_arguments(config):
        """`compile` keyword arguments from a serialized compile config.

        ``loss`` and ``loss_weights`` are the model's own (never arguments of
        its `compile`); `compile` builds every optimizer (`_build_optimizers`).
        """
        config = keras.saving.deserialize_keras_object(config)
        for key in ("loss", "loss_weights"):
            config.pop(key, None)
        return config

    # ------------------------------------------------------------ loss terms
    def loss_term_names(self):
        """Names of the values `compute_loss_terms` returns (tracked as metrics)."""
        return ("loss", "reconstruction_loss", "mse")

    def reconstruction_from_logits(self):
        return self.reconstruction_loss == "bce" and self.output_activation is None

    def compute_loss_terms(self, x, y, sample_weight=None, training=False):
        """Loss terms of one batch (per-replica batch means, float32).

        Args:
            x: input batch.
            y: target batch (``x`` when fitting an autoencoder).
            sample_weight: optional per-example weights.
            training: whether this is a training step.

        Returns:
            ``(terms, y_pred)``: a dict with at least ``"loss"`` (the total to
            minimise) and the reconstruction.
        """
        y_pred = self.decoder_outputs(x, training=training)
        rec, mse = self.reconstruction_terms(y, y_pred, sample_weight)
        total = rec + self.regularization_loss()
        return {"loss": total, "reconstruction_loss": rec, "mse": mse}, y_pred

    def reconstruction_terms(self, y, y_pred, sample_weight=None):
        """Batch-mean reconstruction loss and per-feature MSE (float32).

        Args:
            y: targets.
            y_pred: the decoder's outputs (logits when
                `reconstruction_from_logits()`).
            sample_weight: optional per-example weights.

        Returns:
            ``(reconstruction_loss, mse)`` scalars.
        """
        from_logits = self.reconstruction_from_logits()
        per_example = losses.reconstruction(
            self.reconstruction_loss, y, y_pred, from_logits=from_logits
        )
        rec = losses.reduce_mean(per_example, sample_weight)
        x_hat = ops.sigmoid(y_pred) if from_logits else y_pred
        mse = losses.reduce_mean(losses.mean_squared_error(y, x_hat), sample_weight)
        return rec, mse

    def regularization_loss(self):
        """Sum of the layers' ``losses`` (weight regularizers), float32."""
        if not self.losses:
            return ops.cast(0.0, "float32")
        return ops.sum(ops.stack([ops.cast(l, "float32") for l in self.losses]))

    # ------------------------------------------------------------ train step
    @property
    def metrics(self):
        metrics = list(self._trackers.values())
        if self._compile_metrics is not None:
            metrics.append(self._compile_metrics)
        return metrics

    def update_metrics(self, terms, x, y, y_pred, sample_weight):
        """Updates the trackers and compiled metrics; returns the logs."""
        batch = ops.shape(keras.tree.flatten(x)[0])[0]
        for name, value in terms.items():
            if name in self._trackers:
                self._trackers[name].update_state(value, sample_weight=batch)
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, self.to_data_space(y_pred), sample_weight)
        return backend.shape_logs_for_reduction(self.get_metrics_result())

    @staticmethod
    def unpack(data):
        """``(x, y, sample_weight)`` of a batch; ``y`` defaults to ``x``."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        return x, (x if y is None else y), sample_weight

    def training_phases(self):
        """What one training step differentiates, in order (`keras_ae.backend.phases`).

        The default is one phase: ``compute_loss_terms(training=True)``,
        with ``"loss"`` minimised by ``optimizer`` over every trainable
        variable.
        """

        def loss_fn(x, y, sample_weight):
            return self.compute_loss_terms(
                x, y, sample_weight=sample_weight, training=True
            )

        update = phases.Update("loss", self.optimizer, self.trainable_variables)
        return (phases.Phase(loss_fn, (update,)),)

    def extra_optimizers(self):
        """Optimizers besides ``optimizer`` that the training step applies."""
        return ()

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "input_shape": list(self.input_shape_),
                "latent_dim": self.latent_dim,
                "hidden_units": (
                    None if self.hidden_units is None else list(self.hidden_units)
                ),
                "activation": self.activation,
                "output_activation": self.output_activation,
                "reconstruction_loss": self.reconstruction_loss,
                "architecture": self.architecture,
                "encoder": (
                    keras.saving.serialize_keras_object(self.encoder)
                    if self._custom_encoder
                    else None
                ),
                "decoder": (
                    keras.saving.serialize_keras_object(self.decoder)
                    if self._custom_decoder
                    else None
                ),
                "tied_weights": self.tied_weights,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.nested_config_keys():
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    @classmethod
    def nested_config_keys(cls):
        """Config entries that hold serialized Keras objects."""
        return ("encoder", "decoder")

