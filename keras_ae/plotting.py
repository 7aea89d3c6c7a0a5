"""Figures of what an autoencoder learned.

Every function returns a `matplotlib.figure.Figure` and, when given ``path``,
also saves it there (PNG unless the extension says otherwise; parent folders
are created). Figures are built with `matplotlib.figure.Figure` directly, never
through `matplotlib.pyplot`: no global state, nothing is shown, and they work
headless and from threads. In a notebook, the returned figure displays itself.

Models are duck-typed: anything with ``encode(x)``, ``decode(z)`` and
``reconstruct(x)`` returning arrays (plus ``sample(n, seed=...)`` for
`samples_grid`, ``latent_dim`` for the latent plots and ``encoder`` for
`filters`) works, so every keras_ae model does.

Images are shown in their own shape: with ``image_shape=None`` the shape of
``(N, H, W[, C])`` data is kept, and flat data is reshaped from its feature
count (64 -> 8x8 digits, 784 -> 28x28, 3072 -> 32x32x3, any perfect square
-> its square). Anything else needs an explicit ``image_shape``.

Example:
    >>> from keras_ae import plotting
    >>> fig = plotting.reconstructions(model, x_test, path="out/recon.png")
    >>> fig = plotting.latent_scatter(model, x_test, labels=y_test)
    >>> fig = plotting.training_curves(history, path="out/curves.png")
"""

import math
import os

import numpy as np

from keras_ae import validation


def _figure(**kwargs):
    """A new `matplotlib.figure.Figure` (matplotlib is imported on first use)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)

__all__ = [
    "denoising",
    "filters",
    "infer_image_shape",
    "latent_grid",
    "latent_scatter",
    "latent_traversal",
    "reconstructions",
    "samples_grid",
    "training_curves",
]

_KNOWN_SHAPES = {64: (8, 8), 784: (28, 28), 3072: (32, 32, 3)}
_CELL = 0.85  # inches per image in grids of separate axes
_MAX_WIDTH = 10.0  # inches


# ----------------------------------------------------------------- images
def infer_image_shape(example_shape, image_shape=None):
    """Image shape ``(H, W)`` or ``(H, W, C)`` for examples of a given shape.

    Args:
        example_shape: shape of one example, e.g. ``(784,)`` or ``(28, 28, 1)``.
        image_shape: optional explicit shape; it must hold as many values as
            one example.

    Returns:
        A tuple ``(H, W)`` or ``(H, W, C)`` with ``C`` in 1, 3 or 4.

    Raises:
        ValueError: if no image shape fits.

    Example:
        >>> infer_image_shape((784,))
        (28, 28)
        >>> infer_image_shape((6,), image_shape=(2, 3))
        (2, 3)
    """
    example_shape = tuple(int(d) for d in example_shape)
    size = int(np.prod(example_shape)) if example_shape else 0
    if image_shape is not None:
        try:
            shape = tuple(int(d) for d in image_shape)
        except (TypeError, ValueError):
            shape = ()
        valid = len(shape) in (2, 3) and all(d > 0 for d in shape)
        if not valid or (len(shape) == 3 and shape[2] not in (1, 3, 4)):
            raise ValueError(
                "`image_shape` must be (height, width) or (height, width, "
                f"channels) with 1, 3 or 4 channels. Received: image_shape={image_shape!r}"
            )
        if int(np.prod(shape)) != size:
            raise ValueError(
                f"`image_shape` must hold {size} values, the size of one example "
                f"of shape {example_shape}. Received: image_shape={image_shape!r}"
            )
        return shape
    if len(example_shape) == 2:
        return example_shape
    if len(example_shape) == 3 and example_shape[2] in (1, 3, 4):
        return example_shape
    if len(example_shape) == 1:
        if size in _KNOWN_SHAPES:
            return _KNOWN_SHAPES[size]
        side = math.isqrt(size)
        if side > 0 and side * side == size:
            return (side, side)
    raise ValueError(
        f"Cannot infer an image shape for examples of shape {example_shape}: "
        "pass image_shape=(height, width) or (height, width, channels). "
        f"Received: image_shape={image_shape!r}"
    )


def _to_images(x, image_shape):
    """``(N, ...)`` array -> ``(N, H, W)`` or ``(N, H, W, C)`` float images."""
    x = np.asarray(x, dtype="float32")
    shape = infer_image_shape(x.shape[1:], image_shape)
    images = x.reshape((len(x),) + shape)
    if images.ndim == 4 and shape[2] == 1:
        images = images[..., 0]
    return images


def _display_range(images):
    """(vmin, vmax): (0, 1) for data in [0, 1], else the data's range."""
    finite = images[np.isfinite(images)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if low >= -1e-3 and high <= 1.0 + 1e-3:
        return 0.0, 1.0
    return (low, high) if high > low else (low - 0.5, low + 0.5)


def _rescale(images, vmin, vmax):
    """Colour images mapped to [0, 1] (imshow ignores vmin/vmax for RGB)."""
    return np.clip((images - vmin) / (vmax - vmin), 0.0, 1.0)


def _imshow(ax, image, vmin, vmax):
    if image.ndim == 3:
        ax.imshow(_rescale(image, vmin, vmax), interpolation="nearest")
    else:
        ax.imshow(image, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")


def _mosaic(images, cols, pad=1):
    """Tiles images row-major into one array, separated by NaN pads."""
    rows = math.ceil(len(images) / cols)
    h, w = images.shape[1:3]
    out = np.full(
        (rows * (h + pad) - pad, cols * (w + pad) - pad) + images.shape[3:],
        np.nan,
        dtype="float32",
    )
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = image
    return out


def _mosaic_plot(images, cols, vmin, vmax, title, cell=0.6, ticked=False, pad_color="white"):
    """(fig, ax) showing ``images`` tiled ``cols`` wide as one image.

    The figure is sized so that each tile gets about ``cell`` inches (less
    for very large grids) and the title fits.
    """
    mosaic = _mosaic(images, cols)
    if mosaic.ndim == 3:  # colour
        mosaic = _rescale(mosaic, vmin, vmax)
        from matplotlib import colors

        pad = colors.to_rgba(pad_color) if mosaic.shape[-1] == 4 else colors.to_rgb(pad_color)
        mosaic[np.isnan(mosaic).any(axis=-1)] = pad
    else:
        mosaic = np.ma.masked_invalid(mosaic)
    aspect = mosaic.shape[0] / mosaic.shape[1]
    width = cols * cell
    width *= min(1.0, 9.5 / width, 11.0 / (width * aspect))
    side, top = (1.0, 1.0) if ticked else (0.3, 0.55)
    fig_width = max(width + side, 0.095 * len(title) + 0.4, 3.0)
    fig = _figure(figsize=(fig_width, width * aspect + top), layout="constrained")
    ax = fig.subplots()
    from matplotlib import colormaps

    cmap = colormaps["gray"].with_extremes(bad=pad_color)
    ax.imshow(mosaic, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title)
    return fig, ax


def _cell_centers(count, size, pad=1):
    return [i * (size + pad) + (size - 1) / 2 for i in range(count)]


def _image_rows(images_by_row, row_names, title, vmin, vmax):
    """One axes per image, one row per entry, row names on the left."""
    rows, cols = len(images_by_row), len(images_by_row[0])
    cell = min(_CELL, _MAX_WIDTH / (cols + 0.6))
    fig = _figure(figsize=(cols * cell + 0.6, rows * cell + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for r, (row, name) in enumerate(zip(images_by_row, row_names)):
        for c, image in enumerate(row):
            ax = axes[r, c]
            _imshow(ax, image, vmin, vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        axes[r, 0].set_ylabel(name, fontsize=10)
    fig.suptitle(title, fontsize=12)
    return fig


def _finish(fig, path):
    if path is not None:
        path = os.fspath(path)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


# --------------------------------------------------------------- checks
def _positive_int(value, name):
    return validation.integer(value, name, low=1)


def _batch(x, name):
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(
            f"`{name}` must be a non-empty batch of shape (N, ...). "
            f"Received: {name}.shape={x.shape}"
        )
    return x


def _model_name(model):
    return type(model).__name__


def _latent_dim(model):
    dim = getattr(model, "latent_dim", None)
    if dim is None:
        raise ValueError(
            "The model needs a `latent_dim` attribute. "
            f"Received: model={_model_name(model)}"
        )
    return int(dim)


def _example_shape(model):
    """Shape of one example from ``model.input_shape`` (batch dim dropped), or ()."""
    try:
        shape = tuple(getattr(model, "input_shape", None) or ())
    except (AttributeError, TypeError, ValueError):
        return ()
    if shape and shape[0] is None:
        shape = shape[1:]
    if not all(isinstance(d, (int, np.integer)) for d in shape):
        return ()
    return tuple(int(d) for d in shape)


def _mse(a, b):
    return float(np.mean((np.asarray(a, "float32") - np.asarray(b, "float32")) ** 2))


# ------------------------------------------------------------- figures
def reconstructions(model, x, n=10, image_shape=None, path=None, title=None):
    """Originals (top row) above their reconstructions (bottom row).

    Args:
        model: an autoencoder with ``reconstruct(x)``.
        x: examples, ``(N, features)`` or ``(N, H, W[, C])``; the first ``n``
            are shown.
        n: number of examples.
        image_shape: optional ``(H, W[, C])``; inferred when None.
        path: optional file to save the figure to.
        title: optional title; by default the model's class and the MSE of
            the shown examples.

    Returns:
        A `Figure` with ``2 * n`` image axes.

    Example:
        >>> fig = reconstructions(model, x_test, n=8, path="recon.png")
    """
    n = _positive_int(n, "n")
    x = _batch(x, "x")[:n]
    images = _to_images(x, image_shape)
    recon = np.asarray(model.reconstruct(x), "float32")
    vmin, vmax = _display_range(images)
    if title is None:
        mse = _mse(x, recon.reshape(x.shape))
        title = f"{_model_name(model)} reconstructions (MSE {mse:.4f})"
    recon = _to_images(recon, images.shape[1:])
    fig = _image_rows([images, recon], ["original", "reconstructed"], title, vmin, vmax)
    return _finish(fig, path)


def denoising(
    model, x, noise_layer_or_noisy_x, n=8, image_shape=None, path=None, title=None
):
    """Clean, corrupted and denoised examples, one row each.

    Args:
        model: an autoencoder with ``reconstruct(x)``.
        x: clean examples; the first ``n`` are shown.
        noise_layer_or_noisy_x: a noise layer (called with ``training=True``,
            e.g. `keras_ae.layers.GaussianNoise`), any callable ``f(x)``, or
            the corrupted examples themselves (same shape as ``x``).
        n: number of examples.
        image_shape: optional ``(H, W[, C])``; inferred when None.
        path: optional file to save the figure to.
        title: optional title; by default the MSE to the clean examples
            before and after denoising.

    Returns:
        A `Figure` with ``3 * n`` image axes.

    Example:
        >>> noise = keras_ae.layers.GaussianNoise(0.3, seed=0)
        >>> fig = denoising(dae, x_test, noise, path="denoising.png")
    """
    n = _positive_int(n, "n")
    clean = _batch(x, "x")[:n].astype("float32")
    corrupt = noise_layer_or_noisy_x
    if callable(corrupt):
        try:
            import keras

            is_layer = isinstance(corrupt, keras.layers.Layer)
        except ImportError:  # pragma: no cover - keras is a dependency
            is_layer = False
        noisy = corrupt(clean, training=True) if is_layer else corrupt(clean)
        noisy = np.asarray(noisy, "float32")
    else:
        noisy = np.asarray(corrupt, "float32")[:n]
    if noisy.shape != clean.shape:
        raise ValueError(
            f"Noisy examples must have the shape of the clean ones {clean.shape}. "
            f"Received: noisy.shape={noisy.shape}"
        )
    denoised = np.asarray(model.reconstruct(noisy), "float32")
    images = _to_images(clean, image_shape)
    shape = images.shape[1:]
    vmin, vmax = _display_range(images)
    if title is None:
        title = (
            f"{_model_name(model)} denoising: MSE noisy {_mse(clean, noisy):.4f}"
            f" \u2192 denoised {_mse(clean, denoised.reshape(clean.shape)):.4f}"
        )
    rows = [images, _to_images(noisy, shape), _to_images(denoised, shape)]
    fig = _image_rows(rows, ["clean", "noisy", "denoised"], title, vmin, vmax)
    return _finish(fig, path)


def samples_grid(model, n=64, seed=0, image_shape=None, path=None, title=None):
    """A square grid of ``model.sample(n, seed=seed)``.

    Args:
        model: a generative model with ``sample(n, seed=...)`` (VAE, AAE).
        n: number of samples.
        seed: seed passed to ``sample`` (same seed, same figure).
        image_shape: optional ``(H, W[, C])``; inferred when None.
        path: optional file to save the figure to.
        title: optional title.

    Returns:
        A `Figure` with one axes holding one image (the tiled samples).

    Example:
        >>> fig = samples_grid(vae, n=36, seed=1, path="samples.png")
    """
    n = _positive_int(n, "n")
    if not getattr(model, "generative", False):
        raise TypeError(
            "samples_grid needs a generative model with a `sample(n, seed=...)` "
            f"method. Received: model={_model_name(model)}"
        )
    images = _to_images(_batch(model.sample(n, seed=seed), "samples"), image_shape)
    cols = math.ceil(math.sqrt(n))
    title = title or f"{_model_name(model)}: {n} samples from the prior (seed {seed})"
    fig, _ = _mosaic_plot(images, cols, *_display_range(images), title)
    return _finish(fig, path)


def latent_grid(model, n=15, extent=3.0, image_shape=None, path=None, title=None):
    """Decoded images over an evenly spaced grid of a 2-D latent space.

    Codes run from ``-extent`` to ``extent`` on both axes (``z[1]`` grows
    upwards). For codes of more than two dimensions use `latent_traversal`.

    Args:
        model: a model with ``latent_dim == 2`` and ``decode(z)``.
        n: grid points per axis (``n * n`` images).
        extent: half-width of the grid in latent units (3 covers 99.7% of a
            standard normal prior).
        image_shape: optional ``(H, W[, C])``; inferred when None.
        path: optional file to save the figure to.
        title: optional title.

    Returns:
        A `Figure` with one axes holding one image, ticks in latent units.

    Example:
        >>> fig = latent_grid(vae_2d, n=20, path="latent_grid.png")
    """
    n = _positive_int(n, "n")
    extent = float(extent)
    if not extent > 0:
        raise ValueError(f"`extent` must be positive. Received: extent={extent}")
    dim = _latent_dim(model)
    if dim != 2:
        raise ValueError(
            "latent_grid needs a 2-D latent space; use latent_traversal for "
            f"larger codes. Received: latent_dim={dim}"
        )
    xs = np.linspace(-extent, extent, n)
    ys = xs[::-1]
    z = np.array([[zx, zy] for zy in ys for zx in xs], dtype="float32")
    images = _to_images(model.decode(z), image_shape)
    h, w = images.shape[1:3]
    title = title or f"{_model_name(model)}: decoded 2-D latent grid"
    fig, ax = _mosaic_plot(images, n, *_display_range(images), title, cell=0.5, ticked=True)
    ticks = [int(i) for i in np.unique(np.round(np.linspace(0, n - 1, min(n, 5))))]
    ax.set_xticks([_cell_centers(n, w)[i] for i in ticks], [f"{xs[i]:.1f}" for i in ticks])
    ax.set_yticks([_cell_centers(n, h)[i] for i in ticks], [f"{ys[i]:.1f}" for i in ticks])
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    return _finish(fig, path)


def latent_traversal(
    model, x_or_code, dims=None, values=None, image_shape=None, path=None, title=None
):
    """Decodes a code while sweeping one latent dimension at a time.

    Row ``i`` sets dimension ``dims[i]`` of the code to each of ``values``
    (absolute values, the other dimensions unchanged) and decodes.

    Args:
        model: a model with ``encode``, ``decode`` and ``latent_dim``.
        x_or_code: one code ``(latent_dim,)`` / ``(1, latent_dim)``, or
            examples whose first one is encoded.
        dims: latent dimensions to sweep; default the first
            ``min(latent_dim, 10)``.
        values: code values of the columns; default ``np.linspace(-3, 3, 9)``.
        image_shape: optional ``(H, W[, C])``; inferred when None.
        path: optional file to save the figure to.
        title: optional title.

    Returns:
        A `Figure` with one axes holding one image (rows = dims, columns =
        values).

    Example:
        >>> fig = latent_traversal(vae, x_test[:1], dims=[0, 3, 5])
    """
    dim = _latent_dim(model)
    values = np.linspace(-3.0, 3.0, 9) if values is None else np.asarray(values, "float32")
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"`values` must be a non-empty 1-D sequence. Received: values={values!r}")
    arr = np.asarray(x_or_code, dtype="float32")
    input_shape = _example_shape(model)
    is_code = arr.shape[-1:] == (dim,) and arr.ndim <= 2 and (arr.ndim == 1 or len(arr) == 1)
    if is_code and input_shape and int(np.prod(input_shape)) == dim and arr.ndim == 2:
        is_code = False  # ambiguous: a (1, d) example of a d-feature model
    code = arr.reshape(dim) if is_code else np.asarray(model.encode(_batch(arr, "x")[:1]))[0]
    dims = list(range(min(dim, 10))) if dims is None else list(np.atleast_1d(dims))
    if not dims or any(
        isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d < dim
        for d in dims
    ):
        raise ValueError(
            f"`dims` must be latent dimensions in [0, {dim}). Received: dims={dims!r}"
        )
    z = np.repeat(code[None, :], len(dims) * len(values), axis=0).astype("float32")
    for r, d in enumerate(dims):
        z[r * len(values) : (r + 1) * len(values), d] = values
    images = _to_images(model.decode(z), image_shape)
    h, w = images.shape[1:3]
    title = title or f"{_model_name(model)}: latent traversal"
    fig, ax = _mosaic_plot(images, len(values), *_display_range(images), title, ticked=True)
    ax.set_xticks(_cell_centers(len(values), w), [f"{v:g}" for v in np.round(values, 2)])
    ax.set_yticks(_cell_centers(len(dims), h), [f"z[{int(d)}]" for d in dims])
    ax.set_xlabel("value of the swept dimension")
    return _finish(fig, path)


def latent_scatter(
    model_or_codes,
    x=None,
    labels=None,
    method="auto",
    path=None,
    label_names=None,
    seed=0,
    title=None,
):
    """Codes in the plane, coloured by label.

    2-D codes are drawn as they are; larger ones are projected with PCA
    (``method="auto"`` or ``"pca"``) or t-SNE (``"tsne"``, slower); 1-D codes
    are spread vertically by a small random jitter.

    Args:
        model_or_codes: a model with ``encode(x)``, or codes ``(N, d)``.
        x: the examples to encode (required with a model).
        labels: optional ``(N,)`` labels (or one-hot ``(N, K)``). Up to 20
            distinct integer or string labels get a legend; other values a
            colour bar.
        method: ``"auto"``, ``"pca"`` or ``"tsne"``.
        path: optional file to save the figure to.
        label_names: optional names of the classes, indexed by label.
        seed: random state of t-SNE (and of the 1-D jitter).
        title: optional title.

    Returns:
        A `Figure` with one scatter axes (plus a colour-bar axes for
        continuous labels).

    Example:
        >>> fig = latent_scatter(vae, x_test, labels=y_test, method="tsne")
    """
    if method not in ("auto", "pca", "tsne"):
        raise ValueError(
            f'`method` must be "auto", "pca" or "tsne". Received: method={method!r}'
        )
    if callable(getattr(model_or_codes, "encode", None)):
        if x is None:
            raise ValueError("Pass the examples to encode with a model. Received: x=None")
        codes = np.asarray(model_or_codes.encode(x), "float32")
        name = _model_name(model_or_codes)
    else:
        codes = np.asarray(model_or_codes, "float32")
        name = "Codes"
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(
            f"Codes must have shape (N, d) with N >= 2. Received: codes.shape={codes.shape}"
        )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim == 2:
            labels = labels.argmax(axis=-1)
        if labels.shape != (len(codes),):
            raise ValueError(
                f"`labels` must have one entry per code ({len(codes)}). "
                f"Received: labels.shape={labels.shape}"
            )
    points, axis_labels, how = _project(codes, method, seed)
    fig = _figure(figsize=(7.5, 6.0), layout="constrained")
    ax = fig.subplots()
    size = float(np.clip(4000.0 / len(codes), 3.0, 30.0))
    discrete = labels is not None and (
        labels.dtype.kind in "biuUSO" and len(np.unique(labels)) <= 20
    )
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=size, alpha=0.7, linewidths=0)
    elif discrete:
        classes = np.unique(labels)
        from matplotlib import colormaps

        cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
        for i, cls in enumerate(classes):
            mask = labels == cls
            text = str(cls)
            if label_names is not None and labels.dtype.kind in "biu":
                text = str(label_names[int(cls)])
            ax.scatter(
                points[mask, 0], points[mask, 1], s=size, alpha=0.75,
                color=cmap(i), label=text, linewidths=0,
            )
        ax.legend(
            title="label", loc="center left", bbox_to_anchor=(1.01, 0.5),
            markerscale=max(1.0, 6.0 / math.sqrt(size)), frameon=False,
        )
    else:
        sc = ax.scatter(
            points[:, 0], points[:, 1], c=labels.astype("float32"), s=size,
            alpha=0.8, cmap="viridis", linewidths=0,
        )
        fig.colorbar(sc, ax=ax, label="label")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title or f"{name}: {codes.shape[1]}-D latent space{how}")
    return _finish(fig, path)


def _project(codes, method, seed):
    """(points (N, 2), axis labels, title suffix) for `latent_scatter`."""
    d = codes.shape[1]
    if d == 1:
        jitter = np.random.default_rng(seed).uniform(-1.0, 1.0, len(codes))
        return np.stack([codes[:, 0], jitter], 1), ("z[0]", "jitter"), ""
    if d == 2 and method == "auto":
        return codes, ("z[0]", "z[1]"), ""
    if method == "tsne":
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        perplexity = float(min(30.0, max(1.0, (len(codes) - 1) / 3.0)))
        tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=seed)
        # One OpenMP thread: on busy, small machines sklearn's Barnes-Hut
        # threads spin-wait (300 points: 89 s with 2 threads, 2.5 s with 1).
        with threadpool_limits(1, user_api="openmp"):
            points = tsne.fit_transform(codes)
        return points, ("t-SNE 1", "t-SNE 2"), " (t-SNE)"
    from sklearn.decomposition import PCA

    pca = PCA(2).fit(codes)
    ratio = pca.explained_variance_ratio_
    labels = tuple(f"PC{i + 1} ({100 * r:.0f}% of variance)" for i, r in enumerate(ratio))
    return pca.transform(codes), labels, " (PCA)"


def filters(model_or_kernel, n=64, image_shape=None, path=None, title=None):
    """First-layer weights shown as images, each scaled to its own range.

    Args:
        model_or_kernel: a model (its ``encoder`` is searched when it has
            one), a layer, or a kernel array: ``(features, units)`` for a
            Dense layer, ``(kh, kw, in, out)`` for a Conv2D one.
        n: at most this many filters (the first ones) are shown.
        image_shape: optional ``(H, W[, C])`` of one Dense filter; by
            default the model's ``input_shape`` when it is an image shape,
            else inferred from the feature count.
        path: optional file to save the figure to.
        title: optional title.

    Returns:
        A `Figure` with one axes holding one image (the tiled filters).

    Example:
        >>> fig = filters(autoencoder, n=100, path="filters.png")
    """
    n = _positive_int(n, "n")
    kernel, layer_name = _find_kernel(model_or_kernel)
    if kernel.ndim == 2:
        if image_shape is None:
            input_shape = _example_shape(model_or_kernel)
            if len(input_shape) in (2, 3) and int(np.prod(input_shape)) == kernel.shape[0]:
                image_shape = input_shape
        weights = kernel.T
    elif kernel.ndim == 4 and kernel.shape[2] in (1, 3):
        weights = np.transpose(kernel, (3, 0, 1, 2))
        image_shape = weights.shape[1:]
    else:
        raise ValueError(
            "Expected a Dense kernel (features, units) or a Conv2D kernel "
            f"(kh, kw, 1 or 3, filters). Received: kernel.shape={kernel.shape}"
        )
    weights = weights[:n]
    images = _to_images(weights.reshape(len(weights), -1), image_shape)
    flat = images.reshape(len(images), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    flat = (flat - low[:, None]) / np.maximum(high - low, 1e-12)[:, None]
    images = flat.reshape(images.shape)
    count = len(images)
    cols = math.ceil(math.sqrt(count))
    where = f" of {layer_name}" if layer_name else ""
    title = title or f"First-layer filters{where} ({count} of {kernel.shape[-1]})"
    # Pads in a colour that filters never take, so white weights stay visible.
    fig, _ = _mosaic_plot(images, cols, 0.0, 1.0, title, pad_color="#9fb7d4")
    return _finish(fig, path)


def _find_kernel(obj):
    """(kernel array, layer name) from an array, a layer or a model."""
    root = getattr(obj, "encoder", None)
    if root is None and (isinstance(obj, np.ndarray) or not hasattr(obj, "weights")):
        return np.asarray(obj, "float32"), None
    import keras

    root = obj if root is None else root

    def walk(layer):
        yield layer
        for sub in getattr(layer, "layers", None) or ():
            yield from walk(sub)

    for layer in walk(root):
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)) and layer.built:
            return np.asarray(keras.ops.convert_to_numpy(layer.kernel), "float32"), layer.name
    raise ValueError(
        "Found no built Dense or Conv2D layer to show. "
        f"Received: model_or_kernel={type(obj).__name__}"
    )


def training_curves(history, path=None, title=None):
    """One axes per metric: the training curve and its ``val_`` curve.

    Series whose positive values span more than two decades are drawn on a
    log scale.

    Args:
        history: a `keras.callbacks.History` (what `fit` returns) or a dict
            ``{name: [value per epoch]}``.
        path: optional file to save the figure to.
        title: optional title.

    Returns:
        A `Figure` with one axes per metric base name (``loss`` and
        ``val_loss`` share one).

    Example:
        >>> history = model.fit(x, epochs=10, validation_split=0.1)
        >>> fig = training_curves(history, path="curves.png")
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise ValueError(
            "`history` must be a keras History or a dict of per-epoch values. "
            f"Received: history={type(history).__name__}"
        )
    series = {}
    for key, values in logs.items():
        try:
            arr = np.asarray(values, "float64").reshape(len(values), -1)[:, 0]
        except (TypeError, ValueError):
            continue
        if arr.size:
            series[str(key)] = arr
    bases = []
    for key in series:
        base = key[4:] if key.startswith("val_") else key
        if base not in bases:
            bases.append(base)
    if "loss" in bases:
        bases.insert(0, bases.pop(bases.index("loss")))
    if not bases:
        raise ValueError(f"`history` holds no per-epoch values. Received: history={logs!r}")
    cols = min(3, len(bases))
    rows = math.ceil(len(bases) / cols)
    fig = _figure(figsize=(4.2 * cols, 3.3 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(bases) :]:
        fig.delaxes(ax)
    epoch_list = getattr(history, "epoch", None)
    for ax, base in zip(axes, bases):
        for key, style, label in ((base, "-", "train"), ("val_" + base, "--", "validation")):
            if key not in series:
                continue
            y = series[key]
            epochs = np.arange(1, len(y) + 1)
            if epoch_list is not None and len(epoch_list) == len(y):
                epochs = np.asarray(epoch_list) + 1
            ax.plot(epochs, y, style, marker="o" if len(y) <= 20 else None, ms=3, label=label)
        values = np.concatenate([series[k] for k in (base, "val_" + base) if k in series])
        finite = values[np.isfinite(values)]
        if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
            ax.set_yscale("log")
        ax.set_title(base)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title or "Training curves", fontsize=12)
    return _finish(fig, path)
