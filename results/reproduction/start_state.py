"""The state a sequence starts from (`results/reproduction.md`, "The paper's
ambiguities").

    python results/reproduction/start_state.py EXPERIMENT SETTING START BUDGET TRIAL [TRIAL ...]

The paper does not say what the recurrent inputs of a sequence's first step
are. A Keras RNN layer, and so `reproduce`, starts from zeros. The LSTM
simulator of the authors' institute (www.bioinf.jku.at/software/lstm,
`reset_net`) resets every unit's activation to 0.5 before each sequence,
the cells' outputs and the gates' included, and the cell states to 0. This
script runs `reproduce.run_trial` with the cells' outputs and the gates'
activations before the first step set to START (0.5: the simulator's; the
cell states stay 0) in the layer (`LSTM1997Cell.get_initial_state`) and in
the learning rule (`PaperLearningRule.START_ACTIVATION`): the same nets,
data, rule and criterion. Prints one JSON line per trial (the curve left
out) and appends it to `start_state_<experiment>_<setting>.jsonl` beside
this script.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import screen  # noqa: E402
from keras import ops  # noqa: E402

from lstm_zoo import paper_learning, reproduce  # noqa: E402
from lstm_zoo.layers.lstm1997_cell import LSTM1997Cell  # noqa: E402


def start_from(start):
    """Sets the start of every sequence: the cells' outputs and the gates at
    `start`, the cell states at 0, in the layer and in the rule."""

    def get_initial_state(self, batch_size=None):
        values = [start, 0.0, start][: len(self.state_size)]
        return [ops.full((batch_size, size), value, dtype=self.compute_dtype)
                for size, value in zip(self.state_size, values, strict=True)]  # fmt: skip

    LSTM1997Cell.get_initial_state = get_initial_state
    paper_learning.PaperLearningRule.START_ACTIVATION = start


def main(spec, setting, start, budget, trials):
    experiment, params = reproduce.parse_experiment(spec)
    start_from(start)
    screen.record(screen.name_for("start_state", spec, setting), experiment, params, setting,
                  trials, budget, lambda: {"start_activation": start})  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]),
         [int(t) for t in sys.argv[5:]] or [0])  # fmt: skip
