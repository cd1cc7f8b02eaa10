"""The fused CPU kernel (lstm1997_kernel.cc): built, used for the whole cell
family, exact, never exported."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from lstm_zoo.layers import LSTM1997
from tests.conftest import BACKEND

pytestmark = pytest.mark.tf_only

if BACKEND == "tensorflow":
    import tensorflow as tf

    from lstm_zoo.layers import fast_kernel


def _kernel_or_skip():
    module = fast_kernel.load()
    if module is None:
        # Where a compiler exists (CI, the README's setup) the build must work.
        assert fast_kernel._compiler() is None or not fast_kernel.enabled(), (
            fast_kernel._state["error"]
        )
        pytest.skip("no C++ compiler: the layer runs on TensorFlow ops")
    return module


def _op_types(fn, *args):
    graph = tf.function(fn).get_concrete_function(*args).graph
    return {op.type for op in graph.get_operations()}


def _layers(units, features, dtype, **kwargs):
    """The same weights in a kernel layer and in the generic Keras loop."""
    rng = np.random.default_rng(3)
    pair = []
    for fast in (True, False):
        layer = LSTM1997(units, use_fast_path=fast, dtype=dtype, return_sequences=True,
                         return_state=True, **kwargs)  # fmt: skip
        layer.build((None, None, features))
        pair.append(layer)
    weights = [rng.uniform(-0.6, 0.6, w.shape) for w in pair[0].get_weights()]
    for layer in pair:
        layer.set_weights(weights)
    return pair


def _initial_states(layer, batch, rng):
    states = [rng.normal(size=(batch, size)) * 0.5 for size in layer.cell.state_size]
    if len(states) == 3:  # fed-back gate activations lie in (0, 1)
        states[2] = rng.uniform(0.05, 0.95, size=states[2].shape)
    return states


def _outputs_and_grads(layer, x, initial, training, mask=None):
    states = [tf.constant(v) for v in initial]
    rng = np.random.default_rng(4)
    with tf.GradientTape() as tape:
        tape.watch([x, *states])
        results = layer(x, initial_state=states, training=training, mask=mask)
        loss = sum(tf.reduce_sum(t * rng.normal(size=t.shape)) for t in results)
    sources = [x, *states, *layer.trainable_weights]
    grads = tape.gradient(loss, sources)
    grads = [
        np.zeros(v.shape) if g is None else np.asarray(g)
        for g, v in zip(grads, sources, strict=True)
    ]
    return [np.asarray(t) for t in results], grads


def _assert_same(fast, generic, x, initial, training, mask=None):
    got_out, got_grads = _outputs_and_grads(fast, x, initial, training, mask)
    want_out, want_grads = _outputs_and_grads(generic, x, initial, training, mask)
    for a, b in zip(got_out, want_out, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)
    for a, b in zip(got_grads, want_grads, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("gradient", ["full", "truncated"])
@pytest.mark.parametrize(
    "batch,steps,features,units",
    [
        (1, 1, 2, 16),  # one row, one step, a whole packet of units
        (11, 7, 3, 21),  # partial tiles and partial unit packets
        (17, 9, 4, 48),  # three tiles, shared by the threads
    ],
)
def test_kernel_equals_generic_loop(gradient, batch, steps, features, units):
    module = _kernel_or_skip()
    fast, generic = _layers(units, features, "float64", gradient=gradient)
    rng = np.random.default_rng(5)
    x = tf.constant(rng.normal(size=(batch, steps, features)))
    initial = _initial_states(fast, batch, rng)
    assert "Lstm1997Fused" in _op_types(lambda v: fast(v, training=True)[0], x)
    assert module is not None
    for training in (True, False):
        _assert_same(fast, generic, x, initial, training)


# Every structural switch of the cell, and combinations of them.
FAMILY = {
    "forget_gate": dict(forget_gate=True),
    "peephole": dict(peephole=True),
    "forget_gate_peephole_blocks": dict(forget_gate=True, peephole=True, cells_per_block=3),
    "blocks": dict(cells_per_block=3),
    "cells_and_gates": dict(recurrent_input="cells_and_gates"),
    "cells_and_gates_everything": dict(recurrent_input="cells_and_gates", forget_gate=True,
                                       peephole=True, cells_per_block=3),  # fmt: skip
    "paper_2a_net": dict(recurrent_input="none", output_gate=False, use_bias=False),
    "no_output_gate_forget_gate": dict(output_gate=False, forget_gate=True),
    "gate_biases_only": dict(cell_input_bias=False, cells_per_block=7),
}


@pytest.mark.parametrize("gradient", ["full", "truncated"])
@pytest.mark.parametrize("config", sorted(FAMILY))
def test_kernel_runs_the_whole_family_exactly(config, gradient):
    """Outputs and gradients equal the generic loop in float64, with and
    without masks (random, right-padded, a fully masked row), backwards,
    and in inference."""
    _kernel_or_skip()
    batch, steps, features, units = 11, 7, 3, 21
    rng = np.random.default_rng(5)
    x = tf.constant(rng.normal(size=(batch, steps, features)))
    random_mask = rng.uniform(size=(batch, steps)) > 0.4
    random_mask[0, :3] = False  # masked first steps: outputs stay 0 there
    lengths = rng.integers(0, steps + 1, size=batch)
    lengths[1] = 0  # a fully masked row
    right_padded = np.arange(steps)[None] < lengths[:, None]
    for go_backwards in (False, True):
        fast, generic = _layers(units, features, "float64", gradient=gradient,
                                go_backwards=go_backwards, **FAMILY[config])  # fmt: skip
        initial = _initial_states(fast, batch, rng)
        assert "Lstm1997Fused" in _op_types(lambda v, m, layer=fast: layer(v, mask=m)[0], x,
                                            tf.constant(random_mask))  # fmt: skip
        for mask in (None, random_mask, right_padded):
            mask = None if mask is None else tf.constant(mask)
            _assert_same(fast, generic, x, initial, True, mask)
        _assert_same(fast, generic, x, initial, False, tf.constant(random_mask))


def test_kernel_zero_output_for_mask_and_recurrent_dropout():
    """Keras' zero outputs at masked steps; recurrent dropout with the same
    seed draws the same mask as the generic loop, so the two agree exactly."""
    _kernel_or_skip()
    rng = np.random.default_rng(9)
    x = tf.constant(rng.normal(size=(6, 8, 3)))
    mask = tf.constant(rng.uniform(size=(6, 8)) > 0.3)
    fast, generic = _layers(12, 3, "float64", zero_output_for_mask=True, forget_gate=True)
    _assert_same(fast, generic, x, _initial_states(fast, 6, rng), True, mask)
    out = np.asarray(fast(x, mask=mask)[0])
    assert np.all(out[~np.asarray(mask)] == 0) and np.all(out[np.asarray(mask)] != 0)
    for config in ({}, FAMILY["cells_and_gates_everything"]):
        fast, generic = _layers(12, 3, "float64", recurrent_dropout=0.4, dropout=0.2, seed=7,
                                **config)  # fmt: skip
        initial = _initial_states(fast, 6, rng)
        _assert_same(fast, generic, x, initial, True, mask)
        # The dropout is real: without it the outputs differ.
        plain, _ = _layers(12, 3, "float64", **config)
        dropped = np.asarray(fast(x, initial_state=initial, training=True)[0])
        kept = np.asarray(plain(x, initial_state=initial, training=True)[0])
        assert np.abs(dropped - kept).max() > 1e-3


def test_kernel_family_in_float32_and_in_model_fit():
    """float32 training through model.fit: the same weights after two epochs."""
    _kernel_or_skip()
    rng = np.random.default_rng(10)
    x = rng.normal(size=(32, 20, 4)).astype("float32")
    x[:8, 15:] = 0.0  # masked by keras.layers.Masking
    y = rng.normal(size=(32, 1)).astype("float32")
    results = []
    for fast in (True, False):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([
            keras.Input((20, 4)),
            keras.layers.Masking(),
            LSTM1997(16, forget_gate=True, cells_per_block=2, peephole=True, use_fast_path=fast),
            keras.layers.Dense(1),
        ])  # fmt: skip
        model.compile(keras.optimizers.SGD(0.1), "mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_kernel_float32_training_matches_generic_loop():
    _kernel_or_skip()
    fast, generic = _layers(64, 8, "float32", gradient="full")
    rng = np.random.default_rng(6)
    x = tf.constant(rng.normal(size=(32, 40, 8)).astype("float32"))
    initial = [np.zeros((32, 64), "float32")] * 2
    got_out, got_grads = _outputs_and_grads(fast, x, initial, True)
    want_out, want_grads = _outputs_and_grads(generic, x, initial, True)
    # float32 rounding, summed differently, over 40 steps: relative to each
    # array's scale (the float64 test above checks the arithmetic exactly).
    for a, b in zip(got_out + got_grads, want_out + want_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5 * np.abs(b).max())


def test_kernel_is_not_used_under_xla_portable_or_switched_off(monkeypatch):
    _kernel_or_skip()
    layer = LSTM1997(8, return_sequences=True)
    x = tf.zeros((2, 5, 3))
    assert "Lstm1997Fused" in _op_types(lambda v: layer(v), x)
    xla = tf.function(lambda v: layer(v), jit_compile=True).get_concrete_function(x).graph
    assert not {"Lstm1997Fused", "Lstm1997FusedBackward"} & {op.type for op in xla.get_operations()}
    with fast_kernel.portable():
        assert "Lstm1997Fused" not in _op_types(lambda v: layer(v), x)
    assert "Lstm1997Fused" in _op_types(lambda v: layer(v), x)
    monkeypatch.setenv(fast_kernel.ENV_SWITCH, "0")
    assert "Lstm1997Fused" not in _op_types(lambda v: layer(v), x)


def test_saved_model_holds_no_kernel_op(tmp_path):
    """tf.saved_model.save traces without the kernel: a portable SavedModel."""
    _kernel_or_skip()
    layer = LSTM1997(8, return_sequences=True)
    x = np.random.default_rng(7).normal(size=(2, 5, 3)).astype("float32")
    want = np.asarray(layer(x))
    module = tf.Module()
    module.layer = layer
    module.serve = tf.function(lambda v: layer(v), input_signature=[tf.TensorSpec((None, None, 3))])
    # Traced (with the kernel) before saving: saving traces it again.
    assert "Lstm1997Fused" in {
        op.type for op in module.serve.get_concrete_function().graph.get_operations()
    }
    tf.saved_model.save(module, str(tmp_path))
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((tmp_path / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0].graph_def
    op_types = {n.op for n in graph.node}
    op_types |= {n.op for f in graph.library.function for n in f.node_def}
    assert "Lstm1997Fused" not in op_types and "Lstm1997FusedBackward" not in op_types
    # Loaded where the kernel library was never loaded: a fresh process.
    code = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"m = tf.saved_model.load({str(tmp_path)!r})\n"
        "x = np.load(sys.argv[1])\n"
        "np.save(sys.argv[2], m.serve(tf.constant(x)).numpy())\n"
    )
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                   check=True, env=env, capture_output=True)  # fmt: skip
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), want, atol=1e-5)


def test_failed_build_falls_back_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(fast_kernel, "_state", {"loaded": False, "module": None, "error": None})
    monkeypatch.setenv("LSTM_ZOO_CACHE", str(tmp_path))
    monkeypatch.setenv("CXX", "false")  # a "compiler" that always fails
    with caplog.at_level("WARNING", logger="lstm_zoo"):
        assert fast_kernel.load() is None
    assert "unavailable" in caplog.text and "runs on TensorFlow ops" in caplog.text
    assert not list(tmp_path.glob("kernels/*.so"))
    layer, generic = _layers(5, 3, "float32")
    x = np.random.default_rng(8).normal(size=(2, 6, 3)).astype("float32")
    assert "Lstm1997Fused" not in _op_types(lambda v: layer(v)[0], tf.constant(x))
    np.testing.assert_allclose(np.asarray(layer(x)[0]), np.asarray(generic(x)[0]), atol=1e-6)


def test_build_tries_the_next_target_when_one_fails(monkeypatch, tmp_path, caplog):
    # -march=native fails (as it does with TF 2.21's Eigen on CPUs with
    # AVX512-FP16 under GCC 12); the next target in `TARGETS` builds.
    commands = []

    def run(command, **kwargs):
        commands.append(command)
        flags = set(command)
        if "-march=native" in flags and "-mno-avx512fp16" not in flags:
            return subprocess.CompletedProcess(command, 1, "", "PacketMathFP16.h: error")
        with open(command[command.index("-o") + 1], "wb") as f:
            f.write(b"built")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(fast_kernel.subprocess, "run", run)
    path = tmp_path / "kernel.so"
    with caplog.at_level("WARNING", logger="lstm_zoo"):
        fast_kernel._build("c++", path)
    assert path.read_bytes() == b"built"
    assert [c[c.index("-O3") + 1 : c.index("-w")] for c in commands] == [
        ["-march=native"], ["-march=native", "-mno-avx512fp16"]
    ]
    assert "PacketMathFP16.h" in caplog.text and "-mno-avx512fp16" in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == ["kernel.so"]  # no partial file left

    # Where every target fails, the build raises with the compiler's message.
    monkeypatch.setattr(fast_kernel.subprocess, "run", lambda command, **kwargs: (
        subprocess.CompletedProcess(command, 1, "", "no way")))  # fmt: skip
    with pytest.raises(RuntimeError, match="no way"):
        fast_kernel._build("c++", tmp_path / "other.so")
    assert not (tmp_path / "other.so").exists()
