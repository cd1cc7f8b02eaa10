"""Corpus BLEU against known values and, where installed, NLTK."""

import math

import numpy as np
import pytest

from lstm_zoo.applications.caption_metrics import corpus_bleu


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
