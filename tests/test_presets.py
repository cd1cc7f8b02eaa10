"""Trained presets: shipped in the package, loaded by name with no training or
download, their headline metric checked on a sample made here, exported for
serving in one command; a missing or corrupt file is one line naming it."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lstm_zoo import applications
from lstm_zoo.applications import presets
from tests.cli import CLI, assert_one_line_error, run_cli

pytestmark = pytest.mark.tf_only

SHIPPED = applications.list_presets()
CAP_MB = 16  # each preset; all together at most 48


def _adding_metric(model, card):
    """Wrong answers on 500 fresh sequences, against the card's test rate."""
    from lstm_zoo.datasets import CORRECT_ABS_ERROR, adding_problem

    x, y, _ = adding_problem(500, card["length"], seed=12345)
    error = np.abs(np.asarray(model.predict(x, verbose=0)) - y)
    wrong = int((error >= CORRECT_ABS_ERROR).sum())
    assert wrong <= max(2, 2 * 500 * card["metrics"]["test_wrong"] / card["metrics"]
                        ["test_sequences"]), wrong  # fmt: skip
    return wrong


def _captioning_metric(model, card):
    """BLEU-4 on 100 test scenes (object pairs no training scene shows)."""
    from lstm_zoo.applications.captioning import shapes
    from lstm_zoo.applications.captioning.metrics import corpus_bleu

    images, refs, _ = shapes.shape_scenes(100, "test", seed=777, image_size=model.image_size)
    bleu_4 = corpus_bleu(refs, model.caption(images, beam_width=3))[3]
    assert bleu_4 >= card["metrics"]["beam3"]["bleu_4"] - 0.1, bleu_4
    return bleu_4


def _language_model_metric(model, card):
    """Nats per character on Shakespeare's sonnets 18, 29, 30, 73, 116 and 130
    (public domain; typed for the tests, not in tinyshakespeare), the state
    carried through, against the sample's own character entropy: a model
    that only knew how often each character occurs in these very sonnets."""
    import tensorflow as tf

    from lstm_zoo.applications.language_model.data import stream_dataset
    from lstm_zoo.applications.language_model.stream import evaluate_stream

    text = open(os.path.join(os.path.dirname(__file__), "data", "sonnets.txt")).read()
    ids = model.tokenizer(tf.constant(text)).numpy()
    nats, count = evaluate_stream(model, stream_dataset(ids, 1, 100), None)
    frequencies = np.bincount(ids)[np.bincount(ids) > 0] / len(ids)
    entropy = float(-(frequencies * np.log(frequencies)).sum())
    assert count >= 3000 and nats < 0.6 * entropy, (nats, entropy)
    return nats


def _paper_task_metric(experiment):
    def metric(model, card):
        """Wrong fraction on 2,560 fresh test sequences (seed 5), judged as
        the paper does, against the card's (seed 0)."""
        from lstm_zoo import reproduce

        wrong, _ = reproduce.test_error(model, experiment, {}, seed=5)
        assert wrong <= max(0.01, 2 * card["metrics"]["test_wrong_fraction"]), wrong
        return wrong

    return metric


def _speech_metric(model, card):
    """Word error rate on 40 digit strings that eSpeak NG speaks here, in the
    voices the preset's training held out, against the card's figure for its
    982 synthesised test utterances (no FSDD audio is in the repository)."""
    import tempfile

    import soundfile

    from lstm_zoo.applications.speech import data as speech
    from lstm_zoo.applications.speech.metrics import word_error_rate

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    _, held_out = speech.espeak_voices(0.25, seed=card["config"]["seed"])
    rng = np.random.default_rng(4242)
    refs, waves = [], []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(40):
            text = " ".join(speech.DIGIT_WORDS[d] for d in rng.integers(0, 10, rng.integers(1, 6)))
            path = os.path.join(folder, f"{i}.wav")
            subprocess.run(["espeak-ng", "-v", held_out[rng.integers(len(held_out))], "-s",
                            str(rng.integers(120, 221)), "-p", str(rng.integers(20, 81)), "-w",
                            path, text], check=True, capture_output=True)  # fmt: skip
            audio, rate = soundfile.read(path, dtype="float32")
            refs.append(text)
            waves.append(speech.resample_audio(audio, rate, model.sample_rate))
    hyps = model.transcribe(waves, beam_width=card["config"]["beam_width"])
    wer = word_error_rate(refs, hyps)
    assert wer <= max(0.05, 2 * card["metrics"]["synthesized_test_voices"]["word_error_rate"]), (
        wer, list(zip(refs, hyps, strict=True)))
    return wer


METRICS = {"adding": _adding_metric, "speech": _speech_metric, "captioning": _captioning_metric,
           "language_model": _language_model_metric,
           "temporal_order": _paper_task_metric("6a"), "two_sequence": _paper_task_metric("3a")}


def test_presets_fit_the_size_caps():
    sizes = {}
    for entry in SHIPPED:
        folder = presets.preset_folder(*entry.split("/"))
        sizes[entry] = sum(os.path.getsize(os.path.join(folder, f)) for f in presets.FILES)
    assert all(size <= CAP_MB * 2**20 for size in sizes.values()), sizes
    assert sum(sizes.values()) <= 48 * 2**20, sizes


@pytest.mark.parametrize("entry", SHIPPED)
def test_preset_has_a_full_card_and_meets_its_headline_metric(entry):
    name, preset = entry.split("/")
    model = applications.get_model(name, preset=preset)
    card = model.preset_card
    for key in ("data", "licence", "command", "training_seconds", "machine", "metrics",
                "versions"):
        assert card.get(key) not in (None, "", {}), key
    assert card["command"].startswith(("lstm-zoo train ", "lstm-zoo reproduce "))
    METRICS[name](model, card)


@pytest.mark.parametrize("entry", SHIPPED)
def test_preset_loads_and_answers_in_a_fresh_process_and_exports(entry, tmp_path):
    name, preset = entry.split("/")
    code = f"""
import lstm_zoo
from lstm_zoo import applications
model = applications.get_model({name!r}, preset={preset!r})
print(type(model).__name__, model.count_params())
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert int(run.stdout.split()[-1]) > 0
    export = run_cli(["export", name, f"--preset={preset}", f"--base_dir={tmp_path}"])
    assert export.returncode == 0, export.stderr[-3000:]
    version = export.stdout.strip().splitlines()[-1]
    with open(os.path.join(version, "assets", "lstm_zoo.json")) as f:
        assert json.load(f)["preset"] == entry
    verify = run_cli(["verify", version])
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _tiny_captioner():
    import keras

    from lstm_zoo.applications.captioning.model import ImageCaptioner

    keras.utils.set_random_seed(0)
    model = ImageCaptioner(["a", "red", "circle"], image_size=32, units=8, embedding_dim=8)
    model.build()
    return model


def test_save_and_load_keep_the_model_in_float16(tmp_path):
    from lstm_zoo.applications.captioning import shapes

    model = _tiny_captioner()
    presets.save_preset(model, str(tmp_path / "p"), {"metrics": {}})
    with np.load(tmp_path / "p" / "weights.npz") as stored:
        assert all(stored[k].dtype == np.float16 for k in stored.files)
    loaded = presets.load_preset(str(tmp_path / "p"))
    assert loaded.preset_card == {"metrics": {}}
    images, _, _ = shapes.shape_scenes(4, "test", seed=1, image_size=32)
    ids = np.zeros((4, 3), "int32")
    np.testing.assert_allclose(loaded((images, ids)), model((images, ids)), atol=0.05)


@pytest.mark.parametrize(
    "damage, message",
    [
        ("delete weights.npz", "weights.npz is missing"),
        ("truncate weights.npz", "weights.npz is corrupt"),
        ("truncate config.json", "config.json is unreadable or corrupt"),
        ("garble card.json", "card.json is unreadable or corrupt"),
        ("drop an array", "weights.npz does not match its config.json"),
    ],
)
def test_a_damaged_preset_fails_naming_the_file(tmp_path, damage, message):
    folder = tmp_path / "p"
    presets.save_preset(_tiny_captioner(), str(folder), {"metrics": {}})
    action, file = damage.split(" ", 1)
    path = folder / file if file in presets.FILES else folder / "weights.npz"
    if action == "delete":
        path.unlink()
    elif action == "truncate":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif action == "garble":
        path.write_text("{not json")
    else:
        with np.load(path) as stored:
            arrays = {k: stored[k] for k in sorted(stored.files)[:-1]}
        np.savez_compressed(path, **arrays)
    with pytest.raises(ValueError, match=message) as error:
        presets.load_preset(str(folder))
    assert len(str(error.value).splitlines()) == 1 and str(folder) in str(error.value)


def test_export_of_a_damaged_shipped_preset_is_one_line(tmp_path):
    if not SHIPPED:
        pytest.skip("no preset shipped")
    name, preset = SHIPPED[0].split("/")
    root = tmp_path / "root"
    home = root / presets.HOMES[name]
    shutil.copytree(presets.preset_folder(name, preset), home / preset)
    with open(home / preset / "weights.npz", "r+b") as f:
        f.truncate(100)
    env = dict(os.environ, LSTM_ZOO_PRESET_ROOT=str(root), TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([*CLI, "export", name, f"--preset={preset}",
                             f"--base_dir={tmp_path / 'models'}"], capture_output=True, text=True,
                            env=env, timeout=600)  # fmt: skip
    assert_one_line_error(result, f"Preset file {home / preset / 'weights.npz'} is corrupt")
    assert not (tmp_path / "models").exists()


def test_unknown_preset_names_the_choices():
    result = run_cli(["export", "captioning", "--preset=nope"])
    assert_one_line_error(result, "Argument `preset` must be one of")
