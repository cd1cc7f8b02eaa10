"""The `lstm-zoo` command line: its commands, their flags, help and errors.

    lstm-zoo train {adding,language_model,speech,captioning} [--flags]
    lstm-zoo reproduce [--flags]
    lstm-zoo export NAME --checkpoint=PATH.keras [--version=N] [--overwrite]
    lstm-zoo verify SAVED_MODEL_DIR
    lstm-zoo score DATA --recognizers=pocketsphinx,MODEL.keras [--speakers=...]

Each command has its own flags: a `train` command's are the fields of its
recipe's config (`lstm_zoo.tasks.adding.config`, `lstm_zoo.applications.
<name>.config`), with the same defaults, plus `--workdir`, `--config` (a JSON
file of the command's flag values) and `--verbosity`. A flag of another
command is an error that names it.

This front end lives outside the `lstm_zoo` package and keeps that
package from importing TensorFlow (`DEFER_IMPORTS`) until a command runs, so
`--help` and flag errors answer at once. The commands themselves are in
`lstm_zoo.cli`.
"""

import dataclasses
import importlib
import json
import os
import sys

from absl import flags

#: Read by `lstm_zoo/__init__.py`: import TensorFlow only when a command runs.
DEFER_IMPORTS = True

#: `train` tasks: (config module, config class, recipe module).
TRAIN = {
    "adding": ("lstm_zoo.tasks.adding.config", "AddingConfig", "lstm_zoo.tasks.adding.recipe"),
    "language_model": ("lstm_zoo.applications.language_model.config", "LanguageModelConfig",
                       "lstm_zoo.applications.language_model.recipe"),
    "speech": ("lstm_zoo.applications.speech.config", "SpeechConfig",
               "lstm_zoo.applications.speech.recipe"),
    "captioning": ("lstm_zoo.applications.captioning.config", "CaptioningConfig",
                   "lstm_zoo.applications.captioning.recipe"),
}  # fmt: skip

COMMANDS = {
    **{f"train {task}": f"Trains, evaluates and saves the {task} recipe (WORKDIR/model.keras), "
       "and exports it where --export is set." for task in TRAIN},
    "reproduce": "Runs the paper's experiments in the paper's and a modern setting and writes "
                 "a report (resumable).",
    "export": "lstm-zoo export NAME --checkpoint=PATH.keras | --preset=P: writes a trained "
              ".keras model or a shipped preset to BASE_DIR/NAME/VERSION/ for TF Serving.",
    "verify": "lstm-zoo verify SAVED_MODEL_DIR: checks an exported SavedModel in a fresh "
              "process that cannot import lstm_zoo.",
    "score": "lstm-zoo score DATA: decodes a speech corpus (FSDD folder, manifest) with "
             "PocketSphinx and trained speech models side by side; accuracy and word error "
             "rate per speaker.",
}  # fmt: skip

USAGE = (
    f"usage: lstm-zoo train {{{','.join(TRAIN)}}} [--flags] | lstm-zoo reproduce [--flags] | "
    "lstm-zoo export NAME --checkpoint=PATH [--flags] | lstm-zoo verify DIR | "
    "lstm-zoo score DATA [--flags]"
)
HELP_FLAGS = ("--help", "-h", "-?", "--helpshort", "--helpfull")


class CommandLineError(Exception):
    """A bad command line: one line on standard error, exit status 2."""


def _config_class(task):
    module, name, _ = TRAIN[task]
    return getattr(importlib.import_module(module), name)


def _define_common(fv):
    flags.DEFINE_string("config", None, "JSON file of this command's flag values (flags given "
                        "on the command line win).", flag_values=fv)  # fmt: skip
    flags.DEFINE_integer("verbosity", 0, "1: show TensorFlow's start-up and INFO log lines.",
                         lower_bound=0, flag_values=fv)  # fmt: skip


def _define_train(fv, task):
    for field in dataclasses.fields(_config_class(task)):
        meta = field.metadata
        kwargs = {"flag_values": fv}
        text = meta["help"]
        kind = meta["kind"]
        if meta["choices"] is not None:
            flags.DEFINE_enum(field.name, field.default, list(meta["choices"]), text, **kwargs)
            continue
        if kind in ("int", "float"):
            kwargs.update(lower_bound=meta["lower"], upper_bound=meta["upper"])
        define = {"int": flags.DEFINE_integer, "float": flags.DEFINE_float,
                  "bool": flags.DEFINE_bool, "str": flags.DEFINE_string,
                  "list": flags.DEFINE_list}[kind]  # fmt: skip
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        define(field.name, default, text, **kwargs)
    flags.DEFINE_string("workdir", f"runs/{task}", "The run's folder: config.json, log.csv, "
                        "tensorboard/, backup/ (a killed run started again resumes from it), "
                        "model.keras, metrics.json.", flag_values=fv)  # fmt: skip


def _define_reproduce(fv):
    d = flags
    d.DEFINE_list("experiments", None, "Experiments to reproduce, e.g. 1,2a,4/T=1000,"
                  "2c/p=1000/q=1000, 5/n_seq=13 (the paper's second multiplication test; "
                  "default: all of lstm_zoo.reproduce.DEFAULT_EXPERIMENTS).",
                  flag_values=fv)  # fmt: skip
    d.DEFINE_list("settings", ["paper", "modern"], "Settings to run: paper (the appendix A.1 "
                  "rule, one update per sequence), modern, and the side variants "
                  "paper_online (every weight changed at every step), paper_eq16 "
                  "(eq. 16's error), paper_cells (only the cell outputs fed back, not the "
                  "gate activations) and paper_caption (h and g as table 10's caption "
                  "defines them).", flag_values=fv)  # fmt: skip
    d.DEFINE_integer("trials", 3, "Trials per experiment and setting.", lower_bound=1,
                     flag_values=fv)
    d.DEFINE_integer("first_trial", 0, "Run only the trials from this index on (to share a "
                     "row's trials between processes, e.g. --trials=3 --first_trial=2 runs "
                     "the third alone).", lower_bound=0, flag_values=fv)  # fmt: skip
    d.DEFINE_bool("rerun_unsolved", False, "Also run again, from its start, each trial "
                  "already in trials.csv unsolved with a smaller budget than this run's; its "
                  "new row replaces the old one, which goes to superseded.csv.",
                  flag_values=fv)  # fmt: skip
    d.DEFINE_integer("seed", 0, "Seed of the first trial.", flag_values=fv)
    d.DEFINE_integer("budget", None, "Most training sequences per trial (default: per "
                     "experiment).", lower_bound=1, flag_values=fv)  # fmt: skip
    d.DEFINE_bool("quick", False, "Reproduce a small subset with small budgets (a smoke check "
                  "of a few minutes).", flag_values=fv)  # fmt: skip
    d.DEFINE_string("output_dir", "reproduction", "Folder of the reproduction's trials.csv, "
                    "curves and plots.", flag_values=fv)  # fmt: skip
    d.DEFINE_string("report", None, "Markdown report (default OUTPUT_DIR/report.md).",
                    flag_values=fv)
    d.DEFINE_bool("report_only", False, "Write the report from OUTPUT_DIR/trials.csv; train "
                  "nothing.", flag_values=fv)  # fmt: skip
    d.DEFINE_string("save_models", None, "Keep each trained trial's model in this folder "
                    "(EXPERIMENT_PARAMS_SETTING_TRIAL.keras).", flag_values=fv)  # fmt: skip
    d.DEFINE_enum("backend", "jax", ["jax", "tensorflow"], "Keras backend of `reproduce` (JAX "
                  "compiles the online updates ~30x faster on CPU; falls back to TensorFlow "
                  "when JAX is not installed).", flag_values=fv)  # fmt: skip


def _define_export(fv):
    flags.DEFINE_string("checkpoint", None, "`.keras` model file to export (a train command's "
                        "WORKDIR/model.keras).", flag_values=fv)  # fmt: skip
    flags.DEFINE_string("preset", None, "A trained preset of NAME shipped in the package "
                        "(lstm_zoo.applications.list_presets()), exported instead of a "
                        "--checkpoint.", flag_values=fv)  # fmt: skip
    flags.DEFINE_string("base_dir", "saved_models", "Folder of exported models.", flag_values=fv)
    flags.DEFINE_integer("version", None, "Version to export (default: the next free).",
                         lower_bound=1, flag_values=fv)  # fmt: skip
    flags.DEFINE_bool("overwrite", False, "Replace an existing version.", flag_values=fv)


def _define_score(fv):
    flags.DEFINE_list("recognizers", ["pocketsphinx"], "Recognisers to score, side by side: "
                      "`pocketsphinx` (needs `pip install \"lstm_zoo[peers]\"`), a .keras file of "
                      "`train speech`, `preset:P` (a speech preset), or .keras files and presets "
                      "joined by `+` (an ensemble: their CTC log-likelihoods of each digit word "
                      "summed; needs the one-word grammar).", flag_values=fv)  # fmt: skip
    flags.DEFINE_list("speakers", None, "Score only these speakers (default: all).",
                      flag_values=fv)  # fmt: skip
    flags.DEFINE_enum("grammar", "auto", ["auto", "word", "string"], "Every recogniser's "
                      "grammar: one digit word (PocketSphinx's JSGF grammar; for Keras models the "
                      "digit word of highest CTC likelihood), or a string of them (PocketSphinx) "
                      "and a free beam search (Keras models). auto: one word where every "
                      "transcript is one word, as in FSDD.", flag_values=fv)  # fmt: skip
    flags.DEFINE_string("equalizer", None, "Equalise each scored speaker's recordings to the "
                        "reference of this file (the equalizer.json of `train speech "
                        "--equalize_speakers`) before every recogniser decodes them.",
                        flag_values=fv)  # fmt: skip
    flags.DEFINE_list("equalize_to", None, "Equalise each scored speaker's recordings to the "
                      "average spectrum of these speakers of DATA (for example a model's "
                      "training speakers) before every recogniser decodes them.",
                      flag_values=fv)  # fmt: skip
    flags.DEFINE_integer("beam_width", 8, "Beam width of the Keras models.", lower_bound=1,
                         flag_values=fv)  # fmt: skip
    flags.DEFINE_string("output", None, "Also write the scores (and every transcript) to this "
                        "JSON file.", flag_values=fv)  # fmt: skip


def flag_values(command):
    """A fresh `FlagValues` holding the flags of `command` (`"train speech"`,
    `"reproduce"`, `"export"`, `"verify"`)."""
    fv = flags.FlagValues()
    _define_common(fv)
    if command.startswith("train "):
        _define_train(fv, command.split()[1])
    elif command == "reproduce":
        _define_reproduce(fv)
    elif command == "export":
        _define_export(fv)
    elif command == "score":
        _define_score(fv)
    return fv


def _own_flags(fv):
    return [name for name in fv if name not in ("config", "verbosity")] + ["config", "verbosity"]


def command_help(command):
    """The help text of `command`: what it does and its flags with their defaults."""
    fv = flag_values(command)
    lines = [f"lstm-zoo {command}: {COMMANDS[command]}", "", "flags:"]
    for name in _own_flags(fv):
        flag = fv[name]
        default = flag.default
        if isinstance(default, bool):
            default = "true" if default else "false"
        elif isinstance(default, list):
            default = ",".join(default)
        lines.append(f"  --{name}: {flag.help}")
        lines.append(f"    (default: {default})")
    return "\n".join(lines)


def main_help():
    """The help text of `lstm-zoo --help`: the commands."""
    width = max(len(c) for c in COMMANDS)
    lines = [USAGE, "", "commands:"]
    lines += [f"  {c:<{width}}  {text}" for c, text in COMMANDS.items()]
    lines += ["", "`lstm-zoo COMMAND --help` lists the flags of a command."]
    return "\n".join(lines)


def _owners(name):
    """The commands that have a flag `name`."""
    return [c for c in COMMANDS if name in flag_values(c)]


def _apply_config(fv, path, command):
    """Sets flags from a JSON object; flags given on the command line win."""
    try:
        with open(path) as f:
            values = json.load(f)
    except OSError as error:
        raise CommandLineError(f"--config: cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise CommandLineError(f"--config: {path} is not valid JSON: {error}") from None
    if not isinstance(values, dict):
        raise CommandLineError(f"--config: {path} must hold a JSON object of flag values")
    kinds = {"int": (int,), "float": (int, float), "bool": (bool,), "string": (str,),
             "enum": (str,), "list": (list,)}  # fmt: skip
    for key, value in values.items():
        if key not in fv or key in ("config", "verbosity"):
            raise CommandLineError(f"--config: {path} holds {key!r}, which is not a flag of "
                                   f"`lstm-zoo {command}`")  # fmt: skip
        flag = fv[key]
        if flag.present:
            continue
        kind = flag.flag_type()
        kind = "list" if isinstance(flag.default, list) or kind.startswith("list") else kind
        allowed = kinds.get(kind, (str,))
        if value is not None and ((isinstance(value, bool) and kind != "bool")
                                  or not isinstance(value, allowed)):  # fmt: skip
            raise CommandLineError(f"--config: key {key!r} in {path} must be {kind}; received "
                                   f"{type(value).__name__} {value!r}")  # fmt: skip
        try:
            if value is None:
                flag.value = None
            else:
                flag.parse(",".join(value) if kind == "list" else value)
        except flags.Error as error:
            raise CommandLineError(f"--config: key {key!r} in {path}: {error}") from None


def _flag_name(arg, fv):
    """The flag an argument sets (`--noexport` sets `export`)."""
    name = arg.lstrip("-").split("=", 1)[0]
    if name not in fv and name.startswith("no") and "=" not in arg and name[2:] in fv:
        return name[2:]
    return name


def parse(argv):
    """`(command, positional, fv)` of a command line; `CommandLineError` if bad.

    Help requests raise `SystemExit(0)` after printing the help.
    """
    args = argv[1:]
    positional = [a for a in args if not a.startswith("-")]
    wants_help = any(a in HELP_FLAGS for a in args)
    if not positional:
        if wants_help:
            print(main_help())
            raise SystemExit(0)
        raise CommandLineError(f"{USAGE}; received: {' '.join(args) or '(nothing)'}")
    if positional[0] == "train":
        if len(positional) < 2 or positional[1] not in TRAIN:
            task = positional[1] if len(positional) > 1 else "(nothing)"
            raise CommandLineError(f"train: unknown task {task!r}; the tasks are "
                                   f"{', '.join(TRAIN)}")  # fmt: skip
        command, nargs = f"train {positional[1]}", 2
    elif positional[0] in ("reproduce", "export", "verify", "score"):
        command = positional[0]
        nargs = {"reproduce": 1, "export": 2, "verify": 2, "score": 2}[command]
    else:
        raise CommandLineError(f"unknown command {positional[0]!r}; {USAGE}")
    if wants_help:
        print(command_help(command))
        raise SystemExit(0)
    fv = flag_values(command)
    for arg in args:
        if arg.startswith("-") and arg != "--" and _flag_name(arg, fv) not in fv:
            name = _flag_name(arg, fv)
            owners = _owners(name)
            where = (f"it is a flag of {', '.join('`' + o + '`' for o in owners)}" if owners
                     else "no command has it")  # fmt: skip
            raise CommandLineError(f"--{name} is not a flag of `lstm-zoo {command}` ({where}); "
                                   f"`lstm-zoo {command} --help` lists its flags")  # fmt: skip
    try:
        rest = fv(["lstm-zoo", *args])
    except flags.Error as error:
        raise CommandLineError(" ".join(str(error).split())) from None
    if len(rest) - 1 != nargs:
        what = {"export": "NAME", "verify": "SAVED_MODEL_DIR", "score": "DATA"}.get(
            command.split()[0])
        if what and len(rest) - 1 < nargs:
            raise CommandLineError(f"{command} needs {what}; {USAGE}")
        raise CommandLineError(f"unexpected arguments {rest[1 + nargs:] or rest[1:]}; {USAGE}")
    if fv.config:
        _apply_config(fv, fv.config, command)
    return command, rest[1:], fv


def train_values(task, fv):
    """The config field values of a parsed `train TASK` command line."""
    values = {}
    for field in dataclasses.fields(_config_class(task)):
        value = fv[field.name].value
        values[field.name] = tuple(value) if isinstance(value, list) else value
    return values


def run(argv=None):
    """Console-script entry point (`lstm-zoo`)."""
    argv = sys.argv if argv is None else argv
    try:
        command, positional, fv = parse(argv)
    except CommandLineError as error:
        print(f"lstm-zoo: error: {error}", file=sys.stderr)
        return 2
    if fv.verbosity > 0:
        os.environ["LSTM_ZOO_TF_LOGS"] = "1"
    if command == "verify":  # a fresh interpreter does the work; no TensorFlow here
        import subprocess

        root = importlib.util.find_spec("lstm_zoo").submodule_search_locations[0]
        script = os.path.join(root, "verify_saved_model.py")
        return subprocess.run([sys.executable, script, positional[1]], check=False).returncode
    import lstm_zoo
    from lstm_zoo._quiet import hiding_enabled, quiet_stderr

    with quiet_stderr(hiding_enabled()):
        lstm_zoo.load()
        import tensorflow as tf

        tf.config.list_physical_devices()  # the device probe, with its log lines hidden
    if fv.verbosity == 0:
        from absl import logging

        logging.set_verbosity(logging.WARNING)
        tf.get_logger().setLevel("ERROR")
    from lstm_zoo import cli

    try:
        if command.startswith("train "):
            task = command.split()[1]
            return cli.train(task, train_values(task, fv), fv.workdir)
        if command == "reproduce":
            return cli.reproduce_experiments(fv, argv)
        if command == "score":
            return cli.score_speech(positional[1], fv)
        return cli.export(positional[1], fv)
    except ValueError as error:  # bad values met at run time: one line, no traceback
        if os.environ.get("LSTM_ZOO_DEBUG"):
            raise
        print(f"lstm-zoo: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
