"""`lstm-zoo train speech` end to end on a generated corpus: train, evaluate, export."""

import json
import shutil

import pytest

from lstm_zoo.applications.speech.metrics import word_error_rate
from tests.applications.speech.speech_data import write_tone_corpus
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.tf_only


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_tone_corpus(tmp_path_factory.mktemp("tones"), 120, held=20, seed=5)


def test_trains_evaluates_exports_and_verifies(corpus, tmp_path):
    result = run_cli(["train", "speech", f"--data={corpus}", f"--labels={corpus / 'labels.txt'}",
                      "--sample_rate=8000", "--test_speakers=held", "--units=16", "--num_layers=1",
                      "--epochs=6", "--learning_rate=0.01", "--beam_width=4", "--batch_size=10",
                      f"--workdir={tmp_path / 'run'}", f"--base_dir={tmp_path / 'models'}",
                      "--floor_db=60", "--num_cepstra=30", "--upper_hz=3000",
                      "--normalization=utterance_mean", "--min_learning_rate=1e-4",
                      "--ema_momentum=0.5", "--notensorboard"])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Speech recognizer (cell lstm1997_forget_gate, 1 x 16 units" in out
    assert "90 training" in out and "20 test utterances at 8000 Hz" in out
    assert "test greedy: label error rate" in out and "test beam4:" in out
    run = tmp_path / "run"
    assert not (run / "tensorboard").exists()
    with open(run / "metrics.json") as f:
        metrics = json.load(f)
    assert metrics["training"]["config"]["ema_momentum"] == 0.5
    beam = metrics["metrics"]["beam4"]
    assert beam["utterances"] == 20
    # A model that ignores the audio does no better than the best constant
    # answer, and answering nothing at all scores 1.0: beat both clearly.
    manifest = [line.split("\t") for line in (corpus / "manifest.tsv").read_text().splitlines()]
    tests = [text for _, text, speaker in manifest if speaker == "held"]
    trained = [text for _, text, speaker in manifest if speaker == "seen"]
    constant = min(word_error_rate(tests, [answer] * len(tests)) for answer in set(trained))
    assert word_error_rate(tests, [""] * len(tests)) == 1.0
    assert beam["label_error_rate"] < 0.5 * constant, (beam, constant)
    # The most frequent errors count every wrong transcript (two labels: few kinds).
    wrong = round((1.0 - beam["sentence_accuracy"]) * 20)
    assert sum(count for _, _, count in metrics["confusions"]) == wrong
    assert all(ref != hyp for ref, hyp, _ in metrics["confusions"])
    with open(run / "log.csv") as f:
        header = f.readline()
    assert "val_label_error_rate" in header and "val_word_error_rate" in header
    assert "val_loss" in header
    assert (run / "model.keras").is_file()
    version = tmp_path / "models" / "speech" / "1"
    with open(version / "assets" / "lstm_zoo.json") as f:
        card = json.load(f)
    assert card["labels"] == ["low", "high"] and card["sample_rate"] == 8000
    assert card["config"]["features"] == {"floor_db": 60.0, "num_cepstra": 30,
                                         "upper_hz": 3000.0,
                                         "normalization": "utterance_mean"}
    assert list(card["signatures"]) == ["transcribe"]
    verify = run_cli(["verify", str(version)])
    assert verify.returncode == 0, verify.stdout + verify.stderr
    again = run_cli(["export", "speech", f"--checkpoint={run / 'model.keras'}",
                     f"--base_dir={tmp_path / 'models'}"])  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "models" / "speech" / "2" / "saved_model.pb").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data=/no/such/corpus"], "--data"),
        (["--data=tfds:spoken_digit"], "--tfds_data_dir"),
        (["--labels=/no/labels.txt"], "--labels"),
        (["--sample_rate=8000", "--upper_hz=5000"], "upper_hz"),
    ],
)
def test_bad_speech_flags_fail_in_one_line(corpus, args, message):
    full = ["train", "speech", *args]
    if not any(a.startswith("--data") for a in args):
        full.append(f"--data={corpus}")
    result = run_cli(full)
    assert_one_line_error(result, message)


def test_a_transcript_outside_the_labels_is_named(corpus, tmp_path):
    result = run_cli(["train", "speech", f"--data={corpus}", "--labels=digits", "--epochs=1"])
    last = assert_one_line_error(result, "not in the model's labels")
    assert "'high'" in last


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_added_synthesised_corpus_trains_on_its_training_voices_and_scores_the_others(
        corpus, tmp_path):
    # A finished "synthesised corpus" (its settings stamp matches) of tone
    # utterances: 30 of training voices, 10 of held-out voices.
    synth = write_tone_corpus(tmp_path / "synth", 40, held=10, seed=6)
    rows = (synth / "manifest.tsv").read_text().splitlines()
    (synth / "manifest.tsv").write_text("".join(
        line.replace("\theld", "\ttest/v1").replace("\tseen", "\ttrain/v2") + "\n"
        for line in rows))  # fmt: skip
    (synth / "settings.txt").write_text("40 1 5 0.25 0\n")
    result = run_cli(["train", "speech", f"--data={corpus}", f"--labels={corpus / 'labels.txt'}",
                      "--sample_rate=8000", "--test_speakers=held", "--units=8", "--num_layers=1",
                      "--epochs=1", "--batch_size=10", "--add_synthesized", f"--synth_dir={synth}",
                      "--synth_utterances=40", f"--workdir={tmp_path / 'run'}", "--noexport",
                      "--notensorboard"])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # 100 seen + 30 synthesised training utterances, less a tenth for validation.
    assert "117 training" in result.stdout and "20 test utterances" in result.stdout
    assert "synthesised test voices (beam 8): word error rate" in result.stdout
    with open(tmp_path / "run" / "metrics.json") as f:
        metrics = json.load(f)["metrics"]
    assert metrics["synthesized_test_voices"]["utterances"] == 10
    assert metrics["beam8"]["utterances"] == 20


def test_equalised_speakers_train_and_save_the_training_speakers_reference(corpus, tmp_path):
    import numpy as np

    from lstm_zoo.applications.speech import data as speech
    from lstm_zoo.applications.speech.equalizer import SpeakerEqualizer

    result = run_cli(["train", "speech", f"--data={corpus}", f"--labels={corpus / 'labels.txt'}",
                      "--sample_rate=8000", "--test_speakers=held", "--units=8", "--num_layers=1",
                      "--epochs=1", "--batch_size=10", "--equalize_speakers", "--noexport",
                      f"--workdir={tmp_path / 'run'}", "--notensorboard"])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "each speaker equalised to the training speakers' average spectrum" in result.stdout
    saved = SpeakerEqualizer.load(str(tmp_path / "run" / "equalizer.json"))
    seen = [u for u in speech.load_speech_folder(str(corpus), 8000) if u.speaker == "seen"]
    np.testing.assert_allclose(saved.reference, SpeakerEqualizer(8000).fit(seen).reference)
    with open(tmp_path / "run" / "metrics.json") as f:
        assert json.load(f)["training"]["config"]["equalize_speakers"] is True
