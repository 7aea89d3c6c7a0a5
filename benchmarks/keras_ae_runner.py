"""keras_ae runner: the models under test, through the public API only.

Same networks and budget as ``plain_keras.py`` (784-512-256-32, ReLU hidden
and code activation for AE/DAE/SAE, discriminator 256-256, Adam(1e-3), batch
128, Bernoulli NLL summed over pixels). A model class that is not importable
yet is reported as skipped (``BENCH_RESULT`` with a ``skipped`` reason), not
as a failure.

Run one model (prints ``BENCH_RESULT {json}``)::

    python benchmarks/keras_ae_runner.py --model ae --epochs 2 --threads 1
"""

import inspect
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402
import keras_harness  # noqa: E402

CLASSES = {
    "ae": "Autoencoder",
    "dae": "DenoisingAutoencoder",
    "sae": "SparseAutoencoder",
    "vae": "VAE",
    "aae-paper": "AAE",
    "aae-joint": "AAE",
}
#: Values tried for the AAE's update scheme, by constructor argument name.
AAE_MODE_ARGS = ("mode", "training_mode", "update")
AAE_MODES = {"aae-paper": ("phased", "paper", "three_phase"), "aae-joint": ("joint",)}
DISCRIMINATOR_ARGS = ("discriminator_units", "discriminator_hidden_units")


class Unavailable(Exception):
    """The keras_ae model (or an option it needs) does not exist yet."""


def _params(cls):
    return inspect.signature(cls.__init__).parameters


def build(model_id, act, seed, variant):
    """Builds and compiles the keras_ae model; returns ``(model, notes)``."""
    import keras

    import keras_ae

    name = CLASSES[model_id]
    cls = getattr(keras_ae, name, None)
    if cls is None:
        raise Unavailable(f"keras_ae.{name} is not available (yet)")
    kwargs = dict(
        input_shape=(784,),
        latent_dim=common.LATENT_DIM,
        hidden_units=common.HIDDEN_UNITS,
        activation=act,
        seed=seed,
    )
    notes = {"keras_ae_class": name}
    if model_id in ("ae", "dae", "sae"):
        kwargs["reconstruction_loss"] = "bce"
    if model_id == "dae":
        kwargs.update(noise="masking", noise_level=common.MASKING_RATE)
    if model_id == "sae":
        kwargs["sparsity"] = keras_ae.regularizers.L1Sparsity(common.L1_SPARSITY)
    compile_kw = keras_harness.compile_kwargs(variant)
    adam = lambda: keras.optimizers.Adam(common.LEARNING_RATE)  # noqa: E731
    if model_id.startswith("aae"):
        params = _params(cls)
        kwargs["prior"] = keras_ae.priors.Gaussian(1.0)
        for arg in DISCRIMINATOR_ARGS:
            if arg in params:
                kwargs[arg] = common.DISCRIMINATOR_UNITS
                notes["discriminator_arg"] = arg
                break
        else:
            notes["discriminator_arg"] = "none found: keras_ae default discriminator"
        if model_id == "aae-joint" and "adversarial_weight" in params:
            # pythae's adversarial_loss_scale: rec + 0.5 * generator BCE.
            kwargs["adversarial_weight"] = common.ADVERSARIAL_LOSS_SCALE
            notes["adversarial_weight"] = common.ADVERSARIAL_LOSS_SCALE
        mode_arg = next((a for a in AAE_MODE_ARGS if a in params), None)
        if mode_arg is None:
            if model_id == "aae-joint":
                raise Unavailable("keras_ae.AAE has no mode argument for the joint update")
        else:
            errors = []
            for value in AAE_MODES[model_id]:
                try:
                    model = cls(**kwargs, **{mode_arg: value})
                    notes["aae_mode"] = f"{mode_arg}={value!r}"
                    break
                except (ValueError, TypeError) as e:
                    errors.append(str(e))
            else:
                raise Unavailable(f"keras_ae.AAE refused {mode_arg}: {errors}")
        if mode_arg is None:
            model = cls(**kwargs)
            notes["aae_mode"] = "default"
        cparams = inspect.signature(model.compile).parameters
        for opt in ("discriminator_optimizer", "generator_optimizer"):
            if opt in cparams:
                compile_kw[opt] = adam()
    else:
        model = cls(**kwargs)
    model.compile(optimizer=adam(), **compile_kw)
    notes["code_activation"] = _code_activation(model)
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
    args = common.runner_parser(__doc__.splitlines()[0]).parse_args(argv)
    keras_harness.setup_threads(args.threads)
    import keras

    try:
        import keras_ae
    except ImportError as e:
        common.emit_skip(args, "keras_ae", f"keras_ae is not importable: {e}")
        return
    keras.utils.set_random_seed(args.seed)
    try:
        model, notes = build(args.model, args.activation, args.seed, args.variant)
    except Unavailable as e:
        common.emit_skip(args, "keras_ae", str(e))
        return
    data = common.load_fashion_mnist(quick=args.quick)
    timing = keras_harness.fit_timed(model, data[0][0], args, pairs=False, seed=args.seed)
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
    main()
