"""Keras callbacks of keras_ae: KL annealing and posterior-collapse monitoring."""

from keras_ae.callbacks.active_units import ActiveUnits
from keras_ae.callbacks.kl_annealing import KLAnnealing
