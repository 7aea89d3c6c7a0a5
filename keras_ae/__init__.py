"""keras_ae: a Keras 3 model zoo of autoencoders."""

__version__ = "0.1.0"

from keras_ae import _cli_startup

_cli_startup.choose_backend()  # the keras-ae command only
_cli_startup.quiet_tensorflow_import()  # the keras-ae command only

from keras_ae import backend
from keras_ae import datasets
from keras_ae import distribute
from keras_ae import layers
from keras_ae import losses
from keras_ae import networks
from keras_ae import plotting
from keras_ae import priors
from keras_ae import regularizers
from keras_ae import zoo
from keras_ae.models import Autoencoder
from keras_ae.models import DenoisingAutoencoder
from keras_ae.models import SparseAutoencoder
from keras_ae import callbacks
from keras_ae.models import VAE
from keras_ae.models import VariationalAutoencoder
from keras_ae.models import AAE
from keras_ae.models import AdversarialAutoencoder
from keras_ae.models import StackedAutoencoder
from keras_ae.models import ContractiveAutoencoder
from keras_ae.export import export_saved_model
from keras_ae.export import load_encoder
from keras_ae.pretraining import greedy_pretrain
from keras_ae import clustering
from keras_ae.models import LabelConditionedAAE
from keras_ae.models import SupervisedAAE
from keras_ae.models import SemiSupervisedAAE
from keras_ae.models import ClusteringAAE
