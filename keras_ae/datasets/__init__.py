"""Datasets for keras_ae: named datasets, users' files, streamed shards.

| module | job |
|---|---|
| `catalog` | the named datasets and their facts (`DATASETS`, `info`) |
| `load` | `load_data(name)`: embedded digits, MNIST-like sets from disk |
| `files` | where MNIST-like sets are searched for, `DatasetNotFoundError` |
| `readers` | idx and ``.npz`` readers, the array checks (`load_npz`) |
| `dataset` | `Dataset` (train/test arrays of one run), `load_dataset(name or .npz)` |
| `streaming` | `make_dataset`: a `tf.data.Dataset`, shards streamed from disk |
| `shapes` | a dSprites-like set with known generative factors, drawn on the fly |

Every loader returns ``(x_train, y_train), (x_test, y_test)`` with ``x``
float32 in ``[0, 1]`` (flattened to ``(N, H * W)`` by default, or
``(N, H, W, 1)`` with ``flatten=False``) and ``y`` int32 class labels.
"""

from keras_ae.datasets import shapes
from keras_ae.datasets.catalog import DATASETS
from keras_ae.datasets.catalog import IMAGE_SHAPES
from keras_ae.datasets.catalog import info
from keras_ae.datasets.dataset import Dataset
from keras_ae.datasets.dataset import fit_to_model
from keras_ae.datasets.dataset import load_dataset
from keras_ae.datasets.files import DEBIAN_FASHION_MNIST_DIR
from keras_ae.datasets.files import DatasetNotFoundError
from keras_ae.datasets.files import search_paths
from keras_ae.datasets.load import load_data
from keras_ae.datasets.readers import load_npz
from keras_ae.datasets.readers import read_idx
from keras_ae.datasets.readers import read_npz
from keras_ae.datasets.streaming import make_dataset

__all__ = [
    "DATASETS",
    "DEBIAN_FASHION_MNIST_DIR",
    "IMAGE_SHAPES",
    "Dataset",
    "DatasetNotFoundError",
    "fit_to_model",
    "info",
    "load_data",
    "load_dataset",
    "load_npz",
    "make_dataset",
    "read_idx",
    "read_npz",
    "search_paths",
    "shapes",
]
