"""Shared test helpers: backend-neutral gradients and markers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The float64 reference comparisons need 64-bit floats on JAX too.
os.environ.setdefault("JAX_ENABLE_X64", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.config.backend()


def pytest_collection_modifyitems(config, items):
    if BACKEND == "tensorflow":
        return
    skip = pytest.mark.skip(reason=f"needs the TensorFlow backend (running {BACKEND})")
    for item in items:
        if "tf_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends with the float32 policy and a fixed seed."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


def gradients(layer, inputs, loss_fn):
    """Gradients of `loss_fn(layer(inputs))` w.r.t. `layer.trainable_weights`.

    Works on the TensorFlow, JAX and PyTorch backends.

    Returns:
        (loss value, list of NumPy gradients in the order of
        `layer.trainable_weights`).
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(layer(inputs))
        grads = tape.gradient(loss, layer.trainable_weights)
        return float(loss), [np.asarray(g) for g in grads]
    if BACKEND == "jax":
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]

        def fn(tv):
            out, _ = layer.stateless_call(tv, non_trainable, inputs)
            return loss_fn(out)

        loss, grads = jax.value_and_grad(fn)(trainable)
        return float(loss), [np.asarray(g) for g in grads]
    if BACKEND == "torch":
        for v in layer.trainable_weights:
            v.value.grad = None
        loss = loss_fn(layer(inputs))
        loss.backward()
        return float(loss), [v.value.grad.cpu().numpy() for v in layer.trainable_weights]
    raise NotImplementedError(BACKEND)
