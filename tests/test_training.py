"""Distribution, resumable runs and hostile inputs at the command line."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.cli import assert_one_line_error, run_cli, run_workers

pytestmark = pytest.mark.tf_only

CLI = [sys.executable, "-m", "lstm_zoo_cli"]
SMALL = ["--length=22", "--units=8", "--test_sequences=64", "--max_minutes=10"]


def _run(args, env=None, timeout=600):
    return subprocess.run(CLI + args, capture_output=True, text=True, timeout=timeout,
                          env=env)  # fmt: skip


# ------------------------------------------------------------------ strategies

MIRRORED = textwrap.dedent(
    """
    import json
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from lstm_zoo.datasets import adding_problem
    from lstm_zoo.layers import LSTM1997

    x, y, _ = adding_problem(256, 30, seed=0, variant="modern")

    def train(strategy):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = keras.Sequential([keras.Input((None, 2)), LSTM1997(8), keras.layers.Dense(1)])
            model.compile(keras.optimizers.SGD(0.05), "mse")
        initial = [w.copy() for w in model.get_weights()]
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(32), epochs=3, verbose=0)
        return initial, model.get_weights(), strategy.num_replicas_in_sync

    init_a, single, _ = train(tf.distribute.get_strategy())
    init_b, mirrored, replicas = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    print(json.dumps({
        "replicas": replicas,
        "same_init": max(float(np.abs(a - b).max()) for a, b in zip(init_a, init_b)),
        "moved": max(float(np.abs(a - b).max()) for a, b in zip(init_a, single)),
        "diff": max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored)),
    }))
    """
)


def test_mirrored_strategy_matches_single_device(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["same_init"] == 0.0
    assert report["moved"] > 1e-3  # training changed the weights ...
    assert report["diff"] < 1e-5  # ... identically on one device and on two replicas


MULTI_WORKER = ["train", "adding", "--distribution=multi_worker", "--train_sequences=512",
                "--epochs=2", "--batch_size=32", *SMALL]  # fmt: skip


def test_two_local_multi_worker_processes_train_together(tmp_path):
    outputs = run_workers([*MULTI_WORKER, f"--workdir={tmp_path}"])
    assert all("2 replica(s)" in out for out in outputs)
    # Synchronous data parallelism: both workers report the same global losses.
    epochs = [re.findall(r"Epoch \d+/2 - 16 steps - loss: [\d.e-]+", out) for out in outputs]
    assert len(epochs[0]) == 2 and epochs[0] == epochs[1]
    assert "saved" in outputs[0] and "saved" not in outputs[1]  # the chief writes

    import keras
    import numpy as np

    import lstm_zoo  # noqa: F401
    from lstm_zoo.datasets import adding_problem

    model = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    x, y, _ = adding_problem(64, 22, seed=9)
    prediction = keras.ops.convert_to_numpy(model(x))
    assert prediction.shape == (64, 1) and np.all(np.isfinite(prediction))
    # Both workers ran the same number of synchronous steps.
    steps = [int(re.search(r"trained \d+ s, (\d+) steps", out).group(1)) for out in outputs]
    assert steps[0] == steps[1] == 2 * 16


def test_multi_worker_run_stopped_mid_epoch_resumes_at_the_next_batch(tmp_path):
    """The multi-worker loop resumes mid-epoch too: a run stopped by its budget
    after one batch, started again, ends with the uninterrupted run's weights."""
    whole = run_workers([*MULTI_WORKER, f"--workdir={tmp_path / 'whole'}"])
    args = [*MULTI_WORKER, f"--workdir={tmp_path / 'resumed'}"]
    run_workers([*args, "--max_minutes=0"])
    with open(tmp_path / "resumed" / "backup" / "latest.json") as f:
        pointer = json.load(f)
    assert (pointer["epoch"], pointer["batch"]) == (0, 1)
    resumed = run_workers(args)
    assert all("epoch 1, after batch 1" in out for out in resumed)
    steps = [int(re.search(r"trained \d+ s, (\d+) steps", out).group(1)) for out in whole + resumed]
    assert steps == [32] * 4  # no batch trained twice, none left out

    import keras
    import numpy as np

    import lstm_zoo  # noqa: F401

    a, b = (keras.saving.load_model(tmp_path / n / "model.keras", safe_mode=True)
            for n in ("whole", "resumed"))
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(y, x, rtol=0, atol=1e-6)


def test_is_chief(monkeypatch):
    from lstm_zoo.training import is_chief

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert is_chief()
    for task, cluster, expected in [
        ({"type": "worker", "index": 0}, {"worker": ["a", "b"]}, True),
        ({"type": "worker", "index": 1}, {"worker": ["a", "b"]}, False),
        ({"type": "worker", "index": 0}, {"chief": ["c"], "worker": ["a"]}, False),
        ({"type": "chief", "index": 0}, {"chief": ["c"], "worker": ["a"]}, True),
    ]:
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
        assert is_chief() is expected


# -------------------------------------------------------------------- resuming


def _csv_rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def test_killed_run_resumes_where_it_stopped(tmp_path):
    log = tmp_path / "log.csv"
    # Epochs long enough (250 steps) that the kill lands mid-run on a fast machine.
    args = ["train", "adding", "--train_sequences=8000", "--epochs=8", "--batch_size=32",
            f"--workdir={tmp_path}", *SMALL]  # fmt: skip
    first = subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)  # fmt: skip
    deadline = time.time() + 600
    while len(_csv_rows(log)) < 3 and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)  # land somewhere inside the next epoch
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed_after = len(_csv_rows(log))
    assert 3 <= killed_after < 8, "the run must be killed mid-way"

    second = _run(args)
    assert second.returncode == 0, second.stderr[-3000:]
    rows = _csv_rows(log)
    epochs = [int(r["epoch"]) for r in rows]
    assert sorted(set(epochs)) == list(range(8))  # every epoch trained ...
    assert len(epochs) - len(set(epochs)) <= 1  # ... at most one repeated (killed mid-save)
    # Optimizer state was restored: the total step count is exactly 8 epochs.
    assert int(re.search(r"trained \d+ s, (\d+) steps", second.stdout).group(1)) == 8 * 250
    losses = [float(r["loss"]) for r in rows]
    # The first epoch of the second run continues the curve, not a fresh start.
    assert losses[killed_after] < 0.8 * losses[0]
    assert not os.path.exists(tmp_path / "backup")  # finished: the backup is removed


def test_backup_survives_a_crash_mid_save(tmp_path):
    import keras
    import numpy as np

    from lstm_zoo.layers import LSTM1997
    from lstm_zoo.training import AtomicBackupAndRestore

    def model():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((None, 2)), LSTM1997(4), keras.layers.Dense(1)])
        m.compile("adam", "mse")
        return m

    x, y = np.ones((32, 5, 2), "float32"), np.ones((32, 1), "float32")
    backup = AtomicBackupAndRestore(str(tmp_path), delete_checkpoint=False)
    trained = model()
    trained.fit(x, y, epochs=2, verbose=0, callbacks=[backup])
    good = trained.get_weights()

    class Crash(Exception):
        pass

    def crash(*args, **kwargs):
        raise Crash

    trained.save_weights = crash  # dies while writing the third save
    again = AtomicBackupAndRestore(str(tmp_path), delete_checkpoint=False)
    with pytest.raises(Crash):
        trained.fit(x, y, epochs=3, initial_epoch=2, verbose=0, callbacks=[again])
    pointer = json.loads((tmp_path / "latest.json").read_text())
    assert pointer["epoch"] == 2
    restored = model()
    restored.build((None, None, 2))
    callback = AtomicBackupAndRestore(str(tmp_path), delete_checkpoint=False)
    callback.set_model(restored)
    callback.on_train_begin()
    assert restored._initial_epoch == 2
    for a, b in zip(restored.get_weights(), good, strict=True):
        np.testing.assert_array_equal(a, b)


# -------------------------------------------------------------- hostile inputs

USAGE = ("usage: lstm-zoo train {adding,language_model,speech,captioning} [--flags] | "
         "lstm-zoo reproduce [--flags] | lstm-zoo export NAME --checkpoint=PATH [--flags] | "
         "lstm-zoo verify DIR | lstm-zoo score DATA [--flags]")  # fmt: skip

BAD_INPUTS = [
    (["train", "adding", "--unit=3"],
     "lstm-zoo: error: --unit is not a flag of `lstm-zoo train adding` (no command has it)", 2),
    (["train", "adding", "--beam_width=3"],
     "lstm-zoo: error: --beam_width is not a flag of `lstm-zoo train adding` (it is a flag of "
     "`train speech`, `train captioning`, `score`)", 2),
    (["train", "captioning", "--num_layers=3"],
     "lstm-zoo: error: --num_layers is not a flag of `lstm-zoo train captioning` (it is a flag "
     "of `train language_model`, `train speech`)", 2),
    (["export", "x", "--units=3"], "--units is not a flag of `lstm-zoo export`", 2),
    (["export", "--checkpoint=a.keras"], "export needs NAME", 2),
    (["train", "adding", "--units=0"],
     "lstm-zoo: error: flag --units=0: 0 is not a positive integer", 2),
    (["train", "adding", "--units=abc"], "lstm-zoo: error: flag --units=abc: invalid literal", 2),
    (["train", "adding", "--gradient=approx"],
     "lstm-zoo: error: flag --gradient=approx: value should be one of <full|truncated>", 2),
    (["train", "sorting"], "lstm-zoo: error: train: unknown task 'sorting'; the tasks are "
     "adding, language_model, speech, captioning", 2),
    (["sort"], f"lstm-zoo: error: unknown command 'sort'; {USAGE}", 2),
    ([], f"{USAGE}; received: (nothing)", 2),
    (["train", "adding", "--distribution=multi_worker"],
     "lstm-zoo: error: distribution='multi_worker' reads the cluster from the TF_CONFIG "
     "environment variable, which is not set", 2),
    (["train", "language_model", "--corpus=/no/such/corpus"],
     "lstm-zoo: error: Argument `corpus` names no file or folder: /no/such/corpus", 2),
    (["train", "captioning", "--data=/no/such/captions"],
     "lstm-zoo: error: --data: no such file or folder: /no/such/captions", 2),
    (["train", "speech", "--data=/no/such/corpus"],
     "lstm-zoo: error: --data: no such file or folder: /no/such/corpus", 2),
    (["verify", "/nonexistent"], "error: /nonexistent holds no saved_model.pb", 1),
]


@pytest.mark.parametrize("args, message, status", BAD_INPUTS)
def test_bad_command_lines_give_one_clear_line(tmp_path, args, message, status):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    result = subprocess.run(CLI + args, capture_output=True, text=True, timeout=600, env=env,
                            cwd=tmp_path)  # fmt: skip
    line = assert_one_line_error(result, message, status)
    if message.startswith("usage:"):
        assert line == f"lstm-zoo: error: {message}"
    assert os.listdir(tmp_path) == []  # nothing written (no checkpoints/, runs/, data/)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read"),
        ('{"units": ', "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"unitz": 2}', "holds 'unitz', which is not a flag of `lstm-zoo train adding`"),
        ('{"beam_width": 2}', "holds 'beam_width', which is not a flag of"),
        ('{"units": 2.5}', "key 'units'"),
        ('{"units": "8"}', "must be int; received str"),
        ('{"units": -1}', "-1 is not a positive integer"),
        ('{"gradient": "approx"}', "key 'gradient'"),
    ],
)
def test_bad_config_files_give_one_clear_line(tmp_path, content, message):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    result = run_cli(["train", "adding", f"--config={path}"], cwd=tmp_path)
    line = assert_one_line_error(result, message)
    assert line.startswith("lstm-zoo: error: --config") and str(path) in line
    assert sorted(os.listdir(tmp_path)) == (["config.json"] if content is not None else [])


def test_config_file_sets_flags_and_command_line_wins(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"units": 3, "epochs": 1, "train_sequences": 64,
                                "length": 22, "test_sequences": 16}))  # fmt: skip
    result = _run(["train", "adding", f"--config={path}", "--units=2", "--nobackup",
                   f"--workdir={tmp_path / 'run'}"])  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "LSTM1997(2," in result.stdout and "64 training sequences" in result.stdout


def test_backup_restores_plateau_counters_and_seed_states(tmp_path):
    """A restart decides as the uninterrupted run would: the plateau counters of
    `ReduceLROnPlateau` and the dropout layers' seed states come back with the
    weights (Keras' `save_weights` keeps neither)."""
    import keras
    import numpy as np

    from lstm_zoo.layers import LSTM1997
    from lstm_zoo.training import AtomicBackupAndRestore

    def model():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((None, 2)), LSTM1997(4, dropout=0.3, seed=1),
                              keras.layers.Dense(1)])  # fmt: skip
        m.compile("adam", "mse")
        return m

    x, y = np.ones((32, 5, 2), "float32"), np.ones((32, 1), "float32")
    trained = model()
    plateau = keras.callbacks.ReduceLROnPlateau("loss", patience=5)
    backup = AtomicBackupAndRestore(str(tmp_path), delete_checkpoint=False, callbacks=[plateau])
    trained.fit(x, y, epochs=3, verbose=0, callbacks=[plateau, backup])
    seeds = [v.numpy().copy() for v in trained.variables if "seed_generator_state" in v.path]
    assert seeds and np.isfinite(plateau.best)  # a fresh callback starts at inf

    restored = model()
    fresh = keras.callbacks.ReduceLROnPlateau("loss", patience=5)
    callback = AtomicBackupAndRestore(str(tmp_path), delete_checkpoint=False, callbacks=[fresh])
    for c in (fresh, callback):  # in fit's order: the plateau resets itself first
        c.set_model(restored)
        c.on_train_begin()
    assert (fresh.wait, fresh.best, fresh.cooldown_counter) == (
        plateau.wait, plateau.best, plateau.cooldown_counter)
    again = [v.numpy() for v in restored.variables if "seed_generator_state" in v.path]
    for a, b in zip(again, seeds, strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(restored.optimizer.iterations) == 3
    with pytest.raises(ValueError, match="Argument `callbacks` holds Callback"):
        AtomicBackupAndRestore(str(tmp_path), callbacks=[keras.callbacks.Callback()])


def test_main_help_lists_the_commands():
    result = run_cli(["--help"])
    assert result.returncode == 0 and result.stderr == "", result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == USAGE
    for command in ("train adding", "train language_model", "train speech", "train captioning",
                    "reproduce", "export", "verify", "score"):
        assert any(line.startswith(f"  {command} ") for line in lines), command


HELP_WITHOUT_TENSORFLOW = """
import contextlib, io, sys
import lstm_zoo_cli
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        lstm_zoo_cli.run(["lstm-zoo", *sys.argv[1:]])
    except SystemExit as exit:
        assert exit.code == 0, exit.code
print(repr(out.getvalue()))
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""


@pytest.mark.parametrize("task", ["adding", "language_model", "speech", "captioning"])
def test_each_train_command_lists_its_own_flags_with_the_configs_defaults(task):
    import dataclasses
    import importlib
    import sys as system

    from lstm_zoo_cli import TRAIN, flag_values

    result = subprocess.run([system.executable, "-c", HELP_WITHOUT_TENSORFLOW, "train", task,
                             "--help"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    text, imported = result.stdout.splitlines()
    assert imported == "False False"  # help answers without TensorFlow or Keras
    text = eval(text)  # noqa: S307 - the repr printed above
    module, name, _ = TRAIN[task]
    fields = dataclasses.fields(getattr(importlib.import_module(module), name))
    listed = re.findall(r"^  --(\w+): ", text, flags=re.M)
    assert listed == [f.name for f in fields] + ["workdir", "config", "verbosity"]
    for field in fields:  # the help's defaults are the config's
        default = field.default
        if isinstance(default, bool):
            shown = "true" if default else "false"
        elif isinstance(default, tuple):
            shown = ",".join(default)
        else:
            shown = default
        assert f"  --{field.name}: " in text
        assert re.search(rf"--{field.name}: .*\n    \(default: {re.escape(str(shown))}\)", text)
    others = {f for t in TRAIN if t != task for f in flag_values(f"train {t}")} - set(listed)
    assert others  # flags of other commands exist, and are not listed here


def test_help_of_every_command_exits_0():
    for args in (["reproduce", "--help"], ["export", "-h"], ["verify", "--help"],
                 ["train", "speech", "-?"]):
        result = run_cli(args)
        assert result.returncode == 0 and result.stderr == "", (args, result.stderr)
        assert result.stdout.startswith(f"lstm-zoo {' '.join(a for a in args[:2] if a[0] != '-')}")


def test_verbosity_shows_tensorflows_start_up_lines(tmp_path):
    quiet = run_cli(["export", "x", f"--checkpoint={tmp_path / 'none.keras'}"])
    assert_one_line_error(quiet, "--checkpoint: no such file")
    env = {k: v for k, v in os.environ.items() if k != "LSTM_ZOO_TF_LOGS"}
    loud = subprocess.run([*CLI, "export", "x", f"--checkpoint={tmp_path / 'none.keras'}",
                           "--verbosity=1"], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip
    lines = loud.stderr.splitlines()
    assert loud.returncode == 2 and "--checkpoint: no such file" in lines[-1]
    assert len(lines) > 1  # TensorFlow's own lines came through
