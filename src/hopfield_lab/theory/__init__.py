"""Closed forms and mean-field equations (lecture notes, ch. 2): Curie-Weiss and Hopfield.

* :mod:`~hopfield_lab.theory.curie_weiss`: ``m = tanh(beta (J m + h))``, its free energy,
  stability, the transition at ``beta J = 1`` and the susceptibility (Sec. 2.2.1).
* :mod:`~hopfield_lab.theory.hopfield_mixtures`: the low-load free energy of the Hopfield model
  (Theorem 2.3), symmetric mixture states, their Hessian and stability thresholds (Sec. 2.2.2).
* :mod:`~hopfield_lab.theory.idp`: IDP networks' equilibria and thresholds, and the saliency map
  ``Z' = kappa (1 - 1/Z)`` of two-timescale sequential retrieval (IDP papers).
* :mod:`~hopfield_lab.theory.ags`: the replica-symmetric equations at finite load (Amit,
  Gutfreund and Sompolinsky), the retrieval line ``T_M(alpha)`` and the capacity 0.138 (ch. 2).

Everything is float64 numpy; nothing here imports models, experiments or the CLI.
"""

from hopfield_lab.theory import idp
from hopfield_lab.theory.ags import ags_capacity, ags_overlap, ags_retrieval_line
from hopfield_lab.theory.curie_weiss import (
    CurieWeissSolution,
    bisect,
    curie_weiss_critical_temperature,
    curie_weiss_free_energy,
    curie_weiss_free_energy_curvature,
    curie_weiss_free_energy_gradient,
    curie_weiss_roots,
    curie_weiss_susceptibility,
    equilibrium_magnetization,
    finite_size_magnetization_law,
    finite_size_mean_abs_magnetization,
    solve_curie_weiss,
    spontaneous_magnetization,
)
from hopfield_lab.theory.hopfield_mixtures import (
    MixtureState,
    MixtureThreshold,
    hopfield_free_energy,
    hopfield_gradient,
    hopfield_hessian,
    mixture_critical_temperature,
    mixture_eigenvalues,
    mixture_free_energy,
    mixture_line_barrier,
    mixture_overlap,
    sign_patterns,
    solve_mixture,
    sum_distribution,
)

__all__ = [
    "CurieWeissSolution",
    "MixtureState",
    "MixtureThreshold",
    "ags_capacity",
    "ags_overlap",
    "ags_retrieval_line",
    "bisect",
    "curie_weiss_critical_temperature",
    "curie_weiss_free_energy",
    "curie_weiss_free_energy_curvature",
    "curie_weiss_free_energy_gradient",
    "curie_weiss_roots",
    "curie_weiss_susceptibility",
    "equilibrium_magnetization",
    "finite_size_magnetization_law",
    "finite_size_mean_abs_magnetization",
    "hopfield_free_energy",
    "hopfield_gradient",
    "hopfield_hessian",
    "idp",
    "mixture_critical_temperature",
    "mixture_eigenvalues",
    "mixture_free_energy",
    "mixture_line_barrier",
    "mixture_overlap",
    "sign_patterns",
    "solve_curie_weiss",
    "solve_mixture",
    "spontaneous_magnetization",
    "sum_distribution",
]
