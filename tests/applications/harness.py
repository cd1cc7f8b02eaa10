"""The test harness every application shares (in the manner of keras-hub's
`run_task_test` / `run_model_saving_test`):

- `check_config_round_trip`: `from_config(get_config())` rebuilds the model;
- `check_keras_round_trip`: a `.keras` file loads (safe mode) and answers alike;
- `check_fit_step`: `compile()` with the application's defaults, one `fit`
  step: a finite loss, and the weights move;
- `serve_in_fresh_process`: the application's export, called in a process that
  cannot import lstm_zoo, on good and bad inputs; `lstm-zoo verify` passes.
"""

import json
import os
import pickle
import subprocess
import sys

import keras
import numpy as np

import lstm_zoo


def check_config_round_trip(model):
    config = model.get_config()
    again = type(model).from_config(config)
    assert again.get_config() == config
    return again


def check_keras_round_trip(model, path, probe):
    """Saves `model` to `path`, loads it in safe mode, and checks that
    `probe(loaded) == probe(model)`; returns the loaded model."""
    model.save(str(path))
    loaded = keras.saving.load_model(str(path), safe_mode=True)
    assert type(loaded) is type(model)
    expected, got = probe(model), probe(loaded)
    if isinstance(expected, np.ndarray):
        np.testing.assert_allclose(got, expected, atol=1e-5)
    else:
        assert got == expected
    return loaded


def check_fit_step(model, dataset):
    """One `fit` step after `compile()` ("auto": the application's optimizer
    and loss); returns the loss."""
    model.compile()
    before = [np.array(w) for w in model.trainable_weights]
    history = model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    loss = history.history["loss"][0]
    assert np.isfinite(loss)
    moved = max(float(np.abs(np.array(w) - b).max())
                for w, b in zip(model.trainable_weights, before, strict=True))  # fmt: skip
    assert moved > 0.0
    return loss


SERVE = """
import json, pickle, sys
sys.modules["lstm_zoo"] = None  # importing lstm_zoo fails in this process
import numpy as np, tensorflow as tf

def plain(value):
    value = value.numpy()
    if value.dtype == object:
        text = [v.decode("utf-8", "replace") for v in value.reshape(-1)]
        return np.array(text, dtype=object).reshape(value.shape).tolist()
    return value.tolist()  # json writes -inf as -Infinity, which json.loads reads

model = tf.saved_model.load(sys.argv[1])
cases = pickle.load(open(sys.argv[2], "rb"))
results = {}
for name, (endpoint, inputs) in cases.items():
    try:
        out = model.signatures[endpoint](**{k: tf.constant(v) for k, v in inputs.items()})
        results[name] = {k: plain(v) for k, v in out.items()}
    except tf.errors.InvalidArgumentError as error:
        results[name] = {"error": " ".join(error.message.split())}
print(json.dumps(results))
"""


def serve_in_fresh_process(model, tmp_path, cases, endpoints=None):
    """Exports `model` (its own endpoints and examples, as `lstm-zoo train`
    does), checks it with `verify`, and calls it in a fresh process.

    Args:
        model: An application model.
        tmp_path: A scratch folder.
        cases: `{name: (signature, {input: array})}`.
        endpoints: The export's endpoints (default: the model's own).

    Returns:
        `{name: {output: list} or {"error": message}}`; bad inputs that raise
        come back as their one-line message.
    """
    from lstm_zoo.export import export_model

    path = export_model(model, "app", base_dir=str(tmp_path / "models"), endpoints=endpoints,
                        metadata=model.model_card())  # fmt: skip
    script = os.path.join(os.path.dirname(lstm_zoo.__file__), "verify_saved_model.py")
    verify = subprocess.run([sys.executable, script, path], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    with open(tmp_path / "cases.pkl", "wb") as f:
        pickle.dump(cases, f)
    run = subprocess.run([sys.executable, "-c", SERVE, path, str(tmp_path / "cases.pkl")],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])
