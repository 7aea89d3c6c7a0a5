"""Every model trains under `tf.distribute.MirroredStrategy` as on one device.

docs/design.md, traps 4, 6, 8 and 12. The session-wide
`mirrored_strategy` fixture (tests/conftest.py) runs two replicas on two
logical CPUs; one strategy serves the whole process (trap 12).

* Parity: one SGD step on the same batch, without a strategy and under the
  strategy, from identical initial weights, gives the same weights (<= 1e-6)
  and the same logged losses, with every random draw held fixed
  (`ModelCase.fixed_noise`). SGD, not Adam: Adam's first step normalises the
  gradient, which would hide a loss scaled by the number of replicas.
* The check has teeth: a model whose step forgets the 1/replicas scaling
  moves twice as far under the strategy and fails it.
* With noise on, the update has the same size.
* Each replica draws its own noise, reproducibly for a given seed.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import ops  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_ae  # noqa: E402
from harness import MODEL_CASES  # noqa: E402
from harness import X_FLAT  # noqa: E402
from harness import X_IMG  # noqa: E402
from harness import ModelCase  # noqa: E402
from harness import assert_weights_close  # noqa: E402
from harness import compile_sgd  # noqa: E402
from harness import one_per_class  # noqa: E402
from harness import weights_of  # noqa: E402
from keras_ae.layers.random_layer import RandomLayer  # noqa: E402
from keras_ae.layers.sampling import Sampling  # noqa: E402
from keras_ae.priors import Prior  # noqa: E402

BATCH = 16
LEARNING_RATE = 0.5


def _regularized_encoder():
    """A user encoder with a kernel (weight) and an activity regularizer."""
    init = keras.initializers.GlorotUniform(seed=3)
    return keras.Sequential(
        [
            keras.Input((16,)),
            keras.layers.Dense(
                8,
                activation="relu",
                kernel_initializer=init,
                kernel_regularizer=keras.regularizers.L2(0.05),
            ),
            keras.layers.Dense(
                4,
                kernel_initializer=init,
                activity_regularizer=keras.regularizers.L1(0.05),
            ),
        ],
        name="regularized_encoder",
    )


class _RegularizedCase(ModelCase):
    """Autoencoder whose (fresh) user encoder adds regularizer losses."""

    def make(self, **overrides):
        overrides.setdefault("encoder", _regularized_encoder())
        return super().make(**overrides)


REGULARIZED_CASES = [
    _RegularizedCase(
        "ae_user_regularized",
        "Autoencoder",
        dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1),
    )
]
PARITY_CASES = pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id) for c in MODEL_CASES + REGULARIZED_CASES]
)
# The VQ-VAE's only random draw (dead-code restart candidates) never changes
# a step's losses: the per-replica noise tests do not apply to it.
STOCHASTIC = [c for c in MODEL_CASES if c.stochastic and c.cls_name != "VQVAE"]
# The first case of every model class (slower checks run on these only).
FIRST_OF_CLASS = {c.id for c in one_per_class()}


class _NaiveAutoencoder(keras_ae.Autoencoder):
    """A deliberately wrong step: no 1/replicas scaling (trap 4)."""

    def train_step(self, data):
        x, y, sample_weight = self.unpack(data)
        with tf.GradientTape() as tape:
            terms, y_pred = self.compute_loss_terms(
                x, y, sample_weight=sample_weight, training=True
            )
        variables = self.trainable_variables
        gradients = tape.gradient(terms["loss"], variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self.update_metrics(terms, x, y, y_pred, sample_weight)


def _fit_one_step(model, x):
    return model.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)


def _one_step_pair(make, x, strategy):
    """One SGD step without and with ``strategy``; models built by ``make``."""
    ref = compile_sgd(make(), LEARNING_RATE)
    start = weights_of(ref)
    ref_logs = _fit_one_step(ref, x).history
    with strategy.scope():
        dist = compile_sgd(make(), LEARNING_RATE)
        assert_weights_close(weights_of(dist), start, atol=0)
        # fit(x) without targets, inside the scope.
        dist_logs = _fit_one_step(dist, x).history
    return start, (ref, ref_logs), (dist, dist_logs)


def _deltas(model, start):
    return [w - s for w, s in zip(weights_of(model), start)]


def _global_norm(arrays):
    return float(np.sqrt(sum(np.sum(np.square(a)) for a in arrays)))


def _assert_parity(start, ref, dist, atol=1e-6):
    """Same weights after the step, and a step far larger than ``atol``."""
    step = max(float(np.max(np.abs(d))) for d in _deltas(ref, start))
    assert step > 1e3 * atol, f"the step is too small to test anything: {step}"
    assert_weights_close(weights_of(dist), weights_of(ref), atol=atol)


@PARITY_CASES
def test_one_step_matches_single_device(case, mirrored_strategy):
    x = case.x[:BATCH]
    start, (ref, ref_logs), (dist, dist_logs) = _one_step_pair(
        case.make_fixed, x, mirrored_strategy
    )
    assert mirrored_strategy.num_replicas_in_sync == 2
    _assert_parity(start, ref, dist)
    # Metrics see the unscaled per-replica values, averaged over replicas.
    assert set(dist_logs) == set(ref_logs)
    for name, values in ref_logs.items():
        np.testing.assert_allclose(dist_logs[name], values, rtol=1e-5, atol=1e-6)
    if case.id not in FIRST_OF_CLASS:
        return
    # test_step: the same evaluation, inside the scope too.
    expected = ref.evaluate(x, batch_size=BATCH, verbose=0, return_dict=True)
    with mirrored_strategy.scope():
        got = dist.evaluate(x, batch_size=BATCH, verbose=0, return_dict=True)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-6)
    # XLA (what Keras picks on GPU): the same step. (Not under the strategy
    # here: XLA cannot place variables across the logical CPUs of one
    # physical device, plain Keras fails there too.)
    xla = compile_sgd(case.make_fixed(), LEARNING_RATE, jit_compile=True)
    _fit_one_step(xla, x)
    if hasattr(case.cls, "draw_prior"):
        # Prior draws stay on, and TF's stateless random kernels give other
        # numbers under XLA: compare the size of the update.
        ratio = _global_norm(_deltas(xla, start)) / _global_norm(_deltas(ref, start))
        assert 0.8 < ratio < 1.25, ratio
    else:
        _assert_parity(start, ref, xla)


@pytest.mark.parametrize("ema", [True, False], ids=["ema", "gradient"])
def test_vqvae_codebook_statistics_and_restarts_match_single_device(ema, mirrored_strategy):
    """Codebook counts and sums are summed over the replicas, and dead-code
    restarts draw the same global-batch rows on every replica: two replicas
    make the one-device update, every code restarted (threshold 1e3)."""

    def make():
        return keras_ae.VQVAE(
            input_shape=(8, 8, 1), num_embeddings=8, embedding_dim=3, hidden_units=(4, 8),
            architecture="conv", seed=1, ema=ema, restart_threshold=1e3,
        )

    x = X_IMG[:BATCH]
    start, (ref, _), (dist, _) = _one_step_pair(make, x, mirrored_strategy)
    # Every code was restarted: each codebook row is one of the step's
    # encoder outputs (the encoder before the update, i.e. a fresh model's).
    codebook = ops.convert_to_numpy(ref.quantizer.embeddings)
    codes = ops.convert_to_numpy(make().encoder(x)).reshape(-1, 3)
    nearest = np.min(np.sum((codebook[:, None] - codes[None]) ** 2, -1), axis=1)
    assert np.max(nearest) < 1e-4, nearest
    _assert_parity(start, ref, dist)


def test_regularizer_losses_take_part_in_the_parity_step():
    """The regularized case really adds losses (so its parity covers them)."""
    model = REGULARIZED_CASES[0].make()
    model(X_FLAT[:BATCH], training=True)
    assert len(model.losses) == 2
    assert float(model.regularization_loss()) > 1e-3


def test_naive_step_fails_the_parity_check(mirrored_strategy):
    """Without 1/replicas scaling the update doubles: the check catches it."""
    x = X_FLAT[:BATCH]

    def make():
        return _NaiveAutoencoder(
            input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1, name="naive"
        )

    start, (ref, _), (dist, _) = _one_step_pair(make, x, mirrored_strategy)
    with pytest.raises(AssertionError):
        _assert_parity(start, ref, dist)
    for d_ref, d_dist in zip(_deltas(ref, start), _deltas(dist, start)):
        np.testing.assert_allclose(d_dist, 2.0 * d_ref, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize(
    "case", [c for c in STOCHASTIC if c.id in FIRST_OF_CLASS], ids=lambda c: c.id
)
def test_one_step_update_size_with_noise_on(case, mirrored_strategy):
    """Noise on: other draws, but an update of the same size (not 2x)."""
    x = case.x
    start, (ref, _), (dist, _) = _one_step_pair(case.make, x, mirrored_strategy)
    ratio = _global_norm(_deltas(dist, start)) / _global_norm(_deltas(ref, start))
    assert 0.8 < ratio < 1.25, ratio


# ------------------------------------------------------ noise per replica


def _random_layers(model):
    layers = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, RandomLayer)
    ]
    # Priors are marked built without a build call, so their path is None.
    return sorted(set(layers), key=lambda layer: (layer.path or "", layer.name))


def _draw(layer, x, latent_dim):
    """One training-mode draw of ``layer`` on a batch of ``x``."""
    n = tf.shape(x)[0]
    if isinstance(layer, Sampling):
        zeros = tf.zeros((n, latent_dim))
        return layer([zeros, zeros], training=True)
    if isinstance(layer, Prior):
        return layer(tf.zeros((n, latent_dim)))
    return layer(x, training=True)


def _per_replica(strategy, fn, x):
    """``fn(x)`` on every replica, all replicas fed the same ``x``."""

    @tf.function
    def run(x):
        return strategy.run(fn, args=(x,))

    results = strategy.experimental_local_results(run(tf.constant(x)))
    return [tf.nest.map_structure(np.asarray, r) for r in results]


def _replica_draws(model, x, strategy):
    layers = _random_layers(model)
    return [
        _per_replica(strategy, lambda v, l=layer: _draw(l, v, model.latent_dim), x)
        for layer in layers
    ]


def _replica_losses(model, x, strategy, term="loss"):
    def loss(v):
        terms, _ = model.compute_loss_terms(v, v, training=True)
        return terms[term]

    return [float(v) for v in _per_replica(strategy, loss, x)]


@pytest.mark.parametrize("case", STOCHASTIC, ids=lambda c: c.id)
def test_replicas_draw_independent_reproducible_noise(case, mirrored_strategy):
    """Fails if two replicas drew the same noise (trap 8)."""
    x = case.x[:8]
    with mirrored_strategy.scope():
        model = case.make()
        again = case.make()
    draws = _replica_draws(model, x, mirrored_strategy)
    assert draws, f"{case.id} is marked stochastic but has no random layer"
    for per_replica in draws:
        first, second = per_replica
        assert not np.allclose(first, second), "replicas drew identical noise"
    # Same seed and replica count: the same draws on every replica.
    for per_replica, repeated in zip(draws, _replica_draws(again, x, mirrored_strategy)):
        for a, b in zip(per_replica, repeated):
            np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not STOCHASTIC, reason="no stochastic model case")
def test_noise_check_catches_replicas_sharing_a_seed(mirrored_strategy, monkeypatch):
    """Without the per-replica seed (trap 8) every replica draws the same
    noise: the checks above would fail."""
    from keras_ae import backend

    monkeypatch.setattr(backend, "replica_seed", lambda gen: gen.next())
    case = STOCHASTIC[0]
    x = case.x[:8]
    with mirrored_strategy.scope():
        model = case.make()
    for first, second in _replica_draws(model, x, mirrored_strategy):
        np.testing.assert_array_equal(first, second)
    losses = _replica_losses(model, x, mirrored_strategy)
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)


@pytest.mark.parametrize(
    "case", [c for c in MODEL_CASES if hasattr(c.cls, "draw_prior")], ids=lambda c: c.id
)
def test_prior_draws_differ_per_replica_and_match_one_device(case, mirrored_strategy):
    """Adversarial models: each replica pairs its codes with other prior
    draws, and the replicas' draws together are the one-device draw of the
    global batch (so the parity test holds with the draws on)."""
    x = case.x[:8]
    with mirrored_strategy.scope():
        model = case.make()
    codes = np.asarray(model.encoder(x))
    draws = _per_replica(
        mirrored_strategy, lambda c: model.draw_prior(c, training=True), codes
    )
    assert not np.allclose(draws[0], draws[1]), "replicas drew identical priors"
    single = case.make()
    expected = single.draw_prior(tf.constant(np.concatenate([codes, codes])), training=True)
    np.testing.assert_allclose(np.concatenate(draws), np.asarray(expected), atol=1e-6)


@pytest.mark.parametrize(
    "case", STOCHASTIC + [c for c in MODEL_CASES if not c.stochastic][:1], ids=lambda c: c.id
)
def test_same_batch_gives_per_replica_losses_differing_only_by_noise(
    case, mirrored_strategy
):
    """The model's own loss sees independent draws on each replica.

    Both replicas get the same batch: with every draw held fixed (and for
    deterministic models) their losses are equal; with noise on they differ.
    """
    x = case.x[:8]
    with mirrored_strategy.scope():
        fixed = case.make_fixed()
    losses = _replica_losses(fixed, x, mirrored_strategy, case.noisy_term)
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    if case.stochastic:
        with mirrored_strategy.scope():
            noisy = case.make()
        losses = _replica_losses(noisy, x, mirrored_strategy, case.noisy_term)
        assert losses[0] != pytest.approx(losses[1], rel=1e-6), losses


# ------------------------------------------------------ greedy pretraining


@pytest.mark.skipif(
    not hasattr(keras_ae, "greedy_pretrain"), reason="greedy_pretrain not exported"
)
def test_greedy_pretraining_stages_match_single_device(mirrored_strategy, monkeypatch):
    """Every stage (sparse + denoising layers, noise held at level 0) and the
    fine-tuning step of the stack give the same weights under the strategy."""
    import keras_ae.pretraining

    # Batches in a fixed order. Keras's `fit` under a strategy pulls one
    # batch from a fresh iterator before training (`_maybe_symbolic_build`),
    # so a dataset that reshuffles every iteration starts the epoch on
    # another order than on one device.
    monkeypatch.setattr(
        keras_ae.pretraining,
        "_shuffled_batches",
        lambda h, batch_size, seed: tf.data.Dataset.from_tensor_slices(h).batch(batch_size),
    )

    def pretrain():
        return keras_ae.greedy_pretrain(
            X_FLAT,
            (8, 4),
            noise="masking",
            noise_level=0.0,
            sparsity="kl",
            epochs=1,
            batch_size=BATCH,
            optimizer=lambda: keras.optimizers.SGD(LEARNING_RATE),
            verbose=0,
            seed=0,
        )

    untrained = keras_ae.greedy_pretrain(X_FLAT, (8, 4), epochs=0, verbose=0, seed=0)
    ref = pretrain()
    with mirrored_strategy.scope():
        dist = pretrain()
    moved = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(weights_of(ref), weights_of(untrained))
    )
    assert moved > 1e-2, moved
    assert_weights_close(weights_of(dist), weights_of(ref), atol=1e-6)
    for got, want in zip(
        dist.pretraining_summary_["layers"], ref.pretraining_summary_["layers"]
    ):
        assert got["class"] == want["class"]
        np.testing.assert_allclose(got["final"]["loss"], want["final"]["loss"], rtol=1e-5)
    # End-to-end fine-tuning: one step of the stack.
    start = weights_of(ref)
    compile_sgd(ref, LEARNING_RATE)
    _fit_one_step(ref, X_FLAT[:BATCH])
    with mirrored_strategy.scope():
        compile_sgd(dist, LEARNING_RATE)
        _fit_one_step(dist, X_FLAT[:BATCH])
    _assert_parity(start, ref, dist)
