"""The model table behind ``keras-ae`` and the pretrained zoo.

Every model type of the zoo is one `Recipe`: its command-line name, the
class (or function) that implements it, the paper, what it is for, its
default constructor arguments and how much it trains in ``keras-ae demo``.
`build` and `train` turn a recipe into a trained model with the same code
path for the CLI, the demo and ``tools/make_zoo.py``.

Example:
```python
from keras_ae.app import recipes

recipe = recipes.get("vae")
model, history = recipes.train(
    recipe, x_train, x_test, input_shape=(64,), latent_dim=2,
    hidden_units=(64, 32), epochs=5, batch_size=64, verbose=0,
)
```
"""

import dataclasses

import keras

from keras_ae.models import AdversarialAutoencoder
from keras_ae.models import Autoencoder
from keras_ae.models import DenoisingAutoencoder
from keras_ae.models import SparseAutoencoder
from keras_ae.models import VariationalAutoencoder
from keras_ae.pretraining import greedy_pretrain

__all__ = ["RECIPES", "Recipe", "build", "get", "names", "parse_noise", "train"]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One model type of the zoo.

    Args:
        name: command-line name (``keras-ae train NAME``).
        implementation: the model class (or `greedy_pretrain`).
        title: human-readable name.
        paper: short citation.
        purpose: what the model is for, in one line.
        defaults: constructor arguments that differ from the common defaults.
        demo: settings of ``keras-ae demo`` on the digits: ``latent_dim``,
            ``epochs`` and optionally ``hidden_units``, ``batch_size``,
            ``learning_rate``.
        aliases: other accepted names.
        noisy: whether the model corrupts its inputs (takes ``--noise``).
    """

    name: str
    implementation: object
    title: str
    paper: str
    purpose: str
    defaults: dict = dataclasses.field(default_factory=dict)
    demo: dict = dataclasses.field(default_factory=dict)
    aliases: tuple = ()
    noisy: bool = False

    @property
    def generative(self):
        """Whether the model samples (the model class says so)."""
        return not self.stacked and self.implementation.generative

    @property
    def stacked(self):
        return self.implementation is greedy_pretrain

    @property
    def class_name(self):
        return self.implementation.__name__


#: Training steps per compiled call used by `train` (and the CLI): measured
#: 1.1-1.2x faster than 1 on CPU with TensorFlow, with identical weights.
#: Keras 3.15 runs torch one step at a time (it refuses any other value).
STEPS_PER_EXECUTION = 1 if keras.backend.backend() == "torch" else 32

RECIPES = (
    Recipe(
        name="autoencoder",
        aliases=("ae",),
        implementation=Autoencoder,
        title="Autoencoder",
        paper="Hinton & Salakhutdinov, Science 2006",
        purpose="compression and features: an undercomplete encoder/decoder",
        demo=dict(latent_dim=8, epochs=60),
    ),
    Recipe(
        name="sparse",
        implementation=SparseAutoencoder,
        title="Sparse autoencoder",
        paper="Ng, CS294A lecture notes 2011",
        purpose="sparse, interpretable features (KL penalty on mean activation)",
        defaults=dict(hidden_units=(), activation="sigmoid", sparsity="kl"),
        demo=dict(latent_dim=64, hidden_units=(), epochs=60, learning_rate=3e-3),
    ),
    Recipe(
        name="denoising",
        aliases=("dae",),
        implementation=DenoisingAutoencoder,
        title="Denoising autoencoder",
        paper="Vincent et al., ICML 2008",
        purpose="robust features; removes noise from corrupted inputs",
        defaults=dict(noise="masking"),
        demo=dict(latent_dim=8, epochs=60),
        noisy=True,
    ),
    Recipe(
        name="stacked",
        aliases=("sda",),
        implementation=greedy_pretrain,
        title="Stacked (greedy) autoencoder",
        paper="Bengio et al., NIPS 2006; Vincent et al., JMLR 2010",
        purpose="deep encoders pretrained layer by layer, then fine-tuned",
        defaults=dict(noise="masking"),
        demo=dict(latent_dim=8, epochs=30, learning_rate=3e-3),
        noisy=True,
    ),
    Recipe(
        name="vae",
        implementation=VariationalAutoencoder,
        title="Variational autoencoder",
        paper="Kingma & Welling, ICLR 2014",
        purpose="a generative model with a smooth latent space and log p(x)",
        demo=dict(latent_dim=2, epochs=80),
    ),
    Recipe(
        name="aae",
        implementation=AdversarialAutoencoder,
        title="Adversarial autoencoder",
        paper="Makhzani et al., ICLR 2016 workshop (arXiv 2015)",
        purpose="codes shaped to any prior by a discriminator; sampling",
        demo=dict(latent_dim=2, epochs=40, batch_size=32),
    ),
)


def names():
    """Command-line names of every recipe (available or not)."""
    return [r.name for r in RECIPES]


def get(name):
    """The recipe called ``name`` (or one of its aliases).

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
    """
    key = str(name).strip().lower().replace("-", "_")
    for recipe in RECIPES:
        if key == recipe.name or key in recipe.aliases or key == recipe.class_name.lower():
            return recipe
    raise ValueError(
        f"Unknown model {name!r}; choose one of: {', '.join(names())}. "
        f"Received: model={name!r}"
    )


def parse_noise(spec):
    """``"masking"`` or ``"masking:0.5"`` -> ``("masking", 0.5)`` (level may be None)."""
    if spec is None:
        return None, None
    kind, _, level = str(spec).partition(":")
    if not level:
        return kind, None
    try:
        return kind, float(level)
    except ValueError:
        raise ValueError(
            "`--noise` must be KIND or KIND:LEVEL, e.g. 'masking:0.3' or "
            f"'gaussian:0.2'. Received: noise={spec!r}"
        ) from None


def build(recipe, input_shape, *, noise=None, seed=0, **kwargs):
    """Builds an untrained model of ``recipe``.

    Args:
        recipe: a `Recipe` (or its name).
        input_shape: shape of one example.
        noise: ``--noise`` spec (``"kind[:level]"``) for noisy recipes.
        seed: integer seed.
        **kwargs: constructor arguments (``latent_dim``, ``hidden_units``...)
            overriding the recipe's defaults. ``None`` values are ignored.

    Returns:
        A compiled-ready `keras_ae` model (not compiled). Stacked recipes are
        built by `train` (greedy pretraining needs the data).
    """
    recipe = get(recipe) if isinstance(recipe, str) else recipe
    if recipe.stacked:
        raise ValueError("The stacked autoencoder is built by `recipes.train`.")
    if noise is not None and not recipe.noisy:
        raise ValueError(
            f"`--noise` only applies to the denoising and stacked models; "
            f"{recipe.name!r} does not corrupt its inputs. Received: noise={noise!r}"
        )
    config = dict(recipe.defaults)
    config.update({k: v for k, v in kwargs.items() if v is not None})
    if recipe.noisy and noise is not None:
        config["noise"], config["noise_level"] = parse_noise(noise)
    return recipe.implementation(input_shape=tuple(input_shape), seed=seed, **config)


def train(
    recipe,
    x_train,
    x_val=None,
    *,
    input_shape,
    latent_dim=None,
    hidden_units=None,
    noise=None,
    architecture=None,
    epochs=10,
    batch_size=128,
    learning_rate=None,
    seed=0,
    callbacks=None,
    verbose="auto",
    steps_per_execution=STEPS_PER_EXECUTION,
):
    """Builds, compiles and fits a model of ``recipe``.

    Args:
        recipe: a `Recipe` (or its name).
        x_train: training data, shape ``(N,) + input_shape``.
        x_val: optional validation data (shown as ``val_*`` in the history).
        input_shape: shape of one example.
        latent_dim: code size (recipe default if None).
        hidden_units: hidden layer sizes (recipe default if None).
        noise: ``"kind[:level]"`` corruption for noisy recipes.
        architecture: ``"dense"`` or ``"conv"`` (default dense).
        epochs: training epochs (for the stacked recipe: per pretrained layer,
            and again for fine-tuning).
        batch_size: batch size.
        learning_rate: Adam learning rate (default 1e-3; the AAE keeps its
            own defaults for the adversarial optimizers).
        seed: integer seed of the initialisation, the noise and Keras's
            global random state (`keras.utils.set_random_seed`).
        callbacks: Keras callbacks for the (final) `fit`.
        verbose: `fit` verbosity.
        steps_per_execution: training steps per call into TensorFlow
            (`keras.Model.compile`). The default, 32, trains 1.1-1.2x faster
            than 1 on CPU with identical weights (README "Performance"); batch
            callbacks and the progress bar then run every 32 steps. Pass 1 for
            callbacks that must see every step.

    Returns:
        ``(model, history)``.
    """
    recipe = get(recipe) if isinstance(recipe, str) else recipe
    keras.utils.set_random_seed(seed)
    validation = None if x_val is None else (x_val,)
    if recipe.stacked:
        return _train_stacked(
            recipe, x_train, validation, input_shape=input_shape,
            latent_dim=latent_dim, hidden_units=hidden_units, noise=noise,
            epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
            seed=seed, callbacks=callbacks, verbose=verbose,
            steps_per_execution=steps_per_execution,
        )
    model = build(
        recipe, input_shape, noise=noise, seed=seed, latent_dim=latent_dim,
        hidden_units=hidden_units, architecture=architecture,
    )
    return _compile_and_fit(
        model, x_train, validation, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, callbacks=callbacks, verbose=verbose,
        steps_per_execution=steps_per_execution,
    )


def _train_stacked(recipe, x_train, validation, *, input_shape, latent_dim,
                   hidden_units, noise, epochs, batch_size, learning_rate, seed,
                   callbacks, verbose, steps_per_execution):
    if len(tuple(input_shape)) != 1:
        raise ValueError(
            "The stacked autoencoder is dense: it needs flat inputs. "
            f"Received: input_shape={tuple(input_shape)}"
        )
    hidden = tuple(hidden_units) if hidden_units is not None else (512, 256)
    layer_units = hidden + (int(latent_dim or 32),)
    kind, level = parse_noise(noise if noise is not None else recipe.defaults.get("noise"))
    optimizer = None if learning_rate is None else keras.optimizers.Adam(learning_rate)
    model = recipe.implementation(
        x_train,
        layer_units,
        noise=kind,
        noise_level=level,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        seed=seed,
        verbose=0,
    )
    return _compile_and_fit(
        model, x_train, validation, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, callbacks=callbacks, verbose=verbose,
        steps_per_execution=steps_per_execution,
    )


def _compile_and_fit(model, x_train, validation, *, epochs, batch_size, learning_rate,
                     callbacks, verbose, steps_per_execution):
    """Compiles ``model`` with Adam(``learning_rate``) (model default if None) and fits it."""
    optimizer = None if learning_rate is None else keras.optimizers.Adam(learning_rate)
    model.compile(optimizer=optimizer, steps_per_execution=steps_per_execution)
    history = model.fit(
        x_train, epochs=epochs, batch_size=batch_size, validation_data=validation,
        callbacks=callbacks, verbose=verbose,
    )
    return model, history
