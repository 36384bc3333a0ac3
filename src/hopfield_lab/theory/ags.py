"""Replica-symmetric theory of the Hebbian Hopfield model at finite load (Amit, Gutfreund and
Sompolinsky, "AGS", Phys. Rev. Lett. 55, 1530 (1985) and Ann. Phys. 173, 30 (1987)).

The lecture notes (ch. 2) quote its two landmarks: the capacity ``alpha_c ~ 0.138`` at ``T = 0``
and ``T_c = 1`` at ``alpha = 0`` (Curie-Weiss). With ``P = alpha N`` random patterns and one
condensed pattern, the retrieval overlap ``m``, the Edwards-Anderson parameter ``q`` and the
noise variance ``r`` of the other patterns solve

    m = E_z[ tanh(beta (m + sqrt(alpha r) z)) ],      q = E_z[ tanh^2(beta (m + sqrt(alpha r) z)) ],
    r = q / (1 - C)^2,                                C = beta (1 - q),                z ~ N(0, 1).

At ``T = 0`` (``beta -> inf``): ``m = erf(m / sqrt(2 alpha r))``, ``q = 1`` and
``C = sqrt(2 / (pi alpha r)) exp(-m^2 / (2 alpha r))``.

:func:`ags_overlap` iterates these equations from ``m = q = 1`` (the retrieval branch) with an
81-point Gauss-Hermite rule for ``E_z`` and ``C`` capped at 0.999 (the paramagnetic divergence
``C -> 1`` is never reached on the retrieval branch); :func:`ags_retrieval_line` bisects for the
largest ``T`` with ``m > threshold`` (the line ``T_M(alpha)`` below which retrieval states exist,
metastable above the lower line ``T_c``), and :func:`ags_capacity` for the largest ``alpha`` at
``T = 0`` (0.1379 with the default threshold). Near ``T = 1`` the overlap vanishes continuously
(``T_M ~ 1 - 1.95 sqrt(alpha)``), so a threshold ``m > 0.05`` places the line slightly below the
true one there.

Everything is float64 numpy; tested in ``tests/test_theory.py`` against the two landmarks and
the Curie-Weiss limit ``alpha -> 0``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import erf

from hopfield_lab.errors import check_int, check_positive, check_range

__all__ = ["ags_capacity", "ags_overlap", "ags_retrieval_line"]

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(81)
_GH_W = _GH_W / _GH_W.sum()  # weights of E[f(z)], z ~ N(0, 1)
_C_CAP = 0.999


def ags_overlap(
    alpha: ArrayLike, temperature: ArrayLike, iters: int = 2000, tol: float = 1e-9
) -> np.ndarray:
    """Retrieval overlap ``m`` of the replica-symmetric equations, iterated from ``m = 1``.

    Args:
        alpha: loads ``P / N``, any shape (> 0).
        temperature: temperatures, broadcastable to ``alpha`` (>= 0; 0 uses the ``T -> 0``
            limit).
        iters: most fixed-point iterations. Default 2000.
        tol: stop when no ``m`` moves by more than this in one iteration. Default 1e-9.

    Returns:
        ``m`` of the shape of ``alpha``; close to 0 where no retrieval solution exists.

    Raises:
        ConfigError: for ``iters < 1`` or ``tol <= 0``.
    """
    check_int("iters", iters, 1)
    check_positive("tol", tol)
    a = np.asarray(alpha, dtype=float)
    t = np.broadcast_to(np.asarray(temperature, dtype=float), a.shape)
    zero = t == 0
    beta = 1.0 / np.where(zero, 1.0, t)
    m = np.ones_like(a)
    r = np.ones_like(a)
    any_zero, any_pos = bool(zero.any()), bool((~zero).any())
    m_t = c_t = m_0 = c_0 = q_t = m
    for _ in range(iters):
        s = np.sqrt(a * r)
        if any_pos:
            th = np.tanh(beta[..., None] * (m[..., None] + s[..., None] * _GH_X))  # (..., 81)
            m_t = th @ _GH_W
            q_t = (th**2) @ _GH_W
            c_t = beta * (1.0 - q_t)
        if any_zero:
            s0 = np.maximum(s, 1e-300)
            m_0 = erf(m / (math.sqrt(2.0) * s0))
            c_0 = math.sqrt(2.0 / math.pi) / s0 * np.exp(-(m**2) / (2.0 * s0**2))
        q = np.where(zero, 1.0, q_t)
        c = np.minimum(np.where(zero, c_0, c_t), _C_CAP)  # susceptibility beta (1 - q)
        r = q / (1.0 - c) ** 2
        m_new = np.where(zero, m_0, m_t)
        if np.max(np.abs(m_new - m), initial=0.0) < tol:
            return m_new
        m = m_new
    return m


def ags_retrieval_line(alphas: ArrayLike, threshold: float = 0.05, steps: int = 18) -> np.ndarray:
    """``T_M(alpha)``: the largest ``T`` with a retrieval solution ``m > threshold`` (bisection).

    Args:
        alphas: loads, any shape (> 0).
        threshold: overlap that counts as retrieval. Default 0.05.
        steps: bisection steps on ``T`` in ``[0, 1]`` (resolution ``2^-steps``). Default 18.

    Returns:
        ``T_M`` of the shape of ``alphas``; 0 where no retrieval solution exists even at
        ``T = 0`` (``alpha > alpha_c``).
    """
    check_range("threshold", threshold, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_int("steps", steps, 1)
    a = np.asarray(alphas, dtype=float)
    lo = np.zeros_like(a)
    hi = np.full_like(a, 1.0)
    ok0 = ags_overlap(a, 0.0) > threshold
    for _ in range(steps):
        mid = (lo + hi) / 2
        ok = ags_overlap(a, mid) > threshold
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    return np.where(ok0, lo, 0.0)


@functools.lru_cache(maxsize=8)
def ags_capacity(threshold: float = 0.05, steps: int = 22) -> float:
    """``alpha_c`` at ``T = 0``: the largest load with a retrieval solution (bisection, 0.1379).

    Args:
        threshold: overlap that counts as retrieval. Default 0.05.
        steps: bisection steps on ``alpha`` in ``[0.05, 0.2]``. Default 22.

    Returns:
        The lower end of the final bracket.
    """
    lo, hi = 0.05, 0.2
    for _ in range(steps):
        mid = (lo + hi) / 2
        if ags_overlap(np.array([mid]), 0.0)[0] > threshold:
            lo = mid
        else:
            hi = mid
    return lo
