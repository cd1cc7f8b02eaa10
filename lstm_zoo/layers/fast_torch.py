"""PyTorch fast path of `LSTM1997` in inference: the loop in plain torch operations.

Keras' own `keras.layers.LSTM` runs a plain torch loop on the PyTorch
backend (`keras.src.backend.torch.rnn.lstm`); Keras' generic RNN loop, which
any cell can use, costs more per step (state lists, `keras.ops` wrappers).
This loop is the same arithmetic as `LSTM1997Cell.step` for cells with one
cell per block, the paper's activations, output gates, cell outputs as the
recurrent input and no peepholes, with or without a forget gate; torch's
autograd differentiates it. Outputs and gradients equal the generic loop's
(tests/layers/test_fast_torch.py).

It runs in inference only (`training=False`: `predict`, evaluation): there it
is faster than the generic loop (`predict` 14.6 against 24 ms at batch 64,
100 steps, 128 units), while in training the generic loop's backward pass was
faster (`fit` 55 against 85 ms; benchmarks/family_speed.py).
"""

import torch

from lstm_zoo.layers import activations


def applies(cell, mask, training, unroll):
    """Whether `LSTM1997` on PyTorch can run this call on `sequence`."""
    return (
        not training
        and mask is None
        and not unroll
        and cell.cells_per_block == 1
        and cell._fused_sigmoid
        and cell.activation is activations.paper_h
        and cell.recurrent_input == "cells"
    )


def sequence(cell, sequences, h, s, go_backwards=False):
    """Runs the cell over `(batch, T, features)`; returns `(outputs, h_T, s_T)`.

    `sequences` already carries input dropout. The truncated gradient cuts the
    recurrent input from the graph, as `LSTM1997Cell.step` does.
    """
    kernel = cell.kernel.value
    projection = torch.matmul(sequences.transpose(0, 1), kernel.to(sequences.dtype))
    if cell.use_bias:
        projection = projection + cell.full_bias(cell.bias.value).to(sequences.dtype)
    if go_backwards:
        projection = torch.flip(projection, dims=[0])
    recurrent_kernel = cell.recurrent_kernel.value.to(sequences.dtype)
    truncated = cell.gradient == "truncated"
    units = cell.units
    gates_end = 2 * units if cell.forget_gate else units
    outputs = []
    for t in range(projection.shape[0]):
        recurrent = h.detach() if truncated else h
        act = torch.sigmoid(torch.addmm(projection[t], recurrent, recurrent_kernel))
        y_in, y_out = act[:, :units], act[:, gates_end + units :]
        g = act[:, gates_end : gates_end + units].mul(4.0).sub_(2.0)
        carried = act[:, units:gates_end] * s if cell.forget_gate else s
        s = torch.addcmul(carried, y_in, g)
        h = torch.addcmul(-y_out, y_out, torch.sigmoid(s), value=2.0)  # y_out * (2 f(s) - 1)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h, s
