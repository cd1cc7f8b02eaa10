"""`SpecAugment`: frequency and time masks on speech features, in training only."""

import keras
import tensorflow as tf

from lstm_zoo.checks import int_at_least, positive_int


@keras.saving.register_keras_serializable(package="lstm_zoo")
class SpecAugment(keras.layers.Layer):
    """Frequency and time masking of Park et al. (2019), "SpecAugment".

    In training, each utterance gets `freq_masks` bands of `f ~ U{0..freq_width}`
    consecutive channels and `time_masks` spans of `t ~ U{0..time_width}`
    consecutive frames (inside its valid frames) set to zero, the features'
    mean after per-utterance normalisation. Features made of blocks of
    `channels` (static, deltas, delta-deltas of the same filterbank) are masked
    at the same channels in every block. Outside training the layer passes its
    input through. (Time warping, the paper's third augmentation, is left out.)

    Args:
        channels: Channels of one block (e.g. 41: 40 mel + log energy); the
            feature size must be a multiple of it.
        freq_masks: Frequency bands per utterance.
        freq_width: Widest band, in channels.
        time_masks: Time spans per utterance.
        time_width: Longest span, in frames.
        seed: Seed of the masks.
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: `(features, frame_lengths)`: `(batch, frames, channels * k)` and
            `(batch,)` valid frames per row.
        training: Whether to mask.

    Returns:
        The masked features.
    """

    def __init__(self, channels, freq_masks=2, freq_width=8, time_masks=2, time_width=10,
                 seed=None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.channels = positive_int("channels", channels)
        self.freq_masks = int_at_least("freq_masks", freq_masks, 0, "it counts masks")
        self.freq_width = int_at_least("freq_width", freq_width, 0, "it is a width")
        self.time_masks = int_at_least("time_masks", time_masks, 0, "it counts masks")
        self.time_width = int_at_least("time_width", time_width, 0, "it is a width")
        if self.freq_width > self.channels:
            raise ValueError(f"Argument `freq_width`={freq_width} must not exceed "
                             f"`channels`={channels}")  # fmt: skip
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _spans(self, count, width, extent):
        """`(batch, size)` 0/1: `count` random spans of up to `width` inside `extent`."""
        batch = tf.shape(extent)[0]
        size = tf.reduce_max(extent)
        positions = tf.range(size)[None, None, :]
        widths = keras.random.randint((batch, count), 0, width + 1, seed=self.seed_generator)
        room = tf.maximum(extent[:, None] - widths, 0) + 1
        starts = tf.cast(
            keras.random.uniform((batch, count), seed=self.seed_generator)
            * tf.cast(room, tf.float32),
            tf.int32,
        )
        inside = (positions >= starts[..., None]) & (positions < (starts + widths)[..., None])
        return tf.cast(tf.reduce_any(inside, axis=1), tf.float32)

    def call(self, inputs, training=False):
        features, frame_lengths = inputs
        if not training:
            return features
        batch = tf.shape(features)[0]
        keep = tf.ones_like(features)
        if self.freq_masks and self.freq_width:
            extent = tf.fill([batch], self.channels)
            band = self._spans(self.freq_masks, self.freq_width, extent)
            blocks = features.shape[-1] // self.channels
            keep *= (1.0 - tf.tile(band, [1, blocks]))[:, None, :]
        if self.time_masks and self.time_width:
            frames = tf.shape(features)[1]
            extent = tf.minimum(tf.cast(frame_lengths, tf.int32), frames)
            span = self._spans(self.time_masks, self.time_width, tf.maximum(extent, 1))
            span = tf.pad(span, [[0, 0], [0, frames - tf.shape(span)[1]]])
            keep *= (1.0 - span)[:, :, None]
        return features * keep

    def build(self, input_shape=None):
        features_shape = input_shape[0] if input_shape else None
        if features_shape is not None and features_shape[-1] is not None:
            if features_shape[-1] % self.channels:
                raise ValueError(f"Features of size {features_shape[-1]} are not blocks of "
                                 f"`channels`={self.channels}")  # fmt: skip
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {
            **super().get_config(),
            "channels": self.channels,
            "freq_masks": self.freq_masks,
            "freq_width": self.freq_width,
            "time_masks": self.time_masks,
            "time_width": self.time_width,
            "seed": self.seed,
        }
