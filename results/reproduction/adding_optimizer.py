"""Is the adding problem's floor (experiment 4, paper setting) the truncated
gradient's or the optimizer's? (`results/reproduction.md`, experiment 4.)

    python results/reproduction/adding_optimizer.py MODE [TRIAL ...]

Trains the paper's 93-weight net of experiment 4 (T = 100) through
`model.fit`, one sequence a step, for 300,000 sequences, with MODE:
`truncated` (SGD at the paper's 0.5 on the layer's truncated gradient, the
same algorithm as the paper setting's rule), `full` (SGD at 0.5 on the full
gradient) or `adam_truncated` (Adam at 0.01, clipnorm 1, truncated gradient).
Prints each trial's `reproduce.run_trial` result (test wrong fraction on
2,560 fresh sequences).
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.layers import LSTM1997  # noqa: E402

MODES = ("truncated", "full", "adam_truncated")


def main(mode, trials):
    if mode not in MODES:
        raise ValueError(f"Argument `mode` must be one of {MODES}; received: mode={mode!r}")
    build = reproduce.build_model

    def paper_net(experiment, setting, *args, **kwargs):
        model = build(experiment, "paper", *args, **kwargs)
        for layer in model.layers:
            if isinstance(layer, LSTM1997):
                layer.cell.gradient = mode.replace("adam_", "")
        if mode.startswith("adam_"):
            model.compile(keras.optimizers.Adam(0.01, clipnorm=1.0), model.loss,
                          metrics=reproduce.criterion_metrics("4"), steps_per_execution=20)
        return model

    reproduce.build_model = paper_net
    for trial in trials:
        # "modern" only routes the trial through model.fit, one sequence a step.
        result = reproduce.run_trial("4", {"T": 100}, "modern", trial, 0, 300_000)
        result.pop("curve")
        print(json.dumps({"mode": mode, **result}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], [int(t) for t in sys.argv[2:]] or [0, 1, 2])
