"""Experiments 4 and 5 (the adding and the multiplication problem, T = 100)
run by the JKU LSTM simulator's own functions, as an independent check of
`lstm_zoo.paper_learning` on the rows where plain gradient descent stalls.

`lstm.c` (www.bioinf.jku.at/software/lstm) is not in this repository; give
the folder that holds a copy. `lstm_c_stream_driver.c` beside this file
`#include`s it and replaces its `main` (its comment says what the driver sets
and what lstm.c computes). This script builds the driver with gcc, writes
2,560 test sequences, and for each trial pipes fresh training sequences of
`lstm_zoo.datasets` (seeds `(trial, k)`) into it, two trials at a time. It
appends one JSON line a trial to `lstm_c_<EXPERIMENT>_start<Z>.jsonl` beside
this file.

Usage:
    python lstm_c_stream.py EXPERIMENT LSTM_C_DIR ZERO_START BUDGET TRIAL...

    EXPERIMENT: 4 (criterion: none of the last 2,000 sequences wrong, their
    MSE below 0.01; rate 0.5), 5 (fewer than 140 of them wrong; rate 0.1) or
    5/n_seq=13 (fewer than 13 wrong, the paper's second test of 5), as the
    paper sets them. ZERO_START: 1 for zero activations before each
    sequence, 0 for lstm.c's 0.5. A trial's initial weights come from
    lstm.c's random() seeded with TRIAL + 1.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from lstm_zoo.datasets import adding, multiplication

HERE = os.path.dirname(os.path.abspath(__file__))
T = 100
CHUNK = 2000
#: experiment -> (rate, max_wrong, max_mse): the paper's, as `reproduce` sets them.
SETTINGS = {"4": (0.5, 0, 0.01), "5": (0.1, 139, 0.0), "5/n_seq=13": (0.1, 12, 0.0)}


def generate(experiment, n, seed):
    """`n` sequences `(inputs, targets, lengths)` of experiment 4 or 5."""
    if experiment == "4":
        return adding.adding_problem(n, T, seed, "paper")
    return multiplication.multiplication_problem(n, T, seed)


def records(inputs, targets, lengths):
    """The driver's binary format, one record a sequence."""
    parts = []
    for x, y, steps in zip(inputs, targets, lengths, strict=True):
        parts.append(np.int32(steps).tobytes())
        parts.append(np.ascontiguousarray(x[:steps], "float32").tobytes())
        parts.append(np.float32(y[0]).tobytes())
    return b"".join(parts)


def main(argv):
    if len(argv) < 6:
        raise SystemExit(__doc__)
    experiment, lstm_c_dir, zero, budget, *trials = argv[1:]
    if experiment not in SETTINGS:
        raise ValueError(f"EXPERIMENT={experiment!r}: expected one of {sorted(SETTINGS)}")
    if not os.path.isfile(os.path.join(lstm_c_dir, "lstm.c")):
        raise ValueError(f"LSTM_C_DIR={lstm_c_dir!r} holds no lstm.c")
    if zero not in ("0", "1"):
        raise ValueError(f"ZERO_START={zero!r}: expected 0 or 1")
    rate, max_wrong, max_mse = SETTINGS[experiment]
    work = tempfile.mkdtemp(prefix="lstm_c_")
    binary = os.path.join(work, "stream")
    subprocess.run(
        [
            "gcc",
            "-O2",
            "-std=gnu89",
            "-w",
            "-I",
            lstm_c_dir,
            os.path.join(HERE, "lstm_c_stream_driver.c"),
            "-o",
            binary,
            "-lm",
        ],
        check=True,
    )
    test_path = os.path.join(work, "test.bin")
    with open(test_path, "wb") as f:
        f.write(records(*generate(experiment, 2560, (0, 99_999))))
    name = experiment.replace("/", "_").replace("=", "")
    out = os.path.join(HERE, f"lstm_c_{name}_start{zero}.jsonl")

    def run(trial):
        args = [
            binary,
            test_path,
            str(trial + 1),
            budget,
            str(rate),
            str(max_wrong),
            str(max_mse),
            zero,
        ]
        process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=False,
        )
        try:
            for k in range(-(-int(budget) // CHUNK)):
                process.stdin.write(records(*generate(experiment, CHUNK, (trial, k))))
        except BrokenPipeError:
            pass  # solved: the driver stopped reading
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
        words = process.stdout.read().decode().split()
        if process.wait() != 0:
            raise RuntimeError(f"the driver failed on trial {trial}")
        return {
            "experiment": experiment[0],
            "params": f"T={T}" + experiment[1:].replace("/", ","),
            "trial": trial,
            "init": trial + 1,
            "rate": rate,
            "weights": 93,
            "zero_start": zero == "1",
            "budget": int(budget),
            "solved": words[0] == "solved",
            "sequences": int(words[1]) if words[0] == "solved" else "",
            "test_wrong": float(words[3]),
            "test_mse": float(words[5]),
        }

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for result in pool.map(run, [int(t) for t in trials]):
            line = json.dumps(result)
            print(line, flush=True)
            with open(out, "a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv)
