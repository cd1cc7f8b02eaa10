"""The `lstm-zoo` command line (absl).

    lstm-zoo train adding [--length=100] [--units=16] [--max_minutes=3] ...
    lstm-zoo train language_model [--corpus=PATH] [--level=word|char] [--config=small] ...
    lstm-zoo train speech [--data=PATH] [--cell=lstm1997] [--test_speakers=...] ...
    lstm-zoo train captioning [--data=PATH] [--cell=lstm1997] [--encoder=small] ...
    lstm-zoo reproduce [--experiments=1,2a,4/T=1000] [--trials=3] [--quick] ...
    lstm-zoo export NAME --checkpoint=PATH.keras [--version=N] [--overwrite]
    lstm-zoo verify SAVED_MODEL_DIR

`train adding` trains an `LSTM1997` layer on the paper's adding problem
(experiment 4) with Adam, prints its test error against the trivial baseline
and saves the model to `--save_path`. It needs no download. `export` writes a
trained `.keras` model to `<base_dir>/NAME/<version>/` for TF Serving;
`verify` checks such a folder in a fresh process that cannot import lstm_zoo.
`train language_model`, `train speech` and `train captioning` train, evaluate
and export the applications (see the README). `reproduce` runs the paper's
experiments in the paper's and a modern setting and writes a report
(`lstm_zoo.reproduce`).
"""

import collections
import json
import os
import subprocess
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS

flags.DEFINE_integer("length", 100, "Minimal sequence length T of the task.", lower_bound=22)
flags.DEFINE_integer("units", None, "Memory cells per layer (default: per task).", lower_bound=1)
flags.DEFINE_integer("cells_per_block", 1, "Cells sharing one pair of gates.", lower_bound=1)
flags.DEFINE_enum("gradient", "full", ["full", "truncated"], "Gradient mode of the cell.")
flags.DEFINE_integer("train_sequences", 20000, "Training set size.", lower_bound=1)
flags.DEFINE_integer("test_sequences", 2560, "Test set size (the paper's 2560).", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Mini-batch size (default: per task).", lower_bound=1)
flags.DEFINE_integer("epochs", None, "Most passes over the training set (default: per task).",
                     lower_bound=1)  # fmt: skip
flags.DEFINE_float("learning_rate", None, "Learning rate (default: per task and optimizer).",
                   lower_bound=0.0)  # fmt: skip
flags.DEFINE_float("max_minutes", None, "Wall-time budget for training (default: per task).",
                   lower_bound=0.0)  # fmt: skip
flags.DEFINE_integer("seed", 0, "Seed for data and weights.")
flags.DEFINE_string(
    "save_path",
    None,
    "Where `train` saves the model (default checkpoints/TASK.keras; empty: don't).",
)
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
    "backup_dir", None,
    "Backup folder that makes a killed run resume (default checkpoints/TASK_backup; empty: none).",
)  # fmt: skip
flags.DEFINE_integer("save_freq", 0, "Back up every N batches (0: every epoch).", lower_bound=0)
flags.DEFINE_string("log_csv", None, "Append per-epoch losses to this CSV file.")
flags.DEFINE_string(
    "config", None,
    "JSON file of flag values (command-line flags win); for language_model also the name of "
    "a model configuration: small, medium or large (same as --model_config).",
)  # fmt: skip
# language_model
flags.DEFINE_string("corpus", None, "Text corpus: a PTB folder, a folder of .txt files or a "
                    "text file (default: the embedded Python documentation).")  # fmt: skip
flags.DEFINE_enum("level", "word", ["word", "char"], "Language model tokens.")
MODEL_CONFIGS = ("small", "medium", "large")  # lstm_zoo.applications.language_model.CONFIGS
flags.DEFINE_enum("model_config", "small", MODEL_CONFIGS,
                  "Zaremba et al.'s configuration (sizes, dropout, schedule).")  # fmt: skip
flags.DEFINE_enum("cell", "lstm1997",
                  ["lstm1997", "lstm1997_forget_gate", "keras_lstm", "keras_gru"],
                  "Recurrent cell of the application.")  # fmt: skip
flags.DEFINE_integer("num_layers", None, "Recurrent layers (default: the config's).", lower_bound=1)
flags.DEFINE_float("dropout", None, "Dropout between layers (default: the config's).",
                   lower_bound=0.0, upper_bound=0.99)  # fmt: skip
flags.DEFINE_integer("num_steps", None, "Unroll length (default: the config's).", lower_bound=1)
flags.DEFINE_enum(
    "optimizer",
    "sgd",
    ["sgd", "adam"],
    "sgd: the paper's (learning rate 1, clipping, decay); adam: learning rate 0.002, no decay.",
)
flags.DEFINE_float("clip_norm", None, "Global gradient-norm clip (default: the config's).",
                   lower_bound=0.0)  # fmt: skip
flags.DEFINE_integer("max_tokens", 10000, "Vocabulary size, <unk> included (word level).",
                     lower_bound=2)  # fmt: skip
flags.DEFINE_integer(
    "reset_every", None,
    "Restart the carried state every N batches (0: carry it through the epoch, Zaremba et al.); "
    "default 5 for the 1997 cell, which has no forget gate, else 0.", lower_bound=0,
)  # fmt: skip
flags.DEFINE_list(
    "split",
    ["0.9", "0.05", "0.05"],
    "train,valid,test fractions for a corpus without its own splits.",
)
flags.DEFINE_string("tensorboard_dir", None, "TensorBoard folder (default runs/TASK; empty: none).")
flags.DEFINE_bool("export", True, "Export a SavedModel to --base_dir after training.")
# speech
flags.DEFINE_string(
    "data", None,
    "speech: a manifest .tsv/.csv (path, transcript[, speaker]), a folder holding one, "
    "an FSDD or LibriSpeech folder, or tfds:spoken_digit / tfds:speech_commands prepared in "
    "--tfds_data_dir (default: the synthesised eSpeak NG digit corpus). captioning: a COCO "
    "captions_*.json or Flickr8k/30k captions file, or a folder holding one (default: "
    "rendered shape scenes).",
)  # fmt: skip
flags.DEFINE_string("tfds_data_dir", None, "TFDS data_dir for --data=tfds:NAME (no download).")
flags.DEFINE_string("synth_dir", "data/spoken_digits",
                    "Folder of the synthesised digit corpus (made on first use).")  # fmt: skip
flags.DEFINE_integer("synth_utterances", 4000, "Utterances of the synthesised corpus.",
                     lower_bound=10)  # fmt: skip
flags.DEFINE_bool("add_synthesized", False,
                  "With --data, also train on the synthesised corpus.")  # fmt: skip
flags.DEFINE_list(
    "test_speakers", None,
    "Speakers held out for testing (a name ending in '/' is a prefix). Default: the held-out "
    "voices of the synthesised corpus (test/), else a random tenth of the utterances.",
)  # fmt: skip
flags.DEFINE_integer("sample_rate", None,
                     "Model sampling rate in Hz (default 8000 for FSDD and spoken_digit, "
                     "else 16000); other rates are resampled.", lower_bound=1000)  # fmt: skip
flags.DEFINE_string("labels", "digits", "Label set: digits (words), characters, or a file of "
                    "labels, one per line (phones or words).")  # fmt: skip
flags.DEFINE_enum("label_type", None, ["words", "characters", "phones"],
                  "How transcripts split into labels (default: the label set's).")  # fmt: skip
flags.DEFINE_integer("beam_width", None, "Beam width for evaluation and export (1: greedy; "
                     "default 8 for speech, 3 for captioning).", lower_bound=1)  # fmt: skip
flags.DEFINE_bool("augment", True, "Random gain and noise on the training audio.")
flags.DEFINE_float("speed_perturbation", 0.0, "With --augment, play training audio at random "
                   "speeds in [1-x, 1+x] (0: off).", lower_bound=0.0, upper_bound=0.5)  # fmt: skip
flags.DEFINE_bool("spec_augment", False, "Speech: SpecAugment frequency and time masks on the "
                  "training features (2 bands of up to 8 channels, 2 spans of up to 10 "
                  "frames).")  # fmt: skip
flags.DEFINE_float("vtlp", 0.0, "Speech: stretch each training utterance's spectrum by a "
                   "random factor in [1-x, 1+x] (vocal tract length perturbation; 0: off).",
                   lower_bound=0.0, upper_bound=0.49)  # fmt: skip
flags.DEFINE_integer("num_cepstra", 0, "Speech: feed the first N mel-frequency cepstral "
                     "coefficients instead of the 40 log-mel channels (0: log-mel).",
                     lower_bound=0, upper_bound=40)  # fmt: skip
flags.DEFINE_float("floor_db", 0.0, "Speech: add a noise floor this many dB below each "
                   "utterance's peak to the filterbank powers, so that clean and noisy "
                   "backgrounds look alike (0: none).", lower_bound=0.0)  # fmt: skip
flags.DEFINE_float("upper_hz", None, "Speech: highest filterbank edge in Hz (default: half the "
                   "sample rate), e.g. for recordings that carry nothing above it.",
                   lower_bound=0.0)  # fmt: skip
flags.DEFINE_float("min_learning_rate", 0.0, "Speech and captioning: the learning rate, halved "
                   "when the validation loss stalls, stops at this value (0: no limit).",
                   lower_bound=0.0)  # fmt: skip
flags.DEFINE_enum("on_error", "raise", ["raise", "skip"],
                  "Bad audio files: stop with the file's name, or skip them with a warning.")
flags.DEFINE_float("input_gate_bias", None,
                   "Initial input-gate bias of the 1997 cells (speech; negative: the paper's "
                   "remedy for internal state drift).")  # fmt: skip
flags.DEFINE_string("metrics_json", None, "Write the final test metrics to this JSON file.")
# captioning
flags.DEFINE_integer("image_size", None, "Side of the square model images (default 64 for the "
                     "shape scenes, else 224).", lower_bound=32)  # fmt: skip
flags.DEFINE_string("encoder", "small", "Image encoder: small (built-in CNN) or a "
                    "keras.applications model name (MobileNetV2, InceptionV3, ...).")  # fmt: skip
flags.DEFINE_string("encoder_weights", None, "Weights file for the encoder (e.g. ImageNet "
                    "weights you have locally; default: random).")  # fmt: skip
flags.DEFINE_bool("train_encoder", True, "Fine-tune the encoder (else frozen).")
flags.DEFINE_integer("embedding_dim", None, "Image and word embedding size (default 256).",
                     lower_bound=1)  # fmt: skip
flags.DEFINE_integer("min_count", None, "Words rarer than this become <unk> (default 1 for the "
                     "shape scenes, else 5).", lower_bound=1)  # fmt: skip
flags.DEFINE_integer("max_caption_length", 20, "Most words of a caption, end word included.",
                     lower_bound=2)  # fmt: skip
flags.DEFINE_float("length_penalty", 0.0, "Beam-search length normalisation exponent "
                   "(0: log-probability; 1: per word).", lower_bound=0.0)  # fmt: skip
flags.DEFINE_integer("scenes", 6000, "Training scenes of the embedded shape-scene corpus.",
                     lower_bound=10)  # fmt: skip
flags.DEFINE_integer("max_images", None, "Read at most this many images of --data.",
                     lower_bound=1)  # fmt: skip
flags.DEFINE_string("examples_dir", None, "Write test images (PNG) with their captions here.")

flags.DEFINE_list("experiments", None, "Experiments to reproduce, e.g. 1,2a,4/T=1000,"
                  "2c/p=1000/q=1000 (default: all of lstm_zoo.reproduce.DEFAULT_EXPERIMENTS).")
flags.DEFINE_list("settings", ["paper", "modern"], "Settings to run: paper, modern.")
flags.DEFINE_integer("trials", 3, "Trials per experiment and setting.", lower_bound=1)
flags.DEFINE_integer("budget", None, "Most training sequences per trial (default: per "
                     "experiment).", lower_bound=1)  # fmt: skip
flags.DEFINE_bool("quick", False, "Reproduce a small subset with small budgets (a smoke check "
                  "of a few minutes).")  # fmt: skip
flags.DEFINE_string("output_dir", "reproduction", "Folder of the reproduction's trials.csv, "
                    "curves and plots.")  # fmt: skip
flags.DEFINE_string("report", None, "Markdown report of `reproduce` (default "
                    "OUTPUT_DIR/report.md).")  # fmt: skip
flags.DEFINE_bool("report_only", False, "Write the report from OUTPUT_DIR/trials.csv; train "
                  "nothing.")  # fmt: skip
flags.DEFINE_enum("backend", "jax", ["jax", "tensorflow"], "Keras backend of `reproduce` (JAX "
                  "compiles the online updates ~30x faster on CPU; falls back to TensorFlow "
                  "when JAX is not installed).")  # fmt: skip

TASKS = ("adding", "language_model", "speech", "captioning")

# Defaults of the shared flags, per task (language-model values come from
# its --model_config where None).
TASK_DEFAULTS = {
    "adding": {"units": 16, "batch_size": 32, "epochs": 10, "learning_rate": 0.005,
               "max_minutes": 3.0},
    "language_model": {"max_minutes": 60.0},
    "speech": {"units": 128, "num_layers": 2, "batch_size": 16, "epochs": 40,
               "learning_rate": 0.001, "max_minutes": 20.0, "dropout": 0.0, "beam_width": 8},
    "captioning": {"units": 256, "embedding_dim": 256, "batch_size": 64, "epochs": 30,
                   "learning_rate": 0.001, "max_minutes": 10.0, "dropout": 0.1,
                   "beam_width": 3},
}  # fmt: skip


def _flag(name, task, fallback=None):
    """A flag's value, or the task's default when the flag was not given."""
    value = getattr(FLAGS, name)
    if value is not None:
        return value
    return TASK_DEFAULTS.get(task, {}).get(name, fallback)


def _path_flag(name, task, default):
    value = getattr(FLAGS, name)
    return default.format(task=task) if value is None else value


def train_adding():
    """Trains LSTM1997 on the adding problem and prints the test error."""
    import keras
    import numpy as np
    import tensorflow as tf

    from lstm_zoo.datasets import CORRECT_ABS_ERROR, adding_problem
    from lstm_zoo.layers import LSTM1997
    from lstm_zoo.training import (
        EpochClock,
        distribute_options,
        epoch_order,
        fit_multi_worker,
        get_strategy,
        is_chief,
    )

    units, batch_size = _flag("units", "adding"), _flag("batch_size", "adding")
    epochs, max_minutes = _flag("epochs", "adding"), _flag("max_minutes", "adding")
    save_path = _path_flag("save_path", "adding", "checkpoints/{task}.keras")
    strategy = get_strategy(FLAGS.distribution, tpu=FLAGS.tpu)
    keras.utils.set_random_seed(FLAGS.seed)
    x, y, _ = adding_problem(FLAGS.train_sequences, FLAGS.length, seed=FLAGS.seed)
    x_val, y_val, _ = adding_problem(512, FLAGS.length, seed=FLAGS.seed + 1)
    x_test, y_test, _ = adding_problem(FLAGS.test_sequences, FLAGS.length, seed=FLAGS.seed + 2)
    # Global batches; each worker takes its share of every batch. Epoch e's
    # order is a function of (seed, e), so a resumed run sees the same batches.
    clock = EpochClock()
    x_all, y_all = tf.constant(x), tf.constant(y)
    train = distribute_options(
        epoch_order(len(x), FLAGS.seed, clock)
        .map(lambda i, draw: i)
        .batch(batch_size)
        .map(lambda i: (tf.gather(x_all, i), tf.gather(y_all, i)))
    )
    val = distribute_options(tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(512))
    with strategy.scope():
        model = keras.Sequential(
            [
                keras.Input((None, 2)),
                keras.layers.Masking(0.0),
                LSTM1997(
                    units,
                    cells_per_block=FLAGS.cells_per_block,
                    gradient=FLAGS.gradient,
                ),
                keras.layers.Dense(1),
            ]
        )
        optimizer = keras.optimizers.Adam(_flag("learning_rate", "adding"))
        model.compile(optimizer, loss="mse", metrics=["mae"])
    print(
        f"Adding problem T={FLAGS.length}: {FLAGS.train_sequences} training sequences, "
        f"LSTM1997({units}, cells_per_block={FLAGS.cells_per_block}, "
        f"gradient={FLAGS.gradient!r}), {model.count_params()} weights, "
        f"budget {max_minutes} min, {strategy.num_replicas_in_sync} replica(s)",
        flush=True,
    )
    callbacks = [clock, *_run_callbacks("adding", max_minutes, tensorboard=False)]
    start = time.time()
    if FLAGS.distribution == "multi_worker":
        # Keras 3 fit() fails under MultiWorkerMirroredStrategy (keras#20585).
        fit_multi_worker(model, strategy, train, epochs, batch_size, callbacks)
    else:
        model.fit(
            train,
            epochs=epochs,
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
    if save_path and is_chief():
        _save_model(model, save_path)
    return 0


def _run_callbacks(task, max_minutes, tensorboard=True, stateful=()):
    """The callbacks every `train` task shares: time limit, CSV log, TensorBoard
    (`--tensorboard_dir`, default runs/TASK) and backup (`--backup_dir`, default
    checkpoints/TASK_backup); an empty folder flag turns its callback off.
    The backup also saves the state of the `stateful` callbacks (the
    learning-rate plateau counters)."""
    import keras

    from lstm_zoo.training import AtomicBackupAndRestore, TimeLimit

    callbacks = [TimeLimit(max_minutes * 60.0)]
    if FLAGS.log_csv:
        os.makedirs(os.path.dirname(FLAGS.log_csv) or ".", exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(FLAGS.log_csv, append=True))
    tensorboard_dir = _path_flag("tensorboard_dir", task, "runs/{task}") if tensorboard else None
    if tensorboard_dir:
        callbacks.append(keras.callbacks.TensorBoard(tensorboard_dir, write_graph=False))
    backup_dir = _path_flag("backup_dir", task, "checkpoints/{task}_backup")
    if backup_dir:
        save_freq = "epoch" if FLAGS.save_freq == 0 else FLAGS.save_freq
        callbacks.append(AtomicBackupAndRestore(backup_dir, save_freq=save_freq,
                                                callbacks=stateful))  # fmt: skip
    return callbacks


def _write_metrics_json(model, metrics, seconds, data_name, **extra):
    """Writes the final metrics and the run's facts to --metrics_json, if given."""
    if not FLAGS.metrics_json:
        return
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.metrics_json)), exist_ok=True)
    with open(FLAGS.metrics_json, "w") as f:
        json.dump({"metrics": metrics, "seconds": seconds, "cell": FLAGS.cell,
                   "parameters": model.count_params(), "data": data_name, **extra},
                  f, indent=1)  # fmt: skip


def _save_model(model, path):
    """Saves a `.keras` file atomically (never a half-written model file)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    staging = os.path.join(directory, f".tmp-{os.getpid()}.keras")
    model.save(staging)
    os.replace(staging, path)
    print(f"saved {path}")


def _export_model(model, name, metadata, endpoints=None):
    """Exports with the --base_dir, --version and --overwrite flags.

    Applications bring their own endpoints and examples (raw text or audio in,
    text out); string ops and CTC decoding do not compile with XLA, so their
    outer functions are not jitted. Other models get the default endpoint,
    XLA-compiled.
    """
    from lstm_zoo.export import export_saved_model

    own = hasattr(model, "serving_endpoints")
    if own and endpoints is None:
        endpoints = model.serving_endpoints()
    return export_saved_model(
        model, name, base_dir=FLAGS.base_dir, version=FLAGS.version, overwrite=FLAGS.overwrite,
        endpoints=endpoints, examples=model.serving_examples() if own else None,
        jit_compile=not own, metadata=metadata,
    )  # fmt: skip


def train_language_model():
    """Trains, evaluates and exports a `LanguageModel` (Zaremba et al. 2014)."""
    import math

    import keras

    from lstm_zoo.applications.language_model import (
        CONFIGS,
        LanguageModel,
        summed_sequence_crossentropy,
    )
    from lstm_zoo.datasets import text as text_data
    from lstm_zoo.layers.text_tokenizer import TextTokenizer
    from lstm_zoo.training import (
        ResetStreamStates,
        StatefulStream,
        StreamValidation,
        cross_entropy_summary,
        evaluate_stream,
    )

    task = "language_model"
    config = CONFIGS[FLAGS.model_config]
    batch_size = _flag("batch_size", task, config["batch_size"])
    num_steps = FLAGS.num_steps or config["num_steps"]
    epochs = _flag("epochs", task, config["epochs"])
    max_minutes = _flag("max_minutes", task)
    clip_norm = config["clip_norm"] if FLAGS.clip_norm is None else FLAGS.clip_norm
    learning_rate = _flag(
        "learning_rate", task, config["learning_rate"] if FLAGS.optimizer == "sgd" else 0.002
    )
    reset_every = FLAGS.reset_every
    if reset_every is None:
        reset_every = 5 if FLAGS.cell == "lstm1997" else 0
    reset_every = reset_every or None
    try:
        split = [float(f) for f in FLAGS.split]
    except ValueError:
        raise ValueError(
            f"--split must be three numbers; received: {','.join(FLAGS.split)}"
        ) from None
    save_path = _path_flag("save_path", task, "checkpoints/{task}.keras")

    keras.utils.set_random_seed(FLAGS.seed)
    if FLAGS.corpus:
        corpus = text_data.load_corpus(FLAGS.corpus, split=split)
        corpus_name = os.path.abspath(FLAGS.corpus)
    else:
        corpus = text_data.embedded_corpus(split=split)
        corpus_name = "embedded: pydoc_data.topics (Python documentation)"
    ptb = bool(FLAGS.corpus) and text_data.is_ptb_layout(FLAGS.corpus)
    standardize = "none" if ptb else "lower_and_split_punctuation"
    tokenizer = TextTokenizer.adapt_from_text(
        corpus["train"], level=FLAGS.level, standardize=standardize,
        max_tokens=FLAGS.max_tokens if FLAGS.level == "word" else None,
    )  # fmt: skip
    streams, ids = text_data.token_streams(corpus, tokenizer, batch_size, num_steps)
    if "valid" not in streams:
        raise ValueError(
            f"The validation split has {len(ids['valid'])} tokens, too few for "
            f"--batch_size={batch_size} and --num_steps={num_steps}"
        )
    eval_split = "test" if "test" in streams else "valid"
    train, valid = streams["train"], streams["valid"]
    unit = "word" if FLAGS.level == "word" else "char"
    unigram = text_data.unigram_cross_entropy(ids["train"], ids[eval_split],
                                              tokenizer.vocabulary_size)  # fmt: skip

    model = LanguageModel(
        tokenizer, config=FLAGS.model_config, num_layers=FLAGS.num_layers, units=FLAGS.units,
        dropout=FLAGS.dropout, cell=FLAGS.cell,
    )  # fmt: skip
    model.build((batch_size, num_steps))
    trainer = StatefulStream(model, batch_size)
    trainer.build((batch_size, num_steps))
    if FLAGS.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate, global_clipnorm=clip_norm or None)
    else:
        # The loss is summed over the unrolled steps; Adam's step size ignores that scale.
        optimizer = keras.optimizers.Adam(learning_rate, global_clipnorm=clip_norm or None)
    trainer.compile(optimizer, loss=summed_sequence_crossentropy)
    print(
        f"Language model ({FLAGS.level} level, {FLAGS.model_config} config, cell {FLAGS.cell}): "
        f"{corpus_name}; {len(ids['train'])} training {unit}s, vocabulary "
        f"{tokenizer.vocabulary_size}; {model.num_layers} x {model.units} units, dropout "
        f"{model.dropout}, {model.count_params()} weights; batch {batch_size} x {num_steps} steps, "
        f"{FLAGS.optimizer} lr {learning_rate}, clip {clip_norm}, state reset "
        f"{'every ' + str(reset_every) + ' batches' if reset_every else 'per epoch'}; "
        f"budget {max_minutes} min",
        flush=True,
    )
    decay_after, decay = config["decay_after"], config["decay"]

    def schedule(epoch, lr):
        if FLAGS.optimizer != "sgd":
            return lr
        return learning_rate * decay ** max(0, epoch + 1 - decay_after)

    callbacks = [
        ResetStreamStates(reset_every),
        keras.callbacks.LearningRateScheduler(schedule),
        StreamValidation(model, valid, reset_every, unit=unit),  # before the loggers
        *_run_callbacks(task, max_minutes),
    ]
    start = time.time()
    trainer.fit(train, epochs=epochs, callbacks=callbacks, shuffle=False, verbose=2)
    seconds = time.time() - start

    nats, count = evaluate_stream(model, streams[eval_split], reset_every)
    per = "word" if FLAGS.level == "word" else "character"
    print(f"trained {seconds:.0f} s, {int(trainer.optimizer.iterations.numpy())} steps")
    print(f"{eval_split} ({count} {unit}s): {cross_entropy_summary(nats, unit)}")
    print(f"unigram baseline: {cross_entropy_summary(unigram, unit)}")
    prompt = "the" if FLAGS.level == "word" else "The"
    sample = model.generate([prompt], num_tokens=60 if FLAGS.level == "word" else 300,
                            temperature=0.8, top_k=40, seed=FLAGS.seed)[0]  # fmt: skip
    print(f"sample ({per}s, temperature 0.8, top-k 40) after {prompt!r}:\n{prompt}"
          f"{' ' if FLAGS.level == 'word' else ''}{sample}")  # fmt: skip
    if save_path:
        _save_model(model, save_path)
    if FLAGS.export:
        path = _export_model(
            model, task,
            metadata={
                "application": task,
                "config": model.get_config() | {"tokenizer": None},
                "level": FLAGS.level,
                "cell": FLAGS.cell,
                "vocabulary_size": tokenizer.vocabulary_size,
                "training_data": corpus_name,
                "metrics": {f"{eval_split}_nats_per_{unit}": nats,
                            f"{eval_split}_perplexity": math.exp(nats),
                            f"{eval_split}_bits_per_{unit}": nats / math.log(2),
                            f"unigram_nats_per_{unit}": unigram},
                "training": {"seconds": seconds, "batch_size": batch_size,
                             "num_steps": num_steps, "optimizer": FLAGS.optimizer,
                             "learning_rate": learning_rate, "reset_every": reset_every},
            },
        )  # fmt: skip
        print(f"exported {path}")
    return 0


def _speech_data(sample_rate):
    """Utterances of --data (or the synthesised corpus) and a description."""
    from lstm_zoo.datasets import speech

    synth = None
    if FLAGS.data and not FLAGS.data.startswith("tfds:") and not os.path.exists(FLAGS.data):
        raise ValueError(f"--data: no such file or folder: {FLAGS.data}")
    if not FLAGS.data or FLAGS.add_synthesized:
        manifest = speech.synthesize_spoken_digits(FLAGS.synth_dir, FLAGS.synth_utterances,
                                                   seed=FLAGS.seed)  # fmt: skip
        synth = speech.load_manifest(manifest, sample_rate, on_error=FLAGS.on_error)
    if not FLAGS.data:
        return synth, None, f"synthesised eSpeak NG digit strings ({FLAGS.synth_dir})"
    if FLAGS.data.startswith("tfds:"):
        if not FLAGS.tfds_data_dir:
            raise ValueError("--data=tfds:NAME needs --tfds_data_dir (a prepared TFDS data_dir)")
        utterances = speech.load_tfds_speech(FLAGS.data[5:], FLAGS.tfds_data_dir,
                                             sample_rate=sample_rate)  # fmt: skip
    else:
        utterances = speech.load_speech_folder(FLAGS.data, sample_rate,
                                               on_error=FLAGS.on_error)  # fmt: skip
    return utterances, synth, os.path.abspath(FLAGS.data) if ":" not in FLAGS.data else FLAGS.data


def _speech_labels():
    if FLAGS.labels in ("digits", "characters"):
        return FLAGS.labels
    if not os.path.isfile(FLAGS.labels):
        raise ValueError(f"--labels must be digits, characters or a file; received: {FLAGS.labels}")
    with open(FLAGS.labels, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def _speech_cell_kwargs():
    if FLAGS.input_gate_bias is None:
        return None
    if not FLAGS.cell.startswith("lstm1997"):
        raise ValueError(f"--input_gate_bias needs a 1997 cell; received --cell={FLAGS.cell}")
    return {"input_gate_bias": FLAGS.input_gate_bias}


def _random_tenth(items, seed):
    """`(tenth, rest)`: a random tenth of `items` (at least one) and the others."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(items))
    cut = max(1, len(items) // 10)
    return [items[i] for i in order[:cut]], [items[i] for i in order[cut:]]


def _speech_feature_kwargs():
    """`SpeechFeatures` arguments from the flags."""
    features = {}
    if FLAGS.vtlp:
        features.update(vtlp=FLAGS.vtlp, seed=FLAGS.seed)
    if FLAGS.num_cepstra:
        features.update(num_cepstra=FLAGS.num_cepstra)
    if FLAGS.floor_db:
        features.update(floor_db=FLAGS.floor_db)
    if FLAGS.upper_hz is not None:
        features.update(upper_hz=FLAGS.upper_hz)
    return features or None


def train_speech():
    """Trains, evaluates and exports a `SpeechRecognizer` (Graves et al. 2013)."""

    import keras

    from lstm_zoo.applications.speech_recognizer import SpeechRecognizer
    from lstm_zoo.datasets import speech
    from lstm_zoo.training import EpochClock, TranscriptionEvaluation

    task = "speech"
    keras.utils.set_random_seed(FLAGS.seed)
    fsdd_like = FLAGS.data == "tfds:spoken_digit" or bool(
        FLAGS.data and os.path.isdir(FLAGS.data) and speech._fsdd_folder(FLAGS.data))
    sample_rate = FLAGS.sample_rate or (8000 if fsdd_like else 16000)
    utterances, extra, data_name = _speech_data(sample_rate)
    if FLAGS.test_speakers:
        train, test = speech.split_by_speaker(utterances, FLAGS.test_speakers)
    elif not FLAGS.data:
        train, test = speech.split_by_speaker(utterances, ["test/"])
    else:
        test, train = _random_tenth(utterances, FLAGS.seed)
    if extra is not None:
        train = train + extra
    # A tenth of the training speakers' utterances for validation.
    valid, train = _random_tenth(train, FLAGS.seed + 1)

    model = SpeechRecognizer(
        labels=_speech_labels(), label_type=FLAGS.label_type, sample_rate=sample_rate,
        num_layers=_flag("num_layers", task), units=_flag("units", task), cell=FLAGS.cell,
        dropout=_flag("dropout", task),
        cell_kwargs=_speech_cell_kwargs(),
        features=_speech_feature_kwargs(),
        spec_augment={"seed": FLAGS.seed} if FLAGS.spec_augment else None,
    )  # fmt: skip
    batch_size = _flag("batch_size", task)
    clock = EpochClock()
    train_ds = speech.speech_dataset(train, model.encode_transcript, batch_size, shuffle=True,
                                     seed=FLAGS.seed, augment=FLAGS.augment,
                                     speed=FLAGS.speed_perturbation, clock=clock)  # fmt: skip
    valid_ds = speech.speech_dataset(valid, model.encode_transcript, batch_size)
    test_ds = speech.speech_dataset(test, model.encode_transcript, batch_size)
    model.build()
    learning_rate = _flag("learning_rate", task)
    model.compile(keras.optimizers.Adam(learning_rate, global_clipnorm=5.0))
    max_minutes = _flag("max_minutes", task)
    seconds_audio = sum(len(u.audio) for u in train) / sample_rate
    print(
        f"Speech recognizer (cell {FLAGS.cell}, {model.num_layers} x {model.units} units per "
        f"direction, {model.count_params()} weights, labels {model.labels[:12]}"
        f"{'...' if len(model.labels) > 12 else ''}): {data_name}; {len(train)} training "
        f"({seconds_audio / 60:.1f} min of audio), {len(valid)} validation, {len(test)} test "
        f"utterances at {sample_rate} Hz; batch {batch_size}, Adam lr {learning_rate}; budget "
        f"{max_minutes} min",
        flush=True,
    )
    save_path = _path_flag("save_path", task, "checkpoints/{task}.keras")
    plateau = keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=3,
                                                min_lr=FLAGS.min_learning_rate, verbose=1)
    callbacks = [
        clock,
        TranscriptionEvaluation(model, valid_ds, prefix="val_"),  # before the loggers
        plateau,
        *_run_callbacks(task, max_minutes, stateful=[plateau]),
    ]
    start = time.time()
    model.fit(train_ds, epochs=_flag("epochs", task), callbacks=callbacks, shuffle=False,
              verbose=2)  # fmt: skip
    seconds = time.time() - start
    print(f"trained {seconds:.0f} s, {int(model.optimizer.iterations.numpy())} steps")
    metrics = {}
    beam_width = _flag("beam_width", task)
    results = model.evaluate_beam_widths(test_ds, sorted({1, beam_width}))
    for width, result in results.items():
        name = "greedy" if width == 1 else f"beam{width}"
        metrics[name] = {k: result[k] for k in ("label_error_rate", "word_error_rate",
                                                "sentence_accuracy", "utterances")}  # fmt: skip
        print(f"test {name}: label error rate {result['label_error_rate']:.4f}, word error "
              f"rate {result['word_error_rate']:.4f}, sentence accuracy "
              f"{result['sentence_accuracy']:.4f} ({result['utterances']} utterances)")  # fmt: skip
    examples = list(zip(result["references"], result["hypotheses"], strict=True))[:10]
    for ref, hyp in examples[:6]:
        print(f"  reference: {ref!r:40} decoded: {hyp!r}")
    errors = collections.Counter(
        (ref, hyp) for ref, hyp in zip(result["references"], result["hypotheses"], strict=True)
        if ref != hyp)  # fmt: skip
    confusions = [[ref, hyp, count] for (ref, hyp), count in errors.most_common(10)]
    if confusions:
        print("most frequent errors: " + ", ".join(f"{ref!r} -> {hyp!r} ({count})"
                                                   for ref, hyp, count in confusions))  # fmt: skip
    _write_metrics_json(model, metrics, seconds, data_name, test_speakers=FLAGS.test_speakers,
                        train=len(train), examples=examples, confusions=confusions)  # fmt: skip
    if save_path:
        _save_model(model, save_path)
    if FLAGS.export:
        path = _export_model(
            model, task, endpoints=model.serving_endpoints(beam_width),
            metadata={"application": task, "config": model.get_config(), "cell": FLAGS.cell,
                      "sample_rate": sample_rate, "labels": model.labels,
                      "training_data": data_name, "test_speakers": FLAGS.test_speakers,
                      "metrics": metrics, "training": {"seconds": seconds}},
        )  # fmt: skip
        print(f"exported {path}")
    return 0


def _caption_data(image_size):
    """`(train, validation, test, description)`: each `(images, captions)`."""
    import numpy as np

    from lstm_zoo.datasets import captions, shapes

    if not FLAGS.data:
        splits = [shapes.shape_scenes(count, split, FLAGS.seed, image_size)[:2]
                  for count, split in ((FLAGS.scenes, "train"), (300, "validation"),
                                       (500, "test"))]  # fmt: skip
        return (*splits, "rendered shape scenes (test: held-out object pairs)")
    if not os.path.exists(FLAGS.data):
        raise ValueError(f"--data: no such file or folder: {FLAGS.data}")
    items = captions.load_caption_folder(FLAGS.data, image_size, on_error=FLAGS.on_error,
                                         max_images=FLAGS.max_images)  # fmt: skip
    test, rest = _random_tenth(items, FLAGS.seed)
    valid, train = _random_tenth(rest, FLAGS.seed + 1)
    splits = [(np.stack([i.image for i in part]), [i.captions for i in part])
              for part in (train, valid, test)]  # fmt: skip
    return (*splits, os.path.abspath(FLAGS.data))


def _write_caption_examples(directory, images, references, results):
    """PNGs of test images and a markdown table of their captions."""
    import tensorflow as tf

    os.makedirs(directory, exist_ok=True)
    rows = ["| image | reference | " + " | ".join(results) + " |",
            "|---|---|" + "---|" * len(results)]  # fmt: skip
    for i, image in enumerate(images):
        name = f"example_{i}.png"
        tf.io.write_file(os.path.join(directory, name), tf.io.encode_png(image))
        captions = " | ".join(r["hypotheses"][i] for r in results.values())
        rows.append(f"| ![]({name}) | {references[i][0]} | {captions} |")
    with open(os.path.join(directory, "examples.md"), "w") as f:
        f.write("\n".join(rows) + "\n")


def train_captioning():
    """Trains, evaluates and exports an `ImageCaptioner` (Vinyals et al. 2015)."""
    import keras

    from lstm_zoo.applications.image_captioner import ImageCaptioner, build_vocabulary
    from lstm_zoo.datasets.captions import caption_dataset
    from lstm_zoo.training import CaptionEvaluation, EpochClock

    task = "captioning"
    keras.utils.set_random_seed(FLAGS.seed)
    image_size = FLAGS.image_size or (224 if FLAGS.data else 64)
    train, valid, test, data_name = _caption_data(image_size)
    min_count = FLAGS.min_count or (5 if FLAGS.data else 1)
    vocabulary = build_vocabulary([c for refs in train[1] for c in refs], min_count=min_count)
    model = ImageCaptioner(
        vocabulary, image_size=image_size, encoder=FLAGS.encoder,
        encoder_weights=FLAGS.encoder_weights, train_encoder=FLAGS.train_encoder,
        embedding_dim=_flag("embedding_dim", task), units=_flag("units", task), cell=FLAGS.cell,
        dropout=_flag("dropout", task), max_length=FLAGS.max_caption_length,
    )  # fmt: skip
    batch_size = _flag("batch_size", task)
    clock = EpochClock()
    train_ds = caption_dataset(*train, model.encode_caption, batch_size, FLAGS.max_caption_length,
                               shuffle=True, seed=FLAGS.seed, clock=clock)  # fmt: skip
    valid_ds = caption_dataset(*valid, model.encode_caption, batch_size, FLAGS.max_caption_length)
    model.build()
    learning_rate = _flag("learning_rate", task)
    model.compile(
        keras.optimizers.Adam(learning_rate, global_clipnorm=5.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
    )  # fmt: skip
    max_minutes = _flag("max_minutes", task)
    pairs = sum(len(refs) for refs in train[1])
    print(
        f"Image captioner (encoder {FLAGS.encoder}, cell {FLAGS.cell}, {model.units} units, "
        f"{model.count_params()} weights, {model.vocabulary_size} ids): {data_name}; "
        f"{len(train[0])} training images ({pairs} captions), {len(valid[0])} validation, "
        f"{len(test[0])} test images at {image_size} px; batch {batch_size}, Adam lr "
        f"{learning_rate}; budget {max_minutes} min",
        flush=True,
    )
    save_path = _path_flag("save_path", task, "checkpoints/{task}.keras")
    plateau = keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=2,
                                                min_lr=FLAGS.min_learning_rate, verbose=1)
    callbacks = [
        clock,
        CaptionEvaluation(model, *valid, prefix="val_"),  # before the loggers
        plateau,
        *_run_callbacks(task, max_minutes, stateful=[plateau]),
    ]
    start = time.time()
    model.fit(train_ds, validation_data=valid_ds, epochs=_flag("epochs", task),
              callbacks=callbacks, verbose=2)  # fmt: skip
    seconds = time.time() - start
    print(f"trained {seconds:.0f} s, {int(model.optimizer.iterations.numpy())} steps")
    beam_width = _flag("beam_width", task)
    metrics, results = {}, {}
    for width in sorted({1, beam_width}):
        name = "greedy" if width == 1 else f"beam{width}"
        results[name] = model.evaluate_captions(*test, beam_width=width,
                                                length_penalty=FLAGS.length_penalty)  # fmt: skip
        metrics[name] = {k: v for k, v in results[name].items() if k != "hypotheses"}
        bleu = ", ".join(f"BLEU-{n} {results[name][f'bleu_{n}']:.4f}" for n in range(1, 5))
        print(f"test {name}: {bleu}, CIDEr-D {results[name]['cider_d']:.4f}, exact "
              f"{results[name]['exact_match']:.4f} "
              f"({results[name]['images']} images)")  # fmt: skip
    best = results[f"beam{beam_width}" if beam_width > 1 else "greedy"]
    examples = [(refs[0], hyp) for refs, hyp in zip(test[1], best["hypotheses"], strict=True)]
    for ref, hyp in examples[:6]:
        print(f"  reference: {ref!r:50} caption: {hyp!r}")
    if FLAGS.examples_dir:
        _write_caption_examples(FLAGS.examples_dir, test[0][:8], test[1][:8], results)
    _write_metrics_json(model, metrics, seconds, data_name, train_images=len(train[0]),
                        examples=examples[:20])  # fmt: skip
    if save_path:
        _save_model(model, save_path)
    if FLAGS.export:
        path = _export_model(
            model, task,
            endpoints=model.serving_endpoints(beam_width, length_penalty=FLAGS.length_penalty),
            metadata={"application": task, "config": model.get_config(), "cell": FLAGS.cell,
                      "image_size": image_size, "training_data": data_name,
                      "metrics": metrics, "training": {"seconds": seconds}},
        )  # fmt: skip
        print(f"exported {path}")
    return 0


def export(name):
    """Exports a trained `.keras` model with `lstm_zoo.export`."""
    import keras

    import lstm_zoo  # noqa: F401  (registers the lstm_zoo objects for loading)

    if not FLAGS.checkpoint:
        return _fail("export needs --checkpoint=PATH (a .keras file saved by `train`)")
    if not os.path.isfile(FLAGS.checkpoint):
        return _fail(f"--checkpoint: no such file: {FLAGS.checkpoint}")
    try:
        model = keras.saving.load_model(FLAGS.checkpoint, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - any load failure is a bad file
        return _fail(f"--checkpoint: cannot load {FLAGS.checkpoint} as a Keras model: {error}")
    try:
        path = _export_model(
            model,
            name,
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


def reproduce_experiments(argv):
    """Runs the paper's experiments (`lstm_zoo.reproduce`) and writes the report."""
    import importlib.util

    import keras
    from absl import logging

    if keras.config.backend() != FLAGS.backend and not os.environ.get("LSTM_ZOO_REEXEC"):
        if FLAGS.backend != "jax" or importlib.util.find_spec("jax"):
            # The backend is fixed at import: run again in a fresh interpreter.
            env = dict(os.environ, KERAS_BACKEND=FLAGS.backend, LSTM_ZOO_REEXEC="1")
            command = [sys.executable, "-m", "lstm_zoo.cli", *sys.argv[1:]]
            return subprocess.run(command, env=env, check=False).returncode
        logging.warning("JAX is not installed; reproducing on %s (slower)", keras.config.backend())
    from lstm_zoo import reproduce

    logging.set_verbosity(logging.INFO)
    report = FLAGS.report or os.path.join(FLAGS.output_dir, "report.md")
    if FLAGS.quick:
        experiments = [(name, params) for name, params, _ in reproduce.QUICK]
        budgets = [budget for _, _, budget in reproduce.QUICK]
    else:
        names = FLAGS.experiments or list(reproduce.DEFAULT_EXPERIMENTS)
        experiments = [reproduce.parse_experiment(name) for name in names]
        budgets = None
    command = "lstm-zoo " + " ".join(sys.argv[1:])
    if not FLAGS.report_only:
        reproduce.record_command(FLAGS.output_dir, command)
        reproduce.run(experiments, FLAGS.settings, FLAGS.trials, FLAGS.seed, FLAGS.budget,
                      FLAGS.output_dir, budgets)  # fmt: skip
    reproduce.write_report(FLAGS.output_dir, report, command)
    print(f"Report: {report}")
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
    "lstm-zoo reproduce [--flags] | lstm-zoo export NAME --checkpoint=PATH | "
    "lstm-zoo verify DIR"
)


def main(argv):
    args = argv[1:]
    try:
        if len(args) == 2 and args[0] == "train" and args[1] == "adding":
            return train_adding()
        if len(args) == 2 and args[0] == "train" and args[1] == "language_model":
            return train_language_model()
        if len(args) == 2 and args[0] == "train" and args[1] == "speech":
            return train_speech()
        if len(args) == 2 and args[0] == "train" and args[1] == "captioning":
            return train_captioning()
        if args == ["reproduce"]:
            return reproduce_experiments(argv)
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


HELP_FLAGS = ("--help", "-h", "-?", "--helpshort")


def _print_help():
    """The usage line and the flags of `lstm-zoo` with their defaults (absl's own
    `--help` would list the flags of the console-script module: none)."""
    module = FLAGS.find_module_defining_flag("units")
    lines = FLAGS.module_help(module).splitlines()
    flags_text = "\n".join(line for line in lines if line.startswith(" "))  # not the path
    print(f"{USAGE}\n\nflags (a flag serves the commands its text names):\n{flags_text}")


def parse_flags(argv):
    """absl flag parsing with one-line errors (exit status 2); `--help` lists
    the flags and exits 0."""
    if any(arg in HELP_FLAGS for arg in argv[1:]):
        _print_help()
        sys.exit(0)
    try:
        rest = FLAGS(argv)
        if FLAGS.config in MODEL_CONFIGS:
            if FLAGS["model_config"].present and FLAGS.model_config != FLAGS.config:
                raise flags.Error(
                    f"--config={FLAGS.config} and --model_config={FLAGS.model_config} disagree"
                )
            FLAGS.model_config = FLAGS.config
        elif FLAGS.config:
            _apply_config(FLAGS.config)
    except flags.Error as error:
        print(f"lstm-zoo: error: {' '.join(str(error).split())}", file=sys.stderr)
        sys.exit(2)
    return rest


def run():
    """Console-script entry point.

    TensorFlow's device probing (the "failed call to cuInit" line on a
    machine without a GPU) runs here with its log lines hidden, before absl's
    start-up hooks would run it noisily; `LSTM_ZOO_TF_LOGS=1` shows them.
    """
    import tensorflow as tf

    from lstm_zoo._quiet import hiding_enabled, quiet_stderr

    with quiet_stderr(hiding_enabled()):
        tf.config.list_physical_devices()
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
