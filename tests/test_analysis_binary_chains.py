"""Simulation protocols on binary networks (analysis.binary_chains) and the exact finite-N
Curie-Weiss E|m| (theory.finite_size_mean_abs_magnetization)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hopfield_lab.analysis import (
    all_states,
    glauber_retention,
    glauber_state_counts,
    hebbian_retrieval,
    keeps_mixture,
    magnetization_samples,
    overlap_checkpoints,
    random_couplings,
    total_variation,
)
from hopfield_lab.data.synthetic import random_patterns
from hopfield_lab.errors import ConfigError
from hopfield_lab.models.binary import BinaryHopfield
from hopfield_lab.theory import (
    equilibrium_magnetization,
    finite_size_magnetization_law,
    finite_size_mean_abs_magnetization,
)

F64 = torch.float64


def test_hebbian_retrieval_at_low_load_retrieves_every_pattern() -> None:
    """At alpha = 3/400 << 0.138 every stored pattern is a fixed point (crosstalk ~ 0.09 << 1):
    all overlaps are exactly 1 and every run settles at sweep 0; trials span several networks."""
    gen = torch.Generator().manual_seed(0)
    ov, settled = hebbian_retrieval(3, 400, 7, 3, max_sweeps=5, generator=gen, dtype=F64)
    assert ov.shape == (7,) and ov.dtype == F64
    assert torch.equal(ov, torch.ones(7, dtype=F64))
    assert settled.shape == (9,) and bool((settled == 0).all())  # 3 networks of 3 starts


def test_hebbian_retrieval_fails_far_beyond_capacity() -> None:
    """At alpha = 0.5 (far beyond alpha_c ~ 0.138) the mean final overlap falls well below 0.9."""
    gen = torch.Generator().manual_seed(1)
    ov, _ = hebbian_retrieval(100, 200, 40, 40, max_sweeps=50, generator=gen)
    assert float(ov.mean()) < 0.8


def test_hebbian_retrieval_rejects_bad_counts() -> None:
    with pytest.raises(ConfigError, match="n_trials"):
        hebbian_retrieval(3, 10, 0, 1, max_sweeps=1, generator=torch.Generator())


def test_glauber_retention_is_one_at_zero_temperature_and_small_when_hot() -> None:
    """T = 0 at low load keeps each replica at its own pattern (m = 1); at T = 3 (far above
    T_c = 1 of the pure state) the overlap is of order N^{-1/2}."""
    gen = torch.Generator().manual_seed(2)
    xi = random_patterns(2, 300, generator=gen, dtype=F64)
    cold = glauber_retention(xi, 0.0, 4, n_sweeps=3, measure=2, generator=gen)
    assert torch.equal(cold, torch.ones(4, dtype=F64))
    hot = glauber_retention(xi, 3.0, 4, n_sweeps=20, measure=5, generator=gen)
    assert float(hot.abs().max()) < 0.3


def test_overlap_checkpoints_match_one_long_run_and_stop_early() -> None:
    """Blocks of `every` sweeps from one generator are the same chain as one run of all sweeps
    (the generator draws in the same order), and `stop` ends the run after the first reading."""
    xi = random_patterns(3, 60, generator=torch.Generator().manual_seed(3), dtype=F64)
    model = BinaryHopfield.hebbian(xi)
    s0 = xi[:1].expand(4, -1).clone()
    s, sweeps, hist = overlap_checkpoints(
        model, s0, 0.8, n_sweeps=7, every=3, patterns=xi, generator=torch.Generator().manual_seed(4)
    )
    ref = model.run(
        s0,
        dynamics="glauber",
        temperature=0.8,
        n_sweeps=7,
        generator=torch.Generator().manual_seed(4),
        patterns=xi,
    )
    assert sweeps == 7 and hist.shape == (3, 4, 3)
    assert torch.equal(s, ref.states)
    assert torch.allclose(hist[-1], ref.overlaps[-1])
    _, sweeps, hist = overlap_checkpoints(
        model, s0, 0.8, n_sweeps=7, every=3, patterns=xi, generator=None, stop=lambda m: True
    )
    assert sweeps == 3 and hist.shape == (1, 4, 3)


def test_overlap_checkpoints_stop_at_a_zero_temperature_fixed_point() -> None:
    xi = random_patterns(2, 100, generator=torch.Generator().manual_seed(5), dtype=F64)
    gen = torch.Generator().manual_seed(6)
    model = BinaryHopfield.hebbian(xi)
    _, sweeps, hist = overlap_checkpoints(
        model, xi.clone(), 0.0, n_sweeps=50, every=2, patterns=xi, generator=gen
    )
    assert sweeps == 2 and torch.equal(hist[0].diagonal(), torch.ones(2, dtype=F64))


@pytest.mark.parametrize("kind", ["symmetric", "hebbian", "asymmetric"])
def test_random_couplings_kinds(kind: str) -> None:
    """Zero diagonal always; symmetric exactly for the SK sample and Hebb's rule; Hebbian entries
    are multiples of scale / n; the field has the requested scale (0 gives h = 0)."""
    gen = torch.Generator().manual_seed(7)
    model = random_couplings(kind, 6, generator=gen, scale=2.0, n_patterns=3)  # type: ignore[arg-type]
    assert torch.equal(model.J.diagonal(), torch.zeros(6, dtype=F64))
    assert model.is_symmetric == (kind != "asymmetric")
    assert torch.equal(model.h, torch.zeros(6, dtype=F64))
    if kind == "hebbian":
        k = model.J * 6 / 2.0
        assert torch.allclose(k, k.round()) and float(k.abs().max()) <= 3
    with pytest.raises(ConfigError, match="kind"):
        random_couplings("ferro", 6, generator=gen)  # type: ignore[arg-type]


def test_glauber_state_counts_sample_the_gibbs_law_of_a_symmetric_network() -> None:
    """Theorem 2.1: for symmetric J with zero diagonal the chain's law tends to Gibbs; 20000
    chains of 3 spins after 30 sweeps are within sampling noise (TV ~ 0.01) of it."""
    gen = torch.Generator().manual_seed(8)
    model = random_couplings("symmetric", 3, generator=gen, field_scale=0.3)
    gibbs = torch.softmax(-model.energy(all_states(3)), 0).numpy()
    counts = glauber_state_counts(model, 1.0, 20000, 30, gen)
    assert counts.shape == (8,) and float(counts.sum()) == 20000
    assert total_variation(counts.numpy() / 20000, gibbs) < 0.02


def test_magnetization_samples_of_curie_weiss_chains_match_the_exact_law() -> None:
    """Chains of 20 Curie-Weiss spins at T = 1.5 reproduce the exact E_N|m| to a few standard
    errors; the histogram counts every reading once."""
    model = BinaryHopfield.curie_weiss(20, 1.0, 0.0)
    s = torch.ones(64, 20, dtype=F64)
    per_chain, mean_m, counts = magnetization_samples(
        model, s, 1.5, burn_in=20, n_samples=50, every=1, generator=torch.Generator().manual_seed(9)
    )
    assert per_chain.shape == (64,) and counts.shape == (21,) and int(counts.sum()) == 64 * 50
    exact = finite_size_mean_abs_magnetization(20, 1 / 1.5)
    sem = float(per_chain.std() / 8)
    assert abs(float(per_chain.mean()) - exact) < 4 * sem + 0.01
    assert abs(mean_m) <= 1


def test_finite_size_mean_abs_magnetization_limits() -> None:
    """Equals sum P_N(m)|m|; above T_c at h = 0 it falls like N^{-1/2} (halves when N grows
    4-fold); below T_c it tends to |m*| as N grows."""
    m, p = finite_size_magnetization_law(50, 0.5)
    assert finite_size_mean_abs_magnetization(50, 0.5) == pytest.approx(float((p * abs(m)).sum()))
    hot = [finite_size_mean_abs_magnetization(n, 0.5) for n in (100, 400)]
    assert hot[1] / hot[0] == pytest.approx(0.5, rel=0.02)
    m_star = float(abs(equilibrium_magnetization(1 / 0.7)))
    assert finite_size_mean_abs_magnetization(4000, 1 / 0.7) == pytest.approx(m_star, abs=2e-3)
    assert np.isfinite(finite_size_mean_abs_magnetization(1, 2.0))


def test_keeps_mixture_tells_a_symmetric_mixture_from_a_pure_state() -> None:
    """The symmetric 3-mixture has involved overlaps 1/2 each (m_3 = 1/2 at T = 0); a pure state
    (1, ~0, ~0) breaks the symmetry; a random state (all overlaps ~ N^{-1/2}) is no mixture."""
    n_spins = 400
    xi = random_patterns(4, n_spins, generator=torch.Generator().manual_seed(10), dtype=F64)
    mixture = torch.where(xi[:3].sum(0) >= 0, 1.0, -1.0).to(F64)
    random_state = random_patterns(1, n_spins, generator=torch.Generator().manual_seed(11))[0]
    states = torch.stack([mixture, xi[0], random_state.to(F64)])  # (3, N)
    m = (states @ xi.T / n_spins).numpy()  # (3, P)
    assert keeps_mixture(m, 3, n_spins).tolist() == [True, False, False]
    assert keeps_mixture(m, 1, n_spins).tolist() == [True, True, False]  # n = 1: pure state
