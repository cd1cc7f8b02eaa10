"""Experiment 1, paper setting: is a trial's outcome its training set's or its
initial weights'? (`results/reproduction.md`, experiment 1's side screens.)

    python results/reproduction/reber_cross.py INIT_TRIAL DATA_TRIAL [DATA_TRIAL ...]

Runs `reproduce.run_trial("1", {}, "paper", DATA_TRIAL, 0, 100_000)`, whose
training and test strings and their order are DATA_TRIAL's, with the net
built from INIT_TRIAL's seed (`reproduce.build_model`'s `trial_seed`).
Prints one JSON line per trial (the curve left out) and appends it to
`reber_cross.jsonl` beside this script.
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

from lstm_zoo import reproduce  # noqa: E402


def main(init_trial, data_trials):
    build_model = reproduce.build_model

    def build(experiment, setting, inputs, outputs, per_step, masked, trial_seed, overrides):
        return build_model(experiment, setting, inputs, outputs, per_step, masked, init_trial,
                           overrides)  # fmt: skip

    reproduce.build_model = build
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reber_cross.jsonl")
    for data_trial in data_trials:
        result = reproduce.run_trial("1", {}, "paper", data_trial, 0, 100_000)
        result.pop("curve")
        result["init_seed"] = init_trial
        line = json.dumps(result)
        print(line, flush=True)
        with open(path, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(t) for t in sys.argv[2:]])
