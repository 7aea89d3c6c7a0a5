"""Label information in the adversarial regularization on Fashion-MNIST
(Makhzani et al. 2015, section 5).

`keras_ae.LabelConditionedAAE` with a 10-component 2-D mixture prior: the
discriminator also sees a one-hot label (plus an "unlabelled" slot), so
labelled images are pushed into their own component and unlabelled ones
anywhere on the mixture. We label ``--labelled`` of the training images
(``-1`` for the rest) and measure on the test set how often a code falls in
its class's component (`prior.assign_components`). The figure is the scatter
of test codes coloured by class.

Measured (KERAS_BACKEND=jax, 20% of the training labels, 5 epochs, batch
100): 0.089 of the test codes fall in their class's component, no better
than chance (0.1): the codes cover the mixture but in components that do not
match their labels. On a 3-class toy problem the same happens systematically
(class c settles in component c+1), see the xfail test in
tests/test_label_conditioned.py. Open.

Run:
    KERAS_BACKEND=jax python examples/aae_label_conditioned_fashion_mnist.py \\
        --labelled 0.2 --epochs 5 --figure mixture.png
"""

import argparse

import numpy as np
from keras import ops

import keras_ae


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--figure", default=None, help="code scatter (PNG)")
    args = parser.parse_args()
    (x, y), (x_test, y_test) = keras_ae.datasets.load_data("fashion_mnist")
    rs = np.random.default_rng(0)
    labels = np.where(rs.uniform(size=len(y)) < args.labelled, y, -1)
    model = keras_ae.LabelConditionedAAE((784,), num_classes=10, latent_dim=2, seed=0)
    model.compile()
    model.fit(x, labels, epochs=args.epochs, batch_size=100, verbose=2)
    z = model.encode(x_test)
    k = ops.convert_to_numpy(model.prior.assign_components(z))
    print(f"test codes in their class's component: {np.mean(k == y_test):.4f}")
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(z[:, 0], z[:, 1], c=y_test, s=1, cmap="tab10")
        fig.savefig(args.figure, dpi=80)


if __name__ == "__main__":
    main()
