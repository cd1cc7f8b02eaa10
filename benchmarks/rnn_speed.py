"""Side-by-side speed of LSTM1997 against Keras' LSTM and GRU and torch.nn.LSTM.

One process run times, for every shape of the grid (batch, timesteps, 32
inputs, units), one training step (forward, backward, Adam) and one inference
pass of each implementation, with and without XLA for the TensorFlow ones, and
prints each as a ratio to `keras.layers.LSTM` (same XLA setting) and as the
fraction of the machine's matrix-product peak measured at the start of the run.
With `--memory`, the peak memory of T = 1000 training is measured in a child
process per implementation. Writes a markdown table with `--output`.

    python benchmarks/rnn_speed.py                       # quick grid
    python benchmarks/rnn_speed.py --grid=full --memory --output=results/benchmarks.md
"""

import json
import os
import platform
import re
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from absl import app, flags  # noqa: E402
from timing import round_robin, seconds, tf_matmul_peak  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("grid", "quick", ["quick", "full"], "Shapes to time.")
flags.DEFINE_enum("xla", "both", ["both", "on", "off"], "XLA settings for TF implementations.")
flags.DEFINE_integer("repeats", 7, "Timed repetitions (best reported).", lower_bound=1)
flags.DEFINE_integer("features", 32, "Input features.", lower_bound=1)
flags.DEFINE_bool("memory", False, "Measure peak memory of T=1000 training (child processes).")
flags.DEFINE_string("output", None, "Markdown file to write the table to.")
flags.DEFINE_list("only", [], "Restrict to these implementations.")
flags.DEFINE_list("shapes", [], "Override the grid: BATCHxSTEPSxUNITS, e.g. 64x100x128.")
flags.DEFINE_string("child", None, "Internal: memory measurement 'impl,batch,steps,units'.")
flags.DEFINE_string("resummarize", None, "Rewrite the goals summary of an existing table.")
flags.DEFINE_string("from_log", None, "Rebuild --output from the lines of an interrupted run.")
flags.DEFINE_float("peak", None, "With --from_log: the matmul peak (GFLOP/s) for '% peak', "
                   "instead of the one the log's run measured.")  # fmt: skip

GRIDS = {
    "quick": [(64, 100, 128), (1, 100, 128), (16, 100, 64), (256, 100, 512), (64, 1000, 128)],
    "full": [(b, t, u) for b in (1, 16, 64, 256) for t in (100, 1000) for u in (64, 128, 512)],
}
# Gate products per unit: the weight of each implementation's matrix products.
GATES = {
    "keras.LSTM": 4,
    "keras.GRU": 3,
    "LSTM1997 full": 3,
    "LSTM1997 truncated": 3,
    "torch.LSTM": 4,
}
TF_IMPLS = ["keras.LSTM", "keras.GRU", "LSTM1997 full", "LSTM1997 truncated"]


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def matmul_peak():
    """Measured float32 GFLOP/s of large products, TF and (if present) torch."""
    peaks = {"tensorflow": tf_matmul_peak()}
    torch = _torch()
    if torch is not None:
        n = 2048
        t = torch.randn(n, n)
        for _ in range(5):
            torch.matmul(t, t)
        best = min(seconds(lambda: torch.matmul(t, t)) for _ in range(20))
        peaks["torch"] = 2 * n**3 / best / 1e9
    return peaks


def forward_flops(impl, batch, steps, units, features):
    return 2.0 * batch * steps * (features + units) * GATES[impl] * units


def train_flops(impl, batch, steps, units, features):
    """Matrix-product FLOPs of a training step: forward, the error sent back
    through the input and recurrent weights, and the weight gradients (3x
    forward); the paper's truncated gradient sends no error back through the
    recurrent weights."""
    flops = 3 * forward_flops(impl, batch, steps, units, features)
    if impl == "LSTM1997 truncated":
        flops -= 2.0 * batch * steps * units * GATES[impl] * units
    return flops


def set_fractions_of_peak(row, peak):
    """Sets a row's `train_peak` and `infer_peak` from its times and `peak` (GFLOP/s)."""
    shape = (row["impl"], row["batch"], row["steps"], row["units"], FLAGS.features)
    row["train_peak"] = train_flops(*shape) / row["train_ms"] / 1e6 / peak
    row["infer_peak"] = forward_flops(*shape) / row["infer_ms"] / 1e6 / peak


def build_tf(impl, units):
    import keras

    from lstm_zoo.layers import LSTM1997

    if impl == "keras.LSTM":
        return keras.layers.LSTM(units, return_sequences=True)
    if impl == "keras.GRU":
        return keras.layers.GRU(units, return_sequences=True)
    gradient = impl.split()[-1]
    return LSTM1997(units, gradient=gradient, return_sequences=True)


def tf_functions(impl, batch, steps, units, features, xla):
    import keras
    import numpy as np
    import tensorflow as tf

    layer = build_tf(impl, units)
    layer.build((batch, steps, features))
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(layer.trainable_variables)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch, steps, features)).astype("float32"))
    y = tf.constant(rng.normal(size=(batch, steps, units)).astype("float32"))

    @tf.function(jit_compile=xla)
    def train():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(x, training=True) - y))
        grads = tape.gradient(loss, layer.trainable_variables)
        optimizer.apply(grads, layer.trainable_variables)
        return loss

    @tf.function(jit_compile=xla)
    def infer():
        return layer(x, training=False)

    return lambda: train().numpy(), lambda: infer().numpy()


def torch_functions(batch, steps, units, features):
    torch = _torch()
    lstm = torch.nn.LSTM(features, units, batch_first=True)
    optimizer = torch.optim.Adam(lstm.parameters(), 1e-3)
    x = torch.randn(batch, steps, features)
    y = torch.randn(batch, steps, units)

    def train():
        optimizer.zero_grad()
        loss = torch.mean((lstm(x)[0] - y) ** 2)
        loss.backward()
        optimizer.step()
        return float(loss)

    def infer():
        with torch.no_grad():
            return lstm(x)[0]

    return train, infer


def timed_round_robin(functions, repeats):
    """Best-of-`repeats` seconds of each function, timed in turns
    (`timing.round_robin`). The minimum is the least disturbed measurement.
    """
    timed = {name: (lambda fn=fn: seconds(fn)) for name, fn in functions.items()}
    return {name: min(values) for name, values in round_robin(timed, repeats).items()}


def _proc_status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def child_memory(spec):
    """Peak memory (MiB) of training above the resident size before it.

    Runs in a fresh process: after building, the high-water mark is reset
    (`/proc/self/clear_refs`) and three steps are run (the first traces the
    graph, a few MiB); the peak is VmHWM minus the resident size before them.
    (Allocators keep freed memory resident, so a warm-up step before the reset
    would hide the peak.)
    """
    impl, batch, steps, units = spec.split(",")
    batch, steps, units = int(batch), int(steps), int(units)
    if impl == "torch.LSTM":
        train, _ = torch_functions(batch, steps, units, FLAGS.features)
    else:
        train, _ = tf_functions(impl, batch, steps, units, FLAGS.features, xla=False)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _proc_status_mib("VmRSS")
    for _ in range(3):
        train()
    print(json.dumps({"peak_mib": _proc_status_mib("VmHWM") - before}))


def memory_of(impl, batch, steps, units):
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            f"--child={impl},{batch},{steps},{units}",
            f"--features={FLAGS.features}",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode:
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_mib"]


def main(argv):
    del argv
    if FLAGS.child:
        child_memory(FLAGS.child)
        return
    if FLAGS.from_log:
        with open(FLAGS.from_log) as f:
            text = f.read()
        header = next(line for line in text.splitlines() if line.startswith("machine:"))
        peak = FLAGS.peak or max(float(v) for v in re.findall(r"([\d.]+) GFLOP/s", header))
        if FLAGS.peak:
            header += f"; '% peak' uses {FLAGS.peak:.0f} GFLOP/s (--peak)"
        rows = parse_log(text)
        for row in rows:  # recomputed: older runs counted truncated training as 3x forward
            set_fractions_of_peak(row, peak)
        write_markdown(FLAGS.output, header, rows)
        return
    if FLAGS.resummarize:
        with open(FLAGS.resummarize) as f:
            text = f.read()
        head, _, table = text.partition("| B | T |")
        head = head.split("## Goals against this run")[0].rstrip()
        summary = "\n".join(summarize(parse_markdown(FLAGS.resummarize)))
        with open(FLAGS.resummarize, "w") as f:
            f.write(f"{head}\n\n{summary}\n\n| B | T |{table}")
        return
    import keras
    import tensorflow as tf

    torch = _torch()
    impls = list(TF_IMPLS) + (["torch.LSTM"] if torch is not None else [])
    if FLAGS.only:
        impls = [i for i in impls if i in FLAGS.only or i == "keras.LSTM"]
    xla_settings = {"both": [False, True], "on": [True], "off": [False]}[FLAGS.xla]
    peaks = matmul_peak()
    peak = max(peaks.values())
    header = (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"TF {tf.__version__}, Keras {keras.__version__}"
        + (f", torch {torch.__version__}" if torch else "")
        + "; matmul peak (2048^3 float32): "
        + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items())
    )
    print(header, flush=True)
    rows = []
    grid = [tuple(int(v) for v in s.split("x")) for s in FLAGS.shapes] or GRIDS[FLAGS.grid]
    for batch, steps, units in grid:
        for xla in xla_settings:
            functions = {}
            for impl in impls:
                if impl == "torch.LSTM":
                    if xla:
                        continue
                    train, infer = torch_functions(batch, steps, units, FLAGS.features)
                else:
                    train, infer = tf_functions(impl, batch, steps, units, FLAGS.features, xla)
                functions[(impl, "train")] = train
                functions[(impl, "infer")] = infer
            best = timed_round_robin(functions, FLAGS.repeats)
            results = {
                impl: (best[(impl, "train")], best[(impl, "infer")])
                for impl in impls
                if (impl, "train") in best
            }
            base_train, base_infer = results["keras.LSTM"]
            for impl, (t_train, t_infer) in results.items():
                row = {
                    "batch": batch,
                    "steps": steps,
                    "units": units,
                    "xla": "on" if xla else "off",
                    "impl": impl,
                    "train_ms": 1e3 * t_train,
                    "infer_ms": 1e3 * t_infer,
                    "train_ratio": t_train / base_train,
                    "infer_ratio": t_infer / base_infer,
                    "peak_mib": None,
                }
                set_fractions_of_peak(row, peak)
                if FLAGS.memory and steps == 1000 and not xla:
                    row["peak_mib"] = memory_of(impl, batch, steps, units)
                rows.append(row)
                print(
                    f"B={batch:<3} T={steps:<4} U={units:<3} xla={row['xla']:<3} "
                    f"{impl:<19} train {row['train_ms']:8.1f} ms ({row['train_ratio']:.2f}x "
                    f"keras.LSTM, {100 * row['train_peak']:.1f}% peak)  infer "
                    f"{row['infer_ms']:8.1f} ms ({row['infer_ratio']:.2f}x, "
                    f"{100 * row['infer_peak']:.1f}% peak)"
                    + (f"  mem {row['peak_mib']:.0f} MiB" if row["peak_mib"] else ""),
                    flush=True,
                )
    if FLAGS.output:
        write_markdown(FLAGS.output, header, rows)


def write_markdown(path, header, rows):
    lines = [
        "# RNN speed: LSTM1997 against its peers",
        "",
        f"Command: `python benchmarks/{os.path.basename(__file__)} {' '.join(sys.argv[1:])}`",
        "",
        header,
        "",
        "Times are the best of the repeats, all implementations of a shape timed in turns. "
        "Ratios are to `keras.layers.LSTM` at the same shape and XLA setting, in the same "
        "run. `% peak`: matrix-product FLOPs (training counted as 3x forward, less the recurrent "
        "error products the truncated gradient skips) per second "
        "over the measured matmul peak. Inputs 32 features, float32, return_sequences.",
        "",
        *summarize(rows),
        "",
        "| B | T | units | XLA | implementation | train ms | train ratio | train % peak "
        "| infer ms | infer ratio | infer % peak | T=1000 train peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mem = f"{r['peak_mib']:.0f}" if r["peak_mib"] is not None else ""
        lines.append(
            f"| {r['batch']} | {r['steps']} | {r['units']} | {r['xla']} | {r['impl']} "
            f"| {r['train_ms']:.1f} | {r['train_ratio']:.2f} | {100 * r['train_peak']:.1f} "
            f"| {r['infer_ms']:.1f} | {r['infer_ratio']:.2f} | {100 * r['infer_peak']:.1f} "
            f"| {mem} |"
        )
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def summarize(rows):
    """Markdown lines: the issue's goals checked against the measured ratios."""
    lines = ["## Goals against this run", ""]
    by = {(r["batch"], r["steps"], r["units"], r["xla"], r["impl"]): r for r in rows}
    for xla in ("off", "on"):
        full = by.get((64, 100, 128, xla, "LSTM1997 full"))
        truncated = by.get((64, 100, 128, xla, "LSTM1997 truncated"))
        if full and truncated:
            lines.append(
                f"- Training step at (64, 100, 32, 128), XLA {xla}: full "
                f"{full['train_ratio']:.2f}x, truncated {truncated['train_ratio']:.2f}x "
                "keras.layers.LSTM (goal: at most 0.5x)."
            )
    for (b, t, u, xla, impl), r in sorted(by.items()):
        torch_row = by.get((b, t, u, "off", "torch.LSTM"))
        if impl == "LSTM1997 full" and torch_row and (b, t, u) == (64, 100, 128):
            lines.append(
                f"- Inference at ({b}, {t}, 32, {u}), XLA {xla}: {r['infer_ms']:.1f} ms against "
                f"torch.nn.LSTM {torch_row['infer_ms']:.1f} ms "
                f"({r['infer_ms'] / torch_row['infer_ms']:.2f}x; goal: at most 1x)."
            )
    mine = [r for r in rows if r["impl"].startswith("LSTM1997")]
    if mine:
        for key, what in (("train_ratio", "training"), ("infer_ratio", "inference")):
            slower = [r for r in mine if r[key] > 1.0]
            worst = max(mine, key=lambda r: r[key])
            lines.append(
                f"- {what.capitalize()} slower than keras.layers.LSTM in {len(slower)} of "
                f"{len(mine)} LSTM1997 rows; worst {worst[key]:.2f}x at B={worst['batch']}, "
                f"T={worst['steps']}, units={worst['units']}, XLA {worst['xla']}, "
                f"{worst['impl']}."
            )
        size = max(r["batch"] * r["steps"] * r["units"] for r in mine)
        at_largest = [r for r in mine if r["batch"] * r["steps"] * r["units"] == size]
        best = max(at_largest, key=lambda r: r["train_peak"])
        lines.append(
            f"- Largest shape (B={best['batch']}, T={best['steps']}, units={best['units']}): "
            f"best LSTM1997 training ({best['impl']}, XLA {best['xla']}) reaches "
            f"{100 * best['train_peak']:.0f}% of the measured matmul peak, inference "
            f"{100 * max(r['infer_peak'] for r in at_largest):.0f}%."
        )
        keras_mib = {(r["batch"], r["steps"], r["units"]): r["peak_mib"] for r in rows
                     if r["impl"] == "keras.LSTM" and r["peak_mib"] is not None}  # fmt: skip
        measured = [r for r in mine if r["peak_mib"] is not None
                    and (r["batch"], r["steps"], r["units"]) in keras_mib]  # fmt: skip
        if measured:
            ratio = {id(r): r["peak_mib"] / keras_mib[(r["batch"], r["steps"], r["units"])]
                     for r in measured}  # fmt: skip
            worst = max(measured, key=lambda r: ratio[id(r)])
            lines.append(
                f"- Training peak memory at T = 1000 (goal: at most keras.layers.LSTM's): above "
                f"it in {sum(ratio[id(r)] > 1.0 for r in measured)} of {len(measured)} LSTM1997 "
                f"rows; largest {ratio[id(worst)]:.2f}x at B={worst['batch']}, "
                f"units={worst['units']}, {worst['impl']}."
            )
    return lines


LOG_LINE = re.compile(
    r"B=(\d+)\s+T=(\d+)\s+U=(\d+)\s+xla=(\w+)\s+(.+?)\s+train\s+([\d.]+) ms "
    r"\(([\d.]+)x keras.LSTM, ([\d.]+)% peak\)\s+infer\s+([\d.]+) ms \(([\d.]+)x, "
    r"([\d.]+)% peak\)(?:\s+mem ([\d.]+) MiB)?"
)


def parse_log(text):
    """Rows back from the lines this script printed (an interrupted run)."""
    rows = []
    for m in LOG_LINE.finditer(text):
        g = m.groups()
        rows.append({
            "batch": int(g[0]), "steps": int(g[1]), "units": int(g[2]), "xla": g[3],
            "impl": g[4], "train_ms": float(g[5]), "train_ratio": float(g[6]),
            "train_peak": float(g[7]) / 100, "infer_ms": float(g[8]),
            "infer_ratio": float(g[9]), "infer_peak": float(g[10]) / 100,
            "peak_mib": float(g[11]) if g[11] else None,
        })  # fmt: skip
    return rows


def parse_markdown(path):
    """Rows back from a table this script wrote (to re-summarise an old run)."""
    rows = []
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 12 or not cells[0].isdigit():
                continue
            rows.append({
                "batch": int(cells[0]), "steps": int(cells[1]), "units": int(cells[2]),
                "xla": cells[3], "impl": cells[4], "train_ms": float(cells[5]),
                "train_ratio": float(cells[6]), "train_peak": float(cells[7]) / 100,
                "infer_ms": float(cells[8]), "infer_ratio": float(cells[9]),
                "infer_peak": float(cells[10]) / 100,
                "peak_mib": float(cells[11]) if cells[11] else None,
            })  # fmt: skip
    return rows


if __name__ == "__main__":
    app.run(main)
