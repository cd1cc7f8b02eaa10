"""The speech recogniser's sizes and its recipe configuration
(`lstm-zoo train speech`)."""

import dataclasses

from lstm_zoo.run_config import CELLS, AdamPlateauConfig, option

#: Named model sizes. `graves2013` is the paper's (and `SpeechRecognizer`'s
#: default); `small` is the recipe's, sized for a CPU.
SIZES = {
    "small": dict(num_layers=2, units=128),
    "graves2013": dict(num_layers=3, units=250),
}


@dataclasses.dataclass(frozen=True)
class SpeechConfig(AdamPlateauConfig):
    """A deep bidirectional LSTM with CTC trained on waveforms and transcripts.
    `num_layers` and `units` left `None` take the `size`'s values."""

    sizes = SIZES

    data: str = option(
        None, "A manifest .tsv/.csv (path, transcript[, speaker]), a folder holding one, an "
        "FSDD or LibriSpeech folder, or tfds:spoken_digit / tfds:speech_commands prepared in "
        "--tfds_data_dir (default: the synthesised eSpeak NG digit corpus).", kind="str",
    )  # fmt: skip
    tfds_data_dir: str = option(None, "TFDS data_dir for --data=tfds:NAME (no download).",
                                kind="str")
    synth_dir: str = option("data/spoken_digits", "Folder of the synthesised digit corpus "
                            "(made on first use).")
    synth_utterances: int = option(4000, "Utterances of the synthesised corpus.", lower=10)
    add_synthesized: bool = option(False, "With --data, also train on the synthesised corpus's "
                                   "training voices (its held-out voices: a second test set).")
    festival_utterances: int = option(
        0, "Also train on this many digit strings (1 to 3 digits) spoken by Festival's voices "
        "(needs Festival; 0: none).", lower=0,
    )  # fmt: skip
    festival_dir: str = option("data/festival_digits", "Folder of the Festival corpus (made on "
                               "first use).")  # fmt: skip
    test_speakers: tuple = option(
        None, "Speakers held out for testing (a name ending in '/' is a prefix). Default: the "
        "held-out voices of the synthesised corpus (test/), else a random tenth of the "
        "utterances.", kind="list",
    )  # fmt: skip
    sample_rate: int = option(None, "Model sampling rate in Hz (default 8000 for FSDD and "
                              "spoken_digit, else 16000); other rates are resampled.",
                              lower=1000, kind="int")
    labels: str = option("digits", "Label set: digits (words), characters, or a file of labels, "
                         "one per line (phones or words).")
    label_type: str = option(None, "How transcripts split into labels (default: the label "
                             "set's).", choices=("words", "characters", "phones"), kind="str")
    size: str = option("small", "Named model size (layers x units per direction): "
                       + ", ".join(f"{k} {v['num_layers']}x{v['units']}"
                                   for k, v in SIZES.items()) + ".", choices=tuple(SIZES))
    cell: str = option("lstm1997_forget_gate", "Recurrent cell of the model (default: the "
                       "1997 cell with a forget gate, the fastest learner of the family on "
                       "speech; results/speech.md).", choices=CELLS)  # fmt: skip
    num_layers: int = option(None, "Bidirectional layers (default: the size's).", lower=1,
                             kind="int")
    units: int = option(None, "Cells per direction (default: the size's).", lower=1, kind="int")
    dropout: float = option(0.0, "Dropout between layers.", lower=0.0, upper=0.99)
    input_gate_bias: float = option(None, "Initial input-gate bias of the 1997 cells "
                                    "(negative: the paper's remedy for internal state drift).",
                                    kind="float")
    beam_width: int = option(8, "Beam width for evaluation and export (1: greedy).", lower=1)
    augment: bool = option(True, "Random gain and noise on the training audio.")
    speed_perturbation: float = option(0.0, "With --augment, play training audio at random "
                                       "speeds in [1-x, 1+x] (0: off).", lower=0.0, upper=0.5)
    spec_augment: bool = option(False, "SpecAugment frequency and time masks on the training "
                                "features (2 bands of up to 8 channels, 2 spans of up to 10 "
                                "frames).")
    vtlp: float = option(0.0, "Stretch each training utterance's spectrum by a random factor in "
                         "[1-x, 1+x] (vocal tract length perturbation; 0: off).", lower=0.0,
                         upper=0.49)
    num_cepstra: int = option(0, "Feed the first N mel-frequency cepstral coefficients instead "
                              "of the 40 log-mel channels (0: log-mel).", lower=0, upper=40)
    floor_db: float = option(0.0, "Add a noise floor this many dB below each utterance's peak "
                             "to the filterbank powers (0: none).", lower=0.0)
    normalization: str = option("utterance", "Feature normalisation: `utterance` (zero mean "
                                "and unit variance per utterance and feature), "
                                "`utterance_mean` (zero mean per feature, one scale per "
                                "utterance and group of features) or `utterance_gain` (as "
                                "utterance_mean, with one mean per group: the spectrum's shape "
                                "is kept).",
                                choices=("utterance", "utterance_mean", "utterance_gain"))
    equalize_speakers: bool = option(
        False, "Filter each speaker's audio so that their long-term average spectrum matches "
        "the training speakers' average (speaker-level channel normalisation, "
        "`equalizer.SpeakerEqualizer`; saved to WORKDIR/equalizer.json, which `lstm-zoo "
        "score --equalizer` applies to new speakers).",
    )  # fmt: skip
    upper_hz: float = option(None, "Highest filterbank edge in Hz (default: half the sample "
                             "rate).", lower=0.0, kind="float")
    ema_momentum: float = option(0.0, "Keep an exponential moving average of the weights with "
                                 "this momentum and end training on it (model averaging; 0: "
                                 "off).", lower=0.0, upper=0.9999)
    batch_size: int = option(16, "Global mini-batch size.", lower=1)
    epochs: int = option(40, "Most passes over the training set.", lower=1)
    max_minutes: float = option(20.0, "Wall-time budget for training, in minutes.", lower=0.0)
