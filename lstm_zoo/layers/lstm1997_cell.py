"""The Long Short-Term Memory cell of Hochreiter & Schmidhuber (1997).

Every equation of the cell lives in this file (see `LSTM1997Cell.step`); the fast
layer `lstm_zoo.layers.LSTM1997` only hoists the input projection out of the loop
and calls the same step.
"""

import numbers

import keras
from keras import constraints, initializers, ops, regularizers
from keras.layers import Layer

from lstm_zoo.checks import positive_int
from lstm_zoo.layers import activations

try:  # Keras' dropout-cell mixin (cached per-sequence masks).
    from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell
except ImportError:  # pragma: no cover - layout of older Keras 3 releases
    from keras.src.layers.rnn.rnn import DropoutRNNCell

GRADIENT_MODES = ("full", "truncated")
RECURRENT_INPUTS = ("cells", "cells_and_gates", "none")


def staggered_gate_biases(blocks, start=-1.0, step=-1.0):
    """Per-block gate biases staggered as in the paper's experiments.

    The paper gives the gates of successive memory cell blocks increasingly
    negative biases (for instance output gate biases -1, -2, -3, -4 for four
    blocks, or input gate biases -3, -6 for two blocks in the adding
    experiment) so that blocks are switched on one after another.

    Args:
        blocks: Number of memory cell blocks (`units // cells_per_block`).
        start: Bias of the first block.
        step: Added for each further block.

    Returns:
        A list of `blocks` floats: `[start, start + step, start + 2 * step, ...]`.

    Example:

    >>> staggered_gate_biases(4)
    [-1.0, -2.0, -3.0, -4.0]
    >>> staggered_gate_biases(2, start=-3.0, step=-3.0)
    [-3.0, -6.0]
    """
    if not isinstance(blocks, numbers.Integral) or blocks <= 0:
        raise ValueError(
            f"Argument `blocks` must be a positive integer; received: blocks={blocks!r}"
        )
    return [float(start + i * step) for i in range(blocks)]


def _check_rate(name, value):
    if not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"Argument `{name}` must be a float in [0, 1]; received: {name}={value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="lstm_zoo")
class LSTM1997Cell(Layer, DropoutRNNCell):
    """The original LSTM cell (Hochreiter & Schmidhuber, 1997).

    Memory cells with a constant error carousel (CEC), grouped in blocks of
    `cells_per_block` cells that share one input gate and one output gate. By
    default there is no forget gate and no peephole: the cell state is a pure
    accumulator,

        y_in(t)  = f(net_in(t))              y_out(t) = f(net_out(t))
        s(t)     = s(t-1) + y_in(t) * g(net_c(t))
        y_c(t)   = y_out(t) * h(s(t))

    with f the logistic sigmoid, g(x) = 4 f(x) - 2 and h(x) = 2 f(x) - 1, and
    every net input a linear function of r(t) = [x(t), recurrent input, 1].

    The later variants are switches: `forget_gate=True` gives Gers et al.
    (2000), s(t) = y_phi(t) * s(t-1) + y_in(t) * g(net_c(t)); `peephole=True`
    gives Gers et al. (2002): the input and forget gates of a block see the
    block's s(t-1), its output gate sees s(t), through one weight per cell.

    Weight layout. With `B = units // cells_per_block` blocks, the gate
    pre-activations are laid out in columns

        [input gates (B) | forget gates (B), if any | cell inputs (units) |
         output gates (B)]

    (Keras' LSTM order i, f, c, o; without an output gate the last segment is
    absent), and the cells of block j are the units
    `j * cells_per_block ... (j + 1) * cells_per_block - 1`. `cell.weights` is
    `kernel` (input_dim, G), `recurrent_kernel` (R, G), `bias` (G,) when
    `use_bias`, then, when `peephole`, `input_peephole`, `forget_peephole` (with
    a forget gate) and `output_peephole`, each (units,). G is
    `(1 + forget_gate + output_gate) * B + units`. R is `units` for
    `recurrent_input="cells"`, and `units + (1 + forget_gate + output_gate) * B`
    for `"cells_and_gates"`, where the rows after the cell outputs take the
    previous step's gate activations in the order [input | forget | output];
    with `recurrent_input="none"` there is no `recurrent_kernel`. With
    `cell_input_bias=False` the bias covers the gate columns only, `((1 +
    forget_gate + output_gate) * B,)` in the order [input | forget | output],
    and the cell inputs have none. In the
    default configuration (one cell per block, no forget gate, no peephole)
    this is exactly `kernel (input_dim, 3 * units)`, `recurrent_kernel (units,
    3 * units)`, `bias (3 * units,)` with columns [input gate | cell input |
    output gate].

    State. `[h, c]` = [cell outputs y_c, cell states s_c], both
    `(batch, units)`; with `recurrent_input="cells_and_gates"` a third state
    holds the gate activations, `(batch, (1 + forget_gate + output_gate) *
    B)`. The output of a step is y_c.

    Args:
        units: Positive integer, number of memory cells (the output size).
        cells_per_block: Positive integer dividing `units`: cells that share
            one input gate and one output gate (the paper's S). Default 1.
        activation: Cell output squashing h. Default `"paper_h"`,
            2 * sigmoid(x) - 1.
        cell_input_activation: Cell input squashing g. Default `"paper_g"`,
            4 * sigmoid(x) - 2.
        recurrent_activation: Gate activation f. Default `"sigmoid"`.
        gradient: `"full"` (default): plain backpropagation through time.
            `"truncated"`: the paper's learning rule; errors arriving at the net
            inputs of cells and gates are not propagated further back in time
            (the recurrent part of r(t) and any peephole input is cut from the
            gradient), only the CEC carries error across time steps. The
            weights still receive the gradient of those errors.
        recurrent_input: `"cells"` (default): the previous step's cell outputs
            are fed back (modern LSTM). `"cells_and_gates"`: the previous
            cell outputs *and* gate activations are fed back, the paper's fully
            connected hidden layer. `"none"`: nothing is fed back (the paper's
            net for experiments 2a and 2b, where only the CEC is recurrent).
        forget_gate: Boolean, add the forget gate of Gers et al. (2000).
        peephole: Boolean, add the peephole connections of Gers et al. (2002).
            Needs the output gate.
        output_gate: Boolean (default `True`). `False` drops the output gates:
            y_c(t) = h(s(t)) (the paper's net for experiments 2a and 2b).
        use_bias: Boolean, whether the net inputs have a bias.
        cell_input_bias: Boolean (default `True`). `False` keeps the bias on
            the gates only (the paper's "ga" nets, experiment 1): the cell
            inputs get no bias weight. Ignored without `use_bias`.
        kernel_initializer: Initializer for `kernel`. Default
            `"glorot_uniform"`. The paper used uniform [-0.1, 0.1]:
            `keras.initializers.RandomUniform(-0.1, 0.1)`.
        recurrent_initializer: Initializer for `recurrent_kernel`. Default
            `"orthogonal"`.
        bias_initializer: Initializer for `bias`. Default `"zeros"`.
        peephole_initializer: Initializer for the peephole weights. Default
            `"zeros"`.
        input_gate_bias: `None` (use `bias_initializer`), a float for every
            block, or a sequence of one float per block (see
            `staggered_gate_biases`): initial biases of the input gates.
        output_gate_bias: As `input_gate_bias`, for the output gates.
        forget_gate_bias: As `input_gate_bias`, for the forget gates. Default
            1.0 (forget gates start open). Ignored without a forget gate.
        kernel_regularizer: Regularizer for `kernel`.
        recurrent_regularizer: Regularizer for `recurrent_kernel`.
        bias_regularizer: Regularizer for `bias`.
        peephole_regularizer: Regularizer for the peephole weights.
        kernel_constraint: Constraint for `kernel`.
        recurrent_constraint: Constraint for `recurrent_kernel`.
        bias_constraint: Constraint for `bias`.
        peephole_constraint: Constraint for the peephole weights.
        dropout: Float in [0, 1], fraction of the inputs dropped (one mask per
            sequence).
        recurrent_dropout: Float in [0, 1], fraction of the fed-back cell
            outputs dropped (one mask per sequence; fed-back gate activations
            are never dropped).
        seed: Random seed for dropout.

    Call arguments:
        inputs: A 2D tensor `(batch, features)`.
        states: List of state tensors, see "State" above.
        training: Python boolean, whether dropout is applied.

    Example:

    >>> import numpy as np
    >>> cell = LSTM1997Cell(8, cells_per_block=2)
    >>> layer = keras.layers.RNN(cell, return_sequences=True)
    >>> layer(np.zeros((4, 10, 3), "float32")).shape
    (4, 10, 8)
    """

    def __init__(
        self,
        units,
        cells_per_block=1,
        activation="paper_h",
        cell_input_activation="paper_g",
        recurrent_activation="sigmoid",
        gradient="full",
        recurrent_input="cells",
        forget_gate=False,
        peephole=False,
        output_gate=True,
        use_bias=True,
        cell_input_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        peephole_initializer="zeros",
        input_gate_bias=None,
        output_gate_bias=None,
        forget_gate_bias=1.0,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        peephole_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        peephole_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        units = positive_int("units", units)
        cells_per_block = positive_int("cells_per_block", cells_per_block)
        if units % cells_per_block:
            raise ValueError(
                "Argument `cells_per_block` must divide `units` "
                f"(units={units}); received: cells_per_block={cells_per_block!r}"
            )
        if gradient not in GRADIENT_MODES:
            raise ValueError(
                f"Argument `gradient` must be one of {GRADIENT_MODES}; "
                f"received: gradient={gradient!r}"
            )
        if recurrent_input not in RECURRENT_INPUTS:
            raise ValueError(
                f"Argument `recurrent_input` must be one of {RECURRENT_INPUTS}; "
                f"received: recurrent_input={recurrent_input!r}"
            )
        if peephole and not output_gate:
            raise ValueError(
                "Argument `peephole` needs the output gate (its peephole sees s(t)); "
                f"received: peephole={peephole!r}, output_gate={output_gate!r}"
            )
        super().__init__(**kwargs)
        self.units = units
        self.cells_per_block = cells_per_block
        self.blocks = units // cells_per_block
        self.gradient = gradient
        self.recurrent_input = recurrent_input
        self.forget_gate = bool(forget_gate)
        self.peephole = bool(peephole)
        self.output_gate = bool(output_gate)
        self.use_bias = bool(use_bias)
        self.cell_input_bias = bool(cell_input_bias)
        self.num_gates = 1 + self.forget_gate + self.output_gate

        self.activation = activations.get(activation)
        self.cell_input_activation = activations.get(cell_input_activation)
        self.recurrent_activation = activations.get(recurrent_activation)

        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.peephole_initializer = initializers.get(peephole_initializer)
        self.input_gate_bias = self._check_gate_bias("input_gate_bias", input_gate_bias)
        self.output_gate_bias = self._check_gate_bias("output_gate_bias", output_gate_bias)
        self.forget_gate_bias = self._check_gate_bias("forget_gate_bias", forget_gate_bias)

        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.peephole_regularizer = regularizers.get(peephole_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.peephole_constraint = constraints.get(peephole_constraint)

        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)

        self.gate_width = self.num_gates * self.blocks
        self.projection_width = self.gate_width + self.units
        self.recurrent_width = {
            "cells": self.units,
            "cells_and_gates": self.units + self.gate_width,
            "none": 0,
        }[recurrent_input]
        if recurrent_input == "cells_and_gates":
            self.state_size = [self.units, self.units, self.gate_width]
        else:
            self.state_size = [self.units, self.units]
        self.output_size = self.units
        # One sigmoid over all pre-activations when g and f are the paper's.
        self._fused_sigmoid = (
            self.cell_input_activation is activations.paper_g
            and self.recurrent_activation is keras.activations.sigmoid
            and not self.peephole
            and self.output_gate
        )

    def _check_gate_bias(self, name, value):
        if value is None:
            return None
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        try:
            values = [float(v) for v in value]
        except (TypeError, ValueError):
            raise ValueError(
                f"Argument `{name}` must be None, a float or a sequence of "
                f"{self.blocks} floats (one per block); received: {name}={value!r}"
            ) from None
        if len(values) != self.blocks:
            raise ValueError(
                f"Argument `{name}` must have one value per block ({self.blocks} "
                f"blocks of {self.cells_per_block} cells); received {len(values)} "
                f"values: {name}={value!r}"
            )
        return values

    # ------------------------------------------------------------------ build

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                "The last axis of the input (features) must be known to build "
                f"LSTM1997Cell; received input_shape={tuple(input_shape)}"
            )
        self.input_dim = int(input_dim)
        self.kernel = self.add_weight(
            shape=(self.input_dim, self.projection_width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = None
        if self.recurrent_width:
            self.recurrent_kernel = self.add_weight(
                shape=(self.recurrent_width, self.projection_width),
                name="recurrent_kernel",
                initializer=self.recurrent_initializer,
                regularizer=self.recurrent_regularizer,
                constraint=self.recurrent_constraint,
            )
        if self.use_bias:
            width = self.projection_width if self.cell_input_bias else self.gate_width
            self.bias = self.add_weight(
                shape=(width,),
                name="bias",
                initializer=self._gate_bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.input_peephole = self.forget_peephole = self.output_peephole = None
        if self.peephole:
            names = ["input_peephole"]
            if self.forget_gate:
                names.append("forget_peephole")
            names.append("output_peephole")
            for name in names:
                setattr(
                    self,
                    name,
                    self.add_weight(
                        shape=(self.units,),
                        name=name,
                        initializer=self.peephole_initializer,
                        regularizer=self.peephole_regularizer,
                        constraint=self.peephole_constraint,
                    ),
                )
        self.built = True

    def _gate_bias_initializer(self, shape, dtype=None):
        base = self.bias_initializer(shape, dtype=dtype)
        segments = []
        overrides = [self.input_gate_bias]
        if self.forget_gate:
            overrides.append(self.forget_gate_bias)
        start = 0
        for value in overrides:
            segments.append(self._bias_segment(base, start, value, dtype))
            start += self.blocks
        if self.cell_input_bias:
            segments.append(base[start : start + self.units])
            start += self.units
        if self.output_gate:
            segments.append(self._bias_segment(base, start, self.output_gate_bias, dtype))
        return ops.concatenate(segments, axis=0)

    def _bias_segment(self, base, start, value, dtype):
        if value is None:
            return base[start : start + self.blocks]
        if isinstance(value, float):
            value = [value] * self.blocks
        return ops.convert_to_tensor(value, dtype=dtype or base.dtype)

    # ------------------------------------------------------------------- call

    def _check_step_input(self, inputs):
        shape = tuple(inputs.shape)
        if len(shape) != 2:
            raise ValueError(
                "Argument `inputs` of LSTM1997Cell must have rank 2 "
                f"(batch, features); received inputs.shape={shape}"
            )
        if shape[-1] is not None and shape[-1] != self.input_dim:
            raise ValueError(
                f"Argument `inputs` must have {self.input_dim} features, as the "
                f"cell was built with; received inputs.shape={shape}"
            )

    def project_inputs(self, inputs):
        """The input part of every net input: `inputs @ kernel + bias`.

        Works on one step `(batch, features)` or on a whole sequence
        `(batch, timesteps, features)` at once (one matrix product).
        """
        projection = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            projection = projection + self.full_bias()
        return projection

    def full_bias(self, bias=None):
        """The bias of every column `(G,)`: `bias` (default the cell's), with
        zeros for the cell inputs when `cell_input_bias=False`."""
        bias = self.bias if bias is None else bias
        if self.cell_input_bias:
            return bias
        start = (1 + self.forget_gate) * self.blocks
        zeros = ops.zeros((self.units,), dtype=bias.dtype)
        return ops.concatenate([bias[:start], zeros, bias[start:]], axis=0)

    def step(self, projection, states, training=False):
        """One time step given the projected input `inputs @ kernel + bias`.

        Args:
            projection: `(batch, G)` tensor, see `project_inputs`.
            states: List of state tensors.
            training: Whether recurrent dropout applies.

        Returns:
            `(y_c, new_states)`.
        """
        h_prev, s_prev = states[0], states[1]
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_prev = h_prev * self.get_recurrent_dropout_mask(h_prev)
        recurrent = h_prev
        if self.recurrent_input == "cells_and_gates":
            recurrent = ops.concatenate([h_prev, states[2]], axis=-1)
        truncated = self.gradient == "truncated"
        if truncated:
            recurrent = ops.stop_gradient(recurrent)
        z = projection
        if self.recurrent_kernel is not None:
            z = z + ops.matmul(recurrent, self.recurrent_kernel)

        b, n = self.blocks, self.units
        forget_end = 2 * b if self.forget_gate else b
        cells_end = forget_end + n
        if self._fused_sigmoid:
            # g = 4 f - 2 shares the gates' sigmoid: one op for all columns.
            act = ops.sigmoid(z)
            y_in = act[:, :b]
            y_f = act[:, b:forget_end] if self.forget_gate else None
            g = 4.0 * act[:, forget_end:cells_end] - 2.0
            y_out = act[:, cells_end:]
        else:
            z_in = z[:, :b]
            z_f = z[:, b:forget_end] if self.forget_gate else None
            z_c = z[:, forget_end:cells_end]
            z_out = z[:, cells_end:]
            if self.peephole:
                s_seen = ops.stop_gradient(s_prev) if truncated else s_prev
                z_in = z_in + self._block_sum(s_seen * self.input_peephole)
                if self.forget_gate:
                    z_f = z_f + self._block_sum(s_seen * self.forget_peephole)
            y_in = self.recurrent_activation(z_in)
            y_f = self.recurrent_activation(z_f) if self.forget_gate else None
            g = self.cell_input_activation(z_c)

        carried = s_prev if y_f is None else self._to_cells(y_f) * s_prev
        s = carried + self._to_cells(y_in) * g

        if not self.output_gate:
            y_out = None
        elif not self._fused_sigmoid:
            if self.peephole:
                s_seen = ops.stop_gradient(s) if truncated else s
                z_out = z_out + self._block_sum(s_seen * self.output_peephole)
            y_out = self.recurrent_activation(z_out)
        h = self.activation(s)
        if y_out is not None:
            h = self._to_cells(y_out) * h

        new_states = [h, s]
        if self.recurrent_input == "cells_and_gates":
            gates = [y_in] + ([y_f] if self.forget_gate else [])
            gates += [y_out] if y_out is not None else []
            new_states.append(ops.concatenate(gates, axis=-1))
        return h, new_states

    def _to_cells(self, per_block):
        """(batch, B) gate activations -> (batch, units), one copy per cell."""
        if self.cells_per_block == 1:
            return per_block
        return ops.repeat(per_block, self.cells_per_block, axis=1)

    def _block_sum(self, per_cell):
        """(batch, units) -> (batch, B): sum over the cells of each block."""
        if self.cells_per_block == 1:
            return per_cell
        shape = (-1, self.blocks, self.cells_per_block)
        return ops.sum(ops.reshape(per_cell, shape), axis=-1)

    def call(self, inputs, states, training=False):
        self._check_step_input(inputs)
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        return self.step(self.project_inputs(inputs), states, training=training)

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        config = {
            "units": self.units,
            "cells_per_block": self.cells_per_block,
            "activation": activations.serialize(self.activation),
            "cell_input_activation": activations.serialize(self.cell_input_activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "gradient": self.gradient,
            "recurrent_input": self.recurrent_input,
            "forget_gate": self.forget_gate,
            "peephole": self.peephole,
            "output_gate": self.output_gate,
            "use_bias": self.use_bias,
            "cell_input_bias": self.cell_input_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "peephole_initializer": initializers.serialize(self.peephole_initializer),
            "input_gate_bias": self.input_gate_bias,
            "output_gate_bias": self.output_gate_bias,
            "forget_gate_bias": self.forget_gate_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "peephole_regularizer": regularizers.serialize(self.peephole_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "peephole_constraint": constraints.serialize(self.peephole_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        base_config = super().get_config()
        return {**base_config, **config}
