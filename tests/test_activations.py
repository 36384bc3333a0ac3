"""Activations: Lagrangians are antiderivatives, derivatives match autograd, stable numerics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special

from hopfield_lab.core.activations import ACTIVATIONS, dilog_lagrangian, get_activation
from hopfield_lab.errors import ConfigError

NAMES = sorted(ACTIVATIONS)


def _u(gen: torch.Generator, shape=(5, 7)) -> torch.Tensor:
    return (3.0 * torch.randn(*shape, generator=gen, dtype=torch.float64)).requires_grad_(True)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("beta", [0.7, 2.0])
def test_grad_lagrangian_is_sigma(name: str, beta: float, gen: torch.Generator) -> None:
    act = get_activation(name, beta)
    u = _u(gen)
    (g,) = torch.autograd.grad(act.lagrangian(u).sum(), u)
    torch.testing.assert_close(g, act.sigma(u), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_jvp_matches_autograd(name: str, gen: torch.Generator) -> None:
    act = get_activation(name, 1.3)
    u = _u(gen, (3, 6))
    v = torch.randn(3, 6, generator=gen, dtype=torch.float64)
    _, jvp = torch.autograd.functional.jvp(act.sigma, u.detach(), v)
    torch.testing.assert_close(act.jvp(u.detach(), v), jvp, rtol=1e-10, atol=1e-12)
    jac = torch.stack(
        [torch.autograd.functional.jacobian(act.sigma, u.detach()[i]) for i in range(3)]
    )
    torch.testing.assert_close(act.jacobian(u.detach()), jac, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "softmax"])
def test_derivative_matches_autograd(name: str, gen: torch.Generator) -> None:
    act = get_activation(name, 1.5)
    u = _u(gen)
    (g,) = torch.autograd.grad(act.sigma(u).sum(), u)
    torch.testing.assert_close(act.derivative(u.detach()), g, rtol=1e-10, atol=1e-12)


def test_softmax_has_no_elementwise_derivative() -> None:
    with pytest.raises(ConfigError, match="not elementwise"):
        get_activation("softmax").derivative(torch.zeros(2, 3))


def test_softplus_lagrangian_against_numerical_integration() -> None:
    # Phi(u) = integral_{-inf}^u log(1 + e^s) ds, since Phi(-inf) = -Li2(0) = 0
    for u in [-30.0, -5.0, -1.0, -1e-3, 0.0, 0.4, 1.0, 3.0, 12.0]:
        val, _ = integrate.quad(lambda s: np.logaddexp(0.0, s), -60.0, u, limit=200, epsabs=1e-13)
        ours = float(dilog_lagrangian(torch.tensor(u, dtype=torch.float64)))
        assert ours == pytest.approx(val, rel=1e-10, abs=1e-12), u
        # and against scipy: Li2(x) = spence(1 - x), so -Li2(-e^u) = -spence(1 + e^u)
        assert ours == pytest.approx(
            -float(special.spence(1.0 + math.exp(u))), rel=1e-10, abs=1e-13
        )


def test_lagrangians_stable_for_large_inputs() -> None:
    u = torch.tensor([[-1e4, -80.0, 80.0, 1e4]], dtype=torch.float64, requires_grad=True)
    for name in NAMES:
        act = get_activation(name, 3.0)
        val = act.lagrangian(u)
        (g,) = torch.autograd.grad(val.sum(), u)
        assert torch.isfinite(val).all() and torch.isfinite(g).all(), name
    # log cosh(x) ~ |x| - log 2 for large |x|, softplus Lagrangian ~ u^2/2 + pi^2/6
    t = get_activation("tanh", 1.0)
    assert float(t.lagrangian(torch.tensor([[1e4]], dtype=torch.float64))) == pytest.approx(
        1e4 - math.log(2.0)
    )
    sp = float(dilog_lagrangian(torch.tensor(50.0, dtype=torch.float64)))
    assert sp == pytest.approx(50.0**2 / 2 + math.pi**2 / 6, rel=1e-14)


def test_tanh_derivative_has_finite_gradient_when_saturated() -> None:
    u = torch.tensor([40.0, -400.0, 0.3], dtype=torch.float64, requires_grad=True)
    d = get_activation("tanh", 2.0).derivative(u)
    (g,) = torch.autograd.grad(d.sum(), u)
    assert torch.isfinite(g).all()


def test_softplus_double_backward() -> None:
    u = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(dilog_lagrangian, (u,))
    assert torch.autograd.gradgradcheck(dilog_lagrangian, (u,))


def test_convexity_flags() -> None:
    assert not get_activation("gelu").convex_lagrangian
    assert all(get_activation(n).convex_lagrangian for n in NAMES if n != "gelu")
    # GELU really is non-monotone: its Lagrangian is not convex
    assert float(get_activation("gelu").derivative(torch.tensor(-1.0))) < 0


def test_unknown_activation_and_bad_beta() -> None:
    with pytest.raises(ConfigError, match="activation must be one of .*relu"):
        get_activation("swish")
    with pytest.raises(ConfigError, match="beta must be"):
        get_activation("tanh", -1.0)
