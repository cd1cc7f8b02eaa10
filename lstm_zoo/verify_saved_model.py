"""Checks an exported SavedModel in a process where lstm_zoo cannot be imported.

Run as a script (``python verify_saved_model.py DIR``; `lstm-zoo verify DIR`
does this in a fresh subprocess). It needs only TensorFlow and NumPy. It:

1. checks that no op in the graph is device-specific (cuDNN, or lstm_zoo's
   fused CPU kernel), reading the graph itself,
2. loads DIR with `tf.saved_model.load` (a graph that cannot load is a
   failure, reported in one line),
3. lists its signatures as `saved_model_cli show --all` does,
4. runs every endpoint on the example inputs stored in
   `assets/lstm_zoo_examples.json` and compares the outputs with those
   recorded at export time.

Exit status 0 when every check passes, 1 otherwise.
"""

import importlib.abc
import json
import os
import re
import sys

#: Op types that tie a graph to one kind of device or process: cuDNN kernels,
#: and lstm_zoo's fused CPU kernels (a process without lstm_zoo lacks them).
DEVICE_SPECIFIC_OPS = re.compile(r"^(Cudnn|Lstm1997)")


class _BlockLstmZoo(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "lstm_zoo" or name.startswith("lstm_zoo."):
            raise ImportError(f"{name} is blocked: the SavedModel must load without lstm_zoo")
        return None


def graph_op_types(saved_model_dir):
    """Every op type in a SavedModel's graph and function library."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    ops = set()
    for meta in proto.meta_graphs:
        ops.update(node.op for node in meta.graph_def.node)
        for function in meta.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


def _import_tensorflow():
    """Imports TensorFlow and starts its runtime with the start-up log lines
    hidden, with `lstm_zoo/_quiet.py` loaded from its file (this process may
    not import the lstm_zoo package)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_quiet.py")
    spec = importlib.util.spec_from_file_location("_verify_quiet", path)
    quiet = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quiet)
    tensorflow = quiet.import_tensorflow()
    with quiet.quiet_stderr(quiet.hiding_enabled()):
        tensorflow.constant(0).numpy()  # the runtime's device probing
    return tensorflow


def _decode(entry, np):
    if entry["dtype"] == "string":
        return np.array([v.encode("latin-1") for v in entry["values"]], dtype=object).reshape(
            entry["shape"]
        )
    return np.array(entry["values"], dtype=entry["dtype"]).reshape(entry["shape"])


def main(argv):
    if len(argv) != 2:
        print("usage: verify_saved_model.py SAVED_MODEL_DIR", file=sys.stderr)
        return 2
    sys.meta_path.insert(0, _BlockLstmZoo())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    directory = argv[1]
    if not os.path.isfile(os.path.join(directory, "saved_model.pb")):
        print(f"error: {directory} holds no saved_model.pb", file=sys.stderr)
        return 1
    import numpy as np

    tf = _import_tensorflow()
    failures = 0
    # The op check reads the graph itself, so it also answers for a graph
    # that cannot load here (an op this process lacks).
    op_types = graph_op_types(directory)
    device_ops = sorted(op for op in op_types if DEVICE_SPECIFIC_OPS.match(op))
    if device_ops:
        failures += 1
        print(f"FAIL device-specific ops in the graph: {device_ops}")
    else:
        print(f"ok   {len(op_types)} op types, none device-specific")
    try:
        loaded = tf.saved_model.load(directory)
    except Exception as error:  # noqa: BLE001 - reported, not raised
        print(f"FAIL cannot load {directory}: {str(error).strip().splitlines()[0]}")
        return 1

    print(f"\nMetaGraphDef with tag-set: 'serve' in {directory}")
    for key, fn in sorted(loaded.signatures.items()):
        print(f"\nsignature_def['{key}']:")
        print("  The given SavedModel SignatureDef contains the following input(s):")
        for arg, spec in sorted(fn.structured_input_signature[1].items()):
            print(f"    inputs['{arg}'] dtype: {spec.dtype.name} shape: {spec.shape}")
        print("  The given SavedModel SignatureDef contains the following output(s):")
        for out, spec in sorted(fn.structured_outputs.items()):
            print(f"    outputs['{out}'] dtype: {spec.dtype.name} shape: {spec.shape}")

    examples_path = os.path.join(directory, "assets", "lstm_zoo_examples.json")
    if not os.path.isfile(examples_path):
        print(f"FAIL no stored examples ({examples_path})")
        return 1
    with open(examples_path) as f:
        examples = json.load(f)
    for endpoint, cases in sorted(examples.items()):
        fn = getattr(loaded, endpoint)
        for index, case in enumerate(cases):
            args = [tf.constant(_decode(a, np)) for a in case["inputs"]]
            got = [t.numpy() for t in tf.nest.flatten(fn(*args))]
            want = [_decode(o, np) for o in case["outputs"]]
            ok = len(got) == len(want) and all(
                g.shape == w.shape
                and (
                    np.array_equal(g, w)
                    if w.dtype == object
                    else np.allclose(g, w, rtol=1e-4, atol=1e-5)
                )
                for g, w in zip(got, want, strict=False)
            )
            status = "ok  " if ok else "FAIL"
            shapes = ", ".join(str(tuple(a.shape)) for a in args)
            print(f"{status} {endpoint} example {index}: inputs {shapes} -> outputs match")
            failures += not ok
    print("verified" if not failures else f"{failures} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
