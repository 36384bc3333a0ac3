"""The modern (continuous, softmax) Hopfield network of the lecture notes, chapter 3.

Stored patterns are the rows of ``X`` with shape ``(P, N)`` (the notes write them as the columns
of an ``N x P`` matrix; we keep batch-first rows). For a state ``xi`` in ``R^N``:

* similarities ``s = beta X xi`` ``(P,)`` and probabilities ``p = softmax(s)``;
* update (notes Def. 3.1.2, Eq. 3.5): ``xi_new = X^T p = X^T softmax(beta X xi)``, a convex
  combination of the patterns;
* energy (notes Def. 3.1.1, Eq. 3.4), with ``lse(beta, v) = beta^-1 log sum_i exp(beta v_i)``
  and ``M = max_i |x_i|``::

      E(xi) = -lse(beta, X xi) + xi.xi / 2 + beta^-1 log P + M^2 / 2
            = -beta^-1 log[ 1/P sum_i exp(-beta/2 |xi - x_i|^2) exp(-beta/2 (M^2 - |x_i|^2)) ]

  (the second line is Eq. 3.6), which is >= 0 everywhere (Lemma 3.2.1) and, on the convex hull
  of the patterns, <= ``2 M^2`` (Lemma 3.2.2 i) and <= ``beta^-1 log P + M^2 / 2`` (ii);
* the update is the CCCP step of ``E = E^- + E^+`` (Eq. 3.7, ``E^- = -lse`` concave, ``E^+ =
  xi.xi/2 + const`` convex): ``xi_new = argmin_xi f(xi, xi_t)`` with the convex majoriser
  ``f(xi, xi_t) = E^+(xi) + E^-(xi_t) + (xi - xi_t).grad E^-(xi_t)`` (Prop. 3.1), hence ``E``
  never increases along ``xi_{t+1} = update(xi_t)`` (Prop. 3.2); ``grad E = xi - update(xi)``,
  so the vector field ``update(xi) - xi`` is the exact gradient flow ``-grad E``;
* Jacobian of the update (notes Sec. 3.3): ``J = beta X^T (diag p - p p^T) X`` ``(N, N)``
  (``beta X (diag p - p p^T) X^T`` in the notes' column convention), ``beta`` times the
  covariance of the patterns under ``p`` (Lemma 3.3.1), symmetric positive semi-definite;
* Prop. 3.3: ``|J|_2 <= beta m_max^2`` with ``m_max = max_i |x_i - m_X|`` and ``m_X`` the
  pattern mean (Def. 3.3.1; the notes print ``m_X = 1/N sum x^i``, a typo for ``1/P``, and a
  strict ``<``, which fails for ``P = 1`` where both sides are 0). ``beta M^2`` is a second
  valid bound (the covariance's trace is ``sum_i p_i |x_i|^2 - |m_bar|^2 <= M^2``); neither
  dominates the other;
* separation of pattern ``i`` (Def. 3.3.2): ``Delta_i = x_i.x_i - max_{j != i} x_i.x_j``; of
  a query ``xi`` with respect to pattern ``i``: ``c_i(xi) = min_{j != i} (xi.x_i - xi.x_j)``;
* Lemma 3.3.2 (Ramsauer et al. 2020, Lemma A4): ``|x_i - f(xi)| <= 2 eps M`` with
  ``eps = (P - 1) exp(-beta c_i(xi))``. The notes state it for the ``i`` that maximises
  ``c_i`` with ``c_i > 0``; the proof holds for every ``i`` and every sign of ``c_i``;
* Def. 3.3.3: spheres ``S_i = {xi : |xi - x_i| <= 1 / (beta P M)}``;
* Prop. 3.4 (Ramsauer et al., Lemma A5 / Theorem 4): if ``xi in S_i`` and
  ``Delta_i >= 2 / (beta P) + beta^-1 log(2 (P - 1) P beta M^2)`` then ``f(xi) in S_i``. With
  ``u = beta Delta_min`` the condition for every ``i`` reads ``u - log u >= a``,
  ``a = 2 / P + log(2 (P - 1) P M^2 / Delta_min)``: it holds for every ``beta`` when
  ``a <= 1`` and otherwise for ``u in (0, u_-] U [u_+, inf)`` with ``u_-``, ``u_+`` the roots
  of ``u - log u = a`` (``u_+ = -W_{-1}(-e^{-a})``, ``u_- = -W_0(-e^{-a})``, Lambert W).
  :func:`select_beta` finds both roots by bisection to machine precision. The notes' code
  iterates ``u <- a + log u`` five times from ``2a`` and then uses ``((7 + u) / 8) / Delta_min``;
  the notes' text uses ``u_K / Delta_min`` (and calls ``P`` "N" in this part).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from hopfield_lab.core.dynamics import HopfieldModel, as_batch
from hopfield_lab.errors import ConfigError, check_choice, check_int, check_positive
from hopfield_lab.solvers.fixed_point import fixed_point
from hopfield_lab.solvers.options import FixedPointOptions
from hopfield_lab.solvers.result import SolverResult

__all__ = [
    "RETRIEVE_DEFAULT",
    "SEPARATION_CHUNK_ELEMENTS",
    "BetaSelection",
    "EnergyBounds",
    "ModernHopfield",
    "beta_condition_gap",
    "select_beta",
    "separation",
    "solve_u_minus_log_u",
]


RETRIEVE_DEFAULT = FixedPointOptions(tol=1e-6)
"""Default solver of :meth:`ModernHopfield.retrieve`: Picard, relative residual 1e-6, 100 steps."""

_OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(FixedPointOptions))


@dataclass(frozen=True)
class EnergyBounds:
    """Two-sided bounds on the energy at given states (see :meth:`ModernHopfield.energy_bounds`).

    Attributes:
        lower: ``(B,)`` lower bound, valid everywhere, >= 0 (Lemma 3.2.1 through Eq. 3.6).
        upper: ``(B,)`` upper bound, valid everywhere (Eq. 3.6): ``lower + beta^-1 log P``.
        hull_i: Lemma 3.2.2 (i), ``2 M^2``, valid on the convex hull of the patterns.
        hull_ii: Lemma 3.2.2 (ii), ``beta^-1 log P + M^2 / 2``, valid on the convex hull.
    """

    lower: Tensor
    upper: Tensor
    hull_i: float
    hull_ii: float


@dataclass(frozen=True)
class BetaSelection:
    """The inverse temperature chosen by the rule of Prop. 3.4 (see :func:`select_beta`).

    Attributes:
        beta: smallest ``beta`` of the retrieval branch, ``u_+ / Delta_min``: every
            ``beta >= beta`` satisfies Prop. 3.4's condition for all patterns.
        beta_minus: largest ``beta`` of the lower branch ``(0, u_- / Delta_min]`` (also satisfies
            the condition, but there the spheres are large and overlap: the "global average"
            regime of Prop. 3.3). Equal to ``beta`` when ``a <= 1``.
        radius: radius ``1 / (beta P M)`` of the spheres ``S_i`` at ``beta`` (Def. 3.3.3).
        separation: ``(P,)`` pattern separations ``Delta_i`` (Def. 3.3.2), float64.
        max_norm: ``M = max_i |x_i|``.
        n_patterns: ``P``.
        a: the constant ``2 / P + log(2 (P - 1) P M^2 / Delta_min)`` of ``u - log u >= a``.
        u: the root ``u_+ = beta Delta_min``.
        always_satisfied: ``a <= 1``: every ``beta > 0`` satisfies the condition; ``beta`` is
            then ``1 / Delta_min`` (``u = 1``, where both roots meet at ``a = 1``).
    """

    beta: float
    beta_minus: float
    radius: float
    separation: Tensor
    max_norm: float
    n_patterns: int
    a: float
    u: float
    always_satisfied: bool

    @property
    def separation_min(self) -> float:
        """``Delta_min = min_i Delta_i``."""
        return float(self.separation.min())

    @property
    def separation_mean(self) -> float:
        """Mean of ``Delta_i`` over the patterns."""
        return float(self.separation.double().mean())


def _bisect(g: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of ``g`` in ``[lo, hi]`` (``g(lo)``, ``g(hi)`` of opposite signs), to the last bit.

    Halves the bracket until its midpoint equals one of its ends (adjacent floats), then
    returns the end with the smaller ``|g|``: no fixed iteration count.
    """
    g_lo = g(lo)
    if g_lo == 0.0:
        return lo
    while True:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        g_mid = g(mid)
        if g_mid == 0.0:
            return mid
        if (g_mid > 0) == (g_lo > 0):
            lo, g_lo = mid, g_mid
        else:
            hi = mid
    return lo if abs(g(lo)) <= abs(g(hi)) else hi


def solve_u_minus_log_u(a: float) -> tuple[float, float]:
    """Both roots ``u_- <= 1 <= u_+`` of ``u - log u = a`` for ``a >= 1``.

    ``u_+ = -W_{-1}(-e^{-a})`` and ``u_- = -W_0(-e^{-a})`` (Lambert W); both are found by
    bisection to machine precision: ``u_+`` in ``[a, 2a]`` (``g(u) = u - log u - a`` increases
    for ``u > 1``, ``g(a) = -log a <= 0``, ``g(2a) = a - log 2a > 0``), ``u_- = e^s`` with ``s``
    in ``[-a - 1, 0]`` solving ``e^s - s = a`` (no underflow for large ``a``).

    Args:
        a: the right-hand side, ``>= 1`` (finite).

    Returns:
        ``(u_minus, u_plus)``; both are 1 when ``a == 1``.

    Raises:
        ConfigError: if ``a < 1`` (no root) or ``a`` is not finite.
    """
    if not isinstance(a, (int, float)) or not math.isfinite(a) or a < 1.0:
        raise ConfigError(f"a must be a finite number >= 1 (u - log u >= 1); got {a!r}")
    if a == 1.0:
        return 1.0, 1.0
    u_plus = _bisect(lambda u: u - math.log(u) - a, a, 2.0 * a)
    s = _bisect(lambda s: math.exp(s) - s - a, -a - 1.0, 0.0)
    return math.exp(s), u_plus


def beta_condition_gap(beta: float, separation: float, n_patterns: int, max_norm: float) -> float:
    """``Delta - [2 / (beta P) + beta^-1 log(2 (P - 1) P beta M^2)]`` (Prop. 3.4).

    Non-negative exactly when Prop. 3.4's condition holds for a pattern of separation
    ``Delta``; zero at the roots returned by :func:`select_beta`.

    Args:
        beta: inverse temperature (> 0). separation: ``Delta_i``. n_patterns: ``P >= 2``.
        max_norm: ``M > 0``.

    Returns:
        The gap as a float.

    Raises:
        ConfigError: for ``beta <= 0``, ``P < 2`` or ``M <= 0``.
    """
    check_positive("beta", beta)
    check_positive("max_norm", max_norm)
    if not isinstance(n_patterns, int) or n_patterns < 2:
        raise ConfigError(f"n_patterns must be an integer >= 2; got {n_patterns!r}")
    p = n_patterns
    rhs = 2.0 / (beta * p) + math.log(2.0 * (p - 1) * p * beta * max_norm**2) / beta
    return float(separation) - rhs


def select_beta(patterns: Tensor) -> BetaSelection:
    """Solve Prop. 3.4's condition ``Delta_min >= 2/(beta P) + beta^-1 log(2(P-1) P beta M^2)``.

    With ``u = beta Delta_min`` the condition is ``u - log u >= a``,
    ``a = 2/P + log(2 (P - 1) P M^2 / Delta_min)`` (notes Sec. 3.3, Remark after Prop. 3.4, and
    Sec. 4.4). The retrieval branch starts at the larger root ``u_+`` of ``u - log u = a``,
    found to machine precision (:func:`solve_u_minus_log_u`); ``beta = u_+ / Delta_min`` is the
    smallest ``beta`` for which every sphere ``S_i`` is mapped into itself.

    Args:
        patterns: ``(P, N)`` stored patterns, ``P >= 2``, every ``Delta_i > 0``.

    Returns:
        :class:`BetaSelection` with ``beta``, ``beta_minus``, the radius ``1/(beta P M)``, the
        separations, ``M`` and the root.

    Raises:
        ConfigError: for fewer than 2 patterns, non-finite patterns, or ``Delta_min <= 0``
            (some pattern is not separated from another: no ``beta`` satisfies the condition).
    """
    if not isinstance(patterns, Tensor) or patterns.dim() != 2 or patterns.shape[0] < 2:
        shape = tuple(patterns.shape) if isinstance(patterns, Tensor) else type(patterns)
        raise ConfigError(f"patterns must be a (P, N) tensor with P >= 2; got {shape}")
    if not bool(torch.isfinite(patterns).all()):
        raise ConfigError("patterns must be finite; they contain NaN or Inf")
    X = patterns.detach().double()
    sep = separation(X)
    d_min = float(sep.min())
    if not d_min > 0:
        i = int(sep.argmin())
        raise ConfigError(
            f"separation Delta_min must be > 0 for Prop. 3.4's beta; got Delta_{i} = {d_min!r}"
        )
    p = X.shape[0]
    m = float(torch.linalg.vector_norm(X, dim=1).max())
    a = 2.0 / p + math.log(2.0 * (p - 1) * p * m**2 / d_min)
    always = a <= 1.0
    u_minus, u_plus = (1.0, 1.0) if always else solve_u_minus_log_u(a)
    beta = u_plus / d_min
    return BetaSelection(
        beta=beta,
        beta_minus=u_minus / d_min,
        radius=1.0 / (beta * p * m),
        separation=sep,
        max_norm=m,
        n_patterns=p,
        a=a,
        u=u_plus,
        always_satisfied=always,
    )


SEPARATION_CHUNK_ELEMENTS = 1 << 22
"""Entries of the Gram block ``X_c X^T`` that :func:`separation` holds at once (32 MiB in
float64): ``chunk = max(1, SEPARATION_CHUNK_ELEMENTS // P)`` rows, so memory is ``O(P chunk)``
instead of the ``P x P`` Gram matrix (20 GB in float64 at ``P = 50,000``)."""


def separation(patterns: Tensor, *, chunk: int | None = None) -> Tensor:
    """``Delta_i = x_i.x_i - max_{j != i} x_i.x_j`` for the rows of ``X`` (Def. 3.3.2): ``(P,)``.

    Computed over row blocks ``X_c X^T`` (``(chunk, P)``), never the whole ``P x P`` Gram
    matrix. Each entry is the same dot product as in ``X X^T`` (one BLAS product per block),
    so the result equals the dense form to rounding (bitwise where the products are exact,
    e.g. for ±1 patterns). Differentiable like the dense form (trainable patterns).

    Args:
        patterns: ``(P, N)`` rows ``x_i`` (any floating dtype; computed in it).
        chunk: rows per block (>= 1); default ``max(1, 2**22 // P)``
            (:data:`SEPARATION_CHUNK_ELEMENTS`).

    Returns:
        ``(P,)`` separations; ``inf`` for ``P = 1``.

    Raises:
        ConfigError: if ``patterns`` is not a 2-D tensor or ``chunk < 1``.
    """
    if not isinstance(patterns, Tensor) or patterns.dim() != 2:
        got = tuple(patterns.shape) if isinstance(patterns, Tensor) else type(patterns).__name__
        raise ConfigError(f"patterns must be a (P, N) tensor; got {got}")
    X = patterns
    p = X.shape[0]
    if p == 1:
        return torch.full((1,), float("inf"), dtype=X.dtype, device=X.device)
    if chunk is None:
        chunk = max(1, SEPARATION_CHUNK_ELEMENTS // p)
    check_int("chunk", chunk, 1)
    out = torch.empty(p, dtype=X.dtype, device=X.device)
    for start in range(0, p, chunk):
        stop = min(start + chunk, p)
        g = X[start:stop] @ X.T  # (c, P): rows start..stop of the Gram matrix
        rows = torch.arange(stop - start, device=X.device)
        cols = rows + start
        own = g[rows, cols]  # (c,) x_i . x_i
        g[rows, cols] = -math.inf  # j != i
        out[start:stop] = own - g.max(dim=1).values
    return out


class ModernHopfield(HopfieldModel):
    """Modern Hopfield memory ``xi <- X^T softmax(beta X xi)`` (notes ch. 3).

    Args:
        patterns: stored patterns ``(P, N)``, finite, ``P >= 1``.
        beta: inverse temperature (> 0). Default 1. :func:`select_beta` gives the value of
            Prop. 3.4 for a pattern set.
        trainable: make the patterns an ``nn.Parameter`` (otherwise a buffer).

    Raises:
        ConfigError: for a non-2-D or non-finite pattern matrix or ``beta <= 0``.
    """

    def __init__(self, patterns: Tensor, beta: float = 1.0, *, trainable: bool = False) -> None:
        super().__init__()
        if not isinstance(patterns, Tensor) or patterns.dim() != 2 or patterns.shape[0] < 1:
            shape = tuple(patterns.shape) if isinstance(patterns, Tensor) else type(patterns)
            raise ConfigError(f"patterns must be a (P, N) tensor with P >= 1; got {shape}")
        if not bool(torch.isfinite(patterns).all()):
            raise ConfigError("patterns must be finite; they contain NaN or Inf")
        check_positive("beta", beta)
        self.beta = float(beta)
        self.state_dim = patterns.shape[1]
        if trainable:
            self.patterns = nn.Parameter(patterns.clone())
        else:
            self.register_buffer("patterns", patterns.clone())

    # --- shapes and constants ----------------------------------------------------------------

    def _check(self, x: Tensor, name: str = "x") -> None:
        """Raise ConfigError unless ``x`` is a tensor ``(..., N)`` of the patterns' dtype."""
        if not isinstance(x, Tensor):
            raise ConfigError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
        if x.dim() < 1 or x.shape[-1] != self.state_dim:
            raise ConfigError(f"{name} must have shape (B, {self.state_dim}); got {tuple(x.shape)}")
        if x.dtype != self.patterns.dtype:
            raise ConfigError(
                f"{name} must have the model's dtype {self.patterns.dtype} (convert one of them "
                f"with .to(dtype)); got {x.dtype}"
            )

    @property
    def n_patterns(self) -> int:
        return int(self.patterns.shape[0])

    @property
    def max_norm(self) -> Tensor:
        """``M = max_i |x_i|``."""
        return torch.linalg.vector_norm(self.patterns, dim=1).max()

    @property
    def centered_max_norm(self) -> Tensor:
        """``m_max = max_i |x_i - m_X|`` with ``m_X`` the pattern mean (Def. 3.3.1)."""
        return torch.linalg.vector_norm(self.patterns - self.patterns.mean(0), dim=1).max()

    # --- dynamics ----------------------------------------------------------------------------

    def probabilities(self, x: Tensor) -> Tensor:
        """``p = softmax(beta X xi)``: ``(B, N) -> (B, P)``."""
        self._check(x)
        return torch.softmax(self.beta * x @ self.patterns.T, dim=-1)  # (B, P)

    def update(self, x: Tensor) -> Tensor:
        """One retrieval step ``X^T softmax(beta X xi)`` (Eq. 3.5): ``(B, N) -> (B, N)``.

        It is the CCCP step of Prop. 3.1, ``argmin_v`` :meth:`cccp_surrogate` ``(v, xi)``, so
        the energy never increases along it (Prop. 3.2).
        """
        return self.probabilities(x) @ self.patterns  # (B, N)

    def energy(self, x: Tensor) -> Tensor:
        """Energy of Eq. 3.4 per sample: ``(B, N) -> (B,)``, non-negative (Lemma 3.2.1)."""
        return self.energy_concave(x) + self.energy_convex(x)

    def energy_concave(self, x: Tensor) -> Tensor:
        """Concave part ``E^-(xi) = -lse(beta, X xi)`` of Eq. 3.7: ``(B, N) -> (B,)``."""
        self._check(x)
        return -torch.logsumexp(self.beta * x @ self.patterns.T, dim=-1) / self.beta  # (B,)

    def energy_convex(self, x: Tensor) -> Tensor:
        """Convex part ``E^+(xi) = xi.xi/2 + beta^-1 log P + M^2/2`` of Eq. 3.7: ``(B,)``."""
        self._check(x)
        const = math.log(self.n_patterns) / self.beta + 0.5 * self.max_norm**2
        return 0.5 * (x * x).sum(-1) + const

    def cccp_surrogate(self, x: Tensor, anchor: Tensor) -> Tensor:
        """Convex majoriser of Prop. 3.1-3.2, ``f(xi, xi_t) = E^+(xi) + E^-(xi_t) +
        (xi - xi_t).grad E^-(xi_t)`` with ``grad E^-(xi_t) = -X^T softmax(beta X xi_t)``.

        ``f(xi, xi_t) >= E(xi)`` (``E^-`` is concave), ``f(xi_t, xi_t) = E(xi_t)``, and its
        unique minimiser over ``xi`` is :meth:`update` ``(xi_t)``; together
        ``E(xi_{t+1}) <= f(xi_{t+1}, xi_t) <= f(xi_t, xi_t) = E(xi_t)``.

        Args:
            x: ``(B, N)`` points ``xi``. anchor: ``(B, N)`` linearisation points ``xi_t``.

        Returns:
            ``(B,)`` values of the surrogate.
        """
        self._check(anchor, "anchor")
        if x.shape != anchor.shape:
            raise ConfigError(
                f"x and anchor must have the same shape; got {tuple(x.shape)} and "
                f"{tuple(anchor.shape)}"
            )
        grad_minus = -self.update(anchor)  # (B, N)
        lin = ((x - anchor) * grad_minus).sum(-1)
        return self.energy_convex(x) + self.energy_concave(anchor) + lin

    def energy_bounds(self, x: Tensor) -> EnergyBounds:
        """Bounds on :meth:`energy` at ``x`` (Lemmas 3.2.1 and 3.2.2).

        From Eq. 3.6, with ``d(xi) = min_i (|xi - x_i|^2 + M^2 - |x_i|^2) / 2 >= 0`` (the mean
        over ``i`` of ``exp(-beta d_i)`` lies between ``max_i / P`` and ``max_i``)::

            0 <= d(xi) <= E(xi) <= d(xi) + beta^-1 log P    for every xi,

        the left inequality being Lemma 3.2.1's proof. On the convex hull of the patterns
        (where every update lands) Lemma 3.2.2 adds ``E <= 2 M^2`` and
        ``E <= beta^-1 log P + M^2 / 2``.

        Args:
            x: ``(B, N)`` states.

        Returns:
            :class:`EnergyBounds`.
        """
        self._check(x)
        m2 = self.max_norm**2
        sq = torch.cdist(x, self.patterns) ** 2  # (B, P)
        d = 0.5 * (sq + m2 - (self.patterns * self.patterns).sum(-1)).min(-1).values  # (B,)
        log_p = math.log(self.n_patterns) / self.beta
        return EnergyBounds(
            lower=d.clamp_min(0.0),
            upper=d + log_p,
            hull_i=float(2.0 * m2),
            hull_ii=float(log_p + 0.5 * m2),
        )

    def energy_grad(self, x: Tensor) -> Tensor:
        """Closed form ``grad E = xi - X^T softmax(beta X xi)``."""
        return x - self.update(x)

    def vector_field(self, t: Tensor | float, x: Tensor) -> Tensor:
        """Gradient flow ``d xi/dt = -grad E = update(xi) - xi``."""
        return self.update(x) - x

    # --- local analysis (Sec. 3.3) -----------------------------------------------------------

    def jacobian(self, x: Tensor) -> Tensor:
        """Closed-form Jacobian of the update, ``beta X^T (diag p - p p^T) X``: ``(B, N, N)``.

        Sec. 3.3 (Lemma 3.3.1: ``beta`` times the covariance of the patterns under ``p``).
        """
        p = self.probabilities(x)  # (B, P)
        Xp = self.patterns.T.unsqueeze(0) * p.unsqueeze(1)  # (B, N, P) = X^T diag(p)
        mean = p @ self.patterns  # (B, N) = X^T p
        return self.beta * (Xp @ self.patterns - mean.unsqueeze(2) * mean.unsqueeze(1))

    def jacobian_bound(self, which: Literal["notes", "norm"] = "notes") -> float:
        """Upper bound on the spectral norm of the update's Jacobian, valid at every state.

        Args:
            which: ``"notes"`` (default): ``beta m_max^2`` with ``m_max = max_i |x_i - m_X|``
                (Prop. 3.3 as the notes state it); ``"norm"``: ``beta M^2`` with
                ``M = max_i |x_i|`` (the covariance under ``p`` has trace at most ``M^2``).
                If the bound is below 1 the update is a contraction with a unique fixed point.

        Returns:
            The bound as a float.
        """
        check_choice("which", which, ("notes", "norm"))
        m = self.centered_max_norm if which == "notes" else self.max_norm
        return float(self.beta * m**2)

    def separation(self) -> Tensor:
        """``Delta_i = x_i.x_i - max_{j != i} x_i.x_j`` (Def. 3.3.2): ``(P,)``; inf for P = 1."""
        return separation(self.patterns)

    def query_separation(self, x: Tensor, index: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Separation of queries from a pattern, ``c_i(xi) = min_{j != i} (xi.x_i - xi.x_j)``.

        Def. 3.3.2 (second part): by default ``i = argmax_k c_k(xi)``, i.e. the pattern with
        the largest overlap ``xi.x_k``, and ``c`` is the gap to the runner-up (>= 0).

        Args:
            x: ``(B, N)`` queries.
            index: optional ``(B,)`` pattern indices ``i`` (``c`` may then be negative).

        Returns:
            ``(c, index)``, both ``(B,)``; ``c = inf`` when ``P = 1``.
        """
        self._check(x)
        s = x @ self.patterns.T  # (B, P)
        if index is None:
            index = s.argmax(dim=-1)
        elif not isinstance(index, Tensor) or index.shape != s.shape[:-1]:
            got = tuple(index.shape) if isinstance(index, Tensor) else type(index).__name__
            raise ConfigError(f"index must be a tensor of shape {tuple(s.shape[:-1])}; got {got}")
        own = s.gather(-1, index.unsqueeze(-1)).squeeze(-1)  # (B,)
        if self.n_patterns == 1:
            return torch.full_like(own, math.inf), index
        others = s.scatter(-1, index.unsqueeze(-1), -math.inf)  # (B, P) with x_i masked
        return own - others.max(dim=-1).values, index

    def one_step_error_bound(self, x: Tensor, index: Tensor | None = None) -> Tensor:
        """Lemma 3.3.2: ``|x_i - f(xi)| <= 2 eps M``, ``eps = (P - 1) exp(-beta c_i(xi))``.

        Args:
            x: ``(B, N)`` queries.
            index: optional ``(B,)`` pattern indices; default the best-separated pattern
                (see :meth:`query_separation`).

        Returns:
            ``(B,)`` bound on the distance between one update of ``xi`` and ``x_i`` (0 when
            ``P = 1``, where the update returns ``x_1``).
        """
        c, _ = self.query_separation(x, index)
        if self.n_patterns == 1:
            return torch.zeros_like(c)
        eps = (self.n_patterns - 1) * torch.exp(-self.beta * c)
        return 2.0 * eps * self.max_norm

    def sphere_radius(self) -> float:
        """Radius ``1 / (beta P M)`` of the spheres ``S_i`` around the patterns (Def. 3.3.3)."""
        return 1.0 / (self.beta * self.n_patterns * float(self.max_norm))

    def sphere_index(self, x: Tensor) -> Tensor:
        """Index ``i`` of the sphere ``S_i`` that contains ``xi``, or -1: ``(B, N) -> (B,)``.

        When spheres overlap the nearest pattern's is returned.
        """
        self._check(x)
        dist = torch.cdist(x, self.patterns)  # (B, P)
        d, i = dist.min(dim=-1)
        return torch.where(d <= self.sphere_radius(), i, torch.full_like(i, -1))

    def beta_condition_gap(self) -> Tensor:
        """Per pattern, ``Delta_i - [2/(beta P) + beta^-1 log(2(P-1) P beta M^2)]`` at this
        model's ``beta`` (Prop. 3.4): ``(P,)``, >= 0 where the sphere ``S_i`` maps into itself.

        Raises:
            ConfigError: for ``P = 1`` (the condition needs ``P >= 2``).
        """
        if self.n_patterns < 2:
            raise ConfigError(f"Prop. 3.4 needs P >= 2 patterns; got P = {self.n_patterns}")
        p, b = self.n_patterns, self.beta
        rhs = 2.0 / (b * p) + math.log(2.0 * (p - 1) * p * b * float(self.max_norm) ** 2) / b
        return self.separation() - rhs

    def select_beta(self) -> BetaSelection:
        """:func:`select_beta` for this model's patterns (its own ``beta`` is not used)."""
        return select_beta(self.patterns)

    # --- retrieval ---------------------------------------------------------------------------

    def nearest(self, x: Tensor) -> Tensor:
        """Index of the stored pattern closest in Euclidean distance: ``(B, N) -> (B,)``."""
        return torch.cdist(x, self.patterns).argmin(dim=1)

    def retrieve(
        self, query: Tensor, options: FixedPointOptions | None = None, **kwargs: Any
    ) -> SolverResult:
        """Run the update to a fixed point from ``query`` (memory retrieval).

        ``fixed_point(self.update, query, options)`` with two defaults this model knows:
        rows are independent (``batch_independent=True``: only unconverged rows are
        updated), and Anderson with the residual safeguard is given the energy as ``merit``:
        accepted accelerated steps never raise ``E``, so it settles where Picard's descent
        does instead of in a saddle (metastable mixture). Pass ``merit=None`` as a keyword to
        opt out.

        Args:
            query: ``(B, N)`` or ``(N,)`` initial states (corrupted patterns).
            options: the solver; default ``FixedPointOptions(tol=1e-6)`` (Picard, relative
                residual 1e-6, 100 updates).
            **kwargs: option changes (``method="anderson"``, ``tol=...``, ``merit=None``) and
                :func:`~hopfield_lab.solvers.fixed_point`'s per-call arguments
                (``record_trajectory=True``, ``energy=model.energy``, ``on_divergence``).

        Returns:
            SolverResult; ``x`` has the query's batch shape ``(B, N)``.

        Raises:
            ConfigError: for a badly shaped query or invalid options.
        """
        x, _ = as_batch(query, self.state_dim, name="query")
        changes = {k: v for k, v in kwargs.items() if k in _OPTION_FIELDS}
        per_call = {k: v for k, v in kwargs.items() if k not in _OPTION_FIELDS}
        opts = FixedPointOptions.of(RETRIEVE_DEFAULT if options is None else options, **changes)
        step = _RetrievalStep(self) if _RetrievalStep.applies(self) else None
        if (
            "merit" not in changes
            and opts.merit is None
            and opts.method == "anderson"
            and opts.safeguard == "residual"
        ):  # accepted steps descend E (computed from the logits of the update at that state)
            opts = opts.replace(merit=self.energy if step is None else step.energy)
        elif step is not None:
            step.keep = False  # no merit reads the logits
        per_call.setdefault("batch_independent", True)  # rows of the update do not interact
        return fixed_point(self.update if step is None else step, x, opts, **per_call)


def _version(x: Tensor) -> int | None:
    """``x``'s version counter (bumped by in-place writes); None for inference tensors."""
    return None if x.is_inference() else x._version


class _RetrievalStep:
    """The update and the energy of one :meth:`ModernHopfield.retrieve` call, sharing logits.

    ``step(x)`` is :meth:`ModernHopfield.update` (``X^T softmax(s)``, ``s = beta X x``) and
    keeps ``(x, s)``; ``step.energy(x)`` is :meth:`ModernHopfield.energy`
    (``-lse(s) / beta + x.x / 2 + beta^-1 log P + M^2 / 2``) and reuses ``s`` when ``x`` is
    the tensor the update was last called with, unchanged since (same object, same version
    counter): the Anderson safeguard asks for the energy of the iterate ``f`` was just
    evaluated at, so its merit costs no second pattern product. Both compute exactly the
    model's expressions (same operations, same order), so the values are bitwise the model's.
    The constant ``beta^-1 log P + M^2 / 2`` is computed once per call (the patterns do not
    change during a solve).
    """

    def __init__(self, model: ModernHopfield) -> None:
        self.model = model
        self.patterns = model.patterns
        self.beta = model.beta
        self.keep = True  # keep (x, s) of the last call for energy()
        self._const: Tensor | None = None
        self._x: Tensor | None = None
        self._s: Tensor | None = None
        self._version: int | None = -1

    @staticmethod
    def applies(model: ModernHopfield) -> bool:
        """Whether ``model`` computes update and energy as :class:`ModernHopfield` does (a
        subclass that overrides them keeps its own methods)."""
        cls = type(model)
        return all(
            getattr(cls, name) is getattr(ModernHopfield, name)
            for name in ("update", "probabilities", "energy", "energy_concave", "energy_convex")
        )

    def __call__(self, x: Tensor) -> Tensor:
        s = self.beta * x @ self.patterns.T  # (B, P)
        if self.keep:
            self._x, self._s, self._version = x, s, _version(x)
        return torch.softmax(s, dim=-1) @ self.patterns  # (B, N)

    @property
    def const(self) -> Tensor:
        """``beta^-1 log P + M^2 / 2``, computed once (the patterns are fixed during a solve)."""
        if self._const is None:
            m = self.model
            with torch.no_grad():
                self._const = math.log(m.n_patterns) / m.beta + 0.5 * m.max_norm**2
        return self._const

    def energy(self, x: Tensor) -> Tensor:
        version = _version(x)  # None (inference tensor): no way to see writes, recompute
        if (
            x is self._x
            and version is not None
            and version == self._version
            and self._s is not None
        ):
            s = self._s.detach()
        else:
            s = self.beta * x @ self.patterns.T  # (B, P)
        return -torch.logsumexp(s, dim=-1) / self.beta + (0.5 * (x * x).sum(-1) + self.const)
