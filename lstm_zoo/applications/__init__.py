"""Prebuilt models in the `keras.applications` style.

- `LanguageModel`: a Zaremba-style stacked LSTM over words or characters
  (`lstm-zoo train language_model`).

- `SpeechRecognizer`: a deep bidirectional LSTM with CTC over raw waveforms
  (`lstm-zoo train speech`).

- `ImageCaptioner`: a CNN encoder and an LSTM decoder with beam search,
  image bytes in, captions out (`lstm-zoo train captioning`).

`list_models()` names the applications; `get_model(name, **kwargs)` builds one.
"""

from lstm_zoo.applications.image_captioner import ImageCaptioner
from lstm_zoo.applications.language_model import CONFIGS as LANGUAGE_MODEL_CONFIGS
from lstm_zoo.applications.language_model import LanguageModel
from lstm_zoo.applications.speech_features import SpeechFeatures
from lstm_zoo.applications.speech_recognizer import SpeechRecognizer

_MODELS = {
    "captioning": ImageCaptioner,
    "language_model": LanguageModel,
    "speech": SpeechRecognizer,
}


def list_models():
    """Names of the available applications."""
    return sorted(_MODELS)


def get_model(name, **kwargs):
    """Builds the application `name` with `kwargs` (see its class)."""
    if name not in _MODELS:
        raise ValueError(f"Argument `name` must be one of {list_models()}; received: {name!r}")
    return _MODELS[name](**kwargs)


__all__ = [
    "LANGUAGE_MODEL_CONFIGS",
    "ImageCaptioner",
    "LanguageModel",
    "SpeechFeatures",
    "SpeechRecognizer",
    "get_model",
    "list_models",
]
