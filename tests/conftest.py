"""Shared pytest setup for keras_ae.

At import time (before TensorFlow initialises its devices) the host CPU is
split into two logical devices, so that `tf.distribute.MirroredStrategy`
tests run two replicas on any machine. One strategy is shared per test
session (docs/design.md, trap 12: a fresh strategy per test restarts
TF's collective keys and later collectives fail with a shape mismatch).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_CPUS = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _CPUS[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:
    # TensorFlow was already initialised (e.g. by another plugin): keep going;
    # `mirrored_strategy` skips if fewer than two devices are available.
    pass


@pytest.fixture(scope="session")
def mirrored_strategy():
    """One `MirroredStrategy` over two logical CPU devices for the session."""
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(devices) < 2:
        pytest.skip("needs two logical CPU devices")
    return tf.distribute.MirroredStrategy(devices[:2])


# Known gaps, recorded where everyone sees them: test id -> why it fails
# today. Each one is an expected failure (`xfail`), reported by name in every
# run; remove the line when fixed. None are open today.
KNOWN_GAPS = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = KNOWN_GAPS.get(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
