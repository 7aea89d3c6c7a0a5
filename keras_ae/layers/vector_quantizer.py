"""Vector quantisation with a learned codebook (van den Oord et al. 2017)."""

import keras
from keras import ops

from keras_ae import backend
from keras_ae import rng
from keras_ae import validation
from keras_ae.layers.random_layer import RandomLayer


@keras.saving.register_keras_serializable(package="keras_ae")
class VectorQuantizer(RandomLayer):
    """Maps each vector of the last axis to its nearest codebook entry.

    For inputs ``z`` of shape ``(..., embedding_dim)`` each vector is replaced
    by its nearest entry ``e_k`` of a ``(num_embeddings, embedding_dim)``
    codebook (Euclidean distance). Gradients pass straight through
    (``z + stop_gradient(e_k - z)``). `compute_quantization` also returns the codes and
    the per-example losses:

    * commitment loss ``||z - sg(e_k)||^2`` (weighted by ``commitment_cost``,
      0.25 in the paper), summed over every vector of an example;
    * with ``ema=False`` the codebook loss ``||sg(z) - e_k||^2`` trains the
      codebook by gradient; with ``ema=True`` (the paper's appendix A.1) the
      codebook is not trainable and every training call updates
      ``N_k <- decay N_k + (1 - decay) n_k``,
      ``m_k <- decay m_k + (1 - decay) sum_{z -> k} z`` and
      ``e_k = m_k / N~_k``, where ``n_k`` counts the batch vectors assigned
      to ``k`` and ``N~`` is ``N`` with Laplace smoothing
      ``(N_k + epsilon) / (sum N + K epsilon) * sum N`` (as in Sonnet).
      ``N`` starts at 1 and ``m`` at the initial codebook.
    * dead-code restarts (Dhariwal et al. 2020): a code whose moving usage
      count ``N_k`` (kept in both modes) falls below ``restart_threshold`` is
      replaced by a random input vector of the current batch, with
      ``N_k = 1`` (and ``m_k`` = that vector). With ``ema=True`` this happens
      inside the training call; with ``ema=False`` the codebook is a
      trainable weight, so the call only stores the candidates and the model
      calls `restart_dead_codes` in a separate step of its training phases.

    Everything runs in float32 (the layer's dtype is float32 under mixed
    precision); the quantized output is cast back to the input dtype. The
    EMA and usage statistics are non-trainable weights updated by variable
    assignment, which `keras_ae.backend` applies on every backend (carried
    out of the jitted step on JAX). Under `tf.distribute` the counts and
    sums are summed over the replicas and restart candidates are drawn from
    the global batch with a seed shared by the replicas, so every replica
    makes the one-device update.

    Args:
        num_embeddings: codebook size K.
        embedding_dim: size D of each code vector (the inputs' last axis).
        commitment_cost: weight beta of the commitment loss (>= 0).
        ema: update the codebook by exponential moving averages (True) or
            by gradient descent on the codebook loss (False).
        decay: EMA decay (in [0, 1)) of the codebook and usage statistics.
        epsilon: Laplace smoothing of the EMA counts (> 0).
        restart_dead_codes: restart codes whose usage falls below
            ``restart_threshold``.
        restart_threshold: usage count (moving average of assignments per
            batch) below which a code is dead (> 0).
        seed: optional integer seed (codebook initialisation and restarts).
        **kwargs: base layer arguments.

    Example:
        >>> vq = VectorQuantizer(num_embeddings=64, embedding_dim=8, seed=0)
        >>> out = vq.compute_quantization(keras.random.normal((2, 7, 7, 8)), training=True)
        >>> out["indices"].shape, out["quantized"].shape
        ((2, 7, 7), (2, 7, 7, 8))
    """

    def __init__(
        self,
        num_embeddings=512,
        embedding_dim=64,
        commitment_cost=0.25,
        ema=True,
        decay=0.99,
        epsilon=1e-5,
        restart_dead_codes=True,
        restart_threshold=1.0,
        seed=None,
        **kwargs,
    ):
        kwargs["dtype"] = "float32"
        super().__init__(seed=validation.integer(seed, "seed", allow_none=True), **kwargs)
        self.num_embeddings = validation.integer(num_embeddings, "num_embeddings", low=1)
        self.embedding_dim = validation.integer(embedding_dim, "embedding_dim", low=1)
        self.commitment_cost = validation.number(commitment_cost, "commitment_cost", low=0.0)
        if not isinstance(ema, bool):
            raise ValueError(f"`ema` must be True or False. Received: ema={ema!r}")
        if not isinstance(restart_dead_codes, bool):
            raise ValueError(
                "`restart_dead_codes` must be True or False. "
                f"Received: restart_dead_codes={restart_dead_codes!r}"
            )
        self.ema = ema
        self.decay = validation.number(decay, "decay", low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = validation.number(epsilon, "epsilon", low=0.0, low_inclusive=False)
        self.restart_dead_codes = restart_dead_codes
        self.restart_threshold = validation.number(
            restart_threshold, "restart_threshold", low=0.0, low_inclusive=False
        )

    def build(self, input_shape):
        if input_shape[-1] is not None and int(input_shape[-1]) != self.embedding_dim:
            raise ValueError(
                f"The last axis of the inputs must have size embedding_dim="
                f"{self.embedding_dim}. Received: input_shape={tuple(input_shape)}"
            )
        k, d = self.num_embeddings, self.embedding_dim
        init = keras.initializers.RandomUniform(-1.0, 1.0, seed=self.seed)
        self.embeddings = self.add_weight(
            shape=(k, d), initializer=init, trainable=not self.ema, name="embeddings"
        )
        # Moving usage count N_k: the EMA cluster size, and what restarts read.
        self.cluster_size = self.add_weight(
            shape=(k,), initializer="ones", trainable=False, name="cluster_size"
        )
        self.embedding_sum = None
        if self.ema:
            self.embedding_sum = self.add_weight(
                shape=(k, d), initializer="zeros", trainable=False, name="embedding_sum"
            )
            # A copy: on JAX two variables must not share one buffer.
            self.embedding_sum.assign(ops.copy(self.embeddings.value))
        self.restart_candidates = None
        if self.restart_dead_codes and not self.ema:
            self.restart_candidates = self.add_weight(
                shape=(k, d), initializer="zeros", trainable=False, name="restart_candidates"
            )
        self.built = True

    # ------------------------------------------------------------------ maths
    def codes(self, inputs):
        """Indices (int32, shape ``inputs.shape[:-1]``) of the nearest codes."""
        flat = ops.reshape(ops.cast(inputs, "float32"), (-1, self.embedding_dim))
        return ops.reshape(self._nearest(flat), ops.shape(inputs)[:-1])

    def _nearest(self, flat):
        e = ops.convert_to_tensor(self.embeddings)
        distances = (
            ops.sum(flat**2, axis=1, keepdims=True)
            - 2.0 * ops.matmul(flat, ops.transpose(e))
            + ops.sum(e**2, axis=1)[None, :]
        )
        return backend.argmin(distances, axis=1)

    def lookup(self, indices):
        """Code vectors (float32) of integer ``indices``: shape ``indices.shape + (D,)``."""
        return ops.take(ops.convert_to_tensor(self.embeddings), ops.cast(indices, "int32"), axis=0)

    def compute_quantization(self, inputs, training=False):
        """Quantizes ``inputs`` and, in training, updates the codebook statistics.

        Args:
            inputs: tensor ``(batch, ..., embedding_dim)``.
            training: update the EMA codebook / usage counts and restart
                dead codes.

        Returns:
            A dict: ``quantized`` (straight-through, input dtype),
            ``indices`` (int32), ``codes`` (the nearest code vectors, float32),
            ``vq_loss`` (per example: ``commitment_cost * commitment`` plus
            the codebook loss when ``ema=False``), ``commitment_loss`` (per
            example, unweighted), ``perplexity`` and ``usage`` (fraction of
            codes used by this batch) scalars.
        """
        z = ops.cast(inputs, "float32")
        flat = ops.reshape(z, (-1, self.embedding_dim))
        indices = self._nearest(flat)
        one_hot = ops.one_hot(indices, self.num_embeddings, dtype="float32")
        counts = ops.sum(one_hot, axis=0)
        codes = ops.reshape(self.lookup(indices), ops.shape(z))

        axes = tuple(range(1, len(z.shape)))
        commitment = ops.sum((z - ops.stop_gradient(codes)) ** 2, axis=axes)
        vq_loss = self.commitment_cost * commitment
        if not self.ema:
            vq_loss = vq_loss + ops.sum((ops.stop_gradient(z) - codes) ** 2, axis=axes)
        probs = counts / ops.maximum(ops.sum(counts), 1.0)
        perplexity = ops.exp(-ops.sum(probs * ops.log(probs + 1e-10)))
        usage = ops.mean(ops.cast(counts > 0, "float32"))

        if training:
            self._update_statistics(ops.stop_gradient(flat), one_hot, counts)

        quantized = z + ops.stop_gradient(codes - z)
        return {
            "quantized": ops.cast(quantized, inputs.dtype),
            "indices": ops.reshape(indices, ops.shape(z)[:-1]),
            "codes": codes,
            "vq_loss": vq_loss,
            "commitment_loss": commitment,
            "perplexity": perplexity,
            "usage": usage,
        }

    def _update_statistics(self, flat, one_hot, counts):
        # Global-batch statistics: identical on every replica.
        d = self.decay
        cluster_size = d * self.cluster_size + (1.0 - d) * backend.global_sum(counts)
        candidates = None
        if self.restart_dead_codes:
            every_row, _ = backend.global_batch(flat)
            seed = self.seed_generator.next()  # the same on every replica
            rows = rng.randint((self.num_embeddings,), ops.shape(every_row)[0], seed)
            candidates = ops.take(every_row, rows, axis=0)
        if not self.ema:
            self.cluster_size.assign(cluster_size)
            if candidates is not None:
                self.restart_candidates.assign(candidates)
            return
        embedding_sum = d * self.embedding_sum + (1.0 - d) * backend.global_sum(
            ops.matmul(ops.transpose(one_hot), flat)
        )
        if candidates is not None:
            dead = (cluster_size < self.restart_threshold)[:, None]
            embedding_sum = ops.where(dead, candidates, embedding_sum)
            cluster_size = ops.where(dead[:, 0], 1.0, cluster_size)
        total = ops.sum(cluster_size)
        k = self.num_embeddings
        smoothed = (cluster_size + self.epsilon) / (total + k * self.epsilon) * total
        self.cluster_size.assign(cluster_size)
        self.embedding_sum.assign(embedding_sum)
        self.embeddings.assign(embedding_sum / smoothed[:, None])

    def apply_restarts(self):
        """``ema=False``: replaces dead codes by the candidates of the last training call."""
        if self.ema or not self.restart_dead_codes:
            return
        cluster_size = self.cluster_size.value
        dead = cluster_size < self.restart_threshold
        self.embeddings.assign(
            ops.where(dead[:, None], self.restart_candidates.value, self.embeddings.value)
        )
        self.cluster_size.assign(ops.where(dead, 1.0, cluster_size))

    def call(self, inputs, training=False):
        """The straight-through quantized inputs (see `compute_quantization` for the rest)."""
        return self.compute_quantization(inputs, training=training)["quantized"]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        config.update(
            {
                "num_embeddings": self.num_embeddings,
                "embedding_dim": self.embedding_dim,
                "commitment_cost": self.commitment_cost,
                "ema": self.ema,
                "decay": self.decay,
                "epsilon": self.epsilon,
                "restart_dead_codes": self.restart_dead_codes,
                "restart_threshold": self.restart_threshold,
            }
        )
        return config
