"""Per-speaker spectral equalisation: a speaker-level channel normalisation.

A speaker's voice and microphone colour every recording the same way: george's
FSDD recordings carry 5 dB less below 500 Hz and 7 dB more around 3 kHz than
the other three speakers' average. Normalising each utterance alone
(`SpeechFeatures(normalization="utterance_mean")`) removes that colour but
also the part of each channel's mean that the word itself carries (a short
"three" and a short "eight" differ in their average spectrum);
`"utterance_gain"` keeps the word's spectrum but also the speaker's colour.

`SpeakerEqualizer` removes the colour once per speaker instead: it measures
each speaker's long-term average spectrum (LTAS) over all of that speaker's
recordings and filters them with one linear-phase FIR whose gain is the
difference between a reference LTAS (the training speakers' average) and the
speaker's own. A new speaker needs only unlabelled recordings of their voice.
This is the waveform-domain counterpart of the speaker-level cepstral mean
normalisation of Kaldi-style recipes; the filter runs before the model, so a
trained or exported model is unchanged.

How, with the defaults (scipy.signal throughout):
1. Frames of 25 ms every 10 ms, Hamming window, power spectrum of
   `2**ceil(log2(frame))` points (`scipy.signal.stft`).
2. The LTAS of a speaker: the mean power per bin over their frames within
   `speech_db` dB of each utterance's loudest frame (silence left out),
   in dB, smoothed by a moving average of `smoothing_bins` bins.
3. The reference: the mean of the fitted speakers' LTAS, one speaker one vote.
4. A speaker's gain: reference minus LTAS in dB, minus its median (the
   overall level is left alone), clipped to +-`max_gain_db`.
5. The filter: `scipy.signal.firwin2` with `num_taps` taps through that gain,
   applied with `scipy.signal.fftconvolve(mode="same")` (no delay).
"""

import dataclasses
import json
import math

import keras
import numpy as np

from lstm_zoo.checks import positive_int


@keras.saving.register_keras_serializable(package="lstm_zoo")
class SpeakerEqualizer:
    """Matches each speaker's long-term average spectrum to a reference.

    Example:

    ```python
    equalizer = SpeakerEqualizer(sample_rate=8000).fit(train_utterances)
    train_utterances = equalizer.apply(train_utterances)
    test_utterances = equalizer.apply(test_utterances)  # each speaker by their own LTAS
    ```

    Args:
        sample_rate: Sampling rate of the audio in Hz.
        frame_ms: Analysis frame length in milliseconds.
        step_ms: Analysis frame step in milliseconds.
        speech_db: Frames more than this many dB below their utterance's
            loudest frame are left out of the LTAS (positive).
        smoothing_bins: Width of the moving average over frequency bins (odd).
        max_gain_db: Largest boost or cut of the filter in dB (positive).
        num_taps: Taps of the FIR filter (odd, so that it is type I).
        reference: The reference LTAS in dB (one value per frequency bin),
            or `None` until `fit`.
    """

    def __init__(self, sample_rate=16000, frame_ms=25.0, step_ms=10.0, speech_db=30.0,
                 smoothing_bins=9, max_gain_db=20.0, num_taps=129, reference=None):  # fmt: skip
        self.sample_rate = positive_int("sample_rate", sample_rate)
        self.frame_ms, self.step_ms = float(frame_ms), float(step_ms)
        self.frame_length = int(round(self.sample_rate * self.frame_ms / 1000.0))
        self.frame_step = int(round(self.sample_rate * self.step_ms / 1000.0))
        if not 2 <= self.frame_length or not 1 <= self.frame_step < self.frame_length:
            raise ValueError(f"Arguments `frame_ms`={frame_ms} and `step_ms`={step_ms} give "
                             f"frames of {self.frame_length} samples every {self.frame_step}; "
                             "need at least 2 samples and a step shorter than the frame")
        self.fft_length = 2 ** math.ceil(math.log2(self.frame_length))
        for name, value in (("speech_db", speech_db), ("max_gain_db", max_gain_db)):
            if not float(value) > 0.0:
                raise ValueError(f"Argument `{name}` must be positive; received: {name}={value!r}")
        self.speech_db, self.max_gain_db = float(speech_db), float(max_gain_db)
        for name, value in (("smoothing_bins", smoothing_bins), ("num_taps", num_taps)):
            if positive_int(name, value) % 2 == 0:
                raise ValueError(f"Argument `{name}` must be odd; received: {name}={value!r}")
        self.smoothing_bins, self.num_taps = int(smoothing_bins), int(num_taps)
        self.reference = None
        if reference is not None:
            reference = np.asarray(reference, np.float64)
            if reference.shape != (self.num_bins,):
                raise ValueError(f"Argument `reference` must hold {self.num_bins} values, one "
                                 f"per frequency bin; received shape {reference.shape}")
            self.reference = reference

    @property
    def num_bins(self):
        """Frequency bins of a spectrum: `fft_length // 2 + 1`."""
        return self.fft_length // 2 + 1

    @property
    def frequencies(self):
        """The frequency in Hz of each bin of a spectrum."""
        return np.linspace(0.0, self.sample_rate / 2.0, self.num_bins)

    def spectrum(self, audios):
        """The long-term average spectrum in dB of `audios` (one speaker's
        recordings: 1-D float arrays), smoothed over frequency.

        Raises:
            ValueError: when no recording is at least one frame long.
        """
        from scipy.signal import stft

        total, frames = np.zeros(self.num_bins), 0
        for audio in audios:
            audio = np.asarray(audio, np.float64)
            if audio.shape[0] < self.frame_length:
                continue
            spectra = stft(audio, self.sample_rate, window="hamming", nperseg=self.frame_length,
                           noverlap=self.frame_length - self.frame_step, nfft=self.fft_length,
                           boundary=None, padded=False)[2]  # fmt: skip
            power = np.abs(spectra) ** 2
            energy = power.sum(axis=0)
            speech = energy > energy.max() * 10.0 ** (-self.speech_db / 10.0)
            total += power[:, speech].sum(axis=1)
            frames += int(speech.sum())
        if not frames:
            raise ValueError(f"Argument `audios` holds no recording of at least one frame "
                             f"({self.frame_length} samples)")  # fmt: skip
        db = 10.0 * np.log10(total / frames + 1e-12)
        half = self.smoothing_bins // 2
        padded = np.pad(db, half, mode="edge")
        return np.convolve(padded, np.ones(self.smoothing_bins) / self.smoothing_bins, "valid")

    def fit(self, utterances):
        """Sets the reference to the mean LTAS of the speakers of `utterances`
        (`Utterance`s; one speaker, one vote). Returns `self`."""
        groups = _by_speaker(utterances)
        if not groups:
            raise ValueError("Argument `utterances` is empty")
        self.reference = np.mean([self.spectrum([u.audio for u in group])
                                  for group in groups.values()], axis=0)  # fmt: skip
        return self

    def gain_db(self, spectrum):
        """The filter's gain in dB per bin that takes `spectrum` to the reference."""
        if self.reference is None:
            raise ValueError("This SpeakerEqualizer has no reference: call fit() first")
        gain = self.reference - np.asarray(spectrum, np.float64)
        return np.clip(gain - np.median(gain), -self.max_gain_db, self.max_gain_db)

    def filter(self, spectrum):
        """The FIR taps (`num_taps`, linear phase) that take `spectrum` to the reference."""
        from scipy.signal import firwin2

        return firwin2(self.num_taps, self.frequencies, 10.0 ** (self.gain_db(spectrum) / 20.0),
                       fs=self.sample_rate)  # fmt: skip

    def apply(self, utterances):
        """`utterances` with each speaker's audio filtered by that speaker's
        equaliser, measured on their utterances here (new `Utterance`s, float32).

        Utterances with the same `speaker` form one speaker, `""` included.
        """
        from scipy.signal import fftconvolve

        if self.reference is None:
            raise ValueError("This SpeakerEqualizer has no reference: call fit() first")
        out = list(utterances)
        for indices in _by_speaker(utterances, indices=True).values():
            for u in (utterances[i] for i in indices):
                if u.sample_rate != self.sample_rate:
                    raise ValueError(f"Utterance {u.path or u.transcript!r} is at "
                                     f"{u.sample_rate} Hz; this equaliser is for "
                                     f"{self.sample_rate} Hz")  # fmt: skip
            taps = self.filter(self.spectrum([utterances[i].audio for i in indices]))
            for i in indices:
                audio = fftconvolve(utterances[i].audio, taps, mode="same").astype(np.float32)
                out[i] = dataclasses.replace(utterances[i], audio=audio)
        return out

    def get_config(self):
        return {
            "sample_rate": self.sample_rate,
            "frame_ms": self.frame_ms,
            "step_ms": self.step_ms,
            "speech_db": self.speech_db,
            "smoothing_bins": self.smoothing_bins,
            "max_gain_db": self.max_gain_db,
            "num_taps": self.num_taps,
            "reference": None if self.reference is None else [float(v) for v in self.reference],
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def save(self, path):
        """Writes the configuration and the reference to the JSON file `path`."""
        with open(path, "w") as f:
            json.dump(self.get_config(), f, indent=1)

    @classmethod
    def load(cls, path):
        """The equaliser saved at `path` (`save`)."""
        with open(path) as f:
            return cls.from_config(json.load(f))


def _by_speaker(utterances, indices=False):
    groups = {}
    for i, u in enumerate(utterances):
        groups.setdefault(u.speaker, []).append(i if indices else u)
    return groups
