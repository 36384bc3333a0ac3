"""Solvers as pure functions of a step function or a vector field (no Hopfield knowledge)."""

from hopfield_lab.solvers.fixed_point import fixed_point, residual
from hopfield_lab.solvers.gradients import (
    ADJOINT_DEFAULT,
    GRADIENT_MODES,
    GradMode,
    solve_fixed_point,
)
from hopfield_lab.solvers.ode import ADAPTIVE_METHODS, FIXED_STEP_METHODS, ODE_METHODS, integrate
from hopfield_lab.solvers.options import (
    FIXED_POINT_METHODS,
    SAFEGUARDS,
    FixedPointOptions,
    safeguard_rule,
)
from hopfield_lab.solvers.result import SolverResult, flat_norm
from hopfield_lab.solvers.sde import SDE_METHODS, brownian_increments, euler_maruyama

__all__ = [
    "ADAPTIVE_METHODS",
    "ADJOINT_DEFAULT",
    "FIXED_POINT_METHODS",
    "FIXED_STEP_METHODS",
    "GRADIENT_MODES",
    "ODE_METHODS",
    "SAFEGUARDS",
    "SDE_METHODS",
    "FixedPointOptions",
    "GradMode",
    "SolverResult",
    "brownian_increments",
    "euler_maruyama",
    "fixed_point",
    "flat_norm",
    "integrate",
    "residual",
    "safeguard_rule",
    "solve_fixed_point",
]
