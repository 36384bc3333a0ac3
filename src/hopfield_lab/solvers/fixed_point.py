"""Fixed-point solvers: Picard, damped Picard and safeguarded Anderson acceleration.

All are pure functions of a step function ``f: (B, ...) -> (B, ...)``; they know nothing about
Hopfield networks. They stop per sample, count per-sample steps, detect divergence, and stay
differentiable (so that backprop through the unrolled iterations works; see
:mod:`hopfield_lab.solvers.gradients` for implicit gradients).

Conventions (shared by every method):

* iteration ``k`` evaluates ``g_k = f(x_k)`` once; the residual is
  ``r_k = |g_k - x_k|`` (``stop="abs"``) or ``|g_k - x_k| / |g_k|`` (``stop="rel"``, the
  criterion of the DEQ paper), Euclidean norms per sample;
* a sample converges at the first ``k`` with ``r_k < tol``; its ``n_steps`` is ``k + 1`` (calls
  of ``f``) and its returned state is ``g_k``; it is then frozen there;
* the residual is always that of the undamped map ``f``, whatever the damping, so tolerances
  mean the same thing for every method.

Methods:

* ``picard``: ``x_{k+1} = f(x_k)``.
* ``damped``: ``x_{k+1} = damping x_k + (1 - damping) f(x_k)`` with ``damping`` in [0, 1)
  (hopdeq's ``damped`` with its beta = 1 - damping).
* ``anderson``: type-II Anderson acceleration (Walker & Ni 2011) with window ``m``: with the
  last ``m`` pairs ``(x_i, g_i)`` and ``F = [g_i - x_i]``, solve
  ``(F F^T + lam * s I) alpha = 1`` (``s`` = mean diagonal of ``F F^T``, so the Tikhonov term
  is scale-free), normalise ``alpha`` to sum 1, and set
  ``x_{k+1} = (1 - damping) G alpha + damping X alpha``. The ``m x m`` systems are batched and
  solved in float64; a sample whose system is singular or whose weights are not finite takes
  the plain step instead (never an exception). Safeguard (per sample): an accelerated iterate
  is rejected when its residual exceeds ``safeguard_factor`` times the residual of the last
  accepted iterate, or exceeds ``r_0 (n + 1)^-(1 + eps)`` with ``n`` the sample's accepted
  accelerated steps and ``eps = 0.1`` (the decaying bound of Zhang, O'Donoghue & Boyd 2020,
  "Globally convergent type-I Anderson acceleration"). A rejected sample clears its history
  and restarts from the plain step ``f`` of its last accepted iterate. The decaying bound
  matters for Hopfield dynamics: Anderson is attracted by unstable fixed points (saddles of
  the energy, e.g. metastable mixtures) where it can stall; the bound hands the sample back
  to Picard, which only settles in stable ones. With ``merit`` (e.g. the model's energy), an
  accelerated iterate is also rejected when it raises the merit above that of the last
  accepted iterate: accepted iterates then descend the energy like Picard's, and on MNIST
  retrieval Anderson reaches Picard's fixed point in fewer iterations instead of wandering
  to another one (see ``hopfield-lab run retrieval``).

  ``safeguard="proxy"`` is the cheaper rule of the DEQ paper's code (hopdeq,
  ``deq_core/solvers.py``): before ``f`` is evaluated at the candidate ``x~``, it is kept when
  ``|g_k - x~| / |x~| < |g_k - x_k| / |x_k|``, i.e. when it lies closer (relatively) to the
  last map output than the last Picard step moved; otherwise the plain step ``g_k`` is
  taken. The history is never cleared and ``merit`` is not used. Its test quantity is the
  candidate's distance to ``g_k``, not a residual of the candidate, so it is conservative:
  the longer the extrapolated jump, the likelier the rejection (on a slow linear contraction
  it rejects nearly every iterate and Anderson degrades to Picard; on the 3-layer HAM of
  ``hopfield-lab bench deq-anderson-vs-torchdeq`` it rejects 39.5 of ~45 extrapolations per
  sample where the residual rule rejects none). It is the rule the paper's Table 2 was
  measured with.
  ``safeguard=True`` means ``"residual"`` and ``False`` means ``"none"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError
from hopfield_lab.solvers.options import (
    FIXED_POINT_METHODS,
    SAFEGUARDS,
    FixedPointOptions,
    Method,
    Safeguard,
    Stop,
    safeguard_rule,
)
from hopfield_lab.solvers.result import OnDivergence, SolverResult, _DivergenceMonitor, flat_norm

__all__ = [
    "FIXED_POINT_METHODS",
    "SAFEGUARDS",
    "FixedPointOptions",
    "Method",
    "Safeguard",
    "Stop",
    "fixed_point",
    "residual",
    "safeguard_rule",
]

_SAFEGUARD_EPS = 0.1
StepFn = Callable[[Tensor], Tensor]


def residual(
    gx: Tensor, x: Tensor, stop: str = "rel", eps: float = 1e-12, denom: Tensor | None = None
) -> Tensor:
    """Per-sample residual ``|gx - x|`` or ``|gx - x| / |denom|`` (``denom`` defaults to
    ``gx``): ``(B, ...) -> (B,)``."""
    return _residual(gx - x, gx if denom is None else denom, stop, eps)


def _residual(diff: Tensor, denom: Tensor, stop: str, eps: float = 1e-12) -> Tensor:
    r = flat_norm(diff)
    return r / (flat_norm(denom) + eps) if stop == "rel" else r


def fixed_point(
    f: StepFn,
    x0: Tensor,
    options: FixedPointOptions | None = None,
    *,
    batch_independent: bool = False,
    record_residuals: bool = True,
    record_trajectory: bool = False,
    energy: Callable[[Tensor], Tensor] | None = None,
    max_norm: float | None = 1e8,
    on_divergence: OnDivergence = "raise",
    **changes: Any,
) -> SolverResult:
    """Find ``x = f(x)`` for each sample of a batch.

    Args:
        f: step function ``(B, ...) -> (B, ...)``, same shape in and out.
        x0: initial states ``(B, ...)``.
        options: the solver (:class:`~hopfield_lab.solvers.options.FixedPointOptions`: method,
            tol, stop, max_iter, damping, window, lam, safeguard, safeguard_factor, merit,
            full_iterations); default ``FixedPointOptions()`` (Picard, rel. tol 1e-5, 100
            iterations).
        batch_independent: promise that row ``i`` of ``f(x)`` depends on row ``i`` of ``x``
            only (true of every model's ``update``, false of closures over per-sample
            inputs): ``f`` is then evaluated on the still-running rows only, so the cost
            follows the mean number of steps rather than the maximum.
        record_residuals: keep the ``(T, B)`` residual history.
        record_trajectory: keep the ``(T+1, B, ...)`` iterates.
        energy: optional ``(B, ...) -> (B,)`` evaluated on every iterate (no gradient).
        max_norm: a sample whose state norm exceeds this diverged (None: only NaN/Inf).
        on_divergence: ``"raise"`` a :class:`~hopfield_lab.errors.DivergenceError` naming the
            step, or ``"flag"`` it in the result and keep the last finite state.
        **changes: fields of ``options`` to override for this call, e.g.
            ``fixed_point(f, x0, method="anderson", tol=1e-6)``.

    Returns:
        SolverResult with per-sample ``converged`` and ``n_steps``.

    Raises:
        ConfigError: bad arguments, non-finite ``x0`` or ``f`` changing the shape.
        DivergenceError: a sample diverged and ``on_divergence="raise"``.
    """
    opts = FixedPointOptions.of(options, **changes)
    method, tol, stop, max_iter = opts.method, opts.tol, opts.stop, opts.max_iter
    damping, window, lam = opts.damping, opts.window, opts.lam
    safeguard_factor, merit, full_iterations = (
        opts.safeguard_factor,
        opts.merit,
        opts.full_iterations,
    )
    rule = str(opts.safeguard)
    guard = rule == "residual"
    if not isinstance(x0, Tensor) or x0.dim() < 1 or x0.shape[0] == 0:
        raise ConfigError("x0 must be a batch-first tensor with at least one sample")
    if not bool(torch.isfinite(x0).all()):
        raise ConfigError("x0 must be finite; it contains NaN or Inf")

    b = x0.shape[0]
    dev = x0.device
    monitor = _DivergenceMonitor(b, dev, max_norm, on_divergence)
    x = x0
    out = x0
    active = torch.ones(b, dtype=torch.bool, device=dev)
    converged = torch.zeros(b, dtype=torch.bool, device=dev)
    n_steps = torch.full((b,), max_iter, dtype=torch.long, device=dev)
    residuals: list[Tensor] = []
    trajectory: list[Tensor] = [x0.detach()] if record_trajectory else []
    energies: list[Tensor] = [_energy(energy, x0)] if energy is not None else []
    anderson = _Anderson(x0, window, lam) if method == "anderson" else None
    best_r = torch.full((b,), float("inf"), dtype=x0.dtype, device=dev)
    best_g = x0
    from_aa = torch.zeros(b, dtype=torch.bool, device=dev)
    r_first = torch.zeros(b, dtype=x0.dtype, device=dev)
    best_merit = torch.full((b,), float("inf"), dtype=torch.float64, device=dev)
    n_accepted_aa = torch.zeros(b, dtype=x0.dtype, device=dev)
    rejections = 0
    nfe = 0

    last_r = torch.zeros(b, dtype=x0.dtype, device=dev)
    rows = 0
    for k in range(max_iter):
        if batch_independent and not full_iterations and not bool(active.all()):
            idx = torch.nonzero(active).squeeze(1)  # only still-running samples are evaluated
            x_act = x.index_select(0, idx)
            g_act = f(x_act)
            _check_shape(g_act, x_act)
            gx = x.index_copy(0, idx, g_act)
            rows += len(idx)
        else:
            gx = f(x)
            _check_shape(gx, x)
            rows += b
        nfe += 1
        bad = monitor.check(gx, k, candidates=active)
        if bool(bad.any()):  # freeze diverged samples at their last finite state
            gx = _where(bad, x, gx)
            out = _where(bad, x, out)
            active = active & ~bad
        diff = gx - x
        r = torch.where(active, _residual(diff.detach(), gx.detach(), stop), last_r)
        last_r = r
        if record_residuals:
            residuals.append(r)

        newly = active & (r < tol) & ~converged
        converged = converged | newly
        n_steps = torch.where(newly, torch.full_like(n_steps, k + 1), n_steps)
        out = _where(active, gx, out)  # last f output of every still-running sample
        if not full_iterations:
            active = active & ~newly

        # Next iterate.
        if anderson is None:
            nxt = gx if damping == 0.0 else damping * x + (1.0 - damping) * gx
        else:
            accept = torch.ones_like(active)
            if guard:
                if k == 0:
                    r_first = r
                # grow no more than safeguard_factor above the last accepted residual, and
                # stay under a bound decaying like (n + 1)^-(1 + eps) over accepted steps
                decay = r_first * (n_accepted_aa + 1.0) ** (-1.0 - _SAFEGUARD_EPS)
                worse = (r > safeguard_factor * best_r) | (r > decay)
                if merit is not None:
                    m_x = _energy(merit, x).to(torch.float64)
                    slack = 64 * torch.finfo(x.dtype).eps * (m_x.abs() + 1.0)
                    worse = worse | (m_x > best_merit + slack)
                reject = active & from_aa & worse
                n_accepted_aa = n_accepted_aa + (active & from_aa & ~reject).to(r.dtype)
                rejections += int(reject.sum())
                accept = ~reject
                anderson.reset(reject)
            improved = accept & active
            best_r = torch.where(improved, r, best_r)
            if merit is not None and guard:
                best_merit = torch.where(improved, m_x, best_merit)
            best_g = _where(improved, gx, best_g)
            anderson.push(gx, diff, accept & active)
            cand, used = anderson.extrapolate(damping)
            plain = gx if damping == 0.0 else damping * x + (1.0 - damping) * gx
            if rule == "proxy":  # hopdeq: keep x~ if nearer g_k than the Picard step moved
                g_d, c_d = gx.detach(), cand.detach()  # |g_k - x_k| is the diff of above
                near = residual(g_d, c_d, denom=c_d) < _residual(diff.detach(), x.detach(), "rel")
                rejections += int((used & active & ~near).sum())
                used = used & near
            nxt = _where(used, cand, plain)
            if guard:
                nxt = _where(~accept, best_g, nxt)  # restart from the last good plain step
                used = used & accept
            from_aa = used
        frozen = ~active
        # frozen samples stay put: at their last iterate (full_iterations) or returned point
        x = _where(frozen, x if full_iterations else out, nxt)
        if record_trajectory:
            trajectory.append(x.detach())
        if energy is not None:
            energies.append(_energy(energy, x))
        if not bool(active.any()):
            break

    monitor.finish(f"fixed_point(method={method!r})")
    stats: dict[str, int] = {"evaluated_rows": rows}
    if method == "anderson":
        stats["anderson_rejections"] = rejections
    return SolverResult(
        x=out,
        converged=converged & ~monitor.diverged,
        n_steps=torch.where(monitor.diverged, monitor.step + 1, n_steps),
        residuals=torch.stack(residuals) if residuals else None,
        trajectory=torch.stack(trajectory) if record_trajectory else None,
        energies=torch.stack(energies) if energies else None,
        times=_iteration_times(len(trajectory) or len(energies), dev),
        diverged=monitor.diverged,
        diverged_step=monitor.step,
        nfe=nfe,
        method=method,
        stats=stats,
    )


def _check_shape(gx: Tensor, x: Tensor) -> None:
    if gx.shape != x.shape:
        raise ConfigError(f"f must return shape {tuple(x.shape)}; got {tuple(gx.shape)}")


def _iteration_times(n: int, device: torch.device) -> Tensor | None:
    return torch.arange(n, device=device) if n else None


def _where(mask: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Per-sample select: ``a[i]`` where ``mask[i]`` else ``b[i]``."""
    if mask.device.type == "cpu" and not mask.requires_grad:  # skip the copy when uniform
        if bool(mask.all()):
            return a
        if not bool(mask.any()):
            return b
    return torch.where(mask.view(-1, *([1] * (a.dim() - 1))), a, b)


def _energy(energy: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    with torch.no_grad():
        return energy(x.detach()).detach()


def _put(buf: Tensor, index: int, value: Tensor, dim: int = 1) -> Tensor:
    """``buf`` with ``buf.select(dim, index) = value``: in place, or on a copy when autograd
    needs the old buffer (unrolled gradients through the history)."""
    if torch.is_grad_enabled() and (value.requires_grad or buf.requires_grad):
        buf = buf.clone()
    buf.select(dim, index).copy_(value)
    return buf


class _Anderson:
    """Batched Anderson history with per-sample validity (so samples can restart alone).

    Stores the map outputs ``G`` (B, m, D), the differences ``F = G - X`` in float64 and their
    Gram matrix ``H = F F^T`` (B, m, m), which a push updates by one row and column
    (``O(B m D)``) instead of recomputing (``O(B m^2 D)`` plus a float64 copy of ``F``).
    """

    def __init__(self, x0: Tensor, m: int, lam: float) -> None:
        b = x0.shape[0]
        d = x0[0].numel()
        self.m, self.lam = m, lam
        self.shape = x0.shape
        self.G = x0.new_zeros(b, m, d)
        self.F = x0.new_zeros(b, m, d, dtype=torch.float64)
        self.H = x0.new_zeros(b, m, m, dtype=torch.float64)
        self.valid = torch.zeros(b, m, dtype=torch.bool, device=x0.device)
        self.pos = 0

    def reset(self, mask: Tensor) -> None:
        self.valid = self.valid & ~mask.unsqueeze(1)

    def push(self, gx: Tensor, diff: Tensor, mask: Tensor) -> None:
        """Store ``(g, f = g - x)`` in the next slot for the samples in ``mask``."""
        b = gx.shape[0]
        slot = self.pos % self.m
        self.pos += 1
        new_g = gx.reshape(b, -1)
        new_f = diff.reshape(b, -1).to(torch.float64)
        if not bool(mask.all()):  # the other samples keep their old slot
            keep = mask.view(b, 1)
            new_g = torch.where(keep, new_g, self.G[:, slot])
            new_f = torch.where(keep, new_f, self.F[:, slot])
        self.G = _put(self.G, slot, new_g)
        self.F = _put(self.F, slot, new_f)
        # (B, m): <f_i, f_new>; the (1, D) x (D, m) form is ~7x faster on CPU than (m, D) x (D, 1)
        row = torch.bmm(new_f.unsqueeze(1), self.F.transpose(1, 2)).squeeze(1)
        self.H = _put(_put(self.H, slot, row, dim=1), slot, row, dim=2)
        valid = self.valid.clone()
        valid[:, slot] = mask | self.valid[:, slot]
        self.valid = valid

    def extrapolate(self, damping: float) -> tuple[Tensor, Tensor]:
        """Anderson candidate ``(B, ...)`` and the mask of samples where it is usable."""
        v = self.valid
        vf = v.to(torch.float64)
        H = self.H
        outer = vf.unsqueeze(2) * vf.unsqueeze(1)
        n_valid = vf.sum(1)
        scale = (torch.diagonal(H, dim1=1, dim2=2) * vf).sum(1) / n_valid.clamp_min(1.0)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        eye = torch.eye(self.m, dtype=torch.float64, device=H.device)
        reg = self.lam * scale.view(-1, 1, 1) * eye * outer + eye * (1.0 - vf).unsqueeze(2)
        A = H * outer + reg  # invalid slots decouple: alpha_i = 0 there
        alpha, info = torch.linalg.solve_ex(A, vf.unsqueeze(2))
        alpha = alpha.squeeze(2)
        total = alpha.sum(1, keepdim=True)
        ok = (info == 0) & torch.isfinite(alpha).all(1) & (total.abs().squeeze(1) > 1e-30)
        ok = ok & (n_valid >= 2)
        alpha = torch.where(ok.unsqueeze(1), alpha / torch.where(total == 0, 1.0, total), 0.0)
        a = alpha.unsqueeze(1)  # (B, 1, m), float64
        mix = a.to(self.G.dtype) @ self.G  # sum_i alpha_i g_i
        if damping:  # (1 - d) G alpha + d X alpha = G alpha - d F alpha, with X = G - F
            mix = mix - damping * (a @ self.F).to(mix.dtype)
        return mix.reshape(self.shape), ok
