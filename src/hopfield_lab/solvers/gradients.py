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

from hopfield_lab.errors import check_choice, check_int, check_positive
from hopfield_lab.solvers.fixed_point import FIXED_POINT_METHODS, fixed_point
from hopfield_lab.solvers.result import SolverResult

__all__ = ["GRADIENT_MODES", "solve_fixed_point"]

GRADIENT_MODES = ("implicit", "unrolled")


def solve_fixed_point(
    f: Callable[[Tensor], Tensor],
    x0: Tensor,
    *,
    grad: Literal["implicit", "unrolled"] = "implicit",
    backward_method: str = "picard",
    backward_max_iter: int = 30,
    backward_tol: float = 1e-8,
    **solver_kwargs: Any,
) -> SolverResult:
    """Solve ``x = f(x)`` and make ``result.x`` differentiable w.r.t. ``f``'s parameters.

    Args:
        f: step function; its parameters (closures, module weights) receive gradients.
        x0: initial state ``(B, ...)``; it receives no gradient under ``grad="implicit"``
            (the fixed point does not depend on it).
        grad: ``"implicit"`` (recurrent backprop on the adjoint fixed point) or
            ``"unrolled"`` (backprop through every forward iteration).
        backward_method: solver for the adjoint fixed point (``picard``, ``damped``,
            ``anderson``). Default "picard" (recurrent backprop).
        backward_max_iter: adjoint iterations (the DEQ paper uses 8/16/24 for 3/5/7 layers).
        backward_tol: relative tolerance of the adjoint solve; it stops early below it.
        **solver_kwargs: forwarded to :func:`fixed_point` for the forward solve.

    Returns:
        SolverResult whose ``x`` carries the graph. Under ``implicit``, ``stats`` gets
        ``backward_steps`` (max adjoint iterations over the batch) after each backward pass.

    Raises:
        ConfigError: unknown ``grad`` or backward settings.
    """
    check_choice("grad", grad, GRADIENT_MODES)
    check_choice("backward_method", backward_method, FIXED_POINT_METHODS)
    check_int("backward_max_iter", backward_max_iter, 1)
    check_positive("backward_tol", backward_tol)
    if grad == "unrolled" or not torch.is_grad_enabled():
        return fixed_point(f, x0, **solver_kwargs)

    with torch.no_grad():
        result = fixed_point(f, x0.detach(), **solver_kwargs)
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
            back = fixed_point(
                step,
                g,
                method=backward_method,
                tol=backward_tol,
                max_iter=backward_max_iter,
                damping=0.5 if backward_method == "damped" else 0.0,
                record_residuals=True,
            )
        stats["backward_steps"] = int(back.n_steps.max())
        if back.final_residual is not None:
            stats["backward_residual"] = float(back.final_residual.max())
        return back.x

    z.register_hook(adjoint)
    result.x = z
    return result
