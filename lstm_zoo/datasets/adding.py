"""The adding problem: experiment 4 of Hochreiter & Schmidhuber (1997).

Paper variant (`variant="paper"`). Each step is a pair (value, marker); values
are uniform in [-1, 1]. Sequences have random lengths in [T, T + T/10]. Exactly
two pairs carry marker 1.0: the first is chosen among the first ten pairs (X1),
the second among the first T/2 - 1 pairs still unmarked (X2). The first and
last pairs carry marker -1.0 unless marked, all others 0.0. If the first pair
is marked, X1 is set to zero. The target, given at the sequence end, is
0.5 + (X1 + X2) / 4. A sequence is correct if its absolute error is < 0.04.

Modern variant (`variant="modern"`, the one later papers report: IRNN, uRNN,
TCN). Fixed length T, values uniform in [0, 1], markers 0/1, one marked pair
in each half, target X1 + X2 (predicting the mean 1.0 gives MSE 1/6).

Sequences are post-padded with zeros to the longest length of the set; a zero
step cannot occur in real data (the marker of a real step with value exactly 0
is never 0 except with probability zero), so `keras.layers.Masking(0.0)` masks
exactly the padding.
"""

import numpy as np

from lstm_zoo.checks import int_at_least, one_of

VARIANTS = ("paper", "modern")

#: Paper criterion: a sequence is correct if its absolute error is below this.
CORRECT_ABS_ERROR = 0.04


def adding_problem(num_sequences, length=100, seed=0, variant="paper"):
    """Generates adding-problem sequences, deterministically from `seed`.

    Args:
        num_sequences: Number of sequences (>= 1).
        length: Minimal sequence length T. The paper variant needs T >= 22 so
            that the second marker has an unmarked pair to go to among the
            first T/2 - 1; the modern variant needs T >= 2.
        seed: Seed of the NumPy generator; equal seeds give equal data.
        variant: `"paper"` or `"modern"` (see the module docstring).

    Returns:
        A tuple `(inputs, targets, lengths)`: float32 `(N, max_length, 2)`
        post-padded with zeros, float32 `(N, 1)`, int32 `(N,)`.
    """
    num_sequences = int_at_least("num_sequences", num_sequences, 1)
    variant = one_of("variant", variant, VARIANTS)
    rng = np.random.default_rng(seed)
    if variant == "modern":
        length = int_at_least("length", length, 2)
        values = rng.uniform(0.0, 1.0, size=(num_sequences, length))
        markers = np.zeros_like(values)
        half = length // 2
        rows = np.arange(num_sequences)
        first = rng.integers(0, half, size=num_sequences)
        second = rng.integers(half, length, size=num_sequences)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        targets = values[rows, first] + values[rows, second]
        inputs = np.stack([values, markers], axis=-1).astype("float32")
        lengths = np.full(num_sequences, length, dtype="int32")
        return inputs, targets[:, None].astype("float32"), lengths

    inputs, first, second, lengths = marked_pairs(rng, num_sequences, length, -1.0, 1.0, 0.0)
    targets = 0.5 + (first + second) / 4.0
    return inputs, targets[:, None].astype("float32"), lengths


def marked_pairs(rng, num_sequences, length, low, high, neutral):
    """The paper's marked-pair sequences of experiments 4 and 5.

    Each step is a pair (value, marker); values are uniform in [low, high].
    Lengths are uniform in [T, T + T/10]. Exactly two pairs carry marker 1.0:
    the first among the first ten pairs, the second among the first T/2 - 1
    pairs still unmarked. The first and last pairs carry marker -1.0 unless
    marked, all others 0.0. If the first pair is marked and `neutral` is not
    None, its value is set to `neutral` (the adding problem's 0).

    Args:
        rng: A NumPy `Generator`.
        num_sequences: Number of sequences.
        length: Minimal length T (>= 22, so that the second marker has an
            unmarked pair to go to among the first T/2 - 1).
        low: Smallest value.
        high: Largest value.
        neutral: Value of a marked first pair, or None to keep the drawn one.

    Returns:
        `(inputs, x1, x2, lengths)`: float32 `(N, T + T // 10, 2)` post-padded
        with zeros, the two marked values `(N,)` each, int32 lengths `(N,)`.
    """
    length = int_at_least(
        "length", length, 22, "the second marker goes among the first T/2 - 1 pairs"
    )
    max_length = length + length // 10
    inputs = np.zeros((num_sequences, max_length, 2), dtype="float32")
    x1 = np.zeros(num_sequences)
    x2 = np.zeros(num_sequences)
    lengths = rng.integers(length, max_length + 1, size=num_sequences).astype("int32")
    for n in range(num_sequences):
        steps = lengths[n]
        values = rng.uniform(low, high, size=steps)
        markers = np.zeros(steps)
        markers[0] = markers[-1] = -1.0
        first = rng.integers(0, 10)
        candidates = [i for i in range(length // 2 - 1) if i != first]
        second = candidates[rng.integers(0, len(candidates))]
        markers[first] = markers[second] = 1.0
        if 0 in (first, second) and neutral is not None:
            values[0] = neutral
        x1[n], x2[n] = values[first], values[second]
        inputs[n, :steps, 0] = values
        inputs[n, :steps, 1] = markers
    return inputs, x1, x2, lengths
