"""Gradients through a fixed point: unrolled backprop or implicit (recurrent backprop).

For ``z* = f(z*, theta)`` and a loss ``L(z*)``, the implicit function theorem gives

    dL/dtheta = (df/dtheta)^T y,   with   y = (dL/dz*) + (df/dz)^T y   at z*,

the adjoint fixed point. Recurrent backprop (Almeida-Pineda; the DEQ paper's backward pass)
solves it by iterating ``y <- g + J^T y`` with vector-Jacobian products, which is simply
:func:`~hopfield_lab.solvers.fixed_point.fixed_point` applied to the adjoint map, so every
forward method (Picard, damped, Anderson) is available backward too.

The forward solve runs without a graph; one extra call ``z = f(z*)`` re-attaches the
parameters, and a tensor hook on ``z`` replaces its incoming gradient ``g`` by the adjoint
``y``. Memory is that of one step, whatever the number of iterations. ``grad="unrolled"``
instead backpropagates through every solver iteration (BPTT), exact for the truncated solve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_choice
from hopfield_lab.solvers.fixed_point import fixed_point
from hopfield_lab.solvers.options import FixedPointOptions
from hopfield_lab.solvers.result import SolverResult

__all__ = ["ADJOINT_DEFAULT", "GRADIENT_MODES", "GradMode", "solve_fixed_point"]

GRADIENT_MODES = ("implicit", "unrolled")
GradMode = Literal["implicit", "unrolled"]

ADJOINT_DEFAULT = FixedPointOptions(method="picard", max_iter=30, tol=1e-8)
"""Default options of the adjoint solve: recurrent backprop (Picard), 30 iterations, rel. 1e-8."""


def solve_fixed_point(
    f: Callable[[Tensor], Tensor],
    x0: Tensor,
    options: FixedPointOptions | None = None,
    *,
    grad: GradMode = "implicit",
    backward: FixedPointOptions | None = None,
    **kwargs: Any,
) -> SolverResult:
    """Solve ``x = f(x)`` and make ``result.x`` differentiable w.r.t. ``f``'s parameters.

    Args:
        f: step function; its parameters (closures, module weights) receive gradients.
        x0: initial state ``(B, ...)``; it receives no gradient under ``grad="implicit"``
            (the fixed point does not depend on it).
        options: the forward solver (:class:`~hopfield_lab.solvers.FixedPointOptions`);
            default ``FixedPointOptions()``.
        grad: ``"implicit"`` (recurrent backprop on the adjoint fixed point) or
            ``"unrolled"`` (backprop through every forward iteration).
        backward: options of the adjoint solve ``y = g + J^T y`` (any method; the DEQ paper
            uses Picard with 8/16/24 iterations for 3/5/7 layers); it stops early below its
            tolerance. Default :data:`ADJOINT_DEFAULT` (Picard, 30 iterations, rel. 1e-8).
            Its ``merit`` and ``full_iterations`` are ignored.
        **kwargs: forwarded to :func:`fixed_point` for the forward solve (per-call arguments
            such as ``record_residuals`` and ``on_divergence``, or option changes).

    Returns:
        SolverResult whose ``x`` carries the graph. Under ``implicit``, ``stats`` gets
        ``backward_steps`` (max adjoint iterations over the batch) after each backward pass.

    Raises:
        ConfigError: unknown ``grad`` or bad options.
    """
    check_choice("grad", grad, GRADIENT_MODES)
    if backward is None:
        backward = ADJOINT_DEFAULT
    elif not isinstance(backward, FixedPointOptions):
        raise ConfigError(f"backward must be a FixedPointOptions; got {type(backward).__name__}")
    back_opts = backward.replace(merit=None, full_iterations=False)
    if grad == "unrolled" or not torch.is_grad_enabled():
        return fixed_point(f, x0, options, **kwargs)

    with torch.no_grad():
        result = fixed_point(f, x0.detach(), options, **kwargs)
    z_star = result.x.detach().requires_grad_(True)
    z = f(z_star)  # re-attaches theta: one step at the fixed point
    if not z.requires_grad:
        return result

    # Graph of one step at z* for the vector-Jacobian products J^T y.
    z_in = z.detach().requires_grad_(True)
    with torch.enable_grad():
        f_in = f(z_in)
    # The hook must not reach ``z`` (nor ``result``, which holds it): z -> grad_fn -> hook ->
    # closure -> z would be a cycle through C++ that Python's GC cannot see, leaking the
    # step's graph at every call. Only the stats dict is shared.
    stats = result.stats

    def adjoint(g: Tensor | None) -> Tensor | None:
        if g is None:  # an undefined incoming gradient stays undefined
            return None

        def step(y: Tensor) -> Tensor:
            (vjp,) = torch.autograd.grad(f_in, z_in, y, retain_graph=True)
            return g + vjp

        with torch.no_grad():
            back = fixed_point(step, g, back_opts, record_residuals=True)
        stats["backward_steps"] = int(back.n_steps.max())
        if back.final_residual is not None:
            stats["backward_residual"] = float(back.final_residual.max())
        return back.x

    z.register_hook(adjoint)
    result.x = z
    return result
