"""Text corpora: loaders, hostile files, splits and stream batching."""

import math

import numpy as np
import pytest

from lstm_zoo.applications.language_model import data as text

pytestmark = pytest.mark.tf_only


def test_stream_batches_keep_token_order():
    ids = np.arange(1000)
    batches = list(text.stream_dataset(ids, batch_size=4, num_steps=7).as_numpy_iterator())
    row_length = 1000 // 4
    assert len(batches) == (row_length - 1) // 7
    for x, y in batches:
        assert x.shape == y.shape == (4, 7) and x.dtype == np.int32
        np.testing.assert_array_equal(y, x + 1)  # targets: the next token
    # Row b, read across the batches in order, is one contiguous piece of the stream.
    rows = np.concatenate([x for x, _ in batches], axis=1)
    for b in range(4):
        start = b * row_length
        np.testing.assert_array_equal(rows[b], ids[start : start + rows.shape[1]])


def test_stream_refuses_bad_arguments():
    with pytest.raises(ValueError, match="too short"):
        text.stream_dataset(np.arange(10), batch_size=2, num_steps=5)
    with pytest.raises(ValueError, match="batch_size"):
        text.stream_dataset(np.arange(100), batch_size=0, num_steps=5)
    with pytest.raises(ValueError, match="num_steps"):
        text.stream_dataset(np.arange(100), batch_size=2, num_steps=True)


def test_split_is_contiguous_and_cuts_like_nanogpt():
    corpus = "".join(f"line {i:03d}\n" for i in range(201))  # 1809 characters
    parts = text.split_text(corpus, (0.8, 0.1, 0.1))
    assert parts["train"] + parts["valid"] + parts["test"] == corpus
    assert len(parts["train"]) == int(0.8 * 1809) and len(parts["valid"]) == 181
    no_test = text.split_text(corpus, (0.9, 0.1, 0.0))
    assert no_test["train"] == corpus[: int(len(corpus) * 0.9)]  # nanoGPT's data[:int(n*0.9)]
    assert no_test["test"] == "" and no_test["train"] + no_test["valid"] == corpus
    with pytest.raises(ValueError, match="split"):
        text.split_text(corpus, (0.5, 0.1, 0.1))


def test_load_ptb_layout_file_and_folder(tmp_path):
    ptb = tmp_path / "ptb"
    ptb.mkdir()
    for split in ("train", "valid", "test"):
        (ptb / f"ptb.{split}.txt").write_text(f" the {split} set <unk> \n")
    corpus = text.load_corpus(ptb)
    assert corpus == {s: f" the {s} set <unk> \n" for s in ("train", "valid", "test")}
    assert text.is_ptb_layout(str(ptb)) and not text.is_ptb_layout(str(tmp_path))

    single = tmp_path / "book.txt"
    single.write_text("".join(f"sentence {i}\n" for i in range(100)))
    parts = text.load_corpus(single)
    assert "".join(parts.values()) == single.read_text()

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "b.txt").write_text("second\n" * 50)
    (folder / "a.txt").write_text("first\n" * 50)
    (folder / "skip.bin").write_bytes(b"\x00\x01")
    parts = text.load_corpus(folder)
    assert "".join(parts.values()) == "first\n" * 50 + "\n" + "second\n" * 50


def test_bad_files_are_named(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"GIF89a\x00\x00\x01")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    for path, reason in ((empty, "is empty"), (binary, "binary"), (latin, "not UTF-8")):
        with pytest.raises(ValueError, match=f"{path.name}.*{reason}|{reason}.*{path.name}"):
            text.load_corpus(path)
    with pytest.raises(ValueError, match="no file or folder"):
        text.load_corpus(tmp_path / "missing.txt")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match="no .txt files"):
        text.load_corpus(tmp_path / "nothing")
    folder = tmp_path / "with_bad"
    folder.mkdir()
    (folder / "good.txt").write_text("fine\n")
    (folder / "zbad.txt").write_bytes(b"\x00")
    with pytest.raises(ValueError, match="zbad.txt"):
        text.load_corpus(folder)
    # A .txt name that cannot be read as a file, even by root: a folder.
    unreadable = tmp_path / "with_unreadable"
    unreadable.mkdir()
    (unreadable / "a.txt").write_text("fine\n")
    (unreadable / "locked.txt").mkdir()
    with pytest.raises(ValueError, match="Cannot read text file .*locked.txt"):
        text.load_corpus(unreadable)


def test_embedded_corpus_is_deterministic_and_sized():
    first, second = text.embedded_corpus(), text.embedded_corpus()
    assert first == second
    total = sum(len(v) for v in first.values())
    assert total > 100_000
    assert abs(len(first["train"]) / total - 0.9) < 0.01
    assert "assert" in first["train"]


def test_unigram_cross_entropy_by_hand():
    train, held_out = np.array([1, 1, 1, 2]), np.array([1, 2, 0])
    # Add-one counts over a vocabulary of 3: [1, 4, 2] / 7.
    expected = -(math.log(4 / 7) + math.log(2 / 7) + math.log(1 / 7)) / 3
    assert text.unigram_cross_entropy(train, held_out, 3) == pytest.approx(expected)


def test_token_streams_of_a_corpus():
    from lstm_zoo.applications.text_tokenizer import TextTokenizer

    corpus = {"train": "a b c\n" * 40, "valid": "a b\n" * 20, "test": ""}
    tokenizer = TextTokenizer.adapt_from_text(corpus["train"])
    streams, ids = text.token_streams(corpus, tokenizer, batch_size=2, num_steps=5)
    assert sorted(streams) == ["train", "valid"]  # the empty test split is left out
    assert len(ids["train"]) == 160 and len(ids["test"]) == 0
    x, y = next(iter(streams["train"]))
    np.testing.assert_array_equal(x.numpy()[0], ids["train"][:5])
    with pytest.raises(ValueError, match="training split has 160 tokens"):
        text.token_streams(corpus, tokenizer, batch_size=40, num_steps=5)
