"""Training recipes for the paper's tasks (`lstm-zoo train adding`); the
tasks themselves are in `lstm_zoo.datasets`."""
