"""The recipes: importable `train(config, workdir)`, one driver for all of them.

- each `train` command under `MirroredStrategy` over two logical CPUs ends
  with the weights of the same run on one device;
- the language model and the captioner train as two workers of a loopback
  multi-worker cluster;
- a recipe runs in-process and writes the driver's working-directory layout.
"""

import dataclasses
import json
import os
import re
import subprocess
import sys

import pytest

from tests.cli import run_workers

pytestmark = pytest.mark.tf_only

MIRRORED = os.path.join(os.path.dirname(__file__), "mirrored.py")
CORPUS = "".join(f"Line {i % 7}: the {'cat' if i % 3 else 'dog'} sat.\n" for i in range(120))

# Small runs; dropout off (each replica draws its own masks), no gradient
# clipping (Keras clips each replica's gradient before summing them), and a
# learning rate for the language model that does not amplify float rounding
# (SGD at 1.0 for hundreds of unclipped steps turns 1e-7 into 1e0).
SMALL = {
    "adding": {"train_sequences": 128, "length": 22, "units": 8, "epochs": 2,
               "test_sequences": 64},
    "language_model": {"level": "char", "units": 16, "num_layers": 1, "batch_size": 4,
                       "num_steps": 5, "epochs": 2, "split": ["0.8", "0.1", "0.1"],
                       "clip_norm": 0.0, "learning_rate": 0.1},
    "speech": {"units": 8, "num_layers": 1, "batch_size": 4, "epochs": 2, "beam_width": 1,
               "clip_norm": 0.0},
    "captioning": {"scenes": 32, "units": 16, "embedding_dim": 16, "image_size": 32,
                   "batch_size": 8, "epochs": 2, "dropout": 0.0, "beam_width": 1},
}  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Data of the small runs: a text corpus and a tone corpus (no eSpeak needed)."""
    from tests.applications.speech.speech_data import write_tone_corpus

    root = tmp_path_factory.mktemp("inputs")
    (root / "corpus.txt").write_text(CORPUS)
    tones = write_tone_corpus(root / "tones", 40, held=8, seed=3)
    return {"language_model": {"corpus": str(root / "corpus.txt")},
            "speech": {"data": str(tones), "labels": str(tones / "labels.txt"),
                       "sample_rate": 8000, "test_speakers": ["held"]}}  # fmt: skip


@pytest.mark.parametrize("task", list(SMALL))
def test_train_command_under_mirrored_strategy_matches_one_device(task, inputs, tmp_path):
    values = {**SMALL[task], **inputs.get(task, {})}
    result = subprocess.run([sys.executable, MIRRORED, task, str(tmp_path), json.dumps(values)],
                            capture_output=True, text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == {"default": 1, "mirrored": 2}
    assert report["moved"] > 1e-3  # training changed the weights ...
    assert report["diff"] < 1e-5, report  # ... alike on one device and on two replicas


def _flags(values):
    return [f"--{k}={','.join(v) if isinstance(v, list) else v}" for k, v in values.items()]


@pytest.mark.parametrize("task", ["language_model", "captioning"])
def test_two_local_workers_train_an_application_together(task, inputs, tmp_path):
    values = {**SMALL[task], **inputs.get(task, {}), "epochs": 1}
    outputs = run_workers(["train", task, "--distribution=multi_worker",
                           f"--workdir={tmp_path / 'run'}", f"--base_dir={tmp_path / 'models'}",
                           *_flags(values)])  # fmt: skip
    assert all("2 replica(s)" in out for out in outputs)
    losses = [re.findall(r"Epoch 1/1 - (\d+) steps - loss: ([\d.e+-]+)", out) for out in outputs]
    assert losses[0] and losses[0] == losses[1]  # synchronous: the same global losses
    assert "saved" in outputs[0] and "saved" not in outputs[1]  # the chief writes
    assert (tmp_path / "models" / task / "1" / "saved_model.pb").is_file()


def test_recipe_runs_in_process_and_writes_the_workdir(tmp_path):
    import numpy as np

    from lstm_zoo.datasets import adding_problem
    from lstm_zoo.tasks.adding.config import AddingConfig
    from lstm_zoo.tasks.adding.recipe import train

    config = AddingConfig(**SMALL["adding"], save_freq=1)
    model, metrics = train(config, str(tmp_path / "run"))
    assert metrics["test_sequences"] == 64
    x_test, y_test, _ = adding_problem(64, 22, seed=2)  # the recipe's test set (seed + 2)
    mse = float(np.mean((model.predict(x_test, verbose=0) - y_test) ** 2))
    assert metrics["test_mse"] == pytest.approx(mse, rel=1e-4)
    assert sorted(os.listdir(tmp_path / "run")) == ["config.json", "log.csv", "metrics.json",
                                                    "model.keras"]  # fmt: skip
    with open(tmp_path / "run" / "config.json") as f:
        saved = json.load(f)
    assert saved.pop("task") == "adding"
    assert AddingConfig.from_dict(saved) == config  # the run can be repeated from its file


def test_configs_reject_bad_values_naming_the_field():
    from lstm_zoo.applications.language_model.config import LanguageModelConfig
    from lstm_zoo.applications.speech.config import SpeechConfig

    with pytest.raises(ValueError, match="Config field `units` must be >= 1; received: 0"):
        SpeechConfig(units=0)
    with pytest.raises(ValueError, match="`cell` must be one of"):
        LanguageModelConfig(cell="lstm2000")
    with pytest.raises(ValueError, match="Unknown LanguageModelConfig field"):
        LanguageModelConfig.from_dict({"beam_width": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        SpeechConfig().units = 3
