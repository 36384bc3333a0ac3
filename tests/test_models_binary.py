"""BinaryHopfield: Hebbian storage, Lemma 2.1.1, 2-cycles, Lemma 2.1.3 and Theorem 2.1."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hopfield_lab.data.synthetic import hadamard_patterns, random_patterns
from hopfield_lab.errors import ConfigError
from hopfield_lab.models import _sweeps
from hopfield_lab.models.binary import BinaryHopfield, _dense_sweep

F64 = torch.float64


def _all_states(n: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product((-1.0, 1.0), repeat=n)), dtype=F64)  # (2^n, n)


def _codes(S: torch.Tensor) -> torch.Tensor:
    """Integer code of each ±1 state, matching the order of ``_all_states``."""
    n = S.shape[1]
    bits = (S > 0).long()
    return (bits * (2 ** torch.arange(n - 1, -1, -1))).sum(1)


def test_hebbian_couplings_and_energy(gen) -> None:
    xi = random_patterns(3, 12, generator=gen, dtype=F64)
    m = BinaryHopfield.hebbian(xi)
    J = xi.T @ xi / 12
    J.fill_diagonal_(0)
    assert torch.equal(m.J, J) and m.is_symmetric
    keep = BinaryHopfield.hebbian(xi, diagonal="keep")
    assert torch.allclose(keep.J.diagonal(), torch.full((12,), 3 / 12, dtype=F64))
    s = random_patterns(5, 12, generator=gen, dtype=F64)
    h = torch.randn(12, generator=gen, dtype=F64)
    mh = BinaryHopfield(J, h)
    expected = torch.stack([-0.5 * x @ J @ x - h @ x for x in s])
    assert torch.allclose(mh.energy(s), expected)
    assert torch.allclose(mh.local_field(s), s @ J.T + h)
    assert mh.energy(s[0]).shape == ()


def test_orthogonal_patterns_are_global_minima(gen) -> None:
    """Lemma 2.1.2: with orthogonal patterns every pattern has energy (P - N)/2, the minimum."""
    xi = hadamard_patterns(3, 8, generator=gen, dtype=F64)
    m = BinaryHopfield.hebbian(xi)
    E = m.energy(_all_states(8))
    assert torch.allclose(m.energy(xi), torch.full((3,), (3 - 8) / 2, dtype=F64))
    assert E.min() == pytest.approx((3 - 8) / 2)


@pytest.mark.parametrize("dynamics", ["parallel", "sequential"])
def test_stored_patterns_are_fixed_points_at_low_load(gen, dynamics) -> None:
    xi = random_patterns(5, 400, generator=gen, dtype=F64)  # alpha = 0.0125
    m = BinaryHopfield.hebbian(xi)
    r = m.run(xi, dynamics=dynamics, n_sweeps=5, generator=gen, patterns=xi)
    assert torch.equal(r.states, xi)
    assert r.converged.all() and (r.settled_sweep == 0).all() and r.n_sweeps == 0
    assert torch.allclose(r.overlaps[-1].diagonal(), torch.ones(5, dtype=F64))
    assert torch.equal(m.update(xi), xi)


def test_corrupted_patterns_are_retrieved(gen) -> None:
    xi = random_patterns(10, 500, generator=gen, dtype=F64)  # alpha = 0.02
    m = BinaryHopfield.hebbian(xi)
    noisy = torch.where(torch.rand(xi.shape, generator=gen, dtype=F64) < 0.15, -xi, xi)
    r = m.run(noisy, n_sweeps=20, generator=gen, patterns=xi)
    assert r.converged.all()
    assert (r.overlaps[-1].diagonal() > 0.99).all()
    assert (r.energies[-1] < r.energies[0]).all()


def test_energy_never_rises_under_sequential_updates(gen) -> None:
    """Lemma 2.1.1, checked after every single-spin update with a fresh energy."""
    N, R = 40, 64
    for P in (2, 6, 12):
        m = BinaryHopfield.hebbian(random_patterns(P, N, generator=gen, dtype=F64))
        S = random_patterns(R, N, generator=gen, dtype=F64)
        E = m.energy(S)
        for _ in range(3 * N):
            sites = torch.randint(0, N, (R,), generator=gen)
            S = m.update_sites(S, sites)
            E_new = m.energy(S)
            assert (E_new <= E + 1e-12).all()
            E = E_new
    # and per sweep through run(), recorded every sweep, with a random symmetric J
    A = torch.randn(N, N, generator=gen, dtype=F64)
    Js = (A + A.T) / 2
    Js.fill_diagonal_(0)
    r = BinaryHopfield(Js).run(
        random_patterns(R, N, generator=gen, dtype=F64), n_sweeps=50, generator=gen, record_every=1
    )
    assert (r.energies.diff(dim=0) <= 1e-9).all()
    assert r.converged.all()


def test_energy_can_rise_without_the_lemma_hypotheses(gen) -> None:
    """The check above can fail: asymmetric J gives energy rises under sequential updates."""
    N, R = 30, 64
    A = torch.randn(N, N, generator=gen, dtype=F64)
    A.fill_diagonal_(0)
    m = BinaryHopfield(A)
    assert not m.is_symmetric
    S = random_patterns(R, N, generator=gen, dtype=F64)
    rises = 0
    for _ in range(2 * N):
        S_new = m.update_sites(S, torch.randint(0, N, (R,), generator=gen))
        rises += int((m.energy(S_new) > m.energy(S) + 1e-12).sum())
        S = S_new
    assert rises > 0


def test_parallel_two_cycle_on_constructed_example() -> None:
    """Hebbian J of the pattern (1, 1): the state (1, -1) flips both spins forever."""
    m = BinaryHopfield.hebbian(torch.tensor([[1.0, 1.0]], dtype=F64))
    s0 = torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=F64)
    r = m.run(s0, dynamics="parallel", n_sweeps=10, record_every=1)
    assert r.cycle2.tolist() == [True, False]
    assert r.settled_sweep.tolist() == [2, 0]
    assert torch.equal(r.trajectory[1, 0], torch.tensor([-1.0, 1.0], dtype=F64))
    assert torch.equal(r.trajectory[2, 0], s0[0])
    assert not r.converged[0] and r.converged[1]
    # sequential dynamics on the same state reaches a fixed point (a stored pattern)
    rs = m.run(s0[:1], dynamics="sequential", n_sweeps=5)
    assert rs.converged.all() and abs(float(rs.states.sum())) == 2.0


def test_parallel_two_cycles_are_detected_in_random_networks(gen) -> None:
    xi = random_patterns(40, 100, generator=gen, dtype=F64)  # high load: many 2-cycles
    m = BinaryHopfield.hebbian(xi)
    S0 = random_patterns(64, 100, generator=gen, dtype=F64)
    r = m.run(S0, dynamics="parallel", n_sweeps=200, record_every=1)
    assert r.cycle2.any() and (r.settled_sweep >= 0).all()
    k = int(r.cycle2.nonzero()[0])
    a, b = r.states[k], m.update(r.states[k])
    assert not torch.equal(a, b) and torch.equal(m.update(b), a)
    assert torch.equal(r.converged, ~r.cycle2)


def test_glauber_at_zero_temperature_equals_sequential(gen) -> None:
    xi = random_patterns(30, 120, generator=gen, dtype=F64)
    m = BinaryHopfield.hebbian(xi)
    S0 = random_patterns(16, 120, generator=gen, dtype=F64)
    runs = [
        m.run(S0, dynamics=d, n_sweeps=30, generator=torch.Generator().manual_seed(7))
        for d in ("sequential", "glauber")
    ]
    assert torch.equal(runs[0].states, runs[1].states)
    assert torch.equal(runs[0].settled_sweep, runs[1].settled_sweep)
    assert runs[0].converged.all()


def test_incremental_fields_match_a_plain_loop(gen) -> None:
    """The fast sweep equals a per-spin loop with the same site order (same generator)."""
    N, R = 24, 5
    A = torch.randn(N, N, generator=gen, dtype=F64)
    m = BinaryHopfield(A, torch.randn(N, generator=gen, dtype=F64))
    S0 = random_patterns(R, N, generator=gen, dtype=F64)
    r = m.run(S0, n_sweeps=1, generator=torch.Generator().manual_seed(3))
    order = m.draw_sites(R, generator=torch.Generator().manual_seed(3))
    assert torch.equal(order.sort(1).values, torch.arange(N).expand(R, N))  # permutations
    S = S0.clone()
    for k in range(N):
        for rep in range(R):
            i = int(order[rep, k])
            phi = float(m.J[i] @ S[rep] + m.h[i])
            if phi * float(S[rep, i]) < 0:
                S[rep, i] = -S[rep, i]
    assert torch.equal(r.states, S)


def test_flip_probability_matches_lemma_2_1_3_empirically() -> None:
    """One spin in a field h: P(flip) = (1 - s tanh(beta h))/2, estimated over 40000 replicas."""
    g = torch.Generator().manual_seed(5)
    T, R = 0.8, 40000
    for hval, s in ((0.3, 1.0), (0.3, -1.0), (-0.5, 1.0)):
        m = BinaryHopfield(torch.zeros(1, 1, dtype=F64), torch.tensor([hval], dtype=F64))
        S0 = torch.full((R, 1), s, dtype=F64)
        r = m.run(S0, dynamics="glauber", temperature=T, n_sweeps=1, generator=g)
        empirical = float((r.states != S0).double().mean())
        p = 0.5 * (1 - s * math.tanh(hval / T))
        assert empirical == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / R))
        assert float(m.flip_probability(S0[:1], T)[0, 0]) == pytest.approx(p)
    # two coupled spins: flip probability of spin 0 depends on spin 1 through phi_0 = J s_1
    m2 = BinaryHopfield(torch.tensor([[0.0, 0.7], [0.7, 0.0]], dtype=F64))
    S0 = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=F64).repeat(R // 2, 1)
    new = m2.update_sites(S0, torch.zeros(R, dtype=torch.long), temperature=0.5, generator=g)
    for row, phi in ((0, 0.7), (1, -0.7)):
        flips = float((new[row::2, 0] != S0[row::2, 0]).double().mean())
        p = 0.5 * (1 - math.tanh(phi / 0.5))
        assert flips == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / (R // 2)))
    assert torch.equal(new[:, 1], S0[:, 1])  # only the chosen site may change


def test_glauber_stationary_distribution_is_gibbs_for_n4() -> None:
    """Theorem 2.1 on N = 4 with a field: the empirical law over 16 states matches Gibbs."""
    g = torch.Generator().manual_seed(11)
    N, T = 4, 1.0
    A = torch.randn(N, N, generator=g, dtype=F64) * 0.6
    J = (A + A.T) / 2
    J.fill_diagonal_(0)
    m = BinaryHopfield(J, torch.randn(N, generator=g, dtype=F64) * 0.3)
    states = _all_states(N)
    gibbs = torch.softmax(-m.energy(states) / T, 0)
    R = 4000
    S0 = random_patterns(R, N, generator=g, dtype=F64)
    counts = torch.zeros(2**N, dtype=F64)
    S = m.run(S0, dynamics="glauber", temperature=T, n_sweeps=30, generator=g).states
    for _ in range(10):
        S = m.run(S, dynamics="glauber", temperature=T, n_sweeps=3, generator=g).states
        counts += torch.bincount(_codes(S), minlength=2**N).double()
    emp = counts / counts.sum()
    assert 0.5 * (emp - gibbs).abs().sum() < 0.02
    # the uniform-site chain of Def. 2.1.5 has the same stationary law
    S = m.run(S0, dynamics="glauber", temperature=T, n_sweeps=60, generator=g, order="uniform")
    emp_u = torch.bincount(_codes(S.states), minlength=2**N).double() / R
    assert 0.5 * (emp_u - gibbs).abs().sum() < 0.05


def test_curie_weiss_constructor() -> None:
    m = BinaryHopfield.curie_weiss(5, J=2.0, h=0.25)
    assert torch.allclose(m.J.sum(1), torch.full((5,), 2.0 * 4 / 5, dtype=F64))
    assert torch.equal(m.J.diagonal(), torch.zeros(5, dtype=F64))
    assert torch.equal(m.h, torch.full((5,), 0.25, dtype=F64))
    s = _all_states(5)
    M = s.sum(1)
    assert torch.allclose(m.energy(s), -2.0 / 10 * (M**2 - 5) - 0.25 * M)
    r = m.run(torch.ones(1, 5, dtype=F64), n_sweeps=3)
    assert r.converged.all() and torch.equal(r.states, torch.ones(1, 5, dtype=F64))


def test_run_records_shapes(gen) -> None:
    xi = random_patterns(3, 50, generator=gen, dtype=F64)
    m = BinaryHopfield.hebbian(xi)
    S0 = random_patterns(7, 50, generator=gen, dtype=F64)
    r = m.run(S0, dynamics="glauber", temperature=0.5, n_sweeps=5, record_every=2, patterns=xi)
    assert r.record_sweeps.tolist() == [0, 2, 4, 5] and r.n_sweeps == 5
    assert r.energies.shape == (4, 7) and r.trajectory.shape == (4, 7, 50)
    assert r.overlaps.shape == (4, 7, 3)
    assert torch.allclose(r.overlaps[-1], r.states @ xi.T / 50)
    assert (r.settled_sweep == -1).all()
    plain = m.run(S0, n_sweeps=5, generator=gen)
    assert plain.energies.shape[0] == 2 and plain.trajectory is None and plain.overlaps is None


def test_bad_inputs_raise() -> None:
    m = BinaryHopfield.curie_weiss(4)
    s = torch.ones(2, 4, dtype=F64)
    with pytest.raises(ConfigError, match="temperature must be in"):
        m.run(s, dynamics="glauber", temperature=-1.0, n_sweeps=1)
    with pytest.raises(ConfigError, match="temperature applies to dynamics='glauber'"):
        m.run(s, dynamics="sequential", temperature=0.5, n_sweeps=1)
    with pytest.raises(ConfigError, match="only -1 and \\+1 spins; found 0.5"):
        m.energy(torch.full((2, 4), 0.5, dtype=F64))
    with pytest.raises(ConfigError, match=r"shape \(R, 4\) or \(4,\); got \(2, 3\)"):
        m.energy(torch.ones(2, 3, dtype=F64))
    with pytest.raises(ConfigError, match="J must be a square matrix"):
        BinaryHopfield(torch.zeros(3, 4))
    with pytest.raises(ConfigError, match=r"h must be a tensor of shape \(3,\)"):
        BinaryHopfield(torch.zeros(3, 3), torch.zeros(4))
    with pytest.raises(ConfigError, match="dynamics must be one of"):
        m.run(s, dynamics="async", n_sweeps=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n_sweeps must be"):
        m.run(s, n_sweeps=-1)
    with pytest.raises(ConfigError, match="patterns must have N=4 columns"):
        m.run(s, n_sweeps=1, patterns=torch.ones(2, 5))
    with pytest.raises(ConfigError, match="patterns must contain only -1 and"):
        BinaryHopfield.hebbian(torch.zeros(2, 4))
    with pytest.raises(ConfigError, match="diagonal must be one of"):
        BinaryHopfield.hebbian(torch.ones(2, 4), diagonal="half")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"sites must lie in \[0, 4\)"):
        m.update_sites(s, torch.tensor([0, 4]))
    with pytest.raises(ConfigError, match="P must be in"):
        hadamard_patterns(9, 8)  # more orthogonal patterns than dimensions


@pytest.mark.parametrize("T", [0.0, 0.7])
def test_dense_torch_sweep_equals_numpy_sweep(gen, T) -> None:
    """The GPU code path (dense torch updates), run on CPU, matches the NumPy CPU path."""
    N, R = 30, 12
    A = torch.randn(N, N, generator=gen, dtype=F64)
    m = BinaryHopfield(A, torch.randn(N, generator=gen, dtype=F64))
    S0 = random_patterns(R, N, generator=gen, dtype=F64)
    sites = torch.randint(0, N, (R, N), generator=gen)
    u = torch.rand((N, R), generator=gen, dtype=F64) if T > 0 else None
    JT = m.J.T.contiguous()
    out = []
    for dense in (True, False):
        S = S0.clone()
        H = S @ m.J.T + m.h
        if dense:
            _dense_sweep(S, H, JT, T, sites, u)
        else:
            un = None if u is None else u.numpy()
            _sweeps.sweep_fields_numpy(S.numpy(), H.numpy(), JT.numpy(), T, sites.numpy(), un)
        assert torch.allclose(H, S @ m.J.T + m.h)  # incremental fields stay exact
        out.append(S)
    assert torch.equal(out[0], out[1]) and not torch.equal(out[0], S0)


def _sweep_inputs(gen: torch.Generator, N: int, R: int, T: float, sweeps: int = 3) -> tuple:
    sites = [torch.randint(0, N, (R, N), generator=gen).numpy() for _ in range(sweeps)]
    u = [torch.rand((N, R), generator=gen, dtype=F64).numpy() if T > 0 else None for _ in sites]
    return sites, u


@pytest.mark.parametrize("T", [0.0, 0.5])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_compiled_fields_sweep_gives_the_same_chain(gen, T, dtype) -> None:
    """numba and NumPy sweeps of the fields, same random numbers: identical states and fields
    (the only possible difference, a uniform within one rounding error of exp's result, has
    probability ~1e-16 per update)."""
    kernels = pytest.importorskip("hopfield_lab.models._sweeps_numba")
    N, R = 40, 16
    A = torch.randn(N, N, generator=gen, dtype=F64).to(dtype)
    h = torch.randn(N, generator=gen, dtype=F64).to(dtype)
    S0 = random_patterns(R, N, generator=gen, dtype=dtype)
    JT = A.T.contiguous().numpy()
    sites, u = _sweep_inputs(gen, N, R, T)
    runs = []
    for compiled in (True, False):
        S = S0.clone().numpy()
        H = (torch.from_numpy(S) @ A.T + h).numpy()
        for st, ut in zip(sites, u, strict=True):
            if compiled:
                kernels.sweep_fields(S, H, JT, T, st, _sweeps._uniforms(ut))
            else:
                _sweeps.sweep_fields_numpy(S, H, JT, T, st, ut)
        runs.append((S, H))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], S0.numpy())


@pytest.mark.parametrize("T", [0.0, 0.5])
@pytest.mark.parametrize("diagonal", ["zero", "keep"])
def test_compiled_overlap_sweep_gives_the_same_chain(gen, T, diagonal) -> None:
    kernels = pytest.importorskip("hopfield_lab.models._sweeps_numba")
    N, R, P = 60, 16, 7
    xi = random_patterns(P, N, generator=gen, dtype=F64)
    h = 0.1 * torch.randn(N, generator=gen, dtype=F64)
    m = BinaryHopfield.hebbian(xi, h=h, diagonal=diagonal)
    S0 = random_patterns(R, N, generator=gen, dtype=F64)
    XT = xi.T.contiguous().numpy().astype(np.int32)
    sites, u = _sweep_inputs(gen, N, R, T)
    runs = []
    for compiled in (True, False):
        S = S0.clone().numpy()
        M = (S @ xi.numpy().T).round().astype(np.int32)  # (R, P)
        for st, ut in zip(sites, u, strict=True):
            args = (S, M, XT, m._hebb_diag, 1.0, m.h.numpy(), T, st)
            if compiled:
                kernels.sweep_overlaps(*args, _sweeps._uniforms(ut))
            else:
                _sweeps.sweep_overlaps_numpy(*args, ut)
        np.testing.assert_array_equal(M, (S @ xi.numpy().T).round())  # overlaps stay exact
        runs.append((S, M))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], S0.numpy())


def test_compiled_permutations_equal_numpy(gen) -> None:
    kernels = pytest.importorskip("hopfield_lab.models._sweeps_numba")
    u = torch.rand((20, 50), generator=gen, dtype=F64).numpy()
    perm = _sweeps.permutations_numpy(u)
    assert np.array_equal(kernels.permutations(u), perm)
    assert np.array_equal(np.sort(perm, 1), np.tile(np.arange(50), (20, 1)))
    # every permutation of 3 items, about equally often (Fisher-Yates is uniform): 6000 draws,
    # 1000 expected each, standard deviation 29
    p3 = _sweeps.permutations_numpy(torch.rand((6000, 3), generator=gen, dtype=F64).numpy())
    _, counts = np.unique(p3, axis=0, return_counts=True)
    assert len(counts) == 6 and counts.min() > 850 and counts.max() < 1150


@pytest.mark.parametrize("T", [0.0, 0.5])
def test_run_is_the_same_chain_with_and_without_numba(gen, T, monkeypatch) -> None:
    xi = random_patterns(9, 80, generator=gen, dtype=F64)
    S0 = random_patterns(12, 80, generator=gen, dtype=F64)
    A = torch.randn(80, 80, generator=gen, dtype=F64)
    dyn = "glauber" if T > 0 else "sequential"
    for m in (BinaryHopfield.hebbian(xi), BinaryHopfield((A + A.T) / 2)):
        runs = []
        for off in ("1", ""):
            monkeypatch.setenv(_sweeps.NO_NUMBA_ENV_VAR, off)
            gen_run = torch.Generator().manual_seed(2)
            runs.append(m.run(S0, dynamics=dyn, temperature=T, n_sweeps=4, generator=gen_run))
        assert torch.equal(runs[0].states, runs[1].states)
        assert torch.equal(runs[0].settled_sweep, runs[1].settled_sweep)


@pytest.mark.parametrize("T", [0.0, 0.5])
def test_overlap_and_field_representations_give_the_same_chain(gen, T) -> None:
    """A Hebbian model sweeps with integer overlaps; the same J given as a plain matrix sweeps
    with float fields. With P odd and N even no field is zero, and the chains agree."""
    xi = random_patterns(11, 120, generator=gen, dtype=F64)
    heb = BinaryHopfield.hebbian(xi)
    plain = BinaryHopfield(heb.J)
    cpu = torch.device("cpu")
    assert heb._overlap_setup(cpu) is not None and plain._overlap_setup(cpu) is None
    S0 = random_patterns(16, 120, generator=gen, dtype=F64)
    dyn = "glauber" if T > 0 else "sequential"
    runs = [
        m.run(
            S0, dynamics=dyn, temperature=T, n_sweeps=6, generator=torch.Generator().manual_seed(4)
        )
        for m in (heb, plain)
    ]
    assert torch.equal(runs[0].states, runs[1].states)
    assert torch.equal(runs[0].converged, runs[1].converged)
    assert torch.equal(runs[0].settled_sweep, runs[1].settled_sweep)


def test_overlap_representation_ties_are_exact() -> None:
    """N = 10, P = 4: J_ij = k / 10 is rounded, and the float fields S J^T of some exact fixed
    points with a zero field come out slightly negative for a tied spin. The exact integer
    fields keep tied spins (the tie rule): those states are settled at sweep 0 and stay; the
    float fields of the same J see an unstable spin."""
    N, P = 10, 4
    xi = random_patterns(P, N, generator=torch.Generator().manual_seed(2), dtype=F64)
    heb = BinaryHopfield.hebbian(xi)
    S = _all_states(N)
    phi = ((S @ xi.T).round() @ xi - P * S) / N  # exact fields: (xi^T xi - P I) s / N
    tied = (S * phi >= 0).all(1) & (phi == 0).any(1) & (S * (S @ heb.J.T) < 0).any(1)
    S_tie = S[tied]
    assert len(S_tie) > 0
    r = heb.run(S_tie, n_sweeps=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(r.states, S_tie) and (r.settled_sweep == 0).all() and r.converged.all()
    rounded = BinaryHopfield(heb.J).run(S_tie, n_sweeps=5, generator=torch.Generator())
    assert not bool((rounded.settled_sweep == 0).all())


def test_hebbian_model_follows_changes_of_j(gen) -> None:
    """The overlap representation is used only while J is the Hebbian matrix."""
    xi = random_patterns(5, 40, generator=gen, dtype=F64)
    m = BinaryHopfield.hebbian(xi)
    cpu = torch.device("cpu")
    assert m._overlap_setup(cpu) is not None
    m32 = BinaryHopfield.hebbian(xi).to(torch.float32)  # cast: rechecked, still Hebbian
    assert m32._overlap_setup(cpu) is not None
    m.J.mul_(2.0)  # written in place: no longer the Hebbian J of the patterns
    assert m._overlap_setup(cpu) is None
    S0 = random_patterns(4, 40, generator=gen, dtype=F64)
    r = m.run(S0, n_sweeps=20, generator=gen)
    assert r.converged.all()
    assert bool((r.states * (r.states @ m.J.T) >= 0).all())  # fixed points of the new J


def test_hebbian_construction_keeps_one_copy_of_j(gen) -> None:
    xi = random_patterns(3, 64, generator=gen, dtype=F64)
    m = BinaryHopfield.hebbian(xi)
    stored = {name: b for name, b in m.named_buffers() if b is not None}
    assert set(stored) == {"J", "h", "_xi"} and stored["_xi"].dtype == torch.int8
    assert set(m.state_dict()) == {"J", "h"}
    A = torch.randn(64, 64, generator=gen, dtype=F64)
    plain = BinaryHopfield(A.T)  # a transposed view: stored contiguous, as a copy
    assert plain.J.is_contiguous() and torch.equal(plain.J, A.T)
    assert plain.J.data_ptr() != A.data_ptr()


@pytest.mark.slow
def test_hebbian_construction_and_sweeps_peak_memory() -> None:
    """Peak RSS of building a Hebbian model with N = 4096 (J: 128 MiB) and of a Glauber sweep,
    in a fresh process: J once plus small temporaries (before: J, a transposed copy, a
    construction clone and the temporaries of isfinite, about 3 J). The sweep adds no
    J-sized buffer; loading numba's compiler (the fast extra) costs about 110 MiB once."""
    code = (
        "import resource, torch\n"
        "from hopfield_lab.models.binary import BinaryHopfield\n"
        "from hopfield_lab.data.synthetic import random_patterns\n"
        "g = torch.Generator().manual_seed(0)\n"
        "xi = random_patterns(41, 4096, generator=g, dtype=torch.float64)\n"
        "S0 = random_patterns(8, 4096, generator=g, dtype=torch.float64)\n"
        "rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "base = rss()\n"
        "m = BinaryHopfield.hebbian(xi)\n"
        "built = rss()\n"
        "m.run(S0, dynamics='glauber', temperature=0.5, n_sweeps=1, generator=g)\n"
        "print(base, built, rss())\n"
    )
    base, built, ran = _peak_kib(code)
    j_kib = 4096 * 4096 * 8 / 1024
    assert built - base < 1.1 * j_kib, (base, built, j_kib)
    assert ran - built < 200 * 1024, (built, ran)


def _peak_kib(code: str) -> list[int]:
    """Run ``code`` in a fresh interpreter; it prints ru_maxrss values (KiB)."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    return [int(v) for v in out]
