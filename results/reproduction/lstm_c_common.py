"""What the lstm.c scripts beside this file share (`lstm_c_reber.py`,
`lstm_c_stream.py`, `lstm_c_check.py`): building a driver, and lstm.c's
weight matrix against the layout of `reproduce.build_model`'s paper nets.

lstm.c keeps every weight in one matrix `W_mod[target, source]` over its
units: the inputs, a bias unit, the hidden units (here at most lstm.c's
constant unit that biases the outputs), then per block the input gate, the
output gate and the cells, then the output units. The layer
(`LSTM1997Cell`) has columns [input gates | cell inputs | output gates] and
recurrent rows [cells | input gates | output gates]; the Dense layer reads
the cells.
"""

import os
import subprocess

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

#: experiment -> inputs, outputs, blocks, cells per block, constant hidden
#: units (lstm.c's output bias), every column biased (else the gates only),
#: the paper's learning rate.
NETS = {"1": (7, 7, 3, 2, 0, False, 0.5), "4": (2, 1, 2, 2, 1, True, 0.5),
        "5": (2, 1, 2, 2, 1, True, 0.1)}  # fmt: skip


def build_driver(driver, lstm_c_dir, binary):
    """Compiles the driver `driver` (a file beside this one) against the
    `lstm.c` in `lstm_c_dir` into `binary`."""
    if not os.path.isfile(os.path.join(lstm_c_dir, "lstm.c")):
        raise ValueError(f"LSTM_C_DIR={lstm_c_dir!r} holds no lstm.c")
    command = ["gcc", "-O2", "-std=gnu89", "-w", "-I", lstm_c_dir]
    subprocess.run([*command, os.path.join(HERE, driver), "-o", binary, "-lm"], check=True)


def _units(experiment):
    """`(columns, rows, cells, first, out)`: lstm.c unit -> the layer's
    column and recurrent row, the cell units in the layer's order, the first
    gate's unit (lstm.c's hi_in_mod) and the first output unit (cell_mod)."""
    inputs, _, blocks, size, hidden, _, _ = NETS[experiment]
    first = inputs + 1 + hidden
    cells_total = blocks * size
    columns, rows, cells = {}, {}, []
    for u in range(blocks):
        in_gate = first + u * (2 + size)
        columns[in_gate], rows[in_gate] = u, cells_total + u
        columns[in_gate + 1] = blocks + cells_total + u
        rows[in_gate + 1] = cells_total + blocks + u
        for v in range(size):
            cell = in_gate + 2 + v
            columns[cell], rows[cell] = blocks + size * u + v, size * u + v
            cells.append(cell)
    return columns, rows, cells, first, first + blocks * (2 + size)


def _gate_columns(experiment):
    _, _, blocks, size, *_ = NETS[experiment]
    cells_total = blocks * size
    return [*range(blocks), *range(blocks + cells_total, 2 * blocks + cells_total)]


def keras_weights(experiment, w):
    """lstm.c's matrix `w` as the paper net's `get_weights()`."""
    inputs, outputs, *_, all_biased, _ = NETS[experiment]
    columns, rows, cells, first, out = _units(experiment)
    kernel = np.zeros((inputs, len(columns)))
    recurrent = np.zeros((len(rows), len(columns)))
    bias = np.zeros(len(columns))
    for target, column in columns.items():
        kernel[:, column] = w[target, :inputs]
        bias[column] = w[target, inputs]  # the bias unit follows the inputs
        for source, row in rows.items():
            recurrent[row, column] = w[target, source]
    dense = np.stack([w[out : out + outputs, c] for c in cells])
    if not all_biased:
        return [kernel, recurrent, bias[_gate_columns(experiment)], dense]
    return [kernel, recurrent, bias, dense, w[out : out + outputs, first - 1]]


def lstm_matrix(experiment, weights):
    """The paper net's `get_weights()` as lstm.c's matrix (`ges_mod` rows of
    `cell_mod` values); the weights the paper net lacks are 0."""
    inputs, outputs, *_, all_biased, _ = NETS[experiment]
    columns, rows, cells, first, out = _units(experiment)
    kernel, recurrent, bias, dense, *output_bias = (np.asarray(w, "float64") for w in weights)
    if not all_biased:
        full = np.zeros(len(columns))
        full[_gate_columns(experiment)] = bias
        bias = full
    w = np.zeros((out + outputs, out))
    for target, column in columns.items():
        w[target, :inputs] = kernel[:, column]
        w[target, inputs] = bias[column]
        for source, row in rows.items():
            w[target, source] = recurrent[row, column]
    for k, cell in enumerate(cells):
        w[out : out + outputs, cell] = dense[k]
    if all_biased:
        w[out : out + outputs, first - 1] = output_bias[0]
    return w
