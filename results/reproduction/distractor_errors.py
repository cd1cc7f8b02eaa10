"""Where a trained 2c net is wrong (`results/reproduction.md`, 2c).

    lstm-zoo reproduce --experiments=2c/p=50/q=50 --settings=paper --trials=3 \
        --first_trial=2 --budget=200000 --output_dir=DIR --save_models=DIR/models
    python results/reproduction/distractor_errors.py DIR/models/2c_p50_q50_paper_2.keras

Judges the model on 50,000 fresh sequences of 2c with p = q = 50 (threshold
0.2 on both outputs at the end), and prints the wrong sequences: their
lengths against all lengths, their outputs, their first six symbols, and
for the first two distractors (steps 2 and 3, right after the x or y to be
stored) the symbol most common among the wrong sequences, with how often
sequences holding it there are wrong.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from lstm_zoo.datasets import paper_tasks  # noqa: E402

BLOCKS, PER_BLOCK = 25, 2000


def main(path):
    model = keras.saving.load_model(path)
    wrong, lengths, heads, outputs = [], [], [], []
    for k in range(BLOCKS):
        x, y, _ = paper_tasks.generate("2c", PER_BLOCK, (123, k), p=50, q=50)
        p = np.asarray(model.predict(x, batch_size=500, verbose=0))
        target = y[:, -1] if y.ndim == 3 else y
        wrong.append(np.abs(target[:, : p.shape[-1]] - p).max(-1) >= 0.2)
        lengths.append((np.abs(x).sum(-1) > 0).sum(-1))
        heads.append(x.argmax(-1)[:, :6])
        outputs.append(p)
    wrong, lengths, heads, outputs = map(np.concatenate, (wrong, lengths, heads, outputs))
    print(f"{wrong.sum()} of {len(wrong)} wrong ({wrong.mean():.5f})")
    print("lengths, all: median, 90th, 99th percentile, max:",
          np.percentile(lengths, [50, 90, 99]).tolist(), lengths.max())  # fmt: skip
    print("lengths, wrong:", sorted(lengths[wrong].tolist()))
    for head, out in zip(heads[wrong], outputs[wrong].round(3), strict=True):
        print("first symbols", head.tolist(), "outputs", out.tolist())
    for step in (2, 3):
        symbols, counts = np.unique(heads[wrong][:, step], return_counts=True)
        top = symbols[np.argmax(counts)]
        holding = heads[:, step] == top
        print(f"step {step}: symbol {top} in {counts.max()} of the {wrong.sum()} wrong; "
              f"{wrong[holding].sum()} of the {holding.sum()} sequences with it there are "
              f"wrong ({wrong[holding].mean():.4f})")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1])
