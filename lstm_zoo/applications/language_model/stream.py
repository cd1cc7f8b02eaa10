"""Training and evaluation over one continuous token stream (truncated BPTT).

- `StatefulStream`: wraps a `LanguageModel` so that `fit` carries its
  recurrent state from batch to batch.
- `ResetStreamStates`: restarts that state every epoch (and every N batches).
- `evaluate_stream`, `StreamValidation`: cross-entropy of a stream.
- `cross_entropy_summary`: nats, perplexity and bits in one line.
"""

import weakref

import keras
import numpy as np

from lstm_zoo.checks import positive_int


@keras.saving.register_keras_serializable(package="lstm_zoo")
class StatefulStream(keras.Model):
    """Wraps a model so that `fit` carries its recurrent state from batch to batch.

    For truncated BPTT over one continuous stream (`lstm_zoo.applications.language_model.data.
    stream_dataset`): the final states of batch `i` become the initial states
    of batch `i + 1` (no gradient flows between them). The wrapped model must
    take `initial_states=` and `return_states=True` and offer
    `zero_states(batch_size)`, as `lstm_zoo.applications.LanguageModel` does.
    The states are non-trainable variables of this wrapper, so backups made
    during `fit` restore them too. Use with `ResetStreamStates` to start
    every epoch from zero states.

    Args:
        model: The stream model; its layers (and weights) are shared.
        batch_size: The fixed number of parallel rows of the stream.
    """

    def __init__(self, model, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.batch_size = positive_int("batch_size", batch_size)
        self.state_variables = [
            [
                self.add_weight(
                    shape=tuple(state.shape),
                    initializer="zeros",
                    trainable=False,
                    name=f"state_{i}_{j}",
                )  # fmt: skip
                for j, state in enumerate(layer_states)
            ]
            for i, layer_states in enumerate(model.zero_states(batch_size))
        ]

    def build(self, input_shape):
        if not self.model.built:
            self.model.build(input_shape)
        self.built = True

    def call(self, inputs, training=False):
        states = [[v.value for v in layer] for layer in self.state_variables]
        outputs, final = self.model(
            inputs, initial_states=states, return_states=True, training=training
        )
        for layer_vars, layer_states in zip(self.state_variables, final, strict=True):
            for variable, value in zip(layer_vars, layer_states, strict=True):
                variable.assign(keras.ops.stop_gradient(value))
        return outputs

    def reset_states(self):
        """Sets every carried state to zero."""
        for layer in self.state_variables:
            for variable in layer:
                variable.assign(keras.ops.zeros_like(variable))

    def get_config(self):
        return {
            **super().get_config(),
            "model": keras.saving.serialize_keras_object(self.model),
            "batch_size": self.batch_size,
        }

    @classmethod
    def from_config(cls, config):
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="lstm_zoo")
class ResetStreamStates(keras.callbacks.Callback):
    """Zeroes a `StatefulStream`'s carried states at each epoch (and every N batches).

    Args:
        every: `None` to carry the state through the whole epoch (Zaremba et
            al.), or reset it before every `every`-th batch (1: each batch
            starts from zero states, as the 1997 paper resets its cells at
            the start of every sequence).
    """

    def __init__(self, every=None):
        super().__init__()
        self.every = None if every is None else positive_int("every", every)

    def get_config(self):
        return {"every": self.every}

    def on_train_batch_begin(self, batch, logs=None):
        if self.every is not None and batch % self.every == 0 and batch > 0:
            self.model.reset_states()

    def on_epoch_begin(self, epoch, logs=None):
        self.model.reset_states()


_EVAL_STEPS = weakref.WeakKeyDictionary()  # one traced evaluation step per model


def _eval_step(model):
    import tensorflow as tf

    @tf.function
    def step(x, y, states):
        logits, states = model(x, initial_states=states, return_states=True, training=False)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.cast(y, tf.int32), tf.cast(logits, tf.float32)
        )
        return tf.reduce_sum(tf.cast(losses, tf.float64)), states

    return step


def cross_entropy_summary(nats, unit="token"):
    """`"X nats/unit, perplexity P, B bits/unit"` for a mean cross-entropy in nats."""
    import math

    return (
        f"{nats:.4f} nats/{unit}, perplexity {math.exp(min(nats, 700.0)):.2f}, "
        f"{nats / math.log(2):.4f} bits/{unit}"
    )


def evaluate_stream(model, dataset, reset_every=None):
    """Mean cross-entropy (nats per token) of a model over a token stream.

    The state is carried across the batches of `dataset` (as made by
    `stream_dataset`, every batch the same size) and starts from zero; every
    target token counts once.

    Args:
        model: A model with `zero_states`, `initial_states=` and
            `return_states=True` (`LanguageModel`).
        dataset: `(inputs, targets)` batches of int token ids.
        reset_every: `None` to carry the state through the whole stream, or
            restart from zero states every `reset_every` batches (evaluate a
            model the way `ResetStreamStates(every)` trained it).

    Returns:
        `(nats_per_token, token_count)`.
    """
    step = _EVAL_STEPS.get(model)
    if step is None:
        step = _EVAL_STEPS[model] = _eval_step(model)
    total, count, states = 0.0, 0, None
    for index, (x, y) in enumerate(dataset):
        if states is None or (reset_every and index % reset_every == 0):
            states = model.zero_states(int(x.shape[0]))
        loss, states = step(x, y, states)
        total += float(loss)
        count += int(np.prod(y.shape))
    if count == 0:
        raise ValueError("Argument `dataset` is empty: nothing to evaluate")
    return total / count, count


class StreamValidation(keras.callbacks.Callback):
    """Adds the validation cross-entropy and perplexity of a stream to each epoch's logs.

    Put it before `CSVLogger`, `TensorBoard` and checkpoint callbacks so they
    see `val_nats`, `val_perplexity` and `val_bits`.

    Args:
        model: The model to evaluate (for a `StatefulStream`, the wrapped one).
        dataset: A `stream_dataset` of the validation split.
        reset_every: As for `evaluate_stream`.
        unit: What a token is, for the printed line (`"word"`, `"char"`).
    """

    def __init__(self, model, dataset, reset_every=None, unit="token"):
        super().__init__()
        self.unit = unit
        self.eval_model = model
        self.dataset = dataset
        self.reset_every = reset_every
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        import math

        nats, _ = evaluate_stream(self.eval_model, self.dataset, self.reset_every)
        values = {"val_nats": nats, "val_perplexity": math.exp(min(nats, 700.0)),
                  "val_bits": nats / math.log(2.0)}  # fmt: skip
        self.history.append(values)
        if logs is not None:
            logs.update(values)
        print(f"epoch {epoch + 1}: validation {cross_entropy_summary(nats, self.unit)}", flush=True)
