"""Model 1 (IDPHopfield) and the classic baseline: contract, closed forms, energy (T6), T7."""

from __future__ import annotations

import math

import pytest
import torch

from hopfield_lab.data.synthetic import hadamard_patterns, random_patterns
from hopfield_lab.errors import CapabilityError, ConfigError
from hopfield_lab.models import ClassicInputHopfield, IDPHopfield
from hopfield_lab.models.idp import InputSchedule, mixed_inputs
from hopfield_lab.solvers import fixed_point, integrate

N, P = 32, 4


@pytest.fixture
def X() -> torch.Tensor:
    return hadamard_patterns(P, N, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


# --------------------------------------------------------------------------- contract
def test_contract_bind_first(X) -> None:
    model = IDPHopfield(X)
    assert model.input_driven and model.capabilities() == frozenset()
    with pytest.raises(CapabilityError, match="bind"):
        model.energy(torch.zeros(1, N, dtype=torch.float64))
    view = model.bind(torch.ones(N, dtype=torch.float64))
    assert view.capabilities() == frozenset({"energy", "update", "vector_field", "jacobian"})
    assert view.state_dim == N


def test_saliency_is_projection_coefficient(X) -> None:
    model = IDPHopfield(X)
    a = torch.tensor([2.0, -0.5, 1.25, 0.0], dtype=torch.float64)
    u = a @ X
    assert torch.allclose(model.saliency(u), a, atol=1e-14)
    assert torch.allclose(model.bind(u).alpha, a, atol=1e-14)
    batch = torch.stack([u, 2 * u])
    assert torch.allclose(model.saliency(batch), torch.stack([a, 2 * a]), atol=1e-14)


@pytest.mark.parametrize(("act", "gamma"), [("tanh", 1.0), ("tanh", 2.5), ("hardtanh", 1.0)])
@pytest.mark.parametrize("zero_diag", [False, True])
def test_drive_matches_dense_W(X, act, gamma, zero_diag) -> None:
    model = IDPHopfield(X, act, gamma, zero_diag=zero_diag)
    a = torch.tensor([1.5, 0.3, 2.0, -0.7], dtype=torch.float64)
    W = X.T @ torch.diag(a) @ X / N
    if zero_diag:
        W = W - torch.diag(torch.diag(W))
    x = torch.randn(5, N, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    view = model.bind_saliency(a)
    psi = model.psi(x)
    assert torch.allclose(view.update(x), psi @ W.T, atol=1e-13)
    assert torch.allclose(view.vector_field(0.0, x), psi @ W.T - x, atol=1e-13)
    e = -0.5 * ((psi @ W) * psi).sum(1) + model.lagrangian_term(x)
    assert torch.allclose(view.energy(x), e, atol=1e-12)


@pytest.mark.parametrize(("act", "gamma"), [("tanh", 1.0), ("tanh", 3.0), ("hardtanh", 1.0)])
@pytest.mark.parametrize("zero_diag", [False, True])
def test_jacobian_and_energy_grad_match_autograd(X, act, gamma, zero_diag) -> None:
    model = IDPHopfield(X, act, gamma, zero_diag=zero_diag)
    a = torch.tensor([[1.5, 0.3, 2.0, -0.7], [0.2, 1.1, 0.0, 3.0]], dtype=torch.float64)
    view = model.bind_saliency(a)
    x = 0.8 * torch.randn(2, N, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    J = view.jacobian(x)
    J_auto = torch.stack(
        [
            torch.autograd.functional.jacobian(model.bind_saliency(a[i]).update, x[i : i + 1])
            for i in range(2)
        ]
    )
    assert torch.allclose(J, J_auto[:, 0, :, 0], atol=1e-12)
    g = view.energy_grad(x)
    with torch.enable_grad():
        xg = x.clone().requires_grad_(True)
        (g_auto,) = torch.autograd.grad(view.energy(xg).sum(), xg)
    assert torch.allclose(g, g_auto, atol=1e-12)


def test_bound_batch_mismatch(X) -> None:
    view = IDPHopfield(X).bind_saliency(torch.ones(3, P, dtype=torch.float64))
    with pytest.raises(ConfigError, match="bound to 3 inputs"):
        view.update(torch.zeros(2, N, dtype=torch.float64))
    # k B rows are k stacked copies of the bound batch (a flattened trajectory)
    x = torch.randn(6, N, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(view.energy(x)[3:], view.energy(x[3:]))


# --------------------------------------------------------------------------- T6 energy
@pytest.mark.parametrize(("act", "gamma"), [("tanh", 1.0), ("tanh", 4.0), ("hardtanh", 1.0)])
@pytest.mark.parametrize("zero_diag", [False, True])
def test_t6_energy_never_increases(X, act, gamma, zero_diag) -> None:
    model = IDPHopfield(X, act, gamma, zero_diag=zero_diag)
    u = torch.tensor([2.0, 1.4, 0.5, 1.8], dtype=torch.float64) @ X
    view = model.bind(u)
    x0 = 2 * torch.randn(6, N, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    t = torch.linspace(0, 8, 201, dtype=torch.float64)
    res = integrate(view.vector_field, x0, t, method="rk4", step_size=0.02, energy=view.energy)
    dE = res.energies[1:] - res.energies[:-1]
    assert float(dE.max()) <= 1e-10 * float(res.energies.abs().max())
    assert float(dE.sum()) < 0


def test_t6_hardtanh_well_energy(X) -> None:
    model = IDPHopfield(X, "hardtanh")
    for a_mu in (1.0, 1.7, 3.0):
        alpha = torch.tensor([a_mu, 0.4, 2.2, 1.5], dtype=torch.float64)
        x = a_mu * X[0:1]
        assert float(model.bind_saliency(alpha).energy(x)) == pytest.approx(N * (1 - a_mu) / 2)
        assert model.well_energy(a_mu) == pytest.approx(N * (1 - a_mu) / 2)
        # and it is an equilibrium
        assert float(model.bind_saliency(alpha).vector_field(0, x).abs().max()) < 1e-14


@pytest.mark.parametrize("act", ["tanh", "hardtanh"])
def test_t6_confusion_state_attracts_below_one(X, act) -> None:
    model = IDPHopfield(X, act)
    alpha = torch.tensor([0.9, 0.85, -0.8, 0.5], dtype=torch.float64)
    assert model.confusion_is_stable(alpha)
    x0 = 3 * torch.randn(8, N, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    field = model.bind_saliency(alpha).vector_field
    res = integrate(field, x0, [0.0, 100.0], method="euler", step_size=0.1)
    assert float(res.x.abs().max()) < 1e-2


# --------------------------------------------------------------------------- T7 thresholds
@pytest.mark.parametrize(("alpha_mu", "c"), [(1.2, 0.7903), (1.5, 1.2878), (2.0, 1.9150)])
def test_t7_equilibrium_is_a_fixed_point_and_linearisation(X, alpha_mu, c) -> None:
    model = IDPHopfield(X)  # tanh, gamma = 1
    thr = model.stability_threshold(alpha_mu)
    alpha = torch.tensor([alpha_mu, 0.5 * thr, 0.3, -1.0], dtype=torch.float64)
    x_star = model.equilibrium(0, alpha)
    assert float(x_star @ X[0]) / N == pytest.approx(c, abs=5e-5)
    view = model.bind_saliency(alpha)
    assert float(view.vector_field(0, x_star[None]).abs().max()) < 1e-13
    # a fixed-point solver started nearby finds it
    x0 = x_star[None] + 0.05 * X[2:3]
    fp = fixed_point(view.update, x0, method="anderson", tol=1e-12, max_iter=200)
    assert torch.allclose(fp.x, x_star[None], atol=1e-9)
    # eigenvalues of the flow's Jacobian -I + W diag psi'(x*): -1 + psi'(c) alpha_nu, and -1
    Jf = view.jacobian(x_star[None])[0] - torch.eye(N, dtype=torch.float64)
    eig = torch.linalg.eigvals(Jf).real.sort().values
    dpsi = 1.0 / math.cosh(c) ** 2
    expected = sorted([-1 + dpsi * float(a) for a in alpha] + [-1.0] * (N - P))
    assert torch.allclose(eig, torch.tensor(expected, dtype=torch.float64), atol=1e-4)


@pytest.mark.parametrize("alpha_mu", [1.2, 1.5, 2.0])
def test_t7_stability_threshold_by_perturbation(X, alpha_mu) -> None:
    """Just below the threshold a kick along the competitor decays; just above it grows."""
    model = IDPHopfield(X)
    thr = model.stability_threshold(alpha_mu)
    outcomes = []
    for factor in (0.9, 1.1):
        alpha = torch.tensor([alpha_mu, factor * thr, 0.2, 0.1], dtype=torch.float64)
        assert model.is_stable(0, alpha) == (factor < 1)
        x_star = model.equilibrium(0, alpha)
        x0 = x_star[None] + 1e-4 * X[1:2]
        field = model.bind_saliency(alpha).vector_field
        res = integrate(field, x0, [0.0, 80.0], method="euler", step_size=0.05)
        outcomes.append(abs(float(res.x[0] @ X[1]) / N))
    assert outcomes[0] < 1e-6 < 1e-2 < outcomes[1]  # the kick was 1e-4


def test_t7_existence_threshold(X) -> None:
    """From xi_0, alpha_0 = 0.97 decays to the origin; 1.05 settles at c(1.05) xi_0."""
    model = IDPHopfield(X)
    alpha = torch.tensor([[0.97, 0.1, 0.1, 0.1], [1.05, 0.1, 0.1, 0.1]], dtype=torch.float64)
    field = model.bind_saliency(alpha).vector_field
    res = integrate(field, X[0:1].repeat(2, 1), [0.0, 300.0], method="euler", step_size=0.1)
    amp = res.x @ X[0] / N
    assert abs(float(amp[0])) < 0.05
    assert float(amp[1]) == pytest.approx(model.equilibrium_amplitude(1.05), abs=2e-3)
    assert float(amp[1]) > 0.3


def test_closed_forms_need_orthogonal_memories() -> None:
    R = random_patterns(4, 30, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    model = IDPHopfield(R)
    assert not model.orthogonal
    with pytest.raises(ConfigError, match="orthogonal"):
        model.is_stable(0, [2.0, 1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="zero_diag"):
        IDPHopfield(hadamard_patterns(2, 8, dtype=torch.float64), zero_diag=True).is_stable(
            0, [2.0, 1.0]
        )


# --------------------------------------------------------------------------- classic baseline
def test_classic_energy_and_input(X) -> None:
    model = ClassicInputHopfield(X, "tanh", 2.0)
    assert model.zero_diag
    u = 0.7 * X[1] + 0.2 * X[2]
    view = model.bind(u)
    W0 = X.T @ X / N
    W0 = W0 - torch.diag(torch.diag(W0))
    x = torch.randn(3, N, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(view.vector_field(0, x), model.psi(x) @ W0 - x + u, atol=1e-13)
    res = integrate(
        view.vector_field, x, torch.linspace(0, 10, 201), step_size=0.01, energy=view.energy
    )
    assert float((res.energies[1:] - res.energies[:-1]).max()) <= 1e-10


def test_schedules_constant_and_pulsed(X) -> None:
    inputs = torch.stack([2.0 * X[0], 3.0 * X[1]])
    x = torch.zeros(1, N, dtype=torch.float64)
    pulsed = InputSchedule(inputs, (0.0, 10.0, 20.0), "pulsed", pulse=1.0)
    constant = InputSchedule(inputs, (0.0, 10.0, 20.0))
    classic = ClassicInputHopfield(X)
    f = classic.schedule_field(pulsed)
    assert torch.allclose(f(0.5, x), inputs[0][None])
    assert torch.allclose(f(5.0, x), torch.zeros_like(x))
    assert torch.allclose(f(10.5, x), inputs[1][None])
    assert torch.allclose(classic.schedule_field(constant)(15.0, x), inputs[1][None])
    idp = IDPHopfield(X, "hardtanh")
    g = idp.schedule_field(constant)
    y = 1.5 * X[1:2]
    assert torch.allclose(g(12.0, y), 3.0 * X[1:2] - y, atol=1e-13)  # alpha_1 = 3, psi(y) = xi_1
    assert torch.allclose(g(2.0, y), -y, atol=1e-13)  # window 0: alpha_1 = 0


def test_mixed_inputs_like_the_authors_code() -> None:
    X = random_patterns(10, 256, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u, a = mixed_inputs(X, [0, 1, 2], generator=torch.Generator().manual_seed(1))
    assert u.shape == (3, 256) and a.shape == (3, 10)
    assert torch.allclose(a.sum(1), torch.full((3,), math.sqrt(10 * 256), dtype=torch.float64))
    for j in range(3):
        assert int(a[j].argmax()) == j  # the target has the largest coefficient
    assert float(a[1, 0]) < float(a[1, 3])  # the previous target is damped
    ub, ab = mixed_inputs(X, [0, 1], batch=5, generator=torch.Generator().manual_seed(1))
    assert ub.shape == (2, 5, 256) and ab.shape == (2, 5, 10)


# --------------------------------------------------------------------------- bad input
def test_bad_memories_and_parameters() -> None:
    with pytest.raises(ConfigError, match=r"patterns must have entries \+-1"):
        IDPHopfield(torch.randn(3, 8, dtype=torch.float64))
    with pytest.raises(ConfigError, match="patterns must be a"):
        IDPHopfield(torch.ones(8, dtype=torch.float64))
    X = hadamard_patterns(2, 8, dtype=torch.float64)
    with pytest.raises(ConfigError, match="gamma"):
        IDPHopfield(X, "tanh", 0.0)
    with pytest.raises(ConfigError, match="activation"):
        IDPHopfield(X, "relu")  # type: ignore[arg-type]
    model = IDPHopfield(X)
    with pytest.raises(ConfigError, match="u must"):
        model.bind(torch.ones(7, dtype=torch.float64))
    with pytest.raises(ConfigError, match="alpha"):
        model.bind_saliency([1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match="boundaries"):
        InputSchedule(torch.ones(2, 8), (0.0, 1.0))
    with pytest.raises(ConfigError, match="mode"):
        InputSchedule(torch.ones(1, 8), (0.0, 1.0), "m")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="targets"):
        mixed_inputs(X, [0, 2])


def test_noisy_well_matches_simulation() -> None:
    """Mean-field overlap of a retrieved memory under noise [D] against Euler-Maruyama:
    N = 256 orthogonal memories, alpha = (3, 0.5, 0.5, 0.5), tanh, sigma = 0.6."""
    from hopfield_lab.solvers import euler_maruyama
    from hopfield_lab.theory import idp as theory

    X = hadamard_patterns(4, 256, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    model = IDPHopfield(X)
    view = model.bind_saliency([3.0, 0.5, 0.5, 0.5])
    c, m_star = theory.noisy_well(3.0, 0.6)
    x0 = (c * X[0]).repeat(8, 1)
    t = torch.linspace(0.0, 30.0, 61, dtype=torch.float64)
    res = euler_maruyama(
        view.vector_field,
        x0,
        t,
        sigma=0.6,
        dt=0.02,
        generator=torch.Generator().manual_seed(3),
        observe=view.overlaps,
    )
    m = res.trajectory[20:, :, 0]  # after 10 time units, (41, 8)
    assert float(m.mean()) == pytest.approx(m_star, abs=0.01)
    amp = euler_maruyama(
        view.vector_field,
        x0,
        t,
        sigma=0.6,
        dt=0.02,
        generator=torch.Generator().manual_seed(3),
        observe=lambda x: x @ X[0:1].T / 256,
    ).trajectory[20:]
    assert float(amp.mean()) == pytest.approx(c, abs=0.02)


# --------------------------------------------------------------------------- generic API
def _bound_views(X):
    torch.manual_seed(0)
    tanh = IDPHopfield(X, "tanh", 2.0)
    hard = IDPHopfield(X, "hardtanh", zero_diag=True)
    u = torch.tensor([2.0, 1.4, 0.5, 1.8], dtype=torch.float64) @ X
    per_row = torch.tensor([[1.5, 0.3, 2.0, 0.7], [0.2, 1.1, 0.0, 3.0], [2.5, 2.5, 0.1, 0.1],
                            [1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)  # fmt: skip
    return {
        "idp-shared": tanh.bind(u),
        "idp-per-row": tanh.bind_saliency(per_row),
        "idp-hardtanh": hard.bind_saliency(per_row),
        "classic": ClassicInputHopfield(X, "tanh", 1.5).bind(0.3 * u),
    }


@pytest.mark.parametrize("name", ["idp-shared", "idp-per-row", "idp-hardtanh", "classic"])
def test_bound_views_through_the_generic_api(X, name) -> None:
    """What tests/test_model_contract.py checks for every family, on the IDP views: rollout,
    fixed_point, integrate, energy_along (flattened stacked rows), energy descent along the
    flow, jacobian = autograd of update on the full batch, jacobian_norms."""
    from hopfield_lab.analysis import energy_along, energy_increase_rate, jacobian_norms, rollout

    view = _bound_views(X)[name]
    x0 = torch.randn(4, N, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        traj = rollout(view, x0, 3)
        fp = fixed_point(view.update, x0, max_iter=50, on_divergence="flag")
        flow = integrate(view.vector_field, x0, torch.linspace(0, 3, 31, dtype=torch.float64),
                         method="rk4", step_size=0.02)  # fmt: skip
        energies = energy_along(view, flow.trajectory)
    torch.testing.assert_close(traj[1], view.update(x0))
    assert bool(torch.isfinite(fp.x).all())
    torch.testing.assert_close(energies[0], view.energy(x0))
    assert energy_increase_rate(energies, rtol=1e-10)["rate"] == 0.0
    assert bool((energies[-1] < energies[0]).all())
    full = torch.autograd.functional.jacobian(view.update, x0)  # (B, N, B, N)
    idx = torch.arange(4)
    torch.testing.assert_close(view.jacobian(x0), full[idx, :, idx, :], rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        norms = jacobian_norms(view, traj[:3])
    assert norms.shape == (2, 4)
