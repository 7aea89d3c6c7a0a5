"""Per-feature spread of normal data, to weigh reconstruction errors by it.

A squared reconstruction error of 0.01 means little on a pixel that varies
a lot across normal images and much on one that is nearly constant (a
border that is always black). Dividing each feature's error by the square
of its spread over normal data measures the error in standardised units,
as a detector trained on standardised inputs would (pyod's `AutoEncoder`
standardises its inputs and scores there).

Example:
```python
from keras_ae.anomaly import scaling
scale = scaling.feature_scale(x_normal_train, offset=0.1)    # input shape
s = keras_ae.anomaly.reconstruction_error(ae, x_test, feature_scale=scale)
```
"""

import numpy as np

from keras_ae import validation

#: Default `offset` added to each feature's standard deviation (data units).
DEFAULT_OFFSET = 0.1


def feature_scale(x, offset=DEFAULT_OFFSET):
    """``std(x, axis=0) + offset``: the spread of each feature over ``x``.

    Args:
        x: normal data, array of shape ``(N,) + feature_shape`` with N >= 2.
        offset: a number > 0 added to every standard deviation, in the units
            of the data: features that (almost) never vary in normal data
            get scale ~``offset`` instead of ~0, so their errors are not
            blown up without bound. 0.1 (a tenth of a [0, 1] pixel range) was
            the best of 0.001-0.5 on a validation split of the Fashion-MNIST
            training set (`benchmarks/ANOMALY_RESULTS.md`); the weighting
            tends to the plain mean squared error as ``offset`` grows.

    Returns:
        float64 array of shape ``feature_shape``, every value > 0.
    """
    offset = validation.number(offset, "offset", low=0.0, low_inclusive=False)
    x = np.asarray(x, dtype="float64")
    if x.ndim < 2 or len(x) < 2:
        raise ValueError(
            "Expected `x` with at least two examples, shape (N, ...). "
            f"Received: x.shape={x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("Expected finite values in `x`. Received: non-finite values")
    return x.std(axis=0) + offset


def check_feature_scale(feature_scale, feature_shape):
    """``feature_scale`` as a float64 array of ``feature_shape``, finite and > 0."""
    try:
        scale = np.asarray(feature_scale, dtype="float64")
    except (TypeError, ValueError):
        scale = None
    if scale is None or scale.shape != tuple(feature_shape):
        raise ValueError(
            f"`feature_scale` must be an array of shape {tuple(feature_shape)} (one value "
            f"per feature). Received: feature_scale of shape "
            f"{getattr(scale, 'shape', None) if scale is not None else type(feature_scale).__name__}"
        )
    if not np.all(np.isfinite(scale) & (scale > 0)):
        raise ValueError(
            "`feature_scale` must be finite and > 0 everywhere. Received: feature_scale "
            f"with {int(np.sum(~(np.isfinite(scale) & (scale > 0))))} bad value(s)"
        )
    return scale
