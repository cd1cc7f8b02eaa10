"""Prebuilt models in the `keras.applications` / keras-hub style, one folder each.

- `language_model/`: `LanguageModel`, a Zaremba-style stacked LSTM over words
  or characters (`lstm-zoo train language_model`).
- `speech/`: `SpeechRecognizer`, a deep bidirectional LSTM with CTC over raw
  waveforms (`lstm-zoo train speech`).
- `captioning/`: `ImageCaptioner`, a CNN encoder and an LSTM decoder with beam
  search, image bytes in, captions out (`lstm-zoo train captioning`).

Each folder holds the model (`model.py`), its preprocessing, its data
(`data.py`), its metrics (`metrics.py`) and its recipe: `config.py` (a frozen
dataclass, the only home of its defaults, and the named model sizes) and
`recipe.py` (`train(config, workdir) -> (model, metrics)`).

`list_models()` names the applications, `list_sizes(name)` their named model
sizes, `get_model(name, size=..., **kwargs)` builds one; `list_presets()` names
the trained models shipped in the package (`presets`), and
`get_model(name, preset=...)` loads one, with no training and no download.
Presets also exist for the paper's tasks (`get_model("adding", preset=...)`).
"""

import importlib

# name: (module, class, config module, sizes attribute)
_APPLICATIONS = {
    "captioning": ("captioning.model", "ImageCaptioner", "captioning.config", "SIZES"),
    "language_model": ("language_model.model", "LanguageModel", "language_model.config",
                       "CONFIGS"),
    "speech": ("speech.model", "SpeechRecognizer", "speech.config", "SIZES"),
}

_EXPORTS = {
    "ImageCaptioner": "captioning.model",
    "LanguageModel": "language_model.model",
    "SpeechRecognizer": "speech.model",
    "SpeechFeatures": "speech.features",
    "SpecAugment": "speech.spec_augment",
    "TextTokenizer": "text_tokenizer",
}


def __getattr__(name):  # the classes load with TensorFlow, on first use
    if name in _EXPORTS:
        module = importlib.import_module(f"lstm_zoo.applications.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'lstm_zoo.applications' has no attribute {name!r}")


def _check_name(name):
    if name not in _APPLICATIONS:
        raise ValueError(f"Argument `name` must be one of {list_models()}; received: {name!r}")


def list_models():
    """Names of the available applications."""
    return sorted(_APPLICATIONS)


def list_sizes(name):
    """Named model sizes of the application `name` (`get_model(name, size=...)`)."""
    _check_name(name)
    _, _, config_module, attribute = _APPLICATIONS[name]
    sizes = getattr(importlib.import_module(f"lstm_zoo.applications.{config_module}"), attribute)
    return sorted(sizes)


def list_presets(name=None):
    """Names of the trained presets (of `name`, or all as `name/preset`)."""
    from lstm_zoo.applications import presets

    if name is not None:
        if name not in presets.HOMES:
            raise ValueError(f"Argument `name` must be one of {sorted(presets.HOMES)}; "
                             f"received: {name!r}")  # fmt: skip
        return presets.available(name)
    return sorted(f"{n}/{p}" for n in presets.HOMES for p in presets.available(n))


def preset_card(name, preset):
    """The model card of a preset (without loading its weights)."""
    import json
    import os

    from lstm_zoo.applications import presets

    _check_preset(name, preset)
    with open(os.path.join(presets.preset_folder(name, preset), "card.json")) as f:
        return json.load(f)


def _check_preset(name, preset):
    if preset not in list_presets(name):
        raise ValueError(f"Argument `preset` must be one of {list_presets(name)} for {name!r}; "
                         f"received: {preset!r}")  # fmt: skip


def get_model(name, size=None, preset=None, **kwargs):
    """Builds the application `name`.

    Args:
        name: One of `list_models()` (or, with `preset`, a paper task
            that has presets, such as `"adding"`).
        size: One of `list_sizes(name)`, or `None` for the class's defaults.
        preset: One of `list_presets(name)`: the trained model, its
            preprocessing included, with its card in `model.preset_card`.
        **kwargs: The class's other arguments (a language model's
            `tokenizer`, a captioner's `vocabulary`, `cell`, ...); they
            override the size's.
    """
    if preset is not None:
        from lstm_zoo.applications import presets

        _check_preset(name, preset)
        if size is not None or kwargs:
            raise ValueError("A preset is a trained model: pass `preset` alone, without "
                             f"`size` or other arguments; received: {sorted(kwargs)}")
        return presets.load_preset(presets.preset_folder(name, preset))
    _check_name(name)
    module, cls_name, config_module, attribute = _APPLICATIONS[name]
    cls = getattr(importlib.import_module(f"lstm_zoo.applications.{module}"), cls_name)
    if size is None:
        return cls(**kwargs)
    sizes = getattr(importlib.import_module(f"lstm_zoo.applications.{config_module}"), attribute)
    if size not in sizes:
        raise ValueError(f"Argument `size` must be one of {sorted(sizes)} for {name!r}; "
                         f"received: {size!r}")
    if name == "language_model":
        return cls(config=size, **kwargs)
    return cls(**{**sizes[size], **kwargs})


__all__ = [
    "ImageCaptioner",
    "LanguageModel",
    "SpecAugment",
    "SpeechFeatures",
    "SpeechRecognizer",
    "TextTokenizer",
    "get_model",
    "list_models",
    "list_presets",
    "preset_card",
    "list_sizes",
]
