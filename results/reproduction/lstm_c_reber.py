"""Experiment 1 (embedded Reber grammar) run by the JKU LSTM simulator's own
functions, as an independent check of `lstm_zoo.paper_learning`.

`lstm.c` (www.bioinf.jku.at/software/lstm, the simulator of Hochreiter's
institute) is not in this repository; give the folder that holds a copy.
`lstm_c_driver.c` beside this file `#include`s it (through
`lstm_c_common.h`) and replaces its `main` (its docstring says what the
driver sets and what lstm.c computes). This
script writes each data set in the driver's format (the strings of the
table's trials: `reproduce.run_trial`'s training and test sets), builds the
driver with gcc, runs the paper's 30 trials (3 data sets x 10 initial
weights, the paper's section 5.1) two at a time, and appends one JSON line a
trial to `lstm_c_1_rate<R>_cells<B>_start<Z>.jsonl` beside this file.

Usage:
    python lstm_c_reber.py LSTM_C_DIR RATE BIASED_CELLS ZERO_START BUDGET

    BIASED_CELLS: 0 for the paper's 276 weights (the cell inputs unbiased),
    1 for lstm.c's bias switch as it is (282). ZERO_START: 1 for the paper's
    zero activations before each string, 0 for lstm.c's 0.5.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

from lstm_c_common import build_driver

from lstm_zoo.datasets import reber

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_SETS = (0, 1, 2)
INITS = range(1, 11)
CHECK_EVERY = 256


def set_lines(strings):
    """One set in the driver's format: its size, then a line per string."""
    lines = [str(len(strings))]
    for string, legal in strings:
        steps = []
        for i in range(len(string) - 1):
            mask = sum(1 << reber.SYMBOLS.index(s) for s in legal[i])
            symbol, successor = (reber.SYMBOLS.index(s) for s in string[i : i + 2])
            steps.append(f"{symbol} {successor} {mask}")
        lines.append(f"{len(string) - 1} " + " ".join(steps))
    return lines


def write_data(trial, path):
    """The training and test strings of the table's trial `trial` (seed 0)."""
    train = reber.embedded_reber_strings(256, (trial, 1))
    seen = {string for string, _ in train}
    test = reber.embedded_reber_strings(256, (trial, 2), exclude=seen)
    with open(path, "w") as f:
        f.write("\n".join(set_lines(train) + set_lines(test)) + "\n")


def main(argv):
    if len(argv) != 6:
        raise SystemExit(__doc__)
    lstm_c_dir, rate, biased, zero, budget = argv[1:]
    for name, value in (("BIASED_CELLS", biased), ("ZERO_START", zero)):
        if value not in ("0", "1"):
            raise ValueError(f"{name}={value!r}: expected 0 or 1")
    work = tempfile.mkdtemp(prefix="lstm_c_")
    binary = os.path.join(work, "reber")
    build_driver("lstm_c_driver.c", lstm_c_dir, binary)
    for data_set in DATA_SETS:
        write_data(data_set, os.path.join(work, f"data_{data_set}.txt"))
    out = os.path.join(HERE, f"lstm_c_1_rate{rate}_cells{biased}_start{zero}.jsonl")

    def run(job):
        data_set, init = job
        data = os.path.join(work, f"data_{data_set}.txt")
        args = [binary, data, str(init), budget, rate, biased, zero, str(CHECK_EVERY)]
        printed = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        word, value = printed.split()
        return {
            "experiment": "1",
            "data_set": data_set,
            "init": init,
            "rate": float(rate),
            "weights": 282 if biased == "1" else 276,
            "zero_start": zero == "1",
            "budget": int(budget),
            "solved": word == "solved",
            "sequences": int(value) if word == "solved" else "",
            "fraction_correct": 1.0 if word == "solved" else float(value),
        }

    jobs = [(d, i) for d in DATA_SETS for i in INITS]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for result in pool.map(run, jobs):
            line = json.dumps(result)
            print(line, flush=True)
            with open(out, "a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv)
