"""lstm_zoo.export: versions, atomicity, portability, verification without lstm_zoo."""

import json
import os
import re
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

from lstm_zoo.layers import LSTM1997
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.tf_only


def _model(units=4):
    inputs = keras.Input((None, 3))
    hidden = LSTM1997(units, return_sequences=True)(inputs)
    outputs = keras.layers.Dense(2)(LSTM1997(units, forget_gate=True)(hidden))
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def model():
    return _model()


def _export(model, base, **kwargs):
    from lstm_zoo.export import export_saved_model

    return export_saved_model(model, "toy", base_dir=str(base), **kwargs)


def test_versions_and_refusal_to_overwrite(tmp_path, model):
    from lstm_zoo.export import list_versions

    assert _export(model, tmp_path) == str(tmp_path / "toy" / "1")
    assert _export(model, tmp_path) == str(tmp_path / "toy" / "2")
    assert _export(model, tmp_path, version=5) == str(tmp_path / "toy" / "5")
    assert _export(model, tmp_path) == str(tmp_path / "toy" / "6")
    assert list_versions(tmp_path / "toy") == [1, 2, 5, 6]
    for version in (1, 5):
        assert sorted(os.listdir(tmp_path / "toy" / str(version))) == [
            "assets", "fingerprint.pb", "saved_model.pb", "variables",
        ]  # fmt: skip
    before = os.path.getmtime(tmp_path / "toy" / "5" / "saved_model.pb")
    with pytest.raises(FileExistsError, match="Version 5"):
        _export(model, tmp_path, version=5)
    assert os.path.getmtime(tmp_path / "toy" / "5" / "saved_model.pb") == before
    other = _model(units=3)
    _export(other, tmp_path, version=5, overwrite=True)
    card = json.loads((tmp_path / "toy" / "5" / "assets" / "lstm_zoo.json").read_text())
    assert card["parameter_count"] == other.count_params() != model.count_params()
    # Nothing but integer versions is left in the model folder.
    assert sorted(os.listdir(tmp_path / "toy")) == ["1", "2", "5", "6"]


@pytest.mark.parametrize("kwargs, match", [({"version": 0}, "version=0"),
                                           ({"version": "3"}, "version='3'")])  # fmt: skip
def test_bad_version_and_name(tmp_path, model, kwargs, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        _export(model, tmp_path, **kwargs)
    from lstm_zoo.export import export_saved_model

    with pytest.raises(ValueError, match="name='../x'"):
        export_saved_model(model, "../x", base_dir=str(tmp_path))


def test_crash_mid_export_leaves_no_version(tmp_path, model, monkeypatch):
    import lstm_zoo.export as export

    _export(model, tmp_path)

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.json, "dump", crash)  # dies after the graph is written
    with pytest.raises(OSError, match="No space left"):
        _export(model, tmp_path)
    assert sorted(os.listdir(tmp_path / "toy")) == ["1"]


def test_concurrent_exports_get_distinct_versions(tmp_path, model):
    checkpoint = tmp_path / "model.keras"
    model.save(checkpoint)
    command = [sys.executable, "-m", "lstm_zoo_cli", "export", "toy",
               f"--checkpoint={checkpoint}", f"--base_dir={tmp_path / 'out'}"]  # fmt: skip
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]  # fmt: skip
    paths = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-2000:]
        paths.append(out.strip().splitlines()[-1])
    assert sorted(os.path.basename(p) for p in paths) == ["1", "2", "3"]


def test_verify_in_fresh_process_without_lstm_zoo(tmp_path, model):
    path = _export(model, tmp_path, metadata={"application": "toy", "metrics": {"mse": 0.1}})
    result = subprocess.run([sys.executable, "-m", "lstm_zoo_cli", "verify", path],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "signature_def['serving_default']" in result.stdout
    assert "inputs['inputs'] dtype: float32 shape: (None, None, 3)" in result.stdout
    assert "none device-specific" in result.stdout
    assert "ok   serve example 0" in result.stdout
    card = json.loads((tmp_path / "toy" / "1" / "assets" / "lstm_zoo.json").read_text())
    assert card["metrics"] == {"mse": 0.1}
    assert card["parameter_count"] == model.count_params()
    assert card["keras_version"] == keras.__version__
    assert card["signatures"]["serve"]["inputs"][0]["shape"] == [None, None, 3]

    # A tampered recording is caught.
    examples = tmp_path / "toy" / "1" / "assets" / "lstm_zoo_examples.json"
    data = json.loads(examples.read_text())
    data["serve"][0]["outputs"][0]["values"][0] += 1.0
    examples.write_text(json.dumps(data))
    result = subprocess.run([sys.executable, "-m", "lstm_zoo_cli", "verify", path],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 1
    assert "FAIL serve example 0" in result.stdout


def test_saved_model_cli_runs_the_export(tmp_path, model):
    cli = shutil.which("saved_model_cli") or os.path.join(os.path.dirname(sys.executable),
                                                          "saved_model_cli")  # fmt: skip
    if not os.path.exists(cli):
        pytest.skip("saved_model_cli is not installed with this TensorFlow")
    path = _export(model, tmp_path)
    x = np.random.default_rng(3).normal(size=(2, 11, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    out_dir = tmp_path / "cli_out"
    result = subprocess.run(
        [cli, "run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
         "--inputs", f"inputs={tmp_path / 'x.npy'}", "--outdir", str(out_dir)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (saved,) = list(out_dir.glob("*.npy"))
    np.testing.assert_allclose(np.load(saved), keras.ops.convert_to_numpy(model(x)), atol=1e-5)


def test_serving_function_is_xla_compiled_and_checks_inputs(tmp_path, model):
    import tensorflow as tf

    path = _export(model, tmp_path)
    loaded = tf.saved_model.load(path)
    graph = loaded.serve.get_concrete_function().graph.as_graph_def()
    attrs = [f.attr for f in graph.library.function] + [n.attr for n in graph.node]
    assert any(a.get("_XlaMustCompile") and a["_XlaMustCompile"].b for a in attrs)

    x = np.random.default_rng(0).normal(size=(3, 13, 3)).astype("float32")
    np.testing.assert_allclose(loaded.serve(x).numpy(), keras.ops.convert_to_numpy(model(x)),
                               atol=1e-5)  # fmt: skip
    # Empty batch: an empty answer, not a crash.
    assert loaded.serve(np.zeros((0, 5, 3), "float32")).shape == (0, 2)
    # Wrong dtype, rank or feature size: a clear error naming the problem.
    with pytest.raises((TypeError, ValueError), match="(?i)int32|float32|dtype"):
        loaded.serve(tf.constant(np.zeros((2, 5, 3), "int32")))
    with pytest.raises((TypeError, ValueError), match=r"\(None, None, 3\)|shape"):
        loaded.serve(np.zeros((2, 3), "float32"))
    with pytest.raises((TypeError, ValueError), match=r"\(None, None, 3\)|shape"):
        loaded.serve(np.zeros((2, 5, 4), "float32"))


def test_litert_conversion_matches_the_saved_model(tmp_path, model):
    import tensorflow as tf

    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")
    from lstm_zoo.export import convert_to_litert

    loaded = tf.saved_model.load(_export(model, tmp_path))
    path = convert_to_litert(model, str(tmp_path / "toy.tflite"), batch_size=2)
    interpreter = interpreter_module.Interpreter(model_path=path)
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    for steps in (4, 23):  # the time axis stays dynamic
        x = np.random.default_rng(steps).normal(size=(2, steps, 3)).astype("float32")
        interpreter.resize_tensor_input(inp["index"], x.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        np.testing.assert_allclose(
            interpreter.get_tensor(out["index"]), loaded.serve(x).numpy(), atol=1e-5
        )
    with pytest.raises(ValueError, match="batch_size=0"):
        convert_to_litert(model, str(tmp_path / "bad.tflite"), batch_size=0)


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "lstm-zoo: error: export needs --checkpoint=PATH (a .keras file saved by `train`)"),
        (["--checkpoint=/nonexistent/model.keras"],
         "lstm-zoo: error: --checkpoint: no such file: /nonexistent/model.keras"),
    ],
)
def test_export_cli_errors_name_the_problem(tmp_path, args, message):
    result = run_cli(["export", "toy", *args, f"--base_dir={tmp_path / 'models'}"], cwd=tmp_path)
    assert_one_line_error(result, message)
    assert os.listdir(tmp_path) == []  # nothing written


def test_export_cli_rejects_a_file_that_is_not_a_model(tmp_path):
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"\x00not a zip archive")
    result = run_cli(["export", "toy", f"--checkpoint={bad}", f"--base_dir={tmp_path}"])
    assert_one_line_error(result, f"lstm-zoo: error: --checkpoint: cannot load {bad} as a Keras")
    assert os.listdir(tmp_path) == ["model.keras"]  # nothing written


def test_export_cli_version_and_overwrite(tmp_path, model):
    checkpoint = tmp_path / "model.keras"
    model.save(checkpoint)
    base = tmp_path / "models"
    args = ["export", "toy", f"--checkpoint={checkpoint}", f"--base_dir={base}", "--version=3"]
    first = run_cli(args)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.strip().splitlines()[-1] == str(base / "toy" / "3")
    assert os.listdir(base / "toy") == ["3"]
    pb = base / "toy" / "3" / "saved_model.pb"
    before = (pb.stat().st_mtime_ns, pb.read_bytes())
    refused = run_cli(args)
    assert_one_line_error(refused, "lstm-zoo: error: Version 3 of 'toy' already exists")
    assert "--overwrite" in refused.stderr
    assert (pb.stat().st_mtime_ns, pb.read_bytes()) == before  # untouched
    assert os.listdir(base / "toy") == ["3"]  # and no stray temporary folder
    replaced = run_cli([*args, "--overwrite"])
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    assert pb.stat().st_mtime_ns != before[0]
    assert os.listdir(base / "toy") == ["3"]
    bad = run_cli([*args[:-1], "--version=0"])
    assert_one_line_error(bad, "lstm-zoo: error: flag --version=0: 0 is not a positive integer")


def test_verify_flags_device_specific_ops(tmp_path):
    """A graph holding a cuDNN op fails `verify`, named, before anything runs."""
    import tensorflow as tf

    class CudnnModule(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.float32)])
        def serve(self, x):
            # Traced, never run: a graph that only a GPU server could execute.
            h = tf.zeros([1, tf.shape(x)[1], 4])
            out = tf.raw_ops.CudnnRNNV3(input=tf.transpose(x, [1, 0, 2]), input_h=h,
                                        input_c=h, params=tf.zeros([100]),
                                        sequence_lengths=tf.fill([tf.shape(x)[0]], 1))  # fmt: skip
            return {"outputs": out[0]}

    module = CudnnModule()
    path = tmp_path / "cudnn" / "1"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    result = run_cli(["verify", str(path)])
    assert result.returncode == 1
    assert "FAIL device-specific ops in the graph: ['CudnnRNNV3']" in result.stdout
    assert "none device-specific" not in result.stdout
