"""The typed result every solver returns, and the divergence bookkeeping they share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, DivergenceError, check_choice, shown

__all__ = ["OnDivergence", "SolverResult", "flat_norm"]

OnDivergence = Literal["raise", "flag"]


def flat_norm(x: Tensor) -> Tensor:
    """Euclidean norm of each sample of a batch-first tensor: ``(B, ...) -> (B,)``."""
    return torch.linalg.vector_norm(x.reshape(x.shape[0], -1), dim=1)


@dataclass
class SolverResult:
    """What a solver found, per sample.

    Attributes:
        x: the final state ``(B, ...)``. For a fixed point, the last output ``f(x_k)``; for a
            diverged sample, its last finite state (never NaN).
        converged: ``(B,)`` bool; for an ODE, True for every sample that did not diverge.
        n_steps: ``(B,)`` long: calls of the step function until the sample stopped (fixed
            point), or integration steps taken (ODE; the same for every sample).
        residuals: ``(T, B)`` residual of each iteration (fixed point; ``None`` for ODEs). A
            converged (or diverged) sample is frozen; later rows repeat its last residual.
        trajectory: ``(T+1, B, ...)`` states along the way, if recorded.
        energies: ``(T+1, B)`` energy of each recorded state, if an energy was given.
        times: ``(T+1,)`` times of the recorded states (ODE) or iteration indices.
        diverged: ``(B,)`` bool.
        diverged_step: ``(B,)`` long, the step at which each sample diverged, ``-1`` if not.
        nfe: total number of (batched) calls of the step function or vector field.
        method: solver name.
        stats: extra solver statistics: ``evaluated_rows`` (sample-evaluations of ``f``,
            the work done), Anderson rejections, backward iterations.
    """

    x: Tensor
    converged: Tensor
    n_steps: Tensor
    residuals: Tensor | None = None
    trajectory: Tensor | None = None
    energies: Tensor | None = None
    times: Tensor | None = None
    diverged: Tensor | None = None
    diverged_step: Tensor | None = None
    nfe: int = 0
    method: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        b = self.x.shape[0]
        if self.diverged is None:
            self.diverged = torch.zeros(b, dtype=torch.bool, device=self.x.device)
        if self.diverged_step is None:
            self.diverged_step = torch.full((b,), -1, dtype=torch.long, device=self.x.device)

    @property
    def n_converged(self) -> int:
        return int(self.converged.sum())

    @property
    def n_not_converged(self) -> int:
        """Samples that neither converged nor diverged within the budget."""
        assert self.diverged is not None
        return int((~self.converged & ~self.diverged).sum())

    @property
    def n_diverged(self) -> int:
        assert self.diverged is not None
        return int(self.diverged.sum())

    @property
    def final_residual(self) -> Tensor | None:
        """``(B,)`` residual at the last recorded iteration."""
        return None if self.residuals is None or len(self.residuals) == 0 else self.residuals[-1]

    def summary(self) -> dict[str, Any]:
        """JSON-ready statistics: step counts, convergence and divergence counts."""
        steps = self.n_steps.double()
        out: dict[str, Any] = {
            "method": self.method,
            "batch": int(self.x.shape[0]),
            "mean_steps": float(steps.mean()),
            "std_steps": float(steps.std()) if steps.numel() > 1 else 0.0,
            "max_steps": int(self.n_steps.max()),
            "converged": self.n_converged,
            "not_converged": self.n_not_converged,
            "diverged": self.n_diverged,
            "nfe": int(self.nfe),
        }
        if self.final_residual is not None:
            out["max_final_residual"] = float(self.final_residual.max())
        out.update({k: v for k, v in self.stats.items() if isinstance(v, (int, float, str))})
        return out


class _DivergenceMonitor:
    """Per-sample divergence detection: non-finite entries or a norm above ``max_norm``."""

    def __init__(
        self, batch: int, device: torch.device, max_norm: float | None, on_divergence: str
    ) -> None:
        check_choice("on_divergence", on_divergence, ("raise", "flag"))
        real = isinstance(max_norm, (int, float)) and not isinstance(max_norm, bool)
        if max_norm is not None and not (real and max_norm > 0):  # inf: only NaN/Inf count
            raise ConfigError(f"max_norm must be a number > 0 or None; got {shown(max_norm)}")
        self.max_norm = max_norm
        self.on_divergence = on_divergence
        self.diverged = torch.zeros(batch, dtype=torch.bool, device=device)
        self.step = torch.full((batch,), -1, dtype=torch.long, device=device)
        self.reason: dict[int, str] = {}

    def check(self, x: Tensor, step: int, candidates: Tensor | None = None) -> Tensor:
        """Mark newly diverged samples among ``candidates``; return the new-divergence mask."""
        flat = x.detach().reshape(x.shape[0], -1)
        # one reduction per step: a NaN or Inf entry makes the row's norm non-finite
        norms = torch.linalg.vector_norm(flat, dim=1)
        bad = ~torch.isfinite(norms)
        if self.max_norm is not None:
            bad = bad | (norms > self.max_norm)
        bad = bad & ~self.diverged
        if candidates is not None:
            bad = bad & candidates
        if bool(bad.any()):
            idx = int(torch.nonzero(bad)[0])
            finite = bool(torch.isfinite(flat[idx]).all())
            if not finite:
                reason = "non-finite state"
            elif not bool(torch.isfinite(norms[idx])):  # finite entries whose norm overflows
                reason = "state norm overflowed"
            else:
                reason = f"state norm exceeded max_norm={self.max_norm:g}"
            self.reason.setdefault(step, reason)
            self.diverged |= bad
            self.step[bad] = step
        return bad

    @property
    def any(self) -> bool:
        """Whether any sample has diverged so far."""
        return bool(self.diverged.any())

    def finish(self, what: str) -> None:
        """Raise :class:`DivergenceError` if any sample diverged and the policy says so."""
        if self.on_divergence != "raise" or not bool(self.diverged.any()):
            return
        samples = torch.nonzero(self.diverged).flatten().tolist()
        first = int(self.step[self.diverged].min())
        first_sample = int(torch.nonzero(self.diverged & (self.step == first))[0])
        raise DivergenceError(
            f"{what}: {len(samples)} of {self.diverged.numel()} samples diverged; first at step "
            f"{first} (sample {first_sample}: {self.reason.get(first, 'diverged')}). "
            "Pass on_divergence='flag' to keep the finite samples.",
            step=first,
            samples=samples,
        )


#: Most steps a fixed-step solver takes in one call: beyond, a step size is a mistake (``1e-300``
#: over a unit interval), refused at once instead of looping for ages.
MAX_STEPS = 10**8


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False; got {shown(value)}")
    return value


def _check_callable(name: str, value: Any, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not callable(value):
        what = "a callable or None" if optional else "a callable"
        raise ConfigError(f"{name} must be {what}; got {shown(value)}")


def _as_times(t: Any, x0: Tensor) -> Tensor:
    """Output times as a 1-D tensor of ``x0``'s dtype: finite, strictly increasing, >= 2."""
    try:
        times = torch.as_tensor(t, dtype=x0.dtype, device=x0.device)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise ConfigError(f"t must be a 1-D sequence of numbers; got {shown(t)}") from None
    if times.dim() != 1 or times.numel() < 2:
        raise ConfigError(
            f"t must be a 1-D sequence of at least 2 times; got shape {tuple(times.shape)}"
        )
    if not bool(torch.isfinite(times).all()) or not bool((times[1:] > times[:-1]).all()):
        raise ConfigError("t must be finite and strictly increasing")
    return times


def _step_counts(times: Tensor, step: float | None, name: str) -> list[int]:
    """``ceil(gap / step)`` steps per output interval (1 for ``None``), at most MAX_STEPS."""
    gaps = (times[1:] - times[:-1]).double().tolist()
    if step is None:
        return [1] * len(gaps)
    total = sum(g / step for g in gaps)
    if not total <= MAX_STEPS:  # also catches inf from a subnormal step
        raise ConfigError(
            f"{name}={step!r} implies {total:.3g} steps over t; at most {MAX_STEPS:.0e} "
            f"are allowed (use a larger {name})"
        )
    return [max(1, math.ceil(g / step - 1e-9)) for g in gaps]
