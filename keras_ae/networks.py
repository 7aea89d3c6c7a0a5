"""Builders for the built-in dense and convolutional encoders and decoders.

All builders return functional `keras.Model`s that are built at construction.
The dense networks flatten image-shaped inputs on the way in and reshape on
the way out, so every model accepts ``(features,)`` and ``(H, W, C)`` data.
"""

import math

import keras

ARCHITECTURES = ("dense", "conv")
DEFAULT_HIDDEN_UNITS = {"dense": (512, 256), "conv": (32, 64)}


def _initializer(seed, index):
    if seed is None:
        return "glorot_uniform"
    return keras.initializers.GlorotUniform(seed=seed + 7919 * index)


def _dense_stack(h, units_list, activation, seed, first_index):
    """Applies one Dense layer per entry of ``units_list`` (named dense_i)."""
    for i, units in enumerate(units_list):
        h = keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=_initializer(seed, first_index + i),
            name=f"dense_{i}",
        )(h)
    return h


def conv_downsampled_shape(input_shape, num_layers):
    """Spatial shape after ``num_layers`` stride-2 'same' convolutions."""
    h, w = input_shape[0], input_shape[1]
    for _ in range(num_layers):
        h, w = math.ceil(h / 2), math.ceil(w / 2)
    return h, w


def build_encoder(
    input_shape,
    latent_dim,
    hidden_units,
    activation="relu",
    code_activation="same",
    architecture="dense",
    heads=("code",),
    seed=None,
    name="encoder",
):
    """Builds an encoder network.

    Args:
        input_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)``.
        latent_dim: size of the code.
        hidden_units: units (dense) or filters (conv) of each hidden layer.
        activation: activation of the hidden layers.
        code_activation: activation of the code layer(s); ``"same"`` uses
            ``activation`` (docs/design.md, "Semantics"), ``None`` is linear.
        architecture: ``"dense"`` or ``"conv"``.
        heads: names of the output layers, each of size ``latent_dim``:
            ``("code",)`` for a deterministic encoder,
            ``("z_mean", "z_log_var")`` for a Gaussian one (linear heads).
        seed: optional integer seed for the kernel initializers.
        name: model name.

    Returns:
        A functional `keras.Model`, one output per head.

    Example:
        >>> enc = build_encoder((784,), 32, (512, 256))
        >>> enc.output_shape
        (None, 32)
    """
    if code_activation == "same":
        code_activation = activation
    inputs = keras.Input(shape=tuple(input_shape), name="inputs")
    h = inputs
    index = 0
    if architecture == "dense":
        if len(input_shape) > 1:
            h = keras.layers.Flatten(name="flatten")(h)
        h = _dense_stack(h, hidden_units, activation, seed, index)
        index += len(hidden_units)
    else:
        for i, filters in enumerate(hidden_units):
            h = keras.layers.Conv2D(
                filters,
                3,
                strides=2,
                padding="same",
                activation=activation,
                kernel_initializer=_initializer(seed, index),
                name=f"conv_{i}",
            )(h)
            index += 1
        h = keras.layers.Flatten(name="flatten")(h)
    outputs = []
    for head in heads:
        act = code_activation if len(heads) == 1 else None
        outputs.append(
            keras.layers.Dense(
                latent_dim,
                activation=act,
                kernel_initializer=_initializer(seed, index),
                dtype="float32" if len(heads) > 1 else None,
                name=head,
            )(h)
        )
        index += 1
    return keras.Model(
        inputs, outputs[0] if len(outputs) == 1 else outputs, name=name
    )


def build_decoder(
    output_shape,
    latent_dim,
    hidden_units,
    activation="relu",
    output_activation="sigmoid",
    architecture="dense",
    tied_encoder=None,
    seed=None,
    name="decoder",
):
    """Builds a decoder network mirroring `build_encoder`.

    Args:
        output_shape: shape of one reconstructed example.
        latent_dim: size of the code.
        hidden_units: the encoder's hidden units; used in reverse order.
        activation: activation of the hidden layers.
        output_activation: activation of the last layer (``None``: linear).
        architecture: ``"dense"`` or ``"conv"``.
        tied_encoder: a dense encoder built by `build_encoder`; when given,
            every decoder layer is a `DenseTranspose` of the matching encoder
            layer (tied weights).
        seed: optional integer seed for the kernel initializers.
        name: model name.

    Returns:
        A functional `keras.Model` mapping codes to reconstructions.

    Example:
        >>> dec = build_decoder((784,), 32, (512, 256))
        >>> dec.output_shape
        (None, 784)
    """
    output_shape = tuple(output_shape)
    inputs = keras.Input(shape=(latent_dim,), name="code")
    if architecture != "dense":
        h = _conv_decoder(inputs, output_shape, hidden_units, activation, output_activation, seed)
    else:
        if tied_encoder is not None:
            h = _tied_dense_decoder(inputs, tied_encoder, activation, output_activation)
        else:
            h = _dense_decoder(inputs, output_shape, hidden_units, activation,
                               output_activation, seed)
        if len(output_shape) > 1:
            h = keras.layers.Reshape(output_shape, dtype="float32", name="reshape")(h)
    return keras.Model(inputs, h, name=name)


# Initializer seeds of decoder layers start at this index (encoders start at 0).
_DECODER_INDEX = 100


def _dense_decoder(h, output_shape, hidden_units, activation, output_activation, seed):
    """Dense layers mirroring the encoder's, then the output layer."""
    sizes = list(reversed(hidden_units))
    h = _dense_stack(h, sizes, activation, seed, _DECODER_INDEX)
    return keras.layers.Dense(
        int(math.prod(output_shape)),
        activation=output_activation,
        kernel_initializer=_initializer(seed, _DECODER_INDEX + len(sizes)),
        dtype="float32",
        name="output",
    )(h)


def _tied_dense_decoder(h, tied_encoder, activation, output_activation):
    """A `DenseTranspose` of every Dense layer of ``tied_encoder``, top first."""
    from keras_ae.layers.dense_transpose import DenseTranspose

    dense_layers = [
        layer for layer in tied_encoder.layers if isinstance(layer, keras.layers.Dense)
    ]
    for i, layer in enumerate(reversed(dense_layers)):
        last = i == len(dense_layers) - 1
        h = DenseTranspose(
            layer,
            activation=output_activation if last else activation,
            dtype="float32" if last else None,
            name="output" if last else f"dense_{i}",
        )(h)
    return h


def _conv_decoder(h, output_shape, hidden_units, activation, output_activation, seed):
    """Dense projection, transposed convolutions (stride 2), crop, output conv."""
    height, width, channels = output_shape
    filters = list(hidden_units)
    dh, dw = conv_downsampled_shape(output_shape, len(filters))
    index = _DECODER_INDEX
    h = keras.layers.Dense(
        dh * dw * filters[-1],
        activation=activation,
        kernel_initializer=_initializer(seed, index),
        name="project",
    )(h)
    index += 1
    h = keras.layers.Reshape((dh, dw, filters[-1]), name="reshape")(h)
    for i, f in enumerate(reversed(filters)):
        h = keras.layers.Conv2DTranspose(
            f,
            3,
            strides=2,
            padding="same",
            activation=activation,
            kernel_initializer=_initializer(seed, index),
            name=f"deconv_{i}",
        )(h)
        index += 1
    up_h, up_w = dh * 2 ** len(filters), dw * 2 ** len(filters)
    crop_h, crop_w = up_h - height, up_w - width
    if crop_h or crop_w:
        h = keras.layers.Cropping2D(
            ((crop_h // 2, crop_h - crop_h // 2), (crop_w // 2, crop_w - crop_w // 2)),
            name="crop",
        )(h)
    return keras.layers.Conv2D(
        channels,
        3,
        padding="same",
        activation=output_activation,
        kernel_initializer=_initializer(seed, index),
        dtype="float32",
        name="output",
    )(h)
