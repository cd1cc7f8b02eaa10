"""How a paper-setting Reber net (experiment 1) learns, checkpoint by checkpoint
(`results/reproduction.md`, notes on experiment 1).

    python results/reproduction/reber_trace.py 0
    python results/reproduction/reber_trace.py 1 --learning_rate=0.02

Builds trial N's net exactly as `lstm-zoo reproduce --settings=paper` does
(`reproduce.build_model`, seed N), trains it with the paper's rule
(`PaperLearningRule`, one update per string) on the trial's 256 training
strings picked at random, and after each chunk of strings judges 512 fresh
strings: the fraction of strings and of steps predicted correctly
(`reber.legal_steps`), the long-lag step alone (input: the inner
string's E; target: the outer T or P), and each cell's largest |s(T)| over
the strings. Writes `results/reproduction/reber_trace_N.json` (with the
learning rate in the name when it is not the paper's).
"""

import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
from state_drift import last_cell_states  # noqa: E402  (this folder's script)

from lstm_zoo import reproduce  # noqa: E402
from lstm_zoo.datasets import reber  # noqa: E402
from lstm_zoo.layers import LSTM1997  # noqa: E402
from lstm_zoo.paper_learning import PaperLearningRule  # noqa: E402

CHUNKS = [500] * 4 + [1000] * 8 + [5000] * 8  # 50,000 strings


def judge(model, layer, x, lengths, legal):
    """Fractions correct (strings, steps, long-lag step) and max |s(T)| per cell."""
    ok = reber.legal_steps(model.predict(x, verbose=0), legal)
    valid = np.arange(x.shape[1])[None] < lengths[:, None]
    # Input at step lengths - 2 is the inner string's E; its target the outer T/P.
    long_lag = ok[np.arange(len(x)), lengths - 2]
    s = last_cell_states(layer, x, np.any(x != 0, axis=-1))
    return {"strings_ok": float(np.all(ok | ~valid, axis=1).mean()),
            "steps_ok": float(ok[valid].mean()), "long_lag_ok": float(long_lag.mean()),
            "max_abs_s": [round(float(v), 1) for v in np.abs(s).max(axis=0)]}  # fmt: skip


def main(trial, learning_rate):
    spec = reproduce.EXPERIMENTS["1"]
    rate = spec.learning_rate if learning_rate is None else learning_rate
    train = reber.embedded_reber(256, seed=(trial, 1))
    weights = (train[2][:, None] > np.arange(train[0].shape[1])[None]).astype("float32")
    model = reproduce.build_model("1", "paper", 7, 7, True, True, trial)
    layer = next(layer for layer in model.layers if isinstance(layer, LSTM1997))
    rule = PaperLearningRule(model, rate, update="sequence", per_step=True)
    x, _, lengths, legal = reber.embedded_reber(512, seed=(123, 4))
    rng = np.random.default_rng(trial)
    rows, seen = [], 0
    for chunk in CHUNKS:
        order = rng.integers(0, 256, chunk)
        rule.fit(((train[0][i : i + 1], train[1][i : i + 1], weights[i : i + 1]) for i in order),
                 chunk, log_every=10**9)  # fmt: skip
        seen += chunk
        rows.append({"strings": seen, **judge(model, layer, x, lengths, legal)})
        print(json.dumps(rows[-1]), flush=True)
    suffix = "" if rate == spec.learning_rate else f"_lr{rate:g}"
    path = os.path.join(os.path.dirname(__file__), f"reber_trace_{trial}{suffix}.json")
    with open(path, "w") as f:
        json.dump({"trial": trial, "learning_rate": rate, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trial", type=int, help="the trial's seed (reproduce --seed=0: 0-9)")
    parser.add_argument("--learning_rate", type=float, default=None,
                        help="default: the paper's (0.5)")  # fmt: skip
    args = parser.parse_args()
    main(args.trial, args.learning_rate)
