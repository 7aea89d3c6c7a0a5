"""Quiet TensorFlow start-up for the ``keras-ae`` command (never for user code).

The console script imports ``keras_ae.cli``, which imports this package and
therefore TensorFlow, before `keras_ae.cli.main` runs. TensorFlow 2.21 prints
its start-up info lines (oneDNN, CUDA stub, CPU features) from C++ before
absl logging is initialised, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. When (and
only when) this process is the ``keras-ae`` command or ``python -m keras_ae``,
`quiet_tensorflow_import` sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless the user set
it) and imports TensorFlow, and lists its devices, with the C-level stderr
captured; every captured line except those info lines (and, when no GPU is
found, the "failed call to cuInit" error that only says so) is written back to
stderr, so real errors and warnings still show.
"""

import os
import re
import sys
import tempfile

# TensorFlow's start-up info lines (absl "I" records and their continuation).
_NOISE = re.compile(
    r"^(I\d{4} .*|WARNING: All log messages before absl::InitializeLog\(\) .*"
    r"|To enable the following instructions: .*)$"
)
# What TensorFlow logs as an error on a machine without a GPU driver; hidden
# only when no GPU is found (it then says nothing but "CPU only").
_NO_GPU = re.compile(r"^E\d{4} .*failed call to cuInit.*$")


def is_cli_process():
    """Whether this interpreter runs ``keras-ae`` or ``python -m keras_ae``."""
    prog = os.path.basename(sys.argv[0]) if sys.argv else ""
    if prog.split(".")[0] == "keras-ae":
        return True
    argv = list(getattr(sys, "orig_argv", ()))
    return any(
        a == "-m" and argv[i + 1 : i + 2] in (["keras_ae"], ["keras_ae.cli"])
        for i, a in enumerate(argv)
    )


def quiet_tensorflow_import():
    """Imports TensorFlow without its start-up info lines (CLI processes only)."""
    if not is_cli_process() or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 2
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), fd)
        gpus = None
        try:
            import tensorflow as tf

            # Initialises the devices now, while stderr is captured.
            gpus = tf.config.list_physical_devices("GPU")
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            kept = [
                line
                for line in text.splitlines()
                if not _NOISE.match(line) and not (gpus == [] and _NO_GPU.match(line))
            ]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


#: Keras backends the ``keras-ae`` command can train on, fastest first on CPU
#: (measured: benchmarks/RESULTS.md, "Backends").
BACKENDS = ("jax", "tensorflow", "torch")


def requested_backend(argv):
    """The value of ``--backend`` in ``argv`` (None if absent)."""
    for i, arg in enumerate(argv):
        if arg == "--backend" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
    return None


def fastest_installed_backend():
    """JAX if it is installed (about 2x TensorFlow on CPU), else TensorFlow."""
    import importlib.util

    return "jax" if importlib.util.find_spec("jax") is not None else "tensorflow"


def choose_backend():
    """Sets ``KERAS_BACKEND`` for the ``keras-ae`` command, before Keras loads.

    ``--backend NAME`` wins; otherwise a ``KERAS_BACKEND`` the user set is
    kept; otherwise the fastest installed backend is used. Library users are
    never affected: this runs only in the command's own process.
    """
    if not is_cli_process() or "keras" in sys.modules:
        return
    requested = requested_backend(sys.argv[1:])
    if requested in BACKENDS:
        os.environ["KERAS_BACKEND"] = requested
    elif not os.environ.get("KERAS_BACKEND"):
        os.environ["KERAS_BACKEND"] = fastest_installed_backend()
