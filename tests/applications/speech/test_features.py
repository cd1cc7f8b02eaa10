"""SpeechFeatures against an independent NumPy computation of the same front end."""

import numpy as np
import pytest

from lstm_zoo.applications.speech.features import SpeechFeatures

pytestmark = pytest.mark.tf_only

tf = pytest.importorskip("tensorflow")


def hz_to_mel(f):
    return 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)


def mel_filterbank(num_bins, fft_length, rate, lower, upper):
    """HTK triangular filters on the mel scale, `(fft_length // 2 + 1, num_bins)`."""
    freqs = np.linspace(0.0, rate / 2.0, fft_length // 2 + 1)
    mel = hz_to_mel(freqs)[:, None]
    edges = np.linspace(hz_to_mel(lower), hz_to_mel(upper), num_bins + 2)
    left, center, right = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((mel - left) / (center - left),
                                         (right - mel) / (right - center)))  # fmt: skip
    weights[0] = 0.0  # the DC bin carries no weight
    return weights


def reference(x, rate, frame_ms=25.0, step_ms=10.0, bins=40, lower=20.0, pre=0.97,
              window=2, normalize=True, cepstra=None, floor_db=None):  # fmt: skip
    """NumPy front end of one unpadded utterance (float64)."""
    x = np.asarray(x, np.float64)
    n, step = int(round(rate * frame_ms / 1000)), int(round(rate * step_ms / 1000))
    fft = 1 << (n - 1).bit_length()
    y = np.concatenate([x[:1], x[1:] - pre * x[:-1]])
    count = -(-len(y) // step)
    padded = np.concatenate([y, np.zeros(count * step + n)])
    frames = np.stack([padded[i * step: i * step + n] for i in range(count)])
    hamming = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic
    power = np.abs(np.fft.rfft(frames * hamming, fft)) ** 2
    mel = power @ mel_filterbank(bins, fft, rate, lower, rate / 2)
    energy = np.sum(frames**2, axis=1, keepdims=True)
    if floor_db:
        mel, energy = (p + p.max() * 10 ** (-floor_db / 10) for p in (mel, energy))
    logmel = np.log(mel + 1e-6)
    if cepstra:  # DCT-II written out, scaled by sqrt(2 / M)
        m = np.arange(bins)
        basis = np.cos(np.pi * np.arange(cepstra)[:, None] * (m + 0.5)[None] / bins)
        logmel = logmel @ basis.T * np.sqrt(2.0 / bins)
    energy = np.log(energy + 1e-6)
    static = np.concatenate([logmel, energy], axis=1)

    def deltas(c):
        idx = np.arange(len(c))
        num = sum(k * (c[np.minimum(idx + k, len(c) - 1)] - c[np.maximum(idx - k, 0)])
                  for k in range(1, window + 1))  # fmt: skip
        return num / (2 * sum(k * k for k in range(1, window + 1)))

    d1 = deltas(static)
    out = np.concatenate([static, d1, deltas(d1)], axis=1)
    if normalize:
        out = (out - out.mean(0)) / np.sqrt(out.var(0) + 1e-5)
    return out


@pytest.mark.parametrize("rate", [16000, 8000])
def test_features_match_numpy_per_utterance_in_a_padded_batch(rate):
    rng = np.random.default_rng(0)
    lengths = [rate // 2 + 37, rate // 5]
    t = np.arange(max(lengths)) / rate
    waves = np.stack([0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t)),
                      0.2 * rng.standard_normal(len(t))]).astype(np.float32)  # fmt: skip
    # Junk past each length must be ignored.
    waves[1, lengths[1]:] = 9.0
    layer = SpeechFeatures(sample_rate=rate)
    features, frame_lengths = layer((waves, np.array(lengths)))
    assert layer.output_dim == 123 and features.shape[-1] == 123
    step = rate // 100
    assert frame_lengths.numpy().tolist() == [-(-n // step) for n in lengths]
    for row, n in enumerate(lengths):
        want = reference(waves[row, :n], rate)
        got = features.numpy()[row]
        assert len(want) == int(frame_lengths[row])
        np.testing.assert_allclose(got[: len(want)], want, atol=2e-3, rtol=2e-3)
        assert not np.any(got[len(want):])


def test_noise_floor_matches_numpy_and_hides_the_background_level():
    rng = np.random.default_rng(3)
    t = np.arange(4000) / 8000
    speech = 0.3 * np.sin(2 * np.pi * 300 * t) * (t > 0.2)
    waves = np.stack([speech + 1e-5 * rng.standard_normal(len(t)),
                      speech + 1e-3 * rng.standard_normal(len(t))]).astype(np.float32)
    lengths = np.array([4000, 4000])
    layer = SpeechFeatures(sample_rate=8000, floor_db=30.0, normalization="none")
    got, _ = layer((waves, lengths))
    want = reference(waves[1], 8000, normalize=False, floor_db=30.0)
    np.testing.assert_allclose(got.numpy()[1], want, rtol=1e-3, atol=2e-3)
    # The two backgrounds (about 100 and 60 dB below the tone) differ by several nats
    # without the floor; with it both sit near the floor, 30 dB below the peak.
    plain, _ = SpeechFeatures(sample_rate=8000, normalization="none")((waves, lengths))
    silent = slice(0, 15)
    assert np.abs(np.diff(plain.numpy()[:, silent, :40], axis=0)).mean() > 3.0
    assert np.abs(np.diff(got.numpy()[:, silent, :40], axis=0)).mean() < 0.1
    assert SpeechFeatures.from_config(layer.get_config()).floor_db == 30.0
    with pytest.raises(ValueError, match="floor_db"):
        SpeechFeatures(floor_db=0)


def test_cepstra_match_numpy():
    rng = np.random.default_rng(2)
    t = np.arange(3000) / 8000
    wave = (0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(len(t)))
    waves = np.stack([wave, np.zeros_like(wave)]).astype(np.float32)
    layer = SpeechFeatures(sample_rate=8000, num_cepstra=13, normalization="none")
    assert layer.output_dim == 42
    got, frame_lengths = layer((waves, np.array([3000, 1000])))
    want = reference(waves[0], 8000, normalize=False, cepstra=13)
    np.testing.assert_allclose(got.numpy()[0], want, rtol=1e-3, atol=2e-3)
    assert SpeechFeatures.from_config(layer.get_config()).num_cepstra == 13
    with pytest.raises(ValueError, match="num_cepstra"):
        SpeechFeatures(num_mel_bins=20, num_cepstra=21)


def test_unnormalised_features_and_dataset_normalisation():
    rng = np.random.default_rng(1)
    waves = (0.1 * rng.standard_normal((3, 4000))).astype(np.float32)
    lengths = np.array([4000, 3000, 1500])
    raw = SpeechFeatures(sample_rate=8000, normalization="none")
    got, _ = raw((waves, lengths))
    want = reference(waves[2, :1500], 8000, normalize=False)
    np.testing.assert_allclose(got.numpy()[2, : len(want)], want, rtol=1e-3, atol=1e-3)

    layer = SpeechFeatures(sample_rate=8000, normalization="dataset")
    layer.adapt([(waves[:2], lengths[:2]), (waves[2:], lengths[2:])])
    frames = np.concatenate([reference(w[:n], 8000, normalize=False)
                             for w, n in zip(waves, lengths, strict=True)])  # fmt: skip
    np.testing.assert_allclose(layer.mean.numpy(), frames.mean(0), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(layer.variance.numpy(), frames.var(0), rtol=1e-2, atol=1e-3)
    normalised, _ = layer((waves, lengths))
    together = normalised.numpy()[0, : len(reference(waves[0], 8000))]
    np.testing.assert_allclose(together.mean(0), ((reference(waves[0], 8000, normalize=False)
                               - frames.mean(0)) / np.sqrt(frames.var(0) + 1e-5)).mean(0),
                               atol=1e-2)  # fmt: skip


def test_utterance_mean_normalisation_keeps_the_channels_relative_scales():
    """Zero mean per feature, one scale per group (statics, deltas, second
    deltas), against NumPy on each unpadded utterance of a padded batch."""
    rng = np.random.default_rng(2)
    waves = (0.1 * rng.standard_normal((2, 4000))).astype(np.float32)
    lengths = np.array([4000, 2300])
    got, _ = SpeechFeatures(sample_rate=8000, normalization="utterance_mean")((waves, lengths))
    for row, n in enumerate(lengths):
        raw = reference(waves[row, :n], 8000, normalize=False)
        centred = raw - raw.mean(0)
        groups = np.split(centred, 3, axis=1)
        want = np.concatenate([g / np.sqrt((g**2).mean() + 1e-5) for g in groups], axis=1)
        np.testing.assert_allclose(got.numpy()[row, : len(raw)], want, rtol=1e-3, atol=2e-3)
        np.testing.assert_array_equal(got.numpy()[row, len(raw):], 0.0)
        # Unlike "utterance", the channels' spreads differ (their ratios are kept).
        spread = want[:, :41].std(0)
        assert spread.max() / spread.min() > 1.5
        np.testing.assert_allclose(spread / spread[0], centred[:, :41].std(0) / centred[:, 0].std(),
                                   rtol=1e-6)  # fmt: skip


def test_utterance_gain_normalisation_keeps_the_spectrum_shape():
    """One mean per group (the gain: a constant added to every log channel)
    and one scale per group, against NumPy; the channels keep their levels
    relative to each other, and a louder copy of a recording gives the same
    features (given a noise floor)."""
    rng = np.random.default_rng(3)
    tone = np.sin(2 * np.pi * 700 * np.arange(4000) / 8000)
    waves = (0.1 * rng.standard_normal((2, 4000)) + 0.3 * tone).astype(np.float32)
    lengths = np.array([4000, 2300])
    layer = SpeechFeatures(sample_rate=8000, normalization="utterance_gain")
    got, _ = layer((waves, lengths))
    for row, n in enumerate(lengths):
        raw = reference(waves[row, :n], 8000, normalize=False)
        groups = np.split(raw, 3, axis=1)
        want = np.concatenate([(g - g.mean()) / np.sqrt(((g - g.mean()) ** 2).mean() + 1e-5)
                               for g in groups], axis=1)  # fmt: skip
        np.testing.assert_allclose(got.numpy()[row, : len(raw)], want, rtol=1e-3, atol=2e-3)
        np.testing.assert_array_equal(got.numpy()[row, len(raw):], 0.0)
        # The channel that holds the tone stays above the others on average.
        statics = want[:, :40].mean(0)
        assert statics.max() - np.median(statics) > 0.5
    # With a noise floor relative to the peak, the gain drops out entirely.
    floored = SpeechFeatures(sample_rate=8000, normalization="utterance_gain", floor_db=50)
    np.testing.assert_allclose(floored((4.0 * waves, lengths))[0].numpy(),
                               floored((waves, lengths))[0].numpy(), atol=1e-3)  # fmt: skip


def test_options_change_the_width_and_bad_values_are_named():
    layer = SpeechFeatures(sample_rate=8000, num_mel_bins=20, log_energy=False, delta_order=1)
    assert layer.output_dim == 40
    out, _ = layer((np.zeros((1, 800), "float32"), np.array([800])))
    assert out.shape == (1, 10, 40)
    assert SpeechFeatures.from_config(layer.get_config()).output_dim == 40
    for kwargs, name in [({"delta_order": 3}, "delta_order"),
                         ({"normalization": "global"}, "normalization"),
                         ({"upper_hz": 9000}, "upper_hz"),
                         ({"sample_rate": 0}, "sample_rate"),
                         ({"preemphasis": 1.0}, "preemphasis")]:  # fmt: skip
        with pytest.raises(ValueError, match=name):
            SpeechFeatures(**{"sample_rate": 16000, **kwargs})
    with pytest.raises(ValueError, match="normalization='dataset'"):
        SpeechFeatures().adapt([])
