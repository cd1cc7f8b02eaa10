"""Long time lags: experiments 2a, 2b and 2c of Hochreiter & Schmidhuber (1997).

2a, noise-free sequences with long lags. With p + 1 one-hot symbols
a_1 .. a_{p-1}, a_p = x, a_{p+1} = y there are two sequences, (y, a_1, ...,
a_{p-1}, y) and (x, a_1, ..., a_{p-1}, x), each with probability 1/2. The task
is next-symbol prediction; only the last symbol is hard, as it needs the first
one kept for p steps.

2b, no local regularities: as 2a, but the p - 1 middle symbols are drawn at
random from a_1 .. a_{p-1} (so the middle cannot be predicted, and only the
last symbol counts).

2c, very long lags with distractors. With p + 4 one-hot symbols a_1 .. a_p, x,
y, b, e: the sequence is b, then x or y, then q distractors drawn at random
from a_1 .. a_p, then, as in the paper, k more distractors (each further one
with probability 9/10, so k is geometric with mean 9), then the trigger e; the
target after e is the second symbol (2 output units, x and y). The minimal
time lag is q + 1; sequences are post-padded with zeros to the longest.

Success in the paper: 2c has learned when the absolute error of the final
prediction stays below 0.2 on 10,000 successive sequences (the design's
reading; 2a and 2b use the same rule, see `lstm_zoo.datasets.criteria`).
"""

import numpy as np

from lstm_zoo.checks import int_at_least, one_of

VARIANTS = ("2a", "2b", "2c")


def long_lag(num_sequences, variant="2a", p=100, q=None, seed=0, extra=True):
    """Generates the long time lag sequences of experiments 2a, 2b or 2c.

    Args:
        num_sequences: Number of sequences (>= 1).
        variant: `"2a"`, `"2b"` or `"2c"`.
        p: 2a/2b: the sequence length minus one (>= 2), so the lag is p.
            2c: the number of distractor symbols (>= 1).
        q: 2c only: the number of distractors in each sequence (>= 0; default
            `p`). The paper went up to q = 1000.
        seed: Seed of the NumPy generator (an int or a sequence of ints).
        extra: 2c only: add the paper's random number of further distractors
            (default `True`); `False` gives every sequence length q + 3.

    Returns:
        2a/2b: `(inputs, targets, lengths)`, float32 one-hot `(N, p, p + 1)`
        inputs (the first p symbols) and targets (the next symbol at each
        step), int32 lengths (all p). 2c: float32 one-hot inputs
        `(N, max(lengths), p + 4)` post-padded with zeros, targets `(N, 2)`
        (x, y), int32 lengths (q + 3 + k).

    Example:

    >>> x, y, lengths = long_lag(8, "2c", p=50, q=1000, seed=0, extra=False)
    >>> x.shape, y.shape
    ((8, 1003, 54), (8, 2))
    """
    num_sequences = int_at_least("num_sequences", num_sequences, 1)
    variant = one_of("variant", variant, VARIANTS)
    rng = np.random.default_rng(seed)
    rows = np.arange(num_sequences)[:, None]
    if variant == "2c":
        p = int_at_least("p", p, 1, "2c draws distractors from p symbols")
        q = p if q is None else int_at_least("q", q, 0, "the number of distractors")
        x_id, y_id, b_id, e_id = p, p + 1, p + 2, p + 3
        first = np.where(rng.integers(0, 2, size=num_sequences) == 0, x_id, y_id)
        # k further distractors: each with probability 9/10 (geometric, mean 9).
        extras = rng.geometric(0.1, size=num_sequences) - 1 if extra else np.zeros(num_sequences)
        lengths = (q + 3 + extras).astype("int32")
        steps = int(lengths.max())
        ids = rng.integers(0, p, size=(num_sequences, steps))
        ids[:, 0], ids[:, 1] = b_id, first
        ids[np.arange(num_sequences), lengths - 1] = e_id
        valid = np.arange(steps)[None, :] < lengths[:, None]
        inputs = np.zeros((num_sequences, steps, p + 4), "float32")
        inputs[rows, np.arange(steps)[None, :], ids] = valid
        targets = np.zeros((num_sequences, 2), "float32")
        targets[np.arange(num_sequences), first - x_id] = 1.0
        return inputs, targets, lengths
    if q is not None:
        raise ValueError(f"Argument `q` is for variant '2c' only; received: q={q!r}")
    p = int_at_least("p", p, 2, "the sequence is the lag p plus one symbols")
    x_id, y_id = p - 1, p  # a_p and a_{p+1}, 0-based
    first = np.where(rng.integers(0, 2, size=num_sequences) == 0, x_id, y_id)
    if variant == "2a":
        middle = np.broadcast_to(np.arange(p - 1), (num_sequences, p - 1))
    else:
        middle = rng.integers(0, p - 1, size=(num_sequences, p - 1))
    ids = np.concatenate([first[:, None], middle, first[:, None]], axis=1)
    one_hot = np.zeros((num_sequences, p + 1, p + 1), "float32")
    one_hot[rows, np.arange(p + 1)[None, :], ids] = 1.0
    return one_hot[:, :-1], one_hot[:, 1:], np.full(num_sequences, p, "int32")
