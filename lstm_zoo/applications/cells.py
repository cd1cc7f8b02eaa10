"""The recurrent layers the applications can run: one place to build them.

`cell` is `"lstm1997"` (the 1997 cell), `"lstm1997_forget_gate"`,
`"keras_lstm"`, `"keras_gru"`, or a Keras RNN cell instance used as a
template (its config with `units` replaced builds each layer's cell).
"""

import keras

from lstm_zoo.layers.lstm1997 import LSTM1997
from lstm_zoo.run_config import CELLS  # noqa: F401  (re-exported)


def check_cell(cell):
    """Returns `cell` (deserialised if it is a config dict), or raises `ValueError`."""
    if isinstance(cell, dict):
        cell = keras.saving.deserialize_keras_object(cell)
    if isinstance(cell, str) and cell not in CELLS:
        raise ValueError(f"Argument `cell` must be one of {CELLS} or a Keras RNN cell; "
                         f"received: cell={cell!r}")  # fmt: skip
    if not isinstance(cell, str) and not hasattr(cell, "state_size"):
        raise ValueError(f"Argument `cell` must be one of {CELLS} or a Keras RNN cell; "
                         f"received: {type(cell).__name__}")  # fmt: skip
    return cell


def serialize_cell(cell):
    """The `get_config` value of a `cell` argument."""
    return cell if isinstance(cell, str) else keras.saving.serialize_keras_object(cell)


def recurrent_layer(cell, units, name, initializer=None, **kwargs):
    """A Keras RNN layer of `units` cells of kind `cell`.

    Args:
        cell: See the module docstring.
        units: Cells of the layer.
        name: Layer name.
        initializer: Kernel and recurrent initializer (default: the layer's own).
        **kwargs: RNN layer arguments (`return_sequences`, `return_state`, ...).
    """
    weights = {} if initializer is None else dict(
        kernel_initializer=initializer, recurrent_initializer=initializer)  # fmt: skip
    if cell == "lstm1997":
        return LSTM1997(units, name=name, **weights, **kwargs)
    if cell == "lstm1997_forget_gate":
        return LSTM1997(units, forget_gate=True, name=name, **weights, **kwargs)
    if cell == "keras_lstm":
        return keras.layers.LSTM(units, name=name, **weights, **kwargs)
    if cell == "keras_gru":
        return keras.layers.GRU(units, name=name, **weights, **kwargs)
    config = cell.get_config()
    if "units" not in config:
        raise ValueError(f"Argument `cell` ({type(cell).__name__}) has no `units` in its config")
    config.update(units=units, name=f"{name}_cell")
    return keras.layers.RNN(type(cell).from_config(config), name=name, **kwargs)
