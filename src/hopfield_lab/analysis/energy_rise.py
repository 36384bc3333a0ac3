"""One rule for "the energy rose": a step counts as a rise only beyond the rounding of ``E``.

Every descent theorem the experiments check (Lemma 2.1.1 for sequential binary dynamics, Prop.
3.2 for the modern Hopfield CCCP step, Eq. 5 of the finite-step paper, Theorem 2 of the DEQ
paper) says ``E(x_{k+1}) <= E(x_k)``. In floating point the computed energy carries a rounding
error, so the check needs a slack, and the slack must follow the size of what is *rounded*, not
the size of the result: ``E`` is a sum of terms that cancel (``-1/2 s.J s - h.s``;
``-lse(beta X xi)/beta + |xi|^2/2``), and ``|E|`` can be far smaller than its terms (or cross
0). The rounding error of such a sum is a few units in the last place (ulps) of the sum of the
terms' magnitudes. Hence the rule

    rise at step k  <=>  E_{k+1} - E_k > rtol * scale + atol      (NaN / Inf count as rises),

with ``scale`` the magnitude of ``E``'s largest cancelling terms, per sample (for example
:func:`~hopfield_lab.analysis.glauber.binary_energy_scale` for ``-1/2 s.J s - h.s``) and
``rtol = 64 eps`` then. A caller who cannot name the terms passes no ``scale``: the slack is
then ``sqrt(eps) * max_k |E_k|`` per sample, looser by about eight orders of magnitude to make
up for the unknown cancellation.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_positive, check_range

__all__ = ["ROUNDING_ULPS", "energy_rises", "rise_over_slack", "rounding_slack"]

#: Ulps of the cancelling terms' magnitude allowed as rounding when a ``scale`` is given.
ROUNDING_ULPS = 64


def rounding_slack(
    energies: Tensor,
    scale: Tensor | float | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
) -> Tensor:
    """Per-sample slack ``rtol * scale + atol`` below which an energy change is rounding.

    Args:
        energies: ``(T+1, B)`` energies along trajectories.
        scale: magnitude of ``E``'s largest cancelling terms, a number or ``(B,)``; default
            ``max_k |E_k|`` per sample (non-finite values ignored).
        rtol: relative slack (> 0); default ``64 eps`` of the dtype with a ``scale``,
            ``sqrt(eps)`` without.
        atol: absolute slack (>= 0). Default 0.

    Returns:
        ``(B,)`` slack, in the dtype of ``energies``.

    Raises:
        ConfigError: for a bad ``rtol``, ``atol`` or ``scale``.
    """
    eps = torch.finfo(energies.dtype).eps
    check_range("atol", atol, 0.0)
    if scale is None:
        tol = eps**0.5 if rtol is None else float(check_positive("rtol", rtol))
        size = torch.nan_to_num(energies.abs(), nan=0.0, posinf=0.0).amax(dim=0)  # (B,)
    else:
        tol = ROUNDING_ULPS * eps if rtol is None else float(check_positive("rtol", rtol))
        size = torch.as_tensor(scale, dtype=energies.dtype, device=energies.device)
        if size.dim() > 1 or (size.dim() == 1 and size.shape[0] != energies.shape[1]):
            raise ConfigError(
                f"scale must be a number or have shape ({energies.shape[1]},); got "
                f"{tuple(size.shape)}"
            )
        if not bool(torch.isfinite(size).all()) or bool((size < 0).any()):
            raise ConfigError("scale must be finite and >= 0")
        size = size.expand(energies.shape[1])
    return tol * size + atol


def _steps(energies: Tensor) -> Tensor:
    if not isinstance(energies, Tensor) or energies.dim() != 2:
        raise ConfigError("energies must be a (T+1, B) tensor")
    if energies.shape[0] < 2:
        raise ConfigError(f"energies must hold at least 2 steps; got shape {tuple(energies.shape)}")
    e = energies.detach()
    return e[1:] - e[:-1]  # (T, B)


def rise_over_slack(
    energies: Tensor,
    scale: Tensor | float | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
) -> Tensor:
    """Largest energy step of each trajectory in units of the rounding slack: ``(B,)``.

    ``max_k (E_{k+1} - E_k) / rounding_slack``: above 1 where :func:`energy_rises` finds a
    rise (to the rounding of the division), at most 0 where the energy never increases; how
    far a check of a descent theorem is from failing, or by how much it fails.

    Args:
        energies: ``(T+1, B)`` energies along trajectories, ``T >= 1``.
        scale, rtol, atol: as in :func:`rounding_slack`.

    Returns:
        ``(B,)`` in the dtype of ``energies`` (NaN where a step is NaN, inf where the slack is 0
        and the energy rises).

    Raises:
        ConfigError: for fewer than 2 rows or a bad tolerance.
    """
    d = _steps(energies)
    return (d / rounding_slack(energies.detach(), scale, rtol, atol)).amax(dim=0)


def energy_rises(
    energies: Tensor,
    scale: Tensor | float | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
) -> Tensor:
    """Where the energy rises beyond rounding: ``E_{k+1} - E_k > rounding_slack``.

    Args:
        energies: ``(T+1, B)`` energies along trajectories, ``T >= 1``.
        scale, rtol, atol: as in :func:`rounding_slack`.

    Returns:
        ``(T, B)`` bool; True at steps that rise, and at non-finite steps.

    Raises:
        ConfigError: for fewer than 2 rows or a bad tolerance.
    """
    d = _steps(energies)
    slack = rounding_slack(energies.detach(), scale, rtol, atol)  # (B,)
    return ~(d <= slack)  # NaN / Inf steps count as rises
