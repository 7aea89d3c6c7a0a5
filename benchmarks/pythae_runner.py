"""pythae (PyTorch) runner: the peer keras_ae is compared with.

Runs inside a separate Python that has ``torch`` and ``pythae`` (never a
keras_ae dependency), given to ``run.py`` by ``--pythae-python`` or
``KERAS_AE_PYTHAE_PYTHON``. It imports neither keras_ae nor TensorFlow; data,
timing rules and metrics come from ``common.py`` (NumPy only).

Same budget as the Keras runners: custom `BaseEncoder`/`BaseDecoder`/
`BaseDiscriminator` subclasses of the same sizes (784-512-256-32, ReLU,
discriminator 32-256-256-1), Adam(1e-3) (pythae's default is 1e-4), batch
128, trained with pythae's own trainers (`BaseTrainer`, `AdversarialTrainer`)
as a pythae user would. Loss conventions, and what was changed to match:

* ``AE``: pythae's loss is the squared error summed over pixels; here a
  5-line subclass replaces it by the Bernoulli NLL summed over pixels (BCE),
  the loss of the Keras runners. The code layer uses the hidden activation,
  like keras_ae's default.
* ``VAE``: ``reconstruction_loss="bce"`` is already the BCE summed over pixels
  + analytic KL, averaged over the batch: unchanged. The decoder outputs
  sigmoid probabilities (pythae's BCE takes probabilities, not logits).
* ``Adversarial_AE`` (``aae-joint`` only): one forward pass per batch;
  autoencoder loss = BCE + 0.5 x generator BCE (``adversarial_loss_scale``
  default), discriminator loss = BCE(prior) + BCE(codes); the trainer steps
  both optimizers. ``deterministic_posterior=True`` gives a deterministic
  encoder like the Keras AAE (the log-variance head is replaced by zeros).
  pythae has no three-phase (paper) AAE, no DAE and no SAE.

``--variant loop=manual`` trains the same pythae model with a bare PyTorch
loop over pre-shuffled tensor batches instead of pythae's trainer (whose
DataLoader indexes and collates one example at a time), to tell framework
cost from trainer cost.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

SUPPORTED = ("ae", "vae", "aae-joint")


def _activation(nn, name):
    table = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU, "gelu": nn.GELU}
    if name in (None, "linear", "none"):
        return nn.Identity
    return table[name]


def build(model_id, act_name, seed):
    import torch
    import torch.nn.functional as F
    from pythae.models import AE, VAE, Adversarial_AE, AEConfig, VAEConfig, Adversarial_AE_Config
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseDiscriminator, BaseEncoder
    from torch import nn

    act = _activation(nn, act_name)
    d, k = 784, common.LATENT_DIM
    h1, h2 = common.HIDDEN_UNITS

    class Encoder(BaseEncoder):
        def __init__(self, heads):
            BaseEncoder.__init__(self)
            self.heads = heads
            self.body = nn.Sequential(nn.Linear(d, h1), act(), nn.Linear(h1, h2), act())
            if heads == "code":
                self.code = nn.Sequential(nn.Linear(h2, k), act())
            else:
                self.code = nn.Linear(h2, k)
            if heads == "gaussian":
                self.log_var = nn.Linear(h2, k)

        def forward(self, x):
            h = self.body(x.reshape(x.shape[0], -1))
            out = ModelOutput(embedding=self.code(h))
            if self.heads == "gaussian":
                out["log_covariance"] = self.log_var(h)
            elif self.heads == "deterministic":
                out["log_covariance"] = torch.zeros_like(out["embedding"])
            return out

    class Decoder(BaseDecoder):
        def __init__(self):
            BaseDecoder.__init__(self)
            self.net = nn.Sequential(
                nn.Linear(k, h2), act(), nn.Linear(h2, h1), act(), nn.Linear(h1, d), nn.Sigmoid()
            )

        def forward(self, z):
            return ModelOutput(reconstruction=self.net(z))

    class Discriminator(BaseDiscriminator):
        def __init__(self):
            BaseDiscriminator.__init__(self)
            u1, u2 = common.DISCRIMINATOR_UNITS
            self.net = nn.Sequential(
                nn.Linear(k, u1), act(), nn.Linear(u1, u2), act(), nn.Linear(u2, 1), nn.Sigmoid()
            )

        def forward(self, z):
            return ModelOutput(embedding=self.net(z))

    class AE_BCE(AE):
        """pythae's AE with the Bernoulli NLL summed over pixels."""

        def loss_function(self, recon_x, x):
            n = x.shape[0]
            bce = F.binary_cross_entropy(
                recon_x.reshape(n, -1), x.reshape(n, -1), reduction="none"
            ).sum(dim=-1)
            return bce.mean(dim=0)

    torch.manual_seed(seed)
    if model_id == "ae":
        cfg = AEConfig(input_dim=(d,), latent_dim=k)
        return AE_BCE(cfg, encoder=Encoder("code"), decoder=Decoder())
    if model_id == "vae":
        cfg = VAEConfig(input_dim=(d,), latent_dim=k, reconstruction_loss="bce")
        return VAE(cfg, encoder=Encoder("gaussian"), decoder=Decoder())
    if model_id == "aae-joint":
        cfg = Adversarial_AE_Config(
            input_dim=(d,),
            latent_dim=k,
            reconstruction_loss="bce",
            adversarial_loss_scale=common.ADVERSARIAL_LOSS_SCALE,
            deterministic_posterior=True,
        )
        return Adversarial_AE(
            cfg, encoder=Encoder("deterministic"), decoder=Decoder(), discriminator=Discriminator()
        )
    raise ValueError(f"pythae has no {model_id!r}")


def train_with_trainer(model, model_id, x, y, args, recorder, out_dir):
    import torch
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import (
        AdversarialTrainer,
        AdversarialTrainerConfig,
        BaseTrainer,
        BaseTrainerConfig,
    )
    from pythae.trainers.training_callbacks import TrainingCallback

    class Timing(TrainingCallback):
        steps = 0

        def on_train_step_begin(self, training_config, **kwargs):
            recorder.epoch_begin()

        def on_train_step_end(self, training_config, **kwargs):
            self.steps += 1
            recorder.batch_end(self.steps)

        def on_epoch_end(self, training_config, **kwargs):
            recorder.epoch_end()

    common_cfg = dict(
        output_dir=out_dir,
        per_device_train_batch_size=args.batch_size,
        num_epochs=args.epochs,
        no_cuda=True,
        seed=args.seed,
    )
    dataset = BaseDataset(torch.from_numpy(x), torch.from_numpy(y))
    if model_id == "aae-joint":
        cfg = AdversarialTrainerConfig(
            autoencoder_learning_rate=common.LEARNING_RATE,
            discriminator_learning_rate=common.LEARNING_RATE,
            **common_cfg,
        )
        trainer = AdversarialTrainer(model, dataset, training_config=cfg, callbacks=[Timing()])
    else:
        cfg = BaseTrainerConfig(learning_rate=common.LEARNING_RATE, **common_cfg)
        trainer = BaseTrainer(model, dataset, training_config=cfg, callbacks=[Timing()])
    trainer.train()
    return trainer.model


def train_manual(model, model_id, x, args, recorder):
    """The same updates as pythae's trainers, in a bare PyTorch loop."""
    import itertools

    import torch
    from pythae.data.datasets import DatasetOutput

    lr = common.LEARNING_RATE
    if model_id == "aae-joint":
        ae_opt = torch.optim.Adam(
            itertools.chain(model.encoder.parameters(), model.decoder.parameters()), lr=lr
        )
        d_opt = torch.optim.Adam(model.discriminator.parameters(), lr=lr)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    data = torch.from_numpy(x)
    n, bs = len(data), args.batch_size
    model.train()
    for _ in range(args.epochs):
        recorder.epoch_begin()
        perm = torch.randperm(n)
        for step, i in enumerate(range(0, n, bs), start=1):
            out = model(DatasetOutput(data=data[perm[i : i + bs]]))
            if model_id == "aae-joint":
                ae_opt.zero_grad()
                out.autoencoder_loss.backward(retain_graph=True)
                d_opt.zero_grad()
                out.discriminator_loss.backward()
                ae_opt.step()
                d_opt.step()
            else:
                opt.zero_grad()
                out.loss.backward()
                opt.step()
            recorder.batch_end(step)
        recorder.epoch_end()
    return model


class Adapter:
    def __init__(self, model):
        import torch

        self.torch = torch
        self.model = model.eval()

    def _batched(self, fn, x, bs=4096):
        import numpy as np

        with self.torch.no_grad():
            return np.concatenate(
                [fn(self.torch.from_numpy(np.ascontiguousarray(x[i : i + bs]))).numpy() for i in range(0, len(x), bs)]
            )

    def encode(self, x):
        return self._batched(lambda t: self.model.encoder(t).embedding, x)

    def reconstruct(self, x):
        m = self.model
        return self._batched(lambda t: m.decoder(m.encoder(t).embedding).reconstruction, x)

    def posterior(self, x):
        mu = self.encode(x)
        log_var = self._batched(lambda t: self.model.encoder(t).log_covariance, x)
        return mu, log_var

    def decode(self, z):
        return self._batched(lambda t: self.model.decoder(t).reconstruction, z.astype("float32"))

    def matmul_peak(self, size):
        import time

        torch = self.torch
        a, b = torch.rand(size, size), torch.rand(size, size)
        torch.matmul(a, b)
        best = float("inf")
        for _ in range(3 if size <= 1024 else 5):
            t = time.perf_counter()
            torch.matmul(a, b)
            best = min(best, time.perf_counter() - t)
        return 2.0 * size**3 / best / 1e9


def main(argv=None):
    args = common.runner_parser(__doc__.splitlines()[0]).parse_args(argv)
    if args.model not in SUPPORTED:
        common.emit_skip(args, "pythae", f"pythae has no {args.model} model")
        return
    loop = "trainer"
    for part in filter(None, args.variant.split("+")):
        if part == "base":
            continue
        if part.startswith("loop="):
            loop = part[5:]
        else:
            common.emit_skip(args, "pythae", f"variant {part!r} applies to Keras runners only")
            return
    import torch

    if args.threads != "default":
        torch.set_num_threads(int(args.threads))
        torch.set_num_interop_threads(int(args.threads))
    import logging

    from importlib import metadata

    import numpy as np

    logging.getLogger("pythae").setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("pythae"):
            logging.getLogger(name).setLevel(logging.WARNING)
    np.random.seed(args.seed)
    data = common.load_fashion_mnist(quick=args.quick)
    (x, y), _ = data
    model = build(args.model, args.activation, args.seed)
    recorder = common.Recorder(common.warmup_steps(len(x), args.batch_size))
    with tempfile.TemporaryDirectory() as out_dir:
        if loop == "manual":
            model = train_manual(model, args.model, x, args, recorder)
        else:
            model = train_with_trainer(model, args.model, x, y, args, recorder, out_dir)
    timing = recorder.summary(len(x), args.batch_size)
    extra = {
        "versions": {"torch": torch.__version__, "pythae": metadata.version("pythae"), "numpy": np.__version__},
        "torch_threads": {"intra": torch.get_num_threads(), "inter": torch.get_num_interop_threads()},
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "pythae_loop": loop,
    }
    common.evaluate_and_report(args, "pythae", Adapter(model), data, timing, extra)


if __name__ == "__main__":
    main()
