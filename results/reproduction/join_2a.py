"""When 2a's memory cell joins the net, and when its test may run
(`results/reproduction.md`, notes on 2a).

    python results/reproduction/join_2a.py --join=2000 --trials=0,1,2,3,4,5
    python results/reproduction/join_2a.py --no_gate --every=100 --trials=0,1,2,3

Runs paper-setting trials of 2a (p = 100) exactly as `lstm-zoo reproduce
--experiments=2a --settings=paper` does (`reproduce.run_trial`, seed 0), with
two changes one can make:

- `--join=N`: the cell joins after N training sequences, instead of once the
  window's error has stopped decreasing (`reproduce.SequentialConstruction`).
- `--no_gate`: the frozen-weight test runs every `--every` training
  sequences whatever the training window says; `reproduce` tests only once
  the last 1,000 training sequences were all correct (our gate: the paper
  gives 2a no test schedule, and its two sequences are also its test set).

Prints one JSON line per trial (`reproduce.FIELDS`). Nothing is written to
`trials.csv`.
"""

import argparse
import dataclasses
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.datasets import criteria  # noqa: E402


class JoinAt(reproduce.SequentialConstruction):
    """Adds the cell after a fixed number of training sequences."""

    def __init__(self, join, **kwargs):
        super().__init__(**kwargs)
        self.join = join

    def on_train_batch_end(self, batch, logs=None):
        seen = (batch + 1) * self.batch_size
        if self.added_at is None and seen >= self.join:
            self.add_cells(seen)


def main(args):
    if args.join is not None:
        reproduce.SequentialConstruction = lambda **kw: JoinAt(args.join, **kw)
    if args.no_gate:
        rule = criteria.TEST_CRITERIA["2a"]
        criteria.TEST_CRITERIA["2a"] = dataclasses.replace(rule, check_every=args.every)
        gated = criteria.TestSetStopping.on_train_batch_end

        def ungated(self, batch, logs=None):
            return gated(self, batch, {**(logs or {}), self.gate: 1.0})

        criteria.TestSetStopping.on_train_batch_end = ungated
    for trial in args.trials:
        result = reproduce.run_trial("2a", {}, "paper", trial, 0, args.budget)
        result.pop("curve")
        print(json.dumps({"join": args.join, "no_gate": args.no_gate, **result}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--join", type=int, default=None)
    parser.add_argument("--no_gate", action="store_true")
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument(
        "--trials", type=lambda s: [int(t) for t in s.split(",")], default=[0, 1, 2]
    )
    parser.add_argument("--budget", type=int, default=30_000)
    main(parser.parse_args())
