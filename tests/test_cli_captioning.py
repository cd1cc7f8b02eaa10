"""`lstm-zoo train captioning` end to end: shape scenes and a Flickr-layout folder."""

import csv
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.cli import run_cli

pytestmark = pytest.mark.tf_only

SMALL = ["--image_size=32", "--units=16", "--embedding_dim=16", "--epochs=1", "--batch_size=32",
         "--tensorboard_dir=", "--backup_dir="]  # fmt: skip


def test_trains_on_shape_scenes_evaluates_exports_and_verifies(tmp_path):
    result = run_cli(["train", "captioning", "--scenes=64", "--beam_width=2",
                      f"--save_path={tmp_path / 'c.keras'}", f"--base_dir={tmp_path / 'models'}",
                      f"--log_csv={tmp_path / 'log.csv'}", f"--metrics_json={tmp_path / 'm.json'}",
                      f"--examples_dir={tmp_path / 'examples'}", *SMALL])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Image captioner (encoder small, cell lstm1997, 16 units" in out
    assert "64 training images" in out and "300 validation, 500 test images at 32 px" in out
    assert "test greedy: BLEU-1" in out and "test beam2: BLEU-1" in out
    with open(tmp_path / "m.json") as f:
        metrics = json.load(f)
    assert set(metrics["metrics"]) == {"greedy", "beam2"}
    assert metrics["metrics"]["beam2"]["images"] == 500
    assert 0.0 <= metrics["metrics"]["greedy"]["bleu_4"] <= metrics["metrics"]["greedy"]["bleu_1"]
    with open(tmp_path / "log.csv") as f:
        header = next(csv.reader(f))
    assert {"val_loss", "val_bleu_1", "val_bleu_4", "val_cider_d"} <= set(header)
    assert metrics["metrics"]["greedy"]["cider_d"] >= 0.0
    examples = (tmp_path / "examples" / "examples.md").read_text()
    assert "| image | reference | greedy | beam2 |" in examples
    assert (tmp_path / "examples" / "example_7.png").is_file()
    version = tmp_path / "models" / "captioning" / "1"
    with open(version / "assets" / "lstm_zoo.json") as f:
        card = json.load(f)
    assert list(card["signatures"]) == ["caption"] and card["image_size"] == 32
    verify = run_cli(["verify", str(version)])
    assert verify.returncode == 0, verify.stdout + verify.stderr
    again = run_cli(["export", "captioning", f"--checkpoint={tmp_path / 'c.keras'}",
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
                      "--save_path=", f"--metrics_json={tmp_path / 'm.json'}", *SMALL])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "25 training images (50 captions), 2 validation, 3 test images at 32 px" in result.stdout
    with open(tmp_path / "m.json") as f:
        assert json.load(f)["metrics"]["beam3"]["images"] == 3


def test_errors_are_one_line(tmp_path):
    missing = run_cli(["train", "captioning", f"--data={tmp_path / 'nothing'}", *SMALL])
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1].startswith("lstm-zoo: error: --data: no such")
    (tmp_path / "x.token.txt").write_text("a.jpg#0\ta caption\n")
    bad = run_cli(["train", "captioning", f"--data={tmp_path / 'x.token.txt'}", *SMALL])
    assert bad.returncode == 2 and "a.jpg does not exist" in bad.stderr
    encoder = run_cli(["train", "captioning", "--encoder=NoNet", "--scenes=10", *SMALL])
    assert encoder.returncode == 2 and "Argument `encoder`" in encoder.stderr
