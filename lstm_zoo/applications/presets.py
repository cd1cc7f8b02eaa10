"""Trained presets: models shipped inside the package, loaded without training
or download (`lstm_zoo.applications.get_model(name, preset=...)`).

A preset is a folder `<home>/presets/<preset>/` holding three files:

- `config.json`: the Keras config of the model (`serialize_keras_object`),
  its preprocessing (tokenizer, vocabulary, feature settings) included;
- `weights.npz`: the weights in `model.get_weights()` order, floating-point
  arrays stored as float16 (half the bytes; restored to the variables' own
  dtype on load), compressed;
- `card.json`: the model card: data and licence, the command that trained
  it, training time and machine, held-out metrics (measured on the float16
  weights), versions.

The homes are the application folders (`applications/<name>/presets`) and the
paper tasks' recipe folders (`tasks/<name>/presets`). A missing or corrupt
file fails with one `ValueError` line naming the file.
"""

import json
import os

import numpy as np

# The package folder; `LSTM_ZOO_PRESET_ROOT` points elsewhere (a copy of the
# preset folders, as the tests use to damage one without touching the package).
_ROOT = os.environ.get("LSTM_ZOO_PRESET_ROOT") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))
)
#: Where each name's presets live (relative to the `lstm_zoo` package).
HOMES = {
    "adding": "tasks/adding/presets",
    "temporal_order": "tasks/temporal_order/presets",
    "two_sequence": "tasks/two_sequence/presets",
    "captioning": "applications/captioning/presets",
    "language_model": "applications/language_model/presets",
    "speech": "applications/speech/presets",
}
FILES = ("config.json", "weights.npz", "card.json")


def preset_folder(name, preset):
    """The folder of `preset` of `name` (which need not exist)."""
    return os.path.join(_ROOT, HOMES[name], preset)


def available(name):
    """The presets of `name` shipped in the package."""
    home = os.path.join(_ROOT, HOMES[name])
    if not os.path.isdir(home):
        return []
    return sorted(e for e in os.listdir(home) if os.path.isfile(os.path.join(home, e, "card.json")))


def save_preset(model, folder, card):
    """Writes `model` as a preset folder (float16 weights) with its `card`."""
    import keras

    os.makedirs(folder, exist_ok=True)
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)  # an inference model: `compile()` sets the defaults
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    weights = {}
    for i, w in enumerate(model.get_weights()):
        w = np.asarray(w)
        weights[f"w{i:04d}"] = w.astype(np.float16) if np.issubdtype(w.dtype, np.floating) else w
    np.savez_compressed(os.path.join(folder, "weights.npz"), **weights)
    with open(os.path.join(folder, "card.json"), "w") as f:
        json.dump(card, f, indent=1, default=str)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise ValueError(f"Preset file {path} is unreadable or corrupt: "
                         f"{' '.join(str(error).split())}") from None  # fmt: skip


def load_preset(folder):
    """The model of a preset folder, its weights restored, `model.preset_card`
    set; `ValueError` naming the file that is missing or corrupt."""
    import keras

    for name in FILES:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise ValueError(f"Preset file {path} is missing (reinstall lstm_zoo)")
    config = _read_json(os.path.join(folder, "config.json"))
    card = _read_json(os.path.join(folder, "card.json"))
    path = os.path.join(folder, "weights.npz")
    try:
        with np.load(path, allow_pickle=False) as stored:
            weights = [stored[key] for key in sorted(stored.files)]
    except Exception as error:  # noqa: BLE001 - zip, header and CRC errors alike
        raise ValueError(f"Preset file {path} is corrupt: {' '.join(str(error).split())}"
                         ) from None  # fmt: skip
    try:
        model = keras.saving.deserialize_keras_object(config)
    except Exception as error:  # noqa: BLE001
        raise ValueError(f"Preset file {os.path.join(folder, 'config.json')} does not describe "
                         f"a model: {' '.join(str(error).split())}") from None  # fmt: skip
    if not model.built:
        model.build()
    variables = model.weights
    if len(weights) != len(variables) or any(
        tuple(w.shape) != tuple(v.shape) for w, v in zip(weights, variables, strict=False)
    ):
        raise ValueError(f"Preset file {path} does not match its config.json: "
                         f"{len(weights)} arrays for {len(variables)} weights")  # fmt: skip
    model.set_weights([w.astype(v.dtype) for w, v in zip(weights, variables, strict=True)])
    model.preset_card = card
    return model


def from_run(name, preset, workdir, command, data, licence, machine, extra=None):
    """Makes the preset `name/preset` from a finished `lstm-zoo train` run.

    Reads `WORKDIR/model.keras`, `metrics.json` and `config.json`; the card
    gets the run's metrics and training time, `command` (the exact command
    line that trained it), `data`, `licence`, `machine` and the versions.
    Returns the preset's folder.
    """
    import keras
    import tensorflow as tf

    from lstm_zoo import __version__

    model = keras.saving.load_model(os.path.join(workdir, "model.keras"), safe_mode=True)
    facts = _read_json(os.path.join(workdir, "metrics.json"))
    config = _read_json(os.path.join(workdir, "config.json"))
    card = {
        "name": f"{name}/{preset}",
        "data": data,
        "licence": licence,
        "command": command,
        "training_seconds": facts.get("seconds"),
        "machine": machine,
        "metrics": facts.get("metrics"),
        "parameters": model.count_params(),
        "config": config,
        "versions": {"lstm_zoo": __version__, "keras": keras.__version__,
                     "tensorflow": tf.__version__},
        **(extra or {}),
    }  # fmt: skip
    folder = preset_folder(name, preset)
    save_preset(model, folder, card)
    return folder
