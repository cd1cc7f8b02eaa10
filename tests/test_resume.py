"""Every `lstm-zoo train` command, killed mid-epoch and started again, ends with
the weights of the uninterrupted run: the backup holds the batch, the restart
passes over the batches already trained, and the input pipeline of each epoch
is a function of the seed and the epoch."""

import json
import os
import re
import signal
import subprocess
import time

import numpy as np
import pytest

from tests.applications.speech.speech_data import write_tone_corpus
from tests.cli import CLI, run_cli

pytestmark = pytest.mark.tf_only

QUIET = ["--notensorboard", "--export=false"]


def _weights(path):
    import keras

    import lstm_zoo  # noqa: F401  (registers the lstm_zoo classes)

    model = keras.saving.load_model(path, safe_mode=True)
    return [np.asarray(w) for w in model.get_weights()]


def _pointer(backup):
    try:
        with open(os.path.join(backup, "latest.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _kill_mid_epoch(args, backup, first_batch, last_batch):
    """Starts `lstm-zoo ARGS` (two epochs) and SIGKILLs it as soon as its
    backup records a batch in `[first_batch, last_batch]` of the second epoch
    (saved every batch): a fresh process that resumed with the first epoch's
    order, as `tf.data`'s reshuffling would give, would differ."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, start_new_session=True)  # fmt: skip
    deadline = time.time() + 600
    try:
        while time.time() < deadline and process.poll() is None:
            pointer = _pointer(backup)
            if pointer and pointer["epoch"] == 1 and first_batch <= pointer["batch"] <= last_batch:
                os.killpg(process.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
    assert process.returncode == -signal.SIGKILL, err.decode()[-3000:]


def _check_resume(tmp_path, args, first_batch, last_batch):
    """Runs ARGS once through, then killed mid-epoch and resumed; compares."""
    whole = run_cli([*args, f"--workdir={tmp_path / 'whole'}"])
    assert whole.returncode == 0, whole.stderr[-3000:]
    backup = str(tmp_path / "resumed" / "backup")
    resumed_args = [*args, f"--workdir={tmp_path / 'resumed'}"]
    _kill_mid_epoch(resumed_args, backup, first_batch, last_batch)
    position = _pointer(backup)
    resumed = run_cli(resumed_args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    match = re.search(r"Resuming from .*: epoch (\d+), after batch (\d+)", resumed.stdout)
    assert match, resumed.stdout[-3000:]
    epoch, batch = int(match.group(1)), int(match.group(2))
    assert (epoch, batch) == (position["epoch"] + 1, position["batch"]) and epoch == 2
    assert batch >= first_batch  # mid-epoch, not at an epoch boundary
    for a, b in zip(_weights(tmp_path / "whole" / "model.keras"),
                    _weights(tmp_path / "resumed" / "model.keras"), strict=True):  # fmt: skip
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
    assert not os.path.exists(backup)  # finished: the backup is removed
    return whole, resumed


def test_adding_resumes_mid_epoch(tmp_path):
    args = ["train", "adding", "--length=22", "--units=8", "--train_sequences=960",
            "--batch_size=32", "--epochs=2", "--test_sequences=64", "--save_freq=1",
            "--max_minutes=10"]  # fmt: skip
    whole, resumed = _check_resume(tmp_path, args, 3, 25)  # 30 batches an epoch
    steps = [int(re.search(r"trained \d+ s, (\d+) steps", r.stdout).group(1))
             for r in (whole, resumed)]
    assert steps == [60, 60]  # no batch trained twice


def test_language_model_resumes_mid_epoch_with_its_carried_states(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"Line {i % 7}: the {'cat' if i % 3 else 'dog'} sat.\n"
                              for i in range(400)))  # fmt: skip
    # The state is carried through the whole epoch (no resets) and dropout
    # draws random masks, so a wrong carried state or seed changes the weights.
    args = ["train", "language_model", f"--corpus={corpus}", "--level=char", "--units=16",
            "--num_layers=1", "--epochs=2", "--num_steps=8", "--batch_size=4",
            "--reset_every=0", "--dropout=0.3", "--optimizer=adam", "--save_freq=1",
            "--max_minutes=10", *QUIET]  # fmt: skip
    _check_resume(tmp_path, args, 5, 300)  # about 440 batches an epoch


def test_language_model_stopped_by_its_budget_resumes_at_the_next_batch(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("to be or not to be, that is the question\n" * 40)
    args = ["train", "language_model", f"--corpus={corpus}", "--level=char", "--units=16",
            "--num_layers=1", "--epochs=2", "--num_steps=5", "--batch_size=4",
            "--reset_every=0", *QUIET]  # fmt: skip
    whole = run_cli([*args, f"--workdir={tmp_path / 'whole'}"])
    assert whole.returncode == 0, whole.stderr[-3000:]
    stopped_args = [*args, f"--workdir={tmp_path / 'stopped'}"]
    first = run_cli([*stopped_args, "--max_minutes=0"])  # stops after its first batch
    assert first.returncode == 0, first.stderr[-2000:]
    pointer = _pointer(tmp_path / "stopped" / "backup")
    assert pointer["epoch"] == 0 and pointer["batch"] == 1
    second = run_cli(stopped_args)
    assert second.returncode == 0, second.stderr[-2000:]
    assert re.search(r"Resuming from .*: epoch 1, after batch 1\b", second.stdout)
    assert "Epoch 1/2" in second.stdout and "Epoch 2/2" in second.stdout
    for a, b in zip(_weights(tmp_path / "whole" / "model.keras"),
                    _weights(tmp_path / "stopped" / "model.keras"), strict=True):  # fmt: skip
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    return write_tone_corpus(tmp_path_factory.mktemp("tones"), 100, held=10, seed=7)


def test_speech_resumes_mid_epoch(tmp_path, tones):
    # Shuffled, length-bucketed batches, noise and gain augmentation, VTLP and
    # SpecAugment (random layers of the model), and the plateau schedule.
    args = ["train", "speech", f"--data={tones}", f"--labels={tones / 'labels.txt'}",
            "--sample_rate=8000", "--test_speakers=held", "--units=8", "--num_layers=1",
            "--epochs=2", "--batch_size=4", "--beam_width=1", "--spec_augment", "--vtlp=0.1",
            "--save_freq=1", "--max_minutes=10", *QUIET]  # fmt: skip
    _check_resume(tmp_path, args, 3, 16)  # 81 training utterances: about 22 batches


def test_captioning_resumes_mid_epoch(tmp_path):
    args = ["train", "captioning", "--scenes=128", "--image_size=32", "--units=16",
            "--embedding_dim=16", "--epochs=2", "--batch_size=8", "--beam_width=1",
            "--save_freq=1", "--max_minutes=10", *QUIET]  # fmt: skip
    _check_resume(tmp_path, args, 3, 12)  # 16 batches an epoch
