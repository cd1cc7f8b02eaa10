"""The appendix A.1 learning rule against truncated BPTT and a NumPy
re-derivation of the paper's equations, on-line."""

import keras
import numpy as np
import pytest
from keras import ops

from lstm_zoo.layers import LSTM1997
from lstm_zoo.paper_learning import PaperLearningRule
from lstm_zoo.reproduce import CellSwitch, HalfSquaredError
from tests.conftest import BACKEND

NETS = {
    # experiment 4's net: 2 blocks of 2 cells, gates and cells fed back, all biased
    "adding": dict(cells=4, block=2, recurrent="cells_and_gates", bias="all", out_gate=True),
    # experiment 1: biased gates only, no output bias, per-step targets
    "reber": dict(cells=4, block=2, recurrent="cells_and_gates", bias="gates", out_gate=True,
                  per_step=True),
    # 2a: no output gate, no recurrence, no bias, shortcut, h linear, g sigmoid
    "long_lag": dict(cells=1, block=1, recurrent="none", bias="none", out_gate=False,
                     per_step=True, shortcut=True),
    "cells_only": dict(cells=3, block=1, recurrent="cells", bias="hidden", out_gate=True),
}  # fmt: skip


def build(net, features=3, outputs=2, seed=0, masked=False):
    keras.utils.set_random_seed(seed)
    init = keras.initializers.RandomUniform(-0.5, 0.5, seed=seed)
    inputs = keras.Input((None, features))
    hidden = keras.layers.Masking(0.0)(inputs) if masked else inputs
    long_lag = net["recurrent"] == "none"
    hidden = LSTM1997(
        net["cells"], cells_per_block=net["block"], recurrent_input=net["recurrent"],
        output_gate=net["out_gate"], use_bias=net["bias"] != "none",
        cell_input_bias=net["bias"] != "gates", gradient="truncated",
        return_sequences=net.get("per_step", False),
        activation="linear" if long_lag else "paper_h",
        cell_input_activation="sigmoid" if long_lag else "paper_g",
        kernel_initializer=init,
        recurrent_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=seed + 1),
        bias_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=seed + 2),
    )(hidden)  # fmt: skip
    if long_lag:
        hidden = CellSwitch(on=True)(hidden)
    if net.get("shortcut"):
        hidden = keras.layers.Concatenate()([hidden, inputs])
    out = keras.layers.Dense(outputs, activation="sigmoid", use_bias=net["bias"] == "all",
                             kernel_initializer=keras.initializers.RandomUniform(
                                 -0.5, 0.5, seed=seed + 3))(hidden)  # fmt: skip
    return keras.Model(inputs, out)


def data(net, steps=9, features=3, outputs=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(steps, features)).astype("float32")
    shape = (steps, outputs) if net.get("per_step") else (outputs,)
    return x, rng.random(shape).astype("float32")


def bptt_gradients(model, x, y, weights=None):
    """-dE/dw of the paper's error, E = 1/2 sum (t - y)^2, by autodiff of the
    layer's truncated gradient."""
    trainable = PaperLearningRule(model, 1.0)._variables()

    def loss():
        return HalfSquaredError()(y[None], model(x[None]), sample_weight=weights)

    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = loss()
        grads = tape.gradient(value, trainable)
    elif BACKEND == "jax":
        import jax

        def pure(values):
            with keras.StatelessScope(state_mapping=list(zip(trainable, values, strict=True))):
                return loss()

        grads = jax.grad(pure)([v.value for v in trainable])
    else:
        pytest.skip("autodiff reference written for TensorFlow and JAX")
    return [-ops.convert_to_numpy(g) for g in grads]


@pytest.mark.parametrize("name", sorted(NETS))
def test_summed_updates_equal_truncated_bptt(name):
    net = NETS[name]
    model = build(net)
    x, y = data(net)
    rule = PaperLearningRule(model, 0.5, update="sequence", per_step=net.get("per_step", False))
    update = rule.sequence_update(x, y)
    expected = bptt_gradients(model, x, y)
    for got, want in zip(update, expected, strict=True):
        np.testing.assert_allclose(got, 0.5 * want, rtol=2e-4, atol=2e-6)
    # eq. 16's error doubles every update.
    doubled = PaperLearningRule(model, 0.5, update="sequence", error="eq16",
                                per_step=net.get("per_step", False))  # fmt: skip
    doubled = doubled.sequence_update(x, y)
    for got, single in zip(doubled, update, strict=True):
        np.testing.assert_allclose(got, 2 * single, rtol=1e-5, atol=1e-7)



def _f(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_online(net, weights, x, y, alpha, per_step, start=0.0):
    """The paper's A.1 on-line, unit by unit in NumPy: every weight changes at
    every step by that step's contribution (eqs. 19-28). `start`: the cells'
    outputs and the gates before the first step (the JKU simulator: 0.5)."""
    B, S = net["cells"] // net["block"], net["block"]
    U, D = net["cells"], x.shape[1]
    has_out, long_lag = net["out_gate"], net["recurrent"] == "none"
    h = (lambda v: v) if long_lag else (lambda v: 2 * _f(v) - 1)
    dh = (lambda v: 1.0) if long_lag else (lambda v: 2 * _f(v) * (1 - _f(v)))
    g = _f if long_lag else (lambda v: 4 * _f(v) - 2)
    dg = (lambda v: _f(v) * (1 - _f(v))) if long_lag else (lambda v: 4 * _f(v) * (1 - _f(v)))
    weights = [np.array(w, "float64") for w in weights]
    kernel, i = weights[0], 1
    recurrent = None
    if net["recurrent"] != "none":
        recurrent, i = weights[i], i + 1
    G = kernel.shape[1]
    bias = np.zeros(G)
    bias_mask = np.zeros(G)
    if net["bias"] != "none":
        b = weights[i]
        i += 1
        if net["bias"] == "gates":
            bias[:B], bias[B + U :] = b[:B], b[B:]
            bias_mask[:B], bias_mask[B + U :] = 1, 1
        else:
            bias, bias_mask = b.copy(), np.ones(G)
    out_kernel = weights[i]
    out_bias = weights[i + 1] if net["bias"] == "all" else np.zeros(out_kernel.shape[1])
    rows = np.concatenate([kernel] + ([recurrent] if recurrent is not None else [])
                          + [bias[None]], axis=0).T  # (G, M): one row per unit  # fmt: skip
    W_in, W_c = rows[:B], rows[B : B + U]
    W_out = rows[B + U :] if has_out else None
    R = 0 if recurrent is None else recurrent.shape[0]
    M = D + R + 1
    y_c, y_in, y_out, s = np.full(U, start), np.full(B, start), np.full(B, start), np.zeros(U)
    dS_c, dS_in = np.zeros((U, M)), np.zeros((U, M))
    for t in range(x.shape[0]):
        rec = [] if net["recurrent"] == "none" else [y_c]
        if net["recurrent"] == "cells_and_gates":
            rec += [y_in] + ([y_out] if has_out else [])
        r = np.concatenate([x[t]] + rec + [np.ones(1)])
        net_in = np.array([W_in[j] @ r for j in range(B)])
        y_in = _f(net_in)
        net_c = np.array([W_c[v] @ r for v in range(U)])
        for v in range(U):
            j = v // S
            s[v] += y_in[j] * g(net_c[v])
            dS_c[v] += dg(net_c[v]) * y_in[j] * r  # eq. 27
            dS_in[v] += g(net_c[v]) * _f(net_in[j]) * (1 - _f(net_in[j])) * r  # eq. 25
        if has_out:
            net_out = np.array([W_out[j] @ r for j in range(B)])
            y_out = _f(net_out)
        gate = y_out if has_out else np.ones(B)
        y_c = np.array([gate[v // S] * h(s[v]) for v in range(U)])
        o = np.concatenate([y_c] + ([x[t]] if net.get("shortcut") else []))
        net_k = o @ out_kernel + out_bias
        y_k = _f(net_k)
        if per_step or t == x.shape[0] - 1:
            target = y[t] if per_step else y
            e_k = y_k * (1 - y_k) * (target - y_k)  # eq. 19
        else:
            e_k = np.zeros_like(y_k)
        back = np.array([out_kernel[v] @ e_k for v in range(U)])
        e_s = np.array([gate[v // S] * dh(s[v]) * back[v] for v in range(U)])  # eq. 23
        if has_out:
            e_out = np.array([y_out[j] * (1 - y_out[j]) * sum(h(s[v]) * back[v]
                              for v in range(j * S, (j + 1) * S)) for j in range(B)])  # fmt: skip
            mask = np.append(np.ones(M - 1), bias_mask[B + U])
            W_out += alpha * e_out[:, None] * r[None] * mask
        for v in range(U):
            W_c[v] += alpha * e_s[v] * dS_c[v] * np.append(np.ones(M - 1), bias_mask[B + v])
        for j in range(B):
            total = sum(e_s[v] * dS_in[v] for v in range(j * S, (j + 1) * S))
            W_in[j] += alpha * total * np.append(np.ones(M - 1), bias_mask[j])
        out_kernel += alpha * o[:, None] * e_k[None]
        if net["bias"] == "all":
            out_bias += alpha * e_k
    rows = np.concatenate([W_in, W_c] + ([W_out] if has_out else []), axis=0).T
    result = [rows[:D]]
    if recurrent is not None:
        result.append(rows[D : D + R])
    if net["bias"] == "gates":
        result.append(np.concatenate([rows[-1, :B], rows[-1, B + U :]]))
    elif net["bias"] != "none":
        result.append(rows[-1])
    result.append(out_kernel)
    if net["bias"] == "all":
        result.append(out_bias)
    return result


@pytest.mark.parametrize("name", sorted(NETS))
def test_online_updates_match_a_numpy_derivation_from_the_paper(name):
    net = NETS[name]
    model = build(net, seed=4)
    x, y = data(net, steps=12, seed=5)
    per_step = net.get("per_step", False)
    rule = PaperLearningRule(model, 0.7, update="step", per_step=per_step)
    start = rule.get_weights()
    expected = numpy_online(net, start, x, y, 0.7, per_step)
    rule.train_sequence(x, y)
    got = rule.get_weights()
    for g_got, g_exp in zip(got, expected, strict=True):
        np.testing.assert_allclose(g_got, g_exp, rtol=1e-4, atol=1e-5)
    if not per_step:
        return  # one error, at the end: on-line and summed updates coincide
    # With an error at every step, on-line differs from one summed update.
    summed = PaperLearningRule(build(net, seed=4), 0.7, update="sequence", per_step=per_step)
    summed.train_sequence(x, y)
    assert max(np.abs(a - b).max() for a, b in zip(summed.get_weights(), got, strict=True)) > 1e-5


def test_the_start_activation_seeds_the_first_steps_recurrent_input(monkeypatch):
    net = NETS["reber"]
    model = build(net, seed=4)
    x, y = data(net, steps=12, seed=5)
    monkeypatch.setattr(PaperLearningRule, "START_ACTIVATION", 0.5)
    rule = PaperLearningRule(model, 0.7, update="step", per_step=True)
    start = rule.get_weights()
    expected = numpy_online(net, start, x, y, 0.7, True, start=0.5)
    rule.train_sequence(x, y)
    for g_got, g_exp in zip(rule.get_weights(), expected, strict=True):
        np.testing.assert_allclose(g_got, g_exp, rtol=1e-4, atol=1e-5)
    # The start matters: from zeros the same sequence trains other weights.
    zeros = numpy_online(net, start, x, y, 0.7, True)
    assert max(np.abs(a - b).max() for a, b in zip(zeros, expected, strict=True)) > 1e-4


def test_masked_steps_change_nothing_and_fit_drives_callbacks():
    net = NETS["adding"]
    model = build(net, seed=6, masked=True)
    x, y = data(net, steps=7, seed=7)
    padded = np.concatenate([x, np.zeros((5, 3), "float32")])
    a = PaperLearningRule(model, 0.5)
    before = a.get_weights()
    out_short = a.train_sequence(x, y, weights=before)
    short = a._last
    out_padded = a.train_sequence(padded, y, weights=before)
    for u, v in zip(short, a._last, strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out_short, out_padded, rtol=1e-5)

    class Stop(keras.callbacks.Callback):
        calls = []

        def on_train_batch_end(self, batch, logs=None):
            self.calls.append((batch, sorted(logs)))
            if batch >= 19:
                self.model.stop_training = True

    def batches():
        while True:
            yield x[None], y[None]

    metric = keras.metrics.MeanSquaredError(name="mse")
    seen = a.fit(batches(), 100, callbacks=[Stop()], metrics=[metric], log_every=10)
    assert seen == 20 and Stop.calls == [(9, ["loss", "mse"]), (19, ["loss", "mse"])]
    assert any(np.abs(u - v).max() > 0 for u, v in zip(a.get_weights(), before, strict=True))


def test_bad_models_and_arguments_raise():
    with pytest.raises(ValueError, match="update"):
        PaperLearningRule(build(NETS["adding"]), 0.5, update="batch")
    with pytest.raises(ValueError, match="learning_rate"):
        PaperLearningRule(build(NETS["adding"]), 0.0)
    model = keras.Sequential([keras.Input((None, 2)), LSTM1997(2, forget_gate=True),
                              keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip
    with pytest.raises(ValueError, match="forget"):
        PaperLearningRule(model, 0.5)
    model = keras.Sequential([keras.Input((None, 2)), LSTM1997(2), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="sigmoid"):
        PaperLearningRule(model, 0.5)


@pytest.mark.parametrize("name", ["adding", "reber"])
def test_fit_trains_runs_of_sequences_in_one_call_like_one_by_one(name):
    net = NETS[name]
    per_step = net.get("per_step", False)
    sequences = [data(net, steps=6 if i < 5 else 8, seed=10 + i) for i in range(7)]
    one = PaperLearningRule(build(net, seed=8), 0.5, per_step=per_step)
    for x, y in sequences:
        one.train_sequence(x, y)
    many = PaperLearningRule(build(net, seed=8), 0.5, per_step=per_step)
    assert many.fit(((x[None], y[None]) for x, y in sequences), 10, log_every=100) == 7
    for a, b in zip(one.get_weights(), many.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_extra_target_columns_are_judged_not_trained_on():
    # 3c: the noisy target trains, the expectation after it only judges.
    net = NETS["adding"]
    x, y = data(net, steps=6, outputs=1, seed=3)
    extra = np.concatenate([y, [0.2]]).astype("float32")
    a = PaperLearningRule(build(net, outputs=1, seed=2), 0.5)
    b = PaperLearningRule(build(net, outputs=1, seed=2), 0.5)
    a.train_sequence(x, y)
    metric = keras.metrics.MeanAbsoluteError(name="mae")
    b.fit(iter([(x[None], extra[None])]), 1, metrics=[metric])
    for u, v in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-6)


def test_the_rule_computes_in_keras_floatx():
    # With floatx float64 the rule runs in double precision: its on-line
    # updates meet the float64 NumPy derivation to 1e-10, not the float32 1e-4.
    net = NETS["reber"]
    floatx = keras.config.floatx()
    try:
        keras.config.set_floatx("float64")
        keras.config.set_dtype_policy("float64")
        model = build(net, seed=4)
        x, y = data(net, steps=12, seed=5)
        rule = PaperLearningRule(model, 0.7, update="step", per_step=True)
        expected = numpy_online(net, rule.get_weights(), x, y, 0.7, True)
        outputs = rule.train_sequence(x, y)
        got = rule.get_weights()
    finally:
        keras.config.set_floatx(floatx)
    assert ops.convert_to_numpy(outputs).dtype == np.float64
    for g_got, g_exp in zip(got, expected, strict=True):
        assert g_got.dtype == np.float64
        np.testing.assert_allclose(g_got, g_exp, rtol=1e-10, atol=1e-12)
