"""The fused CPU kernels of `LSTM1997` (`lstm1997_kernel.cc`), built on first use.

The kernels run all time steps of the 1997 cell family (every structural
switch of the cell, with masks and recurrent dropout; the paper's
activations) in one TensorFlow op forward and one backward, instead of a
dozen small ops a step. They are an optional speed-up: `LSTM1997` uses them
when they are available and the call can use them (`usable`), and otherwise
runs its generic Keras loop (the default cell: the same arithmetic as
TensorFlow ops, `lstm_zoo.layers.fast_tf`); outputs and gradients agree to
float tolerance either way.

The source is compiled with the C++ compiler (`$CXX`, else `c++`/`g++`)
against the installed TensorFlow's headers, once per machine, TensorFlow
version and source, into `$LSTM_ZOO_CACHE` (default `~/.cache/lstm_zoo`),
`kernels/`. That takes about a minute and is logged. Without a compiler, or
if the build fails, a warning says so once and the TensorFlow ops run.
`LSTM_ZOO_KERNEL=0` turns the kernels off.

The kernels are kept out of graphs that leave the process: they are not used
under XLA (`jit_compile=True`), while `tf.saved_model.save` (and so Keras'
`model.export`) traces, inside `with portable():` (which `lstm_zoo.export`
wraps around SavedModel export and LiteRT conversion), or when a GPU is
visible. Exported SavedModels therefore hold only standard TensorFlow ops.
Converting a model with `tf.lite.TFLiteConverter` yourself, call `convert()`
inside `with portable():` (or set `LSTM_ZOO_KERNEL=0`).
"""

import contextlib
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import tensorflow as tf

SOURCE = Path(__file__).with_name("lstm1997_kernel.cc")
ENV_SWITCH = "LSTM_ZOO_KERNEL"
DTYPES = (tf.float32, tf.float64)

_log = logging.getLogger("lstm_zoo")
_lock = threading.Lock()
_state = {"loaded": False, "module": None, "error": None}
_portable = threading.local()


@contextlib.contextmanager
def portable():
    """Within it, layers traced use standard TensorFlow ops only (no kernel).

    Example:

    >>> with portable():
    ...     usable("float32") is None
    True
    """
    _portable.depth = getattr(_portable, "depth", 0) + 1
    try:
        yield
    finally:
        _portable.depth -= 1


def enabled():
    """Whether `LSTM_ZOO_KERNEL` allows the kernels (anything but 0/off/false)."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "off", "false", "no")


def cache_dir():
    root = os.environ.get("LSTM_ZOO_CACHE") or os.path.join(Path.home(), ".cache", "lstm_zoo")
    return Path(root) / "kernels"


def _compiler():
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        path = shutil.which(name) if name else None
        if path:
            return path
    return None


def _cpu_signature():
    """The CPU's instruction-set flags (the build uses -march=native)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The target flags tried in turn until one builds. The Eigen bundled with
# TensorFlow 2.21 does not compile for CPUs with AVX512-FP16 (Intel Sapphire
# Rapids and later) under GCC 12 (PacketMathFP16.h: "expected initializer
# before '<'"), which -march=native enables there; the kernels use no half
# precision, so the second variant turns that extension off, and the last
# builds for the compiler's default target (slower, but it runs).
TARGETS = (("-march=native",), ("-march=native", "-mno-avx512fp16"), ())


def _build_command(compiler, output, target=TARGETS[0]):
    flags = tf.sysconfig.get_compile_flags()
    return [compiler, "-shared", "-fPIC", "-O3", *target, "-w", *flags,
            str(SOURCE), "-o", str(output), *tf.sysconfig.get_link_flags()]  # fmt: skip


def library_path(compiler):
    """Where the build for this source, TensorFlow, compiler and CPU lives."""
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), tf.__version__.encode(), compiler.encode(),
                 _cpu_signature().encode(), " ".join(_build_command("", "")).encode()):  # fmt: skip
        key.update(part)
    return cache_dir() / f"lstm1997_kernel_{key.hexdigest()[:16]}.so"


def _build(compiler, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    _log.warning("lstm_zoo: compiling the fused LSTM1997 CPU kernel (once per machine, "
                 "about a minute) into %s", path)  # fmt: skip
    start = time.time()
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".so", delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        for target in TARGETS:
            label = " ".join(target) or "the default target"
            result = subprocess.run(_build_command(compiler, partial, target),
                                    capture_output=True, text=True, timeout=900)  # fmt: skip
            if result.returncode == 0:
                break
            _log.warning("lstm_zoo: the kernel build with %s failed: %s", label,
                         result.stderr.strip()[-500:])  # fmt: skip
        else:
            raise RuntimeError(f"{compiler} failed: {result.stderr.strip()[-2000:]}")
        os.replace(partial, path)  # atomic: concurrent builds both end with a whole file
    finally:
        partial.unlink(missing_ok=True)
    _log.warning("lstm_zoo: built the LSTM1997 kernel (%s) in %.0f s", label,
                 time.time() - start)  # fmt: skip


def load():
    """The kernels' op module, building it if needed; `None` if unavailable."""
    if not enabled():
        return None
    with _lock:
        if not _state["loaded"]:
            _state["loaded"] = True
            try:
                compiler = _compiler()
                if compiler is None:
                    raise RuntimeError("no C++ compiler found (set $CXX)")
                path = library_path(compiler)
                if not path.exists():
                    _build(compiler, path)
                module = tf.load_op_library(str(path))
                _register_gradients()
                _state["module"] = module
            except Exception as error:  # noqa: BLE001 - any failure means: use TF ops
                _state["error"] = error
                _log.warning("lstm_zoo: the fused LSTM1997 kernel is unavailable (%s); "
                             "LSTM1997 runs on TensorFlow ops instead", error)  # fmt: skip
        return _state["module"]


def _register_gradients():
    from lstm_zoo.layers import fast_tf

    try:
        tf.RegisterGradient("Lstm1997Fused")(fast_tf._fused_gradient)
        tf.no_gradient("Lstm1997FusedBackward")
    except KeyError:  # registered already (the module was loaded twice)
        pass


def _in_xla_context():
    """Whether the function being traced will be compiled with XLA."""
    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - TF internals moved
        return False
    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def _in_save_context():
    """Whether `tf.saved_model.save` is tracing (unknown: assume so)."""
    try:
        from tensorflow.python.saved_model import save_context
    except ImportError:  # pragma: no cover - TF internals moved
        return True
    return save_context.in_save_context()


def usable(dtype):
    """The op module if this call (dtype, tracing context, devices) may use it."""
    if tf.as_dtype(dtype) not in DTYPES or not enabled() or getattr(_portable, "depth", 0):
        return None
    if _in_xla_context() or _in_save_context() or tf.config.list_logical_devices("GPU"):
        return None
    return load()
