"""Solver fixes needed by the DEQ experiments (issue 5)."""

from __future__ import annotations

import gc
import weakref

import torch

from hopfield_lab.solvers.gradients import solve_fixed_point


def test_implicit_gradient_graph_is_freed_with_its_result(gen) -> None:
    """The adjoint hook must not keep its own output alive (a leak of one graph per call)."""
    w = torch.nn.Parameter(0.1 * torch.randn(8, 8, generator=gen, dtype=torch.float64))
    c = torch.randn(4, 8, generator=gen, dtype=torch.float64)
    res = solve_fixed_point(
        lambda s: torch.tanh(s @ w) + c, torch.zeros(4, 8, dtype=torch.float64), tol=1e-10
    )
    res.x.sum().backward()
    assert res.stats["backward_steps"] >= 1  # the hook still reports into result.stats
    ref = weakref.ref(res.x)
    del res
    gc.collect()
    assert ref() is None
