"""Layers of keras_ae: corruption (noise) layers, reparameterised sampling, tied weights,
batch statistics for discriminators."""

from keras_ae.layers.dense_transpose import DenseTranspose
from keras_ae.layers.noise import GaussianNoise
from keras_ae.layers.noise import MaskingNoise
from keras_ae.layers.noise import SaltAndPepperNoise
from keras_ae.layers.minibatch_features import MinibatchFeatures
from keras_ae.layers.noise import get_noise
from keras_ae.layers.random_layer import RandomLayer
from keras_ae.layers.sampling import Sampling
from keras_ae.layers.vector_quantizer import VectorQuantizer
