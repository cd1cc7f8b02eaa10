"""A learning-rate screen of one row of the reproduction (`results/reproduction.md`).

    python results/reproduction/rate_screen.py [--seed=S] EXPERIMENT SETTING RATE BUDGET \
        TRIAL [TRIAL ...]

Runs `reproduce.run_trial` with the row's `Experiment.learning_rate` (the
modern setting: `modern_learning_rate`) replaced by RATE: the same nets,
draws, data, rule or optimizer and criterion as the table's rows.
EXPERIMENT is as `lstm-zoo reproduce --experiments` takes it (`1`, `4`);
`--seed` is `reproduce.run`'s base seed (default 0, the table's: trial k of
seed s is seed 1000 s + k).
Prints one JSON line per trial (the curve left out) and appends it to
`rate_<experiment>_<setting>.jsonl` beside this script.
"""

import dataclasses
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import screen  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402


def main(spec, setting, rate, budget, trials, seed=0):
    experiment, params = reproduce.parse_experiment(spec)
    field = "modern_learning_rate" if setting == "modern" else "learning_rate"
    reproduce.EXPERIMENTS[experiment] = dataclasses.replace(
        reproduce.EXPERIMENTS[experiment], **{field: rate})  # fmt: skip
    screen.record(screen.name_for("rate", spec, setting), experiment, params, setting, trials,
                  budget, lambda: {"learning_rate": rate}, seed)  # fmt: skip


if __name__ == "__main__":
    args = sys.argv[1:]
    seed = int(args.pop(0).split("=", 1)[1]) if args[0].startswith("--seed=") else 0
    main(args[0], args[1], float(args[2]), int(args[3]), [int(t) for t in args[4:]] or [0],
         seed)  # fmt: skip
