"""Speech recognizer: deep bidirectional LSTM with CTC (Graves et al. 2013).

Graves, Mohamed & Hinton (2013), "Speech recognition with deep recurrent
neural networks": 40 mel filterbank channels + energy with first and second
derivatives (123 inputs per frame), stacked bidirectional LSTM layers, a
softmax over the labels plus a blank, trained with CTC. TIMIT phone error
18.6% with 3 layers of 250 cells per direction.

Here the front end (`SpeechFeatures`, `tf.signal`) is inside the model, so
the model takes raw waveforms; the recurrent layers run the 1997 cell by
default. The CTC blank is label 0 (`keras.ops.ctc_loss` / `ctc_decode`);
the user's labels are 1..N.
"""

import keras
import numpy as np
import tensorflow as tf

from lstm_zoo.applications.base import Application, global_sum
from lstm_zoo.applications.cells import check_cell, recurrent_layer, serialize_cell
from lstm_zoo.applications.speech import metrics as speech_metrics
from lstm_zoo.applications.speech.data import DIGIT_WORDS
from lstm_zoo.applications.speech.features import SpeechFeatures
from lstm_zoo.applications.speech.spec_augment import SpecAugment
from lstm_zoo.checks import positive_int

#: Named label sets: (labels, label_type).
LABEL_SETS = {
    "digits": (list(DIGIT_WORDS), "words"),
    "characters": (list("abcdefghijklmnopqrstuvwxyz' "), "characters"),
}
LABEL_TYPES = ("words", "characters", "phones")


@keras.saving.register_keras_serializable(package="lstm_zoo")
class SpeechRecognizer(Application, keras.Model):
    """Raw waveforms in, CTC label logits out; decoding to transcripts.

    features (`SpeechFeatures`) -> [bidirectional recurrent layer -> dropout]
    x `num_layers` -> dense logits over blank + labels. The recurrent layers
    get a Keras mask of each utterance's valid frames, so a batch of different
    lengths gives each utterance the result it would get alone (the logits of
    padded frames are unspecified; CTC and decoding ignore them). `LSTM1997`
    runs masks on its fused kernel.

    Args:
        labels: A named set (`"digits"`: the ten digit words; `"characters"`:
            a-z, apostrophe, space) or a list of label strings (phones, words,
            characters) without duplicates.
        label_type: How transcripts split into labels: `"words"` and
            `"phones"` on whitespace, `"characters"` per character. Default:
            the named set's, else `"words"`.
        sample_rate: Sampling rate of the input waveforms in Hz.
        num_layers: Bidirectional recurrent layers.
        units: Cells per direction and layer.
        cell: `"lstm1997_forget_gate"` (default: the 1997 cell with Gers et
            al.'s forget gate, which learns speech far faster than the
            forget-less cell, whose states drift into `h`'s saturation over
            hundreds of frames; `results/speech.md`), `"lstm1997"`,
            `"keras_lstm"`, `"keras_gru"` or a Keras RNN cell instance.
        dropout: Dropout rate between layers (not on recurrent connections).
        features: Dict of `SpeechFeatures` arguments (`sample_rate` apart).
        cell_kwargs: Dict of extra arguments for each recurrent layer (for
            the 1997 cell e.g. `{"input_gate_bias": -2.0}`, the paper's
            remedy for internal state drift: input gates start mostly shut).
        spec_augment: Dict of `SpecAugment` arguments (`channels` apart) to
            mask the features in training, or `None` (default) for none.
        **kwargs: Base `keras.Model` arguments.

    Call arguments:
        inputs: `(waveforms, lengths)`: float `(batch, samples)` in [-1, 1] and
            int `(batch,)` valid samples per row.
        training: Whether dropout applies.

    Returns:
        Logits `(batch, frames, len(labels) + 1)`, index 0 the blank.

    Example:

    >>> model = SpeechRecognizer("digits", num_layers=1, units=8)
    >>> model((np.zeros((2, 16000), "float32"), np.array([16000, 8000]))).shape
    TensorShape([2, 100, 11])
    >>> model.transcribe([np.zeros(16000, "float32")])  # doctest: +SKIP
    ['']
    """

    def __init__(self, labels="digits", label_type=None, sample_rate=16000, num_layers=3,
                 units=250, cell="lstm1997_forget_gate", dropout=0.0, features=None,
                 cell_kwargs=None, spec_augment=None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if isinstance(labels, str):
            if labels not in LABEL_SETS:
                raise ValueError(f"Argument `labels` must be one of {sorted(LABEL_SETS)} or a "
                                 f"list of strings; received: labels={labels!r}")  # fmt: skip
            labels, default_type = LABEL_SETS[labels]
        else:
            default_type = "words"
        labels = [str(label) for label in labels]
        if not labels or len(set(labels)) != len(labels) or any(not lab for lab in labels):
            raise ValueError(f"Argument `labels` must be distinct non-empty strings; received: "
                             f"{labels[:20]}")  # fmt: skip
        label_type = label_type or default_type
        if label_type not in LABEL_TYPES:
            raise ValueError(f"Argument `label_type` must be one of {LABEL_TYPES}; received: "
                             f"label_type={label_type!r}")  # fmt: skip
        if label_type == "characters" and any(len(lab) != 1 for lab in labels):
            raise ValueError("Argument `labels` must be single characters for "
                             "label_type='characters'")  # fmt: skip
        if label_type != "characters" and any(len(lab.split()) != 1 for lab in labels):
            raise ValueError(f"Argument `labels` must not hold whitespace for "
                             f"label_type={label_type!r}")  # fmt: skip
        features = dict(features or {})
        if "sample_rate" in features:
            raise ValueError("Pass `sample_rate` to SpeechRecognizer, not in `features`")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"Argument `dropout` must be in [0, 1); received: dropout={dropout!r}")
        self.labels = labels
        self.label_type = label_type
        self.sample_rate = positive_int("sample_rate", sample_rate)
        self.num_layers = positive_int("num_layers", num_layers)
        self.units = positive_int("units", units)
        self.cell = check_cell(cell)
        self.dropout = float(dropout)
        self.features_config = features
        self.cell_kwargs = dict(cell_kwargs or {})
        self.separator = "" if label_type == "characters" else " "
        self._label_ids = {label: i + 1 for i, label in enumerate(labels)}

        self.features = SpeechFeatures(sample_rate=self.sample_rate, **features, name="features")
        self.spec_augment_config = None if spec_augment is None else dict(spec_augment)
        self.spec_augment = None
        if spec_augment is not None:
            blocks = self.features.delta_order + 1
            self.spec_augment = SpecAugment(
                self.features.output_dim // blocks, **self.spec_augment_config, name="spec_augment"
            )
        self.rnn_layers = [
            keras.layers.Bidirectional(
                recurrent_layer(self.cell, self.units, f"rnn_{i}", return_sequences=True,
                                **self.cell_kwargs),  # fmt: skip
                name=f"bidirectional_{i}",
            )
            for i in range(self.num_layers)
        ]
        self.dropouts = [keras.layers.Dropout(self.dropout, name=f"dropout_{i}")
                         for i in range(self.num_layers)]  # fmt: skip
        self.head = keras.layers.Dense(len(labels) + 1, name="logits")

    @property
    def num_classes(self):
        """Labels plus the blank."""
        return len(self.labels) + 1

    def build(self, input_shape=None):
        self.features.build()
        width = self.features.output_dim
        for layer in self.rnn_layers:
            layer.build((None, None, width))
            width = 2 * self.units
        self.head.build((None, None, width))
        self.built = True

    def call(self, inputs, training=False):
        waveforms, lengths = inputs
        x, frame_lengths = self.features((waveforms, lengths), training=training)
        if self.spec_augment is not None:
            x = self.spec_augment((x, frame_lengths), training=training)
        mask = tf.sequence_mask(frame_lengths, tf.shape(x)[1])
        for layer, dropout in zip(self.rnn_layers, self.dropouts, strict=False):
            x = dropout(layer(x, mask=mask, training=training), training=training)
        return self.head(x)

    # Training ---------------------------------------------------------------

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean CTC loss per utterance of the global batch (`keras.ops.ctc_loss`, blank 0)
        plus layer losses.

        `y` holds label ids 1..N, zero-padded.
        """
        _, lengths = x
        labels = tf.cast(y, tf.int32)
        label_lengths = tf.math.count_nonzero(labels, axis=1, dtype=tf.int32)
        frame_lengths = self.features.frame_lengths(lengths)
        logits = tf.cast(y_pred, tf.float32)
        # A replica may get no utterance of a small last batch; CTC fails on none.
        losses = tf.cond(
            tf.shape(labels)[0] > 0,
            lambda: keras.ops.ctc_loss(labels, logits, label_lengths, frame_lengths,
                                       mask_index=0),
            lambda: tf.zeros([0], tf.float32) + 0.0 * tf.reduce_sum(logits),
        )  # fmt: skip
        if sample_weight is not None:
            losses = losses * tf.cast(tf.reshape(sample_weight, [-1]), losses.dtype)
        # The mean over the global batch: the replicas' gradients are summed.
        count = global_sum(tf.cast(tf.shape(losses)[0], losses.dtype))
        loss = tf.reduce_sum(losses) / tf.maximum(count, 1.0)
        if self.losses:
            loss = loss + tf.add_n(self.losses)
        return loss

    def encode_transcript(self, transcript):
        """Label ids (1..N) of a transcript; `ValueError` names an unknown label."""
        text = " ".join(str(transcript).lower().split()) if self.label_type == "characters" \
            else str(transcript)  # fmt: skip
        units = list(text) if self.label_type == "characters" else text.split()
        if self.label_type != "characters" and all(u.lower() in self._label_ids for u in units):
            units = [u.lower() for u in units]
        unknown = sorted({u for u in units if u not in self._label_ids})
        if unknown:
            raise ValueError(f"Transcript {transcript!r} holds labels {unknown} that are not in "
                             f"the model's labels {self.labels[:20]}")  # fmt: skip
        return [self._label_ids[u] for u in units]

    def adapt(self, dataset):
        """Sets dataset normalisation statistics from `((waveforms, lengths), labels)` batches."""
        self.features.adapt(inputs for inputs, _ in dataset)

    # Decoding ---------------------------------------------------------------

    def decode(self, logits, frame_lengths, beam_width=1):
        """CTC decoding (`keras.ops.ctc_decode`): label ids `(batch, frames)`, -1 padded.

        `beam_width` 1 is greedy (best label per frame, repeats merged,
        blanks removed); more is beam search over label sequences.
        """
        positive_int("beam_width", beam_width)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        strategy = "greedy" if beam_width == 1 else "beam_search"
        decoded, _ = keras.ops.ctc_decode(log_probs, frame_lengths, strategy=strategy,
                                          beam_width=beam_width, top_paths=1,
                                          mask_index=0)  # fmt: skip
        return decoded[0]

    def ids_to_text(self, ids):
        """String tensor `(batch,)` of label-id rows (ids <= 0 are skipped)."""
        table = tf.constant(["<blank>"] + self.labels)
        ids = tf.cast(ids, tf.int32)
        tokens = tf.ragged.boolean_mask(tf.gather(table, tf.maximum(ids, 0)), ids > 0)
        return tf.strings.reduce_join(tokens, axis=-1, separator=self.separator)

    @staticmethod
    def check_transcription_input(waveforms, lengths):
        """`(waveforms, lengths)` once they keep the serving rules, else an
        `InvalidArgumentError` (raised inside the graph too) naming the input,
        the rows and the rule:

        - `lengths` holds one length per row of `waveforms`;
        - every length lies in `[0, width of waveforms]`;
        - the samples within each row's length are finite (no NaN or inf).

        A row of length 0 is allowed: its transcript is empty.
        """
        waveforms = tf.convert_to_tensor(waveforms, tf.float32)
        lengths = tf.convert_to_tensor(lengths, tf.int32)
        rows, width = tf.shape(waveforms)[0], tf.shape(waveforms)[1]
        count = tf.debugging.assert_equal(
            tf.shape(lengths)[0], rows,
            message="transcribe: `lengths` must hold one length per row of `waveforms`",
        )  # fmt: skip
        with tf.control_dependencies([count]):
            bad = (lengths < 0) | (lengths > width)
            in_range = tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [
                "transcribe: each of `lengths` must lie in [0, width of `waveforms`] =",
                width, "rows:", tf.where(bad)[:, 0], "lengths:", tf.boolean_mask(lengths, bad),
            ], summarize=20)  # fmt: skip
        with tf.control_dependencies([in_range]):
            inside = tf.sequence_mask(lengths, width)
            broken = tf.reduce_any(inside & ~tf.math.is_finite(waveforms), axis=1)
            finite = tf.debugging.Assert(tf.logical_not(tf.reduce_any(broken)), [
                "transcribe: `waveforms` must hold finite samples (no NaN or inf) within the "
                "length of each row;", "rows:", tf.where(broken)[:, 0],
            ], summarize=20)  # fmt: skip
        with tf.control_dependencies([finite]):
            return tf.identity(waveforms), tf.identity(lengths)

    def transcribe_batch(self, waveforms, lengths, beam_width=1):
        """Graph-friendly transcription: string tensor `(batch,)`; input that
        breaks the rules of `check_transcription_input` raises."""
        waveforms, lengths = self.check_transcription_input(waveforms, lengths)
        logits = self((waveforms, lengths), training=False)
        frame_lengths = self.features.frame_lengths(lengths)
        return self.ids_to_text(self.decode(logits, frame_lengths, beam_width))

    @staticmethod
    def pad_waveforms(waveforms, lengths=None):
        """`(waveforms, lengths)` tensors from a list of 1-D arrays, or from a
        padded `(batch, samples)` batch and its lengths (default: all samples)."""
        if lengths is None:
            if isinstance(waveforms, np.ndarray) and waveforms.ndim == 2:
                lengths = np.full(len(waveforms), waveforms.shape[1], np.int32)
            else:
                waves = [np.asarray(w, np.float32).reshape(-1) for w in waveforms]
                lengths = np.array([len(w) for w in waves], np.int32)
                waveforms = keras.utils.pad_sequences(waves, dtype="float32", padding="post")
        return tf.constant(waveforms, tf.float32), tf.constant(lengths, tf.int32)

    def transcribe(self, waveforms, lengths=None, beam_width=1, choices=None):
        """Transcripts (list of str) of waveforms: a list of 1-D arrays or a padded batch.

        Args:
            waveforms: A list of 1-D arrays, or a padded `(batch, samples)` batch.
            lengths: Valid samples per row of a padded batch (default: all).
            beam_width: Beam of the CTC search (1: greedy).
            choices: Optional list of allowed transcripts (a grammar, for
                example the ten digit words for isolated digits): each
                utterance gets the choice of highest CTC likelihood
                (`choice_scores`) instead of a free search.
        """
        waveforms, lengths = self.pad_waveforms(waveforms, lengths)
        if choices is not None:
            scores = self.choice_scores(waveforms, lengths, choices)
            return [choices[i] for i in np.argmax(scores, axis=1)]
        text = self.transcribe_batch(waveforms, lengths, beam_width)
        return [t.decode("utf-8") for t in text.numpy()]

    def choice_scores(self, waveforms, lengths, choices):
        """CTC log-likelihoods `log p(choice | utterance)` of each allowed transcript.

        The sum over every alignment of the choice's labels with the frames
        (`keras.ops.ctc_loss`, negated), so choices of any length compare on
        one scale, and the scores of several models of the same labels add up
        (a product of their likelihoods).

        Args:
            waveforms: float `(batch, samples)`.
            lengths: int `(batch,)` valid samples per row.
            choices: Non-empty list of transcripts of at least one label each.

        Returns:
            float32 NumPy array `(batch, len(choices))`.
        """
        if not choices:
            raise ValueError(f"Argument `choices` must be a non-empty list of transcripts; "
                             f"received: choices={choices!r}")  # fmt: skip
        encoded = [self.encode_transcript(choice) for choice in choices]
        empty = [c for c, e in zip(choices, encoded, strict=True) if not e]
        if empty:
            raise ValueError(f"Argument `choices` must hold transcripts of at least one label; "
                             f"received: {empty!r}")  # fmt: skip
        waveforms, lengths = self.check_transcription_input(waveforms, lengths)
        logits = tf.cast(self((waveforms, lengths), training=False), tf.float32)
        frame_lengths = self.features.frame_lengths(lengths)
        width = max(len(e) for e in encoded)
        labels = tf.constant([e + [0] * (width - len(e)) for e in encoded], tf.int32)
        label_lengths = tf.constant([len(e) for e in encoded], tf.int32)
        batch, count = tf.shape(logits)[0], len(choices)
        losses = keras.ops.ctc_loss(
            tf.tile(labels, [batch, 1]), tf.repeat(logits, count, axis=0),
            tf.tile(label_lengths, [batch]), tf.repeat(frame_lengths, count), mask_index=0,
        )  # fmt: skip
        return -np.reshape(np.asarray(losses), (-1, count))

    def evaluate_transcripts(self, dataset, beam_width=1):
        """Decodes `((waveforms, lengths), labels)` batches and scores them.

        Returns:
            Dict: `label_error_rate` (edit distance over labels / reference
            labels), `word_error_rate`, `sentence_accuracy` (exact
            transcripts), `loss` (mean CTC loss per utterance), `utterances`,
            and `references` / `hypotheses` (lists of str).
        """
        return self.evaluate_beam_widths(dataset, [beam_width])[beam_width]

    def evaluate_beam_widths(self, dataset, beam_widths):
        """`evaluate_transcripts` at several beam widths in one pass over `dataset`.

        The network runs once per batch; its logits are decoded at each width.

        Returns:
            `{beam_width: result}`, each result as `evaluate_transcripts` returns.
        """
        widths = list(dict.fromkeys(positive_int("beam_width", w) for w in beam_widths))
        ref_ids, references, total_loss = [], [], 0.0
        hyp_ids = {w: [] for w in widths}
        hypotheses = {w: [] for w in widths}
        for (waveforms, lengths), labels in dataset:
            logits = self((waveforms, lengths), training=False)
            frame_lengths = self.features.frame_lengths(lengths)
            count = int(tf.shape(labels)[0])
            loss = self.compute_loss((waveforms, lengths), labels, logits, training=False)
            total_loss += float(loss) * count
            references += [t.decode("utf-8") for t in self.ids_to_text(labels).numpy()]
            ref_ids += [[int(i) for i in row if i > 0] for row in np.asarray(labels)]
            for width in widths:
                decoded = self.decode(logits, frame_lengths, width)
                hypotheses[width] += [t.decode("utf-8")
                                      for t in self.ids_to_text(decoded).numpy()]  # fmt: skip
                hyp_ids[width] += [[int(i) for i in row if i > 0] for row in decoded.numpy()]
        return {
            width: {
                "label_error_rate": speech_metrics.error_rate(ref_ids, hyp_ids[width]),
                "word_error_rate": speech_metrics.word_error_rate(references, hypotheses[width]),
                "sentence_accuracy": speech_metrics.sentence_accuracy(references,
                                                                      hypotheses[width]),
                "loss": total_loss / max(len(references), 1),
                "utterances": len(references),
                "references": references,
                "hypotheses": hypotheses[width],
            }
            for width in widths
        }  # fmt: skip

    # Serving ----------------------------------------------------------------

    def serving_endpoints(self, beam_width=8):
        """`{name: (fn, input_signature)}` for `lstm_zoo.export.export_saved_model`.

        - `transcribe(waveforms, lengths)`: float32 `(batch, samples)` at
          `sample_rate` and int32 `(batch,)` -> `transcripts`, string
          `(batch,)`, by CTC beam search of width `beam_width` (1: greedy).
        """
        width = positive_int("beam_width", beam_width)

        def transcribe(waveforms, lengths):
            return {"transcripts": self.transcribe_batch(waveforms, lengths, width)}

        return {
            "transcribe": (
                transcribe,
                [tf.TensorSpec([None, None], tf.float32, name="waveforms"),
                 tf.TensorSpec([None], tf.int32, name="lengths")],
            )
        }  # fmt: skip

    def serving_examples(self):
        """Example inputs stored with an export for `lstm-zoo verify`."""
        rng = np.random.default_rng(0)
        rate = self.sample_rate
        waveforms = (0.1 * rng.standard_normal((2, rate))).astype(np.float32)
        return {"transcribe": [[waveforms, np.array([rate, rate // 2], np.int32)]]}

    application = "speech"

    def default_optimizer(self, learning_rate=None, clip_norm=5.0, ema_momentum=0.0):
        """Adam (learning rate 0.001) with the gradient norm clipped at 5 (0: none).

        With `ema_momentum` in (0, 1), Adam also keeps an exponential moving
        average of the weights (Keras' `use_ema`), which replaces the weights
        when `fit` ends."""
        if not 0.0 <= ema_momentum < 1.0:
            raise ValueError(f"Argument `ema_momentum` must be in [0, 1); received: "
                             f"ema_momentum={ema_momentum!r}")  # fmt: skip
        ema = dict(use_ema=True, ema_momentum=ema_momentum) if ema_momentum else {}
        return keras.optimizers.Adam(learning_rate or 0.001, global_clipnorm=clip_norm or None,
                                     **ema)  # fmt: skip

    def card_facts(self):
        return {"cell": serialize_cell(self.cell), "sample_rate": self.sample_rate,
                "labels": list(self.labels)}  # fmt: skip

    def get_config(self):
        return {
            **super().get_config(),
            "labels": list(self.labels),
            "label_type": self.label_type,
            "sample_rate": self.sample_rate,
            "num_layers": self.num_layers,
            "units": self.units,
            "cell": serialize_cell(self.cell),
            "dropout": self.dropout,
            "features": dict(self.features_config),
            "cell_kwargs": dict(self.cell_kwargs),
            "spec_augment": self.spec_augment_config,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
