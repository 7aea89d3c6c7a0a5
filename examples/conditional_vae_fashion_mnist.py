"""Conditional VAE on Fashion-MNIST: do samples show the class they were asked for?

Trains `keras_ae.ConditionalVAE` (dense, 512-256 hidden units, 8 latent
dimensions, Bernoulli likelihood on grey levels, Adam 1e-3, batch 128) on
the 60000 training images with their labels, and a separate classifier (a
dense 256-128 ReLU network, 5 epochs) on the same real images. Then draws
``sample(n, labels=...)`` for every class and reports how often the
classifier agrees with the conditioning label (the classifier's own test
accuracy on real images is the ceiling).

Usage (under 10 minutes on a shared 2-core CPU):

    KERAS_BACKEND=jax python examples/conditional_vae_fashion_mnist.py

Measured (KERAS_BACKEND=jax, 1000 samples per class, shared 2-core CPU):

    latent  epochs  seed  agreement  classifier test acc.  test -ELBO  time
      8       15     0     83.4%          87.6%              237.8     334 s
      8       15     1     81.4%          87.1%              237.5     281 s
     16       10     0     78.2%          87.6%              238.5     255 s

Per class (latent 8, seed 0): T-shirt 70%, trouser 95%, pullover 58%,
dress 86%, coat 78%, sandal 95%, shirt 65%, sneaker 95%, bag 95%, ankle
boot 98%; the classes the classifier itself confuses on real images
(shirt, pullover, T-shirt, coat) are the weak ones. The run with 16 latent
dimensions and 10 epochs agrees less (78.2%); the effects of the latent size
and of the budget were not separated.
"""

import argparse
import json
import time

import keras
import numpy as np

import keras_ae


def classifier(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--latent-dim", type=int, default=8)
    parser.add_argument("--samples-per-class", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    (x, y), (x_test, y_test) = keras_ae.datasets.load_data("fashion_mnist")
    start = time.time()
    judge = classifier(args.seed)
    judge.fit(x, y, epochs=5, batch_size=128, verbose=0)
    judge_accuracy = float(judge.evaluate(x_test, y_test, verbose=0)[1])

    cvae = keras_ae.ConditionalVAE(
        (784,), num_classes=10, latent_dim=args.latent_dim, hidden_units=(512, 256),
        seed=args.seed,
    )
    cvae.compile()
    history = cvae.fit(x, y, epochs=args.epochs, batch_size=128, verbose=2)

    labels = np.repeat(np.arange(10), args.samples_per_class)
    samples = cvae.sample(len(labels), labels=labels, seed=args.seed)
    predicted = np.argmax(judge.predict(samples, batch_size=1024, verbose=0), axis=1)
    per_class = [float(np.mean(predicted[labels == k] == k)) for k in range(10)]
    test_loss = cvae.evaluate(x_test, y_test, verbose=0, return_dict=True)["loss"]
    print(
        json.dumps(
            {
                "agreement": float(np.mean(predicted == labels)),
                "agreement_per_class": [round(a, 3) for a in per_class],
                "classifier_test_accuracy": judge_accuracy,
                "cvae_train_loss": float(history.history["loss"][-1]),
                "cvae_test_negative_elbo": float(test_loss),
                "epochs": args.epochs,
                "latent_dim": args.latent_dim,
                "seconds": round(time.time() - start, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
