"""Re-evaluates the two captioners trained by results/captioning.md (checkpoints in
runs/captioning/) on the 500 held-out-pair test scenes at beam widths 1, 3 and 8, and
writes the example images and the rows of the example table."""
import json
import os

import keras
import numpy as np
import tensorflow as tf

import lstm_zoo  # noqa: F401
from lstm_zoo.datasets import shapes

images, refs, _ = shapes.shape_scenes(500, "test", seed=0, image_size=64)
out = {}
for cell in ("lstm1997", "keras_lstm"):
    model = keras.saving.load_model(f"runs/captioning/{cell}.keras", safe_mode=True)
    for width in (1, 3, 8):
        r = model.evaluate_captions(images, refs, beam_width=width)
        out[(cell, width)] = r
        print(cell, width, {k: round(v, 4) for k, v in r.items() if k != "hypotheses"}, flush=True)
rows = []
folder = "results/captioning/examples"
os.makedirs(folder, exist_ok=True)
for i in range(8):
    large = np.kron(images[i], np.ones((3, 3, 1), np.uint8))  # 192 px to look at
    tf.io.write_file(f"{folder}/test_{i}.png", tf.io.encode_png(large))
    captions = [out[(cell, width)]["hypotheses"][i]
                for cell in ("lstm1997", "keras_lstm") for width in (1, 3)]
    rows.append(f"| ![](examples/test_{i}.png) | {refs[i][0]} | " + " | ".join(captions) + " |")
with open("runs/captioning/posthoc.md", "w") as f:
    f.write("\n".join(rows) + "\n")
summary = {f"{cell}_beam{width}": {k: v for k, v in r.items() if k != "hypotheses"}
           for (cell, width), r in out.items()}
with open("runs/captioning/posthoc.json", "w") as f:
    json.dump(summary, f, indent=1)
