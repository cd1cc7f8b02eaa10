"""The adding task's recipe configuration (`lstm-zoo train adding`)."""

import dataclasses

from lstm_zoo.run_config import RunConfig, option


@dataclasses.dataclass(frozen=True)
class AddingConfig(RunConfig):
    """An `LSTM1997` layer and a Dense head trained with Adam on the paper's
    adding problem (experiment 4)."""

    length: int = option(100, "Minimal sequence length T of the task.", lower=22)
    units: int = option(16, "Memory cells.", lower=1)
    cells_per_block: int = option(1, "Cells sharing one pair of gates.", lower=1)
    gradient: str = option("full", "Gradient mode of the cell.", choices=("full", "truncated"))
    train_sequences: int = option(20000, "Training set size.", lower=1)
    test_sequences: int = option(2560, "Test set size (the paper's 2560).", lower=1)
    batch_size: int = option(32, "Global mini-batch size.", lower=1)
    epochs: int = option(10, "Most passes over the training set.", lower=1)
    learning_rate: float = option(0.005, "Adam learning rate.", lower=0.0)
    max_minutes: float = option(3.0, "Wall-time budget for training, in minutes.", lower=0.0)
    tensorboard: bool = option(False, "Write TensorBoard logs to WORKDIR/tensorboard.")
    export: bool = option(False, "Export a SavedModel to --base_dir after training.")
