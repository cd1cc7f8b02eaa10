"""The multiplication problem: experiment 5 of Hochreiter & Schmidhuber (1997).

As the paper variant of the adding problem (`lstm_zoo.datasets.adding`), with
values uniform in [0, 1] and target X1 * X2. If the first pair of a sequence
is marked, its value is set to 1.0, as the paper says ("In the rare case where
the first pair of the input sequence gets marked, we set X1 to 1.0"; the
adding problem sets it to 0, which here would make the product 0). A
sequence is correct if its absolute error is < 0.04. With T = 100 a fraction
f = 1/10 + 9/10 * 1/48 = 0.119 of the sequences has its first pair marked, so
the targets' mean is 1/4 + f/4 = 0.280, and the trivial predictor 0.25 has an
MSE of E[y^2] - E[y]/2 + 1/16 = (1 - f)/9 + f/3 - 0.140 + 0.0625 = 0.0602
(the design's baseline, 7/144 = 0.0486, leaves out the paper's rule for a
marked first pair).
"""

import numpy as np

from lstm_zoo.checks import int_at_least
from lstm_zoo.datasets.adding import marked_pairs

#: The value of a marked first pair (the paper's section 5.5).
FIRST_MARKED = 1.0


def multiplication_problem(num_sequences, length=100, seed=0):
    """Generates multiplication-problem sequences, deterministically from `seed`.

    Args:
        num_sequences: Number of sequences (>= 1).
        length: Minimal sequence length T (>= 22); lengths are uniform in
            [T, T + T/10].
        seed: Seed of the NumPy generator (an int or a sequence of ints).

    Returns:
        A tuple `(inputs, targets, lengths)`: float32 `(N, T + T // 10, 2)`
        post-padded with zeros, float32 `(N, 1)`, int32 `(N,)`.

    Example:

    >>> x, y, lengths = multiplication_problem(4, length=100, seed=0)
    >>> x.shape, y.shape
    ((4, 110, 2), (4, 1))
    """
    num_sequences = int_at_least("num_sequences", num_sequences, 1)
    rng = np.random.default_rng(seed)
    inputs, first, second, lengths = marked_pairs(
        rng, num_sequences, length, 0.0, 1.0, FIRST_MARKED
    )
    return inputs, (first * second)[:, None].astype("float32"), lengths
