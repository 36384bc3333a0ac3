"""Euler-Maruyama for ``dx = F(t, x) dt + sigma dB_t`` with additive (diagonal) noise.

``euler_maruyama(f, x0, t, sigma=..., dt=...)`` integrates a batch of independent replicas
(rows of ``x0``) and reports the state (or a function of it) at every time in ``t``. It knows
nothing about Hopfield networks; like :func:`~hopfield_lab.solvers.ode.integrate` it is a pure
function of the drift.

Scheme: inside each output interval ``[t_i, t_{i+1}]``, ``n = ceil((t_{i+1} - t_i) / dt)`` equal
steps ``h`` of

    x_{k+1} = x_k + h F(t_k, x_k) + sigma (B_{t_k + h} - B_{t_k}),

with Brownian increments ``~ N(0, h)`` per entry, independent across entries and replicas,
drawn from a seeded ``torch.Generator`` in chunks of steps (one RNG call per chunk, not per
step). Strong order 1/2 in general; for additive noise the scheme coincides with Milstein's
and converges with strong order 1 (both are checked on an Ornstein-Uhlenbeck process in
``tests/test_sde.py``). ``increments`` may be passed instead of a generator, e.g. to drive
two step sizes with the same Brownian path.

Divergence (NaN/Inf, or a state norm above ``max_norm``) is checked at every output time and
at the end of every noise chunk; a diverged replica is frozen at its last checked finite
state and reported with the step of the check that caught it.

Why not torchsde: the noise here is additive and diagonal, where Euler-Maruyama is already
strong order 1 and the whole cost is the drift and the Gaussian draws; torchsde's Brownian
interval bookkeeping and solver dispatch add per-step Python overhead on the small, long runs
the IDP experiments make (10^5-10^6 steps of a (B, P) x (P, N) product), and it is not a
dependency of this package.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_int, check_positive, shown
from hopfield_lab.solvers.result import (
    OnDivergence,
    SolverResult,
    _as_times,
    _check_callable,
    _check_flag,
    _DivergenceMonitor,
    _step_counts,
)

__all__ = ["SDE_METHODS", "brownian_increments", "euler_maruyama", "step_counts"]

SDE_METHODS = ("euler_maruyama",)
Drift = Callable[[Tensor, Tensor], Tensor]


def step_counts(t: Tensor | Sequence[float], dt: float) -> list[int]:
    """Steps taken inside each output interval: ``ceil((t_{i+1} - t_i) / dt)`` (at least 1).

    Args:
        t: output times ``(T,)``, strictly increasing.
        dt: largest step (> 0).

    Returns:
        ``T - 1`` step counts; their sum is the length ``increments`` must have.
    """
    check_positive("dt", dt)
    times = _as_times(t, torch.zeros(1, dtype=torch.float64))
    return _step_counts(times, dt, "dt")


def brownian_increments(
    n_steps: int,
    shape: tuple[int, ...],
    h: float,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> Tensor:
    """``n_steps`` independent Brownian increments over steps of length ``h``: ``N(0, h)``
    entries, shape ``(n_steps, *shape)``.

    Raises:
        ConfigError: ``n_steps < 1`` or ``h <= 0``.
    """
    check_int("n_steps", n_steps, 1)
    check_positive("h", h)
    z = torch.randn((n_steps, *shape), generator=generator, dtype=dtype, device=device)
    return z.mul_(math.sqrt(h))


def _check_sigma(sigma: float | Tensor, x0: Tensor) -> float | Tensor:
    if isinstance(sigma, Tensor):
        if not bool(torch.isfinite(sigma).all()) or bool((sigma < 0).any()):
            raise ConfigError("sigma must be finite and >= 0 (every entry)")
        try:
            torch.broadcast_shapes(sigma.shape, x0.shape[1:])
        except RuntimeError:
            raise ConfigError(
                f"sigma must broadcast to one replica's shape {tuple(x0.shape[1:])}; "
                f"got shape {tuple(sigma.shape)}"
            ) from None
        return sigma.to(dtype=x0.dtype, device=x0.device)
    if not isinstance(sigma, (int, float)) or isinstance(sigma, bool):
        raise ConfigError(f"sigma must be a number or a tensor; got {sigma!r}")
    if not math.isfinite(sigma) or sigma < 0:
        raise ConfigError(f"sigma must be a finite number >= 0; got {sigma!r}")
    return float(sigma)


def euler_maruyama(
    f: Drift,
    x0: Tensor,
    t: Tensor | Sequence[float],
    *,
    sigma: float | Tensor,
    dt: float,
    generator: torch.Generator | None = None,
    increments: Tensor | None = None,
    observe: Callable[[Tensor], Tensor] | None = None,
    record: bool = True,
    max_norm: float | None = 1e8,
    on_divergence: OnDivergence = "raise",
    chunk: int = 256,
) -> SolverResult:
    """Integrate ``dx = f(t, x) dt + sigma dB`` for a batch of replicas (Euler-Maruyama).

    Args:
        f: drift ``(t, x) -> (B, ...)`` with ``t`` a 0-d tensor, batched over the rows of ``x``.
        x0: initial states ``(B, ...)`` at ``t[0]``, one replica per row.
        t: strictly increasing output times ``(T,)``, at least two.
        sigma: noise amplitude ``>= 0``: a number, or a tensor broadcasting to ``x0.shape[1:]``
            (per-coordinate amplitudes; zeros leave those coordinates deterministic).
        dt: largest step (> 0); each output interval is split into equal steps.
        generator: seeded generator for the Brownian increments (None: torch's global RNG).
        increments: Brownian increments ``(n_steps, B, ...)`` to use instead of drawing them,
            ``n_steps = sum(step_counts(t, dt))``; entry ``k`` must be ``B_{t_k+h} - B_{t_k}``
            (variance ``h``), e.g. from :func:`brownian_increments`.
        observe: record ``observe(x)`` (any batch-first shape) instead of ``x`` at each output
            time (saves memory on long runs). Default None.
        record: keep the trajectory. Default True.
        max_norm: a replica whose state norm exceeds this diverged (None: only NaN/Inf).
        on_divergence: ``"raise"`` a :class:`~hopfield_lab.errors.DivergenceError` naming the
            step, or ``"flag"`` it and keep the finite replicas.
        chunk: steps of noise drawn per RNG call (>= 1). Default 256.

    Returns:
        SolverResult: ``x`` the state at ``t[-1]``; ``trajectory`` ``(T, B, ...)`` of states (or
        of ``observe``) at ``t``; ``times``; ``n_steps`` (steps taken); ``nfe`` (drift calls);
        ``converged`` (not diverged); ``method`` ``"euler_maruyama"``.

    Raises:
        ConfigError: bad arguments (``dt <= 0``, ``sigma < 0``, wrong ``increments`` shape...).
        DivergenceError: see ``on_divergence``.
    """
    _check_callable("f", f, optional=False)
    check_positive("dt", dt)
    check_int("chunk", chunk, 1)
    _check_flag("record", record)
    _check_callable("observe", observe)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ConfigError(f"generator must be a torch.Generator or None; got {shown(generator)}")
    _DivergenceMonitor(1, torch.device("cpu"), max_norm, on_divergence)  # checks both, early
    if not isinstance(x0, Tensor) or x0.dim() < 1:
        raise ConfigError("x0 must be a batch-first tensor (B, ...)")
    if not bool(torch.isfinite(x0).all()):
        raise ConfigError("x0 must be finite; it contains NaN or Inf")
    sig = _check_sigma(sigma, x0)
    times = _as_times(t, x0)
    counts = step_counts(times.cpu(), dt)
    total = sum(counts)
    if increments is not None:
        want = (total, *x0.shape)
        if not isinstance(increments, Tensor) or tuple(increments.shape) != want:
            got = tuple(increments.shape) if isinstance(increments, Tensor) else increments
            raise ConfigError(f"increments must have shape {want} (n_steps, *x0.shape); got {got}")
    noisy = isinstance(sig, Tensor) or sig > 0.0
    b = x0.shape[0]
    monitor = _DivergenceMonitor(b, x0.device, max_norm, on_divergence)
    shape = (-1, *([1] * (x0.dim() - 1)))

    def obs(x: Tensor) -> Tensor:
        return observe(x) if observe is not None else x.clone()

    x = x0.clone()
    last_good = x
    traj = [obs(x0)] if record else []
    z = x0.new_empty(0)  # a chunk of standard normals, (chunk, B, ...), drawn when needed
    frozen = False  # True after the first divergence: diverged replicas stop moving
    k = 0  # global step index
    for i, n_sub in enumerate(counts):
        t0 = times[i]
        h = (times[i + 1] - t0) / n_sub
        h_f = float(h)
        scale = sig * math.sqrt(h_f)  # noise amplitude per step, number or tensor
        for j in range(n_sub):
            new = x + h_f * f(t0 + j * h, x)
            if increments is not None:
                new = new + sig * increments[k]
            elif noisy:
                if k % chunk == 0:
                    z = torch.randn(
                        (chunk, *x0.shape), generator=generator, dtype=x.dtype, device=x.device
                    )
                new = new + scale * z[k % chunk]
            if frozen:
                new = torch.where(monitor.diverged.view(shape), x, new)
            x = new
            k += 1
            if k % chunk == 0 or j == n_sub - 1:  # a checkpoint
                if bool(monitor.check(x, k).any()):
                    x = torch.where(monitor.diverged.view(shape), last_good, x)
                    frozen = True
                last_good = x
        if record:
            traj.append(obs(x))
    monitor.finish("euler_maruyama")
    return SolverResult(
        x=x,
        converged=~monitor.diverged,
        n_steps=torch.where(monitor.diverged, monitor.step, torch.full_like(monitor.step, total)),
        trajectory=torch.stack(traj) if record else None,
        times=times,
        diverged=monitor.diverged,
        diverged_step=monitor.step,
        nfe=total,
        method="euler_maruyama",
    )
