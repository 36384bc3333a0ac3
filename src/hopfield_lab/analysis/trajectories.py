"""Finite-step trajectories and the energy along them (finite-step paper, Secs. 3 and 5.2).

The paper evaluates a network as ``K`` explicit steps ``v_{k+1} = (1 - a) v_k + a T(v_k)``
(Eq. 4) and takes monotone energy descent ``E(v_{k+1}) <= E(v_k)`` (Eq. 5) as the stability
criterion. Here:

* :func:`rollout` runs exactly ``steps`` updates from ``x0`` (no stopping, unlike the solvers,
  so every sample has ``steps + 1`` states; differentiable);
* :func:`energy_along` evaluates ``E(v_k)`` at every state;
* :func:`energy_bands` gives the mean, standard deviation and 10/50/90 % quantiles across
  samples at each step (the bands of Fig. 1 a, b);
* :func:`energy_increase_rate` and :func:`is_monotone` count violations of Eq. 5 beyond a
  rounding slack.

Shapes: states ``(B, N)``, trajectories ``(T+1, B, N)``, energies ``(T+1, B)``. A
``SolverResult`` recorded with ``record_trajectory`` (and ``energy``) is accepted wherever a
trajectory (energies) tensor is; note that solvers freeze converged samples, so their later
rows repeat the last state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import torch
from torch import Tensor

from hopfield_lab.analysis._common import (
    as_series,
    as_states,
    as_trajectory,
    model_method,
)
from hopfield_lab.analysis.energy_rise import energy_rises
from hopfield_lab.analysis.jacobian_stats import quantiles
from hopfield_lab.errors import ConfigError, check_int

__all__ = [
    "EnergyIncreaseRate",
    "energy_along",
    "energy_bands",
    "energy_increase_rate",
    "is_monotone",
    "rollout",
]


def rollout(update: Callable[[Tensor], Tensor], x0: Tensor, steps: int) -> Tensor:
    """Iterate a map exactly ``steps`` times: ``v_{k+1} = update(v_k)`` (Eq. 2, or Eq. 4).

    No stopping and no divergence handling: a sample that blows up yields Inf/NaN rows, which
    the energy diagnostics count as violations. The graph is kept, so the result is
    differentiable with respect to ``x0`` and the map's parameters (backprop through the
    unrolled steps); wrap the call in ``torch.no_grad()`` for pure diagnostics.

    Args:
        update: a map ``(B, N) -> (B, N)``, e.g. ``model.update`` (a model with an ``update``
            method may be passed directly).
        x0: ``(B, N)`` initial states ``v_0``.
        steps: number of updates ``K >= 1``.

    Returns:
        ``(steps + 1, B, N)`` trajectory ``v_0, ..., v_K`` (row 0 is ``x0`` itself).

    Raises:
        ConfigError: for ``steps < 1``, a malformed ``x0`` or an update of the wrong shape.
        CapabilityError: a model without an ``update`` (or an unbound input-driven model).
    """
    fn = model_method(update, "update", "update")
    check_int("steps", steps, 1)
    x = as_states(x0, "x0")
    states = [x]
    for k in range(steps):
        x = fn(x)
        if not isinstance(x, Tensor) or x.shape != x0.shape:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ConfigError(
                f"update must map {tuple(x0.shape)} states to the same shape; got {got} at step {k}"
            )
        states.append(x)
    return torch.stack(states)  # (T+1, B, N)


def energy_along(energy: Callable[[Tensor], Tensor], traj: Tensor) -> Tensor:
    """Energy ``E(v_k)`` at every state of a trajectory (the curves of Fig. 1 a, b; Eq. 3).

    All ``(T+1) B`` states go through ``energy`` in one batched call (time-major, so a bound
    model reads them as stacked copies of its batch, see :class:`~hopfield_lab.core.BoundModel`).

    Args:
        energy: a function ``(B, N) -> (B,)``, e.g. ``model.energy`` (a model with an
            ``energy`` method may be passed directly).
        traj: ``(T+1, B, N)`` trajectory (or a ``SolverResult`` with a trajectory).

    Returns:
        ``(T+1, B)`` energies (differentiable when ``traj`` is).

    Raises:
        ConfigError: for a malformed trajectory or an energy of the wrong shape.
        CapabilityError: a model without an ``energy`` (or an unbound input-driven model).
    """
    fn = model_method(energy, "energy", "energy")
    traj = as_trajectory(traj, min_len=1)
    t1, b, n = traj.shape
    e = fn(traj.reshape(t1 * b, n))  # ((T+1) B,)
    if not isinstance(e, Tensor) or e.shape != (t1 * b,):
        got = tuple(e.shape) if isinstance(e, Tensor) else type(e).__name__
        raise ConfigError(f"energy must map (B, N) states to (B,) energies; got {got}")
    return e.reshape(t1, b)  # (T+1, B)


def energy_bands(energies: Tensor) -> dict[str, Tensor]:
    """Per-step statistics of the energy across samples (the bands of Fig. 1 a, b).

    Args:
        energies: ``(T+1, B)`` energies (or a ``SolverResult`` with energies).

    Returns:
        A dict of ``(T+1,)`` tensors: ``mean``; ``std`` (sample standard deviation across the
        ``B`` samples, Bessel-corrected; 0 when ``B = 1``); ``q10``, ``median`` and ``q90``
        (linear-interpolation quantiles; non-finite energies sort to the top).

    Raises:
        ConfigError: for a malformed input.
    """
    e = as_series(energies, "energies", "energies", 2)
    if e.shape[1] == 0:
        raise ConfigError("energies must hold at least one sample (B >= 1)")
    std = e.std(dim=1) if e.shape[1] > 1 else torch.zeros_like(e[:, 0])
    q = quantiles(e, (0.1, 0.5, 0.9), dim=1)  # (3, T+1)
    return {"mean": e.mean(dim=1), "std": std, "q10": q[0], "median": q[1], "q90": q[2]}


class EnergyIncreaseRate(TypedDict):
    """Result of :func:`energy_increase_rate`.

    Keys:
        rate: fraction of all (step, sample) pairs where the energy rises (Eq. 5 fails).
        per_step: ``(T,)`` fraction of samples whose energy rises at step ``k -> k+1``.
        any: fraction of samples (trajectories) with at least one rise.
        mask: ``(T, B)`` bool, True where ``E(v_{k+1}) > E(v_k) + slack``.
        max_rise: ``(B,)`` largest ``E(v_{k+1}) - E(v_k)`` of each sample (negative when the
            energy strictly decreases throughout).
    """

    rate: float
    per_step: Tensor
    any: float
    mask: Tensor
    max_rise: Tensor


def _rises(
    energies: Any, rtol: float | None, atol: float, scale: Tensor | float | None = None
) -> tuple[Tensor, Tensor]:
    """``(mask (T, B), dE (T, B))``: the rises of :func:`~hopfield_lab.analysis.energy_rises`."""
    e = as_series(energies, "energies", "energies", 2).detach()
    mask = energy_rises(e, scale, rtol, atol)
    return mask, e[1:] - e[:-1]


def energy_increase_rate(
    energies: Tensor,
    rtol: float | None = None,
    atol: float = 0.0,
    *,
    scale: Tensor | float | None = None,
) -> EnergyIncreaseRate:
    """How often finite-step monotonicity ``E(v_{k+1}) <= E(v_k)`` (Eq. 5) fails.

    A step counts as a rise by the library's one rule (:mod:`hopfield_lab.analysis.energy_rise`):
    ``E(v_{k+1}) - E(v_k) > rtol * scale + atol``, ``scale`` the magnitude of the energy's
    cancelling terms when the caller knows it, else ``max_j |E(v_j)|`` over the sample's own
    trajectory. Non-finite steps (diverged samples) count as rises. Energies are detached.

    Args:
        energies: ``(T+1, B)`` energies, ``T >= 1`` (or a ``SolverResult`` with energies).
        rtol: relative rounding slack (> 0); default ``64 eps`` with a ``scale``, else
            ``sqrt(eps)`` of the dtype (about ``1.5e-8`` in float64, ``3.5e-4`` in float32).
        atol: absolute slack (>= 0). Default 0.
        scale: magnitude of the cancelling terms, a number or ``(B,)``. Default None.

    Returns:
        An :class:`EnergyIncreaseRate` dict: ``rate``, ``per_step`` ``(T,)``, ``any``,
        ``mask`` ``(T, B)``, ``max_rise`` ``(B,)``.

    Raises:
        ConfigError: for fewer than 2 steps or a bad tolerance.
    """
    mask, d = _rises(energies, rtol, atol, scale)
    frac = mask.to(d.dtype)  # (T, B)
    return EnergyIncreaseRate(
        rate=float(frac.mean()),
        per_step=frac.mean(dim=1),  # (T,)
        any=float(mask.any(dim=0).to(d.dtype).mean()),
        mask=mask,
        max_rise=d.amax(dim=0),  # (B,)
    )


def is_monotone(
    energies: Tensor,
    rtol: float | None = None,
    atol: float = 0.0,
    *,
    scale: Tensor | float | None = None,
) -> Tensor:
    """Per sample, whether the energy never rises along the trajectory (Eq. 5).

    Args:
        energies: ``(T+1, B)`` energies, ``T >= 1``.
        rtol, atol, scale: rounding slack, as in :func:`energy_increase_rate`.

    Returns:
        ``(B,)`` bool.
    """
    mask, _ = _rises(energies, rtol, atol, scale)
    return ~mask.any(dim=0)
