"""TensorFlow fast paths of `LSTM1997`: the fused kernel, and its TF-op stand-in.

`LSTM1997.inner_loop` on the TensorFlow backend (unless `use_fast_path=False`
or `unroll=True`) takes, in this order:

1. The fused CPU kernel (`fused_sequence`), where `fast_kernel` can use it
   (compiled, not under XLA, not while a SavedModel is traced, no GPU
   visible, float32 or float64) and the cell has the paper's activations.
   It covers every structural switch of the cell: blocks of cells, forget
   gate, peepholes, no output gate, `recurrent_input` "cells",
   "cells_and_gates" or "none", with or without biases, Keras masks,
   `go_backwards` and recurrent dropout, with the full or the truncated
   gradient. One op runs the whole forward loop, the inputs' projection
   included, one op the backward loop; every weight gradient is one product
   after it (`_fused_gradient`).
2. Otherwise, for the default cell (one cell per block, no forget gate, no
   peephole, cell outputs as recurrent input, no mask, no recurrent
   dropout), the same arithmetic as TensorFlow ops (`lstm1997_sequence`).
3. Otherwise, in inference, any configuration with the paper's activations,
   masked or not, as a lean loop of TensorFlow ops
   (`family_inference_sequence`). This is what exported SavedModels
   of those configurations serve.
4. Otherwise the generic Keras loop.

All four give the same outputs and gradients to float tolerance
(tests/layers/test_fast_path.py, tests/layers/test_fast_kernel.py).

What the TensorFlow ops do differently from the generic loop (measured with
benchmarks/rnn_speed.py):

- Fewer ops a step. Because 4 sigmoid(x) - 2 = 2 tanh(x / 2) and
  2 sigmoid(s) - 1 = tanh(s / 2), the loop carries the half state s' = s / 2,
  with the cell-input columns halved and moved last ([input | output | cell])
  once, in the weights, before the loop:
  s'(t) = s'(t-1) + y_in * tanh(z_c), y_c = y_out * tanh(s').
- For small steps (batch * units below `CUSTOM_GRADIENT_MAX_WORK`), a
  hand-written gradient (`tf.custom_gradient`). The loop stores the gate and
  squashing activations, so the backward pass needs no transcendental
  function; every elementwise factor is computed for all steps at once, and
  the weight gradients are single large products over all steps. Full BPTT
  keeps a backward loop of one product and a few elementwise ops a step; the
  paper's truncated gradient needs no loop at all: with the recurrent input
  cut, the error reaching the cell states is a reverse cumulative sum over
  time. For larger steps TensorFlow differentiates the same loop itself.
"""

import keras
import tensorflow as tf

from lstm_zoo.layers import activations, fast_kernel
from lstm_zoo.layers.fast_kernel import _in_xla_context

# Which backward pass pays, by the size of one step's state (batch * units),
# measured with benchmarks/rnn_speed.py on a 2-core AVX-512 CPU: the
# hand-written backward wins while per-op overhead dominates (small steps);
# on large steps its whole-sequence elementwise passes are memory-bound and
# TensorFlow's own gradient of the same loop, whose per-step tensors stay in
# cache, is faster.
# Under XLA (`jit_compile=True`) the hand-written backward always runs: XLA
# differentiates a long while loop very slowly (3.4 s against 0.39 s a training
# step at batch 64, 1000 steps, 128 units, in the same benchmark run).
CUSTOM_GRADIENT_MAX_WORK = {"full": 4096, "truncated": 65536}
ASSUMED_BATCH = 32  # when the batch size is not static


def _tensor_array(dtype, size, element_shape):
    # A known element shape lets LiteRT lower the tensor list to builtin ops.
    return tf.TensorArray(dtype, size=size, element_shape=tf.TensorShape(element_shape))


def _reorder(matrix, units):
    """[input | cell | output] columns -> [input | output | cell / 2]."""
    gates_in = matrix[..., :units]
    cells = matrix[..., units : 2 * units]
    gates_out = matrix[..., 2 * units :]
    return tf.concat([gates_in, gates_out, 0.5 * cells], axis=-1)


def lstm1997_sequence(sequences, kernel, bias, h0, s0, recurrent_kernel, truncated, training=True):
    """Runs the default 1997 cell over a sequence.

    Args:
        sequences: `(batch, T, features)` inputs (dropout already applied).
        kernel: `(features, 3U)`, columns [input gate | cell input | output gate].
        bias: `(3U,)` or `None`.
        h0, s0: `(batch, U)` initial cell outputs and cell states.
        recurrent_kernel: `(U, 3U)`.
        truncated: Python bool, the paper's truncated gradient.
        training: Python bool. In inference the lean loop (no hoisted
            projection, storing only y_c) runs; its gradient, if asked for
            all the same, is still exact.

    Returns:
        `(outputs (batch, T, U), h_T, s_T)`.
    """
    units = recurrent_kernel.shape[0]
    kernel = _reorder(kernel, units)
    rk = _reorder(recurrent_kernel, units)
    bias = None if bias is None else _reorder(bias, units)
    s0h = s0 * 0.5
    if not training:
        # Lean inference loop: [x(t), y_c(t-1)] @ [kernel; recurrent] a step.
        # Not hoisting the input projection keeps the (T, batch, 3U) tensor out
        # of memory; with few input features that was faster at every measured
        # shape (546 ms against 674 ms at batch 256, 1000 steps, 128 units).
        weights = tf.concat([kernel, rk], axis=0)

        def pre_activation(x_t, recurrent):
            z = tf.matmul(tf.concat([x_t, recurrent], axis=1), weights)
            return z if bias is None else z + bias

        xs = tf.transpose(sequences, [1, 0, 2])
        outputs, h_last, s_last = _lean_loop(xs, h0, s0h, units, pre_activation, truncated)
        return outputs, h_last, 2.0 * s_last
    # Time-major projection of all steps in one product.
    xp = tf.einsum("btf,fg->tbg", sequences, kernel)
    if bias is not None:
        xp += bias
    batch = sequences.shape[0] or ASSUMED_BATCH
    mode = "truncated" if truncated else "full"
    if _in_xla_context() or batch * units < CUSTOM_GRADIENT_MAX_WORK[mode]:
        outputs, h_last, s_last = _sequence(xp, h0, s0h, rk, truncated)
    else:
        # The same loop, differentiated by TensorFlow (stores only y_c).
        outputs, h_last, s_last = _lean_loop(
            xp, h0, s0h, units, lambda xp_t, recurrent: xp_t + tf.matmul(recurrent, rk), truncated
        )
    return outputs, h_last, 2.0 * s_last


def _lean_loop(xs, h0, s0h, units, pre_activation, truncated):
    """Time-major loop storing only y_c; TensorFlow differentiates it.

    Args:
        xs: `(T, batch, .)` per-step inputs of `pre_activation`.
        h0, s0h: initial cell outputs and half states.
        units: U.
        pre_activation: `(x_t, y_c(t-1)) -> z (batch, 3U)`, columns
            [input | output | cell / 2].
        truncated: cut the recurrent input from the gradient (the paper's rule).

    Returns:
        `(outputs (batch, T, U), h_T, s'_T)`.
    """
    steps = tf.shape(xs)[0]
    inputs = _tensor_array(xs.dtype, steps, xs.shape[1:]).unstack(xs)
    hs = _tensor_array(xs.dtype, steps, [xs.shape[1], units])

    def body(t, h, s, hs):
        recurrent = tf.stop_gradient(h) if truncated else h
        z = pre_activation(inputs.read(t), recurrent)
        z_gates, z_cells = tf.split(z, [2 * units, units], axis=1)
        y_in, y_out = tf.split(tf.sigmoid(z_gates), 2, axis=1)
        s = s + y_in * tf.tanh(z_cells)
        h = y_out * tf.tanh(s)
        return t + 1, h, s, hs.write(t, h)

    _, h, s, hs = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), h0, s0h, hs),
        maximum_iterations=steps,
    )
    return tf.transpose(hs.stack(), [1, 0, 2]), h, s


def _forward(xp, h0, s0h, rk):
    """Time-major forward loop.

    Returns:
        Stacked (T, batch, .) cell outputs, gate activations [input | output],
        tanh(z_c), tanh(s'), and the final half state s'.
    """
    units = rk.shape[0]
    steps = tf.shape(xp)[0]
    dtype = xp.dtype
    xs = _tensor_array(xp.dtype, steps, xp.shape[1:]).unstack(xp)
    hs, cs, ts = (_tensor_array(dtype, steps, [xp.shape[1], units]) for _ in range(3))
    gs = _tensor_array(dtype, steps, [xp.shape[1], 2 * units])

    def body(t, h, s, hs, gs, cs, ts):
        z = xs.read(t) + tf.matmul(h, rk)
        z_gates, z_cells = tf.split(z, [2 * units, units], axis=1)
        gates = tf.sigmoid(z_gates)
        tanh_c = tf.tanh(z_cells)
        y_in, y_out = tf.split(gates, 2, axis=1)
        s = s + y_in * tanh_c
        tanh_s = tf.tanh(s)
        h = y_out * tanh_s
        return (t + 1, h, s, hs.write(t, h), gs.write(t, gates), cs.write(t, tanh_c),
                ts.write(t, tanh_s))  # fmt: skip

    _, _, s, hs, gs, cs, ts = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), h0, s0h, hs, gs, cs, ts),
        maximum_iterations=steps,
    )
    return hs.stack(), gs.stack(), cs.stack(), ts.stack(), s


def _sequence(xp, h0, s0h, rk, truncated):
    @tf.custom_gradient
    def run(xp, h0, s0h, rk):
        hs, gates, tanh_c, tanh_s, s_last = _forward(xp, h0, s0h, rk)
        outputs = tf.transpose(hs, [1, 0, 2])
        h_last = hs[-1]

        def grad(d_outputs, d_h_last, d_s_last):
            # Upstream error at every y_c(t), time-major; the final-state errors
            # join at the last step.
            dh = tf.zeros_like(hs) if d_outputs is None else tf.transpose(d_outputs, [1, 0, 2])
            if d_h_last is not None:
                last = tf.one_hot(tf.shape(hs)[0] - 1, tf.shape(hs)[0], dtype=hs.dtype)
                dh += last[:, None, None] * d_h_last[None]
            return _backward(dh, d_s_last, h0, hs, gates, tanh_c, tanh_s, rk, truncated)

        return (outputs, h_last, s_last), grad

    return run(xp, h0, s0h, rk)


def _backward(dh, d_s_last, h0, hs, gates, tanh_c, tanh_s, rk, truncated):
    """Gradients of `(xp, h0, s0h, rk)` from the stored activations (time-major)."""
    dz, dh0, ds0 = _backward_steps(dh, d_s_last, h0, gates, tanh_c, tanh_s, rk, truncated)
    h_prev = tf.concat([h0[None], hs[:-1]], axis=0)
    d_rk = tf.einsum("tbu,tbg->ug", h_prev, dz)
    return dz, dh0, ds0, d_rk


def _backward_steps(dh, d_s_last, h0, gates, tanh_c, tanh_s, rk, truncated):
    """The errors dz(t) at the pre-activations, and those reaching h0 and s'0.

    Args:
        dh: `(T, batch, U)` upstream error at every y_c(t).
        d_s_last: upstream error at the final half state, or `None`.
        h0, gates, tanh_c, tanh_s: the forward pass's start and stored
            activations (time-major).
        rk: the reordered recurrent kernel.
        truncated: the paper's truncated gradient (no product over time).
    """
    ds_last = tf.zeros_like(h0) if d_s_last is None else d_s_last
    y_in, y_out = tf.split(gates, 2, axis=2)
    gate_slope = gates * (1.0 - gates)  # sigmoid'
    k_s = y_out * (1.0 - tanh_s * tanh_s)  # d s'(t) / d y_c(t), local
    k_c = y_in * (1.0 - tanh_c * tanh_c)  # d z_c / d s'
    if not truncated:
        factors = tf.concat([tanh_c, tanh_s], axis=2) * gate_slope
        return _backward_loop(dh, ds_last, k_s, factors, k_c, rk)
    # With the recurrent input cut, the error reaching the cell states is a
    # reverse cumulative sum over time.
    ds = tf.cumsum(dh * k_s, axis=0, reverse=True) + ds_last[None]
    dz = tf.concat([tf.concat([ds * tanh_c, dh * tanh_s], 2) * gate_slope, ds * k_c], axis=2)
    return dz, tf.zeros_like(h0), ds[0]


def _backward_loop(dh_out, ds_last, k_s, factors, k_c, rk):
    """Full BPTT: one product and a few elementwise ops a step, in reverse."""
    steps = tf.shape(dh_out)[0]
    packed = tf.concat([dh_out, k_s, factors, k_c], axis=2)
    reads = tf.TensorArray(packed.dtype, size=steps).unstack(packed)
    dzs = tf.TensorArray(packed.dtype, size=steps)
    rk_t = tf.transpose(rk)
    zeros = tf.zeros_like(dh_out[0])
    units = zeros.shape[-1]

    def body(t, dh_next, ds, dzs):
        dh_o, ks, io_factors, kc = tf.split(reads.read(t), [units, units, 2 * units, units], 1)
        dh = dh_o + dh_next
        ds = ds + dh * ks
        dz = tf.concat([tf.concat([ds, dh], 1) * io_factors, ds * kc], axis=1)
        return t - 1, tf.matmul(dz, rk_t), ds, dzs.write(t, dz)

    _, dh0, ds0, dzs = tf.while_loop(
        lambda t, *_: t >= 0,
        body,
        (steps - 1, zeros, ds_last + zeros, dzs),
        maximum_iterations=steps,
    )
    return dzs.stack(), dh0, ds0


# ---------------------------------------------------------------------------
# The fused kernel for the whole cell family (ops Lstm1997Fused and
# Lstm1997FusedBackward of lstm1997_kernel.cc).


def fused_applies(cell, dtype):
    """The kernels' op module if `cell` may run on the fused kernel, else `None`.

    Every structural switch of the cell is covered (blocks, forget gate,
    peepholes, output gate, recurrent inputs, biases), with masks and
    recurrent dropout; the activations must be the paper's.
    """
    if not paper_activations(cell):
        return None
    return fast_kernel.usable(dtype)


def _compact_columns(cell, matrix):
    """Keras columns [in (B) | forget (B) | cells (U) | out (B)] -> [in | forget |
    out | cells / 2]: the gates first, one column per block, the cell inputs
    halved (for the half state) and last."""
    blocks, units = cell.blocks, cell.units
    start = 2 * blocks if cell.forget_gate else blocks
    segments = [matrix[..., :start]]
    if cell.output_gate:
        segments.append(matrix[..., start + units :])
    segments.append(0.5 * matrix[..., start : start + units])
    return tf.concat(segments, axis=-1)


def _expand_columns(cell, matrix):
    """Keras columns [in (B) | forget (B) | cells (U) | out (B)] -> the kernel's
    [in (U) | forget (U) | out (U) | cells / 2 (U)]: `_compact_columns` with
    each gate column repeated for the cells of its block."""
    compact = _compact_columns(cell, matrix)
    if cell.cells_per_block == 1:
        return compact
    gate_width = compact.shape[-1] - cell.units
    gates = tf.repeat(compact[..., :gate_width], cell.cells_per_block, axis=-1)
    return tf.concat([gates, compact[..., gate_width:]], axis=-1)


def fused_sequence(kernels, cell, sequences, initial_state, mask=None, recurrent_mask=None,
                   zero_output_for_mask=False, training=True):  # fmt: skip
    """Runs any paper-activation configuration of the cell on the fused kernel.

    Args:
        kernels: The op module (`fused_applies`).
        cell: The `LSTM1997Cell` (its weights are read, in `sequences.dtype`).
        sequences: `(batch, T, features)` inputs (dropout already applied).
        initial_state: The cell's initial states (`[h, s]` or `[h, s, gates]`).
        mask: Optional boolean `(batch, T)`; masked steps carry the states
            over, as in Keras' loop.
        recurrent_mask: Optional `(batch, units)` recurrent dropout mask.
        zero_output_for_mask: Output zeros at masked steps (else the last
            unmasked step's output, zeros before the first).
        training: In inference only the outputs are stored; the gradient,
            should one be asked for, runs the forward again storing the rest.

    Returns:
        `(outputs (batch, T, units), final states)`.
    """
    dtype = sequences.dtype
    units, size = cell.units, cell.cells_per_block
    batch = tf.shape(sequences)[0]
    kernel = _expand_columns(cell, tf.cast(cell.kernel, dtype))
    if cell.use_bias:
        bias = _expand_columns(cell, cell.full_bias(tf.cast(cell.bias, dtype)))
    else:
        bias = tf.zeros([kernel.shape[-1]], dtype)
    if cell.recurrent_kernel is None:
        rk = tf.zeros([0, kernel.shape[-1]], dtype)
    else:
        rk = _expand_columns(cell, tf.cast(cell.recurrent_kernel, dtype))
    if cell.peephole:
        names = ["input_peephole"] + (["forget_peephole"] if cell.forget_gate else [])
        names.append("output_peephole")
        peep = tf.stack([2.0 * tf.cast(getattr(cell, name), dtype) for name in names])
    else:
        peep = tf.zeros([0, units], dtype)
    h0, s0 = initial_state[0], initial_state[1]
    if cell.recurrent_input == "cells_and_gates":
        g0 = initial_state[2] if size == 1 else tf.repeat(initial_state[2], size, axis=-1)
    else:
        g0 = tf.zeros([batch, 0], dtype)
    step_mask = tf.zeros([batch, 0], tf.bool) if mask is None else tf.cast(mask, tf.bool)
    rd = tf.zeros([batch, 0], dtype) if recurrent_mask is None else tf.cast(recurrent_mask, dtype)
    hs, s_last, g_last = kernels.lstm1997_fused(
        sequences, kernel, bias, h0, 0.5 * s0, g0, rk, peep, step_mask, rd,
        forget_gate=cell.forget_gate, output_gate=cell.output_gate, block=size,
        store=bool(training), truncated=cell.gradient == "truncated",
    )[:3]  # fmt: skip
    states = [hs[:, -1], 2.0 * s_last]
    if cell.recurrent_input == "cells_and_gates":
        states.append(g_last[:, ::size] if size > 1 else g_last)
    outputs = hs
    if mask is not None:
        # Keras' loop outputs the previous output at a masked step, zeros
        # before the first unmasked one (or zeros throughout).
        keep = step_mask if zero_output_for_mask else tf.cumsum(tf.cast(step_mask, tf.int32), 1) > 0
        outputs = hs * tf.cast(keep, dtype)[..., None]
    return outputs, states


def paper_activations(cell):
    """Whether `cell` has the paper's activations (the fast paths' arithmetic)."""
    return (
        cell.activation is activations.paper_h
        and cell.cell_input_activation is activations.paper_g
        and cell.recurrent_activation is keras.activations.sigmoid
    )


def family_inference_sequence(cell, sequences, initial_state, mask=None,
                              zero_output_for_mask=False):  # fmt: skip
    """Any paper-activation configuration of the cell in inference, in TensorFlow ops.

    The stand-in for the fused kernel where it cannot run (a SavedModel being
    traced, XLA, no compiler), so that exported models of every configuration
    serve from a lean loop of standard ops: one product `[x(t), r(t-1)] @ W`
    a step (the gates' columns first, one per block; `_compact_columns`), one
    sigmoid for the gates, one tanh for the cell inputs, and the half state
    s' = s / 2 (4 sigmoid(x) - 2 = 2 tanh(x / 2), 2 sigmoid(s) - 1 = tanh(s / 2)).
    Masks hold the states as Keras' loop does. With `gradient="truncated"`
    the recurrent input and the peepholes' view of the state are cut from
    the gradient, as in the cell, so a gradient taken all the same is the
    cell's.

    Args:
        cell: The `LSTM1997Cell` (paper activations; see `paper_activations`).
        sequences: `(batch, T, features)` inputs (already reversed for
            `go_backwards`).
        initial_state: The cell's initial states (`[h, s]` or `[h, s, gates]`).
        mask: Optional boolean `(batch, T)`.
        zero_output_for_mask: Output zeros at masked steps (else the last
            unmasked step's output, zeros before the first).

    Returns:
        `(outputs (batch, T, units), final states)`.
    """
    dtype = sequences.dtype
    units, size, blocks = cell.units, cell.cells_per_block, cell.blocks
    truncated = cell.gradient == "truncated"
    weights = _compact_columns(cell, tf.cast(cell.kernel, dtype))
    if cell.recurrent_kernel is not None:
        recurrent_weights = _compact_columns(cell, tf.cast(cell.recurrent_kernel, dtype))
        weights = tf.concat([weights, recurrent_weights], axis=0)
    bias = None
    if cell.use_bias:
        bias = _compact_columns(cell, cell.full_bias(tf.cast(cell.bias, dtype)))
    gate_width = (1 + cell.forget_gate + cell.output_gate) * blocks
    fed_back = cell.recurrent_input == "cells_and_gates"
    peep = {}
    if cell.peephole:  # 2 p, since the loop carries s / 2
        names = ["input"] + (["forget"] if cell.forget_gate else []) + ["output"]
        peep = {n: 2.0 * tf.cast(getattr(cell, f"{n}_peephole"), dtype) for n in names}

    def to_cells(per_block):
        return per_block if size == 1 else tf.repeat(per_block, size, axis=1)

    def peeped(z, name, s):
        seen = tf.stop_gradient(s) if truncated else s
        seen = seen * peep[name]
        if size > 1:  # each block's gate sees the sum over its cells
            seen = tf.reduce_sum(tf.reshape(seen, [-1, blocks, size]), axis=-1)
        return z + seen

    steps = tf.shape(sequences)[1]
    xs = tf.transpose(sequences, [1, 0, 2])
    inputs = _tensor_array(dtype, steps, xs.shape[1:]).unstack(xs)
    masks = None
    if mask is not None:
        step_mask = tf.transpose(tf.cast(mask, tf.bool))[..., None]
        masks = _tensor_array(tf.bool, steps, step_mask.shape[1:]).unstack(step_mask)
    hs = _tensor_array(dtype, steps, [xs.shape[1], units])
    h0, s0h = initial_state[0], 0.5 * initial_state[1]
    g0 = initial_state[2] if fed_back else tf.zeros([tf.shape(h0)[0], 0], dtype)

    def body(t, h, s, g, hs):
        x = inputs.read(t)
        if cell.recurrent_kernel is not None:
            recurrent = tf.concat([h, g], axis=1) if fed_back else h
            recurrent = tf.stop_gradient(recurrent) if truncated else recurrent
            x = tf.concat([x, recurrent], axis=1)
        z = tf.matmul(x, weights)
        if bias is not None:
            z += bias
        z_gates, z_cells = tf.split(z, [gate_width, units], axis=1)
        z_rest = None
        if cell.peephole:
            # The input and forget gates see s(t-1); the output gate s(t).
            z_in, z_rest = tf.split(z_gates, [blocks, gate_width - blocks], axis=1)
            parts = [peeped(z_in, "input", s)]
            if cell.forget_gate:
                z_f, z_rest = tf.split(z_rest, [blocks, gate_width - 2 * blocks], axis=1)
                parts.append(peeped(z_f, "forget", s))
            gates = tf.sigmoid(tf.concat(parts, axis=1))
        else:
            gates = tf.sigmoid(z_gates)
        carried = s * to_cells(gates[:, blocks : 2 * blocks]) if cell.forget_gate else s
        s_new = carried + to_cells(gates[:, :blocks]) * tf.tanh(z_cells)
        h_new = tf.tanh(s_new)
        if cell.output_gate:
            if cell.peephole:
                y_out = tf.sigmoid(peeped(z_rest, "output", s_new))
                gates = tf.concat([gates, y_out], axis=1)
            else:
                y_out = gates[:, gate_width - blocks :]
            h_new = to_cells(y_out) * h_new
        g_new = gates if fed_back else g
        if masks is not None:
            m = masks.read(t)
            h_new, s_new = tf.where(m, h_new, h), tf.where(m, s_new, s)
            g_new = tf.where(m, g_new, g) if fed_back else g
        return t + 1, h_new, s_new, g_new, hs.write(t, h_new)

    _, h, s, g, hs = tf.while_loop(
        lambda t, *_: t < steps, body, (tf.constant(0), h0, s0h, g0, hs),
        maximum_iterations=steps,
    )  # fmt: skip
    outputs = tf.transpose(hs.stack(), [1, 0, 2])
    states = [h, 2.0 * s] + ([g] if fed_back else [])
    if mask is not None:
        # Keras' loop outputs the previous output at a masked step, zeros
        # before the first unmasked one (or zeros throughout).
        step_mask = tf.cast(mask, tf.bool)
        keep = step_mask if zero_output_for_mask else tf.cumsum(tf.cast(step_mask, tf.int32), 1) > 0
        outputs = outputs * tf.cast(keep, dtype)[..., None]
    return outputs, states


def _fused_gradient(op, d_hs, d_s_last, d_g_last, *unused):
    """Gradient of the fused family op (registered by `fast_kernel.load`)."""
    x, kernel, bias, h0, s0, g0, rk, peep, mask, rd = op.inputs
    attrs = {name: op.get_attr(name) for name in ("forget_gate", "output_gate", "block")}
    truncated = op.get_attr("truncated")
    kernels = fast_kernel.load()
    hs, _, _, acts, tanh_s, ss = op.outputs
    if not op.get_attr("store"):
        hs, _, _, acts, tanh_s, ss = kernels.lstm1997_fused(
            x, kernel, bias, h0, s0, g0, rk, peep, mask, rd, store=True, truncated=truncated,
            **attrs,
        )  # fmt: skip
    d_hs = tf.zeros_like(hs) if d_hs is None else d_hs
    d_s_last = tf.zeros_like(s0) if d_s_last is None else d_s_last
    d_g_last = tf.zeros_like(g0) if d_g_last is None else d_g_last
    # Where acts has no other use, dz is written over it.
    dz, dh0, ds0, dg0 = kernels.lstm1997_fused_backward(
        d_hs, d_s_last, d_g_last, acts, tanh_s, ss, s0, rk, peep, mask, rd,
        truncated=truncated, **attrs,
    )  # fmt: skip
    # Every weight's gradient in one product: [x(t), r(t-1), 1]^T dz(t).
    rows = [x]
    recurrent_width = rk.shape[0]
    if recurrent_width:
        r_prev = tf.concat([h0[:, None], hs[:, :-1]], axis=1)
        if rd.shape[1]:
            r_prev *= rd[:, None]
        gate_width = g0.shape[1]
        if gate_width:  # fed back: the first cell's copy of each block's gates
            size = op.get_attr("block")
            gates_prev = tf.concat([g0[:, None], acts[:, :-1, :gate_width]], axis=1)
            r_prev = tf.concat([r_prev, gates_prev[..., ::size]], axis=2)
        rows.append(r_prev)
    rows.append(tf.ones_like(hs[..., :1]))
    rows = tf.concat(rows, axis=2)
    d_weights = tf.matmul(tf.reshape(rows, [-1, rows.shape[-1]]),
                          tf.reshape(dz, [-1, dz.shape[-1]]), transpose_a=True)  # fmt: skip
    d_kernel, d_rk, d_bias = tf.split(d_weights, [x.shape[-1], recurrent_width, 1], axis=0)
    d_x = tf.einsum("btg,fg->btf", dz, kernel)
    d_peep = tf.zeros_like(peep)
    if peep.shape[0]:
        units, size = hs.shape[-1], attrs["block"]

        def block_sum(v):
            if size == 1:
                return v
            summed = tf.reduce_sum(tf.reshape(v, tf.concat([tf.shape(v)[:2], [-1, size]], 0)), -1)
            return tf.repeat(summed, size, axis=-1)

        s_prev = tf.concat([s0[:, None], ss[:, :-1]], axis=1)
        seen = [s_prev] * (peep.shape[0] - 1) + [ss]
        d_peep = tf.stack([
            tf.reduce_sum(s * block_sum(dz[..., i * units : (i + 1) * units]), axis=[0, 1])
            for i, s in zip([0, 1, 2] if attrs["forget_gate"] else [0, 1], seen, strict=True)
        ])  # fmt: skip
    return d_x, d_kernel, d_bias[0], dh0, ds0, dg0, d_rk, d_peep, None, None
