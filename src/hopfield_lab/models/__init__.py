"""Model families, one file each. Every model speaks the core vocabulary (energy/update/flow)."""

from hopfield_lab.models.finite_step import FiniteStepHopfield
from hopfield_lab.models.modern import ModernHopfield

__all__ = ["FiniteStepHopfield", "ModernHopfield"]
