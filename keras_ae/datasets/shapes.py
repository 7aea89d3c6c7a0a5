"""Shapes: a small dSprites-like set with known generative factors, made on the fly.

Every image shows one white shape on black, drawn (anti-aliased, 3 x 3
supersampling) from five independent factors, each on a regular grid:

| factor | values |
|---|---|
| ``shape`` | 0 square, 1 ellipse, 2 triangle |
| ``scale`` | 4 sizes, 0.5 to 1.0 of the largest |
| ``orientation`` | 6 angles, 0 to 75 degrees (no two look alike for any shape) |
| ``x``, ``y`` | 8 positions each (column, row: y grows downwards), 2 pixels apart on 32 x 32 images |

The full grid has 3 * 4 * 6 * 8 * 8 = 4608 images. No download and no
randomness in the drawing: the same arguments always give the same arrays
(``seed`` only picks which grid points `make_shapes` draws and how
`load_data` splits them). Used to measure disentanglement
(`keras_ae.evaluation.mutual_information_gap`, `dci`).

Example:
```python
images, factors = keras_ae.datasets.shapes.make_shapes()
images.shape, factors.shape       # (4608, 32, 32, 1), (4608, 5)
(x, f), (x_test, f_test) = keras_ae.datasets.shapes.load_data()
```
"""

import numpy as np

from keras_ae import validation

FACTOR_NAMES = ("shape", "scale", "orientation", "x", "y")
FACTOR_SIZES = (3, 4, 6, 8, 8)
SHAPES = ("square", "ellipse", "triangle")
_SUPERSAMPLE = 3


def factor_values(factors, image_size=32):
    """Physical values of factor indices: scale (radius in pixels),
    orientation (radians), x and y (pixel centres); shape stays an index.

    Args:
        factors: int array ``(N, 5)`` of factor indices.
        image_size: side of the images.

    Returns:
        float64 array ``(N, 5)``.
    """
    f = np.asarray(factors)
    if f.ndim != 2 or f.shape[1] != len(FACTOR_NAMES):
        raise ValueError(
            f"`factors` must be an array of shape (N, {len(FACTOR_NAMES)}). "
            f"Received: factors.shape={f.shape}"
        )
    size = float(image_size)
    out = np.empty(f.shape, "float64")
    out[:, 0] = f[:, 0]
    out[:, 1] = size * 0.16 * np.linspace(0.5, 1.0, FACTOR_SIZES[1])[f[:, 1]]
    out[:, 2] = np.deg2rad(np.arange(FACTOR_SIZES[2]) * 15.0)[f[:, 2]]
    # Whole-pixel steps, so every position has the same sub-pixel phase.
    step = max(1, round(size * 0.5 / (FACTOR_SIZES[3] - 1)))
    positions = round(size * 0.25) + step * np.arange(FACTOR_SIZES[3], dtype="float64")
    out[:, 3] = positions[f[:, 3]]
    out[:, 4] = positions[f[:, 4]]
    return out


def _inside(shape, u, v):
    """Whether points (u, v) of the shape's unit frame are inside it."""
    if shape == 0:  # square, same area as the ellipse about
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == 1:  # ellipse, axes 1 and 0.55
        return u**2 + (v / 0.55) ** 2 <= 1.0
    # triangle with vertices (0, 1), (+-0.87, -0.5)
    s = np.sqrt(3.0)
    return (v >= -0.5) & (v <= 1.0 - s * u) & (v <= 1.0 + s * u)


def render(factors, image_size=32):
    """Images of the given factor indices, float32 ``(N, H, W, 1)`` in [0, 1].

    Args:
        factors: int array ``(N, 5)`` of indices (see `FACTOR_SIZES`).
        image_size: side of the square images (>= 16).
    """
    image_size = validation.integer(image_size, "image_size", low=16)
    f = np.asarray(factors)
    values = factor_values(f, image_size)
    if f.size and (np.any(f < 0) or np.any(f >= np.array(FACTOR_SIZES))):
        raise ValueError(
            f"`factors` must hold indices in [0, size) for sizes {FACTOR_SIZES}. "
            f"Received: factors in [{f.min()}, {f.max()}]"
        )
    k = _SUPERSAMPLE
    grid = (np.arange(image_size * k) + 0.5) / k
    py, px = np.meshgrid(grid, grid, indexing="ij")
    images = np.empty((len(f), image_size, image_size, 1), "float32")
    for i, (shape, radius, angle, cx, cy) in enumerate(values):
        c, s = np.cos(angle), np.sin(angle)
        dx, dy = (px - cx) / radius, (cy - py) / radius  # y up
        u, v = c * dx + s * dy, -s * dx + c * dy
        mask = _inside(int(shape), u, v).astype("float32")
        images[i, :, :, 0] = mask.reshape(image_size, k, image_size, k).mean(axis=(1, 3))
    return images


def all_factors():
    """Every factor combination, int32 ``(4608, 5)``, in row-major grid order."""
    grids = np.meshgrid(*[np.arange(n) for n in FACTOR_SIZES], indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=1).astype("int32")


def make_shapes(n=None, image_size=32, seed=0, flatten=False):
    """Images and their factors.

    Args:
        n: None for the full grid (4608 images, grid order); an integer for
            ``n`` draws of independent uniform factors (with repetition).
        image_size: side of the images (>= 16).
        seed: integer seed of the draws (unused when ``n`` is None).
        flatten: return images as ``(N, H * W)`` vectors.

    Returns:
        ``(images, factors)``: float32 images in [0, 1] and int32 factor
        indices ``(N, 5)`` in the order of `FACTOR_NAMES`.
    """
    seed = validation.integer(seed, "seed")
    if n is None:
        factors = all_factors()
    else:
        n = validation.integer(n, "n", low=0)
        rng = np.random.default_rng(seed)
        factors = np.stack([rng.integers(0, s, n) for s in FACTOR_SIZES], axis=1)
        factors = factors.astype("int32")
    images = render(factors, image_size)
    if flatten:
        images = images.reshape(len(images), -1)
    return images, factors


def load_data(flatten=True, image_size=32, test_fraction=0.1, seed=0):
    """The full grid, shuffled and split into training and test images.

    Args:
        flatten: images as ``(N, H * W)`` (default) or ``(N, H, W, 1)``.
        image_size: side of the images.
        test_fraction: share of the grid held out (in [0, 1)).
        seed: integer seed of the shuffle.

    Returns:
        ``(x_train, factors_train), (x_test, factors_test)``; the factors are
        int32 ``(N, 5)`` indices (`FACTOR_NAMES`), not class labels.
    """
    test_fraction = validation.number(
        test_fraction, "test_fraction", low=0.0, high=1.0, high_inclusive=False
    )
    seed = validation.integer(seed, "seed")
    images, factors = make_shapes(image_size=image_size, flatten=flatten)
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = int(round(test_fraction * len(images)))
    test, train = order[:n_test], order[n_test:]
    return (images[train], factors[train]), (images[test], factors[test])
