"""Caption corpora from local files (COCO and Flickr layouts) and the tf.data pipeline."""

import json

import numpy as np
import pytest
import tensorflow as tf

from lstm_zoo.applications.captioning import data as captions

pytestmark = pytest.mark.tf_only


def _write_image(path, height=30, width=40, channels=3, fmt="png", value=None):
    rng = np.random.default_rng(len(str(path)))
    image = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    if value is not None:
        image[:] = value
    encode = tf.io.encode_png if fmt == "png" else tf.io.encode_jpeg
    tf.io.write_file(str(path), encode(image))
    return image


def test_normalize_caption():
    assert captions.normalize_caption("  A Dog, running!  It's fast. ") == "a dog running it's fast"
    assert captions.normalize_caption("...") == ""


def test_coco_layout_with_the_default_image_folder(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "val2017").mkdir()
    _write_image(tmp_path / "val2017" / "000001.png", value=200)
    _write_image(tmp_path / "val2017" / "000002.jpg", fmt="jpeg", height=50, width=20)
    data = {
        "images": [{"id": 1, "file_name": "000001.png"}, {"id": 2, "file_name": "000002.jpg"}],
        "annotations": [
            {"image_id": 1, "caption": "A grey square."},
            {"image_id": 2, "caption": "Noise, everywhere"},
            {"image_id": 1, "caption": "a flat grey picture"},
        ],
    }
    (tmp_path / "annotations" / "captions_val2017.json").write_text(json.dumps(data))
    items = captions.load_caption_folder(str(tmp_path), image_size=16)
    assert [i.captions for i in items] == [["a grey square", "a flat grey picture"],
                                           ["noise everywhere"]]  # fmt: skip
    assert items[0].image.shape == (16, 16, 3) and items[0].image.dtype == np.uint8
    np.testing.assert_array_equal(items[0].image, 200)  # a flat image stays flat
    assert items[1].path.endswith("000002.jpg")
    limited = captions.load_coco_captions(str(tmp_path / "annotations" / "captions_val2017.json"),
                                          image_size=16, max_images=1)  # fmt: skip
    assert len(limited) == 1


@pytest.mark.parametrize("layout", ["token", "csv"])
def test_flickr_layouts(tmp_path, layout):
    images = tmp_path / ("Flicker8k_Dataset" if layout == "token" else "Images")
    images.mkdir()
    _write_image(images / "a.jpg", fmt="jpeg")
    gray = _write_image(images / "b.png", channels=1)
    if layout == "token":
        text = "a.jpg#0\tA man rides.\na.jpg#1\tsomeone on a bike\nb.png#0\tA grey blur .\n"
        path = tmp_path / "Flickr8k.token.txt"
    else:
        text = ('image,caption\na.jpg,A man rides.\na.jpg,"someone, on a bike"\n'
                'b.png,A grey blur .\n')
        path = tmp_path / "captions.txt"
    path.write_text(text)
    items = captions.load_caption_folder(str(tmp_path), image_size=32)
    assert [i.captions for i in items] == [["a man rides", "someone on a bike"], ["a grey blur"]]
    # Greyscale becomes RGB with three equal channels.
    b = items[1].image
    assert b.shape == (32, 32, 3)
    np.testing.assert_array_equal(b[..., 0], b[..., 2])
    expected = tf.image.resize(tf.cast(gray, tf.float32), [32, 32], antialias=True).numpy()
    np.testing.assert_allclose(b[..., 0], np.round(np.clip(expected[..., 0], 0, 255)), atol=1)


def _bad_images(folder):
    (folder / "empty.png").write_bytes(b"")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    _write_image(folder / "rgba.png", channels=4)
    _write_image(folder / "gray_alpha.png", channels=2)
    _write_image(folder / "good.png")
    return {"empty.png": "is empty", "corrupt.png": "not a readable",
            "rgba.png": "4 channels", "gray_alpha.png": "2 channels",
            "missing.png": "does not exist"}  # fmt: skip


def test_bad_images_are_named_or_skipped(tmp_path):
    bad = _bad_images(tmp_path)
    for name, message in bad.items():
        with pytest.raises(ValueError, match=f"{name}.*{message}"):
            captions.read_image(str(tmp_path / name), 16)
    lines = [f"{name}#0\ta caption" for name in [*bad, "good.png"]]
    (tmp_path / "x.token.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="corrupt.png"):
        captions.load_flickr_captions(str(tmp_path / "x.token.txt"), image_size=16)
    with pytest.warns(UserWarning, match="Skipped") as warned:
        items = captions.load_flickr_captions(str(tmp_path / "x.token.txt"), image_size=16,
                                              on_error="skip")  # fmt: skip
    assert [i.path.rsplit("/", 1)[-1] for i in items] == ["good.png"]
    assert len(warned) == len(bad)
    with pytest.raises(ValueError, match="on_error"):
        captions.load_flickr_captions(str(tmp_path / "x.token.txt"), on_error="ignore")
    with pytest.raises(ValueError, match="No such caption file"):
        captions.load_caption_folder(str(tmp_path / "missing_dir"))
    (tmp_path / "no_captions").mkdir()
    with pytest.raises(ValueError, match="no COCO"):
        captions.load_caption_folder(str(tmp_path / "no_captions"))


def _encode(caption):  # start 1, words by length, end 2
    return [1, *[len(w) + 2 for w in caption.split()], 2]


def test_caption_dataset_with_every_pair():
    images = np.arange(3, dtype=np.uint8)[:, None, None, None] * np.ones((3, 4, 4, 3), np.uint8)
    refs = [["a bb"], ["ccc", "a a a a a a"], ["dd e"]]
    ds = captions.caption_dataset(images, refs, _encode, batch_size=8, max_length=4)
    ((batch_images, inputs), targets), = list(ds)
    assert batch_images.shape == (4, 4, 4, 3)
    assert batch_images.numpy()[:, 0, 0, 0].tolist() == [0, 1, 1, 2]
    assert inputs.numpy().tolist() == [[1, 3, 4, 0], [1, 5, 0, 0], [1, 3, 3, 3], [1, 4, 3, 0]]
    # Targets are the inputs shifted by one and end with the end id; the long
    # caption is cut to max_length targets, its end id kept; padding is -1.
    assert targets.numpy().tolist() == [[3, 4, 2, -1], [5, 2, -1, -1], [3, 3, 3, 2],
                                        [4, 3, 2, -1]]  # fmt: skip


def test_caption_dataset_draws_one_reference_per_image_and_pass():
    count = 40
    images = np.zeros((count, 4, 4, 3), np.uint8)
    images[:, 0, 0, 0] = np.arange(count)
    refs = [["a", "bb", "ccc"] for _ in range(count)]

    def passes(seed):
        ds = captions.caption_dataset(images, refs, _encode, 16, shuffle=True, seed=seed)
        out = []
        for _ in range(2):
            rows = {}
            for (imgs, inputs), _ in ds:
                for i, x in zip(imgs.numpy()[:, 0, 0, 0], inputs.numpy(), strict=True):
                    rows[int(i)] = int(x[1])
            out.append(rows)
        return out

    first, second = passes(seed=3)
    assert sorted(first) == list(range(count)) and sorted(second) == list(range(count))
    assert set(first.values()) == {3, 4, 5}  # all three references get drawn
    assert first != second  # a new draw each pass
    assert passes(seed=3) == [first, second]  # deterministic by seed
    with pytest.raises(ValueError, match="no reference"):
        captions.caption_dataset(images[:2], [["a"], []], _encode, 4)
    with pytest.raises(ValueError, match="same length"):
        captions.caption_dataset(images[:2], [["a"]], _encode, 4)
