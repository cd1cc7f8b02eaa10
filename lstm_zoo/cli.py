"""The commands of `lstm-zoo` (its flags, help and errors: `lstm_zoo_cli`).

- `train(task, values, workdir)`: the recipe of `task` with its config built
  from `values` (`lstm_zoo.tasks.adding.recipe`, `lstm_zoo.applications.
  <name>.recipe`), run by the one training driver (`lstm_zoo.training.Run`).
- `export(name, fv)`: a trained `.keras` model to a TF Serving SavedModel.
- `reproduce_experiments(fv, argv)`: the paper's experiments and their report.
- `score_speech(data, fv)`: speech recognisers (PocketSphinx, trained models)
  scored side by side on one corpus (`lstm_zoo.applications.speech.peers`).

`python -m lstm_zoo.cli ...` runs the command line as `lstm-zoo` does.
"""

import importlib
import os
import subprocess
import sys


def train(task, values, workdir):
    """Runs the recipe of `task` on a config made of `values`; returns 0."""
    from lstm_zoo_cli import TRAIN

    config_module, config_class, recipe_module = TRAIN[task]
    config = getattr(importlib.import_module(config_module), config_class).from_dict(values)
    importlib.import_module(recipe_module).train(config, workdir)
    return 0


def _fail(message):
    print(f"lstm-zoo: error: {message}", file=sys.stderr)
    return 2


def export(name, fv):
    """Exports a trained `.keras` model or a shipped preset with `lstm_zoo.export`."""
    import keras

    if fv.preset:
        from lstm_zoo.applications import get_model

        if fv.checkpoint:
            return _fail("export takes --checkpoint or --preset, not both")
        model = get_model(name, preset=fv.preset)  # a ValueError names a bad file
        card = {**model.preset_card, "preset": f"{name}/{fv.preset}"}
        return _export(model, name, fv, card)
    if not fv.checkpoint:
        return _fail("export needs --checkpoint=PATH (a .keras file saved by `train`) or "
                     "--preset=NAME (lstm_zoo.applications.list_presets())")
    if not os.path.isfile(fv.checkpoint):
        return _fail(f"--checkpoint: no such file: {fv.checkpoint}")
    try:
        model = keras.saving.load_model(fv.checkpoint, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - any load failure is a bad file
        return _fail(f"--checkpoint: cannot load {fv.checkpoint} as a Keras model: {error}")
    if hasattr(model, "model_card"):
        card = model.model_card(checkpoint=os.path.abspath(fv.checkpoint))
    else:
        card = {"application": name, "checkpoint": os.path.abspath(fv.checkpoint),
                "config": model.get_config()}  # fmt: skip
    return _export(model, name, fv, card)


def _export(model, name, fv, card):
    from lstm_zoo._quiet import hiding_enabled, quiet_stderr
    from lstm_zoo.export import export_model

    try:
        with quiet_stderr(hiding_enabled()):  # TensorFlow's INFO lines of tracing and XLA
            path = export_model(model, name, base_dir=fv.base_dir, version=fv.version,
                                overwrite=fv.overwrite, metadata=card)  # fmt: skip
    except (FileExistsError, ValueError) as error:
        return _fail(str(error))
    print(path)
    return 0


def reproduce_experiments(fv, argv):
    """Runs the paper's experiments (`lstm_zoo.reproduce`) and writes the report."""
    import importlib.util

    import keras
    from absl import logging

    if keras.config.backend() != fv.backend and not os.environ.get("LSTM_ZOO_REEXEC"):
        if fv.backend != "jax" or importlib.util.find_spec("jax"):
            # The backend is fixed at import: run again in a fresh interpreter.
            env = dict(os.environ, KERAS_BACKEND=fv.backend, LSTM_ZOO_REEXEC="1")
            command = [sys.executable, "-m", "lstm_zoo_cli", *argv[1:]]
            return subprocess.run(command, env=env, check=False).returncode
        logging.warning("JAX is not installed; reproducing on %s (slower)", keras.config.backend())
    from lstm_zoo import reproduce

    logging.set_verbosity(logging.INFO)
    report = fv.report or os.path.join(fv.output_dir, "report.md")
    if fv.quick:
        experiments = [(name, params) for name, params, _ in reproduce.QUICK]
        budgets = [budget for _, _, budget in reproduce.QUICK]
    else:
        names = fv.experiments or list(reproduce.DEFAULT_EXPERIMENTS)
        experiments = [reproduce.parse_experiment(name) for name in names]
        budgets = None
    command = "lstm-zoo " + " ".join(argv[1:])
    if not fv.report_only:
        reproduce.check_first_trial(fv.first_trial, fv.trials)  # before recording the command
        reproduce.record_command(fv.output_dir, command)
        reproduce.run(experiments, fv.settings, fv.trials, fv.seed, fv.budget, fv.output_dir,
                      budgets, save_models=fv.save_models, first_trial=fv.first_trial,
                      rerun_unsolved=fv.rerun_unsolved)  # fmt: skip
    reproduce.write_report(fv.output_dir, report, command)
    print(f"Report: {report}")
    return 0


def score_speech(data, fv):
    """Decodes the corpus `data` with each of `fv.recognizers` and prints their scores."""
    import platform

    from lstm_zoo.applications.speech import data as speech
    from lstm_zoo.applications.speech import peers
    from lstm_zoo.applications.speech.equalizer import SpeakerEqualizer
    from lstm_zoo.training import write_json

    if not os.path.exists(data):
        return _fail(f"score: no such file or folder: {data}")
    if fv.equalizer and fv.equalize_to:
        return _fail("score: give --equalizer or --equalize_to, not both")
    if fv.equalizer and not os.path.isfile(fv.equalizer):
        return _fail(f"--equalizer: no such file: {fv.equalizer}")
    utterances = speech.load_speech_folder(data, sample_rate=None)
    speakers = sorted({u.speaker for u in utterances})
    for flag, wanted in (("equalize_to", fv.equalize_to), ("speakers", fv.speakers)):
        missing = sorted(set(wanted or ()) - set(speakers))
        if missing:
            return _fail(f"--{flag}: {', '.join(missing)} not in {data} (its speakers: "
                         f"{', '.join(speakers[:12])})")
    equalizer = None
    if fv.equalizer:
        try:
            equalizer = SpeakerEqualizer.load(fv.equalizer)
        except (ValueError, TypeError) as error:  # not JSON, or not an equaliser's
            return _fail(f"--equalizer: {fv.equalizer} is not an equalizer.json of "
                         f"`train speech --equalize_speakers` ({error})")  # fmt: skip
    elif fv.equalize_to:
        reference = [u for u in utterances if u.speaker in fv.equalize_to]
        rates = sorted({u.sample_rate for u in reference})
        if len(rates) > 1:
            return _fail(f"--equalize_to: the speakers' recordings are at several rates {rates}")
        equalizer = SpeakerEqualizer(rates[0]).fit(reference)
    if fv.speakers:
        utterances = [u for u in utterances if u.speaker in fv.speakers]
        speakers = sorted(set(fv.speakers))
    if equalizer is not None:
        try:
            utterances = equalizer.apply(utterances)
        except ValueError as error:
            return _fail(f"--{'equalizer' if fv.equalizer else 'equalize_to'}: {error}")
        print(f"each speaker equalised to the reference of "
              f"{fv.equalizer or ', '.join(fv.equalize_to)}", flush=True)
    isolated = (fv.grammar == "word" or fv.grammar == "auto"
                and all(len(u.transcript.split()) == 1 for u in utterances))  # fmt: skip
    print(f"{len(utterances)} utterances of {len(speakers)} speaker(s) "
          f"from {data}", flush=True)
    results = []
    for spec in fv.recognizers:
        try:
            recognizer = peers.load_recognizer(spec, fv.beam_width, isolated)
        except RuntimeError as error:
            return _fail(str(error))
        result = peers.score(recognizer, utterances)
        results.append({"recognizer": spec, **result})
        print(f"{recognizer.name}: accuracy {result['all']['accuracy']:.4f}, word error rate "
              f"{result['all']['word_error_rate']:.4f} ({result['seconds']:.1f} s)", flush=True)
    print("\n| speaker | " + " | ".join(r["recognizer"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for speaker in speakers:
        cells = [f"{r['speakers'][speaker]['accuracy']:.3f}" for r in results]
        print(f"| {speaker} | " + " | ".join(cells) + " |")
    print("| **all** | " + " | ".join(f"**{r['all']['accuracy']:.3f}**" for r in results) + " |")
    if fv.output:
        report = {"data": os.path.abspath(data), "isolated": isolated,
                  "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                  "transcripts": [u.transcript for u in utterances],
                  "paths": [u.path for u in utterances], "results": results,
                  "equalizer": equalizer and {"source": fv.equalizer or fv.equalize_to,
                                              **equalizer.get_config()}}  # fmt: skip
        os.makedirs(os.path.dirname(os.path.abspath(fv.output)), exist_ok=True)
        write_json(fv.output, report)
        print(f"Scores: {fv.output}")
    return 0


if __name__ == "__main__":
    from lstm_zoo_cli import run

    sys.exit(run())
