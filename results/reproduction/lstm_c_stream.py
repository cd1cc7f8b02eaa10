"""Experiments 4 and 5 (the adding and the multiplication problem, T = 100)
run by the JKU LSTM simulator's own functions, as an independent check of
`lstm_zoo.paper_learning` on the rows where plain gradient descent stalls.

`lstm.c` (www.bioinf.jku.at/software/lstm) is not in this repository; give
the folder that holds a copy. `lstm_c_stream_driver.c` beside this file
`#include`s it (through `lstm_c_common.h`) and replaces its `main` (its
comment says what the driver sets and what lstm.c computes). This script
builds the driver with gcc, writes 2,560 test sequences, and for each trial
pipes fresh training sequences of `lstm_zoo.datasets` (seeds `(trial, k)`)
into it, two trials at a time. It appends one JSON line a trial to
`lstm_c_<EXPERIMENT>_start<Z>.jsonl` beside this file.

With `--table`, a trial is the table's own trial in double precision: it
starts from the initial weights of `reproduce.build_model(EXPERIMENT,
"paper", ...)` for that trial (`lstm_c_common.lstm_matrix`) and trains on
the trial's own stream (`paper_tasks.stream` as `reproduce.run_trial`
draws it), and the lines go to `lstm_c_<EXPERIMENT>_table_start<Z>.jsonl`.

The table's initial weights are JAX's draws (`reproduce` runs on JAX;
another backend draws other numbers from the same seeds), so this script
sets `KERAS_BACKEND=jax` unless it is set. Before 2026-12-08 it did not, and
its `--table` runs built TensorFlow's draws (`*_table_tf_*.jsonl`).

`--input_gate_bias=B1,B2` or `r` (with `--table`) builds the table's net
with those input gate biases in place of the table's (`gate_bias.py`'s
change). A `--table` file name ends in the input gate biases its nets start
from: `_igb-3_-6`, or `_igbr` where they are drawn.

Usage:
    python lstm_c_stream.py [--table [--input_gate_bias=B1,B2]] EXPERIMENT LSTM_C_DIR \
        ZERO_START BUDGET TRIAL...

    EXPERIMENT: 4 (criterion: none of the last 2,000 sequences wrong, their
    MSE below 0.01; rate 0.5), 5 (fewer than 140 of them wrong; rate 0.1) or
    5/n_seq=13 (fewer than 13 wrong, the paper's second test of 5), as the
    paper sets them. ZERO_START: 1 for zero activations before each
    sequence, 0 for lstm.c's 0.5. Without `--table`, a trial's initial
    weights come from lstm.c's random() seeded with TRIAL + 1, and the input
    gate biases are -3 and -6 plus the draw (the driver's; for 5 that is
    section 5.5's "like in Section 5.4", where table 10 says "r"); with
    `--table` they are the table's (-3 and -6: 5 takes 4's since
    2026-12-08; until then table 10's "r").
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")

from lstm_c_common import build_driver, lstm_matrix  # noqa: E402

from lstm_zoo.datasets import adding, multiplication, paper_tasks  # noqa: E402

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


def fresh_stream(experiment, trial, budget):
    """Fresh sequences from the seeds `(trial, k)`, `CHUNK` at a time, as records."""
    for k in range(-(-budget // CHUNK)):
        yield records(*generate(experiment, CHUNK, (trial, k)))


def table_stream(experiment, trial, budget):
    """The training sequences of the table's trial `trial` (seed 0), in the
    order `reproduce.run_trial` trains on them, `CHUNK` records at a time."""
    from lstm_zoo import reproduce

    first = paper_tasks.generate(experiment, 1, 0)
    chunk = reproduce.training_chunk(first[0], 1)
    batches = paper_tasks.stream(experiment, 1, seed=(trial,), chunk=chunk, bucket=16)
    parts = []
    for _, batch in zip(range(budget), batches, strict=False):
        x, y = batch[0][0], batch[1][0]
        steps = int(np.nonzero(np.any(x != 0, axis=-1))[0][-1]) + 1
        parts.append(records(x[None], y[None], [steps]))
        if len(parts) == CHUNK:
            yield b"".join(parts)
            parts = []
    yield b"".join(parts)


def table_weights(experiment, trial, path, biases):
    """Writes the table's trial `trial`'s initial weights as lstm.c's matrix,
    with the input gate biases `biases` (`gate_bias.parse_biases`' text)."""
    import gate_bias

    from lstm_zoo import reproduce

    gate_bias.use_input_gate_bias(experiment, "paper", biases)
    model = reproduce.build_model(experiment, "paper", 2, 1, False, True, trial, {})
    np.savetxt(path, lstm_matrix(experiment, model.get_weights()), fmt="%.17g")


def main(argv):
    table = "--table" in argv
    biases = [a.split("=", 1)[1] for a in argv if a.startswith("--input_gate_bias=")]
    argv = [a for a in argv if a != "--table" and not a.startswith("--input_gate_bias=")]
    if biases and not table:
        raise ValueError(f"--input_gate_bias={biases[-1]!r}: only with --table")
    if len(argv) < 6:
        raise SystemExit(__doc__)
    experiment, lstm_c_dir, zero, budget, *trials = argv[1:]
    if experiment not in SETTINGS:
        raise ValueError(f"EXPERIMENT={experiment!r}: expected one of {sorted(SETTINGS)}")
    if zero not in ("0", "1"):
        raise ValueError(f"ZERO_START={zero!r}: expected 0 or 1")
    rate, max_wrong, max_mse = SETTINGS[experiment]
    # The input gate biases the nets start from: the driver's own -3 and -6,
    # or with --table the table's row's, or those given.
    text = "-3,-6"
    if table:
        import gate_bias

        text = biases[-1] if biases else gate_bias.biases_text(experiment[0])
        try:
            gate_bias.parse_biases(text, 2)
        except ValueError:
            raise ValueError(
                f"--input_gate_bias={text!r}: expected two comma-separated numbers or 'r'"
            ) from None
    work = tempfile.mkdtemp(prefix="lstm_c_")
    binary = os.path.join(work, "stream")
    build_driver("lstm_c_stream_driver.c", lstm_c_dir, binary)
    test_path = os.path.join(work, "test.bin")
    with open(test_path, "wb") as f:
        f.write(records(*generate(experiment, 2560, (0, 99_999))))
    name = experiment.replace("/", "_").replace("=", "")
    if table:
        name += "_table_igb" + text.replace(",", "_")
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
        if table:
            init = os.path.join(work, f"init_{trial}.txt")
            table_weights(experiment[0], trial, init, text)
            args += ["-", init]
        process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=False,
        )
        stream = table_stream if table else fresh_stream
        try:
            for part in stream(experiment[0], trial, int(budget)):
                process.stdin.write(part)
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
            "init": "table" if table else trial + 1,
            "input_gate_bias": text,
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
