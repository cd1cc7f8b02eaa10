"""How far apart do the paper's rule and `model.fit` drift on the same
algorithm? (`results/reproduction.md`, "The same algorithm, another
rounding".)

    python results/reproduction/rule_vs_fit.py EXPERIMENT TRIAL SEQUENCES

Builds trial TRIAL's paper-setting net of EXPERIMENT twice with the same
initial weights and trains one copy with `PaperLearningRule` (one update per
sequence) and the other with `train_on_batch` (SGD at the row's learning rate
on the layer's truncated gradient of the paper's error), on the same
SEQUENCES sequences of the trial's training stream. In exact arithmetic the
two are one algorithm; in float32 they sum in different orders. Prints the
largest absolute difference between the two nets' weights after sequences
1, 2, 5, 10, 20, 50, ... and after the last.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.datasets import paper_tasks  # noqa: E402
from lstm_zoo.paper_learning import PaperLearningRule  # noqa: E402


def main(spec, trial, sequences):
    experiment, params = reproduce.parse_experiment(spec)
    row = reproduce.EXPERIMENTS[experiment]
    if experiment == "1" or row.sequential:
        raise ValueError(
            f"Argument `experiment` must train on a stream of fresh sequences without adding "
            f"cells (not 1, 2a or 2b); received: experiment={experiment!r}"
        )
    task = paper_tasks.TASKS[experiment]
    first = paper_tasks.generate(experiment, 1, 0, **params)
    shape = (first[0].shape[-1], first[1].shape[-1], task.per_step, True, trial)
    by_rule = reproduce.build_model(experiment, "paper", *shape)
    by_fit = reproduce.build_model(experiment, "paper", *shape)
    by_fit.set_weights(by_rule.get_weights())
    by_fit.compile(keras.optimizers.SGD(row.learning_rate), by_fit.loss)
    rule = PaperLearningRule(by_rule, row.learning_rate, update="sequence",
                             per_step=task.per_step)  # fmt: skip
    stream = paper_tasks.stream(experiment, 1, seed=(trial,),
                                chunk=reproduce.training_chunk(first[0], 1), bucket=16,
                                **params)  # fmt: skip
    report = {m * 10**k for k in range(8) for m in (1, 2, 5)} | {sequences}
    for k in range(1, sequences + 1):
        x, y, *_ = next(stream)
        rule.train_sequence(x[0], y[0])
        by_fit.train_on_batch(x, y)
        if k in report:
            pairs = zip(rule.get_weights(), by_fit.get_weights(), strict=True)
            gap = max(float(np.max(np.abs(a - b))) for a, b in pairs)
            print(f"after {k} sequences: largest weight difference {gap:.3g}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
