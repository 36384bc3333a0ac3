"""Theory of IDP networks and the saliency map: spec results T1-T5 and Model 1's closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.theory import idp

# --------------------------------------------------------------------------- T1: fixed points
SPEC_T1 = [
    (4.0, 2.0, 2.0, 0.6931),
    (4.5, 3.0, 1.5, 1.0986),
    (5.0, 3.6180, 1.3820, 1.2859),
    (6.0, 4.7321, 1.2679, 1.5544),
]


@pytest.mark.parametrize(("kappa", "zp", "zm", "T"), SPEC_T1)
def test_t1_fixed_points_table(kappa, zp, zm, T) -> None:
    plus, minus = idp.map_fixed_points(kappa)
    assert plus == pytest.approx(zp, abs=5e-5) and minus == pytest.approx(zm, abs=5e-5)
    assert idp.period(kappa) == pytest.approx(T, abs=5e-5)
    for z in (plus, minus):  # they are fixed points of the map
        assert idp.saliency_map(z, kappa) == pytest.approx(z, rel=1e-12)


def test_t1_vieta_and_critical_gain() -> None:
    k = np.linspace(4.0, 12.0, 41)
    zp, zm = idp.map_fixed_points(k)
    assert np.allclose(zp * zm, k, rtol=1e-12) and np.allclose(zp + zm, k, rtol=1e-12)
    below = np.array([0.5, 2.0, 3.9, 3.999])
    zp_b, zm_b = idp.map_fixed_points(below)
    assert np.all(np.isnan(zp_b)) and np.all(np.isnan(zm_b))
    assert math.isnan(idp.period(3.0))
    assert idp.KAPPA_CRITICAL == 4.0


# --------------------------------------------------------------------------- T2: stability
@pytest.mark.parametrize("kappa", [4.5, 5.0, 6.0, 8.0])
def test_t2_multipliers(kappa) -> None:
    zp, zm = idp.map_fixed_points(kappa)
    dp, dm = idp.fixed_point_multipliers(kappa)
    assert dp == pytest.approx(zm / zp) and dm == pytest.approx(zp / zm)
    assert dp < 1 < dm
    h = 1e-6  # the closed-form derivative against a central difference
    for z, d in ((zp, dp), (zm, dm)):
        fd = (idp.saliency_map(z + h, kappa) - idp.saliency_map(z - h, kappa)) / (2 * h)
        assert fd == pytest.approx(d, rel=1e-7)
        assert idp.map_derivative(z, kappa) == pytest.approx(d, rel=1e-12)
    # Z_+ attracts, Z_- repels
    assert abs(idp.orbit(zp + 0.3, kappa, 60).Z[-1] - zp) < 1e-8
    assert abs(idp.orbit(zm + 1e-6, kappa, 40).Z[-1] - zm) > 1e-3


def test_t2_marginal_convergence_at_kappa_4() -> None:
    """At kappa = 4, f'(2) = 1 and Z_t - 2 ~ 2 / t (algebraic, not geometric)."""
    assert idp.fixed_point_multipliers(4.0) == (1.0, 1.0)
    o = idp.orbit(2.5, 4.0, 20_000)
    t = np.arange(len(o.Z))
    tail = t[1000:] * (o.Z[1000:] - 2.0)
    assert np.all(o.Z > 2.0) and np.all(np.diff(o.Z) < 0)
    assert tail[-1] == pytest.approx(2.0, rel=1e-3)


# --------------------------------------------------------------------------- T3: basin
def test_t3_examples() -> None:
    o = idp.orbit(2.0, 5.0, 6)
    assert np.allclose(o.entry_saliencies, [2.5, 3.0, 10 / 3, 3.5, 25 / 7, 3.6])
    assert o.n_retrieved == 7 and not o.collapsed
    long = idp.orbit(2.0, 5.0, 40)
    assert long.Z[7] == pytest.approx(3.6111, abs=1e-4)
    assert long.Z[-1] == pytest.approx(idp.map_fixed_points(5.0)[0], rel=1e-10)
    c = idp.orbit(1.2, 4.5, 10)
    assert c.collapsed and c.collapse_step == 1 and c.n_retrieved == 1
    assert c.Z[1] == pytest.approx(0.75)


@pytest.mark.parametrize("kappa", [4.5, 5.0, 6.0, 8.0])
def test_t3_basin_boundary_is_z_minus(kappa) -> None:
    zp, zm = idp.map_fixed_points(kappa)
    for d in (1e-3, 0.05, 0.5):
        up = idp.orbit(zm + d, kappa, 400)
        assert not up.collapsed and up.Z[-1] == pytest.approx(zp, rel=1e-6)
        if zm - d > 0:
            down = idp.orbit(zm - d, kappa, 400)
            assert down.collapsed
        assert idp.collapse_amplitude(zm + d, kappa) > 0
        assert idp.collapse_amplitude(zm - d, kappa) < 0


# --------------------------------------------------------------------------- T4: closed form
def test_t4_kappa_below_critical_example() -> None:
    o = idp.orbit(2.5, 3.0, 10)
    assert np.allclose(o.Z, [2.5, 1.8, 4 / 3, 0.75])
    assert o.collapse_step == 3 and o.n_retrieved == 3


@pytest.mark.parametrize("kappa", [3.0, 3.5, 4.0, 4.5, 5.0, 6.0])
@pytest.mark.parametrize("Z0", [1.3, 2.0, 3.7])
def test_t4_closed_form_matches_iteration(kappa, Z0) -> None:
    o = idp.orbit(Z0, kappa, 12)
    steps = len(o.Z) - 1
    t = np.arange(steps)
    closed = idp.orbit_closed_form(Z0, kappa, t)
    p = idp.p_sequence(Z0, kappa, steps + 1)
    assert np.allclose(closed, o.Z[:-1] if o.collapsed else o.Z[:steps], rtol=1e-9)
    assert np.allclose(p[1 : steps + 1] / p[:steps], o.Z[:steps], rtol=1e-12)


@pytest.mark.parametrize("kappa", [0.5, 1.0, 2.0, 3.0, 3.9])
def test_t4_every_orbit_collapses_below_critical_gain(kappa) -> None:
    bound = idp.collapse_step_bound(kappa)
    for Z0 in np.linspace(1.01, 50.0, 60):
        o = idp.orbit(float(Z0), kappa, 10_000)
        assert o.collapsed
        assert o.collapse_step <= math.ceil(bound) + 1


# --------------------------------------------------------------------------- T5: times
def test_t5_dwell_and_cumulative_times() -> None:
    o = idp.orbit(2.0, 5.0, 6)
    assert np.allclose(o.dwell_times, np.log(o.Z))
    assert np.allclose(
        o.dwell_times[:6], [0.6931, 0.9163, 1.0986, 1.2040, 1.2528, 1.2730], atol=1e-4
    )
    p = idp.p_sequence(2.0, 5.0, 7)
    assert np.allclose(o.entry_times, np.log(p[1:7]), rtol=1e-12)
    assert np.allclose(idp.cumulative_times(o.Z), np.log(p), rtol=1e-12)
    c = idp.orbit(2.5, 3.0, 10)
    assert c.collapse_time == pytest.approx(math.log(2.5 * 1.8 * 4 / 3))


def test_cycle_correction() -> None:
    assert idp.saliency_map(2.0, 5.0, a0=0.5) == pytest.approx(5.0 + (0.5 - 5.0) / 2.0)
    assert idp.saliency_map(2.0, 5.0) == pytest.approx(2.5)
    assert idp.retrieved_count(2.0, 5.0, 8) == 8
    assert idp.retrieved_count(2.5, 3.0, 8) == 3


# --------------------------------------------------------------------------- Model 1 (T7)
SPEC_TANH = [(1.2, 0.7903, 1.766), (1.5, 1.2878, 3.804), (2.0, 1.9150, 12.02), (3.0, 2.9847, 98.3)]


@pytest.mark.parametrize(("alpha", "c", "largest"), SPEC_TANH)
def test_tanh_equilibria_table(alpha, c, largest) -> None:
    amp = idp.equilibrium_amplitude(alpha)
    assert amp == pytest.approx(c, abs=5e-5)
    assert amp == pytest.approx(alpha * math.tanh(amp), rel=1e-14)
    assert idp.stability_threshold(alpha) == pytest.approx(largest, rel=5e-4)
    P = [alpha, 0.99 * idp.stability_threshold(alpha), 0.2]
    assert idp.is_stable(0, P)
    P[1] = 1.01 * idp.stability_threshold(alpha)
    assert not idp.is_stable(0, P)


def test_existence_thresholds() -> None:
    assert idp.existence_threshold("tanh", 1.0) == 1.0
    assert idp.existence_threshold("tanh", 10.0) == pytest.approx(0.1)
    assert idp.existence_threshold("hardtanh") == 1.0
    assert idp.equilibrium_amplitude(0.999) == 0.0 and idp.equilibrium_amplitude(1.001) > 0
    gamma = 10.0
    c = idp.equilibrium_amplitude(0.5, "tanh", gamma)
    assert c == pytest.approx(0.5 * math.tanh(gamma * c), rel=1e-13) and c > 0.49
    assert np.allclose(
        idp.equilibrium_amplitude(np.array([0.5, 1.0, 2.5]), "hardtanh"), [0.0, 1.0, 2.5]
    )
    assert not idp.is_stable(0, [0.9, 0.1])  # below the existence threshold
    assert idp.is_stable(0, [1.5, 1e6], "hardtanh")  # saturated: any competitor allowed
    assert math.isinf(idp.stability_threshold(1.5, "hardtanh"))


def test_well_energies_and_confusion() -> None:
    N = 64
    for a in (1.0, 1.5, 3.0):
        assert idp.well_energy(a, N, "hardtanh") == pytest.approx(N * (1 - a) / 2)
    deeper = [idp.well_energy(a, N) for a in (1.2, 1.5, 2.0, 3.0)]
    assert all(np.diff(deeper) < 0)  # larger saliency, deeper well
    assert idp.confusion_is_stable([0.9, -0.5]) and not idp.confusion_is_stable([0.9, 1.1])


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_kappa(bad) -> None:
    for fn in (
        lambda: idp.saliency_map(2.0, bad),
        lambda: idp.map_fixed_points(bad),
        lambda: idp.orbit(2.0, bad, 3),
        lambda: idp.period(bad),
    ):
        with pytest.raises(ConfigError, match="kappa"):
            fn()


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="n must"):
        idp.orbit(2.0, 5.0, -1)
    with pytest.raises(ConfigError, match="Z0"):
        idp.orbit(float("nan"), 5.0, 3)
    with pytest.raises(ConfigError, match="Z must"):
        idp.saliency_map(0.0, 5.0)
    with pytest.raises(ConfigError, match="activation"):
        idp.equilibrium_amplitude(2.0, "relu")
    with pytest.raises(ConfigError, match="gamma"):
        idp.equilibrium_amplitude(2.0, "tanh", 0.0)
    with pytest.raises(ConfigError, match="mu"):
        idp.is_stable(3, [1.5, 1.0])
    with pytest.raises(ConfigError, match="kappa must be > 4"):
        idp.collapse_amplitude(2.0, 4.0)
    with pytest.raises(ConfigError, match="kappa must be < 4"):
        idp.collapse_step_bound(5.0)


# --------------------------------------------------------------------------- noisy wells [D]
def test_noisy_well_limits_and_monotonicity() -> None:
    for a in (1.2, 2.0, 3.0):
        c, m = idp.noisy_well(a, 0.0)
        assert c == pytest.approx(idp.equilibrium_amplitude(a), rel=1e-12)
        assert m == pytest.approx(math.tanh(c), rel=1e-12)
    ms = [idp.noisy_well(2.0, s)[1] for s in (0.0, 0.3, 0.6, 1.0, 1.5)]
    assert all(np.diff(ms) < 0)
    assert idp.noisy_activation_mean(0.7, 0.0) == pytest.approx(math.tanh(0.7))
    # the quadrature against a direct sum over a fine grid
    s = 0.8 / math.sqrt(2)
    z = np.linspace(-9, 9, 20001)
    direct = (
        np.sum(np.tanh(0.4 + s * z) * np.exp(-z * z / 2)) * (z[1] - z[0]) / math.sqrt(2 * math.pi)
    )
    assert idp.noisy_activation_mean(0.4, 0.8) == pytest.approx(direct, rel=1e-10)


def test_noisy_well_critical_noise_of_the_classic_network() -> None:
    """alpha = 1, tanh(10 x): retrieval survives while gamma E[sech^2(gamma s Z)] > 1 (the
    linear stability of m = 0 in the mean-field equation); noisy_well switches there."""
    gamma = 10.0
    z = np.linspace(-12.0, 12.0, 400_001)
    weights = np.exp(-z * z / 2) * (z[1] - z[0]) / math.sqrt(2 * math.pi)

    def slope(sigma: float) -> float:  # gamma E[sech^2(gamma s Z)], a brute-force integral
        a = np.abs(gamma * sigma / math.sqrt(2) * z)
        sech2 = 4 * np.exp(-2 * a) / (1 + np.exp(-2 * a)) ** 2
        return float(np.sum(weights * gamma * sech2))

    lo, hi = 0.1, 5.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if slope(mid) > 1 else (lo, mid)
    sigma_c = 0.5 * (lo + hi)
    assert 1.0 < sigma_c < 1.3
    # E[psi'] convolved with a Gaussian stays unimodal, so the transition is continuous
    assert idp.noisy_well(1.0, 0.99 * sigma_c, "tanh", gamma)[1] > 0.05
    assert idp.noisy_well(1.0, 1.01 * sigma_c, "tanh", gamma) == (0.0, 0.0)
    below = [idp.noisy_well(1.0, f * sigma_c, "tanh", gamma)[1] for f in (0.9, 0.95, 0.99)]
    assert all(np.diff(below) < 0)


@pytest.mark.parametrize(("act", "gamma"), [("tanh", 1.0), ("tanh", 10.0), ("hardtanh", 1.0)])
@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.0, 3.0])
def test_noisy_activation_mean_against_brute_force(act, gamma, sigma) -> None:
    """Steep tanh(10 x) and the Hard Tanh kinks included (a coarse Gauss-Hermite rule got the
    steep case wrong by ~1e-2 and invented a retrieval root above the critical noise)."""
    z = np.linspace(-12.0, 12.0, 1_200_001)
    w = np.exp(-z * z / 2) * (z[1] - z[0]) / math.sqrt(2 * math.pi)
    s = sigma / math.sqrt(2)
    for mu in (-0.7, 0.0, 0.05, 0.4, 1.3):
        x = mu + s * z
        psi = np.tanh(gamma * x) if act == "tanh" else np.clip(x, -1, 1)
        assert idp.noisy_activation_mean(mu, sigma, act, gamma) == pytest.approx(
            float(np.sum(psi * w)), abs=1e-8
        )
