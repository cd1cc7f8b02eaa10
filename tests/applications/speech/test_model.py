"""SpeechRecognizer: CTC loss and decoding, metrics, masking, training, saving, serving."""

import itertools
import math

import keras
import numpy as np
import pytest

from lstm_zoo.applications.speech import metrics as speech_metrics
from lstm_zoo.applications.speech.data import speech_dataset
from lstm_zoo.applications.speech.model import SpeechRecognizer
from tests.applications import harness
from tests.applications.speech.speech_data import tone_utterances

pytestmark = pytest.mark.tf_only

tf = pytest.importorskip("tensorflow")


def _model(**kwargs):
    args = dict(labels=["low", "high"], sample_rate=8000, num_layers=1, units=16)
    model = SpeechRecognizer(**{**args, **kwargs})
    model.build()
    return model


# Metrics -------------------------------------------------------------------


def test_edit_distances_and_error_rates_on_known_cases():
    distances = speech_metrics.edit_distances([list("kitten"), list("flaw")],
                                              [list("sitting"), list("lawn")])  # fmt: skip
    assert distances.tolist() == [3, 2]
    assert speech_metrics.edit_distances([[1, 2, 3], []], [[1, 3], [4, 4]]).tolist() == [1, 2]
    refs = ["the cat sat", "on the mat"]
    hyps = ["the cat sat down", "on mat"]
    assert speech_metrics.word_error_rate(refs, hyps) == pytest.approx(2 / 6)
    assert speech_metrics.character_error_rate(["abc"], ["abd"]) == pytest.approx(1 / 3)
    assert speech_metrics.sentence_accuracy(refs, ["the cat  sat", "x"]) == 0.5
    with pytest.raises(ValueError, match="undefined"):
        speech_metrics.error_rate([[]], [[1]])
    with pytest.raises(ValueError, match="same length"):
        speech_metrics.edit_distances([[1]], [])


# CTC -----------------------------------------------------------------------


def _collapse(path):
    out = [k for k, _ in itertools.groupby(path)]
    return tuple(k for k in out if k != 0)


def test_ctc_loss_equals_brute_force_sum_over_alignments():
    model = _model()
    rng = np.random.default_rng(0)
    steps, classes = 4, 3
    logits = rng.normal(size=(2, steps + 1, classes)).astype(np.float32)
    # Utterance 0 has 4 frames (8000 Hz, 80-sample steps: 320 samples), 1 has 3.
    lengths = np.array([320, 240])
    labels = np.array([[1, 2], [2, 0]])
    loss = float(model.compute_loss((None, lengths), labels, logits))
    want = []
    for row, (frames, target) in enumerate([(4, (1, 2)), (3, (2,))]):
        probs = np.exp(logits[row, :frames]) / np.exp(logits[row, :frames]).sum(-1, keepdims=True)
        total = sum(np.prod(probs[np.arange(frames), path])
                    for path in itertools.product(range(classes), repeat=frames)
                    if _collapse(path) == target)  # fmt: skip
        want.append(-math.log(total))
    assert loss == pytest.approx(np.mean(want), rel=1e-5)


def test_choice_scores_are_sums_over_alignments_and_pick_the_transcript():
    """A grammar's choices scored by brute force over every alignment of the
    model's own frame posteriors; `transcribe(choices=...)` takes the best."""
    model = _model(labels=["low", "mid", "high"])
    rng = np.random.default_rng(1)
    lengths = np.array([320, 240, 400])  # 4, 3 and 5 frames
    waves = rng.normal(size=(3, 400)).astype(np.float32) * 0.3
    choices = ["low", "high", "mid low", "high high"]
    scores = model.choice_scores(waves, lengths, choices)
    logits = np.asarray(model((tf.constant(waves), tf.constant(lengths)), training=False))
    targets = [tuple(model.encode_transcript(c)) for c in choices]
    for row, frames in enumerate([4, 3, 5]):
        probs = np.exp(logits[row, :frames]) / np.exp(logits[row, :frames]).sum(-1, keepdims=True)
        totals = dict.fromkeys(targets, 0.0)
        for path in itertools.product(range(4), repeat=frames):
            key = _collapse(path)
            if key in totals:
                totals[key] += np.prod(probs[np.arange(frames), path])
        want = [math.log(totals[t]) for t in targets]
        np.testing.assert_allclose(scores[row], want, rtol=1e-4)
    picked = model.transcribe([w[:n] for w, n in zip(waves, lengths, strict=True)],
                              choices=choices)  # fmt: skip
    assert picked == [choices[i] for i in scores.argmax(1)]
    with pytest.raises(ValueError, match="choices"):
        model.choice_scores(waves, lengths, [])
    with pytest.raises(ValueError, match="not in the model's labels"):
        model.choice_scores(waves, lengths, ["loud"])


def test_greedy_and_beam_decoding_on_hand_made_logits():
    model = _model()
    # Per frame: blank 0, low 1, high 2. Greedy picks 1 1 0 2 2 0 2 -> 1 2 2.
    best = [1, 1, 0, 2, 2, 0, 2]
    logits = np.full((1, 7, 3), -5.0, np.float32)
    logits[0, np.arange(7), best] = 5.0
    ids = model.decode(logits, np.array([7]))
    assert [int(i) for i in ids[0] if i >= 0] == [1, 2, 2]
    assert model.ids_to_text(ids).numpy().tolist() == [b"low high high"]
    # Two frames, P(blank) 0.6, P(low) 0.4 each: the best path is blank blank (0.36), but
    # "low" is the most probable labelling (0.24 + 0.24 + 0.16 = 0.64).
    probs = np.array([[[0.6, 0.4, 1e-9], [0.6, 0.4, 1e-9]]], np.float32)
    logits = np.log(probs)
    assert model.ids_to_text(model.decode(logits, np.array([2]))).numpy().tolist() == [b""]
    beam = model.decode(logits, np.array([2]), beam_width=4)
    assert model.ids_to_text(beam).numpy().tolist() == [b"low"]
    # Frames past the length are ignored.
    logits = np.full((1, 4, 3), -5.0, np.float32)
    logits[0, np.arange(4), [1, 0, 2, 2]] = 5.0
    assert model.ids_to_text(model.decode(logits, np.array([2]))).numpy().tolist() == [b"low"]


def test_transcript_encoding_and_label_sets():
    model = _model()
    assert model.encode_transcript("low  High low") == [1, 2, 1]
    with pytest.raises(ValueError, match=r"\['middle'\]"):
        model.encode_transcript("low middle")
    chars = SpeechRecognizer("characters", num_layers=1, units=4)
    assert chars.label_type == "characters" and chars.num_classes == 29
    ids = chars.encode_transcript("It's  ok")
    assert chars.ids_to_text(tf.constant([ids])).numpy().tolist() == [b"it's ok"]
    phones = SpeechRecognizer(["sil", "aa", "b"], label_type="phones", num_layers=1, units=4)
    assert phones.encode_transcript("sil b aa sil") == [1, 3, 2, 1]
    for kwargs, match in [({"labels": "klingon"}, "labels"),
                          ({"labels": ["a", "a"]}, "distinct"),
                          ({"labels": ["ab"], "label_type": "characters"}, "single characters"),
                          ({"label_type": "syllables"}, "label_type"),
                          ({"cell": "transformer"}, "cell"),
                          ({"units": 0}, "units"),
                          ({"dropout": 1.0}, "dropout"),
                          ({"features": {"sample_rate": 8000}}, "sample_rate")]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            SpeechRecognizer(**{"labels": "digits", **kwargs})


# Model ---------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm1997", "keras_lstm"])
def test_padding_does_not_change_an_utterance(cell):
    keras.utils.set_random_seed(3)
    model = _model(cell=cell, num_layers=2)
    rng = np.random.default_rng(0)
    short, long = rng.normal(size=1200).astype("float32"), rng.normal(size=3000).astype("float32")
    batch = np.zeros((2, 3000), "float32")
    batch[0, :1200], batch[1] = short, long
    together = model((batch, np.array([1200, 3000]))).numpy()
    alone = model((short[None], np.array([1200]))).numpy()
    np.testing.assert_allclose(together[0, :15], alone[0], rtol=1e-4, atol=1e-5)
    assert model.transcribe([short, long], beam_width=3)[0] == model.transcribe([short],
                                                                              beam_width=3)[0]


@pytest.mark.parametrize("cell", ["lstm1997", "lstm1997_forget_gate"])
def test_masked_recurrent_layers_run_on_the_fused_kernel(cell):
    """The valid-frame mask reaches the 1997 cells, which run it on their fused
    kernel (forward and backward), not on Keras' generic masked loop."""
    from lstm_zoo.layers import fast_kernel

    if fast_kernel.load() is None:
        pytest.skip("no fused kernel here (no C++ compiler)")
    model = _model(cell=cell, num_layers=2, units=8)
    waveforms = tf.constant(np.random.default_rng(2).normal(size=(2, 3000)), tf.float32)
    lengths = tf.constant([1200, 3000])

    def loss():
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(model((waveforms, lengths), training=True))
        return tape.gradient(total, model.trainable_variables)

    graph = tf.function(loss).get_concrete_function().graph
    types = [op.type for op in graph.get_operations()]
    assert types.count("Lstm1997Fused") == 4  # 2 layers x 2 directions
    assert types.count("Lstm1997FusedBackward") == 4
    assert "While" not in types and "StatelessWhile" not in types


@pytest.fixture(scope="module")
def trained():
    """A 1-layer model trained on tone 'words' until it transcribes most of them."""
    keras.utils.set_random_seed(0)
    model = _model(units=24)
    train = speech_dataset(tone_utterances(160, seed=1), model.encode_transcript, 16,
                           shuffle=True, seed=0)  # fmt: skip
    test = speech_dataset(tone_utterances(40, seed=2), model.encode_transcript, 20)
    before = model.evaluate_transcripts(test)
    model.compile(keras.optimizers.Adam(0.01, global_clipnorm=5.0))
    model.fit(train, epochs=12, shuffle=False, verbose=0)
    after = model.evaluate_transcripts(test, beam_width=4)
    return model, before, after


def test_a_short_training_run_lowers_the_label_error(trained):
    _, before, after = trained
    assert before["label_error_rate"] >= 0.9
    assert after["label_error_rate"] < 0.25
    assert after["sentence_accuracy"] > 0.5
    assert after["label_error_rate"] == after["word_error_rate"]  # word labels


def test_config_and_keras_file_round_trip(trained, tmp_path):
    model, _, _ = trained
    harness.check_config_round_trip(model)
    waves = [u.audio for u in tone_utterances(3, seed=9)]
    loaded = harness.check_keras_round_trip(model, tmp_path / "speech.keras",
                                            lambda m: m.transcribe(waves))  # fmt: skip
    assert loaded.get_config()["labels"] == ["low", "high"]


def test_one_fit_step_with_the_default_optimizer():
    model = _model()
    data = speech_dataset(tone_utterances(8, seed=4), model.encode_transcript, 4)
    harness.check_fit_step(model, data)
    assert isinstance(model.optimizer, keras.optimizers.Adam)


def test_weight_averaging_ends_training_on_the_moving_average_of_the_steps():
    model = _model()
    model.compile(model.default_optimizer(0.01, ema_momentum=0.6))
    data = speech_dataset(tone_utterances(12, seed=4), model.encode_transcript, 4)
    steps = []

    def keep(batch, logs=None):
        steps.append([w.numpy() for w in model.trainable_weights])

    record = keras.callbacks.LambdaCallback(on_train_batch_end=keep)
    model.fit(data, epochs=1, callbacks=[record], verbose=0)
    assert len(steps) == 3
    # NumPy: the average starts at the first step's weights, then moves 0.4 of
    # the way to each later step's.
    average = steps[0]
    for weights in steps[1:]:
        average = [0.6 * a + 0.4 * w for a, w in zip(average, weights, strict=True)]
    final = [w.numpy() for w in model.trainable_weights]
    for got, want in zip(final, average, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(got, last) for got, last in zip(final, steps[-1], strict=True))
    with pytest.raises(ValueError, match="ema_momentum=1.0"):
        model.default_optimizer(ema_momentum=1.0)


def test_exported_model_transcribes_and_refuses_bad_input_in_a_fresh_process(trained, tmp_path):
    model, _, _ = trained
    utts = tone_utterances(4, seed=11)
    expected = model.transcribe([u.audio for u in utts], beam_width=4)
    assert sum(e == u.transcript for e, u in zip(expected, utts, strict=True)) >= 2
    waves = np.zeros((4, max(len(u.audio) for u in utts)), "float32")
    for row, u in zip(waves, utts, strict=True):
        row[: len(u.audio)] = u.audio
    lengths = np.array([len(u.audio) for u in utts], np.int32)
    width = waves.shape[1]
    nan = waves.copy()
    nan[2, 5] = np.nan
    cases = {
        "good": {"waveforms": waves, "lengths": lengths},
        "empty row": {"waveforms": waves, "lengths": np.array([lengths[0], 0, 0, 0], np.int32)},
        "too long": {"waveforms": waves,
                     "lengths": np.array([width, width + 1, 5, width + 9], np.int32)},
        "negative": {"waveforms": waves, "lengths": np.array([5, 5, -3, 5], np.int32)},
        "count": {"waveforms": waves, "lengths": lengths[:3]},
        "nan inside": {"waveforms": nan, "lengths": lengths},
        "nan outside": {"waveforms": nan, "lengths": np.array([9, 9, 4, 9], np.int32)},
    }  # fmt: skip
    results = harness.serve_in_fresh_process(
        model, tmp_path, {name: ("transcribe", inputs) for name, inputs in cases.items()},
        endpoints=model.serving_endpoints(beam_width=4),
    )  # fmt: skip
    assert results["good"]["transcripts"] == expected
    assert results["empty row"]["transcripts"][1:] == ["", "", ""]  # the documented result
    assert "each of `lengths` must lie in [0, width of `waveforms`]" in results["too long"]["error"]
    assert f"[{width}] [rows:] [1 3] [lengths:] [{width + 1} {width + 9}]" in \
        results["too long"]["error"]  # fmt: skip
    assert "[rows:] [2] [lengths:] [-3]" in results["negative"]["error"]
    assert "`lengths` must hold one length per row of `waveforms`" in results["count"]["error"]
    assert "must hold finite samples (no NaN or inf) within the length of each row;] [rows:] [2]" \
        in results["nan inside"]["error"]  # fmt: skip
    assert "error" not in results["nan outside"]  # NaN in the padding beyond the length


@pytest.mark.parametrize("cell", ["lstm1997", "lstm1997_forget_gate"])
def test_cell_kwargs_reach_every_recurrent_layer_and_the_config(cell):
    model = _model(num_layers=2, cell=cell, cell_kwargs={"input_gate_bias": -2.0})
    for bidirectional in model.rnn_layers:
        for layer in (bidirectional.forward_layer, bidirectional.backward_layer):
            bias = layer.cell.bias.numpy()
            units = layer.cell.units
            np.testing.assert_array_equal(bias[:units], -2.0)  # [input gate | ...]
            if cell == "lstm1997_forget_gate":  # [input | forget (1.0, open) | cell | output]
                np.testing.assert_array_equal(bias[units:2 * units], 1.0)
                bias = np.concatenate([bias[:units], bias[2 * units:]])
            assert not np.any(bias[units:])
    again = SpeechRecognizer.from_config(model.get_config())
    assert again.cell_kwargs == {"input_gate_bias": -2.0}


def test_one_pass_at_several_widths_equals_separate_evaluations(trained):
    model, _, _ = trained
    data = speech_dataset(tone_utterances(12, seed=13), model.encode_transcript, 5)
    both = model.evaluate_beam_widths(data, [1, 4, 1])
    assert sorted(both) == [1, 4]
    for width in (1, 4):
        alone = model.evaluate_transcripts(data, beam_width=width)
        assert both[width]["hypotheses"] == alone["hypotheses"]
        assert both[width]["label_error_rate"] == alone["label_error_rate"]
        assert both[width]["loss"] == pytest.approx(alone["loss"], rel=1e-6)
    # The loss is Keras' own validation loss (mean CTC per utterance).
    model.compile(keras.optimizers.Adam(0.01))
    assert both[1]["loss"] == pytest.approx(model.evaluate(data, verbose=0), rel=1e-4)


def test_transcription_evaluation_logs_the_validation_loss_and_rates(trained):
    from lstm_zoo.applications.speech.metrics import TranscriptionEvaluation

    model, _, _ = trained
    data = speech_dataset(tone_utterances(6, seed=14), model.encode_transcript, 3)
    logs = {}
    TranscriptionEvaluation(model, data).on_epoch_end(0, logs)
    result = model.evaluate_transcripts(data)
    keys = ("loss", "label_error_rate", "word_error_rate", "sentence_accuracy")
    assert logs == {f"val_{k}": result[k] for k in keys}
