"""The paper's success criteria, as a Keras metric and callbacks.

Every experiment of Hochreiter & Schmidhuber (1997) but the Reber grammar
judges a net on the error of its final prediction: a sequence is *correct*
when the absolute error of every output unit at the sequence end is below a
threshold, and training stops when the last `window` training sequences
contain at most `max_wrong` wrong ones (and, for some experiments, their mean
error is below a bound). Each training sequence is scored before the update it
causes, so the window is an estimate on unseen sequences.

`PaperCriterion` is that rule as a stateful Keras metric (a ring buffer over
the last `window` sequences; its state spans batches, one `fit` epoch should
span the whole run); `CriterionStopping` stops `fit` when it is met and
records how many training sequences were seen. The embedded Reber grammar is
judged on fixed training and test sets instead: `ReberCriterion`.

Experiments 2 and 3 judge the trained net on a test set with frozen weights
(the paper, section 5.2: "after training, during 10,000 successive, randomly
chosen input sequences ..."; 5.3: "ST1: none of 256 sequences from a randomly
chosen test set is misclassified"): `TEST_CRITERIA` holds those rules and
`TestSetStopping` applies them, each time the training window (`CRITERIA`)
says the net may be ready, until the test passes.

The paper's rules (sections 5.1-5.6 and its table 11):

| exp | correct if | stop when |
|---|---|---|
| 1 | most active outputs are the legal next symbols, every step | all 256 + 256 strings correct |
| 2a | abs error of every output < 0.25 at every step | 10,000 test sequences correct |
| 2b | final abs error < 0.25 | 10,000 test sequences correct |
| 2c | final abs error < 0.2 | 10,000 test sequences correct |
| 3a | final abs error < 0.2 | ST1: 256 test sequences correct; ST2: and mean abs err < 0.01 |
| 3b | final abs error < 0.2 | ST1: < 6 of 256 test sequences wrong; ST2: and mean abs < 0.04 |
| 3c | abs error to the noise-free target < 0.1 | 256 test sequences correct, mean abs < 0.015 |
| 4 | abs error < 0.04 | ST3(0.01): last 2,000 correct and their mean squared error < 0.01 |
| 5 | abs error < 0.04 | fewer than 140 of the last 2,000 wrong |
| 6a, 6b | final abs error of every output < 0.3 | ST3(0.1): last 2,000 correct, MSE < 0.1 |

Our choices where the paper is silent: the training window that decides when
to run the test (`CRITERIA` of 2a-3c: the last 1,000 (2a-2c) or 256 (3a-3c)
training sequences, each scored before its update, within the test's own
rule); "average training error" read as the mean squared error; 2a's test set
is its two sequences (10,000 random draws from two sequences hold both).
"""

import dataclasses

import keras
import numpy as np
from keras import ops

from lstm_zoo.checks import int_at_least, one_of, positive_int


@dataclasses.dataclass(frozen=True)
class Criterion:
    """A final-prediction success rule (see the module docstring).

    Attributes:
        threshold: A sequence is correct if every output's absolute error at
            its end is below this.
        window: Number of most recent training sequences judged.
        max_wrong: Most wrong sequences allowed in the window.
        max_mse: If set, the window's mean squared error must be below it.
        max_mean_abs_error: If set, the window's mean absolute error must be
            below it.
    """

    threshold: float
    window: int
    max_wrong: int = 0
    max_mse: float | None = None
    max_mean_abs_error: float | None = None
    all_steps: bool = False


CRITERIA = {
    "2a": Criterion(0.25, 1000, all_steps=True),
    "2b": Criterion(0.25, 1000),
    "2c": Criterion(0.2, 1000),
    "3a": Criterion(0.2, 256),
    "3b": Criterion(0.2, 256, max_wrong=5),
    "3c": Criterion(0.1, 256),
    "4": Criterion(0.04, 2000, max_mse=0.01),
    "5": Criterion(0.04, 2000, max_wrong=139),
    "6a": Criterion(0.3, 2000, max_mse=0.1),
    "6b": Criterion(0.3, 2000, max_mse=0.1),
}


@dataclasses.dataclass(frozen=True)
class TestCriterion:
    """A rule judged on fresh test sequences with frozen weights.

    Attributes:
        size: Test sequences per check.
        max_wrong: Most wrong test sequences (the paper's ST1).
        max_mean_abs_error: If set, a second stage (ST2): ST1 and the test
            set's mean absolute error below this. Training stops at ST2.
        check_every: Least training sequences between two checks.
    """

    __test__ = False  # not a pytest test class, despite its name

    size: int
    max_wrong: int = 0
    max_mean_abs_error: float | None = None
    check_every: int = 1000


TEST_CRITERIA = {
    "2a": TestCriterion(10_000),
    "2b": TestCriterion(10_000),
    "2c": TestCriterion(10_000),
    "3a": TestCriterion(256, 0, 0.01, check_every=256),
    "3b": TestCriterion(256, 5, 0.04, check_every=256),
    "3c": TestCriterion(256, 0, 0.015, check_every=256),
}


def _final_step(values):
    return values[:, -1, :] if len(values.shape) == 3 else values


@keras.saving.register_keras_serializable(package="lstm_zoo")
class PaperCriterion(keras.metrics.Metric):
    """The paper's success rule over the last `window` training sequences.

    Targets and predictions are `(batch, outputs)` or `(batch, steps,
    outputs)`, in which case the last step is judged (the sequence end, when
    sequences have equal lengths or the model returns the last valid step).

    Args:
        threshold: A sequence is correct if every output's absolute error is
            below this.
        window: Number of most recent sequences judged (>= 1).
        max_wrong: Most wrong sequences allowed in a full window (>= 0).
        max_mse: Optional bound on the window's mean squared error.
        max_mean_abs_error: Optional bound on the window's mean absolute error.
        all_steps: Judge every step of `(batch, steps, outputs)` targets (the
            steps where `sample_weight` is positive, if given), not the last.
        target_offset: Judge against `y_true[..., target_offset:target_offset +
            outputs]` (3c: the noise-free expectation stored after the noisy
            training target). Default 0.
        report: What `result()` returns: `"met_at"` (default), the number of
            sequences seen when the rule was first met, 0 before; or
            `"wrong_fraction"`, the fraction of wrong sequences in the window
            (or among those seen, while it fills up); `"met"`, 1 while the
            rule holds, else 0; `"window_mse"`, the window's mean squared error.
        name: Metric name.
        dtype: Metric dtype.

    Example:

    >>> metric = PaperCriterion(**dataclasses.asdict(CRITERIA["4"]))
    >>> metric = PaperCriterion.for_experiment("4")
    >>> metric = PaperCriterion.for_experiment("5", max_wrong=12)  # n_seq = 13
    """

    REPORTS = ("met_at", "wrong_fraction", "met", "window_mse")

    def __init__(
        self,
        threshold,
        window,
        max_wrong=0,
        max_mse=None,
        max_mean_abs_error=None,
        all_steps=False,
        target_offset=0,
        report="met_at",
        name="criterion",
        dtype=None,
    ):
        super().__init__(name=name, dtype=dtype)
        if not float(threshold) > 0:
            raise ValueError(
                f"Argument `threshold` must be positive; received: threshold={threshold!r}"
            )
        one_of("report", report, self.REPORTS)
        self.threshold = float(threshold)
        self.window = positive_int("window", window)
        self.max_wrong = int_at_least("max_wrong", max_wrong, 0)
        self.max_mse = None if max_mse is None else float(max_mse)
        self.max_mean_abs_error = None if max_mean_abs_error is None else float(max_mean_abs_error)
        self.all_steps = bool(all_steps)
        self.target_offset = int_at_least("target_offset", target_offset, 0)
        self.report = report
        self.wrong = self.add_variable((self.window,), "zeros", name="wrong", dtype="float32")
        self.squared = self.add_variable((self.window,), "zeros", name="squared", dtype="float32")
        self.absolute = self.add_variable((self.window,), "zeros", name="absolute", dtype="float32")
        self.seen = self.add_variable((), "zeros", name="seen", dtype="float32")
        self.met_at = self.add_variable((), "zeros", name="met_at", dtype="float32")
        self.met = self.add_variable((), "zeros", name="met", dtype="float32")

    @classmethod
    def for_experiment(cls, experiment, **kwargs):
        """The criterion of a paper experiment (`"2a"` ... `"6b"`, see `CRITERIA`);
        `kwargs` may change its fields, e.g. `max_wrong=12` for experiment 5's
        second test (n_seq = 13)."""
        if experiment not in CRITERIA:
            raise ValueError(
                f"Argument `experiment` must be one of {tuple(CRITERIA)}; "
                f"received: experiment={experiment!r}"
            )
        return cls(**{**dataclasses.asdict(CRITERIA[experiment]), **kwargs})

    def _push(self, variable, values):
        joined = ops.concatenate([variable.value, values], axis=0)[-self.window :]
        variable.assign(joined)
        return joined

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.all_steps and len(y_pred.shape) == 3:
            y_pred = ops.cast(y_pred, "float32")
            y_true = ops.cast(y_true, "float32")[..., self.target_offset :][..., : y_pred.shape[-1]]
            error = ops.abs(y_true - y_pred)  # (batch, steps, outputs)
            steps = ops.ones(ops.shape(error)[:2], "float32")
            if sample_weight is not None:
                steps = ops.cast(ops.reshape(sample_weight, ops.shape(steps)) > 0, "float32")
            worst = ops.max(ops.max(error, axis=-1) * steps, axis=-1)
            count = ops.maximum(ops.sum(steps, axis=-1), 1.0)
            mean_squared = ops.sum(ops.mean(ops.square(error), axis=-1) * steps, axis=-1) / count
            mean_absolute = ops.sum(ops.mean(error, axis=-1) * steps, axis=-1) / count
        else:
            y_pred = ops.cast(_final_step(y_pred), "float32")
            y_true = ops.cast(_final_step(y_true), "float32")
            y_true = y_true[:, self.target_offset : self.target_offset + y_pred.shape[-1]]
            error = ops.abs(y_true - y_pred)
            worst = ops.max(error, axis=-1)
            mean_squared = ops.mean(ops.square(error), axis=-1)
            mean_absolute = ops.mean(error, axis=-1)
        is_wrong = ops.cast(worst >= self.threshold, "float32")
        wrong = self._push(self.wrong, is_wrong)
        squared = self._push(self.squared, mean_squared)
        absolute = self._push(self.absolute, mean_absolute)
        seen = self.seen.value + ops.cast(ops.shape(y_true)[0], "float32")
        self.seen.assign(seen)
        met = ops.logical_and(seen >= self.window, ops.sum(wrong) <= self.max_wrong)
        if self.max_mse is not None:
            met = ops.logical_and(met, ops.mean(squared) < self.max_mse)
        if self.max_mean_abs_error is not None:
            met = ops.logical_and(met, ops.mean(absolute) < self.max_mean_abs_error)
        met_at = self.met_at.value
        self.met_at.assign(ops.where(ops.logical_and(met, met_at == 0), seen, met_at))
        self.met.assign(ops.cast(met, "float32"))

    def result(self):
        if self.report == "met_at":
            return self.met_at.value
        if self.report == "met":
            return self.met.value
        filled = ops.maximum(ops.minimum(self.seen.value, float(self.window)), 1.0)
        window = self.squared if self.report == "window_mse" else self.wrong
        return ops.sum(window.value) / filled

    def get_config(self):
        config = {
            "threshold": self.threshold,
            "window": self.window,
            "max_wrong": self.max_wrong,
            "max_mse": self.max_mse,
            "max_mean_abs_error": self.max_mean_abs_error,
            "all_steps": self.all_steps,
            "target_offset": self.target_offset,
            "report": self.report,
        }
        return {**super().get_config(), **config}


def _sequence_errors(targets, predictions, all_steps=False, sample_weight=None):
    """Per sequence, in NumPy: `(worst absolute error, mean absolute error,
    mean squared error)`, each `(N,)`, at the sequence end or, with
    `all_steps`, over the steps where `sample_weight` is positive."""
    targets = np.asarray(targets, "float64")
    predictions = np.asarray(predictions, "float64")
    error = np.abs(targets[..., : predictions.shape[-1]] - predictions)
    if error.ndim == 3 and all_steps:
        steps = np.ones(error.shape[:2]) if sample_weight is None else sample_weight > 0
        count = np.maximum(steps.sum(axis=-1), 1)
        return ((error.max(axis=-1) * steps).max(axis=-1),
                (error.mean(axis=-1) * steps).sum(axis=-1) / count,
                ((error**2).mean(axis=-1) * steps).sum(axis=-1) / count)  # fmt: skip
    if error.ndim == 3:
        error = error[:, -1]
    return error.max(axis=-1), error.mean(axis=-1), (error**2).mean(axis=-1)


def final_errors(targets, predictions, threshold):
    """Per-sequence judgement of final predictions, in NumPy.

    Returns:
        A tuple `(wrong, squared)`: booleans `(N,)` (some output's absolute
        error >= `threshold`) and the mean squared error per sequence `(N,)`.
    """
    worst, _, squared = _sequence_errors(targets, predictions)
    return worst >= threshold, squared


def _logged(logs, name, owner, hint):
    """`logs[name]`, or a `ValueError` saying that `owner` needs it."""
    if name not in (logs or {}):
        raise ValueError(
            f"{owner} monitors '{name}', which is not among the logged metrics "
            f"{sorted(logs or {})}; {hint}"
        )
    return float(logs[name])


class CriterionStopping(keras.callbacks.Callback):
    """Stops `fit` once a `PaperCriterion` metric reports it was met.

    Args:
        monitor: Name of the metric in the logs (a `PaperCriterion` with
            `report="met_at"`). Default `"criterion"`.

    Attributes:
        sequences: Training sequences seen when the criterion was first met,
            or `None`.
    """

    def __init__(self, monitor="criterion"):
        super().__init__()
        self.monitor = monitor
        self.sequences = None

    def on_train_batch_end(self, batch, logs=None):
        met_at = _logged(logs, self.monitor, "CriterionStopping",
                         "compile the model with a PaperCriterion")  # fmt: skip
        if met_at > 0 and self.sequences is None:
            self.sequences = int(met_at)
            self.model.stop_training = True


class ReberCriterion(keras.callbacks.Callback):
    """Stops `fit` when every string of the Reber training and test sets is
    predicted correctly (`reber.legal_predictions`), checked every
    `check_every` training sequences.

    Args:
        sets: A list of `(inputs, lengths, legal)` tuples (from
            `reber.embedded_reber`) that must all be predicted correctly.
        check_every: Check after this many training sequences (>= 1).
        batch_size: Training sequences per batch (to count sequences).

    Attributes:
        sequences: Training sequences seen when the criterion was met, or `None`.
        history: A list of `(sequences, fraction of strings correct)`.
    """

    def __init__(self, sets, check_every=100, batch_size=1):
        super().__init__()
        self.sets = list(sets)
        self.check_every = positive_int("check_every", check_every)
        self.batch_size = positive_int("batch_size", batch_size)
        self.seen = 0
        self._epoch_start = 0
        self.sequences = None
        self.history = []

    def fraction_correct(self):
        from lstm_zoo.datasets.reber import legal_predictions

        correct = [
            legal_predictions(self.model.predict_on_batch(x), legal, lengths)
            for x, lengths, legal in self.sets
        ]
        return float(np.mean(np.concatenate(correct)))

    def on_epoch_end(self, epoch, logs=None):
        self._epoch_start = self.seen

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the last step of the call (several with steps_per_execution).
        before, self.seen = self.seen, self._epoch_start + (batch + 1) * self.batch_size
        if before // self.check_every == self.seen // self.check_every:
            return
        fraction = self.fraction_correct()
        self.history.append((self.seen, fraction))
        if fraction == 1.0 and self.sequences is None:
            self.sequences = self.seen
            self.model.stop_training = True


def judge(targets, predictions, threshold, all_steps=False, sample_weight=None):
    """Per-sequence judgement, in NumPy: `(wrong, mean absolute error)`, each `(N,)`.

    A sequence is wrong when some output's absolute error reaches `threshold`
    at its end (or, with `all_steps`, at any step where `sample_weight` is
    positive).
    """
    worst, mean, _ = _sequence_errors(targets, predictions, all_steps, sample_weight)
    return worst >= threshold, mean


class TestSetStopping(keras.callbacks.Callback):
    """Stops `fit` when the net, with frozen weights, passes a test set
    (`TestCriterion`): the paper's rule for experiments 2 and 3.

    The test runs when the training window says the net may be ready (the
    `gate` entry of the logs is positive, a `PaperCriterion` with
    `report="met"`), at most every `rule.check_every` training sequences.

    Args:
        test_sets: A callable `check_number -> iterable of (inputs, targets[,
            sample_weight])` blocks, together `rule.size` sequences (fresh ones
            for each check, or the same).
        rule: A `TestCriterion`.
        threshold: A sequence is wrong when an output's absolute error reaches this.
        all_steps: Judge every step (2a), not only the sequence end.
        target_offset: Judge against `targets[..., target_offset:]` (3c).
        gate: Name of the logged metric that opens the test. Default
            `"criterion_met"`.
        batch_size: Training sequences per batch (to count sequences).

    Attributes:
        sequences: Training sequences seen when the whole rule (ST2, if the
            rule has two stages) was first met, or `None`.
        first_stage: Training sequences seen when ST1 was first met, or `None`.
        checks: A list of `(sequences, wrong test sequences, mean abs error)`.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, test_sets, rule, threshold, all_steps=False, target_offset=0,
                 gate="criterion_met", batch_size=1):  # fmt: skip
        super().__init__()
        self.test_sets = test_sets
        self.rule = rule
        self.threshold = float(threshold)
        self.all_steps = bool(all_steps)
        self.target_offset = int_at_least("target_offset", target_offset, 0)
        self.gate = gate
        self.batch_size = positive_int("batch_size", batch_size)
        self.sequences = self.first_stage = None
        self.checks = []
        self._last_check = None

    def evaluate(self):
        """`(wrong count, mean absolute error)` of the model on one test set."""
        wrong, absolute = [], []
        for block in self.test_sets(len(self.checks)):
            x, y = block[0], block[1]
            weights = block[2] if len(block) > 2 else None
            predictions = np.concatenate(
                [self.model.predict_on_batch(x[i : i + 1024]) for i in range(0, len(x), 1024)]
            )
            bad, mean = judge(y[..., self.target_offset :], predictions, self.threshold,
                              self.all_steps, weights)  # fmt: skip
            wrong.append(bad)
            absolute.append(mean)
        return int(np.concatenate(wrong).sum()), float(np.concatenate(absolute).mean())

    def on_train_batch_end(self, batch, logs=None):
        gate = _logged(logs, self.gate, "TestSetStopping",
                       "compile the model with a PaperCriterion(report='met')")  # fmt: skip
        seen = (batch + 1) * self.batch_size
        if gate <= 0 or (
            self._last_check is not None and seen - self._last_check < self.rule.check_every
        ):
            return
        self._last_check = seen
        wrong, mean_abs = self.evaluate()
        self.checks.append((seen, wrong, mean_abs))
        if wrong > self.rule.max_wrong:
            return
        if self.first_stage is None:
            self.first_stage = seen
        bound = self.rule.max_mean_abs_error
        if bound is None or mean_abs < bound:
            self.sequences = seen
            self.model.stop_training = True
