"""The adding task's recipe: `train(config, workdir) -> (model, metrics)`.

An `LSTM1997` layer and a Dense head trained with Adam on the paper's adding
problem (experiment 4), evaluated against the trivial baseline (always 0.5).
"""

import keras
import numpy as np
import tensorflow as tf

from lstm_zoo.datasets import CORRECT_ABS_ERROR, adding_problem
from lstm_zoo.layers import LSTM1997
from lstm_zoo.tasks.adding.config import AddingConfig
from lstm_zoo.training import EpochClock, Run, epoch_order


def train(config=None, workdir="runs/adding"):
    """Trains, evaluates, saves (and with `config.export`, exports) the model.

    Args:
        config: An `AddingConfig` (default: its defaults).
        workdir: The run's folder (`lstm_zoo.training.Run`).

    Returns:
        `(model, metrics)`: the trained Keras model and its test metrics.
    """
    config = config or AddingConfig()
    run = Run("adding", config, workdir)
    x, y, _ = adding_problem(config.train_sequences, config.length, seed=config.seed)
    x_val, y_val, _ = adding_problem(512, config.length, seed=config.seed + 1)
    x_test, y_test, _ = adding_problem(config.test_sequences, config.length, seed=config.seed + 2)
    # Global batches; each worker takes its share of every batch. Epoch e's
    # order is a function of (seed, e), so a resumed run sees the same batches.
    clock = EpochClock()
    x_all, y_all = tf.constant(x), tf.constant(y)
    train_ds = run.dataset(
        epoch_order(len(x), config.seed, clock)
        .map(lambda i, draw: i)
        .batch(config.batch_size)
        .map(lambda i: (tf.gather(x_all, i), tf.gather(y_all, i)))
    )
    val = run.dataset(tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(512))
    with run.scope():
        model = keras.Sequential([
            keras.Input((None, 2)),
            keras.layers.Masking(0.0),
            LSTM1997(config.units, cells_per_block=config.cells_per_block,
                     gradient=config.gradient),
            keras.layers.Dense(1),
        ])  # fmt: skip
        model.compile(keras.optimizers.Adam(config.learning_rate), loss="mse", metrics=["mae"])
    print(
        f"Adding problem T={config.length}: {config.train_sequences} training sequences, "
        f"LSTM1997({config.units}, cells_per_block={config.cells_per_block}, "
        f"gradient={config.gradient!r}), {model.count_params()} weights, "
        f"budget {config.max_minutes} min, {run.replicas} replica(s)",
        flush=True,
    )
    run.fit(model, train_ds, validation_data=val, callbacks=[clock])
    # Called directly (not `predict`), so it also runs outside the replicas of
    # a multi-worker strategy, on every worker alike.
    predictions = np.concatenate(
        [keras.ops.convert_to_numpy(model(x_test[i : i + 512])) for i in range(0, len(x_test), 512)]
    )
    error = np.abs(predictions - y_test)
    baseline = np.abs(0.5 - y_test)
    metrics = {"test_mse": float(np.mean(error**2)), "test_mean_abs_error": float(error.mean()),
               "test_wrong": int((error >= CORRECT_ABS_ERROR).sum()),
               "test_sequences": len(error), "baseline_mse": float(np.mean(baseline**2)),
               "baseline_mean_abs_error": float(baseline.mean())}  # fmt: skip
    print(
        f"test ({config.test_sequences} sequences): MSE {metrics['test_mse']:.5f}, "
        f"mean abs error {metrics['test_mean_abs_error']:.4f}, wrong (abs error >= "
        f"{CORRECT_ABS_ERROR}) {metrics['test_wrong']}/{len(error)}"
    )
    print(f"trivial baseline (always 0.5): MSE {metrics['baseline_mse']:.5f}, "
          f"mean abs error {metrics['baseline_mean_abs_error']:.4f}")  # fmt: skip
    card = {"application": "adding", "config": model.get_config(),
            "training_data": f"adding problem T={config.length}, seed {config.seed}",
            "metrics": metrics, "training": {"seconds": run.seconds,
                                             "config": config.to_dict()}}  # fmt: skip
    run.finish(model, metrics, card=card)
    return model, metrics
