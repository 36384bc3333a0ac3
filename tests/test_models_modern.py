"""Modern Hopfield network (notes ch. 3): energy bounds, CCCP descent, closed forms vs autograd."""

from __future__ import annotations

import math

import pytest
import torch

from hopfield_lab.errors import ConfigError
from hopfield_lab.models import ModernHopfield
from hopfield_lab.solvers import FixedPointOptions, fixed_point

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


def test_retrieve_takes_fixed_point_options(gen) -> None:
    """One options dataclass: an options object and keyword changes give the same solve."""
    m = ModernHopfield(torch.randn(30, 16, generator=gen, dtype=D), beta=0.3)
    q = torch.randn(8, 16, generator=gen, dtype=D)
    opts = FixedPointOptions(method="anderson", tol=1e-8, max_iter=200)
    a = m.retrieve(q, opts)
    b = m.retrieve(q, method="anderson", tol=1e-8, max_iter=200)
    torch.testing.assert_close(a.x, b.x)
    assert torch.equal(a.n_steps, b.n_steps)
    direct = fixed_point(m.update, q, opts, merit=m.energy, batch_independent=True)
    torch.testing.assert_close(a.x, direct.x)
    plain = m.retrieve(q, opts, merit=None)  # opt out of the energy merit
    ref = fixed_point(m.update, q, opts, batch_independent=True)
    torch.testing.assert_close(plain.x, ref.x)
    assert m.retrieve(q).method == "picard"  # default: Picard, tol 1e-6
    with pytest.raises(ConfigError, match="options must be a FixedPointOptions"):
        m.retrieve(q, {"method": "anderson"})  # type: ignore[arg-type]


# --- chapter 3 analysis: bounds, CCCP, Jacobian bound, error bound, spheres, beta rule ----------


@pytest.mark.parametrize("beta", [0.01, 0.7, 20.0])
def test_energy_bounds_hold_on_random_inputs(beta, gen) -> None:
    m = ModernHopfield(2.0 * torch.randn(15, 8, generator=gen, dtype=D), beta=beta)
    x = 4.0 * torch.randn(256, 8, generator=gen, dtype=D)
    e, b = m.energy(x), m.energy_bounds(x)
    assert bool((b.lower >= 0).all())  # Lemma 3.2.1
    assert bool((e >= b.lower - 1e-10).all()) and bool((e <= b.upper + 1e-10).all())  # Eq. 3.6
    # the two-sided bound is tight: at a pattern of maximal norm, lower = 0 and E <= ln P / beta
    top = m.patterns[m.patterns.norm(dim=1).argmax()][None]
    assert float(m.energy_bounds(top).lower) == pytest.approx(0.0, abs=1e-9)
    hull = _hull_points(m, gen, 128)
    eh = m.energy(hull)
    assert bool((eh <= b.hull_i + 1e-10).all()) and bool((eh <= b.hull_ii + 1e-10).all())
    # every update lands in the hull, so Lemma 3.2.2 bounds E after one step from anywhere
    assert bool((m.energy(m.update(x)) <= b.hull_ii + 1e-10).all())
    # far outside the hull the hull-only bound (ii) fails: the bounds are not vacuous
    assert float(m.energy(100.0 * x[:4]).min()) > b.hull_ii


@pytest.mark.parametrize("beta", [0.02, 0.3, 3.0, 50.0])
def test_cccp_majoriser_and_monotone_energy(beta, gen) -> None:
    m = ModernHopfield(torch.randn(20, 10, generator=gen, dtype=D), beta=beta)
    x = 3.0 * torch.randn(64, 10, generator=gen, dtype=D)
    # the surrogate touches E at its anchor, majorises E, and the update is its minimiser
    torch.testing.assert_close(m.cccp_surrogate(x, x), m.energy(x))
    y = x + torch.randn(64, 10, generator=gen, dtype=D)
    assert bool((m.cccp_surrogate(y, x) >= m.energy(y) - 1e-10).all())
    nxt = m.update(x)
    for _ in range(3):
        other = nxt + 0.1 * torch.randn(64, 10, generator=gen, dtype=D)
        assert bool((m.cccp_surrogate(other, x) >= m.cccp_surrogate(nxt, x)).all())
    # Prop. 3.2 along 40 plain updates, and strict descent where the state moves (Thm. 3.1)
    e_prev = m.energy(x)
    for _ in range(40):
        x_new = m.update(x)
        e_new = m.energy(x_new)
        assert float((e_new - e_prev).max()) <= 1e-12 * (1 + float(e_prev.abs().max()))
        moved = (x_new - x).norm(dim=1) > 1e-6
        assert bool((e_new[moved] < e_prev[moved]).all())
        x, e_prev = x_new, e_new


def test_closed_form_jacobian_matches_autograd_and_prop_3_3_bound(gen) -> None:
    X = torch.randn(9, 6, generator=gen, dtype=D) + 2.0  # off-centre: m_max < M
    for beta in (0.05, 1.0, 10.0):
        m = ModernHopfield(X, beta=beta)
        x = 2.0 * torch.randn(6, 6, generator=gen, dtype=D) + 2.0
        jac = torch.stack([torch.autograd.functional.jacobian(m.update, xi) for xi in x])
        torch.testing.assert_close(m.jacobian(x), jac)
        norm = torch.linalg.matrix_norm(m.jacobian(x), ord=2)
        assert bool((norm <= m.jacobian_bound() + 1e-12).all())  # Prop. 3.3, beta m_max^2
        assert bool((norm <= m.jacobian_bound("norm") + 1e-12).all())  # beta M^2
    m = ModernHopfield(X, beta=1.0)
    m_x = X.mean(0)
    expected = float(((X - m_x).norm(dim=1).max()) ** 2)
    assert m.jacobian_bound() == pytest.approx(expected)
    assert m.jacobian_bound() < m.jacobian_bound("norm")
    # the bound is attained up to the factor of the proof: two patterns, p = (1/2, 1/2)
    two = ModernHopfield(torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=D), beta=0.5)
    J = two.jacobian(torch.zeros(1, 2, dtype=D))
    assert float(torch.linalg.matrix_norm(J, ord=2)) == pytest.approx(two.jacobian_bound())
    with pytest.raises(ConfigError, match="which must be one of"):
        m.jacobian_bound("spectral")  # type: ignore[arg-type]


def test_query_separation_and_one_step_error_bound(gen) -> None:
    X = torch.randn(25, 30, generator=gen, dtype=D)
    for beta in (0.05, 0.5, 3.0):
        m = ModernHopfield(X, beta=beta)
        q = X[torch.arange(25) % 25] + 0.8 * torch.randn(25, 30, generator=gen, dtype=D)
        c, i = m.query_separation(q)
        s = q @ X.T
        assert torch.equal(i, s.argmax(1)) and bool((c >= 0).all())
        top2 = s.topk(2, dim=1).values
        torch.testing.assert_close(c, top2[:, 0] - top2[:, 1])
        err = (m.update(q) - X[i]).norm(dim=1)
        bound = m.one_step_error_bound(q)
        assert bool((err <= bound * (1 + 1e-12)).all())  # Lemma 3.3.2
        # for any pattern index (any sign of c) the proof still holds
        j = torch.randint(0, 25, (25,), generator=gen)
        assert bool(((m.update(q) - X[j]).norm(dim=1) <= m.one_step_error_bound(q, j)).all())
    # tight when the query is a well separated pattern: the bound goes to 0 with beta
    m = ModernHopfield(torch.eye(4, dtype=D) * 3.0, beta=4.0)
    q = m.patterns.clone()
    err = (m.update(q) - m.patterns).norm(dim=1)
    bound = m.one_step_error_bound(q)
    assert bool((err <= bound).all()) and float(bound.max()) < 1e-12
    assert float(err.max()) > 0.05 * float(bound.max())
    one = ModernHopfield(torch.ones(1, 3, dtype=D), beta=1.0)
    assert float(one.one_step_error_bound(torch.zeros(2, 3, dtype=D)).max()) == 0.0
    with pytest.raises(ConfigError, match="index must be a tensor of shape"):
        m.one_step_error_bound(q, torch.zeros(3, dtype=torch.long))


def test_select_beta_solves_prop_3_4_exactly(gen) -> None:
    from scipy.special import lambertw

    from hopfield_lab.models.modern import beta_condition_gap, select_beta, solve_u_minus_log_u

    X = torch.sign(torch.randn(12, 40, generator=gen, dtype=D))
    sel = select_beta(X)
    d_min, P, M = sel.separation_min, 12, float(X.norm(dim=1).max())
    assert sel.max_norm == pytest.approx(M) and sel.n_patterns == P
    torch.testing.assert_close(sel.separation, ModernHopfield(X).separation())
    assert not sel.always_satisfied and sel.a > 1
    # equality at both roots, to rounding; strict inequality beyond and between them
    for b in (sel.beta, sel.beta_minus):
        assert beta_condition_gap(b, d_min, P, M) == pytest.approx(0.0, abs=1e-12 * d_min)
    assert beta_condition_gap(sel.beta * 1.001, d_min, P, M) > 0
    assert beta_condition_gap(sel.beta * 0.999, d_min, P, M) < 0
    assert beta_condition_gap(sel.beta_minus * 0.999, d_min, P, M) > 0
    mid = math.sqrt(sel.beta * sel.beta_minus)
    assert beta_condition_gap(mid, d_min, P, M) < 0
    # the roots are the Lambert-W branches of u - log u = a
    z = -math.exp(-sel.a)
    assert sel.u == pytest.approx(-lambertw(z, -1).real, rel=1e-14)
    assert sel.beta_minus * d_min == pytest.approx(-lambertw(z, 0).real, rel=1e-13)
    assert sel.radius == pytest.approx(1.0 / (sel.beta * P * M))
    # at the selected beta every pattern satisfies the condition (min one with equality)
    m = ModernHopfield(X, beta=sel.beta)
    gap = m.beta_condition_gap()
    assert float(gap.min()) == pytest.approx(0.0, abs=1e-9) and bool((gap >= -1e-9).all())
    assert m.sphere_radius() == pytest.approx(sel.radius)
    # large a: no underflow (e^-a = 0 in float64) and both roots still exact
    lo, hi = solve_u_minus_log_u(700.0)
    assert hi - math.log(hi) == pytest.approx(700.0, rel=1e-15) and 0 < lo < 1e-300
    assert lo - math.log(lo) == pytest.approx(700.0, rel=1e-15)
    assert solve_u_minus_log_u(1.0) == (1.0, 1.0)


def test_retrieval_in_the_sphere_stays_within_the_error_bound(gen) -> None:
    X = torch.randn(10, 50, generator=gen, dtype=D)
    sel = ModernHopfield(X).select_beta()
    for beta in (sel.beta, 2.0 * sel.beta):
        m = ModernHopfield(X, beta=beta)
        r = m.sphere_radius()
        u = torch.randn(10, 50, generator=gen, dtype=D)
        u = u / u.norm(dim=1, keepdim=True)
        scale = torch.rand(10, 1, generator=gen, dtype=D)
        q = X + r * scale * u  # queries inside S_i
        assert m.sphere_index(q).tolist() == list(range(10))
        idx = torch.arange(10)
        one = m.update(q)
        err = (one - X).norm(dim=1)
        assert bool((err <= m.one_step_error_bound(q, idx) * (1 + 1e-12)).all())  # Lemma 3.3.2
        assert bool((err <= r).all())  # Prop. 3.4: f(S_i) is inside S_i
        res = m.retrieve(q, tol=1e-14, max_iter=50)
        assert bool(((res.x - X).norm(dim=1) <= r).all())  # the fixed point stays in S_i
        assert m.sphere_index(res.x).tolist() == list(range(10))
    # beta far below the rule: Prop. 3.4 no longer applies and the update leaves the sphere
    small = ModernHopfield(X, beta=0.05 * sel.beta)
    q = X + 0.5 * small.sphere_radius() * u
    assert float((small.update(q) - X).norm(dim=1).max()) > small.sphere_radius()


def test_select_beta_bad_input() -> None:
    from hopfield_lab.models.modern import beta_condition_gap, select_beta, solve_u_minus_log_u

    with pytest.raises(ConfigError, match=r"P >= 2"):
        select_beta(torch.ones(1, 4, dtype=D))
    with pytest.raises(ConfigError, match="Delta_min must be > 0"):
        select_beta(torch.tensor([[1.0, 0.0], [2.0, 0.0]], dtype=D))  # x_0 inside x_1's shadow
    with pytest.raises(ConfigError, match="finite"):
        select_beta(torch.tensor([[1.0, math.nan], [0.0, 1.0]], dtype=D))
    with pytest.raises(ConfigError, match="a must be a finite number >= 1"):
        solve_u_minus_log_u(0.5)
    with pytest.raises(ConfigError, match="beta must be a finite number > 0"):
        beta_condition_gap(-1.0, 1.0, 3, 1.0)
    with pytest.raises(ConfigError, match="n_patterns must be an integer >= 2"):
        beta_condition_gap(1.0, 1.0, 1, 1.0)
    # a <= 1: every beta satisfies the condition (needs Delta_min >> M^2 P^2: impossible for
    # real patterns, since Delta_i <= |x_i|^2 + M^2; checked through the solver instead)
    with pytest.raises(ConfigError, match="Prop. 3.4 needs P >= 2"):
        ModernHopfield(torch.ones(1, 2, dtype=D)).beta_condition_gap()


@pytest.mark.parametrize("beta", [0.0, -1.0, math.inf, math.nan])
def test_bad_beta_and_shapes(beta) -> None:
    with pytest.raises(ConfigError, match="beta must be a finite number > 0"):
        ModernHopfield(torch.zeros(2, 3, dtype=D), beta=beta)
    m = ModernHopfield(torch.randn(2, 3, dtype=D))
    for fn in (m.energy, m.update, m.jacobian, m.one_step_error_bound, m.energy_bounds):
        with pytest.raises(ConfigError, match=r"x must have shape \(B, 3\); got \(4, 5\)"):
            fn(torch.zeros(4, 5, dtype=D))
    with pytest.raises(ConfigError, match="x and anchor must have the same shape"):
        m.cccp_surrogate(torch.zeros(4, 3, dtype=D), torch.zeros(2, 3, dtype=D))


def test_chunked_separation_equals_the_dense_form(gen) -> None:
    from hopfield_lab.models.modern import separation

    def dense(X: torch.Tensor) -> torch.Tensor:  # the P x P Gram matrix at once
        g = X @ X.T
        off = g.masked_fill(torch.eye(len(X), dtype=torch.bool), -math.inf)
        return torch.diagonal(g) - off.max(dim=1).values

    X = torch.randn(137, 9, generator=gen, dtype=torch.float64)
    for chunk in (1, 7, 64, 137, 500):
        torch.testing.assert_close(separation(X, chunk=chunk), dense(X), rtol=1e-12, atol=1e-12)
    spins = torch.randint(0, 2, (90, 31), generator=gen).double() * 2 - 1  # exact products
    assert torch.equal(separation(spins, chunk=8), dense(spins))
    assert torch.equal(ModernHopfield(spins).separation(), dense(spins))
    assert torch.isinf(separation(X[:1])).all()
    with pytest.raises(ConfigError, match="chunk"):
        separation(X, chunk=0)


@pytest.mark.slow
def test_separation_and_select_beta_fit_a_small_memory_budget() -> None:
    """P = 20,000: the dense P x P Gram matrix would take 3.2 GB (float64); the chunked form
    stays within about 200 MB above the process's baseline (peak RSS, fresh process)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import resource, torch\n"
        "from hopfield_lab.models.modern import select_beta\n"
        "g = torch.Generator().manual_seed(0)\n"
        "X = torch.randn(20000, 16, generator=g, dtype=torch.float64)\n"
        "X = X / X.norm(dim=1, keepdim=True)\n"  # unit rows: every Delta_i = 1 - max cos > 0
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "sel = select_beta(X)\n"
        "assert sel.separation.shape == (20000,)\n"
        "print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    base, peak = int(out[-2]), int(out[-1])  # KiB
    assert (peak - base) * 1024 < 200e6, (base, peak)


def test_retrieve_energy_safeguard_reuses_the_updates_logits(gen) -> None:
    """Anderson's merit in retrieve is the energy computed from the logits of the update at
    the same state: bitwise the model's energy, so the iterates equal those with
    merit=model.energy (which recomputes X xi), and it is recomputed when the state is not
    the one the update just saw."""
    from hopfield_lab.models.modern import _RetrievalStep

    X = torch.randn(30, 12, generator=gen, dtype=torch.float64)
    m = ModernHopfield(X, beta=2.0)
    q = X[:16] + 0.4 * torch.randn(16, 12, generator=gen, dtype=torch.float64)
    fast = m.retrieve(q, method="anderson", tol=1e-10, max_iter=200)
    slow = m.retrieve(q, method="anderson", tol=1e-10, max_iter=200, merit=m.energy)
    assert fast.stats["anderson_rejections"] == slow.stats["anderson_rejections"]
    for name in ("x", "n_steps", "residuals"):
        assert torch.equal(getattr(fast, name), getattr(slow, name)), name
    step = _RetrievalStep(m)
    x = q.clone()
    torch.testing.assert_close(step(x), m.update(x), rtol=0, atol=0)
    assert torch.equal(step.energy(x), m.energy(x))  # from the cached logits
    step._s = step._s + 1.0  # shift the cache: the next energy of x must come from it
    torch.testing.assert_close(step.energy(x), m.energy(x) - 1.0 / m.beta)
    x.add_(0.1)  # written in place: the cache no longer applies
    assert torch.equal(step.energy(x), m.energy(x))
    assert torch.equal(step.energy(q.clone()), m.energy(q))  # another tensor: recomputed
