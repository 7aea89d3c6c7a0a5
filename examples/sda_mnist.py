"""
Title: Stacked denoising autoencoders on MNIST (Vincent et al. 2010)
Description: Greedy layer-wise pretraining of a 784-1000-1000-1000 stacked
denoising autoencoder with masking noise, then supervised fine-tuning.

## The recipe

Vincent, Larochelle, Lajoie, Bengio & Manzagol, *Stacked Denoising
Autoencoders: Learning Useful Representations in a Deep Network with a Local
Denoising Criterion*, JMLR 11 (2010):

1. **Pretraining**, one layer at a time: a denoising autoencoder with sigmoid
   units learns to reconstruct its (clean) input from a copy in which a
   fraction of the entries is set to zero (*masking noise*), with a
   cross-entropy reconstruction loss. Its input is the raw image for the
   first layer and the (clean) code of the layer below for the others. Here:
   three layers of 1000 units, masking levels 0.1 / 0.2 / 0.3 from bottom to
   top, 15 epochs per layer.
2. **Fine-tuning**: the stacked encoder gets a softmax output layer and the
   whole network is trained on the labels (cross-entropy, SGD), with early
   stopping on a validation set (the last 10,000 training images, as in the
   paper's 50k/10k/10k split).

Differences from the paper: minibatches of 32 and Adam(1e-3) for
pretraining instead of per-example SGD (``--pretrain-optimizer sgd`` uses
SGD with ``--pretrain-lr``); fine-tuning is SGD with momentum 0.9 for at
most ``--finetune-epochs`` epochs instead of up to 1000. The paper reports
1.28% test error for SdA-3 on MNIST.

Run where MNIST is available (``keras_ae.datasets.load_data("mnist")`` finds a
local copy or downloads it):

```
python examples/sda_mnist.py --export-dir sda_mnist
```

Quick check on another dataset: ``--dataset fashion_mnist --quick``.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import keras_ae  # noqa: E402

"""
## Data
"""


def load(name, quick):
    try:
        (x, y), (x_test, y_test) = keras_ae.datasets.load_data(name)
    except keras_ae.datasets.DatasetNotFoundError as error:
        sys.exit(f"{name} is not available here: {error}")
    if quick:
        x, y, x_test, y_test = x[:6000], y[:6000], x_test[:2000], y_test[:2000]
    n_val = len(x) // 6  # 10,000 of 60,000
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:]), (x_test, y_test)


"""
## 1. Greedy layer-wise pretraining
"""


def pretrain(x, x_val, args):
    if args.pretrain_optimizer == "sgd":
        optimizer = keras.optimizers.SGD(args.pretrain_lr)
    else:
        optimizer = keras.optimizers.Adam(args.pretrain_lr)
    return keras_ae.greedy_pretrain(
        x,
        tuple(args.layer_units),
        noise="masking",
        noise_level=list(args.noise_levels),
        epochs=args.pretrain_epochs,
        batch_size=args.batch_size,
        optimizer=optimizer,
        activation="sigmoid",
        validation_data=(x_val,),
        export_dir=args.export_dir,
        overwrite=True,
        verbose=2,
        seed=args.seed,
    )


"""
## 2. Supervised fine-tuning

`keras_ae.load_encoder(stack, trainable=True)` is the stacked encoder as a
plain Keras model; a softmax layer on top makes the classifier.
"""


def fine_tune(stack, train, val, args):
    encoder = keras_ae.load_encoder(stack, trainable=True)
    clf = keras.Sequential(
        [
            keras.Input(stack.input_shape),
            encoder,
            keras.layers.Dense(10, activation="softmax", name="softmax"),
        ],
        name="sda_classifier",
    )
    clf.compile(
        optimizer=keras.optimizers.SGD(args.finetune_lr, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    clf.fit(
        *train,
        validation_data=val,
        epochs=args.finetune_epochs,
        batch_size=args.batch_size,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy", patience=5, restore_best_weights=True
            )
        ],
        verbose=2,
    )
    return clf


def main(argv=None):
    parser = argparse.ArgumentParser(description="Vincent et al. 2010 SdA on MNIST")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--layer-units", type=int, nargs="+", default=[1000, 1000, 1000])
    parser.add_argument("--noise-levels", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--pretrain-optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--pretrain-lr", type=float, default=1e-3)
    parser.add_argument("--finetune-epochs", type=int, default=50)
    parser.add_argument("--finetune-lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export-dir", default=None,
                        help="write every layer, the stack and the classifier here")
    parser.add_argument("--quick", action="store_true",
                        help="10%% of the data, 1 epoch per layer, 2 fine-tuning epochs")
    args = parser.parse_args(argv)
    if len(args.noise_levels) != len(args.layer_units):
        parser.error("--noise-levels needs one level per layer")
    if args.quick:
        args.pretrain_epochs, args.finetune_epochs = 1, 2

    train, val, test = load(args.dataset, args.quick)
    stack = pretrain(train[0], val[0], args)
    for layer in stack.pretraining_summary_["layers"]:
        print(f"layer {layer['layer']}: final loss {layer['final']['loss']:.3f}, "
              f"val_loss {layer['final']['val_loss']:.3f} ({layer['seconds']:.0f} s)")

    clf = fine_tune(stack, train, val, args)
    _, accuracy = clf.evaluate(*test, verbose=0)
    print(f"{args.dataset} test error after fine-tuning: {100 * (1 - accuracy):.2f}%")

    if args.export_dir:
        clf.save(os.path.join(args.export_dir, "classifier.keras"))
        with open(os.path.join(args.export_dir, "result.json"), "w") as f:
            json.dump({"args": vars(args), "test_accuracy": float(accuracy)}, f, indent=2)
    return float(accuracy)


if __name__ == "__main__":
    main()
