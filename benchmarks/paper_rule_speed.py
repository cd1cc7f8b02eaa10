"""Sequences per second of the paper's learning rule against the Keras path.

Trains the paper's net of an experiment (`lstm_zoo.reproduce.build_model`, one
sequence at a time) three ways, interleaved, in one process:

- `a1_online`: `lstm_zoo.paper_learning.PaperLearningRule`, on-line updates
  (the paper setting of `lstm-zoo reproduce`);
- `a1_sequence`: the same rule, one update per sequence;
- `keras_fit`: `model.fit` with SGD, batches of one sequence, the truncated
  gradient of `LSTM1997(gradient="truncated")` (the paper setting before the
  rule: one update per sequence).

Each repeat trains every way on the same fresh sequences (a warm-up call
compiles first); the table gives the median over repeats and the spread
(min-max) in sequences per second, and each way's median as a ratio to
`keras_fit`.

    KERAS_BACKEND=jax python benchmarks/paper_rule_speed.py --experiment=4 --repeats=5
"""

import os
import platform
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("experiment", "4", "The paper's experiment (its net and data).")
flags.DEFINE_integer("sequences", 2000, "Sequences per timed run.", lower_bound=10)
flags.DEFINE_integer("repeats", 5, "Timed repeats of each way.", lower_bound=1)
flags.DEFINE_string("output", None, "Markdown file to append the table to.")


def main(argv):
    del argv
    import keras
    import numpy as np

    from lstm_zoo import reproduce
    from lstm_zoo.datasets import paper_tasks
    from lstm_zoo.paper_learning import PaperLearningRule

    experiment = FLAGS.experiment
    task = paper_tasks.TASKS[experiment]
    first = paper_tasks.generate(experiment, 1, 0)
    inputs, outputs = first[0].shape[-1], first[1].shape[-1]
    masked = experiment not in ("2a", "2b")
    spec = reproduce.EXPERIMENTS[experiment]

    def batches(seed):
        return paper_tasks.stream(experiment, 1, seed=(seed,), chunk=2048, bucket=16)

    def a1(update):
        model = reproduce.build_model(experiment, "paper", inputs, outputs, task.per_step,
                                      masked, seed=0)  # fmt: skip
        rule = PaperLearningRule(model, spec.learning_rate, update=update,
                                 per_step=task.per_step)  # fmt: skip

        def run(seed, count):
            rule.fit(batches(seed), count, log_every=100)

        return run

    def keras_fit():
        model = reproduce.build_model(experiment, "paper", inputs, outputs,
                                      task.per_step, masked, seed=0)  # fmt: skip
        model.compile(keras.optimizers.SGD(spec.learning_rate), reproduce.HalfSquaredError(),
                      steps_per_execution=100)  # fmt: skip

        def run(seed, count):
            model.fit(batches(seed), steps_per_epoch=count, epochs=1, verbose=0)

        return run

    ways = {"a1_online": a1("step"), "a1_sequence": a1("sequence"), "keras_fit": keras_fit()}
    for run in ways.values():  # compile every length bucket first
        run(999, 500)
    rates = {name: [] for name in ways}
    for repeat in range(FLAGS.repeats):
        for name, run in ways.items():
            start = time.perf_counter()
            run(repeat, FLAGS.sequences)
            rates[name].append(FLAGS.sequences / (time.perf_counter() - start))
            print(f"repeat {repeat + 1}: {name} {rates[name][-1]:.0f} sequences/s", flush=True)
    base = float(np.median(rates["keras_fit"]))
    lines = [
        f"Experiment {experiment} ({task.title}), the paper's net, one sequence at a time; "
        f"Keras {keras.__version__} on {keras.config.backend()}, {platform.processor() or 'CPU'}"
        f", {os.cpu_count()} cores; {FLAGS.sequences} sequences per run, "
        f"{FLAGS.repeats} interleaved repeats.",
        "",
        "| way | sequences/s, median | min-max | vs keras_fit |",
        "|---|---|---|---|",
    ]
    for name, values in rates.items():
        median = float(np.median(values))
        lines.append(f"| {name} | {median:,.0f} | {min(values):,.0f}-{max(values):,.0f} | "
                     f"{median / base:.2f}x |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    if FLAGS.output:
        with open(FLAGS.output, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    app.run(main)
