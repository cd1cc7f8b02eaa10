"""Runs the `lstm-zoo` command line in a subprocess, as a user would."""

import os
import subprocess
import sys

CLI = [sys.executable, "-m", "lstm_zoo_cli"]


def run_cli(args, cwd=None):
    """`lstm-zoo ARGS` in a fresh interpreter: a `CompletedProcess` with text output."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=600, env=env,
                          cwd=cwd)  # fmt: skip


def assert_one_line_error(result, message, status=2):
    """The whole standard error is one line holding `message`, with no traceback,
    and the exit status is `status`. Returns that line."""
    lines = result.stderr.splitlines()
    assert result.returncode == status, (result.returncode, result.stderr[-3000:])
    assert len(lines) == 1, result.stderr[-3000:]
    assert message in lines[0], lines[0]
    return lines[0]
