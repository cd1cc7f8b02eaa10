"""Image captioner: CNN encoder + LSTM decoder (Vinyals et al. 2015, Show and Tell).

Vinyals, Toshev, Bengio & Erhan (2015), "Show and Tell: A Neural Image
Caption Generator": a CNN embeds the image; the embedding is the LSTM's
input at step -1; then the words (from a start word) are its inputs and it
predicts the next word; 512-d word embedding and memory; beam search at
inference (greedy costs about 2 BLEU); MSCOCO BLEU-4 27.7.

Here the decoder runs the 1997 cell by default (or any cell of
`applications.cells`); the image preprocessing and the beam search live in
the graph, so the exported SavedModel takes encoded image bytes and returns
caption strings.
"""

import importlib
import os
import weakref

import keras
import numpy as np
import tensorflow as tf

from lstm_zoo.applications.base import Application, global_sum
from lstm_zoo.applications.captioning import metrics as caption_metrics
from lstm_zoo.applications.captioning.data import normalize_caption, resize_image
from lstm_zoo.applications.cells import check_cell, recurrent_layer, serialize_cell
from lstm_zoo.applications.text_tokenizer import EOS_TOKEN, OOV_TOKEN, TextTokenizer
from lstm_zoo.checks import positive_int

START_TOKEN = "<start>"
START_ID, END_ID = 1, 2  # 0 is the out-of-vocabulary token
_NEG = -1e9  # log-probability of impossible beam extensions (finite: no inf - inf)
_GENERATORS = weakref.WeakKeyDictionary()  # model -> {decoding setting: tf.function}


def build_vocabulary(captions, min_count=1, max_tokens=None):
    """Words of the captions that occur at least `min_count` times, by falling
    frequency (built with `TextTokenizer.adapt_from_text`, a `StringLookup`).

    Args:
        captions: Caption strings (normalised with `normalize_caption`).
        min_count: Drop rarer words (they become `<unk>`).
        max_tokens: Keep at most this many words.
    """
    min_count = positive_int("min_count", min_count)
    text = "\n".join(normalize_caption(c) for c in captions)
    try:
        tokenizer = TextTokenizer.adapt_from_text(text, standardize="none", min_count=min_count)
        words = [w for w in tokenizer.vocabulary if w not in (EOS_TOKEN, START_TOKEN)]
    except ValueError:  # no token at all
        words = []
    if max_tokens is not None:
        words = words[: positive_int("max_tokens", max_tokens)]
    if not words:
        raise ValueError(f"No word occurs at least min_count={min_count} times in the captions")
    return words


def _small_cnn(image_size, name):
    """A 5x5 stride-2 convolution, then three 3x3 convolutions each followed by
    2x2 max pooling (32-64-128-128 filters; the image shrinks 16 times), then
    flattened: that keeps where things are, which a global average would lose."""
    if image_size % 16:
        raise ValueError(f"Argument `image_size` must be a multiple of 16 for the small "
                         f"encoder; received: image_size={image_size}")  # fmt: skip
    layers = [
        keras.Input((image_size, image_size, 3)),
        keras.layers.Rescaling(1.0 / 255.0),
        keras.layers.Conv2D(32, 5, strides=2, padding="same", activation="relu", name="conv0"),
    ]  # fmt: skip
    for i, filters in enumerate((64, 128, 128), start=1):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}"),
            keras.layers.MaxPooling2D(name=f"pool{i}"),
        ]  # fmt: skip
    layers.append(keras.layers.Flatten(name="flatten"))
    return keras.Sequential(layers, name=name)


def build_encoder(encoder, image_size, weights=None, name="encoder"):
    """`(model, preprocess)`: the image encoder and its input preprocessing.

    `encoder` is `"small"` (the built-in CNN, on [0, 255] images) or the name
    of a `keras.applications` model (`"MobileNetV2"`, `"InceptionV3"`,
    `"ResNet50"`, ...), built without its top and with global average
    pooling; its own `preprocess_input` maps [0, 255] images to what it
    expects. `weights` is None (random) or the path of a weights file.
    """
    if weights is not None and not isinstance(weights, str):
        raise ValueError(f"Argument `encoder_weights` must be None or a file path; received: "
                         f"{weights!r}")  # fmt: skip
    if weights is not None and not os.path.isfile(weights):
        raise ValueError(f"Argument `encoder_weights`: no such file: {weights}")
    if encoder == "small":
        model = _small_cnn(image_size, name)
        if weights:
            model.load_weights(weights)
        return model, None
    constructor = getattr(keras.applications, str(encoder), None)
    if not callable(constructor) or not isinstance(constructor, type(_small_cnn)):
        raise ValueError(f"Argument `encoder` must be 'small' or a keras.applications model "
                         f"name such as 'MobileNetV2'; received: encoder={encoder!r}")  # fmt: skip
    model = constructor(include_top=False, weights=weights, input_shape=(image_size,) * 2 + (3,),
                        pooling="avg")  # fmt: skip
    preprocess = importlib.import_module(constructor.__module__).preprocess_input
    return model, preprocess


#: The `errors` entry of `caption` for a row that is not a whole image file.
INVALID_IMAGE = ("images[row] is not a whole JPEG, PNG, GIF or BMP file (empty, truncated or "
                 "not an image): not captioned")


@keras.saving.register_keras_serializable(package="lstm_zoo")
class ImageCaptioner(Application, keras.Model):
    """Images in, next-word logits out; greedy and beam-search captioning.

    encoder -> dense image embedding, layer-normalised (the decoder's input
    at step -1; without the normalisation a fine-tuned encoder's features grow
    until they saturate the decoder's gates) ->
    [start word, caption words] embedded -> recurrent layer -> dense logits
    over the vocabulary. Ids: 0 `<unk>`, 1 `<start>`, 2 `<eos>` (the end
    word), then `vocabulary`.

    Args:
        vocabulary: List of words (see `build_vocabulary`).
        image_size: Side of the square RGB input images.
        encoder: `"small"` (default) or a `keras.applications` model name.
        encoder_weights: None (random initial weights) or the path of a
            weights file for the encoder (e.g. ImageNet weights you have
            locally). Not kept in the config: a saved model holds its weights.
        train_encoder: Whether the encoder's weights are trained (fine-tuned)
            or frozen.
        embedding_dim: Size of the image and word embeddings.
        units: Memory cells of the decoder.
        cell: `"lstm1997"` (default), `"lstm1997_forget_gate"`, `"keras_lstm"`,
            `"keras_gru"` or a Keras RNN cell instance.
        dropout: Dropout rate on the decoder's inputs and outputs.
        max_length: Default most words (the end word included) a generated
            caption has.
        cell_kwargs: Dict of extra arguments for the recurrent layer.
        **kwargs: Base `keras.Model` arguments.

    Call arguments:
        inputs: `(images, input_ids)`: `(batch, image_size, image_size, 3)`
            in [0, 255] (uint8 or float) and int `(batch, length)` ids
            starting with the start id.
        training: Whether dropout applies.

    Returns:
        Logits `(batch, length, vocabulary_size)`: position t predicts the
        id after `input_ids[:, t]`.

    Example:

    >>> model = ImageCaptioner(["a", "red", "circle"], image_size=32, units=8,
    ...                        embedding_dim=8)
    >>> images = np.zeros((2, 32, 32, 3), "uint8")
    >>> model((images, np.ones((2, 4), "int32"))).shape
    TensorShape([2, 4, 6])
    >>> len(model.caption(images, beam_width=3))
    2
    """

    def __init__(self, vocabulary, image_size=64, encoder="small", encoder_weights=None,
                 train_encoder=True, embedding_dim=512, units=512, cell="lstm1997",
                 dropout=0.0, max_length=20, cell_kwargs=None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        words = [str(w) for w in vocabulary]
        if not words or any(not w or len(w.split()) != 1 for w in words):
            raise ValueError("Argument `vocabulary` must be a non-empty list of words without "
                             "whitespace")  # fmt: skip
        specials = {OOV_TOKEN, START_TOKEN, EOS_TOKEN}
        if len(set(words)) != len(words) or specials & set(words):
            raise ValueError(f"Argument `vocabulary` must not repeat a word or hold "
                             f"{sorted(specials)}")  # fmt: skip
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"Argument `dropout` must be in [0, 1); received: dropout={dropout!r}")
        self.vocabulary = words
        self.image_size = positive_int("image_size", image_size)
        self.encoder_name = encoder
        self.train_encoder = bool(train_encoder)
        self.embedding_dim = positive_int("embedding_dim", embedding_dim)
        self.units = positive_int("units", units)
        self.cell = check_cell(cell)
        self.dropout = float(dropout)
        self.max_length = positive_int("max_length", max_length)
        self.cell_kwargs = dict(cell_kwargs or {})

        self.tokenizer = TextTokenizer([START_TOKEN, EOS_TOKEN, *words], standardize="none",
                                       name="tokenizer")  # fmt: skip
        self.encoder, self._preprocess = build_encoder(encoder, self.image_size, encoder_weights)
        self.encoder.trainable = self.train_encoder
        self.image_embedding = keras.layers.Dense(self.embedding_dim, name="image_embedding")
        self.image_norm = keras.layers.LayerNormalization(name="image_norm")
        self.word_embedding = keras.layers.Embedding(self.vocabulary_size, self.embedding_dim,
                                                     name="word_embedding")  # fmt: skip
        self.input_dropout = keras.layers.Dropout(self.dropout, name="input_dropout")
        self.decoder = recurrent_layer(self.cell, self.units, "decoder", return_sequences=True,
                                       **self.cell_kwargs)  # fmt: skip
        self.output_dropout = keras.layers.Dropout(self.dropout, name="output_dropout")
        self.head = keras.layers.Dense(self.vocabulary_size, name="logits")

    @property
    def vocabulary_size(self):
        """Ids: `<unk>`, `<start>`, `<eos>` and the words."""
        return len(self.vocabulary) + 3

    def build(self, input_shape=None):
        size = self.image_size
        width = int(self.encoder.compute_output_shape((1, size, size, 3))[-1])
        shapes = [(self.encoder, (None, size, size, 3)), (self.image_embedding, (None, width)),
                  (self.image_norm, (None, self.embedding_dim)),
                  (self.word_embedding, (None, None)),
                  (self.decoder, (None, None, self.embedding_dim)),
                  (self.head, (None, None, self.units))]  # fmt: skip
        for layer, shape in shapes:
            if not layer.built:  # decoding may have built some already
                layer.build(shape)
        self.built = True

    def encode_images(self, images, training=False):
        """Image embeddings `(batch, embedding_dim)` of [0, 255] images."""
        images = tf.cast(images, tf.float32)
        if self._preprocess is not None:
            images = self._preprocess(images)
        features = self.encoder(images, training=training and self.train_encoder)
        return self.image_norm(self.image_embedding(features))

    def call(self, inputs, training=False):
        images, input_ids = inputs
        image = self.encode_images(images, training)
        words = self.word_embedding(tf.cast(input_ids, tf.int32))
        x = tf.concat([image[:, None, :], tf.cast(words, image.dtype)], axis=1)
        x = self.input_dropout(x, training=training)
        h = self.decoder(x, training=training)[:, 1:]
        return self.head(self.output_dropout(h, training=training))

    # Captions <-> ids ---------------------------------------------------------

    def encode_caption(self, caption):
        """Ids of `<start> caption <eos>` (unknown words -> 0)."""
        words = tf.constant(normalize_caption(caption).split(), tf.string)
        ids = self.tokenizer.lookup(words).numpy().tolist() if words.shape[0] else []
        return [START_ID, *[int(i) for i in ids], END_ID]

    def ids_to_text(self, ids):
        """String tensor `(batch,)` of id rows; start and end ids are dropped."""
        ids = tf.cast(ids, tf.int64)
        keep = tf.logical_and(ids != START_ID, ids != END_ID)
        return self.tokenizer.detokenize(tf.ragged.boolean_mask(ids, keep))

    # Decoding -----------------------------------------------------------------

    def _step(self, inputs, states):
        output, states = self.decoder.cell(inputs, states, training=False)
        return output, list(states) if isinstance(states, (list, tuple)) else [states]

    def generate(self, images, beam_width=1, max_length=None, length_penalty=0.0):
        """Beam search (greedy for width 1) in TensorFlow ops, graph-friendly.

        Each step extends every live hypothesis by every word; the
        `beam_width` best by score are kept. A hypothesis that emits `<eos>`
        is finished: it stays in the beam with a fixed score and competes
        with the live ones. The score is the caption's log-probability
        divided by `length ** length_penalty` (0: plain log-probability, as
        Show and Tell; 1: mean log-probability per word); the length counts
        the end word.

        Args:
            images: `(batch, image_size, image_size, 3)` in [0, 255].
            beam_width: Hypotheses kept per image.
            max_length: Most ids per caption (default: the model's); a
                caption that reaches it without `<eos>` ends there.
            length_penalty: Exponent of the length normalisation (>= 0).

        Returns:
            `(ids, scores)`: int32 `(batch, max_length)` padded with the end
            id, and the float32 `(batch,)` scores of the best hypotheses.
        """
        width = positive_int("beam_width", beam_width)
        steps = self.max_length if max_length is None else positive_int("max_length", max_length)
        alpha = float(length_penalty)
        if alpha < 0.0:
            raise ValueError(f"Argument `length_penalty` must be >= 0; received: {length_penalty}")
        if not self.built:
            self.build()
        vocab = self.vocabulary_size
        image = self.encode_images(images)
        batch = tf.shape(image)[0]
        states = [tf.convert_to_tensor(s) for s in self.decoder.cell.get_initial_state(batch)]
        _, states = self._step(image, states)
        states = [tf.repeat(s, width, axis=0) for s in states]
        scores = tf.tile(tf.constant([[0.0] + [_NEG] * (width - 1)]), [batch, 1])
        lengths = tf.zeros([batch, width])
        finished = tf.zeros([batch, width], tf.bool)
        ids = tf.fill([batch, width, steps], END_ID)
        tokens = tf.fill([batch * width], START_ID)
        end_only = tf.where(tf.range(vocab) == END_ID, 0.0, _NEG)
        offsets = (tf.range(batch) * width)[:, None]

        def body(t, tokens, states, scores, lengths, finished, ids):
            output, new_states = self._step(self.word_embedding(tokens), states)
            log_probs = tf.nn.log_softmax(tf.cast(self.head(output), tf.float32))
            log_probs = tf.reshape(log_probs, [batch, width, vocab])
            log_probs = tf.where(finished[..., None], end_only, log_probs)
            total = scores[..., None] + log_probs
            new_lengths = lengths + 1.0 - tf.cast(finished, tf.float32)
            ranked = total / tf.pow(new_lengths, alpha)[..., None] if alpha else total
            _, best = tf.math.top_k(tf.reshape(ranked, [batch, width * vocab]), width)
            beam, token = best // vocab, tf.cast(best % vocab, tf.int32)
            scores = tf.gather(tf.reshape(total, [batch, width * vocab]), best, batch_dims=1)
            lengths = tf.gather(new_lengths, beam, batch_dims=1)
            finished = tf.gather(finished, beam, batch_dims=1) | (token == END_ID)
            ids = tf.gather(ids, beam, batch_dims=1)
            ids = tf.where(tf.range(steps) == t, token[..., None], ids)
            rows = tf.reshape(beam + offsets, [-1])
            states = [tf.gather(s, rows) for s in new_states]
            return t + 1, tf.reshape(token, [-1]), states, scores, lengths, finished, ids

        def cond(t, tokens, states, scores, lengths, finished, ids):
            return tf.logical_and(t < steps, tf.logical_not(tf.reduce_all(finished)))

        _, _, _, scores, lengths, _, ids = tf.while_loop(
            cond, body, (tf.constant(0), tokens, states, scores, lengths, finished, ids))
        final = scores / tf.pow(lengths, alpha) if alpha else scores
        best = tf.argmax(final, axis=1, output_type=tf.int32)
        return tf.gather(ids, best, batch_dims=1), tf.gather(final, best, batch_dims=1)

    def _generator(self, beam_width, max_length, length_penalty):
        """A traced `generate` per decoding setting, kept outside the model's
        tracked attributes (a SavedModel or `.keras` file must not hold them)."""
        key = (beam_width, max_length, float(length_penalty))
        generators = _GENERATORS.setdefault(self, {})
        if key not in generators:
            size = self.image_size
            generators[key] = tf.function(
                lambda images: self.generate(images, *key),
                input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)],
                reduce_retracing=True,
            )  # fmt: skip
        return generators[key]

    def caption_batch(self, images, beam_width=1, max_length=None, length_penalty=0.0):
        """Graph-friendly captioning: `(captions, scores)`, string and float `(batch,)`."""
        ids, scores = self.generate(images, beam_width, max_length, length_penalty)
        return self.ids_to_text(ids), scores

    def caption(self, images, beam_width=1, max_length=None, length_penalty=0.0,
                batch_size=64):  # fmt: skip
        """Captions (list of str) of images: an array `(batch, h, w, 3)` in [0, 255]
        or a list of `(h, w, 3)` arrays of any size (resized to `image_size`)."""
        positive_int("beam_width", beam_width)
        batch_size = positive_int("batch_size", batch_size)
        size = self.image_size
        images = [np.asarray(image) for image in images]
        for image in images:
            if image.ndim != 3 or image.shape[-1] != 3:
                raise ValueError(f"Argument `images` must hold (height, width, 3) RGB images; "
                                 f"received shape {image.shape}")  # fmt: skip
        images = np.stack([image if image.shape[:2] == (size, size)
                           else resize_image(image, size).numpy()
                           for image in images]).astype(np.float32)  # fmt: skip
        generate = self._generator(beam_width, max_length, length_penalty)
        captions = []
        for start in range(0, len(images), batch_size):
            ids, _ = generate(tf.constant(images[start : start + batch_size]))
            captions += [t.decode("utf-8") for t in self.ids_to_text(ids).numpy()]
        return captions

    def evaluate_captions(self, images, references, beam_width=1, max_length=None,
                          length_penalty=0.0, batch_size=64):  # fmt: skip
        """Captions `images` and scores them against `references` (lists of captions).

        Returns:
            Dict: `bleu_1`..`bleu_4` (corpus BLEU), `cider_d`, `exact_match`
            (fraction of captions equal to one of their references), `images`,
            `hypotheses`.
        """
        hypotheses = self.caption(images, beam_width, max_length, length_penalty, batch_size)
        refs = [[normalize_caption(r) for r in refs] for refs in references]
        bleu = caption_metrics.corpus_bleu(refs, hypotheses)
        exact = np.mean([h in r for h, r in zip(hypotheses, refs, strict=True)])
        return {**{f"bleu_{n + 1}": b for n, b in enumerate(bleu)},
                "cider_d": caption_metrics.cider_d(refs, hypotheses),
                "exact_match": float(exact), "images": len(hypotheses),
                "hypotheses": hypotheses}  # fmt: skip

    # Serving ------------------------------------------------------------------

    @staticmethod
    def complete_image_bytes(data):
        """Whether each of `data` (string `(batch,)`) is a whole image file: a
        JPEG from its start marker to its end marker (FFD9), a PNG from its
        signature to its IEND chunk, a GIF ending with its trailer (`;`), or
        a BMP as long as its header says. Empty, truncated and non-image
        bytes are not; a file damaged in its middle can still pass."""
        size = tf.strings.length(data)

        def head(n):
            return tf.strings.substr(data, 0, n)

        def tail(n):
            return tf.strings.substr(data, tf.maximum(size - n, 0), tf.fill(tf.shape(size), n))

        jpeg = tf.equal(head(3), b"\xff\xd8\xff") & tf.equal(tail(2), b"\xff\xd9")
        png = tf.equal(head(8), b"\x89PNG\r\n\x1a\n") & tf.equal(tail(8), b"IEND\xaeB`\x82")
        gif = tf.equal(head(4), b"GIF8") & tf.equal(tail(1), b";")
        header = tf.strings.substr(tf.strings.join([data, b"\x00\x00\x00\x00\x00\x00"]), 2, 4)
        declared = tf.reshape(tf.io.decode_raw(header, tf.int32, little_endian=True), [-1])
        bmp = tf.equal(head(2), b"BM") & tf.equal(declared, size)
        return (jpeg | png | gif | bmp) & (size > 0)

    def decode_image_bytes(self, data, valid=None):
        """Encoded JPEG/PNG/GIF/BMP bytes `(batch,)` -> float32 `(batch, size,
        size, 3)`; rows where `valid` (bool `(batch,)`) is False are not
        decoded and come out black."""
        size = self.image_size
        if valid is None:
            valid = tf.ones_like(data, tf.bool)

        def decode(row):
            one, ok = row

            def image():
                decoded = tf.io.decode_image(one, channels=3, expand_animations=False)
                decoded.set_shape([None, None, 3])
                return resize_image(decoded, size)

            return tf.cond(ok, image, lambda: tf.zeros([size, size, 3]))

        return tf.map_fn(decode, (data, valid),
                         fn_output_signature=tf.TensorSpec([size, size, 3]))  # fmt: skip

    def serving_endpoints(self, beam_width=3, max_length=None, length_penalty=0.0):
        """`{name: (fn, input_signature)}` for `lstm_zoo.export.export_saved_model`.

        - `caption(images)`: string `(batch,)` of encoded images (JPEG, PNG,
          GIF, BMP; any size, greyscale or RGB) -> `captions` string `(batch,)`
          and `scores` float32 `(batch,)`, by beam search of width
          `beam_width` (1: greedy), and `errors` string `(batch,)`: empty for
          a captioned row; for a row whose bytes are not a whole image file
          (`complete_image_bytes`: empty, truncated, not an image) the rule it
          broke, with an empty caption and a score of -inf. The other rows
          of the batch are captioned as usual.
        """
        width = positive_int("beam_width", beam_width)

        def caption(images):
            valid = self.complete_image_bytes(images)
            captions, scores = self.caption_batch(self.decode_image_bytes(images, valid), width,
                                                  max_length, length_penalty)  # fmt: skip
            errors = tf.where(valid, "", INVALID_IMAGE)
            return {"captions": tf.where(valid, captions, ""),
                    "scores": tf.where(valid, scores, float("-inf")), "errors": errors}

        return {"caption": (caption, [tf.TensorSpec([None], tf.string, name="images")])}

    def serving_examples(self):
        """Example inputs stored with an export for `lstm-zoo verify`."""
        rng = np.random.default_rng(0)
        images = [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8),
                  rng.integers(0, 256, (self.image_size,) * 2 + (1,), dtype=np.uint8)]  # fmt: skip
        encoded = [tf.io.encode_png(image).numpy() for image in images]
        return {"caption": [[np.array(encoded, dtype=object)]]}

    application = "captioning"

    def default_optimizer(self, learning_rate=None, clip_norm=5.0):
        """Adam (learning rate 0.001) with the gradient norm clipped at 5 (0: none)."""
        return keras.optimizers.Adam(learning_rate or 0.001, global_clipnorm=clip_norm or None)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Next-word cross-entropy averaged over the words of the global batch
        (padding, -1, ignored), plus layer losses; a compiled loss replaces it."""
        if self._compile_loss is not None:
            return super().compute_loss(x, y, y_pred, sample_weight, training)
        labels = tf.cast(y, tf.int32)
        valid = tf.cast(labels >= 0, tf.float32)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.maximum(labels, 0), tf.cast(y_pred, tf.float32)
        )
        if sample_weight is not None:
            valid = valid * tf.cast(tf.reshape(sample_weight, [-1, 1]), tf.float32)
        count = global_sum(tf.reduce_sum(valid))
        loss = tf.reduce_sum(losses * valid) / tf.maximum(count, 1.0)
        if self.losses:
            loss = loss + tf.add_n(self.losses)
        return loss

    def card_facts(self):
        return {"cell": serialize_cell(self.cell), "image_size": self.image_size,
                "vocabulary_size": self.vocabulary_size}  # fmt: skip

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": list(self.vocabulary),
            "image_size": self.image_size,
            "encoder": self.encoder_name,
            "encoder_weights": None,  # the saved model holds the weights
            "train_encoder": self.train_encoder,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "cell": serialize_cell(self.cell),
            "dropout": self.dropout,
            "max_length": self.max_length,
            "cell_kwargs": dict(self.cell_kwargs),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
