"""Does the paper setting's float32 arithmetic cause its shortfalls?
(`results/reproduction.md`, "Precision".)

    python results/reproduction/precision.py EXPERIMENT SETTING BUDGET TRIAL [TRIAL ...]

Runs `reproduce.run_trial` with Keras' float type set to float64 (JAX with
`jax_enable_x64`): the same nets, draws, data and rule as the table's rows,
computed in double precision, as the paper's 1997 code most likely was.
EXPERIMENT is as `lstm-zoo reproduce --experiments` takes it (`4`,
`2c/p=100/q=100`). Prints one JSON line per trial (the curve left out) and
writes it to `precision_<experiment>_<setting>.jsonl` beside this script.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import keras  # noqa: E402

keras.config.set_floatx("float64")

import screen  # noqa: E402

from lstm_zoo import reproduce  # noqa: E402


def main(spec, setting, budget, trials):
    experiment, params = reproduce.parse_experiment(spec)
    screen.record(screen.name_for("precision", spec, setting), experiment, params, setting,
                  trials, budget, lambda: {"floatx": keras.config.floatx()})  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(t) for t in sys.argv[4:]] or [0])
