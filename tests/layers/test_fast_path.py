"""The TensorFlow fast path equals the generic loop: outputs and gradients."""

import keras
import numpy as np
import pytest
from keras import ops

from lstm_zoo.layers import LSTM1997
from tests.conftest import BACKEND
from tests.layers import reference as ref
from tests.layers.test_lstm1997_cell import make_net

pytestmark = pytest.mark.tf_only


def _pair(gradient, dtype="float64", **kwargs):
    net = make_net({}, input_dim=3, units=5, seed=11)
    layers = []
    for fast in (True, False):
        layer = LSTM1997(
            5,
            gradient=gradient,
            use_fast_path=fast,
            dtype=dtype,
            return_sequences=True,
            return_state=True,
            **kwargs,
        )
        layer.build((None, None, 3))
        layer.set_weights(ref.to_layer_weights(net))
        layers.append(layer)
    return net, layers


def _grads(layer, x, initial, coeffs, training=True):
    import tensorflow as tf

    h0, s0 = (tf.constant(v) for v in initial)
    with tf.GradientTape() as tape:
        tape.watch([h0, s0])
        out, h, s = layer(x, initial_state=[h0, s0], training=training)
        loss = tf.reduce_sum(out * coeffs[0]) + tf.reduce_sum(h * coeffs[1])
        loss += tf.reduce_sum(s * coeffs[2])
    grads = tape.gradient(loss, layer.trainable_weights + [h0, s0])
    # The truncated rule cuts h0 from the gradient: TF reports None, i.e. zero.
    sources = layer.trainable_weights + [h0, s0]
    return [
        np.zeros(v.shape) if g is None else np.asarray(g)
        for g, v in zip(grads, sources, strict=True)
    ]


@pytest.fixture(params=["kernel", "custom", "autodiff"])
def backward(request, monkeypatch):
    """Forces one implementation of the fast path: the fused kernel
    (test_fast_kernel.py checks it builds wherever a compiler exists), or,
    with it switched off, either backward pass of the TensorFlow ops."""
    from lstm_zoo.layers import fast_kernel, fast_tf

    if request.param == "kernel":
        if fast_kernel.load() is None:
            pytest.skip("the fused kernel is unavailable here")
        return request.param
    monkeypatch.setenv(fast_kernel.ENV_SWITCH, "0")
    limit = float("inf") if request.param == "custom" else 0
    monkeypatch.setattr(fast_tf, "CUSTOM_GRADIENT_MAX_WORK", {"full": limit, "truncated": limit})
    return request.param


@pytest.mark.parametrize("gradient", ["full", "truncated"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_fast_path_equals_generic_loop(gradient, go_backwards, backward):
    assert BACKEND == "tensorflow"
    net, (fast, generic) = _pair(gradient, go_backwards=go_backwards)
    assert fast._fast_path_applies(None, False) and not generic._fast_path_applies(None, False)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 30, 3))
    initial = [rng.normal(size=(4, 5)), rng.normal(size=(4, 5)) * 3]
    coeffs = [rng.normal(size=(4, 30, 5)), rng.normal(size=(4, 5)), rng.normal(size=(4, 5))]
    for a, b in zip(fast(x, initial_state=initial), generic(x, initial_state=initial), strict=True):
        np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), atol=1e-12)
    if not go_backwards:
        np.testing.assert_allclose(
            ops.convert_to_numpy(fast(x)[0]), ref.forward(net, x)["y_c"], atol=1e-12
        )
    want = _grads(generic, x, initial, coeffs)
    # Training runs the custom or autodiff backward; inference the lean loop,
    # whose gradient (rarely asked for) must follow the same rule.
    for training in (True, False):
        got = _grads(fast, x, initial, coeffs, training=training)
        for g_fast, g_generic in zip(got, want, strict=True):
            np.testing.assert_allclose(g_fast, g_generic, atol=1e-10)


@pytest.mark.parametrize("gradient", ["full", "truncated"])
def test_fast_path_gradient_under_xla_and_float32(gradient, backward):
    import tensorflow as tf

    _, (fast, generic) = _pair(gradient, dtype="float32")
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(8, 50, 3)).astype("float32"))
    y = tf.constant(rng.normal(size=(8, 50, 5)).astype("float32"))

    def grads_of(layer):
        @tf.function(jit_compile=True)
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(layer(x, training=True)[0] - y))
            return tape.gradient(loss, layer.trainable_weights)

        return [g.numpy() for g in step()]

    for a, b in zip(grads_of(fast), grads_of(generic), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_fast_path_with_dropout_and_stateful():
    _, (fast, generic) = _pair("full", dtype="float32", dropout=0.3, seed=5)
    x = np.random.default_rng(2).normal(size=(2, 9, 3)).astype("float32")
    # Inference ignores dropout; both paths agree.
    np.testing.assert_allclose(
        ops.convert_to_numpy(fast(x)[0]), ops.convert_to_numpy(generic(x)[0]), atol=1e-6
    )
    stateful = LSTM1997(5, stateful=True, return_sequences=True)
    stateful.build((2, None, 3))
    stateful.set_weights(fast.get_weights())
    first = ops.convert_to_numpy(stateful(x[:, :4]))
    second = ops.convert_to_numpy(stateful(x[:, 4:]))
    np.testing.assert_allclose(
        np.concatenate([first, second], axis=1), ops.convert_to_numpy(fast(x)[0]), atol=1e-5
    )


def test_fast_path_falls_back_where_it_does_not_apply():
    layer = LSTM1997(4, cells_per_block=2)
    assert not layer._fast_path_applies(None, False)
    layer = LSTM1997(4, recurrent_dropout=0.2)
    assert layer._fast_path_applies(None, False)
    assert not layer._fast_path_applies(None, True)
    layer = LSTM1997(4, activation="tanh")
    assert not layer._fast_path_applies(None, False)
    assert not LSTM1997(4)._fast_path_applies(np.ones((2, 3), bool), False)
    assert (
        keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(LSTM1997(4, use_fast_path=False))
        ).use_fast_path
        is False
    )


def test_xla_traces_take_the_hand_written_backward(monkeypatch):
    import tensorflow as tf

    from lstm_zoo.layers import fast_tf

    seen = []
    monkeypatch.setenv("LSTM_ZOO_KERNEL", "0")  # the TensorFlow ops' choice is under test
    monkeypatch.setattr(fast_tf, "CUSTOM_GRADIENT_MAX_WORK", {"full": 0, "truncated": 0})
    original = fast_tf._sequence
    monkeypatch.setattr(
        fast_tf, "_sequence", lambda *a: seen.append(fast_tf._in_xla_context()) or original(*a)
    )
    layer = LSTM1997(4, return_sequences=True)
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32"))
    for jit in (False, True):
        tf.function(lambda: layer(x, training=True), jit_compile=jit)()
    assert seen == [True]  # only the XLA trace used it; the plain trace took autodiff


@pytest.mark.parametrize("gradient", ["full", "truncated"])
def test_family_inference_loop_equals_generic_loop(gradient, monkeypatch):
    """Without the kernel (as while a SavedModel is traced), inference of
    every configuration runs the TensorFlow-op loop: outputs and gradients
    equal the generic loop in float64, with masks and backwards."""
    import tensorflow as tf

    from lstm_zoo.layers import fast_kernel, fast_tf
    from tests.layers.test_fast_kernel import FAMILY, _assert_same, _initial_states, _layers

    monkeypatch.setenv(fast_kernel.ENV_SWITCH, "0")
    calls = []
    loop = fast_tf.family_inference_sequence
    monkeypatch.setattr(fast_tf, "family_inference_sequence",
                        lambda *a, **k: calls.append(1) or loop(*a, **k))  # fmt: skip
    batch, steps, features, units = 5, 7, 3, 21
    rng = np.random.default_rng(8)
    x = tf.constant(rng.normal(size=(batch, steps, features)))
    random_mask = rng.uniform(size=(batch, steps)) > 0.4
    random_mask[0, :3] = False
    random_mask[1] = False  # a fully masked row
    configs = {"default": {}, **FAMILY}
    for name, config in sorted(configs.items()):
        for go_backwards in (False, True):
            fast, generic = _layers(units, features, "float64", gradient=gradient,
                                    go_backwards=go_backwards, **config)  # fmt: skip
            assert fast._family_inference_applies(False)
            assert not fast._family_inference_applies(True)
            before = len(calls)
            fast(x, mask=tf.constant(random_mask))
            generic(x, mask=tf.constant(random_mask))
            assert len(calls) == before + 1, name  # the fast layer ran the loop, once
            initial = _initial_states(fast, batch, rng)
            for mask in (None, tf.constant(random_mask)):
                _assert_same(fast, generic, x, initial, False, mask)
    # zero_output_for_mask
    fast, generic = _layers(units, features, "float64", gradient=gradient,
                            zero_output_for_mask=True, forget_gate=True)  # fmt: skip
    _assert_same(fast, generic, x, _initial_states(fast, batch, rng), False,
                 tf.constant(random_mask))  # fmt: skip
