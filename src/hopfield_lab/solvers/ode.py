"""ODE integration: forward Euler and classical RK4 written here, adaptive methods via torchdiffeq.

``integrate(f, x0, t)`` solves ``dx/dt = f(t, x)`` from ``x(t[0]) = x0`` and reports the state
at every time in ``t``. It knows nothing about Hopfield networks.

* ``euler``: ``x_{n+1} = x_n + h f(t_n, x_n)`` (order 1).
* ``rk4``: the classical 4-stage Runge-Kutta method (order 4).
  Both take ``ceil((t_{i+1} - t_i) / step_size)`` equal steps inside each output interval (one
  step per interval when ``step_size`` is None), are batched, and are differentiable by plain
  backprop through the steps. Divergence (NaN/Inf, or a norm above ``max_norm``) is checked
  after every step, per sample; a diverged sample is frozen at its last finite state.
* ``dopri5`` / ``bosh3`` / ``adaptive_heun``: torchdiffeq's adaptive solvers with ``rtol`` and
  ``atol``; the step count reported is torchdiffeq's number of function evaluations, and its
  step-size underflow (or exceeding ``options={"max_num_steps": n}``) becomes a
  :class:`~hopfield_lab.errors.DivergenceError`.

Gradients: by default backprop through the solver's steps (discretise-then-optimise: the exact
gradient of the computed solution). ``adjoint=True`` instead solves the adjoint ODE backwards in
time with torchdiffeq's ``odeint_adjoint`` (optimise-then-discretise: memory independent of the
number of steps, gradient equal to backprop's up to the solver's error; tested). It reaches the
tensors in ``adjoint_params``, by default the parameters of the ``nn.Module`` that ``f`` is (or
is a bound method of). With ``adjoint=True`` the fixed-step methods also run in torchdiffeq, on
the same equal-step grid as here; its ``rk4`` is Kutta's 3/8 rule (also order 4), so the forward
solution differs from the classical RK4 written here by the local truncation error.

With ``energy`` given, the energy of every output state is recorded (``(T, B)``), so energy
monotonicity can be checked along any flow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from hopfield_lab.errors import ConfigError, DivergenceError, check_choice, check_positive, shown
from hopfield_lab.solvers.result import (
    OnDivergence,
    SolverResult,
    _as_times,
    _check_callable,
    _check_flag,
    _DivergenceMonitor,
    _step_counts,
)

__all__ = ["ADAPTIVE_METHODS", "FIXED_STEP_METHODS", "ODE_METHODS", "integrate"]

FIXED_STEP_METHODS = ("euler", "rk4")
ADAPTIVE_METHODS = ("dopri5", "bosh3", "adaptive_heun")
ODE_METHODS = FIXED_STEP_METHODS + ADAPTIVE_METHODS
VectorField = Callable[[Tensor, Tensor], Tensor]


def _euler_step(f: VectorField, t: Tensor, x: Tensor, h: Tensor) -> Tensor:
    return x + h * f(t, x)


def _rk4_step(f: VectorField, t: Tensor, x: Tensor, h: Tensor) -> Tensor:
    k1 = f(t, x)
    k2 = f(t + h / 2, x + (h / 2) * k1)
    k3 = f(t + h / 2, x + (h / 2) * k2)
    k4 = f(t + h, x + h * k3)
    return x + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)


_STEPPERS = {"euler": (_euler_step, 1), "rk4": (_rk4_step, 4)}


def integrate(
    f: VectorField,
    x0: Tensor,
    t: Tensor | Sequence[float],
    *,
    method: str = "rk4",
    step_size: float | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    energy: Callable[[Tensor], Tensor] | None = None,
    record: bool = True,
    max_norm: float | None = 1e8,
    on_divergence: OnDivergence = "raise",
    options: dict | None = None,
    adjoint: bool = False,
    adjoint_params: Sequence[Tensor] | None = None,
) -> SolverResult:
    """Integrate ``dx/dt = f(t, x)`` and return the states at the times ``t``.

    Args:
        f: vector field ``(t, x) -> dx/dt`` with ``x`` of shape ``(B, ...)``.
        x0: initial state ``(B, ...)`` at ``t[0]``.
        t: strictly increasing output times ``(T,)``, at least two.
        method: one of :data:`ODE_METHODS`. Default "rk4".
        step_size: largest step of the fixed-step methods (> 0); None = one step per interval.
        rtol, atol: tolerances of the adaptive methods.
        energy: optional ``(B, ...) -> (B,)`` recorded at every output time (no gradient).
        record: keep the ``(T, B, ...)`` trajectory (otherwise only the final state).
        max_norm: a sample whose norm exceeds this diverged (None: only NaN/Inf).
        on_divergence: ``"raise"`` or ``"flag"`` (see :func:`fixed_point`).
        options: extra options passed to torchdiffeq for adaptive methods (e.g.
            ``{"first_step": 0.01, "max_num_steps": 4096}``).
        adjoint: compute gradients with the adjoint method (torchdiffeq's ``odeint_adjoint``)
            instead of backprop through the steps. Default False.
        adjoint_params: the tensors the adjoint gradient reaches; default the parameters of
            ``f`` when it is an ``nn.Module`` or a bound method of one.

    Returns:
        SolverResult: ``x`` the state at ``t[-1]``, ``trajectory`` (if recorded), ``times``,
        ``energies`` (if given), ``n_steps`` (steps or function evaluations).

    Raises:
        ConfigError: bad arguments. DivergenceError: see ``on_divergence``.
    """
    _check_callable("f", f, optional=False)
    check_choice("method", method, ODE_METHODS)
    if step_size is not None:
        check_positive("step_size", step_size)
    check_positive("rtol", rtol)
    check_positive("atol", atol)
    if not isinstance(x0, Tensor) or x0.dim() < 1:
        raise ConfigError("x0 must be a batch-first tensor")
    if not bool(torch.isfinite(x0).all()):
        raise ConfigError("x0 must be finite; it contains NaN or Inf")
    times = _as_times(t, x0)
    _check_flag("adjoint", adjoint)
    _check_flag("record", record)
    _check_callable("energy", energy)
    if options is not None and not isinstance(options, dict):
        raise ConfigError(f"options must be a dict or None; got {shown(options)}")
    if method in FIXED_STEP_METHODS:
        _step_counts(times, step_size, "step_size")  # refuses a step size that never ends
    _DivergenceMonitor(1, x0.device, max_norm, on_divergence)  # checks both, early
    if adjoint:
        params = _adjoint_params(f, adjoint_params)
        if method in FIXED_STEP_METHODS:
            options = {**(options or {}), "grid_constructor": _equal_step_grid(step_size)}
        return _adaptive(
            f,
            x0,
            times,
            method,
            rtol,
            atol,
            energy,
            record,
            max_norm,
            on_divergence,
            options,
            params,
        )
    if method in FIXED_STEP_METHODS:
        return _fixed_step(f, x0, times, method, step_size, energy, record, max_norm, on_divergence)
    return _adaptive(
        f, x0, times, method, rtol, atol, energy, record, max_norm, on_divergence, options
    )


def _adjoint_params(f: VectorField, given: Sequence[Tensor] | None) -> tuple[Tensor, ...]:
    """The tensors an adjoint gradient reaches: ``given``, or the parameters of ``f``'s module."""
    if given is not None:
        params = tuple(given)
        if not all(isinstance(p, Tensor) for p in params):
            raise ConfigError("adjoint_params must be a sequence of tensors")
        return params
    owner = f if isinstance(f, nn.Module) else getattr(f, "__self__", None)
    if isinstance(owner, nn.Module):
        return tuple(owner.parameters())
    raise ConfigError(
        "adjoint=True needs adjoint_params (the tensors the gradient must reach) when f is "
        "neither an nn.Module nor a method of one"
    )


def _equal_step_grid(step_size: float | None) -> Callable[[Callable, Tensor, Tensor], Tensor]:
    """A torchdiffeq ``grid_constructor``: ``ceil(dt / step_size)`` equal steps per interval of
    the output times (one step per interval for ``None``), the grid of :func:`_fixed_step`.
    The adjoint pass calls it with decreasing times, hence ``abs``."""

    def grid(func: Callable, y0: Tensor, t: Tensor) -> Tensor:
        pieces = [t[:1]]
        for i in range(len(t) - 1):
            dt = abs(float(t[i + 1] - t[i]))
            n_sub = 1 if step_size is None else max(1, math.ceil(dt / step_size - 1e-9))
            pieces.append(
                torch.linspace(float(t[i]), float(t[i + 1]), n_sub + 1, dtype=t.dtype)[1:]
            )
        return torch.cat(pieces).to(t.device)

    return grid


def _record_energy(energy: Callable[[Tensor], Tensor] | None, x: Tensor, out: list[Tensor]) -> None:
    if energy is not None:
        with torch.no_grad():
            out.append(energy(x.detach()).detach())


def _fixed_step(
    f: VectorField,
    x0: Tensor,
    times: Tensor,
    method: str,
    step_size: float | None,
    energy: Callable[[Tensor], Tensor] | None,
    record: bool,
    max_norm: float | None,
    on_divergence: str,
) -> SolverResult:
    step, stages = _STEPPERS[method]
    counts = _step_counts(times, step_size, "step_size")
    b = x0.shape[0]
    monitor = _DivergenceMonitor(b, x0.device, max_norm, on_divergence)
    shape = (-1, *([1] * (x0.dim() - 1)))
    x = x0
    traj = [x0] if record else []
    energies: list[Tensor] = []
    _record_energy(energy, x0, energies)
    n = 0
    frozen = False  # becomes True at the first divergence (then every step masks)
    for i in range(len(times) - 1):
        t0, t1 = times[i], times[i + 1]
        n_sub = counts[i]
        h = (t1 - t0) / n_sub
        for j in range(n_sub):
            new = step(f, t0 + j * h, x, h)
            # diverged samples (new or old) keep their last finite state
            if bool(monitor.check(new, n).any()) or frozen:
                frozen = True
                x = torch.where(monitor.diverged.view(shape), x, new)
            else:
                x = new
            n += 1
        if record:
            traj.append(x)
        _record_energy(energy, x, energies)
    monitor.finish(f"integrate(method={method!r})")
    return SolverResult(
        x=x,
        converged=~monitor.diverged,
        n_steps=torch.where(monitor.diverged, monitor.step + 1, torch.full_like(monitor.step, n)),
        trajectory=torch.stack(traj) if record else None,
        energies=torch.stack(energies) if energies else None,
        times=times,
        diverged=monitor.diverged,
        diverged_step=monitor.step,
        nfe=n * stages,
        method=method,
    )


def _adaptive(
    f: VectorField,
    x0: Tensor,
    times: Tensor,
    method: str,
    rtol: float,
    atol: float,
    energy: Callable[[Tensor], Tensor] | None,
    record: bool,
    max_norm: float | None,
    on_divergence: str,
    options: dict | None,
    adjoint_params: tuple[Tensor, ...] | None = None,
) -> SolverResult:
    from torchdiffeq import odeint, odeint_adjoint

    nfe = 0

    def counted(t: Tensor, x: Tensor) -> Tensor:
        nonlocal nfe
        nfe += 1
        return f(t, x)

    b = x0.shape[0]
    monitor = _DivergenceMonitor(b, x0.device, max_norm, on_divergence)
    try:
        if adjoint_params is None:
            ys = odeint(counted, x0, times, rtol=rtol, atol=atol, method=method, options=options)
        else:
            ys = odeint_adjoint(
                counted,
                x0,
                times,
                rtol=rtol,
                atol=atol,
                method=method,
                options=options,
                adjoint_params=adjoint_params,
            )
    except (AssertionError, RuntimeError) as exc:  # torchdiffeq signals dt underflow by assert
        if "underflow" in str(exc) or "max_num_steps" in str(exc):
            what = "step size underflow" if "underflow" in str(exc) else "too many steps"
            raise DivergenceError(
                f"integrate(method={method!r}): {what} after {nfe} evaluations "
                f"({exc}); the flow is stiff or blows up",
                step=nfe,
            ) from exc
        raise
    for i in range(len(times)):
        monitor.check(ys[i], i, candidates=~monitor.diverged)
    if bool(monitor.diverged.any()):
        ys = ys.clone()
        for i_b in torch.nonzero(monitor.diverged).flatten().tolist():
            first_bad = int(monitor.step[i_b])  # output index where it left the finite range
            ys[first_bad:, i_b] = ys[max(first_bad - 1, 0), i_b]
    monitor.finish(f"integrate(method={method!r})")
    energies: list[Tensor] = []
    for i in range(len(times)):
        _record_energy(energy, ys[i], energies)
    return SolverResult(
        x=ys[-1],
        converged=~monitor.diverged,
        n_steps=torch.full((b,), nfe, dtype=torch.long, device=x0.device),
        trajectory=ys if record else None,
        energies=torch.stack(energies) if energies else None,
        times=times,
        diverged=monitor.diverged,
        diverged_step=monitor.step,
        nfe=nfe,
        method=method,
    )
