"""The language model's recipe: `train(config, workdir) -> (model, metrics)`.

Zaremba et al. (2014): truncated BPTT over one continuous stream, the state
carried from batch to batch, SGD with gradient-norm clipping and a decaying
learning rate (or Adam), validation cross-entropy each epoch, the test
split's cross-entropy against the unigram baseline, and a generated sample.
"""

import math
import os

import keras

from lstm_zoo.applications.language_model import data as text_data
from lstm_zoo.applications.language_model.config import CONFIGS, LanguageModelConfig
from lstm_zoo.applications.language_model.model import LanguageModel
from lstm_zoo.applications.language_model.stream import (
    ResetStreamStates,
    StatefulStream,
    StreamValidation,
    cross_entropy_summary,
    evaluate_stream,
)
from lstm_zoo.applications.text_tokenizer import TextTokenizer
from lstm_zoo.training import Run

EMBEDDED = "embedded: pydoc_data.topics (Python documentation)"


def load_data(config):
    """`(corpus, name, is_ptb)`: the splits of `config.corpus` (or the embedded one)."""
    try:
        split = [float(f) for f in config.split]
    except ValueError:
        raise ValueError(f"--split must be three numbers; received: {','.join(config.split)}"
                         ) from None  # fmt: skip
    if config.corpus:
        corpus = text_data.load_corpus(config.corpus, split=split)
        return corpus, os.path.abspath(config.corpus), text_data.is_ptb_layout(config.corpus)
    return text_data.embedded_corpus(split=split), EMBEDDED, False


def train(config=None, workdir="runs/language_model"):
    """Trains, evaluates, saves (and with `config.export`, exports) the model.

    Args:
        config: A `LanguageModelConfig` (default: its defaults).
        workdir: The run's folder (`lstm_zoo.training.Run`).

    Returns:
        `(model, metrics)`: the trained `LanguageModel` and its metrics.
    """
    config = config or LanguageModelConfig()
    run = Run("language_model", config, workdir)
    size = CONFIGS[config.size]
    batch_size, num_steps = config.resolved("batch_size"), config.resolved("num_steps")
    learning_rate, clip_norm = config.resolved("learning_rate"), config.resolved("clip_norm")
    reset_every = config.resolved("reset_every") or None
    corpus, corpus_name, ptb = load_data(config)
    tokenizer = TextTokenizer.adapt_from_text(
        corpus["train"], level=config.level,
        standardize="none" if ptb else "lower_and_split_punctuation",
        max_tokens=config.max_tokens if config.level == "word" else None,
    )  # fmt: skip
    if batch_size % run.replicas:
        raise ValueError(f"--batch_size={batch_size} must be a multiple of the "
                         f"{run.replicas} replicas")  # fmt: skip
    streams, ids = text_data.token_streams(corpus, tokenizer, batch_size, num_steps)
    if "valid" not in streams:
        raise ValueError(
            f"The validation split has {len(ids['valid'])} tokens, too few for "
            f"--batch_size={batch_size} and --num_steps={num_steps}"
        )
    eval_split = "test" if "test" in streams else "valid"
    unit = "word" if config.level == "word" else "char"
    unigram = text_data.unigram_cross_entropy(ids["train"], ids[eval_split],
                                              tokenizer.vocabulary_size)  # fmt: skip
    with run.scope():
        model = LanguageModel(tokenizer, config=config.size, num_layers=config.num_layers,
                              units=config.units, dropout=config.dropout,
                              cell=config.cell)  # fmt: skip
        model.build((batch_size, num_steps))
        # Each replica carries the state of its own rows of the stream.
        trainer = StatefulStream(model, batch_size // run.replicas)
        trainer.build((batch_size, num_steps))
        trainer.compile(model.default_optimizer(learning_rate, config.optimizer, clip_norm),
                        loss=model.default_loss())  # fmt: skip
    print(
        f"Language model ({config.level} level, {config.size} size, cell {config.cell}): "
        f"{corpus_name}; {len(ids['train'])} training {unit}s, vocabulary "
        f"{tokenizer.vocabulary_size}; {model.num_layers} x {model.units} units, dropout "
        f"{model.dropout}, {model.count_params()} weights; batch {batch_size} x {num_steps} steps, "
        f"{config.optimizer} lr {learning_rate}, clip {clip_norm}, state reset "
        f"{'every ' + str(reset_every) + ' batches' if reset_every else 'per epoch'}; "
        f"budget {config.max_minutes} min, {run.replicas} replica(s)",
        flush=True,
    )
    decay_after, decay = size["decay_after"], size["decay"]

    def schedule(epoch, lr):
        if config.optimizer != "sgd":
            return lr
        return learning_rate * decay ** max(0, epoch + 1 - decay_after)

    callbacks = [
        ResetStreamStates(reset_every),
        keras.callbacks.LearningRateScheduler(schedule),
        StreamValidation(model, streams["valid"], reset_every, unit=unit),  # before the loggers
    ]
    run.fit(trainer, run.dataset(streams["train"]), callbacks=callbacks)

    nats, count = evaluate_stream(model, streams[eval_split], reset_every)
    print(f"{eval_split} ({count} {unit}s): {cross_entropy_summary(nats, unit)}")
    print(f"unigram baseline: {cross_entropy_summary(unigram, unit)}")
    prompt = "the" if config.level == "word" else "The"
    sample = model.generate([prompt], num_tokens=60 if config.level == "word" else 300,
                            temperature=0.8, top_k=40, seed=config.seed)[0]  # fmt: skip
    per = "word" if config.level == "word" else "character"
    print(f"sample ({per}s, temperature 0.8, top-k 40) after {prompt!r}:\n{prompt}"
          f"{' ' if config.level == 'word' else ''}{sample}")  # fmt: skip
    metrics = {f"{eval_split}_nats_per_{unit}": nats, f"{eval_split}_perplexity": math.exp(nats),
               f"{eval_split}_bits_per_{unit}": nats / math.log(2),
               f"unigram_nats_per_{unit}": unigram}  # fmt: skip
    card = model.model_card(
        training_data=corpus_name, metrics=metrics,
        training={"seconds": run.seconds, "batch_size": batch_size, "num_steps": num_steps,
                  "optimizer": config.optimizer, "learning_rate": learning_rate,
                  "reset_every": reset_every, "config": config.to_dict()},
    )  # fmt: skip
    run.finish(model, metrics, card=card)
    return model, metrics
