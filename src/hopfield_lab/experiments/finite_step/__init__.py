"""Experiments of the finite-step paper (Table 1, Figures 1-2)."""

from hopfield_lab.experiments.finite_step import energy, landscape, table1

__all__ = ["energy", "landscape", "table1"]
