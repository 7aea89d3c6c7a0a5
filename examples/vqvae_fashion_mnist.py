"""VQ-VAE on Fashion-MNIST: codebook usage and reconstruction vs a conv autoencoder.

Trains `keras_ae.VQVAE` (512 codes of size 16 on a 7x7 grid, conv encoder
and decoder with 32 and 64 filters, MSE loss, Adam 1e-3, batch 128) with
the codebook updated by EMA and dead codes restarted, and the ablations, and
the conv `keras_ae.Autoencoder` with the same filters, loss and budget and a
continuous code of 49 numbers (one per grid position, the same spatial size
as the 7x7 code grid). Reports the fraction of the codebook used on the test
set, the code perplexity and the test reconstruction MSE (per pixel).

Usage (one variant per run, each under 10 minutes on a shared 2-core CPU):

    KERAS_BACKEND=tensorflow python examples/vqvae_fashion_mnist.py --variant ema_restarts
    ... --variant ema | gradient | gradient_restarts | autoencoder

Measured on a shared 2-core CPU (KERAS_BACKEND=tensorflow, 3 epochs on the
first 30000 training images, batch 128, seed 0; the 10000 test images):

    variant                    codes used   perplexity   test MSE   time
    EMA + restarts (default)   98.8% (506)     227        0.00768    139 s
    EMA, no restarts            2.1% (11)        8.1      0.01331    261 s
    gradient + restarts        99.2% (508)     223        0.00727    196 s
    gradient, no restarts       1.8% (9)         5.4      0.01500    206 s
    conv Autoencoder (49-d)         -            -        0.01325    195 s

The conv Autoencoder has the same filters, loss and budget and a continuous
code of 49 numbers, one per position of the 7x7 grid. Without restarts only
9-11 of the 512 codes are ever used (the codebook starts uniform in
[-1, 1]); restarts keep nearly all of them in use.

TensorFlow for the full table: on this CPU the conv networks ran 4-10x
slower per step under JAX than under TensorFlow (e.g. 2.9 s vs 0.59 s per
batch of 128 at a load average of 10), so only shorter JAX runs fit the
10-minute bound. On JAX (KERAS_BACKEND=jax, seed 0), EMA + restarts:

    budget                         codes used   perplexity   test MSE   time
    1 epoch on 10000 (79 steps)    54.5% (279)     106        0.01973    262 s
    2 epochs on 10000 (158 steps)  66.4% (340)     138        0.01365    277 s
    3 epochs on 12000 (282 steps)  86.7% (444)     170        0.01047    253 s
    conv Autoencoder (49-d), 282 steps  -            -        0.01913    232 s

    KERAS_BACKEND=jax python examples/vqvae_fashion_mnist.py --epochs 3 --train-size 12000
"""

import argparse
import json
import time

import numpy as np

import keras_ae

VARIANTS = {
    "ema_restarts": dict(ema=True, restart_dead_codes=True),
    "ema": dict(ema=True, restart_dead_codes=False),
    "gradient": dict(ema=False, restart_dead_codes=False),
    "gradient_restarts": dict(ema=False, restart_dead_codes=True),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="ema_restarts",
                        choices=sorted(VARIANTS) + ["autoencoder"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=30000)
    parser.add_argument("--num-embeddings", type=int, default=512)
    parser.add_argument("--embedding-dim", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    (x, _), (x_test, _) = keras_ae.datasets.load_data("fashion_mnist", flatten=False)
    x = x[: args.train_size]
    common = dict(hidden_units=(32, 64), reconstruction_loss="mse", seed=args.seed)
    if args.variant == "autoencoder":
        model = keras_ae.Autoencoder(
            (28, 28, 1), latent_dim=49, architecture="conv", **common
        )
    else:
        model = keras_ae.VQVAE(
            (28, 28, 1),
            num_embeddings=args.num_embeddings,
            embedding_dim=args.embedding_dim,
            **VARIANTS[args.variant],
            **common,
        )
    model.compile()
    start = time.time()
    model.fit(x, epochs=args.epochs, batch_size=128, verbose=2)
    seconds = time.time() - start
    x_hat = model.reconstruct(x_test)
    result = {
        "variant": args.variant,
        "epochs": args.epochs,
        "train_size": len(x),
        "test_mse": float(np.mean((x_hat - x_test) ** 2)),
        "seconds": round(seconds, 1),
    }
    if args.variant != "autoencoder":
        used, perplexity = model.codebook_usage(x_test)
        result.update(codes_used=used, perplexity=perplexity)
        samples = model.sample(8, seed=0)
        result["sample_range"] = [float(samples.min()), float(samples.max())]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
