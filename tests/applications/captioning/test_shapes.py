"""Rendered shape scenes: deterministic, captions agree with the pixels, held-out pairs."""

import numpy as np
import pytest
from scipy import ndimage

from lstm_zoo.applications.captioning import shapes


def _measure(image):
    """Shapes found in the pixels: colour, fill ratio, width, centre (independent of
    the renderer: connected components of bright pixels, nearest named colour)."""
    foreground = image.max(axis=-1) > 110
    labels, count = ndimage.label(foreground)
    found = []
    palette = {name: np.array(rgb) for name, rgb in shapes.COLORS.items()}
    for index in range(1, count + 1):
        ys, xs = np.nonzero(labels == index)
        if len(ys) < 6:  # a stray noise pixel
            continue
        mean = image[ys, xs].astype(float).mean(axis=0)
        color = min(palette, key=lambda n: np.abs(palette[n] - mean).sum())
        width, height = np.ptp(xs) + 1, np.ptp(ys) + 1
        fill = len(ys) / (width * height)
        found.append({"color": color, "fill": fill, "width": max(width, height),
                      "x": xs.mean(), "y": (ys.min() + ys.max()) / 2})  # fmt: skip
    return found


def _shape_of(fill):
    return "square" if fill > 0.9 else "circle" if fill > 0.65 else "triangle"


def _holds(relation, a, b):
    return {"above": a["y"] < b["y"], "below": a["y"] > b["y"],
            "left of": a["x"] < b["x"], "right of": a["x"] > b["x"]}[relation]  # fmt: skip


def test_captions_agree_with_what_was_drawn():
    images, captions, scenes = shapes.shape_scenes(150, "train", seed=4)
    checked_pairs = 0
    for image, refs, scene in zip(images, captions, scenes, strict=True):
        found = _measure(image)
        assert len(found) == len(scene.shapes)
        words = refs[0].split()
        if len(scene.shapes) == 1:
            size, color, shape = words[1:4]
            (only,) = found
            assert (only["color"], _shape_of(only["fill"])) == (color, shape)
            assert (only["width"] > 0.26 * 64) == (size == "large")
            continue
        # "a SIZE COLOR SHAPE REL(1-2 words) a SIZE COLOR SHAPE"
        first, second = words[1:4], words[-3:]
        relation = " ".join(words[4:-4])
        assert relation in shapes.RELATIONS
        by_description = []
        for size, color, shape in (first, second):
            match = [f for f in found if f["color"] == color and _shape_of(f["fill"]) == shape
                     and (f["width"] > 0.26 * 64) == (size == "large")]  # fmt: skip
            assert match, (refs[0], found)
            by_description.append(match)
        # The relation holds for the matching pair (two identical descriptions: either order).
        a_options, b_options = by_description
        assert any(_holds(relation, a, b) for a in a_options for b in b_options if a is not b)
        checked_pairs += 1
        # The other references say the same thing in other words.
        assert refs[1] == f"a {' '.join(second)} {shapes.INVERSE[relation]} a {' '.join(first)}"
    assert checked_pairs > 80


def test_scenes_are_deterministic_by_seed_and_split():
    a, caps_a, _ = shapes.shape_scenes(20, "train", seed=1)
    b, caps_b, _ = shapes.shape_scenes(20, "train", seed=1)
    c, caps_c, _ = shapes.shape_scenes(20, "train", seed=2)
    v, _, _ = shapes.shape_scenes(20, "validation", seed=1)
    assert a.dtype == np.uint8 and a.shape == (20, 64, 64, 3)
    np.testing.assert_array_equal(a, b)
    assert caps_a == caps_b
    assert not np.array_equal(a, c) and caps_a != caps_c
    assert not np.array_equal(a, v)
    assert all(3 <= len(refs) <= 5 and len(set(refs)) == len(refs) for refs in caps_a)


def test_test_split_holds_only_unseen_object_pairs():
    train_pairs, held_out = shapes.object_pairs()
    assert not train_pairs & held_out
    assert len(held_out) == round(0.2 * len(train_pairs | held_out))
    # Every object still occurs in some training pair.
    assert {o for pair in train_pairs for o in pair} == set(shapes.OBJECTS)
    _, _, test = shapes.shape_scenes(60, "test", seed=0)
    _, _, train = shapes.shape_scenes(200, "train", seed=0)

    def pair(scene):
        return tuple(sorted((s.color, s.shape) for s in scene.shapes))

    assert all(len(s.shapes) == 2 and pair(s) in held_out for s in test)
    two = [s for s in train if len(s.shapes) == 2]
    assert len(two) > 120 and all(pair(s) in train_pairs for s in two)
    assert 20 < sum(len(s.shapes) == 1 for s in train) < 70  # about a fifth


def test_bad_arguments_name_the_argument():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="split"):
        shapes.shape_scenes(4, "dev")
    with pytest.raises(ValueError, match="image_size"):
        shapes.shape_scenes(4, image_size=16)
    with pytest.raises(ValueError, match="count"):
        shapes.shape_scenes(0)
    with pytest.raises(ValueError, match="held_out_fraction"):
        shapes.object_pairs(1.0)
    with pytest.raises(ValueError, match="objects"):
        shapes.render_scene(rng, objects=[("red", "hexagon")])
