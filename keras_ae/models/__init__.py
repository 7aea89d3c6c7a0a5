"""keras_ae model classes."""

from keras_ae.models.autoencoder import Autoencoder
from keras_ae.models.base import BaseAutoencoder
from keras_ae.models.denoising import DenoisingAutoencoder
from keras_ae.models.sparse import SparseAutoencoder
from keras_ae.models.vae import VAE
from keras_ae.models.vae import VariationalAutoencoder
from keras_ae.models.adversarial import AAE
from keras_ae.models.adversarial import AdversarialAutoencoder
from keras_ae.models.stacked import StackedAutoencoder
from keras_ae.models.contractive import ContractiveAutoencoder
from keras_ae.models.label_conditioned import LabelConditionedAAE
from keras_ae.models.supervised_adversarial import SupervisedAAE
from keras_ae.models.semi_supervised_adversarial import SemiSupervisedAAE
from keras_ae.models.clustering_adversarial import ClusteringAAE
from keras_ae.models.beta_tcvae import BetaTCVAE
from keras_ae.models.vqvae import VQVAE
from keras_ae.models.conditional_vae import ConditionalVAE
