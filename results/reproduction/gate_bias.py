"""The input gate biases of experiment 5, read the other way
(`results/reproduction.md`, "5's input gate biases").

    python results/reproduction/gate_bias.py EXPERIMENT SETTING BIASES BUDGET TRIAL [TRIAL ...]

Runs `reproduce.run_trial` with the row's `Experiment.input_gate_bias`
replaced by BIASES (comma-separated, one per block; `r` for the table's "r",
drawn like the other weights): the same nets otherwise, and the same draws,
data, rule and criterion as the table's rows. Table 10 gives 5's input gates
"r"; section 5.5 builds 5's net "like in Section 5.4", whose input gates start
at -3 and -6. The screen of -3, -6 (`gate_bias.py 5 paper -3,-6 ...`,
2026-12-07) led the paper setting to take them on 2026-12-08; `gate_bias.py 5
paper r ...` runs the table's reading now. EXPERIMENT is as `lstm-zoo
reproduce --experiments` takes it (`5`, `5/n_seq=13`). Prints one JSON line
per trial (the curve left out) and appends it to
`gate_bias_<experiment>_<setting>.jsonl` beside this script.
"""

import dataclasses
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import screen  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402


def parse_biases(text, blocks):
    """`"-3,-6"` -> `(-3.0, -6.0)`; `"r"` -> `None` (drawn like the other weights)."""
    if text == "r":
        return None
    try:
        biases = tuple(float(v) for v in text.split(","))
    except ValueError:
        biases = ()
    if len(biases) != blocks:
        raise ValueError(f"BIASES={text!r}: expected {blocks} comma-separated numbers or 'r'")
    return biases


def use_input_gate_bias(experiment, setting, text):
    """Replaces the row's initial input gate biases for `setting` by `text`
    (as `parse_biases` reads it) in `reproduce.EXPERIMENTS`."""
    row = reproduce.EXPERIMENTS[experiment]
    biases = parse_biases(text, row.blocks)
    field = "modern_input_gate_bias" if setting == "modern" else "input_gate_bias"
    reproduce.EXPERIMENTS[experiment] = dataclasses.replace(row, **{field: biases})


def biases_text(experiment):
    """The paper setting's input gate biases of `experiment` as `parse_biases`
    reads them: `"-3,-6"`, or `"r"` where they are drawn."""
    biases = reproduce.EXPERIMENTS[experiment].input_gate_bias
    return ",".join(f"{v:g}" for v in biases) if biases else "r"


def main(spec, setting, text, budget, trials):
    experiment, params = reproduce.parse_experiment(spec)
    use_input_gate_bias(experiment, setting, text)
    screen.record(screen.name_for("gate_bias", spec, setting), experiment, params, setting,
                  trials, budget, lambda: {"input_gate_bias": text})  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) < 6:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
         [int(t) for t in sys.argv[5:]])  # fmt: skip
