"""HopfieldODE (ODE paper): energy and gradient identities, monotonicity along solutions, Eq. 2,
the contract's generic tools, adjoint = backprop, saving / loading, and bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from hopfield_lab.analysis import energy_along, energy_increase_rate, jacobian_norms, rollout
from hopfield_lab.errors import CapabilityError, ConfigError
from hopfield_lab.models import MLP, FlowOptions, HopfieldODE, load_trained, save_trained
from hopfield_lab.models.classifiers import trained_models
from hopfield_lab.models.ode import classification_loss
from hopfield_lab.solvers import fixed_point, integrate

CONVEX = ("relu", "tanh", "sigmoid", "softplus")
D = 24


def _model(act: str, gen: torch.Generator, *, scale: float = 1.0, n: int = D) -> HopfieldODE:
    m = HopfieldODE(n, act, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        m.W.mul_(scale)
        m.b.copy_(0.3 * torch.randn(n, generator=gen, dtype=torch.float64))
    return m


def _states(gen: torch.Generator, b: int = 6, n: int = D, spread: float = 2.0) -> torch.Tensor:
    return spread * torch.randn(b, n, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("act", CONVEX)
def test_energy_gradient_eq8_matches_autograd(act, gen) -> None:
    m = _model(act, gen)
    x = _states(gen).requires_grad_(True)
    (auto,) = torch.autograd.grad(m.energy(x).sum(), x)
    closed = m.energy_grad(x.detach())
    assert torch.allclose(closed, auto, rtol=0, atol=1e-10)
    # Eq. 10: dE/dt = grad E . x' = -x'^T Hess(L) x' <= 0
    rate = m.energy_rate(x.detach())
    v = m.vector_field(0.0, x.detach())
    assert torch.allclose(rate, (auto * v).sum(1), atol=1e-10)
    assert bool((rate <= 0).all())


@pytest.mark.parametrize("act", CONVEX)
def test_energy_is_eq_4d_and_the_code_form(act, gen) -> None:
    m = _model(act, gen)
    x = _states(gen)
    g = m.activation(x)
    code = (
        ((x - m.b) * g).sum(1)
        - m.activation.lagrangian(x)
        - 0.25 * ((g @ (m.W + m.W.T)) * g).sum(1)
    )
    assert torch.allclose(m.energy(x), code, atol=1e-12)


@pytest.mark.parametrize("act", CONVEX)
def test_energy_non_increasing_along_rk4_solutions(act, gen) -> None:
    m = _model(act, gen, scale=1.5)
    x0 = _states(gen, b=8)
    with torch.no_grad():
        r = m.solve(x0, T=3.0, solver="rk4", dt=0.01, times=torch.linspace(0, 3, 301), record=True)
        energies = energy_along(m, r.trajectory)  # (301, B)
    stats = energy_increase_rate(energies)
    assert stats["rate"] == 0.0, float(stats["max_rise"].max())
    assert bool((energies[-1] < energies[0]).all())


def test_relu_energy_unbounded_below_as_the_state_diverges(gen) -> None:
    m = _model("relu", gen, scale=2.0)
    x0 = torch.rand(4, D, generator=gen, dtype=torch.float64) + 0.5
    with torch.no_grad():
        r = m.solve(x0, T=10.0, solver="rk4", dt=0.01, times=torch.linspace(0, 10, 11), record=True)
        e = energy_along(m, r.trajectory)
    norms = r.trajectory.norm(dim=-1)
    assert bool((norms[-1] > 100 * norms[0]).all())  # |x| -> inf
    assert bool((e[-1] < e[0] - 1e3).all())
    assert energy_increase_rate(e)["rate"] == 0.0


def test_gelu_withdraws_energy_with_a_reason(gen) -> None:
    m = _model("gelu", gen)
    assert "energy" not in m.capabilities()
    assert {"vector_field", "update", "jacobian"} <= m.capabilities()
    for call in (m.energy, m.energy_grad, m.energy_rate):
        with pytest.raises(CapabilityError, match="not convex"):
            call(_states(gen))
    # exact-erf GELU vs the authors' tanh approximation: the docstring's bound
    u = torch.linspace(-10, 10, 20001, dtype=torch.float64)
    gap = (m.activation(u) - F.gelu(u, approximate="tanh")).abs().max()
    assert 4e-4 < float(gap) < 5e-4


@pytest.mark.parametrize("act", (*CONVEX, "gelu"))
def test_jacobian_closed_form_matches_autograd(act, gen) -> None:
    m = _model(act, gen)
    x = _states(gen, b=3)
    auto = torch.stack(
        [torch.autograd.functional.jacobian(m.update, x[i : i + 1])[0, :, 0] for i in range(3)]
    )
    assert torch.allclose(m.jacobian(x), auto, atol=1e-12)
    v = torch.randn(3, D, generator=gen, dtype=torch.float64)
    jf = torch.einsum("bij,bj->bi", m.jacobian(x), v) - v  # (B, D): (J - I) v
    assert torch.allclose(m.field_jvp(x, v), jf, atol=1e-12)


def test_contract_tools_apply_unchanged(gen) -> None:
    """integrate, fixed_point, rollout, energy_along, jacobian_norms on the model as it is."""
    m = _model("tanh", gen, scale=0.3)  # |W_s| ~ 0.4 < 1: one global equilibrium
    x0 = _states(gen, b=4)
    fp = fixed_point(m.update, x0, tol=1e-12, max_iter=500)
    assert fp.n_converged == 4
    assert float(m.vector_field(0.0, fp.x).detach().abs().max()) < 1e-10
    flow = integrate(m.vector_field, x0, [0.0, 30.0], method="dopri5", rtol=1e-8, atol=1e-10)
    assert torch.allclose(flow.x, fp.x, atol=1e-6)  # two solvers, one equilibrium
    traj = rollout(m, x0, 5)
    assert traj.shape == (6, 4, D)
    assert energy_along(m, traj).shape == (6, 4)
    norms = jacobian_norms(m, traj)
    assert norms.shape == (5, 4) and bool((norms < 1.0).all())


def test_solvers_agree_and_dt_is_dopri5_first_step_only(gen) -> None:
    m = _model("tanh", gen)
    x0 = _states(gen)
    ref = m(x0, T=2.0, solver="rk4", dt=0.01)
    for solver, dt, tol in (("rk4", 0.05, 1e-6), ("euler", 2e-3, 1e-2), ("dopri5", 0.01, 2e-4)):
        assert torch.allclose(m(x0, T=2.0, solver=solver, dt=dt), ref, atol=tol), solver
    # Dopri5 with rtol = atol = 1e-5: dt only sets the first step, results agree across dt
    a = m(x0, T=2.0, solver="dopri5", dt=0.01)
    b = m(x0, T=2.0, solver="dopri5", dt=0.1)
    assert torch.allclose(a, b, atol=2e-4)


@pytest.mark.parametrize("solver", ("dopri5", "rk4"))
def test_adjoint_gradient_matches_backprop(solver, gen) -> None:
    m = _model("softplus", gen)
    x0 = _states(gen, b=3)
    labels = torch.tensor([0, 3, 9])
    opts = FlowOptions(T=1.0, solver=solver, dt=0.02, rtol=1e-9, atol=1e-9)
    grads = []
    for adjoint in (False, True):
        m.zero_grad()
        classification_loss(m.logits(m(x0, opts, adjoint=adjoint)), labels).backward()
        grads.append(torch.cat([m.W.grad.flatten(), m.b.grad]))
    assert torch.allclose(grads[0], grads[1], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ["relu", "softplus"])
def test_eq2_reproduces_x_over_norm(act, gen) -> None:
    """Eq. 2 (ReLU) and its exact softplus form give x/|x| and 1/|x| of the original flow."""
    m = _model(act, gen, scale=3.0)
    x0 = torch.rand(5, D, generator=gen, dtype=torch.float64)
    times = torch.linspace(0, 4, 41)
    with torch.no_grad():
        orig = integrate(m.vector_field, x0, times, method="rk4", step_size=0.01, max_norm=None)
        eq2 = integrate(m.normalised_field, m.normalise(x0), times, method="rk4", step_size=0.01)
    x = orig.trajectory  # (41, B, D)
    assert float(x[-1].norm(dim=-1).min()) > 10 * float(x[0].norm(dim=-1).max())  # diverging
    y, z = eq2.trajectory[..., :-1], eq2.trajectory[..., -1]
    assert torch.allclose(y, x / x.norm(dim=-1, keepdim=True), atol=1e-8)
    assert torch.allclose(z, 1.0 / x.norm(dim=-1), rtol=1e-7)
    assert float((y.norm(dim=-1) - 1).abs().max()) < 1e-7  # |y| = 1 invariant (RK4 drift)
    assert torch.allclose(m.denormalise(eq2.trajectory[-1]), x[-1], rtol=1e-6)


def test_normalised_flow_at_infinity(gen) -> None:
    """At z = 0 softplus's normalised flow is ReLU's (z softplus(y/z) -> relu(y))."""
    relu, soft = _model("relu", gen), _model("softplus", gen)
    soft.load_state_dict(relu.state_dict())
    x = _states(gen)
    yz = relu.normalise(x)
    yz0 = torch.cat([yz[:, :-1], torch.zeros(len(x), 1, dtype=x.dtype)], dim=1)
    assert torch.equal(soft.normalised_field(0.0, yz0), relu.normalised_field(0.0, yz0))
    small = torch.cat([yz[:, :-1], torch.full((len(x), 1), 1e-9, dtype=x.dtype)], dim=1)
    assert torch.allclose(soft.normalised_field(0.0, small), relu.normalised_field(0.0, small))


def test_normalised_flow_is_for_rectifiers(gen) -> None:
    m = _model("tanh", gen)
    with pytest.raises(ConfigError, match="rectifiers relu and softplus"):
        m.normalised_field(0.0, m.normalise(_states(gen)))
    with pytest.raises(ConfigError, match="ReLU only"):
        m.sphere_energy(_states(gen))


def test_sphere_energy_rate_is_its_derivative_along_eq2(gen) -> None:
    m = _model("relu", gen)
    x = _states(gen)
    y = (x / x.norm(dim=1, keepdim=True)).requires_grad_(True)
    (grad,) = torch.autograd.grad(m.sphere_energy(y).sum(), y)
    yz = torch.cat([y.detach(), torch.zeros(len(y), 1, dtype=y.dtype)], 1)  # z = 0
    ydot = m.normalised_field(0.0, yz)[:, :-1]
    assert torch.allclose(m.sphere_energy_rate(y.detach()), (grad * ydot).sum(1), atol=1e-12)


def test_flow_jacobian_norm_and_contraction_bound(gen) -> None:
    m = _model("sigmoid", gen, n=12)
    x0 = _states(gen, b=2, n=12)
    opts = FlowOptions(T=3.0, solver="euler", dt=0.1)
    est = m.flow_jacobian_norm(x0, opts, iters=40)
    for i in range(2):
        jac = torch.autograd.functional.jacobian(lambda v: m(v.unsqueeze(0), opts)[0], x0[i])
        assert float(est[i]) == pytest.approx(float(torch.linalg.matrix_norm(jac, 2)), rel=1e-6)
    assert bool((est <= m.contraction_bound(3.0)).all())
    sup = 0.25  # sigmoid' <= 1/4
    norm = float(torch.linalg.matrix_norm(m.W_s.detach(), 2))
    assert m.contraction_bound(3.0) == pytest.approx(math.exp((norm * sup - 1) * 3.0))


def test_readout_losses_and_label_units(gen) -> None:
    m = HopfieldODE(20, "tanh", n_label_units=10, generator=gen)
    assert m.state_dim == 30 and m.W.shape == (30, 30)
    x0 = m.initial_state(torch.rand(4, 20, generator=gen))
    assert x0.shape == (4, 30) and bool((x0[:, -10:] == 0).all())
    logits = torch.randn(4, 10, generator=gen)
    labels = torch.tensor([1, 0, 9, 4])
    assert classification_loss(logits, labels) == pytest.approx(
        float(F.cross_entropy(logits, labels))
    )
    target = -torch.ones(4, 10)
    target[torch.arange(4), labels] = 1.0
    mse = ((logits - target) ** 2).sum(1).mean()
    assert classification_loss(logits, labels, "mse_pm1") == pytest.approx(float(mse))
    assert m.classify(torch.rand(4, 20), T=0.5, solver="euler", dt=0.1).shape == (4, 10)


def test_init_statistics(gen) -> None:
    m = HopfieldODE(784, "relu", generator=gen)
    assert float(m.b.abs().max()) == 0.0
    assert float(m.W.std()) == pytest.approx(1 / math.sqrt(784), rel=0.02)
    radius = float(torch.linalg.matrix_norm(m.W_s.double(), 2))
    assert radius == pytest.approx(math.sqrt(2), rel=0.05)  # spec Sec. 1 [derived]


def test_save_and_load_round_trip(tmp_path, gen) -> None:
    m = HopfieldODE(30, "softplus", n_label_units=10, generator=gen)
    mlp = MLP((30, 8, 10))
    save_trained(tmp_path, "ode", m, {"flow": {"T": 1.0, "solver": "euler", "dt": 0.1}})
    save_trained(tmp_path, "mlp", mlp)
    assert trained_models(tmp_path) == ["mlp", "ode"]
    back, meta = load_trained(tmp_path, "ode")
    assert isinstance(back, HopfieldODE) and back.init_args() == m.init_args()
    assert torch.equal(back.W, m.W) and meta["flow"]["dt"] == 0.1
    x = torch.rand(3, 30)
    opts = FlowOptions(**meta["flow"])
    assert torch.equal(back.classify(x, opts), m.classify(x, opts))
    mlp_back, _ = load_trained(tmp_path, "mlp")
    assert torch.equal(mlp_back(x), mlp(x))
    with pytest.raises(Exception, match="no trained model 'nope'"):
        load_trained(tmp_path, "nope")


def test_mlp_is_the_tutorial_architecture() -> None:
    mlp = MLP()
    assert sum(p.numel() for p in mlp.parameters()) == 784 * 256 + 256 + 256 * 128 + 128 + 1290
    assert mlp(torch.rand(2, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: HopfieldODE(784, "swish"), "activation must be one of"),
        (lambda: FlowOptions(T=0.0), "T must be a finite number > 0"),
        (lambda: FlowOptions(T=-1.0), "T must be a finite number > 0"),
        (lambda: FlowOptions(dt=0.0), "dt must be a finite number > 0"),
        (lambda: FlowOptions(dt=-0.1), "dt must be a finite number > 0"),
        (lambda: FlowOptions(T=1.0, dt=2.0), "dt must be <= T"),
        (lambda: FlowOptions(rtol=0.0), "rtol must be a finite number > 0"),
        (lambda: FlowOptions(solver="leapfrog"), "solver must be one of"),
        (lambda: HopfieldODE(784, "tanh", n_label_units=-1), "n_label_units"),
        (lambda: classification_loss(torch.zeros(1, 10), torch.zeros(1).long(), "l1"), "loss must"),
    ],
)
def test_bad_input_one_clear_line(make, message) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        make()
    assert "\n" not in str(info.value)


def test_bad_solve_changes_rejected(gen) -> None:
    m = _model("tanh", gen)
    with pytest.raises(ConfigError, match="dt must be <= T"):
        m(_states(gen), T=0.05, dt=0.1)


def test_w_s_cache_follows_w(gen) -> None:
    m = _model("tanh", gen)
    x = _states(gen)
    with torch.no_grad():
        before = m.vector_field(0.0, x)
        assert m.W_s is m.W_s  # cached without autograd
        m.W.add_(0.1)  # in place: the version counter moves
        after = m.vector_field(0.0, x)
    expected = m.activation(x) @ (0.5 * (m.W + m.W.T)).detach() + m.b.detach() - x
    assert torch.allclose(after, expected) and not torch.allclose(after, before)
    assert m.W_s.grad_fn is not None  # with autograd: a fresh graph every time
    m.load_state_dict({"W": torch.zeros(D, D, dtype=torch.float64), "b": m.b.detach()})
    with torch.no_grad():
        assert float(m.W_s.abs().max()) == 0.0
    assert m.spectral_norm() == 0.0


def test_dopri5_step_budget_raises_divergence(gen) -> None:
    from hopfield_lab.errors import DivergenceError

    m = _model("relu", gen, scale=3.0)
    with pytest.raises(DivergenceError, match="too many steps"):
        m(_states(gen), T=5.0, solver="dopri5", dt=0.01, max_steps=3)
