"""keras_ae runner: the models under test, through the public API only.

Same networks and budget as ``plain_keras.py`` (784-512-256-32, ReLU hidden
and code activation for AE/DAE/SAE, discriminator 256-256, Adam(1e-3), batch
128, Bernoulli NLL summed over pixels).

Runs on the Keras backend of ``--backend`` (or ``$KERAS_BACKEND``; ``run.py``
sets both). When keras_ae cannot be imported, built or trained on that
backend, the runner prints the traceback on stderr and a ``BENCH_RESULT`` line
with an ``error`` field saying what failed on which backend, and exits 1:
``run.py`` records the error and goes on with the other runs.

Run one model (prints ``BENCH_RESULT {json}``)::

    python benchmarks/keras_ae_runner.py --model ae --epochs 2 --threads 1
    python benchmarks/keras_ae_runner.py --model vae --quick --backend jax
"""

import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402
import keras_harness  # noqa: E402

def build(model_id, act, seed, variant):
    """Builds and compiles the keras_ae model; returns ``(model, notes)``."""
    import keras

    import keras_ae

    adam = lambda: keras.optimizers.Adam(common.LEARNING_RATE)  # noqa: E731
    kwargs = dict(
        input_shape=(784,),
        latent_dim=common.LATENT_DIM,
        hidden_units=common.HIDDEN_UNITS,
        activation=act,
        seed=seed,
    )
    compile_kw = keras_harness.compile_kwargs(variant)
    if model_id == "ae":
        model = keras_ae.Autoencoder(**kwargs, reconstruction_loss="bce")
    elif model_id == "dae":
        model = keras_ae.DenoisingAutoencoder(
            **kwargs, noise="masking", noise_level=common.MASKING_RATE
        )
    elif model_id == "sae":
        model = keras_ae.SparseAutoencoder(
            **kwargs, sparsity=keras_ae.regularizers.L1Sparsity(common.L1_SPARSITY)
        )
    elif model_id == "vae":
        model = keras_ae.VAE(**kwargs)
    else:
        joint = model_id == "aae-joint"
        model = keras_ae.AAE(
            **kwargs,
            prior=keras_ae.priors.Gaussian(1.0),
            discriminator_units=common.DISCRIMINATOR_UNITS,
            mode="joint" if joint else "phased",
            # pythae's adversarial_loss_scale: rec + 0.5 x generator BCE.
            adversarial_weight=common.ADVERSARIAL_LOSS_SCALE if joint else 1.0,
            # The hand-written peers' discriminator reads one code at a time;
            # the default under a Gaussian prior ("covariance_norm") would add
            # batch statistics and time a different model.
            minibatch_features="none",
        )
        # The benchmark's budget: Adam(1e-3) for every phase, like the peers.
        compile_kw.update(discriminator_optimizer=adam(), generator_optimizer=adam())
    model.compile(optimizer=adam(), **compile_kw)
    notes = {"keras_ae_class": type(model).__name__, "code_activation": _code_activation(model)}
    if model_id.startswith("aae"):
        notes["aae_mode"] = model.mode
    return model, notes


def _code_activation(model):
    """Activation of the encoder's last Dense layer (None if unknown)."""
    try:
        import keras

        dense = [l for l in model.encoder.layers if isinstance(l, keras.layers.Dense)]
        act = dense[-1].activation
        return getattr(act, "__name__", str(act))
    except Exception:  # noqa: BLE001 - informative only
        return None


class Adapter:
    def __init__(self, model, is_vae):
        self.model, self.is_vae = model, is_vae

    def encode(self, x):
        return self.model.encode(x, batch_size=1024)

    def reconstruct(self, x):
        return self.model.reconstruct(x, batch_size=1024)

    def posterior(self, x):
        return self.model.encode(x, batch_size=1024, return_distribution=True)

    def decode(self, z):
        return self.model.decode(z, batch_size=4096)

    def matmul_peak(self, size):
        return keras_harness.matmul_peak(size)


def main(argv=None):
    args = keras_harness.runner_parser(__doc__.splitlines()[0]).parse_args(argv)
    reason = keras_harness.unsupported(args.variant, args.backend)
    if reason:
        common.emit_skip(args, "keras_ae", reason)
        return 0
    stage = "setting up Keras"
    try:
        keras = keras_harness.setup(args)
        stage = "importing keras_ae"
        import keras_ae

        keras.utils.set_random_seed(args.seed)
        stage = "building the model"
        model, notes = build(args.model, args.activation, args.seed, args.variant)
        data = common.load_fashion_mnist(quick=args.quick)
        stage = "training"
        timing = keras_harness.fit_timed(model, data[0][0], args, pairs=False, seed=args.seed)
        stage = "evaluating"
        _evaluate(args, keras_ae, model, notes, data, timing)
    except Exception as e:  # noqa: BLE001 - reported to run.py, which goes on
        traceback.print_exc()
        message = " ".join(str(e).split())[:400]
        common.emit({
            "framework": "keras_ae", "backend": args.backend, "model": args.model,
            "variant": args.variant, "threads": args.threads, "seed": args.seed,
            "error": f"keras_ae failed on the {args.backend} backend while {stage}: "
                     f"{type(e).__name__}: {message}",
        })
        return 1
    return 0


def _evaluate(args, keras_ae, model, notes, data, timing):
    extra = keras_harness.versions()
    extra["versions"]["keras_ae"] = keras_ae.__version__
    extra.update(notes)
    extra["jit_compile"] = bool(getattr(model, "jit_compile", False))
    extra["steps_per_execution"] = int(getattr(model, "steps_per_execution", 1) or 1)
    adapter = Adapter(model, args.model == "vae")
    if args.model == "vae":
        # keras_ae's own estimators, beside the benchmark's shared ones.
        (_, _), (xt, _) = data
        try:
            extra["api_metrics"] = {
                "neg_elbo": -float(model.elbo(xt, num_samples=1, seed=args.seed)),
                "log_likelihood": float(
                    model.log_likelihood(xt, num_samples=args.iwae_k, seed=args.seed)
                ),
            }
        except Exception as e:  # noqa: BLE001 - reported, not fatal
            extra["api_metrics_error"] = repr(e)
    common.evaluate_and_report(args, "keras_ae", adapter, data, timing, extra)


if __name__ == "__main__":
    sys.exit(main())
