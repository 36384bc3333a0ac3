"""Paper reproductions: one file per table or figure, registered by importing this package.

The library (core, models, solvers, data, runs) never imports this package; the CLI does.
"""

from hopfield_lab.experiments import finite_step, notes
from hopfield_lab.experiments.base import (
    EXPERIMENTS,
    PROFILES,
    Experiment,
    RunContext,
    RunOutcome,
    get_experiment,
    register,
    run_experiment,
)

__all__ = [
    "EXPERIMENTS",
    "PROFILES",
    "Experiment",
    "RunContext",
    "RunOutcome",
    "finite_step",
    "get_experiment",
    "notes",
    "register",
    "run_experiment",
]
