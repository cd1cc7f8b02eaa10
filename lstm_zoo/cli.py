"""The `lstm-zoo` command line (absl).

    lstm-zoo train adding [--length=100] [--units=16] [--max_minutes=3] ...
    lstm-zoo export NAME --checkpoint=PATH.keras [--version=N] [--overwrite]
    lstm-zoo verify SAVED_MODEL_DIR

`train adding` trains an `LSTM1997` layer on the paper's adding problem
(experiment 4) with Adam, prints its test error against the trivial baseline
and saves the model to `--save_path`. It needs no download. `export` writes a
trained `.keras` model to `<base_dir>/NAME/<version>/` for TF Serving;
`verify` checks such a folder in a fresh process that cannot import lstm_zoo.
"""

import os
import subprocess
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
flags.DEFINE_string("save_path", "checkpoints/adding.keras", "Where `train` saves the model.")
flags.DEFINE_string("checkpoint", None, "`.keras` model file that `export` exports.")
flags.DEFINE_integer("version", None, "Version to export (default: the next free).", lower_bound=1)
flags.DEFINE_string("base_dir", "saved_models", "Folder of exported models.")
flags.DEFINE_bool("overwrite", False, "Let `export` replace an existing version.")

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
    if FLAGS.save_path:
        os.makedirs(os.path.dirname(FLAGS.save_path) or ".", exist_ok=True)
        model.save(FLAGS.save_path)
        print(f"saved {FLAGS.save_path}")
    return 0


def export(name):
    """Exports a trained `.keras` model with `lstm_zoo.export`."""
    import keras

    import lstm_zoo  # noqa: F401  (registers the lstm_zoo objects for loading)
    from lstm_zoo.export import export_saved_model

    if not FLAGS.checkpoint:
        return _fail("export needs --checkpoint=PATH (a .keras file saved by `train`)")
    if not os.path.isfile(FLAGS.checkpoint):
        return _fail(f"--checkpoint: no such file: {FLAGS.checkpoint}")
    try:
        model = keras.saving.load_model(FLAGS.checkpoint, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - any load failure is a bad file
        return _fail(f"--checkpoint: cannot load {FLAGS.checkpoint} as a Keras model: {error}")
    try:
        path = export_saved_model(
            model,
            name,
            base_dir=FLAGS.base_dir,
            version=FLAGS.version,
            overwrite=FLAGS.overwrite,
            metadata={
                "application": name,
                "checkpoint": os.path.abspath(FLAGS.checkpoint),
                "config": model.get_config(),
            },
        )
    except (FileExistsError, ValueError) as error:
        return _fail(str(error))
    print(path)
    return 0


def verify(directory):
    """Runs `lstm_zoo/verify_saved_model.py` in a fresh interpreter."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verify_saved_model.py")
    return subprocess.run([sys.executable, script, directory], check=False).returncode


def _fail(message):
    print(f"lstm-zoo: error: {message}", file=sys.stderr)
    return 2


USAGE = (
    f"usage: lstm-zoo train {{{','.join(TASKS)}}} [--flags] | "
    "lstm-zoo export NAME --checkpoint=PATH | lstm-zoo verify DIR"
)


def main(argv):
    args = argv[1:]
    if len(args) == 2 and args[0] == "train" and args[1] in TASKS:
        return train_adding()
    if len(args) == 2 and args[0] == "export":
        return export(args[1])
    if len(args) == 2 and args[0] == "verify":
        return verify(args[1])
    print(f"{USAGE}; received: {' '.join(args) or '(nothing)'}", file=sys.stderr)
    return 2


def run():
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
