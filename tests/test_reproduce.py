"""`lstm_zoo.reproduce` and `lstm-zoo reproduce`: parsing, the paper's net and
loss, a real training run that meets its criterion, resuming, the report."""

import csv
import dataclasses
import json
import os

import keras
import numpy as np
import pytest

from lstm_zoo import reproduce
from tests.cli import run_cli


def test_parse_experiment():
    assert reproduce.parse_experiment("4") == ("4", {})
    assert reproduce.parse_experiment("2c/p=1000/q=1000") == ("2c", {"p": 1000, "q": 1000})
    assert reproduce.params_key({"q": 1, "p": 2}) == "p=2,q=1"
    with pytest.raises(ValueError, match="'7'"):
        reproduce.parse_experiment("7")
    with pytest.raises(ValueError, match="'T=long'"):
        reproduce.parse_experiment("4/T=long")
    with pytest.raises(ValueError, match="q=5"):
        reproduce.parse_experiment("4/q=5")
    # Experiment 5's second test (the paper's table 8): a criterion parameter.
    assert reproduce.parse_experiment("5/n_seq=13") == ("5", {"n_seq": 13})
    with pytest.raises(ValueError, match="n_seq=0"):
        reproduce.parse_experiment("5/n_seq=0")
    with pytest.raises(ValueError, match="n_seq=13"):
        reproduce.parse_experiment("4/n_seq=13")  # the adding problem has no n_seq
    with pytest.raises(ValueError, match=r"\['T', 'n_seq'\]; received: q=5"):
        reproduce.parse_experiment("5/q=5")


def test_n_seq_sets_experiment_5s_criterion():
    """The paper's "less than n_seq of the 2000 most recent training sequences"
    wrong: the criterion allows n_seq - 1, and the task's data get no `n_seq`."""
    task, overrides = reproduce.split_params("5", {"T": 100, "n_seq": 13})
    assert task == {"T": 100} and overrides == {"max_wrong": 12}
    (metric, *_) = reproduce.criterion_metrics("5", **overrides)
    assert (metric.max_wrong, metric.window, metric.threshold) == (12, 2000, 0.04)
    assert reproduce.criterion_metrics("5")[0].max_wrong == 139  # n_seq = 140
    y = np.zeros((2000, 1), "float32")
    for wrong, met in ((12, 1.0), (13, 0.0)):
        metric = reproduce.criterion_metrics("5", **overrides)[0]
        pred = y.copy()
        pred[:wrong] = 0.5  # error 0.5 > 0.04
        metric.update_state(y, pred)
        assert (float(metric.result()) > 0) == bool(met)


def test_half_squared_error_is_the_papers_error():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.random((1, 6, 3)), rng.random((1, 6, 3))
    weights = np.array([[1, 1, 1, 1, 0, 0]], "float32")
    expected = 0.5 * np.sum((y_true - y_pred)[:, :4] ** 2)
    loss = reproduce.HalfSquaredError()(y_true, y_pred, sample_weight=weights)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_3c_trains_on_the_noisy_target_and_is_judged_by_the_expectation():
    from lstm_zoo.datasets import paper_tasks

    x, y, _ = paper_tasks.generate("3c", 50, seed=4, expected=True, T=30)
    _, noisy, _ = paper_tasks.generate("3c", 50, seed=4, T=30)
    np.testing.assert_array_equal(y[:, :1], noisy)
    assert set(np.unique(y[:, 1])) <= {np.float32(0.2), np.float32(0.8)}
    loss = reproduce.HalfSquaredError(columns=1)(y, y[:, 1:])
    assert float(loss) == pytest.approx(0.5 * np.sum((y[:, 0] - y[:, 1]) ** 2), rel=1e-5)
    with pytest.raises(ValueError, match="3c only"):
        paper_tasks.generate("3a", 5, expected=True)


def test_paper_net_follows_the_paper():
    model = reproduce.build_model("4", "paper", 2, 1, per_step=False, masked=True, seed=3)
    layer = next(layer for layer in model.layers if hasattr(layer, "cell"))
    cell = layer.cell
    assert (cell.units, cell.cells_per_block) == (4, 2)  # 2 blocks of 2 cells
    assert cell.recurrent_input == "cells_and_gates" and cell.gradient == "truncated"
    kernel, recurrent, bias = (w.numpy() for w in cell.weights)
    assert np.abs(kernel).max() <= 0.1 and np.abs(recurrent).max() <= 0.1
    np.testing.assert_allclose(bias[:2], [-3.0, -6.0])  # staggered input gate biases
    assert np.abs(bias[2:]).max() <= 0.1
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.5)
    modern = reproduce.build_model("4", "modern", 2, 1, per_step=False, masked=True, seed=3)
    modern_cell = next(layer for layer in modern.layers if hasattr(layer, "cell")).cell
    assert modern_cell.gradient == "full" and modern_cell.recurrent_input == "cells"
    np.testing.assert_allclose(modern_cell.weights[2].numpy()[:2], [-3.0, -6.0])  # same start
    assert isinstance(modern.optimizer, keras.optimizers.Adam)
    assert float(modern.optimizer.learning_rate) == pytest.approx(reproduce.MODERN_LEARNING_RATE)
    # Modern 2c biases its gates, input gates at -3 and -6; its paper net has
    # no bias weight (table 10), and neither net biases cell inputs or outputs.
    nets = {s: reproduce.build_model("2c", s, 104, 2, False, masked=True, seed=3)
            for s in ("paper", "modern")}  # fmt: skip
    cells = {s: next(la for la in m.layers if hasattr(la, "cell")).cell for s, m in nets.items()}
    assert not cells["paper"].use_bias and reproduce.count_weights(nets["paper"]) == 664
    assert cells["modern"].use_bias and not cells["modern"].cell_input_bias
    bias = cells["modern"].weights[2].numpy()
    assert bias.shape == (4,)  # 2 input gates, 2 output gates
    np.testing.assert_allclose(bias[:2], [-3.0, -6.0])
    assert np.abs(bias[2:]).max() <= 0.2
    assert reproduce.count_weights(nets["modern"]) == 640 + 4
    assert not nets["modern"].layers[-1].use_bias
    assert "2c: gate biases, input gates at -3, -6" in reproduce._modern_biases()
    # Experiments with a modern learning rate of their own get it; their paper
    # setting keeps the paper's.
    for experiment, dims, rates in (("2a", 11, (1.0, 0.3)), ("2c", 14, (0.01, 0.003))):
        per_step = experiment == "2a"
        built = [reproduce.build_model(experiment, s, dims, dims if per_step else 2, per_step,
                                       masked=not per_step, seed=3)
                 for s in ("paper", "modern")]  # fmt: skip
        assert [float(m.optimizer.learning_rate) for m in built] == pytest.approx(rates)
    # Reber, modern: a softmax over the 7 symbols and its cross-entropy; the
    # paper setting keeps sigmoid outputs and the paper's error.
    reber_nets = [reproduce.build_model("1", s, 7, 7, per_step=True, masked=True, seed=3)
                  for s in ("paper", "modern")]  # fmt: skip
    probe = np.random.default_rng(0).random((2, 5, 7)).astype("float32")
    paper_out, modern_out = (np.asarray(m.predict(probe, verbose=0)) for m in reber_nets)
    np.testing.assert_allclose(modern_out.sum(-1), 1.0, rtol=1e-5)
    assert np.abs(paper_out.sum(-1) - 1.0).max() > 0.1
    assert isinstance(reber_nets[1].loss, keras.losses.CategoricalCrossentropy)
    assert float(reber_nets[1].optimizer.learning_rate) == pytest.approx(0.02)
    assert isinstance(reber_nets[0].loss, reproduce.HalfSquaredError)
    # paper_cells: the paper's net and rule, only the cell outputs fed back.
    cells = reproduce.build_model("4", "paper_cells", 2, 1, per_step=False, masked=True, seed=3)
    cells_cell = next(layer for layer in cells.layers if hasattr(layer, "cell")).cell
    assert cells_cell.recurrent_input == "cells" and cells_cell.gradient == "truncated"
    # 8 units (4 cell inputs, 4 gates) lose their 4 weights from the gate activations.
    assert reproduce.count_weights(cells) == 93 - 8 * 4
    # paper_caption: table 10's caption ranges, h in [-2, 2] and g in [-1, 1];
    # the same net and draws otherwise.
    caption = reproduce.build_model("4", "paper_caption", 2, 1, per_step=False, masked=True,
                                    seed=3)  # fmt: skip
    caption_cell = next(layer for layer in caption.layers if hasattr(layer, "cell")).cell
    probe = np.array([-50.0, 0.0, 50.0], "float32")
    for function, low_high in ((cell.activation, 1.0), (cell.cell_input_activation, 2.0),
                               (caption_cell.activation, 2.0),
                               (caption_cell.cell_input_activation, 1.0)):  # fmt: skip
        np.testing.assert_allclose(keras.ops.convert_to_numpy(function(probe)),
                                   [-low_high, 0.0, low_high], atol=1e-6)  # fmt: skip
    assert reproduce.count_weights(caption) == 93
    for ours, theirs in zip(cell.weights, caption_cell.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # 2a's "id" and "g1" read the same in both.
    long_lag = [next(layer for layer in m.layers if hasattr(layer, "cell")).cell
                for m in (reproduce.build_model("2a", s, 11, 11, per_step=True, masked=False,
                                                seed=3) for s in ("paper", "paper_caption"))]
    assert [(c.activation.__name__, c.cell_input_activation.__name__) for c in long_lag] == [
        ("linear", "sigmoid"), ("linear", "sigmoid")]
    # Multiplication: both settings start from the adding net's input gate
    # biases (section 5.5 builds the net "like in Section 5.4"); its other
    # biases are drawn in the table's range, the same in both settings.
    paper5, modern5 = (reproduce.build_model("5", setting, 2, 1, per_step=False, masked=True,
                                             seed=3) for setting in ("paper", "modern"))
    biases = [next(layer for layer in m.layers if hasattr(layer, "cell")).cell.weights[2].numpy()
              for m in (paper5, modern5)]  # fmt: skip
    for bias in biases:
        np.testing.assert_allclose(bias[:2], [-3.0, -6.0])
        assert 0 < np.abs(bias[2:]).max() <= 0.1
    np.testing.assert_array_equal(biases[0], biases[1])
    assert "5:" not in reproduce._modern_biases()


def test_a_bad_modern_loss_is_named(monkeypatch):
    bad = dataclasses.replace(reproduce.EXPERIMENTS["4"], modern_loss="hinge")
    monkeypatch.setitem(reproduce.EXPERIMENTS, "4", bad)
    with pytest.raises(ValueError, match="modern_loss.*hinge"):
        reproduce.build_model("4", "modern", 2, 1, per_step=False, masked=True, seed=3)


def test_short_training_run_meets_the_criterion():
    # Experiment 2c with 10 distractors, modern setting: the paper's rule (10,000
    # test sequences right with frozen weights) is met in ~5k sequences.
    result = reproduce.run_trial("2c", {"p": 10, "q": 10}, "modern", 0, 0, 60_000)
    assert result["solved"] is True
    assert 1_000 <= result["sequences"] < 60_000  # the gate's window alone is 1,000
    assert result["test_wrong"] < 0.01
    seen = [point[0] for point in result["curve"]]
    assert seen == sorted(seen) and seen[-1] >= result["sequences"]


def _fake_trial(calls):
    def run_trial(experiment, params, setting, trial, seed, budget, label="", save_model=None):
        calls.append((experiment, setting, trial, save_model))
        solved = setting == "modern"
        return {"experiment": experiment, "params": reproduce.params_key(params),
                "setting": setting, "trial": trial, "seed": seed * 1000 + trial,
                "budget": budget, "solved": solved, "sequences": 1000 * (trial + 1) if solved
                else "", "test_wrong": 0.0 if solved else 0.5, "test_mse": 0.01, "seconds": 1.0,
                "curve": [(100, 0.9), (1000, 0.0)]}  # fmt: skip

    return run_trial


def test_thin_curve_keeps_the_envelope_and_the_ends():
    rng = np.random.default_rng(0)
    values = 0.5 + 0.01 * rng.standard_normal(100_000)
    values[61_234], values[7_777] = 0.001, 0.999  # one dip, one spike
    curve = [(20 * (i + 1), float(v)) for i, v in enumerate(values)]
    thin = reproduce.thin_curve(curve, 1_000)
    assert len(thin) <= 1_000
    assert thin[0] == curve[0] and thin[-1] == curve[-1]
    assert curve[61_234] in thin and curve[7_777] in thin
    seen = [point[0] for point in thin]
    assert seen == sorted(set(seen))
    # Every kept point is a point of the curve; each run of 200 keeps 2.
    assert set(thin) <= set(curve) and len(thin) >= 998
    assert reproduce.thin_curve(curve[:50], 1_000) == curve[:50]
    with pytest.raises(ValueError, match="max_points.*3"):
        reproduce.thin_curve(curve, 3)


def test_run_writes_thinned_curves(tmp_path, monkeypatch):
    long_curve = [(20 * (i + 1), 0.5) for i in range(3 * reproduce.CURVE_POINTS)]

    def run_trial(*args, **kwargs):
        result = _fake_trial([])(*args, **kwargs)
        result["curve"] = long_curve
        return result

    monkeypatch.setattr(reproduce, "run_trial", run_trial)
    out = str(tmp_path / "out")
    reproduce.run([("4", {})], ["modern"], trials=1, output_dir=out)
    with open(os.path.join(out, "curves", "4_default_modern_0.json")) as f:
        written = json.load(f)
    assert len(written) <= reproduce.CURVE_POINTS
    assert written[-1] == list(long_curve[-1]) and written[0] == list(long_curve[0])


def test_summary_orders_parameters_by_number():
    rows = [{"experiment": "2c", "params": params, "setting": "paper", "trial": "0",
             "solved": "False", "sequences": "", "first_stage": "", "budget": "10",
             "test_wrong": "1.0", "test_mse": "0.25", "weights": "1", "seconds": "1"}
            for params in ("p=1000,q=1000", "", "p=50,q=50", "p=200,q=200")]  # fmt: skip
    # "" is the default, p = q = 100: between 50 and 200, not first.
    order = [s["params"] for s in reproduce.summarize(rows)]
    assert order == ["p=50,q=50", "", "p=200,q=200", "p=1000,q=1000"]


def test_first_trial_splits_a_rows_trials(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(reproduce, "run_trial", _fake_trial(calls))
    out = str(tmp_path / "out")
    reproduce.run([("4", {})], ["paper"], trials=3, output_dir=out, first_trial=2)
    assert [c[2] for c in calls] == [2]
    rows = reproduce.run([("4", {})], ["paper"], trials=3, output_dir=out)
    assert [c[2] for c in calls] == [2, 0, 1]  # trial 2 is not run again
    assert sorted(int(r["trial"]) for r in rows) == [0, 1, 2]
    with pytest.raises(ValueError, match="first_trial=3"):
        reproduce.run([("4", {})], ["paper"], trials=3, output_dir=out, first_trial=3)


def test_rerun_unsolved_reruns_only_unsolved_trials_with_smaller_budgets(tmp_path,
                                                                          monkeypatch):  # fmt: skip
    calls = []
    fake = _fake_trial(calls)

    def run_trial(experiment, params, setting, trial, seed, budget, label="", save_model=None):
        result = fake(experiment, params, setting, trial, seed, budget, label, save_model)
        if trial == 1 and budget > 500:  # trial 1 solves with the larger budget
            result.update(solved=True, sequences=700, test_wrong=0.0)
        return result

    monkeypatch.setattr(reproduce, "run_trial", run_trial)
    out = str(tmp_path / "out")
    path = os.path.join(out, "trials.csv")
    reproduce.run([("4", {})], ["paper", "modern"], trials=3, budget=500, output_dir=out)
    assert len(calls) == 6  # paper unsolved, modern solved
    before = open(path).read()
    # Without the flag nothing runs again, whatever the budget.
    reproduce.run([("4", {})], ["paper", "modern"], trials=3, budget=900, output_dir=out)
    assert len(calls) == 6 and open(path).read() == before
    # With it, a budget no larger than the rows' runs nothing either.
    reproduce.run([("4", {})], ["paper"], trials=3, budget=500, output_dir=out,
                  rerun_unsolved=True)  # fmt: skip
    assert len(calls) == 6
    rows = reproduce.run([("4", {})], ["paper", "modern"], trials=3, budget=900,
                         output_dir=out, rerun_unsolved=True)  # fmt: skip
    # Only the unsolved paper trials ran again; the solved modern ones did not.
    assert [(c[1], c[2]) for c in calls[6:]] == [("paper", 0), ("paper", 1), ("paper", 2)]
    assert len(rows) == 6  # one row per trial, in the old rows' places
    assert [(r["setting"], r["trial"]) for r in rows] == [
        (r["setting"], r["trial"]) for r in csv.DictReader(before.splitlines())]
    paper = {int(r["trial"]): r for r in rows if r["setting"] == "paper"}
    assert {t: r["budget"] for t, r in paper.items()} == {0: "900", 1: "900", 2: "900"}
    assert paper[1]["solved"] == "True" and paper[1]["sequences"] == "700"
    assert all(r["budget"] == "500" for r in rows if r["setting"] == "modern")
    superseded = reproduce.read_trials(os.path.join(out, "superseded.csv"))
    assert [(r["trial"], r["budget"], r["solved"]) for r in superseded] == [
        ("0", "500", "False"), ("1", "500", "False"), ("2", "500", "False")]
    assert not [name for name in os.listdir(out) if name.endswith(".partial")]
    # Solved now, trial 1 is not run again; 0 and 2 are, with a still larger budget.
    reproduce.run([("4", {})], ["paper"], trials=3, budget=1000, output_dir=out,
                  rerun_unsolved=True)  # fmt: skip
    assert [c[2] for c in calls[9:]] == [0, 2]
    # A row gone from the file meanwhile (another process, a hand edit) is
    # appended rather than lost.
    old = dict(reproduce.read_trials(path)[0])
    rows = reproduce.read_trials(path)[1:]
    os.remove(path)
    reproduce._write_rows(path, rows)
    reproduce._replace_row(path, old, {**old, "budget": "2000"})
    rows = reproduce.read_trials(path)
    assert len(rows) == 6 and rows[-1]["trial"] == old["trial"] and rows[-1]["budget"] == "2000"


def test_run_resumes_and_reports(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(reproduce, "run_trial", _fake_trial(calls))
    out = str(tmp_path / "out")
    experiments = [("4", {}), ("2c", {"p": 1000, "q": 1000})]
    reproduce.run(experiments[:1], trials=2, output_dir=out)
    assert len(calls) == 4
    assert all(c[3] is None for c in calls)
    models = str(tmp_path / "models")
    rows = reproduce.run(experiments, trials=2, output_dir=out,
                         save_models=models)  # a second run: only 2c
    assert len(calls) == 8 and all(c[0] == "2c" for c in calls[4:])
    assert calls[4][3] == os.path.join(models, "2c_p1000_q1000_paper_0.keras")
    assert len(rows) == 8
    report = str(tmp_path / "report.md")
    reproduce.write_report(out, report, "lstm-zoo reproduce --trials=2")
    text = open(report).read()
    assert "lstm-zoo reproduce --trials=2" in text
    assert "| 4 | adding problem (T=100) | paper | - | 0/2 | - | - | 300,000 |" in text
    assert "| 4 | adding problem (T=100) | modern | - | 2/2 | 1,500 | 0.02 | 300,000 |" in text
    assert "setting `modern`: 0 minutes." in text
    # The modern learning rates come from EXPERIMENTS, not from a copy of them.
    rates = ("learning rate 0.01; 1: 0.02 on a softmax's cross-entropy; 2a, 2b: 0.3; "
             "2c: 0.003; 5: 0.005")
    assert rates in " ".join(text.split())
    assert "100%, 49,000" in text  # the paper's number for 2c with p = q = 1000
    # A criterion parameter names its own row, against the paper's own number.
    reproduce.run([("5", {"n_seq": 13})], ["modern"], trials=1, output_dir=out)
    assert calls[-1][:3] == ("5", "modern", 0)
    reproduce.write_report(out, report, "lstm-zoo reproduce --trials=2")
    text = open(report).read()
    assert ("| 5 | multiplication problem (T=100,n_seq=13) | modern | - | 1/1 | 1,000 | 0.00 "
            "| 800,000 |") in text
    assert "1,273,000 (14/2560 wrong, MSE 0.0139)" in text
    assert os.path.exists(os.path.join(out, "curves_4.png"))
    assert os.path.exists(os.path.join(out, "curves_2c_p1000_q1000.png"))
    # Commands are listed once each, in order; notes below the marker survive.
    for command in ("lstm-zoo reproduce --a", "lstm-zoo reproduce --b", "lstm-zoo reproduce --a"):
        reproduce.record_command(out, command)
    with open(report, "a") as f:
        f.write(f"\n{reproduce.NOTES_MARKER}\nTrial 2 was cut short.\n")
    reproduce.write_report(out, report, "lstm-zoo reproduce --report_only")
    text = open(report).read()
    assert "    lstm-zoo reproduce --a\n    lstm-zoo reproduce --b\n\n" in text
    assert text.endswith("Trial 2 was cut short.\n") and text.count(reproduce.NOTES_MARKER) == 1


def test_cli_reports_and_rejects_bad_experiments(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / "trials.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, reproduce.FIELDS)
        writer.writeheader()
        writer.writerow({"experiment": "6a", "params": "", "setting": "paper", "trial": 0,
                         "seed": 0, "budget": 1000, "solved": True, "sequences": 800,
                         "test_wrong": 0.0, "test_mse": 0.001, "seconds": 2.0,
                         "weights": 156})  # fmt: skip
    done = run_cli(["reproduce", "--report_only", f"--output_dir={out}", "--backend=tensorflow"])
    assert done.returncode == 0, done.stderr
    text = (out / "report.md").read_text()
    assert "| 6a | temporal order, 2 symbols, 4 classes | paper | 156 | 1/1 | 800 | 0.03 |" in text
    bad = run_cli(["reproduce", "--experiments=4,9", f"--output_dir={out}",
                   "--backend=tensorflow"])  # fmt: skip
    assert bad.returncode == 2 and "'9'" in bad.stderr
    # --rerun_unsolved leaves a solved trial alone, whatever the budget.
    before = (out / "trials.csv").read_text()
    again = run_cli(["reproduce", "--experiments=6a", "--settings=paper", "--trials=1",
                     "--budget=5000", "--rerun_unsolved", f"--output_dir={out}",
                     "--backend=tensorflow"])  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    assert (out / "trials.csv").read_text() == before
    assert not (out / "superseded.csv").exists()


def test_paper_setting_trains_for_real_to_the_criterion(tmp_path):
    """`lstm-zoo reproduce` in the paper setting, nothing faked: the paper's net
    (102 weights) and its on-line A.1 rule solve the paper's two-sequence
    problem (3a, T = 100, N = 3) by the paper's ST1 and ST2 on 256 test
    sequences, and 2,560 fresh ones confirm it (about 17,000 sequences, 8 s
    on JAX)."""
    out = tmp_path / "out"
    result = run_cli(["reproduce", "--experiments=3a", "--settings=paper", "--trials=1",
                      "--budget=60000", f"--output_dir={out}"])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "trials.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["experiment"], row["params"], row["setting"]) == ("3a", "", "paper")
    assert row["solved"] == "True"
    assert b"\r" not in (out / "trials.csv").read_bytes()  # one line ending, as git keeps it
    sequences = int(row["sequences"])
    assert 1_000 <= sequences < 60_000  # learned, and within the budget
    assert float(row["test_wrong"]) < 0.01  # fresh sequences: under 1% misclassified
    report = (out / "report.md").read_text()
    first = int(row["first_stage"])
    assert 0 < first <= sequences  # ST1 comes first
    line = f"| 3a | two-sequence problem (N=3,T=100) | paper | 102 | 1/1 | {sequences:,} (ST1 "
    assert f"{line}{first:,}) |" in report


@pytest.mark.parametrize("experiment, inputs_dim, outputs, per_step",
                         [("3a", 3, 1, False), ("4", 2, 1, False), ("1", 7, 7, True)])  # fmt: skip
def test_no_two_weight_tensors_share_their_draws(experiment, inputs_dim, outputs, per_step):
    """Every randomly drawn weight of the paper's net is a value of its own:
    no tensor repeats another's draws (a shared seeded initializer gave 3a's
    three cell-input biases the kernel's three cell-input weights)."""
    for setting in ("paper", "modern"):
        model = reproduce.build_model(experiment, setting, inputs_dim, outputs, per_step,
                                      masked=True, seed=3)  # fmt: skip
        spec = reproduce.EXPERIMENTS[experiment]
        fixed = set(spec.input_gate_bias or ()) | set(spec.output_gate_bias or ())
        drawn = [float(v) for w in model.weights for v in np.ravel(w.numpy())
                 if float(v) not in fixed]  # fmt: skip
        assert len(drawn) > 50
        assert len(set(drawn)) == len(drawn), "a weight tensor repeats another's draws"
        assert max(abs(v) for v in drawn) <= spec.init_range


# The paper's table 10 ("w"), independent of `reproduce.EXPERIMENTS`.
PAPER_WEIGHTS = [("1", {}, 276), ("2a", {}, 10_504), ("2b", {}, 10_504), ("2c", {}, 664),
                 ("2c", {"p": 1000, "q": 1000}, 6064), ("2c", {"p": 50, "q": 1000}, 364),
                 ("2c", {"p": 50, "q": 50}, 364), ("2c", {"p": 200, "q": 200}, 1264),
                 ("3a", {}, 102), ("3b", {}, 102), ("3c", {}, 102), ("4", {}, 93),
                 ("4", {"T": 1000}, 93), ("5", {}, 93), ("6a", {}, 156),
                 ("6b", {}, 308)]  # fmt: skip


@pytest.mark.parametrize("experiment, params, weights", PAPER_WEIGHTS)
def test_paper_nets_have_the_papers_weight_counts(experiment, params, weights):
    from lstm_zoo.datasets import paper_tasks

    x, y, _ = paper_tasks.generate(experiment, 1, 0, **params)
    per_step = paper_tasks.TASKS[experiment].per_step
    model = reproduce.build_model(experiment, "paper", x.shape[-1], y.shape[-1], per_step,
                                  experiment not in ("2a", "2b"), seed=0)  # fmt: skip
    assert reproduce.count_weights(model) == weights
    # Every weight tensor draws its own numbers.
    drawn = [tuple(np.round(np.ravel(w.numpy())[:3], 6)) for w in model.trainable_weights]
    assert len(set(drawn)) == len(drawn)


def test_sequential_construction_adds_the_cell_when_the_error_stops_falling():
    model = reproduce.build_model("2a", "paper", 11, 11, True, False, seed=0)
    builder = reproduce.SequentialConstruction(patience=500)
    builder.set_model(model)
    switch = model.get_layer("cell_switch").switch
    for batch, value in enumerate([1.0, 0.5, 0.3, 0.29, 0.285, 0.28, 0.28]):
        builder.on_train_batch_end(100 * batch + 99, {"window_mse": value})
    assert builder.added_at is None and float(switch.numpy()) == 0.0  # last fall at 300
    builder.on_train_batch_end(799, {"window_mse": 0.28})
    assert builder.added_at == 800 and float(switch.numpy()) == 1.0
    x = np.zeros((1, 5, 11), "float32")
    x[0, 0, 3] = 1.0
    assert np.any(model.get_layer("cell_switch")(np.ones((1, 5, 1), "float32")).numpy() == 1.0)
    model.predict(x, verbose=0)
