"""Caption metrics: corpus BLEU-1..4 (Papineni et al. 2002) and CIDEr-D
(Vedantam et al. 2015).

As the captioning papers report it (the coco-caption toolkit): n-gram
counts are clipped by the most any one reference holds and summed over the
whole corpus before dividing; BLEU-n is the geometric mean of the 1..n-gram
precisions with uniform weights times the brevity penalty `exp(1 - r / c)`
when the total hypothesis length `c` is below `r`, the sum over sentences of
the reference length closest to the hypothesis' (the shorter on a tie).
A precision of zero makes that BLEU-n zero. Hand-written (about 30 lines) so
that evaluation needs no extra dependency; the tests check it against known
values and, where installed, NLTK's `corpus_bleu`.

CIDEr-D as the coco-caption toolkit computes it: for n = 1..4, each caption
is a vector of n-gram counts weighted by `log(images / document frequency)`
(document frequency: the number of images whose references hold the n-gram);
a hypothesis scores the mean over its references of the cosine similarity,
with the hypothesis' weights clipped to the reference's, times the length
penalty `exp(-(len(hyp) - len(ref))**2 / 72)`; the n orders are averaged and
scaled by 10. The corpus score is the mean over images.
"""

import collections
import math

import keras


def _tokens(text):
    return text.split() if isinstance(text, str) else list(text)


def _ngrams(tokens, n):
    return collections.Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(references, hypotheses, max_n=4):
    """BLEU-1..`max_n` of a corpus.

    Args:
        references: For each hypothesis, a list of reference captions (strings
            split on whitespace, or token lists).
        hypotheses: Hypothesis captions (strings or token lists).
        max_n: Highest n-gram order.

    Returns:
        A list `[BLEU-1, ..., BLEU-max_n]` of floats in [0, 1].
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"Arguments `references` ({len(references)}) and `hypotheses` "
                         f"({len(hypotheses)}) must have the same length")  # fmt: skip
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"Argument `max_n` must be a positive integer; received: max_n={max_n!r}")
    matches, totals = [0] * max_n, [0] * max_n
    hyp_length = ref_length = 0
    for refs, hyp in zip(references, hypotheses, strict=True):
        hyp = _tokens(hyp)
        refs = [_tokens(r) for r in refs]
        if not refs:
            raise ValueError("Every hypothesis needs at least one reference")
        hyp_length += len(hyp)
        ref_length += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(hyp, n)
            most = collections.Counter()
            for ref in refs:
                most |= _ngrams(ref, n)
            matches[n - 1] += sum(min(c, most[g]) for g, c in counts.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    if hyp_length == 0:
        return [0.0] * max_n
    penalty = 1.0 if hyp_length > ref_length else math.exp(1.0 - ref_length / hyp_length)
    scores, log_sum = [], 0.0
    for n in range(max_n):
        if matches[n] == 0 or log_sum == -math.inf:
            log_sum = -math.inf
            scores.append(0.0)
            continue
        log_sum += math.log(matches[n] / totals[n])
        scores.append(penalty * math.exp(log_sum / (n + 1)))
    return scores


def _weighted(tokens, document_frequency, log_images):
    """Per order n: ({n-gram: tf-idf weight}, vector norm)."""
    vectors = []
    for n in range(1, 5):
        vector = {g: c * (log_images - math.log(max(1.0, document_frequency[g])))
                  for g, c in _ngrams(tokens, n).items()}  # fmt: skip
        vectors.append((vector, math.sqrt(sum(v * v for v in vector.values()))))
    return vectors


def cider_d(references, hypotheses, sigma=6.0):
    """Corpus CIDEr-D (see the module docstring): a float, 10 for captions
    equal to all their references when no n-gram is shared across images.

    Args:
        references: For each hypothesis, a list of reference captions (strings
            split on whitespace, or token lists).
        hypotheses: Hypothesis captions (strings or token lists).
        sigma: Width of the length penalty.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"Arguments `references` ({len(references)}) and `hypotheses` "
                         f"({len(hypotheses)}) must have the same length")  # fmt: skip
    if not hypotheses:
        raise ValueError("Argument `hypotheses` is empty")
    refs = [[_tokens(r) for r in rs] for rs in references]
    if any(not rs for rs in refs):
        raise ValueError("Every hypothesis needs at least one reference")
    document_frequency = collections.Counter()
    for rs in refs:
        document_frequency.update({g for r in rs for n in range(1, 5) for g in _ngrams(r, n)})
    log_images = math.log(float(len(refs)))
    total = 0.0
    for rs, hyp in zip(refs, hypotheses, strict=True):
        hyp = _tokens(hyp)
        hyp_vectors = _weighted(hyp, document_frequency, log_images)
        score = 0.0
        for ref in rs:
            penalty = math.exp(-((len(hyp) - len(ref)) ** 2) / (2.0 * sigma**2))
            ref_vectors = _weighted(ref, document_frequency, log_images)
            for (h, h_norm), (r, r_norm) in zip(hyp_vectors, ref_vectors, strict=True):
                if h_norm and r_norm:
                    dot = sum(min(w, r[g]) * r[g] for g, w in h.items() if g in r)
                    score += penalty * dot / (h_norm * r_norm)
        total += 10.0 * score / (4 * len(rs))
    return total / len(refs)


class CaptionEvaluation(keras.callbacks.Callback):
    """Adds `{prefix}bleu_1`..`{prefix}bleu_4` and `{prefix}cider_d` (of captions
    generated by `model.evaluate_captions`) to the epoch logs, so CSVLogger and
    TensorBoard see them. Put it before the loggers.

    Args:
        model: A model with `evaluate_captions(images, references, beam_width)`
            (`ImageCaptioner`).
        images: Images to caption.
        references: For each image, its reference captions.
        beam_width: 1 (greedy, default) or a beam width.
        prefix: Prefix of the log keys.
    """

    def __init__(self, model, images, references, beam_width=1, prefix="val_"):
        super().__init__()
        self.captioner = model
        self.images = images
        self.references = references
        self.beam_width = beam_width
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        result = self.captioner.evaluate_captions(self.images, self.references, self.beam_width)
        keys = ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "cider_d")
        values = {f"{self.prefix}{k}": result[k] for k in keys}
        if logs is not None:
            logs.update(values)
        print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()), flush=True)
