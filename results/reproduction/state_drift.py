"""State drift of the untrained paper nets: the cell states at the end of 50
sequences, before any training (`results/reproduction.md`, notes on 2c).

    python results/reproduction/state_drift.py 2c paper paper_cells
    python results/reproduction/state_drift.py 2c/p=1000/q=1000 paper paper_cells
    python results/reproduction/state_drift.py 2c paper paper_cells paper_caption

For each setting and each trial seed 0-9 (the seeds `lstm-zoo reproduce
--seed=0` gives its trials 0-9) it records the mean and spread of every cell's
state s(T) at the last step of 50 task sequences, and the mean of
h'(s(T)) = 2 sigma(s) (1 - sigma(s)), the factor every error reaching the
cell is scaled by (0.5 at s = 0; `paper_caption`'s h in [-2, 2] has twice
that slope, 4 sigma(s) (1 - sigma(s))). It runs the trial's own `LSTM1997` layer
(a copy returning its states) and writes the numbers to
`results/reproduction/state_drift_EXPERIMENT.json` (`2c_p1000_q1000` for
`2c/p=1000/q=1000`).
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.datasets import paper_tasks  # noqa: E402
from lstm_zoo.layers import LSTM1997  # noqa: E402
from lstm_zoo.paper_learning import _derivative  # noqa: E402


def last_cell_states(layer, x, mask=None):
    """s(T) of an `LSTM1997` layer on `x`: a copy of it that returns its states."""
    config = {**layer.get_config(), "return_state": True, "return_sequences": False}
    twin = LSTM1997.from_config(config)
    twin.build(x.shape)
    twin.set_weights(layer.get_weights())
    _, *states = twin(x, mask=mask)
    return np.asarray(states[1])  # states: [h, s, (gate activations)]


def final_states(experiment, setting, seed, x):
    """s(T) of trial `seed`'s untrained net in `setting` on `x`, and h' of
    that net's cells (`paper_learning`'s derivative of the layer's own h);
    `experiment` is the bare id ("2c"), its parameters being already in `x`."""
    per_step = paper_tasks.TASKS[experiment].per_step
    model = reproduce.build_model(experiment, setting, x.shape[-1], 1, per_step,
                                  experiment not in ("2a", "2b"), seed)  # fmt: skip
    layer = next(layer for layer in model.layers if isinstance(layer, LSTM1997))
    mask = np.any(x != 0, axis=-1) if experiment not in ("2a", "2b") else None
    _, h_prime = _derivative(layer.cell.activation)
    return last_cell_states(layer, x, mask), h_prime


def _round(values, digits):
    return [round(float(v), digits) for v in values]


def main(experiment, settings):
    name, params = reproduce.parse_experiment(experiment)
    x, _, *_ = paper_tasks.generate(name, 50, 5, **params)
    out = {}
    for setting in settings:
        rows = []
        for seed in range(10):
            s, h_prime = final_states(name, setting, seed, x)
            rows.append({"seed": seed, "mean_s": _round(s.mean(0), 2),
                         "std_s": _round(s.std(0), 2),
                         "mean_h_prime": _round(np.asarray(h_prime(s)).mean(0), 4)})  # fmt: skip
            print(experiment, setting, {k: v for k, v in rows[-1].items() if k != 'std_s'})
        out[setting] = rows
    stem = experiment.replace("/", "_").replace("=", "")
    path = os.path.join(os.path.dirname(__file__), f"state_drift_{stem}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or ["paper", "paper_cells"])
