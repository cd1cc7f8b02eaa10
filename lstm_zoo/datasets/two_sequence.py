"""The two-sequence problem: experiments 3a, 3b and 3c of Hochreiter &
Schmidhuber (1997), after Bengio et al. (1994).

A sequence of real numbers has a random length in [T, T + T/10] and belongs to
class 1 (probability 1/2) or class 0. Its first N values are 1.0 (class 1) or
-1.0 (class 0); all later values are Gaussian noise with mean 0 and variance
0.2. The target, given at the sequence end, is 1.0 or 0.0.

3b adds Gaussian noise (mean 0, variance 0.2) to the first N values as well.
3c is 3b with targets 0.8 and 0.2, to which Gaussian noise with variance 0.1
is added: the net has to learn the conditional expectation, which is returned
as well so that errors can be measured against it.

Sequences are post-padded with zeros; a real value is exactly zero with
probability zero, so `keras.layers.Masking(0.0)` masks exactly the padding.
"""

import numpy as np

from lstm_zoo.checks import int_at_least, one_of

VARIANTS = ("3a", "3b", "3c")
NOISE_VARIANCE = 0.2


def two_sequence(num_sequences, variant="3a", length=100, relevant=3, seed=0):
    """Generates two-sequence-problem sequences, deterministically from `seed`.

    Args:
        num_sequences: Number of sequences (>= 1).
        variant: `"3a"`, `"3b"` or `"3c"`.
        length: Minimal sequence length T (>= `relevant` + 1).
        relevant: N, the number of class-carrying values at the start (>= 1).
        seed: Seed of the NumPy generator (an int or a sequence of ints).

    Returns:
        3a/3b: `(inputs, targets, lengths)`: float32 `(N, T + T // 10, 1)`,
        float32 `(N, 1)`, int32 `(N,)`. 3c: `(inputs, targets, lengths,
        expected)` where `targets` are the noisy training targets and
        `expected` the noise-free 0.8 / 0.2.

    Example:

    >>> x, y, lengths = two_sequence(4, "3a", length=100, relevant=3, seed=0)
    >>> x.shape, y.shape
    ((4, 110, 1), (4, 1))
    """
    num_sequences = int_at_least("num_sequences", num_sequences, 1)
    variant = one_of("variant", variant, VARIANTS)
    relevant = int_at_least("relevant", relevant, 1)
    length = int_at_least(
        "length", length, relevant + 1, "a noise value must follow the N relevant ones"
    )
    rng = np.random.default_rng(seed)
    max_length = length + length // 10
    lengths = rng.integers(length, max_length + 1, size=num_sequences).astype("int32")
    classes = rng.integers(0, 2, size=num_sequences)
    values = rng.normal(0.0, np.sqrt(NOISE_VARIANCE), size=(num_sequences, max_length))
    signs = np.where(classes == 1, 1.0, -1.0)[:, None]
    if variant == "3a":
        values[:, :relevant] = signs
    else:
        values[:, :relevant] += signs
    values[np.arange(max_length)[None, :] >= lengths[:, None]] = 0.0
    inputs = values[..., None].astype("float32")
    if variant != "3c":
        return inputs, classes[:, None].astype("float32"), lengths
    expected = np.where(classes == 1, 0.8, 0.2)[:, None]
    noisy = expected + rng.normal(0.0, np.sqrt(0.1), size=expected.shape)
    return inputs, noisy.astype("float32"), lengths, expected.astype("float32")
