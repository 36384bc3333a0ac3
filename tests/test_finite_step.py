"""FiniteStepHopfield: closed forms vs autograd, energy descent, shapes and input errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from hopfield_lab.errors import ConfigError
from hopfield_lab.models import FiniteStepHopfield
from hopfield_lab.models.finite_step import default_step
from hopfield_lab.regularizers import descent_condition, jacobian_spectral_norm

ACTS = [("relu", 1.0), ("sigmoid", 1.7), ("tanh", 1.3)]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Small matrices: one thread is as fast, and immune to oversubscribed shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model(act: str, beta: float, d: int = 7, N: int = 5, a: float = 0.6, K: int = 3):
    torch.manual_seed(3)
    return FiniteStepHopfield(d, N, activation=act, beta=beta, a=a, K=K, n_classes=4).double()


def _states(gen: torch.Generator, B: int = 4, d: int = 7, scale: float = 1.5) -> torch.Tensor:
    return scale * torch.randn(B, d, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize(("act", "beta"), ACTS)
def test_energy_grad_matches_autograd(act: str, beta: float, gen: torch.Generator) -> None:
    model = _model(act, beta)
    v = _states(gen).requires_grad_(True)
    (g,) = torch.autograd.grad(model.energy(v).sum(), v)
    torch.testing.assert_close(model.energy_grad(v.detach()), g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("act", "beta"), ACTS)
def test_hessian_matches_autograd(act: str, beta: float, gen: torch.Generator) -> None:
    model = _model(act, beta)
    v = _states(gen)
    hess = torch.stack(
        [torch.autograd.functional.hessian(lambda x: model.energy(x[None])[0], vi) for vi in v]
    )
    torch.testing.assert_close(model.hessian(v), hess, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("act", "beta"), ACTS)
def test_jacobian_matches_jacrev(act: str, beta: float, gen: torch.Generator) -> None:
    model = _model(act, beta, a=0.35)
    v = _states(gen)
    jac = torch.func.vmap(torch.func.jacrev(lambda x: model.T(x[None])[0]))(v)  # (B, d, d)
    J = model.jacobian_T(v)
    torch.testing.assert_close(J, jac, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(J, J.mT)  # symmetric (Eq. 6)
    assert bool((torch.linalg.eigvalsh(J) > -1e-12).all())  # PSD: sigma' >= 0
    # the contract's jacobian is that of the damped update: (1 - a) I + a J_T
    upd = torch.func.vmap(torch.func.jacrev(lambda x: model.update(x[None])[0]))(v)
    torch.testing.assert_close(model.jacobian(v), upd, rtol=1e-12, atol=1e-12)
    eye = torch.eye(v.shape[1], dtype=v.dtype)
    torch.testing.assert_close(model.jacobian(v), 0.65 * eye + 0.35 * J, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("act", "beta"), ACTS)
def test_update_is_a_gradient_step(act: str, beta: float, gen: torch.Generator) -> None:
    model = _model(act, beta, a=0.35)
    v = _states(gen).requires_grad_(True)
    (g,) = torch.autograd.grad(model.energy(v).sum(), v)
    torch.testing.assert_close(model.update(v.detach()), v.detach() - 0.35 * g)  # Eq. 4
    torch.testing.assert_close(model.vector_field(0.0, v.detach()), -g)


def _energies(model: FiniteStepHopfield, x: torch.Tensor) -> torch.Tensor:
    traj = model.trajectory(x)  # (K + 1, B, d)
    return torch.stack([model.energy(v) for v in traj])  # (K + 1, B)


@pytest.mark.parametrize(("act", "beta"), ACTS)
def test_energy_decreases_when_descent_condition_holds(
    act: str, beta: float, gen: torch.Generator
) -> None:
    torch.manual_seed(0)
    model = FiniteStepHopfield(40, 12, activation=act, beta=beta, a=0.5, K=6).double()
    x = torch.rand(16, 40, generator=gen, dtype=torch.float64)
    traj = model.trajectory(x)
    norms = torch.stack([model.jacobian_T_norm(v) for v in traj[:-1]])  # (K, B)
    assert bool(descent_condition(model.a, norms).all())  # a <= 1 / (1 + |J_T(v_k)|), Eq. 8
    E = _energies(model, x)
    assert bool((E[1:] <= E[:-1] + 1e-12).all())  # Eq. 5


@pytest.mark.parametrize(("act", "beta"), ACTS)
def test_energy_decreases_even_when_the_condition_fails(
    act: str, beta: float, gen: torch.Generator
) -> None:
    # |J_T| >> 1 and a = 1 violates Eq. 8 at every state, yet E still decreases: for convex Phi
    # E(v - a g) <= E(v) - a (1 - a/2) |g|^2 for 0 < a < 2 (majorisation, module docstring).
    torch.manual_seed(0)
    model = FiniteStepHopfield(30, 10, activation=act, beta=beta, a=1.0, K=4).double()
    with torch.no_grad():
        model.M.mul_(6.0)
    x = torch.rand(16, 30, generator=gen, dtype=torch.float64)
    traj = model.trajectory(x)
    norms = torch.stack([model.jacobian_T_norm(v) for v in traj[:-1]])
    assert not bool(descent_condition(model.a, norms).any())
    assert float(norms.detach().max()) > 10.0
    E = _energies(model, x)
    g2 = torch.stack([(model.energy_grad(v) ** 2).sum(-1) for v in traj[:-1]])  # (K, B)
    a = model.a
    assert bool((E[1:] <= E[:-1] - a * (1 - a / 2) * g2 + 1e-9 * E.abs().max()).all())


def test_energy_rises_for_steps_beyond_two(gen: torch.Generator) -> None:
    # outside the model's a in (0, 1]: where tanh saturates J_T ~ 0, grad^2 E ~ I, and the
    # step v - a grad E overshoots the quadratic's minimum once a > 2
    model = _model("tanh", 1.0, d=7, N=5)
    v = _states(gen, scale=200.0)
    assert float(model.jacobian_T_norm(v).detach().max()) < 0.1
    v_next = v - 2.5 * model.energy_grad(v)
    assert bool((model.energy(v_next) > model.energy(v)).all())
    v_ok = v - 1.9 * model.energy_grad(v)
    assert bool((model.energy(v_ok) < model.energy(v)).all())


def test_shapes_and_defaults(gen: torch.Generator) -> None:
    model = FiniteStepHopfield(12, 6, activation="relu", K=3, n_classes=5)
    x = torch.rand(8, 12, generator=gen)
    assert model(x).shape == (8, 5)
    assert model.trajectory(x).shape == (4, 8, 12)
    assert model.trajectory(x, K=0).shape == (1, 8, 12)
    assert model.trajectory(x[0]).shape == (4, 1, 12)
    logits, ds = model.logits_and_dsigma(x)
    torch.testing.assert_close(logits, model(x))
    traj = model.trajectory(x)
    torch.testing.assert_close(ds, torch.stack([model.dsigma(v) for v in traj[:-1]]))
    assert model.jacobian(x).shape == model.hessian(x).shape == (8, 12, 12)
    assert model.jacobian_T(x).shape == (8, 12, 12)
    assert model.energy(x).shape == (8,)
    assert model.a == 0.5 and FiniteStepHopfield(12, 6, K=1).a == 1.0  # App. E
    assert default_step(1) == 1.0 and default_step(5) == 0.5
    torch.testing.assert_close(traj[-1], model.update(model.update(model.update(x))))


def test_init_gives_order_one_jacobian() -> None:
    torch.manual_seed(0)
    model = FiniteStepHopfield()  # d = 784, N = 128, tanh
    assert 0.9 < float(torch.linalg.matrix_norm(model.M.detach(), ord=2)) < 1.1
    with torch.no_grad():
        _, ds = model.logits_and_dsigma(torch.rand(8, 784))  # (K, B, N); K = 1
        norms = jacobian_spectral_norm(model.M, ds.reshape(-1, 128))
    assert float(norms.min()) > 0.5 and float(norms.max()) <= 1.1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"a": 0.0}, r"^a must be in \(0.0, 1.0\]; got 0.0"),
        ({"a": 1.5}, r"^a must be in \(0.0, 1.0\]; got 1.5"),
        ({"K": 0}, r"^K must be in \[1, inf\]; got 0"),
        ({"N": 0}, r"^N must be in \[1, inf\]; got 0"),
        (
            {"activation": "gelu"},
            r"^activation must be one of 'relu', 'sigmoid', 'tanh'; got 'gelu'",
        ),
        ({"activation": "swish"}, r"^activation must be one of .*; got 'swish'"),
        ({"beta": 0.0}, r"^beta must be a finite number > 0; got 0.0"),
        ({"K": 2.5}, r"^K must be an integer; got 2.5"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        FiniteStepHopfield(10, **{"N": 4, **kwargs})


def test_bad_inputs_raise() -> None:
    model = FiniteStepHopfield(10, 4)
    with pytest.raises(ConfigError, match=r"x must have shape \(B, 10\)"):
        model(torch.zeros(3, 9))
    with pytest.raises(ConfigError, match=r"^K must be in \[0, inf\]; got -1"):
        model.trajectory(torch.zeros(3, 10), K=-1)
    with pytest.raises(ConfigError, match=r"^K must be an integer"):
        default_step(0.5)  # type: ignore[arg-type]
