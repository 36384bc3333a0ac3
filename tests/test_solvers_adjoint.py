"""integrate(adjoint=True): torchdiffeq's adjoint gradients equal backprop through the steps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hopfield_lab.errors import ConfigError
from hopfield_lab.solvers import integrate


class _Field(nn.Module):
    """``x' = tanh(x) A + c - x`` with trainable ``A, c``."""

    def __init__(self, gen: torch.Generator, n: int = 5) -> None:
        super().__init__()
        self.A = nn.Parameter(torch.randn(n, n, generator=gen, dtype=torch.float64) / 2)
        self.c = nn.Parameter(torch.randn(n, generator=gen, dtype=torch.float64))

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x) @ self.A + self.c - x


def _grads(f: _Field, x0: torch.Tensor, **kw) -> torch.Tensor:
    f.zero_grad()
    x = x0.clone().requires_grad_(True)
    r = integrate(f, x, [0.0, 0.7, 1.5], **kw)
    ((r.trajectory[1] ** 2).sum() + (r.x**3).sum()).backward()  # loss on two output times
    return torch.cat([f.A.grad.flatten(), f.c.grad, x.grad.flatten()])


@pytest.mark.parametrize(
    ("method", "kw", "tol"),
    [
        ("dopri5", {"rtol": 1e-9, "atol": 1e-9}, 1e-6),
        ("rk4", {"step_size": 0.01}, 1e-7),  # the adjoint's RK4 (3/8 rule) differs by O(h^4)
    ],
)
def test_adjoint_matches_backprop(method, kw, tol, gen) -> None:
    f = _Field(gen)
    x0 = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    backprop = _grads(f, x0, method=method, **kw)
    adjoint = _grads(f, x0, method=method, adjoint=True, **kw)
    assert torch.allclose(adjoint, backprop, rtol=0, atol=tol * backprop.abs().max())


def test_adjoint_euler_converges_to_backprop_at_first_order(gen) -> None:
    """Euler's adjoint is not the exact discrete gradient: the gap shrinks like h."""
    f = _Field(gen)
    x0 = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    gaps = []
    for h in (0.02, 0.01):
        kw = {"method": "euler", "step_size": h}
        gaps.append(float((_grads(f, x0, adjoint=True, **kw) - _grads(f, x0, **kw)).abs().max()))
    assert 1.6 < gaps[0] / gaps[1] < 2.4


def test_adjoint_same_forward_grid_and_explicit_params(gen) -> None:
    f = _Field(gen)
    x0 = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    ours = integrate(f, x0, [0.0, 1.0], method="euler", step_size=0.1)
    adj = integrate(f, x0, [0.0, 1.0], method="euler", step_size=0.1, adjoint=True)
    assert adj.nfe == ours.nfe == 10
    assert torch.allclose(adj.x, ours.x, atol=1e-14)

    def plain(t, x):  # not a module: the tensors must be named
        return f(t, x)

    with pytest.raises(ConfigError, match="adjoint_params"):
        integrate(plain, x0, [0.0, 1.0], method="dopri5", adjoint=True)
    x = x0.clone().requires_grad_(True)
    r = integrate(plain, x, [0.0, 1.0], method="dopri5", adjoint=True, adjoint_params=[f.c])
    r.x.sum().backward()
    assert f.c.grad is not None and x.grad is not None


def test_norm_overflow_without_max_norm_is_reported() -> None:
    """Finite entries whose norm overflows float64 (a diverging rectifier) are named as such."""
    from hopfield_lab.errors import DivergenceError

    x0 = torch.full((1, 4), 1e200, dtype=torch.float64)  # squares overflow
    with pytest.raises(DivergenceError, match="state norm overflowed"):
        integrate(lambda t, x: x, x0, [0.0, 1.0], method="euler", step_size=0.5, max_norm=None)
