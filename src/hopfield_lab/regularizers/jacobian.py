"""Jacobian norms and penalties of the finite-step paper (Sec. 3-4, App. B): JacQ, JacF, Lip.

Everything here is a function of the weights ``M`` ``(N, d)`` and of ``dsigma = sigma'(M v)``
``(B, N)`` at ``B`` states, never of a model. For a monotone activation ``dsigma >= 0`` and
the Jacobian of ``T(v) = M^T sigma(M v)``,

    J = M^T D M,   D = diag(dsigma)   (d x d, Eq. 6),

is symmetric positive semi-definite, so ``|J|_2 = lambda_max(J)``. With the Gram matrix
``G = M M^T`` ``(N, N)`` every quantity lives in the ``N``-dimensional hidden space:

* ``lambda_max(J) = lambda_max(S)``, ``S = D^1/2 G D^1/2`` (``N x N``; ``J = A^T A`` and
  ``S = A A^T`` with ``A = D^1/2 M``);
* ``|J|_F^2 = tr((D G)^2) = sum_ij d_i G_ij^2 d_j``.

Spectral norm, three methods (:func:`jacobian_spectral_norm`):

* ``"exact"``: ``torch.linalg.eigvalsh`` of a ``k x k`` matrix per state, ``k = min(N, d)``,
  differentiable twice. We take ``R D R^T`` with ``M^T = Q R`` (reduced QR, ``R`` ``(k, N)``,
  ``R^T R = G``), which has the nonzero spectrum of ``J`` and is linear in ``dsigma``, rather
  than ``S``, whose ``D^1/2`` has an infinite derivative where ``dsigma -> 0`` (saturated tanh,
  dead ReLU units) and turns the gradient into NaN or overflow there.
* ``"power"`` and ``"lanczos"``: iterate on ``S u = s * ((s * u) @ G)`` with ``s = dsigma^1/2``
  and ``G`` computed once per call and shared over the batch, under ``no_grad``; ``"lanczos"``
  runs the three-term Lanczos recurrence and takes the top Ritz vector (the top eigenvector of
  the small tridiagonal matrix is found by repeated squaring: no batched ``eigh``, which is
  slow for many small matrices). The returned value is the Rayleigh quotient of ``J`` at the final
  vector ``x = M^T D^1/2 u`` (``x`` detached)::

      rho(x) = x^T J x / x^T x = sum_n d_n (G w)_n^2 / (w^T G w),   w = s * u,

  computed from ``G`` with gradients into ``M`` and ``dsigma``. It is a lower bound of
  ``lambda_max``, equal to it at the top eigenvector, where its gradient is the gradient of
  ``lambda_max`` (Hellmann-Feynman: ``d lambda = x^T dJ x / x^T x``). Its second derivative
  ignores the eigenvector's motion: use ``"exact"`` when double backward through the norm
  matters. :class:`SpectralNormEstimator` keeps the final vectors and warm-starts the next call.

Penalties: :func:`jacq_penalty` (Eq. 9), :func:`jacf_penalty` and :func:`lip_penalty` (the
baselines of Sec. 5), and :func:`descent_condition` (Eq. 8, App. B.2).
"""

from __future__ import annotations

import math
from typing import Any, Literal, overload

import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_choice, check_int, check_positive, check_range

__all__ = [
    "DEFAULT_ITERS",
    "JACQ_WARM_ITERS",
    "SPECTRAL_METHODS",
    "SpectralNormEstimator",
    "descent_condition",
    "jacf_penalty",
    "jacobian_frobenius_norm",
    "jacobian_spectral_norm",
    "jacq_estimator",
    "jacq_penalty",
    "lip_penalty",
]

SPECTRAL_METHODS = ("exact", "power", "lanczos")
DEFAULT_ITERS = {"power": 500, "lanczos": 28}
"""Default iterations (products with ``S`` per state). The hard spectra are those without a gap
at the top: random weights at init (the top edge of a Marchenko-Pastur bulk) and weights
trained with JacQ (which flattens the top). There, from a random start in float32, Lanczos
errs by up to 2-3% after 16 steps, 1% after 24 and about 1e-3 after 28 (max over hundreds of
states); power iteration still errs by 1-2% after 200 steps."""

_SQUARINGS = 10  # repeated squarings of the Lanczos matrix: power 2^10 = 1024
_START_SEED = 0  # cold starts are drawn from this seed, so results are reproducible


def _check_weights(M: Tensor) -> None:
    if not isinstance(M, Tensor) or M.dim() != 2 or not M.is_floating_point():
        what = tuple(M.shape) if isinstance(M, Tensor) else type(M).__name__
        raise ConfigError(f"M must be a floating (N, d) tensor; got {what}")


def _check_inputs(M: Tensor, dsigma: Tensor) -> None:
    """``M`` ``(N, d)`` and ``dsigma`` ``(B, N)``, ``B >= 1``, same dtype and device, >= 0."""
    _check_weights(M)
    n = M.shape[0]
    if not isinstance(dsigma, Tensor) or dsigma.dim() != 2 or dsigma.shape[1] != n:
        what = tuple(dsigma.shape) if isinstance(dsigma, Tensor) else type(dsigma).__name__
        raise ConfigError(f"dsigma must have shape (B, N) = (B, {n}) to match M; got {what}")
    if dsigma.shape[0] < 1:
        raise ConfigError("dsigma must hold at least one state (B >= 1); got B = 0")
    if dsigma.dtype != M.dtype or dsigma.device != M.device:
        raise ConfigError(
            f"dsigma and M must share dtype and device; got {dsigma.dtype}/{dsigma.device} "
            f"and {M.dtype}/{M.device}"
        )
    if bool((dsigma < 0).any()):
        raise ConfigError(
            "dsigma must be >= 0 (a monotone activation, so that J = M^T diag(dsigma) M is "
            "positive semi-definite); got negative entries"
        )


def _unit(u: Tensor) -> Tensor:
    """Rows scaled to unit norm (zero rows stay zero)."""
    tiny = torch.finfo(u.dtype).tiny
    return u / torch.linalg.vector_norm(u, dim=-1, keepdim=True).clamp_min(tiny)


def _random_start(shape: tuple[int, ...], like: Tensor) -> Tensor:
    gen = torch.Generator().manual_seed(_START_SEED)
    return torch.randn(shape, generator=gen, dtype=like.dtype).to(like.device)


def _exact(M: Tensor, dsigma: Tensor, want_vectors: bool) -> tuple[Tensor, Tensor | None]:
    """``lambda_max`` of ``R D R^T`` per state, and optionally the top eigenvectors of ``S``."""
    R = torch.linalg.qr(M.mT, mode="reduced").R  # (k, N), R^T R = M M^T, k = min(N, d)
    C = (R * dsigma.unsqueeze(-2)) @ R.mT  # (B, k, k) = R D R^T, same nonzero spectrum as J
    if not want_vectors:
        return torch.linalg.eigvalsh(C)[..., -1], None
    lam, Z = torch.linalg.eigh(C)
    z = Z[..., -1]  # (B, k)
    # eigenvector of S = D^1/2 G D^1/2 for the same eigenvalue: u ~ D^1/2 R^T z
    u = _unit(dsigma.detach().sqrt() * (z.detach() @ R.detach()))  # (B, N)
    return lam[..., -1], u


def _power(G: Tensor, s: Tensor, u: Tensor, iters: int) -> Tensor:
    """``iters`` steps of batched power iteration on ``S = diag(s) G diag(s)`` (in place)."""
    tiny = torch.finfo(u.dtype).tiny
    u = _unit(u)
    p = torch.empty_like(u)
    w = torch.empty_like(u)
    for _ in range(iters):
        torch.mul(s, u, out=p)
        torch.mm(p, G, out=w)
        w.mul_(s)  # (B, N) = S u
        torch.div(w, torch.linalg.vector_norm(w, dim=-1, keepdim=True).clamp_min(tiny), out=u)
    return u


def _top_eigvec_psd(C: Tensor) -> Tensor:
    """Top eigenvector of small symmetric PSD matrices ``(B, m, m)`` by repeated squaring."""
    tiny = torch.finfo(C.dtype).tiny
    P = C
    for i in range(_SQUARINGS):
        if i % 2 == 0:  # rescale so the top eigenvalue is in [1/m, 1]: two squarings stay finite
            trace = torch.diagonal(P, dim1=-2, dim2=-1).sum(dim=-1)  # (B,) >= lambda_max
            P = P / trace.clamp_min(tiny)[:, None, None]
        P = P @ P  # (B, m, m) ~ C^(2^i): the top eigenvalue dominates
    # P ~ y y^T: its column with the largest diagonal entry is parallel to y
    j = torch.diagonal(P, dim1=-2, dim2=-1).argmax(dim=-1)  # (B,)
    y = torch.take_along_dim(P, j[:, None, None], dim=-1)  # (B, m, 1)
    return _unit((C @ y).squeeze(-1))  # one power step on C cleans the rounding


def _lanczos(G: Tensor, s: Tensor, u: Tensor, steps: int) -> Tensor:
    """Top Ritz vector of ``S`` on the Krylov space ``span(u, S u, ..., S^(m-1) u)``.

    Plain three-term Lanczos: no re-orthogonalisation, whose batched small products cost more
    than the products with ``S``. Lost orthogonality only duplicates converged Ritz values, and
    the caller evaluates a Rayleigh quotient of ``J`` at the returned vector, a lower bound of
    ``lambda_max`` whatever happens here. The loop works in preallocated buffers with in-place
    operations: on CPU, fresh ``(B, N)`` temporaries above the allocator's mmap threshold cost
    more than the arithmetic.
    """
    B, n = u.shape
    m = min(steps, n)
    tiny = torch.finfo(u.dtype).tiny
    Q = u.new_empty(m, B, n)  # Lanczos basis, Q[j] = q_j
    alpha = u.new_zeros(m, B)  # diagonal of the tridiagonal Q S Q^T
    beta = u.new_zeros(m, B)  # beta[j] couples q_j and q_{j+1}
    p = torch.empty_like(u)
    w = torch.empty_like(u)
    torch.div(u, torch.linalg.vector_norm(u, dim=-1, keepdim=True).clamp_min(tiny), out=Q[0])
    for j in range(m):
        q = Q[j]
        torch.mul(s, q, out=p)
        torch.mm(p, G, out=w)
        w.mul_(s)  # (B, N) = S q
        torch.linalg.vecdot(w, q, out=alpha[j])
        if j + 1 == m:
            break
        w.addcmul_(alpha[j].unsqueeze(-1), q, value=-1.0)
        if j > 0:
            w.addcmul_(beta[j - 1].unsqueeze(-1), Q[j - 1], value=-1.0)
        torch.linalg.vector_norm(w, dim=-1, out=beta[j])
        torch.div(w, beta[j].clamp_min(tiny).unsqueeze(-1), out=Q[j + 1])
    if m > 1:
        # breakdown (an invariant subspace found, e.g. rank(S) < m or a start on an
        # eigenvector): later vectors are normalised rounding noise; cut them off
        eps = torch.finfo(u.dtype).eps
        live = beta[: m - 1] > (100.0 * eps) * alpha.abs().amax(dim=0)  # (m - 1, B)
        live = live.to(u.dtype).cumprod(dim=0)  # once broken down, stays so
        alpha[1:] *= live
        off = (beta[: m - 1] * live).T  # (B, m - 1)
        T = torch.diag_embed(alpha.T) + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
    else:
        T = torch.diag_embed(alpha.T)  # (B, 1, 1)
    y = _top_eigvec_psd(T)  # (B, m)
    ritz = torch.bmm(y.unsqueeze(1), Q.transpose(0, 1)).squeeze(1)  # (B, N) = sum_j y_j q_j
    return _unit(ritz)


def _rayleigh(G: Tensor, dsigma: Tensor, u: Tensor) -> Tensor:
    """Differentiable ``x^T J x / x^T x`` at ``x = M^T D^1/2 u`` (``u`` fixed): ``(B,)``."""
    w = (dsigma.detach().sqrt() * u).detach()  # (B, N)
    Gw = w @ G  # (B, N) = M x with x = M^T w (G symmetric)
    num = (dsigma * Gw * Gw).sum(dim=-1)  # x^T J x = sum_n d_n (M x)_n^2
    den = (w * Gw).sum(dim=-1)  # x^T x = w^T G w
    return num / den.clamp_min(torch.finfo(den.dtype).tiny)


@overload
def jacobian_spectral_norm(
    M: Tensor,
    dsigma: Tensor,
    *,
    method: str = ...,
    iters: int | None = ...,
    v0: Tensor | None = ...,
    return_vectors: Literal[False] = ...,
) -> Tensor: ...


@overload
def jacobian_spectral_norm(
    M: Tensor,
    dsigma: Tensor,
    *,
    method: str = ...,
    iters: int | None = ...,
    v0: Tensor | None = ...,
    return_vectors: Literal[True],
) -> tuple[Tensor, Tensor]: ...


def jacobian_spectral_norm(
    M: Tensor,
    dsigma: Tensor,
    *,
    method: str = "exact",
    iters: int | None = None,
    v0: Tensor | None = None,
    return_vectors: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """``|J|_2 = lambda_max(M^T diag(dsigma) M)`` per state, computed in the hidden space.

    Args:
        M: weights ``(N, d)``.
        dsigma: ``sigma'(M v) >= 0`` at ``B`` states, ``(B, N)``, same dtype/device as ``M``.
        method: ``"exact"`` (eigvalsh, differentiable twice), ``"lanczos"`` or ``"power"``
            (see the module docstring). Default ``"exact"``.
        iters: products with ``S`` per state for the iterative methods (Krylov dimension for
            Lanczos, capped at ``N``); default :data:`DEFAULT_ITERS`. Ignored by ``"exact"``.
        v0: start vectors ``(B, N)`` or ``(N,)`` for the iterative methods (a warm start, e.g.
            the vectors returned at the previous step); default a fixed-seed Gaussian draw.
        return_vectors: also return the final unit vectors ``u`` ``(B, N)`` (top eigenvectors
            of ``S = D^1/2 G D^1/2`` for ``"exact"``), detached.

    Returns:
        ``(B,)`` norms, or ``(norms, vectors)`` with ``return_vectors=True``. The iterative
        methods return the Rayleigh quotient of ``J`` at their final vector (a lower bound).

    Raises:
        ConfigError: for shapes that do not match, negative ``dsigma``, an unknown method or
            ``iters < 1``.
    """
    _check_inputs(M, dsigma)
    check_choice("method", method, SPECTRAL_METHODS)
    if method == "exact":
        lam, u = _exact(M, dsigma, return_vectors)
        return (lam, u) if return_vectors and u is not None else lam
    steps = DEFAULT_ITERS[method] if iters is None else check_int("iters", iters, 1)
    B, n = dsigma.shape
    if v0 is None:
        start = _random_start((B, n), M)
    else:
        if not isinstance(v0, Tensor) or v0.shape not in ((B, n), (n,)):
            what = tuple(v0.shape) if isinstance(v0, Tensor) else type(v0).__name__
            raise ConfigError(f"v0 must have shape ({B}, {n}) or ({n},); got {what}")
        start = v0.detach().to(dtype=M.dtype, device=M.device).expand(B, n)
    G = M @ M.T  # (N, N), once per call, shared by every state
    lam, u = _iterate(G, dsigma, start, method, steps)
    return (lam, u) if return_vectors else lam


def _iterate(
    G: Tensor, dsigma: Tensor, start: Tensor, method: str, steps: int
) -> tuple[Tensor, Tensor]:
    """Power or Lanczos steps on ``S`` without gradients, then the differentiable Rayleigh
    quotient of ``J`` at the final vectors: ``((B,), (B, N))``."""
    with torch.no_grad():
        s = dsigma.detach().sqrt()  # (B, N)
        Gd = G.detach()
        if method == "power":
            u = _power(Gd, s, _unit(start), steps)
        else:
            u = _lanczos(Gd, s, start, steps)
    return _rayleigh(G, dsigma, u), u


class SpectralNormEstimator:
    """Warm-started ``|J|_2`` estimates across training steps (Lanczos or power iteration).

    Between steps ``M`` moves little, and the top eigenvectors of ``S_b = D_b^1/2 G D_b^1/2``
    of different states share a few directions, so the estimator keeps:

    * a shared subspace: an orthonormal basis ``V`` ``(N, r)`` that tracks the span of the
      final vectors of recent calls (one step of subspace iteration per call, ``V <- orth(U^T
      U V)`` with ``U`` the last call's vectors). Each row starts from its Ritz vector in
      ``span(V)``, the top eigenvector of the ``r x r`` matrix ``(s_b V)^T G (s_b V)``, found
      for all rows with one ``(N, N) x (N, B r)`` product. On MNIST models (init, Base and JacQ
      training) that start is within 0.5% of ``lambda_max`` before any iteration, so
      ``warm_iters`` Lanczos steps suffice where a cold start needs :data:`DEFAULT_ITERS`;
    * per sample (optional): pass ``index`` ``(B,)`` of state ids (e.g. ``k * n_samples + i``
      for the state ``v_k`` of dataset sample ``i``); a row whose id was seen before starts
      from its stored vector when that has the larger Rayleigh quotient.

    The first call (no memory yet) starts from fixed-seed random vectors with ``iters`` steps.
    The Krylov space contains the start, so the estimate is never below the start's Rayleigh
    quotient. The memory is reset when ``N`` or the dtype/device change.

    With ``tail`` set, only the states with the largest ``|J|_F`` are estimated this way, with
    gradients; every other state gets the closed-form lower bound ``|J|_F^2 / tr J`` (from
    ``sum lambda^2 <= lambda_max sum lambda`` for PSD ``J``), detached. This is what a quantile
    penalty needs (JacQ, Eq. 9): the gradient of ``torch.quantile`` reaches only the two order
    statistics it interpolates, which lie in the tail.

    Args:
        method: ``"lanczos"`` (default) or ``"power"``.
        iters: products with ``S`` per state on a cold start; default :data:`DEFAULT_ITERS`.
        warm_iters: products with ``S`` per state after a subspace start. Default 6.
        subspace: dimension ``r`` of the shared subspace (0 disables it: every call is cold).
            Default 8.
        tail: fraction in ``(0, 1]`` of the states, those with the largest Frobenius norm,
            that get the full estimate; ``tail`` a little above ``1 - q`` (e.g. 0.25 for
            ``q = 0.9``) keeps ``J_q`` near exact for tanh but not for ReLU or sigmoid, whose
            Frobenius ranking misses states above ``J_q`` (see :func:`jacq_estimator`
            and ``hopfield-lab bench jacq-train-step``). None or 1 estimates every state
            (default).

    The memory (subspace, per-sample table, call count) is the estimator's state: a training
    that resumes from a checkpoint must restore it (:meth:`state_dict`,
    :meth:`load_state_dict`; :func:`hopfield_lab.training.fit` does so for the objects passed
    as its ``state``), or its warm starts, hence its estimates and the parameters it trains,
    differ from those of an uninterrupted run.

    Attributes:
        last_vectors: the final vectors ``(B, N)`` of the last call (None before); zero rows
            outside the tail.
        last_refined: indices of the rows estimated by the last call (None: all rows).
        calls: number of calls since the last reset.

    Raises:
        ConfigError: for an unknown method, ``iters < 1``, ``warm_iters < 1``,
            ``subspace < 0`` or ``tail`` outside ``(0, 1]``.
    """

    def __init__(
        self,
        method: str = "lanczos",
        iters: int | None = None,
        *,
        warm_iters: int = 6,
        subspace: int = 8,
        tail: float | None = None,
    ):
        self.method = check_choice("method", method, ("lanczos", "power"))
        self.iters = DEFAULT_ITERS[method] if iters is None else check_int("iters", iters, 1)
        self.warm_iters = check_int("warm_iters", warm_iters, 1)
        self.subspace = check_int("subspace", subspace, 0)
        if tail is not None:
            check_range("tail", tail, 0.0, 1.0, low_inclusive=False)
        self.tail = None if tail is None or tail >= 1.0 else float(tail)
        self.reset()

    def reset(self) -> None:
        """Forget every stored vector."""
        self.last_vectors: Tensor | None = None
        self.last_refined: Tensor | None = None
        self.calls = 0
        self._basis: Tensor | None = None  # (N, r) orthonormal
        self._table: Tensor | None = None  # (capacity, N) per-sample vectors
        self._known: Tensor | None = None  # (capacity,) bool
        self._like: tuple[int, torch.dtype, torch.device] | None = None

    def _settings(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "iters": self.iters,
            "warm_iters": self.warm_iters,
            "subspace": self.subspace,
            "tail": self.tail,
        }

    def state_dict(self) -> dict[str, Any]:
        """The memory, for a checkpoint: settings, call count, tensors (cloned) and the
        ``(N, dtype, device)`` they belong to (dtype and device as strings).

        Returns:
            A dict of plain values and tensors (``torch.save`` writes it with
            ``weights_only=True``-loadable contents).
        """
        like = self._like
        return {
            "settings": self._settings(),
            "calls": self.calls,
            "like": None if like is None else [like[0], str(like[1]), str(like[2])],
            "tensors": {
                name: None if t is None else t.detach().clone()
                for name, t in (
                    ("basis", self._basis),
                    ("table", self._table),
                    ("known", self._known),
                    ("last_vectors", self.last_vectors),
                    ("last_refined", self.last_refined),
                )
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the memory saved by :meth:`state_dict` (tensors moved to its device).

        Raises:
            ConfigError: if ``state`` is malformed or was saved by an estimator with other
                settings (``method``, ``iters``, ``warm_iters``, ``subspace``, ``tail``):
                its warm starts would not be those of this estimator.
        """
        if not isinstance(state, dict) or not {"settings", "calls", "like", "tensors"} <= set(
            state
        ):
            raise ConfigError(
                "a SpectralNormEstimator state must be a dict with settings, calls, like and "
                f"tensors; got {type(state).__name__}"
                + (f" with keys {sorted(state)}" if isinstance(state, dict) else "")
            )
        if state["settings"] != self._settings():
            raise ConfigError(
                f"the saved SpectralNormEstimator state has settings {state['settings']}, this "
                f"estimator {self._settings()}; resuming would change its estimates"
            )
        self.reset()
        like = state["like"]
        if like is None:
            return
        n, dtype_name, device_name = like
        dtype = getattr(torch, str(dtype_name).removeprefix("torch."), None)
        if not isinstance(dtype, torch.dtype):
            raise ConfigError(f"unknown dtype {dtype_name!r} in a SpectralNormEstimator state")
        device = torch.device(device_name)
        tensors = state["tensors"]

        def _to(name: str, kind: torch.dtype) -> Tensor | None:
            t = tensors.get(name)
            return None if t is None else t.to(device=device, dtype=kind).clone()

        self._like = (int(n), dtype, device)
        self.calls = int(state["calls"])
        self._basis = _to("basis", dtype)
        self._table = _to("table", dtype)
        self._known = _to("known", torch.bool)
        self.last_vectors = _to("last_vectors", dtype)
        self.last_refined = _to("last_refined", torch.long)

    @staticmethod
    def _ritz_start(G: Tensor, s: Tensor, V: Tensor) -> Tensor:
        """Per-row top Ritz vector of ``S_b`` in ``span(V)`` (``V`` ``(N, r)``): ``(B, N)``."""
        B, n = s.shape
        r = V.shape[1]
        SV = s.unsqueeze(-1) * V  # (B, N, r) = D_b^1/2 V
        GSV = (G @ SV.transpose(0, 1).reshape(n, B * r)).reshape(n, B, r).transpose(0, 1)
        C = SV.mT @ GSV  # (B, r, r) = V^T S_b V
        y = _top_eigvec_psd(C)  # (B, r)
        return _unit(y @ V.T)  # (B, N)

    def _start(self, G: Tensor, dsigma: Tensor, index: Tensor | None) -> tuple[Tensor, bool]:
        """Start vectors for the rows and whether they are warm."""
        B, n = dsigma.shape
        if self._basis is None:
            start, warm = _random_start((B, n), dsigma), False
        else:
            start, warm = self._ritz_start(G, dsigma.sqrt(), self._basis), True
        if index is not None and self._table is not None and self._known is not None:
            inside = index < self._table.shape[0]
            rows = index.clamp_max(self._table.shape[0] - 1)
            known = inside & self._known[rows]
            if bool(known.any()):
                stored = self._table[rows]
                better = _rayleigh(G, dsigma, stored) > _rayleigh(G, dsigma, _unit(start))
                start = torch.where((known & better).unsqueeze(-1), stored, start)
                warm = warm or bool(known.all())
        return start, warm

    def _remember(self, u: Tensor, index: Tensor | None) -> None:
        """Update the subspace with the vectors ``u`` ``(B, N)`` and the per-sample table."""
        r = min(self.subspace, u.shape[1])
        if r > 0:
            V = self._basis
            if V is None:  # two steps of subspace iteration from a fixed random basis
                V = torch.linalg.qr(u.T @ (u @ _random_start((u.shape[1], r), u))).Q
            self._basis = torch.linalg.qr(u.T @ (u @ V)).Q  # (N, r)
        if index is not None:
            need = int(index.max()) + 1
            if self._table is None or self._known is None or self._table.shape[0] < need:
                cap = max(need, 2 * (0 if self._table is None else self._table.shape[0]))
                table = u.new_zeros(cap, u.shape[1])
                known = torch.zeros(cap, dtype=torch.bool, device=u.device)
                if self._table is not None and self._known is not None:
                    table[: self._table.shape[0]] = self._table
                    known[: self._known.shape[0]] = self._known
                self._table, self._known = table, known
            self._table[index] = u
            self._known[index] = True

    def __call__(self, M: Tensor, dsigma: Tensor, index: Tensor | None = None) -> Tensor:
        """Estimate ``|J|_2`` at ``B`` states and remember the vectors.

        Args:
            M: weights ``(N, d)``.
            dsigma: ``sigma'(M v) >= 0`` ``(B, N)``.
            index: optional ``(B,)`` non-negative integer ids of the states for per-sample
                warm starts; None uses the shared subspace only.

        Returns:
            ``(B,)`` differentiable estimates (Rayleigh quotients, see the module docstring;
            with ``tail`` set, detached lower bounds outside the tail).

        Raises:
            ConfigError: for bad shapes or a bad ``index``.
        """
        _check_inputs(M, dsigma)
        if index is not None and (
            not isinstance(index, Tensor)
            or index.shape != (dsigma.shape[0],)
            or index.dtype not in (torch.int32, torch.int64)
            or bool((index < 0).any())
        ):
            raise ConfigError(
                f"index must be a ({dsigma.shape[0]},) tensor of non-negative integer ids; "
                f"got {index if not isinstance(index, Tensor) else (index.shape, index.dtype)}"
            )
        if index is not None:
            index = index.to(dsigma.device).long()
        like = (dsigma.shape[1], dsigma.dtype, dsigma.device)
        if self._like != like:
            self.reset()
            self._like = like
        B = dsigma.shape[0]
        G = M @ M.T  # (N, N), shared by the screen, the starts and the Rayleigh quotients
        Gd, dd = G.detach(), dsigma.detach()
        rows: Tensor | None = None
        if self.tail is not None:
            with torch.no_grad():
                frob_sq = ((dd @ (Gd * Gd)) * dd).sum(dim=-1)  # (B,) = |J|_F^2 = sum lambda^2
                trace = dd @ torch.diagonal(Gd)  # (B,) = tr J = sum lambda
                low = frob_sq / trace.clamp_min(torch.finfo(dd.dtype).tiny)  # <= lambda_max
            rows = frob_sq.topk(min(B, max(1, math.ceil(self.tail * B)))).indices
        d_rows = dsigma if rows is None else dsigma[rows]
        i_rows = index if index is None or rows is None else index[rows]
        with torch.no_grad():
            start, warm = self._start(Gd, d_rows.detach(), i_rows)
        steps = self.warm_iters if warm else self.iters
        lam, u = _iterate(G, d_rows, start, self.method, steps)
        with torch.no_grad():
            self._remember(u, i_rows)
            if rows is not None:
                u = _unit(start.new_zeros(B, start.shape[1]).index_copy(0, rows, u))
        if rows is not None:
            lam = low.to(lam.dtype).index_put((rows,), lam)  # gradients reach the tail only
        self.last_vectors, self.last_refined = u, rows
        self.calls += 1
        return lam


JACQ_WARM_ITERS = {"relu": 16, "sigmoid": 16, "tanh": 10}
"""Lanczos steps per warm call of :func:`jacq_estimator`'s estimator, by activation."""
_EVERY_STATE = ("relu", "sigmoid")  # activations whose estimator refines every state


def jacq_estimator(activation: str, q: float) -> SpectralNormEstimator:
    """The :class:`SpectralNormEstimator` JacQ trains with (Eq. 9), by activation.

    * ``"tanh"``: the tail screen, ``tail = 2.5 (1 - q)`` of the states (those with the
      largest ``|J|_F``), 10 Lanczos steps from the subspace start.
    * ``"relu"``, ``"sigmoid"``: every state, 16 warm steps. The
      Frobenius ranking leaves states above ``J_q`` out of the tail (``|J|_F^2 = sum
      lambda^2`` is set by the bulk of the spectrum, not its top): ``J_q`` then erred by 1.4%
      for ReLU and 0.35% for sigmoid (``hopfield-lab bench jacq-train-step``, rows ``tail
      0.25, 6 steps (before)``). No cheap screen we tried kept those states (the ``|J|_F`` and
      Wolkowicz-Styan upper bounds lie far above ``lambda_max``; Ritz values after a few
      Lanczos steps from the subspace start rank them no better), so every state is refined,
      with 16 steps: the same benchmark with 10 for sigmoid gave 1.2e-3 (the top eigenvalues
      of these states lie close together).

    For tanh the screen is no guarantee either: it can leave out a state near ``J_q``
    (``missed_max`` in the benchmark) while ``J_q`` stays within 1e-4, the neighbours in the
    tail having almost the same norm. Measured, the largest ``|J_q - J_q^exact| /
    J_q^exact`` over the steps of a JacQ training whose penalty is active: the benchmark's
    ``J_q`` rows (MNIST, ``K = 5``, ``B = N = 128``: tanh 6.8e-5, sigmoid 3.6e-4, ReLU 6.8e-4
    with these settings) and ``tests/test_regularizers.py`` (``K = 3``, ``B = 32``,
    ``N = 64``, bound 1e-3 for each activation). Cost: the benchmark's ``step`` rows (JacQ /
    Base step at ``K = 5``: tanh 1.69-1.76, ReLU 2.6-2.75 over three runs).

    Args:
        activation: ``"relu"``, ``"sigmoid"`` or ``"tanh"``.
        q: the quantile level of the penalty, in ``(0, 1)``.

    Returns:
        A fresh estimator (no memory).

    Raises:
        ConfigError: for another activation or ``q`` outside ``(0, 1)``.
    """
    check_choice("activation", activation, tuple(JACQ_WARM_ITERS))
    check_range("q", q, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    warm = JACQ_WARM_ITERS[activation]
    if activation in _EVERY_STATE:
        return SpectralNormEstimator(warm_iters=warm)
    return SpectralNormEstimator(warm_iters=warm, tail=min(1.0, 2.5 * (1.0 - q)))


def jacobian_frobenius_norm(M: Tensor, dsigma: Tensor, *, squared: bool = False) -> Tensor:
    """``|M^T diag(dsigma) M|_F`` per state in closed form: ``(B,)``.

    ``|J|_F^2 = tr((D G)^2) = sum_ij d_i G_ij^2 d_j`` with ``G = M M^T``, i.e.
    ``((dsigma @ (G * G)) * dsigma).sum(-1)``: ``O(N^2 d + B N^2)`` instead of ``O(B N d^2)``.

    Args:
        M: weights ``(N, d)``. dsigma: ``sigma'(M v) >= 0`` ``(B, N)``.
        squared: return ``|J|_F^2`` (smooth everywhere) instead of ``|J|_F``. Default False.

    Raises:
        ConfigError: for shapes that do not match or negative ``dsigma``.
    """
    _check_inputs(M, dsigma)
    G = M @ M.T  # (N, N)
    sq = ((dsigma @ (G * G)) * dsigma).sum(dim=-1)  # (B,)
    return sq if squared else sq.sqrt()


def jacq_penalty(norms: Tensor, *, q: float, m: float, lam: float) -> Tensor:
    """Jacobian quantile penalty ``lam * max(J_q - m, 0)^2`` (Eq. 9).

    ``J_q = torch.quantile(norms, q)`` is the empirical ``q``-quantile of the batch's norms
    (linear interpolation between order statistics, differentiable): with ``q = 0.9`` only
    the upper 10% tail of ``|J_T(v_i)|_2`` is pushed below the threshold ``m``.

    Args:
        norms: ``|J_T(v_i)|_2`` over the batch, ``(B,)``, ``B >= 1``.
        q: quantile level in ``(0, 1)``. m: threshold (>= 0; ``m = 1`` is non-expansive).
        lam: weight (>= 0).

    Returns:
        Scalar tensor; zero (with zero gradient) when ``J_q <= m``.

    Raises:
        ConfigError: for ``q`` outside ``(0, 1)``, ``m < 0``, ``lam < 0`` or bad ``norms``.
    """
    check_range("q", q, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_range("m", m, 0.0)
    check_range("lam", lam, 0.0)
    if not isinstance(norms, Tensor) or norms.dim() != 1 or norms.numel() < 1:
        what = tuple(norms.shape) if isinstance(norms, Tensor) else type(norms).__name__
        raise ConfigError(f"norms must be a non-empty 1-D tensor (B,); got {what}")
    j_q = torch.quantile(norms, q)
    return lam * torch.relu(j_q - m) ** 2


def jacf_penalty(M: Tensor, dsigma: Tensor, *, lam: float) -> Tensor:
    """Frobenius Jacobian penalty ``lam * mean_b |J_T(v_b)|_F^2`` (JacF baseline, Sec. 5).

    Args:
        M: weights ``(N, d)``. dsigma: ``sigma'(M v) >= 0`` ``(B, N)``. lam: weight (>= 0).

    Returns:
        Scalar tensor, smooth in ``M`` and ``dsigma`` (no square root).

    Raises:
        ConfigError: for ``lam < 0``, shapes that do not match or negative ``dsigma``.
    """
    check_range("lam", lam, 0.0)
    return lam * jacobian_frobenius_norm(M, dsigma, squared=True).mean()


def lip_penalty(M: Tensor, *, lam: float) -> Tensor:
    """Spectral-norm penalty on the weights ``lam * |M|_2^2`` (Lip baseline, Sec. 5).

    The paper names "a spectral-norm penalty on M" without its form. We penalise the squared
    largest singular value (as in spectral norm regularisation, Yoshida & Miyato 2017):
    ``|J_T(v)|_2 <= L_Phi |M|_2^2`` for every ``v``, so this is the state-independent bound on
    what JacQ controls per state, in the same units. Differentiable
    (``torch.linalg.matrix_norm(ord=2)``) where the top singular value is simple.

    Args:
        M: weights ``(N, d)``. lam: weight (>= 0).

    Raises:
        ConfigError: for ``lam < 0`` or a non-matrix ``M``.
    """
    check_range("lam", lam, 0.0)
    _check_weights(M)
    return lam * torch.linalg.matrix_norm(M, ord=2) ** 2


def descent_condition(a: float, norms: Tensor) -> Tensor:
    """Whether ``a <= 1 / L_k`` with ``L_k = 1 + |J_T(v_k)|_2`` (Eq. 8, App. B.2): bool, shape
    of ``norms``.

    The paper's sufficient condition for ``E(v_{k+1}) <= E(v_k)``. For a monotone activation it
    is not necessary: ``grad^2 E = I - J_T <= I`` and every step with ``0 < a < 2`` decreases
    ``E`` (see :mod:`hopfield_lab.models.finite_step`).

    Args:
        a: step size (> 0). norms: ``|J_T(v_k)|_2``, any shape.

    Raises:
        ConfigError: for ``a <= 0``.
    """
    check_positive("a", a)
    return a <= 1.0 / (1.0 + norms)
