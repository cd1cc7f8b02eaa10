"""What every application model shares, in the manner of keras-hub's `Task`.

- `compile(optimizer="auto", loss="auto")`: the application's own default
  optimizer and loss (those its recipe trains with);
- `model_card(**facts)`: the metadata an export writes next to the model.
"""


def global_sum(value):
    """`value` summed over the replicas of a `tf.distribute` strategy (itself
    outside one). A loss divided by the global count of its terms is then the
    same on one device and on any number of replicas, whatever each gets."""
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or tf.distribute.get_strategy().num_replicas_in_sync == 1:
        return value
    return context.all_reduce("SUM", value)


class Application:
    """Mixin of the application models (`LanguageModel`, `SpeechRecognizer`,
    `ImageCaptioner`); put it before `keras.Model` in the bases.

    Subclasses set `application` (the registry name) and implement
    `default_optimizer`; `default_loss` is `None` where the model computes its
    own loss (`compute_loss`).
    """

    application = None

    def default_optimizer(self, learning_rate=None):
        """The optimizer the application trains with (`learning_rate`: its
        default where `None`)."""
        raise NotImplementedError

    def default_loss(self):
        """The loss the application trains with, or `None` (its own `compute_loss`)."""
        return None

    def compile(self, optimizer="auto", loss="auto", **kwargs):
        """Keras' `compile`; `"auto"` takes the application's default
        optimizer and loss."""
        if isinstance(optimizer, str) and optimizer == "auto":
            optimizer = self.default_optimizer()
        if isinstance(loss, str) and loss == "auto":
            loss = self.default_loss()
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    def compile_from_config(self, config):
        """Compiles a loaded model as it was saved (Keras' own steps; Keras
        skips them for a class that overrides `compile`)."""
        import keras

        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def card_facts(self):
        """Facts of the model itself for its card (cell, rates, labels, ...)."""
        return {}

    def model_card(self, **facts):
        """The model card: application, class, configuration (vocabularies
        and tokenizers left out, their sizes kept) and `facts` (training data,
        metrics, training run). Export adds the versions and parameter count."""
        config = {k: v for k, v in self.get_config().items()
                  if k not in ("tokenizer", "vocabulary", "name", "trainable", "dtype")}
        return {"application": self.application, "class": type(self).__name__,
                "config": config, **self.card_facts(), **facts}  # fmt: skip
