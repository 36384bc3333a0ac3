"""Intrinsic dimension by the two-nearest-neighbour estimator, TwoNN (Facco et al. 2017).

ODE paper, Sec. 3.1 and Tables 1, 3: the intrinsic dimension (ID) of each class at ``x(0)``
and at ``x(T)``. The estimator, for ``n`` points on a manifold of dimension ``d``:

* for each point ``i``, ``r1_i`` and ``r2_i`` are the distances to its first and second
  nearest neighbours and ``mu_i = r2_i / r1_i >= 1``;
* if the density is locally constant (on the scale of the second neighbour), ``mu`` follows
  the Pareto law ``F(mu) = 1 - mu^(-d)``, so ``-log(1 - F(mu)) = d log mu``: a line through
  the origin;
* sort ``mu`` ascending, take the empirical ``F(mu_(i)) = i / n`` (``i = 1..n``), discard the
  largest 10 % of the ``mu`` (the heavy tail, most affected by density changes and noise;
  Facco's standard choice) and fit the slope through the origin by least squares:
  ``d = sum_i x_i y_i / sum_i x_i^2`` with ``x = log mu``, ``y = -log(1 - F)``.

This is the same fit as scikit-dimension's ``TwoNN`` (which our optional test cross-checks)
and dadapy's ``compute_id_2NN`` without decimation; dadapy itself is not used (it pins
``numpy < 2`` and pulls JAX).

Known biases, worth knowing when reading a table:

* points from a bounded set (a cube, pixel values in ``[0, 1]``) read **low**: near the
  boundary the neighbours all lie on one side, which lowers ``mu``; a uniform 10-cube at
  ``n = 3000`` reads about 8.6 (see the tests). Large ``d`` reads low too (the estimator
  needs ``n`` growing exponentially in ``d``);
* duplicate points have ``r1 = 0`` and ``mu = inf``; they are dropped (one copy of each
  distinct point is kept) and counted, or rejected with ``duplicates="raise"``;
* ties ``r1 = r2 > 0`` give ``mu = 1`` exactly (a point at ``x = 0`` of the fit). They are
  kept (they are valid Pareto draws at the lower end) and counted in ``n_ties``; many ties
  signal lattice-like data (quantised pixels), where the local-uniformity assumption fails.

Nearest neighbours: exact brute force in float64 with torch, vectorised over blocks of rows.
Candidates come from ``torch.cdist``'s matrix-product (Gram) form on centred points, BLAS
speed (at ``n = 5000, N = 784`` the whole search takes 1.6 s of CPU against 16 s for
``cdist`` from differences, one thread); the distances to the 8 best candidates are then
recomputed from differences, and a row whose candidates are closer together than the Gram
form's rounding (about ``eps |x|^2`` in squared distance: states gathered at an attractor far
from the cloud's centre) is measured from differences against all points. So ``r1`` and
``r2`` are exact to rounding. Trees (scikit-learn's ``NearestNeighbors``) do not help at
MNIST's ``N = 784``, and its brute-force distances use the same Gram form without the exact
recomputation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_choice, check_int, check_range

__all__ = ["TwoNNResult", "two_nearest", "twonn", "twonn_by_class"]

_CANDIDATES = 8  # candidate neighbours re-measured exactly
_EPS64 = float(torch.finfo(torch.float64).eps)


@dataclass(frozen=True)
class TwoNNResult:
    """The TwoNN estimate and what went into it (see :func:`twonn`).

    Attributes:
        dimension: the estimated intrinsic dimension ``d`` (``float(result)`` gives it).
        n_points: points received.
        n_used: distinct points the estimate used (``n_points - n_duplicates``).
        n_fit: the smallest ``mu`` values in the fit (``floor(n_used (1 - discard))``, at most
            ``n_used - 1``).
        n_duplicates: points dropped as exact copies of another point.
        n_ties: points with ``r1 = r2`` (``mu = 1``).
        mu: ``(n_used,)`` the ratios ``r2 / r1``, sorted ascending (float64).
    """

    dimension: float
    n_points: int
    n_used: int
    n_fit: int
    n_duplicates: int
    n_ties: int
    mu: Tensor

    def __float__(self) -> float:
        return self.dimension


def _as_points(points: Tensor) -> Tensor:
    if not isinstance(points, Tensor):
        raise ConfigError(f"points must be a torch.Tensor of shape (n, N); got {type(points)}")
    if points.dim() != 2 or not (points.is_floating_point() or points.dtype.is_signed):
        raise ConfigError(
            f"points must be a real tensor of shape (n, N); got shape {tuple(points.shape)} "
            f"and dtype {points.dtype}"
        )
    if not bool(torch.isfinite(points).all()):
        raise ConfigError("points must be finite; they contain NaN or Inf")
    return points.detach().to(torch.float64)


def two_nearest(points: Tensor, *, chunk_size: int = 1024) -> tuple[Tensor, Tensor]:
    """Exact distances to the first and second nearest neighbour of every point.

    Args:
        points: ``(n, N)`` points, ``n >= 3`` (used in float64).
        chunk_size: rows per block of the distance matrix (memory ``chunk_size * n``).

    Returns:
        ``(r1, r2)``, each ``(n,)`` float64 (``r1 = 0`` for a point with an exact copy).

    Raises:
        ConfigError: for fewer than 3 points or a malformed input.
    """
    x = _as_points(points)
    n = x.shape[0]
    if n < 3:
        raise ConfigError(f"two_nearest needs at least 3 points; got {n}")
    check_int("chunk_size", chunk_size, 1)
    x = x - x.mean(dim=0)  # centring keeps the Gram-form candidates accurate
    k = min(n - 1, _CANDIDATES)
    sq = (x * x).sum(dim=1)  # (n,) squared norms, for the rounding bound
    sq_max = float(sq.max())
    r1, r2 = [], []
    for i in range(0, n, chunk_size):  # blocks of rows, not samples
        rows = x[i : i + chunk_size]  # (m, N)
        d = torch.cdist(rows, x, compute_mode="use_mm_for_euclid_dist")  # (m, n) candidates
        idx = torch.arange(i, i + rows.shape[0])
        d[idx - i, idx] = math.inf  # a point is not its own neighbour
        top = d.topk(k, dim=1, largest=False)  # (m, k) candidates, ascending
        exact = torch.linalg.vector_norm(x[top.indices] - rows.unsqueeze(1), dim=-1)  # (m, k)
        if k < n - 1:
            # rows whose Gram-form rounding (about eps |x|^2 in d^2) could hide a true
            # neighbour beyond the candidates are measured exactly against all points
            tol = 64 * _EPS64 * (sq[i : i + rows.shape[0]] + sq_max)  # (m,)
            unsure = top.values[:, -1] ** 2 - top.values[:, 1] ** 2 <= tol
            if bool(unsure.any()):
                rows_u = rows[unsure]
                du = torch.cdist(rows_u, x, compute_mode="donot_use_mm_for_euclid_dist")
                du[torch.arange(rows_u.shape[0]), idx[unsure]] = math.inf
                exact[unsure] = du.topk(k, dim=1, largest=False).values
        best = exact.topk(2, dim=1, largest=False).values  # (m, 2) ascending
        r1.append(best[:, 0])
        r2.append(best[:, 1])
    return torch.cat(r1), torch.cat(r2)


def twonn(
    points: Tensor,
    *,
    discard: float = 0.1,
    duplicates: Literal["drop", "raise"] = "drop",
) -> TwoNNResult:
    """TwoNN intrinsic dimension (Facco et al. 2017) of a point cloud (ODE paper, Sec. 3.1).

    See the module docstring for the estimator, its fit through the origin and its biases.
    Assumes a locally uniform density on the scale of the second neighbour; gives one global
    number for the whole cloud (the ODE paper's Tables 1 and 3 use 500 points per class).

    Args:
        points: ``(n, N)`` points (e.g. the states of one class at ``x(0)`` or ``x(T)``); at
            least 3 distinct points.
        discard: fraction of the largest ``mu`` left out of the fit, in ``[0, 1)``. Default
            0.1 (Facco's). The largest ``mu`` always goes (its ``F = 1`` has ``-log 0``).
        duplicates: ``"drop"`` (default) keeps one copy of each distinct point and reports
            the count; ``"raise"`` rejects repeated points.

    Returns:
        A :class:`TwoNNResult`; ``result.dimension`` (or ``float(result)``) is the estimate.
        When every used ``mu`` equals 1 (all ties) the slope is undefined and ``dimension``
        is ``nan``.

    Raises:
        ConfigError: for fewer than 3 (distinct) points, ``discard`` outside ``[0, 1)``, too
            few points left to fit, repeated points with ``duplicates="raise"``, or a
            malformed input.
    """
    check_range("discard", discard, 0.0, 1.0, high_inclusive=False)
    check_choice("duplicates", duplicates, ("drop", "raise"))
    x = _as_points(points)
    n_points = x.shape[0]
    if n_points < 3:
        raise ConfigError(f"twonn needs at least 3 points; got {n_points}")
    uniq = torch.unique(x, dim=0)
    n_dup = n_points - uniq.shape[0]
    if n_dup and duplicates == "raise":
        raise ConfigError(f"points hold {n_dup} exact duplicates; pass duplicates='drop'")
    if uniq.shape[0] < 3:
        raise ConfigError(
            f"twonn needs at least 3 distinct points; got {uniq.shape[0]} of {n_points}"
        )
    r1, r2 = two_nearest(uniq)
    mu = torch.sort(r2 / r1).values  # (n,) ascending, >= 1
    n = mu.shape[0]
    n_fit = min(math.floor(n * (1.0 - discard)), n - 1)
    if n_fit < 1:
        raise ConfigError(f"discard={discard} leaves no point to fit (n = {n})")
    f_emp = torch.arange(1, n_fit + 1, dtype=torch.float64) / n  # (n_fit,) empirical F
    xs = torch.log(mu[:n_fit])
    ys = -torch.log1p(-f_emp)
    sxx = float((xs * xs).sum())
    dim = float((xs * ys).sum()) / sxx if sxx > 0 else math.nan
    return TwoNNResult(
        dimension=dim,
        n_points=n_points,
        n_used=n,
        n_fit=n_fit,
        n_duplicates=n_dup,
        n_ties=int((r1 == r2).sum()),
        mu=mu,
    )


def twonn_by_class(
    points: Tensor,
    labels: Tensor,
    *,
    discard: float = 0.1,
    duplicates: Literal["drop", "raise"] = "drop",
) -> dict[int, TwoNNResult]:
    """:func:`twonn` of each class's points (the rows of the ODE paper's Tables 1 and 3).

    Args:
        points: ``(n, N)`` points.
        labels: ``(n,)`` integer labels; every class needs at least 3 points.
        discard, duplicates: as in :func:`twonn`.

    Returns:
        ``{class: TwoNNResult}`` in ascending class order.

    Raises:
        ConfigError: for mismatched shapes, non-integer labels, or a class that
            :func:`twonn` rejects (the message names the class).
    """
    if not isinstance(points, Tensor) or points.dim() != 2:
        raise ConfigError("points must be a tensor of shape (n, N)")
    if not isinstance(labels, Tensor) or labels.shape != (points.shape[0],):
        got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise ConfigError(f"labels must have shape ({points.shape[0]},) to match points; got {got}")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise ConfigError(f"labels must be an integer tensor; got dtype {labels.dtype}")
    out: dict[int, TwoNNResult] = {}
    for c in torch.unique(labels).tolist():  # loop over classes
        try:
            out[int(c)] = twonn(points[labels == c], discard=discard, duplicates=duplicates)
        except ConfigError as err:
            raise ConfigError(f"class {c}: {err}") from None
    return out
