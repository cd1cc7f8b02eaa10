"""The language model's sizes and its recipe configuration
(`lstm-zoo train language_model`)."""

import dataclasses

from lstm_zoo.run_config import CELLS, RunConfig, option

#: Zaremba et al.'s three configurations (model and training hyper-parameters).
#: `num_steps` is the unroll length, `decay_after` the epochs at the full
#: learning rate, after which it is multiplied by `decay` every epoch.
CONFIGS = {
    "small": dict(num_layers=2, units=200, dropout=0.0, init_scale=0.1, num_steps=20,
                  batch_size=20, learning_rate=1.0, clip_norm=5.0, epochs=13, decay_after=4,
                  decay=0.5),
    "medium": dict(num_layers=2, units=650, dropout=0.5, init_scale=0.05, num_steps=35,
                   batch_size=20, learning_rate=1.0, clip_norm=5.0, epochs=39, decay_after=6,
                   decay=1 / 1.2),
    "large": dict(num_layers=2, units=1500, dropout=0.65, init_scale=0.04, num_steps=35,
                  batch_size=20, learning_rate=1.0, clip_norm=10.0, epochs=55, decay_after=14,
                  decay=1 / 1.15),
}  # fmt: skip
#: The keys of a configuration that size the model (the rest is training).
MODEL_KEYS = ("num_layers", "units", "dropout", "init_scale")
#: Adam's learning rate (`--optimizer=adam`); the loss is summed over the
#: unrolled steps, and Adam's step size ignores that scale.
ADAM_LEARNING_RATE = 0.002


@dataclasses.dataclass(frozen=True)
class LanguageModelConfig(RunConfig):
    """A Zaremba-style stacked LSTM trained by truncated BPTT over one stream.
    Fields left `None` take the value of the `size` configuration."""

    corpus: str = option(None, "Text corpus: a PTB folder, a folder of .txt files or a text "
                         "file (default: the embedded Python documentation).", kind="str")
    level: str = option("word", "Language model tokens.", choices=("word", "char"))
    size: str = option("small", "Zaremba et al.'s configuration (sizes, dropout, schedule).",
                       choices=tuple(CONFIGS))
    cell: str = option("lstm1997", "Recurrent cell of the model.", choices=CELLS)
    num_layers: int = option(None, "Recurrent layers (default: the size's).", lower=1, kind="int")
    units: int = option(None, "Cells per layer and embedding width (default: the size's).",
                        lower=1, kind="int")
    dropout: float = option(None, "Dropout between layers (default: the size's).", lower=0.0,
                            upper=0.99, kind="float")
    num_steps: int = option(None, "Unroll length (default: the size's).", lower=1, kind="int")
    optimizer: str = option("sgd", "sgd: the paper's (learning rate 1, clipping, decay); adam: "
                            f"learning rate {ADAM_LEARNING_RATE}, no decay.",
                            choices=("sgd", "adam"))
    clip_norm: float = option(None, "Global gradient-norm clip (default: the size's; 0: none).",
                              lower=0.0, kind="float")
    max_tokens: int = option(10000, "Vocabulary size, <unk> included (word level).", lower=2)
    reset_every: int = option(
        None, "Restart the carried state every N batches (0: carry it through the epoch, "
        "Zaremba et al.); default 5 for the 1997 cell, which has no forget gate, else 0.",
        lower=0, kind="int",
    )  # fmt: skip
    split: tuple = option(("0.9", "0.05", "0.05"), "train,valid,test fractions for a corpus "
                          "without its own splits.")
    batch_size: int = option(None, "Parallel rows of the stream (default: the size's).",
                             lower=1, kind="int")
    epochs: int = option(None, "Most passes over the corpus (default: the size's).", lower=1,
                         kind="int")
    learning_rate: float = option(None, "Learning rate (default: the size's for sgd, "
                                  f"{ADAM_LEARNING_RATE} for adam).", lower=0.0, kind="float")
    max_minutes: float = option(60.0, "Wall-time budget for training, in minutes.", lower=0.0)

    def resolved(self, name):
        """The field `name`, or the size's value where it is `None`."""
        value = getattr(self, name)
        if value is not None:
            return value
        if name == "learning_rate" and self.optimizer == "adam":
            return ADAM_LEARNING_RATE
        if name == "reset_every":
            return 5 if self.cell == "lstm1997" else 0
        return CONFIGS[self.size][name]
