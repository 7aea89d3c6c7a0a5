"""The ``keras-ae`` command line (also ``python -m keras_ae``)."""

import argparse
import json
import os
import sys
import time


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cmd_demo(args):
    import numpy as np

    import keras_ae
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    x_train, x_test = x[:1500], x[1500:]
    os.makedirs(args.out, exist_ok=True)
    rows = []
    start = time.time()
    model = keras_ae.Autoencoder(
        input_shape=(64,), latent_dim=8, hidden_units=(64, 32), seed=0
    )
    model.compile()
    model.fit(x_train, epochs=args.epochs, batch_size=64, verbose=0)
    logs = model.evaluate(x_test, verbose=0, return_dict=True)
    model.save(os.path.join(args.out, "autoencoder.keras"))
    rows.append({"model": "Autoencoder", **{k: float(v) for k, v in logs.items()},
                 "seconds": time.time() - start})
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(rows, f, indent=2)
    for row in rows:
        print(f"{row['model']:<14} test reconstruction_loss={row['reconstruction_loss']:.3f} "
              f"mse={row['mse']:.4f} ({row['seconds']:.1f}s)")
    print(f"wrote {args.out}/")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-ae", description="Autoencoders in Keras 3: train, evaluate, export."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train the zoo on the embedded digits")
    demo.add_argument("--out", default="demo_out", help="output directory")
    demo.add_argument("--epochs", type=int, default=30, help="epochs per model")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    _quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
