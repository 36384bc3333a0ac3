"""Diagnostics (analysis/): exact linear cases, Hopfield descent, the App. B.1 bound, Eq. 8."""

from __future__ import annotations

import math

import pytest
import torch

from hopfield_lab.analysis import (
    autograd_jacobian,
    check_product_bound,
    descent_violations,
    distance_ratio,
    energy_along,
    energy_bands,
    energy_increase_rate,
    is_monotone,
    is_symmetric,
    jacobian_norms,
    jacobian_spectrum,
    product_bound,
    quantiles,
    rollout,
    smoothness_constants,
    spectral_radius,
    top_singular_value,
)
from hopfield_lab.errors import ConfigError
from hopfield_lab.models import ModernHopfield

D = torch.float64


class UpdateOnly:
    """A duck-typed model with an update and no closed-form Jacobian (autograd fallback)."""

    def __init__(self, update):
        self.update = update


def _sym(n: int, gen: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    a = torch.randn(n, n, generator=gen, dtype=D)
    return scale * (a + a.T) / (2 * math.sqrt(n))


@pytest.fixture
def modern(gen) -> ModernHopfield:
    return ModernHopfield(torch.randn(10, 16, generator=gen, dtype=D), beta=0.8)


class TanhMap:
    """``v <- (1 - a) v + a W^T tanh(W v)`` with ``J_T = W^T diag(1 - tanh^2(W v)) W``."""

    def __init__(self, w: torch.Tensor, a: float) -> None:
        self.w, self.a = w, a

    def update(self, v: torch.Tensor) -> torch.Tensor:
        return (1 - self.a) * v + self.a * torch.tanh(v @ self.w.T) @ self.w

    def jacobian_T(self, v: torch.Tensor) -> torch.Tensor:
        d = 1 - torch.tanh(v @ self.w.T) ** 2  # (B, M)
        return torch.einsum("mi,bm,mj->bij", self.w, d, self.w)  # (B, N, N)


# --------------------------------------------------------------------------- trajectories


def test_rollout_shape_row0_and_gradcheck(gen) -> None:
    A = _sym(4, gen)
    x0 = torch.randn(3, 4, generator=gen, dtype=D)
    traj = rollout(lambda x: torch.tanh(x @ A), x0, 5)
    assert traj.shape == (6, 3, 4)
    torch.testing.assert_close(traj[0], x0)
    torch.testing.assert_close(traj[2], torch.tanh(torch.tanh(x0 @ A) @ A))
    xg = x0.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: rollout(lambda v: torch.tanh(v @ A), x, 3), (xg,))


def test_modern_hopfield_energy_never_rises(modern, gen) -> None:
    x0 = 3.0 * torch.randn(32, 16, generator=gen, dtype=D)
    traj = rollout(modern, x0, 12)  # a model with .update is accepted directly
    energies = energy_along(modern.energy, traj)
    assert energies.shape == (13, 32)
    torch.testing.assert_close(energies[4], modern.energy(traj[4]))
    stats = energy_increase_rate(energies)
    assert stats["rate"] == 0.0 and stats["any"] == 0.0
    assert stats["per_step"].shape == (12,) and stats["mask"].shape == (12, 32)
    assert bool((stats["max_rise"] <= 1e-12).all())  # 0 up to rounding at the fixed point
    assert bool(is_monotone(energies).all())
    bands = energy_bands(energies)
    for key in ("mean", "std", "q10", "median", "q90"):
        assert bands[key].shape == (13,)
    torch.testing.assert_close(bands["mean"], energies.mean(1))
    torch.testing.assert_close(bands["std"], energies.std(1))
    qs = torch.tensor([0.1, 0.9], dtype=D)
    torch.testing.assert_close(bands["q10"], torch.quantile(energies, qs, dim=1)[0])
    assert bool((bands["q10"] <= bands["median"]).all() and (bands["median"] <= bands["q90"]).all())


def test_energy_along_accepts_solver_result(modern, gen) -> None:
    x0 = torch.randn(5, 16, generator=gen, dtype=D)
    res = modern.retrieve(
        x0,
        tol=1e-12,
        max_iter=8,
        full_iterations=True,
        record_trajectory=True,
        energy=modern.energy,
    )
    e = energy_along(modern, res)  # the model's .energy, the result's .trajectory
    assert res.energies is not None
    torch.testing.assert_close(e, res.energies)
    assert energy_increase_rate(res)["rate"] == 0.0


def test_rising_energy_is_detected() -> None:
    # E = |x|^2 / 2 under x -> c x: sample 0 contracts (c = 0.5), sample 1 expands (c = 2).
    c = torch.tensor([[0.5], [2.0]], dtype=D)
    traj = rollout(lambda x: c * x, torch.ones(2, 3, dtype=D), 4)
    energies = energy_along(lambda x: 0.5 * (x * x).sum(-1), traj)
    stats = energy_increase_rate(energies)
    assert stats["rate"] == 0.5 and stats["any"] == 0.5
    torch.testing.assert_close(stats["per_step"], torch.full((4,), 0.5, dtype=D))
    assert is_monotone(energies).tolist() == [True, False]
    # a rise within the rounding slack is not counted; a non-finite step is
    flat = torch.tensor([[1.0, 1.0], [1.0 + 1e-14, math.nan]], dtype=D)
    assert energy_increase_rate(flat)["mask"].tolist() == [[False, True]]
    assert energy_increase_rate(flat, rtol=1e-16)["mask"].tolist() == [[True, True]]


# --------------------------------------------------------------------------- perturbations


def test_linear_symmetric_map_ratio_and_bound_are_exact(gen) -> None:
    n, b, steps = 6, 4, 5
    A = _sym(n, gen, scale=1.6)
    x0 = torch.randn(b, n, generator=gen, dtype=D)
    u = torch.randn(b, n, generator=gen, dtype=D)
    rho = distance_ratio(lambda x: x @ A, x0, eps=1e-4, steps=steps, directions=u)
    assert rho.shape == (steps + 1, b)
    expected = torch.stack(
        [
            torch.linalg.vector_norm(u @ torch.linalg.matrix_power(A, k), dim=1)
            / torch.linalg.vector_norm(u, dim=1)
            for k in range(steps + 1)
        ]
    )
    torch.testing.assert_close(rho, expected, rtol=1e-9, atol=0.0)

    traj = rollout(lambda x: x @ A, x0, steps)
    bound = product_bound(lambda x: A.expand(x.shape[0], n, n), traj, 1.0)
    norm_a = torch.linalg.matrix_norm(A, ord=2)
    powers = norm_a ** torch.arange(steps + 1, dtype=D)
    torch.testing.assert_close(bound, powers[:, None].expand(steps + 1, b))
    assert bool((bound >= rho * (1 - 1e-12)).all())

    # random directions through the generator; several per sample
    rho3 = distance_ratio(lambda x: x @ A, x0, eps=1e-4, steps=steps, n_directions=3, generator=gen)
    assert rho3.shape == (steps + 1, b, 3)
    torch.testing.assert_close(rho3[0], torch.ones(b, 3, dtype=D))
    check = check_product_bound(
        lambda x: x @ A, lambda x: A.expand(x.shape[0], n, n), x0,
        a=1.0, eps=1e-4, steps=steps, n_directions=3, generator=gen,
    )  # fmt: skip
    assert check["fraction"] == 1.0 and check["rho"].shape == (steps + 1, b, 3)


def test_linear_nonsymmetric_damped_bound(gen) -> None:
    n, b, steps, a = 5, 3, 4, 0.5
    A = 1.5 * torch.randn(n, n, generator=gen, dtype=D) / math.sqrt(n)  # J_T = A^T (x @ A)
    x0 = torch.randn(b, n, generator=gen, dtype=D)
    step = (1 - a) * torch.eye(n, dtype=D) + a * A  # the damped map x -> x @ step
    u = torch.randn(b, n, generator=gen, dtype=D)
    rho = distance_ratio(lambda x: x @ step, x0, eps=1e-5, steps=steps, directions=u)
    expected = torch.stack(
        [
            torch.linalg.vector_norm(u @ torch.linalg.matrix_power(step, k), dim=1)
            / torch.linalg.vector_norm(u, dim=1)
            for k in range(steps + 1)
        ]
    )
    torch.testing.assert_close(rho, expected, rtol=1e-9, atol=0.0)
    traj = rollout(lambda x: x @ step, x0, steps)
    bound = product_bound(lambda x: A.T.expand(x.shape[0], n, n), traj, a)
    factor = torch.linalg.matrix_norm(step, ord=2)
    torch.testing.assert_close(bound[-1], factor.pow(steps).expand(b))
    assert bool((bound >= rho * (1 - 1e-12)).all())


def test_product_bound_holds_on_nonlinear_tanh_map(gen) -> None:
    n, m, b, a = 12, 20, 16, 0.5
    net = TanhMap(1.2 * torch.randn(m, n, generator=gen, dtype=D) / math.sqrt(n), a)
    x0 = torch.randn(b, n, generator=gen, dtype=D)
    check = check_product_bound(
        net.update, net.jacobian_T, x0, a=a, eps=1e-4, steps=6, n_directions=4, generator=gen
    )
    assert check["fraction"] == 1.0
    assert float(check["max_ratio"].max()) < 1.0  # random directions: strictly inside
    assert check["bound"].shape == (7, b) and check["rho"].shape == (7, b, 4)
    # closed-form J_T against autograd of the undamped map T
    traj = rollout(net.update, x0, 6)
    T = lambda v: torch.tanh(v @ net.w.T) @ net.w  # noqa: E731
    torch.testing.assert_close(autograd_jacobian(T)(traj[3]), net.jacobian_T(traj[3]))
    # the bound from the autograd Jacobian of T equals the closed-form one
    torch.testing.assert_close(product_bound(T, traj, a), check["bound"])


def test_product_bound_is_tight_to_first_order_in_one_dimension(gen) -> None:
    # N = 1: every factor is |f'(v_k)| and rho_k = prod |f'(xi_k)| with xi_k within eps rho_k
    # of v_k, so the bound is attained up to O(eps) and can be exceeded by that much.
    net = TanhMap(torch.tensor([[1.7]], dtype=D), 0.8)
    x0 = torch.randn(8, 1, generator=gen, dtype=D)
    down = -torch.ones(8, 1, dtype=D)
    gaps = []
    for eps in (1e-4, 1e-5):
        check = check_product_bound(
            net.update, net.jacobian_T, x0, a=0.8, eps=eps, steps=5, directions=down
        )
        gaps.append(float((check["max_ratio"] - 1).abs().max()))
    assert 0.08 < gaps[1] / gaps[0] < 0.12  # the gap is first order in eps
    strict = check_product_bound(
        net.update, net.jacobian_T, x0, a=0.8, eps=1e-4, steps=5, directions=down
    )
    assert strict["fraction"] < 1.0  # exceeded by O(eps) beyond rtol = 1e-6...
    loose = check_product_bound(
        net.update, net.jacobian_T, x0, a=0.8, eps=1e-4, steps=5, directions=down, rtol=1e-2
    )
    assert loose["fraction"] == 1.0  # ...but not beyond a tolerance of that order


# --------------------------------------------------------------------------- Jacobian statistics


def test_jacobian_norms_autograd_fallback_matches_closed_form(modern, gen) -> None:
    x0 = 2.0 * torch.randn(6, 16, generator=gen, dtype=D)
    traj = rollout(modern.update, x0, 4)
    for kind in ("spectral", "frobenius"):
        closed = jacobian_norms(modern, traj, kind=kind)
        assert closed.shape == (4, 6)
        torch.testing.assert_close(
            jacobian_norms(UpdateOnly(modern.update), traj, kind=kind), closed
        )
        torch.testing.assert_close(jacobian_norms(modern.update, traj, kind=kind), closed)  # map
        torch.testing.assert_close(jacobian_norms(modern.jacobian, traj, kind=kind), closed)
    spectral = jacobian_norms(modern, traj)
    frob = jacobian_norms(modern, traj, kind="frobenius")
    assert bool((spectral <= frob + 1e-12).all())
    assert bool((spectral <= modern.jacobian_bound() + 1e-12).all())  # Prop. 3.3
    torch.testing.assert_close(
        spectral[2], torch.linalg.matrix_norm(modern.jacobian(traj[2]), ord=2)
    )
    assert jacobian_norms(modern, traj, include_last=True).shape == (5, 6)


def test_autograd_jacobian_loop_fallback(gen) -> None:
    A = torch.randn(4, 4, generator=gen, dtype=D)

    def update(x: torch.Tensor) -> torch.Tensor:
        scale = 1.0 + 0.0 * float(x.sum().item())  # .item() cannot run under vmap
        return scale * torch.sin(x @ A)

    x = torch.randn(3, 4, generator=gen, dtype=D)
    expected = torch.cos(x @ A)[:, :, None] * A.T[None]  # (B, N, N): J_ij = cos_i A_ji
    torch.testing.assert_close(autograd_jacobian(update)(x), expected)


def test_descent_violations_arithmetic() -> None:
    norms = torch.tensor([[0.0, 1.0, 3.0], [1.0, 2.0, 0.5]], dtype=D)  # (T=2, B=3)
    torch.testing.assert_close(smoothness_constants(norms), norms + 1)
    out = descent_violations(norms, 0.5)  # violation iff 0.5 > 1 / (1 + |J|), i.e. |J| > 1
    assert out["mask"].tolist() == [[False, False, True], [False, True, False]]
    torch.testing.assert_close(out["per_step"], torch.tensor([1 / 3, 1 / 3], dtype=D))
    assert out["rate"] == pytest.approx(1 / 3) and out["any"] == pytest.approx(2 / 3)
    assert descent_violations(norms, 1.0)["rate"] == pytest.approx(5 / 6)  # all but |J| = 0
    assert descent_violations(norms, 0.2)["rate"] == 0.0  # 1 / (1 + 3) = 0.25 >= 0.2
    assert descent_violations(torch.tensor([math.inf, 0.0]), 0.1)["mask"].tolist() == [
        [True, False]
    ]


def test_quantiles_match_torch(gen) -> None:
    norms = torch.rand(7, 33, generator=gen, dtype=D)
    qs = (0.0, 0.5, 0.9, 0.99, 1.0)
    ref = torch.quantile(norms.flatten(), torch.tensor(qs, dtype=D))
    torch.testing.assert_close(quantiles(norms, qs), ref)
    per_step = quantiles(norms, qs, dim=1)
    assert per_step.shape == (5, 7)
    torch.testing.assert_close(per_step, torch.quantile(norms, torch.tensor(qs, dtype=D), dim=1))


# --------------------------------------------------------------------------- spectra


def test_spectra_symmetric_and_general(gen) -> None:
    S = torch.stack([_sym(5, gen) for _ in range(3)])  # (3, 5, 5)
    eig = jacobian_spectrum(S)
    assert eig.dtype == D and eig.shape == (3, 5)
    torch.testing.assert_close(eig, torch.linalg.eigvalsh(S))
    torch.testing.assert_close(top_singular_value(S), torch.linalg.matrix_norm(S, ord=2))
    torch.testing.assert_close(spectral_radius(S), top_singular_value(S))

    rot = torch.tensor([[[0.0, -2.0], [2.0, 0.0]]], dtype=D)  # eigenvalues +-2i
    assert not is_symmetric(rot)
    ev = jacobian_spectrum(rot)
    assert ev.is_complex()
    torch.testing.assert_close(ev.imag.abs().sort().values, torch.tensor([[2.0, 2.0]], dtype=D))
    torch.testing.assert_close(spectral_radius(rot), torch.tensor([2.0], dtype=D))
    G = torch.randn(4, 6, 6, generator=gen, dtype=D)
    torch.testing.assert_close(top_singular_value(G), torch.linalg.matrix_norm(G, ord=2))
    assert bool((spectral_radius(G) <= top_singular_value(G) + 1e-12).all())
    # rounding-level asymmetry still counts as symmetric
    assert is_symmetric(S + 1e-16 * torch.randn(3, 5, 5, generator=gen, dtype=D))


# --------------------------------------------------------------------------- bad arguments


def test_bad_arguments_raise_config_error_naming_the_parameter(modern, gen) -> None:
    x0 = torch.randn(3, 16, generator=gen, dtype=D)
    traj = rollout(modern.update, x0, 2)
    cases = [
        ("steps", lambda: rollout(modern.update, x0, 0)),
        ("steps", lambda: distance_ratio(modern.update, x0, eps=1e-4, steps=0)),
        ("eps", lambda: distance_ratio(modern.update, x0, eps=0.0, steps=2)),
        ("eps", lambda: distance_ratio(modern.update, x0, eps=-1e-3, steps=2)),
        ("n_directions", lambda: distance_ratio(modern, x0, eps=1e-4, steps=2, n_directions=0)),
        ("directions", lambda: distance_ratio(modern, x0, eps=1e-4, steps=2, directions=x0[:2])),
        ("a", lambda: product_bound(modern, traj, 0.0)),
        ("a", lambda: product_bound(modern, traj, 1.5)),
        ("a", lambda: descent_violations(torch.ones(2, 3), 0.0)),
        ("a", lambda: check_product_bound(modern, modern, x0, a=2.0, eps=1e-4, steps=2)),
        ("kind", lambda: jacobian_norms(modern, traj, kind="nuclear")),  # type: ignore[arg-type]
        ("traj", lambda: jacobian_norms(modern, x0)),
        ("x0", lambda: rollout(modern.update, x0[0], 2)),
        ("energy", lambda: energy_along(modern.update, traj)),
        ("update", lambda: rollout(lambda x: x[:, :3], x0, 2)),
        ("energies", lambda: energy_increase_rate(torch.ones(1, 4))),
        ("rtol", lambda: energy_increase_rate(torch.ones(3, 4), rtol=0.0)),
        ("qs", lambda: quantiles(torch.ones(4), (0.5, 1.5))),
        ("jac", lambda: jacobian_spectrum(torch.ones(3, 4, 5))),
    ]
    for name, call in cases:
        with pytest.raises(ConfigError, match=rf"\b{name}\b"):
            call()


def test_jacobian_norms_differentiable_in_parameters(gen) -> None:
    m = ModernHopfield(torch.randn(5, 6, generator=gen, dtype=D), trainable=True)
    traj = rollout(m.update, torch.randn(3, 6, generator=gen, dtype=D), 3).detach()
    (closed,) = torch.autograd.grad(jacobian_norms(m, traj).sum(), m.patterns)
    (auto,) = torch.autograd.grad(jacobian_norms(UpdateOnly(m.update), traj).sum(), m.patterns)
    torch.testing.assert_close(auto, closed)


# ------------------------------------------------------------------------------ issue 10
def test_finite_step_jacobian_T_through_the_step_size(gen) -> None:
    """The contract's jacobian is d update / dx = (1 - a) I + a J_T; the diagnostics that
    need J_T take the step size a (or model.jacobian_T) and compute what they did before."""
    from hopfield_lab.models import FiniteStepHopfield

    torch.manual_seed(0)
    model = FiniteStepHopfield(8, 5, activation="tanh", beta=2.0, a=0.5, K=3).double()
    traj = model.trajectory(torch.randn(6, 8, generator=gen, dtype=D)).detach()
    exact = torch.stack([model.jacobian_T_norm(v) for v in traj[:-1]]).detach()  # (K, B)
    with torch.no_grad():
        torch.testing.assert_close(jacobian_norms(model, traj, a=model.a), exact)
        torch.testing.assert_close(jacobian_norms(model.jacobian_T, traj), exact)
        step = jacobian_norms(model, traj)  # |(1 - a) I + a J_T|_2 = (1 - a) + a |J_T|_2
        torch.testing.assert_close(step, (1 - model.a) + model.a * exact)
        bound = product_bound(model, traj)
        torch.testing.assert_close(bound, product_bound(model.jacobian_T, traj, model.a))
        check = check_product_bound(model, model, traj[0], eps=1e-6, steps=3)
        assert check["fraction"] == 1.0
    with pytest.raises(ConfigError, match="a must be 1 for a model"):
        product_bound(model, traj, model.a)  # would damp twice


def test_batch_jacobian_matches_per_sample_autograd(gen) -> None:
    from hopfield_lab.analysis import batch_jacobian

    w = torch.randn(5, 5, generator=gen, dtype=D)
    x = torch.randn(4, 5, generator=gen, dtype=D)

    def f(v):
        return torch.tanh(v @ w) * v

    torch.testing.assert_close(batch_jacobian(f)(x), autograd_jacobian(f)(x))


def test_distance_ratio_on_a_bound_model_pairs_rows_with_their_inputs(gen) -> None:
    from hopfield_lab.models import LayeredHopfield

    torch.manual_seed(0)
    m = LayeredHopfield([5, 4, 3]).double()
    view = m.bind(torch.rand(3, 5, generator=gen, dtype=D))
    x0 = torch.randn(3, view.state_dim, generator=gen, dtype=D)
    u = torch.randn(3, 2, view.state_dim, generator=gen, dtype=D)
    with torch.no_grad():
        rho = distance_ratio(view, x0, eps=1e-4, steps=3, directions=u)  # (4, 3, 2)
        for j in range(2):
            uj = u[:, j] / u[:, j].norm(dim=1, keepdim=True)
            ref, pert = rollout(view, x0, 3), rollout(view, x0 + 1e-4 * uj, 3)
            d = (pert - ref).norm(dim=-1)
            torch.testing.assert_close(rho[:, :, j], d / d[0])


# ----------------------------------------------------------------------------------- landscape


def test_pca_plane_grid_lifts_and_projects_back() -> None:
    from sklearn.decomposition import PCA

    from hopfield_lab.analysis import pca_plane

    gen = torch.Generator().manual_seed(0)
    # states near a tilted plane in R^6 with a little noise off it
    basis = torch.linalg.qr(torch.randn(6, 2, generator=gen, dtype=torch.float64)).Q.T  # (2, 6)
    coords = torch.randn(200, 2, generator=gen, dtype=torch.float64) * torch.tensor([3.0, 1.0])
    states = 0.5 + coords @ basis + 0.01 * torch.randn(200, 6, generator=gen, dtype=torch.float64)
    plane = pca_plane(states, grid=5, pad=0.1)
    torch.testing.assert_close(
        plane.components @ plane.components.T, torch.eye(2, dtype=torch.float64)
    )
    pts = plane.points()
    assert pts.shape == (25, 6)
    S2, S1 = torch.meshgrid(plane.s2, plane.s1, indexing="ij")
    torch.testing.assert_close(plane.project(pts), torch.stack([S1.flatten(), S2.flatten()], 1))
    # the same lift as sklearn's inverse_transform of the grid coordinates
    pca = PCA(n_components=2).fit(states.numpy())
    lifted = pca.inverse_transform(torch.stack([S1.flatten(), S2.flatten()], 1).numpy())
    torch.testing.assert_close(pts, torch.as_tensor(lifted))
    proj = plane.project(states)  # the grid covers the states with a 10% margin
    span = proj.max(0).values - proj.min(0).values
    torch.testing.assert_close(plane.s1[0], proj[:, 0].min() - 0.1 * span[0])
    torch.testing.assert_close(plane.s2[-1], proj[:, 1].max() + 0.1 * span[1])
    with pytest.raises(ConfigError, match="grid must be"):
        pca_plane(states, grid=1)
    with pytest.raises(ConfigError, match="states need"):
        pca_plane(states[:2], grid=3)
