"""Internal state drift of a speech model's 1997 cells, measured.

Without a forget gate the cell state only accumulates, `s(t) = s(t-1) +
y_in(t) g(net_c(t))`, and `h(s) = 2 f(s) - 1` saturates once `|s|` grows: its
slope `h'(s)` falls from 0.5 at `s = 0` to under a tenth of that beyond
`|s| > 3.7`, and the error reaching the cell through `h` shrinks with it
(the paper's section 4, "internal state drift"). `state_drift(model,
waveforms)` runs each recurrent layer of a `SpeechRecognizer` of 1997 cells
(with or without forget gates) over the utterances' valid frames, in NumPy
from the layer's weights and the paper's equations, and reports how far the
states drift.
"""

import numpy as np

#: |s| beyond which h'(s) is under a tenth of h'(0).
SATURATED = 3.66


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def run_cells(layer, x):
    """Runs an `LSTM1997` layer (one cell per block, cell-output recurrence,
    optional forget gate, no peepholes) over `x` `(T, features)` in NumPy.

    Returns:
        `(outputs, states)`, each `(T, units)`: the cell outputs `y_c` and states `s_c`.
    """
    cell = layer.cell
    if cell.cells_per_block != 1 or cell.recurrent_input != "cells" or cell.peephole:
        raise ValueError("run_cells supports one cell per block, cell-output recurrence and no "
                         "peepholes")  # fmt: skip
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in
                               (cell.kernel, cell.recurrent_kernel, cell.bias))  # fmt: skip
    n = cell.units
    h = np.zeros(n)
    s = np.zeros(n)
    outputs, states = [], []
    for x_t in np.asarray(x, np.float64):
        z = x_t @ kernel + h @ recurrent + bias
        y_in = _sigmoid(z[:n])
        if cell.forget_gate:
            y_phi, z = _sigmoid(z[n:2 * n]), z[n:]
            s = y_phi * s
        g = 4.0 * _sigmoid(z[n:2 * n]) - 2.0
        y_out = _sigmoid(z[2 * n:3 * n])
        s = s + y_in * g
        h = y_out * (2.0 * _sigmoid(s) - 1.0)
        outputs.append(h)
        states.append(s)
    return np.array(outputs), np.array(states)


def state_drift(model, waveforms):
    """How far the cell states of `model`'s 1997 layers drift over `waveforms`.

    Args:
        model: A `SpeechRecognizer` whose cell is `lstm1997` or
            `lstm1997_forget_gate`.
        waveforms: List of 1-D float waveforms at the model's rate.

    Returns:
        Dict `{"layer_i/forward" | "layer_i/backward": stats}`, stats: the mean
        `|s|` over all frames and cells (`mean_abs_state`), at each utterance's
        last frame read (`mean_abs_state_last`), and the fraction of
        frame-cells whose `|s|` exceeds `SATURATED` (`saturated`).
    """
    import tensorflow as tf

    if not model.cell.startswith("lstm1997"):
        raise ValueError(f"state_drift needs a model of 1997 cells; its cell is {model.cell}")
    collected = {}
    for audio in waveforms:
        audio = np.asarray(audio, np.float32)[None]
        x, frames = model.features((tf.constant(audio), tf.constant([audio.shape[1]])))
        x = np.asarray(x)[0, :int(frames[0])]
        for i, layer in enumerate(model.rnn_layers):
            fwd_out, fwd_s = run_cells(layer.forward_layer, x)
            bwd_out, bwd_s = run_cells(layer.backward_layer, x[::-1])
            for name, states in (("forward", fwd_s), ("backward", bwd_s)):
                collected.setdefault(f"layer_{i}/{name}", []).append(states)
            x = np.concatenate([fwd_out, bwd_out[::-1]], axis=-1)
    report = {}
    for key, runs in collected.items():
        every = np.abs(np.concatenate(runs))
        report[key] = {
            "mean_abs_state": float(every.mean()),
            "mean_abs_state_last": float(np.mean([np.abs(r[-1]).mean() for r in runs])),
            "saturated": float((every > SATURATED).mean()),
        }
    return report


def main(argv=None):
    """`python -m lstm_zoo.applications.speech.diagnostics MODEL DATA [COUNT]`:
    the state drift of a model over the first COUNT (default 50) utterances of
    DATA (a manifest or speech folder), as JSON. MODEL: a `.keras` file, or
    `untrained:CELL[:INPUT_GATE_BIAS]` (the recipe's 2 x 128 at 16 kHz, freshly
    initialised)."""
    import json
    import sys

    import keras

    import lstm_zoo  # noqa: F401 - registers the model classes
    from lstm_zoo.applications.speech.data import load_speech_folder

    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        raise SystemExit(main.__doc__)
    if args[0].startswith("untrained:"):  # untrained:CELL[:INPUT_GATE_BIAS], the recipe's size
        from lstm_zoo.applications.speech.model import SpeechRecognizer

        cell, *bias = args[0].split(":")[1:]
        model = SpeechRecognizer("digits", sample_rate=16000, num_layers=2, units=128, cell=cell,
                                 cell_kwargs={"input_gate_bias": float(bias[0])} if bias else None)
        model.build()
    else:
        model = keras.saving.load_model(args[0], safe_mode=True)
    utterances = load_speech_folder(args[1], sample_rate=model.sample_rate)
    count = int(args[2]) if len(args) == 3 else 50
    print(json.dumps(state_drift(model, [u.audio for u in utterances[:count]]), indent=1))


if __name__ == "__main__":
    main()
