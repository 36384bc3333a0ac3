"""Experiments of the DEQ paper (Goemaere et al., "Accelerating Hopfield network dynamics")."""

from hopfield_lab._discovery import import_submodules

__all__ = sorted(import_submodules(__name__))
