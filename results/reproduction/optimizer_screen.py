"""Is a row's shortfall the paper's truncated gradient's or its optimizer's?
(`results/reproduction.md`: experiments 4 and 1.)

    python results/reproduction/optimizer_screen.py [--rate=R] EXPERIMENT MODE BUDGET \
        TRIAL [TRIAL ...]

Trains the paper's net of EXPERIMENT (as `lstm-zoo reproduce --experiments`
takes it: `4`, `1`) through `model.fit`, one sequence a step, for at most
BUDGET sequences, with MODE:

- `truncated`: SGD at the row's learning rate (`--rate`: R instead) on the layer's truncated
  gradient of the paper's error. With one sequence a step this is the paper
  setting's rule, one update per sequence (`lstm_zoo.paper_learning`), so it
  should repeat the table's `paper` row;
- `full`: the same SGD on the full gradient (backpropagation through time
  through every connection, the recurrent ones into the gates included);
- `adam_truncated`, `adam_full`: Adam at 0.01 (clipnorm 1) on either gradient.

The net, its initial weights, the training data and the criterion are the
table's; only the gradient or the optimizer changes. Prints one JSON line
per trial (the curve left out) and appends it to
`optimizer_<experiment>_<mode>.jsonl` beside this script (with `--rate`,
`optimizer_<experiment>_<mode>_rate<R>.jsonl`).
"""

import dataclasses
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import screen  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.layers import LSTM1997  # noqa: E402

MODES = ("truncated", "full", "adam_truncated", "adam_full")
ADAM_RATE = 0.01


def main(spec, mode, budget, trials, rate=None):
    if mode not in MODES:
        raise ValueError(f"Argument `mode` must be one of {MODES}; received: mode={mode!r}")
    adam = mode.startswith("adam_")
    experiment, params = reproduce.parse_experiment(spec)
    if reproduce.EXPERIMENTS[experiment].sequential:
        # model.fit has no sequential construction: the cell would never join.
        raise ValueError(
            f"Experiment {experiment} adds its cell during training; this screen "
            "trains through model.fit, which does not"
        )
    name = screen.name_for("optimizer", spec, mode)
    if rate is not None:
        reproduce.EXPERIMENTS[experiment] = dataclasses.replace(
            reproduce.EXPERIMENTS[experiment], learning_rate=rate)  # fmt: skip
        name += f"_rate{rate:g}"
    build = reproduce.build_model

    def paper_net(experiment, setting, *args, **kwargs):
        model = build(experiment, "paper", *args, **kwargs)
        for layer in model.layers:
            if isinstance(layer, LSTM1997):
                layer.cell.gradient = mode.replace("adam_", "")
        if adam:
            model.compile(keras.optimizers.Adam(ADAM_RATE, clipnorm=1.0), model.loss,
                          metrics=reproduce.criterion_metrics(experiment),
                          steps_per_execution=20)  # fmt: skip
        return model

    reproduce.build_model = paper_net
    # "modern" only routes the trial through model.fit, one sequence a step.
    rate = ADAM_RATE if adam else reproduce.EXPERIMENTS[experiment].learning_rate
    screen.record(name, experiment, params, "modern", trials, budget,
                  lambda: {"mode": mode, "learning_rate": rate})  # fmt: skip


if __name__ == "__main__":
    args = sys.argv[1:]
    rate = float(args.pop(0).split("=", 1)[1]) if args[0].startswith("--rate=") else None
    main(args[0], args[1], int(args[2]), [int(t) for t in args[3:]] or [0], rate)
