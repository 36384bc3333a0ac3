"""Modern Hopfield network (notes ch. 3): energy bounds, CCCP descent, closed forms vs autograd."""

from __future__ import annotations

import math

import pytest
import torch

from hopfield_lab.errors import ConfigError
from hopfield_lab.models import ModernHopfield

D = torch.float64


@pytest.fixture
def model(gen) -> ModernHopfield:
    return ModernHopfield(torch.randn(12, 20, generator=gen, dtype=D), beta=0.7)


def _hull_points(model: ModernHopfield, gen: torch.Generator, b: int = 16) -> torch.Tensor:
    w = torch.rand(b, model.n_patterns, generator=gen, dtype=D) ** 4
    return (w / w.sum(1, keepdim=True)) @ model.patterns


def test_energy_bounds_lemmas_3_2_1_and_3_2_2(model, gen) -> None:
    anywhere = 5.0 * torch.randn(64, 20, generator=gen, dtype=D)
    assert bool((model.energy(anywhere) >= -1e-12).all())  # Lemma 3.2.1
    hull = _hull_points(model, gen)
    m2 = float(model.max_norm**2)
    e = model.energy(hull)
    assert bool((e <= math.log(model.n_patterns) / model.beta + 0.5 * m2 + 1e-12).all())  # ii)
    assert bool((e <= 2 * m2 + 1e-12).all())  # i)


@pytest.mark.parametrize("beta", [0.05, 0.7, 5.0])
def test_energy_never_increases_along_updates(beta, gen) -> None:
    m = ModernHopfield(torch.randn(12, 20, generator=gen, dtype=D), beta=beta)
    x = 3.0 * torch.randn(32, 20, generator=gen, dtype=D)
    r = m.retrieve(x, tol=1e-12, max_iter=60, energy=m.energy, full_iterations=True)
    assert r.energies is not None
    assert float((r.energies[1:] - r.energies[:-1]).max()) <= 1e-10


def test_gradient_and_jacobian_closed_forms_match_autograd(model, gen) -> None:
    x = torch.randn(5, 20, generator=gen, dtype=D)
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model.energy(xg).sum(), xg)
    torch.testing.assert_close(model.energy_grad(x), g)
    torch.testing.assert_close(model.vector_field(0.0, x), -g)
    jac = torch.stack(
        [torch.autograd.functional.jacobian(lambda v: model.update(v[None])[0], xi) for xi in x]
    )
    torch.testing.assert_close(model.jacobian(x), jac)
    # symmetric PSD with spectral norm below beta M^2 (Prop. 3.3)
    J = model.jacobian(x)
    torch.testing.assert_close(J, J.transpose(1, 2))
    eig = torch.linalg.eigvalsh(J)
    assert float(eig.min()) > -1e-10 and float(eig.max()) <= model.jacobian_bound()


def test_stored_patterns_are_fixed_points_when_separated(gen) -> None:
    X = torch.sign(torch.randn(10, 200, generator=gen, dtype=D))  # well separated
    m = ModernHopfield(X, beta=0.5)
    assert float(m.separation().min()) > 100
    torch.testing.assert_close(m.update(X), X, rtol=0, atol=1e-12)
    noisy = X * torch.where(torch.rand(10, 200, generator=gen, dtype=D) < 0.2, -1.0, 1.0)
    r = m.retrieve(noisy, tol=1e-10)
    assert m.nearest(r.x).tolist() == list(range(10))
    torch.testing.assert_close(r.x, X, rtol=0, atol=1e-8)


def test_picard_and_anderson_reach_the_same_fixed_point(gen) -> None:
    # beta M^2 < 1 bounds |J| < 1 (Prop. 3.3): a contraction with a unique fixed point
    X = torch.randn(30, 16, generator=gen, dtype=D)
    beta = 0.9 / float(torch.linalg.vector_norm(X, dim=1).max() ** 2)
    m = ModernHopfield(X, beta=beta)
    q = 3.0 * torch.randn(8, 16, generator=gen, dtype=D)
    a = m.retrieve(q, method="picard", tol=1e-12, max_iter=5000)
    b = m.retrieve(q, method="anderson", tol=1e-12, max_iter=5000)
    assert bool(a.converged.all()) and bool(b.converged.all())
    torch.testing.assert_close(a.x, b.x, rtol=0, atol=1e-9)
    assert int(b.n_steps.max()) < int(a.n_steps.max())


def test_anderson_returns_true_fixed_points_in_the_multistable_regime(gen) -> None:
    m = ModernHopfield(torch.randn(30, 16, generator=gen, dtype=D), beta=0.3)
    q = torch.randn(8, 16, generator=gen, dtype=D)
    b = m.retrieve(q, method="anderson", tol=1e-12, max_iter=2000)
    assert bool(b.converged.all())
    res = (m.update(b.x) - b.x).norm(dim=1) / m.update(b.x).norm(dim=1)
    assert float(res.max()) < 1e-10


def test_separation_definition(gen) -> None:
    X = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 2.0]], dtype=D)
    m = ModernHopfield(X)
    g = X @ X.T
    expected = [
        g[0, 0] - max(g[0, 1], g[0, 2]),
        g[1, 1] - max(g[1, 0], g[1, 2]),
        g[2, 2] - max(g[2, 0], g[2, 1]),
    ]
    torch.testing.assert_close(m.separation(), torch.stack(expected))


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="beta must be"):
        ModernHopfield(torch.zeros(2, 3), beta=0.0)
    with pytest.raises(ConfigError, match=r"patterns must be a \(P, N\) tensor"):
        ModernHopfield(torch.zeros(3))
    m = ModernHopfield(torch.zeros(2, 3))
    with pytest.raises(ConfigError, match=r"query must have shape \(B, 3\)"):
        m.retrieve(torch.zeros(2, 4))


def test_energy_safeguarded_anderson_settles_where_picard_does(gen) -> None:
    # multistable regime: plain Anderson is drawn to other fixed points (saddles of E);
    # with the energy as merit (the default of retrieve) it reaches Picard's attractors
    m = ModernHopfield(torch.randn(30, 16, generator=gen, dtype=D), beta=0.3)
    q = torch.randn(64, 16, generator=gen, dtype=D)
    pic = m.retrieve(q, tol=1e-10, max_iter=5000)
    safe = m.retrieve(q, method="anderson", tol=1e-10, max_iter=5000)
    plain = m.retrieve(q, method="anderson", tol=1e-10, max_iter=5000, merit=None)
    assert bool(pic.converged.all() and safe.converged.all() and plain.converged.all())

    def agree(r):
        return float(((r.x - pic.x).norm(dim=1) / pic.x.norm(dim=1) < 1e-6).double().mean())

    assert agree(safe) == 1.0 and agree(plain) < 0.9
    assert safe.n_steps.double().mean() < pic.n_steps.double().mean()
