"""TensorFlow fast path of `LSTM1997` for the default 1997 cell.

Used by `LSTM1997.inner_loop` on the TensorFlow backend when the cell has one
cell per block, no forget gate, no peephole, cell outputs as recurrent input,
the paper's activations, no recurrent dropout, no mask and no unrolling; every
other configuration runs the generic Keras loop. Outputs and gradients equal
the generic path's to float tolerance (tests/layers/test_fast_path.py,
tests/layers/test_fast_kernel.py).

On CPU, where the fused kernels of `fast_kernel` are available and usable
(not under XLA, not while a SavedModel is traced, no GPU visible), one op runs
the whole loop, the inputs' projection included, and one op the full
gradient's backward loop (or the truncated gradient's elementwise pass); the
weight gradients are one product after it (`_kernel_gradient`). Otherwise the
same arithmetic runs as TensorFlow ops, as follows.

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

import tensorflow as tf

from lstm_zoo.layers import fast_kernel
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
    kernels = fast_kernel.usable(sequences.dtype)
    if kernels is not None:
        # The fused kernels (fast_kernel): one op for the whole loop, input
        # projection included. Inference stores nothing but y_c; the op's
        # gradient (`_kernel_gradient`) runs the forward again storing the
        # activations, should one be asked for.
        if bias is None:
            bias = tf.zeros([3 * units], sequences.dtype)
        outputs, s_last = kernels.lstm1997_forward(
            sequences, kernel, bias, h0, s0h, rk, store=training, truncated=truncated
        )[:2]
        h_last = outputs[:, -1]
        return outputs, h_last, 2.0 * s_last
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


def _kernel_gradient(op, d_hs, d_s_last, *unused):
    """Gradient of the fused forward op (registered by `fast_kernel.load`)."""
    x, kernel, bias, h0, s0h, rk = op.inputs
    hs, _, gates, tanh_c, tanh_s = op.outputs
    truncated = op.get_attr("truncated")
    kernels = fast_kernel.load()
    if not op.get_attr("store"):
        hs, _, gates, tanh_c, tanh_s = kernels.lstm1997_forward(
            x, kernel, bias, h0, s0h, rk, store=True, truncated=truncated
        )
    if d_hs is None:
        d_hs = tf.zeros_like(hs)
    if d_s_last is None:
        d_s_last = tf.zeros_like(h0)
    # The loop (full gradient) or the per-step pass (truncated) in one op;
    # the same arithmetic as `_backward_steps`, batch-major.
    dz, dh0, ds0 = kernels.lstm1997_backward(d_hs, d_s_last, gates, tanh_c, tanh_s, rk,
                                             truncated=truncated)  # fmt: skip
    # The kernel's, the recurrent kernel's and the bias' gradients in one
    # product: [x(t), y_c(t-1), 1]^T dz(t) summed over batch and time.
    h_prev = tf.concat([h0[:, None], hs[:, :-1]], axis=1)
    rows = tf.concat([x, h_prev, tf.ones_like(h_prev[..., :1])], axis=2)
    d_weights = tf.einsum("btk,btg->kg", rows, dz)
    d_kernel, d_rk, d_bias = tf.split(d_weights, [x.shape[-1], rk.shape[0], 1], axis=0)
    d_x = tf.einsum("btg,fg->btf", dz, kernel)
    return d_x, d_kernel, d_bias[0], dh0, ds0, d_rk


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
