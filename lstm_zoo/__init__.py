"""lstm_zoo: the original 1997 LSTM for Keras 3, its benchmark tasks and applications.

`import lstm_zoo` imports TensorFlow (its start-up log lines hidden) and every
module that registers Keras objects, so `keras.saving.load_model` finds them.
Only the command line's front end (`lstm_zoo_cli`, which answers `--help`
without TensorFlow) defers this, and calls `lstm_zoo.load()` once it runs a
command.
"""

import importlib as _importlib
import sys as _sys

__version__ = "0.1.0"

# Modules whose import registers the Keras objects of lstm_zoo.
_REGISTERING = (
    "layers",
    "datasets",
    "training",
    "reproduce",
    "applications.text_tokenizer",
    "applications.language_model.model",
    "applications.language_model.stream",
    "applications.speech.model",
    "applications.captioning.model",
)


def load():
    """Imports TensorFlow and the modules that register lstm_zoo's Keras objects."""
    from lstm_zoo._quiet import import_tensorflow

    import_tensorflow()  # before Keras, which imports it with its start-up log lines
    for name in _REGISTERING:
        _importlib.import_module(f"lstm_zoo.{name}")
    module = _sys.modules[__name__]
    from lstm_zoo.layers import LSTM1997, LSTM1997Cell

    module.LSTM1997, module.LSTM1997Cell = LSTM1997, LSTM1997Cell


def __getattr__(name):
    if name in ("LSTM1997", "LSTM1997Cell", "applications", "datasets", "layers"):
        load()
        return getattr(_sys.modules[__name__], name)
    raise AttributeError(f"module 'lstm_zoo' has no attribute {name!r}")


if not getattr(_sys.modules.get("lstm_zoo_cli"), "DEFER_IMPORTS", False):
    load()

__all__ = ["LSTM1997", "LSTM1997Cell", "applications", "datasets", "layers", "load",
           "__version__"]  # fmt: skip
