"""The image captioner's sizes and its recipe configuration
(`lstm-zoo train captioning`)."""

import dataclasses

from lstm_zoo.run_config import CELLS, AdamPlateauConfig, option

#: Named model sizes. `show_and_tell` is the paper's width (and
#: `ImageCaptioner`'s default); `small` is the recipe's, sized for a CPU.
SIZES = {
    "small": dict(units=256, embedding_dim=256),
    "show_and_tell": dict(units=512, embedding_dim=512),
}


@dataclasses.dataclass(frozen=True)
class CaptioningConfig(AdamPlateauConfig):
    """A CNN encoder and an LSTM decoder (Show and Tell) trained on images and
    captions. `units` and `embedding_dim` left `None` take the `size`'s."""

    sizes = SIZES

    data: str = option(
        None, "A COCO captions_*.json or Flickr8k/30k captions file, or a folder holding one "
        "(default: rendered shape scenes).", kind="str",
    )  # fmt: skip
    image_size: int = option(None, "Side of the square model images (default 64 for the shape "
                             "scenes, else 224).", lower=32, kind="int")
    encoder: str = option("small", "Image encoder: small (built-in CNN) or a "
                          "keras.applications model name (MobileNetV2, InceptionV3, ...).")
    encoder_weights: str = option(None, "Weights file for the encoder (e.g. ImageNet weights "
                                  "you have locally; default: random).", kind="str")
    train_encoder: bool = option(True, "Fine-tune the encoder (else frozen).")
    size: str = option("small", "Named model size: " + ", ".join(
        f"{k} ({v['units']} units, embedding {v['embedding_dim']})" for k, v in SIZES.items())
        + ".", choices=tuple(SIZES))  # fmt: skip
    cell: str = option("lstm1997", "Recurrent cell of the decoder.", choices=CELLS)
    units: int = option(None, "Decoder cells (default: the size's).", lower=1, kind="int")
    embedding_dim: int = option(None, "Image and word embedding size (default: the size's).",
                                lower=1, kind="int")
    dropout: float = option(0.1, "Dropout on the decoder's inputs and outputs.", lower=0.0,
                            upper=0.99)
    min_count: int = option(None, "Words rarer than this become <unk> (default 1 for the shape "
                            "scenes, else 5).", lower=1, kind="int")
    max_caption_length: int = option(20, "Most words of a caption, end word included.", lower=2)
    beam_width: int = option(3, "Beam width for evaluation and export (1: greedy).", lower=1)
    length_penalty: float = option(0.0, "Beam-search length normalisation exponent "
                                   "(0: log-probability; 1: per word).", lower=0.0)
    scenes: int = option(6000, "Training scenes of the embedded shape-scene corpus.", lower=10)
    max_images: int = option(None, "Read at most this many images of --data.", lower=1,
                             kind="int")
    examples_dir: str = option(None, "Write test images (PNG) with their captions here.",
                               kind="str")
    batch_size: int = option(64, "Global mini-batch size.", lower=1)
    epochs: int = option(30, "Most passes over the training set.", lower=1)
    max_minutes: float = option(10.0, "Wall-time budget for training, in minutes.", lower=0.0)
