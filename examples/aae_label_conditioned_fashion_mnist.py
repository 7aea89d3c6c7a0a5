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
match their labels. On the 3-class toy of the xfail test in
tests/test_label_conditioned.py every TensorFlow seed (1, 2, 3) ends at 0.0:
each class keeps the component its initial code direction led it to, and
the discriminator knows it (it scores its own component high and the
occupied one low for every label) without the generator moving the codes.
benchmarks/aae_label_conditioned_toy.py measures why: with all rows
labelled and no reconstruction phase the adversarial game alone places
0.669 of the codes (1.0 when the discriminator reads a labelled code as its
offset from its label's component mean); with the reconstruction phase and
30% labels it is 0.0 again. That offset view, a reconstruction warm-up
(480 steps) and labelled rows weighing 10x reach 1.0 on JAX seeds 1-3 but
0.347 on TensorFlow seed 3 (two classes swapped): not in the library yet.
Open.

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
