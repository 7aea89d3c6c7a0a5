"""
Title: A pretrained zoo encoder inside a new classifier
Description: Load a pretrained encoder from `keras_ae.zoo`, put it in a
`keras.Sequential` classifier trained on a few hundred labels, first frozen,
then fine-tuned, and compare with the same network trained from scratch.

## Introduction

An autoencoder learns from unlabelled images; its encoder turns each image
into a short code. `keras_ae.zoo.load_encoder(name)` returns the encoder of a
pretrained model as an ordinary Keras model (inputs to codes; the posterior
mean for a VAE), so it drops into `Sequential` or functional models, trains
with any optimizer, and the classifier saves and reloads with `model.save`
like any Keras model. ``trainable=False`` (the default) freezes it; with
``trainable=True`` (or ``encoder.trainable = True`` and a new `compile`) it
fine-tunes. `keras-ae zoo list` shows the available encoders; this example
uses ``vae_fashion`` (784-64-16, trained on the 60000 unlabelled
Fashion-MNIST training images).

Does the pretrained code help a classifier with few labels? Measure it
rather than assume it: this example trains the same architecture three ways
on the same labelled subset and reports test accuracy. With the small zoo
encoders (a 16-number code) and an MLP trained with Adam, expect the frozen
code to come within a few points of training from scratch while training
only 170 weights, and fine-tuning to close most of the rest; here
pretraining did not beat training from scratch (200 labels: frozen 0.73,
fine-tuned 0.76, scratch 0.77; 50 labels: 0.56, 0.61, 0.63 with
``vae_fashion``). Try other zoo encoders and label counts with
``--zoo-model`` and ``--labels``; `examples/pretraining_few_labels.py`
measures greedy layer-wise pretraining the same way.

Run (under a minute on 2 CPU cores):

```
python examples/zoo_encoder_transfer.py --labels 200
```
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import zoo  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
parser.add_argument("--zoo-model", default="vae_fashion",
                    help="a name from `keras-ae zoo list` (a Fashion-MNIST model)")
parser.add_argument("--labels", type=int, default=200, help="labelled training images")
parser.add_argument("--epochs", type=int, default=60)
parser.add_argument("--head-lr", type=float, default=1e-2,
                    help="learning rate of the softmax layer on the frozen encoder")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--save", default=None, help="save the fine-tuned classifier (.keras)")
args = parser.parse_args()

"""
## The pretrained encoder and its card

Every zoo model has a card: the data it saw, its architecture, the command
that trained it and its test metrics.
"""

card = zoo.card(args.zoo_model)
print(f"{args.zoo_model}: {card['class']}, {card['architecture']}")
print(f"  trained with: {card['command']}")
print(f"  test reconstruction MSE: {card['metrics']['mse']:.4f}")

"""
## Few labels

A balanced subset of ``--labels`` training images (the same for every model)
and the full test set.
"""

(x_train, y_train), (x_test, y_test) = keras_ae.datasets.load_data(card["dataset"])
rng = np.random.default_rng(args.seed)
per_class = args.labels // 10
idx = np.concatenate(
    [rng.choice(np.flatnonzero(y_train == k), per_class, replace=False) for k in range(10)]
)
x_few, y_few = x_train[idx], y_train[idx]
input_shape = tuple(card["data"]["input_shape"])
latent_dim = card["config"]["latent_dim"]
print(f"{len(x_few)} labelled images, {len(x_test)} test images")

"""
## Three classifiers with the same architecture

encoder (784-64-16) -> Dense(10, softmax):

1. **frozen**: the zoo encoder, not trained; only the softmax layer learns
   (with a larger learning rate, ``--head-lr``: it is a linear model);
2. **fine-tuned**: starts from the frozen result and trains everything with
   a small learning rate;
3. **scratch**: the same layers, randomly initialised, trained on the few
   labels only.
"""


def classifier(encoder):
    return keras.Sequential(
        [keras.Input(input_shape), encoder, keras.layers.Dense(10, activation="softmax")]
    )


def train_and_test(model, learning_rate):
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_few, y_few, epochs=args.epochs, batch_size=32, verbose=0)
    return model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]


keras.utils.set_random_seed(args.seed)
encoder = zoo.load_encoder(args.zoo_model)  # frozen
frozen = classifier(encoder)
acc_frozen = train_and_test(frozen, args.head_lr)

# Unfreezing takes effect at the next compile (train_and_test compiles again).
encoder.trainable = True
acc_finetuned = train_and_test(frozen, 1e-4)

keras.utils.set_random_seed(args.seed)
hidden = card["config"]["hidden_units"]
scratch_encoder = keras.Sequential(
    [keras.Input(input_shape)]
    + [keras.layers.Dense(units, activation="relu") for units in hidden]
    + [keras.layers.Dense(latent_dim, activation="relu")]
)
acc_scratch = train_and_test(classifier(scratch_encoder), 1e-3)

print(f"test accuracy with {len(x_few)} labels:")
print(f"  zoo encoder, frozen     {acc_frozen:.3f}")
print(f"  zoo encoder, fine-tuned {acc_finetuned:.3f}")
print(f"  from scratch            {acc_scratch:.3f}")

"""
## Save and reload

The classifier holds the encoder as plain Keras layers, so it saves to a
`.keras` file and reloads under the default ``safe_mode``.
"""

if args.save:
    frozen.save(args.save)
    reloaded = keras.models.load_model(args.save)
    np.testing.assert_allclose(
        reloaded.predict(x_test[:8], verbose=0), frozen.predict(x_test[:8], verbose=0),
        atol=1e-6,
    )
    print(f"saved and reloaded {args.save}")
