"""Data for lstm_zoo: the 1997 paper's benchmark tasks as seeded generators,
text corpora for the language model, speech corpora for the speech recognizer,
image-caption corpora and rendered shape scenes for the image captioner."""

from lstm_zoo.datasets import captions, shapes, speech, text
from lstm_zoo.datasets.adding import CORRECT_ABS_ERROR, adding_problem
from lstm_zoo.datasets.text import embedded_corpus, load_corpus, stream_dataset

__all__ = [
    "CORRECT_ABS_ERROR",
    "adding_problem",
    "captions",
    "embedded_corpus",
    "load_corpus",
    "shapes",
    "speech",
    "stream_dataset",
    "text",
]
