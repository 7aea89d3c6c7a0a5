"""keras_ae: a Keras 3 model zoo of autoencoders.

Importing keras_ae registers every model, layer, prior and regularizer with
Keras (so `keras.models.load_model` reads keras_ae files) and does nothing
else: it does not change the process (no environment variables, no file
descriptors) and does not import matplotlib. The ``keras-ae`` command lives in
`keras_ae.app`.
"""

from keras_ae import anomaly
from keras_ae import backend
from keras_ae import callbacks
from keras_ae import clustering
from keras_ae import datasets
from keras_ae import distribute
from keras_ae import evaluation
from keras_ae import layers
from keras_ae import losses
from keras_ae import networks
from keras_ae import objectives
from keras_ae import plotting
from keras_ae import priors
from keras_ae import regularizers
from keras_ae import zoo
from keras_ae.export import export_saved_model
from keras_ae.export import load_encoder
from keras_ae.models import AAE
from keras_ae.models import AdversarialAutoencoder
from keras_ae.models import BetaTCVAE
from keras_ae.models import Autoencoder
from keras_ae.models import ClusteringAAE
from keras_ae.models import ConditionalVAE
from keras_ae.models import ContractiveAutoencoder
from keras_ae.models import DenoisingAutoencoder
from keras_ae.models import LabelConditionedAAE
from keras_ae.models import SemiSupervisedAAE
from keras_ae.models import SparseAutoencoder
from keras_ae.models import StackedAutoencoder
from keras_ae.models import SupervisedAAE
from keras_ae.models import VQVAE
from keras_ae.models import VAE
from keras_ae.models import VariationalAutoencoder
from keras_ae.pretraining import greedy_pretrain
from keras_ae.version import __version__

__all__ = [
    "AAE",
    "AdversarialAutoencoder",
    "BetaTCVAE",
    "Autoencoder",
    "ClusteringAAE",
    "ConditionalVAE",
    "ContractiveAutoencoder",
    "DenoisingAutoencoder",
    "LabelConditionedAAE",
    "SemiSupervisedAAE",
    "SparseAutoencoder",
    "StackedAutoencoder",
    "SupervisedAAE",
    "VQVAE",
    "VAE",
    "VariationalAutoencoder",
    "__version__",
    "anomaly",
    "backend",
    "callbacks",
    "clustering",
    "datasets",
    "distribute",
    "evaluation",
    "export_saved_model",
    "greedy_pretrain",
    "layers",
    "load_encoder",
    "losses",
    "networks",
    "objectives",
    "plotting",
    "priors",
    "regularizers",
    "zoo",
]
