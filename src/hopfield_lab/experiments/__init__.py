"""Paper reproductions: one file per table or figure, registered by importing this package.

One subpackage per paper; every subpackage (and every module in it) is imported
automatically, so adding an experiment means adding a file. The library (core, models,
solvers, data, runs) never imports this package; the CLI does.
"""

from hopfield_lab._discovery import import_submodules
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
    "get_experiment",
    "register",
    "run_experiment",
]

PAPERS = import_submodules(__name__, skip=("base",))
