"""Every LSTM1997 configuration against keras.layers.LSTM, on the paths users take.

One process times, at one shape (default batch 64, 100 steps, 32 features,
128 units; a Dense(1) head, Adam, MSE), for keras.layers.LSTM and each
configuration of the cell family (default, truncated gradient, forget gate,
peepholes, blocks of 4 cells, gates fed back, and the default and forget-gate
cells under a Keras mask, against keras.layers.LSTM under the same mask):

- training: a bare `tf.function` step (GradientTape, Adam), `model.fit` on
  NumPy arrays and `model.fit` on a cached, prefetched `tf.data` pipeline;
- inference: `model.predict` on NumPy arrays, and a bare `tf.function` call.

fit and predict are timed batch by batch (a callback), over an epoch of
`--batches` batches, of which the median counts. Keras' setup of each call
(iterators, callbacks: a few hundred ms, the same for every model, and at
times 300 ms more on this machine) is left out, as it is once per epoch.

Every implementation and path is timed once per round, in turns, for
`--repeats` rounds; the table gives medians with their min-max spread.

`--part=backends` times LSTM1997 (default and forget gate) against
keras.layers.LSTM on the JAX and PyTorch backends (one child process each:
`model.fit` on NumPy per batch, `predict` per batch). `--part=serving`
exports each configuration with `lstm_zoo.export.export_model` and a
keras.layers.LSTM model with Keras' `model.export`, and times their serving
functions in a fresh process that never imports lstm_zoo, beside
`torch.nn.LSTM` eager inference, at batch 1 and 64.

    python benchmarks/family_speed.py --output=results/benchmarks_family.md
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from absl import app, flags  # noqa: E402
from timing import round_robin, seconds, tf_matmul_peak  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("part", ["tf", "backends", "serving"], "Parts to run: tf, backends, serving.")
flags.DEFINE_integer("batch", 64, "Batch size.", lower_bound=1)
flags.DEFINE_integer("steps", 100, "Time steps.", lower_bound=1)
flags.DEFINE_integer("features", 32, "Input features.", lower_bound=1)
flags.DEFINE_integer("units", 128, "Units.", lower_bound=1)
flags.DEFINE_integer("batches", 16, "Batches per timed fit/predict epoch.", lower_bound=1)
flags.DEFINE_integer("repeats", 7, "Timed rounds (medians reported).", lower_bound=1)
flags.DEFINE_multi_string("only", [], "Restrict the tf part to this configuration (repeatable).")
flags.DEFINE_string("output", None, "Markdown file to write the tables to.")
flags.DEFINE_string("child", None, "Internal: 'backend:NAME' or 'serve:DIR'.")

# name -> (LSTM1997 arguments, masked). Masked rows compare with keras.LSTM masked.
CONFIGS = {
    "default": ({}, False),
    "gradient=truncated": ({"gradient": "truncated"}, False),
    "forget_gate=True": ({"forget_gate": True}, False),
    "peephole=True": ({"peephole": True}, False),
    "cells_per_block=4": ({"cells_per_block": 4}, False),
    "recurrent_input=cells_and_gates": ({"recurrent_input": "cells_and_gates"}, False),
    "default, masked": ({}, True),
    "forget_gate=True, masked": ({"forget_gate": True}, True),
}
TRAIN_PATHS = ("loop", "fit NumPy", "fit tf.data")
INFER_PATHS = ("predict", "call")


def _stats(values):
    import numpy as np

    ms = 1e3 * np.asarray(values)
    return {"median": float(np.median(ms)), "min": float(ms.min()), "max": float(ms.max())}


def data(masked, seed=0):
    """`--batches` batches of inputs (zeros after random lengths 50-100% when
    masked) and targets."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = FLAGS.batch * FLAGS.batches
    x = rng.normal(size=(n, FLAGS.steps, FLAGS.features)).astype("float32")
    if masked:
        lengths = rng.integers(FLAGS.steps // 2, FLAGS.steps + 1, size=n)
        x[np.arange(FLAGS.steps)[None] >= lengths[:, None]] = 0.0
    y = rng.normal(size=(n, 1)).astype("float32")
    return x, y


def build_model(impl, kwargs=None, masked=False):
    import keras

    from lstm_zoo.layers import LSTM1997

    layers = [keras.Input((FLAGS.steps, FLAGS.features))]
    if masked:
        layers.append(keras.layers.Masking())
    if impl == "keras.LSTM":
        layers.append(keras.layers.LSTM(FLAGS.units))
    else:
        layers.append(LSTM1997(FLAGS.units, **(kwargs or {})))
    layers.append(keras.layers.Dense(1))
    model = keras.Sequential(layers)
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    return model


def batch_times():
    """A Keras callback whose `times` are the seconds of each training or
    prediction batch of a call, the first one apart (it starts the call's
    iterator)."""
    import keras

    class BatchTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def _begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def _end(self, batch, logs=None):
            if batch > 0:
                self.times.append(time.perf_counter() - self.start)

        on_train_batch_begin = on_predict_batch_begin = _begin
        on_train_batch_end = on_predict_batch_end = _end

    return BatchTimes()


def tf_paths(model, x, y):
    """`{path: fn}` timing one batch: fit and predict give the median batch
    of an epoch (Keras' per-call setup, the same for every model, apart)."""
    import numpy as np
    import tensorflow as tf

    batch = FLAGS.batch
    xb, yb = tf.constant(x[:batch]), tf.constant(y[:batch])
    optimizer = model.optimizer

    @tf.function
    def loop():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(xb, training=True) - yb))
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    call = tf.function(lambda v: model(v, training=False))
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).cache()
    dataset = dataset.prefetch(tf.data.AUTOTUNE)

    def per_batch(fn):
        def run():
            timer = batch_times()
            fn(timer)
            return float(np.median(timer.times))

        return run

    fit_kwargs = {"epochs": 1, "verbose": 0, "shuffle": False}
    return {
        "loop": lambda: seconds(lambda: loop().numpy()),
        "fit NumPy": per_batch(
            lambda cb: model.fit(x, y, batch_size=batch, callbacks=[cb], **fit_kwargs)
        ),
        "fit tf.data": per_batch(lambda cb: model.fit(dataset, callbacks=[cb], **fit_kwargs)),
        "predict": per_batch(
            lambda cb: model.predict(x, batch_size=batch, callbacks=[cb], verbose=0)
        ),
        "call": lambda: seconds(lambda: call(xb).numpy()),
    }


def interleaved(functions, repeats):
    """Median and spread of each function (returning its own seconds), timed
    in turns (`timing.round_robin`)."""
    return {key: _stats(values) for key, values in round_robin(functions, repeats).items()}


def flops(kwargs, impl):
    """Matrix-product FLOPs of a bare training step (3x forward, less the
    recurrent error product the truncated gradient skips)."""
    b, t, f, u = FLAGS.batch, FLAGS.steps, FLAGS.features, FLAGS.units
    if impl == "keras.LSTM":
        width, recurrent = 4 * u, u
    else:
        gates = 2 + kwargs.get("forget_gate", False)
        blocks = u // kwargs.get("cells_per_block", 1)
        width = gates * blocks + u
        fed_back = kwargs.get("recurrent_input") == "cells_and_gates"
        recurrent = u + (gates * blocks if fed_back else 0)
    forward = 2.0 * b * t * (f + recurrent) * width
    train = 3 * forward
    if kwargs.get("gradient") == "truncated":
        train -= 2.0 * b * t * recurrent * width
    return train


def run_tf():
    """Times every configuration and path; returns rows for `tf_table`."""
    names = [n for n in CONFIGS if not FLAGS.only or n in FLAGS.only]
    entries = {"keras.LSTM": ("keras.LSTM", {}, False)}
    if any(CONFIGS[n][1] for n in names):
        entries["keras.LSTM, masked"] = ("keras.LSTM", {}, True)
    entries.update({n: ("LSTM1997", *CONFIGS[n]) for n in names})
    datasets = {masked: data(masked) for masked in (False, True)}
    functions = {}
    for name, (impl, kwargs, masked) in entries.items():
        model = build_model(impl, kwargs, masked)
        for path, fn in tf_paths(model, *datasets[masked]).items():
            functions[(name, path)] = fn
    times = interleaved(functions, FLAGS.repeats)
    rows = []
    for name, (impl, kwargs, masked) in entries.items():
        base = "keras.LSTM, masked" if masked else "keras.LSTM"
        row = {"name": name, "flops": flops(kwargs, impl), "paths": {}}
        for path in TRAIN_PATHS + INFER_PATHS:
            t = times[(name, path)]
            t["ratio"] = t["median"] / times[(base, path)]["median"]
            row["paths"][path] = t
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def tf_table(rows, peak):
    lines = [
        f"## TensorFlow: every configuration, B={FLAGS.batch}, T={FLAGS.steps}, "
        f"{FLAGS.features} features, {FLAGS.units} units",
        "",
        "Ratios of medians to keras.layers.LSTM on the same path in the same run (masked rows: "
        "to keras.layers.LSTM under the same mask); in brackets the median ms and the min-max "
        "spread over the rounds. `loop % peak`: the bare step's matrix-product FLOPs per second "
        f"over the measured matmul peak ({peak:.0f} GFLOP/s).",
        "",
        "| configuration | " + " | ".join(TRAIN_PATHS + INFER_PATHS) + " | loop % peak | "
        "FLOPs vs keras.LSTM |",
        "|---" * (len(TRAIN_PATHS + INFER_PATHS) + 3) + "|",
    ]
    base_flops = next(r["flops"] for r in rows if r["name"] == "keras.LSTM")
    for row in rows:
        cells = []
        for path in TRAIN_PATHS + INFER_PATHS:
            t = row["paths"][path]
            cells.append(f"{t['ratio']:.2f}x ({t['median']:.1f}, {t['min']:.1f}-{t['max']:.1f})")
        loop_peak = row["flops"] / (row["paths"]["loop"]["median"] * 1e-3) / 1e9 / peak
        cells += [f"{100 * loop_peak:.0f}%", f"{row['flops'] / base_flops:.2f}"]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    lines += ["", "Goals (at most 0.5x on every path):", ""]
    for row in rows:
        if row["name"].startswith("keras"):
            continue
        worst_train = max(row["paths"][p]["ratio"] for p in TRAIN_PATHS)
        worst_infer = max(row["paths"][p]["ratio"] for p in INFER_PATHS)
        met = "met" if max(worst_train, worst_infer) <= 0.5 else "not met"
        lines.append(f"- {row['name']}: worst training path {worst_train:.2f}x, worst "
                     f"inference path {worst_infer:.2f}x ({met}).")  # fmt: skip
    return lines


# ------------------------------------------------------------------ backends


def child_backend(name):
    """In a child process on backend `name`: LSTM1997 vs keras.LSTM, fit and predict."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    x, y = data(False)
    functions = {}
    impls = (("keras.LSTM", "keras.LSTM", {}), ("LSTM1997", "LSTM1997", {}),
             ("LSTM1997 forget_gate=True", "LSTM1997", {"forget_gate": True}))  # fmt: skip
    for label, impl, kwargs in impls:
        model = build_model(impl, kwargs)

        def fit(model=model):
            timer = batch_times()
            model.fit(x, y, batch_size=FLAGS.batch, epochs=1, verbose=0, shuffle=False,
                      callbacks=[timer])  # fmt: skip
            return float(np.median(timer.times))

        def predict(model=model):
            timer = batch_times()
            model.predict(x, batch_size=FLAGS.batch, verbose=0, callbacks=[timer])
            return float(np.median(timer.times))

        functions[(label, "fit NumPy")] = fit
        functions[(label, "predict")] = predict
    times = interleaved(functions, FLAGS.repeats)
    print(json.dumps({f"{k[0]}|{k[1]}": v for k, v in times.items()}))


def run_backends():
    results = {}
    for backend in ("jax", "torch"):
        env = {**os.environ, "KERAS_BACKEND": backend}
        command = [sys.executable, __file__, f"--child=backend:{backend}", *_shape_flags()]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
        if done.returncode:
            print(f"{backend}: failed\n{done.stderr[-2000:]}", flush=True)
            continue
        results[backend] = json.loads(done.stdout.strip().splitlines()[-1])
        print(backend, json.dumps(results[backend]), flush=True)
    return results


def backends_table(results):
    lines = [
        "## JAX and PyTorch backends",
        "",
        "Each backend in its own process (Keras' own loops: the fused kernel is TensorFlow's); "
        "per-batch medians of `model.fit` on NumPy and `predict`, ratio to keras.layers.LSTM "
        "on the same backend, min-max in brackets.",
        "",
        "| backend | implementation | fit NumPy | predict |",
        "|---|---|---|---|",
    ]
    for backend, times in results.items():
        for label in ("keras.LSTM", "LSTM1997", "LSTM1997 forget_gate=True"):
            cells = []
            for path in ("fit NumPy", "predict"):
                t, base = times[f"{label}|{path}"], times[f"keras.LSTM|{path}"]
                cells.append(f"{t['median'] / base['median']:.2f}x ({t['median']:.1f} ms, "
                             f"{t['min']:.1f}-{t['max']:.1f})")  # fmt: skip
            lines.append(f"| {backend} | {label} | " + " | ".join(cells) + " |")
    return lines


# ------------------------------------------------------------------- serving


def child_serve(folder):
    """In a fresh process without lstm_zoo: time each SavedModel's serving
    function and torch.nn.LSTM eager inference at batch 1 and 64."""
    import numpy as np
    import tensorflow as tf

    with open(os.path.join(folder, "models.json")) as f:
        models = json.load(f)
    rng = np.random.default_rng(0)
    inputs = {b: rng.normal(size=(b, FLAGS.steps, FLAGS.features)).astype("float32")
              for b in (1, FLAGS.batch)}  # fmt: skip
    functions = {}
    for label, path in models.items():
        loaded = tf.saved_model.load(path)
        serve = loaded.signatures["serving_default"]
        for b, x in inputs.items():
            tensor = tf.constant(x)

            def run(serve=serve, tensor=tensor):
                return [v.numpy() for v in serve(tensor).values()]

            functions[(label, b)] = lambda run=run: seconds(run)
    try:
        import torch

        torch.set_num_threads(os.cpu_count())
        lstm = torch.nn.LSTM(FLAGS.features, FLAGS.units, batch_first=True)
        head = torch.nn.Linear(FLAGS.units, 1)
        for b, x in inputs.items():
            tensor = torch.from_numpy(x)

            def infer(tensor=tensor):
                with torch.no_grad():
                    return head(lstm(tensor)[0][:, -1]).numpy()

            functions[("torch.nn.LSTM (eager)", b)] = lambda infer=infer: seconds(infer)
    except ImportError:
        pass
    times = interleaved(functions, FLAGS.repeats * 3)
    print(json.dumps({f"{k[0]}|{k[1]}": v for k, v in times.items()}))


def run_serving():
    import keras

    from lstm_zoo.export import export_model

    folder = tempfile.mkdtemp(prefix="family_serving_")
    models = {}
    model = build_model("keras.LSTM")
    path = os.path.join(folder, "keras_lstm")
    model.export(path)
    models["keras.layers.LSTM (model.export)"] = path
    for name, (kwargs, masked) in CONFIGS.items():
        if name == "gradient=truncated":
            continue  # the same forward as the default
        keras.utils.set_random_seed(0)
        model = build_model("LSTM1997", kwargs, masked)
        safe = name.replace("=", "_").replace(", ", "_")
        export_model(model, safe, base_dir=folder, version=1)
        models[f"LSTM1997 {name} (lstm_zoo export)"] = os.path.join(folder, safe, "1")
    with open(os.path.join(folder, "models.json"), "w") as f:
        json.dump(models, f)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, __file__, f"--child=serve:{folder}", *_shape_flags()]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode:
        print(f"serving: failed\n{done.stderr[-2000:]}", flush=True)
        return {}
    results = json.loads(done.stdout.strip().splitlines()[-1])
    print("serving", json.dumps(results), flush=True)
    return results


def serving_table(results):
    labels = list(dict.fromkeys(key.split("|")[0] for key in results))
    lines = [
        "## Serving: exported SavedModels in a fresh process",
        "",
        "Each SavedModel's `serving_default` called on a (batch, "
        f"{FLAGS.steps}, {FLAGS.features}) tensor in a process that never imports lstm_zoo "
        "(standard TensorFlow ops only), beside torch.nn.LSTM eager inference (`no_grad`) "
        "of the same shape with the same Dense(1) head; medians of interleaved calls, "
        "min-max in brackets.",
        "",
        f"| model | batch 1 ms | batch {FLAGS.batch} ms |",
        "|---|---|---|",
    ]
    for label in labels:
        cells = []
        for b in (1, FLAGS.batch):
            t = results[f"{label}|{b}"]
            cells.append(f"{t['median']:.2f} ({t['min']:.2f}-{t['max']:.2f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _shape_flags():
    return [f"--batch={FLAGS.batch}", f"--steps={FLAGS.steps}", f"--features={FLAGS.features}",
            f"--units={FLAGS.units}", f"--batches={FLAGS.batches}",
            f"--repeats={FLAGS.repeats}"]  # fmt: skip


def main(argv):
    del argv
    if FLAGS.child:
        kind, _, value = FLAGS.child.partition(":")
        (child_backend if kind == "backend" else child_serve)(value)
        return
    import keras
    import tensorflow as tf

    header = (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} "
              f"cores; TF {tf.__version__}, Keras {keras.__version__}")  # fmt: skip
    print(header, flush=True)
    lines = ["# LSTM1997's cell family against keras.layers.LSTM", "",
             f"Command: `python benchmarks/{os.path.basename(__file__)} "
             f"{' '.join(sys.argv[1:])}`", "", header, ""]  # fmt: skip
    if "tf" in FLAGS.part:
        peak = tf_matmul_peak()
        lines += tf_table(run_tf(), peak) + [""]
    if "backends" in FLAGS.part:
        lines += backends_table(run_backends()) + [""]
    if "serving" in FLAGS.part:
        lines += serving_table(run_serving()) + [""]
    text = "\n".join(lines)
    print(text)
    if FLAGS.output:
        os.makedirs(os.path.dirname(FLAGS.output) or ".", exist_ok=True)
        with open(FLAGS.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    app.run(main)
