"""hopfield-lab: Hopfield-network dynamics in PyTorch.

One vocabulary (a state, an energy, an update or a vector field, a trajectory), solvers that
are pure functions of a step function, diagnostics, and paper reproductions with one command.
"""

# first, before torch loads: in the hopfield-lab command, idle OpenMP threads wait passively
from hopfield_lab import threads as _threads  # noqa: F401
from hopfield_lab.core import ACTIVATIONS, Activation, HopfieldModel, get_activation
from hopfield_lab.errors import ConfigError, DataError, DivergenceError, HopfieldLabError
from hopfield_lab.solvers import SolverResult, fixed_point, integrate, solve_fixed_point

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ConfigError",
    "DataError",
    "DivergenceError",
    "HopfieldLabError",
    "HopfieldModel",
    "SolverResult",
    "__version__",
    "fixed_point",
    "get_activation",
    "integrate",
    "solve_fixed_point",
]
