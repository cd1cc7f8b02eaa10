"""How much the modern setting's multiplication net changes from one Adam
step to the next late in training (`results/reproduction.md`, experiment 5).

    python results/reproduction/adam_steps_5.py [TRIAL FROM STEPS]

Retrains the modern setting's trial TRIAL (seed 0) of experiment 5 with
n_seq = 13 for FROM sequences (default: trial 7, 726,020, the execution
before the one where its criterion was met at 726,032), then takes STEPS
(default 20) more Adam steps, one sequence each, on the same stream, and
prints the fraction of 2,560 fresh test sequences wrong after every step.
"""

import itertools
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.datasets import criteria, paper_tasks  # noqa: E402


def main(trial=7, start=726_020, steps=20):
    params = {"T": 100}
    first = paper_tasks.generate("5", 1, 0, **params)
    chunk = reproduce.training_chunk(first[0], 1)
    model = reproduce.build_model("5", "modern", 2, 1, False, True, trial, {"max_wrong": 12})

    def data():
        return paper_tasks.stream("5", 1, seed=(trial,), chunk=chunk, bucket=16, **params)

    model.fit(data(), steps_per_epoch=start, epochs=1, shuffle=False, verbose=0,
              callbacks=[criteria.CriterionStopping()])  # fmt: skip
    print(start, reproduce.test_error(model, "5", params, 0), flush=True)
    for batch in itertools.islice(data(), start, start + steps):
        model.train_on_batch(batch[0], batch[1])
        step = int(model.optimizer.iterations.numpy())
        print(step, reproduce.test_error(model, "5", params, 0), flush=True)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
