"""Language model: a Zaremba-style stacked LSTM over words or characters.

Zaremba, Sutskever & Vinyals (2014), "Recurrent Neural Network
Regularization": an embedding, two stacked LSTM layers, dropout on the
non-recurrent connections only, a softmax over the vocabulary, trained by
truncated BPTT over a continuous stream (the state carried from batch to
batch) with SGD, gradient-norm clipping and a learning rate that decays after
a few epochs. PTB test perplexity: small 114.5, medium 82.7, large 78.4.

Here the recurrent layers run the 1997 cell by default (`cell="lstm1997"`);
`"lstm1997_forget_gate"`, `"keras_lstm"`, `"keras_gru"` or any Keras RNN cell
instance can take its place.
"""

import keras
import numpy as np
import tensorflow as tf

from lstm_zoo.applications.base import Application
from lstm_zoo.applications.cells import check_cell, recurrent_layer, serialize_cell
from lstm_zoo.applications.language_model.config import ADAM_LEARNING_RATE, CONFIGS, MODEL_KEYS
from lstm_zoo.applications.text_tokenizer import EOS_TOKEN, TextTokenizer
from lstm_zoo.checks import positive_int


def _state_sizes(cell):
    size = cell.state_size
    return [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)]


@keras.saving.register_keras_serializable(package="lstm_zoo")
class LanguageModel(Application, keras.Model):
    """Stacked-LSTM language model over word or character tokens.

    embedding -> dropout -> [recurrent layer -> dropout] x `num_layers` ->
    dense softmax logits. Dropout touches only the connections between
    layers, never the recurrent ones (Zaremba et al. 2014). The embedding
    width equals `units`, as in the paper. The tokenizer (vocabulary
    included) is part of the model, so `.keras` files and SavedModels take
    raw text.

    Args:
        tokenizer: A `TextTokenizer` (or its config dict).
        config: `"small"`, `"medium"`, `"large"` (the paper's sizes) or
            `None` (then `units` and `num_layers` are required).
        num_layers: Recurrent layers; overrides the config's.
        units: Cells per layer (and embedding width); overrides the config's.
        dropout: Dropout rate between layers; overrides the config's.
        init_scale: Weights start uniform in `[-init_scale, init_scale]`.
        cell: `"lstm1997"` (the 1997 cell, default), `"lstm1997_forget_gate"`,
            `"keras_lstm"`, `"keras_gru"`, or a Keras RNN cell instance used as
            a template (its config with `units` replaced builds each layer's
            cell).
        **kwargs: Base `keras.Model` arguments.

    Call arguments:
        inputs: int tensor `(batch, time)` of token ids.
        initial_states: Optional list (one entry per layer) of lists of state
            tensors; zeros by default.
        return_states: Also return the final states (same structure).
        training: Whether dropout applies.

    Returns:
        Logits `(batch, time, vocabulary_size)` (and the states).

    Example:

    >>> tokenizer = TextTokenizer.adapt_from_text("a b a b a b\\n", level="word")
    >>> model = LanguageModel(tokenizer, config=None, units=8, num_layers=1)
    >>> model(np.zeros((2, 5), "int32")).shape
    (2, 5, 4)
    >>> model.generate(["a"], num_tokens=3, temperature=0.0)  # doctest: +SKIP
    ['a b a']
    """

    def __init__(self, tokenizer, config="small", num_layers=None, units=None, dropout=None,
                 init_scale=None, cell="lstm1997", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if isinstance(tokenizer, dict):
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        if not isinstance(tokenizer, TextTokenizer):
            raise ValueError(
                "Argument `tokenizer` must be a TextTokenizer; received: "
                f"{type(tokenizer).__name__}"
            )
        if config is not None and config not in CONFIGS:
            raise ValueError(
                f"Argument `config` must be one of {sorted(CONFIGS)} or None; received: "
                f"config={config!r}"
            )
        base = {k: CONFIGS[config][k] for k in MODEL_KEYS} if config else {}
        given = dict(num_layers=num_layers, units=units, dropout=dropout, init_scale=init_scale)
        values = {**base, **{k: v for k, v in given.items() if v is not None}}
        values.setdefault("dropout", 0.0)
        values.setdefault("init_scale", 0.1)
        for key in ("num_layers", "units"):
            if key not in values:
                raise ValueError(f"Argument `{key}` is required when config=None")
            values[key] = positive_int(key, values[key])
        if not 0.0 <= float(values["dropout"]) < 1.0:
            raise ValueError(
                f"Argument `dropout` must be in [0, 1); received: dropout={values['dropout']!r}"
            )
        if not float(values["init_scale"]) > 0.0:
            raise ValueError(
                f"Argument `init_scale` must be positive; received: {values['init_scale']!r}"
            )
        cell = check_cell(cell)
        self.tokenizer = tokenizer
        self.config_name = config
        self.num_layers = values["num_layers"]
        self.units = values["units"]
        self.dropout = float(values["dropout"])
        self.init_scale = float(values["init_scale"])
        self.cell = cell
        self.vocabulary_size = tokenizer.vocabulary_size
        start = EOS_TOKEN if tokenizer.level == "word" else "\n"
        vocabulary = tokenizer.get_vocabulary()
        self.start_id = vocabulary.index(start) if start in vocabulary else 0

        init = keras.initializers.RandomUniform(-self.init_scale, self.init_scale)
        self.embedding = keras.layers.Embedding(
            self.vocabulary_size, self.units, embeddings_initializer=init, name="embedding"
        )
        self.recurrent_layers = [self._recurrent_layer(i, init) for i in range(self.num_layers)]
        self.dropouts = [
            keras.layers.Dropout(self.dropout, name=f"dropout_{i}")
            for i in range(self.num_layers + 1)
        ]
        self.head = keras.layers.Dense(self.vocabulary_size, kernel_initializer=init, name="logits")

    def _recurrent_layer(self, index, init):
        return recurrent_layer(self.cell, self.units, f"rnn_{index}", init,
                               return_sequences=True, return_state=True)  # fmt: skip

    def build(self, input_shape=None):
        shape = (None, None) if input_shape is None else tuple(input_shape)
        self.embedding.build(shape)
        width = self.units
        for layer in self.recurrent_layers:
            layer.build((shape[0], shape[1], width))
            width = layer.cell.output_size if hasattr(layer.cell, "output_size") else self.units
        self.head.build((shape[0], shape[1], width))
        self.built = True

    def zero_states(self, batch_size):
        """Zero initial states for a batch, in the structure `call` takes."""
        return [
            [tf.zeros((batch_size, size), self.compute_dtype) for size in _state_sizes(layer.cell)]
            for layer in self.recurrent_layers
        ]

    def call(self, inputs, initial_states=None, return_states=False, training=False):
        x = self.dropouts[0](self.embedding(inputs), training=training)
        final_states = []
        for index, layer in enumerate(self.recurrent_layers):
            states = None if initial_states is None else list(initial_states[index])
            outputs = layer(x, initial_state=states, training=training)
            final_states.append(list(outputs[1:]))
            x = self.dropouts[index + 1](outputs[0], training=training)
        logits = self.head(x)
        return (logits, final_states) if return_states else logits

    def step(self, token_ids, states):
        """One time step through the cells: `(logits (batch, vocab), new_states)`."""
        x = self.embedding(token_ids)
        new_states = []
        for index, layer in enumerate(self.recurrent_layers):
            x, state = layer.cell(x, list(states[index]), training=False)
            new_states.append(list(tf.nest.flatten(state)))
        return self.head(x), new_states

    # ------------------------------------------------------------ text in/out

    def encode_prompts(self, prompts):
        """Strings `(batch,)` -> `(ids (batch, time), lengths)`, a start token first.

        Every prompt is read as if it followed a line break: the id of
        `<eos>` (word level) or `"\\n"` (character level) is put before it.
        """
        ragged = self.tokenizer(tf.reshape(tf.convert_to_tensor(prompts, tf.string), [-1]))
        start = tf.fill([ragged.nrows(), 1], tf.constant(self.start_id, ragged.dtype))
        ragged = tf.concat([start, ragged], axis=1)
        return ragged.to_tensor(0), tf.cast(ragged.row_lengths(), tf.int32)

    def next_token_logits(self, ids, lengths):
        """Logits of the token after each row's `lengths` ids `(batch, vocab)`."""
        logits = self(ids, training=False)
        return tf.gather(logits, lengths - 1, axis=1, batch_dims=1)

    def generate_ids(self, ids, lengths, num_tokens, temperature=1.0, top_k=0, seed=0):
        """Samples `num_tokens` ids after each prompt (graph-friendly).

        One `tf.while_loop` steps the cells through each prompt (rows of
        different lengths advance together; a row starts sampling when its
        prompt ends) and then through its own samples.

        Args:
            ids: `(batch, time)` prompt ids, right-padded.
            lengths: `(batch,)` prompt lengths (>= 1).
            num_tokens: Tokens to generate (scalar).
            temperature: Softmax temperature; `<= 0` means greedy (argmax).
            top_k: Sample among the `top_k` most likely tokens; `<= 0` for all.
            seed: Integer seed (stateless sampling: same seed, same text).

        Returns:
            int32 `(batch, num_tokens)`.
        """
        ids = tf.cast(ids, tf.int32)
        lengths = tf.cast(lengths, tf.int32)
        num_tokens = tf.cast(num_tokens, tf.int32)
        temperature = tf.cast(temperature, tf.float32)
        top_k = tf.minimum(tf.cast(top_k, tf.int32), self.vocabulary_size)
        seed = tf.cast(seed, tf.int32)
        batch = tf.shape(ids)[0]
        total = tf.shape(ids)[1] + num_tokens
        buffer = tf.pad(ids, [[0, 0], [0, num_tokens]])
        columns = tf.range(total)[tf.newaxis, :]
        states = self.zero_states(batch)

        def body(t, buffer, states):
            logits, states = self.step(buffer[:, t], states)
            logits = tf.cast(logits, tf.float32)
            kth = tf.math.top_k(logits, tf.maximum(top_k, 1)).values[:, -1:]
            logits = tf.where((top_k > 0) & (logits < kth), -np.inf, logits)
            sampled = tf.random.stateless_categorical(
                logits / tf.maximum(temperature, 1e-6), 1, seed=tf.stack([seed, t])
            )[:, 0]
            greedy = tf.argmax(logits, axis=-1)
            token = tf.cast(tf.where(temperature > 0, sampled, greedy), tf.int32)
            write = (columns == t + 1) & (columns >= lengths[:, tf.newaxis])
            buffer = tf.where(write, token[:, tf.newaxis], buffer)
            return t + 1, buffer, states

        _, buffer, _ = tf.while_loop(
            lambda t, *_: t < total - 1,
            body,
            [tf.constant(0), buffer, states],
            shape_invariants=[
                tf.TensorShape([]),
                tf.TensorShape([None, None]),
                tf.nest.map_structure(lambda s: tf.TensorShape([None, s.shape[-1]]), states),
            ],
        )
        positions = lengths[:, tf.newaxis] + tf.range(num_tokens)[tf.newaxis, :]
        return tf.gather(buffer, positions, axis=1, batch_dims=1)

    def generate(self, prompts, num_tokens=50, temperature=1.0, top_k=0, seed=0):
        """Continues each prompt by `num_tokens` tokens; returns a list of strings.

        Args:
            prompts: A string or a list of strings.
            num_tokens: Tokens to generate per prompt.
            temperature: Softmax temperature (`<= 0`: greedy).
            top_k: Sample among the `top_k` most likely tokens (`<= 0`: all).
            seed: Integer seed of the (stateless) sampling.
        """
        positive_int("num_tokens", num_tokens)
        single = isinstance(prompts, str)
        ids, lengths = self.encode_prompts([prompts] if single else list(prompts))
        out = self.generate_ids(ids, lengths, num_tokens, temperature, top_k, seed)
        texts = [t.decode("utf-8", "replace") for t in self.tokenizer.detokenize(out).numpy()]
        return texts[0] if single else texts

    def next_token_probabilities(self, prompts):
        """Probabilities `(batch, vocabulary_size)` of the token after each prompt."""
        ids, lengths = self.encode_prompts(prompts)
        return tf.nn.softmax(tf.cast(self.next_token_logits(ids, lengths), tf.float32))

    def serving_endpoints(self, top=10):
        """`{name: (fn, input_signature)}` for `lstm_zoo.export.export_saved_model`.

        - `next_token(prompt)`: `probabilities` `(batch, vocab)`, the `top`
          most likely `top_tokens` (strings) and their `top_probabilities`.
        - `generate(prompt, num_tokens, temperature, top_k, seed)`: `text`,
          the continuation of each prompt (sampling inside the graph).
        """
        top = min(int(top), self.vocabulary_size)
        vocabulary = tf.constant(self.tokenizer.get_vocabulary())
        # The network part compiles with XLA; string ops around it cannot.
        next_logits = tf.function(self.next_token_logits, jit_compile=True)

        def next_token(prompt):
            ids, lengths = self.encode_prompts(prompt)
            probabilities = tf.nn.softmax(tf.cast(next_logits(ids, lengths), "float32"))
            best = tf.math.top_k(probabilities, top)
            return {
                "probabilities": probabilities,
                "top_tokens": tf.gather(vocabulary, best.indices),
                "top_probabilities": best.values,
            }

        def generate(prompt, num_tokens, temperature, top_k, seed):
            ids, lengths = self.encode_prompts(prompt)
            out = self.generate_ids(ids, lengths, num_tokens, temperature, top_k, seed)
            return {"text": self.tokenizer.detokenize(out)}

        string = tf.TensorSpec([None], tf.string, name="prompt")
        return {
            "next_token": (next_token, [string]),
            "generate": (
                generate,
                [
                    string,
                    tf.TensorSpec([], tf.int32, name="num_tokens"),
                    tf.TensorSpec([], tf.float32, name="temperature"),
                    tf.TensorSpec([], tf.int32, name="top_k"),
                    tf.TensorSpec([], tf.int32, name="seed"),
                ],
            ),
        }

    def serving_examples(self):
        """Example inputs of each endpoint, stored with an export for `lstm-zoo verify`."""
        prompt = "the" if self.tokenizer.level == "word" else "The"
        prompts = np.array([prompt, "in python"], dtype=object)
        return {
            "next_token": [[prompts]],
            "generate": [
                [prompts[:1], np.int32(8), np.float32(0.0), np.int32(0), np.int32(0)],
                [prompts, np.int32(8), np.float32(1.0), np.int32(5), np.int32(7)],
            ],
        }

    application = "language_model"

    def default_optimizer(self, learning_rate=None, optimizer="sgd", clip_norm=None):
        """The recipe's optimizer: `"sgd"` (Zaremba et al.: the size's learning
        rate, 1.0, and gradient-norm clip) or `"adam"` (learning rate 0.002).

        Args:
            learning_rate: Overrides the default learning rate.
            optimizer: `"sgd"` or `"adam"`.
            clip_norm: Global gradient-norm clip (default: the size's; 0: none).
        """
        size = CONFIGS[self.config_name or "small"]
        clip = size["clip_norm"] if clip_norm is None else clip_norm
        if optimizer == "adam":
            return keras.optimizers.Adam(learning_rate or ADAM_LEARNING_RATE,
                                         global_clipnorm=clip or None)  # fmt: skip
        if optimizer != "sgd":
            raise ValueError(f"Argument `optimizer` must be 'sgd' or 'adam'; received: "
                             f"{optimizer!r}")  # fmt: skip
        return keras.optimizers.SGD(learning_rate or size["learning_rate"],
                                    global_clipnorm=clip or None)  # fmt: skip

    def default_loss(self):
        """Cross-entropy summed over the unrolled steps (Zaremba et al.)."""
        return summed_sequence_crossentropy

    def card_facts(self):
        return {"cell": serialize_cell(self.cell), "level": self.tokenizer.level,
                "vocabulary_size": self.vocabulary_size}  # fmt: skip

    def get_config(self):
        config = {
            "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
            "config": self.config_name,
            "num_layers": self.num_layers,
            "units": self.units,
            "dropout": self.dropout,
            "init_scale": self.init_scale,
            "cell": serialize_cell(self.cell),
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="lstm_zoo")
def summed_sequence_crossentropy(y_true, y_pred):
    """Cross-entropy summed over time steps (averaged over the batch by Keras).

    The loss of Zaremba et al.: with it, their learning rate of 1.0 and
    gradient-norm clip of 5 mean what they meant there.
    """
    losses = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
    return keras.ops.sum(losses, axis=-1)
