"""The image captioner's recipe: `train(config, workdir) -> (model, metrics)`.

Vinyals et al. (2015), Show and Tell: an image encoder and an LSTM decoder
trained on next-word cross-entropy with Adam (the learning rate halved when
the validation loss stalls); the test images captioned greedily and with a
beam, scored with BLEU-1..4 and CIDEr-D.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from lstm_zoo.applications.captioning import data as captions
from lstm_zoo.applications.captioning import shapes
from lstm_zoo.applications.captioning.config import CaptioningConfig
from lstm_zoo.applications.captioning.metrics import CaptionEvaluation
from lstm_zoo.applications.captioning.model import ImageCaptioner, build_vocabulary
from lstm_zoo.training import EpochClock, Run, random_tenth


def load_data(config, image_size):
    """`(train, validation, test, description)`: each `(images, captions)`."""
    if not config.data:
        splits = [shapes.shape_scenes(count, split, config.seed, image_size)[:2]
                  for count, split in ((config.scenes, "train"), (300, "validation"),
                                       (500, "test"))]  # fmt: skip
        return (*splits, "rendered shape scenes (test: held-out object pairs)")
    if not os.path.exists(config.data):
        raise ValueError(f"--data: no such file or folder: {config.data}")
    items = captions.load_caption_folder(config.data, image_size, on_error=config.on_error,
                                         max_images=config.max_images)  # fmt: skip
    test, rest = random_tenth(items, config.seed)
    valid, train = random_tenth(rest, config.seed + 1)
    splits = [(np.stack([i.image for i in part]), [i.captions for i in part])
              for part in (train, valid, test)]  # fmt: skip
    return (*splits, os.path.abspath(config.data))


def write_examples(directory, images, references, results):
    """PNGs of test images and a markdown table of their captions."""
    os.makedirs(directory, exist_ok=True)
    rows = ["| image | reference | " + " | ".join(results) + " |",
            "|---|---|" + "---|" * len(results)]  # fmt: skip
    for i, image in enumerate(images):
        name = f"example_{i}.png"
        tf.io.write_file(os.path.join(directory, name), tf.io.encode_png(image))
        hypotheses = " | ".join(r["hypotheses"][i] for r in results.values())
        rows.append(f"| ![]({name}) | {references[i][0]} | {hypotheses} |")
    with open(os.path.join(directory, "examples.md"), "w") as f:
        f.write("\n".join(rows) + "\n")


def train(config=None, workdir="runs/captioning"):
    """Trains, evaluates, saves (and with `config.export`, exports) the model.

    Args:
        config: A `CaptioningConfig` (default: its defaults).
        workdir: The run's folder (`lstm_zoo.training.Run`).

    Returns:
        `(model, metrics)`: the trained `ImageCaptioner` and its test metrics.
    """
    config = config or CaptioningConfig()
    run = Run("captioning", config, workdir)
    image_size = config.image_size or (224 if config.data else 64)
    train_set, valid, test, data_name = load_data(config, image_size)
    min_count = config.min_count or (5 if config.data else 1)
    vocabulary = build_vocabulary([c for refs in train_set[1] for c in refs], min_count=min_count)
    with run.scope():
        model = ImageCaptioner(
            vocabulary, image_size=image_size, encoder=config.encoder,
            encoder_weights=config.encoder_weights, train_encoder=config.train_encoder,
            **config.model_size(), cell=config.cell, dropout=config.dropout,
            max_length=config.max_caption_length,
        )  # fmt: skip
        model.build()
        model.compile(model.default_optimizer(config.learning_rate, config.clip_norm))
    clock = EpochClock()
    train_ds = captions.caption_dataset(*train_set, model.encode_caption, config.batch_size,
                                        config.max_caption_length, shuffle=True,
                                        seed=config.seed, clock=clock)  # fmt: skip
    valid_ds = captions.caption_dataset(*valid, model.encode_caption, config.batch_size,
                                        config.max_caption_length)  # fmt: skip
    pairs = sum(len(refs) for refs in train_set[1])
    print(
        f"Image captioner (encoder {config.encoder}, cell {config.cell}, {model.units} units, "
        f"{model.count_params()} weights, {model.vocabulary_size} ids): {data_name}; "
        f"{len(train_set[0])} training images ({pairs} captions), {len(valid[0])} validation, "
        f"{len(test[0])} test images at {image_size} px; batch {config.batch_size}, Adam lr "
        f"{config.learning_rate}; budget {config.max_minutes} min, {run.replicas} replica(s)",
        flush=True,
    )
    plateau = keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=2,
                                                min_lr=config.min_learning_rate, verbose=1)
    callbacks = [clock, CaptionEvaluation(model, *valid, prefix="val_"), plateau]
    run.fit(model, run.dataset(train_ds), validation_data=run.dataset(valid_ds),
            callbacks=callbacks, stateful=[plateau])  # fmt: skip

    metrics, results = {}, {}
    for width in sorted({1, config.beam_width}):
        name = "greedy" if width == 1 else f"beam{width}"
        results[name] = model.evaluate_captions(*test, beam_width=width,
                                                length_penalty=config.length_penalty)  # fmt: skip
        metrics[name] = {k: v for k, v in results[name].items() if k != "hypotheses"}
        bleu = ", ".join(f"BLEU-{n} {results[name][f'bleu_{n}']:.4f}" for n in range(1, 5))
        print(f"test {name}: {bleu}, CIDEr-D {results[name]['cider_d']:.4f}, exact "
              f"{results[name]['exact_match']:.4f} ({results[name]['images']} images)")
    best = results[f"beam{config.beam_width}" if config.beam_width > 1 else "greedy"]
    examples = [(refs[0], hyp) for refs, hyp in zip(test[1], best["hypotheses"], strict=True)]
    for ref, hyp in examples[:6]:
        print(f"  reference: {ref!r:50} caption: {hyp!r}")
    if config.examples_dir:
        write_examples(config.examples_dir, test[0][:8], test[1][:8], results)
    card = model.model_card(
        training_data=data_name, metrics=metrics, examples=examples[:20],
        train_images=len(train_set[0]),
        training={"seconds": run.seconds, "config": config.to_dict()},
    )  # fmt: skip
    endpoints = model.serving_endpoints(config.beam_width, length_penalty=config.length_penalty)
    run.finish(model, metrics, card=card, endpoints=endpoints)
    return model, metrics
