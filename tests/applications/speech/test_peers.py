"""Peers of the speech application: PocketSphinx on digits spoken by eSpeak NG at
test time, the per-speaker scores, `lstm-zoo score`, and the Festival corpus."""

import json
import os
import shutil

import numpy as np
import pytest

from lstm_zoo.applications.speech import data as speech
from lstm_zoo.applications.speech import peers
from lstm_zoo.applications.speech.data import DIGIT_WORDS, Utterance
from tests.applications.speech.speech_data import write_wavs
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.tf_only

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed")  # fmt: skip
needs_festival = pytest.mark.skipif(shutil.which("text2wave") is None,
                                    reason="Festival is not installed")  # fmt: skip


def _espeak_fsdd(folder, speakers=("en-us+m3", "en-us+f2"), per_digit=1):
    """An FSDD-layout folder, `{digit}_{speaker}_{index}.wav` at 8 kHz, of isolated
    digits spoken by eSpeak NG voices (speaker names: the voices with `+` -> `-`)."""
    import subprocess

    import soundfile

    os.makedirs(folder, exist_ok=True)
    for voice in speakers:
        name = voice.replace("+", "-")
        for digit in range(10):
            for index in range(per_digit):
                tmp = os.path.join(folder, "tmp.wav")
                subprocess.run(["espeak-ng", "-v", voice, "-s", str(140 + 20 * index), "-w",
                                tmp, DIGIT_WORDS[digit]], check=True, capture_output=True)
                audio, rate = soundfile.read(tmp, dtype="float32")
                audio = speech.resample_audio(audio, rate, 8000)
                soundfile.write(os.path.join(folder, f"{digit}_{name}_{index}.wav"), audio, 8000,
                                subtype="PCM_16")  # fmt: skip
                os.remove(tmp)
    return folder


class _Fixed:
    """A recogniser that answers from a table (path -> transcript)."""

    name = "fixed"

    def __init__(self, answers):
        self.answers = list(answers)
        self.rates = []

    def transcribe(self, waveforms, sample_rate):
        self.rates.append(sample_rate)
        return [self.answers.pop(0) for _ in waveforms]


def test_scores_are_per_speaker_accuracy_and_word_error_rate():
    utts = [Utterance(np.zeros(80, np.float32), t, s, "", 8000) for t, s in
            [("one", "a"), ("two", "a"), ("three", "a"), ("four", "b"), ("five six", "b")]]
    result = peers.score(_Fixed(["one", "too", "", "four", "five six seven"]), utts)
    assert result["speakers"]["a"] == {"accuracy": pytest.approx(1 / 3),
                                       "word_error_rate": pytest.approx(2 / 3), "utterances": 3}
    # b: "four" right; "five six" -> "five six seven" is one insertion in 3 words.
    assert result["speakers"]["b"]["accuracy"] == pytest.approx(0.5)
    assert result["speakers"]["b"]["word_error_rate"] == pytest.approx(1 / 3)
    assert result["all"]["accuracy"] == pytest.approx(2 / 5)
    assert result["all"]["word_error_rate"] == pytest.approx(3 / 6)
    assert result["hypotheses"][1] == "too"


def test_utterances_at_two_rates_are_decoded_at_their_own_rate():
    utts = [Utterance(np.zeros(80, np.float32), "one", "a", "", 8000),
            Utterance(np.zeros(160, np.float32), "two", "a", "", 16000),
            Utterance(np.zeros(80, np.float32), "three", "a", "", 8000)]  # fmt: skip
    fixed = _Fixed(["one", "three", "two"])  # the 8 kHz pair first, then the 16 kHz one
    result = peers.score(fixed, utts)
    assert fixed.rates == [8000, 16000]
    assert result["hypotheses"] == ["one", "two", "three"] and result["all"]["accuracy"] == 1.0


class _Hypothesis:
    def __init__(self, text):
        self.hypstr = text


class _StubDecoder:
    """Stands in for PocketSphinx's decoder: answers from a list, records the audio."""

    def __init__(self, answers):
        self.answers, self.pcm = list(answers), []

    def start_utt(self):
        pass

    def process_raw(self, data, no_search, full_utt):
        self.pcm.append(np.frombuffer(data, np.int16))

    def end_utt(self):
        pass

    def hyp(self):
        answer = self.answers.pop(0)
        return None if answer is None else _Hypothesis(answer)


def test_pocketsphinx_gets_16_khz_pcm_and_oh_becomes_zero():
    pytest.importorskip("pocketsphinx")
    recognizer = peers.PocketSphinxDigits(isolated=False)
    recognizer._decoder = stub = _StubDecoder(["oh seven", None, "nine"])
    tone = (0.5 * np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000)).astype(np.float32)
    assert recognizer.transcribe([tone, tone[:4000], tone], 8000) == ["zero seven", "", "nine"]
    assert [len(p) for p in stub.pcm] == [16000, 8000, 16000]  # resampled 8 -> 16 kHz
    assert 15000 < np.abs(stub.pcm[0]).max() < 16800  # half of full scale, 16-bit


@needs_espeak
def test_pocketsphinx_recognises_spoken_digits(tmp_path):
    pytest.importorskip("pocketsphinx")
    folder = _espeak_fsdd(str(tmp_path / "fsdd"), speakers=("en-us+m3",))
    utts = speech.load_fsdd(folder, sample_rate=None)
    recognizer = peers.PocketSphinxDigits(isolated=True)
    hyps = recognizer.transcribe([u.audio for u in utts], 8000)
    # One digit word or nothing (no path through the grammar); far above chance (1 in 10).
    assert all(h == "" or h in DIGIT_WORDS for h in hyps)
    right = sum(h == u.transcript for h, u in zip(hyps, utts, strict=True))
    assert right >= 4, list(zip([u.transcript for u in utts], hyps, strict=True))


@needs_espeak
def test_score_command_puts_pocketsphinx_beside_a_trained_model(tmp_path):
    pytest.importorskip("pocketsphinx")
    import keras

    from lstm_zoo.applications.speech.model import SpeechRecognizer

    folder = _espeak_fsdd(str(tmp_path / "fsdd"))
    model = SpeechRecognizer("digits", sample_rate=8000, num_layers=1, units=8)
    model.build()
    path = str(tmp_path / "model.keras")
    model.save(path)
    out = str(tmp_path / "scores.json")
    result = run_cli(["score", folder, f"--recognizers=pocketsphinx,{path},{path}+{path}",
                      "--speakers=en-us-m3,en-us-f2", f"--output={out}", "--beam_width=2"])
    assert result.returncode == 0, result.stderr
    assert "| en-us-f2 |" in result.stdout and "| **all** |" in result.stdout
    report = json.load(open(out))
    assert report["isolated"] is True and len(report["transcripts"]) == 20
    sphinx, ours, pair = report["results"]
    assert sphinx["recognizer"] == "pocketsphinx" and ours["recognizer"] == path
    assert sphinx["all"]["accuracy"] >= 0.3
    # The untrained model's transcripts are those of the model itself under
    # the same one-word grammar; an ensemble of it with itself agrees.
    loaded = keras.saving.load_model(path)
    utts = speech.load_fsdd(folder, sample_rate=8000)
    direct = loaded.transcribe([u.audio for u in utts], choices=list(DIGIT_WORDS))
    assert ours["hypotheses"] == direct == pair["hypotheses"]
    # A free beam search without the grammar.
    result = run_cli(["score", folder, f"--recognizers={path}", "--speakers=en-us-m3",
                      "--grammar=string", f"--output={out}", "--beam_width=2"])
    assert result.returncode == 0, result.stderr
    free = json.load(open(out))["results"][0]["hypotheses"]
    m3 = [u.audio for u in utts if u.speaker == "en-us-m3"]
    assert free == loaded.transcribe(m3, beam_width=2)
    assert ours["all"]["accuracy"] == pytest.approx(
        np.mean([h == u.transcript for h, u in zip(direct, utts, strict=True)]))


def test_score_command_errors_are_one_line(tmp_path):
    assert_one_line_error(run_cli(["score", str(tmp_path / "none")]), "no such file or folder")
    write_wavs(str(tmp_path / "f"), [Utterance(np.ones(800, np.float32) * 0.1, "one", "x", "",
                                               8000)], names=["1_x_0.wav"])  # fmt: skip
    assert_one_line_error(run_cli(["score", str(tmp_path / "f"), "--speakers=bob"]),
                          "--speakers: bob not in")
    assert_one_line_error(run_cli(["score", str(tmp_path / "f"), "--recognizers=nothing.keras"]),
                          "is neither `pocketsphinx`")
    assert_one_line_error(run_cli(["score"]), "score needs DATA")


@needs_festival
def test_festival_corpus_follows_the_seed_and_uses_every_voice(tmp_path):
    manifest = speech.synthesize_festival_digits(str(tmp_path / "a"), 9, seed=2, progress=False)
    rows = open(manifest).read().splitlines()
    assert rows[0] == "path\ttranscript\tspeaker" and len(rows) == 10
    again = speech.synthesize_festival_digits(str(tmp_path / "b"), 9, seed=2, progress=False)
    assert rows == open(again).read().splitlines()
    utts = speech.load_manifest(manifest, 8000)
    voices = speech.festival_voices()
    assert {u.speaker for u in utts} <= {f"festival/{v}" for v in voices}
    for u in utts:
        assert 1 <= len(u.transcript.split()) <= 3
        assert set(u.transcript.split()) <= set(DIGIT_WORDS)
        assert len(u.audio) > 0.2 * 8000 and np.abs(u.audio).max() > 0.05
    stamp = os.path.getmtime(os.path.join(tmp_path / "a", "000000.wav"))
    speech.synthesize_festival_digits(str(tmp_path / "a"), 9, seed=2, progress=False)
    assert os.path.getmtime(os.path.join(tmp_path / "a", "000000.wav")) == stamp


def test_festival_missing_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install festival"):
        speech.synthesize_festival_digits(str(tmp_path), 3)


def test_score_command_equalises_each_speaker_to_a_reference(tmp_path):
    import keras

    from lstm_zoo.applications.speech.equalizer import SpeakerEqualizer
    from lstm_zoo.applications.speech.model import SpeechRecognizer

    rng = np.random.default_rng(0)
    utts, names = [], []
    for speaker, taps in (("flat", [1.0]), ("dull", [1.0, 0.9])):  # two microphones
        for digit in range(10):
            tone = np.sin(2 * np.pi * (300 + 150 * digit) * np.arange(3200) / 8000)
            audio = np.convolve(0.3 * tone + 0.02 * rng.normal(size=3200), taps)[:3200]
            utts.append(Utterance(audio.astype(np.float32), DIGIT_WORDS[digit], speaker, "",
                                  8000))  # fmt: skip
            names.append(f"{digit}_{speaker}_0.wav")
    folder = str(tmp_path / "fsdd")
    write_wavs(folder, utts, names=names)
    model = SpeechRecognizer("digits", sample_rate=8000, num_layers=1, units=8)
    model.build()
    path = str(tmp_path / "model.keras")
    model.save(path)
    out = str(tmp_path / "scores.json")
    result = run_cli(["score", folder, f"--recognizers={path}", "--speakers=dull",
                      "--equalize_to=flat", f"--output={out}"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "each speaker equalised to the reference of flat" in result.stdout
    report = json.load(open(out))
    loaded = speech.load_fsdd(folder, sample_rate=8000)
    equalizer = SpeakerEqualizer(8000).fit([u for u in loaded if u.speaker == "flat"])
    np.testing.assert_allclose(report["equalizer"]["reference"], equalizer.reference)
    raw = [u for u in loaded if u.speaker == "dull"]
    dull = equalizer.apply(raw)
    assert np.abs(dull[0].audio - raw[0].audio).max() > 0.05  # the filter is not a delta
    model = keras.saving.load_model(path)
    choices = list(DIGIT_WORDS)
    assert report["results"][0]["hypotheses"] == model.transcribe([u.audio for u in dull],
                                                                  choices=choices)
    # The same reference from a file (what `train speech --equalize_speakers` saves).
    saved = str(tmp_path / "equalizer.json")
    equalizer.save(saved)
    result = run_cli(["score", folder, f"--recognizers={path}", "--speakers=dull",
                      f"--equalizer={saved}", f"--output={out}"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    again = json.load(open(out))
    assert again["results"][0]["hypotheses"] == report["results"][0]["hypotheses"]
    assert again["equalizer"]["source"] == saved
    for args, message in (([f"--equalizer={saved}", "--equalize_to=flat"], "not both"),
                          (["--equalizer=/no/such.json"], "--equalizer: no such file"),
                          ([f"--equalizer={out}"], "is not an equalizer.json"),
                          (["--equalize_to=bob"], "--equalize_to: bob not in")):  # fmt: skip
        assert_one_line_error(run_cli(["score", folder, f"--recognizers={path}", *args]),
                              message)
