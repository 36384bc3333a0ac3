"""Experiments of the finite-step paper (Table 1, Figures 1-2); every module is registered."""

from hopfield_lab._discovery import import_submodules

__all__ = sorted(import_submodules(__name__))
