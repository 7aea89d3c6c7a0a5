"""The keras_ae version (one place; `keras_ae.__version__` re-exports it)."""

__version__ = "0.1.0"
