"""Speech loaders on generated audio files (good and bad), synthesis, batching."""

import os
import shutil

import numpy as np
import pytest

from lstm_zoo.applications.speech import data as speech
from tests.applications.speech.speech_data import tone_utterances, write_wavs

pytestmark = pytest.mark.tf_only

tf = pytest.importorskip("tensorflow")
soundfile = pytest.importorskip("soundfile")


def _manifest(folder, rows, name="manifest.tsv", header=True, sep="\t"):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        if header:
            f.write(sep.join(["path", "transcript", "speaker"]) + "\n")
        for row in rows:
            f.write(sep.join(row) + "\n")
    return path


def test_manifest_reads_audio_transcripts_and_speakers(tmp_path):
    utts = tone_utterances(3, rate=8000, seed=1)
    paths = write_wavs(tmp_path / "audio", utts)
    rows = [(os.path.relpath(p, tmp_path), u.transcript, f"s{i}")
            for i, (p, u) in enumerate(zip(paths, utts, strict=True))]  # fmt: skip
    loaded = speech.load_manifest(_manifest(tmp_path, rows), sample_rate=8000)
    assert [u.transcript for u in loaded] == [u.transcript for u in utts]
    assert [u.speaker for u in loaded] == ["s0", "s1", "s2"]
    for got, want in zip(loaded, utts, strict=True):
        # 16-bit PCM round trip: within half a quantisation step.
        np.testing.assert_allclose(got.audio, want.audio, atol=1.0 / 32768)
    csv_path = _manifest(tmp_path, rows, name="m.csv", header=False, sep=",")
    assert [u.transcript for u in speech.load_manifest(csv_path, 8000)] == [
        u.transcript for u in utts
    ]


def test_resampling_keeps_a_tone_and_the_duration(tmp_path):
    rate, new_rate = 22050, 16000
    t = np.arange(rate) / rate
    audio = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "a.wav"
    soundfile.write(path, audio, rate)
    out, got_rate = speech.read_audio(str(path), new_rate)
    assert got_rate == new_rate and len(out) == new_rate
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * new_rate / len(out) - 440) <= 1.0
    with pytest.raises(ValueError, match=r"a\.wav is at 22050 Hz"):
        speech.read_audio(str(path), new_rate, resample=False)


def test_stereo_is_averaged_to_mono(tmp_path):
    left, right = np.full(100, 0.5), np.full(100, -0.25)
    soundfile.write(tmp_path / "s.wav", np.stack([left, right], 1), 8000, subtype="FLOAT")
    audio, _ = speech.read_audio(str(tmp_path / "s.wav"))
    np.testing.assert_allclose(audio, 0.125)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p.write_bytes(b""), "bad.wav"),
        (lambda p: p.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage garbage"), "bad.wav"),
        (lambda p: p.write_bytes(os.urandom(300)), "bad.wav"),
        (lambda p: soundfile.write(p, np.zeros((0,)), 8000), "bad.wav holds no samples"),
        (lambda p: None, "bad.wav"),  # missing
    ],
)
def test_bad_audio_names_the_file_or_is_skipped(tmp_path, make, match):
    good = write_wavs(tmp_path, tone_utterances(1, seed=2))[0]
    make(tmp_path / "bad.wav")
    rows = [(os.path.basename(good), "low", ""), ("bad.wav", "high", "")]
    manifest = _manifest(tmp_path, rows)
    with pytest.raises(ValueError, match=match):
        speech.load_manifest(manifest, 8000)
    with pytest.warns(UserWarning, match="bad.wav"):
        kept = speech.load_manifest(manifest, 8000, on_error="skip")
    assert [u.path for u in kept] == [good]


def test_wrong_rate_is_an_error_without_resampling(tmp_path):
    write_wavs(tmp_path, tone_utterances(1, rate=16000), names=["x.wav"])
    manifest = _manifest(tmp_path, [("x.wav", "low", "")])
    with pytest.raises(ValueError, match=r"x\.wav is at 16000 Hz; the model runs at 8000 Hz"):
        speech.load_manifest(manifest, 8000, resample=False)
    assert len(speech.load_manifest(manifest, 8000)[0].audio) == len(
        tone_utterances(1, rate=8000)[0].audio
    )


def test_bad_manifest_rows_and_arguments():
    with pytest.raises(ValueError, match="manifest file"):
        speech.load_manifest("/no/such/manifest.tsv")
    with pytest.raises(ValueError, match="on_error"):
        speech._read_all([], 8000, True, "ignore")


def test_fsdd_layout_and_speaker_split(tmp_path):
    utts = tone_utterances(6, seed=3)
    names = [f"{d}_{s}_{i}.wav" for d, s, i in
             [(0, "ann", 0), (7, "ann", 1), (3, "bob", 0), (9, "bob", 1), (1, "cy", 0),
              (2, "cy", 1)]]  # fmt: skip
    write_wavs(tmp_path / "recordings", utts, names=names)
    (tmp_path / "recordings" / "README.txt").write_text("not audio")
    loaded = speech.load_speech_folder(str(tmp_path), sample_rate=8000)
    assert sorted(u.transcript for u in loaded) == sorted(
        ["zero", "seven", "three", "nine", "one", "two"]
    )
    train, test = speech.split_by_speaker(loaded, ["bob"])
    assert {u.speaker for u in test} == {"bob"} and {u.speaker for u in train} == {"ann", "cy"}
    only = speech.load_fsdd(str(tmp_path), speakers=["cy"])
    assert [u.transcript for u in only] == ["one", "two"]
    with pytest.raises(ValueError, match="empty split"):
        speech.split_by_speaker(loaded, ["nobody"])


def test_librispeech_layout_with_flac(tmp_path):
    folder = tmp_path / "dev" / "84" / "121123"
    utts = tone_utterances(2, rate=16000, seed=4)
    write_wavs(folder, utts, names=["84-121123-0000.flac", "84-121123-0001.flac"], fmt="FLAC")
    (folder / "84-121123.trans.txt").write_text("84-121123-0000 GO DO YOU HEAR\n"
                                                "84-121123-0001 BUT IN LESS THAN FIVE\n")
    loaded = speech.load_speech_folder(str(tmp_path), sample_rate=16000)
    assert [u.transcript for u in loaded] == ["go do you hear", "but in less than five"]
    assert [u.speaker for u in loaded] == ["84", "84"]
    np.testing.assert_allclose(loaded[0].audio, utts[0].audio, atol=1.0 / 32768)


def test_unknown_folder_is_explained(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="is not a speech corpus"):
        speech.load_speech_folder(str(tmp_path))


def _peak_hz(audio, rate):
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return np.argmax(spectrum) * rate / len(audio)


def _tfds_examples(rate, items):
    """`as_dataset_fn` for `tfds.testing.mock_data`: int16 tones with labels."""
    import tensorflow as tf

    def as_dataset(self, split, *args, **kwargs):
        t = np.arange(int(0.25 * rate)) / rate
        audio = [(8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16) for _, hz in items]
        labels = [label for label, _ in items]
        return tf.data.Dataset.from_tensor_slices({"audio": np.stack(audio),
                                                   "label": np.array(labels, np.int64)})

    return as_dataset


def test_tfds_spoken_digit_is_resampled_to_the_model_rate():
    tfds = pytest.importorskip("tensorflow_datasets")
    items = [(3, 440.0), (7, 1250.0)]  # (digit, tone) at spoken_digit's 8 kHz
    with tfds.testing.mock_data(as_dataset_fn=_tfds_examples(8000, items)):
        loaded = speech.load_tfds_speech("spoken_digit", "/no/data_dir", sample_rate=16000)
    assert [u.transcript for u in loaded] == ["three", "seven"]
    for utterance, (_, hz) in zip(loaded, items, strict=True):
        assert utterance.sample_rate == 16000
        assert len(utterance.audio) == 4000  # 0.25 s at 16 kHz: twice the samples ...
        assert abs(_peak_hz(utterance.audio, 16000) - hz) < 8  # ... and the same pitch
        rms = np.sqrt(np.mean(utterance.audio**2))
        assert abs(rms - 8000 / 32768 / np.sqrt(2)) < 0.005  # int16 scaled to [-1, 1]
    with pytest.raises(ValueError, match="name"):
        speech.load_tfds_speech("librispeech", "/no/data_dir")


def test_tfds_speech_commands_leaves_out_silence_and_unknown():
    tfds = pytest.importorskip("tensorflow_datasets")
    names = tfds.builder("speech_commands").info.features["label"].names
    assert "_silence_" in names and "_unknown_" in names
    words = [("yes", 440.0), ("_silence_", 50.0), ("no", 880.0), ("_unknown_", 300.0),
             ("stop", 660.0)]  # fmt: skip
    items = [(names.index(word), hz) for word, hz in words]
    with tfds.testing.mock_data(as_dataset_fn=_tfds_examples(16000, items)):
        loaded = speech.load_tfds_speech("speech_commands", "/no/data_dir", sample_rate=8000)
    assert [u.transcript for u in loaded] == ["yes", "no", "stop"]
    for utterance, hz in zip(loaded, (440.0, 880.0, 660.0), strict=True):
        assert utterance.sample_rate == 8000 and len(utterance.audio) == 2000
        assert abs(_peak_hz(utterance.audio, 8000) - hz) < 8
    only_noise = [(names.index("_silence_"), 50.0), (names.index("_unknown_"), 300.0)]
    with tfds.testing.mock_data(as_dataset_fn=_tfds_examples(16000, only_noise)):
        with pytest.raises(ValueError, match="has no usable examples"):
            speech.load_tfds_speech("speech_commands", "/no/data_dir")


def test_batches_pad_and_keep_lengths_and_labels():
    utts = tone_utterances(10, seed=5)
    encode = {"low": 1, "high": 2}

    def to_ids(text):
        return [encode[w] for w in text.split()]

    batches = list(speech.speech_dataset(utts, to_ids, batch_size=4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    (waves, lengths), labels = batches[0]
    for row, u in enumerate(utts[:4]):
        assert int(lengths[row]) == len(u.audio)
        np.testing.assert_array_equal(waves[row, : len(u.audio)], u.audio)
        assert not np.any(waves[row, len(u.audio):])
        ids = [int(i) for i in labels[row] if i]
        assert ids == to_ids(u.transcript)


def test_training_batches_are_shuffled_bucketed_and_augmented_by_seed():
    utts = tone_utterances(64, seed=6, max_words=6)

    def ids(text):
        return [1] * len(text.split())

    def epoch(seed):
        ds = speech.speech_dataset(utts, ids, batch_size=4, shuffle=True, seed=seed, augment=True)
        return [(w.numpy(), n.numpy()) for (w, n), _ in ds]

    a, b, c = epoch(0), epoch(0), epoch(1)
    assert sum(len(n) for _, n in a) == 64
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b, strict=True))
    assert not all(x[0].shape == y[0].shape and np.array_equal(x[0], y[0])
                   for x, y in zip(a, c, strict=True))  # fmt: skip
    # Buckets: each batch's lengths spread less than the whole set's.
    spread = np.mean([n.max() - n.min() for _, n in a])
    all_lengths = np.array([len(u.audio) for u in utts])
    assert spread < 0.5 * (all_lengths.max() - all_lengths.min())
    # Augmentation keeps the signal (noise 10-40 dB below it, gain within 6 dB).
    clean = utts[0].audio
    (waves, _), _ = next(iter(speech.speech_dataset(utts[:1], ids, 1, augment=True, seed=2)))
    noisy = waves.numpy()[0]
    gain = np.dot(noisy, clean) / np.dot(clean, clean)
    assert 10 ** (-6.5 / 20) < gain < 10 ** (6.5 / 20)
    residual = noisy - gain * clean
    snr = 10 * np.log10(np.sum((gain * clean) ** 2) / np.sum(residual**2))
    assert 8.0 < snr < 42.0


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_synthesised_digits_follow_the_seed_and_hold_voices_out(tmp_path):
    manifest = speech.synthesize_spoken_digits(str(tmp_path / "a"), num_utterances=12, seed=3,
                                               progress=False)  # fmt: skip
    again = speech.synthesize_spoken_digits(str(tmp_path / "b"), num_utterances=12, seed=3,
                                            progress=False)  # fmt: skip
    rows = open(manifest).read().splitlines()
    assert rows[0] == "path\ttranscript\tspeaker" and len(rows) == 13
    assert rows == open(again).read().splitlines()
    utts = speech.load_manifest(manifest, 16000)
    train_voices, test_voices = speech.espeak_voices(0.25, seed=3)
    assert not set(train_voices) & set(test_voices)
    for u in utts:
        words = u.transcript.split()
        assert 1 <= len(words) <= 5 and set(words) <= set(speech.DIGIT_WORDS)
        split, voice = u.speaker.split("/")
        assert voice in (test_voices if split == "test" else train_voices)
        assert len(u.audio) > 0.2 * 16000 and np.abs(u.audio).max() > 0.05
    # A finished corpus is reused, not synthesised again.
    stamp = os.path.getmtime(os.path.join(tmp_path / "a", "000000.wav"))
    speech.synthesize_spoken_digits(str(tmp_path / "a"), num_utterances=12, seed=3,
                                    progress=False)  # fmt: skip
    assert os.path.getmtime(os.path.join(tmp_path / "a", "000000.wav")) == stamp


def test_synthesis_without_espeak_says_how_to_install(tmp_path):
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        speech.synthesize_spoken_digits(str(tmp_path), 5, espeak="no-such-espeak-binary")
    with pytest.raises(ValueError, match="max_digits"):
        speech.synthesize_spoken_digits(str(tmp_path), 5, min_digits=3, max_digits=2)


def test_speed_perturbation_changes_tempo_and_pitch_together():
    rate = 8000
    tone = 0.5 * np.sin(2 * np.pi * 500 * np.arange(rate) / rate).astype(np.float32)
    utts = [speech.Utterance(tone, "a", "", "", rate)]
    seen = set()
    for seed in range(4):
        ds = speech.speech_dataset(utts, lambda t: [1], 1, augment=True, seed=seed, speed=0.2,
                                   noise_snr_db=(300.0, 300.0), gain_db=(0.0, 0.0))  # fmt: skip
        (waves, lengths), _ = next(iter(ds))
        n = int(lengths[0])
        factor = rate / n  # played faster: shorter and higher
        assert 0.8 - 1e-3 <= factor <= 1.2 + 1e-3
        peak = np.argmax(np.abs(np.fft.rfft(waves.numpy()[0, :n]))) * rate / n
        assert abs(peak - 500 * factor) <= 2 * rate / n + 1.0
        seen.add(n)
    assert len(seen) == 4
    with pytest.raises(ValueError, match="speed"):
        speech.speech_dataset(utts, lambda t: [1], speed=1.5)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_a_corpus_of_other_settings_is_synthesised_anew_and_an_interrupted_one_resumes(tmp_path):
    folder = str(tmp_path / "c")
    speech.synthesize_spoken_digits(folder, num_utterances=3, seed=1, progress=False)
    first = open(os.path.join(folder, "000000.wav"), "rb").read()
    # Another seed in the same folder: no file of the first corpus is reused.
    manifest = speech.synthesize_spoken_digits(folder, num_utterances=3, seed=2, progress=False)
    assert open(os.path.join(folder, "000000.wav"), "rb").read() != first
    assert not os.path.exists(os.path.join(folder, speech.PENDING_FILE))
    fresh = str(tmp_path / "fresh")
    speech.synthesize_spoken_digits(fresh, num_utterances=3, seed=2, progress=False)
    for name in ("000000.wav", "000001.wav", "000002.wav"):
        assert (open(os.path.join(folder, name), "rb").read()
                == open(os.path.join(fresh, name), "rb").read())  # fmt: skip
    assert open(manifest).read() == open(os.path.join(fresh, "manifest.tsv")).read()
    # An interrupted run of the same settings keeps the files it made.
    os.remove(os.path.join(folder, "settings.txt"))
    with open(os.path.join(folder, speech.PENDING_FILE), "w") as f:
        f.write("3 1 5 0.25 2\n")
    stamp = os.path.getmtime(os.path.join(folder, "000001.wav"))
    speech.synthesize_spoken_digits(folder, num_utterances=3, seed=2, progress=False)
    assert os.path.getmtime(os.path.join(folder, "000001.wav")) == stamp
    assert not os.path.exists(os.path.join(folder, speech.PENDING_FILE))
