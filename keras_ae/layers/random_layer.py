"""Base class for keras_ae layers that draw random numbers."""

import keras

from keras_ae import backend


class RandomLayer(keras.layers.Layer):
    """A layer with one seeded `SeedGenerator` whose state is saved.

    Keras does not save a `SeedGenerator`'s state with the model weights
    (docs/design.md, trap 2), so a reloaded model would restart its
    random stream. This base class appends the generator state to the layer's
    saved variables and restores it on load, and draws per-replica seeds
    under `tf.distribute` through `keras_ae.backend.replica_seed`.

    Subclasses call `self.next_seed()` once per random op and draw with
    `keras_ae.rng`, e.g. ``rng.normal(shape, self.next_seed())``.

    Args:
        seed: optional integer seed of the layer's `SeedGenerator`.
        **kwargs: base `keras.layers.Layer` arguments.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and not isinstance(seed, int):
            raise ValueError(
                f"Argument `seed` must be an integer or None. Received: seed={seed!r}"
            )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def next_seed(self):
        """A fresh seed tensor, distinct on every replica."""
        return backend.replica_seed(self.seed_generator)

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["seed_generator_state"] = self.seed_generator.state

    def load_own_variables(self, store):
        if "seed_generator_state" in store:
            self.seed_generator.state.assign(store["seed_generator_state"])
        own = {k: store[k] for k in store.keys() if k != "seed_generator_state"}
        super().load_own_variables(own)

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config
