"""Recognisers to measure the speech application against, scored the same way.

`score(recognizers, utterances)` decodes the same utterances with each
recogniser and reports, per speaker and over all, the sentence accuracy
(transcripts exactly right) and the word error rate, with the decoding time:

- `PocketSphinxDigits`: PocketSphinx 5 (`pip install "lstm_zoo[peers]"`) with
  its speaker-independent en-us acoustic model, decoding restricted to a
  JSGF grammar of the ten digit words (and "oh" for zero); audio resampled
  to its 16 kHz with `scipy.signal.resample_poly`.
- `KerasRecognizer`: a trained `SpeechRecognizer` (a `.keras` file of
  `lstm-zoo train speech`, or a preset), decoded with a beam.

The command line is `lstm-zoo score DATA --recognizers=pocketsphinx,MODEL.keras`.
"""

import os
import time

import numpy as np

from lstm_zoo.applications.speech import metrics as speech_metrics
from lstm_zoo.applications.speech.data import DIGIT_WORDS, resample_audio

PEERS_INSTALL = (
    "PocketSphinx is not installed: `pip install \"lstm_zoo[peers]\"` (or `pip install "
    "pocketsphinx`) installs it with its en-us acoustic model."
)


class PocketSphinxDigits:
    """PocketSphinx 5 restricted to spoken digit words.

    Args:
        isolated: One word per utterance (FSDD's isolated digits); else a
            string of one or more digit words.
    """

    sample_rate = 16000

    def __init__(self, isolated=True):
        try:
            from pocketsphinx import Config, Decoder
        except ImportError:
            raise RuntimeError(PEERS_INSTALL) from None
        self.isolated = bool(isolated)
        rule = "<digit>" if self.isolated else "<digit>+"
        grammar = (
            "#JSGF V1.0;\ngrammar digits;\n"
            f"<digit> = {' | '.join(DIGIT_WORDS)} | oh;\npublic <digits> = {rule};\n"
        )
        self._decoder = Decoder(Config(jsgf=None, lm=None, loglevel="FATAL"))
        self._decoder.add_jsgf_string("digits", grammar)
        self._decoder.activate_search("digits")
        self.name = "PocketSphinx 5 (en-us, digit grammar)"

    def transcribe(self, waveforms, sample_rate):
        """Transcripts (str) of 1-D float waveforms in [-1, 1] at `sample_rate`."""
        out = []
        for audio in waveforms:
            audio = resample_audio(np.asarray(audio, np.float32), sample_rate, self.sample_rate)
            pcm = np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)
            self._decoder.start_utt()
            self._decoder.process_raw(pcm.tobytes(), False, True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
            words = hyp.hypstr.split() if hyp is not None else []
            out.append(" ".join("zero" if w == "oh" else w for w in words))
        return out


class KerasRecognizer:
    """A trained `SpeechRecognizer`, decoded with a beam of `beam_width`."""

    def __init__(self, model, beam_width=8, batch_size=32, name=None):
        self.model = model
        self.beam_width = beam_width
        self.batch_size = batch_size
        self.sample_rate = model.sample_rate
        self.name = name or f"lstm_zoo SpeechRecognizer ({model.cell})"

    def transcribe(self, waveforms, sample_rate):
        """Transcripts (str) of 1-D float waveforms at `sample_rate`."""
        waves = [resample_audio(np.asarray(w, np.float32), sample_rate, self.sample_rate)
                 for w in waveforms]  # fmt: skip
        order = np.argsort([len(w) for w in waves])  # batches of similar lengths
        out = [None] * len(waves)
        for start in range(0, len(waves), self.batch_size):
            rows = order[start:start + self.batch_size]
            texts = self.model.transcribe([waves[i] for i in rows], beam_width=self.beam_width)
            for i, text in zip(rows, texts, strict=True):
                out[i] = text
        return out


def load_recognizer(spec, beam_width=8, isolated=True):
    """A recogniser from its name on the command line.

    Args:
        spec: `pocketsphinx`, a `.keras` file of a trained `SpeechRecognizer`,
            or `preset:P` (a shipped speech preset).
        beam_width: Beam of the Keras models.
        isolated: PocketSphinx decodes one word per utterance.
    """
    if spec == "pocketsphinx":
        return PocketSphinxDigits(isolated=isolated)
    if spec.startswith("preset:"):
        from lstm_zoo.applications import get_model

        return KerasRecognizer(get_model("speech", preset=spec[7:]), beam_width,
                               name=f"lstm_zoo preset speech/{spec[7:]}")  # fmt: skip
    if not os.path.isfile(spec):
        raise ValueError(f"--recognizers: {spec!r} is neither `pocketsphinx`, `preset:NAME` nor "
                         "a .keras file")  # fmt: skip
    import keras

    model = keras.saving.load_model(spec, safe_mode=True)
    if not hasattr(model, "transcribe"):
        raise ValueError(f"--recognizers: {spec} is not a speech recogniser "
                         f"({type(model).__name__})")  # fmt: skip
    return KerasRecognizer(model, beam_width, name=f"{spec} ({model.cell})")


def score(recognizer, utterances):
    """Decodes `utterances` (`Utterance`s, any rate) and scores them per speaker.

    Returns:
        Dict: `name`, `seconds` (decoding), `all` and `speakers` (speaker ->
        `{"accuracy", "word_error_rate", "utterances"}`), `hypotheses` (in
        the order of `utterances`).
    """
    by_rate = {}
    for i, u in enumerate(utterances):
        by_rate.setdefault(u.sample_rate, []).append(i)
    hypotheses = [None] * len(utterances)
    start = time.perf_counter()
    for rate, rows in by_rate.items():
        texts = recognizer.transcribe([utterances[i].audio for i in rows], rate)
        for i, text in zip(rows, texts, strict=True):
            hypotheses[i] = text
    seconds = time.perf_counter() - start

    def summary(rows):
        refs = [utterances[i].transcript for i in rows]
        hyps = [hypotheses[i] for i in rows]
        return {"accuracy": speech_metrics.sentence_accuracy(refs, hyps),
                "word_error_rate": speech_metrics.word_error_rate(refs, hyps),
                "utterances": len(rows)}  # fmt: skip

    speakers = {}
    for i, u in enumerate(utterances):
        speakers.setdefault(u.speaker, []).append(i)
    return {
        "name": recognizer.name,
        "seconds": seconds,
        "all": summary(range(len(utterances))),
        "speakers": {s: summary(rows) for s, rows in sorted(speakers.items())},
        "hypotheses": hypotheses,
    }
