"""What the one-off screens beside this file share: run trials of
`reproduce.run_trial` and keep each result as a JSON line.

The screens (`gate_bias.py`, `optimizer_screen.py`, `precision.py`, `rate_screen.py`,
`reber_cross.py`, `simulator_init.py`, `start_state.py`, `test_schedule.py`)
patch `reproduce`, `criteria` or the layer first, then call `record`. The
`lstm_c_*.py` scripts run the JKU simulator's own functions instead
(`lstm_c_reber.py`, `lstm_c_stream.py`, `lstm_c_check.py`).
"""

import json
import os

from lstm_zoo import reproduce

HERE = os.path.dirname(os.path.abspath(__file__))


def name_for(prefix, spec, setting):
    """`<prefix>_<spec>_<setting>`, the spec as a file name (`5/n_seq=13`:
    `5_n_seq13`)."""
    return f"{prefix}_{spec.replace('/', '_').replace('=', '')}_{setting}"


def record(name, experiment, params, setting, trials, budget, extra, seed=0):
    """Runs `trials` and, after each, prints its result (the curve left out,
    `extra()`'s fields added) as one JSON line and appends the line to
    `<name>.jsonl` beside this file."""
    path = os.path.join(HERE, f"{name}.jsonl")
    for trial in trials:
        result = reproduce.run_trial(experiment, params, setting, trial, seed, budget)
        result.pop("curve")
        result.update(extra())
        line = json.dumps(result)
        print(line, flush=True)
        with open(path, "a") as f:
            f.write(line + "\n")
