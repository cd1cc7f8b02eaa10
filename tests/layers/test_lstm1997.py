"""The layer and the cell inside Keras' RNN machinery."""

import os

import keras
import numpy as np
import pytest
from keras import ops

from lstm_zoo.layers import LSTM1997, LSTM1997Cell
from tests.layers import reference as ref
from tests.layers.test_lstm1997_cell import CONFIGS, make_net

np_ = ops.convert_to_numpy


def _set(layer, net):
    layer.set_weights(ref.to_layer_weights(net))


def _rnn_pair(config, units=4, input_dim=3, **rnn_kwargs):
    """An LSTM1997 layer and RNN(LSTM1997Cell) with the same weights."""
    net = make_net(config, input_dim=input_dim, units=units)
    layer = LSTM1997(units, **config, **rnn_kwargs)
    rnn = keras.layers.RNN(LSTM1997Cell(units, **config), **rnn_kwargs)
    for model in (layer, rnn):
        model.build((None, None, input_dim))
        _set(model, net)
    return net, layer, rnn


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("go_backwards", [False, True])
def test_layer_equals_rnn_of_cell(name, go_backwards):
    net, layer, rnn = _rnn_pair(
        CONFIGS[name], return_sequences=True, return_state=True, go_backwards=go_backwards
    )
    x = np.random.default_rng(0).normal(size=(3, 9, 3)).astype("float32")
    mask = np.ones((3, 9), bool)
    mask[1, 6:] = False
    for m in (None, mask):  # without a mask the TF backend may take the fast path
        for got, want in zip(layer(x, mask=m), rnn(x, mask=m), strict=True):
            np.testing.assert_allclose(np_(got), np_(want), atol=1e-5)
    if not go_backwards:
        np.testing.assert_allclose(np_(layer(x)[0]), ref.forward(net, x)["y_c"], atol=1e-5)


def test_layer_unroll_equals_loop():
    config = CONFIGS["blocks"]
    net = make_net(config)
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    unrolled = LSTM1997(4, unroll=True, return_sequences=True, **config)
    unrolled.build((None, 7, 3))
    _set(unrolled, net)
    np.testing.assert_allclose(np_(unrolled(x)), ref.forward(net, x)["y_c"], atol=1e-5)


def test_bidirectional_halves_are_forward_and_reversed():
    net_f, net_b = make_net({}, seed=1), make_net({}, seed=2)
    bi = keras.layers.Bidirectional(LSTM1997(4))
    bi.build((None, None, 3))
    bi.set_weights(ref.to_layer_weights(net_f) + ref.to_layer_weights(net_b))
    x = np.random.default_rng(0).normal(size=(2, 8, 3)).astype("float32")
    out = np_(bi(x))
    np.testing.assert_allclose(out[:, :4], ref.forward(net_f, x)["y_c"][:, -1], atol=1e-5)
    np.testing.assert_allclose(out[:, 4:], ref.forward(net_b, x[:, ::-1])["y_c"][:, -1], atol=1e-5)
    bi_cell = keras.layers.Bidirectional(keras.layers.RNN(LSTM1997Cell(4)))
    bi_cell.build((None, None, 3))
    bi_cell.set_weights(bi.get_weights())
    np.testing.assert_allclose(np_(bi_cell(x)), out, atol=1e-6)


def test_stacked_cells_equal_two_references():
    net1 = make_net({"cells_per_block": 2}, input_dim=3, units=4, seed=1)
    net2 = make_net({}, input_dim=4, units=2, seed=2)
    stacked = keras.layers.RNN(
        keras.layers.StackedRNNCells([LSTM1997Cell(4, cells_per_block=2), LSTM1997Cell(2)]),
        return_sequences=True,
    )
    stacked.build((None, None, 3))
    stacked.set_weights(ref.to_layer_weights(net1) + ref.to_layer_weights(net2))
    x = np.random.default_rng(0).normal(size=(2, 6, 3))
    expected = ref.forward(net2, ref.forward(net1, x)["y_c"])["y_c"]
    np.testing.assert_allclose(np_(stacked(x.astype("float32"))), expected, atol=1e-5)


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_masking_ignores_padding(padding):
    net = make_net({"cells_per_block": 2})
    rng = np.random.default_rng(0)
    lengths = [9, 5, 2]
    seqs = [rng.normal(size=(n, 3)).astype("float32") for n in lengths]
    padded = keras.utils.pad_sequences(seqs, padding=padding, dtype="float32", value=0.0)
    model = keras.Sequential(
        [keras.Input((None, 3)), keras.layers.Masking(0.0), LSTM1997(4, cells_per_block=2)]
    )
    _set(model.layers[-1], net)
    out = np_(model(padded))
    for i, seq in enumerate(seqs):
        expected = ref.forward(net, seq[None].astype(float))["y_c"][0, -1]
        np.testing.assert_allclose(out[i], expected, atol=1e-5)


def test_stateful_carries_state_and_resets():
    net = make_net({})
    x = np.random.default_rng(0).normal(size=(2, 10, 3)).astype("float32")
    layer = LSTM1997(4, stateful=True, return_sequences=True)
    layer.build((2, None, 3))
    _set(layer, net)
    first, second = np_(layer(x[:, :6])), np_(layer(x[:, 6:]))
    whole = ref.forward(net, x)["y_c"]
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)
    layer.reset_state()
    np.testing.assert_allclose(np_(layer(x[:, 6:])), ref.forward(net, x[:, 6:])["y_c"], atol=1e-5)


@pytest.mark.parametrize("which", ["dropout", "recurrent_dropout"])
@pytest.mark.parametrize("cls", ["layer", "cell"])
def test_dropout_masks_are_keras_masks(which, cls):
    """Each row's training output equals the paper's net with one of the
    possible masks: inputs (`dropout`) or fed-back cell outputs
    (`recurrent_dropout`) multiplied by 0 or 1/(1-rate), the same mask at
    every step of the sequence (Keras' semantics, Gal & Ghahramani)."""
    import itertools

    rate, units, input_dim = 0.5, 4, 3
    net = make_net({}, input_dim=input_dim, units=units)
    x = np.random.default_rng(0).normal(size=(48, 6, input_dim)).astype("float32")
    kwargs = {which: rate, "seed": 1, "return_sequences": True}
    if cls == "layer":
        layer = LSTM1997(units, **kwargs)
    else:
        seq_kwargs = {"return_sequences": kwargs.pop("return_sequences")}
        layer = keras.layers.RNN(LSTM1997Cell(units, **kwargs), **seq_kwargs)
    layer.build((None, None, input_dim))
    _set(layer, net)
    np.testing.assert_allclose(np_(layer(x, training=False)), ref.forward(net, x)["y_c"],
                               atol=1e-5)  # fmt: skip
    trained = np_(layer(x, training=True))
    width = input_dim if which == "dropout" else units
    matched = np.full(len(x), -1)
    masks = [np.array(m) / (1.0 - rate) for m in itertools.product([0.0, 1.0], repeat=width)]
    for index, mask in enumerate(masks):
        if which == "dropout":
            expected = ref.forward(net, x * mask)["y_c"]
        else:
            expected = ref.forward(net, x, recurrent_mask=np.tile(mask, (len(x), 1)))["y_c"]
        rows = np.all(np.abs(expected - trained) < 1e-5, axis=(1, 2))
        matched[rows & (matched < 0)] = index
    assert np.all(matched >= 0), f"rows matching no {which} mask: {np.flatnonzero(matched < 0)}"
    kept = np.array([np.count_nonzero(masks[i]) for i in matched])
    assert 0 < kept.mean() / width < 1  # masks differ between rows and drop something
    assert len(set(matched)) > 3


# 1.5 machine epsilons of the compute dtype (float16 2**-10, bfloat16 2**-7):
# the outputs lie in (-1, 1) and were measured within one epsilon (float16
# 9.1e-4 on TensorFlow, 9.8e-4 on JAX; bfloat16 7.0e-3 and 8.4e-3). Weights
# rounded through bfloat16 under the float16 policy err by 1.9e-3 and fail.
@pytest.mark.parametrize("policy, atol", [("mixed_float16", 1.5 * 2.0**-10),
                                          ("mixed_bfloat16", 1.5 * 2.0**-7)])  # fmt: skip
def test_mixed_precision(policy, atol):
    net = make_net({"cells_per_block": 2, "forget_gate": True})
    x = np.random.default_rng(0).normal(size=(2, 20, 3)).astype("float32")
    keras.config.set_dtype_policy(policy)
    layer = LSTM1997(4, cells_per_block=2, forget_gate=True, return_sequences=True)
    layer.build((None, None, 3))
    _set(layer, net)
    out = layer(x)
    assert layer.cell.kernel.dtype == "float32"
    assert keras.backend.standardize_dtype(out.dtype) == policy.split("_")[1]
    np.testing.assert_allclose(np_(ops.cast(out, "float32")), ref.forward(net, x)["y_c"], atol=atol)


def _adding_batch(n, steps, seed):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, steps, 2), "float32")
    x[..., 0] = rng.uniform(0, 1, size=(n, steps))
    idx = rng.integers(0, steps, size=(n, 2))
    x[np.arange(n), idx[:, 0], 1] = 1
    x[np.arange(n), idx[:, 1], 1] = 1
    y = (x[..., 0] * x[..., 1]).sum(axis=1, keepdims=True)
    return x, y


XLA_SCRIPT = """
import sys
import keras
import numpy as np
from lstm_zoo.layers import LSTM1997
from tests.layers.test_lstm1997 import _adding_batch

x, y = _adding_batch(256, 12, 0)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((None, 2)), LSTM1997(8, gradient=sys.argv[1]),
                          keras.layers.Dense(1)])
model.compile(keras.optimizers.Adam(0.02), "mse", jit_compile=sys.argv[2] == "xla")
before = model.evaluate(x, y, verbose=0)
model.fit(x, y, epochs=15, batch_size=32, verbose=0)
print(before, model.evaluate(x, y, verbose=0))
"""


@pytest.mark.tf_only
@pytest.mark.parametrize("gradient", ["full", "truncated"])
def test_trains_under_xla(tmp_path, gradient):
    """`jit_compile=True` really compiles the training step with XLA (its
    HLO is dumped, loop included, with no lstm_zoo kernel op), and the model
    learns; without it, nothing is compiled."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    losses = {}
    for mode in ("xla", "plain"):
        dump = tmp_path / mode
        env = dict(os.environ, XLA_FLAGS=f"--xla_dump_to={dump}", PYTHONPATH=root)
        result = subprocess.run([sys.executable, "-c", XLA_SCRIPT, gradient, mode], env=env,
                                capture_output=True, text=True, timeout=600, cwd=root)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        losses[mode] = [float(v) for v in result.stdout.split()[-2:]]
        steps = sorted(dump.glob("*one_step_on_data*before_optimizations.txt"))
        if mode == "plain":
            assert steps == []
            continue
        assert steps, sorted(os.listdir(dump))[:20]
        hlo = "\n".join(p.read_text() for p in steps)
        assert " while(" in hlo  # the recurrent loop is inside the compiled step
        assert "Lstm1997" not in hlo
    before, after = losses["xla"]
    assert after < 0.5 * before


def _model(config):
    inputs = keras.Input((None, 3))
    outputs = LSTM1997(4, return_sequences=True, dropout=0.1, **config)(inputs)
    outputs = keras.layers.Dense(2)(outputs)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_keras_file_round_trip(tmp_path, name):
    model = _model(CONFIGS[name])
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.layers[1], LSTM1997)
    np.testing.assert_array_equal(np_(loaded(x)), np_(model(x)))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_layer_config_round_trip(name):
    layer = LSTM1997(
        4, return_sequences=True, go_backwards=True, recurrent_dropout=0.2, **CONFIGS[name]
    )
    layer.build((None, None, 3))
    clone = LSTM1997.from_config(layer.get_config())
    clone.build((None, None, 3))
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    assert clone.cells_per_block == layer.cells_per_block
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_array_equal(np_(clone(x)), np_(layer(x)))
