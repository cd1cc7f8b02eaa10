"""The speech recogniser's recipe: `train(config, workdir) -> (model, metrics)`.

Graves et al. (2013): a deep bidirectional LSTM over log-mel features, CTC,
Adam with the learning rate halved when the validation loss stalls; the test
split decoded greedily and with a beam, label and word error rates, the most
frequent confusions.
"""

import collections
import os

import keras

from lstm_zoo.applications.speech import data as speech
from lstm_zoo.applications.speech.config import SpeechConfig
from lstm_zoo.applications.speech.equalizer import SpeakerEqualizer
from lstm_zoo.applications.speech.metrics import TranscriptionEvaluation
from lstm_zoo.applications.speech.model import SpeechRecognizer
from lstm_zoo.training import EpochClock, Run, random_tenth

#: The speaker equaliser's file in the run's folder (with --equalize_speakers).
EQUALIZER_FILE = "equalizer.json"
#: The test scores kept in metrics.json and the model card.
SCORES = ("label_error_rate", "word_error_rate", "sentence_accuracy", "utterances")


def load_data(config, sample_rate):
    """`(utterances, synthesised or None, description)` of `config.data`
    (or the synthesised corpus)."""
    synth = None
    if config.data and not config.data.startswith("tfds:") and not os.path.exists(config.data):
        raise ValueError(f"--data: no such file or folder: {config.data}")
    if not config.data or config.add_synthesized:
        manifest = speech.synthesize_spoken_digits(config.synth_dir, config.synth_utterances,
                                                   seed=config.seed)  # fmt: skip
        synth = speech.load_manifest(manifest, sample_rate, on_error=config.on_error)
    if not config.data:
        return synth, None, f"synthesised eSpeak NG digit strings ({config.synth_dir})"
    if config.data.startswith("tfds:"):
        if not config.tfds_data_dir:
            raise ValueError("--data=tfds:NAME needs --tfds_data_dir (a prepared TFDS data_dir)")
        utterances = speech.load_tfds_speech(config.data[5:], config.tfds_data_dir,
                                             sample_rate=sample_rate)  # fmt: skip
    else:
        utterances = speech.load_speech_folder(config.data, sample_rate,
                                               on_error=config.on_error)  # fmt: skip
    name = os.path.abspath(config.data) if ":" not in config.data else config.data
    return utterances, synth, name


def _labels(config):
    if config.labels in ("digits", "characters"):
        return config.labels
    if not os.path.isfile(config.labels):
        raise ValueError(f"--labels must be digits, characters or a file; received: "
                         f"{config.labels}")  # fmt: skip
    with open(config.labels, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def _cell_kwargs(config):
    if config.input_gate_bias is None:
        return None
    if not config.cell.startswith("lstm1997"):
        raise ValueError(f"--input_gate_bias needs a 1997 cell; received --cell={config.cell}")
    return {"input_gate_bias": config.input_gate_bias}


def _feature_kwargs(config):
    features = {}
    if config.vtlp:
        features.update(vtlp=config.vtlp, seed=config.seed)
    if config.num_cepstra:
        features.update(num_cepstra=config.num_cepstra)
    if config.floor_db:
        features.update(floor_db=config.floor_db)
    if config.upper_hz is not None:
        features.update(upper_hz=config.upper_hz)
    if config.normalization != "utterance":
        features.update(normalization=config.normalization)
    return features or None


def build_model(config, sample_rate):
    """The `SpeechRecognizer` that `config` describes."""
    return SpeechRecognizer(
        labels=_labels(config), label_type=config.label_type, sample_rate=sample_rate,
        **config.model_size(), cell=config.cell, dropout=config.dropout,
        cell_kwargs=_cell_kwargs(config), features=_feature_kwargs(config),
        spec_augment={"seed": config.seed} if config.spec_augment else None,
    )  # fmt: skip


def speech_dataset_for(utterances, model, config):
    """The evaluation batches of `utterances` for `model`."""
    return speech.speech_dataset(utterances, model.encode_transcript, config.batch_size)


def train(config=None, workdir="runs/speech"):
    """Trains, evaluates, saves (and with `config.export`, exports) the model.

    Args:
        config: A `SpeechConfig` (default: its defaults).
        workdir: The run's folder (`lstm_zoo.training.Run`).

    Returns:
        `(model, metrics)`: the trained `SpeechRecognizer` and its test metrics.
    """
    config = config or SpeechConfig()
    run = Run("speech", config, workdir)
    fsdd_like = config.data == "tfds:spoken_digit" or bool(
        config.data and os.path.isdir(config.data) and speech._fsdd_folder(config.data))
    sample_rate = config.sample_rate or (8000 if fsdd_like else 16000)
    utterances, extra, data_name = load_data(config, sample_rate)
    if config.test_speakers:
        train_set, test = speech.split_by_speaker(utterances, list(config.test_speakers))
    elif not config.data:
        train_set, test = speech.split_by_speaker(utterances, ["test/"])
    else:
        test, train_set = random_tenth(utterances, config.seed)
    # Speaker equalisation: the reference is the training speakers' of --data
    # (the synthesised voices, if any, are equalised to it too).
    equalizer = SpeakerEqualizer(sample_rate).fit(train_set) if config.equalize_speakers else None

    def equalize(utterances):
        return equalizer.apply(utterances) if equalizer is not None else utterances

    train_set, test = equalize(train_set), equalize(test)
    synth_test = None
    if extra is not None:  # train on its training voices; its held-out voices are a test set
        extra, synth_test = speech.split_by_speaker(extra, ["test/"])
        train_set, synth_test = train_set + equalize(extra), equalize(synth_test)
    if config.festival_utterances:
        manifest = speech.synthesize_festival_digits(config.festival_dir,
                                                     config.festival_utterances, seed=config.seed)
        festival = speech.load_manifest(manifest, sample_rate, on_error=config.on_error)
        train_set = train_set + equalize(festival)
        data_name += f" + {config.festival_utterances} Festival utterances"
    if equalizer is not None:
        data_name += " (each speaker equalised to the training speakers' average spectrum)"
    # A tenth of the training speakers' utterances for validation.
    valid, train_set = random_tenth(train_set, config.seed + 1)

    with run.scope():
        model = build_model(config, sample_rate)
        model.build()
        model.compile(model.default_optimizer(config.learning_rate, config.clip_norm,
                                              config.ema_momentum))
    clock = EpochClock()
    train_ds = speech.speech_dataset(train_set, model.encode_transcript, config.batch_size,
                                     shuffle=True, seed=config.seed, augment=config.augment,
                                     speed=config.speed_perturbation, clock=clock)  # fmt: skip
    valid_ds = speech_dataset_for(valid, model, config)
    test_ds = speech_dataset_for(test, model, config)
    seconds_audio = sum(len(u.audio) for u in train_set) / sample_rate
    print(
        f"Speech recognizer (cell {config.cell}, {model.num_layers} x {model.units} units per "
        f"direction, {model.count_params()} weights, labels {model.labels[:12]}"
        f"{'...' if len(model.labels) > 12 else ''}): {data_name}; {len(train_set)} training "
        f"({seconds_audio / 60:.1f} min of audio), {len(valid)} validation, {len(test)} test "
        f"utterances at {sample_rate} Hz; batch {config.batch_size}, Adam lr "
        f"{config.learning_rate}; budget {config.max_minutes} min, {run.replicas} replica(s)",
        flush=True,
    )
    plateau = keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=3,
                                                min_lr=config.min_learning_rate, verbose=1)
    callbacks = [clock, TranscriptionEvaluation(model, valid_ds, prefix="val_"), plateau]
    run.fit(model, run.dataset(train_ds), callbacks=callbacks, stateful=[plateau])
    if equalizer is not None and run.chief:
        equalizer.save(run.path(EQUALIZER_FILE))

    metrics = {}
    results = model.evaluate_beam_widths(test_ds, sorted({1, config.beam_width}))
    for width, result in results.items():
        name = "greedy" if width == 1 else f"beam{width}"
        metrics[name] = {k: result[k] for k in SCORES}
        print(f"test {name}: label error rate {result['label_error_rate']:.4f}, word error "
              f"rate {result['word_error_rate']:.4f}, sentence accuracy "
              f"{result['sentence_accuracy']:.4f} ({result['utterances']} utterances)")  # fmt: skip
    if synth_test:
        synth_ds = speech_dataset_for(synth_test, model, config)
        result_synth = model.evaluate_transcripts(synth_ds, config.beam_width)
        metrics["synthesized_test_voices"] = {k: result_synth[k] for k in SCORES}
        print(f"synthesised test voices (beam {config.beam_width}): word error rate "
              f"{result_synth['word_error_rate']:.4f}, sentence accuracy "
              f"{result_synth['sentence_accuracy']:.4f} ({result_synth['utterances']} "
              "utterances)")  # fmt: skip
    pairs = list(zip(result["references"], result["hypotheses"], strict=True))
    for ref, hyp in pairs[:6]:
        print(f"  reference: {ref!r:40} decoded: {hyp!r}")
    errors = collections.Counter((ref, hyp) for ref, hyp in pairs if ref != hyp)
    confusions = [[ref, hyp, count] for (ref, hyp), count in errors.most_common(10)]
    if confusions:
        print("most frequent errors: " + ", ".join(f"{ref!r} -> {hyp!r} ({count})"
                                                   for ref, hyp, count in confusions))  # fmt: skip
    card = model.model_card(
        training_data=data_name, test_speakers=config.test_speakers, metrics=metrics,
        examples=pairs[:10], confusions=confusions, train_utterances=len(train_set),
        training={"seconds": run.seconds, "config": config.to_dict()},
    )  # fmt: skip
    run.finish(model, metrics, card=card, endpoints=model.serving_endpoints(config.beam_width))
    return model, metrics
