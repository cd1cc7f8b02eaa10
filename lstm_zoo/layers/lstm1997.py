"""`LSTM1997`: a `keras.layers.LSTM`-like layer that runs the 1997 cell."""

import inspect

import keras
from keras import ops

from lstm_zoo.layers import activations
from lstm_zoo.layers.lstm1997_cell import LSTM1997Cell

# Constructor arguments forwarded to the cell (everything the cell takes).
_CELL_ARGS = tuple(
    name
    for name in inspect.signature(LSTM1997Cell.__init__).parameters
    if name not in ("self", "kwargs")
)


@keras.saving.register_keras_serializable(package="lstm_zoo")
class LSTM1997(keras.layers.RNN):
    """Long Short-Term Memory layer, Hochreiter & Schmidhuber (1997).

    A layer like `keras.layers.LSTM` that owns an `LSTM1997Cell` (see its
    docstring for the equations, the variants and the weight layout). Its
    outputs equal `keras.layers.RNN(LSTM1997Cell(...))` with the same weights;
    it is faster: on TensorFlow through a fused CPU kernel (see
    `use_fast_path`), on PyTorch by computing the input projection
    `inputs @ kernel + bias` of all time steps in one matrix product before
    the loop, which then only adds the recurrent product.

    Args:
        units: Positive integer, number of memory cells.
        return_sequences: Boolean, return the whole output sequence instead of
            the last output. Default `False`.
        return_state: Boolean, also return the final states. Default `False`.
        go_backwards: Boolean, process the sequence backwards and return the
            reversed sequence. Default `False`.
        stateful: Boolean, carry the final states of a batch over as the
            initial states of the next one. Default `False`.
        unroll: Boolean, unroll the loop (short sequences only). Default
            `False`.
        zero_output_for_mask: Boolean, output zeros rather than the previous
            output at masked steps (when returning sequences). Default `False`.
        use_fast_path: Boolean (default `True`). On the TensorFlow backend,
            without unrolling: on CPU, a fused C++ kernel compiled on first
            use (`lstm_zoo.layers.fast_kernel`) runs every configuration of
            the cell with the paper's activations (blocks, forget gate,
            peepholes, recurrent inputs, masks, recurrent dropout); exported
            SavedModels hold standard ops only. Without the kernel, the
            default cell (one cell per block, no forget gate, no peephole,
            `recurrent_input="cells"`) without mask or recurrent dropout runs
            a dedicated loop with a hand-written gradient
            (`lstm_zoo.layers.fast_tf`), and inference of every other
            configuration with the paper's activations (masks included) a
            lean loop of TensorFlow ops: the loop exported SavedModels
            serve. `False` always uses the generic Keras loop. All give the
            same outputs and gradients.
        activity_regularizer: Regularizer for the layer's output.
        **kwargs: Every argument of `LSTM1997Cell` (`cells_per_block`,
            `gradient`, `recurrent_input`, `forget_gate`, `peephole`,
            `output_gate`, `cell_input_bias`, activations, initializers, gate
            biases, regularizers, constraints, `dropout`, `recurrent_dropout`,
            `seed`), plus base layer arguments.

    Call arguments:
        inputs: A 3D tensor `(batch, timesteps, features)`.
        mask: Optional boolean tensor `(batch, timesteps)`; `False` steps are
            skipped (the state is carried over unchanged).
        training: Python boolean, whether dropout applies.
        initial_state: Optional list of initial state tensors.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([
    ...     keras.Input((None, 2)),
    ...     LSTM1997(16, cells_per_block=2),
    ...     keras.layers.Dense(1),
    ... ])
    >>> model(np.zeros((3, 100, 2), "float32")).shape
    (3, 1)
    """

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        activity_regularizer=None,
        use_fast_path=True,
        **kwargs,
    ):
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _CELL_ARGS}
        cell = LSTM1997Cell(
            units,
            dtype=kwargs.get("dtype", None),
            trainable=kwargs.get("trainable", True),
            name="lstm1997_cell",
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.use_fast_path = bool(use_fast_path)

    def _check_shape(self, shape):
        shape = tuple(shape)
        if len(shape) != 3:
            raise ValueError(
                f"Argument `inputs` of {type(self).__name__} must have rank 3 "
                f"(batch, timesteps, features); received inputs.shape={shape}"
            )
        if self.cell.built and shape[-1] is not None and shape[-1] != self.cell.input_dim:
            raise ValueError(
                f"Argument `inputs` must have {self.cell.input_dim} features, as "
                f"layer '{self.name}' was built with; received inputs.shape={shape}"
            )

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_shape(sequences_shape)
        super().build(sequences_shape, initial_state_shape)

    def _fast_path_applies(self, mask, training):
        cell = self.cell
        return (
            self.use_fast_path
            and keras.config.backend() == "tensorflow"
            and mask is None
            and not self.unroll
            and cell.cells_per_block == 1
            and not cell.forget_gate
            and not cell.peephole
            and cell.recurrent_input == "cells"
            and cell.cell_input_bias
            and cell.activation is activations.paper_h
            and cell._fused_sigmoid
            and not (training and 0.0 < cell.recurrent_dropout < 1.0)
        )

    def _family_inference_applies(self, training):
        """Inference of any paper-activation configuration in TensorFlow ops
        (`fast_tf.family_inference_sequence`), where the kernel cannot run."""
        if training or not self.use_fast_path or self.unroll:
            return False
        if keras.config.backend() != "tensorflow":
            return False
        from lstm_zoo.layers import fast_tf

        return fast_tf.paper_activations(self.cell)

    def _fused_kernel(self, dtype):
        """The fused kernel's ops if this call runs on them, else `None`."""
        if not self.use_fast_path or self.unroll or keras.config.backend() != "tensorflow":
            return None
        from lstm_zoo.layers import fast_tf

        return fast_tf.fused_applies(self.cell, dtype)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        if training and 0.0 < cell.dropout < 1.0:
            dp_mask = cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * ops.expand_dims(dp_mask, axis=1)
        kernels = self._fused_kernel(sequences.dtype)
        if kernels is not None:
            from lstm_zoo.layers import fast_tf

            if self.go_backwards:
                sequences = ops.flip(sequences, axis=1)
                mask = None if mask is None else ops.flip(mask, axis=1)
            recurrent_mask = None
            if training and 0.0 < cell.recurrent_dropout < 1.0:
                recurrent_mask = cell.get_recurrent_dropout_mask(initial_state[0])
            outputs, states = fast_tf.fused_sequence(
                kernels,
                cell,
                sequences,
                list(initial_state),
                mask=mask,
                recurrent_mask=recurrent_mask,
                zero_output_for_mask=self.zero_output_for_mask,
                training=bool(training),
            )
            return outputs[:, -1], outputs, states
        if self.use_fast_path and keras.config.backend() == "torch" and sequences.shape[1]:
            from lstm_zoo.layers import fast_torch

            if fast_torch.applies(cell, mask, training, self.unroll):
                outputs, h_last, s_last = fast_torch.sequence(
                    cell, sequences, initial_state[0], initial_state[1], self.go_backwards
                )
                return h_last, outputs, [h_last, s_last]
        if self._fast_path_applies(mask, training):
            from lstm_zoo.layers import fast_tf

            if self.go_backwards:
                sequences = ops.flip(sequences, axis=1)
            dtype = sequences.dtype
            outputs, h_last, s_last = fast_tf.lstm1997_sequence(
                sequences,
                ops.cast(cell.kernel, dtype),
                ops.cast(cell.bias, dtype) if cell.use_bias else None,
                initial_state[0],
                initial_state[1],
                ops.cast(cell.recurrent_kernel, dtype),
                truncated=cell.gradient == "truncated",
                training=bool(training),
            )
            return h_last, outputs, [h_last, s_last]
        if self._family_inference_applies(training):
            from lstm_zoo.layers import fast_tf

            if self.go_backwards:
                sequences = ops.flip(sequences, axis=1)
                mask = None if mask is None else ops.flip(mask, axis=1)
            outputs, states = fast_tf.family_inference_sequence(
                cell, sequences, list(initial_state), mask=mask,
                zero_output_for_mask=self.zero_output_for_mask,
            )  # fmt: skip
            return outputs[:, -1], outputs, states
        if keras.config.backend() == "jax":
            # On JAX the loop is faster projecting each step's inputs inside
            # it (benchmarks/family_speed.py; the hoisted (batch, T, G)
            # projection costs more than it saves there).
            def step(inputs, states):
                return cell.step(cell.project_inputs(inputs), states, training=training)

            per_step = sequences
        else:

            def step(projection, states):
                return cell.step(projection, states, training=training)

            per_step = cell.project_inputs(sequences)
        return keras.src.backend.rnn(
            step,
            per_step,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )

    def call(self, sequences, initial_state=None, mask=None, training=False):
        self._check_shape(sequences.shape)
        return super().call(sequences, mask=mask, training=training, initial_state=initial_state)

    def get_config(self):
        cell_config = self.cell.get_config()
        config = {k: cell_config[k] for k in _CELL_ARGS if k in cell_config}
        base_config = super().get_config()
        del base_config["cell"]
        config["use_fast_path"] = self.use_fast_path
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _cell_property(name):
    return property(
        lambda self: getattr(self.cell, name),
        doc=f"The cell's `{name}` (see `LSTM1997Cell`).",
    )


# Cell arguments read through the layer, as keras.layers.LSTM allows
# (`layer.units`, `layer.dropout`, ...).
for _name in _CELL_ARGS:
    setattr(LSTM1997, _name, _cell_property(_name))
del _name
