"""Text corpora for language modelling, and their token streams as tf.data.

- `load_corpus(path)`: the PTB layout (a folder with `ptb.train.txt`,
  `ptb.valid.txt`, `ptb.test.txt`), one plain-text file, or a folder of
  `.txt` files, as `{"train", "valid", "test"}` texts.
- `embedded_corpus()`: the English documentation that ships with every
  CPython (`pydoc_data.topics`), split the same way; no download.
- `token_streams(corpus, tokenizer, batch_size, num_steps)`: every split as
  such a stream.
- `stream_dataset(ids, batch_size, num_steps)`: a continuous token stream cut
  into `batch_size` parallel rows and windows of `num_steps`, so row `b` of
  batch `i + 1` continues row `b` of batch `i` (state can be carried across
  batches: truncated BPTT over the whole stream, as in Zaremba et al. 2014).
"""

import os

import numpy as np

from lstm_zoo.checks import positive_int

PTB_FILES = {"train": "ptb.train.txt", "valid": "ptb.valid.txt", "test": "ptb.test.txt"}
DEFAULT_SPLIT = (0.9, 0.05, 0.05)


def read_text_file(path):
    """Reads a UTF-8 text file; `ValueError` naming the file if it is not one.

    Empty files, files with NUL bytes (binary), text that is not UTF-8 and
    unreadable files are refused.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise ValueError(f"Cannot read text file {path}: {error.strerror}") from None
    if not data.strip():
        raise ValueError(f"Text file {path} is empty")
    if b"\x00" in data:
        raise ValueError(f"File {path} is binary (it holds NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"File {path} is not UTF-8 text (byte {error.start}: "
            f"{data[error.start : error.start + 1]!r})"
        ) from None


def split_text(text, split=DEFAULT_SPLIT):
    """Splits a text into contiguous train/valid/test parts.

    The cuts are at `int(fraction * len(text))` characters, as nanoGPT cuts
    tinyshakespeare (`split=(0.9, 0.1, 0)` gives its exact split).

    Args:
        text: The whole corpus.
        split: Fractions `(train, valid, test)` summing to 1; test may be 0
            (then `"test"` is the empty string).

    Returns:
        `{"train": str, "valid": str, "test": str}`, in the text's order.
    """
    split = tuple(float(f) for f in split)
    if len(split) != 3 or min(split) < 0 or abs(sum(split) - 1.0) > 1e-6 or split[0] <= 0:
        raise ValueError(
            "Argument `split` must be three fractions (train, valid, test) >= 0 summing to 1 "
            f"with train > 0; received: split={split}"
        )
    n = len(text)
    first = int(split[0] * n)
    second = int((split[0] + split[1]) * n) if split[2] > 0 else n
    parts = {"train": text[:first], "valid": text[first:second], "test": text[second:]}
    if split[1] > 0 and not parts["valid"].strip():
        raise ValueError(f"The validation split of a {n}-character text is empty; use more text")
    return parts


def load_corpus(path, split=DEFAULT_SPLIT):
    """Loads a corpus from disk as train/valid/test texts.

    Args:
        path: A folder in the PTB layout (`ptb.train.txt`, `ptb.valid.txt`,
            `ptb.test.txt`: its own splits are used), a folder of `.txt` files
            (concatenated in name order, then split), or one text file.
        split: Fractions for `split_text` when the corpus has no splits.

    Returns:
        `{"train": str, "valid": str, "test": str}`.

    Raises:
        ValueError: The path does not exist, holds no text, or a file is
            empty, binary or not UTF-8 (the message names the file).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        if all(os.path.isfile(os.path.join(path, f)) for f in PTB_FILES.values()):
            return {k: read_text_file(os.path.join(path, f)) for k, f in PTB_FILES.items()}
        names = sorted(n for n in os.listdir(path) if n.endswith(".txt"))
        if not names:
            raise ValueError(f"Folder {path} holds no .txt files (nor the PTB layout)")
        text = "\n".join(read_text_file(os.path.join(path, n)) for n in names)
        return split_text(text, split)
    if os.path.isfile(path):
        return split_text(read_text_file(path), split)
    raise ValueError(f"Argument `corpus` names no file or folder: {path}")


def is_ptb_layout(path):
    """Whether `path` is a folder with the three PTB files."""
    return os.path.isdir(path) and all(
        os.path.isfile(os.path.join(path, f)) for f in PTB_FILES.values()
    )


def embedded_corpus(split=DEFAULT_SPLIT):
    """The Python documentation shipped with CPython, as train/valid/test texts.

    `pydoc_data.topics` (the text `help()` shows: about 465,000 characters,
    113,000 words) concatenated in topic-name order, then split with
    `split_text`. It needs no download and is the same on every machine with
    the same Python version.
    """
    from pydoc_data.topics import topics

    return split_text("\n".join(topics[name] for name in sorted(topics)), split)


def stream_dataset(ids, batch_size, num_steps):
    """Cuts a token stream into batches for truncated BPTT with carried state.

    The stream is trimmed to a multiple of `batch_size` and laid out as
    `batch_size` rows, each a contiguous part of the stream; batch `i` holds
    columns `[i * num_steps, (i + 1) * num_steps)` of every row as inputs and
    the same window shifted by one token as targets (Zaremba et al.'s
    `ptb_producer`). The final partial window is dropped.

    Args:
        ids: 1-D integer array, the token stream.
        batch_size: Number of parallel rows.
        num_steps: Unroll length (tokens per row per batch).

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`, each int32
        `(batch_size, num_steps)`, in stream order (never shuffle it).
    """
    import tensorflow as tf

    batch_size = positive_int("batch_size", batch_size)
    num_steps = positive_int("num_steps", num_steps)
    ids = np.asarray(ids, dtype=np.int32).ravel()
    row_length = len(ids) // batch_size
    batches = (row_length - 1) // num_steps
    if batches < 1:
        raise ValueError(
            f"A stream of {len(ids)} tokens is too short for batch_size={batch_size} and "
            f"num_steps={num_steps} (it needs at least {batch_size * (num_steps + 1)})"
        )
    rows = ids[: batch_size * row_length].reshape(batch_size, row_length)
    inputs = rows[:, : batches * num_steps].reshape(batch_size, batches, num_steps)
    targets = rows[:, 1 : batches * num_steps + 1].reshape(batch_size, batches, num_steps)
    inputs = np.ascontiguousarray(inputs.transpose(1, 0, 2))
    targets = np.ascontiguousarray(targets.transpose(1, 0, 2))
    return tf.data.Dataset.from_tensor_slices((inputs, targets))


def token_streams(corpus, tokenizer, batch_size, num_steps):
    """Tokenises a corpus and batches each split with `stream_dataset`.

    Args:
        corpus: `{"train": str, "valid": str, "test": str}` (`load_corpus`,
            `embedded_corpus`).
        tokenizer: A `lstm_zoo.layers.TextTokenizer`.
        batch_size: Parallel rows of each stream.
        num_steps: Unroll length.

    Returns:
        `(datasets, ids)`: `{split: tf.data.Dataset}` for every split long
        enough for one batch (an empty test split is left out), and
        `{split: 1-D int32 array}` of every split's token ids.
    """
    import tensorflow as tf

    ids = {name: tokenizer(tf.constant(part)).numpy() for name, part in corpus.items()}
    datasets = {
        name: stream_dataset(values, batch_size, num_steps)
        for name, values in ids.items()
        if len(values) >= batch_size * (num_steps + 1)
    }
    if "train" not in datasets:
        raise ValueError(
            f"The training split has {len(ids.get('train', []))} tokens, too few for "
            f"batch_size={batch_size} and num_steps={num_steps}"
        )
    return datasets, ids


def unigram_cross_entropy(train_ids, eval_ids, vocabulary_size):
    """Nats per token of the add-one-smoothed unigram model of `train_ids` on `eval_ids`."""
    counts = np.bincount(np.asarray(train_ids).ravel(), minlength=vocabulary_size) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(-log_p[np.asarray(eval_ids).ravel()].mean())
