"""Procedurally rendered scenes of coloured shapes with captions: the embedded
default of the image-captioning application (no download).

Each scene holds one or two shapes (`SHAPES`) of a colour (`COLORS`) and a
size (`SIZES`) on a dark noisy background. Two shapes stand in a spatial
relation (`RELATIONS`: one is clearly above, below, left or right of the
other, never touching). Every scene comes with several reference captions
generated from what was drawn, in different word orders, e.g.

    a small red circle above a large blue square
    a large blue square below a small red circle
    there is a small red circle above a large blue square

Splits hold out unseen combinations: the unordered pairs of objects (colour
and shape) are divided once, by a fixed seed, into training pairs and
held-out pairs. `"train"` and `"validation"` scenes show training pairs (and
single shapes); `"test"` scenes show only held-out pairs, so a model is tested
on object combinations it never saw together (each object on its own it has
seen). Scenes are deterministic by `seed`, and the three splits use disjoint
random streams.
"""

import dataclasses
import itertools

import numpy as np

from lstm_zoo.checks import positive_int

COLORS = {
    "red": (220, 45, 45),
    "green": (45, 185, 65),
    "blue": (55, 90, 235),
    "yellow": (235, 215, 45),
    "purple": (160, 65, 210),
}
SHAPES = ("circle", "square", "triangle")
SIZES = ("small", "large")
RELATIONS = ("above", "below", "left of", "right of")
INVERSE = {"above": "below", "below": "above", "left of": "right of", "right of": "left of"}
SPLITS = ("train", "validation", "test")

#: Objects: (colour, shape) pairs, in a fixed order.
OBJECTS = tuple(itertools.product(COLORS, SHAPES))

_SPLIT_STREAMS = {"train": 0, "validation": 1, "test": 2}
_PAIR_SEED = 1997  # fixes which object pairs are held out, whatever the scene seed


@dataclasses.dataclass(frozen=True)
class Shape:
    """One drawn shape: names and geometry (pixels; `y` grows downwards)."""

    color: str
    shape: str
    size: str
    x: float
    y: float
    radius: float

    def words(self):
        return f"{self.size} {self.color} {self.shape}"


@dataclasses.dataclass(frozen=True)
class Scene:
    """A rendered scene: `image` uint8 `(size, size, 3)`, its shapes, the
    relation of `shapes[0]` to `shapes[1]` (None for one shape) and the
    reference captions."""

    image: np.ndarray
    shapes: tuple
    relation: str | None
    captions: tuple


def object_pairs(held_out_fraction=0.2):
    """`(train_pairs, held_out_pairs)`: sets of unordered object pairs.

    A pair is a sorted tuple of two `OBJECTS` entries (an object may pair
    with itself: two red circles). The division is fixed (seed 1997), so every
    scene seed sees the same held-out pairs.
    """
    if not 0.0 < float(held_out_fraction) < 1.0:
        raise ValueError(
            f"Argument `held_out_fraction` must be in (0, 1); received: "
            f"held_out_fraction={held_out_fraction!r}"
        )
    pairs = [tuple(sorted(p)) for p in itertools.combinations_with_replacement(OBJECTS, 2)]
    order = np.random.default_rng(_PAIR_SEED).permutation(len(pairs))
    cut = max(1, round(held_out_fraction * len(pairs)))
    held_out = {pairs[i] for i in order[:cut]}
    return set(pairs) - held_out, held_out


def captions_for(shapes, relation):
    """Reference captions of a scene (several word orders), deduplicated."""
    if len(shapes) == 1:
        s = shapes[0]
        return (
            f"a {s.words()}",
            f"there is a {s.words()}",
            f"a {s.color} {s.shape} that is {s.size}",
            f"one {s.words()}",
        )
    a, b = shapes
    inverse = INVERSE[relation]
    return (
        f"a {a.words()} {relation} a {b.words()}",
        f"a {b.words()} {inverse} a {a.words()}",
        f"there is a {a.words()} {relation} a {b.words()}",
        f"a {a.words()} is {relation} a {b.words()}",
        f"the {b.words()} is {inverse} the {a.words()}",
    )


def _radius(size, rng, image_size):
    low, high = (0.08, 0.11) if size == "small" else (0.17, 0.21)
    return float(rng.uniform(low, high) * image_size)


def _place(radii, relation, rng, image_size):
    """Centres of two shapes such that shape 0 is `relation` shape 1."""
    ra, rb = radii
    gap = 0.04 * image_size
    for _ in range(1000):
        xa, ya = rng.uniform(ra, image_size - ra, 2)
        xb, yb = rng.uniform(rb, image_size - rb, 2)
        along, across = {
            "above": (yb - ya, xb - xa), "below": (ya - yb, xb - xa),
            "left of": (xb - xa, yb - ya), "right of": (xa - xb, yb - ya),
        }[relation]  # fmt: skip
        if along > ra + rb + gap and abs(across) < 0.5 * along:
            return (xa, ya), (xb, yb)
    raise RuntimeError("could not place two shapes; image_size too small")  # pragma: no cover


def _draw(canvas, shape, color):
    size = canvas.shape[0]
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    dx, dy, r = xx - shape.x, yy - shape.y, shape.radius
    if shape.shape == "circle":
        inside = dx**2 + dy**2 <= r**2
    elif shape.shape == "square":
        half = 0.85 * r
        inside = (np.abs(dx) <= half) & (np.abs(dy) <= half)
    else:  # an upright triangle: apex at the top, base below the centre
        top, base = -r, 0.8 * r
        inside = (dy >= top) & (dy <= base) & (np.abs(dx) <= r * (dy - top) / (base - top))
    canvas[inside] = color


def render_scene(rng, image_size=64, objects=None):
    """Draws one random scene with `rng` (a `numpy.random.Generator`).

    Args:
        rng: Random generator.
        image_size: Side of the square image in pixels (at least 32).
        objects: Optional tuple of one or two `(colour, shape)` objects to
            draw (two in random order); default: two random objects.

    Returns:
        A `Scene`.
    """
    image_size = positive_int("image_size", image_size)
    if image_size < 32:
        raise ValueError(f"Argument `image_size` must be at least 32; received: {image_size}")
    if objects is None:
        objects = [OBJECTS[i] for i in rng.integers(len(OBJECTS), size=2)]
    objects = list(objects)
    if len(objects) not in (1, 2) or any(tuple(o) not in OBJECTS for o in objects):
        raise ValueError(f"Argument `objects` must hold one or two of {OBJECTS}; received: "
                         f"objects={objects!r}")  # fmt: skip
    canvas = np.clip(rng.normal(35, 8, (image_size, image_size, 3)), 0, 255)
    if len(objects) == 2 and rng.random() < 0.5:
        objects = objects[::-1]
    sizes = [SIZES[i] for i in rng.integers(len(SIZES), size=len(objects))]
    radii = [_radius(size, rng, image_size) for size in sizes]
    if len(objects) == 1:
        r = radii[0]
        centres = [tuple(rng.uniform(r, image_size - r, 2))]
        relation = None
    else:
        relation = RELATIONS[rng.integers(len(RELATIONS))]
        centres = _place(radii, relation, rng, image_size)
    shapes = tuple(
        Shape(color, shape, size, float(x), float(y), r)
        for (color, shape), size, r, (x, y) in zip(objects, sizes, radii, centres, strict=True)
    )
    for s in shapes:
        jitter = rng.integers(-15, 16, 3)
        _draw(canvas, s, np.clip(np.array(COLORS[s.color]) + jitter, 0, 255))
    return Scene(canvas.astype(np.uint8), shapes, relation, captions_for(shapes, relation))


def shape_scenes(count, split="train", seed=0, image_size=64, held_out_fraction=0.2):
    """`count` scenes of `split` ("train", "validation" or "test").

    Train and validation scenes hold one shape (a fifth) or a training pair;
    test scenes hold a held-out pair (see the module docstring).

    Returns:
        `(images, captions, scenes)`: uint8 `(count, image_size, image_size,
        3)`, a list of reference-caption lists, and the `Scene`s.
    """
    count = positive_int("count", count)
    if split not in SPLITS:
        raise ValueError(f"Argument `split` must be one of {SPLITS}; received: split={split!r}")
    train_pairs, held_out = object_pairs(held_out_fraction)
    pairs = sorted(held_out if split == "test" else train_pairs)
    rng = np.random.default_rng([int(seed), _SPLIT_STREAMS[split]])
    scenes = []
    for _ in range(count):
        if split != "test" and rng.random() < 0.2:
            objects = (OBJECTS[rng.integers(len(OBJECTS))],)
        else:
            objects = pairs[rng.integers(len(pairs))]
        scenes.append(render_scene(rng, image_size, objects))
    images = np.stack([s.image for s in scenes])
    return images, [list(s.captions) for s in scenes], scenes

