"""`TextTokenizer`: raw strings to token ids and back, inside the graph."""

import keras
import numpy as np
import tensorflow as tf

LEVELS = ("word", "char")
STANDARDIZE = ("lower_and_split_punctuation", "none")
OOV_TOKEN = "<unk>"
EOS_TOKEN = "<eos>"

# Punctuation becomes tokens of its own; `<` and `>` stay in words so the
# `<unk>` and `<eos>` markers of the PTB layout survive.
_PUNCTUATION = r"([^\w\s<>])"


@keras.saving.register_keras_serializable(package="lstm_zoo")
class TextTokenizer(keras.layers.Layer):
    """Splits raw text into words or characters and maps them to integer ids.

    A thin layer over `keras.layers.StringLookup` (and its inverse) that
    lives in the graph, so a SavedModel of a language model takes raw
    strings. Index 0 is the out-of-vocabulary token `<unk>`; the vocabulary
    is saved with the layer's config.

    Word level: every line break becomes the token `<eos>` (the PTB
    convention); with `standardize="lower_and_split_punctuation"` runs of
    blank lines count as one line break, the text is lower-cased and each
    punctuation character is a token of its own (`"f(x)."` -> `f ( x ) .`);
    with `"none"` the text is only split on
    whitespace (for already tokenised corpora such as PTB). Detokenising joins
    words with spaces and turns `<eos>` back into line breaks.

    Character level: every Unicode character, line breaks included, is a
    token; detokenising joins them with nothing.

    Args:
        vocabulary: List of tokens (without `<unk>`, which is always index 0;
            if present it is dropped).
        level: `"word"` or `"char"`.
        standardize: `"lower_and_split_punctuation"` or `"none"` (word level
            only; the character level never changes the text).

    Call arguments:
        inputs: A string scalar or a 1-D string tensor (a batch of texts).

    Returns:
        For a scalar, a 1-D int32 tensor of ids; for a batch, a
        `tf.RaggedTensor` `(batch, None)`.

    Example:

    >>> tokenizer = TextTokenizer(["the", "cat", "."], level="word")
    >>> tokenizer(tf.constant("The dog.")).numpy().tolist()
    [1, 0, 3]
    >>> tokenizer.detokenize([1, 2, 3]).numpy()
    b'the cat .'
    """

    def __init__(self, vocabulary, level="word", standardize="lower_and_split_punctuation",
                 **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if level not in LEVELS:
            raise ValueError(f"Argument `level` must be one of {LEVELS}; received: level={level!r}")
        if standardize not in STANDARDIZE:
            raise ValueError(
                f"Argument `standardize` must be one of {STANDARDIZE}; received: "
                f"standardize={standardize!r}"
            )
        vocabulary = [str(t) for t in vocabulary if str(t) != OOV_TOKEN]
        if not vocabulary:
            raise ValueError("Argument `vocabulary` must hold at least one token; received none")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("Argument `vocabulary` must not repeat a token")
        self.vocabulary = vocabulary
        self.level = level
        self.standardize = standardize
        self.lookup = keras.layers.StringLookup(
            vocabulary=vocabulary, oov_token=OOV_TOKEN, num_oov_indices=1, output_mode="int",
            name="lookup",
        )  # fmt: skip
        self.inverse = keras.layers.StringLookup(
            vocabulary=vocabulary, oov_token=OOV_TOKEN, num_oov_indices=1, invert=True,
            name="inverse_lookup",
        )  # fmt: skip
        self.supports_jit = False  # string ops do not compile with XLA

    @property
    def vocabulary_size(self):
        """Number of ids, `<unk>` included."""
        return len(self.vocabulary) + 1

    def get_vocabulary(self):
        """Tokens in id order, `<unk>` first."""
        return [OOV_TOKEN, *self.vocabulary]

    def build(self, input_shape=None):
        self.built = True  # the lookup tables are made with the vocabulary

    def split(self, inputs):
        """Raw text to token strings (same rank rules as `call`)."""
        text = tf.convert_to_tensor(inputs, dtype=tf.string)
        if self.level == "char":
            return tf.strings.unicode_split(text, "UTF-8")
        if self.standardize == "lower_and_split_punctuation":
            text = tf.strings.regex_replace(text, r"\n\s*\n", "\n")  # blank lines: one break
            text = tf.strings.lower(text, encoding="utf-8")
            text = tf.strings.regex_replace(text, _PUNCTUATION, r" \1 ")
        text = tf.strings.regex_replace(text, r"\r?\n", f" {EOS_TOKEN} ")
        return tf.strings.split(text)

    def call(self, inputs):
        tokens = self.split(inputs)
        if isinstance(tokens, tf.RaggedTensor):
            return tf.ragged.map_flat_values(lambda t: tf.cast(self.lookup(t), tf.int32), tokens)
        return tf.cast(self.lookup(tokens), tf.int32)

    def detokenize(self, ids):
        """Ids (1-D, or 2-D / ragged for a batch) back to text."""
        ids = ids if isinstance(ids, tf.RaggedTensor) else tf.convert_to_tensor(ids)
        tokens = self.inverse(tf.cast(ids, tf.int64))
        if self.level == "char":
            return tf.strings.reduce_join(tokens, axis=-1)
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        return tf.strings.regex_replace(text, f" ?{EOS_TOKEN} ?", "\n")

    def compute_output_shape(self, input_shape):
        return (*input_shape, None)

    def get_config(self):
        config = {
            "vocabulary": list(self.vocabulary),
            "level": self.level,
            "standardize": self.standardize,
        }
        return {**super().get_config(), **config}

    @classmethod
    def adapt_from_text(cls, text, level="word", standardize="lower_and_split_punctuation",
                        max_tokens=None, min_count=1):  # fmt: skip
        """Builds a tokenizer whose vocabulary is the tokens of `text`.

        Tokens are ordered by falling frequency (ties by first appearance);
        `max_tokens` (counting `<unk>`) and `min_count` drop the rarest.
        """
        if max_tokens is not None and (isinstance(max_tokens, bool) or int(max_tokens) < 2):
            raise ValueError(f"Argument `max_tokens` must be at least 2; received: {max_tokens!r}")
        probe = cls([EOS_TOKEN], level=level, standardize=standardize)
        tokens = probe.split(text).numpy()
        values, first, counts = np.unique(tokens, return_index=True, return_counts=True)
        order = np.lexsort((first, -counts))
        vocabulary = [
            values[i].decode("utf-8") for i in order
            if counts[i] >= min_count and values[i] != OOV_TOKEN.encode()
        ]  # fmt: skip
        if max_tokens is not None:
            vocabulary = vocabulary[: int(max_tokens) - 1]
        return cls(vocabulary, level=level, standardize=standardize)
