"""TensorFlow fast path of `LSTM1997` for the default 1997 cell.

Used by `LSTM1997.inner_loop` on the TensorFlow backend when the cell has one
cell per block, no forget gate, no peephole, cell outputs as recurrent input,
the paper's activations, no recurrent dropout, no mask and no unrolling; every
other configuration runs the generic Keras loop. Outputs and gradients equal
the generic path's to float tolerance (tests/layers/test_fast_path.py).

Why it is faster (benchmarks/rnn_speed.py):

- Fewer ops a step. Because 4 sigmoid(x) - 2 = 2 tanh(x / 2) and
  2 sigmoid(s) - 1 = tanh(s / 2), the loop carries the half state s' = s / 2
  with the cell-input columns halved once before the loop:
  s'(t) = s'(t-1) + y_in * tanh(z_c / 2), y_c = y_out * tanh(s'). A step is one
  product and seven elementwise ops, and it stores only y_c and s'.
- A hand-written gradient (`tf.custom_gradient`). All elementwise derivative
  factors are computed for all steps at once after the forward loop, and the
  weight gradients are single large products over all steps. Full BPTT keeps a
  backward loop of one product and a few elementwise ops a step; the paper's
  truncated gradient needs no loop at all: with the recurrent input cut, the
  error reaching the cell states is a reverse cumulative sum over time.
"""

import tensorflow as tf


def _halve_cell_columns(matrix, units):
    """Scales the cell-input block [U:2U] of the last axis by 1/2."""
    scale = tf.concat(
        [
            tf.ones([units], matrix.dtype),
            tf.fill([units], tf.constant(0.5, matrix.dtype)),
            tf.ones([units], matrix.dtype),
        ],
        axis=0,
    )
    return matrix * scale


def lstm1997_sequence(projections, h0, s0, recurrent_kernel, truncated):
    """Runs the default 1997 cell over a sequence.

    Args:
        projections: `(batch, T, 3U)` input projections `x @ kernel + bias`,
            columns [input gate | cell input | output gate].
        h0, s0: `(batch, U)` initial cell outputs and cell states.
        recurrent_kernel: `(U, 3U)` tensor.
        truncated: Python bool, the paper's truncated gradient.

    Returns:
        `(outputs (batch, T, U), h_T, s_T)`.
    """
    units = recurrent_kernel.shape[0]
    xp = _halve_cell_columns(projections, units)
    rk = _halve_cell_columns(recurrent_kernel, units)
    return _sequence(xp, h0, s0 * 0.5, rk, truncated, units)


def _forward(xp_tm, h0, s0h, rk, units):
    """Time-major forward loop; returns stacked y_c, s' (T, batch, U) and z."""
    steps = tf.shape(xp_tm)[0]
    xs = tf.TensorArray(xp_tm.dtype, size=steps).unstack(xp_tm)
    hs = tf.TensorArray(xp_tm.dtype, size=steps)
    ss = tf.TensorArray(xp_tm.dtype, size=steps)
    zs = tf.TensorArray(xp_tm.dtype, size=steps)

    def body(t, h, s, hs, ss, zs):
        z = xs.read(t) + tf.matmul(h, rk)
        gates_in, cell_in, gates_out = tf.split(z, 3, axis=1)
        s = s + tf.sigmoid(gates_in) * tf.tanh(cell_in)
        h = tf.sigmoid(gates_out) * tf.tanh(s)
        return t + 1, h, s, hs.write(t, h), ss.write(t, s), zs.write(t, z)

    _, h, s, hs, ss, zs = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), h0, s0h, hs, ss, zs),
        maximum_iterations=steps,
    )
    return hs.stack(), ss.stack(), zs.stack()


def _sequence(xp, h0, s0h, rk, truncated, units):
    @tf.custom_gradient
    def run(xp, h0, s0h, rk):
        xp_tm = tf.transpose(xp, [1, 0, 2])
        hs, ss, z = _forward(xp_tm, h0, s0h, rk, units)
        outputs = tf.transpose(hs, [1, 0, 2])
        h_last, s_last = hs[-1], ss[-1]

        def grad(d_outputs, d_h_last, d_s_last):
            # Upstream error at every y_c(t), time-major; final-state errors
            # join at the last step. d s' = 2 d s since s = 2 s'.
            d_outputs = tf.zeros_like(outputs) if d_outputs is None else d_outputs
            d_h_last = tf.zeros_like(h_last) if d_h_last is None else d_h_last
            d_s_last = tf.zeros_like(s_last) if d_s_last is None else d_s_last
            dh_out = tf.transpose(d_outputs, [1, 0, 2])
            last = tf.one_hot(tf.shape(hs)[0] - 1, tf.shape(hs)[0], dtype=hs.dtype)
            dh_out += last[:, None, None] * d_h_last[None]
            ds_last = 2.0 * d_s_last

            h_prev = tf.concat([h0[None], hs[:-1]], axis=0)
            zi, zc, zo = tf.split(z, 3, axis=2)
            i, o, tc, ts = tf.sigmoid(zi), tf.sigmoid(zo), tf.tanh(zc), tf.tanh(ss)
            k_s = o * (1.0 - ts * ts)  # d s'(t) / d y_c(t), local
            k_o = ts * o * (1.0 - o)  # d z_o / d y_c
            k_i = tc * i * (1.0 - i)  # d z_i / d s'
            k_c = i * (1.0 - tc * tc)  # d z_c / d s'

            if truncated:
                ds = tf.cumsum(dh_out * k_s, axis=0, reverse=True) + ds_last[None]
                dz = tf.concat([ds * k_i, ds * k_c, dh_out * k_o], axis=2)
                dh0 = tf.zeros_like(h0)
                ds0 = ds[0]
            else:
                dz, dh0, ds0 = _backward_loop(dh_out, ds_last, k_s, k_o, k_i, k_c, rk)
            d_rk = tf.einsum("tbu,tbg->ug", h_prev, dz)
            d_xp = tf.transpose(dz, [1, 0, 2])
            return d_xp, dh0, ds0, d_rk

        return (outputs, h_last, 2.0 * s_last), grad

    return run(xp, h0, s0h, rk)


def _backward_loop(dh_out, ds_last, k_s, k_o, k_i, k_c, rk):
    """Full BPTT: one product and a few elementwise ops a step, in reverse."""
    steps = tf.shape(dh_out)[0]
    packed = tf.concat([dh_out, k_s, k_o, k_i, k_c], axis=2)
    reads = tf.TensorArray(packed.dtype, size=steps).unstack(packed)
    dzs = tf.TensorArray(packed.dtype, size=steps)
    rk_t = tf.transpose(rk)
    zeros = tf.zeros_like(dh_out[0])

    def body(t, dh_next, ds, dzs):
        dh_o, ks, ko, ki, kc = tf.split(reads.read(t), 5, axis=1)
        dh = dh_o + dh_next
        ds = ds + dh * ks
        dz = tf.concat([ds * ki, ds * kc, dh * ko], axis=1)
        return t - 1, tf.matmul(dz, rk_t), ds, dzs.write(t, dz)

    _, dh0, ds0, dzs = tf.while_loop(
        lambda t, *_: t >= 0,
        body,
        (steps - 1, zeros, ds_last + zeros, dzs),
        maximum_iterations=steps,
    )
    return dzs.stack(), dh0, ds0
