"""The stacked autoencoder: a deep autoencoder built from shallow ones."""

import keras

from keras_ae.models.base import BaseAutoencoder
from keras_ae import validation


def _weighted_layers(network):
    """The layers of ``network`` that own weights, input to output."""
    return [layer for layer in network.layers if layer.weights]


@keras.saving.register_keras_serializable(package="keras_ae")
class StackedAutoencoder(BaseAutoencoder):
    """Deep dense autoencoder whose layers can be pretrained one at a time.

    The encoder is ``Dense(layer_units[0]) -> ... -> Dense(layer_units[-1])``
    (all with ``activation``; the last is the code) and the decoder mirrors it:
    ``Dense(layer_units[-2]) -> ... -> Dense(layer_units[0])`` with
    ``activation``, then ``Dense(features)`` with ``output_activation``. Layer
    ``i`` of the encoder and its mirror in the decoder are the encoder and
    decoder of one shallow autoencoder: `keras_ae.greedy_pretrain` trains
    those shallow autoencoders one after the other (Bengio et al. 2007;
    Vincent et al. 2010) and assembles them with `from_pretrained`. The stack
    then fine-tunes end to end with `fit`, saves, reloads and exports like
    every keras_ae model. Constructed directly it is an ordinary deep
    autoencoder with random initial weights.

    The bottom ``frozen_layers`` layer pairs can be frozen (`freeze_layers`);
    the change takes effect at the next `fit` because the model is
    recompiled (docs/design.md, trap 10) and it is saved with the model.

    Args:
        input_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)``.
        layer_units: units of every encoder layer, bottom to top, e.g.
            ``(1000, 1000, 1000)``; the last is the code size. Equivalent to
            ``hidden_units=layer_units[:-1], latent_dim=layer_units[-1]``
            (those two may be given instead, as for every model).
        latent_dim: size of the code (``layer_units[-1]``).
        hidden_units: the encoder's layers below the code
            (``layer_units[:-1]``); ``None`` with ``latent_dim``: ``(512, 256)``.
        activation: activation of every encoder layer and of the decoder's
            hidden layers; ``"sigmoid"`` (as in the stacked denoising
            autoencoders of Vincent et al. 2010) by default.
        output_activation: activation of the decoder's last layer.
        reconstruction_loss: ``"bce"`` or ``"mse"``.
        architecture: ``"dense"`` only.
        encoder: must be None (the networks follow ``layer_units``).
        decoder: must be None.
        tied_weights: decoder kernels are the encoder's transposed.
        seed: optional integer seed (initializers).
        frozen_layers: number of bottom layer pairs (encoder layer and its
            mirrored decoder layer) that do not train; 0 trains everything.
        **kwargs: base `keras.Model` arguments.

    Example:
        >>> stack = keras_ae.StackedAutoencoder((784,), layer_units=(500, 500, 64))
        >>> stack.compile()
        >>> stack.fit(x, epochs=5, batch_size=128)
        >>> # or, pretrained layer by layer:
        >>> stack = keras_ae.greedy_pretrain(x, (500, 500, 64), noise="masking")
    """

    def __init__(
        self,
        input_shape,
        layer_units=None,
        latent_dim=None,
        hidden_units=None,
        activation="sigmoid",
        output_activation="sigmoid",
        reconstruction_loss="bce",
        architecture="dense",
        encoder=None,
        decoder=None,
        tied_weights=False,
        seed=None,
        frozen_layers=0,
        **kwargs,
    ):
        if layer_units is not None:
            layer_units = validation.integer_tuple(
                layer_units, "layer_units", allow_empty=False
            )
            if latent_dim is not None and latent_dim != layer_units[-1]:
                raise ValueError(
                    "`latent_dim` must be None or equal to layer_units[-1] "
                    f"({layer_units[-1]}). Received: latent_dim={latent_dim!r}"
                )
            if hidden_units is not None and tuple(
                validation.integer_tuple(hidden_units, "hidden_units")
            ) != layer_units[:-1]:
                raise ValueError(
                    "`hidden_units` must be None or equal to layer_units[:-1] "
                    f"({layer_units[:-1]}). Received: hidden_units={hidden_units!r}"
                )
            latent_dim, hidden_units = layer_units[-1], layer_units[:-1]
        elif latent_dim is None:
            raise ValueError(
                "`StackedAutoencoder` needs `layer_units` (e.g. (500, 500, 64)) "
                "or `latent_dim`. Received: layer_units=None, latent_dim=None"
            )
        if encoder is not None or decoder is not None:
            raise ValueError(
                "`StackedAutoencoder` builds its networks from `layer_units`; use "
                "`keras_ae.Autoencoder(encoder=..., decoder=...)` for your own "
                f"networks. Received: encoder={encoder!r}, decoder={decoder!r}"
            )
        self.frozen_layers = validation.integer(frozen_layers, "frozen_layers", low=0)
        super().__init__(
            input_shape=input_shape,
            latent_dim=latent_dim,
            hidden_units=hidden_units,
            activation=activation,
            output_activation=output_activation,
            reconstruction_loss=reconstruction_loss,
            architecture=architecture,
            tied_weights=tied_weights,
            seed=seed,
            **kwargs,
        )
        if self.frozen_layers > self.num_layers:
            raise ValueError(
                f"`frozen_layers` must be at most the number of layers "
                f"({self.num_layers}). Received: frozen_layers={frozen_layers!r}"
            )
        self._apply_frozen()

    # ------------------------------------------------------------------ build
    @property
    def layer_units(self):
        """Units of every encoder layer, bottom to top (the last is the code)."""
        hidden = self.hidden_units if self.hidden_units is not None else (512, 256)
        return tuple(hidden) + (self.latent_dim,)

    @property
    def num_layers(self):
        """Number of stacked layers (shallow autoencoders)."""
        return len(self.layer_units)

    def build_encoder(self, hidden_units):
        if self.architecture != "dense":
            raise ValueError(
                "`StackedAutoencoder` is dense only (image inputs are flattened). "
                f"Received: architecture={self.architecture!r}"
            )
        return super().build_encoder(hidden_units)

    def layer_pair(self, index):
        """The encoder layer ``index`` (0 = bottom) and its mirrored decoder layer.

        Args:
            index: layer index, ``0 <= index < num_layers``.

        Returns:
            ``(encoder_layer, decoder_layer)``: the decoder layer maps the
            codes of layer ``index`` back to the inputs of layer ``index``.
        """
        if not 0 <= index < self.num_layers:
            raise ValueError(
                f"`index` must be in [0, {self.num_layers}). Received: index={index!r}"
            )
        enc = _weighted_layers(self.encoder)
        dec = _weighted_layers(self.decoder)
        return enc[index], dec[self.num_layers - 1 - index]

    # ---------------------------------------------------------------- freeze
    def _apply_frozen(self):
        for i in range(self.num_layers):
            for layer in self.layer_pair(i):
                layer.trainable = i >= self.frozen_layers

    def freeze_layers(self, num_layers):
        """Freezes the bottom ``num_layers`` layer pairs (0 unfreezes all).

        Takes effect at the next `fit`: a compiled model is recompiled
        (docs/design.md, trap 10) with the same optimizer; if that
        optimizer has never seen a newly unfrozen variable, a new one is made
        from its config (its state restarts).

        Args:
            num_layers: number of bottom layers to freeze.

        Returns:
            The model.
        """
        self.frozen_layers = validation.integer(
            num_layers, "num_layers", low=0, high=self.num_layers
        )
        self._apply_frozen()
        self._recompile()
        return self

    def _optimizer_variables(self):
        """Every variable of the layer pairs, frozen or not, in a fixed order."""
        seen, variables = set(), []
        for i in range(self.num_layers):
            for layer in self.layer_pair(i):
                for v in layer.weights:
                    if id(v) not in seen:
                        seen.add(id(v))
                        variables.append(v)
        return variables

    def compile(self, optimizer=None, **kwargs):
        """Like `BaseAutoencoder.compile`; the optimizer is built on every layer.

        Building the optimizer on the frozen layers too lets `freeze_layers`
        unfreeze them later with the same optimizer, and keeps the optimizer
        state loadable from a ``.keras`` file whatever is frozen.
        """
        super().compile(optimizer=optimizer, **kwargs)

    def _build_optimizers(self):
        if self.built and not self.optimizer.built:
            self.optimizer.build(self._optimizer_variables())

    def _recompile(self):
        if not self.compiled:
            return
        kwargs = self._compile_arguments(self.get_compile_config())
        optimizer = self.optimizer
        if optimizer.built and not _optimizer_tracks(optimizer, self.trainable_variables):
            optimizer = optimizer.__class__.from_config(optimizer.get_config())
        kwargs["optimizer"] = optimizer
        self.compile(**kwargs)

    # -------------------------------------------------------------- assemble
    @classmethod
    def from_pretrained(cls, autoencoders, seed=None, **kwargs):
        """Stacks shallow autoencoders trained one on the codes of the other.

        Args:
            autoencoders: keras_ae models with ``hidden_units=()`` (one layer
                each), bottom first: the input of each is the code of the
                one before. The first one's ``output_activation`` and
                ``reconstruction_loss`` become the stack's; every other one
                must have ``output_activation == activation`` so that the
                mirrored decoder is one network.
            seed: seed of the stack (its config only: every weight is copied).
            **kwargs: base `keras.Model` arguments (e.g. ``name``).

        Returns:
            A `StackedAutoencoder` holding copies of the pretrained weights.
        """
        aes = list(autoencoders)
        if not aes or not all(isinstance(ae, BaseAutoencoder) for ae in aes):
            raise ValueError(
                "`autoencoders` must be a non-empty list of keras_ae models. "
                f"Received: autoencoders={autoencoders!r}"
            )
        first = aes[0]
        for i, ae in enumerate(aes):
            expected_in = first.input_shape if i == 0 else (aes[i - 1].latent_dim,)
            if (
                ae.architecture != "dense"
                or ae.hidden_units != ()
                or getattr(ae, "code_activation", "same") != "same"
                or not ae.builtin_networks
            ):
                raise ValueError(
                    "Every autoencoder must be a built-in dense network with one "
                    f"layer (hidden_units=()). Received: autoencoders[{i}] = {ae!r}"
                )
            if tuple(ae.input_shape) != tuple(expected_in):
                raise ValueError(
                    f"autoencoders[{i}] must take inputs of shape {expected_in} "
                    f"(the codes of the layer below). Received: input_shape={ae.input_shape}"
                )
            if ae.activation != first.activation or ae.tied_weights != first.tied_weights:
                raise ValueError(
                    "Every autoencoder must have the same `activation` and "
                    f"`tied_weights`. Received: autoencoders[{i}] with "
                    f"activation={ae.activation!r}, tied_weights={ae.tied_weights!r}"
                )
            if i > 0 and ae.output_activation != first.activation:
                raise ValueError(
                    "The upper autoencoders must reconstruct codes with "
                    f"`output_activation=activation` ({first.activation!r}). "
                    f"Received: autoencoders[{i}].output_activation={ae.output_activation!r}"
                )
        stack = cls(
            first.input_shape,
            layer_units=[ae.latent_dim for ae in aes],
            activation=first.activation,
            output_activation=first.output_activation,
            reconstruction_loss=first.reconstruction_loss,
            tied_weights=first.tied_weights,
            seed=seed,
            **kwargs,
        )
        for i, ae in enumerate(aes):
            (enc,) = _weighted_layers(ae.encoder)
            (dec,) = _weighted_layers(ae.decoder)
            stack_enc, stack_dec = stack.layer_pair(i)
            stack_enc.set_weights(enc.get_weights())
            stack_dec.set_weights(dec.get_weights())
        return stack

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update({"layer_units": list(self.layer_units), "frozen_layers": self.frozen_layers})
        return config


def _optimizer_tracks(optimizer, variables):
    """Whether a built optimizer has slots for every one of ``variables``.

    Keras 3.15 has no public way to ask; this reads the private
    ``_trainable_variables_indices`` and ``_var_key`` of
    `keras.optimizers.Optimizer` (keras/src/optimizers/base_optimizer.py).
    """
    known = optimizer._trainable_variables_indices
    return all(optimizer._var_key(v) in known for v in variables)

