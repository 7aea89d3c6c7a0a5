"""The pictures of one ``keras-ae`` run, drawn with `keras_ae.plotting`.

Every run gets a latent scatter coloured by label and the training curves;
when the examples are images (their shape is known or inferred by
`keras_ae.plotting.infer_image_shape`), also reconstructions, a decoded
latent grid (generative models with 2-D codes) or a latent traversal and,
when they apply, prior samples (generative models), denoising before/after
(models with a ``noise`` layer), and the first-layer filters.
"""

import os

import numpy as np

from keras_ae import datasets

#: Images per row / grid sizes of the pictures.
NUM_RECONSTRUCTIONS = 10
NUM_SAMPLES = 64
NUM_DENOISING = 8
NUM_FILTERS = 64
MAX_SCATTER_POINTS = 2000


def _class_names(data):
    if data.name in datasets.DATASETS:
        return list(datasets.info(data.name)["class_names"])
    return None


def _traversal_values(model, x):
    """Nine code values spanning the 1st-99th percentile of the codes of ``x``."""
    codes = np.asarray(model.encode(x), "float64")
    low, high = np.percentile(codes, [1, 99])
    if not high > low:
        low, high = low - 1.0, high + 1.0
    return np.linspace(low, high, 9)


def make_all(model, recipe, data, history, out, log=print):
    """Draws every picture that applies to ``model`` into ``out``.

    Args:
        model: the trained keras_ae model.
        recipe: its `keras_ae.app.recipes.Recipe`.
        data: the `keras_ae.datasets.Dataset` it was trained on (pictures
            use its test split).
        history: the `History` returned by `fit`.
        out: output folder.
        log: prints a one-line note for each figure the data cannot have.

    Returns:
        The PNG file names written (relative to ``out``), or an empty list if
        matplotlib is not installed.
    """
    try:
        from keras_ae import plotting
    except ImportError:
        return []
    x, y = data.x_test, data.y_test
    written = []

    def save(name, draw, *args, **kwargs):
        try:
            draw(*args, path=os.path.join(out, name), **kwargs)
        except ValueError as error:  # a figure this data cannot have
            log(f"  ({name} skipped: {str(error).splitlines()[0]})")
            return
        written.append(name)

    count = min(len(x), MAX_SCATTER_POINTS)
    if y is not None and np.ndim(y) == 2:
        y = y[:, 0]  # factor-labelled data (shapes): colour by the first factor
    save("latent_scatter.png", plotting.latent_scatter, model, x[:count],
         labels=None if y is None else y[:count], label_names=_class_names(data))
    save("training_curves.png", plotting.training_curves, history)
    try:
        shape = plotting.infer_image_shape(data.input_shape, data.image_shape)
    except ValueError:
        return written  # not images (e.g. tabular features): no image pictures
    save("reconstructions.png", plotting.reconstructions, model, x,
         n=NUM_RECONSTRUCTIONS, image_shape=shape)
    if recipe.generative and model.latent_dim == 2:
        save("latent_grid.png", plotting.latent_grid, model, image_shape=shape)
    else:
        save("latent_traversal.png", plotting.latent_traversal, model, x[:1],
             values=_traversal_values(model, x[:count]), image_shape=shape)
    if recipe.generative:
        save("samples.png", plotting.samples_grid, model, n=NUM_SAMPLES, seed=0,
             image_shape=shape)
    noise = getattr(model, "noise", None)
    if noise is not None:
        save("denoising.png", plotting.denoising, model, x, noise,
             n=NUM_DENOISING, image_shape=shape)
    save("filters.png", plotting.filters, model, n=NUM_FILTERS, image_shape=shape)
    return written
