"""The adding problem generator and the `lstm-zoo train adding` main job."""

import re
import subprocess
import sys

import numpy as np
import pytest

from lstm_zoo.datasets import adding_problem


def test_paper_variant_follows_the_paper():
    x, y, lengths = adding_problem(500, length=100, seed=3)
    assert x.shape == (500, 110, 2) and y.shape == (500, 1)
    assert lengths.min() >= 100 and lengths.max() <= 110
    for n in range(500):
        steps = lengths[n]
        values, markers = x[n, :steps, 0], x[n, :steps, 1]
        assert np.all(x[n, steps:] == 0.0)  # padding
        assert np.all(np.abs(values) <= 1.0)
        marked = np.flatnonzero(markers == 1.0)
        assert len(marked) == 2
        assert marked.min() < 10  # X1 among the first ten pairs
        assert marked.max() < 100 // 2 - 1  # X2 among the first T/2 - 1
        ends = [i for i in (0, steps - 1) if i not in marked]
        assert np.all(markers[ends] == -1.0)
        rest = np.setdiff1d(np.arange(steps), np.concatenate([marked, ends]))
        assert np.all(markers[rest] == 0.0)
        if 0 in marked:
            assert values[0] == 0.0
        assert np.isclose(y[n, 0], 0.5 + values[marked].sum() / 4.0)
    assert 0.0 <= y.min() and y.max() <= 1.0
    # The trivial predictor 0.5 has MSE about 0.0417 (the design's baseline).
    assert abs(np.mean((y - 0.5) ** 2) - 0.0417) < 0.006


def test_modern_variant():
    x, y, lengths = adding_problem(400, length=50, seed=1, variant="modern")
    assert x.shape == (400, 50, 2) and np.all(lengths == 50)
    assert np.all((x[..., 0] >= 0) & (x[..., 0] <= 1))
    marks = x[..., 1]
    assert np.all(marks[:, :25].sum(axis=1) == 1) and np.all(marks[:, 25:].sum(axis=1) == 1)
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * marks).sum(axis=1), rtol=1e-6)
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.04


def test_deterministic_by_seed():
    a, b = adding_problem(20, seed=7), adding_problem(20, seed=7)
    c = adding_problem(20, seed=8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_sequences": 0}, "num_sequences=0"),
        ({"num_sequences": 4, "length": 21}, "length=21"),
        ({"num_sequences": 4, "length": 1, "variant": "modern"}, "length=1"),
        ({"num_sequences": 4, "variant": "new"}, "variant='new'"),
    ],
)
def test_invalid_parameters(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        adding_problem(**kwargs)


def test_main_job_learns_short_adding_problem(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lstm_zoo_cli",
            "train",
            "adding",
            "--length=22",
            "--train_sequences=4000",
            "--epochs=4",
            "--test_sequences=500",
            "--units=16",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "runs" / "adding" / "model.keras").is_file()
    test_mse = float(re.search(r"test .*MSE ([0-9.]+)", result.stdout).group(1))
    baseline = float(re.search(r"baseline .*MSE ([0-9.]+)", result.stdout).group(1))
    assert test_mse < 0.2 * baseline


def test_cli_rejects_unknown_task():
    result = subprocess.run(
        [sys.executable, "-m", "lstm_zoo_cli", "train", "sorting"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "sorting" in result.stderr
