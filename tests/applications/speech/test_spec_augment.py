"""SpecAugment masks and the VTLP warp of SpeechFeatures."""

import numpy as np
import pytest

from lstm_zoo.applications.speech.features import SpeechFeatures
from lstm_zoo.applications.speech.spec_augment import SpecAugment

pytestmark = pytest.mark.tf_only

tf = pytest.importorskip("tensorflow")


def _runs(flags):
    """Lengths of the runs of True in a 1-D boolean array."""
    padded = np.concatenate([[0], flags.astype(int), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return edges[1::2] - edges[::2]


def test_masks_are_bands_and_spans_inside_the_valid_frames():
    layer = SpecAugment(channels=8, freq_masks=2, freq_width=3, time_masks=2, time_width=4, seed=0)
    rng = np.random.default_rng(0)
    x = rng.uniform(1.0, 2.0, size=(64, 30, 24)).astype("float32")  # never 0 by chance
    lengths = rng.integers(5, 31, size=64)
    x *= (np.arange(30)[None, :] < lengths[:, None])[..., None]  # padding is zero
    np.testing.assert_array_equal(np.asarray(layer((x, lengths))), x)  # inference: untouched
    y = np.asarray(layer((x, lengths), training=True))
    zero = (y == 0) & (x != 0)
    assert np.array_equal(y[~zero], x[~zero])  # masking only zeroes
    saw_band = saw_span = False
    for i in range(64):
        valid = zero[i, : lengths[i]]
        channels = valid.all(axis=0)
        blocks = channels.reshape(3, 8)
        assert (blocks == blocks[0]).all()  # the same channels in every block
        assert channels.sum() <= 2 * 3 * 3 and all(r <= 2 * 3 for r in _runs(blocks[0]))
        frames = zero[i].all(axis=1) & (np.arange(30) < lengths[i])
        partly = zero[i] & ~channels[None, :] & ~frames[:, None]
        assert not partly.any()  # every zero is in a band or a span
        assert frames.sum() <= 2 * 4 and all(r <= 2 * 4 for r in _runs(frames))
        saw_band |= channels.any()
        saw_span |= frames.any()
    assert saw_band and saw_span


def test_spec_augment_config_and_bad_arguments():
    layer = SpecAugment(channels=41, freq_width=5, seed=3)
    again = SpecAugment.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="freq_width"):
        SpecAugment(channels=4, freq_width=5)
    with pytest.raises(ValueError, match="time_masks"):
        SpecAugment(channels=4, time_masks=-1)


def test_vtlp_warp_matches_numpy_interpolation_and_only_in_training():
    features = SpeechFeatures(sample_rate=8000, vtlp=0.1, seed=0)
    power = np.random.default_rng(1).uniform(size=(3, 5, 129)).astype("float32")
    alphas = np.array([[0.9], [1.0], [1.08]], "float32")
    # The warp, with the draw replaced by known factors.
    features.seed_generator = None
    import keras

    original = keras.random.uniform
    keras.random.uniform = lambda *a, **k: tf.constant(alphas)
    try:
        warped = np.asarray(features._warp(tf.constant(power)))
    finally:
        keras.random.uniform = original
    bins = np.arange(129)
    for i, alpha in enumerate(alphas[:, 0]):
        source = np.clip(bins / alpha, 0, 128)
        want = np.stack([np.interp(source, bins, row) for row in power[i]])
        np.testing.assert_allclose(warped[i], want, atol=1e-5)  # float32
    np.testing.assert_allclose(warped[1], power[1])  # alpha 1: unchanged

    layer = SpeechFeatures(sample_rate=8000, vtlp=0.2, seed=0)
    plain = SpeechFeatures(sample_rate=8000)
    wave = np.random.default_rng(2).normal(size=(2, 4000)).astype("float32")
    lengths = np.array([4000, 3000])
    np.testing.assert_array_equal(np.asarray(layer((wave, lengths))[0]),
                                  np.asarray(plain((wave, lengths))[0]))  # fmt: skip
    assert not np.allclose(np.asarray(layer((wave, lengths), training=True)[0]),
                           np.asarray(plain((wave, lengths))[0]), atol=1e-3)  # fmt: skip
    with pytest.raises(ValueError, match="vtlp"):
        SpeechFeatures(vtlp=0.6)
