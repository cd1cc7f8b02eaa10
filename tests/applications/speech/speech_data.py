"""Small generated speech data for the tests: tone "words" and WAV files."""

import os

import numpy as np

from lstm_zoo.applications.speech.data import Utterance

TONES = {"low": 300.0, "high": 1500.0}


def tone_utterances(count, rate=8000, seed=0, max_words=3):
    """Utterances of 1..max_words tones ("low" 300 Hz, "high" 1500 Hz), 0.12 s each,
    separated by 0.06 s of silence, with a little noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        words = [str(w) for w in rng.choice(sorted(TONES), size=rng.integers(1, max_words + 1))]
        pieces = [np.zeros(int(0.05 * rate))]
        for word in words:
            t = np.arange(int(0.12 * rate)) / rate
            pieces.append(0.5 * np.sin(2 * np.pi * TONES[word] * t + rng.uniform(0, 6)))
            pieces.append(np.zeros(int(0.06 * rate)))
        audio = np.concatenate(pieces) + 0.01 * rng.standard_normal(sum(map(len, pieces)))
        out.append(Utterance(audio.astype(np.float32), " ".join(words), "tones", "", rate))
    return out


def write_wavs(folder, utterances, names=None, subtype="PCM_16", fmt="WAV"):
    """Writes utterances as audio files; returns their paths."""
    import soundfile

    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, u in enumerate(utterances):
        name = names[i] if names else f"u{i:03d}.{fmt.lower()}"
        path = os.path.join(folder, name)
        soundfile.write(path, u.audio, u.sample_rate, subtype=subtype, format=fmt)
        paths.append(path)
    return paths


def write_tone_corpus(folder, count, held, seed):
    """A manifest corpus of `count` tone utterances at 8 kHz in `folder`: the
    first `held` have speaker "held" (the test speaker), the rest "seen";
    `labels.txt` lists the two tone words. Returns `folder`."""
    utts = tone_utterances(count, rate=8000, seed=seed)
    paths = write_wavs(folder, utts)
    with open(os.path.join(folder, "manifest.tsv"), "w") as f:
        for i, (path, u) in enumerate(zip(paths, utts, strict=True)):
            speaker = "held" if i < held else "seen"
            f.write(f"{os.path.basename(path)}\t{u.transcript}\t{speaker}\n")
    with open(os.path.join(folder, "labels.txt"), "w") as f:
        f.write("low\nhigh\n")
    return folder
