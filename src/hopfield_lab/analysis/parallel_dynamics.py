"""Parallel dynamics of binary Hopfield networks: fixed points, 2-cycles and the two-step
Lyapunov function (lecture notes, ch. 2.1; Goles, Fogelman-Soulie and Pellegrin 1985).

Parallel dynamics ``s(t+1) = sgn(J s(t) + h)`` with symmetric ``J`` ends in a fixed point or a
2-cycle ``s(t+1) = s(t-1) != s(t)``, because the two-step function

    E2(t) = -s(t).J s(t-1) - h.(s(t) + s(t-1))

(:func:`~hopfield_lab.analysis.glauber.two_step_energy`) never rises along it and is constant
on a 2-cycle, while the energy ``L(s) = -1/2 s.J s - h.s`` may go up and down there.

* :func:`parallel_outcomes` counts, along a recorded run of
  :meth:`~hopfield_lab.models.binary.BinaryHopfield.run`, how the replicas end and how often
  ``E2`` rises (by the library's energy-rise rule, with ``2 x`` the binary energy's scale since
  ``E2`` sums ``|J_ij|`` twice), changes on a 2-cycle, and how often ``L`` changes there;
* :func:`find_two_cycle` searches small Hebbian networks for an explicit 2-cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hopfield_lab.analysis.energy_rise import energy_rises, rounding_slack
from hopfield_lab.analysis.glauber import two_step_energy
from hopfield_lab.data.synthetic import random_patterns
from hopfield_lab.errors import ConfigError, check_int
from hopfield_lab.models.binary import BinaryHopfield, BinaryRun

__all__ = ["TwoCycle", "find_two_cycle", "parallel_outcomes"]


def parallel_outcomes(model: BinaryHopfield, par: BinaryRun, scale: float) -> dict[str, int]:
    """How the replicas of a parallel run end, and the two-step function checked along it.

    Args:
        model: the network (``J``, ``h``).
        par: its parallel run with ``record_every=1`` (every step recorded).
        scale: the energy's cancellation scale,
            :func:`~hopfield_lab.analysis.glauber.binary_energy_scale` of ``J`` and ``h``.

    Returns:
        Counts over the ``R`` replicas: ``fixed`` (a fixed point, not a 2-cycle), ``cycle2``,
        ``unsettled`` (neither after the run); ``e2_checks`` and ``e2_rises`` (steps of
        ``E2`` checked, and those that rise beyond rounding); ``e2_cycle_changes`` (2-cycling
        replicas whose ``E2`` differs between the last two steps, beyond rounding) and
        ``energy_changes_on_cycles`` (those whose ``L`` does: allowed).

    Raises:
        ConfigError: if ``par`` is not a parallel run.
    """
    if par.dynamics != "parallel":
        raise ConfigError(f"parallel_outcomes needs a parallel run; got {par.dynamics!r}")
    R = len(par.states)
    out = {
        "fixed": int((par.converged & ~par.cycle2).sum()),
        "cycle2": int(par.cycle2.sum()),
        "unsettled": int((par.settled_sweep < 0).sum()),
        **dict.fromkeys(("e2_checks", "e2_rises", "e2_cycle_changes"), 0),
        "energy_changes_on_cycles": 0,
    }
    traj = par.trajectory  # (T, R, N)
    if traj is None or traj.shape[0] < 2:
        return out
    e2 = two_step_energy(model.J, model.h, traj)  # (T-1, R)
    slack2 = rounding_slack(e2, 2 * scale)  # (R,)
    if e2.shape[0] >= 2:
        out["e2_rises"] = int(energy_rises(e2, 2 * scale).sum())
        out["e2_checks"] = (e2.shape[0] - 1) * R
    cyc = par.cycle2
    if cyc.any():
        last = e2[-2:, cyc]  # (2, C): E2 on the last two steps of the cycling replicas
        out["e2_cycle_changes"] = int(((last[-1] - last[0]).abs() > slack2[cyc]).sum())
        E_cyc = par.energies[-2:, cyc]  # (2, C)
        slack = rounding_slack(par.energies, scale)[cyc]
        out["energy_changes_on_cycles"] = int(((E_cyc[1] - E_cyc[0]).abs() > slack).sum())
    return out


@dataclass(frozen=True)
class TwoCycle:
    """A 2-cycle of parallel dynamics found by :func:`find_two_cycle`.

    Attributes:
        attempt: the network tried (0-based). patterns: ``(P, N)`` its ±1 patterns.
        model: its Hebbian network. start: ``(N,)`` the initial state.
        trajectory: ``(T + 1, N)`` states ``s(0), ..., s(T)``; the last two repeat forever.
        two_step: ``(T,)`` ``E2(t)`` for ``t = 1, ..., T``.
    """

    attempt: int
    patterns: Tensor
    model: BinaryHopfield
    start: Tensor
    trajectory: Tensor
    two_step: Tensor


def find_two_cycle(
    n: int,
    generator: torch.Generator,
    *,
    attempts: int = 200,
    replicas: int = 64,
    n_sweeps: int = 50,
) -> TwoCycle | None:
    """Search Hebbian networks of ``n`` spins storing ``P = 2, 3, 4, 2, ...`` random patterns
    (float64) for a random start whose parallel dynamics ends in a 2-cycle.

    Args:
        n: spins (>= 2). generator: draws the patterns and the starts.
        attempts: networks tried (>= 1). Default 200.
        replicas: random starts per network (>= 1). Default 64.
        n_sweeps: parallel steps per start (>= 1). Default 50.

    Returns:
        The first 2-cycle found, or None.
    """
    check_int("n", n, 2)
    check_int("attempts", attempts, 1)
    for attempt in range(attempts):
        xi = random_patterns(2 + attempt % 3, n, generator=generator, dtype=torch.float64)
        model = BinaryHopfield.hebbian(xi)
        S0 = random_patterns(replicas, n, generator=generator, dtype=torch.float64)
        par = model.run(S0, dynamics="parallel", n_sweeps=n_sweeps, record_every=1)
        if not par.cycle2.any() or par.trajectory is None:
            continue
        k = int(par.cycle2.nonzero()[0])
        traj = par.trajectory[: int(par.settled_sweep[k]) + 3, k]  # (T + 1, N)
        e2 = two_step_energy(model.J, model.h, traj[:, None, :])[:, 0]  # (T,)
        return TwoCycle(attempt, xi, model, S0[k], traj, e2)
    return None
