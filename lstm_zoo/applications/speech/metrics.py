"""Error rates of transcriptions: edit distance over labels, words or characters.

`tf.edit_distance` (Levenshtein: substitutions, insertions and deletions
each cost 1) over sparse sequences does the counting; a rate is the summed
distance over the summed reference length, as speech papers report it.
"""

import keras
import numpy as np
import tensorflow as tf


def _sparse(sequences, dtype):
    ragged = tf.ragged.constant([list(s) for s in sequences], dtype=dtype, ragged_rank=1)
    return ragged.to_sparse()


def edit_distances(references, hypotheses):
    """Levenshtein distance of each pair of sequences (lists of ids or strings).

    Returns:
        int64 NumPy array `(len(references),)`.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"Arguments `references` ({len(references)}) and `hypotheses` "
                         f"({len(hypotheses)}) must have the same length")  # fmt: skip
    if not references:
        return np.zeros((0,), np.int64)
    items = [x for s in list(references) + list(hypotheses) for x in s]
    dtype = tf.string if any(isinstance(x, (str, bytes)) for x in items) else tf.int64
    if dtype == tf.string:
        references = [[str(x) for x in s] for s in references]
        hypotheses = [[str(x) for x in s] for s in hypotheses]
    distance = tf.edit_distance(_sparse(hypotheses, dtype), _sparse(references, dtype),
                                normalize=False)  # fmt: skip
    return np.rint(distance.numpy()).astype(np.int64)


def error_rate(references, hypotheses):
    """Summed edit distance / summed reference length (label error rate)."""
    total = sum(len(r) for r in references)
    if total == 0:
        raise ValueError("Argument `references` holds no labels; the error rate is undefined")
    return float(edit_distances(references, hypotheses).sum()) / total


def word_error_rate(references, hypotheses):
    """Word error rate of transcript strings (split on whitespace)."""
    return error_rate([r.split() for r in references], [h.split() for h in hypotheses])


def character_error_rate(references, hypotheses):
    """Character error rate of transcript strings (spaces count as characters)."""
    return error_rate([list(" ".join(r.split())) for r in references],
                      [list(" ".join(h.split())) for h in hypotheses])  # fmt: skip


def sentence_accuracy(references, hypotheses):
    """Fraction of transcripts decoded exactly (whitespace normalised)."""
    if not references:
        raise ValueError("Argument `references` is empty")
    pairs = zip(references, hypotheses, strict=True)
    same = [" ".join(r.split()) == " ".join(h.split()) for r, h in pairs]
    return float(np.mean(same))


class TranscriptionEvaluation(keras.callbacks.Callback):
    """Adds `{prefix}loss`, `{prefix}label_error_rate`, `{prefix}word_error_rate`
    and `{prefix}sentence_accuracy` to the epoch logs (so CSVLogger, TensorBoard
    and ReduceLROnPlateau see them), decoding `dataset` with
    `model.evaluate_transcripts`. It replaces `fit(validation_data=...)`, which
    would run the network over the same data a second time.

    Args:
        model: A model with `evaluate_transcripts(dataset, beam_width)`
            (`SpeechRecognizer`).
        dataset: `((waveforms, lengths), labels)` batches.
        beam_width: 1 (greedy, default) or a beam width.
        prefix: Prefix of the log keys.
    """

    def __init__(self, model, dataset, beam_width=1, prefix="val_"):
        super().__init__()
        self.recognizer = model
        self.dataset = dataset
        self.beam_width = beam_width
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        result = self.recognizer.evaluate_transcripts(self.dataset, self.beam_width)
        keys = ("loss", "label_error_rate", "word_error_rate", "sentence_accuracy")
        values = {f"{self.prefix}{k}": result[k] for k in keys}
        if logs is not None:
            logs.update(values)
        print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()), flush=True)
