"""A small shared test harness in the spirit of Keras's `run_layer_test`.

`MODEL_CASES` lists every public model class once, with small constructor
arguments and data; `tests/test_common.py` runs the whole battery over it.
A new model joins the battery by adding one `ModelCase` here.
"""

import dataclasses
import inspect
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np

import keras_ae

RNG = np.random.default_rng(0)
# Small [0, 1] data: 64 examples of 16 features, and tiny images.
X_FLAT = RNG.uniform(size=(64, 16)).astype("float32")
X_IMG = RNG.uniform(size=(32, 8, 8, 1)).astype("float32")
# Integer labels in [0, 3) for X_FLAT, every class present.
LABELS = np.arange(64) % 3


@dataclasses.dataclass
class ModelCase:
    """One entry of the common battery."""

    id: str
    cls_name: str
    kwargs: dict
    x: np.ndarray = dataclasses.field(default_factory=lambda: X_FLAT)
    # Labels passed as `fit`'s/`evaluate`'s second argument (models whose
    # labels are optional, -1 meaning unlabelled). `None`: `fit(x)`.
    y: np.ndarray = None
    generative: bool = False
    # Constructor overrides that hold every random draw of training fixed
    # (noise level 0, sampling noise_scale 0, fixed prior draws), for exact
    # parity tests. Empty for deterministic models.
    fixed_noise: dict = dataclasses.field(default_factory=dict)
    # Applied to the model after construction (before any step) to hold
    # random draws fixed that no constructor argument controls.
    hold_fixed: object = None
    # The loss term that reads the random draws of training (for the
    # per-replica noise test): the autoencoder's ``loss``, or for the
    # label-conditioned AAE, whose phased ``loss`` is the reconstruction,
    # the discriminator's loss, which reads the prior draws.
    noisy_term: str = "loss"

    @property
    def cls(self):
        return getattr(keras_ae, self.cls_name)

    def make(self, **overrides):
        kwargs = dict(self.kwargs)
        kwargs.update(overrides)
        return self.cls(**kwargs)

    def make_fixed(self, **overrides):
        """Like `make`, with every random draw of training held fixed."""
        model = self.make(**dict(self.fixed_noise, **overrides))
        if self.hold_fixed is not None:
            self.hold_fixed(model)
        return model

    @property
    def stochastic(self):
        """Whether training draws random numbers (noise, samples, priors)."""
        return bool(self.fixed_noise) or self.hold_fixed is not None


def zero_sampling_noise(model):
    """Sets ``noise_scale = 0`` on every `Sampling` layer (``z = mean``)."""
    from keras_ae.layers.sampling import Sampling

    found = False
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, Sampling):
            layer.noise_scale = 0.0
            found = True
    if not found:
        raise ValueError(f"{model.name} has no Sampling layer to hold fixed")


def fixed_prior_draws(model):
    """Replaces the prior draws of the labelled AAEs with fixed values."""
    from keras import ops

    if hasattr(model, "draw_priors"):  # SemiSupervisedAAE, ClusteringAAE
        from keras_ae import backend

        k = model.num_classes

        def draws(z, training=True):
            # Row i of the *global* batch gets category i % k: each
            # tf.distribute replica takes its slice, as the real draws do.
            one_hot = backend.replica_slice(
                lambda total: ops.one_hot(ops.arange(total) % k, k), ops.shape(z)[0]
            )
            return one_hot, ops.zeros((ops.shape(z)[0], model.latent_dim))

        model.draw_priors = draws
    else:  # LabelConditionedAAE
        model.draw_prior = lambda codes, labels=None, training=True: ops.zeros_like(codes)


def _available(cases):
    return [c for c in cases if hasattr(keras_ae, c.cls_name)]


_SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)

# Conditional models (``conditional = True``): every call takes labels,
# ``fit(x, labels)``, ``encode(x, labels)``, ``decode(z, labels)``,
# ``reconstruct(x, labels)``, ``predict((x, labels))`` and
# ``sample(n, labels=..., seed=...)``. `tests/test_conditional.py` runs their
# battery; add a case here (``y`` = integer labels in [0, num_classes)).
CONDITIONAL_CASES = _available(
    [
        ModelCase(
            "supervised_aae",
            "SupervisedAAE",
            dict(_SMALL, num_classes=3),
            y=LABELS,
            generative=True,
        ),
        ModelCase(
            "cvae",
            "ConditionalVAE",
            dict(_SMALL, num_classes=3),
            y=LABELS,
            generative=True,
            hold_fixed=zero_sampling_noise,
        ),
    ]
)
# Labels with every fourth example unlabelled (-1), for the semi-supervised
# models of the common battery.
SOME_LABELS = np.where(np.arange(64) % 4 == 0, -1, LABELS)

MODEL_CASES = _available(
    [
        ModelCase("ae_dense", "Autoencoder", dict(_SMALL)),
        ModelCase("ae_tied", "Autoencoder", dict(_SMALL, tied_weights=True)),
        ModelCase(
            "ae_conv",
            "Autoencoder",
            dict(input_shape=(8, 8, 1), latent_dim=4, hidden_units=(4, 8),
                 architecture="conv", seed=1),
            x=X_IMG,
        ),
        ModelCase(
            "sparse_kl",
            "SparseAutoencoder",
            dict(_SMALL, activation="sigmoid", sparsity="kl"),
        ),
        ModelCase(
            "sparse_l1",
            "SparseAutoencoder",
            dict(_SMALL, sparsity=keras_ae.regularizers.L1Sparsity(0.01)),
        ),
        ModelCase(
            "denoising",
            "DenoisingAutoencoder",
            dict(_SMALL, noise="masking"),
            fixed_noise=dict(noise_level=0.0),
        ),
        ModelCase(
            "denoising_gaussian_conv",
            "DenoisingAutoencoder",
            dict(input_shape=(8, 8, 1), latent_dim=4, hidden_units=(4, 8),
                 architecture="conv", noise="gaussian", noise_level=0.2, seed=1),
            x=X_IMG,
            fixed_noise=dict(noise_level=0.0),
        ),
        ModelCase(
            "vae",
            "VariationalAutoencoder",
            dict(_SMALL),
            generative=True,
            hold_fixed=zero_sampling_noise,
        ),
        ModelCase(
            "vae_gaussian",
            "VariationalAutoencoder",
            dict(_SMALL, likelihood="gaussian"),
            generative=True,
            hold_fixed=zero_sampling_noise,
        ),
        ModelCase(
            "vae_iwae",
            "VariationalAutoencoder",
            dict(_SMALL, objective="iwae", num_importance_samples=3),
            generative=True,
            hold_fixed=zero_sampling_noise,
        ),
        ModelCase(
            "beta_tcvae",
            "BetaTCVAE",
            dict(_SMALL, dataset_size=len(X_FLAT), beta=4.0),
            generative=True,
            hold_fixed=zero_sampling_noise,
        ),
        ModelCase("aae", "AdversarialAutoencoder", dict(_SMALL), generative=True),
        ModelCase(
            "label_conditioned_aae",
            "LabelConditionedAAE",
            dict(_SMALL, num_classes=3),
            y=SOME_LABELS,
            generative=True,
            hold_fixed=fixed_prior_draws,
            noisy_term="discriminator_loss",
        ),
        ModelCase(
            "semi_supervised_aae",
            "SemiSupervisedAAE",
            dict(_SMALL, num_classes=3, input_noise=0.1),
            y=SOME_LABELS,
            generative=True,
            # Input noise makes the autoencoder's own loss random too.
            fixed_noise=dict(input_noise=0.0),
            hold_fixed=fixed_prior_draws,
        ),
        ModelCase(
            "clustering_aae",
            "ClusteringAAE",
            dict(_SMALL, num_clusters=3, input_noise=0.1),
            generative=True,
            fixed_noise=dict(input_noise=0.0),
            hold_fixed=fixed_prior_draws,
        ),
        ModelCase("contractive", "ContractiveAutoencoder", dict(_SMALL)),
        ModelCase(
            "vqvae",
            "VQVAE",
            dict(input_shape=(8, 8, 1), num_embeddings=8, embedding_dim=3, hidden_units=(4, 8),
                 architecture="conv", seed=1),
            x=X_IMG,
            generative=True,
            # Dead-code restarts draw random batch rows.
            fixed_noise=dict(restart_dead_codes=False),
        ),
        ModelCase(
            "stacked",
            "StackedAutoencoder",
            dict(input_shape=(16,), layer_units=(8, 4), seed=1),
        ),
    ]
)


def one_per_class(cases=None):
    """The first case of every model class in ``cases`` (default: all)."""
    first = {}
    for case in MODEL_CASES if cases is None else cases:
        first.setdefault(case.cls_name, case)
    return list(first.values())


def weights_of(model):
    return [np.array(v) for v in model.weights]


def assert_weights_close(a, b, atol=1e-6):
    assert len(a) == len(b)
    for wa, wb in zip(a, b):
        np.testing.assert_allclose(wa, wb, atol=atol, rtol=0)


def assert_config_roundtrip(model):
    """get_config -> JSON -> from_config gives the same config."""
    config = model.get_config()
    json.dumps(config)  # must be JSON-serializable
    clone = model.__class__.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    assert len(clone.weights) == len(model.weights)
    return clone


def run_in_fresh_process(code, timeout=180, env=None):
    """Runs Python ``code`` in a new interpreter; returns its stdout.

    ``env`` adds or overrides environment variables (e.g. ``KERAS_BACKEND``).
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"fresh process failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    return proc.stdout


def compile_sgd(model, learning_rate=0.5, **kwargs):
    """Compiles ``model`` with plain SGD for every optimizer its `compile` takes.

    Parity tests use SGD: Adam's first step normalises the gradient scale, so
    a wrongly scaled loss would go unnoticed.
    """
    params = inspect.signature(model.compile).parameters
    optimizers = {
        name: keras.optimizers.SGD(learning_rate)
        for name in params
        if name.endswith("optimizer")
    }
    model.compile(**optimizers, **kwargs)
    return model


def fit_quietly(model, x, y=None, **kwargs):
    kwargs.setdefault("epochs", 1)
    kwargs.setdefault("batch_size", 16)
    kwargs.setdefault("shuffle", False)
    kwargs.setdefault("verbose", 0)
    return model.fit(x, y, **kwargs)


__all__ = [
    "MODEL_CASES",
    "CONDITIONAL_CASES",
    "LABELS",
    "ModelCase",
    "X_FLAT",
    "X_IMG",
    "weights_of",
    "assert_weights_close",
    "assert_config_roundtrip",
    "run_in_fresh_process",
    "fit_quietly",
    "compile_sgd",
    "one_per_class",
    "keras",
]
