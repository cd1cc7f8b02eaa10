"""`SpeechFeatures`: log mel filterbank + log energy with deltas, in the graph.

The front end of Graves, Mohamed & Hinton (2013): 40 mel filterbank
channels plus the log energy, with first and second temporal derivatives,
123 numbers per 10 ms frame. Built from `tf.signal` (framing, STFT, the HTK
mel weight matrix), so a model that holds this layer takes raw waveforms and
a SavedModel of it serves raw audio.
"""

import math

import keras
import tensorflow as tf

from lstm_zoo.checks import positive_int

NORMALIZATIONS = ("utterance", "utterance_mean", "utterance_gain", "dataset", "none")


@keras.saving.register_keras_serializable(package="lstm_zoo")
class SpeechFeatures(keras.layers.Layer):
    """Waveforms to normalised log-mel (or MFCC) + log-energy features with deltas.

    For each utterance (samples beyond its length are ignored):

    1. pre-emphasis `y[n] = x[n] - preemphasis * x[n-1]`;
    2. frames of `frame_ms` every `step_ms` (the end zero-padded, so an
       utterance of `L` samples gives `ceil(L / step)` frames);
    3. log energy `log(sum(frame ** 2) + 1e-6)` of each frame;
    4. periodic Hamming window, power spectrum `|rfft(frame, fft_length)|^2`
       (`fft_length` the next power of two), `num_mel_bins` triangular HTK
       mel filters between `lower_hz` and `upper_hz`, `log(mel + 1e-6)`; with
       `num_cepstra`, the first `num_cepstra` mel-frequency cepstral
       coefficients of these instead (`tf.signal.mfccs_from_log_mel_spectrograms`:
       DCT-II, `c_k = sum_m log_mel_m cos(pi k (m + 1/2) / M) / sqrt(M / 2)`
       over the `M` channels), which drop the fine spectral detail (the
       harmonics of the speaker's pitch) that the log-mel channels keep;
       with `floor_db`, a noise floor `floor_db` decibels below the
       utterance's loudest frame and channel is added before the logarithm
       (to the mel powers, and to the frame energies for step 3):
       `log(mel + max(mel) * 10 ** (-floor_db / 10) + 1e-6)`, so that
       recordings with digital silence and recordings with a noisy background
       look alike below that level;
    5. deltas of order 1..`delta_order` by HTK's regression
       `d_t = sum_n n (c_{t+n} - c_{t-n}) / (2 sum_n n^2)`, `n = 1..delta_window`,
       frames beyond the utterance's ends repeating its first/last frame;
    6. normalisation: `"utterance"` (zero mean, unit variance per utterance
       and feature over its frames), `"utterance_mean"` (zero mean per
       utterance and feature, then one scale per utterance and group of
       features, the statics and each order of deltas: unit variance over the
       group's features and frames, so that channels that carry little in an
       utterance, such as a band its microphone cut, stay small instead of
       being scaled up to unit variance), `"utterance_gain"` (as
       `"utterance_mean"`, but one mean per utterance and group of features,
       over its features and frames: only the utterance's gain, a constant
       added to every log channel, is taken away, and the channels keep their
       average levels, the shape of the utterance's spectrum), `"dataset"` (mean and variance from
       `adapt`, stored as weights) or `"none"`. Frames past the end are zero.

    In training, with `vtlp > 0`, the power spectrum's frequency axis (step 4) is
    stretched by a factor drawn per utterance from [1 - vtlp, 1 + vtlp]
    (vocal tract length perturbation, Jaitly & Hinton 2013, as a plain linear
    warp clipped at the Nyquist bin).

    Args:
        sample_rate: Waveform sampling rate in Hz.
        frame_ms: Frame (window) length in milliseconds.
        step_ms: Frame step in milliseconds.
        num_mel_bins: Mel filterbank channels.
        num_cepstra: Cepstral coefficients kept (MFCCs), at most `num_mel_bins`;
            `None` (default) keeps the log-mel channels.
        floor_db: Noise floor below each utterance's peak in dB, positive, or
            `None` (default) for none.
        lower_hz: Lowest filter edge.
        upper_hz: Highest filter edge (default `sample_rate / 2`).
        preemphasis: Pre-emphasis coefficient in [0, 1) (0: none).
        log_energy: Append the frame's log energy.
        delta_order: 0, 1 or 2 derivative orders appended.
        delta_window: Regression half-window `N` of the deltas.
        normalization: `"utterance"`, `"utterance_mean"`, `"utterance_gain"`,
            `"dataset"` or `"none"`.
        vtlp: Largest frequency warp in training (0: none), in [0, 0.5).
        seed: Seed of the warps.
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: `(waveforms, lengths)`: float `(batch, samples)` and int
            `(batch,)` valid samples per row.

    Returns:
        `(features, frame_lengths)`: float32 `(batch, frames, output_dim)` and
        int32 `(batch,)`.
    """

    def __init__(self, sample_rate=16000, frame_ms=25.0, step_ms=10.0, num_mel_bins=40,
                 lower_hz=20.0, upper_hz=None, preemphasis=0.97, log_energy=True,
                 delta_order=2, delta_window=2, normalization="utterance", vtlp=0.0, seed=None,
                 num_cepstra=None, floor_db=None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if not 0.0 <= float(vtlp) < 0.5:
            raise ValueError(f"Argument `vtlp` must be in [0, 0.5); received: vtlp={vtlp!r}")
        self.vtlp = float(vtlp)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.sample_rate = positive_int("sample_rate", sample_rate)
        self.num_mel_bins = positive_int("num_mel_bins", num_mel_bins)
        if num_cepstra is not None and positive_int("num_cepstra", num_cepstra) > num_mel_bins:
            raise ValueError(f"Argument `num_cepstra` must be at most num_mel_bins="
                             f"{self.num_mel_bins}; received: num_cepstra={num_cepstra!r}")
        self.num_cepstra = None if num_cepstra is None else int(num_cepstra)
        if floor_db is not None and not float(floor_db) > 0.0:
            raise ValueError(f"Argument `floor_db` must be positive or None; received: "
                             f"floor_db={floor_db!r}")  # fmt: skip
        self.floor_db = None if floor_db is None else float(floor_db)
        self.delta_window = positive_int("delta_window", delta_window)
        if delta_order not in (0, 1, 2):
            raise ValueError(f"Argument `delta_order` must be 0, 1 or 2; received: {delta_order!r}")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"Argument `normalization` must be one of {NORMALIZATIONS}; "
                             f"received: normalization={normalization!r}")  # fmt: skip
        if not 0.0 <= preemphasis < 1.0:
            raise ValueError(f"Argument `preemphasis` must be in [0, 1); received: {preemphasis!r}")
        upper = sample_rate / 2.0 if upper_hz is None else float(upper_hz)
        if not 0.0 <= lower_hz < upper <= sample_rate / 2.0:
            raise ValueError(
                f"Arguments `lower_hz`={lower_hz} and `upper_hz`={upper_hz} must satisfy "
                f"0 <= lower_hz < upper_hz <= sample_rate / 2 = {sample_rate / 2}"
            )
        self.frame_ms, self.step_ms = float(frame_ms), float(step_ms)
        self.frame_length = int(round(sample_rate * self.frame_ms / 1000.0))
        self.frame_step = int(round(sample_rate * self.step_ms / 1000.0))
        if self.frame_length < 2 or self.frame_step < 1:
            raise ValueError(f"Arguments `frame_ms`={frame_ms} and `step_ms`={step_ms} give "
                             f"frames of {self.frame_length} samples every {self.frame_step}; "
                             "need at least 2 and 1")  # fmt: skip
        self.fft_length = 2 ** math.ceil(math.log2(self.frame_length))
        self.lower_hz, self.upper_hz = float(lower_hz), upper_hz
        self.preemphasis = float(preemphasis)
        self.log_energy = bool(log_energy)
        self.delta_order = int(delta_order)
        self.normalization = normalization
        channels = self.num_cepstra or self.num_mel_bins
        self.output_dim = (channels + int(self.log_energy)) * (self.delta_order + 1)
        self.mel_matrix = tf.signal.linear_to_mel_weight_matrix(
            self.num_mel_bins, self.fft_length // 2 + 1, self.sample_rate, self.lower_hz, upper
        )

    def build(self, input_shape=None):
        if self.normalization == "dataset":
            self.mean = self.add_weight(shape=(self.output_dim,), initializer="zeros",
                                        trainable=False, name="mean")  # fmt: skip
            self.variance = self.add_weight(shape=(self.output_dim,), initializer="ones",
                                            trainable=False, name="variance")  # fmt: skip
        self.built = True

    def frame_lengths(self, lengths):
        """Frames of utterances of `lengths` samples: `ceil(lengths / step)`."""
        lengths = tf.cast(lengths, tf.int32)
        return (lengths + self.frame_step - 1) // self.frame_step

    def raw_features(self, waveforms, lengths, training=False):
        """Features before normalisation, and the frame lengths."""
        waveforms = tf.convert_to_tensor(waveforms, tf.float32)
        lengths = tf.cast(lengths, tf.int32)
        sample_mask = tf.sequence_mask(lengths, tf.shape(waveforms)[1], tf.float32)
        x = waveforms * sample_mask
        if self.preemphasis:
            x = tf.concat([x[:, :1], x[:, 1:] - self.preemphasis * x[:, :-1]], axis=1)
            x = x * sample_mask
        frames = tf.signal.frame(x, self.frame_length, self.frame_step, pad_end=True)
        window = tf.signal.hamming_window(self.frame_length, periodic=True)
        spectrum = tf.signal.rfft(frames * window, [self.fft_length])
        power = tf.math.real(spectrum * tf.math.conj(spectrum))
        if training and self.vtlp:
            power = self._warp(power)
        mel = self._floor(tf.tensordot(power, self.mel_matrix, 1))
        features = [tf.math.log(mel + 1e-6)]
        if self.num_cepstra:
            features = [tf.signal.mfccs_from_log_mel_spectrograms(features[0])
                        [..., : self.num_cepstra]]  # fmt: skip
        if self.log_energy:
            energy = self._floor(tf.reduce_sum(frames**2, -1, keepdims=True))
            features.append(tf.math.log(energy + 1e-6))
        static = tf.concat(features, axis=-1)
        frame_lengths = self.frame_lengths(lengths)
        orders = [static]
        for _ in range(self.delta_order):
            orders.append(self._deltas(orders[-1], frame_lengths))
        return tf.concat(orders, axis=-1), frame_lengths

    def _floor(self, power):
        """`power` plus the utterance's noise floor (padded frames hold zeros)."""
        if self.floor_db is None:
            return power
        peak = tf.reduce_max(power, axis=[1, 2], keepdims=True)
        return power + peak * 10.0 ** (-self.floor_db / 10.0)

    def _deltas(self, c, frame_lengths):
        steps = tf.shape(c)[1]
        t = tf.range(steps)[None, :]
        last = tf.maximum(frame_lengths[:, None] - 1, 0)
        n_range = range(1, self.delta_window + 1)
        total = 0.0
        for n in n_range:
            ahead = tf.gather(c, tf.minimum(t + n, last), batch_dims=1)
            behind = tf.gather(c, tf.minimum(tf.maximum(t - n, 0), last), batch_dims=1)
            total = total + float(n) * (ahead - behind)
        return total / (2.0 * sum(n * n for n in n_range))

    def _warp(self, power):
        """Each utterance's spectrum read at bins k / alpha (linear interpolation)."""
        bins = power.shape[-1]
        alpha = keras.random.uniform((tf.shape(power)[0], 1), 1.0 - self.vtlp, 1.0 + self.vtlp,
                                     seed=self.seed_generator)  # fmt: skip
        source = tf.clip_by_value(tf.range(bins, dtype=tf.float32)[None] / alpha, 0.0, bins - 1.0)
        low = tf.cast(tf.floor(source), tf.int32)
        high = tf.minimum(low + 1, bins - 1)
        frac = (source - tf.floor(source))[:, None, :]
        return (tf.gather(power, low, axis=2, batch_dims=1) * (1.0 - frac)
                + tf.gather(power, high, axis=2, batch_dims=1) * frac)  # fmt: skip

    def call(self, inputs, training=False):
        waveforms, lengths = inputs
        features, frame_lengths = self.raw_features(waveforms, lengths, training=training)
        mask = tf.sequence_mask(frame_lengths, tf.shape(features)[1], tf.float32)[..., None]
        if self.normalization in ("utterance", "utterance_mean", "utterance_gain"):
            count = tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)
            mean = tf.reduce_sum(features * mask, axis=1, keepdims=True) / count
            groups = self.delta_order + 1
            width = self.output_dim // groups
            if self.normalization == "utterance_gain":  # one mean per group: the gain
                group_means = tf.reduce_mean(tf.reshape(mean, [-1, 1, groups, width]), -1)
                mean = tf.repeat(group_means, width, axis=-1)
            centred = (features - mean) * mask
            if self.normalization == "utterance":
                variance = tf.reduce_sum(tf.square(centred), 1, keepdims=True) / count
                features = centred * tf.math.rsqrt(variance + 1e-5)
            else:
                shape = tf.concat([tf.shape(features)[:2], [groups, width]], 0)
                grouped = tf.reshape(centred, shape)
                # Each group's variance over its features and the valid frames.
                variance = tf.reduce_sum(tf.square(grouped), axis=[1, 3], keepdims=True) / (
                    count[..., None] * float(width))
                features = tf.reshape(grouped * tf.math.rsqrt(variance + 1e-5),
                                      tf.shape(features))  # fmt: skip
        elif self.normalization == "dataset":
            features = (features - self.mean) * tf.math.rsqrt(self.variance + 1e-5)
        return features * mask, frame_lengths

    def adapt(self, batches):
        """Sets the `"dataset"` normalisation's mean and variance.

        Args:
            batches: Iterable of `(waveforms, lengths)` batches (for example
                the inputs of a `speech_dataset`).
        """
        if self.normalization != "dataset":
            raise ValueError("adapt() applies to normalization='dataset' only; this layer has "
                             f"normalization={self.normalization!r}")  # fmt: skip
        if not self.built:
            self.build()
        total, total_sq, count = 0.0, 0.0, 0.0
        for waveforms, lengths in batches:
            features, frame_lengths = self.raw_features(waveforms, lengths)
            mask = tf.sequence_mask(frame_lengths, tf.shape(features)[1], tf.float64)[..., None]
            features = tf.cast(features, tf.float64)
            total += tf.reduce_sum(features * mask, axis=[0, 1])
            total_sq += tf.reduce_sum(tf.square(features) * mask, axis=[0, 1])
            count += tf.reduce_sum(mask)
        if not count:
            raise ValueError("Argument `batches` holds no frames")
        mean = total / count
        self.mean.assign(tf.cast(mean, tf.float32))
        self.variance.assign(tf.cast(tf.maximum(total_sq / count - mean**2, 0.0), tf.float32))

    def compute_output_shape(self, input_shape):
        batch = input_shape[0][0]
        return (batch, None, self.output_dim), (batch,)

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "frame_ms": self.frame_ms,
            "step_ms": self.step_ms,
            "num_mel_bins": self.num_mel_bins,
            "lower_hz": self.lower_hz,
            "upper_hz": self.upper_hz,
            "preemphasis": self.preemphasis,
            "log_energy": self.log_energy,
            "delta_order": self.delta_order,
            "delta_window": self.delta_window,
            "normalization": self.normalization,
            "vtlp": self.vtlp,
            "seed": self.seed,
            "num_cepstra": self.num_cepstra,
            "floor_db": self.floor_db,
        }
