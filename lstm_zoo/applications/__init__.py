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
the trained models shipped in the package.
"""

import importlib

# name: (module, class, config module, sizes attribute)
_APPLICATIONS = {
    "captioning": ("captioning.model", "ImageCaptioner", "captioning.config", "SIZES"),
    "language_model": ("language_model.model", "LanguageModel", "language_model.config",
                       "CONFIGS"),
    "speech": ("speech.model", "SpeechRecognizer", "speech.config", "SIZES"),
}
#: Trained presets by application: `{name: {preset: files}}` (none shipped yet).
PRESETS = {name: {} for name in _APPLICATIONS}

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
    """Names of the trained presets (of the application `name`, or all as `name/preset`)."""
    if name is not None:
        _check_name(name)
        return sorted(PRESETS[name])
    return sorted(f"{app}/{preset}" for app, presets in PRESETS.items() for preset in presets)


def get_model(name, size=None, preset=None, **kwargs):
    """Builds the application `name`.

    Args:
        name: One of `list_models()`.
        size: One of `list_sizes(name)`, or `None` for the class's defaults.
        preset: One of `list_presets(name)`: a trained model.
        **kwargs: The class's other arguments (a language model's
            `tokenizer`, a captioner's `vocabulary`, `cell`, ...); they
            override the size's.
    """
    _check_name(name)
    if preset is not None:
        raise ValueError(f"Argument `preset` must be one of {list_presets(name)} for {name!r}; "
                         f"received: {preset!r}")
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
    "list_sizes",
]
