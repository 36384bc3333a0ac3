"""Mean-field theory of the Curie-Weiss model (lecture notes, ch. 2, Sec. 2.2.1).

The Curie-Weiss Hamiltonian ``H(s) = -(J / 2N) sum_{i != j} s_i s_j - h sum_i s_i`` depends on the
state only through the magnetisation ``m = (1/N) sum_i s_i``. In the thermodynamic limit the
intensive free energy of the states with magnetisation ``m`` is the mean-field (Landau) form

    f(m) = -J m^2 / 2 - h m + T [ (1+m)/2 ln((1+m)/2) + (1-m)/2 ln((1-m)/2) ],   T = 1/beta,

(energy minus ``T`` times the binary entropy of the magnetisation shell), with

    f'(m)  = -J m - h + T artanh(m),          f''(m) = -J + T / (1 - m^2).

Its stationary points solve the self-consistency equation (Eq. 2.8)

    m = tanh(beta (J m + h)),

and the equilibrium free energy is ``min_m f(m)`` (Laplace's method on Eq. 2.7). At a solution,
``f(m*) = J m*^2 / 2 - T ln 2cosh(beta (J m* + h))``, the ``n = 1`` case of Theorem 2.3.

For ``h = 0`` and ``J > 0``: one solution ``m = 0`` when ``beta J <= 1``; three solutions
``-m*, 0, m*`` when ``beta J > 1``, with ``m = 0`` a maximum of ``f`` and ``+-m*`` the two
degenerate minima. The transition is at ``T_c = J``, with
``m* ~ sqrt(3 (beta J - 1)) / (beta J)^{3/2}`` just below it (``tanh`` to third order).

Roots are found by bracketing: ``g(m) = m - tanh(beta (J m + h))`` has ``g(-1) <= 0 <= g(1)``
and, when ``beta J > 1``, turning points where ``cosh^2(beta (J m + h)) = beta J``; between
consecutive turning points ``g`` is monotone, so every piece with a sign change holds exactly one
root, found by bisection to full double precision (:func:`bisect`). Every function broadcasts
over arrays of ``beta`` (and ``J``, ``h``); inputs are float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import gammaln, logsumexp, xlogy

from hopfield_lab.errors import ConfigError, shown

__all__ = [
    "MAX_SCALE",
    "CurieWeissSolution",
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
    "solve_curie_weiss",
    "spontaneous_magnetization",
]

ArrayLike = Any  # a float or anything np.asarray turns into float64

# A bracket in [-1, 1] is pinned to adjacent doubles after at most ~1075 halvings (down to the
# smallest subnormal); the guard only protects against a misbehaving function.
_MAX_HALVINGS = 2200


# --- validation --------------------------------------------------------------------------------


def _finite_array(name: str, value: ArrayLike) -> np.ndarray:
    """Return ``value`` as a float64 array, raising ConfigError if it is not all finite reals."""
    if isinstance(value, bool) or (isinstance(value, np.ndarray) and value.dtype == bool):
        raise ConfigError(f"{name} must be a finite real number (or array); got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{name} must be a finite real number (or array); got {value!r}"
        ) from None
    if not np.isfinite(arr).all():
        raise ConfigError(f"{name} must be finite; got {value!r}")
    return arr


def _positive_array(name: str, value: ArrayLike) -> np.ndarray:
    arr = _finite_array(name, value)
    if (arr <= 0).any():
        raise ConfigError(f"{name} must be > 0 (a positive inverse temperature); got {value!r}")
    return arr


# --- bracketed root finding --------------------------------------------------------------------


def bisect(
    fn: Callable[[np.ndarray], np.ndarray],
    lo: ArrayLike,
    hi: ArrayLike,
) -> np.ndarray:
    """Find one root of ``fn`` in every bracket ``[lo, hi]`` by bisection to full precision.

    The loop runs until no midpoint lies strictly inside its bracket any more (the root is
    pinned between adjacent doubles), not for a fixed number of steps; of the two final ends the
    one with the smaller ``|fn|`` is returned. Brackets with ``lo == hi`` are returned as they
    are (used for "no root in this piece" placeholders).

    Args:
        fn: elementwise function, called on whole arrays shaped like ``lo``.
        lo: lower ends, any shape.
        hi: upper ends, same shape; ``fn(lo)`` and ``fn(hi)`` must not share a strict sign.

    Returns:
        The roots, float64, same shape as ``lo``.

    Raises:
        FloatingPointError: if ``fn`` is not finite at a bracket end or inside a bracket, or a
            bracket holds no sign change.
    """
    x_lo: np.ndarray = np.array(lo, dtype=np.float64, copy=True)
    x_hi: np.ndarray = np.array(hi, dtype=np.float64, copy=True)
    f_lo = np.asarray(fn(x_lo), dtype=np.float64)
    f_hi = np.asarray(fn(x_hi), dtype=np.float64)
    open_ = x_lo < x_hi
    if not (np.isfinite(f_lo[open_]).all() and np.isfinite(f_hi[open_]).all()):
        raise FloatingPointError("bisect: the function is not finite at a bracket end")
    if np.any(open_ & (f_lo * f_hi > 0)):
        raise FloatingPointError("bisect: a bracket holds no sign change")
    for _ in range(_MAX_HALVINGS):
        mid = 0.5 * (x_lo + x_hi)
        active = (mid > x_lo) & (mid < x_hi) & (f_lo != 0) & (f_hi != 0)
        if not active.any():
            break
        f_mid = np.asarray(fn(mid), dtype=np.float64)
        if not np.isfinite(f_mid[active]).all():
            raise FloatingPointError("bisect: the function is not finite inside a bracket")
        go_right = active & (np.sign(f_mid) == np.sign(f_lo))
        go_left = active & ~go_right
        x_lo = np.where(go_right, mid, x_lo)
        f_lo = np.where(go_right, f_mid, f_lo)
        x_hi = np.where(go_left, mid, x_hi)
        f_hi = np.where(go_left, f_mid, f_hi)
    else:  # pragma: no cover - unreachable for finite functions
        raise FloatingPointError("bisect: brackets did not shrink to machine precision")
    return np.where(np.abs(f_lo) <= np.abs(f_hi), x_lo, x_hi)


# --- free energy -------------------------------------------------------------------------------


def curie_weiss_free_energy(
    m: ArrayLike, beta: ArrayLike, J: ArrayLike = 1.0, h: ArrayLike = 0.0
) -> np.ndarray:
    """Mean-field free energy per spin ``f(m)`` of the Curie-Weiss model (notes, Sec. 2.2.1).

    ``f(m) = -J m^2/2 - h m + T [(1+m)/2 ln((1+m)/2) + (1-m)/2 ln((1-m)/2)]`` with ``T = 1/beta``
    and ``0 ln 0 = 0`` (so ``f(+-1) = -J/2 -+ h``).

    Args:
        m: magnetisation(s) in ``[-1, 1]``, any shape broadcastable with ``beta``.
        beta: inverse temperature(s), > 0.
        J: coupling. Default 1.
        h: external field. Default 0.

    Returns:
        ``f(m)``, float64, broadcast shape.

    Raises:
        ConfigError: if ``m`` is outside ``[-1, 1]``, ``beta <= 0`` or anything is not finite.
    """
    m = _finite_array("m", m)
    if (np.abs(m) > 1).any():
        raise ConfigError(f"m must lie in [-1, 1]; got {m!r}")
    beta = _positive_array("beta", beta)
    J = _finite_array("J", J)
    h = _finite_array("h", h)
    p, q = (1 + m) / 2, (1 - m) / 2
    neg_entropy = xlogy(p, p) + xlogy(q, q)  # sum p ln p, >= -ln 2
    return -0.5 * J * m**2 - h * m + neg_entropy / beta


def curie_weiss_free_energy_gradient(
    m: ArrayLike, beta: ArrayLike, J: ArrayLike = 1.0, h: ArrayLike = 0.0
) -> np.ndarray:
    """``f'(m) = -J m - h + T artanh(m)``; zero exactly at the solutions of Eq. 2.8.

    Args:
        m: magnetisation(s) in ``(-1, 1)``.
        beta: inverse temperature(s), > 0.
        J: coupling. Default 1.
        h: external field. Default 0.

    Returns:
        ``f'(m)`` (``+-inf`` at ``m = +-1``).
    """
    m = _finite_array("m", m)
    if (np.abs(m) > 1).any():
        raise ConfigError(f"m must lie in [-1, 1]; got {m!r}")
    beta = _positive_array("beta", beta)
    with np.errstate(divide="ignore"):
        return -_finite_array("J", J) * m - _finite_array("h", h) + np.arctanh(m) / beta


def curie_weiss_free_energy_curvature(
    m: ArrayLike, beta: ArrayLike, J: ArrayLike = 1.0
) -> np.ndarray:
    """``f''(m) = -J + T / (1 - m^2)``; a solution is a local minimum iff this is > 0.

    At a solution ``m = tanh(beta (J m + h))`` this is ``T (1 - beta J (1 - m^2)) / (1 - m^2)``,
    so stability is ``beta J (1 - m^2) < 1``: the slope of ``tanh`` at the crossing is below 1.

    Args:
        m: magnetisation(s) in ``[-1, 1]``.
        beta: inverse temperature(s), > 0.
        J: coupling. Default 1.

    Returns:
        ``f''(m)`` (``+inf`` at ``m = +-1``).
    """
    m = _finite_array("m", m)
    if (np.abs(m) > 1).any():
        raise ConfigError(f"m must lie in [-1, 1]; got {m!r}")
    beta = _positive_array("beta", beta)
    with np.errstate(divide="ignore"):
        return -_finite_array("J", J) + 1.0 / (beta * (1.0 - m**2))


# --- solutions ---------------------------------------------------------------------------------


def _residual(m: np.ndarray, beta: np.ndarray, J: np.ndarray, h: np.ndarray) -> np.ndarray:
    return m - np.tanh(beta * (J * m + h))


def curie_weiss_roots(beta: ArrayLike, J: ArrayLike = 1.0, h: ArrayLike = 0.0) -> np.ndarray:
    """All solutions of ``m = tanh(beta (J m + h))`` (Eq. 2.8), in ascending order.

    Args:
        beta: inverse temperature(s), > 0, any shape (broadcast with ``J`` and ``h``).
        J: coupling, any real (``J <= 0`` always gives one root). Default 1.
        h: external field. Default 0.

    Returns:
        Array of shape ``broadcast_shape + (3,)``: the one or three roots, ascending, padded with
        NaN (one root: ``[m, nan, nan]``; a tangent double root is listed once).

    Raises:
        ConfigError: if ``beta <= 0`` or any input is not finite.
    """
    beta = _positive_array("beta", beta)
    J = _finite_array("J", J)
    h = _finite_array("h", h)
    beta, J, h = np.broadcast_arrays(beta, J, h)
    bJ = beta * J
    # turning points of g(m) = m - tanh(beta (J m + h)) when beta J > 1: sech^2 = 1/(beta J)
    multi = bJ > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.arctanh(np.sqrt(np.where(multi, 1.0 - 1.0 / np.where(multi, bJ, 2.0), 0.0)))
        safe_bJ = np.where(multi, bJ, 1.0)
        t_lo = np.clip((-a - beta * h) / safe_bJ, -1.0, 1.0)
        t_hi = np.clip((a - beta * h) / safe_bJ, -1.0, 1.0)
    ones = np.ones_like(beta)
    edges = np.stack([-ones, t_lo, t_hi, ones], axis=-1)  # (..., 4)
    lo, hi = edges[..., :-1], edges[..., 1:]  # (..., 3) monotone pieces
    single = ~multi
    lo = np.where(single[..., None], np.stack([-ones, ones, ones], -1), lo)
    hi = np.where(single[..., None], np.stack([ones, ones, ones], -1), hi)
    b3, J3, h3 = (np.broadcast_to(x[..., None], lo.shape) for x in (beta, J, h))

    def g(m: np.ndarray) -> np.ndarray:
        return _residual(m, b3, J3, h3)

    g_lo, g_hi = g(lo), g(hi)
    has_root = (lo < hi) & (g_lo * g_hi <= 0)
    # a tangent root at a shared turning point shows up in two pieces: keep the first
    dup = np.zeros_like(has_root)
    dup[..., 1:] = has_root[..., 1:] & has_root[..., :-1] & (g_lo[..., 1:] == 0)
    has_root &= ~dup
    lo = np.where(has_root, lo, 0.0)
    hi = np.where(has_root, hi, 0.0)
    roots = np.where(has_root, bisect(g, lo, hi), np.nan)
    return np.sort(roots, axis=-1)  # NaN sorts last


def _equilibrium(roots: np.ndarray, beta: np.ndarray, J: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Pick the root of lowest free energy; ties (h = 0) go to the largest root."""
    valid = ~np.isnan(roots)
    fe = curie_weiss_free_energy(
        np.where(valid, roots, 0.0), beta[..., None], J[..., None], h[..., None]
    )
    f = np.where(valid, fe, np.inf)
    # ties within rounding: prefer the largest root (the positive of +-m* at h = 0)
    best = f.min(axis=-1, keepdims=True)
    tol = 1e-13 * np.maximum(1.0, np.abs(best))
    candidates = np.where(f <= best + tol, np.where(valid, roots, -np.inf), -np.inf)
    return candidates.max(axis=-1)


def equilibrium_magnetization(
    beta: ArrayLike, J: ArrayLike = 1.0, h: ArrayLike = 0.0
) -> np.ndarray:
    """The solution of Eq. 2.8 that minimises ``f(m)`` (the thermodynamic magnetisation).

    At ``h = 0`` below ``T_c`` the two minima ``+-m*`` are degenerate; the positive one is
    returned (the broken-symmetry branch selected by ``h -> 0+``).

    Args:
        beta: inverse temperature(s), > 0.
        J: coupling. Default 1.
        h: external field. Default 0.

    Returns:
        ``m_eq``, broadcast shape of the inputs.
    """
    roots = curie_weiss_roots(beta, J, h)
    b, j, hh = np.broadcast_arrays(
        _positive_array("beta", beta), _finite_array("J", J), _finite_array("h", h)
    )
    return _equilibrium(roots, b, j, hh)


def spontaneous_magnetization(temperature: ArrayLike, J: float = 1.0) -> np.ndarray:
    """``m*(T) >= 0`` at ``h = 0``: the positive root below ``T_c = J``, 0 above (and at) it.

    Args:
        temperature: ``T >= 0``, any shape; ``T = 0`` gives 1 (for ``J > 0``).
        J: coupling. Default 1.

    Returns:
        ``m*(T)``, same shape as ``temperature``.

    Raises:
        ConfigError: if ``T < 0`` or not finite.
    """
    T = _finite_array("temperature", temperature)
    if (T < 0).any():
        raise ConfigError(f"temperature must be >= 0; got {temperature!r}")
    J_arr = _finite_array("J", J)
    cold = T == 0
    beta = 1.0 / np.where(cold, 1.0, T)
    m = np.nanmax(curie_weiss_roots(beta, J_arr, 0.0), axis=-1)  # largest root (>= 1 exists)
    return np.where(cold, np.where(J_arr > 0, 1.0, 0.0), np.maximum(m, 0.0))


def curie_weiss_susceptibility(
    beta: ArrayLike, J: ArrayLike = 1.0, h: ArrayLike = 0.0
) -> np.ndarray:
    """Susceptibility per spin ``chi = dm/dh`` at the equilibrium solution.

    Differentiating Eq. 2.8: ``chi = beta (1 - m^2) / (1 - beta J (1 - m^2))``; for ``h = 0``
    above ``T_c`` this is the Curie-Weiss law ``1 / (T - J)``. It is ``inf`` at ``T = T_c``.

    Args:
        beta: inverse temperature(s), > 0.
        J: coupling. Default 1.
        h: external field. Default 0.

    Returns:
        ``chi``, broadcast shape.
    """
    m = equilibrium_magnetization(beta, J, h)
    b = _positive_array("beta", beta)
    s = 1.0 - m**2
    with np.errstate(divide="ignore"):
        return b * s / (1.0 - b * _finite_array("J", J) * s)


def curie_weiss_critical_temperature(J: float = 1.0) -> float:
    """``T_c = J`` for ``J > 0`` (``beta J = 1``); 0 for ``J <= 0`` (no ordered phase at T > 0).

    Args:
        J: coupling. Default 1.

    Returns:
        The critical temperature.
    """
    J_val = float(_finite_array("J", J))
    return max(J_val, 0.0)


@dataclass(frozen=True)
class CurieWeissSolution:
    """Every stationary point of ``f(m)`` at one ``(beta, J, h)``, with its stability.

    Attributes:
        beta, J, h: the parameters.
        roots: the solutions of Eq. 2.8, ascending (one or three).
        free_energies: ``f(root)`` per root.
        curvatures: ``f''(root)`` per root.
        stable: ``f''(root) > 0`` (local minimum) per root.
        magnetization: the equilibrium root (global minimum; the positive one on a tie).
        free_energy: the equilibrium free energy ``min f``.
        degenerate: two roots share the minimum free energy (``h = 0`` below ``T_c``).
        susceptibility: ``dm/dh`` at the equilibrium root.
        critical_temperature: ``T_c = J`` (0 for ``J <= 0``).
    """

    beta: float
    J: float
    h: float
    roots: tuple[float, ...]
    free_energies: tuple[float, ...]
    curvatures: tuple[float, ...]
    stable: tuple[bool, ...]
    magnetization: float
    free_energy: float
    degenerate: bool
    susceptibility: float
    critical_temperature: float

    @property
    def temperature(self) -> float:
        """``T = 1 / beta``."""
        return 1.0 / self.beta

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (adds the temperature)."""
        return {
            "beta": self.beta,
            "temperature": self.temperature,
            "J": self.J,
            "h": self.h,
            "critical_temperature": self.critical_temperature,
            "roots": [
                {"m": m, "free_energy": f, "curvature": c, "stable": s}
                for m, f, c, s in zip(
                    self.roots, self.free_energies, self.curvatures, self.stable, strict=True
                )
            ],
            "magnetization": self.magnetization,
            "free_energy": self.free_energy,
            "degenerate": self.degenerate,
            "susceptibility": self.susceptibility,
        }


#: Largest scale (``1/beta``, ``beta``, ``|J|``, ``|h|``, ``beta |J|``, ``beta |h|``) at which
#: :func:`solve_curie_weiss` is exact in float64: beyond ``beta J ~ 1e16`` the turning point
#: ``arctanh(sqrt(1 - 1/(beta J)))`` rounds to infinity and roots are lost, and at
#: ``beta ~ 1e-308`` the entropy term ``1/beta`` overflows (checked on a grid of the corners,
#: ``tests/test_bad_input.py``).
MAX_SCALE = 1e12


def _check_scales(beta: float, J: float, h: float) -> None:
    allowed = f"in [{1 / MAX_SCALE:g}, {MAX_SCALE:g}]"
    if not 1 / MAX_SCALE <= beta <= MAX_SCALE:
        raise ConfigError(
            f"beta must be {allowed} (beyond, T = 1/beta or the roots lose float64 "
            f"precision); got {beta!r}"
        )
    for name, value in (("J", J), ("h", h)):
        if abs(value) > MAX_SCALE:
            raise ConfigError(f"|{name}| must be <= {MAX_SCALE:g}; got {value!r}")
        if beta * abs(value) > MAX_SCALE:
            raise ConfigError(
                f"beta * |{name}| must be <= {MAX_SCALE:g} (beyond, tanh saturates in float64 "
                f"and roots are lost); got beta = {beta!r}, {name} = {value!r}"
            )


def solve_curie_weiss(beta: float, J: float = 1.0, h: float = 0.0) -> CurieWeissSolution:
    """Solve the Curie-Weiss model at one ``(beta, J, h)``: roots, free energies, stability.

    Args:
        beta: inverse temperature, in ``[1e-12, 1e12]`` (:data:`MAX_SCALE`).
        J: coupling, ``|J| <= 1e12`` and ``beta |J| <= 1e12``. Default 1.
        h: external field, ``|h| <= 1e12`` and ``beta |h| <= 1e12``. Default 0.

    Returns:
        A :class:`CurieWeissSolution`.

    Raises:
        ConfigError: if a parameter is not a finite real number or outside the ranges above,
            where the float64 numerics hold.
    """
    for name, value in (("beta", beta), ("J", J), ("h", h)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise ConfigError(f"{name} must be a finite real number; got {shown(value)}")
        try:
            finite = math.isfinite(float(value))
        except OverflowError:
            finite = False
        if not finite:
            raise ConfigError(f"{name} must be finite; got {shown(value)}")
    if beta <= 0:
        raise ConfigError(f"beta must be > 0 (a positive inverse temperature); got {beta!r}")
    _check_scales(float(beta), float(J), float(h))
    beta, J, h = float(beta), float(J), float(h)
    roots = curie_weiss_roots(beta, J, h)
    roots = roots[~np.isnan(roots)]
    fe = curie_weiss_free_energy(roots, beta, J, h)
    curv = curie_weiss_free_energy_curvature(roots, beta, J)
    m_eq = float(_equilibrium(roots[None, :], np.array([beta]), np.array([J]), np.array([h]))[0])
    f_min = float(fe.min())
    tol = 1e-13 * max(1.0, abs(f_min))
    chi = float(curie_weiss_susceptibility(beta, J, h))
    return CurieWeissSolution(
        beta=beta,
        J=J,
        h=h,
        roots=tuple(float(r) for r in roots),
        free_energies=tuple(float(f) for f in fe),
        curvatures=tuple(float(c) for c in curv),
        stable=tuple(bool(c > 0) for c in curv),
        magnetization=m_eq,
        free_energy=f_min,
        degenerate=bool((fe <= f_min + tol).sum() > 1),
        susceptibility=chi,
        critical_temperature=curie_weiss_critical_temperature(J),
    )


def finite_size_magnetization_law(
    n_spins: int, beta: float, J: float = 1.0, h: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exact equilibrium law of the magnetisation of ``N`` Curie-Weiss spins (Prop. 2.1, finite N).

    With ``k`` spins down, ``m = (N - 2k)/N``, the energy is
    ``H = -(J/2N)(N^2 m^2 - N) - h N m`` (``J_ii = 0``) and there are ``C(N, k)`` such states, so
    ``P_N(m) = C(N, k) exp(-beta H) / Z_N``, computed in log space. This is what a Glauber chain
    on ``BinaryHopfield.curie_weiss(N, J, h)`` samples at equilibrium; as ``N -> inf``,
    ``-(1/(beta N)) ln P_N(m) -> f(m) - min f`` and ``E|m| -> m*``.

    Args:
        n_spins: ``N >= 1``.
        beta: inverse temperature, > 0.
        J: coupling. Default 1.
        h: external field. Default 0.

    Returns:
        ``(m, p)``: the ``N + 1`` magnetisations (descending from 1 to -1) and their
        probabilities (summing to 1).

    Raises:
        ConfigError: for ``N < 1``, ``beta <= 0`` or non-finite parameters.
    """
    if isinstance(n_spins, bool) or not isinstance(n_spins, (int, np.integer)) or n_spins < 1:
        raise ConfigError(f"n_spins must be an integer >= 1; got {n_spins!r}")
    b = float(_positive_array("beta", beta))
    J_val = float(_finite_array("J", J))
    h_val = float(_finite_array("h", h))
    N = int(n_spins)
    k = np.arange(N + 1, dtype=np.float64)
    m = (N - 2.0 * k) / N
    log_count = gammaln(N + 1.0) - gammaln(k + 1.0) - gammaln(N - k + 1.0)
    log_w = log_count + b * (0.5 * J_val / N * (N**2 * m**2 - N) + h_val * N * m)
    return m, np.exp(log_w - logsumexp(log_w))


def finite_size_mean_abs_magnetization(
    n_spins: int, beta: float, J: float = 1.0, h: float = 0.0
) -> float:
    """Exact ``E_N |m| = sum_m P_N(m) |m|`` of ``N`` Curie-Weiss spins at equilibrium, from
    :func:`finite_size_magnetization_law`: of order ``N^{-1/2}`` above ``T_c = J`` (at
    ``h = 0``), tending to the mean-field ``|m*|`` as ``N -> inf``.

    Args:
        n_spins: ``N >= 1``. beta: inverse temperature, > 0. J: coupling. Default 1.
        h: external field. Default 0.

    Returns:
        ``E_N |m|`` in ``[0, 1]``.

    Raises:
        ConfigError: as :func:`finite_size_magnetization_law`.
    """
    m, p = finite_size_magnetization_law(n_spins, beta, J, h)
    return float((p * np.abs(m)).sum())
