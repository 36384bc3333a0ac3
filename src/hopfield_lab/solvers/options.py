"""Fixed-point solver options: one frozen dataclass, used by every caller of ``fixed_point``.

``fixed_point(f, x0, FixedPointOptions(method="anderson", tol=1e-6))`` and the models that
solve for equilibria (``ModernHopfield.retrieve``, ``LayeredHopfield.solve`` through
:class:`~hopfield_lab.models.layered.DEQSettings`) take the same object, so an option has one
name and one meaning everywhere. What to *record* (residuals, trajectory, energies) and how to
react to divergence are per-call arguments of ``fixed_point``, not solver options.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import Tensor

from hopfield_lab.errors import ConfigError, check_choice, check_int, check_positive, check_range

__all__ = [
    "FIXED_POINT_METHODS",
    "SAFEGUARDS",
    "STOPS",
    "FixedPointOptions",
    "Method",
    "Safeguard",
    "Stop",
    "safeguard_rule",
]

FIXED_POINT_METHODS = ("picard", "damped", "anderson")
SAFEGUARDS = ("residual", "proxy", "none")
STOPS = ("rel", "abs")
Method = Literal["picard", "damped", "anderson"]
Stop = Literal["rel", "abs"]
Safeguard = bool | Literal["residual", "proxy", "none"]


def safeguard_rule(safeguard: Safeguard) -> str:
    """Normalise ``safeguard`` (a bool or one of :data:`SAFEGUARDS`) to a rule name.

    ``True`` means ``"residual"`` and ``False`` means ``"none"``.
    """
    if safeguard is True:
        return "residual"
    if safeguard is False:
        return "none"
    return check_choice("safeguard", safeguard, SAFEGUARDS)


@dataclass(frozen=True)
class FixedPointOptions:
    """How to solve ``x = f(x)`` (see :func:`~hopfield_lab.solvers.fixed_point` for the maths).

    Attributes:
        method: ``"picard"`` (``x <- f(x)``), ``"damped"`` (``x <- d x + (1 - d) f(x)``) or
            ``"anderson"`` (type-II Anderson acceleration). Default "picard".
        tol: tolerance on the per-sample residual (> 0). Default 1e-5.
        stop: ``"rel"`` (``|f(x) - x| / |f(x)|``, the DEQ paper's criterion) or ``"abs"``
            (``|f(x) - x|``). Default "rel".
        max_iter: maximal number of calls of ``f`` (>= 1). Default 100.
        damping: weight ``d`` of the old iterate, in [0, 1); must be 0 for ``picard``;
            Anderson mixes ``(1 - d) G alpha + d X alpha``. Default 0.
        window: Anderson history size ``m`` (>= 1). Default 5.
        lam: Anderson Tikhonov term, relative to the mean of ``diag(F F^T)`` (>= 0).
            Default 1e-10.
        safeguard: Anderson safeguard, ``"residual"`` (ours: reject iterates whose residual
            grew, restart the history), ``"proxy"`` (the DEQ paper's pre-check against the
            last map output) or ``"none"``; ``True``/``False`` are accepted for
            ``"residual"``/``"none"`` and normalised. Default "residual".
        safeguard_factor: residual growth that triggers a rejection (> 0). Default 2.
        merit: optional ``(B, ...) -> (B,)`` (e.g. a model's energy) that accepted Anderson
            iterates must not increase (residual safeguard only). Not part of equality.
        full_iterations: iterate every sample ``max_iter`` times instead of freezing converged
            samples and stopping early (``n_steps`` still records the first convergence).

    Raises:
        ConfigError: for any value outside the ranges above, naming the field.
    """

    method: Method = "picard"
    tol: float = 1e-5
    stop: Stop = "rel"
    max_iter: int = 100
    damping: float = 0.0
    window: int = 5
    lam: float = 1e-10
    safeguard: Safeguard = "residual"
    safeguard_factor: float = 2.0
    merit: Callable[[Tensor], Tensor] | None = field(default=None, compare=False, repr=False)
    full_iterations: bool = False

    def __post_init__(self) -> None:
        check_choice("method", self.method, FIXED_POINT_METHODS)
        check_choice("stop", self.stop, STOPS)
        check_positive("tol", self.tol)
        check_int("max_iter", self.max_iter, 1)
        check_range("damping", self.damping, 0.0, 1.0, high_inclusive=False)
        check_int("window", self.window, 1)
        check_range("lam", self.lam, 0.0)
        check_positive("safeguard_factor", self.safeguard_factor)
        object.__setattr__(self, "safeguard", safeguard_rule(self.safeguard))
        if self.merit is not None and not callable(self.merit):
            raise ConfigError(f"merit must be callable or None; got {type(self.merit).__name__}")
        if not isinstance(self.full_iterations, bool):
            raise ConfigError(f"full_iterations must be a bool; got {self.full_iterations!r}")
        if self.method == "picard" and self.damping != 0.0:
            raise ConfigError(
                f"damping must be 0 for method 'picard'; got {self.damping!r} (use 'damped')"
            )

    def replace(self, **changes: Any) -> FixedPointOptions:
        """A copy with some fields changed (validated); unknown names raise ConfigError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ConfigError(
                f"unknown fixed-point option(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(names))}"
            )
        return dataclasses.replace(self, **changes)

    @classmethod
    def of(cls, options: FixedPointOptions | None = None, **changes: Any) -> FixedPointOptions:
        """``options`` (default: the defaults) with ``changes`` applied."""
        if options is None:
            options = cls()
        elif not isinstance(options, FixedPointOptions):
            raise ConfigError(f"options must be a FixedPointOptions; got {type(options).__name__}")
        return options.replace(**changes) if changes else options
