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

import numbers

import numpy as np

VARIANTS = ("paper", "modern")

#: Paper criterion: a sequence is correct if its absolute error is below this.
CORRECT_ABS_ERROR = 0.04


def _check(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"Argument `{name}` must be an integer; received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"Argument `{name}` must be >= {minimum}; received: {name}={value!r}")
    return int(value)


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
    num_sequences = _check("num_sequences", num_sequences, 1)
    if variant not in VARIANTS:
        raise ValueError(
            f"Argument `variant` must be one of {VARIANTS}; received: variant={variant!r}"
        )
    rng = np.random.default_rng(seed)
    if variant == "modern":
        length = _check("length", length, 2)
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

    length = _check("length", length, 22)
    max_length = length + length // 10
    inputs = np.zeros((num_sequences, max_length, 2), dtype="float32")
    targets = np.zeros((num_sequences, 1), dtype="float32")
    lengths = rng.integers(length, max_length + 1, size=num_sequences).astype("int32")
    for n in range(num_sequences):
        steps = lengths[n]
        values = rng.uniform(-1.0, 1.0, size=steps)
        markers = np.zeros(steps)
        markers[0] = markers[-1] = -1.0
        first = rng.integers(0, 10)
        candidates = [i for i in range(length // 2 - 1) if i != first]
        second = candidates[rng.integers(0, len(candidates))]
        markers[first] = markers[second] = 1.0
        if first == 0:
            values[0] = 0.0
        if second == 0:
            values[0] = 0.0
        targets[n, 0] = 0.5 + (values[first] + values[second]) / 4.0
        inputs[n, :steps, 0] = values
        inputs[n, :steps, 1] = markers
    return inputs, targets, lengths
