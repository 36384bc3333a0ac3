"""Experiments from the lecture notes on discrete, mean-field and modern Hopfield networks
(every module in this package is imported, and so registered, automatically)."""

from hopfield_lab._discovery import import_submodules

__all__ = sorted(import_submodules(__name__))
