"""SavedModel export for TF Serving: the one export path of lstm_zoo.

`export_saved_model` writes `<base_dir>/<name>/<version>/` (`saved_model.pb`,
`variables/`, `assets/`), the layout TF Serving's model server watches:

- Versions are integers; the next free one by default. An existing version is
  never overwritten unless asked.
- Atomic: the SavedModel is written to a hidden temporary folder beside the
  versions (`.tmp-...`, not an integer, so a model server ignores it) and
  renamed into place, so a crash or a full disk never leaves a half-written
  version. Concurrent exports get distinct versions: a rename onto a version
  another export just took fails, and the next number is tried.
- Endpoints are `tf.function`s compiled with XLA (`jit_compile=True`, which
  TPUs need), with dynamic batch (and time) axes; the first is also
  `serving_default`.
- `assets/lstm_zoo.json` holds the model card (application, config, labels,
  training data, metrics, versions, parameter count, signatures) and
  `assets/lstm_zoo_examples.json` example inputs with the outputs recorded at
  export time, which `lstm-zoo verify` checks in a process without lstm_zoo.

`convert_to_litert` converts a model to LiteRT (TFLite) with builtin ops only.
"""

import datetime
import json
import os
import re
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from lstm_zoo.layers import fast_kernel
from lstm_zoo.verify_saved_model import DEVICE_SPECIFIC_OPS, graph_op_types

METADATA_FILE = "lstm_zoo.json"
EXAMPLES_FILE = "lstm_zoo_examples.json"


def list_versions(model_dir):
    """Integer versions present in `model_dir`, ascending (empty if none)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(n) for n in os.listdir(model_dir) if n.isdigit())


def _check_version(version):
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version <= 0:
        raise ValueError(
            f"Argument `version` must be a positive integer; received: version={version!r}"
        )
    return version


def _check_name(name):
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name[0] == ".":
        raise ValueError(
            "Argument `name` must be a folder name of letters, digits, '_', '-' and '.' "
            f"(not starting with '.'); received: name={name!r}"
        )
    return name


def default_endpoints(model):
    """`{"serve": (fn, input_signature)}` for a Keras model with one tensor input.

    The batch axis is dynamic, and so is the time axis of a `(batch, time,
    features)` input, whatever the model was built with.
    """
    inputs = model.inputs
    if len(inputs) != 1:
        raise ValueError(
            f"Argument `model` must have one input to get a default endpoint; it has "
            f"{len(inputs)}. Pass `endpoints=` instead."
        )
    shape = list(inputs[0].shape)
    shape[0] = None
    if len(shape) == 3:
        shape[1] = None
    signature = [tf.TensorSpec(shape, inputs[0].dtype, name="inputs")]
    return {"serve": (lambda x: model(x, training=False), signature)}


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _encode(array):
    array = np.asarray(array)
    if array.dtype.kind in "SUO":
        flat = [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in array.ravel()]
        return {"dtype": "string", "shape": list(array.shape), "values": flat}
    return {"dtype": str(array.dtype), "shape": list(array.shape), "values": array.ravel().tolist()}


def _signature_summary(fn):
    concrete = fn.get_concrete_function()
    inputs = [
        {"name": spec.name, "dtype": spec.dtype.name, "shape": spec.shape.as_list()}
        for spec in tf.nest.flatten(concrete.structured_input_signature)
        if isinstance(spec, tf.TensorSpec)
    ]
    outputs = [
        {"dtype": spec.dtype.name, "shape": spec.shape.as_list()}
        for spec in tf.nest.flatten(concrete.structured_outputs)
    ]
    return {"inputs": inputs, "outputs": outputs}


@fast_kernel.portable()  # standard TensorFlow ops only: loads wherever TensorFlow does
def export_saved_model(
    model,
    name,
    base_dir="saved_models",
    version=None,
    overwrite=False,
    endpoints=None,
    examples=None,
    metadata=None,
    jit_compile=True,
):
    """Exports a model as a TF-Serving-ready, versioned, atomic SavedModel.

    Args:
        model: A Keras model (tracked in the archive: its variables are saved).
        name: Model name, the folder under `base_dir`.
        base_dir: Folder of all models (TF Serving's `--model_base_path` parent).
        version: Positive integer, or `None` for the next free version.
        overwrite: Whether an existing `version` may be replaced.
        endpoints: `{name: (fn, input_signature)}`; default `default_endpoints(model)`.
            The first endpoint is also `serving_default`.
        examples: `{endpoint: [inputs, ...]}` example inputs (arrays or lists of
            arrays, one per argument) stored with the model; their outputs are
            recorded at export time for `lstm-zoo verify`. Default: one random
            batch for the default endpoint.
        metadata: Dict for the model card (application, config, cell, labels,
            training data, metrics, ...). Versions and parameter count are added.
        jit_compile: Compile the endpoints with XLA.

    Returns:
        The path of the written version folder.

    Raises:
        FileExistsError: `version` exists and `overwrite` is False.
        ValueError: Bad `name`, `version` or model.
    """
    _check_name(name)
    version = _check_version(version)
    model_dir = os.path.join(base_dir, name)
    if version is not None and not overwrite and version in list_versions(model_dir):
        raise FileExistsError(
            f"Version {version} of '{name}' already exists in {model_dir}; pass "
            "overwrite=True (--overwrite) to replace it, or leave the version out."
        )
    if endpoints is None:
        endpoints = default_endpoints(model)
        if examples is None:
            spec = endpoints["serve"][1][0]
            shape = [2 if d is None and i == 0 else 7 if d is None else d
                     for i, d in enumerate(spec.shape.as_list())]  # fmt: skip
            rng = np.random.default_rng(0)
            examples = {"serve": [rng.normal(size=shape).astype(spec.dtype.as_numpy_dtype)]}
    examples = examples or {}

    archive = keras.export.ExportArchive()
    archive.track(model)
    functions = {}
    for endpoint, (fn, signature) in endpoints.items():
        functions[endpoint] = tf.function(fn, input_signature=signature, jit_compile=jit_compile)
        archive.add_endpoint(endpoint, functions[endpoint])

    recorded = {}
    for endpoint, cases in examples.items():
        if endpoint not in functions:
            raise ValueError(
                f"Argument `examples` names endpoint {endpoint!r}, which is not one of "
                f"{sorted(functions)}"
            )
        recorded[endpoint] = []
        for case in cases:
            args = case if isinstance(case, (list, tuple)) else [case]
            outputs = functions[endpoint](*[tf.constant(a) for a in args])
            recorded[endpoint].append(
                {
                    "inputs": [_encode(a) for a in args],
                    "outputs": [_encode(o.numpy()) for o in tf.nest.flatten(outputs)],
                }
            )

    card = dict(metadata or {})
    card.update(
        {
            "name": name,
            "lstm_zoo_version": _lstm_zoo_version(),
            "tensorflow_version": tf.__version__,
            "keras_version": keras.__version__,
            "parameter_count": int(model.count_params()),
            "signatures": {k: _signature_summary(f) for k, f in functions.items()},
            "serving_default": next(iter(functions)),
            "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
    )

    os.makedirs(model_dir, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=".tmp-", dir=model_dir)
    try:
        staged = os.path.join(tmp_dir, "model")
        archive.write_out(staged, verbose=False)
        found = sorted(op for op in graph_op_types(staged) if DEVICE_SPECIFIC_OPS.match(op))
        if found:
            raise ValueError(
                f"The exported graph holds device-specific ops {found}; it would not load "
                "on a CPU-only server or without lstm_zoo. Build the model with portable "
                "layers."
            )
        assets = os.path.join(staged, "assets")
        os.makedirs(assets, exist_ok=True)
        with open(os.path.join(assets, METADATA_FILE), "w") as f:
            json.dump(_json_ready(card), f, indent=2)
        with open(os.path.join(assets, EXAMPLES_FILE), "w") as f:
            json.dump(recorded, f)
        return _publish(staged, model_dir, version, overwrite)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def export_model(model, name, base_dir="saved_models", version=None, overwrite=False,
                 metadata=None, endpoints=None):
    """`export_saved_model` with each kind of model's own defaults.

    An application (a model with `serving_endpoints()`) brings its endpoints
    and examples (raw text, audio or image bytes in, text out); string ops
    and CTC decoding do not compile with XLA, so its functions are not
    jitted. Other models get the default endpoint, XLA-compiled.
    """
    own = hasattr(model, "serving_endpoints")
    if own and endpoints is None:
        endpoints = model.serving_endpoints()
    return export_saved_model(
        model, name, base_dir=base_dir, version=version, overwrite=overwrite,
        endpoints=endpoints, examples=model.serving_examples() if own else None,
        jit_compile=not own, metadata=metadata,
    )  # fmt: skip


def _publish(staged, model_dir, version, overwrite):
    """Renames the staged SavedModel into its version folder (atomic)."""
    if version is not None:
        target = os.path.join(model_dir, str(version))
        if overwrite and os.path.exists(target):
            trash = tempfile.mkdtemp(prefix=".old-", dir=model_dir)
            os.rename(target, os.path.join(trash, "model"))
            try:
                os.rename(staged, target)
            finally:
                shutil.rmtree(trash, ignore_errors=True)
            return target
        try:
            os.rename(staged, target)
        except OSError as error:
            raise FileExistsError(
                f"Version {version} already exists in {model_dir}; pass overwrite=True."
            ) from error
        return target
    for _ in range(10_000):
        versions = list_versions(model_dir)
        target = os.path.join(model_dir, str((versions[-1] if versions else 0) + 1))
        try:
            os.rename(staged, target)
            return target
        except OSError:
            if not os.path.exists(target):
                raise
            # Taken by a concurrent export a moment ago: try the next number.
    raise RuntimeError(f"Could not find a free version in {model_dir}")


def convert_to_litert(model, path, batch_size=1, input_shape=None):
    """Converts a Keras model to a LiteRT (TFLite) flatbuffer, builtin ops only.

    LiteRT lowers the recurrent loop to builtin ops only when every tensor but
    the time axis has a static shape, so the batch size is fixed here; the time
    axis stays dynamic (resize the interpreter's input). Variables are frozen
    into constants with TensorFlow's `convert_variables_to_constants_v2`.
    Run the result with `ai_edge_litert.interpreter.Interpreter` (the
    `litert` extra).

    Args:
        model: Keras model with one input.
        path: Output `.tflite` file.
        batch_size: Static batch size of the converted graph.
        input_shape: Input shape without the batch axis; default the model's
            own, with a dynamic time axis for `(time, features)` inputs.

    Returns:
        `path`.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(
            f"Argument `batch_size` must be a positive integer; received: batch_size={batch_size!r}"
        )
    (spec,) = default_endpoints(model)["serve"][1]
    shape = [batch_size] + (list(input_shape) if input_shape else spec.shape.as_list()[1:])
    fn = tf.function(lambda x: model(x, training=False), autograph=False)
    with fast_kernel.portable():  # builtin ops only: no fused kernel
        concrete = fn.get_concrete_function(tf.TensorSpec(shape, spec.dtype, name="inputs"))
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [convert_variables_to_constants_v2(concrete)]
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    flatbuffer = converter.convert()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(flatbuffer)
    return path


def _lstm_zoo_version():
    from lstm_zoo import __version__

    return __version__
