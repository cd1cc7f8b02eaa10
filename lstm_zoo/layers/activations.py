"""The squashing functions of Hochreiter & Schmidhuber (1997).

The paper uses logistic sigmoids everywhere, rescaled for the cell input and the
cell output:

    f(x) = 1 / (1 + exp(-x))      gates, range [0, 1]
    g(x) = 4 f(x) - 2             cell input squashing, range [-2, 2]
    h(x) = 2 f(x) - 1             cell output squashing, range [-1, 1]

Both `paper_g` and `paper_h` are registered Keras objects, so a model that uses
them serialises and loads like any Keras model. Pass the functions themselves or
the names `"paper_g"` / `"paper_h"` wherever an lstm_zoo layer takes an activation.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="lstm_zoo")
def paper_g(x):
    """Cell input squashing of the 1997 paper: `4 * sigmoid(x) - 2`.

    Args:
        x: Input tensor.

    Returns:
        A tensor of the same shape and dtype, with values in [-2, 2].
    """
    return 4.0 * ops.sigmoid(x) - 2.0


@keras.saving.register_keras_serializable(package="lstm_zoo")
def paper_h(x):
    """Cell output squashing of the 1997 paper: `2 * sigmoid(x) - 1`.

    Args:
        x: Input tensor.

    Returns:
        A tensor of the same shape and dtype, with values in [-1, 1].
    """
    return 2.0 * ops.sigmoid(x) - 1.0


_BY_NAME = {"paper_g": paper_g, "paper_h": paper_h}


def get(identifier):
    """Resolves an activation: lstm_zoo's own names first, then Keras'.

    Args:
        identifier: A callable, `None` (linear), one of `"paper_g"`, `"paper_h"`,
            or anything `keras.activations.get` accepts.

    Returns:
        The activation function.
    """
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    return keras.activations.get(identifier)


def serialize(fn):
    """Serialises an activation for `get_config` (lstm_zoo names stay short)."""
    for name, candidate in _BY_NAME.items():
        if fn is candidate:
            return name
    return keras.activations.serialize(fn)
