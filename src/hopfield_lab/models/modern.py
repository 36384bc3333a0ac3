"""The modern (continuous, softmax) Hopfield network of the lecture notes, chapter 3.

Stored patterns are the rows of ``X`` with shape ``(P, N)`` (the notes write them as the columns
of an ``N x P`` matrix; we keep batch-first rows). For a state ``xi`` in ``R^N``:

* similarities ``s = beta X xi`` ``(P,)`` and probabilities ``p = softmax(s)``;
* update (notes Def. 3.1.2, Eq. 3.5): ``xi_new = X^T p = X^T softmax(beta X xi)``, a convex
  combination of the patterns;
* energy (notes Def. 3.1.1, Eq. 3.4), with ``lse(beta, v) = beta^-1 log sum_i exp(beta v_i)``
  and ``M = max_i |x_i|``::

      E(xi) = -lse(beta, X xi) + xi.xi / 2 + beta^-1 log P + M^2 / 2,

  which is >= 0 everywhere (Lemma 3.2.1) and <= beta^-1 log P + M^2 / 2 on the convex hull of
  the patterns (Lemma 3.2.2 ii);
* the update is the CCCP step of ``E = E_concave + E_convex`` (Prop. 3.1), so ``E`` never
  increases along ``xi_{t+1} = update(xi_t)`` (Prop. 3.2), and ``grad E = xi - update(xi)``:
  the vector field ``update(xi) - xi`` is the exact gradient flow ``-grad E``;
* Jacobian of the update (notes Sec. 3.3): ``J = beta X^T (diag p - p p^T) X`` ``(N, N)``,
  symmetric positive semi-definite, with ``|J|_2 <= beta M^2`` (Prop. 3.3 bounds it by
  ``beta m_max^2``);
* separation of pattern ``i`` (Def. 3.3.1): ``Delta_i = x_i.x_i - max_{j != i} x_i.x_j``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from hopfield_lab.core.dynamics import HopfieldModel, as_batch
from hopfield_lab.errors import ConfigError, check_positive
from hopfield_lab.solvers.fixed_point import fixed_point
from hopfield_lab.solvers.result import SolverResult

__all__ = ["ModernHopfield"]


class ModernHopfield(HopfieldModel):
    """Modern Hopfield memory ``xi <- X^T softmax(beta X xi)`` (notes ch. 3).

    Args:
        patterns: stored patterns ``(P, N)``, finite, ``P >= 1``.
        beta: inverse temperature (> 0). Default 1.
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

    @property
    def n_patterns(self) -> int:
        return int(self.patterns.shape[0])

    @property
    def max_norm(self) -> Tensor:
        """``M = max_i |x_i|``."""
        return torch.linalg.vector_norm(self.patterns, dim=1).max()

    def probabilities(self, x: Tensor) -> Tensor:
        """``p = softmax(beta X xi)``: ``(B, N) -> (B, P)``."""
        return torch.softmax(self.beta * x @ self.patterns.T, dim=-1)  # (B, P)

    def update(self, x: Tensor) -> Tensor:
        """One retrieval step ``X^T softmax(beta X xi)`` (Eq. 3.5): ``(B, N) -> (B, N)``."""
        return self.probabilities(x) @ self.patterns  # (B, N)

    def energy(self, x: Tensor) -> Tensor:
        """Energy of Eq. 3.4 per sample: ``(B, N) -> (B,)``, non-negative."""
        lse = torch.logsumexp(self.beta * x @ self.patterns.T, dim=-1) / self.beta  # (B,)
        m2 = torch.linalg.vector_norm(self.patterns, dim=1).max() ** 2
        return -lse + 0.5 * (x * x).sum(-1) + math.log(self.n_patterns) / self.beta + 0.5 * m2

    def energy_grad(self, x: Tensor) -> Tensor:
        """Closed form ``grad E = xi - X^T softmax(beta X xi)``."""
        return x - self.update(x)

    def vector_field(self, t: Tensor | float, x: Tensor) -> Tensor:
        """Gradient flow ``d xi/dt = -grad E = update(xi) - xi``."""
        return self.update(x) - x

    def jacobian(self, x: Tensor) -> Tensor:
        """Closed-form Jacobian of the update, ``beta X^T (diag p - p p^T) X``: ``(B, N, N)``."""
        p = self.probabilities(x)  # (B, P)
        Xp = self.patterns.T.unsqueeze(0) * p.unsqueeze(1)  # (B, N, P) = X^T diag(p)
        mean = p @ self.patterns  # (B, N) = X^T p
        return self.beta * (Xp @ self.patterns - mean.unsqueeze(2) * mean.unsqueeze(1))

    def jacobian_bound(self) -> float:
        """Upper bound ``beta M^2`` on the spectral norm of the Jacobian (notes Prop. 3.3)."""
        return float(self.beta * self.max_norm**2)

    def separation(self) -> Tensor:
        """``Delta_i = x_i.x_i - max_{j != i} x_i.x_j`` (Def. 3.3.1): ``(P,)``."""
        g = self.patterns @ self.patterns.T  # (P, P)
        if self.n_patterns == 1:
            return torch.full((1,), float("inf"), dtype=g.dtype, device=g.device)
        off = g.masked_fill(
            torch.eye(self.n_patterns, dtype=torch.bool, device=g.device), -math.inf
        )
        return torch.diagonal(g) - off.max(dim=1).values

    def nearest(self, x: Tensor) -> Tensor:
        """Index of the stored pattern closest in Euclidean distance: ``(B, N) -> (B,)``."""
        return torch.cdist(x, self.patterns).argmin(dim=1)

    def retrieve(
        self,
        query: Tensor,
        *,
        method: str = "picard",
        tol: float = 1e-6,
        max_iter: int = 100,
        **solver_kwargs: Any,
    ) -> SolverResult:
        """Run the update to a fixed point from ``query``.

        Args:
            query: ``(B, N)`` or ``(N,)`` initial states (corrupted patterns).
            method: fixed-point method (``picard``, ``damped``, ``anderson``). Anderson is
                safeguarded by the energy by default (``merit=self.energy``): accepted
                accelerated steps never raise ``E``, so it settles where Picard's descent
                does instead of in a saddle; pass ``merit=None`` for the plain safeguard.
            tol: relative residual tolerance. max_iter: maximal updates.
            **solver_kwargs: forwarded to :func:`~hopfield_lab.solvers.fixed_point`
                (e.g. ``record_trajectory=True``, ``energy=model.energy``).

        Returns:
            SolverResult; ``x`` has the query's batch shape ``(B, N)``.
        """
        x, _ = as_batch(query, self.state_dim, name="query")
        solver_kwargs.setdefault("batch_independent", True)  # rows of the update do not interact
        if method == "anderson":
            solver_kwargs.setdefault("merit", self.energy)  # accepted steps descend E
        return fixed_point(
            self.update,
            x,
            method=method,  # type: ignore[arg-type]
            tol=tol,
            max_iter=max_iter,
            **solver_kwargs,
        )
