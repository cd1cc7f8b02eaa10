"""`lstm-zoo train captioning` end to end: shape scenes and a Flickr-layout folder."""

import collections
import csv
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from lstm_zoo.applications.captioning import shapes
from lstm_zoo.applications.captioning.metrics import cider_d, corpus_bleu
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.tf_only

SMALL = ["--image_size=32", "--units=16", "--embedding_dim=16", "--epochs=1", "--batch_size=32",
         "--notensorboard", "--nobackup"]  # fmt: skip


def test_trains_on_shape_scenes_evaluates_exports_and_verifies(tmp_path):
    result = run_cli(["train", "captioning", "--scenes=3000", "--beam_width=2",
                      f"--workdir={tmp_path / 'run'}", f"--base_dir={tmp_path / 'models'}",
                      f"--examples_dir={tmp_path / 'examples'}", *SMALL, "--epochs=4",
                      "--units=128", "--embedding_dim=64", "--learning_rate=0.002"])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Image captioner (encoder small, cell lstm1997, 128 units" in out
    assert "3000 training images" in out and "300 validation, 500 test images at 32 px" in out
    assert "test greedy: BLEU-1" in out and "test beam2: BLEU-1" in out
    run = tmp_path / "run"
    with open(run / "metrics.json") as f:
        metrics = json.load(f)
    assert set(metrics["metrics"]) == {"greedy", "beam2"}
    assert metrics["metrics"]["beam2"]["images"] == 500
    with open(run / "log.csv") as f:
        header = next(csv.reader(f))
    assert {"val_loss", "val_bleu_1", "val_bleu_4", "val_cider_d"} <= set(header)
    # Baselines computed here on the same 500 test scenes: empty captions, and
    # the best constant answer among the 20 most frequent training captions.
    _, train_refs, _ = shapes.shape_scenes(3000, "train", 0, 32)
    _, test_refs, _ = shapes.shape_scenes(500, "test", 0, 32)
    assert corpus_bleu(test_refs, [""] * 500) == [0.0] * 4
    assert cider_d(test_refs, [""] * 500) == 0.0
    frequent = collections.Counter(c for refs in train_refs for c in refs).most_common(20)
    bleu_4 = max(corpus_bleu(test_refs, [c] * 500)[3] for c, _ in frequent)
    cider = max(cider_d(test_refs, [c] * 500) for c, _ in frequent)
    for name in ("greedy", "beam2"):
        got = metrics["metrics"][name]
        assert got["bleu_4"] > bleu_4 + 0.05 and got["cider_d"] > cider + 0.1, (got, bleu_4, cider)
    examples = (tmp_path / "examples" / "examples.md").read_text()
    assert "| image | reference | greedy | beam2 |" in examples
    assert (tmp_path / "examples" / "example_7.png").is_file()
    version = tmp_path / "models" / "captioning" / "1"
    with open(version / "assets" / "lstm_zoo.json") as f:
        card = json.load(f)
    assert list(card["signatures"]) == ["caption"] and card["image_size"] == 32
    verify = run_cli(["verify", str(version)])
    assert verify.returncode == 0, verify.stdout + verify.stderr
    again = run_cli(["export", "captioning", f"--checkpoint={run / 'model.keras'}",
                     f"--base_dir={tmp_path / 'models'}"])  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.strip().endswith(os.path.join("captioning", "2"))


def test_trains_on_a_flickr_folder(tmp_path):
    folder = tmp_path / "flickr"
    (folder / "Images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = ["image,caption"]
    for i in range(30):
        color = ["red", "blue"][i % 2]
        image = np.zeros((24, 40, 3), np.uint8)
        image[..., 0 if color == "red" else 2] = rng.integers(150, 256)
        tf.io.write_file(str(folder / "Images" / f"{i}.jpg"), tf.io.encode_jpeg(image))
        lines += [f"{i}.jpg,A {color} picture.", f"{i}.jpg,all {color}"]
    (folder / "captions.txt").write_text("\n".join(lines) + "\n")
    result = run_cli(["train", "captioning", f"--data={folder}", "--min_count=1", "--export=false",
                      f"--workdir={tmp_path / 'run'}", *SMALL])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "25 training images (50 captions), 2 validation, 3 test images at 32 px" in result.stdout
    with open(tmp_path / "run" / "metrics.json") as f:
        assert json.load(f)["metrics"]["beam3"]["images"] == 3


def test_errors_are_one_line(tmp_path):
    missing = run_cli(["train", "captioning", f"--data={tmp_path / 'nothing'}", *SMALL])
    assert_one_line_error(missing, "lstm-zoo: error: --data: no such file or folder")
    (tmp_path / "x.token.txt").write_text("a.jpg#0\ta caption\n")
    bad = run_cli(["train", "captioning", f"--data={tmp_path / 'x.token.txt'}", *SMALL])
    assert_one_line_error(bad, "a.jpg does not exist")
    encoder = run_cli(["train", "captioning", "--encoder=NoNet", "--scenes=10", *SMALL])
    assert_one_line_error(encoder, "Argument `encoder`")
