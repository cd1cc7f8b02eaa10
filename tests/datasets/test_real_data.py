"""The real data of `../shared/data` (never copied into the repository); skipped when absent."""

import os

import pytest

pytestmark = pytest.mark.tf_only

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
FSDD = os.path.join(SHARED, "fsdd")
SHAKESPEARE = os.path.join(SHARED, "tinyshakespeare", "input.txt")


@pytest.mark.skipif(not os.path.isdir(FSDD), reason="../shared/data/fsdd is absent")
def test_fsdd_loads_four_speakers_of_500_digits_at_8_khz():
    from lstm_zoo.applications.speech import data as speech

    utterances = speech.load_fsdd(FSDD)
    speakers = sorted({u.speaker for u in utterances})
    assert speakers == ["george", "jackson", "lucas", "yweweler"]
    assert all(sum(u.speaker == s for u in utterances) == 500 for s in speakers)
    assert {u.transcript for u in utterances} == set(speech.DIGIT_WORDS)
    assert all(u.sample_rate == 8000 and 0.1 < len(u.audio) / 8000 < 2.5 for u in utterances)
    train, test = speech.split_by_speaker(utterances, ["lucas"])
    assert len(train) == 1500 and len(test) == 500


@pytest.mark.skipif(not os.path.isfile(SHAKESPEARE), reason="../shared/data is absent")
def test_tinyshakespeare_split_matches_nanogpt():
    from lstm_zoo.applications.language_model import data as text

    corpus = text.load_corpus(SHAKESPEARE, split=[0.9, 0.1, 0.0])
    assert len(corpus["train"]) == 1_003_854 and len(corpus["valid"]) == 111_540
    assert len(set(corpus["train"] + corpus["valid"])) == 65
