"""Does `lstm_zoo.paper_learning` compute what the JKU LSTM simulator
computes? Trains a paper net from the same initial weights on the same
sequences in both and prints the largest weight difference after 1, 10, 100
and 1,000 sequences.

    python lstm_c_check.py EXPERIMENT LSTM_C_DIR [SEQUENCES]

EXPERIMENT: 1 (the embedded Reber grammar, `lstm_c_driver.c`), 4 or 5
(the adding and the multiplication problem, `lstm_c_stream_driver.c`). `lstm.c`
(www.bioinf.jku.at/software/lstm) is not in this repository; give the folder
that holds a copy. The driver's dump mode draws lstm.c's initial weights
(seed 1; the paper's net: 276 or 93 weights, zero start) and trains with
lstm.c's functions in double precision on the table's trial 0 data (Reber:
strings it picks from the training set; 4 and 5: sequences of lstm_zoo's
generator, seed (0, 0)), writing the weights. The same weights are loaded into
`reproduce.build_model(EXPERIMENT, "paper", ...)` and trained by
`PaperLearningRule` (one update per sequence, eq. 19, the paper setting's
rate) on the same sequences, in float64 (JAX with x64).
"""

import os
import subprocess
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import keras  # noqa: E402

keras.config.set_floatx("float64")

import lstm_c_reber  # noqa: E402
import lstm_c_stream  # noqa: E402
import numpy as np  # noqa: E402
from lstm_c_common import NETS, build_driver, keras_weights  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.datasets import reber  # noqa: E402
from lstm_zoo.paper_learning import PaperLearningRule  # noqa: E402


def read_dump(path):
    """A driver's dump: `{sequences seen: lstm.c's matrix}` and the training
    strings it picked (Reber's "string I" lines; empty for 4 and 5)."""
    weights, picks, current = {}, [], None
    with open(path) as f:
        for line in f:
            word, *rest = line.split()
            if word == "weights":
                current = weights.setdefault(int(rest[0]), [])
            elif word == "string":
                picks.append(int(rest[0]))
            else:
                current.append([float(v) for v in (word, *rest)])
    return {k: np.array(v) for k, v in weights.items()}, picks


def run_lstm_c(experiment, lstm_c_dir, count, work):
    """Runs the driver's dump mode; returns its weights (`read_dump`) and the
    sequences it trained on, `[(x, y), ...]`."""
    rate = str(NETS[experiment][-1])
    driver = "lstm_c_driver.c" if experiment == "1" else "lstm_c_stream_driver.c"
    binary, data, dump = (os.path.join(work, n) for n in ("driver", "data", "dump.txt"))
    build_driver(driver, lstm_c_dir, binary)
    if experiment == "1":
        lstm_c_reber.write_data(0, data)
        subprocess.run(
            [binary, data, "1", str(count), rate, "0", "1", str(10 * count), dump],
            check=True,
            capture_output=True,
        )
        weights, picks = read_dump(dump)
        x, y, lengths, _ = reber.embedded_reber(256, seed=(0, 1))
        return weights, [(x[i, : lengths[i]], y[i, : lengths[i]]) for i in picks]
    x, y, lengths = lstm_c_stream.generate(experiment, count, (0, 0))
    with open(data, "wb") as f:
        f.write(lstm_c_stream.records(x[:10], y[:10], lengths[:10]))
    subprocess.run(
        [binary, data, "1", str(count), rate, "0", "0.01", "1", dump],
        input=lstm_c_stream.records(x, y, lengths),
        check=True,
        capture_output=True,
    )
    return read_dump(dump)[0], [(x[i, : lengths[i]], y[i]) for i in range(count)]


def main(experiment, lstm_c_dir, count):
    if experiment not in NETS:
        raise ValueError(f"EXPERIMENT={experiment!r}: expected one of {sorted(NETS)}")
    inputs, outputs, *_, rate = NETS[experiment]
    work = tempfile.mkdtemp(prefix="lstm_c_")
    weights, sequences = run_lstm_c(experiment, lstm_c_dir, count, work)
    per_step = experiment == "1"
    model = reproduce.build_model(experiment, "paper", inputs, outputs, per_step, True, 0, {})
    start = keras_weights(experiment, weights[0])
    if [w.shape for w in model.get_weights()] != [w.shape for w in start]:
        raise RuntimeError("the paper net's weights are not laid out as this check maps them")
    print(f"experiment {experiment}: {sum(w.size for w in start)} weights")
    model.set_weights(start)
    rule = PaperLearningRule(model, rate, update="sequence", error="eq19", per_step=per_step)
    for seen, (x, y) in enumerate(sequences, start=1):
        rule.train_sequence(x, y)
        if seen in weights:
            theirs = keras_weights(experiment, weights[seen])
            largest = max(
                float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), theirs, strict=True)
            )
            moved = max(float(np.abs(b - a).max()) for a, b in zip(start, theirs, strict=True))
            print(
                f"after {seen:>5} sequences: largest difference {largest:.3g} "
                f"(largest change of a weight since the start {moved:.3g})",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1000)
