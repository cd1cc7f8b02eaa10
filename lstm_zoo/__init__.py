"""lstm_zoo: the original 1997 LSTM for Keras 3, its benchmark tasks and applications."""

__version__ = "0.1.0"

from lstm_zoo._quiet import import_tensorflow  # noqa: E402

import_tensorflow()  # before Keras, which imports it with its start-up log lines

from lstm_zoo import applications, datasets, layers  # noqa: E402
from lstm_zoo.layers import LSTM1997, LSTM1997Cell  # noqa: E402

__all__ = ["LSTM1997", "LSTM1997Cell", "applications", "datasets", "layers", "__version__"]
