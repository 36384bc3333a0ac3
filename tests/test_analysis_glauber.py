"""The energy-rise rule and the exact Glauber-chain maths (analysis.energy_rise, .glauber)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hopfield_lab.analysis import (
    all_states,
    binary_energy_scale,
    detailed_balance_residual,
    energy_increase_rate,
    energy_rises,
    rounding_slack,
    state_codes,
    stationary_law,
    total_variation,
    transition_matrix,
    two_step_energy,
)
from hopfield_lab.errors import ConfigError
from hopfield_lab.models.binary import BinaryHopfield

F64 = torch.float64


def _hebbian(gen: torch.Generator, P: int, N: int) -> BinaryHopfield:
    xi = torch.randint(0, 2, (P, N), generator=gen).to(F64) * 2 - 1
    return BinaryHopfield.hebbian(xi)


def test_binary_energy_scale_bounds_every_energy(gen: torch.Generator) -> None:
    A = torch.randn(6, 6, generator=gen, dtype=F64)
    A.fill_diagonal_(0)
    h = torch.randn(6, generator=gen, dtype=F64)
    model = BinaryHopfield(A, h)
    scale = binary_energy_scale(model.J, model.h)
    E = model.energy(all_states(6))
    assert float(E.abs().max()) <= scale
    # the bound is attained when every term has the same sign: J >= 0, h >= 0, s = +1
    pos = BinaryHopfield(A.abs(), h.abs())
    assert float(pos.energy(torch.ones(1, 6, dtype=F64))[0]) == pytest.approx(
        -binary_energy_scale(pos.J, pos.h)
    )


def test_rounding_is_not_a_rise_but_a_real_rise_is(gen: torch.Generator) -> None:
    """Sequential dynamics: exact descent (Lemma 2.1.1). E computed two ways differs only by
    rounding, which the rule must ignore; a rise of one coupling unit must be caught."""
    model = _hebbian(gen, 20, 400)
    S = torch.randint(0, 2, (32, 400), generator=gen).to(F64) * 2 - 1
    run = model.run(S, n_sweeps=30, generator=gen, record_every=1)
    E = run.energies  # (T+1, B)
    scale = binary_energy_scale(model.J, model.h)
    assert not energy_rises(E, scale).any()
    # the same states' energies summed in another order (spins permuted): rounding only
    perm = torch.randperm(400, generator=gen)
    permuted = BinaryHopfield(model.J[perm][:, perm], model.h[perm])
    traj = run.trajectory  # (T+1, B, N)
    assert traj is not None
    other = permuted.energy(traj[:, :, perm].reshape(-1, 400)).reshape(E.shape)
    assert (other - E).abs().max() > 0  # the rounding differs ...
    assert not energy_rises(torch.stack([E[0], other[0]]), scale).any()  # ... and is no rise
    noisy = E + (torch.rand(E.shape, generator=gen, dtype=F64) - 0.5) * 8 * 2.2e-16 * scale
    assert not energy_rises(noisy, scale).any()
    bumped = E.clone()
    bumped[-1] = E[-2] + 2.0 / 400  # one flip's worth (energies move by multiples of 1/N)
    assert energy_rises(bumped, scale)[-1].all()


def test_default_slack_and_nan_counts_as_rise() -> None:
    E = torch.tensor([[1.0, -3.0], [0.5, -3.0 + 1e-9], [float("nan"), -4.0]], dtype=F64)
    slack = rounding_slack(E)  # sqrt(eps) * max |E| per sample
    assert torch.allclose(
        slack, torch.tensor([1.0, 4.0], dtype=F64) * math.sqrt(2.2204e-16), rtol=1e-3
    )
    mask = energy_rises(E)
    assert mask.tolist() == [[False, False], [True, False]]  # 1e-9 < 4 sqrt(eps) = 6e-8
    assert energy_rises(E, scale=4.0)[0, 1]  # with a scale, 1e-9 >> 64 eps * 4
    rate = energy_increase_rate(E, scale=torch.tensor([1.0, 4.0], dtype=F64))
    assert rate["rate"] == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="scale must"):
        energy_rises(E, scale=torch.ones(3, dtype=F64))
    with pytest.raises(ConfigError, match="at least 2 steps"):
        energy_rises(E[:1])


def test_states_round_trip_and_chain_is_stochastic() -> None:
    S = all_states(5)
    assert S.shape == (32, 5) and torch.equal(state_codes(S), torch.arange(32))
    assert S[0].tolist() == [-1.0] * 5 and S[-1].tolist() == [1.0] * 5


@pytest.mark.parametrize("symmetric", [True, False])
def test_theorem_2_1_gibbs_iff_symmetric(gen: torch.Generator, symmetric: bool) -> None:
    A = torch.randn(5, 5, generator=gen, dtype=F64)
    J = (A + A.T) / 2 if symmetric else A
    J = J.clone().fill_diagonal_(0)
    model = BinaryHopfield(J, torch.randn(5, generator=gen, dtype=F64) * 0.3)
    T = 0.8
    W = transition_matrix(model, T)
    assert torch.allclose(W.sum(1), torch.ones(32, dtype=F64))
    pi = stationary_law(W)
    assert torch.allclose(pi @ W, pi, atol=1e-14)
    gibbs = torch.softmax(-model.energy(all_states(5)) / T, 0)
    residual = detailed_balance_residual(pi, W)
    tv = total_variation(pi.numpy(), gibbs.numpy())
    if symmetric:
        assert residual < 1e-12 and tv < 1e-12
    else:
        assert residual > 1e-2 and tv > 1e-3


def test_two_step_energy_never_rises_under_parallel_dynamics(gen: torch.Generator) -> None:
    """Goles et al.: E2 is a Lyapunov function of s <- sgn(J s + h) for symmetric J."""
    model = _hebbian(gen, 30, 100)
    S = torch.randint(0, 2, (64, 100), generator=gen).to(F64) * 2 - 1
    par = model.run(S, dynamics="parallel", n_sweeps=40, record_every=1)
    e2 = two_step_energy(model.J, model.h, par.trajectory)
    assert not energy_rises(e2, 2 * binary_energy_scale(model.J, model.h)).any()
    # closed form against the definition, one replica
    t, r = 3, 5
    s1, s0 = par.trajectory[t, r], par.trajectory[t - 1, r]
    expected = -(s1 @ model.J @ s0) - model.h @ (s1 + s0)
    assert float(e2[t - 1, r]) == pytest.approx(float(expected), abs=1e-12)
    with pytest.raises(ConfigError, match="traj must be"):
        two_step_energy(model.J, model.h, par.trajectory[:1])
    assert np.isfinite(e2.numpy()).all()


def test_exact_burn_in_reaches_its_target_and_the_noise_floor_matches_theory(
    gen: torch.Generator,
) -> None:
    """p_t = p_0 W^(N t) approaches pi; a multinomial sample of n from pi sits at a TV of about
    sum_s sqrt(pi_s (1 - pi_s) / (2 pi n)) (the mean absolute deviation of each count)."""
    from hopfield_lab.analysis import exact_burn_in, sampling_noise_floor

    model = _hebbian(gen, 2, 5)
    W = transition_matrix(model, 0.8)
    pi = stationary_law(W)
    t, p_t = exact_burn_in(W, 5, pi, 1e-6, 3, 10_000)
    assert t >= 3 and total_variation(p_t, pi) < 1e-6
    _, p_prev = exact_burn_in(W, 5, pi, 0.0, t - 1, t - 1)  # one sweep fewer: not there yet
    assert total_variation(p_prev, pi) >= 1e-6
    assert exact_burn_in(W, 5, pi, 1e-6, 1, 2)[0] == 2  # capped at max_sweeps
    p = pi.numpy()
    n = 4000
    floor = sampling_noise_floor(p, n, 200, np.random.default_rng(0))
    expected = float(np.sum(np.sqrt(p * (1 - p) / (2 * math.pi * n))))
    assert floor == pytest.approx(expected, rel=0.1)


def test_single_spin_energies_descend_and_glauber_samples_record(gen: torch.Generator) -> None:
    from hopfield_lab.analysis import glauber_samples, single_spin_energies

    model = _hebbian(gen, 3, 30)
    S0 = torch.randint(0, 2, (4, 30), generator=gen).to(F64) * 2 - 1
    E = single_spin_energies(model, S0, 2, gen)
    assert E.shape == (2 * 30 + 1, 4)
    assert torch.equal(E[0], model.energy(S0))
    assert not bool(energy_rises(E, binary_energy_scale(model.J, model.h)).any())  # Lemma 2.1.1
    final, m = glauber_samples(
        model, S0, 0.5, burn_in=3, n_samples=5, every=2, generator=gen, observe=lambda s: s.sum(1)
    )
    assert m.shape == (5, 4) and final.shape == (4, 30)
    assert torch.equal(m[-1], final.sum(1))
    with pytest.raises(ConfigError, match="n_samples"):
        glauber_samples(model, S0, 0.5, burn_in=0, n_samples=0, every=1, generator=gen, observe=abs)
