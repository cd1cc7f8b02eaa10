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

import json
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
flags.DEFINE_enum(
    "distribution", "default", ["default", "mirrored", "multi_worker", "tpu"],
    "tf.distribute strategy: one device, all local GPUs, workers from TF_CONFIG, or a TPU.",
)  # fmt: skip
flags.DEFINE_string("tpu", None, "TPU address for --distribution=tpu.")
flags.DEFINE_string(
    "backup_dir", "checkpoints/adding_backup",
    "Backup folder that makes a killed run resume; empty to disable.",
)  # fmt: skip
flags.DEFINE_integer("save_freq", 0, "Back up every N batches (0: every epoch).", lower_bound=0)
flags.DEFINE_string("log_csv", None, "Append per-epoch losses to this CSV file.")
flags.DEFINE_string("config", None, "JSON file of flag values (command-line flags win).")

TASKS = ("adding",)


def train_adding():
    """Trains LSTM1997 on the adding problem and prints the test error."""
    import keras
    import numpy as np
    import tensorflow as tf

    from lstm_zoo.datasets import CORRECT_ABS_ERROR, adding_problem
    from lstm_zoo.layers import LSTM1997
    from lstm_zoo.training import (
        AtomicBackupAndRestore,
        TimeLimit,
        distribute_options,
        fit_multi_worker,
        get_strategy,
        is_chief,
    )

    strategy = get_strategy(FLAGS.distribution, tpu=FLAGS.tpu)
    keras.utils.set_random_seed(FLAGS.seed)
    x, y, _ = adding_problem(FLAGS.train_sequences, FLAGS.length, seed=FLAGS.seed)
    x_val, y_val, _ = adding_problem(512, FLAGS.length, seed=FLAGS.seed + 1)
    x_test, y_test, _ = adding_problem(FLAGS.test_sequences, FLAGS.length, seed=FLAGS.seed + 2)
    # Global batches; each worker takes its share of every batch.
    train = distribute_options(
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=FLAGS.seed, reshuffle_each_iteration=True)
        .batch(FLAGS.batch_size)
    )
    val = distribute_options(tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(512))
    with strategy.scope():
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
        f"budget {FLAGS.max_minutes} min, {strategy.num_replicas_in_sync} replica(s)",
        flush=True,
    )
    callbacks = [TimeLimit(FLAGS.max_minutes * 60.0)]
    if FLAGS.log_csv:
        os.makedirs(os.path.dirname(FLAGS.log_csv) or ".", exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(FLAGS.log_csv, append=True))
    if FLAGS.backup_dir:
        save_freq = "epoch" if FLAGS.save_freq == 0 else FLAGS.save_freq
        callbacks.append(AtomicBackupAndRestore(FLAGS.backup_dir, save_freq=save_freq))
    start = time.time()
    if FLAGS.distribution == "multi_worker":
        # Keras 3 fit() fails under MultiWorkerMirroredStrategy (keras#20585).
        fit_multi_worker(model, strategy, train, FLAGS.epochs, FLAGS.batch_size, callbacks)
    else:
        model.fit(
            train,
            epochs=FLAGS.epochs,
            validation_data=val,
            callbacks=callbacks,
            shuffle=False,  # the dataset shuffles itself, seeded
            verbose=2,
        )
    seconds = time.time() - start
    # Called directly (not `predict`), so it also runs outside the replicas of
    # a multi-worker strategy, on every worker alike.
    predictions = np.concatenate(
        [keras.ops.convert_to_numpy(model(x_test[i : i + 512])) for i in range(0, len(x_test), 512)]
    )
    error = np.abs(predictions - y_test)
    baseline = np.abs(0.5 - y_test)
    print(f"trained {seconds:.0f} s, optimizer steps {int(model.optimizer.iterations.numpy())}")
    print(
        f"test ({FLAGS.test_sequences} sequences): MSE {np.mean(error**2):.5f}, "
        f"mean abs error {error.mean():.4f}, wrong (abs error >= {CORRECT_ABS_ERROR}) "
        f"{int((error >= CORRECT_ABS_ERROR).sum())}/{len(error)}"
    )
    print(
        f"trivial baseline (always 0.5): MSE {np.mean(baseline**2):.5f}, "
        f"mean abs error {baseline.mean():.4f}"
    )
    if FLAGS.save_path and is_chief():
        directory = os.path.dirname(os.path.abspath(FLAGS.save_path))
        os.makedirs(directory, exist_ok=True)
        staging = os.path.join(directory, f".tmp-{os.getpid()}.keras")
        model.save(staging)
        os.replace(staging, FLAGS.save_path)  # never a half-written model file
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
    try:
        if len(args) == 2 and args[0] == "train" and args[1] in TASKS:
            return train_adding()
        if len(args) == 2 and args[0] == "export":
            return export(args[1])
        if len(args) == 2 and args[0] == "verify":
            return verify(args[1])
    except ValueError as error:  # bad values met at run time: one line, no traceback
        if os.environ.get("LSTM_ZOO_DEBUG"):
            raise
        return _fail(" ".join(str(error).split()))
    print(f"{USAGE}; received: {' '.join(args) or '(nothing)'}", file=sys.stderr)
    return 2


_TYPES = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "string": (str,),
    "enum": (str,),
}


def _apply_config(path):
    """Sets flags from a JSON object; flags given on the command line win."""
    try:
        with open(path) as f:
            values = json.load(f)
    except OSError as error:
        raise flags.Error(f"--config: cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise flags.Error(f"--config: {path} is not valid JSON: {error}") from None
    if not isinstance(values, dict):
        raise flags.Error(f"--config: {path} must hold a JSON object of flag values")
    for key, value in values.items():
        if key not in FLAGS or key in ("config", "helpfull", "help", "helpshort"):
            raise flags.Error(f"--config: unknown key {key!r} in {path}")
        flag = FLAGS[key]
        if flag.present:
            continue
        kind = flag.flag_type()
        allowed = _TYPES.get(kind, (str,))
        if (isinstance(value, bool) and kind != "bool") or not isinstance(value, allowed):
            raise flags.Error(
                f"--config: key {key!r} in {path} must be {kind}; received "
                f"{type(value).__name__} {value!r}"
            )
        try:
            flag.parse(value)
        except flags.Error as error:
            raise flags.Error(f"--config: key {key!r} in {path}: {error}") from None


def parse_flags(argv):
    """absl flag parsing with one-line errors (exit status 2)."""
    try:
        rest = FLAGS(argv)
        if FLAGS.config:
            _apply_config(FLAGS.config)
    except flags.Error as error:
        print(f"lstm-zoo: error: {' '.join(str(error).split())}", file=sys.stderr)
        sys.exit(2)
    return rest


def run():
    """Console-script entry point."""
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
