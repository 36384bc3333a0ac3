"""Mean-field theory (notes ch. 2): Curie-Weiss roots and free energy, Hopfield mixture states."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from hopfield_lab.errors import ConfigError
from hopfield_lab.theory import (
    bisect,
    curie_weiss_free_energy,
    curie_weiss_free_energy_curvature,
    curie_weiss_free_energy_gradient,
    curie_weiss_roots,
    curie_weiss_susceptibility,
    equilibrium_magnetization,
    finite_size_magnetization_law,
    hopfield_free_energy,
    hopfield_gradient,
    hopfield_hessian,
    mixture_critical_temperature,
    mixture_eigenvalues,
    mixture_free_energy,
    mixture_overlap,
    sign_patterns,
    solve_curie_weiss,
    solve_mixture,
    spontaneous_magnetization,
    sum_distribution,
)

# --- Curie-Weiss -------------------------------------------------------------------------------


def test_only_zero_root_at_or_above_tc() -> None:
    betas = np.linspace(0.01, 1.0, 200)  # beta J <= 1 with J = 1, and J = 0.5 for beta <= 2
    for J, scale in ((1.0, 1.0), (0.5, 2.0), (-1.0, 3.0)):
        roots = curie_weiss_roots(betas * scale, J, 0.0)
        assert np.all(roots[:, 0] == 0.0) and np.isnan(roots[:, 1:]).all()


def test_three_roots_below_tc_satisfy_equation_and_stationarity() -> None:
    betas = np.geomspace(1.0 + 1e-6, 60.0, 400)
    for J, h in ((1.0, 0.0), (2.0, 0.0), (1.0, 0.05), (1.5, -0.2)):
        roots = curie_weiss_roots(betas, J, h)
        valid = ~np.isnan(roots)
        b = np.broadcast_to(betas[:, None], roots.shape)[valid]
        r = roots[valid]
        assert np.max(np.abs(r - np.tanh(b * (J * r + h)))) < 1e-12
        inner = np.abs(r) < 1 - 1e-9  # f'(m) = T artanh(m) - Jm - h is finite there
        grad = curie_weiss_free_energy_gradient(r[inner], b[inner], J, h)
        # |f'| <= T |d artanh| ~ T * eps / (1 - m^2): scale the tolerance accordingly
        scale = 1.0 / (b[inner] * (1 - r[inner] ** 2))
        assert np.all(np.abs(grad) <= 1e-12 * np.maximum(1.0, scale))
        if h == 0.0:  # h = 0, beta J > 1: exactly -m*, 0, m*
            assert valid.all()
            np.testing.assert_allclose(roots[:, 0], -roots[:, 2], rtol=0, atol=1e-15)
            assert np.all(roots[:, 1] == 0) and np.all(roots[:, 2] > 0)


def test_roots_against_independent_scan() -> None:
    # count sign changes of g on a fine grid: the number of roots must match
    m = np.linspace(-1 + 1e-12, 1 - 1e-12, 200000)  # even size: m = 0 is not a node
    for beta, J, h in (
        (0.7, 1.0, 0.0),
        (3.0, 1.0, 0.0),
        (2.0, 1.0, 0.1),
        (2.0, 1.0, 0.5),
        (5, 1, -0.7),
    ):
        g = m - np.tanh(beta * (J * m + h))
        n_scan = int(np.sum(np.sign(g[:-1]) * np.sign(g[1:]) < 0))
        roots = curie_weiss_roots(beta, J, h)
        assert int((~np.isnan(roots)).sum()) == n_scan


def test_near_transition_square_root_law() -> None:
    for eps in (1e-8, 1e-6, 1e-4):
        beta = 1.0 + eps
        m = float(spontaneous_magnetization(1.0 / beta))
        exact_leading = math.sqrt(3 * (beta - 1) / beta**3)  # the notes' expansion of Eq. 2.8
        assert m == pytest.approx(exact_leading, rel=2 * eps + 1e-6)
        assert m == pytest.approx(math.sqrt(3 * eps), rel=3 * eps + 1e-6)


def test_spontaneous_magnetization_curve() -> None:
    T = np.linspace(0.0, 1.5, 151)
    m = spontaneous_magnetization(T)
    assert m[0] == 1.0 and np.all(m[T >= 1.0] == 0.0)
    assert np.all(np.diff(m) <= 1e-15)  # non-increasing in T
    assert np.all(m[(T > 0) & (T < 1)] > 0)
    warm = (T > 0) & (T < 1)
    np.testing.assert_allclose(m[warm], np.tanh(m[warm] / T[warm]), rtol=0, atol=1e-13)
    # T_c scales with J
    np.testing.assert_allclose(spontaneous_magnetization(2 * T[1:], J=2.0), m[1:], atol=1e-13)


def test_free_energy_derivatives_and_closed_form_at_roots() -> None:
    beta, J, h = 1.7, 1.2, 0.03
    m = np.linspace(-0.95, 0.95, 41)
    d = 1e-6
    fd1 = (
        curie_weiss_free_energy(m + d, beta, J, h) - curie_weiss_free_energy(m - d, beta, J, h)
    ) / (2 * d)
    np.testing.assert_allclose(curie_weiss_free_energy_gradient(m, beta, J, h), fd1, atol=1e-8)
    g = curie_weiss_free_energy_gradient
    fd2 = (g(m + d, beta, J, h) - g(m - d, beta, J, h)) / (2 * d)
    np.testing.assert_allclose(curie_weiss_free_energy_curvature(m, beta, J), fd2, atol=1e-6)
    sol = solve_curie_weiss(beta, J, h)
    for r, f in zip(sol.roots, sol.free_energies, strict=True):
        # f(m*) = J m*^2/2 - T ln 2cosh(beta (J m* + h)) at a solution (Theorem 2.3 with n = 1)
        alt = 0.5 * J * r**2 - math.log(2 * math.cosh(beta * (J * r + h))) / beta
        assert f == pytest.approx(alt, abs=1e-13)
    assert curie_weiss_free_energy(0.0, 2.0) == pytest.approx(-math.log(2) / 2)
    assert curie_weiss_free_energy(1.0, 2.0, 1.0, 0.1) == pytest.approx(-0.5 - 0.1)


def test_stability_and_global_minimum() -> None:
    sol = solve_curie_weiss(2.0)
    assert len(sol.roots) == 3 and sol.stable == (True, False, True)
    assert sol.degenerate and sol.magnetization == sol.roots[2] > 0
    assert sol.curvatures[1] == pytest.approx(-1.0 + 0.5)  # f''(0) = T - J
    above = solve_curie_weiss(0.5)
    assert above.roots == (0.0,) and above.stable == (True,) and not above.degenerate
    assert above.susceptibility == pytest.approx(1.0 / (2.0 - 1.0))  # Curie law 1/(T - J)
    # h > 0 selects the positive root, h < 0 the negative one; both minima remain metastable
    pos, neg = solve_curie_weiss(2.0, 1.0, 0.05), solve_curie_weiss(2.0, 1.0, -0.05)
    assert len(pos.roots) == 3 and pos.magnetization == max(pos.roots) and not pos.degenerate
    assert neg.magnetization == min(neg.roots)
    assert pos.magnetization == pytest.approx(-neg.magnetization, abs=1e-15)
    # a strong field removes the metastable branch (past the spinodal)
    assert len(solve_curie_weiss(2.0, 1.0, 0.5).roots) == 1


def test_susceptibility_matches_finite_difference() -> None:
    betas = np.array([0.5, 0.9, 1.3, 2.5])
    for h in (0.0, 0.02):
        d = 1e-7
        fd = (
            equilibrium_magnetization(betas, 1.0, h + d)
            - equilibrium_magnetization(betas, 1.0, h - d)
        ) / (2 * d)
        if h == 0.0:  # at h = 0 below T_c m jumps sign: take the one-sided derivative
            fd = np.where(
                betas > 1,
                (
                    equilibrium_magnetization(betas, 1.0, d)
                    - equilibrium_magnetization(betas, 1.0, 0.0)
                )
                / d,
                fd,
            )
        np.testing.assert_allclose(curie_weiss_susceptibility(betas, 1.0, h), fd, rtol=1e-5)


def test_finite_size_law_exact_and_thermodynamic_limit() -> None:
    # exact enumeration of all 2^N states of N = 10 spins, energy as BinaryHopfield defines it
    N, beta, J, h = 10, 1.3, 1.1, 0.07
    states = np.array(list(itertools.product((1.0, -1.0), repeat=N)))
    M = states.sum(1)
    energy = -J / (2 * N) * (M**2 - N) - h * M
    w = np.exp(-beta * energy)
    m, p = finite_size_magnetization_law(N, beta, J, h)
    brute = np.array([w[np.isclose(M, mk * N)].sum() for mk in m]) / w.sum()
    np.testing.assert_allclose(p, brute, rtol=1e-12)
    # N -> inf: E|m| -> m*(T), and -(1/(beta N)) ln P_N(m) -> f(m) - min f
    for T in (0.7, 0.9):
        m, p = finite_size_magnetization_law(20000, 1 / T)
        assert (p * np.abs(m)).sum() == pytest.approx(float(spontaneous_magnetization(T)), abs=2e-3)
        inner = (np.abs(m) < 0.9) & (p > 0)
        emp = -T / 20000 * np.log(p[inner])
        f = curie_weiss_free_energy(m[inner], 1 / T)
        np.testing.assert_allclose(emp - emp.min(), f - f.min(), atol=2e-3)
    with pytest.raises(ConfigError, match="n_spins must be an integer >= 1"):
        finite_size_magnetization_law(0, 1.0)


def test_curie_weiss_bad_input() -> None:
    with pytest.raises(ConfigError, match="beta must be > 0"):
        curie_weiss_roots(-1.0)
    with pytest.raises(ConfigError, match="beta must be > 0"):
        solve_curie_weiss(0.0)
    with pytest.raises(ConfigError, match="h must be finite"):
        solve_curie_weiss(1.0, 1.0, math.nan)
    with pytest.raises(ConfigError, match="J must be finite"):
        curie_weiss_roots(1.0, math.inf)
    with pytest.raises(ConfigError, match="temperature must be >= 0"):
        spontaneous_magnetization(-0.1)
    with pytest.raises(ConfigError, match=r"m must lie in \[-1, 1\]"):
        curie_weiss_free_energy(1.5, 1.0)


def test_bisect_pins_roots_and_rejects_bad_brackets() -> None:
    roots = bisect(lambda x: x**3 - 2.0, np.array([0.0, 1.0]), np.array([2.0, 1.5]))
    np.testing.assert_allclose(roots, 2 ** (1 / 3), rtol=2e-16)
    with pytest.raises(FloatingPointError, match="no sign change"):
        bisect(lambda x: x**2 + 1, np.array([0.0]), np.array([1.0]))


# --- Hopfield low load: general free energy ----------------------------------------------------


def _torch_free_energy(m: torch.Tensor, beta: float) -> torch.Tensor:
    """Eq. 2.9 written independently in torch: explicit loop over the sign patterns."""
    P = m.shape[0]
    terms = []
    for signs in itertools.product((1.0, -1.0), repeat=P):
        x = torch.tensor(signs, dtype=torch.float64)
        terms.append(torch.log(2 * torch.cosh(beta * (m @ x))))
    return 0.5 * (m**2).sum() - torch.stack(terms).mean() / beta


def test_hessian_and_gradient_match_autograd(gen) -> None:
    beta = 2.3
    for P in (1, 3, 5):
        m = (0.6 * torch.rand(P, generator=gen, dtype=torch.float64)).requires_grad_(True)
        f = _torch_free_energy(m, beta)
        assert float(hopfield_free_energy(m.detach().numpy(), beta)) == pytest.approx(
            f.item(), abs=1e-13
        )
        (grad,) = torch.autograd.grad(f, m)
        np.testing.assert_allclose(
            hopfield_gradient(m.detach().numpy(), beta), grad.numpy(), atol=1e-13
        )
        H = torch.autograd.functional.hessian(lambda v: _torch_free_energy(v, beta), m.detach())
        np.testing.assert_allclose(
            hopfield_hessian(m.detach().numpy(), beta), H.numpy(), atol=1e-12
        )


def test_sign_patterns_and_sum_law() -> None:
    xi = sign_patterns(4)
    assert xi.shape == (16, 4) and len({tuple(r) for r in xi}) == 16
    for n in (1, 2, 5, 8):
        z, p = sum_distribution(n)
        sums = sign_patterns(n).sum(1)
        emp = np.array([np.mean(sums == v) for v in z])
        np.testing.assert_allclose(p, emp, atol=1e-15)
        assert p.sum() == pytest.approx(1.0, abs=1e-15) and (p * z**2).sum() == pytest.approx(n)


# --- symmetric mixtures ------------------------------------------------------------------------


def test_pure_state_reduces_to_curie_weiss() -> None:
    T = np.linspace(0.05, 1.2, 60)
    np.testing.assert_allclose(mixture_overlap(1, T), spontaneous_magnetization(T), atol=1e-14)
    m = mixture_overlap(1, T)
    ev = mixture_eigenvalues(1, T)
    np.testing.assert_allclose(ev["sym"], 1 - (1 - m**2) / T, atol=1e-13)
    warm = T < 1
    assert np.all(ev["sym"][warm] > 0)  # pure states are minima for all T < 1 (notes)
    # f_1 = CW free energy with J = 1 (h = 0) at the root
    cw = curie_weiss_free_energy(m[warm], 1 / T[warm])
    np.testing.assert_allclose(mixture_free_energy(1, T[warm]), cw, atol=1e-13)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7])
def test_mixture_equations_and_enumerated_hessian(n: int) -> None:
    T = np.array([0.05, 0.2, 0.4, 0.6, 0.9, 0.99])
    m = mixture_overlap(n, T)
    assert np.all(m > 0)
    ev = mixture_eigenvalues(n, T)
    for t, mn, lam_sym, lam_anti, lam_out in zip(
        T, m, ev["sym"], ev["anti"], ev["out"], strict=True
    ):
        P = n + 2  # two uninvolved patterns
        v = np.r_[np.full(n, mn), np.zeros(2)]
        # the full vector Eq. 2.10 holds, with the uninvolved components zero
        np.testing.assert_allclose(hopfield_gradient(v, 1 / t), 0.0, atol=1e-14)
        assert float(hopfield_free_energy(v, 1 / t)) == pytest.approx(
            float(mixture_free_energy(n, t)), abs=1e-13
        )
        got = np.sort(np.linalg.eigvalsh(hopfield_hessian(v, 1 / t)))
        want = np.sort([lam_sym] + [lam_anti] * (n - 1) + [lam_out] * (P - n))
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_zero_temperature_limits() -> None:
    for n, m0 in ((1, 1.0), (3, 0.5), (5, 0.375)):  # E|z|/n
        s = solve_mixture(n, 0.0)
        assert s.overlap == m0 and s.stable and s.min_eigenvalue == 1.0
        assert float(mixture_overlap(n, 1e-3)) == pytest.approx(m0, abs=1e-12)
    for n in (2, 4):
        s = solve_mixture(n, 0.0)
        assert not s.stable and s.eigenvalues["out"] == -math.inf and s.eigenvalues["sym"] == 1.0
    assert mixture_free_energy(3, 0.0) == pytest.approx(3 * 0.25 / 2 - 0.5 * 1.5)


def test_no_mixture_above_tc_and_free_energy_order() -> None:
    assert np.all(mixture_overlap(3, [1.0, 1.5, 4.0]) == 0)
    s = solve_mixture(3, 1.2)
    assert not s.exists and not s.stable
    assert s.free_energy == pytest.approx(-1.2 * math.log(2))
    # f(m^1) < f(m^3) < f(m^5) at low T (notes, end of Sec. 2.2.2)
    for T in (0.05, 0.2, 0.35):
        f = [float(mixture_free_energy(n, T)) for n in (1, 3, 5, 7)]
        assert f == sorted(f) and len(set(f)) == 4


def test_stability_thresholds() -> None:
    """Odd mixtures stable below T_n (decreasing in n); even never; pure for all T < 1.

    AGS (Phys. Rev. A 32, 1007, 1985) are quoted as T_3 = 0.461 and T_5 = 0.385 (three digits);
    our roots are 0.45979 and 0.38474: within 2e-3 of the quotes (the n = 3 quote is 1.2e-3
    higher). The exact zero crossing of the eigenvalue is checked separately below.
    """
    t1 = mixture_critical_temperature(1)
    assert t1.critical_temperature == 1.0 and t1.crossings == ()
    for n in (2, 4, 6):
        assert mixture_critical_temperature(n).critical_temperature == 0.0
    t3, t5, t7 = (mixture_critical_temperature(n) for n in (3, 5, 7))
    assert abs(t3.critical_temperature - 0.461) < 2e-3
    assert abs(t5.critical_temperature - 0.385) < 2e-3
    assert t3.critical_temperature > t5.critical_temperature > t7.critical_temperature > 0.3
    assert t3.unstable_direction == "anti"
    for th in (t3, t5):
        t = th.critical_temperature
        assert abs(float(mixture_eigenvalues(th.n, t)["anti"])) < 1e-12
        assert solve_mixture(th.n, t * 0.99).stable and not solve_mixture(th.n, t * 1.01).stable
    # grid-independent to full precision
    coarse = mixture_critical_temperature(3, n_grid=50).critical_temperature
    assert coarse == pytest.approx(t3.critical_temperature, abs=1e-13)
    # without uninvolved directions (P = n) the threshold is set by the involved block alone
    assert solve_mixture(3, 0.3, n_patterns=3).multiplicities["out"] == 0


def test_mixture_bad_input() -> None:
    with pytest.raises(ConfigError, match=r"n must be an integer in \[1, 1000\]"):
        solve_mixture(0, 0.5)
    with pytest.raises(ConfigError, match=r"n must be an integer in \[1, 1000\]"):
        mixture_overlap(2.5, 0.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="temperature must be a finite number >= 0"):
        solve_mixture(3, -0.1)
    with pytest.raises(ConfigError, match="temperature must be a finite number >= 0"):
        mixture_overlap(3, [0.1, math.nan])
    with pytest.raises(ConfigError, match="n_patterns must be >= n"):
        solve_mixture(3, 0.1, n_patterns=2)
    with pytest.raises(ConfigError, match="beta must be a finite number > 0"):
        hopfield_free_energy([0.1, 0.2], 0.0)
    with pytest.raises(ConfigError, match="P must be <= 20"):
        sign_patterns(21)


# ---------------------------------------------------------- AGS replica symmetry (finite load)
def test_ags_landmarks_and_curie_weiss_limit() -> None:
    from hopfield_lab.theory import ags_capacity, ags_overlap, ags_retrieval_line

    # the notes' capacity alpha_c ~ 0.138 at T = 0 (AGS: 0.1379)
    assert ags_capacity() == pytest.approx(0.1379, abs=5e-4)
    m = ags_overlap(np.array([0.05, 0.2]), 0.0)
    assert m[0] > 0.99 and m[1] < 0.05  # retrieval below alpha_c, none above
    # alpha -> 0 is Curie-Weiss: m = tanh(m / T); the same root from the Curie-Weiss solver
    from hopfield_lab.theory import equilibrium_magnetization

    for T in (0.3, 0.5, 0.8):
        cw = float(equilibrium_magnetization(1.0 / T))
        assert ags_overlap(np.array([1e-8]), T)[0] == pytest.approx(cw, abs=1e-4)
    # T_M(alpha) falls from T_c = 1 at alpha -> 0 to 0 at alpha_c, monotonically
    line = ags_retrieval_line(np.array([1e-6, 0.02, 0.08, 0.13, 0.15]))
    assert line[0] == pytest.approx(1.0, abs=3e-3)
    assert np.all(np.diff(line) < 0) and line[-1] == 0.0


def test_mixture_line_barrier_is_an_upper_bound_that_vanishes_at_t_n() -> None:
    from hopfield_lab.theory import mixture_critical_temperature, mixture_line_barrier

    assert mixture_line_barrier(1, 0.3) is None and mixture_line_barrier(3, 1.2) is None
    t3 = mixture_critical_temperature(3).critical_temperature
    low, near = mixture_line_barrier(3, 0.15), mixture_line_barrier(3, t3 - 1e-3)
    assert low is not None and near is not None
    assert low > 10 * near > 0  # the 3-mixture's basin shrinks towards T_3
    above = mixture_line_barrier(3, t3 + 0.05)
    assert above is not None and above < 1e-6  # a saddle: no barrier along the line
