"""Experiments from the lecture notes on discrete, mean-field and modern Hopfield networks."""

from hopfield_lab.experiments.notes import retrieval

__all__ = ["retrieval"]
