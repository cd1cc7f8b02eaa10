"""The paper's task generators: statistics, grammar validity, determinism, errors."""

import re

import numpy as np
import pytest

from lstm_zoo.datasets import (
    long_lag,
    multiplication,
    paper_tasks,
    reber,
    temporal_order,
    two_sequence,
)

# The Reber grammar as a regular expression, written independently of the
# generator's transition table: from state 4, (X T* V P)* then S or X T* V V.
_FROM_4 = "(?:XT*VP)*(?:S|XT*VV)"
REBER = re.compile(f"^B(?:TS*X{_FROM_4}|PT*V(?:V|P{_FROM_4}))E$")
EMBEDDED = re.compile(r"^B([TP])(B.*E)\1E$")


def test_reber_strings_are_grammatical_and_legal_sets_right():
    strings = reber.embedded_reber_strings(400, seed=3)
    for string, legal in strings:
        match = EMBEDDED.match(string)
        assert match and REBER.match(match.group(2)), string
        assert reber.is_embedded_reber(string)
        assert legal[0] == {"T", "P"} and legal[1] == {"B"}
        assert legal[-3] == {string[1]}  # the long-lag prediction: the same branch
        assert legal[-2] == {"E"} and legal[-1] == set()
        for i in range(len(string) - 1):
            assert string[i + 1] in legal[i]  # the actual successor is always legal
            assert 1 <= len(legal[i]) <= 2
    branches = [s[1] for s, _ in strings]
    assert 150 < branches.count("T") < 250  # both embeddings, about equally often


@pytest.mark.parametrize("bad", ["BTBTXXETE", "BTBTSXSEPE", "BPBPVVEPEE", "BTBTXSET", "TBTSXSETE"])
def test_is_embedded_reber_rejects_ungrammatical(bad):
    assert not reber.is_embedded_reber(bad)
    assert not (EMBEDDED.match(bad) and REBER.match(EMBEDDED.match(bad).group(2)))


def test_reber_arrays_and_legal_predictions():
    x, y, lengths, legal = reber.embedded_reber(64, seed=1)
    strings = reber.embedded_reber_strings(64, seed=1)
    for n, (string, _) in enumerate(strings):
        assert lengths[n] == len(string) - 1
        decoded = "".join(reber.SYMBOLS[i] for i in x[n, : lengths[n]].argmax(-1))
        assert decoded + "E" == string
        assert np.all(x[n, lengths[n] :] == 0) and np.all(legal[n, lengths[n] :] == 0)
        targets = "".join(reber.SYMBOLS[i] for i in y[n, : lengths[n]].argmax(-1))
        assert targets == string[1:]  # step i predicts symbol i + 1
        assert np.all(legal[n, np.arange(lengths[n]), y[n, : lengths[n]].argmax(-1)] == 1)
    # Outputs equal to the legal sets are correct; swapping in one illegal
    # symbol at one step of string 0 makes exactly that string wrong.
    predictions = legal + 0.01 * np.random.default_rng(0).random(legal.shape)
    assert reber.legal_predictions(predictions, legal, lengths).all()
    broken = predictions.copy()
    step = lengths[0] - 2
    broken[0, step] = 1.0 - legal[0, step]
    correct = reber.legal_predictions(broken, legal, lengths)
    assert not correct[0] and correct[1:].all()
    steps = reber.legal_steps(broken, legal)  # the same test, step by step
    assert not steps[0, step] and steps[0, :step].all() and steps[1:, 0].all()
    padded = predictions.copy()
    padded[:, -1] = 5.0  # garbage on padding steps is ignored
    short = lengths < x.shape[1]
    assert reber.legal_predictions(padded, legal, lengths)[short].all()


def test_long_lag_2a_2b():
    x, y, lengths = long_lag.long_lag(200, "2a", p=100, seed=0)
    assert x.shape == (200, 100, 101) and np.all(lengths == 100)
    ids, next_ids = x.argmax(-1), y.argmax(-1)
    assert set(ids[:, 0]) == {99, 100}  # x = a_p, y = a_{p+1}
    np.testing.assert_array_equal(ids[:, 1:], np.broadcast_to(np.arange(99), (200, 99)))
    np.testing.assert_array_equal(next_ids[:, -1], ids[:, 0])  # the last symbol repeats the first
    np.testing.assert_array_equal(next_ids[:, :-1], ids[:, 1:])
    assert 70 < np.sum(ids[:, 0] == 99) < 130
    x, y, _ = long_lag.long_lag(200, "2b", p=100, seed=0)
    middle = x.argmax(-1)[:, 1:]
    assert middle.max() <= 98 and len(np.unique(middle)) > 90
    assert not np.all(middle == middle[0])  # random, not the fixed a_1 .. a_99
    np.testing.assert_array_equal(y.argmax(-1)[:, -1], x.argmax(-1)[:, 0])


def test_long_lag_2c_has_the_papers_random_tail():
    p, q = 20, 100
    x, y, lengths = long_lag.long_lag(4000, "2c", p=p, q=q, seed=3)
    assert lengths.min() == q + 3 and x.shape == (4000, lengths.max(), p + 4)
    assert abs(np.mean(lengths - q - 3) - 9.0) < 0.5  # geometric, P(one more) = 9/10
    ids = x.argmax(-1)
    rows = np.arange(4000)
    assert np.all(ids[rows, lengths - 1] == p + 3)  # e ends every sequence
    before_e = np.arange(x.shape[1])[None, :] < (lengths - 1)[:, None]
    assert not np.any((ids == p + 3) & before_e)  # no e before the end
    assert np.all(ids[:, 2:][before_e[:, 2:]] < p)  # distractors only
    padded = np.arange(x.shape[1])[None, :] >= lengths[:, None]
    assert np.all(x[padded] == 0)


def test_long_lag_2c():
    p, q = 50, 1000
    x, y, lengths = long_lag.long_lag(300, "2c", p=p, q=q, seed=2, extra=False)
    assert x.shape == (300, q + 3, p + 4) and y.shape == (300, 2)
    ids = x.argmax(-1)
    assert np.all(ids[:, 0] == p + 2) and np.all(ids[:, -1] == p + 3)  # b ... e
    assert set(ids[:, 1]) == {p, p + 1}  # x or y
    assert ids[:, 2:-1].max() < p  # q distractors from a_1 .. a_p
    np.testing.assert_array_equal(y.argmax(-1), ids[:, 1] - p)
    assert 110 < y[:, 0].sum() < 190
    counts = np.bincount(ids[:, 2:-1].ravel(), minlength=p)
    assert counts.min() > 0.8 * counts.mean()  # distractors uniform


def test_two_sequence_statistics():
    x, y, lengths = two_sequence.two_sequence(2000, "3a", length=100, relevant=3, seed=0)
    assert x.shape == (2000, 110, 1) and lengths.min() >= 100 and lengths.max() <= 110
    signs = np.where(y[:, 0] == 1, 1.0, -1.0)
    np.testing.assert_array_equal(x[:, :3, 0], np.repeat(signs[:, None], 3, axis=1))
    noise = np.concatenate([x[n, 3 : lengths[n], 0] for n in range(2000)])
    assert abs(noise.mean()) < 0.01 and abs(noise.var() - 0.2) < 0.01
    assert 900 < y.sum() < 1100
    assert all(np.all(x[n, lengths[n] :] == 0) for n in range(2000))
    x, y, _ = two_sequence.two_sequence(2000, "3b", length=100, relevant=3, seed=0)
    first = x[:, :3, 0] * np.where(y == 1, 1.0, -1.0)
    assert abs(first.mean() - 1.0) < 0.03 and abs(first.var() - 0.2) < 0.02
    x, noisy, _, expected = two_sequence.two_sequence(4000, "3c", length=50, relevant=3, seed=1)
    assert set(np.unique(expected)) == {np.float32(0.2), np.float32(0.8)}
    assert abs(np.var(noisy - expected) - 0.1) < 0.01


def test_multiplication_problem():
    x, y, lengths = multiplication.multiplication_problem(1000, length=100, seed=4)
    assert x.shape == (1000, 110, 2)
    for n in range(1000):
        values, markers = x[n, : lengths[n], 0], x[n, : lengths[n], 1]
        marked = np.flatnonzero(markers == 1.0)
        assert len(marked) == 2 and marked.min() < 10 and marked.max() < 49
        assert np.all((values >= 0) & (values <= 1))
        assert np.isclose(y[n, 0], values[marked].prod(), rtol=1e-6)
        if marked.min() == 0:  # the paper: "we set X1 to 1.0"
            assert values[0] == 1.0 and np.isclose(y[n, 0], values[marked.max()], rtol=1e-6)
    first_marked = x[:, 0, 1] == 1.0
    assert 80 < first_marked.sum() < 160  # 1/10 + 9/10 * 1/48 of the sequences
    assert np.all(x[~first_marked, 0, 1] == -1.0) and np.all(x[first_marked, 0, 0] == 1.0)
    # The trivial predictor 0.25: MSE (1 - f)/9 + f/3 - 0.5 E[y] + 1/16 = 0.0602 with
    # f = 1/10 + 9/10 * 1/48 first pairs marked (0.0486 = 7/144 without the rule).
    f = 0.1 + 0.9 / 48
    expected = (1 - f) / 9 + f / 3 - 0.5 * (0.25 + f / 4) + 1 / 16
    assert abs(np.mean((y - 0.25) ** 2) - expected) < 0.004


@pytest.mark.parametrize("variant, windows", [("6a", [(10, 20), (50, 60)]),
                                              ("6b", [(10, 20), (33, 43), (66, 76)])])  # fmt: skip
def test_temporal_order(variant, windows):
    x, y, lengths = temporal_order.temporal_order(1600, variant, seed=5)
    assert lengths.min() >= 100 and lengths.max() <= 110
    ids = x.argmax(-1)
    symbols = temporal_order.SYMBOLS
    for n in range(1600):
        sequence = "".join(symbols[i] for i in ids[n, : lengths[n]])
        assert sequence[0] == "E" and sequence[-1] == "B"
        relevant = [i for i, s in enumerate(sequence) if s in "XY"]
        assert len(relevant) == len(windows)
        assert all(lo <= i <= hi for i, (lo, hi) in zip(relevant, windows, strict=True))
        assert set(sequence[1:-1]) - set("XY") <= set("abcd")
        order = "".join(sequence[i] for i in relevant)
        assert y[n].argmax() == int(order.replace("X", "0").replace("Y", "1"), 2)
        assert np.all(x[n, lengths[n] :] == 0)
    counts = y.sum(axis=0)
    assert counts.min() > 0.7 * counts.mean()  # classes balanced


@pytest.mark.parametrize("experiment", list(paper_tasks.TASKS))
def test_generate_is_deterministic_by_seed(experiment):
    params = {"T": 30} if "T" in paper_tasks.TASKS[experiment].params else {}
    a = paper_tasks.generate(experiment, 16, seed=(3, 1), **params)
    b = paper_tasks.generate(experiment, 16, seed=(3, 1), **params)
    c = paper_tasks.generate(experiment, 16, seed=(3, 2), **params)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert a[0].shape[0] == 16
    assert not all(np.array_equal(u, v) for u, v in zip(a[:2], c[:2], strict=True))
    if paper_tasks.TASKS[experiment].per_step:
        assert a[2].shape == a[0].shape[:2]
    else:
        assert a[2] is None and a[1].ndim == 2


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: long_lag.long_lag(4, "2a", p=1), "p=1"),
        (lambda: long_lag.long_lag(4, "2c", p=10, q=-1), "q=-1"),
        (lambda: long_lag.long_lag(4, "2a", p=10, q=5), "q=5"),
        (lambda: long_lag.long_lag(4, "2d"), "variant='2d'"),
        (lambda: two_sequence.two_sequence(4, "3a", length=3, relevant=3), "length=3"),
        (lambda: two_sequence.two_sequence(4, "3a", relevant=0), "relevant=0"),
        (lambda: multiplication.multiplication_problem(4, length=21), "length=21"),
        (lambda: temporal_order.temporal_order(4, "6b", length=70), "length=70"),
        (lambda: reber.embedded_reber(0), "num_strings=0"),
        (lambda: paper_tasks.generate("4", 4, T=10), "length=10"),
        (lambda: paper_tasks.generate("4", 4, p=10), "p=10"),
        (lambda: paper_tasks.generate("7", 4), "experiment='7'"),
        (lambda: paper_tasks.dataset("4", batch_size=None), "batch_size"),
    ],
)
def test_invalid_parameters_raise_value_error(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_tf_datasets():
    x, y, w = paper_tasks.generate("2a", 10, seed=1, p=12)
    batches = list(paper_tasks.dataset("2a", 10, seed=1, batch_size=4, p=12))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    stream = paper_tasks.dataset("1", seed=2, batch_size=3).take(5)
    for inputs, _, weights in stream:
        assert inputs.shape[0] == 3 and inputs.shape[-1] == 7 and weights.shape == inputs.shape[:2]
    first, second = [next(iter(paper_tasks.dataset("6a", seed=s, batch_size=8))) for s in (1, 1)]
    np.testing.assert_array_equal(first[0], second[0])


def test_stream_buckets_cut_padding_but_keep_every_real_step():
    batches = paper_tasks.stream("2c", 1, seed=5, chunk=64, bucket=16, p=10, q=20)
    data = paper_tasks.generate("2c", 64, (5, 0), p=10, q=20)
    shapes = set()
    for n in range(64):
        x, y = next(batches)
        shapes.add(x.shape[1])
        length = np.max(np.nonzero(data[0][n].any(-1))[0]) + 1
        assert x.shape[1] % 16 == 0 or x.shape[1] == data[0].shape[1]
        assert length <= x.shape[1] < length + 16
        np.testing.assert_array_equal(x[0, :length], data[0][n, :length])
        np.testing.assert_array_equal(y[0], data[1][n])
    assert len(shapes) > 1
