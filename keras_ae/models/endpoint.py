"""What a keras_ae model serves: its export endpoints, as data.

A model lists its endpoints in `BaseAutoencoder.export_endpoints`; every
export format (`keras_ae.export`) is written from that one description, so
the formats serve the same endpoints with the same input and output names.
"""

import dataclasses
from typing import Callable

from keras import ops

from keras_ae import backend


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One endpoint of an export.

    Args:
        fn: called with the inputs as keyword tensors; returns a dict
            ``output name -> tensor``. Written with `keras.ops`.
        inputs: dict ``name -> (shape, dtype)``; ``None`` in a shape is a
            dynamic dimension (the batch).
        outputs: dict ``name -> description`` of the outputs, in order.
        description: what the endpoint does (for the model card).
        random: whether it draws random numbers inside the graph (then only
            formats with random ops hold it: the SavedModel).

    Example:
    ```python
    ep = model.export_endpoints()["encode"]
    codes = ep.fn(x=x)["codes"]
    ```
    """

    fn: Callable
    inputs: dict
    outputs: dict
    description: str
    random: bool = False


def _float32(outputs):
    return {name: ops.cast(value, "float32") for name, value in outputs.items()}


def default_endpoints(model):
    """``encode``, ``decode``, ``reconstruct`` and, for generative models,
    ``sample_from_noise`` and ``sample_seeded`` of a keras_ae ``model``."""
    x = ((None,) + tuple(model.input_shape_), "float32")
    z = ((None, model.latent_dim), "float32")
    data = f"(batch,) + {tuple(model.input_shape_)} in data space"
    endpoints = {
        "encode": Endpoint(
            lambda x: _float32({"codes": model.code(x)}),
            {"x": x},
            {"codes": f"(batch, {model.latent_dim}) codes"},
            "codes of x (deterministic: the posterior mean for a VAE)",
        ),
        "decode": Endpoint(
            lambda z: _float32({"reconstruction": model.decoder_mean(z)}),
            {"z": z},
            {"reconstruction": data},
            "decoded codes z",
        ),
        "reconstruct": Endpoint(
            lambda x: _float32({"reconstruction": model(x, training=False)}),
            {"x": x},
            {"reconstruction": data},
            "decode(encode(x)), without noise or sampling",
        ),
    }
    if model.generative:
        endpoints.update(generative_endpoints(model, data))
    return endpoints


def generative_endpoints(model, data):
    """``sample_from_noise`` (portable) and ``sample_seeded`` (random ops)."""
    spec = model.prior_noise_spec()
    names = tuple(spec)

    def from_noise(**noise):
        codes = model.codes_from_noise(noise)
        return _float32({"samples": model.decoder_mean(codes)})

    def sample_seeded(n, seed):
        pair = ops.stack([ops.cast(seed, backend.SEED_DTYPE), ops.zeros((), backend.SEED_DTYPE)])
        noise = model.draw_prior_noise(ops.cast(n, "int32"), pair)
        return from_noise(**noise)

    noise_text = ", ".join(f"{k}: {v['distribution']} {tuple(v['shape'])}" for k, v in spec.items())
    return {
        "sample_from_noise": Endpoint(
            from_noise,
            {k: ((None,) + tuple(spec[k]["shape"]), "float32") for k in names},
            {"samples": data},
            "decoded prior samples made from standard noise drawn by the client "
            f"(normal: N(0, 1), uniform: [0, 1)): {noise_text}",
        ),
        "sample_seeded": Endpoint(
            sample_seeded,
            {"n": ((), "int32"), "seed": ((), "int32")},
            {"samples": data},
            "n decoded prior samples, equal to model.sample(n, seed=seed) "
            "(TensorFlow backend)",
            random=True,
        ),
    }
