"""Dense layer whose kernel is the transpose of another Dense layer's kernel."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_ae")
class DenseTranspose(keras.layers.Layer):
    """A dense layer tied to another: ``y = activation(x @ W_tied.T + b)``.

    Used by tied-weight autoencoders (``tied_weights=True``), where each
    decoder layer reuses the transpose of the matching encoder kernel, as in
    the classic denoising autoencoder (Vincent et al. 2008). Only the bias is
    a variable of this layer; the kernel belongs to the tied layer, so the
    gradient of both the encoder and the decoder reaches one kernel.

    The tie is a Python reference and is not part of the config: the model
    that owns both layers re-creates it when it is rebuilt from its config.

    Args:
        tied_to: the `keras.layers.Dense` layer whose kernel is transposed.
            It must be built.
        activation: activation function name or callable.
        use_bias: whether to add a bias.
        **kwargs: base `Layer` arguments.

    Example:
        >>> dense = keras.layers.Dense(16)
        >>> dense.build((None, 64))
        >>> back = DenseTranspose(dense, activation="sigmoid")
        >>> back(np.zeros((2, 16))).shape
        (2, 64)
    """

    def __init__(self, tied_to=None, activation=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        if tied_to is not None and not isinstance(tied_to, keras.layers.Dense):
            raise ValueError(
                "`tied_to` must be a keras.layers.Dense layer. "
                f"Received: tied_to={tied_to!r}"
            )
        self.tied_to = tied_to
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias

    @property
    def units(self):
        return self.tied_to.kernel.shape[0]

    def build(self, input_shape):
        if self.tied_to is None or not self.tied_to.built:
            raise ValueError(
                "DenseTranspose needs a built `tied_to` Dense layer; it is "
                "re-created by the model that owns both layers. "
                f"Received: tied_to={self.tied_to!r}"
            )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), initializer="zeros", name="bias"
            )
        else:
            self.bias = None

    def call(self, inputs):
        kernel = ops.cast(self.tied_to.kernel, self.compute_dtype)
        outputs = ops.matmul(inputs, ops.transpose(kernel))
        if self.bias is not None:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
            }
        )
        return config
