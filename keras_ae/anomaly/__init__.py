"""Anomaly detection with keras_ae models.

* `keras_ae.anomaly.scores`: per-example anomaly scores (reconstruction
  error for any model, ``-log p(x)`` and ``-ELBO`` for a VAE, the prior's
  negative log density of the code for an AAE, the encoder's Jacobian norm);
* `Detector`: a score plus a threshold fitted on held-out normal data at a
  target false-positive rate (or on unlabelled data at a contamination
  rate), calibrated probabilities, per-feature scores, save/load beside
  the model's ``.keras`` file; ``standardize=True`` weighs each feature's
  reconstruction error by the spread of normal data
  (`keras_ae.anomaly.scaling`).

Example:
```python
from keras_ae import anomaly
detector = anomaly.Detector(model).fit_threshold(x_normal_val, fpr=0.05)
flags = detector.predict(x_test)
s = anomaly.score(vae, x_test, kind="negative_log_likelihood", num_samples=100)
```
"""

from keras_ae.anomaly import scaling
from keras_ae.anomaly import scores
from keras_ae.anomaly.detector import Detector
from keras_ae.anomaly.scores import SCORES
from keras_ae.anomaly.scores import negative_elbo
from keras_ae.anomaly.scores import negative_log_likelihood
from keras_ae.anomaly.scores import prior_negative_log_density
from keras_ae.anomaly.scores import reconstruction_error
from keras_ae.anomaly.scores import score

__all__ = [
    "Detector",
    "SCORES",
    "score",
    "scores",
    "scaling",
    "reconstruction_error",
    "negative_log_likelihood",
    "negative_elbo",
    "prior_negative_log_density",
]
