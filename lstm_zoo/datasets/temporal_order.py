"""Temporal order: experiments 6a and 6b of Hochreiter & Schmidhuber (1997).

Symbols are one-hot over `a b c d B E X Y`. A sequence starts with E, ends with
the trigger B, and is otherwise made of symbols drawn at random from {a, b, c,
d}, except at two (6a) or three (6b) positions that hold X or Y. The class,
given at the sequence end, is the temporal order of those symbols: 6a has 4
classes (XX, XY, YX, YY), 6b has 8 (XXX ... YYY), one-hot.

6a: length uniform in [100, 110], t1 in [10, 20], t2 in [50, 60].
6b: length uniform in [100, 110], t1 in [10, 20], t2 in [33, 43], t3 in [66, 76].

Positions are 0-based step indices; E is step 0.
"""

import numpy as np

from lstm_zoo.checks import int_at_least, one_of

SYMBOLS = "abcdBEXY"
VARIANTS = ("6a", "6b")
POSITIONS = {"6a": ((10, 20), (50, 60)), "6b": ((10, 20), (33, 43), (66, 76))}


def temporal_order(num_sequences, variant="6a", length=100, seed=0):
    """Generates temporal-order sequences, deterministically from `seed`.

    Args:
        num_sequences: Number of sequences (>= 1).
        variant: `"6a"` (2 relevant symbols, 4 classes) or `"6b"` (3, 8 classes).
        length: Minimal length; lengths are uniform in [length, length + 10].
            The paper's 100 is the default; it must leave the trigger after the
            last relevant position (6a: >= 62, 6b: >= 78).
        seed: Seed of the NumPy generator (an int or a sequence of ints).

    Returns:
        A tuple `(inputs, targets, lengths)`: float32 one-hot inputs
        `(N, length + 10, 8)` post-padded with zeros, float32 one-hot classes
        `(N, 4)` or `(N, 8)`, int32 lengths `(N,)`.

    Example:

    >>> x, y, lengths = temporal_order(4, "6b", seed=0)
    >>> x.shape, y.shape
    ((4, 110, 8), (4, 8))
    """
    num_sequences = int_at_least("num_sequences", num_sequences, 1)
    variant = one_of("variant", variant, VARIANTS)
    windows = POSITIONS[variant]
    length = int_at_least(
        "length", length, windows[-1][1] + 2, "the trigger B must follow the last relevant symbol"
    )
    rng = np.random.default_rng(seed)
    max_length = length + 10
    lengths = rng.integers(length, max_length + 1, size=num_sequences).astype("int32")
    ids = rng.integers(0, 4, size=(num_sequences, max_length))
    ids[:, 0] = SYMBOLS.index("E")
    ids[np.arange(num_sequences), lengths - 1] = SYMBOLS.index("B")
    classes = np.zeros(num_sequences, "int64")
    for low, high in windows:
        positions = rng.integers(low, high + 1, size=num_sequences)
        is_y = rng.integers(0, 2, size=num_sequences)
        ids[np.arange(num_sequences), positions] = SYMBOLS.index("X") + is_y
        classes = 2 * classes + is_y
    inputs = np.zeros((num_sequences, max_length, 8), "float32")
    rows = np.arange(num_sequences)[:, None]
    inputs[rows, np.arange(max_length)[None, :], ids] = 1.0
    inputs[np.arange(max_length)[None, :] >= lengths[:, None]] = 0.0
    targets = np.zeros((num_sequences, 2 ** len(windows)), "float32")
    targets[np.arange(num_sequences), classes] = 1.0
    return inputs, targets, lengths
