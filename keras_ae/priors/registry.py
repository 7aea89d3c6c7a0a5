"""`get`: a prior from an instance, None, a name or a config."""

import keras

from keras_ae.priors.base import Prior
from keras_ae.priors.gaussian import Gaussian
from keras_ae.priors.mixture import MixtureOfGaussians
from keras_ae.priors.uniform import Uniform

_ALIASES = {
    "gaussian": Gaussian,
    "normal": Gaussian,
    "mixture": MixtureOfGaussians,
    "mog": MixtureOfGaussians,
    "mixture_of_gaussians": MixtureOfGaussians,
    "mixtureofgaussians": MixtureOfGaussians,
    "uniform": Uniform,
}


def get(identifier):
    """Returns a prior from an instance, None, a name or a config.

    Args:
        identifier: a `Prior` (returned as is); None (a default `Gaussian`);
            a string: ``"gaussian"``/``"normal"``, ``"mixture"``/``"mog"``/
            ``"mixture_of_gaussians"``, ``"uniform"`` (case-insensitive,
            default arguments); or a dict, either a Keras serialization
            (``keras.saving.serialize_keras_object(prior)``) or
            ``{"class_name": "Gaussian", "config": {...}}``.

    Returns:
        A `Prior`.

    Raises:
        ValueError: an identifier that names no prior.

    Example:
    ```python
    keras_ae.priors.get("mog")                          # MixtureOfGaussians()
    keras_ae.priors.get({"class_name": "Uniform", "config": {"low": 0, "high": 1}})
    ```
    """
    if identifier is None:
        return Gaussian()
    if isinstance(identifier, Prior):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower().replace("-", "_").replace(" ", "_")
        if key in _ALIASES:
            return _ALIASES[key]()
    elif isinstance(identifier, dict):
        name = identifier.get("class_name")
        config = identifier.get("config")
        if isinstance(name, str) and isinstance(config, dict):
            key = name.strip().lower().replace("-", "_")
            if key in _ALIASES and "module" not in identifier:
                return _ALIASES[key].from_config(config)
            try:
                prior = keras.saving.deserialize_keras_object(identifier)
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"Could not interpret the prior config: {e} Received: "
                    f"identifier={identifier!r}"
                ) from e
            if isinstance(prior, Prior):
                return prior
    raise ValueError(
        "Could not interpret the prior. Expected a keras_ae.priors.Prior, None, one of "
        f"{sorted(_ALIASES)} or a config dict. Received: identifier={identifier!r}"
    )
