"""Exact Markov-chain maths of binary Hopfield dynamics (lecture notes, ch. 2.1).

For ``N <= 20`` spins every state can be enumerated, so the chain of single-spin Glauber
dynamics is a ``2^N x 2^N`` matrix and its stationary law a linear solve:

* :func:`all_states` / :func:`state_codes`: the ``2^N`` states ``+-1`` in a fixed order (row
  ``k`` holds the bits of ``k``, most significant first) and back;
* :func:`transition_matrix`: ``W`` of Lemma 2.1.3 with uniformly random site choice: from
  ``s`` the chosen spin ``i`` flips with probability ``(1 - s_i tanh(beta phi_i)) / 2``
  (``phi = J s + h``), so ``W(s, F_i s) = p_i(s) / N`` and ``W(s, s) = 1 - sum_i p_i(s) / N``;
* :func:`stationary_law`: the unique ``pi`` with ``pi W = pi`` (the chain is irreducible at
  ``T > 0``);
* :func:`detailed_balance_residual`: ``max |pi(s) W(s, s') - pi(s') W(s', s)|`` relative to the
  largest off-diagonal flow; 0 (to rounding) exactly when the chain is reversible, which
  Theorem 2.1 ties to ``J`` symmetric with ``J_ii = 0``;
* :func:`total_variation` and :func:`g_test` (log-likelihood ratio against a law, bins with
  expected count < 5 pooled) to compare samples with a law; :func:`sampling_noise_floor`, the
  distance a perfect sample of a given size still has from its law;
* :func:`exact_burn_in`: the law ``p_t = p_0 W^(N t)`` after ``t`` sweeps, propagated exactly
  until it is within a given distance of ``pi``.

And three quantities of the deterministic dynamics:

* :func:`binary_energy_scale`: ``1/2 sum_ij |J_ij| + sum_i |h_i|``, the magnitude of the terms
  that cancel in ``L(s) = -1/2 s.J s - h.s`` for any ``s in {-1, 1}^N``: the ``scale`` of the
  energy-rise rule (:mod:`hopfield_lab.analysis.energy_rise`);
* :func:`two_step_energy`: ``E2(t) = -s(t).J s(t-1) - h.(s(t) + s(t-1))``, the Lyapunov
  function of parallel dynamics for symmetric ``J`` (Goles, Fogelman-Soulie and Pellegrin
  1985): it never rises and is constant on a 2-cycle;
* :func:`single_spin_energies`: the energy after every single-spin update of sequential
  dynamics, recomputed from scratch (the finest check of Lemma 2.1.1).

For chains too large to enumerate, :func:`glauber_samples` runs Glauber dynamics and records
an observable of the states at regular intervals after a burn-in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_int, check_positive

__all__ = [
    "all_states",
    "binary_energy_scale",
    "detailed_balance_residual",
    "exact_burn_in",
    "g_test",
    "glauber_samples",
    "sampling_noise_floor",
    "single_spin_energies",
    "state_codes",
    "stationary_law",
    "total_variation",
    "transition_matrix",
    "two_step_energy",
]

#: Most spins for which the ``2^N``-state chain is built.
MAX_ENUMERATED_SPINS = 12


def all_states(n: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """Every ``+-1`` state of ``n`` spins, ``(2^n, n)``; row ``k`` has the bits of ``k``, most
    significant first (bit 1 is spin +1).

    Args:
        n: number of spins, ``1 <= n <= 20``.
        dtype: floating dtype. Default float64.

    Returns:
        ``(2^n, n)`` states.
    """
    check_int("n", n, 1, 20)
    codes = torch.arange(2**n)
    bits = (codes[:, None] >> torch.arange(n - 1, -1, -1)) & 1  # (2^n, n)
    return (2 * bits - 1).to(dtype)


def state_codes(states: Tensor) -> Tensor:
    """Index of each ``+-1`` state (rows of ``states``, ``(B, n)``) in :func:`all_states`,
    ``(B,)`` long."""
    if not isinstance(states, Tensor) or states.dim() != 2:
        raise ConfigError("states must be a (B, n) tensor")
    n = states.shape[1]
    return ((states > 0).long() << torch.arange(n - 1, -1, -1, device=states.device)).sum(1)


def transition_matrix(model: Any, temperature: float) -> Tensor:
    """``W`` of Lemma 2.1.3 (uniform site choice), ``(2^N, 2^N)``, rows summing to 1.

    Args:
        model: a ``BinaryHopfield`` (``n`` spins, ``flip_probability(S, T)`` ``(M, N)``), with
            ``n <= MAX_ENUMERATED_SPINS``.
        temperature: ``T > 0``.

    Returns:
        ``W`` in float64, ``W[a, b]`` the probability to go from state ``a`` to ``b`` in one
        step (states indexed as in :func:`all_states`).
    """
    check_positive("temperature", temperature)
    n = int(model.n)
    check_int("model.n", n, 1, MAX_ENUMERATED_SPINS)
    S = all_states(n)
    p = model.flip_probability(S, temperature) / n  # (M, N) prob. to flip site i from state a
    M = S.shape[0]
    W = torch.zeros(M, M, dtype=torch.float64)
    a = torch.arange(M)
    for i in range(n):
        b = a ^ (1 << (n - 1 - i))  # the state with spin i flipped
        W[a, b] = p[:, i]
    W[a, a] = 1.0 - p.sum(1)
    return W


def stationary_law(W: Tensor) -> Tensor:
    """The unique law ``pi`` with ``pi W = pi``: solve ``(W^T - I) pi = 0`` with its last row
    replaced by ``sum pi = 1``.

    Args:
        W: ``(M, M)`` row-stochastic matrix of an irreducible chain.

    Returns:
        ``(M,)`` ``pi``.
    """
    M = W.shape[0]
    A = W.T - torch.eye(M, dtype=W.dtype)
    A[-1] = 1.0
    b = torch.zeros(M, dtype=W.dtype)
    b[-1] = 1.0
    return torch.linalg.solve(A, b)


def detailed_balance_residual(pi: Tensor, W: Tensor) -> float:
    """``max |pi(s) W(s, s') - pi(s') W(s', s)| / max_{s != s'} pi(s) W(s, s')``.

    Args:
        pi: ``(M,)`` law. W: ``(M, M)`` transition matrix.

    Returns:
        0 (to rounding) for a reversible chain; of order 1 when the flows are unbalanced.
    """
    flux = pi[:, None] * W  # (M, M) probability flow s -> s'
    off = flux.clone().fill_diagonal_(0)
    return float((flux - flux.T).abs().max() / off.max())


def total_variation(p: Tensor | np.ndarray, q: Tensor | np.ndarray) -> float:
    """``TV(p, q) = 1/2 sum |p - q|`` of two laws on the same states."""
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def g_test(counts: np.ndarray, probs: np.ndarray) -> tuple[float, float, int]:
    """G-test (log-likelihood ratio) of observed counts against a law.

    Bins whose expected count is below 5 are pooled into one bin, so that the chi-square
    approximation of the statistic holds.

    Args:
        counts: ``(M,)`` observed counts.
        probs: ``(M,)`` the law under the null.

    Returns:
        ``(G statistic, p-value, degrees of freedom)``.
    """
    n = counts.sum()
    expected = probs * n
    small = expected < 5
    obs = counts[~small]
    exp = expected[~small]
    if small.any():
        obs = np.append(obs, counts[small].sum())
        exp = np.append(exp, expected[small].sum())
    exp = exp * (obs.sum() / exp.sum())
    g, p = stats.power_divergence(obs, exp, lambda_="log-likelihood")
    return float(g), float(p), int(len(obs) - 1)


def binary_energy_scale(J: Tensor, h: Tensor | None = None) -> float:
    """``1/2 sum_ij |J_ij| + sum_i |h_i|``: the terms of ``L(s) = -1/2 s.J s - h.s`` that cancel.

    Args:
        J: ``(N, N)`` couplings. h: ``(N,)`` field or None.

    Returns:
        The scale, a bound on ``|L(s)|`` for every ``s in {-1, 1}^N``.
    """
    scale = 0.5 * float(J.abs().sum())
    if h is not None:
        scale += float(h.abs().sum())
    return scale


def two_step_energy(J: Tensor, h: Tensor, traj: Tensor) -> Tensor:
    """``E2(t) = -s(t).J s(t-1) - h.(s(t) + s(t-1))`` along parallel-dynamics trajectories.

    Args:
        J: ``(N, N)`` couplings. h: ``(N,)`` field.
        traj: ``(T, R, N)`` states ``s(0), ..., s(T-1)`` of ``R`` replicas, ``T >= 2``.

    Returns:
        ``(T - 1, R)``: ``E2`` at ``t = 1, ..., T-1``.
    """
    if traj.dim() != 3 or traj.shape[0] < 2:
        raise ConfigError(f"traj must be (T >= 2, R, N); got shape {tuple(traj.shape)}")
    cur, prev = traj[1:], traj[:-1]  # (T-1, R, N)
    return -((cur @ J) * prev).sum(-1) - (cur + prev) @ h


def sampling_noise_floor(
    pi: np.ndarray, n_samples: int, draws: int, rng: np.random.Generator
) -> float:
    """Mean ``TV(empirical, pi)`` of ``draws`` multinomial samples of size ``n_samples`` from
    ``pi``: the distance sampling noise alone leaves.

    Args:
        pi: ``(M,)`` law. n_samples: sample size. draws: samples averaged. rng: NumPy RNG.

    Returns:
        The mean total-variation distance.
    """
    tvs = [total_variation(rng.multinomial(n_samples, pi) / n_samples, pi) for _ in range(draws)]
    return float(np.mean(tvs))


def exact_burn_in(
    W: Tensor, n: int, pi: Tensor, target: float, min_sweeps: int, max_sweeps: int
) -> tuple[int, Tensor]:
    """Sweeps until the exact law of a chain started uniformly is within ``target`` of ``pi``.

    ``p_0`` is uniform on the ``2^n`` states and ``p_t = p_{t-1} W^n`` (one sweep is ``n``
    steps); the first ``t >= min_sweeps`` with ``TV(p_t, pi) < target`` is returned, or
    ``max_sweeps``.

    Args:
        W: ``(2^n, 2^n)`` one-step transition matrix. n: spins. pi: ``(2^n,)`` its
            stationary law. target: the distance to reach. min_sweeps, max_sweeps: bounds.

    Returns:
        ``(t, p_t)``.
    """
    sweep = torch.linalg.matrix_power(W, n)
    p_t = torch.full((2**n,), 2.0**-n, dtype=W.dtype)
    t = 0
    while t < max_sweeps:
        p_t = p_t @ sweep
        t += 1
        if t >= min_sweeps and total_variation(p_t, pi) < target:
            break
    return t, p_t


def single_spin_energies(model: Any, S: Tensor, sweeps: int, generator: torch.Generator) -> Tensor:
    """The energy after every single-spin update of sequential dynamics (random order per
    sweep and replica), recomputed from scratch each time.

    Args:
        model: a :class:`~hopfield_lab.models.binary.BinaryHopfield`.
        S: ``(R, N)`` initial states. sweeps: sweeps of ``N`` updates.
        generator: draws the site orders.

    Returns:
        ``(sweeps N + 1, R)`` energies, the initial ones first.
    """
    N = S.shape[1]
    energies = [model.energy(S)]
    for _ in range(sweeps):
        order = torch.rand(S.shape, generator=generator).argsort(1)  # (R, N) order per replica
        for k in range(N):
            S = model.update_sites(S, order[:, k])
            energies.append(model.energy(S))
    return torch.stack(energies)


def glauber_samples(
    model: Any,
    s: Tensor,
    temperature: float,
    *,
    burn_in: int,
    n_samples: int,
    every: int,
    generator: torch.Generator | None,
    observe: Callable[[Tensor], Tensor],
) -> tuple[Tensor, Tensor]:
    """Glauber dynamics on ``R`` replicas: ``burn_in`` sweeps, then ``observe(states)`` every
    ``every`` sweeps, ``n_samples`` times.

    Args:
        model: a :class:`~hopfield_lab.models.binary.BinaryHopfield`.
        s: ``(R, N)`` initial states. temperature: ``T > 0``.
        burn_in: sweeps before the first sample (>= 0). n_samples: samples (>= 1).
        every: sweeps between samples (>= 1). generator: the chains' random generator.
        observe: ``(R, N) -> (R, ...)``, e.g. the magnetisation ``s.sum(1)``.

    Returns:
        ``(final states (R, N), samples (n_samples, R, ...))``.

    Raises:
        ConfigError: for bad counts (and as :meth:`BinaryHopfield.run`).
    """
    check_int("burn_in", burn_in, 0)
    check_int("n_samples", n_samples, 1)
    check_int("every", every, 1)
    kw = {"dynamics": "glauber", "temperature": temperature, "generator": generator}
    if burn_in:
        s = model.run(s, n_sweeps=burn_in, **kw).states
    samples = []
    for _ in range(n_samples):
        s = model.run(s, n_sweeps=every, **kw).states
        samples.append(observe(s))
    return s, torch.stack(samples)
