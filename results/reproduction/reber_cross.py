"""Experiment 1, paper setting: is a trial's outcome its training set's or its
initial weights'? (`results/reproduction.md`, experiment 1's side screens.)

    python results/reproduction/reber_cross.py INIT_TRIAL DATA_TRIAL [DATA_TRIAL ...]

Runs `reproduce.run_trial("1", {}, "paper", DATA_TRIAL, 0, 100_000)`, whose
training and test strings and their order are DATA_TRIAL's, with the net
built from INIT_TRIAL's seed (`reproduce.build_model`'s `trial_seed`).
Prints one JSON line per trial (the curve left out) and appends it to
`reber_cross.jsonl` beside this script.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import screen  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402


def main(init_trial, data_trials):
    build_model = reproduce.build_model

    def build(experiment, setting, inputs, outputs, per_step, masked, trial_seed, overrides):
        return build_model(experiment, setting, inputs, outputs, per_step, masked, init_trial,
                           overrides)  # fmt: skip

    reproduce.build_model = build
    screen.record("reber_cross", "1", {}, "paper", data_trials, 100_000,
                  lambda: {"init_seed": init_trial})  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(t) for t in sys.argv[2:]])
