"""Recognisers to measure the speech application against, scored the same way.

`score(recognizers, utterances)` decodes the same utterances with each
recogniser and reports, per speaker and over all, the sentence accuracy
(transcripts exactly right) and the word error rate, with the decoding time:

- `PocketSphinxDigits`: PocketSphinx 5 (`pip install "lstm_zoo[peers]"`) with
  its speaker-independent en-us acoustic model, decoding restricted to a
  JSGF grammar of the ten digit words (and "oh" for zero); audio resampled
  to its 16 kHz with `scipy.signal.resample_poly`.
- `KerasRecognizer`: trained `SpeechRecognizer`s (`.keras` files of
  `lstm-zoo train speech`, or presets), decoded with a beam or, under the same
  one-word grammar PocketSphinx gets, as the digit word of highest CTC
  likelihood (summed over the models of an ensemble).

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
    """Trained `SpeechRecognizer`s, decoded with a beam or restricted to choices.

    Args:
        model: A `SpeechRecognizer`, or a list of them (an ensemble; needs
            `choices`).
        beam_width: Beam of the free CTC search.
        batch_size: Utterances per batch.
        name: Name in the reports.
        choices: Optional list of allowed transcripts (the grammar; for FSDD's
            isolated digits, the ten digit words, as PocketSphinx gets): each
            utterance gets the choice of highest CTC log-likelihood, summed
            over the models of an ensemble.
    """

    def __init__(self, model, beam_width=8, batch_size=32, name=None, choices=None):
        self.models = list(model) if isinstance(model, (list, tuple)) else [model]
        if len(self.models) > 1 and not choices:
            raise ValueError("An ensemble of speech models needs `choices` (a grammar): their "
                             "CTC posteriors spike at different frames, so averaging them "
                             "breaks a free search")  # fmt: skip
        rates = {m.sample_rate for m in self.models}
        if len(rates) > 1:
            raise ValueError(f"The models of an ensemble must share one sample rate; "
                             f"received: {sorted(rates)}")  # fmt: skip
        self.model = self.models[0]
        self.beam_width = beam_width
        self.batch_size = batch_size
        self.choices = list(choices) if choices else None
        self.sample_rate = self.model.sample_rate
        self.name = name or f"lstm_zoo SpeechRecognizer ({self.model.cell})"

    def transcribe(self, waveforms, sample_rate):
        """Transcripts (str) of 1-D float waveforms at `sample_rate`."""
        waves = [resample_audio(np.asarray(w, np.float32), sample_rate, self.sample_rate)
                 for w in waveforms]  # fmt: skip
        order = np.argsort([len(w) for w in waves])  # batches of similar lengths
        out = [None] * len(waves)
        for start in range(0, len(waves), self.batch_size):
            rows = order[start:start + self.batch_size]
            batch = [waves[i] for i in rows]
            if self.choices:
                padded = self.model.pad_waveforms(batch)
                scores = sum(m.choice_scores(*padded, self.choices) for m in self.models)
                texts = [self.choices[k] for k in np.argmax(scores, axis=1)]
            else:
                texts = self.model.transcribe(batch, beam_width=self.beam_width)
            for i, text in zip(rows, texts, strict=True):
                out[i] = text
        return out


def load_recognizer(spec, beam_width=8, isolated=True):
    """A recogniser from its name on the command line.

    Args:
        spec: `pocketsphinx`, a `.keras` file of a trained `SpeechRecognizer`,
            `preset:P` (a shipped speech preset), or several of the last two
            joined by `+` (an ensemble: the sum of their CTC log-likelihoods
            of each allowed transcript; needs `isolated`).
        beam_width: Beam of the Keras models' free search.
        isolated: One digit word per utterance, for PocketSphinx (its JSGF
            grammar) and for the Keras models alike (the digit word of
            highest CTC likelihood); else a string of digit words
            (PocketSphinx) or a free beam search (Keras).
    """
    if spec == "pocketsphinx":
        return PocketSphinxDigits(isolated=isolated)
    parts = spec.split("+")
    models = [_load_keras_recognizer(part) for part in parts]
    if len(models) > 1 and not isolated:
        raise ValueError(f"--recognizers: the ensemble {spec!r} needs the one-word grammar "
                         "(--grammar=word)")  # fmt: skip
    choices = list(DIGIT_WORDS) if isolated else None
    grammar = "one digit word" if isolated else f"beam {beam_width}"
    names = " + ".join(f"{part} ({m.cell})" for part, m in zip(parts, models, strict=True))
    return KerasRecognizer(models, beam_width, name=f"{names}, {grammar}", choices=choices)


def _load_keras_recognizer(spec):
    if spec.startswith("preset:"):
        from lstm_zoo.applications import get_model

        return get_model("speech", preset=spec[7:])
    if not os.path.isfile(spec):
        raise ValueError(f"--recognizers: {spec!r} is neither `pocketsphinx`, `preset:NAME` nor "
                         "a .keras file")  # fmt: skip
    import keras

    model = keras.saving.load_model(spec, safe_mode=True)
    if not hasattr(model, "transcribe"):
        raise ValueError(f"--recognizers: {spec} is not a speech recogniser "
                         f"({type(model).__name__})")  # fmt: skip
    return model


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
