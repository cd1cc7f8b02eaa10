"""Prebuilt models in the `keras.applications` style.

- `LanguageModel`: a Zaremba-style stacked LSTM over words or characters
  (`lstm-zoo train language_model`).

Speech recognition and image captioning are tracked as their own issues.
`list_models()` names the applications; `get_model(name, **kwargs)` builds one.
"""

from lstm_zoo.applications.language_model import CONFIGS as LANGUAGE_MODEL_CONFIGS
from lstm_zoo.applications.language_model import LanguageModel

_MODELS = {"language_model": LanguageModel}


def list_models():
    """Names of the available applications."""
    return sorted(_MODELS)


def get_model(name, **kwargs):
    """Builds the application `name` with `kwargs` (see its class)."""
    if name not in _MODELS:
        raise ValueError(f"Argument `name` must be one of {list_models()}; received: {name!r}")
    return _MODELS[name](**kwargs)


__all__ = ["LANGUAGE_MODEL_CONFIGS", "LanguageModel", "get_model", "list_models"]
