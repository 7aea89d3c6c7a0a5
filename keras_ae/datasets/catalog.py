"""The named datasets: what they hold (no loading here).

| name              | train / test   | image shape | source                                  |
|-------------------|----------------|-------------|-----------------------------------------|
| ``"digits"``      | 1500 / 297     | (8, 8, 1)   | `sklearn.datasets.load_digits` (embedded) |
| ``"fashion_mnist"`` | 60000 / 10000 | (28, 28, 1) | local idx/npz copies, else Keras download |
| ``"mnist"``       | 60000 / 10000  | (28, 28, 1) | local idx/npz copies, else Keras download |
| ``"shapes"``      | 4147 / 461     | (32, 32, 1) | drawn on the fly (`keras_ae.datasets.shapes`); ``y`` = 5 factor indices |
"""

import numpy as np

DATASETS = ("digits", "fashion_mnist", "mnist", "shapes")


IMAGE_SHAPES = {
    "digits": (8, 8, 1),
    "fashion_mnist": (28, 28, 1),
    "mnist": (28, 28, 1),
    "shapes": (32, 32, 1),
}


_INFO = {
    "digits": {
        "num_train": 1500,
        "num_test": 297,
        "class_names": tuple(str(i) for i in range(10)),
    },
    "fashion_mnist": {
        "num_train": 60000,
        "num_test": 10000,
        "class_names": (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    },
    "mnist": {
        "num_train": 60000,
        "num_test": 10000,
        "class_names": tuple(str(i) for i in range(10)),
    },
    "shapes": {
        "num_train": 4147,
        "num_test": 461,
        "class_names": ("square", "ellipse", "triangle"),
    },
}



def info(name):
    """Facts about a named dataset.

    Args:
        name: one of `DATASETS`.

    Returns:
        A dict with ``image_shape`` (``(H, W, C)``), ``num_features``,
        ``num_classes``, ``num_train``, ``num_test`` and ``class_names``.

    Example:
    ```python
    keras_ae.datasets.info("digits")["image_shape"]   # (8, 8, 1)
    ```
    """
    name = check_name(name)
    shape = IMAGE_SHAPES[name]
    facts = dict(_INFO[name])
    facts["image_shape"] = shape
    facts["num_features"] = int(np.prod(shape))
    facts["num_classes"] = len(facts["class_names"])
    return facts


def check_name(name):
    """Returns ``name`` if it is one of `DATASETS`, else raises `ValueError`."""
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset. Expected one of {list(DATASETS)}. Received: name={name!r}"
        )
    return name

