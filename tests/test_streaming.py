"""Every model trains from streamed `tf.data` input (issue 9, item 4).

* A generator-backed `tf.data.Dataset` far longer than the training run
  (``steps_per_epoch`` given) yielding ``x`` or ``(x, y)``: `fit` pulls only
  the batches it needs, so the data never has to fit in memory.
* `keras_ae.datasets.make_dataset` over a directory of ``.npy``/``.npz``
  shards feeds `fit` directly, also under `MirroredStrategy`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_ae  # noqa: E402
from harness import MODEL_CASES  # noqa: E402
from harness import assert_weights_close  # noqa: E402
from harness import one_per_class  # noqa: E402
from harness import weights_of  # noqa: E402

BATCH = 8
STEPS = 3
AVAILABLE_BATCHES = 100_000  # the generator could run ~forever


class _Stream:
    """Random batches of ``x`` drawn on demand, counting what was pulled."""

    def __init__(self, x, with_targets):
        self.x = x
        self.with_targets = with_targets
        self.pulled = 0

    def __call__(self):
        rng = np.random.default_rng(0)
        for _ in range(AVAILABLE_BATCHES):
            self.pulled += 1
            batch = self.x[rng.integers(0, len(self.x), BATCH)]
            yield (batch, batch) if self.with_targets else batch

    def dataset(self):
        spec = tf.TensorSpec((None,) + self.x.shape[1:], tf.float32)
        signature = (spec, spec) if self.with_targets else spec
        return tf.data.Dataset.from_generator(self, output_signature=signature)


def _write_shards(directory, x, num_shards=3):
    """Writes ``x`` as ``.npy`` and uint8 ``.npz`` shards.

    Returns:
        The examples in file order, as `make_dataset` reads them back (uint8
        shards are scaled by 1/255).
    """
    os.makedirs(directory, exist_ok=True)
    stored = []
    for i, part in enumerate(np.array_split(x, num_shards)):
        if i % 2 == 0:
            np.save(os.path.join(directory, f"part{i}.npy"), part)
            stored.append(part)
        else:
            as_uint8 = np.round(part * 255).astype("uint8")
            np.savez(os.path.join(directory, f"part{i}.npz"), x=as_uint8)
            stored.append(as_uint8.astype("float32") / 255.0)
    return np.concatenate(stored)


# One case per model class (each class has its own training step), streaming
# x and (x, y).
# Models that take labels accept arrays only (`accepts_datasets`).
STREAMS = [(c, t) for c in one_per_class() if c.cls.accepts_datasets for t in (False, True)]


@pytest.mark.parametrize(
    "case,with_targets",
    STREAMS,
    ids=[f"{c.id}-{'x_y' if t else 'x'}" for c, t in STREAMS],
)
def test_fit_from_a_generator_longer_than_the_run(case, with_targets):
    model = case.make()
    model.compile()
    stream = _Stream(case.x, with_targets)
    before = weights_of(model)
    history = model.fit(stream.dataset(), epochs=2, steps_per_epoch=STEPS, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 2 * STEPS
    assert all(np.all(np.isfinite(v)) for v in history.history.values())
    assert any(not np.array_equal(a, b) for a, b in zip(before, weights_of(model)))
    # Only the batches used (and a small prefetch) were ever produced.
    assert 2 * STEPS <= stream.pulled < 2 * STEPS + 50, stream.pulled


@pytest.mark.parametrize(
    "case",
    [c for c in MODEL_CASES if c.id in ("ae_dense", "ae_conv")],
    ids=lambda c: c.id,
)
@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_fit_from_make_dataset_over_shards(case, tmp_path):
    """Streaming the shards in file order trains exactly like the arrays."""
    directory = str(tmp_path / "shards")
    x = _write_shards(directory, case.x)
    flatten = len(case.x.shape) == 2
    ds = keras_ae.datasets.make_dataset(
        directory, batch_size=BATCH, shuffle=False, flatten=flatten
    )
    assert ds.element_spec.shape[1:] == case.x.shape[1:]
    streamed = case.make()
    streamed.compile()
    history = streamed.fit(ds, epochs=1, verbose=0)
    assert all(np.all(np.isfinite(v)) for v in history.history.values())
    in_memory = case.make()
    in_memory.compile()
    in_memory.fit(x, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    before = weights_of(case.make())
    assert any(not np.allclose(a, b) for a, b in zip(before, weights_of(streamed)))
    assert_weights_close(weights_of(streamed), weights_of(in_memory), atol=1e-6)
    logs = streamed.evaluate(ds, verbose=0, return_dict=True)
    assert np.isfinite(logs["loss"])


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_make_dataset_shuffles_shards_and_examples(tmp_path):
    directory = str(tmp_path / "shards")
    x = _write_shards(directory, MODEL_CASES[0].x)
    ds = keras_ae.datasets.make_dataset(directory, batch_size=BATCH, seed=0)
    epoch = np.concatenate(list(ds.as_numpy_iterator()))
    assert epoch.shape == x.shape
    assert not np.array_equal(epoch, x)
    key = np.lexsort(epoch.T), np.lexsort(x.T)
    np.testing.assert_array_equal(epoch[key[0]], x[key[1]])


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_make_dataset_streams_into_mirrored_fit(mirrored_strategy, tmp_path):
    """Shards -> tf.data -> fit under the strategy (batches split per replica)."""
    case = MODEL_CASES[0]
    directory = str(tmp_path / "shards")
    _write_shards(directory, case.x, num_shards=4)
    ds = keras_ae.datasets.make_dataset(directory, batch_size=16, seed=0).repeat()
    with mirrored_strategy.scope():
        model = case.make()
        model.compile()
    history = model.fit(ds, epochs=1, steps_per_epoch=5, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 5
    assert np.isfinite(history.history["loss"][-1])
