"""Speech corpora from local files, and a synthesised spoken-digit corpus.

Every loader returns a list of `Utterance`s (audio in memory as float32 in
[-1, 1] at the requested rate, transcript, speaker) that `speech_dataset`
batches as `tf.data`:

- `load_manifest(path)`: a TSV or CSV file of `path<TAB>transcript[<TAB>speaker]`
  rows (a header row naming `path` and `transcript` is allowed); audio paths
  are relative to the manifest's folder.
- `load_librispeech(root)`: LibriSpeech's `speaker/chapter/*.trans.txt` with
  `.flac` audio.
- `load_fsdd(root)`: the Free Spoken Digit Dataset, `{digit}_{speaker}_{index}.wav`
  (in `root` or `root/recordings`); transcripts are digit words.
- `load_speech_folder(path)`: whichever of the three `path` is.
- `load_tfds_speech(name, data_dir)`: TFDS `spoken_digit` or `speech_commands`
  already prepared in `data_dir` (never downloads).
- `synthesize_spoken_digits(folder, ...)`: the embedded default. Digit
  strings ("three one four") spoken by eSpeak NG over several voices, speeds
  and pitches, written as WAV files plus a manifest (so it loads with
  `load_manifest`); voices are split into train and held-out test voices.
- `synthesize_festival_digits(folder, ...)`: digit strings spoken by
  Festival's voices (diphone voices cut from real speakers' recordings),
  extra training data for real voices (`--festival_utterances`).

Audio is read with `soundfile` (libsndfile: WAV, FLAC, OGG) and resampled with
`scipy.signal.resample_poly` when `resample=True`. An empty, corrupt,
unreadable or wrong-rate file raises a `ValueError` naming the file, or, with
`on_error="skip"`, is left out with a warning.

These loaders hold the audio in memory (a 100-hour corpus at 16 kHz is about
23 GB of float32); they suit corpora up to a few tens of hours.
"""

import csv
import dataclasses
import glob
import math
import os
import re
import shutil
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from lstm_zoo.checks import on_error_mode, positive_int

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
MANIFEST_FILE = "manifest.tsv"

#: eSpeak NG voices (language x variant) of the synthesised corpus.
ESPEAK_LANGUAGES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029",
                    "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")  # fmt: skip
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
ESPEAK_INSTALL = (
    "eSpeak NG is needed to synthesise the embedded spoken-digit corpus and was not found "
    "on PATH. Install it (Debian/Ubuntu: `apt-get install espeak-ng`; macOS: `brew install "
    "espeak-ng`), or pass your own data with --data (a manifest, LibriSpeech or FSDD folder)."
)


@dataclasses.dataclass
class Utterance:
    """One recording: `audio` float32 `(samples,)` at `sample_rate`, its transcript."""

    audio: np.ndarray
    transcript: str
    speaker: str = ""
    path: str = ""
    sample_rate: int = 16000


def read_audio(path, sample_rate=None, resample=True):
    """Reads a mono float32 waveform in [-1, 1] from an audio file.

    Args:
        path: WAV, FLAC or OGG file.
        sample_rate: Rate wanted (None: the file's own).
        resample: Resample a file at another rate (else that is an error).

    Returns:
        `(audio, rate)`.

    Raises:
        ValueError: The file is missing, unreadable, corrupt, empty, or at
            another rate with `resample=False`; the message names the file.
    """
    import soundfile

    try:
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
        raise ValueError(f"Cannot read audio file {path}: {error}") from None
    if audio.shape[0] == 0:
        raise ValueError(f"Audio file {path} holds no samples")
    audio = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    if not np.all(np.isfinite(audio)):
        raise ValueError(f"Audio file {path} holds non-finite samples")
    if sample_rate is not None and rate != sample_rate:
        if not resample:
            raise ValueError(
                f"Audio file {path} is at {rate} Hz; the model runs at {sample_rate} Hz "
                "(pass resample=True to convert it)"
            )
        audio = resample_audio(audio, rate, sample_rate)
        rate = sample_rate
    return np.ascontiguousarray(audio, dtype=np.float32), int(rate)


def resample_audio(audio, rate, new_rate):
    """Polyphase resampling (`scipy.signal.resample_poly`) from `rate` to `new_rate`."""
    from scipy.signal import resample_poly

    if rate == new_rate:
        return np.asarray(audio, np.float32)
    g = math.gcd(int(rate), int(new_rate))
    return resample_poly(audio, int(new_rate) // g, int(rate) // g).astype(np.float32)


def _read_all(entries, sample_rate, resample, on_error):
    """`entries`: (path, transcript, speaker) -> Utterances, errors named or skipped."""
    on_error_mode(on_error)
    utterances = []
    for path, transcript, speaker in entries:
        try:
            if not transcript.strip():
                raise ValueError(f"Audio file {path} has an empty transcript")
            audio, rate = read_audio(path, sample_rate, resample)
        except ValueError as error:
            if on_error == "raise":
                raise
            warnings.warn(f"Skipped: {error}", stacklevel=3)
            continue
        utterances.append(Utterance(audio, transcript.strip(), speaker, path, rate))
    if not utterances:
        raise ValueError("No readable utterances were found")
    return utterances


def load_manifest(path, sample_rate=16000, resample=True, on_error="raise"):
    """Loads a TSV/CSV manifest of `path, transcript[, speaker]` rows.

    Args:
        path: The manifest; `.csv` files are comma-separated, others tab-separated.
        sample_rate: Rate of the returned audio.
        resample: Resample files at other rates (else they are errors).
        on_error: `"raise"` (default) or `"skip"` (warn and leave the file out).

    Returns:
        List of `Utterance`.
    """
    if not os.path.isfile(path):
        raise ValueError(f"Argument `path` must be a manifest file; received: {path!r}")
    root = os.path.dirname(os.path.abspath(path))
    delimiter = "," if path.lower().endswith(".csv") else "\t"
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f, delimiter=delimiter) if r and any(c.strip() for c in r)]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["path", "transcript"]:
        rows = rows[1:]
    entries = []
    for number, row in enumerate(rows, 1):
        if len(row) < 2:
            raise ValueError(
                f"Manifest {path}, row {number}: expected path{delimiter!r}transcript; "
                f"received {row!r}"
            )
        audio_path = row[0] if os.path.isabs(row[0]) else os.path.join(root, row[0])
        entries.append((audio_path, row[1], row[2] if len(row) > 2 else ""))
    return _read_all(entries, sample_rate, resample, on_error)


def load_librispeech(root, sample_rate=16000, resample=True, on_error="raise"):
    """Loads a LibriSpeech folder (`speaker/chapter/speaker-chapter.trans.txt` + `.flac`)."""
    entries = []
    for trans in sorted(glob.glob(os.path.join(root, "**", "*.trans.txt"), recursive=True)):
        folder = os.path.dirname(trans)
        with open(trans, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    key, _, text = line.strip().partition(" ")
                    entries.append((os.path.join(folder, key + ".flac"), text.lower(),
                                    key.split("-")[0]))  # fmt: skip
    if not entries:
        raise ValueError(f"No LibriSpeech *.trans.txt files under {root!r}")
    return _read_all(entries, sample_rate, resample, on_error)


FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")


def _fsdd_folder(root):
    for folder in (os.path.join(root, "recordings"), root):
        if os.path.isdir(folder) and any(FSDD_NAME.match(n) for n in os.listdir(folder)):
            return folder
    return None


def load_fsdd(root, sample_rate=8000, resample=True, speakers=None, on_error="raise"):
    """Loads the Free Spoken Digit Dataset (`{digit}_{speaker}_{index}.wav`).

    Args:
        root: The dataset folder or its `recordings/` folder.
        sample_rate: Rate of the returned audio (the recordings are 8 kHz).
        resample: Resample to `sample_rate`.
        speakers: Only these speakers (default all).
        on_error: `"raise"` or `"skip"`.

    Returns:
        List of `Utterance`, transcripts the digit words ("seven").
    """
    folder = _fsdd_folder(root)
    if folder is None:
        raise ValueError(f"No FSDD recordings ({{digit}}_{{speaker}}_{{index}}.wav) in {root!r}")
    entries = []
    for name in sorted(os.listdir(folder)):
        match = FSDD_NAME.match(name)
        if match and (speakers is None or match.group(2) in speakers):
            entries.append((os.path.join(folder, name), DIGIT_WORDS[int(match.group(1))],
                            match.group(2)))  # fmt: skip
    if not entries:
        raise ValueError(f"No FSDD recordings of speakers {speakers} in {folder}")
    return _read_all(entries, sample_rate, resample, on_error)


def load_speech_folder(path, sample_rate=16000, resample=True, on_error="raise"):
    """Loads a manifest file, a folder holding `manifest.tsv`, LibriSpeech or FSDD."""
    if os.path.isfile(path):
        return load_manifest(path, sample_rate, resample, on_error)
    if not os.path.isdir(path):
        raise ValueError(f"Argument `path` must be a file or folder; received: {path!r}")
    for name in (MANIFEST_FILE, "manifest.csv"):
        if os.path.isfile(os.path.join(path, name)):
            return load_manifest(os.path.join(path, name), sample_rate, resample, on_error)
    if _fsdd_folder(path):
        return load_fsdd(path, sample_rate, resample, on_error=on_error)
    if glob.glob(os.path.join(path, "**", "*.trans.txt"), recursive=True):
        return load_librispeech(path, sample_rate, resample, on_error)
    raise ValueError(
        f"{path!r} is not a speech corpus: expected a manifest.tsv/.csv, FSDD recordings "
        "({digit}_{speaker}_{index}.wav) or LibriSpeech *.trans.txt files"
    )


TFDS_SPEECH = {"spoken_digit": 8000, "speech_commands": 16000}


def load_tfds_speech(name, data_dir, split="train", sample_rate=None, max_examples=None):
    """Loads TFDS `spoken_digit` or `speech_commands` prepared in `data_dir` (no download).

    Labels become transcripts: digit words for `spoken_digit`, the command
    word for `speech_commands` (its `_silence_` and `_unknown_` classes are
    left out).
    """
    import tensorflow_datasets as tfds

    if name not in TFDS_SPEECH:
        raise ValueError(f"Argument `name` must be one of {sorted(TFDS_SPEECH)}; "
                         f"received: name={name!r}")  # fmt: skip
    builder = tfds.builder(name, data_dir=data_dir)
    dataset = tfds.load(name, split=split, data_dir=data_dir, download=False)
    label_names = builder.info.features["label"].names
    rate = TFDS_SPEECH[name]
    out = []
    for example in tfds.as_numpy(dataset):
        label = int(example["label"])
        word = DIGIT_WORDS[label] if name == "spoken_digit" else label_names[label]
        if word.startswith("_"):
            continue
        audio = np.asarray(example["audio"], np.float32) / 32768.0
        if sample_rate is not None and sample_rate != rate:
            audio = resample_audio(audio, rate, sample_rate)
        out.append(Utterance(audio, word, "", "", sample_rate or rate))
        if max_examples and len(out) >= max_examples:
            break
    if not out:
        raise ValueError(f"TFDS {name} split {split!r} in {data_dir} has no usable examples")
    return out


PENDING_FILE = "pending.txt"
SETTINGS_FILE = "settings.txt"


def _corpus_ready(folder, settings):
    """True when `folder` holds a finished corpus of `settings` (reuse it).

    Otherwise readies `folder` for `_write_corpus`: the WAV files of an
    interrupted run of the same settings are kept (it resumes); those of other
    settings are removed, so no file is reused under another transcript.
    """
    pending = os.path.join(folder, PENDING_FILE)

    def read(name):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            return None
        with open(path) as f:
            return f.read().strip()

    if (os.path.isfile(os.path.join(folder, MANIFEST_FILE)) and read(SETTINGS_FILE) == settings
            and not os.path.isfile(pending)):  # fmt: skip
        return True
    os.makedirs(folder, exist_ok=True)
    if read(PENDING_FILE) != settings:
        for name in os.listdir(folder):
            if re.fullmatch(r"\d{6}\.wav(\.tmp\.wav)?", name) or name in (MANIFEST_FILE,
                                                                           SETTINGS_FILE):
                os.remove(os.path.join(folder, name))
        with open(pending, "w") as f:
            f.write(settings + "\n")
    return False


def _check_counts(num_utterances, min_digits, max_digits):
    positive_int("num_utterances", num_utterances)
    positive_int("min_digits", min_digits)
    if positive_int("max_digits", max_digits) < min_digits:
        raise ValueError(f"Argument `max_digits` ({max_digits}) must be >= min_digits "
                         f"({min_digits})")  # fmt: skip


def _write_corpus(folder, settings, jobs, command, workers, progress, what):
    """Synthesises the missing WAV files of `jobs` (`(name, text, speaker, ...)`)
    with `command(job, wav_path) -> (argv, stdin text or None)`, then writes
    `manifest.tsv` and the settings stamp; returns the manifest path."""

    def speak(job):
        path = os.path.join(folder, job[0])
        if not os.path.isfile(path):
            tmp = path + ".tmp.wav"
            argv, text = command(job, tmp)
            subprocess.run(argv, input=text, check=True, capture_output=True, text=True)
            os.replace(tmp, path)

    with ThreadPoolExecutor(max(1, int(workers))) as pool:
        for done, _ in enumerate(pool.map(speak, jobs), 1):
            if progress and (done % 500 == 0 or done == len(jobs)):
                print(f"synthesised {done}/{len(jobs)} {what}", flush=True)
    manifest = os.path.join(folder, MANIFEST_FILE)
    tmp = manifest + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("path\ttranscript\tspeaker\n")
        for name, text, speaker, *_ in jobs:
            f.write(f"{name}\t{text}\t{speaker}\n")
    os.replace(tmp, manifest)
    with open(os.path.join(folder, SETTINGS_FILE), "w") as f:
        f.write(settings + "\n")
    os.remove(os.path.join(folder, PENDING_FILE))
    return manifest


def espeak_voices(held_out_fraction=0.25, seed=0):
    """eSpeak NG voices `language+variant`, split into `(train, test)` voices by seed."""
    voices = [f"{lang}+{var}" for lang in ESPEAK_LANGUAGES for var in ESPEAK_VARIANTS]
    order = np.random.default_rng(seed).permutation(len(voices))
    count = max(1, int(round(held_out_fraction * len(voices))))
    test = sorted(voices[i] for i in order[:count])
    train = sorted(voices[i] for i in order[count:])
    return train, test


def synthesize_spoken_digits(folder, num_utterances=2000, min_digits=1, max_digits=5,
                             held_out_fraction=0.25, seed=0, espeak="espeak-ng",
                             workers=4, progress=True):  # fmt: skip
    """Writes a spoken-digit-string corpus synthesised with eSpeak NG.

    Each utterance is 1 to 5 random digits ("four zero nine") spoken by a
    random voice (language x variant), speed (120-220 words per minute) and
    pitch (20-80). Voices are split by seed: utterances of held-out voices
    get speaker names starting `test/`, the others `train/`. WAV files
    (22.05 kHz, eSpeak's rate) and `manifest.tsv` (path, transcript,
    speaker) go to `folder`; an existing complete corpus of the same
    settings is reused.

    Returns:
        The manifest path.

    Raises:
        RuntimeError: eSpeak NG is not installed (with how to install it).
        ValueError: Bad arguments.
    """
    _check_counts(num_utterances, min_digits, max_digits)
    if not 0.0 < held_out_fraction < 1.0:
        raise ValueError(f"Argument `held_out_fraction` must be in (0, 1); received: "
                         f"{held_out_fraction!r}")  # fmt: skip
    if shutil.which(espeak) is None:
        raise RuntimeError(ESPEAK_INSTALL)
    settings = f"{num_utterances} {min_digits} {max_digits} {held_out_fraction} {seed}"
    if _corpus_ready(folder, settings):
        return os.path.join(folder, MANIFEST_FILE)
    rng = np.random.default_rng(seed)
    train_voices, test_voices = espeak_voices(held_out_fraction, seed)
    jobs = []
    for i in range(num_utterances):
        held_out = rng.random() < held_out_fraction
        voices = test_voices if held_out else train_voices
        voice = voices[rng.integers(len(voices))]
        digits = rng.integers(0, 10, size=rng.integers(min_digits, max_digits + 1))
        text = " ".join(DIGIT_WORDS[d] for d in digits)
        speed, pitch = int(rng.integers(120, 221)), int(rng.integers(20, 81))
        name = f"{i:06d}.wav"
        jobs.append((name, text, ("test/" if held_out else "train/") + voice, voice, speed, pitch))

    def command(job, wav):
        _, text, _, voice, speed, pitch = job
        return [espeak, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", wav, text], None

    return _write_corpus(folder, settings, jobs, command, workers, progress, "utterances")


FESTIVAL_INSTALL = (
    "Festival (with at least one English voice) is needed for --festival_utterances and was not "
    "found on PATH. Install it (Debian/Ubuntu: `apt-get install festival festvox-kallpc16k "
    "festvox-kdlpc16k festvox-us-slt-hts`) or leave --festival_utterances at 0."
)


def festival_voices(festival="festival"):
    """The English Festival voices installed (e.g. `kal_diphone`, `ked_diphone`,
    `cmu_us_slt_arctic_hts`); raises `RuntimeError` when Festival or every voice is missing."""
    if shutil.which(festival) is None or shutil.which("text2wave") is None:
        raise RuntimeError(FESTIVAL_INSTALL)
    listed = subprocess.run([festival, "-b", "(print (voice.list))"], check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    voices = sorted(v for v in listed.strip().strip("()").split() if v)
    if not voices:
        raise RuntimeError(FESTIVAL_INSTALL)
    return voices


def synthesize_festival_digits(folder, num_utterances=1000, min_digits=1, max_digits=3, seed=0,
                               workers=2, progress=True):  # fmt: skip
    """Writes a spoken-digit corpus synthesised with Festival's voices.

    Festival's diphone voices (`kal_diphone`, `ked_diphone`) are cut from
    recordings of real speakers and its HTS voice (`cmu_us_slt_arctic_hts`)
    is trained on one: three more voices, unlike eSpeak NG's formant
    synthesis. Each utterance is `min_digits` to `max_digits` random digit
    words, spoken by a random installed voice at a random duration stretch
    (0.8-1.5) and, for the diphone voices, a random mean pitch (70-220 Hz).
    Speakers are named `festival/VOICE`. WAV files and `manifest.tsv` go to
    `folder`; a complete corpus of the same settings is reused.

    Returns:
        The manifest path.

    Raises:
        RuntimeError: Festival or its voices are not installed.
        ValueError: Bad arguments.
    """
    _check_counts(num_utterances, min_digits, max_digits)
    voices = festival_voices()
    settings = f"festival {num_utterances} {min_digits} {max_digits} {seed} {' '.join(voices)}"
    if _corpus_ready(folder, settings):
        return os.path.join(folder, MANIFEST_FILE)
    rng = np.random.default_rng(seed)
    jobs = []
    for i in range(num_utterances):
        voice = voices[rng.integers(len(voices))]
        digits = rng.integers(0, 10, size=rng.integers(min_digits, max_digits + 1))
        text = " ".join(DIGIT_WORDS[d] for d in digits)
        stretch, pitch = float(rng.uniform(0.8, 1.5)), int(rng.integers(70, 221))
        jobs.append((f"{i:06d}.wav", text, f"festival/{voice}", voice, stretch, pitch))

    def command(job, wav):
        _, text, _, voice, stretch, pitch = job
        argv = ["text2wave", "-eval", f"(voice_{voice})", "-eval",
                f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]  # fmt: skip
        if voice.endswith("_diphone"):
            argv += ["-eval", f"(set! int_lr_params '((target_f0_mean {pitch}) "
                     f"(target_f0_std {pitch // 8}) (model_f0_mean 170) (model_f0_std 34)))"]
        return argv + ["-o", wav], text

    return _write_corpus(folder, settings, jobs, command, workers, progress,
                         "Festival utterances")


def split_by_speaker(utterances, test_speakers):
    """`(train, test)`: utterances of `test_speakers` (names or prefixes ending '/') apart."""
    test_speakers = list(test_speakers)

    def held_out(speaker):
        return any(speaker == s or (s.endswith("/") and speaker.startswith(s))
                   for s in test_speakers)  # fmt: skip

    test = [u for u in utterances if held_out(u.speaker)]
    train = [u for u in utterances if not held_out(u.speaker)]
    if not test or not train:
        speakers = sorted({u.speaker for u in utterances})[:12]
        raise ValueError(
            f"Argument `test_speakers`={test_speakers} leaves an empty split; speakers are "
            f"e.g. {speakers}"
        )
    return train, test


def speech_dataset(utterances, encode, batch_size=16, shuffle=False, seed=0, augment=False,
                   noise_snr_db=(10.0, 40.0), gain_db=(-6.0, 6.0), speed=0.0,
                   clock=None):  # fmt: skip
    """Batches utterances as `((waveforms, lengths), labels)` for `SpeechRecognizer.fit`.

    Args:
        utterances: List of `Utterance`.
        encode: Callable transcript -> list of label ids (1-based; 0 is the
            CTC blank), e.g. `SpeechRecognizer.encode_transcript`.
        batch_size: Utterances per batch (waveforms zero-padded).
        shuffle: A new order every epoch (seeded); training batches then
            group utterances of similar length (five length buckets), so less
            time goes to padding.
        seed: Seed for shuffling and augmentation.
        augment: Random gain (`gain_db`) and white noise at a random SNR
            (`noise_snr_db`), drawn per utterance and epoch.
        speed: With `augment`, also play each utterance at a random speed in
            `[1 - speed, 1 + speed]` (linear-interpolation resampling, which
            shifts tempo and pitch together: Ko et al. 2015's speed
            perturbation); 0 turns it off.
        clock: A `lstm_zoo.training.EpochClock` among `fit`'s callbacks: the
            order and the augmentation of epoch `e` are then functions of
            `(seed, e)`, the same in a run resumed from a backup. Default: a
            clock that counts the passes over the dataset.

    Returns:
        `tf.data.Dataset` of `((float32 (B, S), int32 (B,)), int32 (B, U))`,
        labels zero-padded, of known length (batches per epoch).
    """
    from lstm_zoo.training import EpochClock

    positive_int("batch_size", batch_size)
    if not 0.0 <= speed < 1.0:
        raise ValueError(f"Argument `speed` must be in [0, 1); received: speed={speed!r}")
    if not utterances:
        raise ValueError("Argument `utterances` is empty")
    labels = [np.asarray(list(encode(u.transcript)), np.int32) for u in utterances]
    for u, ids in zip(utterances, labels, strict=False):
        if not len(ids):
            raise ValueError(f"Transcript {u.transcript!r} ({u.path}) encodes to no labels")
    clock = EpochClock() if clock is None else clock
    count = len(utterances)

    def generate():
        epoch = clock.current() if (shuffle or augment) else 0
        order = np.random.default_rng([seed, epoch]).permutation(count) if shuffle else range(count)
        for position, i in enumerate(order):
            audio = utterances[i].audio
            yield audio, np.int32(len(audio)), labels[i], np.int64(epoch * count + position)

    dataset = tf.data.Dataset.from_generator(
        generate,
        output_signature=(
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.int64),
        ),
    )
    if augment:
        # Each draw is a function of the seed and the utterance's place in the
        # stream of epochs: new every epoch, the same in a resumed run.
        dataset = dataset.map(
            lambda audio, length, ids, i: _augment(
                (audio, length, ids), tf.stack([tf.cast(seed, tf.int64), i]),
                noise_snr_db, gain_db, speed),
            num_parallel_calls=tf.data.AUTOTUNE,
        )  # fmt: skip
    else:
        dataset = dataset.map(lambda audio, length, ids, i: (audio, length, ids))
    if shuffle and count >= 8 * batch_size:
        # Batches of similar lengths waste less time on padding.
        lengths = np.array([len(u.audio) for u in utterances])
        boundaries = sorted({int(b) for b in np.quantile(lengths, [0.2, 0.4, 0.6, 0.8])})
        dataset = dataset.bucket_by_sequence_length(
            lambda audio, length, ids: length, boundaries, [batch_size] * (len(boundaries) + 1),
            padded_shapes=([None], [], [None]),
        )
        buckets = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
        batches = int(sum(math.ceil(n / batch_size) for n in buckets))
    else:
        dataset = dataset.padded_batch(batch_size, padded_shapes=([None], [], [None]))
        batches = math.ceil(count / batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return dataset.map(lambda w, n, y: ((w, n), y)).prefetch(tf.data.AUTOTUNE)


def _augment(example, seed, noise_snr_db, gain_db, speed=0.0):
    audio, length, ids = example
    seeds = tf.random.experimental.stateless_split(seed, 4)
    if speed:
        factor = tf.random.stateless_uniform([], seeds[3], 1.0 - speed, 1.0 + speed)
        new_length = tf.maximum(
            tf.cast(tf.math.floor(tf.cast(length - 1, tf.float32) / factor), tf.int32) + 1, 1)
        positions = tf.cast(tf.range(new_length), tf.float32) * factor
        left = tf.minimum(tf.cast(tf.math.floor(positions), tf.int32), length - 1)
        right = tf.minimum(left + 1, length - 1)
        weight = positions - tf.cast(left, tf.float32)
        audio = (1.0 - weight) * tf.gather(audio, left) + weight * tf.gather(audio, right)
        length = new_length
    gain = tf.random.stateless_uniform([], seeds[0], gain_db[0], gain_db[1])
    snr = tf.random.stateless_uniform([], seeds[1], noise_snr_db[0], noise_snr_db[1])
    power = tf.reduce_mean(tf.square(audio)) + 1e-10
    noise = tf.random.stateless_normal(tf.shape(audio), seeds[2])
    audio = audio + noise * tf.sqrt(power / tf.pow(10.0, snr / 10.0))
    audio = audio * tf.pow(10.0, gain / 20.0)
    return tf.clip_by_value(audio, -1.0, 1.0), length, ids
