"""LanguageModel: stream evaluation, carried state, generation, saving, serving."""

import math

import keras
import numpy as np
import pytest

from lstm_zoo.applications.language_model.model import (
    CONFIGS,
    LanguageModel,
    summed_sequence_crossentropy,
)
from lstm_zoo.applications.text_tokenizer import TextTokenizer

pytestmark = pytest.mark.tf_only

tf = pytest.importorskip("tensorflow")

from tests.applications import harness  # noqa: E402

TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 3


@pytest.fixture(scope="module")
def tokenizer():
    return TextTokenizer.adapt_from_text(TEXT, level="word")


def _model(tokenizer, cell="lstm1997", units=6, num_layers=2, seed=0):
    keras.utils.set_random_seed(seed)
    model = LanguageModel(tokenizer, config=None, units=units, num_layers=num_layers, cell=cell,
                          init_scale=0.5)  # fmt: skip
    model.build((None, None))
    return model


def _nll(model, ids):
    """Summed cross-entropy of predicting ids[1:] from one pass over ids[:-1]."""
    logits = model(ids[None, :-1]).numpy()[0].astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -log_p[np.arange(len(ids) - 1), ids[1:]].sum()


def test_uniform_model_has_perplexity_equal_to_vocabulary_size(tokenizer):
    from lstm_zoo.applications.language_model.data import stream_dataset
    from lstm_zoo.applications.language_model.stream import evaluate_stream

    model = _model(tokenizer)
    model.head.kernel.assign(np.zeros(model.head.kernel.shape, "float32"))
    model.head.bias.assign(np.zeros(model.head.bias.shape, "float32"))
    ids = np.arange(200) % tokenizer.vocabulary_size
    nats, count = evaluate_stream(model, stream_dataset(ids, 2, 9))
    assert count == 2 * ((100 - 1) // 9) * 9
    assert math.exp(nats) == pytest.approx(tokenizer.vocabulary_size, rel=1e-6)


@pytest.mark.parametrize("cell", ["lstm1997", "keras_lstm", "keras_gru", "lstm1997_forget_gate"])
def test_stream_evaluation_carries_state_like_one_long_pass(tokenizer, cell):
    from lstm_zoo.applications.language_model.data import stream_dataset
    from lstm_zoo.applications.language_model.stream import evaluate_stream

    model = _model(tokenizer, cell=cell)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, tokenizer.vocabulary_size, size=2 * 61).astype("int32")
    # Two rows of 61 tokens -> 6 windows of 10 steps each (60 targets a row).
    nats, count = evaluate_stream(model, stream_dataset(ids, 2, 10))
    expected = (_nll(model, ids[:61]) + _nll(model, ids[61:])) / 120
    assert count == 120
    assert nats == pytest.approx(expected, rel=1e-5)
    # Restarting every window is a different (worse-informed) computation.
    windows = [ids[r * 61 + w * 10 : r * 61 + w * 10 + 11] for r in range(2) for w in range(6)]
    reset, _ = evaluate_stream(model, stream_dataset(ids, 2, 10), reset_every=1)
    assert reset == pytest.approx(sum(_nll(model, w) for w in windows) / 120, rel=1e-5)
    assert abs(reset - nats) > 1e-6


def test_stateful_stream_carries_and_resets_states(tokenizer):
    from lstm_zoo.applications.language_model.stream import ResetStreamStates, StatefulStream

    model = _model(tokenizer)
    trainer = StatefulStream(model, batch_size=2)
    x = np.random.default_rng(1).integers(0, tokenizer.vocabulary_size, (2, 8)).astype("int32")
    first = trainer(x[:, :4]).numpy()
    second = trainer(x[:, 4:]).numpy()
    whole = model(x).numpy()
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole, atol=1e-5)
    trainer.reset_states()
    np.testing.assert_allclose(trainer(x[:, :4]).numpy(), first, atol=1e-6)
    # The callback restarts the carried state every N batches.
    callback = ResetStreamStates(every=2)
    callback.set_model(trainer)
    callback.on_train_batch_begin(1)
    assert np.abs(trainer.state_variables[0][1].numpy()).sum() > 0
    callback.on_train_batch_begin(2)
    assert all(np.all(v.numpy() == 0) for layer in trainer.state_variables for v in layer)
    with pytest.raises(ValueError, match="every=0"):
        ResetStreamStates(every=0)


def test_summed_loss_is_zaremba_cost():
    y = np.array([[1, 2, 0]])
    logits = np.log(np.array([[[0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]]], "float32"))
    loss = keras.ops.convert_to_numpy(summed_sequence_crossentropy(y, logits))
    assert loss[0] == pytest.approx(-(math.log(0.5) + math.log(0.8) + math.log(0.6)), rel=1e-5)


@pytest.mark.parametrize("cell", ["lstm1997", "keras_lstm", "keras_gru"])
def test_greedy_generation_matches_full_passes(tokenizer, cell):
    model = _model(tokenizer, cell=cell, seed=3)
    ids, lengths = model.encode_prompts(["the cat sat", "a"])
    assert lengths.numpy().tolist() == [4, 2]  # start token + words
    assert ids.numpy()[0, 0] == tokenizer.get_vocabulary().index("<eos>")
    out = model.generate_ids(ids, lengths, 5, temperature=0.0).numpy()
    for row in range(2):
        sequence = list(ids.numpy()[row, : lengths.numpy()[row]])
        for _ in range(5):  # the reference re-reads the whole sequence each time
            sequence.append(int(np.argmax(model(np.array([sequence]))[0, -1])))
        assert out[row].tolist() == sequence[-5:]


def test_sampling_is_seeded_and_top_k_one_is_greedy(tokenizer):
    model = _model(tokenizer, seed=4)
    greedy = model.generate(["the", "a dog"], num_tokens=12, temperature=0.0)
    assert model.generate(["the", "a dog"], num_tokens=12, top_k=1, seed=9) == greedy
    first = model.generate(["the"] * 3, num_tokens=12, temperature=2.0, seed=5)
    assert model.generate(["the"] * 3, num_tokens=12, temperature=2.0, seed=5) == first
    other = model.generate(["the"] * 3, num_tokens=12, temperature=2.0, seed=6)
    assert other != first
    assert isinstance(model.generate("the", num_tokens=2), str)
    with pytest.raises(ValueError, match="num_tokens=0"):
        model.generate("the", num_tokens=0)


def test_top_k_restricts_samples(tokenizer):
    model = _model(tokenizer, seed=5, num_layers=1)
    ids, lengths = model.encode_prompts(["the"])
    probabilities = model.next_token_probabilities(["the"]).numpy()[0]
    best = set(np.argsort(probabilities)[-3:].tolist())
    seen = set()
    for seed in range(30):
        out = model.generate_ids(ids, lengths, 1, temperature=5.0, top_k=3, seed=seed).numpy()
        seen.add(int(out[0, 0]))
    assert seen <= best and len(seen) > 1


def test_next_token_probabilities(tokenizer):
    model = _model(tokenizer, seed=6)
    probabilities = model.next_token_probabilities(["the cat", "dog"]).numpy()
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    ids, _ = model.encode_prompts(["the cat"])
    expected = tf.nn.softmax(model(ids)[0, -1]).numpy()
    np.testing.assert_allclose(probabilities[0], expected, atol=1e-6)


def test_configs_and_bad_arguments(tokenizer):
    small = LanguageModel(tokenizer, config="small")
    assert (small.num_layers, small.units, small.dropout) == (2, 200, 0.0)
    large = LanguageModel(tokenizer, config="large", units=32)
    assert (large.units, large.dropout, large.init_scale) == (32, 0.65, 0.04)
    assert CONFIGS["medium"]["num_steps"] == 35 and CONFIGS["small"]["decay"] == 0.5
    for kwargs, message in [
        ({"config": "huge"}, "config='huge'"),
        ({"config": None}, "num_layers"),
        ({"config": None, "num_layers": 1, "units": 0}, "units=0"),
        ({"cell": "lstm2000"}, "cell='lstm2000'"),
        ({"cell": keras.layers.Dense(3)}, "Dense"),
        ({"dropout": 1.5}, "dropout=1.5"),
    ]:
        with pytest.raises(ValueError, match=message):
            LanguageModel(tokenizer, **kwargs)
    with pytest.raises(ValueError, match="TextTokenizer"):
        LanguageModel(["a", "b"])


def test_config_and_keras_file_round_trip_with_custom_cell(tokenizer, tmp_path):
    cell = keras.layers.SimpleRNNCell(1, activation="relu")
    ids = np.array([[1, 2, 3, 4]])
    for model in (_model(tokenizer), _model(tokenizer, cell=cell)):
        harness.check_config_round_trip(model)
        loaded = harness.check_keras_round_trip(model, tmp_path / "lm.keras",
                                                lambda m: np.array(m(ids)))  # fmt: skip
        assert loaded.tokenizer.get_vocabulary() == tokenizer.get_vocabulary()
        assert loaded.generate("the", 4, temperature=0.0) == model.generate("the", 4, 0.0)


def test_one_fit_step_with_the_default_optimizer_and_loss(tokenizer):
    from lstm_zoo.applications.language_model.data import stream_dataset

    model = _model(tokenizer)
    ids = tokenizer(tf.constant(TEXT)).numpy()
    harness.check_fit_step(model, stream_dataset(ids, 2, 4))
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.loss is summed_sequence_crossentropy


def test_short_training_beats_the_unigram_baseline():
    """A small model on part of the embedded corpus, trained by the CLI's recipe."""
    from lstm_zoo.applications.language_model.data import (
        embedded_corpus,
        stream_dataset,
        unigram_cross_entropy,
    )
    from lstm_zoo.applications.language_model.stream import (
        ResetStreamStates,
        StatefulStream,
        StreamValidation,
        evaluate_stream,
    )

    corpus = embedded_corpus()
    tokenizer = TextTokenizer.adapt_from_text(corpus["train"][:150_000], max_tokens=2000)
    train_ids = tokenizer(tf.constant(corpus["train"][:150_000])).numpy()
    valid_ids = tokenizer(tf.constant(corpus["valid"])).numpy()
    unigram = unigram_cross_entropy(train_ids, valid_ids, tokenizer.vocabulary_size)
    keras.utils.set_random_seed(0)
    model = LanguageModel(tokenizer, config="small", units=64, num_layers=1)
    valid = stream_dataset(valid_ids, 20, 20)
    trainer = StatefulStream(model, 20)
    trainer.compile(keras.optimizers.SGD(1.0, global_clipnorm=5.0),
                    loss=summed_sequence_crossentropy)  # fmt: skip
    before, _ = evaluate_stream(model, valid, reset_every=5)
    validation = StreamValidation(model, valid, reset_every=5)
    trainer.fit(stream_dataset(train_ids, 20, 20), epochs=3, shuffle=False, verbose=0,
                callbacks=[ResetStreamStates(5), validation])  # fmt: skip
    after = validation.history[-1]["val_nats"]
    assert before > unigram  # an untrained model is worse than counting words
    assert after < unigram - 0.5, (after, unigram)  # well below: perplexity / 1.6 or better
    assert validation.history[0]["val_perplexity"] == pytest.approx(
        math.exp(validation.history[0]["val_nats"])
    )


def test_exported_signatures_in_a_fresh_process(tokenizer, tmp_path):
    model = _model(tokenizer, seed=7)
    prompts = np.array(["the cat", "a"], dtype=object)
    expected = model.generate(list(prompts), 6, temperature=1.0, seed=3)
    cases = {
        "generate": ("generate", {"prompt": prompts, "num_tokens": np.int32(6),
                                  "temperature": np.float32(1.0), "top_k": np.int32(0),
                                  "seed": np.int32(3)}),
        "next": ("serving_default", {"prompt": np.array(["the"], dtype=object)}),
    }  # fmt: skip
    results = harness.serve_in_fresh_process(model, tmp_path, cases,
                                             endpoints=model.serving_endpoints(top=3))
    assert results["generate"]["text"] == expected
    assert np.array(results["next"]["top_tokens"]).shape == (1, 3)
    assert np.sum(results["next"]["probabilities"]) == pytest.approx(1.0, abs=1e-5)
