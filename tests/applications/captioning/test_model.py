"""ImageCaptioner: decoding against exhaustive search and a NumPy greedy loop,
training, saving, encoders and export to a SavedModel used without lstm_zoo."""

import collections
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from lstm_zoo.applications import get_model
from lstm_zoo.applications.captioning import shapes
from lstm_zoo.applications.captioning.data import caption_dataset
from lstm_zoo.applications.captioning.model import (
    END_ID,
    INVALID_IMAGE,
    START_ID,
    ImageCaptioner,
    build_vocabulary,
)
from tests.applications import harness

pytestmark = pytest.mark.tf_only


def _tiny(cell="lstm1997", scale=3.0, **kwargs):
    keras.utils.set_random_seed(7)
    model = ImageCaptioner(["x", "y"], image_size=32, units=6, embedding_dim=5, cell=cell,
                           **kwargs)  # fmt: skip
    model.build()
    # Sharper next-word distributions than the initial ones, so searches differ.
    kernel = model.head.kernel
    kernel.assign(np.random.default_rng(3).normal(0, scale, kernel.shape))
    return model


def _images(count=2, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3)).astype("float32")


def _log_probs(model, image, prefix):
    """Log-probabilities of the next id after `[start] + prefix` (teacher forcing)."""
    ids = np.array([[START_ID, *prefix]], "int32")
    logits = model((image[None], ids)).numpy()[0, -1].astype("float64")
    return logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()


def _exhaustive(model, image, max_length, alpha):
    """Best (ids, score) over every caption of at most `max_length` ids, each
    scored by one teacher-forced pass."""
    words = [i for i in range(model.vocabulary_size) if i != END_ID]
    captions = [list(body) + [END_ID] for n in range(max_length) for body in
                itertools.product(words, repeat=n)]  # fmt: skip
    captions += [list(body) for body in itertools.product(words, repeat=max_length)]
    inputs = np.array([[START_ID, *c][: len(c)] + [0] * (max_length - len(c))
                       for c in captions], "int32")  # fmt: skip
    logits = model((np.repeat(image[None], len(captions), 0), inputs)).numpy().astype("float64")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    scores = [sum(log_probs[k, t, c[t]] for t in range(len(c))) / len(c) ** alpha
              for k, c in enumerate(captions)]  # fmt: skip
    best = int(np.argmax(scores))
    return captions[best], scores[best]


@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_wide_beam_search_equals_exhaustive_search(alpha):
    model = _tiny()
    images = _images()
    # 85 hypotheses of at most 3 ids over 4 non-end ids: a beam of 85 prunes nothing.
    ids, scores = model.generate(images, beam_width=85, max_length=3, length_penalty=alpha)
    for image, row, score in zip(images, ids.numpy(), scores.numpy(), strict=True):
        best_ids, best_score = _exhaustive(model, image, 3, alpha)
        got = list(row[: len(best_ids)])
        assert got == best_ids and all(i == END_ID for i in row[len(best_ids):])
        assert score == pytest.approx(best_score, abs=1e-4)


def _numpy_greedy(model, image, max_length):
    ids, total = [], 0.0
    while len(ids) < max_length:
        log_probs = _log_probs(model, image, ids)
        ids.append(int(np.argmax(log_probs)))
        total += log_probs[ids[-1]]
        if ids[-1] == END_ID:
            break
    return ids, total


@pytest.mark.parametrize("cell", ["lstm1997", "lstm1997_forget_gate", "keras_lstm", "keras_gru"])
def test_width_one_is_greedy_decoding_for_every_cell(cell):
    model = _tiny(cell)
    images = _images(3, seed=1)
    ids, scores = model.generate(images, beam_width=1, max_length=6)
    texts = model.caption(images, beam_width=1, max_length=6)
    names = {3: "x", 4: "y", 0: "<unk>", 1: None}
    for image, row, score, text in zip(images, ids.numpy(), scores.numpy(), texts, strict=True):
        expected, total = _numpy_greedy(model, image, 6)
        assert list(row[: len(expected)]) == expected
        assert score == pytest.approx(total, abs=1e-4)
        words = [names[i] for i in expected if i != END_ID and names[i]]
        assert text == " ".join(words)


def test_beam_search_arguments_and_padding():
    model = _tiny()
    ids, _ = model.generate(_images(1), beam_width=3)
    assert ids.shape == (1, model.max_length)
    for bad, match in [({"beam_width": 0}, "beam_width"), ({"max_length": 0}, "max_length"),
                       ({"length_penalty": -1.0}, "length_penalty")]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            model.generate(_images(1), **bad)
    with pytest.raises(ValueError, match="images"):
        model.caption([np.zeros((32, 32))])


def test_bad_constructor_arguments_name_the_argument(tmp_path):
    for kwargs, match in [
        ({"vocabulary": []}, "vocabulary"),
        ({"vocabulary": ["a", "a"]}, "vocabulary"),
        ({"vocabulary": ["a", "<eos>"]}, "vocabulary"),
        ({"vocabulary": ["a b"]}, "vocabulary"),
        ({"vocabulary": ["a"], "encoder": "NoSuchNet"}, "encoder"),
        ({"vocabulary": ["a"], "image_size": 40}, "image_size"),
        ({"vocabulary": ["a"], "encoder_weights": str(tmp_path / "none.h5")}, "encoder_weights"),
        ({"vocabulary": ["a"], "dropout": 1.0}, "dropout"),
        ({"vocabulary": ["a"], "units": 0}, "units"),
        ({"vocabulary": ["a"], "cell": "rnn"}, "cell"),
    ]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            ImageCaptioner(**kwargs)


def test_vocabulary_building_counts_words():
    caps = ["A red circle.", "a blue circle", "a red square", "one red dot"]
    assert build_vocabulary(caps)[:3] == ["a", "red", "circle"]
    assert build_vocabulary(caps, min_count=2) == ["a", "red", "circle"]
    with pytest.raises(ValueError, match="min_count"):
        build_vocabulary(caps, min_count=9)
    model = ImageCaptioner(build_vocabulary(caps, min_count=2), image_size=32, units=4,
                           embedding_dim=4)  # fmt: skip
    assert model.encode_caption("A red dot!") == [START_ID, 3, 4, 0, END_ID]  # dot: <unk>


def test_keras_applications_encoder_with_a_local_weights_file(tmp_path):
    source = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg",
                                            input_shape=(32, 32, 3))  # fmt: skip
    path = str(tmp_path / "mobilenet.weights.h5")
    source.save_weights(path)
    model = ImageCaptioner(["a"], image_size=32, encoder="MobileNetV2", encoder_weights=path,
                           train_encoder=False, units=4, embedding_dim=4)  # fmt: skip
    model.build()
    for mine, theirs in zip(model.encoder.weights, source.weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert not any(w.path.startswith(model.encoder.name) for w in model.trainable_weights)
    images = _images(2)
    features = source(keras.applications.mobilenet_v2.preprocess_input(images.copy()))
    np.testing.assert_allclose(model.encode_images(images),
                               model.image_norm(model.image_embedding(features)),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    assert model.get_config()["encoder_weights"] is None  # the saved model holds them


@pytest.fixture(scope="module")
def trained():
    """A small captioner trained briefly on 32-pixel shape scenes."""
    keras.utils.set_random_seed(0)
    images, refs, _ = shapes.shape_scenes(4000, "train", seed=0, image_size=32)
    test_images, test_refs, _ = shapes.shape_scenes(100, "validation", seed=0, image_size=32)
    model = get_model("captioning", vocabulary=build_vocabulary([c for r in refs for c in r]),
                      image_size=32, units=128, embedding_dim=128)  # fmt: skip
    before = model.evaluate_captions(test_images, test_refs)
    model.compile(keras.optimizers.Adam(0.002, global_clipnorm=5.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                  ignore_class=-1))  # fmt: skip
    model.fit(caption_dataset(images, refs, model.encode_caption, 32, shuffle=True), epochs=4,
              verbose=0)  # fmt: skip
    after = model.evaluate_captions(test_images, test_refs)
    return model, before, after, test_images, test_refs


def test_a_short_training_run_raises_bleu_by_looking_at_the_images(trained):
    _, before, after, _, refs = trained
    assert before["bleu_4"] < 0.05
    # Untrained: BLEU-1 about 0.01. On a fresh install of 2026-11-30 the same
    # seeded run gave BLEU-1 0.69, BLEU-4 0.40 and no exact caption (it had
    # passed 0.7 and some exact ones before; no file of the captioner had
    # changed): the bars leave room for such drift between installs.
    assert after["bleu_1"] > 0.6 and after["bleu_4"] > 0.35, after
    assert after["images"] == 100
    # The captions depend on the image: they differ between images, and they
    # match their own image's references better than another image's.
    assert len(set(after["hypotheses"])) > 10
    exact = np.mean([h in r for h, r in zip(after["hypotheses"], refs, strict=True)])
    assert after["exact_match"] == pytest.approx(exact)
    from lstm_zoo.applications.captioning.metrics import corpus_bleu

    shifted = corpus_bleu(refs[1:] + refs[:1], after["hypotheses"])
    assert shifted[3] < after["bleu_4"] - 0.1
    # Better than the best constant answer: the most frequent training caption.
    _, train_refs, _ = shapes.shape_scenes(4000, "train", seed=0, image_size=32)
    constant = collections.Counter(c for r in train_refs for c in r).most_common(1)[0][0]
    assert after["bleu_4"] > corpus_bleu(refs, [constant] * len(refs))[3] + 0.1
    assert before["cider_d"] < 0.1 < 1.0 < after["cider_d"]


def test_config_and_keras_file_round_trip(trained, tmp_path):
    model, _, _, images, _ = trained
    harness.check_config_round_trip(model)
    ids = np.full((4, 5), START_ID, "int32")
    loaded = harness.check_keras_round_trip(model, tmp_path / "captioner.keras",
                                            lambda m: np.array(m((images[:4], ids))))  # fmt: skip
    assert loaded.caption(images[:6], beam_width=2) == model.caption(images[:6], beam_width=2)


def test_one_fit_step_with_the_default_optimizer_and_loss():
    model = _tiny()
    images, refs, _ = shapes.shape_scenes(8, "train", seed=1, image_size=32)
    harness.check_fit_step(model, caption_dataset(images, refs, model.encode_caption, 4))
    assert isinstance(model.optimizer, keras.optimizers.Adam)


def test_exported_model_captions_image_bytes_and_marks_bad_rows_in_a_fresh_process(
    trained, tmp_path
):
    model, _, _, images, _ = trained
    png = [tf.io.encode_png(image).numpy() for image in images[:3]]
    jpeg = [tf.io.encode_jpeg(images[3], quality=95).numpy()]
    # A larger greyscale image: decoded to RGB and resized inside the graph.
    larger = np.kron(images[4], np.ones((2, 2, 1))).astype("uint8")
    gray = tf.io.encode_png(tf.image.rgb_to_grayscale(larger)).numpy()
    data = png + jpeg + [gray]
    captions, _ = model.caption_batch(model.decode_image_bytes(tf.constant(data)), 3)
    expected = [c.decode() for c in captions.numpy()]
    assert expected[:3] == model.caption(images[:3], beam_width=3)  # PNG is lossless
    bad = [png[0], b"", png[1][:60], b"not an image at all", jpeg[0][:-40], png[2]]
    cases = {"good": ("caption", {"images": np.array(data, dtype=object)}),
             "bad rows": ("caption", {"images": np.array(bad, dtype=object)})}  # fmt: skip
    results = harness.serve_in_fresh_process(model, tmp_path, cases,
                                             endpoints=model.serving_endpoints(beam_width=3))
    assert results["good"]["captions"] == expected
    assert results["good"]["errors"] == [""] * 5
    mixed = results["bad rows"]
    # The whole rows are captioned as in the good batch; the broken ones are
    # marked, with an empty caption and a score of -inf.
    assert [mixed["captions"][i] for i in (0, 5)] == [expected[0], expected[2]]
    assert [e == "" for e in mixed["errors"]] == [True, False, False, False, False, True]
    assert all(mixed["errors"][i] == INVALID_IMAGE for i in (1, 2, 3, 4))
    assert [mixed["captions"][i] for i in (1, 2, 3, 4)] == [""] * 4
    assert [mixed["scores"][i] for i in (1, 2, 3, 4)] == [float("-inf")] * 4
