"""Solvers as pure functions of a step function or a vector field (no Hopfield knowledge)."""

from hopfield_lab.solvers.fixed_point import FIXED_POINT_METHODS, fixed_point, residual
from hopfield_lab.solvers.gradients import GRADIENT_MODES, solve_fixed_point
from hopfield_lab.solvers.ode import ADAPTIVE_METHODS, FIXED_STEP_METHODS, ODE_METHODS, integrate
from hopfield_lab.solvers.result import SolverResult, flat_norm

__all__ = [
    "ADAPTIVE_METHODS",
    "FIXED_POINT_METHODS",
    "FIXED_STEP_METHODS",
    "GRADIENT_MODES",
    "ODE_METHODS",
    "SolverResult",
    "fixed_point",
    "flat_norm",
    "integrate",
    "residual",
    "solve_fixed_point",
]
