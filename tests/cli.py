"""Runs the `lstm-zoo` command line in a subprocess, as a user would."""

import json
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


def free_ports(n):
    """`n` free TCP ports on the loopback interface (for local clusters)."""
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(args):
    """`lstm-zoo ARGS` as the two workers of a loopback cluster; their stdouts."""
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    processes = []
    for index in range(2):
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        )
        processes.append(subprocess.Popen(CLI + args, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))  # fmt: skip
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, err[-3000:]
        outputs.append(out)
    return outputs
