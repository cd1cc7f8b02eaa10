"""`lstm-zoo train language_model` end to end: train, evaluate, save, export, verify."""

import json
import os

import pytest

from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.tf_only


def _small(tmp_path):
    return ["--units=16", "--num_layers=1", "--epochs=2", "--num_steps=5", "--batch_size=4",
            f"--workdir={tmp_path / 'run'}", f"--base_dir={tmp_path / 'models'}"]


def test_trains_exports_and_verifies_on_a_corpus_file(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"Line {i % 7}: the {'cat' if i % 2 else 'dog'} sat.\n"
                              for i in range(600)))  # fmt: skip
    result = run_cli(["train", "language_model", f"--corpus={corpus}", "--level=char",
                      *_small(tmp_path)])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Language model (char level, small size, cell lstm1997)" in out
    assert "state reset every 5 batches" in out
    test_line = next(line for line in out.splitlines() if line.startswith("test ("))
    unigram_line = next(line for line in out.splitlines() if line.startswith("unigram"))
    nats = float(test_line.split(": ")[1].split()[0])
    unigram = float(unigram_line.split(": ")[1].split()[0])
    assert nats < unigram  # two epochs on a repetitive text already beat counting
    run = tmp_path / "run"
    assert (run / "model.keras").is_file()
    assert (run / "tensorboard" / "train").is_dir()
    assert not (run / "backup").exists()  # removed after a finished run
    with open(run / "config.json") as f:
        assert json.load(f)["level"] == "char"
    with open(run / "metrics.json") as f:
        assert json.load(f)["metrics"]["test_nats_per_char"] == pytest.approx(nats, abs=1e-4)
    with open(run / "log.csv") as f:
        header = f.readline()
    assert "val_perplexity" in header and "val_bits" in header
    version = tmp_path / "models" / "language_model" / "1"
    with open(version / "assets" / "lstm_zoo.json") as f:
        card = json.load(f)
    assert card["application"] == "language_model" and card["level"] == "char"
    assert card["metrics"]["test_nats_per_char"] == pytest.approx(nats, abs=1e-4)
    verify = run_cli(["verify", str(version)])
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "ok   generate example 1" in verify.stdout
    # The saved .keras file exports again through `lstm-zoo export`, as version 2.
    export = run_cli(["export", "language_model", f"--checkpoint={run / 'model.keras'}",
                      f"--base_dir={tmp_path / 'models'}"])  # fmt: skip
    assert export.returncode == 0, export.stderr[-2000:]
    assert export.stdout.strip().endswith(os.path.join("language_model", "2"))
    verify = run_cli(["verify", export.stdout.strip().splitlines()[-1]])
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.parametrize(
    "content, message",
    [(b"", "is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00", "is binary"), (b"caf\xe9", "not UTF-8")],
)
def test_bad_corpus_files_fail_in_one_line(tmp_path, content, message):
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(content)
    result = run_cli(["train", "language_model", f"--corpus={corpus}", *_small(tmp_path)])
    line = assert_one_line_error(result, message)
    assert line.startswith("lstm-zoo: error: ") and "bad.txt" in line
    assert sorted(os.listdir(tmp_path)) == ["bad.txt"]  # nothing written


def test_unreadable_corpus_file_fails_in_one_line(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("readable\n" * 100)
    (corpus / "b.txt").mkdir()  # unreadable as a file, even by root
    result = run_cli(["train", "language_model", f"--corpus={corpus}", *_small(tmp_path)])
    line = assert_one_line_error(result, "lstm-zoo: error: Cannot read text file ")
    assert line.endswith(f"{corpus / 'b.txt'}: Is a directory")
    assert sorted(os.listdir(tmp_path)) == ["corpus"]  # nothing written


def test_bad_split_flag(tmp_path):
    result = run_cli(["train", "language_model", "--split=0.5,0.1,x", *_small(tmp_path)])
    assert_one_line_error(result, "lstm-zoo: error: --split must be three numbers")


def test_size_names_a_model_configuration_and_config_is_a_json_file(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e f g\n" * 300)
    flags_file = tmp_path / "flags.json"
    flags_file.write_text(json.dumps({"size": "medium", "units": 8, "export": False}))
    result = run_cli(["train", "language_model", f"--corpus={corpus}", f"--config={flags_file}",
                      "--max_minutes=0", *_small(tmp_path)])  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(word level, medium size, cell lstm1997)" in result.stdout
    assert "dropout 0.5" in result.stdout  # the medium size's, not overridden
    assert "1 x 16 units" in result.stdout  # --units on the command line wins over the file
    assert not (tmp_path / "models").exists()  # "export": false from the file
    flags_file.write_text(json.dumps({"beam_width": 3}))
    other = run_cli(["train", "language_model", f"--config={flags_file}"])
    assert_one_line_error(other, "holds 'beam_width', which is not a flag of "
                                 "`lstm-zoo train language_model`")  # fmt: skip


def test_too_small_validation_split(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e f g\n" * 300)
    result = run_cli(["train", "language_model", f"--corpus={corpus}", "--split=0.995,0.005,0",
                      *_small(tmp_path)])  # fmt: skip
    assert_one_line_error(result, "validation split has")
