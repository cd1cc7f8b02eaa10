"""Data for lstm_zoo: the 1997 paper's benchmark tasks as seeded generators
(NumPy, `tf.data`, TFDS builders in `tfds_builders`) with their success
criteria, text corpora for the language model, speech corpora for the speech
recognizer, image-caption corpora and rendered shape scenes for the image
captioner."""

from lstm_zoo.datasets import (
    captions,
    criteria,
    long_lag,
    multiplication,
    paper_tasks,
    reber,
    shapes,
    speech,
    temporal_order,
    text,
    two_sequence,
)
from lstm_zoo.datasets.adding import CORRECT_ABS_ERROR, adding_problem
from lstm_zoo.datasets.criteria import CriterionStopping, PaperCriterion, ReberCriterion
from lstm_zoo.datasets.long_lag import long_lag as long_lag_problem
from lstm_zoo.datasets.multiplication import multiplication_problem
from lstm_zoo.datasets.reber import embedded_reber
from lstm_zoo.datasets.temporal_order import temporal_order as temporal_order_problem
from lstm_zoo.datasets.text import embedded_corpus, load_corpus, stream_dataset
from lstm_zoo.datasets.two_sequence import two_sequence as two_sequence_problem

__all__ = [
    "CORRECT_ABS_ERROR",
    "CriterionStopping",
    "PaperCriterion",
    "ReberCriterion",
    "adding_problem",
    "captions",
    "criteria",
    "embedded_corpus",
    "embedded_reber",
    "load_corpus",
    "long_lag",
    "long_lag_problem",
    "multiplication",
    "multiplication_problem",
    "paper_tasks",
    "reber",
    "shapes",
    "speech",
    "stream_dataset",
    "temporal_order",
    "temporal_order_problem",
    "text",
    "two_sequence",
    "two_sequence_problem",
]
