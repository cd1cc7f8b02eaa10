"""The test schedule of the rows judged on a test set (2a-2c, 3a-3c):
`results/reproduction.md`, "The paper's ambiguities".

    python results/reproduction/test_schedule.py EXPERIMENT SETTING BUDGET CHECK_EVERY \
        TRIAL [TRIAL ...]

`reproduce` tests the frozen net only while the training window says it may
be ready (the `criterion_met` gate of `criteria.TestSetStopping`; ours, the
paper gives no schedule), at most every `TestCriterion.check_every`
sequences. This script runs `reproduce.run_trial` with the gate always open
and the test every CHECK_EVERY training sequences: the same nets, data, rule
and test sets. Prints one JSON line per trial (the curve left out; `checks`,
the number of tests run) and appends it to
`test_schedule_<experiment>_<setting>.jsonl` beside this script.
"""

import dataclasses
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import screen  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.datasets import criteria  # noqa: E402


class Ungated(criteria.TestSetStopping):
    """`TestSetStopping` with its gate always open."""

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, {**(logs or {}), self.gate: 1.0})


def main(spec, setting, budget, check_every, trials):
    experiment, params = reproduce.parse_experiment(spec)
    criteria.TEST_CRITERIA[experiment] = dataclasses.replace(
        criteria.TEST_CRITERIA[experiment], check_every=check_every)  # fmt: skip
    made = []

    def stopping(*args, **kwargs):
        made.append(Ungated(*args, **kwargs))
        return made[-1]

    criteria.TestSetStopping = stopping
    screen.record(screen.name_for("test_schedule", spec, setting), experiment, params, setting,
                  trials, budget,
                  lambda: {"check_every": check_every, "checks": len(made[-1].checks)})  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
         [int(t) for t in sys.argv[5:]] or [0])  # fmt: skip
