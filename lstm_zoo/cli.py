"""The `lstm-zoo` command line (absl).

    lstm-zoo train adding [--length=100] [--units=16] [--max_minutes=3] ...

`train adding` trains an `LSTM1997` layer on the paper's adding problem
(experiment 4) with Adam and prints its test error against the trivial
baseline. It needs no download.
"""

import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS

flags.DEFINE_integer("length", 100, "Minimal sequence length T of the task.", lower_bound=22)
flags.DEFINE_integer("units", 16, "Memory cells of the LSTM1997 layer.", lower_bound=1)
flags.DEFINE_integer("cells_per_block", 1, "Cells sharing one pair of gates.", lower_bound=1)
flags.DEFINE_enum("gradient", "full", ["full", "truncated"], "Gradient mode of the cell.")
flags.DEFINE_integer("train_sequences", 20000, "Training set size.", lower_bound=1)
flags.DEFINE_integer("test_sequences", 2560, "Test set size (the paper's 2560).", lower_bound=1)
flags.DEFINE_integer("batch_size", 32, "Mini-batch size.", lower_bound=1)
flags.DEFINE_integer("epochs", 10, "Most passes over the training set.", lower_bound=1)
flags.DEFINE_float("learning_rate", 0.005, "Adam learning rate.", lower_bound=0.0)
flags.DEFINE_float("max_minutes", 3.0, "Wall-time budget for training.", lower_bound=0.0)
flags.DEFINE_integer("seed", 0, "Seed for data and weights.")

TASKS = ("adding",)


def train_adding():
    """Trains LSTM1997 on the adding problem and prints the test error."""
    import keras
    import numpy as np

    from lstm_zoo.datasets import CORRECT_ABS_ERROR, adding_problem
    from lstm_zoo.layers import LSTM1997
    from lstm_zoo.training import TimeLimit

    keras.utils.set_random_seed(FLAGS.seed)
    x, y, _ = adding_problem(FLAGS.train_sequences, FLAGS.length, seed=FLAGS.seed)
    x_val, y_val, _ = adding_problem(512, FLAGS.length, seed=FLAGS.seed + 1)
    x_test, y_test, _ = adding_problem(FLAGS.test_sequences, FLAGS.length, seed=FLAGS.seed + 2)
    model = keras.Sequential(
        [
            keras.Input((None, 2)),
            keras.layers.Masking(0.0),
            LSTM1997(
                FLAGS.units,
                cells_per_block=FLAGS.cells_per_block,
                gradient=FLAGS.gradient,
            ),
            keras.layers.Dense(1),
        ]
    )
    model.compile(keras.optimizers.Adam(FLAGS.learning_rate), loss="mse", metrics=["mae"])
    print(
        f"Adding problem T={FLAGS.length}: {FLAGS.train_sequences} training sequences, "
        f"LSTM1997({FLAGS.units}, cells_per_block={FLAGS.cells_per_block}, "
        f"gradient={FLAGS.gradient!r}), {model.count_params()} weights, "
        f"budget {FLAGS.max_minutes} min",
        flush=True,
    )
    start = time.time()
    model.fit(
        x,
        y,
        batch_size=FLAGS.batch_size,
        epochs=FLAGS.epochs,
        validation_data=(x_val, y_val),
        callbacks=[TimeLimit(FLAGS.max_minutes * 60.0)],
        verbose=2,
    )
    seconds = time.time() - start
    error = np.abs(model.predict(x_test, batch_size=512, verbose=0) - y_test)
    baseline = np.abs(0.5 - y_test)
    print(f"trained {seconds:.0f} s")
    print(
        f"test ({FLAGS.test_sequences} sequences): MSE {np.mean(error**2):.5f}, "
        f"mean abs error {error.mean():.4f}, wrong (abs error >= {CORRECT_ABS_ERROR}) "
        f"{int((error >= CORRECT_ABS_ERROR).sum())}/{len(error)}"
    )
    print(
        f"trivial baseline (always 0.5): MSE {np.mean(baseline**2):.5f}, "
        f"mean abs error {baseline.mean():.4f}"
    )
    return 0


def main(argv):
    args = argv[1:]
    if len(args) != 2 or args[0] != "train" or args[1] not in TASKS:
        print(
            f"usage: lstm-zoo train {{{','.join(TASKS)}}} [--flags]; received: "
            f"{' '.join(args) or '(nothing)'}",
            file=sys.stderr,
        )
        return 2
    return train_adding()


def run():
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
