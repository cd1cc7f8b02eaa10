"""Data for lstm_zoo: the 1997 paper's benchmark tasks as seeded generators."""

from lstm_zoo.datasets.adding import CORRECT_ABS_ERROR, adding_problem

__all__ = ["CORRECT_ABS_ERROR", "adding_problem"]
