"""Where a modern Hopfield retrieval ends, and the rounding scale of its energy (notes ch. 3).

At a fixed point ``xi*`` of ``xi <- X^T softmax(beta X xi)`` (Eq. 3.5) the softmax ``p`` says
what the state is made of. Its *effective number of patterns*
``n_eff = exp(H(p)) = exp(-sum_i p_i log p_i)`` is 1 for a single pattern and ``P`` for the
uniform average, and sorts end states into three kinds (Figs. 3.1-3.2 of the notes):

* global average, ``n_eff >= global_fraction * P`` (small ``beta``: every input gives the same
  output; for ``beta m_max^2 < 1`` Prop. 3.3 makes the update a contraction);
* single pattern, ``n_eff < single_threshold`` (large ``beta``: a perturbed pattern returns to
  itself);
* metastable mixture of several patterns, in between.

:func:`count_distinct` counts distinct end states, merging those closer than a relative
tolerance. :func:`sphere_check` tests Prop. 3.4 and Lemma 3.3.2 on states drawn on the
spheres ``S_i = {xi : |xi - x_i| <= 1 / (beta P M)}`` (Def. 3.3.3).
:func:`modern_energy_scale` is the magnitude of the cancelling terms of the energy
``E = -lse(beta, X xi) + |xi|^2 / 2 + beta^-1 log P + M^2 / 2`` (Eq. 3.4), the ``scale`` that
:func:`~hopfield_lab.analysis.energy_rises` needs to tell a rise from rounding: at ``beta =
1e-4`` the constant ``log P / beta`` is about ``3e4`` while ``E`` is a few units, so rounding
alone moves ``E`` by about ``1e-11``. :func:`retrieval_scores` and :func:`descent_summary`
measure a batch of retrievals: how many end at their stored pattern, and whether the energy
obeyed Prop. 3.2 and Lemmas 3.2.1-3.2.2 along the way.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from hopfield_lab.analysis.energy_rise import energy_rises, rise_over_slack
from hopfield_lab.errors import ConfigError, check_range
from hopfield_lab.models.modern import ModernHopfield

__all__ = [
    "END_STATE_KINDS",
    "classify_end_states",
    "count_distinct",
    "descent_summary",
    "effective_patterns",
    "modern_energy_scale",
    "retrieval_scores",
    "sphere_check",
]

#: Names of the codes returned by :func:`classify_end_states`.
END_STATE_KINDS = ("global average", "metastable mixture", "single pattern")


def effective_patterns(p: Tensor) -> Tensor:
    """``n_eff = exp(-sum_i p_i log p_i)`` of probability rows ``(B, P) -> (B,)``, in ``[1, P]``."""
    return torch.exp(-(p * torch.log(p.clamp_min(1e-300))).sum(-1))


def classify_end_states(
    n_eff: Tensor, n_patterns: int, single_threshold: float = 1.5, global_fraction: float = 0.5
) -> Tensor:
    """Kind of each end state by its effective number of patterns: ``(B,) -> (B,)`` long.

    Args:
        n_eff: ``(B,)`` effective numbers of patterns (:func:`effective_patterns`).
        n_patterns: ``P``.
        single_threshold: ``n_eff`` below which a state is a single pattern (> 1). Default 1.5.
        global_fraction: ``n_eff >= global_fraction * P`` is the global average, in
            ``(0, 1]``. Default 0.5.

    Returns:
        0 = global average, 1 = metastable mixture, 2 = single pattern
        (:data:`END_STATE_KINDS`); a state meeting both thresholds (``P`` small) is single.

    Raises:
        ConfigError: for a threshold out of range.
    """
    check_range("single_threshold", single_threshold, 1.0, low_inclusive=False)
    check_range("global_fraction", global_fraction, 0.0, 1.0, low_inclusive=False)
    out = torch.ones_like(n_eff, dtype=torch.long)
    out[n_eff >= global_fraction * n_patterns] = 0
    out[n_eff < single_threshold] = 2
    return out


def count_distinct(x: Tensor, rtol: float = 1e-3) -> int:
    """Number of distinct rows of ``x`` ``(B, N)``, greedily merging a row into the first kept
    row ``r`` with ``|row - r| <= rtol |row|``."""
    reps: list[Tensor] = []
    for row in x:
        scale = float(row.norm()) + 1e-12
        if not any(float((row - r).norm()) <= rtol * scale for r in reps):
            reps.append(row)
    return len(reps)


def modern_energy_scale(model: ModernHopfield, x0: Tensor, energies: Tensor) -> Tensor:
    """Magnitude of the cancelling terms of the modern energy along trajectories: ``(B,)``.

    ``log P / beta + M^2 + max_k |E_k| + max_b |xi_0^b|^2 / 2 + 1``: bounds the size of the
    terms of Eq. 3.4 (``lse``, ``|xi|^2 / 2``, ``log P / beta``, ``M^2 / 2``) on trajectories
    started at ``x0`` (after one update ``xi`` is in the patterns' convex hull, so ``|xi| <=
    M``; ``|lse| <= |E| + |xi|^2 / 2 + log P / beta + M^2 / 2``); the 1 is an absolute floor.

    Args:
        model: the network (``P``, ``beta``, ``M``).
        x0: ``(B, N)`` starting states.
        energies: ``(T+1, B)`` energies along the trajectories.

    Returns:
        ``(B,)`` scale in the dtype of ``energies``, for ``energy_rises(energies, scale)``.

    Raises:
        ConfigError: if ``energies`` is not ``(T+1, B)`` with ``B = len(x0)``.
    """
    if energies.dim() != 2 or energies.shape[1] != x0.shape[0]:
        raise ConfigError(
            f"energies must have shape (T+1, {x0.shape[0]}); got {tuple(energies.shape)}"
        )
    constant = math.log(model.n_patterns) / model.beta + float(model.max_norm) ** 2
    start = 0.5 * float(x0.norm(dim=1).max()) ** 2
    return constant + energies.abs().amax(0) + start + 1.0


def sphere_check(
    model: ModernHopfield, n_directions: int, generator: torch.Generator | None = None
) -> dict[str, float]:
    """Prop. 3.4 and Lemma 3.3.2 on states drawn uniformly on the surface of every sphere.

    For each pattern ``x_i`` and ``n_directions`` random unit vectors ``u``, the state
    ``xi = x_i + r u`` with ``r = 1 / (beta P M)`` (Def. 3.3.3). Prop. 3.4 (when ``beta``
    satisfies its condition): one update maps ``xi`` into ``S_i``, and so does the fixed point
    reached from it; Lemma 3.3.2: ``|f(xi) - x_i| <= 2 eps M`` with ``eps = (P - 1)
    exp(-beta c_i(xi))`` (:meth:`~hopfield_lab.models.ModernHopfield.one_step_error_bound`).

    Args:
        model: the network (patterns ``(P, N)``, ``beta``).
        n_directions: random directions per pattern (>= 1).
        generator: draws the directions (in the patterns' dtype, on the CPU).

    Returns:
        ``radius``; the fractions ``frac_update_in_sphere``, ``frac_fixed_point_in_sphere``
        (Picard to a relative residual of ``1e-12``, at most 100 steps) and
        ``frac_within_lemma_bound`` (to a relative ``1e-9``); the largest
        ``max_update_distance_over_radius`` and ``max_distance_over_lemma_bound``.
    """
    X, r = model.patterns, model.sphere_radius()  # (P, N)
    u = torch.randn(n_directions, *X.shape, generator=generator, dtype=X.dtype)  # (D, P, N)
    q = (X.unsqueeze(0) + r * u / u.norm(dim=-1, keepdim=True)).reshape(-1, X.shape[1])
    idx = torch.arange(X.shape[0]).repeat(n_directions)  # (D P,)
    dist1 = (model.update(q) - X[idx]).norm(dim=1)
    bound = model.one_step_error_bound(q, idx)
    dist_fp = (model.retrieve(q, tol=1e-12, max_iter=100).x - X[idx]).norm(dim=1)
    return {
        "radius": r,
        "frac_update_in_sphere": float((dist1 <= r).double().mean()),
        "frac_fixed_point_in_sphere": float((dist_fp <= r).double().mean()),
        "max_update_distance_over_radius": float(dist1.max() / r),
        "max_distance_over_lemma_bound": float((dist1 / bound.clamp_min(1e-300)).max()),
        "frac_within_lemma_bound": float((dist1 <= bound * (1 + 1e-9)).double().mean()),
    }


def retrieval_scores(
    model: ModernHopfield, fixed: Tensor, idx: Tensor, exact_threshold: float
) -> dict[str, float]:
    """Fractions of retrievals that end at their stored pattern.

    Args:
        model: the network with patterns ``X`` ``(P, N)``.
        fixed: ``(Q, N)`` end states. idx: ``(Q,)`` index of each query's stored pattern.
        exact_threshold: relative error ``|xi* - x| / |x|`` below which a retrieval is exact.

    Returns:
        ``accuracy`` (the nearest stored pattern is the original) and ``exact`` (in addition
        the relative error is below ``exact_threshold``).
    """
    target = model.patterns[idx]  # (Q, N)
    err = (fixed - target).norm(dim=1) / target.norm(dim=1)
    hit = model.nearest(fixed) == idx
    return {
        "accuracy": float(hit.double().mean()),
        "exact": float((hit & (err < exact_threshold)).double().mean()),
    }


def descent_summary(model: ModernHopfield, x0: Tensor, energies: Tensor) -> dict[str, float]:
    """The energy's theorems along trajectories started at ``x0`` (notes ch. 3).

    Prop. 3.2: ``E`` never rises (:func:`~hopfield_lab.analysis.energy_rises` with
    :func:`modern_energy_scale`); Lemma 3.2.1: ``E >= 0``; Lemma 3.2.2 (ii): after one update
    (in the patterns' convex hull) ``E <= beta^-1 ln P + M^2 / 2``.

    Args:
        model: the network. x0: ``(B, N)`` starting states.
        energies: ``(T+1, B)`` energies along the trajectories (``T >= 1``).

    Returns:
        ``energy_increases`` (trajectories with a rise), ``max_rise_over_slack``,
        ``min_energy`` and ``max_energy_after_one_step_over_bound`` (the largest ``E`` after one
        update over Lemma 3.2.2's bound).
    """
    scale = modern_energy_scale(model, x0, energies)  # (B,)
    bound = math.log(model.n_patterns) / model.beta + 0.5 * float(model.max_norm) ** 2
    return {
        "energy_increases": int(energy_rises(energies, scale).any(0).sum()),
        "max_rise_over_slack": float(rise_over_slack(energies, scale).max()),
        "min_energy": float(energies.min()),
        "max_energy_after_one_step_over_bound": float(energies[1].double().max() / bound),
    }
