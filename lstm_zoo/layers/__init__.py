"""Keras layers of lstm_zoo: the 1997 LSTM cell and the layer built on it."""

from lstm_zoo.layers import activations
from lstm_zoo.layers.activations import paper_g, paper_h
from lstm_zoo.layers.lstm1997 import LSTM1997
from lstm_zoo.layers.lstm1997_cell import LSTM1997Cell, staggered_gate_biases

__all__ = [
    "LSTM1997",
    "LSTM1997Cell",
    "activations",
    "paper_g",
    "paper_h",
    "staggered_gate_biases",
]
