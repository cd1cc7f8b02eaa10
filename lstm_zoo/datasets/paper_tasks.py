"""The paper's benchmark tasks by experiment id, as NumPy arrays or `tf.data`.

    experiment  generator                        parameters (defaults)
    "1"         reber.embedded_reber             -
    "2a", "2b"  long_lag.long_lag                p=100
    "2c"        long_lag.long_lag                p=100, q=100
    "3a".."3c"  two_sequence.two_sequence        T=100, N=3
    "4"         adding.adding_problem            T=100 (the paper's variant)
    "4m"        adding.adding_problem            T=100 (the modern variant, U[0,1], X1+X2)
    "5"         multiplication.multiplication_problem  T=100
    "6a", "6b"  temporal_order.temporal_order    -

`generate(experiment, n, seed, **params)` returns `(inputs, targets,
sample_weight)`: inputs `(N, steps, features)` post-padded with zeros,
targets `(N, outputs)` for a prediction at the sequence end, or `(N, steps,
outputs)` with `sample_weight` `(N, steps)` marking the real steps for the
next-symbol tasks 1, 2a and 2b (`sample_weight` is `None` otherwise).
`dataset(...)` gives the same as a `tf.data.Dataset`, finite or an endless
stream of fresh sequences.
"""

import dataclasses
import itertools

import numpy as np

from lstm_zoo.checks import one_of, positive_int
from lstm_zoo.datasets import adding, long_lag, multiplication, reber, temporal_order, two_sequence


@dataclasses.dataclass(frozen=True)
class Task:
    """How to generate one experiment's data.

    Attributes:
        experiment: The paper's id (`"1"` ... `"6b"`, `"4m"`).
        title: A short description.
        params: Default parameters, by the names users give (`T`, `N`, `p`, `q`).
        per_step: Whether there is a target at every step (next-symbol
            prediction) rather than one at the sequence end.
    """

    experiment: str
    title: str
    params: dict
    per_step: bool = False


TASKS = {
    "1": Task("1", "embedded Reber grammar", {}, per_step=True),
    "2a": Task("2a", "noise-free long lag", {"p": 100}, per_step=True),
    "2b": Task("2b", "long lag, random middle", {"p": 100}, per_step=True),
    "2c": Task("2c", "very long lag, distractors", {"p": 100, "q": 100}),
    "3a": Task("3a", "two-sequence problem", {"T": 100, "N": 3}),
    "3b": Task("3b", "two-sequence problem, noisy inputs", {"T": 100, "N": 3}),
    "3c": Task("3c", "two-sequence problem, noisy targets", {"T": 100, "N": 3}),
    "4": Task("4", "adding problem", {"T": 100}),
    "4m": Task("4m", "adding problem, modern variant (U[0,1], X1+X2)", {"T": 100}),
    "5": Task("5", "multiplication problem", {"T": 100}),
    "6a": Task("6a", "temporal order, 2 symbols, 4 classes", {}),
    "6b": Task("6b", "temporal order, 3 symbols, 8 classes", {}),
}


def task_params(experiment, **params):
    """The experiment's parameters: its defaults updated with `params`.

    Raises:
        ValueError: for an unknown experiment or parameter.
    """
    task = TASKS[one_of("experiment", experiment, tuple(TASKS))]
    unknown = sorted(set(params) - set(task.params))
    if unknown:
        raise ValueError(
            f"Experiment {experiment} takes the parameters {sorted(task.params) or 'none'}; "
            f"received: {', '.join(f'{k}={params[k]!r}' for k in unknown)}"
        )
    return {**task.params, **params}


def _step_weights(lengths, steps):
    return (np.arange(steps)[None, :] < lengths[:, None]).astype("float32")


def generate(experiment, num_sequences, seed=0, expected=False, **params):
    """Generates `num_sequences` sequences of an experiment, deterministically.

    Args:
        experiment: The paper's id, see `TASKS`.
        num_sequences: Number of sequences (>= 1).
        seed: Seed (an int or a sequence of ints).
        expected: 3c only: return targets `(N, 2)`, the noisy training target
            and the noise-free expectation it is judged against.
        **params: Task parameters (`T`, `N`, `p`, `q`), see the module docstring.

    Returns:
        `(inputs, targets, sample_weight)`, see the module docstring. For 3c the
        targets are the noisy training targets (and, with `expected`, the
        expectation next to them).
    """
    params = task_params(experiment, **params)
    if expected and experiment != "3c":
        raise ValueError(
            f"Argument `expected` is for experiment 3c only; received: experiment={experiment!r}"
        )
    if experiment == "3c":
        inputs, noisy, _, clean = two_sequence.two_sequence(
            num_sequences, "3c", params["T"], params["N"], seed
        )
        return inputs, np.concatenate([noisy, clean], -1) if expected else noisy, None
    if experiment == "1":
        inputs, targets, lengths, _ = reber.embedded_reber(num_sequences, seed)
        return inputs, targets, _step_weights(lengths, inputs.shape[1])
    if experiment in long_lag.VARIANTS:
        inputs, targets, lengths = long_lag.long_lag(num_sequences, experiment, seed=seed, **params)
        if experiment == "2c":
            return inputs, targets, None
        return inputs, targets, _step_weights(lengths, inputs.shape[1])
    if experiment in two_sequence.VARIANTS:
        inputs, targets, *_ = two_sequence.two_sequence(
            num_sequences, experiment, params["T"], params["N"], seed
        )
        return inputs, targets, None
    if experiment in ("4", "4m"):
        variant = "paper" if experiment == "4" else "modern"
        inputs, targets, _ = adding.adding_problem(num_sequences, params["T"], seed, variant)
        return inputs, targets, None
    if experiment == "5":
        inputs, targets, _ = multiplication.multiplication_problem(num_sequences, params["T"], seed)
        return inputs, targets, None
    inputs, targets, _ = temporal_order.temporal_order(num_sequences, experiment, seed=seed)
    return inputs, targets, None


def _trim(arrays, bucket):
    """Cuts a batch's padding after its longest sequence, rounded up to a
    multiple of `bucket` steps (few distinct shapes: few compilations)."""
    inputs = arrays[0]
    if bucket is None or inputs.ndim != 3:
        return arrays
    active = np.any(inputs != 0, axis=(0, 2))
    last = int(np.nonzero(active)[0][-1]) + 1 if active.any() else 1
    steps = min(inputs.shape[1], -(-last // bucket) * bucket)
    if steps == inputs.shape[1]:
        return arrays
    # Inputs and, for next-symbol tasks, per-step targets and sample weights.
    timed = [a.ndim == 3 or i == 2 for i, a in enumerate(arrays)]
    return tuple(a[:, :steps] if t else a for a, t in zip(arrays, timed, strict=True))


def stream(experiment, batch_size, seed=0, chunk=2048, bucket=None, **params):
    """An endless Python generator of fresh batches `(inputs, targets[,
    sample_weight])`, generated `chunk` sequences at a time from the seeds
    `(seed, 0)`, `(seed, 1)`, ... For experiment 1 it cycles through one set of
    `chunk` strings, reshuffled each pass (the paper trained on 256 strings).
    With `bucket`, each batch's padding is cut after its longest sequence,
    rounded up to a multiple of `bucket` steps.
    """
    batch_size = positive_int("batch_size", batch_size)
    chunk = positive_int("chunk", chunk)
    if bucket is not None:
        bucket = positive_int("bucket", bucket)
    if experiment == "1":
        data = generate("1", chunk, seed, **params)
        order_rng = np.random.default_rng([seed, 1])
    for j in itertools.count():
        if experiment == "1":
            order = order_rng.permutation(chunk)
            arrays = [a[order] for a in data]
        else:
            arrays = [a for a in generate(experiment, chunk, (seed, j), **params) if a is not None]
        for start in range(0, chunk - batch_size + 1, batch_size):
            yield _trim(tuple(a[start : start + batch_size] for a in arrays), bucket)


def dataset(experiment, num_sequences=None, seed=0, batch_size=None, chunk=2048, bucket=None,
            **params):  # fmt: skip
    """The experiment's data as a `tf.data.Dataset`.

    Args:
        experiment: The paper's id, see `TASKS`.
        num_sequences: Number of sequences (`generate` with `seed`), or `None`
            for an endless stream of fresh sequences (`stream`).
        seed: Seed.
        batch_size: Batch size, or `None` for single sequences (finite only).
        chunk: Endless stream: sequences generated at a time (see `stream`).
        bucket: Endless stream: cut each batch's padding to a multiple of
            this many steps (see `stream`).
        **params: Task parameters.

    Returns:
        A dataset of `(inputs, targets)` or, for experiments 1, 2a and 2b,
        `(inputs, targets, sample_weight)`.

    Example:

    >>> ds = dataset("4", num_sequences=100, batch_size=10, T=100)
    >>> x, y = next(iter(ds))
    >>> x.shape
    TensorShape([10, 110, 2])
    """
    import tensorflow as tf

    if num_sequences is not None:
        arrays = [a for a in generate(experiment, num_sequences, seed, **params) if a is not None]
        ds = tf.data.Dataset.from_tensor_slices(tuple(arrays))
        return ds if batch_size is None else ds.batch(batch_size)
    if batch_size is None:
        raise ValueError(
            "Argument `batch_size` must be set for an endless stream (num_sequences=None)"
        )
    first = next(stream(experiment, batch_size, seed, chunk=batch_size, **params))
    # Any batch and time size (Reber strings vary); features and outputs fixed.
    shapes = [(None, None, first[0].shape[-1]), (None,) * (first[1].ndim - 1) + first[1].shape[-1:]]
    signature = tuple(tf.TensorSpec(shape, tf.float32) for shape in [*shapes, (None, None)])
    signature = signature[: len(first)]
    return tf.data.Dataset.from_generator(
        lambda: stream(experiment, batch_size, seed, chunk, bucket, **params),
        output_signature=signature,
    )
