"""keras_ae: a Keras 3 model zoo of autoencoders."""

__version__ = "0.1.0"
