"""A model with the layer exports to a SavedModel that loads without lstm_zoo."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from lstm_zoo.layers import LSTM1997

# Run in a fresh interpreter in which `import lstm_zoo` fails.
LOADER = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "lstm_zoo" or name.startswith("lstm_zoo."):
                raise ImportError("lstm_zoo is blocked in this process")
            return None

    sys.meta_path.insert(0, Block())
    import numpy as np
    import tensorflow as tf
    try:
        import lstm_zoo  # noqa: F401
        raise SystemExit("lstm_zoo was importable")
    except ImportError:
        pass
    loaded = tf.saved_model.load(sys.argv[1])
    results = {}
    for name in sys.argv[2:]:
        x = np.load(name)
        results[name] = loaded.serve(tf.constant(x)).numpy().tolist()
    print(json.dumps(results))
    """
)


@pytest.mark.tf_only
@pytest.mark.parametrize("gradient", ["full", "truncated"])
def test_saved_model_loads_without_lstm_zoo(tmp_path, gradient):
    inputs = keras.Input((None, 3))
    hidden = LSTM1997(6, cells_per_block=2, gradient=gradient, return_sequences=True)(inputs)
    outputs = keras.layers.Dense(2)(LSTM1997(4, forget_gate=True)(hidden))
    model = keras.Model(inputs, outputs)
    export_dir = tmp_path / "exported"
    model.export(str(export_dir), format="tf_saved_model", verbose=False)

    rng = np.random.default_rng(0)
    files, expected = [], {}
    for steps in (5, 17):  # two lengths: the time axis is dynamic
        x = rng.normal(size=(3, steps, 3)).astype("float32")
        path = str(tmp_path / f"x{steps}.npy")
        np.save(path, x)
        files.append(path)
        expected[path] = keras.ops.convert_to_numpy(model(x))
    script = tmp_path / "load.py"
    script.write_text(LOADER)
    result = subprocess.run(
        [sys.executable, str(script), str(export_dir), *files],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    for path in files:
        np.testing.assert_allclose(np.array(got[path]), expected[path], atol=1e-5)
