"""TensorFlow's start-up log lines, kept off the terminal.

Importing TensorFlow 2.21 on a machine without a GPU writes half a dozen C++
log lines to the process's standard error (oneDNN, CUDA probing, CPU
features) before Python can filter anything, and the first op adds a
"failed call to cuInit" line. `quiet_stderr` redirects file descriptor 2
to a temporary file around such code and discards what was written, unless
the code raises: then the captured text is written back before the error
propagates. `LSTM_ZOO_TF_LOGS=1` turns the hiding off.
"""

import contextlib
import os
import sys
import tempfile


def hiding_enabled():
    """Whether TensorFlow's start-up lines are hidden (`LSTM_ZOO_TF_LOGS` unset or 0)."""
    return os.environ.get("LSTM_ZOO_TF_LOGS", "0") in ("", "0")


@contextlib.contextmanager
def quiet_stderr(enabled=True):
    """Sends what is written to file descriptor 2 inside the block to a scratch file.

    Args:
        enabled: False runs the block unchanged.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode("utf-8", "replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def import_tensorflow():
    """Imports TensorFlow with its start-up lines hidden (see the module docstring)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with quiet_stderr(hiding_enabled()):
        import tensorflow

    return tensorflow
