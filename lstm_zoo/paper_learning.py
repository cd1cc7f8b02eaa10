"""The paper's own learning algorithm (Hochreiter & Schmidhuber 1997, appendix A.1).

The truncated gradient of LSTM computed forward in time: each memory cell
keeps the partial derivatives of its state s_c with respect to the weights of
its cell input and of its block's input gate (eqs. 25 and 27), updated at every
step; the error of the output units at time t (eq. 19), of the output gates
(eq. 21) and of the cell states (eq. 23) turns them into time t's contribution
to every weight's update (eqs. 22, 26, 28). Memory does not grow with the
sequence length: O(W) numbers per sequence, O(W) work per step.

Two ways to apply the contributions, both in the paper's text:

- `update="step"` (on-line): every weight changes at every time step, by its
  contribution at that step (eq. 17, "time t's contribution to w's update";
  the derivatives carried forward were computed with the earlier weights, as
  in on-line RTRL).
- `update="sequence"`: one change per sequence, the sum of the contributions
  of all its steps (A.1: "each weight's total update is the sum of the
  contributions of all time steps"). With frozen weights this is exactly the
  truncated-gradient backpropagation through time of
  `LSTM1997(gradient="truncated")`.

The error: eq. 16 defines E = sum (t - y)^2, whose derivative is twice eq.
19's error signal f'(net)(t - y). `error="eq19"` (default) uses eq. 19 as
written (the gradient of half the squared error); `error="eq16"` doubles it.

`PaperLearningRule` trains a Keras model of the paper's shape, `inputs ->
[Masking] -> LSTM1997 -> [CellSwitch] -> [Concatenate with the inputs] ->
Dense(sigmoid)`, one sequence at a time, with `fit` driving ordinary Keras
callbacks and metrics. The weights live in the model: what it learns is a
normal Keras model to predict with, save or export.
"""

import keras
import numpy as np
from absl import logging
from keras import ops

from lstm_zoo.checks import one_of, positive_int
from lstm_zoo.layers import activations

UPDATES = ("step", "sequence")
ERRORS = ("eq19", "eq16")


def _derivative(activation):
    """`(f, f')` for the activations the paper's nets use."""
    if activation is keras.activations.sigmoid:
        return ops.sigmoid, lambda x: ops.sigmoid(x) * (1.0 - ops.sigmoid(x))
    if activation is activations.paper_g:
        return activation, lambda x: 4.0 * ops.sigmoid(x) * (1.0 - ops.sigmoid(x))
    if activation is activations.paper_h:
        return activation, lambda x: 2.0 * ops.sigmoid(x) * (1.0 - ops.sigmoid(x))
    if activation is keras.activations.linear:
        return activation, lambda x: ops.ones_like(x)
    if activation is keras.activations.tanh:
        return activation, lambda x: 1.0 - ops.square(ops.tanh(x))
    raise ValueError(
        "PaperLearningRule supports the activations sigmoid, paper_g, paper_h, linear and "
        f"tanh; received: {getattr(activation, '__name__', activation)!r}"
    )


def _scan(step, carry, xs):
    """`ops.scan` with outputs unlike the carry (Keras' TensorFlow `scan`
    wants them alike): a `tf.while_loop` there."""
    if keras.config.backend() != "tensorflow":
        return ops.scan(step, carry, xs)
    import tensorflow as tf

    steps = tf.shape(xs[0])[0]

    def body(i, carry, outputs):
        carry, y = step(carry, tuple(x[i] for x in xs))
        return i + 1, carry, outputs.write(i, y)

    outputs = tf.TensorArray(xs[0].dtype, size=steps)
    _, carry, outputs = tf.while_loop(lambda i, *_: i < steps, body, (0, carry, outputs))
    return carry, outputs.stack()


def _floats(array):
    """`array` as a NumPy array of Keras' float type (`keras.config.floatx()`):
    the rule computes in the model's precision, float64 where it is set."""
    return np.asarray(array, keras.config.floatx())


def _jit(function):
    backend = keras.config.backend()
    if backend == "jax":
        import jax

        return jax.jit(function)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    return function


class PaperLearningRule:
    """Trains a model of the paper's shape with the appendix A.1 algorithm.

    Args:
        model: A Keras model `inputs -> [Masking] -> LSTM1997 -> [CellSwitch]
            -> [Concatenate([cells, inputs])] -> Dense(activation="sigmoid")`.
            The `LSTM1997` layer may have blocks, `recurrent_input` of any
            kind, no output gate, no bias or gate biases only; it has no
            forget gate and no peepholes (they are not in the paper).
        learning_rate: The paper's alpha (> 0).
        update: `"step"` (on-line, default) or `"sequence"`, see the module.
        error: `"eq19"` (default) or `"eq16"`, see the module.
        per_step: Whether targets come at every step `(steps, outputs)` (the
            next-symbol tasks) rather than once at the sequence end.

    Example:

    >>> from lstm_zoo.layers import LSTM1997
    >>> model = keras.Sequential([keras.Input((None, 2)), LSTM1997(4, cells_per_block=2),
    ...                           keras.layers.Dense(1, activation="sigmoid")])
    >>> rule = PaperLearningRule(model, learning_rate=0.5)
    >>> outputs = rule.train_sequence(np.zeros((10, 2), "float32"), np.ones((1,), "float32"))
    >>> outputs.shape
    (1,)
    """

    #: The cells' outputs and the gates' activations before the first step,
    #: as the recurrent input of the first step: 0, as a Keras RNN layer's
    #: state starts (`LSTM1997Cell.get_initial_state`). A side experiment may
    #: set it with the layer's (`results/reproduction/start_state.py`).
    START_ACTIVATION = 0.0

    def __init__(self, model, learning_rate, update="step", error="eq19", per_step=False):
        self.model = model
        if not float(learning_rate) > 0:
            raise ValueError(
                f"Argument `learning_rate` must be positive; received: "
                f"learning_rate={learning_rate!r}"
            )
        self.learning_rate = float(learning_rate)
        self.update = one_of("update", update, UPDATES)
        self.error = one_of("error", error, ERRORS)
        self.per_step = bool(per_step)
        self._parse(model)
        self._train = _jit(self._sequence)
        self._train_many = _jit(self._sequences)

    # ------------------------------------------------------------ structure

    def _parse(self, model):
        layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        names = [type(layer).__name__ for layer in layers]
        self.masked = bool(names) and names[0] == "Masking"
        core = [layer for layer in layers if not isinstance(layer, keras.layers.Masking)]
        kinds = [type(layer).__name__ for layer in core]
        allowed = (["LSTM1997", "Dense"], ["LSTM1997", "CellSwitch", "Dense"],
                   ["LSTM1997", "Concatenate", "Dense"],
                   ["LSTM1997", "CellSwitch", "Concatenate", "Dense"])  # fmt: skip
        if kinds not in [list(a) for a in allowed]:
            raise ValueError(
                "Argument `model` must be inputs -> [Masking] -> LSTM1997 -> [CellSwitch] -> "
                f"[Concatenate] -> Dense; received the layers {names}"
            )
        self.layer = core[0]
        self.switch = core[1] if kinds[1] == "CellSwitch" else None
        self.shortcut = "Concatenate" in kinds
        self.dense = core[-1]
        cell = self.layer.cell
        if cell.forget_gate or cell.peephole:
            raise ValueError(
                "PaperLearningRule implements the 1997 cell: no forget gate, no peepholes; "
                f"received: forget_gate={cell.forget_gate}, peephole={cell.peephole}"
            )
        if self.dense.activation is not keras.activations.sigmoid:
            raise ValueError(
                "The output layer must be Dense(activation='sigmoid') (the paper's logistic "
                f"output units); received: activation={self.dense.activation.__name__!r}"
            )
        self.h, self.h_prime = _derivative(cell.activation)
        self.g, self.g_prime = _derivative(cell.cell_input_activation)
        if cell.recurrent_activation is not keras.activations.sigmoid:
            raise ValueError("PaperLearningRule needs sigmoid gates (recurrent_activation)")
        self.cell = cell

    def _variables(self):
        cell, dense = self.cell, self.dense
        variables = [cell.kernel]
        if cell.recurrent_kernel is not None:
            variables.append(cell.recurrent_kernel)
        if cell.use_bias:
            variables.append(cell.bias)
        variables.append(dense.kernel)
        if dense.use_bias:
            variables.append(dense.bias)
        return variables

    def _assign(self, weights):
        """Writes weights (`get_weights` order) into the model."""
        for variable, value in zip(self._variables(), weights, strict=True):
            variable.assign(ops.convert_to_numpy(value))

    def get_weights(self):
        """The trained weights, in the order kernel, [recurrent_kernel],
        [bias], output kernel, [output bias]."""
        return [ops.convert_to_numpy(v) for v in self._variables()]

    # ---------------------------------------------------------------- maths

    def _unpack(self, weights):
        cell, dense = self.cell, self.dense
        i = 0
        kernel = weights[i]
        i += 1
        recurrent = None
        if cell.recurrent_kernel is not None:
            recurrent, i = weights[i], i + 1
        bias = None
        if cell.use_bias:
            bias, i = weights[i], i + 1
        out_kernel = weights[i]
        out_bias = weights[i + 1] if dense.use_bias else None
        return kernel, recurrent, bias, out_kernel, out_bias

    def _bias_part(self, full):
        """Gradient of the full bias -> the layer's bias layout."""
        cell = self.cell
        if cell.cell_input_bias:
            return full
        b = cell.blocks
        return ops.concatenate([full[:b], full[b + cell.units :]])

    def _sequence(self, weights, x, targets, step_weights, switch):
        """One sequence. Returns `(new weights, outputs (steps, outputs))`.

        `x` `(steps, features)`; `targets` `(steps, outputs)` (per-step tasks)
        or `(outputs,)`; `step_weights` `(steps,)`: the error's weight at each
        step (0 on padding, and, for sequence-end targets, 1 only at the last
        real step); with a mask, steps whose input is all zeros are skipped.
        """
        cell = self.cell
        B, S, U = cell.blocks, cell.cells_per_block, cell.units
        has_out = cell.output_gate
        alpha = self.learning_rate
        factor = 2.0 if self.error == "eq16" else 1.0
        dtype = x.dtype
        kernel, recurrent, bias, out_kernel, out_bias = self._unpack(weights)
        D = kernel.shape[0]
        R = 0 if recurrent is None else recurrent.shape[0]
        M = D + R + 1  # r(t) = [x(t), recurrent input, 1]
        if not self.per_step:
            targets = ops.broadcast_to(targets[None, :], (ops.shape(x)[0], targets.shape[-1]))
        if self.masked:
            active = ops.cast(ops.any(ops.not_equal(x, 0), axis=-1), dtype)
        else:
            active = ops.ones((ops.shape(x)[0],), dtype)

        def to_cells(per_block):
            return per_block if S == 1 else ops.repeat(per_block, S, axis=0)

        def block_sum(per_cell):
            return per_cell if S == 1 else ops.sum(ops.reshape(per_cell, (B, S)), axis=1)

        def step(carry, inputs):
            (W, b, Wk, bk, h_prev, gates_prev, s, T_c, T_in, *acc) = carry
            x_t, target, weight, on = inputs
            parts = [x_t]
            if cell.recurrent_input != "none":
                parts.append(h_prev)
            if cell.recurrent_input == "cells_and_gates":
                parts.append(gates_prev)
            r = ops.concatenate(parts + [ops.ones((1,), dtype)])  # (M,)
            z = ops.matmul(r[:-1], W) + b
            z_in, z_c = z[:B], z[B : B + U]
            y_in = ops.sigmoid(z_in)
            g_c = self.g(z_c)
            y_in_c = to_cells(y_in)
            s_new = s + y_in_c * g_c
            if has_out:
                z_out = z[B + U :]
                y_out = ops.sigmoid(z_out)
                y_out_c = to_cells(y_out)
            else:
                y_out_c = ops.ones((U,), dtype)
            h_s = self.h(s_new)
            y_c = y_out_c * h_s
            o_in = y_c * switch
            if self.shortcut:
                o_in = ops.concatenate([o_in, x_t])
            net_k = ops.matmul(o_in, Wk) + bk
            y_k = ops.sigmoid(net_k)
            # eq. 19 (or twice it, eq. 16), weighted (0 on padding / no target).
            e_k = factor * weight * y_k * (1.0 - y_k) * (target - y_k)
            # eqs. 25, 27: the traces carried forward (truncated: only the
            # cell's own and its block's input-gate weights).
            T_c_new = T_c + (y_in_c * self.g_prime(z_c))[:, None] * r[None, :]
            f_in = y_in * (1.0 - y_in)
            T_in_new = T_in + (g_c * to_cells(f_in))[:, None] * r[None, :]
            # Error arriving at each cell output from the output units.
            back = ops.matmul(Wk[:U], e_k) * switch  # (U,)
            e_s = y_out_c * self.h_prime(s_new) * back  # eq. 23
            d_c = e_s[:, None] * T_c_new  # eq. 28, (U, M)
            d_in = e_s[:, None] * T_in_new  # eq. 26: summed over the block's cells
            if S > 1:
                d_in = ops.sum(ops.reshape(d_in, (B, S, M)), axis=1)
            cols = [d_in, d_c]
            if has_out:
                e_out = y_out * (1.0 - y_out) * block_sum(h_s * back)  # eq. 21
                cols.append(e_out[:, None] * r[None, :])  # eq. 22
            d_rows = ops.concatenate(cols, axis=0)  # (G, M): -dE/dw per column
            d_W = ops.transpose(d_rows[:, :-1])
            d_b = d_rows[:, -1]
            d_Wk = o_in[:, None] * e_k[None, :]
            d_bk = e_k
            # Masked steps change nothing.
            s_new = on * s_new + (1.0 - on) * s
            y_c = on * y_c + (1.0 - on) * h_prev
            T_c_new = on * T_c_new + (1.0 - on) * T_c
            T_in_new = on * T_in_new + (1.0 - on) * T_in
            gates = gates_prev
            if cell.recurrent_input == "cells_and_gates":
                gates = ops.concatenate([y_in] + ([y_out] if has_out else []))
                gates = on * gates + (1.0 - on) * gates_prev
            grads = (on * d_W, on * d_b * b_on, on * d_Wk, on * d_bk * out_bias_on)
            if self.update == "step":
                W = W + alpha * grads[0]
                b = b + alpha * grads[1]
                Wk = Wk + alpha * grads[2]
                bk = bk + alpha * grads[3] * out_bias_on
            else:
                acc = [a + g for a, g in zip(acc, grads, strict=True)]
            return (W, b, Wk, bk, y_c, gates, s_new, T_c_new, T_in_new, *acc), y_k

        W = kernel if recurrent is None else ops.concatenate([kernel, recurrent], axis=0)
        # Zero biases where the net has none; their "updates" are dropped.
        if bias is None:
            b = b_on = ops.zeros((cell.projection_width,), dtype)
        else:
            b, b_on = cell.full_bias(bias), cell.full_bias(ops.ones_like(bias))
        out_bias_on = 1.0 if out_bias is not None else 0.0
        if out_bias is None:
            out_bias = ops.zeros((out_kernel.shape[1],), dtype)
        G = cell.projection_width
        gate_width = B * (1 + has_out) if cell.recurrent_input == "cells_and_gates" else 0
        zeros = (ops.zeros((D + R, G), dtype), ops.zeros((G,), dtype),
                 ops.zeros(out_kernel.shape, dtype),
                 ops.zeros((out_kernel.shape[1],), dtype))  # fmt: skip
        start = self.START_ACTIVATION
        gates0 = ops.full((gate_width,), start, dtype)
        carry = (W, b, out_kernel, out_bias, ops.full((U,), start, dtype), gates0,
                 ops.zeros((U,), dtype), ops.zeros((U, M), dtype), ops.zeros((U, M), dtype),
                 *zeros)  # fmt: skip
        carry, outputs = _scan(step, carry, (x, targets, step_weights, active))
        W, b, Wk, bk = carry[:4]
        if self.update == "sequence":
            acc = carry[9:]
            W, b, Wk = W + alpha * acc[0], b + alpha * acc[1], Wk + alpha * acc[2]
            bk = bk + alpha * acc[3]
        new = [W[:D]]
        if recurrent is not None:
            new.append(W[D:])
        if bias is not None:
            new.append(self._bias_part(b))
        new.append(Wk)
        if self.dense.use_bias:
            new.append(bk)
        return new, outputs

    def _sequences(self, weights, xs, ys, step_weights, switch):
        """`_sequence` over `(K, steps, ...)` sequences of one shape, one after
        the other: one compiled call for K sequences."""

        def one(carry, sequence):
            x, y, w = sequence
            new, outputs = self._sequence(list(carry), x, y, w, switch)
            return tuple(new), outputs

        carry, outputs = _scan(one, tuple(weights), (xs, ys, step_weights))
        return list(carry), outputs

    # ------------------------------------------------------------------ API

    def _step_weights(self, x, sample_weight):
        steps = x.shape[0]
        if self.per_step:
            return np.ones(steps, keras.config.floatx()) if sample_weight is None else sample_weight
        # A target at the sequence end: the last step with any input (the
        # last step, without a mask).
        if self.masked:
            real = np.nonzero(np.any(x != 0, axis=-1))[0]
            last = int(real[-1]) if len(real) else steps - 1
        else:
            last = steps - 1
        weights = np.zeros(steps, keras.config.floatx())
        weights[last] = 1.0 if sample_weight is None else float(np.ravel(sample_weight)[0])
        return weights

    def _switch_value(self):
        if self.switch is None:
            return _floats(1.0)
        return _floats(ops.convert_to_numpy(self.switch.switch))

    def train_sequence(self, x, y, sample_weight=None, weights=None):
        """Trains on one sequence and returns the outputs computed on the way.

        Args:
            x: `(steps, features)` inputs.
            y: `(steps, outputs)` targets (per-step tasks) or `(outputs,)`;
                columns after the output layer's units are ignored.
            sample_weight: Optional `(steps,)` step weights (per-step tasks) or
                a scalar weight of the sequence.
            weights: Weights to start from (`get_weights` order), or `None`
                for the model's; the model is not changed when given.

        Returns:
            The outputs `(steps, outputs)` for per-step tasks, else the output
            at the sequence end `(outputs,)`: each computed before the update
            of its own step.
        """
        x = _floats(x)
        step_weights = self._step_weights(x, sample_weight)
        given = weights is not None
        weights = [_floats(w) for w in (weights or self.get_weights())]
        y = _floats(y)[..., : self.dense.units]
        step_weights = _floats(step_weights)
        new, outputs = self._train(weights, x, y, step_weights, self._switch_value())
        new = [ops.convert_to_numpy(w) for w in new]
        if given:
            self._last = new
        else:
            self._assign(new)
        outputs = ops.convert_to_numpy(outputs)
        if self.per_step:
            return outputs
        return outputs[int(np.argmax(step_weights))]

    def sequence_update(self, x, y, sample_weight=None):
        """The change of every weight one sequence causes, without applying
        it (`get_weights` order). With `update="sequence"` this is `-alpha`
        times the truncated gradient of the paper's error."""
        before = self.get_weights()
        self.train_sequence(x, y, sample_weight, weights=before)
        return [after - start for after, start in zip(self._last, before, strict=True)]

    def fit(self, batches, steps, callbacks=(), metrics=(), log_every=100):
        """Trains on `steps` sequences from an iterator of `(x, y[, sample_weight])`
        batches of one sequence, driving Keras callbacks.

        Every `log_every` sequences the model's weights are current, the
        metrics are updated with those sequences' outputs (each scored before
        its own update) and the callbacks get `on_train_batch_end(index of the
        last sequence, logs)` with the metrics' results and the sequences'
        mean error as `loss`. A callback may stop training
        (`model.stop_training`) or change the model's weights.

        Args:
            batches: An iterator of batches of one sequence.
            steps: Most sequences to train on.
            callbacks: Keras callbacks.
            metrics: Keras metrics, updated with `(targets, outputs)`.
            log_every: Sequences between two calls of the callbacks.

        Returns:
            The number of sequences trained on.
        """
        steps = positive_int("steps", steps)
        log_every = positive_int("log_every", log_every)
        callbacks = keras.callbacks.CallbackList(list(callbacks), model=self.model)
        self.model.stop_training = False
        callbacks.on_train_begin()
        callbacks.on_epoch_begin(0)
        weights = self.get_weights()
        switch = self._switch_value()
        seen = 0
        while seen < steps:
            count = min(log_every, steps - seen)
            targets, inputs, masks = [], [], []
            for _ in range(count):
                batch = next(batches, None)
                if batch is None:  # the data ran out
                    break
                x, y = _floats(batch[0][0]), _floats(batch[1][0])
                sample_weight = batch[2][0] if len(batch) > 2 else None
                inputs.append(x)
                targets.append(y)
                masks.append(_floats(self._step_weights(x, sample_weight)))
            count = len(inputs)
            if not count:
                break
            # Runs of sequences of one shape are trained in one compiled call,
            # on the first `units` target columns (3c keeps the expectation it
            # is judged by after them, for the metrics).
            trained = [y[..., : self.dense.units] for y in targets]
            outputs, start = [], 0
            while start < count:
                end = start + 1
                while end < count and inputs[end].shape == inputs[start].shape:
                    end += 1
                if end - start == 1:
                    weights, out = self._train(weights, inputs[start], trained[start],
                                               masks[start], switch)  # fmt: skip
                    outputs.append(ops.convert_to_numpy(out))
                else:
                    weights, out = self._train_many(
                        weights, np.stack(inputs[start:end]), np.stack(trained[start:end]),
                        np.stack(masks[start:end]), switch)  # fmt: skip
                    outputs.extend(ops.convert_to_numpy(out))
                start = end
            seen += count
            losses = []
            for i, (y, out, mask) in enumerate(zip(trained, outputs, masks, strict=True)):
                if self.per_step:
                    losses.append(0.5 * float(np.sum(mask[:, None] * (y - out) ** 2)))
                else:
                    outputs[i] = out = out[int(np.argmax(mask))]
                    losses.append(0.5 * float(np.sum((y - out) ** 2)))
            self._assign(weights)
            logs = {"loss": float(np.mean(losses))}
            if metrics:
                y_true, y_pred, mask = _stack(targets), _stack(outputs), None
                if self.per_step:
                    mask = _stack(masks)
                for metric in metrics:
                    metric.update_state(y_true, y_pred, sample_weight=mask)
                    logs[metric.name] = float(ops.convert_to_numpy(metric.result()))
            callbacks.on_train_batch_end(seen - 1, logs)
            if self.model.stop_training:
                break
            # Callbacks may have changed the model (e.g. added cells).
            weights = self.get_weights()
            switch = self._switch_value()
        callbacks.on_epoch_end(0, {})
        callbacks.on_train_end()
        logging.debug("PaperLearningRule: %d sequences", seen)
        return seen


def _stack(arrays):
    """Stacks arrays, post-padding the first axis of per-step arrays with zeros."""
    if arrays[0].ndim == 0 or all(a.shape == arrays[0].shape for a in arrays):
        return np.stack(arrays)
    steps = max(a.shape[0] for a in arrays)
    padded = np.zeros((len(arrays), steps, *arrays[0].shape[1:]), arrays[0].dtype)
    for i, a in enumerate(arrays):
        padded[i, : a.shape[0]] = a
    return padded

