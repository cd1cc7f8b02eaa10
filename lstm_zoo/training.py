"""Fit glue shared by every training entry point."""

import time

import keras


@keras.saving.register_keras_serializable(package="lstm_zoo")
class TimeLimit(keras.callbacks.Callback):
    """Stops training once a wall-time budget is spent (checked after each batch).

    Keras has no built-in time-budget callback, hence this small one.

    Args:
        seconds: Budget in seconds, counted from the start of `fit`.
    """

    def __init__(self, seconds):
        super().__init__()
        if seconds < 0:
            raise ValueError(f"Argument `seconds` must be >= 0; received: seconds={seconds!r}")
        self.seconds = float(seconds)
        self.stopped_early = False

    def get_config(self):
        return {"seconds": self.seconds}

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()
        self.stopped_early = False

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self._start >= self.seconds:
            self.model.stop_training = True
            self.stopped_early = True
