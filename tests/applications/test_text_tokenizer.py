"""TextTokenizer: word and character tokens, OOV handling, vocabulary building."""

import keras
import numpy as np
import pytest

from lstm_zoo.applications.text_tokenizer import OOV_TOKEN, TextTokenizer

pytestmark = pytest.mark.tf_only  # string tensors are TensorFlow's

tf = pytest.importorskip("tensorflow")

TEXT = "The cat sat on the mat.\nThe dog sat, too!\n\n\nIt's f(x).\n"


def _texts(tensor):
    return [t.decode("utf-8") for t in np.atleast_1d(tensor.numpy())]


def test_word_round_trip_and_standardisation():
    tokenizer = TextTokenizer.adapt_from_text(TEXT, level="word")
    ids = tokenizer(tf.constant(TEXT))
    assert ids.dtype == tf.int32 and int(tf.reduce_min(ids)) >= 1  # every word known
    tokens = [tokenizer.get_vocabulary()[i] for i in ids.numpy()]
    # Lower case, punctuation split off, runs of blank lines one <eos>.
    assert tokens[:8] == ["the", "cat", "sat", "on", "the", "mat", ".", "<eos>"]
    assert tokens[8:15] == ["the", "dog", "sat", ",", "too", "!", "<eos>"]
    assert tokens[15:] == ["it", "'", "s", "f", "(", "x", ")", ".", "<eos>"]
    back = tokenizer.detokenize(ids).numpy().decode()
    assert back == "the cat sat on the mat .\nthe dog sat , too !\nit ' s f ( x ) .\n"
    assert tokenizer(tf.constant(back)).numpy().tolist() == ids.numpy().tolist()


def test_out_of_vocabulary_words_map_to_unk():
    tokenizer = TextTokenizer(["the", "cat"], level="word")
    assert tokenizer.get_vocabulary() == [OOV_TOKEN, "the", "cat"]
    assert tokenizer(tf.constant("the zebra cat")).numpy().tolist() == [1, 0, 2]
    assert _texts(tokenizer.detokenize([1, 0, 2])) == ["the <unk> cat"]
    # A literal <unk> in the text (the PTB layout) is the OOV id too.
    none = TextTokenizer(["a"], level="word", standardize="none")
    assert none(tf.constant("a <unk> A")).numpy().tolist() == [1, 0, 0]


def test_batches_give_ragged_ids():
    tokenizer = TextTokenizer(["a", "b"], level="word")
    ids = tokenizer(tf.constant(["a b a", "b", ""]))
    assert isinstance(ids, tf.RaggedTensor)
    assert ids.to_list() == [[1, 2, 1], [2], []]
    assert _texts(tokenizer.detokenize(ids)) == ["a b a", "b", ""]


def test_character_level_round_trip_is_exact():
    text = "Hello,\n wörld!"
    tokenizer = TextTokenizer.adapt_from_text(text, level="char")
    assert sorted(tokenizer.vocabulary) == sorted(set(text))
    ids = tokenizer(tf.constant(text))
    assert len(ids) == len(text)
    assert tokenizer.detokenize(ids).numpy().decode("utf-8") == text
    assert tokenizer(tf.constant("Hz")).numpy().tolist()[1] == 0  # unseen character


def test_vocabulary_by_frequency_with_limits():
    text = "b a b c a b d\nd d d"
    tokenizer = TextTokenizer.adapt_from_text(text, level="word")
    # d x4, b x3, a x2, then c and <eos> once each, in order of appearance.
    assert tokenizer.vocabulary == ["d", "b", "a", "c", "<eos>"]
    assert TextTokenizer.adapt_from_text(text, max_tokens=3).vocabulary == ["d", "b"]
    assert TextTokenizer.adapt_from_text(text, min_count=2).vocabulary == ["d", "b", "a"]
    assert OOV_TOKEN not in TextTokenizer.adapt_from_text("x <unk> <unk> <unk>").vocabulary


def test_config_round_trip():
    tokenizer = TextTokenizer(["x", "y"], level="char", standardize="none", name="tok")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(tokenizer))
    assert isinstance(clone, TextTokenizer)
    assert (clone.vocabulary, clone.level, clone.standardize) == (["x", "y"], "char", "none")
    assert clone(tf.constant("xyz")).numpy().tolist() == [1, 2, 0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary": ["a"], "level": "byte"}, "level='byte'"),
        ({"vocabulary": ["a"], "standardize": "upper"}, "standardize='upper'"),
        ({"vocabulary": []}, "at least one token"),
        ({"vocabulary": ["a", "a"]}, "must not repeat"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TextTokenizer(**kwargs)
    with pytest.raises(ValueError, match="max_tokens"):
        TextTokenizer.adapt_from_text("a b", max_tokens=1)
