"""How the ``keras-ae`` command prepares its process before Keras loads.

The library never changes the process it is imported into. The ``keras-ae``
launcher (``keras_ae/app/scripts/keras-ae``, installed as a script) loads
this file by path, without importing the ``keras_ae`` package, and calls
`prepare` before anything imports Keras:

* the Keras backend: ``--backend NAME`` wins, then a ``KERAS_BACKEND`` the
  user set, then the fastest installed backend (JAX, about 2x TensorFlow on
  CPU: benchmarks/RESULTS_backends.md);
* TensorFlow 2.21 prints start-up info lines (oneDNN, CPU features) from C++
  before absl logging reads ``TF_CPP_MIN_LOG_LEVEL``, so `prepare` imports
  TensorFlow with the C-level stderr captured and writes back every captured
  line except those info lines (and, when no GPU is found, the "failed call
  to cuInit" error that says only that).

``python -m keras_ae`` imports the package (and so Keras) first: it gets the
same backend by re-executing itself once with ``KERAS_BACKEND`` set when the
loaded backend differs (`relaunch_if_needed`); TensorFlow's start-up lines
are not hidden there.

This module imports only the standard library.
"""

import importlib.util
import os
import re
import sys
import tempfile

#: Keras backends the ``keras-ae`` command can train on, fastest first on CPU.
BACKENDS = ("jax", "tensorflow", "torch")

# TensorFlow's start-up info lines (absl "I" records and their continuation).
NOISE = re.compile(
    r"^(I\d{4} .*|WARNING: All log messages before absl::InitializeLog\(\) .*"
    r"|To enable the following instructions: .*)$"
)
# What TensorFlow logs as an error on a machine without a GPU driver; hidden
# only when no GPU is found (it then says nothing but "CPU only").
NO_GPU = re.compile(r"^E\d{4} .*failed call to cuInit.*$")

_RELAUNCHED = "KERAS_AE_RELAUNCHED"


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
    return "jax" if importlib.util.find_spec("jax") is not None else "tensorflow"


def wanted_backend(argv, environ=None):
    """The backend the command should run on, given ``argv`` and the environment."""
    environ = os.environ if environ is None else environ
    requested = requested_backend(argv)
    if requested in BACKENDS:
        return requested
    return environ.get("KERAS_BACKEND") or fastest_installed_backend()


def kept_stderr_lines(text, no_gpu_found):
    """The lines of captured start-up stderr that are not TensorFlow noise."""
    return [
        line
        for line in text.splitlines()
        if not NOISE.match(line) and not (no_gpu_found and NO_GPU.match(line))
    ]


def quiet_tensorflow_import():
    """Imports TensorFlow and lists its devices without its start-up info lines."""
    if "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
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
            kept = kept_stderr_lines(captured.read().decode("utf-8", "replace"), gpus == [])
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


def prepare(argv):
    """Sets the backend and imports TensorFlow quietly; call before Keras loads."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = wanted_backend(argv)
    quiet_tensorflow_import()


def relaunch_if_needed(argv):
    """Re-executes ``python -m keras_ae argv`` on the wanted backend if Keras runs on another.

    For ``python -m keras_ae`` only (the package, and so Keras, is already
    imported there). Returns without doing anything when the backend is right.
    """
    import keras

    wanted = wanted_backend(argv)
    if keras.backend.backend() == wanted or os.environ.get(_RELAUNCHED):
        return
    env = dict(os.environ, KERAS_BACKEND=wanted, **{_RELAUNCHED: "1"})
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "keras_ae", *argv], env)
