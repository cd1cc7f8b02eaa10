"""The start of a trial as the authors' institute's LSTM simulator makes it
(`results/reproduction.md`, "What the authors' institute's simulator does").

    python results/reproduction/simulator_init.py EXPERIMENT SETTING BUDGET TRIAL [TRIAL ...]

The simulator (`lstm.c`, www.bioinf.jku.at/software/lstm) differs from the
paper setting in three details, all at the start of training or of a
sequence; this script runs `reproduce.run_trial` with all three:

- every unit's activation is 0.5 before each sequence's first step
  (`reset_net`; the cell states 0), as `start_state.py` sets it;
- a gate bias the table gives is added to the weight's random draw
  (`initia`: `W_mod[i][bias] += bias_inp[u]`), where the paper setting sets
  it to the table's value: here the layer's own draw for that bias, in the
  weights' range, is added to the table's value;
- initial weights take 2,000 evenly spaced values,
  `(seprand(2000) - 1000) / 1000 * init_range`: here each weight's draw is
  rounded down to that grid.

The nets, seeds, data, rule and criterion are the table's otherwise. Prints
one JSON line per trial (the curve left out) and appends it to
`simulator_init_<experiment>_<setting>.jsonl` beside this script.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import screen  # noqa: E402
import start_state  # noqa: E402
from keras import ops  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.layers.lstm1997_cell import LSTM1997Cell  # noqa: E402

GRID = 1000  # the simulator's seprand(2000) - 1000, over 1000


def on_grid(values, init_range):
    """`values` rounded down to the simulator's grid of `init_range / 1000`."""
    return np.floor(np.asarray(values, "float64") / init_range * GRID) / GRID * init_range


def simulator_start(experiment):
    """Patches the layer and `reproduce.build_model` to start as the simulator."""
    init_range = reproduce.EXPERIMENTS[experiment].init_range
    start_state.start_from(0.5)

    table_segment = LSTM1997Cell._bias_segment

    def bias_segment(self, base, start, value, dtype):
        segment = table_segment(self, base, start, value, dtype)
        return segment if value is None else segment + base[start : start + self.blocks]

    LSTM1997Cell._bias_segment = bias_segment
    build = reproduce.build_model

    def build_on_grid(*args, **kwargs):
        model = build(*args, **kwargs)
        for variable in model.weights:
            if variable.trainable:
                value = ops.convert_to_numpy(variable)
                variable.assign(on_grid(value, init_range).astype(value.dtype))
        return model

    reproduce.build_model = build_on_grid


def main(spec, setting, budget, trials):
    experiment, params = reproduce.parse_experiment(spec)
    simulator_start(experiment)
    screen.record(screen.name_for("simulator_init", spec, setting), experiment, params,
                  setting, trials, budget, lambda: {"start": "simulator"})  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(t) for t in sys.argv[4:]] or [0])
