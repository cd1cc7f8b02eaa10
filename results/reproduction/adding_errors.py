"""Where a trained adding net (experiment 4) is wrong (`results/reproduction.md`).

    lstm-zoo reproduce --experiments=4 --settings=paper --trials=1 --budget=300000 \
        --output_dir=DIR --save_models=DIR/models
    python results/reproduction/adding_errors.py DIR/models/4_default_paper_0.keras

Judges the model on 5,000 fresh paper-variant sequences (threshold 0.04) and
prints the wrong fraction by target, by sequence length and by the positions
of the two marks, the outputs' range and the wrong sequences' targets.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from lstm_zoo.datasets import adding  # noqa: E402


def main(path):
    model = keras.saving.load_model(path)
    x, y, lengths = adding.adding_problem(5000, 100, seed=123)
    y = y[:, 0]
    p = model.predict(x, batch_size=500, verbose=0)[:, 0]
    wrong = np.abs(p - y) >= adding.CORRECT_ABS_ERROR
    print(f"wrong {wrong.mean():.4f}, mean squared error {np.mean((p - y) ** 2):.6f}")
    marks = x[:, :, 1] == 1
    first = marks.argmax(axis=1)
    second = marks.shape[1] - 1 - marks[:, ::-1].argmax(axis=1)
    for name, values, edges in [("target", y, np.linspace(0, 1, 11)),
                                ("length", lengths, [100, 104, 107, 111]),
                                ("first mark", first, [0, 1, 5, 10]),
                                ("second mark", second, [0, 10, 20, 30, 40, 50])]:  # fmt: skip
        bins = np.clip(np.digitize(values, edges) - 1, 0, len(edges) - 2)
        cells = [f"[{edges[b]:g}, {edges[b + 1]:g}): {wrong[bins == b].mean():.3f} "
                 f"of {(bins == b).sum()}" for b in np.unique(bins)]  # fmt: skip
        print(f"wrong by {name}: " + "; ".join(cells))
    print(f"outputs range from {p.min():.3f} to {p.max():.3f}")
    order = np.argsort(y[wrong])
    print("wrong sequences' targets:", [round(float(v), 3) for v in y[wrong][order]])
    print("their outputs:", [round(float(v), 3) for v in p[wrong][order]])


if __name__ == "__main__":
    main(sys.argv[1])
