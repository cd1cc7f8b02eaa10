"""Corpus BLEU against known values and, where installed, NLTK."""

import math

import numpy as np
import pytest

from lstm_zoo.applications.captioning.metrics import cider_d, corpus_bleu


def test_papineni_clipped_unigram_precision():
    # Papineni et al. 2002, section 2.1: modified unigram precision 2/7.
    refs = [["the cat is on the mat", "there is a cat on the mat"]]
    hyp = ["the the the the the the the"]
    bleu = corpus_bleu(refs, hyp)
    assert bleu[0] == pytest.approx(2 / 7)  # closest reference has 7 words: no penalty
    assert bleu[1:] == [0.0, 0.0, 0.0]  # no matching bigram


def test_hand_computed_corpus_with_brevity_penalty():
    refs = [["a b c d"], ["e f g h i j"]]
    hyps = ["a b c", "e f x"]
    # 1-grams: 5/6; 2-grams: (2 + 1) / (2 + 2) = 3/4; c = 6, r = 10.
    penalty = math.exp(1 - 10 / 6)
    bleu = corpus_bleu(refs, hyps, max_n=2)
    assert bleu[0] == pytest.approx(penalty * 5 / 6)
    assert bleu[1] == pytest.approx(penalty * math.sqrt(5 / 6 * 3 / 4))
    assert corpus_bleu([["a b c d e"]], ["a b c d e"]) == pytest.approx([1.0] * 4)
    assert corpus_bleu([["a b"]], ["c d"]) == [0.0] * 4


@pytest.mark.filterwarnings("ignore::UserWarning")  # NLTK warns on zero precisions
def test_equals_nltk_corpus_bleu():
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    rng = np.random.default_rng(0)
    words = "a b c d e f".split()
    for _ in range(20):
        count = int(rng.integers(1, 6))
        refs = [[list(rng.choice(words, rng.integers(3, 10))) for _ in range(rng.integers(1, 4))]
                for _ in range(count)]  # fmt: skip
        hyps = [list(rng.choice(words, rng.integers(4, 10))) for _ in range(count)]
        ours = corpus_bleu(refs, hyps)
        for n in range(1, 5):
            theirs = nltk_bleu.corpus_bleu(refs, hyps, weights=[1.0 / n] * n)
            assert ours[n - 1] == pytest.approx(theirs, abs=1e-9), (n, refs, hyps)


def test_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        corpus_bleu([["a"]], ["a", "b"])
    with pytest.raises(ValueError, match="max_n"):
        corpus_bleu([["a"]], ["a"], max_n=0)
    with pytest.raises(ValueError, match="at least one reference"):
        corpus_bleu([[]], ["a"])


def _dense_cider_d(references, hypotheses):
    """CIDEr-D with dense NumPy vectors over an n-gram index (coco-caption's
    algorithm, written separately from the library's dictionaries)."""
    refs = [[r.split() for r in rs] for rs in references]
    hyps = [h.split() for h in hypotheses]

    def grams(tokens, n):
        return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]

    scores = np.zeros(len(hyps))
    for n in range(1, 5):
        index = sorted({g for rs in refs for r in rs for g in grams(r, n)}
                       | {g for h in hyps for g in grams(h, n)})  # fmt: skip
        position = {g: i for i, g in enumerate(index)}

        def counts(tokens, n=n, position=position):
            v = np.zeros(len(position))
            for g in grams(tokens, n):
                v[position[g]] += 1
            return v

        df = np.zeros(len(index))
        for rs in refs:
            df += np.max([counts(r) for r in rs], axis=0) > 0
        idf = np.log(len(refs)) - np.log(np.maximum(df, 1.0))
        for i, (rs, h) in enumerate(zip(refs, hyps, strict=True)):
            hv = counts(h) * idf
            for r in rs:
                rv = counts(r) * idf
                if np.linalg.norm(hv) and np.linalg.norm(rv):
                    cosine = np.minimum(hv, rv) @ rv / (np.linalg.norm(hv) * np.linalg.norm(rv))
                    scores[i] += cosine * np.exp(-((len(h) - len(r)) ** 2) / 72.0) / len(rs)
    return float(np.mean(scores) * 10.0 / 4)


def test_cider_d_known_values_and_dense_reference():
    # Captions equal to all their references, no n-gram shared between images: 10.
    refs = [["a red dot now", "a red dot now"], ["two blue squares here"], ["one green line x"]]
    hyps = ["a red dot now", "two blue squares here", "one green line x"]
    assert cider_d(refs, hyps) == pytest.approx(10.0)
    # A three-word caption has no 4-gram: three of the four orders, 7.5.
    assert cider_d([["a red dot"], ["two blue squares here"]],
                   ["a red dot", "two blue squares here"]) == pytest.approx((7.5 + 10) / 2)
    # An n-gram every image's references hold weighs nothing: no overlap left.
    assert cider_d([["a x"], ["a y"]], ["a", "a"]) == 0.0
    rng = np.random.default_rng(1)
    words = "a b c d e f g".split()
    for _ in range(10):
        count = int(rng.integers(2, 6))
        refs = [[" ".join(rng.choice(words, rng.integers(2, 9))) for _ in range(rng.integers(1, 4))]
                for _ in range(count)]  # fmt: skip
        hyps = [" ".join(rng.choice(words, rng.integers(1, 9))) for _ in range(count)]
        assert cider_d(refs, hyps) == pytest.approx(_dense_cider_d(refs, hyps), abs=1e-9)
    with pytest.raises(ValueError, match="same length"):
        cider_d([["a"]], ["a", "b"])
