"""A NumPy reference of the 1997 LSTM, written from the paper's equations.

Independent of the layer code: loops over blocks and cells one by one, with
per-unit weight rows acting on r(t) = [x(t), recurrent input(t), 1], as in
Hochreiter & Schmidhuber (1997), section 4 and appendix A.1, plus the forget
gate (Gers et al. 2000) and peepholes (Gers et al. 2002).

`to_layer_weights` is the weight-layout contract of the design, written out.
"""

import numpy as np


def f(x):
    return 1.0 / (1.0 + np.exp(-x))


def f_prime(x):
    return f(x) * (1.0 - f(x))


def g(x):
    return 4.0 * f(x) - 2.0


def g_prime(x):
    return 4.0 * f_prime(x)


def h(x):
    return 2.0 * f(x) - 1.0


def h_prime(x):
    return 2.0 * f_prime(x)


class Net:
    """Parameters of one layer of memory cell blocks.

    Attributes:
        W_in, W_phi, W_out: (blocks, D_r) gate weight rows (W_phi only with a
            forget gate).
        W_c: (units, D_r) cell input weight rows.
        p_in, p_phi, p_out: (units,) peephole weights (or None).
        D_r = input_dim + recurrent_dim + 1 (the last column is the bias).
    """

    def __init__(
        self,
        rng,
        input_dim,
        units,
        cells_per_block=1,
        forget_gate=False,
        peephole=False,
        cells_and_gates=False,
        scale=0.5,
        output_gate=True,
        recurrent=True,
        use_bias=True,
        cell_input_bias=True,
        identity_h=False,
        sigmoid_g=False,
    ):
        self.input_dim = input_dim
        self.output_gate = output_gate
        self.recurrent = recurrent
        self.use_bias = use_bias
        self.cell_input_bias = cell_input_bias and use_bias
        self.h = (lambda x: x) if identity_h else h
        self.h_prime = (lambda x: np.ones_like(x)) if identity_h else h_prime
        self.g = f if sigmoid_g else g
        self.g_prime = f_prime if sigmoid_g else g_prime
        self.units = units
        self.S = cells_per_block
        self.B = units // cells_per_block
        self.forget_gate = forget_gate
        self.peephole = peephole
        self.cells_and_gates = cells_and_gates
        n_gates = 1 + forget_gate + output_gate
        self.recurrent_dim = units + (n_gates * self.B if cells_and_gates else 0)
        if not recurrent:
            self.recurrent_dim = 0
        d_r = input_dim + self.recurrent_dim + 1

        def u(*shape):
            return rng.uniform(-scale, scale, size=shape)

        self.W_in = u(self.B, d_r)
        self.W_out = u(self.B, d_r)
        self.W_phi = u(self.B, d_r) if forget_gate else None
        if forget_gate:
            self.W_phi[:, -1] += 1.5  # forget gates mostly open
        self.W_c = u(units, d_r)
        if not output_gate:
            self.W_out[:] = 0.0  # no output gate: y_out is 1 (see `forward`)
        if not use_bias:
            for w in (self.W_in, self.W_out, self.W_phi, self.W_c):
                if w is not None:
                    w[:, -1] = 0.0
        if not self.cell_input_bias:
            self.W_c[:, -1] = 0.0
        self.p_in = u(units) if peephole else None
        self.p_out = u(units) if peephole else None
        self.p_phi = u(units) if (peephole and forget_gate) else None


def forward(net, x, s0=None, y0=None, recurrent_mask=None):
    """Runs one sequence batch through the net.

    Args:
        net: A `Net`.
        x: (batch, T, input_dim) inputs.
        s0, y0: optional initial cell states / outputs (batch, units).
        recurrent_mask: optional (batch, units) factors on the fed-back cell
            outputs, the same at every step (Keras' recurrent dropout).

    Returns:
        dict with per-step arrays `y_c`, `s_c` (batch, T, units), `y_in`,
        `y_out`, `y_phi`, `net_in`, `net_out`, `net_phi` (batch, T, blocks),
        `net_c` (batch, T, units) and `r` (batch, T, D_r).
    """
    batch, steps, _ = x.shape
    B, S, U = net.B, net.S, net.units
    s = np.zeros((batch, U)) if s0 is None else np.array(s0, dtype=float)
    y_c = np.zeros((batch, U)) if y0 is None else np.array(y0, dtype=float)
    y_in = np.zeros((batch, B))
    y_out = np.zeros((batch, B))
    y_phi = np.zeros((batch, B))
    rec = {
        k: []
        for k in (
            "y_c",
            "s_c",
            "y_in",
            "y_out",
            "y_phi",
            "net_in",
            "net_out",
            "net_phi",
            "net_c",
            "r",
            "s_prev",
        )
    }
    for t in range(steps):
        recurrent = [y_c if recurrent_mask is None else y_c * recurrent_mask]
        if net.cells_and_gates:
            recurrent += [y_in] + ([y_phi] if net.forget_gate else [])
            recurrent += [y_out] if net.output_gate else []
        if not net.recurrent:
            recurrent = []
        r = np.concatenate([x[:, t, :]] + recurrent + [np.ones((batch, 1))], axis=1)
        s_prev = s.copy()
        new_y_in = np.zeros((batch, B))
        new_y_out = np.zeros((batch, B))
        new_y_phi = np.ones((batch, B))
        n_in = np.zeros((batch, B))
        n_out = np.zeros((batch, B))
        n_phi = np.zeros((batch, B))
        n_c = np.zeros((batch, U))
        new_s = np.zeros((batch, U))
        new_y_c = np.zeros((batch, U))
        for j in range(B):
            cells = range(j * S, (j + 1) * S)
            n_in[:, j] = r @ net.W_in[j]
            if net.peephole:
                for v in cells:
                    n_in[:, j] += net.p_in[v] * s_prev[:, v]
            new_y_in[:, j] = f(n_in[:, j])
            if net.forget_gate:
                n_phi[:, j] = r @ net.W_phi[j]
                if net.peephole:
                    for v in cells:
                        n_phi[:, j] += net.p_phi[v] * s_prev[:, v]
                new_y_phi[:, j] = f(n_phi[:, j])
            for v in cells:
                n_c[:, v] = r @ net.W_c[v]
                new_s[:, v] = new_y_phi[:, j] * s_prev[:, v] + new_y_in[:, j] * net.g(n_c[:, v])
            n_out[:, j] = r @ net.W_out[j]
            if net.peephole:
                for v in cells:
                    n_out[:, j] += net.p_out[v] * new_s[:, v]
            new_y_out[:, j] = f(n_out[:, j]) if net.output_gate else 1.0
            for v in cells:
                new_y_c[:, v] = new_y_out[:, j] * net.h(new_s[:, v])
        s, y_c, y_in, y_out = new_s, new_y_c, new_y_in, new_y_out
        y_phi = new_y_phi
        for key, value in (
            ("y_c", y_c),
            ("s_c", s),
            ("y_in", y_in),
            ("y_out", y_out),
            ("y_phi", y_phi),
            ("net_in", n_in),
            ("net_out", n_out),
            ("net_phi", n_phi),
            ("net_c", n_c),
            ("r", r),
            ("s_prev", s_prev),
        ):
            rec[key].append(value)
    return {k: np.stack(v, axis=1) for k, v in rec.items()}


def truncated_gradients(net, x, coeffs):
    """The paper's truncated gradient of L = sum(coeffs * y_c) over all steps.

    Errors reaching net_in, net_out, net_phi and net_c are not propagated back
    in time (no error through the recurrent input or the peepholes); only the
    cell state carries error across steps (factor 1, or y_phi(t+1) with a
    forget gate).

    Returns:
        dict of gradients shaped like the parameters: `W_in`, `W_out`, `W_c`,
        `W_phi`, `p_in`, `p_out`, `p_phi` (absent ones are None).
    """
    fw = forward(net, x)
    batch, steps, _ = x.shape
    B, S, U = net.B, net.S, net.units
    grads = {
        "W_in": np.zeros_like(net.W_in),
        "W_out": np.zeros_like(net.W_out),
        "W_c": np.zeros_like(net.W_c),
        "W_phi": None if net.W_phi is None else np.zeros_like(net.W_phi),
        "p_in": None if net.p_in is None else np.zeros(U),
        "p_out": None if net.p_out is None else np.zeros(U),
        "p_phi": None if net.p_phi is None else np.zeros(U),
    }
    delta_s_next = np.zeros((batch, U))
    y_phi_next = np.ones((batch, B))
    for t in reversed(range(steps)):
        r = fw["r"][:, t]
        s = fw["s_c"][:, t]
        s_prev = fw["s_prev"][:, t]
        e_y = coeffs[:, t]  # error at y_c(t) from the output only (recurrence cut)
        delta_s = np.zeros((batch, U))
        d_in = np.zeros((batch, B))
        d_out = np.zeros((batch, B))
        d_phi = np.zeros((batch, B))
        for j in range(B):
            y_out = fw["y_out"][:, t, j]
            y_in = fw["y_in"][:, t, j]
            for v in range(j * S, (j + 1) * S):
                delta_s[:, v] = (
                    e_y[:, v] * y_out * net.h_prime(s[:, v])
                    + y_phi_next[:, j] * delta_s_next[:, v]
                )
                d_out[:, j] += e_y[:, v] * net.h(s[:, v])
                d_in[:, j] += delta_s[:, v] * net.g(fw["net_c"][:, t, v])
                d_phi[:, j] += delta_s[:, v] * s_prev[:, v]
                d_c = delta_s[:, v] * y_in * net.g_prime(fw["net_c"][:, t, v])
                grads["W_c"][v] += d_c @ r
            d_out[:, j] *= f_prime(fw["net_out"][:, t, j])
            d_in[:, j] *= f_prime(fw["net_in"][:, t, j])
            d_phi[:, j] *= f_prime(fw["net_phi"][:, t, j])
            grads["W_out"][j] += d_out[:, j] @ r
            grads["W_in"][j] += d_in[:, j] @ r
            if net.forget_gate:
                grads["W_phi"][j] += d_phi[:, j] @ r
            if net.peephole:
                for v in range(j * S, (j + 1) * S):
                    grads["p_in"][v] += d_in[:, j] @ s_prev[:, v]
                    grads["p_out"][v] += d_out[:, j] @ s[:, v]
                    if net.forget_gate:
                        grads["p_phi"][v] += d_phi[:, j] @ s_prev[:, v]
        delta_s_next = delta_s
        y_phi_next = fw["y_phi"][:, t] if net.forget_gate else np.ones((batch, B))
    return grads


def _layout(net, rows_by_part, peepholes):
    """Rows `(G, D_r)` by part -> the layer's weight list (the layout contract)."""
    parts = [rows_by_part["W_in"]] + ([rows_by_part["W_phi"]] if net.forget_gate else [])
    parts += [rows_by_part["W_c"]] + ([rows_by_part["W_out"]] if net.output_gate else [])
    rows = np.concatenate(parts, axis=0)
    d, rdim = net.input_dim, net.recurrent_dim
    weights = [rows[:, :d].T]
    if rdim:
        weights.append(rows[:, d : d + rdim].T)
    if net.use_bias:
        bias = rows[:, -1]
        if not net.cell_input_bias:
            start = (1 + net.forget_gate) * net.B
            bias = np.concatenate([bias[:start], bias[start + net.units :]])
        weights.append(bias)
    if net.peephole:
        weights += [peepholes["p_in"]] + ([peepholes["p_phi"]] if net.forget_gate else [])
        weights += [peepholes["p_out"]]
    return weights


def to_layer_weights(net):
    """Layer weights in the order of `cell.weights` (the layout contract)."""
    names = ("W_in", "W_phi", "W_c", "W_out", "p_in", "p_phi", "p_out")
    values = {name: getattr(net, name) for name in names}
    return _layout(net, values, values)


def grads_to_layer_order(net, grads):
    """Reference gradients laid out like `to_layer_weights`."""
    return _layout(net, grads, grads)
