"""Timing helpers shared by the benchmarks (run as scripts from this folder)."""

import time


def seconds(fn):
    """Runs `fn()` and returns its wall time in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def round_robin(functions, repeats):
    """`{key: [seconds, ...]}`: each function timed once per round, in turns.

    Every function returns its own seconds (wrap a plain one in `seconds`). Each
    is warmed up (traced, compiled) twice first; then each of `repeats` rounds
    runs every function once, so a slow spell of the machine hits all of them
    alike.
    """
    for fn in functions.values():
        fn()
        fn()
    times = {key: [] for key in functions}
    for _ in range(repeats):
        for key, fn in functions.items():
            times[key].append(fn())
    return times


def tf_matmul_peak(n=2048):
    """Measured float32 GFLOP/s of TensorFlow's (n, n) product: best of 20
    after 5 warm-ups (thread pool, clock)."""
    import numpy as np
    import tensorflow as tf

    a = tf.constant(np.random.default_rng(0).normal(size=(n, n)).astype("float32"))
    for _ in range(5):
        tf.matmul(a, a).numpy()
    best = min(seconds(lambda: tf.matmul(a, a).numpy()) for _ in range(20))
    return 2 * n**3 / best / 1e9
