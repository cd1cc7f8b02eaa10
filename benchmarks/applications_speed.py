"""Training speed of the applications through `lstm-zoo train`, for code trees side by side.

Runs each application's training command for one epoch (or a wall-time
budget), once per code tree in turn (`--trees`, each put first on
`PYTHONPATH`, e.g. a `git worktree` of an older commit beside this checkout),
for `--rounds` rounds, and reads the driver's "trained S s, N steps" line:
seconds per optimizer step and per epoch. The first step (tracing) is in the
time, as it is for a user.

    git worktree add /tmp/before <commit>
    python benchmarks/applications_speed.py --trees=before=/tmp/before,after=. \\
        --output=results/benchmarks_applications.md
"""

import os
import re
import subprocess
import sys
import tempfile

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("trees", ["this=."], "label=path of each code tree to time.")
flags.DEFINE_list("apps", [], "Restrict to these runs (names of RUNS).")
flags.DEFINE_integer("rounds", 1, "Rounds (every tree once per round).", lower_bound=1)
flags.DEFINE_string("shakespeare", "../shared/data/tinyshakespeare/input.txt",
                    "tinyshakespeare's input.txt for the character model run.")  # fmt: skip
flags.DEFINE_string("output", None, "Markdown file to write the table to.")

COMMON = ["--export=false", "--backup=false", "--tensorboard=false"]
# name -> (what, arguments of `lstm-zoo train`)
RUNS = {
    "adding": ("one epoch, default flags", ["adding", "--epochs=1"]),
    "speech": ("one epoch of the synthesised corpus, default flags (2 x 128 bidirectional, "
               "forget-gate cell)", ["speech", "--epochs=1", "--synth_dir=data/spoken_digits"]),
    "language_model": ("one epoch of the embedded corpus, default flags (1997 cell)",
                       ["language_model", "--epochs=1"]),
    "captioning": ("one epoch of the rendered scenes, default flags (1997 cell)",
                   ["captioning", "--epochs=1"]),
    "tinyshakespeare": ("2 minutes of the character model of results/real_data.md "
                        "(2 x 512, batch 32, 100 steps) with the forget-gate cell",
                        ["language_model", "--level=char", "--split=0.9,0.1,0", "--units=512",
                         "--num_steps=100", "--batch_size=32", "--optimizer=adam",
                         "--dropout=0.2", "--cell=lstm1997_forget_gate", "--max_minutes=2",
                         "--epochs=1"]),
}  # fmt: skip


def run(tree, arguments):
    """Seconds and steps of one training run on the code of `tree`."""
    env = {**os.environ, "PYTHONPATH": os.path.abspath(tree), "TF_CPP_MIN_LOG_LEVEL": "2"}
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-m", "lstm_zoo.cli", "train", *arguments, *COMMON,
                   f"--workdir={workdir}"]  # fmt: skip
        if arguments[0] == "language_model" and "--level=char" in arguments:
            command.append(f"--corpus={FLAGS.shakespeare}")
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=7200)
    found = re.search(r"trained (\d+) s, (\d+) steps", done.stdout)
    if done.returncode or not found:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return int(found.group(1)), int(found.group(2))


def main(argv):
    del argv
    trees = dict(item.split("=", 1) for item in FLAGS.trees)
    names = [n for n in RUNS if not FLAGS.apps or n in FLAGS.apps]
    results = {(n, label): [] for n in names for label in trees}
    for _ in range(FLAGS.rounds):
        for name in names:
            for label, tree in trees.items():
                seconds, steps = run(tree, RUNS[name][1])
                results[(name, label)].append((seconds, steps))
                print(f"{name} {label}: {seconds} s, {steps} steps, "
                      f"{seconds / max(steps, 1):.3f} s/step", flush=True)  # fmt: skip
    lines = [
        "| run | what | " + " | ".join(f"{label} s/step (s, steps)" for label in trees) + " |",
        "|---|---|" + "---|" * len(trees),
    ]
    for name in names:
        cells = []
        for label in trees:
            runs = results[(name, label)]
            per_step = sorted(s / max(n, 1) for s, n in runs)
            cells.append(f"{per_step[len(per_step) // 2]:.3f} ("
                         + ", ".join(f"{s} s, {n}" for s, n in runs) + ")")  # fmt: skip
        lines.append(f"| {name} | {RUNS[name][0]} | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    print(text)
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    app.run(main)
