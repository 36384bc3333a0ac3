"""Solvers: exact solutions, convergence order, gradcheck, equivalences, divergence, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hopfield_lab.errors import ConfigError, DivergenceError
from hopfield_lab.solvers import FixedPointOptions, fixed_point, integrate, solve_fixed_point

D = torch.float64


def _linear_system(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    A = torch.tensor([[-0.5, 2.0, 0.0], [-2.0, -0.5, 0.3], [0.0, -0.3, -1.0]], dtype=D)
    x0 = torch.randn(4, 3, generator=gen, dtype=D)
    return A, x0


@pytest.mark.parametrize(("method", "order"), [("euler", 1), ("rk4", 4)])
def test_convergence_order_against_matrix_exponential(method, order, gen) -> None:
    A, x0 = _linear_system(gen)
    exact = x0 @ torch.linalg.matrix_exp(2.0 * A).T
    hs = [0.2, 0.1, 0.05, 0.025] if method == "rk4" else [0.02, 0.01, 0.005, 0.0025]
    errs = []
    for h in hs:
        r = integrate(lambda t, x: x @ A.T, x0, [0.0, 2.0], method=method, step_size=h)
        errs.append(float((r.x - exact).abs().max()))
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert slope == pytest.approx(order, abs=0.15)


def test_adaptive_dopri5_and_trajectory_times(gen) -> None:
    A, x0 = _linear_system(gen)
    t = torch.linspace(0, 1.5, 7, dtype=D)
    r = integrate(lambda t, x: x @ A.T, x0, t, method="dopri5", rtol=1e-10, atol=1e-12)
    assert r.trajectory is not None and r.trajectory.shape == (7, 4, 3)
    for i, ti in enumerate(t):
        torch.testing.assert_close(
            r.trajectory[i], x0 @ torch.linalg.matrix_exp(ti * A).T, rtol=1e-8, atol=1e-9
        )
    assert r.nfe > 0 and bool(r.converged.all())


def test_time_dependent_field_rk4_exact_for_polynomials() -> None:
    # dx/dt = 3 t^2 has the cubic x = t^3: RK4 integrates cubics in t exactly
    x0 = torch.zeros(2, 1, dtype=D)
    r = integrate(lambda t, x: 3 * t**2 * torch.ones_like(x), x0, [0.0, 1.0, 2.0], method="rk4")
    torch.testing.assert_close(r.x, torch.full((2, 1), 8.0, dtype=D))


@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5"])
def test_gradcheck_integrate(method, gen) -> None:
    W = (0.5 * torch.randn(3, 3, generator=gen, dtype=D)).requires_grad_(True)
    x0 = torch.randn(2, 3, generator=gen, dtype=D).requires_grad_(True)

    def run(W, x0):
        f = lambda t, x: torch.tanh(x @ W.T) - x  # noqa: E731
        return integrate(
            f,
            x0,
            [0.0, 0.5, 1.0],
            method=method,
            step_size=0.1,
            record=False,
            rtol=1e-10,
            atol=1e-10,
        ).x

    assert torch.autograd.gradcheck(run, (W, x0), atol=1e-6 if method == "dopri5" else 1e-8)


def _contraction(gen, b=6, n=10, scale=0.9):
    W = torch.randn(n, n, generator=gen, dtype=D)
    W = scale * W / torch.linalg.matrix_norm(W, ord=2)
    c = torch.randn(b, n, generator=gen, dtype=D)
    return W, c, (lambda x: torch.tanh(x @ W.T + c))


@pytest.mark.parametrize("method", ["damped", "anderson"])
def test_methods_reach_picards_fixed_point(method, gen) -> None:
    _, c, f = _contraction(gen)
    x0 = torch.zeros_like(c)
    ref = fixed_point(f, x0, method="picard", tol=1e-13, max_iter=2000)
    kw = {"damping": 0.5} if method == "damped" else {}
    r = fixed_point(f, x0, method=method, tol=1e-13, max_iter=2000, **kw)
    assert bool(ref.converged.all()) and bool(r.converged.all())
    torch.testing.assert_close(r.x, ref.x, rtol=0, atol=1e-11)
    assert float((f(r.x) - r.x).norm(dim=1).max()) < 1e-11


def test_anderson_accelerates_a_slow_contraction(gen) -> None:
    # symmetric linear map with spectrum spread over [0, 0.97]: Picard needs ~1000 steps
    n = 40
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=D))
    W = Q @ torch.diag(torch.linspace(0.0, 0.97, n, dtype=D)) @ Q.T
    c = torch.randn(3, n, generator=gen, dtype=D)
    f = lambda x: x @ W.T + c  # noqa: E731
    exact = torch.linalg.solve(torch.eye(n, dtype=D) - W, c.T).T
    pic = fixed_point(f, torch.zeros_like(c), tol=1e-12, max_iter=5000)
    aa = fixed_point(f, torch.zeros_like(c), method="anderson", window=5, tol=1e-12, max_iter=5000)
    torch.testing.assert_close(aa.x, exact, rtol=0, atol=1e-9)
    torch.testing.assert_close(pic.x, exact, rtol=0, atol=1e-9)
    assert int(aa.n_steps.max()) * 4 < int(pic.n_steps.min())


def test_per_sample_stopping_matches_single_runs(gen) -> None:
    n = 5
    rates = torch.tensor([0.1, 0.5, 0.9], dtype=D).view(3, 1)
    f = lambda x: rates * x + 1.0  # noqa: E731  fixed point 1 / (1 - rate)
    r = fixed_point(f, torch.zeros(3, n, dtype=D), tol=1e-8, max_iter=500, stop="abs")
    assert len(set(r.n_steps.tolist())) == 3
    for i in range(3):
        single = fixed_point(
            lambda x, i=i: rates[i] * x + 1.0,
            torch.zeros(1, n, dtype=D),
            tol=1e-8,
            max_iter=500,
            stop="abs",
        )
        assert int(single.n_steps) == int(r.n_steps[i])
        torch.testing.assert_close(r.x[i], single.x[0])
    # every returned state satisfies the stopping rule it claims
    res = (f(r.x) - r.x).norm(dim=1)
    assert bool((res < 1e-8).all())
    full = fixed_point(
        f, torch.zeros(3, n, dtype=D), tol=1e-8, max_iter=60, stop="abs", full_iterations=True
    )
    assert full.residuals is not None and full.residuals.shape == (60, 3)
    assert full.n_steps[:2].tolist() == r.n_steps[:2].tolist()


def test_relative_and_absolute_residuals(gen) -> None:
    f = lambda x: 0.5 * x + 1000.0  # noqa: E731  fixed point 2000
    rel = fixed_point(f, torch.zeros(1, 1, dtype=D), tol=1e-3, stop="rel")
    ab = fixed_point(f, torch.zeros(1, 1, dtype=D), tol=1e-3, stop="abs")
    assert int(rel.n_steps) < int(ab.n_steps)
    assert abs(float(rel.x) - 2000) / 2000 < 2e-3 and abs(float(ab.x) - 2000) < 2e-3


def test_anderson_singular_history_falls_back_without_crash() -> None:
    # one-dimensional states: the m x m Gram matrix F F^T has rank 1 (singular for m > 1)
    f = lambda x: 0.5 * torch.cos(x)  # noqa: E731
    r = fixed_point(f, torch.zeros(4, 1, dtype=D), method="anderson", lam=0.0, window=5, tol=1e-12)
    assert bool(r.converged.all())
    torch.testing.assert_close(r.x, 0.5 * torch.cos(r.x), rtol=0, atol=1e-11)


def test_anderson_safeguard_rejects_and_still_converges(gen) -> None:
    _, c, f = _contraction(gen, scale=0.95)
    r = fixed_point(
        f, torch.zeros_like(c), method="anderson", tol=1e-12, max_iter=3000, safeguard_factor=1e-3
    )
    assert r.stats["anderson_rejections"] > 0
    assert bool(r.converged.all())
    ref = fixed_point(f, torch.zeros_like(c), tol=1e-13, max_iter=3000)
    torch.testing.assert_close(r.x, ref.x, rtol=0, atol=1e-10)


def _hopdeq_anderson(f, x0, n_iter, m):
    """Reference: the DEQ paper's Anderson (Walker-Ni form, hopdeq's acceptance rule), lam=0."""
    xs, gs = [x0, f(x0)], []
    gs = [xs[1], f(xs[1])]
    iterates = [x0, xs[1]]
    for _ in range(2, n_iter):
        X, G = torch.stack(xs[-m:], -1), torch.stack(gs[-m:], -1)  # (B, n, k)
        Fk = G - X
        alpha = torch.linalg.solve(
            Fk.transpose(1, 2) @ Fk, torch.ones(X.shape[0], X.shape[2], 1, dtype=D)
        )
        alpha = alpha / alpha.sum(1, keepdim=True)
        cand = (G @ alpha).squeeze(-1)
        r_aa = (gs[-1] - cand).norm(dim=1) / cand.norm(dim=1)
        r_pic = (gs[-1] - xs[-1]).norm(dim=1) / xs[-1].norm(dim=1)
        nxt = torch.where((r_aa < r_pic).unsqueeze(1), cand, gs[-1])
        xs.append(nxt)
        gs.append(f(nxt))
        iterates.append(nxt)
    return torch.stack(iterates)


def test_proxy_safeguard_is_the_papers_anderson(gen) -> None:
    # a Hopfield-like map W rho(x) + c, rho(u) = sigmoid(4u - 2), from the zero state: strong
    # enough coupling (|W| = 2) that the paper's rule rejects some extrapolations
    n = 12
    W = torch.randn(n, n, generator=gen, dtype=D)
    W = 2.0 * (W + W.T) / torch.linalg.matrix_norm(W + W.T, ord=2)
    c = torch.randn(5, n, generator=gen, dtype=D)
    f = lambda x: torch.sigmoid(4 * x - 2) @ W.T + c  # noqa: E731
    x0 = torch.zeros_like(c)
    ref = _hopdeq_anderson(f, x0, 11, m=4)
    kw = {"method": "anderson", "window": 4, "lam": 0.0, "tol": 1e-30, "max_iter": 10}
    r = fixed_point(f, x0, safeguard="proxy", full_iterations=True, record_trajectory=True, **kw)
    assert r.trajectory is not None
    torch.testing.assert_close(r.trajectory, ref, rtol=0, atol=1e-10)
    assert r.stats["anderson_rejections"] > 0  # the rule acted, so the comparison tests it
    free = fixed_point(f, x0, safeguard="none", full_iterations=True, record_trajectory=True, **kw)
    assert free.trajectory is not None
    assert float((free.trajectory - r.trajectory).abs().max()) > 1e-6
    assert free.stats["anderson_rejections"] == 0


def test_proxy_safeguard_is_conservative_on_a_slow_linear_map(gen) -> None:
    # symmetric linear map with spectrum over [0, 0.97]: the accelerated iterates jump far from
    # the last map output, so the paper's rule (distance to g_k, not a residual) rejects
    # nearly all of them and Anderson falls back to Picard; the residual rule keeps them
    n = 40
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=D))
    W = Q @ torch.diag(torch.linspace(0.0, 0.97, n, dtype=D)) @ Q.T
    c = torch.randn(3, n, generator=gen, dtype=D)
    exact = torch.linalg.solve(torch.eye(n, dtype=D) - W, c.T).T
    f = lambda x: x @ W.T + c  # noqa: E731
    x0 = torch.zeros_like(c)
    kw = {"method": "anderson", "tol": 1e-12, "max_iter": 5000}
    proxy = fixed_point(f, x0, safeguard="proxy", **kw)
    resid = fixed_point(f, x0, safeguard="residual", **kw)
    pic = fixed_point(f, x0, tol=1e-12, max_iter=5000)
    for r in (proxy, resid, pic):
        assert bool(r.converged.all())
        torch.testing.assert_close(r.x, exact, rtol=0, atol=1e-9)
    assert proxy.stats["anderson_rejections"] > 0.9 * proxy.stats["evaluated_rows"]
    assert int(proxy.n_steps.min()) > 0.9 * int(pic.n_steps.min())
    assert int(resid.n_steps.max()) * 4 < int(pic.n_steps.min())


@pytest.mark.parametrize("method", ["picard", "anderson"])
def test_gradcheck_unrolled_fixed_point(method, gen) -> None:
    W = (0.3 * torch.randn(4, 4, generator=gen, dtype=D)).requires_grad_(True)
    c = torch.randn(2, 4, generator=gen, dtype=D).requires_grad_(True)

    def run(W, c):
        return fixed_point(
            lambda x, W=W, c=c: torch.tanh(x @ W.T + c),
            torch.zeros(2, 4, dtype=D),
            method=method,
            tol=1e-30,
            max_iter=12,
            record_residuals=False,
        ).x

    assert torch.autograd.gradcheck(run, (W, c))


@pytest.mark.parametrize("backward_method", ["picard", "anderson"])
def test_implicit_and_unrolled_gradients_agree(backward_method, gen) -> None:
    W0, c0, _ = _contraction(gen, scale=0.7)
    weights = torch.randn_like(c0)
    grads = {}
    for mode in ["unrolled", "implicit"]:
        W = W0.clone().requires_grad_(True)
        c = c0.clone().requires_grad_(True)
        r = solve_fixed_point(
            lambda x, W=W, c=c: torch.tanh(x @ W.T + c),
            torch.zeros_like(c0),
            grad=mode,
            tol=1e-14,
            max_iter=500,
            backward=FixedPointOptions(method=backward_method, max_iter=500, tol=1e-14),
        )
        (weights * r.x**2).sum().backward()
        grads[mode] = (W.grad, c.grad, r)
    torch.testing.assert_close(grads["implicit"][0], grads["unrolled"][0], rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(grads["implicit"][1], grads["unrolled"][1], rtol=1e-8, atol=1e-10)
    assert grads["implicit"][2].stats["backward_steps"] < 500


def test_implicit_gradient_matches_finite_differences(gen) -> None:
    W0, c0, _ = _contraction(gen, b=2, n=4, scale=0.6)

    def loss(W):
        r = solve_fixed_point(
            lambda x: torch.tanh(x @ W.T + c0),
            torch.zeros_like(c0),
            tol=1e-14,
            max_iter=500,
            backward=FixedPointOptions(max_iter=500, tol=1e-14),
        )
        return (r.x**3).sum()

    assert torch.autograd.gradcheck(loss, (W0.clone().requires_grad_(True),), atol=1e-7)


def test_fixed_point_divergence_raises_with_step() -> None:
    scale = torch.tensor([[0.5], [3.0]], dtype=D)
    f = lambda x: scale * x + 1.0  # noqa: E731  sample 1 blows up geometrically
    with pytest.raises(DivergenceError, match=r"1 of 2 samples diverged; first at step \d+") as ei:
        fixed_point(f, torch.zeros(2, 3, dtype=D), max_iter=200, max_norm=1e6)
    assert ei.value.samples == (1,) and ei.value.step > 5
    r = fixed_point(f, torch.zeros(2, 3, dtype=D), max_iter=200, max_norm=1e6, on_divergence="flag")
    assert (
        r.diverged.tolist() == [False, True] and bool(r.converged[0]) and not bool(r.converged[1])
    )
    assert torch.isfinite(r.x).all() and int(r.diverged_step[1]) == ei.value.step


def test_fixed_point_nan_detected() -> None:
    f = lambda x: torch.log(x - 1.0)  # noqa: E731  NaN after a few steps
    with pytest.raises(DivergenceError, match="non-finite state"):
        fixed_point(f, torch.full((1, 2), 5.0, dtype=D), max_iter=50)


def test_ode_blow_up_detected_and_flagged() -> None:
    # dx/dt = x^2, x(0) = 1 blows up at t = 1
    x0 = torch.tensor([[1.0], [-1.0]], dtype=D)
    with pytest.raises(DivergenceError, match="sample 0"):
        integrate(lambda t, x: x**2, x0, [0.0, 2.0], method="euler", step_size=1e-3)
    r = integrate(
        lambda t, x: x**2, x0, [0.0, 2.0], method="rk4", step_size=1e-3, on_divergence="flag"
    )
    assert r.diverged.tolist() == [True, False]
    assert torch.isfinite(r.x).all() and 900 < int(r.diverged_step[0]) < 1100
    assert float(r.x[1]) == pytest.approx(-1.0 / 3.0, rel=1e-9)  # x = -1/(1+t)
    with pytest.raises(DivergenceError):
        integrate(lambda t, x: x**2, x0[:1], [0.0, 2.0], method="dopri5")


def test_energy_recorded_along_trajectories(gen) -> None:
    A = -torch.eye(3, dtype=D)
    energy = lambda x: 0.5 * (x * x).sum(-1)  # noqa: E731
    x0 = torch.randn(2, 3, generator=gen, dtype=D)
    r = integrate(
        lambda t, x: x @ A.T,
        x0,
        torch.linspace(0, 1, 5),
        method="rk4",
        energy=energy,
        step_size=0.01,
    )
    assert r.energies is not None and r.energies.shape == (5, 2)
    torch.testing.assert_close(r.energies[-1], energy(x0) * math.exp(-2.0), rtol=1e-5, atol=0)
    fp = fixed_point(lambda x: 0.5 * x, x0, energy=energy, record_trajectory=True, tol=1e-6)
    assert fp.trajectory is not None and fp.energies is not None
    assert fp.trajectory.shape[0] == fp.energies.shape[0]
    assert bool((fp.energies[1:] <= fp.energies[:-1]).all())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "newton"}, "method must be one of 'picard', 'damped', 'anderson'"),
        ({"tol": 0.0}, "tol must be"),
        ({"max_iter": 0}, "max_iter must be"),
        ({"method": "damped", "damping": 1.0}, r"damping must be in \[0.0, 1.0\)"),
        ({"method": "picard", "damping": 0.3}, "use 'damped'"),
        ({"stop": "max"}, "stop must be one of"),
        ({"on_divergence": "ignore"}, "on_divergence must be one of"),
        ({"safeguard": "hopdeq"}, "safeguard must be one of 'residual', 'proxy', 'none'"),
    ],
)
def test_fixed_point_bad_arguments(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        fixed_point(lambda x: x, torch.zeros(1, 2), **kwargs)


def test_bad_states_and_shapes() -> None:
    with pytest.raises(ConfigError, match="x0 must be finite"):
        fixed_point(lambda x: x, torch.tensor([[float("nan")]]))
    with pytest.raises(ConfigError, match="f must return shape"):
        fixed_point(lambda x: x[:, :1], torch.zeros(2, 3))
    with pytest.raises(ConfigError, match="strictly increasing"):
        integrate(lambda t, x: x, torch.zeros(1, 2), [0.0, 0.0])
    with pytest.raises(ConfigError, match="method must be one of 'euler'"):
        integrate(lambda t, x: x, torch.zeros(1, 2), [0.0, 1.0], method="leapfrog")
    with pytest.raises(ConfigError, match="step_size must be"):
        integrate(lambda t, x: x, torch.zeros(1, 2), [0.0, 1.0], step_size=-0.1)
    with pytest.raises(ConfigError, match="grad must be one of"):
        solve_fixed_point(lambda x: x, torch.zeros(1, 2), grad="adjoint")


@pytest.mark.parametrize("method", ["picard", "anderson"])
def test_batch_independent_evaluates_only_running_rows(method) -> None:
    # rows converge in order 0, 1, 2, so the running rows are always a suffix of the batch
    rates = torch.tensor([0.1, 0.5, 0.9], dtype=D).view(3, 1)
    seen: list[int] = []

    def g(x):
        seen.append(x.shape[0])
        return rates[-x.shape[0] :] * x + 1.0

    full = fixed_point(
        lambda x: rates * x + 1.0,
        torch.zeros(3, 4, dtype=D),
        method=method,
        tol=1e-10,
        stop="abs",
        max_iter=500,
    )
    sub = fixed_point(
        g,
        torch.zeros(3, 4, dtype=D),
        method=method,
        tol=1e-10,
        stop="abs",
        max_iter=500,
        batch_independent=True,
    )
    assert min(seen) == 1 and max(seen) == 3  # the fast rows stopped being evaluated
    assert sub.stats["evaluated_rows"] == sum(seen) < 3 * len(seen)
    torch.testing.assert_close(sub.x, full.x, rtol=0, atol=1e-9)
    assert sub.n_steps.tolist() == full.n_steps.tolist()


# --- the lean loop against the general (masked) loop ------------------------------------------


def _agreement_problems() -> dict[str, tuple]:
    """Maps whose rows stop at different steps, with and without safeguard rejections."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(12, 8, generator=g, dtype=D)
    from hopfield_lab.models import ModernHopfield

    model = ModernHopfield(X, beta=1.5)  # multistable: Anderson's safeguards reject here
    x0 = torch.randn(24, 8, generator=g, dtype=D) * 1.5
    A = torch.randn(8, 8, generator=g, dtype=D) * 0.15

    def f_row(x):  # a contraction with several stopping steps
        return torch.tanh(x @ A.T * 2.5) + 0.1

    def f_div(x):  # rows with |x| > 3 blow up (divergence mid-solve), the others converge
        big = (x.norm(dim=1, keepdim=True) > 3.0).to(x.dtype)
        return big * 3.0 * x + (1 - big) * (0.5 * x + 0.1)

    return {
        "modern": (model.update, model.energy, x0),
        "row": (f_row, None, x0),
        "div": (f_div, None, x0),
    }


_CASES = [
    (problem, method, safeguard, merit)
    for problem in ("modern", "row", "div")
    for method, safeguard, merit in (
        ("picard", "residual", False),
        ("damped", "residual", False),
        ("anderson", "residual", False),
        ("anderson", "residual", True),  # with the energy as merit (the modern map only)
        ("anderson", "proxy", False),
        ("anderson", "none", False),
    )
    if problem == "modern" or not merit
]


@pytest.mark.parametrize(("problem", "method", "safeguard", "with_merit"), _CASES)
@pytest.mark.parametrize("batch_independent", [False, True])
@pytest.mark.parametrize("full_iterations", [False, True])
def test_lean_loop_gives_the_general_loops_iterates_bitwise(
    problem, method, safeguard, with_merit, batch_independent, full_iterations
) -> None:
    """The lean loop (no per-sample masks while every row runs, stopped rows dropped from a
    batch_independent working set) and the general loop (masks, where and gathered rows at
    every step) give bitwise the same iterates, residuals, counts and results. They differ
    only in bookkeeping: f sees the same rows in the same order, every row's arithmetic is
    the same (Anderson's history and its m x m solves are per row), and masking, gathering
    and scattering copy values exactly."""
    from hopfield_lab.solvers.fixed_point import _solve

    f, merit, x0 = _agreement_problems()[problem]
    opts = FixedPointOptions(
        method=method,
        tol=1e-9,
        max_iter=60,
        damping=0.3 if method == "damped" else 0.0,
        window=4,
        safeguard=safeguard,
        merit=merit if with_merit else None,
        full_iterations=full_iterations,
    )
    runs = []
    for lean in (True, False):
        seen: list[torch.Tensor] = []

        def logged(x, seen=seen):
            seen.append(x.clone())
            return f(x)

        res = _solve(
            logged,
            x0,
            opts,
            lean=lean,
            batch_independent=batch_independent,
            on_divergence="flag",
            record_trajectory=True,
            energy=lambda x: (x * x).sum(1),
        )
        runs.append((res, seen))
    (a, seen_a), (b, seen_b) = runs
    assert len(seen_a) == len(seen_b) == a.nfe == b.nfe
    assert all(torch.equal(u, v) for u, v in zip(seen_a, seen_b, strict=True))
    for name in ("x", "converged", "n_steps", "residuals", "trajectory", "energies", "diverged"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert torch.equal(a.diverged_step, b.diverged_step) and a.stats == b.stats
    if problem == "div" and method != "anderson":
        assert a.n_diverged > 0 and a.n_converged > 0
    if problem == "modern" and batch_independent and not full_iterations:
        assert a.stats["evaluated_rows"] < a.nfe * x0.shape[0]  # stopped rows: not evaluated


@pytest.mark.parametrize("batch_independent", [False, True])
def test_lean_loop_records_frozen_residuals_and_returns_stopped_rows(batch_independent) -> None:
    f = lambda x: 0.5 * x + 1.0  # noqa: E731  row-wise, fixed point 2, error halves per step
    x0 = torch.tensor([[2.5, 2.0], [100.0, 2.0], [1e6, 2.0]], dtype=D)
    r = fixed_point(f, x0, tol=1e-9, stop="abs", max_iter=500, batch_independent=batch_independent)
    steps = r.n_steps.tolist()
    assert steps[0] < steps[1] < steps[2] and r.residuals.shape == (steps[2], 3)
    for i, k in enumerate(steps):  # a stopped row repeats its last residual
        assert bool((r.residuals[k - 1 :, i] == r.residuals[k - 1, i]).all())
        assert float(r.residuals[k - 1, i]) < 1e-9 <= float(r.residuals[k - 2, i])
    torch.testing.assert_close(r.x, torch.full((3, 2), 2.0, dtype=D), rtol=0, atol=1e-9)
    rows = sum(steps) if batch_independent else 3 * steps[2]
    assert r.stats["evaluated_rows"] == rows


def test_anderson_history_in_the_states_dtype() -> None:
    from hopfield_lab.solvers.fixed_point import _Anderson

    x0 = torch.zeros(3, 5, dtype=torch.float32)
    aa = _Anderson(x0, 4, 1e-10, track=True)
    assert aa.G.dtype == aa.F.dtype == torch.float32 and aa.H.dtype == torch.float64
    # float32 Anderson still reaches the float64 fixed point to float32 accuracy
    g = torch.Generator().manual_seed(3)
    W = torch.randn(20, 20, generator=g, dtype=D)
    W = 0.95 * W / torch.linalg.matrix_norm(W, ord=2)
    c = torch.randn(4, 20, generator=g, dtype=D)
    exact = torch.linalg.solve(torch.eye(20, dtype=D) - W, c.T).T
    r = fixed_point(
        lambda x: x @ W.T.float() + c.float(),
        torch.zeros(4, 20),
        method="anderson",
        tol=1e-6,
        max_iter=500,
    )
    assert bool(r.converged.all()) and int(r.n_steps.max()) < 60
    assert float(((r.x.double() - exact).norm(dim=1) / exact.norm(dim=1)).max()) < 1e-4
