"""`load_data`: a named dataset as float32 images in [0, 1] and int labels.

The digits split is fixed and independent of the scikit-learn version: the
first 1500 images are the training set and the last 297 the test set (the
images are ordered by writer, so the test writers are not seen in training;
every class has 27-33 test images). Pixels are divided by 16.
"""

import numpy as np

from keras_ae.datasets.catalog import IMAGE_SHAPES
from keras_ae.datasets.catalog import info
from keras_ae.datasets import shapes
from keras_ae.datasets.catalog import check_name
from keras_ae.datasets.files import load_idx_dataset

def load_data(name, *, flatten=True):
    """Loads a named dataset as float32 images in [0, 1] and int labels.

    Args:
        name: ``"digits"``, ``"fashion_mnist"``, ``"mnist"`` or ``"shapes"``
            (whose ``y`` are the int32 ``(N, 5)`` indices of its generative
            factors, `keras_ae.datasets.shapes.FACTOR_NAMES`).
        flatten: if True (default) images are returned as ``(N, H * W)``
            vectors, otherwise as ``(N, H, W, 1)`` arrays.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``x`` float32 in [0, 1],
        ``y`` int32 of shape ``(N,)``.

    Raises:
        ValueError: unknown ``name``, or a local file that is not a valid
            idx/npz file for the dataset.
        DatasetNotFoundError: Fashion-MNIST/MNIST not found locally and the
            download failed (e.g. offline). The message lists the places
            searched.

    Example:
    ```python
    (x, y), (x_test, y_test) = keras_ae.datasets.load_data("fashion_mnist")
    x.shape, x.dtype          # (60000, 784), float32
    (x, y), _ = keras_ae.datasets.load_data("digits", flatten=False)
    x.shape                   # (1500, 8, 8, 1)
    ```
    """
    name = check_name(name)
    if name == "shapes":
        return shapes.load_data(flatten=flatten)
    if name == "digits":
        (x_train, y_train), (x_test, y_test) = _load_digits_uint()
        scale = 16.0
    else:
        (x_train, y_train), (x_test, y_test) = load_idx_dataset(name)
        scale = 255.0
    shape = IMAGE_SHAPES[name]
    out = []
    for x, y in ((x_train, y_train), (x_test, y_test)):
        x = np.asarray(x, dtype=np.float32) / np.float32(scale)
        x = x.reshape((len(x),) + (shape if not flatten else (int(np.prod(shape)),)))
        out.append((x, np.asarray(y, dtype=np.int32)))
    return tuple(out)


def _load_digits_uint():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data.astype(np.float32)
    y = digits.target.astype(np.int32)
    n_train = info("digits")["num_train"]
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])

