"""Image-caption corpora from local files, and their tf.data pipeline.

Every loader returns a list of `CaptionedImage`s (the image decoded and
resized to `image_size` x `image_size` RGB uint8, its reference captions
normalised by `normalize_caption`, its path):

- `load_coco_captions(annotations, image_dir)`: the MSCOCO layout, a
  `captions_*.json` file (`images` with `id` and `file_name`, `annotations`
  with `image_id` and `caption`) and the image folder (default: the folder
  named after the split beside `annotations/`, e.g. `train2017/`).
- `load_flickr_captions(captions_file, image_dir)`: Flickr8k / Flickr30k
  token files (`name.jpg#0<TAB>caption`) or a CSV with `image` and `caption`
  columns (the Kaggle layout); the image folder defaults to the one beside it
  (`Flicker8k_Dataset`, `Flickr8k_Dataset`, `flickr30k_images`, `Images`,
  `images`).
- `load_caption_folder(path)`: whichever of the two `path` is (a file, or a
  folder holding one).

Images are decoded with `tf.io.decode_image` (JPEG, PNG, GIF, BMP) and resized
with `resize_image`, the same function the exported model runs on image
bytes. An empty, corrupt or unreadable image file, or one that is not RGB or
greyscale (2 or 4 channels), raises a `ValueError` naming the file, or, with
`on_error="skip"`, is left out with a warning.

The images are held in memory (`image_size**2 * 3` bytes each: 8,000 images at
128 px are 390 MB).
"""

import collections
import csv
import dataclasses
import glob
import json
import os
import re
import warnings

import keras
import numpy as np
import tensorflow as tf

from lstm_zoo.checks import on_error_mode, positive_int

IMAGE_FOLDERS = ("Flicker8k_Dataset", "Flickr8k_Dataset", "flickr30k_images", "Images", "images")


@dataclasses.dataclass
class CaptionedImage:
    """One image: `image` uint8 `(size, size, 3)`, its reference captions, its file."""

    image: np.ndarray
    captions: list
    path: str = ""


def normalize_caption(text):
    """Lower case, punctuation removed (apostrophes kept), single spaces."""
    text = re.sub(r"[^\w\s']", " ", str(text).lower())
    return " ".join(text.split())


def resize_image(image, image_size):
    """An image tensor `(height, width, 3)` resized to `(image_size, image_size, 3)`
    float32 in [0, 255] (bilinear with antialiasing; aspect ratio not kept)."""
    image = tf.cast(image, tf.float32)
    image = tf.image.resize(image, [image_size, image_size], antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


def read_image(path, image_size):
    """Decodes and resizes one image file; uint8 `(image_size, image_size, 3)`.

    Raises:
        ValueError: naming the file when it is missing, empty, not a decodable
            image, or has 2 or 4 channels.
    """
    image_size = positive_int("image_size", image_size)
    if not os.path.isfile(path):
        raise ValueError(f"Image file {path} does not exist")
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise ValueError(f"Image file {path} is empty")
    try:
        image = tf.io.decode_image(data, channels=0, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as error:
        message = " ".join(str(error.message).split())[:200]
        raise ValueError(f"Image file {path} is not a readable JPEG/PNG/GIF/BMP image: "
                         f"{message}") from None  # fmt: skip
    channels = int(image.shape[-1])
    if channels not in (1, 3):
        raise ValueError(f"Image file {path} has {channels} channels; captioning reads RGB "
                         f"(3) or greyscale (1) images")  # fmt: skip
    if channels == 1:
        image = tf.image.grayscale_to_rgb(image)
    return np.round(resize_image(image, image_size).numpy()).astype(np.uint8)


def _read_all(captions_by_path, image_size, on_error, max_images):
    """`{path: [captions]}` -> CaptionedImages (sorted by path), errors named or skipped."""
    on_error_mode(on_error)
    paths = sorted(captions_by_path)
    if max_images is not None:
        paths = paths[: positive_int("max_images", max_images)]
    progress = keras.utils.Progbar(len(paths), unit_name="image") if len(paths) > 500 else None
    items = []
    for index, path in enumerate(paths):
        captions = [normalize_caption(c) for c in captions_by_path[path]]
        captions = [c for c in captions if c]
        try:
            if not captions:
                raise ValueError(f"Image file {path} has no non-empty caption")
            image = read_image(path, image_size)
        except ValueError as error:
            if on_error == "raise":
                raise
            warnings.warn(f"Skipped: {error}", stacklevel=3)
            continue
        items.append(CaptionedImage(image, captions, path))
        if progress is not None and (index + 1) % 100 == 0:
            progress.update(index + 1)
    if not items:
        raise ValueError("No readable captioned images were found")
    return items


def load_coco_captions(annotations, image_dir=None, image_size=224, on_error="raise",
                       max_images=None):  # fmt: skip
    """Reads the MSCOCO captions layout.

    Args:
        annotations: Path of a `captions_*.json` file.
        image_dir: Folder of its images; default: `<root>/<split>` where the
            file is `<root>/annotations/captions_<split>.json`.
        image_size: Side of the square images returned.
        on_error: `"raise"` (default) or `"skip"` for bad image files.
        max_images: Read only the first N images (by file name).

    Returns:
        A list of `CaptionedImage`.
    """
    with open(annotations, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{annotations} is not valid JSON: {error}") from None
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise ValueError(f"{annotations} is not a COCO captions file (needs `images` and "
                         f"`annotations`)")  # fmt: skip
    if image_dir is None:
        match = re.fullmatch(r"captions_(\w+)\.json", os.path.basename(annotations))
        root = os.path.dirname(os.path.dirname(os.path.abspath(annotations)))
        image_dir = os.path.join(root, match.group(1)) if match else os.path.dirname(annotations)
    files = {image["id"]: image["file_name"] for image in data["images"]}
    captions = collections.defaultdict(list)
    for annotation in data["annotations"]:
        if annotation["image_id"] not in files:
            raise ValueError(f"{annotations}: caption of unknown image id "
                             f"{annotation['image_id']}")  # fmt: skip
        path = os.path.join(image_dir, files[annotation["image_id"]])
        captions[path].append(annotation["caption"])
    return _read_all(captions, image_size, on_error, max_images)


def _flickr_rows(captions_file):
    with open(captions_file, encoding="utf-8") as f:
        text = f.read()
    first = text.split("\n", 1)[0]
    if "\t" in first:  # name.jpg#0<TAB>caption
        for line in text.splitlines():
            if line.strip():
                name, _, caption = line.partition("\t")
                yield name.split("#")[0].strip(), caption
        return
    reader = csv.reader(text.splitlines(), delimiter="|" if "|" in first else ",")
    header = [h.strip().lower() for h in next(reader, [])]
    image_col = next((i for i, h in enumerate(header) if h in ("image", "image_name")), None)
    caption_col = next((i for i, h in enumerate(header) if h in ("caption", "comment")), None)
    if image_col is None or caption_col is None:
        raise ValueError(f"{captions_file}: expected `name.jpg#N<TAB>caption` lines or a CSV "
                         f"header with `image` and `caption` columns; first line: "
                         f"{first[:80]!r}")  # fmt: skip
    for row in reader:
        if len(row) > max(image_col, caption_col):
            yield row[image_col].strip(), row[caption_col]


def load_flickr_captions(captions_file, image_dir=None, image_size=224, on_error="raise",
                         max_images=None):  # fmt: skip
    """Reads the Flickr8k / Flickr30k layout (see the module docstring).

    Args:
        captions_file: `Flickr8k.token.txt`, `results_20130124.token`,
            `captions.txt` or `results.csv`.
        image_dir: Folder of the images (default: found beside the file).
        image_size: Side of the square images returned.
        on_error: `"raise"` (default) or `"skip"` for bad image files.
        max_images: Read only the first N images (by file name).

    Returns:
        A list of `CaptionedImage`.
    """
    if image_dir is None:
        here = os.path.dirname(os.path.abspath(captions_file))
        found = [os.path.join(d, n) for d in (here, os.path.dirname(here)) for n in IMAGE_FOLDERS
                 if os.path.isdir(os.path.join(d, n))]  # fmt: skip
        image_dir = found[0] if found else here
    captions = collections.defaultdict(list)
    for name, caption in _flickr_rows(captions_file):
        captions[os.path.join(image_dir, name)].append(caption)
    if not captions:
        raise ValueError(f"{captions_file} holds no captions")
    return _read_all(captions, image_size, on_error, max_images)


def load_caption_folder(path, image_size=224, on_error="raise", max_images=None):
    """Loads a COCO or Flickr captions file, or a folder holding one."""
    if os.path.isfile(path):
        loader = load_coco_captions if path.endswith(".json") else load_flickr_captions
        return loader(path, image_size=image_size, on_error=on_error, max_images=max_images)
    if not os.path.isdir(path):
        raise ValueError(f"No such caption file or folder: {path}")
    patterns = ("annotations/captions_*.json", "captions_*.json", "*.token.txt", "*.token",
                "captions.txt", "results.csv")  # fmt: skip
    for pattern in patterns:
        found = sorted(glob.glob(os.path.join(path, pattern)))
        if found:
            return load_caption_folder(found[0], image_size, on_error, max_images)
    raise ValueError(f"{path} holds no COCO (annotations/captions_*.json) or Flickr "
                     f"(*.token.txt, captions.txt) captions file")  # fmt: skip


def caption_dataset(images, captions, encode, batch_size, max_length=20, shuffle=False,
                    seed=0, all_captions=None, clock=None):  # fmt: skip
    """A tf.data pipeline of `((images, input_ids), target_ids)` for teacher forcing.

    `encode(caption)` gives the caption's ids framed by the start and end ids
    (`ImageCaptioner.encode_caption`); the inputs are all ids but the last,
    the targets all but the first, cut to `max_length` targets. Inputs are
    padded with 0, targets with -1 (ignored by the loss).

    Args:
        images: uint8 array `(count, size, size, 3)`.
        captions: For each image, a list of reference captions.
        encode: Callable caption -> list of ids.
        batch_size: Examples per batch (the last batch may be smaller).
        max_length: Most target ids per caption (the end id included).
        shuffle: Shuffle the images each pass (seeded).
        seed: Shuffle and caption-choice seed.
        all_captions: True: every (image, reference) pair is an example (for
            validation loss). False: each pass pairs every image with one of
            its references drawn at random (seeded, new each pass), so the
            encoder runs once per image and pass. Default: `not shuffle`.
        clock: A `lstm_zoo.training.EpochClock` among `fit`'s callbacks: the
            order and the caption choice of epoch `e` are then functions of
            `(seed, e)`, the same in a run resumed from a backup. Default: a
            clock that counts the passes over the dataset.
    """
    from lstm_zoo.training import EpochClock, epoch_order

    batch_size = positive_int("batch_size", batch_size)
    max_length = positive_int("max_length", max_length)
    if len(images) != len(captions):
        raise ValueError(f"Arguments `images` ({len(images)}) and `captions` ({len(captions)}) "
                         f"must have the same length")  # fmt: skip
    all_captions = not shuffle if all_captions is None else bool(all_captions)
    encoded = []
    for i, references in enumerate(captions):
        if not references:
            raise ValueError(f"Image {i} of `captions` has no reference caption")
        for caption in references:
            ids = list(encode(caption))
            ids = ids[:max_length] + ids[-1:] if len(ids) > max_length + 1 else ids
            encoded.append((i, ids[:-1], ids[1:]))
    if not encoded:
        raise ValueError("Argument `captions` holds no image")
    width = max(len(t) for _, _, t in encoded)
    index = np.array([i for i, _, _ in encoded], np.int32)
    inputs = np.array([x + [0] * (width - len(x)) for _, x, _ in encoded], np.int32)
    targets = np.array([y + [-1] * (width - len(y)) for _, _, y in encoded], np.int32)
    images = tf.constant(np.asarray(images, np.uint8))
    index_t, inputs_t, targets_t = tf.constant(index), tf.constant(inputs), tf.constant(targets)
    clock = EpochClock() if clock is None else clock
    if all_captions:
        if shuffle:
            dataset = epoch_order(len(index), seed, clock).map(
                lambda row, draw: (tf.gather(index_t, row), tf.gather(inputs_t, row),
                                   tf.gather(targets_t, row)))  # fmt: skip
        else:
            dataset = tf.data.Dataset.from_tensor_slices((index, inputs, targets))
    else:  # one random reference per image and pass
        starts = tf.constant(np.searchsorted(index, np.arange(len(captions))).astype(np.int64))
        counts = tf.constant(np.array([len(refs) for refs in captions], np.int64))

        def pick(i, draw):
            row = tf.gather(starts, i) + draw % tf.gather(counts, i)
            return tf.cast(i, tf.int32), tf.gather(inputs_t, row), tf.gather(targets_t, row)

        dataset = epoch_order(len(captions), seed, clock, shuffle=shuffle).map(pick)
    dataset = dataset.batch(batch_size)
    dataset = dataset.map(lambda i, x, y: ((tf.gather(images, i), x), y))
    return dataset.prefetch(tf.data.AUTOTUNE)
