"""The paper's success criteria: the metric on hand-made cases and against a
NumPy reference, and the stopping callback inside `fit`."""

import dataclasses

import keras
import numpy as np
import pytest

from lstm_zoo.datasets import criteria


def _reference(errors, criterion):
    """Sequences seen when the rule is first met, sequence by sequence (NumPy)."""
    wrong = errors.max(axis=1) >= criterion.threshold
    squared = (errors**2).mean(axis=1)
    absolute = errors.mean(axis=1)
    for seen in range(criterion.window, len(errors) + 1):
        window = slice(seen - criterion.window, seen)
        if wrong[window].sum() > criterion.max_wrong:
            continue
        if criterion.max_mse is not None and not squared[window].mean() < criterion.max_mse:
            continue
        if (criterion.max_mean_abs_error is not None
                and not absolute[window].mean() < criterion.max_mean_abs_error):  # fmt: skip
            continue
        return seen
    return 0


def _feed(metric, errors, batch_size):
    targets = np.zeros_like(errors)
    for start in range(0, len(errors), batch_size):
        metric.update_state(targets[start : start + batch_size], errors[start : start + batch_size])
    return float(metric.result())


def test_hand_made_window():
    metric = criteria.PaperCriterion(threshold=0.1, window=3)
    errors = np.array([[0.5], [0.05], [0.05], [0.2], [0.01], [0.02], [0.03], [0.5]], "float32")
    # Wrong at 1 and 4; the first three-sequence window without a wrong one ends at 7.
    assert _feed(metric, errors, 1) == 7.0
    lenient = criteria.PaperCriterion(threshold=0.1, window=3, max_wrong=1)
    assert _feed(lenient, errors, 1) == 3.0
    fraction = criteria.PaperCriterion(threshold=0.1, window=3, report="wrong_fraction")
    assert _feed(fraction, errors[:2], 1) == pytest.approx(0.5)  # 1 wrong of 2 seen
    assert _feed(fraction, errors[2:], 1) == pytest.approx(1 / 3)  # the last 3: 0.02 0.03 0.5


def test_every_output_must_be_within_threshold():
    metric = criteria.PaperCriterion(threshold=0.3, window=2)
    y_true = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], "float32")
    good = y_true + np.array([[-0.2, 0.1, 0.0, 0.29], [0.0, -0.1, 0.2, 0.0]], "float32")
    bad = good.copy()
    bad[1, 3] = 0.31
    metric.update_state(y_true, bad)
    assert float(metric.result()) == 0.0
    metric.update_state(y_true, good)
    assert float(metric.result()) == 4.0
    sequences = criteria.PaperCriterion(threshold=0.3, window=2)
    sequences.update_state(y_true[:, None].repeat(5, 1), good[:, None].repeat(5, 1))
    assert float(sequences.result()) == 2.0  # (batch, steps, outputs): the last step counts


@pytest.mark.parametrize("experiment", ["2c", "3a", "4", "5", "6a"])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_metric_matches_numpy_reference(experiment, batch_size):
    criterion = dataclasses.replace(criteria.CRITERIA[experiment], window=50)
    if criterion.max_wrong:
        criterion = dataclasses.replace(criterion, max_wrong=4)
    rng = np.random.default_rng(len(experiment) + batch_size)
    outputs = 4 if experiment == "6a" else 1
    # Errors that shrink over time, so the rule is met somewhere inside.
    scale = np.geomspace(3.0, 0.01, 700)[:, None] * criterion.threshold
    errors = (rng.random((700, outputs)) * scale).astype("float32")
    expected = _reference(errors.astype("float64"), criterion)
    assert expected > 0
    metric = criteria.PaperCriterion(**dataclasses.asdict(criterion))
    got = _feed(metric, errors, batch_size)
    if batch_size == 1:
        assert got == expected
    else:  # met when the batch holding the expected sequence ends
        assert got == min(-(-expected // batch_size) * batch_size, 700)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="window=0"):
        criteria.PaperCriterion(threshold=0.1, window=0)
    with pytest.raises(ValueError, match="report='best'"):
        criteria.PaperCriterion(threshold=0.1, window=3, report="best")
    with pytest.raises(ValueError, match="experiment='9'"):
        criteria.PaperCriterion.for_experiment("9")
    with pytest.raises(ValueError, match="threshold"):
        criteria.PaperCriterion(threshold=0.0, window=3)


def test_config_round_trip():
    metric = criteria.PaperCriterion.for_experiment("5", report="wrong_fraction", name="w")
    clone = criteria.PaperCriterion.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config() and clone.max_wrong == 139


def test_criterion_stopping_stops_fit_and_counts_sequences():
    # A model that always predicts 0 on targets 0: every sequence is correct,
    # so the rule is met after exactly `window` = 40 sequences.
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros",
                                                                    trainable=False)])  # fmt: skip
    model.compile("sgd", "mse", metrics=[criteria.PaperCriterion(threshold=0.1, window=40)])
    stopper = criteria.CriterionStopping()
    x, y = np.ones((400, 3), "float32"), np.zeros((400, 1), "float32")
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[stopper])
    assert stopper.sequences == 40
    assert len(history.history["loss"]) == 1  # stopped inside the first epoch
    model.compile("sgd", "mse", metrics=["mae"])
    with pytest.raises(ValueError, match="'criterion'"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[criteria.CriterionStopping()])


def test_reber_criterion_stops_when_all_strings_are_right():
    from lstm_zoo.datasets import reber

    x, _, lengths, legal = reber.embedded_reber(16, seed=0)

    class Oracle(keras.Model):
        """Predicts the legal sets of the training strings (looked up by input)."""

        def call(self, inputs):
            return keras.ops.convert_to_tensor(legal[: inputs.shape[0]])

    model = Oracle()
    model.compile("sgd", "mse")
    model.predict_on_batch = lambda inputs: legal[: len(inputs)]
    stopper = criteria.ReberCriterion([(x, lengths, legal)], check_every=4, batch_size=2)
    stopper.set_model(model)
    for batch in range(5):
        stopper.on_train_batch_end(batch)
    assert stopper.sequences == 4 and stopper.history[0] == (4, 1.0)
    wrong = legal.copy()
    wrong[3, 0] = 1.0 - wrong[3, 0]
    model.predict_on_batch = lambda inputs: wrong[: len(inputs)]
    late = criteria.ReberCriterion([(x, lengths, legal)], check_every=4, batch_size=2)
    late.set_model(model)
    for batch in range(5):
        late.on_train_batch_end(batch)
    assert late.sequences is None and late.history[-1] == (8, 15 / 16)


def test_target_offset_judges_against_later_columns():
    # 3c: column 0 is the noisy training target, column 1 the expectation.
    metric = criteria.PaperCriterion(threshold=0.1, window=2, target_offset=1)
    y_true = np.array([[1.3, 0.8], [-0.1, 0.2]], "float32")
    metric.update_state(y_true, np.array([[0.75], [0.25]], "float32"))
    assert float(metric.result()) == 2.0  # within 0.1 of the expectation, not of column 0
    far = criteria.PaperCriterion(threshold=0.1, window=2)
    far.update_state(y_true, np.array([[0.75], [0.25]], "float32"))
    assert float(far.result()) == 0.0
