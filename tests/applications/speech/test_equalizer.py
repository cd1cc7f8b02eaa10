"""`SpeakerEqualizer`: long-term average spectra against known values, the
filter's effect measured by an independent estimator (Welch), and its errors."""

import json

import keras
import numpy as np
import pytest
import scipy.signal

from lstm_zoo.applications.speech.data import Utterance
from lstm_zoo.applications.speech.equalizer import SpeakerEqualizer

pytestmark = pytest.mark.tf_only

RATE = 8000
#: A two-tap low-pass, y[n] = x[n] + 0.8 x[n-1]: +5.1 dB at 0 Hz, -14 dB at 4 kHz.
LOW_PASS = ([1.0, 0.8], [1.0])


def _noise(speaker, count, shape=None, seed=0, seconds=0.5, scale=0.1):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        x = rng.normal(0.0, scale, int(RATE * seconds))
        if shape is not None:
            x = scipy.signal.lfilter(*shape, x)
        out.append(Utterance(x.astype(np.float32), "one", speaker, f"{speaker}_{i}.wav", RATE))
    return out


def _welch_db(utterances):
    """Welch's average spectrum in dB of the utterances joined end to end."""
    x = np.concatenate([u.audio for u in utterances]).astype(np.float64)
    return 10.0 * np.log10(scipy.signal.welch(x, RATE, nperseg=256)[1])


def test_white_noise_spectrum_is_flat_at_its_known_level():
    equalizer = SpeakerEqualizer(RATE)
    spectrum = equalizer.spectrum([u.audio for u in _noise("a", 20)])
    # scipy's stft divides by the window's sum: E|X_k|^2 = sigma^2 sum(w^2) / sum(w)^2.
    window = scipy.signal.get_window("hamming", 200)
    level = 10.0 * np.log10(0.1**2 * np.sum(window**2) / np.sum(window) ** 2)
    assert spectrum.shape == (129,)
    np.testing.assert_allclose(spectrum, level, atol=0.5)


def test_a_tone_peaks_at_its_bin_and_quiet_frames_are_left_out():
    t = np.arange(RATE // 2) / RATE
    tone = np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)
    unsmoothed = SpeakerEqualizer(RATE, smoothing_bins=1).spectrum([tone])
    assert np.argmax(unsmoothed) == 1000 * 256 // RATE  # bin 32 of 256 points at 8 kHz
    equalizer = SpeakerEqualizer(RATE)
    loud = [u.audio for u in _noise("a", 5)]
    # One second of noise 80 dB down after each recording: more than
    # `speech_db` below the loudest frame, so it is not part of the LTAS.
    quiet = [np.concatenate([a, 1e-4 * np.random.default_rng(1).normal(size=RATE)]) for a in loud]
    np.testing.assert_allclose(equalizer.spectrum(quiet), equalizer.spectrum(loud), atol=0.3)
    # Counted in, the quiet frames (100 after each recording's 48) lower the LTAS by
    # 10 log10(148 / 48) = 4.9 dB.
    everything = SpeakerEqualizer(RATE, speech_db=100.0).spectrum(quiet)
    np.testing.assert_allclose(equalizer.spectrum(loud) - everything, 4.9, atol=0.3)


def test_equalised_speaker_has_the_reference_spectrum():
    reference, coloured = _noise("a", 20, seed=1), _noise("b", 20, LOW_PASS, seed=2)
    equalizer = SpeakerEqualizer(RATE).fit(reference)
    before = _welch_db(coloured) - _welch_db(reference)
    after = _welch_db(equalizer.apply(coloured)) - _welch_db(reference)
    inner = slice(3, -3)  # away from the smoothing's edges
    assert np.ptp(before[inner]) > 15.0
    # Flat up to the overall level, which the equaliser leaves alone.
    assert np.ptp(after[inner]) < 2.0, after
    # The reference speaker itself passes unchanged (a unit gain is a delta).
    same = equalizer.apply(reference)
    np.testing.assert_allclose(same[0].audio, reference[0].audio, atol=1e-4)
    assert same[0].speaker == "a" and same[0].path == "a_0.wav"


def test_each_speaker_is_filtered_by_their_own_spectrum():
    equalizer = SpeakerEqualizer(RATE).fit(_noise("ref", 10, seed=3))
    mixed = _noise("b", 10, LOW_PASS, seed=4) + _noise("c", 10, seed=5)
    out = equalizer.apply(mixed)
    alone = equalizer.apply(mixed[:10]) + equalizer.apply(mixed[10:])
    for u, v in zip(out, alone, strict=True):
        np.testing.assert_array_equal(u.audio, v.audio)
    assert [u.speaker for u in out] == [u.speaker for u in mixed]


def test_reference_gives_each_speaker_one_vote():
    many, few = _noise("a", 20, seed=6), _noise("b", 2, LOW_PASS, seed=7)
    equalizer = SpeakerEqualizer(RATE).fit(many + few)
    expected = (equalizer.spectrum([u.audio for u in many])
                + equalizer.spectrum([u.audio for u in few])) / 2.0  # fmt: skip
    np.testing.assert_allclose(equalizer.reference, expected)


def test_gain_leaves_the_level_alone_and_is_clipped():
    equalizer = SpeakerEqualizer(RATE, reference=np.zeros(129), max_gain_db=20.0)
    spectrum = np.full(129, 7.0)
    spectrum[:40] = -33.0  # 40 dB below the rest: a boost of 40 dB, clipped to 20
    gain = equalizer.gain_db(spectrum)
    np.testing.assert_allclose(gain[:40], 20.0)
    np.testing.assert_allclose(gain[40:], 0.0)
    # The filter's response follows the gain (away from the step).
    taps = equalizer.filter(spectrum)
    _, response = scipy.signal.freqz(taps, worN=equalizer.frequencies, fs=RATE)
    db = 20.0 * np.log10(np.abs(response))
    np.testing.assert_allclose(db[:30], 20.0, atol=1.0)
    np.testing.assert_allclose(db[50:], 0.0, atol=1.0)


def test_config_round_trip(tmp_path):
    equalizer = SpeakerEqualizer(RATE, max_gain_db=12.0).fit(_noise("a", 3))
    path = str(tmp_path / "equalizer.json")
    equalizer.save(path)
    loaded = SpeakerEqualizer.load(path)
    assert loaded.get_config() == equalizer.get_config()
    assert json.load(open(path))["max_gain_db"] == 12.0
    spectrum = equalizer.spectrum([u.audio for u in _noise("b", 3, LOW_PASS)])
    np.testing.assert_allclose(loaded.filter(spectrum), equalizer.filter(spectrum))
    assert keras.saving.get_registered_object("lstm_zoo>SpeakerEqualizer") is SpeakerEqualizer


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"smoothing_bins": 4}, "smoothing_bins"),
        ({"num_taps": 128}, "num_taps"),
        ({"speech_db": 0.0}, "speech_db"),
        ({"max_gain_db": -1.0}, "max_gain_db"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"frame_ms": 10.0, "step_ms": 10.0}, "step_ms"),
        ({"reference": np.zeros(10)}, "reference"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpeakerEqualizer(**{"sample_rate": RATE, **kwargs})


def test_misuse_is_explained():
    with pytest.raises(ValueError, match="call fit"):
        SpeakerEqualizer(RATE).apply(_noise("a", 2))
    equalizer = SpeakerEqualizer(RATE).fit(_noise("a", 2))
    other_rate = [Utterance(np.ones(1600, np.float32), "one", "b", "b.wav", 16000)]
    with pytest.raises(ValueError, match="16000 Hz"):
        equalizer.apply(other_rate)
    short = [Utterance(np.ones(50, np.float32), "one", "b", "b.wav", RATE)]
    with pytest.raises(ValueError, match="no recording of at least one frame"):
        equalizer.apply(short)
    with pytest.raises(ValueError, match="empty"):
        SpeakerEqualizer(RATE).fit([])
