"""Configuration of a training run: the fields every `train` command shares.

Each recipe (`lstm_zoo.tasks.adding.config`, `lstm_zoo.applications.<name>.
config`) is a frozen dataclass derived from `RunConfig`; its fields, with
their defaults and help texts, are the only home of the recipe's defaults.
The command line makes one flag per field (`lstm-zoo train TASK --help`).

This module and the config modules import nothing heavy (no TensorFlow), so
that the command line answers `--help` at once.
"""

import dataclasses

DISTRIBUTIONS = ("default", "mirrored", "multi_worker", "tpu")
#: The recurrent cells an application can run (`lstm_zoo.applications.cells`).
CELLS = ("lstm1997", "lstm1997_forget_gate", "keras_lstm", "keras_gru")


def option(default, help, choices=None, lower=None, upper=None, kind=None):
    """A config field with its command-line help.

    Args:
        default: The default value (`None`: decided by the recipe, which the
            help text says).
        help: The flag's help text.
        choices: Allowed values of a string field.
        lower: Smallest allowed value of a number field.
        upper: Largest allowed value of a number field.
        kind: `"int"`, `"float"`, `"bool"`, `"str"` or `"list"` (a
            comma-separated list of strings, stored as a tuple); by default
            the type of `default`, else `"str"`.
    """
    if kind is None:
        kind = {bool: "bool", int: "int", float: "float", tuple: "list"}.get(type(default), "str")
    metadata = {"help": help, "choices": choices, "lower": lower, "upper": upper, "kind": kind}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What the training driver (`lstm_zoo.training.Run`) reads: strategy,
    budget, backups, logs and export. Recipes override the defaults they need."""

    seed: int = option(0, "Seed for data and weights.")
    epochs: int = option(10, "Most passes over the training set.", lower=1)
    batch_size: int = option(32, "Global mini-batch size.", lower=1)
    learning_rate: float = option(0.001, "Learning rate.", lower=0.0)
    max_minutes: float = option(10.0, "Wall-time budget for training, in minutes.", lower=0.0)
    distribution: str = option(
        "default", "tf.distribute strategy: one device, all local GPUs (or the CPU), workers "
        "from TF_CONFIG, or a TPU.", choices=DISTRIBUTIONS,
    )  # fmt: skip
    tpu: str = option(None, "TPU address for --distribution=tpu.", kind="str")
    backup: bool = option(True, "Back up to WORKDIR/backup so that a killed run resumes.")
    save_freq: int = option(0, "Back up every N batches (0: every epoch).", lower=0)
    tensorboard: bool = option(True, "Write TensorBoard logs to WORKDIR/tensorboard.")
    export: bool = option(True, "Export a SavedModel to --base_dir after training.")
    base_dir: str = option("saved_models", "Folder of exported models.")
    version: int = option(None, "Version to export (default: the next free).", lower=1,
                          kind="int")  # fmt: skip

    def replace(self, **changes):
        """A copy with `changes` (`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The fields as a JSON-ready dict (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}  # fmt: skip

    @classmethod
    def from_dict(cls, values):
        """Builds the config from a dict of field values; an unknown key or a
        value outside a field's rules is a `ValueError` naming the field."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"Unknown {cls.__name__} field(s) {unknown}; known: {sorted(names)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**values)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            _check(field, getattr(self, field.name))


@dataclasses.dataclass(frozen=True)
class AdamPlateauConfig(RunConfig):
    """What the recipes trained with Adam, whose learning rate halves when
    the validation loss stalls, share (speech, captioning). Subclasses set
    `sizes`, their named model sizes."""

    sizes = {}  # a class attribute, not a field

    learning_rate: float = option(0.001, "Adam learning rate.", lower=0.0)
    clip_norm: float = option(5.0, "Gradient-norm clip (0: none). Keras clips each replica's "
                              "gradient before summing them, so under several replicas an "
                              "active clip gives other updates than one device.", lower=0.0)
    min_learning_rate: float = option(0.0, "The learning rate, halved when the validation loss "
                                      "stalls, stops at this value (0: no limit).", lower=0.0)
    on_error: str = option("raise", "Bad input files: stop with the file's name, or skip them "
                           "with a warning.", choices=("raise", "skip"))

    def model_size(self):
        """The `size`'s model arguments, with the fields of the same names that are set."""
        size = dict(self.sizes[self.size])
        size.update({k: getattr(self, k) for k in size if getattr(self, k) is not None})
        return size


_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "list": (tuple,)}


def _check(field, value):
    meta = field.metadata
    if value is None or not meta:
        return
    kind = meta["kind"]
    if (isinstance(value, bool) and kind != "bool") or not isinstance(value, _TYPES[kind]):
        raise ValueError(f"Config field `{field.name}` must be {kind}; received: {value!r}")
    if meta["choices"] is not None and value not in meta["choices"]:
        raise ValueError(
            f"Config field `{field.name}` must be one of {list(meta['choices'])}; "
            f"received: {value!r}"
        )
    if meta["lower"] is not None and value < meta["lower"]:
        raise ValueError(f"Config field `{field.name}` must be >= {meta['lower']}; "
                         f"received: {value!r}")  # fmt: skip
    if meta["upper"] is not None and value > meta["upper"]:
        raise ValueError(f"Config field `{field.name}` must be <= {meta['upper']}; "
                         f"received: {value!r}")  # fmt: skip
