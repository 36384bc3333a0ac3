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

Implementation. The loop keeps a *working set* of rows and does no per-sample bookkeeping
while every row in it is still running: one evaluation of ``f``, the residual norms (the
divergence check reuses the norm of ``f(x)`` that the relative residual needs) and one host
read per step, of "did any row converge or diverge". Only then are the rows that stopped
written to the result, and either dropped from the working set (``batch_independent``: ``f``
and Anderson's history then see only running rows, no masks or index copies per step) or
frozen with a per-sample mask (``f`` couples the rows, e.g. a closure over per-sample inputs:
the whole batch is evaluated, frozen rows sit at their returned point). Anderson's history
``G``, ``F`` is kept in the state's dtype; only the ``m x m`` Gram matrix and its solve are
float64. While every row's window holds the same slots (no restart since the last ``m``
steps), the system is the leading ``k x k`` block (``k`` = filled slots) without masks;
after a safeguard restart the valid slots differ per row and invalid ones are decoupled
(``alpha_i = 0``). With the residual safeguard, the last accepted iterate is always the
previous one (an accelerated iterate follows an accepted step), so its residual, merit and
map output are the previous step's: nothing is copied per step to remember them.
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
from hopfield_lab.solvers.result import (
    OnDivergence,
    SolverResult,
    _check_callable,
    _check_flag,
    _DivergenceMonitor,
    flat_norm,
)

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
_REL_EPS = 1e-12
StepFn = Callable[[Tensor], Tensor]


def residual(
    gx: Tensor, x: Tensor, stop: str = "rel", eps: float = _REL_EPS, denom: Tensor | None = None
) -> Tensor:
    """Per-sample residual ``|gx - x|`` or ``|gx - x| / |denom|`` (``denom`` defaults to
    ``gx``): ``(B, ...) -> (B,)``."""
    r = flat_norm(gx - x)
    return r / (flat_norm(gx if denom is None else denom) + eps) if stop == "rel" else r


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
    return _solve(
        f,
        x0,
        opts,
        lean=True,
        batch_independent=batch_independent,
        record_residuals=record_residuals,
        record_trajectory=record_trajectory,
        energy=energy,
        max_norm=max_norm,
        on_divergence=on_divergence,
    )


def _solve(
    f: StepFn,
    x0: Tensor,
    opts: FixedPointOptions,
    *,
    lean: bool,
    batch_independent: bool = False,
    record_residuals: bool = True,
    record_trajectory: bool = False,
    energy: Callable[[Tensor], Tensor] | None = None,
    max_norm: float | None = 1e8,
    on_divergence: OnDivergence = "raise",
) -> SolverResult:
    """:func:`fixed_point` with the loop chosen: ``lean=True`` (the fast path: no per-sample
    masks while every row runs, stopped rows dropped from a ``batch_independent`` working
    set) or ``lean=False`` (the general masked loop from the first step: every row kept,
    per-sample masks and ``where`` at every step, running rows of a ``batch_independent``
    ``f`` gathered and scattered per step). Both compute the same iterates; the tests
    compare them."""
    _check_callable("f", f, optional=False)
    _check_callable("energy", energy)
    for flag, value in (
        ("batch_independent", batch_independent),
        ("record_residuals", record_residuals),
        ("record_trajectory", record_trajectory),
    ):
        _check_flag(flag, value)
    if not isinstance(x0, Tensor) or x0.dim() < 1 or x0.shape[0] == 0:
        raise ConfigError("x0 must be a batch-first tensor with at least one sample")
    if not bool(torch.isfinite(x0).all()):
        raise ConfigError("x0 must be finite; it contains NaN or Inf")
    loop = _Loop(
        f,
        x0,
        opts,
        lean=lean,
        batch_independent=batch_independent,
        record_residuals=record_residuals,
        record_trajectory=record_trajectory,
        energy=energy,
        max_norm=max_norm,
        on_divergence=on_divergence,
    )
    return loop.run()


class _Loop:
    """State and steps of one :func:`fixed_point` solve (see the module docstring).

    The working set holds ``n`` rows: ``x`` ``(n, ...)`` and, when rows have been dropped,
    their batch indices ``idx`` (``None``: all ``B`` rows in order). ``mask`` is ``None`` while
    every working row runs, else the ``(B,)`` running rows of a frozen-row (masked) solve.
    Per-row algorithm state (Anderson's history, the safeguard's counters, the previous
    residual, merit and map output) follows the working set.
    """

    def __init__(
        self,
        f: StepFn,
        x0: Tensor,
        opts: FixedPointOptions,
        *,
        lean: bool,
        batch_independent: bool,
        record_residuals: bool,
        record_trajectory: bool,
        energy: Callable[[Tensor], Tensor] | None,
        max_norm: float | None,
        on_divergence: OnDivergence,
    ) -> None:
        self.f = f
        self.opts = opts
        self.method = opts.method
        self.rule = str(opts.safeguard)
        self.guard = self.method == "anderson" and self.rule == "residual"
        self.proxy = self.method == "anderson" and self.rule == "proxy"
        self.merit = opts.merit if self.guard else None
        self.full = opts.full_iterations
        self.rel = opts.stop == "rel"
        self.batch_independent = batch_independent
        self.max_norm = max_norm
        b = x0.shape[0]
        dev = x0.device
        self.b = b
        self.cpu = dev.type == "cpu"
        self.monitor = _DivergenceMonitor(b, dev, max_norm, on_divergence)
        # per-sample results
        self.out = x0
        self.converged = torch.zeros(b, dtype=torch.bool, device=dev)
        self.n_steps = torch.full((b,), opts.max_iter, dtype=torch.long, device=dev)
        # working set
        self.compact = lean and batch_independent and not self.full
        self.x = x0
        self.idx: Tensor | None = None
        self.mask: Tensor | None = None if lean else torch.ones(b, dtype=torch.bool, device=dev)
        self.n_active = b
        # per-row state
        self.prev_r = torch.zeros(b, dtype=x0.dtype, device=dev)
        self.prev_g = x0
        self.prev_m = torch.full((b,), float("inf"), dtype=torch.float64, device=dev)
        self.r_first = self.prev_r
        self.n_acc = torch.zeros(b, dtype=x0.dtype, device=dev)
        self.from_aa: Tensor | None = None  # rows whose iterate is an accepted extrapolation
        self.aa = (
            _Anderson(x0, opts.window, opts.lam, track=self.cpu)
            if self.method == "anderson"
            else None
        )
        self.rejections = torch.zeros((), dtype=torch.long, device=dev)
        self.rows = 0
        self.nfe = 0
        # records
        self.record_residuals = record_residuals
        self.hist: list[tuple[Tensor, Tensor | None]] = []
        self.left_at = torch.full((b,), -1, dtype=torch.long, device=dev) if self.compact else None
        self._left = torch.zeros(0, dtype=torch.long, device=dev)  # rows stopped at this step
        self.energy = energy
        self.keep_states = record_trajectory
        self.full_state: Tensor | None = (
            x0.detach() if record_trajectory or energy is not None else None
        )
        self.trajectory: list[Tensor] = [x0.detach()] if record_trajectory else []
        self.energies: list[Tensor] = [_energy(energy, x0)] if energy is not None else []

    # ----------------------------------------------------------------------------- the loop
    def run(self) -> SolverResult:
        opts = self.opts
        tol, max_iter, full, max_norm = opts.tol, opts.max_iter, self.full, self.max_norm
        grad = torch.is_grad_enabled()
        for k in range(max_iter):
            x = self.x
            gx = self._evaluate(x)
            self.nfe += 1
            diff = gx - x
            dn = _norms(diff.detach() if grad else diff)
            gn = _norms(gx.detach() if grad else gx)  # the divergence check reuses it
            r = dn / (gn + _REL_EPS) if self.rel else dn
            mask = self.mask
            if mask is None and not full:
                # the lean step: one reduction and one host read for "did a row converge or
                # diverge"; NaN, Inf and norms above max_norm fail `gn <= max_norm` and are
                # counted as events through r = -1
                ok = gn <= max_norm if max_norm is not None else torch.isfinite(gn)
                if not bool((torch.where(ok, r, -1.0) < tol).any()):
                    self._step(k, x, gx, diff, r, None, None)
                    if self.n_active == 0:
                        break
                    continue
            # NaN and Inf fail the comparison with max_norm
            bad = ~(gn <= max_norm) if max_norm is not None else ~torch.isfinite(gn)
            if mask is not None:
                bad = bad & mask
            stop = None
            if full:
                event = bad
            else:
                stop = r < tol
                if mask is not None:
                    stop = stop & mask
                event = bad | stop
            act = mask
            leaving: Tensor | None = None
            if mask is not None or bool(event.any()):
                gx, diff, r, act, leaving = self._bookkeeping(k, x, gx, diff, r, bad, stop)
            if full:
                newly = r < tol
                if act is not None:
                    newly = newly & act
                newly = newly & ~self.converged
                self.converged = self.converged | newly
                self.n_steps = torch.where(newly, k + 1, self.n_steps)
            self._step(k, x, gx, diff, r, act, leaving)
            if self.n_active == 0:
                break
        return self._result()

    def _step(
        self,
        k: int,
        x: Tensor,
        gx: Tensor,
        diff: Tensor,
        r: Tensor,
        act: Tensor | None,
        leaving: Tensor | None,
    ) -> None:
        """Record step ``k`` and move the working set to the next iterate."""
        if self.record_residuals:
            self.hist.append((r, self.idx))
        nxt = self._next_iterate(k, x, gx, diff, r, act)
        if self.mask is not None:  # frozen rows stay put (at their returned point)
            nxt = _where(~self.mask, x if self.full else self.out, nxt)
        self.prev_r, self.prev_g = r, gx
        if self.full_state is not None:
            self._record(nxt, gx, leaving)
        self.x = nxt
        if leaving is not None and self.compact:
            self._drop(leaving, k)

    def _evaluate(self, x: Tensor) -> Tensor:
        """``f(x)`` on the working rows (gathering the running ones in the general loop)."""
        mask = self.mask
        if (
            mask is not None
            and self.batch_independent
            and not self.full
            and self.n_active < x.shape[0]
        ):
            sel = torch.nonzero(mask).squeeze(1)  # only still-running samples are evaluated
            xa = x.index_select(0, sel)
            ga = self.f(xa)
            _check_shape(ga, xa)
            self.rows += int(sel.numel())
            return x.index_copy(0, sel, ga)
        gx = self.f(x)
        _check_shape(gx, x)
        self.rows += x.shape[0]
        return gx

    def _bookkeeping(
        self,
        k: int,
        x: Tensor,
        gx: Tensor,
        diff: Tensor,
        r: Tensor,
        bad: Tensor,
        stop: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor | None]:
        """Rows that diverged or converged at step ``k``: record them and update the masks.

        Returns ``(gx, diff, r, act, leaving)``: ``gx`` with diverged rows reset to their last
        finite state, the residuals to record (a diverged row keeps its last one), the rows
        that go on to the next iterate (``None``: all), and the rows that stopped (``None``:
        none; in a compact working set they are dropped after this step).
        """
        mask = self.mask
        if self.compact and not bool(bad.any()):  # the common event: some rows converged
            assert stop is not None
            left = torch.nonzero(stop).squeeze(1)  # (F,) working rows that stop
            rows = left if self.idx is None else self.idx.index_select(0, left)
            self.converged[rows] = True
            self.n_steps[rows] = k + 1
            self.out = self.out.index_copy(0, rows, gx.index_select(0, left))
            self.n_active -= left.numel()
            self._left = rows
            return gx, diff, r, ~stop, stop
        before = mask  # running at the start of the step (None: every working row)
        if bool(bad.any()):  # freeze diverged samples at their last finite state
            self._mark_diverged(bad, k, gx)
            gx = _where(bad, x, gx)
            diff = gx - x
            r = torch.where(bad, self.prev_r, r)
            if stop is not None:
                stop = stop & ~bad
        if mask is not None:
            r = torch.where(mask & ~bad, r, self.prev_r)
        leaving = bad if stop is None else bad | stop
        if stop is not None and bool(stop.any()):
            rows = self._global(stop)
            self.converged[rows] = True
            self.n_steps[rows] = k + 1
        n_left = int(leaving.sum())
        self.n_active -= n_left
        if self.compact:
            rows = self._global(leaving)
            self.out = self.out.index_copy(0, rows, gx[leaving])
            self._left = rows
            return gx, diff, r, ~leaving, leaving
        # frozen rows: keep the whole batch, mask the ones that stopped
        self.out = gx if before is None else _where(before, gx, self.out)
        self.mask = ~leaving if before is None else before & ~leaving
        return gx, diff, r, self.mask, leaving

    def _global(self, local: Tensor) -> Tensor:
        """Batch indices of the working rows in ``local`` ``(n,)`` bool."""
        rows = torch.nonzero(local).squeeze(1)
        return rows if self.idx is None else self.idx[rows]

    def _mark_diverged(self, bad: Tensor, k: int, gx: Tensor) -> None:
        rows = self._global(bad)
        mon = self.monitor
        mon.diverged[rows] = True
        mon.step[rows] = k
        first = gx.detach()[int(torch.nonzero(bad)[0])]
        mon.reason.setdefault(
            k,
            "non-finite state"
            if not bool(torch.isfinite(first).all())
            else f"state norm exceeded max_norm={self.max_norm:g}",
        )

    def _next_iterate(
        self, k: int, x: Tensor, gx: Tensor, diff: Tensor, r: Tensor, act: Tensor | None
    ) -> Tensor:
        """The next iterate of every working row (rows outside ``act`` are discarded)."""
        damping = self.opts.damping
        aa = self.aa
        plain = gx if damping == 0.0 else damping * x + (1.0 - damping) * gx
        if aa is None:
            return plain
        reject: Tensor | None = None
        reject_rows: Tensor | None = None
        any_reject: bool | None = False
        from_aa = self.from_aa
        if self.guard:
            if k == 0:
                self.r_first = r
            m_x = None
            if self.merit is not None:
                m_x = _energy(self.merit, x).to(torch.float64)
            if from_aa is not None:
                # grow no more than safeguard_factor above the last accepted residual (the
                # previous step's: an extrapolated iterate follows an accepted one), and stay
                # under a bound decaying like (n + 1)^-(1 + eps) over accepted steps
                decay = self.r_first * (self.n_acc + 1.0) ** (-1.0 - _SAFEGUARD_EPS)
                worse = (r > self.opts.safeguard_factor * self.prev_r) | (r > decay)
                if m_x is not None:
                    slack = 64 * torch.finfo(x.dtype).eps * (m_x.abs() + 1.0)
                    worse = worse | (m_x > self.prev_m + slack)
                reject = from_aa & worse
                if act is not None:
                    reject = reject & act
                    from_aa = from_aa & act
                # accepted extrapolations (reject implies from_aa)
                self.n_acc = self.n_acc + (from_aa ^ reject)
                self.rejections = self.rejections + reject.sum()
                any_reject = bool(reject.any()) if self.cpu else None
                if any_reject:
                    reject_rows = torch.nonzero(reject).squeeze(1)
                if any_reject is not False:
                    aa.reset(reject, reject_rows)
            if m_x is not None:
                self.prev_m = m_x
        if any_reject is False or reject is None:
            aa.push(gx, diff)
        else:
            aa.push(gx, diff, reject, reject_rows)
        cand, ok = aa.extrapolate(damping)
        if cand is None or ok is None:
            self.from_aa = None
            if any_reject is not False and reject is not None:
                return _where(reject, self.prev_g, plain)
            return plain
        used = ok
        if self.proxy:  # hopdeq: keep x~ if nearer g_k than the Picard step moved
            g_d, c_d = gx.detach(), cand.detach()
            near = flat_norm(g_d - c_d) / (flat_norm(c_d) + _REL_EPS) < flat_norm(diff.detach()) / (
                flat_norm(x.detach()) + _REL_EPS
            )
            dropped = used & ~near
            self.rejections = self.rejections + (dropped if act is None else dropped & act).sum()
            used = used & near
        nxt = _where(used, cand, plain)
        if any_reject is not False and reject is not None:
            nxt = _where(reject, self.prev_g, nxt)  # restart from the last good plain step
            used = used & ~reject
        self.from_aa = used
        return nxt

    def _record(self, nxt: Tensor, gx: Tensor, leaving: Tensor | None) -> None:
        """Append the whole batch's iterate (stopped rows at their returned point)."""
        assert self.full_state is not None
        rows = nxt.detach()
        if self.compact:
            if leaving is not None:
                rows = _where(leaving, gx.detach(), rows)
            state = rows if self.idx is None else self.full_state.index_copy(0, self.idx, rows)
        else:
            state = rows
        self.full_state = state
        if self.keep_states:
            self.trajectory.append(state)
        if self.energy is not None:
            self.energies.append(_energy(self.energy, state))

    def _drop(self, leaving: Tensor, k: int) -> None:
        """Remove the rows that stopped at step ``k`` from the compact working set."""
        if self.left_at is not None:
            self.left_at[self._left] = k
        keep = torch.nonzero(~leaving).squeeze(1)  # (n',) working rows that go on
        self.idx = keep if self.idx is None else self.idx.index_select(0, keep)
        self.x = self.x.index_select(0, keep)
        self.prev_r = self.prev_r.index_select(0, keep)
        self.prev_g = self.prev_g.index_select(0, keep)
        if self.guard:
            self.prev_m = self.prev_m.index_select(0, keep)
            self.r_first = self.r_first.index_select(0, keep)
            self.n_acc = self.n_acc.index_select(0, keep)
        if self.from_aa is not None:
            self.from_aa = self.from_aa.index_select(0, keep)
        if self.aa is not None:
            self.aa.keep(keep)

    def _residual_history(self) -> Tensor | None:
        """The ``(T, B)`` residuals; a stopped row repeats its last residual."""
        if not self.hist:
            return None
        if all(ix is None for _, ix in self.hist):
            return torch.stack([r for r, _ in self.hist])
        t_end = len(self.hist)
        first = self.hist[0][0]
        out = first.new_empty(t_end, self.b)
        start = 0
        while start < t_end:  # one copy per stretch between two drops
            ix = self.hist[start][1]
            stop = start
            while stop < t_end and self.hist[stop][1] is ix:
                stop += 1
            block = torch.stack([r for r, _ in self.hist[start:stop]])  # (T_seg, n)
            if ix is None:
                out[start:stop] = block
            else:
                out[start:stop].index_copy_(1, ix, block)
            start = stop
        assert self.left_at is not None
        last = torch.where(self.left_at >= 0, self.left_at, t_end - 1)
        steps = torch.arange(t_end, device=out.device).unsqueeze(1)
        return out.gather(0, torch.minimum(steps, last.unsqueeze(0)))  # (T, B)

    def _result(self) -> SolverResult:
        if self.n_active > 0 and self.mask is None:  # rows still running: their last f(x)
            self.out = (
                self.prev_g if self.idx is None else self.out.index_copy(0, self.idx, self.prev_g)
            )
        mon = self.monitor
        mon.finish(f"fixed_point(method={self.method!r})")
        stats: dict[str, int] = {"evaluated_rows": self.rows}
        if self.method == "anderson":
            stats["anderson_rejections"] = int(self.rejections)
        n_rec = len(self.trajectory) or len(self.energies)
        return SolverResult(
            x=self.out,
            converged=self.converged & ~mon.diverged,
            n_steps=torch.where(mon.diverged, mon.step + 1, self.n_steps),
            residuals=self._residual_history() if self.record_residuals else None,
            trajectory=torch.stack(self.trajectory) if self.keep_states else None,
            energies=torch.stack(self.energies) if self.energies else None,
            times=torch.arange(n_rec, device=self.out.device) if n_rec else None,
            diverged=mon.diverged,
            diverged_step=mon.step,
            nfe=self.nfe,
            method=self.method,
            stats=stats,
        )


def _norms(x: Tensor) -> Tensor:
    """Euclidean norm per sample (:func:`flat_norm` without the reshape for ``(B, N)``)."""
    return torch.linalg.vector_norm(x, dim=1) if x.dim() == 2 else flat_norm(x)


def _check_shape(gx: Tensor, x: Tensor) -> None:
    if gx.shape != x.shape:
        raise ConfigError(f"f must return shape {tuple(x.shape)}; got {tuple(gx.shape)}")


def _where(mask: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Per-sample select: ``a[i]`` where ``mask[i]`` else ``b[i]``."""
    if mask.device.type == "cpu" and not mask.requires_grad:  # skip the copy when uniform
        if bool(mask.all()):
            return a
        if not bool(mask.any()):
            return b
    return torch.where(mask.view(-1, *([1] * (a.dim() - 1))), a, b)


def _energy(energy: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``energy(x)`` without gradient, on ``x`` itself (so that a merit may recognise the
    tensor the step function was just called with and reuse what it computed)."""
    with torch.no_grad():
        return energy(x).detach()


def _put(buf: Tensor, index: int, value: Tensor, dim: int = 1) -> Tensor:
    """``buf`` with ``buf.select(dim, index) = value``: in place, or on a copy when autograd
    needs the old buffer (unrolled gradients through the history)."""
    if torch.is_grad_enabled() and (value.requires_grad or buf.requires_grad):
        buf = buf.clone()
    buf.select(dim, index).copy_(value)
    return buf


class _Anderson:
    """Batched Anderson history of the working rows.

    Stores the map outputs ``G`` and the differences ``F = G - X`` (``(n, m, D)``, the
    state's dtype) and their Gram matrix ``H = F F^T`` (``(n, m, m)``, float64), which a push
    updates by one row and column (``O(n m D)``) instead of recomputing. Slots fill
    ``0, 1, ..., m - 1`` and then cycle. ``valid`` is ``None`` while every row's valid slots
    are the same (the first ``min(count, m)``), else the ``(n, m)`` valid slots per row
    (after a restart of some rows; it returns to ``None`` once ``m`` pushes refilled every
    window). ``track`` allows that host-side tracking (one read per rejection check on CPU);
    without it (GPU) the per-row form is used from the first restart check on. Invalid slots
    hold zeros in ``G`` and ``F`` (hence in ``H``), so the per-row system needs no masking of
    ``H``: their rows and columns are zero and a unit diagonal decouples them.
    """

    def __init__(self, x0: Tensor, m: int, lam: float, *, track: bool) -> None:
        n = x0.shape[0]
        d = x0[0].numel()
        self.m, self.lam, self.track = m, lam, track
        self.tail = x0.shape[1:]
        self.G = x0.new_zeros(n, m, d)
        self.F = x0.new_zeros(n, m, d)
        self.H = x0.new_zeros(n, m, m, dtype=torch.float64)
        self.eye = torch.eye(m, dtype=torch.float64, device=x0.device)
        self.valid: Tensor | None = None
        self.count = 0
        self.since = m  # pushes since the last restart (>= m: every window full again)
        self._ones: dict[tuple[int, int], Tensor] = {}

    def _materialize(self) -> Tensor:
        if self.valid is None:
            n = self.G.shape[0]
            valid = torch.zeros(n, self.m, dtype=torch.bool, device=self.G.device)
            valid[:, : min(self.count, self.m)] = True
            self.valid = valid
        return self.valid

    def reset(self, mask: Tensor, rows: Tensor | None = None) -> None:
        """Clear the history of the rows in ``mask`` ``(n,)`` (``rows``: their indices, when
        known, so that only those rows are written)."""
        self.valid = self._materialize() & ~mask.unsqueeze(1)
        self.G = _zero_rows(self.G, mask, rows)
        self.F = _zero_rows(self.F, mask, rows)
        self.H = _zero_rows(self.H, mask, rows)
        self.since = -1  # this step's push does not refill the restarted rows

    def push(
        self, gx: Tensor, diff: Tensor, skip: Tensor | None = None, rows: Tensor | None = None
    ) -> None:
        """Store ``(g, f = g - x)`` in the next slot, except for the rows in ``skip`` (bool
        ``(n,)``, with their indices ``rows`` when known): their slot is invalid and zero."""
        n = gx.shape[0]
        slot = self.count % self.m
        self.count += 1
        self.G = _put(self.G, slot, gx.reshape(n, -1))
        self.F = _put(self.F, slot, diff.reshape(n, -1))
        if skip is not None:
            self.G = _zero_slot(self.G, slot, skip, rows)
            self.F = _zero_slot(self.F, slot, skip, rows)
        new_f = self.F.select(1, slot)  # (n, D)
        # (n, m): <f_i, f_new>; the (1, D) x (D, m) form is ~7x faster on CPU than (m, D) x (D, 1)
        row = torch.bmm(new_f.unsqueeze(1), self.F.transpose(1, 2)).squeeze(1)
        row = row.to(torch.float64)
        self.H = _put(_put(self.H, slot, row, dim=1), slot, row, dim=2)
        self.since += 1
        if self.valid is not None or skip is not None or not self.track:
            valid = self._materialize().clone()
            valid[:, slot] = True if skip is None else ~skip
            self.valid = valid
            if self.track and self.since >= self.m:  # every window refilled since the restart
                self.valid = None

    def keep(self, rows: Tensor) -> None:
        """Keep the rows with indices ``rows`` (drop stopped samples)."""
        self.G = self.G.index_select(0, rows)
        self.F = self.F.index_select(0, rows)
        self.H = self.H.index_select(0, rows)
        if self.valid is not None:
            self.valid = self.valid.index_select(0, rows)

    def _rhs(self, n: int, k: int) -> Tensor:
        key = (n, k)
        if key not in self._ones:
            self._ones[key] = torch.ones(n, k, 1, dtype=torch.float64, device=self.H.device)
        return self._ones[key]

    def extrapolate(self, damping: float) -> tuple[Tensor | None, Tensor | None]:
        """Anderson candidate ``(n, ...)`` and the mask of rows where it is usable; ``(None,
        None)`` while no row has two slots."""
        n = self.G.shape[0]
        H, G, F = self.H, self.G, self.F
        if self.valid is None:
            k = min(self.count, self.m)
            if k < 2:
                return None, None
            if k < self.m:  # the filled leading block
                H, G, F = H[:, :k, :k], G[:, :k], F[:, :k]
            scale = torch.diagonal(H, dim1=1, dim2=2).mean(1)
            scale = torch.where(scale > 0, scale, 1.0)
            A = H + (self.lam * scale).view(-1, 1, 1) * self.eye[:k, :k]
            alpha, info = torch.linalg.solve_ex(A, self._rhs(n, k))
            enough: Tensor | None = None
        else:
            # invalid slots: zero rows and columns of H, a unit diagonal, a zero right-hand
            # side, so alpha_i = 0 there; valid slots get H + lam * scale * I
            vf = self.valid.to(torch.float64)  # (n, m)
            n_valid = vf.sum(1)
            scale = torch.diagonal(H, dim1=1, dim2=2).sum(1) / n_valid.clamp_min(1.0)
            scale = torch.where(scale > 0, scale, 1.0)
            A = H + torch.diag_embed(vf * (self.lam * scale).unsqueeze(1) + (1.0 - vf))
            alpha, info = torch.linalg.solve_ex(A, vf.unsqueeze(2))
            enough = n_valid >= 2
        alpha = alpha.transpose(1, 2)  # (n, 1, k)
        total = alpha.sum(2, keepdim=True)  # (n, 1, 1)
        flat = total.view(-1)
        ok = (info == 0) & torch.isfinite(flat) & (flat.abs() > 1e-30)
        if enough is not None:
            ok = ok & enough
        if alpha.requires_grad:  # keep NaN out of the gradients of rows where ok is False
            alpha = torch.where(ok.view(-1, 1, 1), alpha / torch.where(total == 0, 1.0, total), 0.0)
        else:  # rows where ok is False are not used (the caller selects the plain step there)
            alpha = alpha / total
        a = alpha.to(G.dtype)  # (n, 1, k)
        mix = a @ G  # sum_i alpha_i g_i
        if damping:  # (1 - d) G alpha + d X alpha = G alpha - d F alpha, with X = G - F
            mix = mix - damping * (a @ F)
        return mix.reshape(n, *self.tail), ok


def _zero_rows(buf: Tensor, mask: Tensor, rows: Tensor | None) -> Tensor:
    """``buf`` with the rows in ``mask`` (bool, first dimension; ``rows``: their indices)
    set to zero: in place on those rows only, or on a copy when autograd needs the old
    buffer or the indices are unknown (no host read on a GPU)."""
    if rows is not None and not (torch.is_grad_enabled() and buf.requires_grad):
        return buf.index_fill_(0, rows, 0.0)
    return buf.masked_fill(mask.view(-1, *([1] * (buf.dim() - 1))), 0.0)


def _zero_slot(buf: Tensor, slot: int, mask: Tensor, rows: Tensor | None) -> Tensor:
    """``buf`` ``(n, m, D)`` with ``buf[mask, slot] = 0`` (see :func:`_zero_rows`)."""
    if rows is not None and not (torch.is_grad_enabled() and buf.requires_grad):
        buf.select(1, slot).index_fill_(0, rows, 0.0)
        return buf
    return buf.masked_fill(_slot_mask(mask, slot, buf.shape[1]), 0.0)


def _slot_mask(mask: Tensor, slot: int, m: int) -> Tensor:
    """``(n, m, 1)`` bool: ``mask`` at ``slot``, False elsewhere."""
    at = torch.zeros(m, dtype=torch.bool, device=mask.device)
    at[slot] = True
    return (mask.unsqueeze(1) & at).unsqueeze(2)
