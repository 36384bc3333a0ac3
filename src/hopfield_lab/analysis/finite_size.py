"""Finite-size estimates of a transition from simulations on a grid (notes ch. 2: capacity).

At finite ``N`` a transition is a smooth crossover; its location is estimated where a curve
measured on a grid of control values (a retrieval fraction against the load ``alpha``, say)
crosses a level, by linear interpolation between grid points (:func:`level_crossing`), or as
the grid interval where a fraction first drops below 1/2 (:func:`drop_bracket`, when the curve
is too coarse or too noisy to interpolate). The
estimates at several ``N`` extrapolate to ``N -> inf`` through a least-squares fit
``x(N) = a + b / sqrt(N)`` (:func:`fit_inverse_sqrt`; a heuristic form). Their spread comes from
a bootstrap that resamples independent units (networks) with all their trials
(:func:`bootstrap_crossings`): trials that share a network are not independent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bootstrap_crossings", "drop_bracket", "fit_inverse_sqrt", "level_crossing"]


def level_crossing(xs: Sequence[float], ys: Sequence[float], level: float) -> float | None:
    """First ``x`` where the piecewise-linear curve ``ys(xs)`` falls from ``>= level`` to
    ``< level``.

    Args:
        xs: ``(n,)`` increasing grid. ys: ``(n,)`` values. level: the level.

    Returns:
        The interpolated crossing, or None when the curve does not fall through ``level``.
    """
    for k in range(len(xs) - 1):
        x0, x1, y0, y1 = xs[k], xs[k + 1], ys[k], ys[k + 1]
        if y0 >= level > y1:
            return x0 + (y0 - level) * (x1 - x0) / (y0 - y1)
    return None


def drop_bracket(
    xs: Sequence[float], fractions: Sequence[float], below: float = 1.0
) -> tuple[float, float | None]:
    """The first grid interval, among ``x < below``, where a fraction drops below 1/2.

    Args:
        xs: grid values (any order). fractions: the fraction at each.
        below: only grid values below this count. Default 1.

    Returns:
        ``(lo, hi)``: ``hi`` the first ``x`` with fraction ``< 1/2``, ``lo`` the last before it
        (with fraction ``>= 1/2``; 0 if none); ``hi`` is None when the fraction stays ``>= 1/2``
        on the whole grid, and ``lo`` is then its largest ``x`` (a lower bound).
    """
    points = [(x, f) for x, f in sorted(zip(xs, fractions, strict=True)) if x < below]
    last_ok: float | None = None
    for x, f in points:
        if f < 0.5:
            return (0.0 if last_ok is None else last_ok), x
        last_ok = x
    return (points[-1][0] if points else 0.0), None


def fit_inverse_sqrt(sizes: Sequence[int], values: Sequence[float]) -> tuple[float, float] | None:
    """Least squares ``value(N) = a + b / sqrt(N)``.

    Args:
        sizes: ``N`` per estimate. values: the estimates.

    Returns:
        ``(a, b)``, or None with fewer than 3 points.
    """
    if len(sizes) < 3:
        return None
    x = 1.0 / np.sqrt(np.asarray(sizes, dtype=float))
    A = np.stack([np.ones_like(x), x], 1)
    coef, *_ = np.linalg.lstsq(A, np.asarray(values, dtype=float), rcond=None)
    return float(coef[0]), float(coef[1])


def bootstrap_crossings(
    units: dict[int, list[list[np.ndarray]]],
    xs: Sequence[float],
    success: float,
    *,
    n_boot: int,
    seed: int,
) -> tuple[dict[int, float], float | None]:
    """Bootstrap spread of the crossings of 1/2 by a success fraction, and of their fit.

    Each resample redraws, with replacement, the units of every grid point with all their
    trials; a trial succeeds when its value exceeds ``success``. A resample whose curve does not
    cross 1/2 is left out for that size (and for the intercept of :func:`fit_inverse_sqrt`).
    Where a grid point of some size holds a single unit the resampling cannot see the spread
    between units, so no spread is given for that size (nor for the intercept).

    Args:
        units: ``{N: [per grid point: [per unit: (trials,) values]]}``.
        xs: the grid. success: the success threshold of a trial.
        n_boot: resamples. seed: NumPy seed.

    Returns:
        ``({N: std of the crossing}, std of the intercept or None)``.
    """
    rng = np.random.default_rng(seed)
    per_n: dict[int, list[float]] = {N: [] for N in units}
    intercepts: list[float] = []
    for _ in range(n_boot):
        values: dict[int, float] = {}
        for N, cells in units.items():
            fracs = []
            for nets in cells:
                pick = rng.integers(0, len(nets), len(nets))
                fracs.append(float((np.concatenate([nets[k] for k in pick]) > success).mean()))
            v = level_crossing(xs, fracs, 0.5)
            if v is not None:
                values[N] = v
                per_n[N].append(v)
        if len(values) == len(units):
            fit = fit_inverse_sqrt(list(values), list(values.values()))
            if fit is not None:
                intercepts.append(fit[0])
    blind = {N for N, cells in units.items() if any(len(nets) < 2 for nets in cells)}
    std_by_n = {
        N: float(np.std(v, ddof=1)) for N, v in per_n.items() if len(v) > 1 and N not in blind
    }
    spread = float(np.std(intercepts, ddof=1)) if len(intercepts) > 1 and not blind else None
    return std_by_n, spread
