"""Closed forms of input-driven-plasticity (IDP) Hopfield networks and their saliency map.

Sources: Betteti, Baggio, Bullo, Zampieri, Sci. Adv. 11 eadu6991 (2025) (Model 1, the IDP
network) and Betteti, Baggio, Zampieri, arXiv 2603.03201 (2026) (Model 2, two-timescale
sequential retrieval). The paper's full text was not available: the statements below follow
``shared/papers/sequential-retrieval-idp-spec.md``, whose items are tagged [A] (the papers'
summaries), [D] (derived by hand) or [P] (our reconstruction); the tag is given with each.

**Model 1** (spec Sec. 1), ``x' = -x + W(alpha) psi(x)`` with ``W = (1/N) sum_mu alpha_mu xi_mu
xi_mu^T`` and orthogonal ``+-1`` memories. For odd ``psi`` [D]:

* ``x* = c xi_mu`` is an equilibrium iff ``c = alpha_mu psi(c)``; a nonzero root exists iff
  ``alpha_mu psi'(0) > 1`` (existence threshold ``1 / psi'(0)``; 1 for ``tanh`` with
  ``gamma = 1`` [A]). Hard Tanh: ``c = alpha_mu`` for ``alpha_mu >= 1``;
* the Jacobian ``-I + psi'(c) W`` has eigenvalue ``-1 + psi'(c) alpha_nu`` along ``xi_nu`` and
  ``-1`` on the orthogonal complement, so ``x*`` is stable iff ``psi'(c) max_nu alpha_nu < 1``
  (:func:`stability_threshold` is the largest competing saliency allowed, ``1 / psi'(c)``);
* well depth ``E(c xi_mu) = N (-alpha_mu psi(c)^2 / 2 + G(c))`` with ``G(z) = z psi(z) -
  int_0^z psi``; Hard Tanh: ``N (1 - alpha_mu) / 2`` (a larger saliency, a deeper well [A]);
* the confusion state ``x = 0`` is globally asymptotically stable when ``max_mu |alpha_mu|
  psi'(0) < 1`` (the map ``x -> W psi(x)`` is then a contraction) [A, D];
* with noise ``sigma dB`` and ``N -> inf`` [D]: the drive ``W psi(x) = sum_nu alpha_nu m_nu
  xi_nu`` depends on ``x`` only through the overlaps, so near a retrieved memory each
  ``x_i = c xi_mu,i + OU(rate 1)`` with stationary spread ``s = sigma / sqrt(2)``, and
  ``c = alpha_mu E[psi(c + s Z)]``, ``m_mu = E[psi(c + s Z)]`` (:func:`noisy_well`); the
  classic network is the case ``alpha = 1``.

**Model 2** (spec Sec. 2-3). With the fast dynamics settled (``eps -> 0``), the saliency with
which memory ``t`` is entered obeys the map [A]

    Z_{t+1} = f(Z_t) = kappa (1 - 1 / Z_t)     (a leftover saliency a0: kappa + (a0 - kappa) / Z)

* fixed points ``Z_+- = (kappa +- sqrt(kappa^2 - 4 kappa)) / 2``, real iff ``kappa >= 4``
  (``kappa_c = 4`` [A]); ``Z_+ Z_- = kappa``, ``Z_+ + Z_- = kappa`` (T1);
* ``f'(Z) = kappa / Z^2``: ``f'(Z_+) = Z_- / Z_+ < 1`` (attracting), ``f'(Z_-) = Z_+ / Z_- > 1``
  (repelling); at ``kappa = 4``, ``f'(2) = 1`` and ``Z_t - 2 ~ 2 / t`` (T2);
* ``Z_0 > Z_-``: sustained, the period tends to ``T_inf = log Z_+``; ``Z_0 < Z_-`` or
  ``kappa < 4``: collapse after finitely many steps (T3, T4). A memory entered with
  ``Z <= 1`` cannot exist: the state falls to the confusion state, which is absorbing;
* closed form [D]: ``Z_t = p_{t+1} / p_t`` with ``p_{t+2} = kappa p_{t+1} - kappa p_t``,
  ``p_0 = 1``, ``p_1 = Z_0``; for ``kappa > 4`` ``p_t = A Z_+^t + B Z_-^t`` with
  ``A = (Z_0 - Z_-) / (Z_+ - Z_-)`` (its sign decides sustained vs collapse), at ``kappa = 4``
  ``p_t = (1 + (Z_0 / 2 - 1) t) 2^t``, for ``kappa < 4`` ``p_t = kappa^{t/2} R sin(t theta +
  phi)`` with ``cos theta = sqrt(kappa) / 2`` (collapse within about ``pi / theta`` steps) (T4);
* the dwell in memory ``t`` is ``T_t = log Z_t`` (slow time ``s = eps t``), and the entry time of
  memory ``t`` is ``sum_{k<t} T_k = log p_t`` (telescoping) (T5).

Everything here is float64 NumPy and accepts scalars or arrays where stated; nothing imports
models, experiments or the CLI.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import ndtr

from hopfield_lab.errors import ConfigError, check_choice, check_int, check_positive

__all__ = [
    "IDP_ACTIVATIONS",
    "KAPPA_CRITICAL",
    "Orbit",
    "collapse_amplitude",
    "collapse_step_bound",
    "confusion_is_stable",
    "cumulative_times",
    "dwell_times",
    "equilibrium_amplitude",
    "existence_threshold",
    "fixed_point_multipliers",
    "is_stable",
    "map_derivative",
    "map_fixed_points",
    "noisy_activation_mean",
    "noisy_well",
    "orbit",
    "orbit_closed_form",
    "p_sequence",
    "period",
    "retrieved_count",
    "saliency_map",
    "stability_threshold",
    "well_energy",
]

IDP_ACTIVATIONS: tuple[str, ...] = ("tanh", "hardtanh")
"""Activations of the IDP network: ``tanh(gamma z)`` and Hard Tanh ``clip(z, -1, 1)``."""

KAPPA_CRITICAL = 4.0
"""Critical gain of the saliency map: fixed points exist iff ``kappa >= 4`` [A]."""

IDPActivation = Literal["tanh", "hardtanh"]


# ------------------------------------------------------------------------------ checks
def _check_kappa(kappa: float | np.ndarray) -> np.ndarray:
    k = np.asarray(kappa, dtype=np.float64)
    if k.size == 0 or not np.all(np.isfinite(k)) or np.any(k <= 0):
        raise ConfigError(f"kappa must be a finite number > 0 (or an array of them); got {kappa!r}")
    return k


def _check_activation(activation: str, gamma: float) -> None:
    check_choice("activation", activation, IDP_ACTIVATIONS)
    check_positive("gamma", gamma)


def _as_out(x: np.ndarray) -> float | np.ndarray:
    return float(x) if np.ndim(x) == 0 else x


# ------------------------------------------------------------------------------ Model 1
def _psi(z: np.ndarray, activation: str, gamma: float) -> np.ndarray:
    return np.tanh(gamma * z) if activation == "tanh" else np.clip(z, -1.0, 1.0)


def _dpsi(z: np.ndarray, activation: str, gamma: float) -> np.ndarray:
    if activation == "tanh":
        return gamma / np.cosh(gamma * z) ** 2
    return (np.abs(z) < 1.0).astype(np.float64)


def _G(z: np.ndarray, activation: str, gamma: float) -> np.ndarray:
    """``G(z) = z psi(z) - int_0^z psi`` (the energy's Lagrangian term)."""
    if activation == "tanh":
        a = np.abs(gamma * z)
        log_cosh = a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0)
        return z * np.tanh(gamma * z) - log_cosh / gamma
    return 0.5 * np.minimum(z * z, 1.0)


def existence_threshold(activation: IDPActivation = "tanh", gamma: float = 1.0) -> float:
    """Smallest saliency with a nonzero equilibrium ``c xi_mu``: ``1 / psi'(0)`` (spec Sec. 1).

    ``1 / gamma`` for ``tanh(gamma z)`` (a nonzero root iff ``alpha > 1 / gamma``), 1 for Hard
    Tanh (``x* = alpha xi_mu`` for ``alpha >= 1``).

    Raises:
        ConfigError: unknown activation or ``gamma <= 0``.
    """
    _check_activation(activation, gamma)
    return 1.0 / gamma if activation == "tanh" else 1.0


def equilibrium_amplitude(
    alpha: float | np.ndarray, activation: IDPActivation = "tanh", gamma: float = 1.0
) -> float | np.ndarray:
    """The amplitude ``c >= 0`` of the equilibrium ``c xi_mu``: the largest root of ``c = alpha
    psi(c)`` (spec Sec. 1, [D]).

    For ``tanh(gamma z)``: the positive root when ``alpha gamma > 1`` (found by bisection on
    ``(0, alpha]`` to the last bit), else 0. For Hard Tanh: ``alpha`` when ``alpha >= 1``, else 0.
    Negative saliencies give 0 (the origin is the only equilibrium on that line).

    Args:
        alpha: saliency ``alpha_mu``, a scalar or an array.
        activation: ``"tanh"`` or ``"hardtanh"``. Default ``"tanh"``.
        gamma: gain of ``tanh`` (> 0). Default 1.

    Returns:
        ``c`` with the shape of ``alpha`` (a float for a scalar).

    Raises:
        ConfigError: unknown activation, ``gamma <= 0`` or a non-finite ``alpha``.
    """
    _check_activation(activation, gamma)
    a = np.asarray(alpha, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ConfigError(f"alpha must be finite; got {alpha!r}")
    if activation == "hardtanh":
        return _as_out(np.where(a >= 1.0, a, 0.0))
    exists = a * gamma > 1.0
    lo = np.zeros_like(a)
    hi = np.where(exists, a, 0.0)  # g(alpha) = alpha tanh(gamma alpha) - alpha < 0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.all((mid == lo) | (mid == hi)):
            break
        up = a * np.tanh(gamma * mid) - mid > 0  # still left of the root
        lo = np.where(exists & up, mid, lo)
        hi = np.where(exists & ~up, mid, hi)
    return _as_out(np.where(exists, 0.5 * (lo + hi), 0.0))


def stability_threshold(
    alpha_mu: float | np.ndarray, activation: IDPActivation = "tanh", gamma: float = 1.0
) -> float | np.ndarray:
    """Largest competing saliency that keeps ``c_mu xi_mu`` stable: ``1 / psi'(c_mu)``.

    ``x* = c_mu xi_mu`` is locally stable iff ``psi'(c_mu) max_nu alpha_nu < 1`` (spec Sec. 1,
    [D]); for ``tanh`` with ``gamma = 1`` this is ``cosh(c_mu)^2`` (1.766 at ``alpha_mu =
    1.2``, 3.804 at 1.5, 12.02 at 2, 98.3 at 3). Hard Tanh saturates (``psi'(alpha_mu) = 0``
    for ``alpha_mu >= 1``): ``inf``. NaN where the equilibrium does not exist.

    Raises:
        ConfigError: see :func:`equilibrium_amplitude`.
    """
    c = np.asarray(equilibrium_amplitude(alpha_mu, activation, gamma))
    a = np.asarray(alpha_mu, dtype=np.float64)
    exists = a * gamma > 1.0 if activation == "tanh" else a >= 1.0
    d = _dpsi(c, activation, gamma)
    with np.errstate(divide="ignore"):
        out = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), np.inf)
    return _as_out(np.where(exists, out, np.nan))


def is_stable(
    mu: int, alpha: np.ndarray | list[float], activation: IDPActivation = "tanh", gamma: float = 1.0
) -> bool:
    """Whether memory ``mu`` is a stable equilibrium for the saliencies ``alpha`` (spec Sec. 1).

    True iff the equilibrium exists (``alpha_mu`` above :func:`existence_threshold`) and
    ``psi'(c_mu) max_nu alpha_nu < 1``.

    Args:
        mu: memory index in ``[0, P)``.
        alpha: saliencies ``(P,)``.
        activation, gamma: see :func:`equilibrium_amplitude`.

    Raises:
        ConfigError: ``mu`` out of range, ``alpha`` not a non-empty finite 1-D array.
    """
    a = np.asarray(alpha, dtype=np.float64)
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        raise ConfigError(f"alpha must be a non-empty finite 1-D array (P,); got {alpha!r}")
    check_int("mu", mu, 0, a.size - 1)
    threshold = stability_threshold(float(a[mu]), activation, gamma)
    if math.isnan(threshold):
        return False
    return bool(a.max() < threshold)


def well_energy(
    alpha_mu: float | np.ndarray, n: int, activation: IDPActivation = "tanh", gamma: float = 1.0
) -> float | np.ndarray:
    """Energy ``E(c xi_mu; alpha) = N (-alpha_mu psi(c)^2 / 2 + G(c))`` at the memory's equilibrium.

    Valid for orthogonal ``+-1`` memories without a zeroed diagonal (the other saliencies do
    not enter, because ``xi_nu^T psi(c xi_mu) = 0``). Hard Tanh: ``N (1 - alpha_mu) / 2``
    (spec T6). 0 where the equilibrium does not exist (the confusion state).

    Raises:
        ConfigError: see :func:`equilibrium_amplitude`, or ``n < 1``.
    """
    check_int("n", n, 1)
    c = np.asarray(equilibrium_amplitude(alpha_mu, activation, gamma))
    a = np.asarray(alpha_mu, dtype=np.float64)
    psi = _psi(c, activation, gamma)
    return _as_out(n * (-0.5 * a * psi**2 + _G(c, activation, gamma)))


def confusion_is_stable(
    alpha: np.ndarray | list[float], activation: IDPActivation = "tanh", gamma: float = 1.0
) -> bool:
    """Whether the confusion state ``x = 0`` is globally asymptotically stable (spec Sec. 1).

    Sufficient condition for orthogonal memories: ``max_mu |alpha_mu| psi'(0) < 1`` (the map
    ``x -> W psi(x)`` is then a contraction, ``|W|_2 = max |alpha|`` and ``psi`` is
    ``psi'(0)``-Lipschitz).

    Raises:
        ConfigError: ``alpha`` not a non-empty finite array; bad activation.
    """
    a = np.asarray(alpha, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ConfigError(f"alpha must be a non-empty finite array; got {alpha!r}")
    return bool(np.abs(a).max() < existence_threshold(activation, gamma))


_Z_RANGE = 9.0  # |Z| <= 9 holds all but 2e-19 of the Gaussian mass


@functools.cache
def _trapezoid_nodes(h: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform nodes on ``[-9, 9]`` and trapezoid weights for a N(0, 1) expectation."""
    n = 2 * math.ceil(_Z_RANGE / h) + 1
    z = np.linspace(-_Z_RANGE, _Z_RANGE, n)
    w = np.exp(-0.5 * z * z) * (z[1] - z[0]) / math.sqrt(2.0 * math.pi)
    return z, w


def noisy_activation_mean(
    z: float | np.ndarray,
    sigma: float,
    activation: IDPActivation = "tanh",
    gamma: float = 1.0,
) -> float | np.ndarray:
    """``E[psi(z + s Z)]`` with ``Z ~ N(0, 1)`` and ``s = sigma / sqrt(2)``, the stationary
    spread of a rate-1 Ornstein-Uhlenbeck coordinate driven by ``sigma dB``.

    Hard Tanh in closed form (with ``a = (-1 - z) / s``, ``b = (1 - z) / s``: ``1 - Phi(b) -
    Phi(a) + z (Phi(b) - Phi(a)) + s (phi(a) - phi(b))``); ``tanh(gamma x)`` by the trapezoid
    rule on ``|Z| <= 9`` with step ``min(0.25, 0.5 / (gamma s))``, which resolves the steepest
    tanh (the rule converges geometrically for this analytic integrand: about 1e-9 relative).
    ``sigma = 0`` gives ``psi(z)``.

    Raises:
        ConfigError: ``sigma < 0``, bad activation.
    """
    _check_activation(activation, gamma)
    if not math.isfinite(sigma) or sigma < 0:
        raise ConfigError(f"sigma must be a finite number >= 0; got {sigma!r}")
    zz = np.asarray(z, dtype=np.float64)
    if sigma == 0:
        return _as_out(_psi(zz, activation, gamma))
    s = sigma / math.sqrt(2.0)
    if activation == "hardtanh":
        a, b = (-1.0 - zz) / s, (1.0 - zz) / s
        Pa, Pb = ndtr(a), ndtr(b)
        pdf_a = np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
        pdf_b = np.exp(-0.5 * b * b) / math.sqrt(2.0 * math.pi)
        return _as_out(1.0 - Pb - Pa + zz * (Pb - Pa) + s * (pdf_a - pdf_b))
    nodes, weights = _trapezoid_nodes(min(0.25, 0.5 / (gamma * s)))
    vals = np.tanh(gamma * (zz[..., None] + s * nodes))  # (..., nodes)
    return _as_out(vals @ weights)


def noisy_well(
    alpha: float, sigma: float, activation: IDPActivation = "tanh", gamma: float = 1.0
) -> tuple[float, float]:
    """Amplitude and overlap of a retrieved memory under noise ``sigma`` (mean field, [D]).

    The largest root of ``c = alpha E[psi(c + s Z)]``, ``s = sigma / sqrt(2)``, and the
    overlap ``m = E[psi(c + s Z)]`` that the memory keeps (``|m|`` of a simulation, time
    averaged, for large ``N`` and orthogonal memories). ``(0, 0)`` when noise (or a small
    saliency) leaves only the confusion state. ``sigma = 0`` gives
    :func:`equilibrium_amplitude` and ``psi(c)``. The classic network ``W_0 = X^T X / N`` is
    ``alpha = 1``.

    Args:
        alpha: saliency of the memory (the classic network: 1).
        sigma: noise amplitude per neuron (>= 0).
        activation, gamma: the activation.

    Returns:
        ``(c, m)``.

    Raises:
        ConfigError: ``sigma < 0``, non-finite ``alpha``, bad activation.
    """
    if not math.isfinite(alpha):
        raise ConfigError(f"alpha must be finite; got {alpha!r}")
    if alpha <= 0:
        return 0.0, 0.0
    grid = np.linspace(0.0, float(alpha), 801)[1:]
    g = alpha * np.asarray(noisy_activation_mean(grid, sigma, activation, gamma)) - grid
    pos = np.nonzero(g > 0)[0]
    if pos.size == 0:
        return 0.0, 0.0
    lo = float(grid[pos[-1]])
    hi = float(grid[pos[-1] + 1]) if pos[-1] + 1 < grid.size else float(alpha)
    for _ in range(200):  # g(lo) > 0 >= g(hi)
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if alpha * float(noisy_activation_mean(mid, sigma, activation, gamma)) - mid > 0:
            lo = mid
        else:
            hi = mid
    c = 0.5 * (lo + hi)
    return c, float(noisy_activation_mean(c, sigma, activation, gamma))


# ------------------------------------------------------------------------------ the map
def saliency_map(
    Z: float | np.ndarray, kappa: float | np.ndarray, a0: float = 0.0
) -> float | np.ndarray:
    """One step of the saliency map ``Z' = kappa + (a0 - kappa) / Z`` (``kappa (1 - 1/Z)`` for
    ``a0 = 0``) [A; the ``a0`` correction for a cycle is [D]].

    Args:
        Z: saliency at entry of the current memory (nonzero), scalar or array.
        kappa: gain (> 0), scalar or array broadcasting with ``Z``.
        a0: the successor's leftover saliency at the current memory's entry (0 for an open
            chain). Default 0.

    Returns:
        ``Z'`` with the broadcast shape (a float for scalars).

    Raises:
        ConfigError: ``kappa <= 0``, ``Z`` zero or non-finite.
    """
    k = _check_kappa(kappa)
    z = np.asarray(Z, dtype=np.float64)
    if not np.all(np.isfinite(z)) or np.any(z == 0):
        raise ConfigError(f"Z must be finite and nonzero; got {Z!r}")
    return _as_out(k + (float(a0) - k) / z)


def map_derivative(Z: float | np.ndarray, kappa: float | np.ndarray) -> float | np.ndarray:
    """``f'(Z) = kappa / Z^2`` (spec T2)."""
    k = _check_kappa(kappa)
    z = np.asarray(Z, dtype=np.float64)
    return _as_out(k / z**2)


def map_fixed_points(kappa: float | np.ndarray) -> tuple[float | np.ndarray, float | np.ndarray]:
    """The fixed points ``(Z_+, Z_-) = ((kappa +- sqrt(kappa^2 - 4 kappa)) / 2)`` (spec T1).

    Real iff ``kappa >= 4``; NaN below (no fixed point: every orbit collapses).

    Args:
        kappa: gain (> 0), scalar or array.

    Returns:
        ``(Z_plus, Z_minus)``, floats for a scalar ``kappa``, arrays otherwise.

    Raises:
        ConfigError: ``kappa <= 0`` or non-finite.
    """
    k = _check_kappa(kappa)
    disc = k * k - 4.0 * k
    root = np.sqrt(np.where(disc >= 0, disc, np.nan))
    return _as_out(0.5 * (k + root)), _as_out(0.5 * (k - root))


def fixed_point_multipliers(
    kappa: float | np.ndarray,
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """``(f'(Z_+), f'(Z_-)) = (Z_- / Z_+, Z_+ / Z_-)`` (spec T2): the first < 1, the second > 1
    for ``kappa > 4``; both 1 at ``kappa = 4``; NaN below."""
    zp, zm = map_fixed_points(kappa)
    return _as_out(np.asarray(zm) / np.asarray(zp)), _as_out(np.asarray(zp) / np.asarray(zm))


def period(kappa: float | np.ndarray) -> float | np.ndarray:
    """Asymptotic period ``T_inf = log Z_+`` in slow time (spec T1, T3); NaN for ``kappa < 4``."""
    zp, _ = map_fixed_points(kappa)
    return _as_out(np.log(np.asarray(zp)))


def p_sequence(Z0: float, kappa: float, n: int) -> np.ndarray:
    """``p_0 .. p_n`` of the linear recurrence ``p_{t+2} = kappa p_{t+1} - kappa p_t``,
    ``p_0 = 1``, ``p_1 = Z0`` (spec T4 [D]); ``Z_t = p_{t+1} / p_t`` and ``log p_t`` is the
    entry time of memory ``t``.

    Raises:
        ConfigError: ``kappa <= 0``, ``n < 1`` or a non-finite ``Z0``.
    """
    _check_kappa(kappa)
    check_int("n", n, 1)
    if not math.isfinite(Z0):
        raise ConfigError(f"Z0 must be finite; got {Z0!r}")
    p = np.empty(n + 1)
    p[0], p[1] = 1.0, Z0
    for t in range(2, n + 1):
        p[t] = kappa * (p[t - 1] - p[t - 2])
    return p


def orbit_closed_form(Z0: float, kappa: float, t: int | np.ndarray) -> float | np.ndarray:
    """``Z_t`` from the explicit solution of the recurrence for ``p_t`` (spec T4 [D]).

    ``p_t = A Z_+^t + B Z_-^t`` (``kappa > 4``), ``(1 + (Z0/2 - 1) t) 2^t`` (``kappa = 4``),
    ``kappa^{t/2} R sin(t theta + phi)`` (``kappa < 4``, ``cos theta = sqrt(kappa)/2``), and
    ``Z_t = p_{t+1} / p_t``. Valid while the orbit has not collapsed (``p_t > 0``).

    Args:
        Z0: initial saliency. kappa: gain (> 0). t: step index or array of them (>= 0).

    Returns:
        ``Z_t``, a float or an array like ``t``.
    """
    _check_kappa(kappa)
    tt = np.asarray(t, dtype=np.float64)
    if np.any(tt < 0):
        raise ConfigError(f"t must be >= 0; got {t!r}")

    def p(s: np.ndarray) -> np.ndarray:
        if kappa > KAPPA_CRITICAL:
            zp, zm = (float(v) for v in map_fixed_points(kappa))
            A = (Z0 - zm) / (zp - zm)
            return A * zp**s + (1.0 - A) * zm**s
        if kappa == KAPPA_CRITICAL:
            return (1.0 + (Z0 / 2.0 - 1.0) * s) * 2.0**s
        theta = math.acos(math.sqrt(kappa) / 2.0)
        # p_0 = R sin(phi) = 1, p_1 = sqrt(kappa) R sin(theta + phi) = Z0
        phi = math.atan2(math.sin(theta), Z0 / math.sqrt(kappa) - math.cos(theta))
        R = 1.0 / math.sin(phi)
        return kappa ** (s / 2.0) * R * np.sin(s * theta + phi)

    return _as_out(p(tt + 1.0) / p(tt))


def collapse_amplitude(Z0: float, kappa: float) -> float:
    """``A = (Z0 - Z_-) / (Z_+ - Z_-)`` of ``p_t = A Z_+^t + B Z_-^t`` for ``kappa > 4``: the
    orbit is sustained iff ``A > 0`` (``Z0 > Z_-``) (spec T4 [D]).

    Raises:
        ConfigError: ``kappa <= 4`` (no two distinct real roots).
    """
    _check_kappa(kappa)
    if kappa <= KAPPA_CRITICAL:
        raise ConfigError(f"kappa must be > 4 for the two-root form; got {kappa!r}")
    zp, zm = (float(v) for v in map_fixed_points(kappa))
    return (Z0 - zm) / (zp - zm)


def collapse_step_bound(kappa: float) -> float:
    """``pi / theta`` with ``cos theta = sqrt(kappa) / 2``: for ``kappa < 4`` every orbit
    collapses within about this many steps (spec T4 [D]).

    Raises:
        ConfigError: ``kappa >= 4`` or ``kappa <= 0``.
    """
    _check_kappa(kappa)
    if kappa >= KAPPA_CRITICAL:
        raise ConfigError(f"kappa must be < 4 (below the critical gain); got {kappa!r}")
    return math.pi / math.acos(math.sqrt(kappa) / 2.0)


def dwell_times(Z: np.ndarray | list[float]) -> np.ndarray:
    """Dwell ``T_t = log Z_t`` in each retrieved memory, slow time (spec T5)."""
    z = np.asarray(Z, dtype=np.float64)
    if np.any(z <= 0):
        raise ConfigError(f"saliencies must be > 0 for a dwell time; got {Z!r}")
    return np.log(z)


def cumulative_times(Z: np.ndarray | list[float]) -> np.ndarray:
    """Entry times ``sum_{k<t} log Z_k`` for ``t = 0 .. len(Z)``; equal to ``log p_t`` (T5)."""
    return np.concatenate([[0.0], np.cumsum(dwell_times(Z))])


@dataclass(frozen=True)
class Orbit:
    """An orbit of the saliency map, truncated at collapse (see :func:`orbit`).

    Attributes:
        Z: ``(Z_0, ..., Z_m)``: the saliency each memory is entered with; when the orbit
            collapses, the last entry is the failing successor's saliency (``<= 1``).
        kappa: gain. a0: leftover saliency used by the map.
        n_retrieved: memories retrieved (``Z_t > 1``): ``m + 1`` when sustained for ``n`` steps,
            the collapse step otherwise.
        collapse_step: index ``t`` of the first ``Z_t <= 1`` (the memory that cannot exist), or
            None if the orbit did not collapse within ``n`` steps.
    """

    Z: np.ndarray
    kappa: float
    a0: float
    n_retrieved: int
    collapse_step: int | None

    @property
    def collapsed(self) -> bool:
        """Whether the orbit collapsed within the steps computed."""
        return self.collapse_step is not None

    @property
    def entry_saliencies(self) -> np.ndarray:
        """``Z_1 .. Z_{n_retrieved - 1}``: the saliencies of the successful transitions."""
        return self.Z[1 : self.n_retrieved]

    @property
    def dwell_times(self) -> np.ndarray:
        """``log Z_t`` for each retrieved memory (slow time), ``(n_retrieved,)``."""
        return np.log(self.Z[: self.n_retrieved])

    @property
    def entry_times(self) -> np.ndarray:
        """Slow times ``log p_t`` at which memories ``1 .. n_retrieved - 1`` are entered."""
        return np.cumsum(self.dwell_times)[:-1] if self.n_retrieved > 0 else np.zeros(0)

    @property
    def collapse_time(self) -> float | None:
        """Slow time at which the last retrieved memory is left with nothing to follow it
        (``sum`` of the dwell times), None if the orbit did not collapse."""
        if not self.collapsed:
            return None
        return float(np.sum(self.dwell_times))


def orbit(Z0: float, kappa: float, n: int, a0: float = 0.0) -> Orbit:
    """Iterate the saliency map ``n`` steps from ``Z0``, stopping at collapse (spec T3-T5).

    Memory ``t`` is retrieved iff ``Z_t > 1``; at the first ``Z_t <= 1`` the state falls to the
    confusion state, which is absorbing, so the orbit stops there. Example:
    ``orbit(2.0, 5.0, 6).entry_saliencies`` is ``2.5, 3.0, 3.333.., 3.5, 3.571.., 3.6``;
    ``orbit(2.5, 3.0, 10)`` has ``Z = 2.5, 1.8, 1.333.., 0.75``, three memories retrieved and
    collapse at step 3.

    Args:
        Z0: saliency of the initial memory (finite).
        kappa: gain (> 0).
        n: number of map steps (>= 0).
        a0: leftover saliency (see :func:`saliency_map`). Default 0.

    Returns:
        An :class:`Orbit`.

    Raises:
        ConfigError: ``kappa <= 0``, ``n < 0``, non-finite ``Z0``.
    """
    _check_kappa(kappa)
    check_int("n", n, 0)
    if not isinstance(Z0, (int, float)) or not math.isfinite(Z0):
        raise ConfigError(f"Z0 must be a finite number; got {Z0!r}")
    Z = [float(Z0)]
    collapse: int | None = 0 if Z0 <= 1.0 else None
    while collapse is None and len(Z) <= n:
        z = float(saliency_map(Z[-1], kappa, a0))
        Z.append(z)
        if z <= 1.0:
            collapse = len(Z) - 1
    n_ret = collapse if collapse is not None else len(Z)
    return Orbit(np.asarray(Z), float(kappa), float(a0), n_ret, collapse)


def retrieved_count(Z0: float, kappa: float, n_memories: int, a0: float = 0.0) -> int:
    """Memories an open chain of ``n_memories`` retrieves from ``Z0`` (``min`` of the map's
    count and the chain length)."""
    check_int("n_memories", n_memories, 1)
    return orbit(Z0, kappa, n_memories - 1, a0).n_retrieved
