"""
Title: An undercomplete autoencoder on Fashion-MNIST, and what it learned
Description: Train `keras_ae.Autoencoder` (784-256-64-32) with `fit`, compare
its reconstructions with PCA at the same code size, and look at its codes,
reconstructions and first-layer filters with `keras_ae.plotting`.

## Introduction

An undercomplete autoencoder squeezes each image through a code smaller than
the input: the encoder maps 784 pixels to ``latent_dim`` numbers and the
decoder maps them back. Trained to reconstruct its input, it must keep what
matters about the images. With linear layers and squared error it can do no
better than PCA (it learns the same subspace); non-linear layers let it beat
PCA at the same code size, which is the first thing to check.

`keras_ae.Autoencoder` is a subclassed `keras.Model`: `compile()` picks
Adam(1e-3), `fit(x)` trains it to reconstruct ``x``, the loss is the binary
cross-entropy summed over pixels (nats per image) and the metric ``mse`` is
the per-pixel mean squared error.

Run (about a minute on 2 CPU cores):

```
python examples/autoencoder_fashion_mnist.py --epochs 5 --out ae_fashion
```
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import plotting  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--latent-dim", type=int, default=32)
parser.add_argument("--train-examples", type=int, default=None,
                    help="use only the first N training images")
parser.add_argument("--out", default="ae_fashion", help="folder of the pictures")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)

"""
## Data

`keras_ae.datasets.load_data("fashion_mnist")` reads a local copy when there
is one (``$KERAS_AE_DATA``, ``/usr/share/datasets/fashion-mnist``, the Keras
cache) and downloads it otherwise. Images come as float32 in [0, 1],
flattened to 784 features.
"""

(x_train, y_train), (x_test, y_test) = keras_ae.datasets.load_data("fashion_mnist")
if args.train_examples:
    x_train, y_train = x_train[: args.train_examples], y_train[: args.train_examples]
class_names = keras_ae.datasets.info("fashion_mnist")["class_names"]
print(f"train {x_train.shape}, test {x_test.shape}")

"""
## The model

Two hidden layers of 256 and 64 ReLU units down to a 32-dimensional code; the
decoder mirrors them and ends in a sigmoid. The whole model is built at
construction, so `summary()` works right away.
"""

model = keras_ae.Autoencoder(
    input_shape=(784,), latent_dim=args.latent_dim, hidden_units=(256, 64),
    seed=args.seed,
)
model.summary()
model.compile()
history = model.fit(
    x_train, epochs=args.epochs, batch_size=args.batch_size,
    validation_data=(x_test,), verbose=2,
)

"""
## Is it better than PCA?

PCA with the same number of components is the best *linear* code of that
size for squared error. The autoencoder should beat it; if it does not, it
is undertrained.
"""

ae_mse = float(np.mean((model.reconstruct(x_test) - x_test) ** 2))
pca = PCA(n_components=args.latent_dim, random_state=args.seed).fit(x_train)
pca_mse = float(np.mean((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2))
print(f"test MSE per pixel: autoencoder {ae_mse:.4f}, PCA({args.latent_dim}) {pca_mse:.4f}")

"""
## What it learned

* reconstructions: test images (top) and their reconstructions (bottom);
* the codes of the test images, projected to 2-D by PCA and coloured by class:
  classes the model never saw as labels form clusters;
* the first-layer filters, shown as 28x28 images;
* the training curves.
"""

os.makedirs(args.out, exist_ok=True)
plotting.reconstructions(model, x_test, n=10, path=os.path.join(args.out, "reconstructions.png"))
plotting.latent_scatter(model, x_test[:3000], labels=y_test[:3000], label_names=class_names,
                        path=os.path.join(args.out, "latent_scatter.png"))
plotting.filters(model, n=64, path=os.path.join(args.out, "filters.png"))
plotting.training_curves(history, path=os.path.join(args.out, "training_curves.png"))

"""
## Save, reload, export

The `.keras` file holds the architecture, weights and optimizer state, and
reloads under Keras's default ``safe_mode``; the SavedModel export is for
serving (see `examples/export_and_serve.py`).
"""

path = os.path.join(args.out, "autoencoder.keras")
model.save(path)
reloaded = keras.models.load_model(path)
np.testing.assert_allclose(reloaded.encode(x_test[:16]), model.encode(x_test[:16]), atol=1e-5)
keras_ae.export_saved_model(model, os.path.join(args.out, "saved_model"), overwrite=True)
print(f"wrote {args.out}/: reconstructions, latent scatter, filters, curves, "
      "autoencoder.keras, saved_model/")
