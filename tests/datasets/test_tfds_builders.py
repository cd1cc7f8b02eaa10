"""The TFDS builders prepare the paper's tasks offline, equal to the generators."""

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from lstm_zoo.datasets import paper_tasks, reber, tfds_builders  # noqa: E402


def test_reber_builder_prepares_offline(tmp_path):
    builder = tfds.builder("lstm_zoo_reber", data_dir=str(tmp_path))
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == 256
    assert builder.info.splits["test"].num_examples == 256
    x, y, lengths, _ = reber.embedded_reber(256, seed=tfds_builders.TEST_SEED)
    for example in tfds.as_numpy(builder.as_dataset(split="test").take(256)):
        # TFDS shuffles the order; find the string by its symbols.
        length = int(example["length"])
        assert example["inputs"].shape == (length, 7) and example["targets"].shape == (length, 7)
        string = "".join(reber.SYMBOLS[i] for i in example["inputs"].argmax(-1))
        last = reber.SYMBOLS[example["targets"][-1].argmax()]
        assert reber.is_embedded_reber(string + last)
    assert sorted(lengths) == sorted(
        int(e["length"]) for e in tfds.as_numpy(builder.as_dataset(split="test"))
    )


def test_temporal_order_builder_matches_generator(tmp_path):
    dataset = tfds.load("lstm_zoo_temporal_order/6b", split="test", data_dir=str(tmp_path),
                        as_supervised=True)  # fmt: skip
    x, y, _ = paper_tasks.generate("6b", tfds_builders.TEST_SEQUENCES, tfds_builders.TEST_SEED)
    expected = {x[n, : int(np.any(x[n] != 0, -1).sum())].tobytes(): y[n] for n in range(len(x))}
    count = 0
    for inputs, targets in tfds.as_numpy(dataset):
        np.testing.assert_array_equal(expected[inputs.tobytes()], targets)
        count += 1
    assert count == tfds_builders.TEST_SEQUENCES


def test_adding_builder_holds_the_papers_sequences(tmp_path):
    """`lstm_zoo_adding/paper_T100` (the README's example family) prepares
    offline; every test example is a generator sequence cut to its own length,
    and its target is the paper's 0.5 + (X1 + X2) / 4 of its marked values."""
    builder = tfds.builder("lstm_zoo_adding/paper_T100", data_dir=str(tmp_path))
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == tfds_builders.TRAIN_SEQUENCES
    assert builder.info.splits["test"].num_examples == tfds_builders.TEST_SEQUENCES
    from lstm_zoo.datasets import adding_problem

    x, y, lengths = adding_problem(tfds_builders.TEST_SEQUENCES, 100, tfds_builders.TEST_SEED)
    np.testing.assert_array_equal(
        paper_tasks.generate("4", tfds_builders.TEST_SEQUENCES, tfds_builders.TEST_SEED,
                             T=100)[0], x)  # fmt: skip
    expected = {x[n, : lengths[n]].tobytes(): y[n] for n in range(len(x))}
    count = 0
    for example in tfds.as_numpy(builder.as_dataset(split="test")):
        inputs, target = example["inputs"], example["targets"]
        assert 100 <= len(inputs) == example["length"] <= 110
        np.testing.assert_array_equal(expected.pop(inputs.tobytes()), target)
        marked = inputs[inputs[:, 1] == 1.0, 0]
        x1 = 0.0 if inputs[0, 1] == 1.0 else marked[0]  # a marked first pair counts 0
        np.testing.assert_allclose(target, [0.5 + (x1 + marked[-1]) / 4], atol=1e-6)
        count += 1
    assert count == tfds_builders.TEST_SEQUENCES and not expected
