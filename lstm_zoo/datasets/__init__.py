"""The 1997 paper's benchmark tasks as seeded generators (NumPy, `tf.data`,
TFDS builders in `tfds_builders`) with their success criteria. The
applications' corpora live in their folders (`lstm_zoo.applications.<name>.
data`)."""

from lstm_zoo.datasets import (
    criteria,
    long_lag,
    multiplication,
    paper_tasks,
    reber,
    temporal_order,
    two_sequence,
)
from lstm_zoo.datasets.adding import CORRECT_ABS_ERROR, adding_problem
from lstm_zoo.datasets.criteria import (
    CriterionStopping,
    PaperCriterion,
    ReberCriterion,
    TestSetStopping,
)
from lstm_zoo.datasets.long_lag import long_lag as long_lag_problem
from lstm_zoo.datasets.multiplication import multiplication_problem
from lstm_zoo.datasets.reber import embedded_reber
from lstm_zoo.datasets.temporal_order import temporal_order as temporal_order_problem
from lstm_zoo.datasets.two_sequence import two_sequence as two_sequence_problem

__all__ = [
    "CORRECT_ABS_ERROR",
    "CriterionStopping",
    "PaperCriterion",
    "ReberCriterion",
    "TestSetStopping",
    "adding_problem",
    "criteria",
    "embedded_reber",
    "long_lag",
    "long_lag_problem",
    "multiplication",
    "multiplication_problem",
    "paper_tasks",
    "reber",
    "temporal_order",
    "temporal_order_problem",
    "two_sequence",
    "two_sequence_problem",
]
