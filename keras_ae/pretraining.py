"""Greedy layer-wise pretraining (Bengio et al. 2007; Vincent et al. 2010)."""

import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_ae import validation
from keras_ae.models.stacked import StackedAutoencoder

__all__ = ["greedy_pretrain"]

SUMMARY_FILE = "pretraining.json"


def _per_layer(value, name, n):
    """Broadcasts ``value`` to a list of ``n`` (a list/tuple is taken per layer)."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"`{name}` must be one value or a list with one value per layer "
                f"({n}). Received: {name}={value!r}"
            )
        return list(value)
    return [value] * n


def _check_data(x, name):
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception:  # noqa: BLE001 - reported below
            x = None
    if x is None or x.ndim < 2 or not np.issubdtype(x.dtype, np.number):
        raise ValueError(
            f"`{name}` must be a numeric array of shape (N, features...). "
            f"Received: {name}={type(x).__name__ if x is None else x.shape}"
        )
    if not len(x):
        raise ValueError(
            f"Expected at least one example in `{name}`. Received: {name}.shape={x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError(
            f"Expected finite values in `{name}`. Received: "
            f"{int(x.size - np.isfinite(x).sum())} NaN or Inf value(s)"
        )
    return x.astype("float32", copy=False)


def _make_optimizer(optimizer):
    """A fresh optimizer for one layer."""
    if optimizer is None:
        return keras.optimizers.Adam(learning_rate=1e-3)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer.__class__.from_config(optimizer.get_config())
    if isinstance(optimizer, (str, dict)):
        return keras.optimizers.get(optimizer)
    if callable(optimizer):
        made = optimizer()
        if not isinstance(made, keras.optimizers.Optimizer):
            raise ValueError(
                "An `optimizer` factory must return a keras optimizer. "
                f"Received: {made!r}"
            )
        return made
    raise ValueError(
        "`optimizer` must be None, a name, a keras optimizer or a function "
        f"returning one. Received: optimizer={optimizer!r}"
    )


def _layer_class(noise, sparsity):
    from keras_ae.models.autoencoder import Autoencoder

    if noise is not None and sparsity is not None:
        from keras_ae.models.sparse_denoising import SparseDenoisingAutoencoder

        return SparseDenoisingAutoencoder
    if noise is not None:
        from keras_ae.models.denoising import DenoisingAutoencoder

        return DenoisingAutoencoder
    if sparsity is not None:
        from keras_ae.models.sparse import SparseAutoencoder

        return SparseAutoencoder
    return Autoencoder


def _clone_layer(layer):
    if isinstance(layer, keras.layers.Layer):
        return layer.__class__.from_config(layer.get_config())
    return layer


def _describe(value):
    if value is None or isinstance(value, (str, int, float)):
        return value
    return keras.saving.serialize_keras_object(value)


def _output_settings(x, output_activation, reconstruction_loss):
    in_unit = float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    if output_activation == "auto":
        output_activation = "sigmoid" if in_unit else None
    if reconstruction_loss == "auto":
        reconstruction_loss = "bce" if in_unit and output_activation in ("sigmoid", None) else "mse"
    return output_activation, reconstruction_loss


def _shuffled_batches(h, batch_size, seed):
    """Batches of ``h``, reshuffled every epoch from ``seed`` (reproducible)."""
    ds = tf.data.Dataset.from_tensor_slices(h)
    ds = ds.shuffle(len(h), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _history_summary(history):
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def _targets(export_dir, n):
    names = [f"layer_{i + 1}" for i in range(n)] + ["stack"]
    paths = []
    for name in names:
        paths += [os.path.join(export_dir, name), os.path.join(export_dir, name + ".keras")]
    return paths + [os.path.join(export_dir, SUMMARY_FILE)]


def greedy_pretrain(
    x,
    layer_units,
    *,
    noise=None,
    noise_level=None,
    sparsity=None,
    epochs=10,
    batch_size=128,
    optimizer=None,
    activation="sigmoid",
    output_activation="auto",
    reconstruction_loss="auto",
    tied_weights=False,
    validation_data=None,
    export_dir=None,
    overwrite=False,
    verbose=1,
    seed=None,
):
    """Greedy layer-wise pretraining of a `StackedAutoencoder`.

    For layer ``i`` a shallow autoencoder (one ``Dense(layer_units[i])``
    encoder layer, one decoder layer) is trained on the codes of the layers
    below: an `Autoencoder`, a `DenoisingAutoencoder` (``noise``), a
    `SparseAutoencoder` (``sparsity``) or both
    (`keras_ae.models.sparse_denoising.SparseDenoisingAutoencoder`). Its
    codes of the whole training set (and of ``validation_data``) are then
    computed once with `predict` and become the next layer's data; the layer
    is never trained again here. Finally the layers are stacked
    into a `StackedAutoencoder` (encoders bottom-up, decoders mirrored
    top-down) that you can `compile` and fine-tune end to end with `fit`, or
    whose encoder (`keras_ae.load_encoder(stack)`) starts a classifier.

    Losses: the first layer reconstructs the data: with the defaults
    (``"auto"``) a sigmoid output and binary cross-entropy for data in
    [0, 1], otherwise a linear output and squared error. Every upper layer
    reconstructs codes with ``output_activation=activation``, and binary
    cross-entropy if ``activation="sigmoid"`` (codes in (0, 1), as in Vincent
    et al. 2010), otherwise squared error. Noise and sparsity apply to every
    layer's input and code respectively (the SdA corrupts each layer's input).

    Args:
        x: training data, array ``(N,) + input_shape``.
        layer_units: units of each layer, bottom to top, e.g.
            ``(1000, 1000, 1000)``.
        noise: corruption of each layer's input: None, a string
            (``"masking"``, ``"gaussian"``, ``"salt_and_pepper"``), a noise
            layer (copied for every layer), or a list with one per layer.
        noise_level: strength of a string ``noise``; one value or one per
            layer, e.g. ``[0.1, 0.2, 0.3]`` (Vincent et al. 2010's masking
            levels).
        sparsity: sparsity penalty on each layer's code (``"l1"``, ``"kl"``,
            a regularizer) or one per layer.
        epochs: epochs per layer (one value or one per layer).
        batch_size: batch size.
        optimizer: None (Adam(1e-3)), a name, an optimizer (its config is
            copied) or a function returning one; every layer gets a fresh one.
        activation: activation of every encoder layer (and of the mirrored
            hidden decoder layers); ``"sigmoid"`` by default.
        output_activation: activation of the first layer's reconstruction
            (``"auto"``: see above).
        reconstruction_loss: loss of the first layer (``"auto"``: see above).
        tied_weights: tie each layer's decoder to its encoder.
        validation_data: optional array (or ``(x_val,)``) scored after every
            epoch of every layer (on the codes of the layers below).
        export_dir: optional directory; receives ``layer_<i>/`` (SavedModel)
            and ``layer_<i>.keras`` for every layer, ``stack/`` and
            ``stack.keras`` for the pretrained (not fine-tuned) stack, and
            ``pretraining.json`` (per-layer settings, losses per epoch,
            times). Existing files are refused before any training unless
            ``overwrite=True``.
        overwrite: replace existing files in ``export_dir``.
        verbose: 0 silent, 1 progress bars, 2 one line per epoch; a line
            announces every layer.
        seed: optional integer; layer ``i`` uses ``seed + i`` (initializers,
            noise and the order of the batches), so the result is
            reproducible (on one device). The global random state is not
            touched.

    Returns:
        A `StackedAutoencoder` (not compiled) holding the pretrained weights;
        its attribute ``pretraining_summary_`` is the summary dict.

    Example:
        >>> (x, _), _ = keras_ae.datasets.load_data("mnist")
        >>> stack = keras_ae.greedy_pretrain(
        ...     x, (1000, 1000, 1000), noise="masking",
        ...     noise_level=[0.1, 0.2, 0.3], epochs=15, seed=0)
        >>> stack.compile()
        >>> stack.fit(x, epochs=5)        # end-to-end fine-tuning
    """
    # ---- arguments ----------------------------------------------------------
    x = _check_data(x, "x")
    units = validation.integer_tuple(layer_units, "layer_units", allow_empty=False)
    n = len(units)
    noises = [_clone_layer(v) for v in _per_layer(noise, "noise", n)]
    levels = _per_layer(noise_level, "noise_level", n)
    sparsities = _per_layer(sparsity, "sparsity", n)
    for i, (layer_noise, level) in enumerate(zip(noises, levels)):
        if layer_noise is None and level is not None:
            raise ValueError(
                f"`noise_level` is set for layer {i + 1} but it has no `noise`. "
                f"Received: noise={noise!r}, noise_level={noise_level!r}"
            )
    epochs_list = _per_layer(epochs, "epochs", n)
    if not all(validation.is_integer(e) and e >= 0 for e in epochs_list):
        raise ValueError(
            "`epochs` must be an integer >= 0 or one per layer. "
            f"Received: epochs={epochs!r}"
        )
    batch_size = validation.integer(batch_size, "batch_size", low=1)
    seed = validation.integer(seed, "seed", allow_none=True)
    out_act, first_loss = _output_settings(x, output_activation, reconstruction_loss)
    upper_loss = "bce" if activation == "sigmoid" else "mse"
    x_val = None
    if validation_data is not None:
        if isinstance(validation_data, (tuple, list)) and not isinstance(validation_data, np.ndarray):
            validation_data = validation_data[0]
        x_val = _check_data(validation_data, "validation_data")
    if export_dir is not None:
        export_dir = os.fspath(export_dir)
        existing = [p for p in _targets(export_dir, n) if os.path.lexists(p)]
        if existing and not overwrite:
            raise FileExistsError(
                "`export_dir` already holds pretraining outputs; pass "
                f"overwrite=True to replace them. Received: export_dir={export_dir!r} "
                f"with {existing[0]!r}"
            )

    # ---- layers -------------------------------------------------------------
    common = dict(
        activation=activation, first_output_activation=out_act, first_loss=first_loss,
        upper_loss=upper_loss, tied_weights=tied_weights, seed=seed, optimizer=optimizer,
        batch_size=int(batch_size), verbose=verbose, num_layers=n,
    )
    h, h_val = x, x_val
    autoencoders, summary_layers = [], []
    for i, u in enumerate(units):
        ae, h, h_val, layer_summary = _pretrain_layer(
            i, u, h, h_val, noise=noises[i], level=levels[i], sparsity=sparsities[i],
            epochs=int(epochs_list[i]), **common,
        )
        autoencoders.append(ae)
        summary_layers.append(layer_summary)

    stack = StackedAutoencoder.from_pretrained(autoencoders, seed=seed)
    summary = {
        "layer_units": list(units),
        "input_shape": [int(d) for d in x.shape[1:]],
        "num_examples": int(len(x)),
        "batch_size": int(batch_size),
        "seed": None if seed is None else int(seed),
        "layers": summary_layers,
    }
    stack.pretraining_summary_ = summary
    if export_dir is not None:
        _export_all(stack, autoencoders, summary, export_dir, overwrite)
    return stack


def _pretrain_layer(i, units, h, h_val, *, noise, level, sparsity, epochs, activation,
                    first_output_activation, first_loss, upper_loss, tied_weights, seed,
                    optimizer, batch_size, verbose, num_layers):
    """Trains layer ``i`` on the codes ``h`` of the layers below.

    Returns:
        ``(autoencoder, codes, validation codes, summary of the layer)``.
    """
    cls = _layer_class(noise, sparsity)
    kwargs = dict(
        latent_dim=units,
        hidden_units=(),
        activation=activation,
        output_activation=first_output_activation if i == 0 else activation,
        reconstruction_loss=first_loss if i == 0 else upper_loss,
        tied_weights=tied_weights,
        seed=None if seed is None else int(seed) + i,
        name=f"layer_{i + 1}",
    )
    if noise is not None:
        kwargs.update(noise=noise, noise_level=level)
    if sparsity is not None:
        kwargs.update(sparsity=sparsity)
    ae = cls(h.shape[1:], **kwargs)
    ae.compile(optimizer=_make_optimizer(optimizer))
    if verbose:
        print(
            f"greedy_pretrain: layer {i + 1}/{num_layers}: {cls.__name__} "
            f"{int(np.prod(h.shape[1:]))} -> {units}, {epochs} epoch(s)"
            + (f", noise={_describe(noise)}" if noise is not None else "")
            + (f" level={level}" if level is not None else "")
            + (f", sparsity={_describe(sparsity)}" if sparsity is not None else ""),
            flush=True,
        )
    ae.check_data(h)  # the checks `fit` makes on arrays
    start = time.time()
    history = ae.fit(
        _shuffled_batches(h, batch_size, kwargs["seed"]),
        epochs=epochs,
        validation_data=None if h_val is None else (h_val,),
        shuffle=False,  # the dataset reshuffles every epoch itself
        verbose=verbose,
    )
    seconds = time.time() - start
    # The layer is done: its codes are computed once, and it is never
    # trained again (its weights are copied into the stack). It is saved
    # trainable, so that a reloaded layer restores its optimizer state.
    h = ae.encode(h, batch_size=max(batch_size, 256))
    if h_val is not None:
        h_val = ae.encode(h_val, batch_size=max(batch_size, 256))
    hist = _history_summary(history)
    summary = {
        "layer": i + 1,
        "class": cls.__name__,
        "input_dim": int(np.prod(ae.input_shape)),
        "units": units,
        "activation": activation,
        "output_activation": kwargs["output_activation"],
        "reconstruction_loss": kwargs["reconstruction_loss"],
        "noise": _describe(noise),
        "noise_level": level,
        "sparsity": _describe(sparsity),
        "epochs": epochs,
        "seconds": round(seconds, 2),
        "final": {k: v[-1] for k, v in hist.items() if v},
        "history": hist,
    }
    return ae, h, h_val, summary


def _export_all(stack, autoencoders, summary, export_dir, overwrite):
    from keras_ae.export import export_saved_model

    os.makedirs(export_dir, exist_ok=True)
    named = [(f"layer_{i + 1}", ae) for i, ae in enumerate(autoencoders)] + [("stack", stack)]
    for name, model in named:
        export_saved_model(model, os.path.join(export_dir, name), overwrite=overwrite)
        model.save(os.path.join(export_dir, name + ".keras"))
    summary = dict(summary, files={name: [name, name + ".keras"] for name, _ in named})
    tmp = os.path.join(export_dir, SUMMARY_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(tmp, os.path.join(export_dir, SUMMARY_FILE))
