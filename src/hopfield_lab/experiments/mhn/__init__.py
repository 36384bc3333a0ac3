"""Experiments of the ODE paper (Bogakovskaya, Fanaskov, Oseledets, "Dynamics of modern Hopfield
networks"), part 1: accuracy over activation x T x dt x lr (Tables 4-8) and the rectifier
dynamics (Figs. 4, 7, 8, 9). The trained models are saved in each run directory
(``models/<name>.pt``, :func:`hopfield_lab.models.load_trained`) for the geometry and adversarial
analyses.

Every module in this package is imported (and so registered) automatically.
"""

from hopfield_lab._discovery import import_submodules

__all__ = sorted(import_submodules(__name__))
