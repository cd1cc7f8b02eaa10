"""The training driver and the fit glue every recipe shares.

- `Run`: the one driver of every `train` command (strategy, working
  directory, budget, logs, backup, save, metrics, export).
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

import keras
import numpy as np

from lstm_zoo.checks import positive_int

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def get_strategy(name="default", tpu=None):
    """Returns a `tf.distribute` strategy by name.

    Args:
        name: `"default"` (one device), `"mirrored"` (all local GPUs, or
            without a GPU every logical CPU), `"multi_worker"` (workers from
            the `TF_CONFIG` environment variable) or `"tpu"`.
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
        # All local GPUs; without one, every logical CPU (one unless configured).
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy(
            None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
        )
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


def fit_multi_worker(model, strategy, dataset, epochs, callbacks=()):
    """A plain training loop for `MultiWorkerMirroredStrategy`.

    Keras 3's `fit` fails under that strategy (keras-team/keras#20585: the
    all-reduces of its first-batch build and of its logs); this loop runs
    `strategy.run` on each global batch: the model's own `compute_loss`
    (the compiled loss, or the application's, scaled by the replica count
    as Keras does), its gradient, and the Keras optimizer, which all-reduces
    the gradients. It drives the same Keras callbacks (`on_train_begin`,
    batch and epoch ends), so backups, CSV logs and time limits behave as
    under `fit`.

    Returns:
        The per-epoch mean training losses of this call.
    """
    import tensorflow as tf

    distributed = strategy.experimental_distribute_dataset(dataset)

    @tf.function
    def train_step(data):
        def replica_step(data):
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            with tf.GradientTape() as tape:
                prediction = model(x, training=True)
                loss = model.compute_loss(x=x, y=y, y_pred=prediction,
                                          sample_weight=sample_weight, training=True)  # fmt: skip
            grads = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply(grads, model.trainable_variables)
            return loss

        return strategy.reduce("SUM", strategy.run(replica_step, args=(data,)), axis=None)

    callbacks = keras.callbacks.CallbackList(list(callbacks), model=model)
    model.stop_training = False
    model._initial_epoch = 0
    # As in fit, callbacks may wrap `train_function` (a resumed backup passes
    # over the batches trained before the restart).
    model.train_function = lambda batch: {"loss": float(train_step(batch))}
    callbacks.on_train_begin()
    losses = []
    for epoch in range(model._initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        total, steps = 0.0, 0
        for step, batch in enumerate(distributed):
            callbacks.on_train_batch_begin(step)
            logs = model.train_function(batch)
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


class Run:
    """The one training driver of every recipe (`lstm-zoo train TASK`).

    It owns what every run shares, read from a `RunConfig`:

    - the `tf.distribute` strategy (`config.distribution`): build and compile
      the model inside `run.scope()`; `run.fit` uses Keras' `fit`, or
      `fit_multi_worker` under `MultiWorkerMirroredStrategy`;
    - the working directory, with a fixed layout: `config.json` (the run's
      configuration), `log.csv` (per-epoch logs, appended across restarts),
      `tensorboard/`, `backup/` (`AtomicBackupAndRestore`: a run killed at
      any moment and started again with the same command resumes where it
      stopped), `model.keras` (saved atomically) and `metrics.json`;
    - the time budget (`config.max_minutes`, `TimeLimit`);
    - the export (`config.export`, `config.base_dir`, `config.version`) with
      the model's card.

    Only the chief of a multi-worker cluster writes files.

    Args:
        task: The command's name (`"adding"`, `"speech"`, ...), the default
            name of the export.
        config: The recipe's `RunConfig`.
        workdir: The run's folder (made when training starts, so input that
            fails before leaves nothing behind).
    """

    def __init__(self, task, config, workdir):
        self.task = task
        self.config = config
        self.workdir = os.fspath(workdir)
        self.chief = is_chief()
        self.strategy = get_strategy(config.distribution, tpu=config.tpu)
        self.seconds = None
        keras.utils.set_random_seed(config.seed)

    def path(self, name):
        """The path of `name` inside the working directory."""
        return os.path.join(self.workdir, name)

    def scope(self):
        """The strategy's scope: build and compile models inside it."""
        return self.strategy.scope()

    @property
    def replicas(self):
        """Replicas that share each global batch."""
        return self.strategy.num_replicas_in_sync

    def dataset(self, dataset):
        """`dataset` of global batches, sharded by element across workers."""
        return distribute_options(dataset) if self.config.distribution != "default" else dataset

    def callbacks(self, stateful=()):
        """Time limit, CSV log, TensorBoard and backup; the backup also saves
        the state of the `stateful` callbacks (plateau counters)."""
        config = self.config
        callbacks = [TimeLimit(config.max_minutes * 60.0)]
        if self.chief:
            callbacks.append(keras.callbacks.CSVLogger(self.path("log.csv"), append=True))
        if config.tensorboard and self.chief:
            callbacks.append(keras.callbacks.TensorBoard(self.path("tensorboard"),
                                                         write_graph=False))  # fmt: skip
        if config.backup:
            save_freq = "epoch" if config.save_freq == 0 else config.save_freq
            callbacks.append(AtomicBackupAndRestore(self.path("backup"), save_freq=save_freq,
                                                    callbacks=stateful))  # fmt: skip
        return callbacks

    def fit(self, model, train, validation_data=None, callbacks=(), stateful=()):
        """Trains `model` (compiled in `scope()`) for `config.epochs` epochs.

        Args:
            model: The model to train.
            train: A `tf.data.Dataset` of global batches (`x`, `y`).
            validation_data: Passed to Keras' `fit`.
            callbacks: The recipe's own callbacks (run before the loggers,
                so they can add to the epoch logs).
            stateful: Callbacks among `callbacks` whose state the backup
                saves.

        Returns:
            The training seconds.
        """
        if self.chief:  # the first file of the run: bad data has failed before
            os.makedirs(self.workdir, exist_ok=True)
            write_json(self.path("config.json"), {"task": self.task, **self.config.to_dict()})
        callbacks = [*callbacks, *self.callbacks(stateful)]
        start = time.time()
        if self.config.distribution == "multi_worker":
            # Keras 3 fit() fails under MultiWorkerMirroredStrategy (keras#20585).
            fit_multi_worker(model, self.strategy, train, self.config.epochs, callbacks)
        else:
            model.fit(train, epochs=self.config.epochs, validation_data=validation_data,
                      callbacks=callbacks, shuffle=False, verbose=2)  # fmt: skip
        self.seconds = time.time() - start
        steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        print(f"trained {self.seconds:.0f} s, {steps} steps", flush=True)
        return self.seconds

    def finish(self, model, metrics, card=None, endpoints=None, name=None):
        """Writes `metrics.json`, saves `model.keras` and exports (chief only).

        Args:
            model: The trained model.
            metrics: The final metrics (a JSON-ready dict).
            card: The model card (export metadata); by default the model's
                `model_card()`, or a plain one.
            endpoints: Serving endpoints of the export (default: the
                model's own, or Keras' default endpoint).
            name: Name of the export (default: the task).

        Returns:
            The export's path, or `None`.
        """
        if not self.chief:
            return None
        if card is None:
            facts = {"metrics": metrics, "training": {"seconds": self.seconds,
                                                       "config": self.config.to_dict()}}
            card = model.model_card(**facts) if hasattr(model, "model_card") else \
                {"application": self.task, "config": model.get_config(), **facts}  # fmt: skip
        write_json(self.path("metrics.json"), {
            "metrics": metrics, "seconds": self.seconds, "parameters": model.count_params(),
            **{k: v for k, v in card.items() if k not in ("metrics", "config")},
        })  # fmt: skip
        save_model(model, self.path("model.keras"))
        if not self.config.export:
            return None
        from lstm_zoo._quiet import hiding_enabled, quiet_stderr
        from lstm_zoo.export import export_model

        with quiet_stderr(hiding_enabled()):  # TensorFlow's INFO lines of tracing and XLA
            path = export_model(model, name or self.task, base_dir=self.config.base_dir,
                                version=self.config.version, metadata=card,
                                endpoints=endpoints)  # fmt: skip
        print(f"exported {path}", flush=True)
        return path


def write_json(path, value):
    """Writes JSON atomically."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as f:
        json.dump(value, f, indent=1, default=str)
    os.replace(tmp, path)


def save_model(model, path):
    """Saves a `.keras` file atomically (never a half-written model file)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    staging = os.path.join(directory, f".tmp-{os.getpid()}.keras")
    model.save(staging)
    os.replace(staging, path)
    print(f"saved {path}", flush=True)


def random_tenth(items, seed):
    """`(tenth, rest)`: a random tenth of `items` (at least one) and the others."""
    order = np.random.default_rng(seed).permutation(len(items))
    cut = max(1, len(items) // 10)
    return [items[i] for i in order[:cut]], [items[i] for i in order[cut:]]
