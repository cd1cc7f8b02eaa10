"""Fit glue shared by every training entry point.

- `get_strategy`: TensorFlow's own distribution engine (one device,
  `MirroredStrategy`, `MultiWorkerMirroredStrategy` from `TF_CONFIG`,
  `TPUStrategy`).
- `is_chief`: whether this process writes checkpoints in a multi-worker run.
- `AtomicBackupAndRestore`: Keras' `BackupAndRestore` whose saves are atomic
  and made by the chief only, so a run killed at any moment and started again
  with the same command continues from the last saved epoch, or mid-epoch at
  the next unseen batch.
- `EpochClock`, `epoch_order`: input pipelines whose order and random draws
  are functions of `(seed, epoch)`, so a resumed run sees the same data.
- `TimeLimit`: stops training when a wall-time budget is spent.
"""

import contextlib
import json
import os
import shutil
import tempfile
import time
import weakref

import keras
import numpy as np

from lstm_zoo.checks import positive_int

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def get_strategy(name="default", tpu=None):
    """Returns a `tf.distribute` strategy by name.

    Args:
        name: `"default"` (one device), `"mirrored"` (all local GPUs, or the
            CPU), `"multi_worker"` (workers from the `TF_CONFIG` environment
            variable) or `"tpu"`.
        tpu: TPU address (`grpc://...` or a TPU name) for `name="tpu"`; `None`
            or `"local"` for a TPU VM.

    Returns:
        A `tf.distribute.Strategy`.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"Argument `distribution` must be one of {STRATEGIES}; received: {name!r}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "distribution='multi_worker' reads the cluster from the TF_CONFIG "
                "environment variable, which is not set"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "local")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def is_chief():
    """Whether this process is the chief of its cluster (or runs alone).

    The chief is the task of type `"chief"`, or worker 0 when the cluster in
    `TF_CONFIG` has no chief.
    """
    config = os.environ.get("TF_CONFIG")
    if not config:
        return True
    config = json.loads(config)
    task = config.get("task", {})
    task_type, index = task.get("type"), int(task.get("index", 0))
    if task_type in (None, "chief"):
        return True
    return task_type == "worker" and index == 0 and "chief" not in config.get("cluster", {})


def fit_multi_worker(model, strategy, dataset, epochs, global_batch_size, callbacks=()):
    """A plain training loop for `MultiWorkerMirroredStrategy`.

    Keras 3's `fit` fails under that strategy (keras-team/keras#20585: the
    all-reduces of its first-batch build and of its logs); this loop runs
    `strategy.run` on each global batch with the model's squared-error loss
    averaged over the global batch, lets the Keras optimizer all-reduce the
    gradients, and drives the same Keras callbacks (`on_train_begin`, batch and
    epoch ends), so backups, CSV logs and time limits behave as under `fit`.
    Only the mean-squared-error regression that `train` entry points compile
    is supported here.

    Returns:
        The per-epoch mean training losses of this call.
    """
    import tensorflow as tf

    distributed = strategy.experimental_distribute_dataset(dataset)

    @tf.function
    def train_step(x, y):
        def replica_step(x, y):
            with tf.GradientTape() as tape:
                prediction = model(x, training=True)
                per_example = tf.reduce_mean(
                    tf.square(prediction - tf.cast(y, prediction.dtype)), -1
                )
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
            grads = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply(grads, model.trainable_variables)
            return loss

        return strategy.reduce("SUM", strategy.run(replica_step, args=(x, y)), axis=None)

    callbacks = keras.callbacks.CallbackList(list(callbacks), model=model)
    model.stop_training = False
    model._initial_epoch = 0
    # As in fit, callbacks may wrap `train_function` (a resumed backup passes
    # over the batches trained before the restart).
    model.train_function = lambda batch: {"loss": float(train_step(*batch))}
    callbacks.on_train_begin()
    losses = []
    for epoch in range(model._initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        total, steps = 0.0, 0
        for step, (x, y) in enumerate(distributed):
            logs = model.train_function((x, y))
            if logs:
                total, steps = total + logs["loss"], steps + 1
            callbacks.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        logs = {"loss": total / max(steps, 1)}
        losses.append(logs["loss"])
        print(f"Epoch {epoch + 1}/{epochs} - {steps} steps - loss: {logs['loss']:.4g}", flush=True)
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs if losses else {})
    return losses


def distribute_options(dataset):
    """Shards a `tf.data` dataset by element across workers (global batches)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


class EpochClock(keras.callbacks.Callback):
    """Tells seeded input pipelines which epoch `fit` is in.

    Pipelines that shuffle or augment (`epoch_order`, `speech_dataset`,
    `caption_dataset`, the adding task of `lstm-zoo train`) draw each
    epoch's order and random numbers from `(seed, epoch)` read off this clock
    when their iterator starts, instead of from `tf.data`'s per-iterator seed
    state, which starts again in every process. So epoch `e` sees the same
    data whether the run got there in one go or was restarted from a backup,
    and a restart can resume mid-epoch with the same final weights.

    Put it in `fit`'s callbacks. Without it (a pipeline used on its own), the
    clock counts the passes its pipelines begin.
    """

    def __init__(self):
        super().__init__()
        self.epoch = None
        self._passes = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = int(epoch)

    def current(self):
        """The epoch `fit` is in, or the number of passes begun before this one."""
        if self.epoch is not None:
            return self.epoch
        self._passes += 1
        return self._passes - 1


def epoch_order(count, seed, clock, shuffle=True):
    """A `tf.data.Dataset` of `(index, draw)` pairs: a new permutation of
    `range(count)` each epoch, and for each element a 63-bit random number,
    both functions of `(seed, epoch)` only (`epoch` read from `clock`, an
    `EpochClock`, when an iterator starts).

    Args:
        count: Number of elements.
        seed: Integer seed.
        clock: An `EpochClock`.
        shuffle: False keeps the order `0..count-1` (the draws still change
            with the epoch).

    Returns:
        `tf.data.Dataset` of `(int64 index, int64 draw)`, `count` elements.
    """
    import tensorflow as tf

    count = positive_int("count", count)

    def epoch_elements(_):
        # Read when an iterator starts (the first element of each pass).
        epoch = tf.py_function(clock.current, [], tf.int64)
        key = tf.stack([tf.constant(int(seed), tf.int64), tf.reshape(epoch, [])])
        index = tf.range(count, dtype=tf.int64)
        if shuffle:
            index = tf.random.experimental.stateless_shuffle(index, seed=key)
        draws = tf.random.stateless_uniform([count], seed=key + [0, 2**40], minval=None,
                                            maxval=None, dtype=tf.int64)  # fmt: skip
        return tf.data.Dataset.from_tensor_slices((index, draws & (2**63 - 1)))

    dataset = tf.data.Dataset.range(1).flat_map(epoch_elements)
    return dataset.apply(tf.data.experimental.assert_cardinality(count))


# Attributes of Keras callbacks that a backup saves so that a restarted run
# decides as the uninterrupted one would (callbacks of our own offer
# `get_state()` / `set_state(state)` instead).
_CALLBACK_STATE = {
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
    keras.callbacks.EarlyStopping: ("wait", "best", "stopped_epoch", "best_epoch"),
}


def _callback_state(callback):
    if hasattr(callback, "get_state"):
        return callback.get_state()
    for kind, names in _CALLBACK_STATE.items():
        if isinstance(callback, kind):
            return {name: _plain(getattr(callback, name, None)) for name in names}
    raise ValueError(
        f"Argument `callbacks` holds {type(callback).__name__}, whose state a backup cannot "
        f"save: give it get_state()/set_state()"
    )


def _set_callback_state(callback, state):
    if hasattr(callback, "set_state"):
        callback.set_state(state)
        return
    for name, value in state.items():
        setattr(callback, name, value)


def _plain(value):
    """A JSON-ready copy of a callback attribute (NumPy scalars to Python)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


@keras.saving.register_keras_serializable(package="lstm_zoo")
class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` with atomic, chief-only saves that
    resumes mid-epoch.

    Each save writes the model and optimizer weights, the models' random
    seed states (dropout, augmentation layers) and the training position
    into a fresh folder `backup_dir/state-<n>/`, then switches the pointer
    file `backup_dir/latest.json` to it with an atomic rename, then removes
    older states. A process killed at any moment leaves the previous or the
    new state complete, never a mix or a half-written file. Only the chief
    writes (`is_chief`); every worker restores from the same folder.

    The position is an epoch and the number of its batches already trained.
    A backup made mid-epoch (`save_freq=N`, or a run stopped early by
    `TimeLimit`) resumes at the next unseen batch: the batches the earlier
    run trained are drawn from the input pipeline and passed over without
    training, and the saved state is restored after the last of them. With
    an input pipeline that is a function of the epoch (`EpochClock`) and
    deterministic kernels, the resumed run ends with the weights the
    uninterrupted run would have had. The metrics logged for the resumed
    epoch cover its remaining batches only.

    Args:
        backup_dir: Folder of the backup (shared by all workers).
        save_freq: `"epoch"` or a number of batches.
        delete_checkpoint: Remove the backup when training finishes.
        callbacks: Callbacks whose state the backup saves and restores too
            (`ReduceLROnPlateau` and `EarlyStopping` counters, or any
            callback with `get_state()` / `set_state(state)`).
    """

    POINTER = "latest.json"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, callbacks=()):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        self.stateful_callbacks = list(callbacks)
        for callback in self.stateful_callbacks:
            _callback_state(callback)  # fails early for a callback it cannot save
        self._chief = is_chief()
        self._saves = 0
        self._skip = 0  # batches of the resumed epoch that the earlier run trained
        self._skipped = 0
        self._state = None  # the state folder to restore once they are passed over
        self._batches_done = 0

    def get_config(self):
        return {
            "backup_dir": self.backup_dir,
            "save_freq": self.save_freq,
            "delete_checkpoint": self.delete_checkpoint,
        }

    def _pointer(self):
        path = os.path.join(self.backup_dir, self.POINTER)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def on_train_begin(self, logs=None):
        self._load_model()

    def _seed_states(self):
        return [v for v in self.model.variables if "seed_generator_state" in v.path]

    def _load_model(self):
        pointer = self._pointer()
        if pointer is None:
            return
        if not self.model.built:
            raise ValueError("The model must be built before fit() to restore a backup.")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            # Under a tf.distribute strategy its variables belong in its scope.
            strategy = getattr(self.model, "distribute_strategy", None)
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                self.model.optimizer.build(self.model.trainable_variables)
        epoch, batch = pointer["epoch"], pointer.get("batch", 0)
        self.model._initial_epoch = epoch
        self._current_epoch = epoch
        self._saves = pointer.get("saves", 0)
        states = pointer.get("callbacks", [])
        for callback, state in zip(self.stateful_callbacks, states, strict=False):
            _set_callback_state(callback, state)
        state = os.path.join(self.backup_dir, pointer["state"])
        print(f"Resuming from {self.backup_dir}: epoch {epoch + 1}, after batch {batch}",
              flush=True)  # fmt: skip
        if batch == 0:
            self._restore(state)
            return
        # Pass over the batches the earlier run trained, then restore its state.
        self._skip, self._skipped, self._state = batch, 0, state
        train_function = self.model.train_function
        jax = keras.config.backend() == "jax"

        def skipping(*args):
            if self._skipped < self._skip:
                self._skipped += 1
                if jax:  # (state, data): the data is drawn already
                    return {}, args[0]
                if hasattr(args[0], "get_next"):  # TensorFlow: the step draws its batches
                    for _ in range(self.model.steps_per_execution):
                        args[0].get_next()
                return {}
            return train_function(*args)

        self.model.train_function = skipping
        self._train_function = train_function

    def _restore(self, state):
        self.model.load_weights(os.path.join(state, "model.weights.h5"))
        seeds = os.path.join(state, "seeds.npz")
        if os.path.exists(seeds):
            with np.load(seeds) as saved:
                values = [saved[f"s{i}"] for i in range(len(saved.files))]
            variables = self._seed_states()
            if len(values) != len(variables):
                raise ValueError(
                    f"The backup in {self.backup_dir} holds {len(values)} random seed states; "
                    f"the model has {len(variables)}"
                )
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._batches_done = 0

    def on_train_batch_end(self, batch, logs=None):
        if self._state is not None:
            if batch + 1 < self._skip:
                return
            # The last batch the earlier run trained: continue from its state.
            self._restore(self._state)
            self._state = None
            self.model.train_function = self._train_function
            self.model.reset_metrics()
            self._last_batch_seen = batch
            self._batches_seen_since_last_saving = 0
            self._batches_done = batch + 1
            return
        self._batches_done = batch + 1
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, self._batches_done)

    def on_epoch_end(self, epoch, logs=None):
        if self._state is not None:  # stopped before the resumed batches were passed over
            return
        steps = (self.params or {}).get("steps")
        finished = not self.model.stop_training or (steps and self._batches_done >= steps)
        self._last_batch_seen = 0
        if finished:
            self._current_epoch = epoch + 1
            if self.save_freq == "epoch" or self.model.stop_training:
                self._save_model(epoch + 1, 0)
        else:  # stopped early (time limit): the next run resumes at the next batch
            self._save_model(epoch, self._batches_done)

    def _save_model(self, epoch, batch):
        self._saves += 1
        if not self._chief:
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"state-{self._saves}"
        staging = tempfile.mkdtemp(prefix=".tmp-", dir=self.backup_dir)
        self.model.save_weights(os.path.join(staging, "model.weights.h5"))
        seeds = [keras.ops.convert_to_numpy(v.value) for v in self._seed_states()]
        np.savez(os.path.join(staging, "seeds.npz"), **{f"s{i}": s for i, s in enumerate(seeds)})
        final = os.path.join(self.backup_dir, name)
        shutil.rmtree(final, ignore_errors=True)  # left by a run killed before its pointer moved
        os.rename(staging, final)
        pointer = {
            "state": name,
            "epoch": epoch,
            "batch": batch,
            "saves": self._saves,
            "callbacks": [_callback_state(c) for c in self.stateful_callbacks],
        }
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.backup_dir)
        with os.fdopen(fd, "w") as f:
            json.dump(pointer, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.backup_dir, self.POINTER))
        for entry in os.listdir(self.backup_dir):
            if entry != name and (entry.startswith("state-") or entry.startswith(".tmp-")):
                path = os.path.join(self.backup_dir, entry)
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.remove(path)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and self._chief and not self.model.stop_training:
            shutil.rmtree(self.backup_dir, ignore_errors=True)


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


@keras.saving.register_keras_serializable(package="lstm_zoo")
class StatefulStream(keras.Model):
    """Wraps a model so that `fit` carries its recurrent state from batch to batch.

    For truncated BPTT over one continuous stream (`lstm_zoo.datasets.text.
    stream_dataset`): the final states of batch `i` become the initial states
    of batch `i + 1` (no gradient flows between them). The wrapped model must
    take `initial_states=` and `return_states=True` and offer
    `zero_states(batch_size)`, as `lstm_zoo.applications.LanguageModel` does.
    The states are non-trainable variables of this wrapper, so backups made
    during `fit` restore them too. Use with `ResetStreamStates` to start
    every epoch from zero states.

    Args:
        model: The stream model; its layers (and weights) are shared.
        batch_size: The fixed number of parallel rows of the stream.
    """

    def __init__(self, model, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.batch_size = positive_int("batch_size", batch_size)
        self.state_variables = [
            [
                self.add_weight(
                    shape=tuple(state.shape),
                    initializer="zeros",
                    trainable=False,
                    name=f"state_{i}_{j}",
                )  # fmt: skip
                for j, state in enumerate(layer_states)
            ]
            for i, layer_states in enumerate(model.zero_states(batch_size))
        ]

    def build(self, input_shape):
        if not self.model.built:
            self.model.build(input_shape)
        self.built = True

    def call(self, inputs, training=False):
        states = [[v.value for v in layer] for layer in self.state_variables]
        outputs, final = self.model(
            inputs, initial_states=states, return_states=True, training=training
        )
        for layer_vars, layer_states in zip(self.state_variables, final, strict=True):
            for variable, value in zip(layer_vars, layer_states, strict=True):
                variable.assign(keras.ops.stop_gradient(value))
        return outputs

    def reset_states(self):
        """Sets every carried state to zero."""
        for layer in self.state_variables:
            for variable in layer:
                variable.assign(keras.ops.zeros_like(variable))

    def get_config(self):
        return {
            **super().get_config(),
            "model": keras.saving.serialize_keras_object(self.model),
            "batch_size": self.batch_size,
        }

    @classmethod
    def from_config(cls, config):
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="lstm_zoo")
class ResetStreamStates(keras.callbacks.Callback):
    """Zeroes a `StatefulStream`'s carried states at each epoch (and every N batches).

    Args:
        every: `None` to carry the state through the whole epoch (Zaremba et
            al.), or reset it before every `every`-th batch (1: each batch
            starts from zero states, as the 1997 paper resets its cells at
            the start of every sequence).
    """

    def __init__(self, every=None):
        super().__init__()
        self.every = None if every is None else positive_int("every", every)

    def get_config(self):
        return {"every": self.every}

    def on_train_batch_begin(self, batch, logs=None):
        if self.every is not None and batch % self.every == 0 and batch > 0:
            self.model.reset_states()

    def on_epoch_begin(self, epoch, logs=None):
        self.model.reset_states()


_EVAL_STEPS = weakref.WeakKeyDictionary()  # one traced evaluation step per model


def _eval_step(model):
    import tensorflow as tf

    @tf.function
    def step(x, y, states):
        logits, states = model(x, initial_states=states, return_states=True, training=False)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.cast(y, tf.int32), tf.cast(logits, tf.float32)
        )
        return tf.reduce_sum(tf.cast(losses, tf.float64)), states

    return step


def cross_entropy_summary(nats, unit="token"):
    """`"X nats/unit, perplexity P, B bits/unit"` for a mean cross-entropy in nats."""
    import math

    return (
        f"{nats:.4f} nats/{unit}, perplexity {math.exp(min(nats, 700.0)):.2f}, "
        f"{nats / math.log(2):.4f} bits/{unit}"
    )


def evaluate_stream(model, dataset, reset_every=None):
    """Mean cross-entropy (nats per token) of a model over a token stream.

    The state is carried across the batches of `dataset` (as made by
    `stream_dataset`, every batch the same size) and starts from zero; every
    target token counts once.

    Args:
        model: A model with `zero_states`, `initial_states=` and
            `return_states=True` (`LanguageModel`).
        dataset: `(inputs, targets)` batches of int token ids.
        reset_every: `None` to carry the state through the whole stream, or
            restart from zero states every `reset_every` batches (evaluate a
            model the way `ResetStreamStates(every)` trained it).

    Returns:
        `(nats_per_token, token_count)`.
    """
    step = _EVAL_STEPS.get(model)
    if step is None:
        step = _EVAL_STEPS[model] = _eval_step(model)
    total, count, states = 0.0, 0, None
    for index, (x, y) in enumerate(dataset):
        if states is None or (reset_every and index % reset_every == 0):
            states = model.zero_states(int(x.shape[0]))
        loss, states = step(x, y, states)
        total += float(loss)
        count += int(np.prod(y.shape))
    if count == 0:
        raise ValueError("Argument `dataset` is empty: nothing to evaluate")
    return total / count, count


class StreamValidation(keras.callbacks.Callback):
    """Adds the validation cross-entropy and perplexity of a stream to each epoch's logs.

    Put it before `CSVLogger`, `TensorBoard` and checkpoint callbacks so they
    see `val_nats`, `val_perplexity` and `val_bits`.

    Args:
        model: The model to evaluate (for a `StatefulStream`, the wrapped one).
        dataset: A `stream_dataset` of the validation split.
        reset_every: As for `evaluate_stream`.
        unit: What a token is, for the printed line (`"word"`, `"char"`).
    """

    def __init__(self, model, dataset, reset_every=None, unit="token"):
        super().__init__()
        self.unit = unit
        self.eval_model = model
        self.dataset = dataset
        self.reset_every = reset_every
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        import math

        nats, _ = evaluate_stream(self.eval_model, self.dataset, self.reset_every)
        values = {"val_nats": nats, "val_perplexity": math.exp(min(nats, 700.0)),
                  "val_bits": nats / math.log(2.0)}  # fmt: skip
        self.history.append(values)
        if logs is not None:
            logs.update(values)
        print(f"epoch {epoch + 1}: validation {cross_entropy_summary(nats, self.unit)}", flush=True)


class TranscriptionEvaluation(keras.callbacks.Callback):
    """Adds `{prefix}loss`, `{prefix}label_error_rate`, `{prefix}word_error_rate`
    and `{prefix}sentence_accuracy` to the epoch logs (so CSVLogger, TensorBoard
    and ReduceLROnPlateau see them), decoding `dataset` with
    `model.evaluate_transcripts`. It replaces `fit(validation_data=...)`, which
    would run the network over the same data a second time.

    Args:
        model: A model with `evaluate_transcripts(dataset, beam_width)`
            (`SpeechRecognizer`).
        dataset: `((waveforms, lengths), labels)` batches.
        beam_width: 1 (greedy, default) or a beam width.
        prefix: Prefix of the log keys.
    """

    def __init__(self, model, dataset, beam_width=1, prefix="val_"):
        super().__init__()
        self.recognizer = model
        self.dataset = dataset
        self.beam_width = beam_width
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        result = self.recognizer.evaluate_transcripts(self.dataset, self.beam_width)
        keys = ("loss", "label_error_rate", "word_error_rate", "sentence_accuracy")
        values = {f"{self.prefix}{k}": result[k] for k in keys}
        if logs is not None:
            logs.update(values)
        print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()), flush=True)


class CaptionEvaluation(keras.callbacks.Callback):
    """Adds `{prefix}bleu_1`..`{prefix}bleu_4` and `{prefix}cider_d` (of captions
    generated by `model.evaluate_captions`) to the epoch logs, so CSVLogger and
    TensorBoard see them. Put it before the loggers.

    Args:
        model: A model with `evaluate_captions(images, references, beam_width)`
            (`ImageCaptioner`).
        images: Images to caption.
        references: For each image, its reference captions.
        beam_width: 1 (greedy, default) or a beam width.
        prefix: Prefix of the log keys.
    """

    def __init__(self, model, images, references, beam_width=1, prefix="val_"):
        super().__init__()
        self.captioner = model
        self.images = images
        self.references = references
        self.beam_width = beam_width
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        result = self.captioner.evaluate_captions(self.images, self.references, self.beam_width)
        keys = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "cider_d")
        values = {f"{self.prefix}{k}": result[k] for k in keys}
        if logs is not None:
            logs.update(values)
        print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()), flush=True)
