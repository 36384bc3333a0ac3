"""Simulation protocols on binary Hopfield networks (lecture notes, ch. 2) that record what the
notes' statements are about: Mattis overlaps ``m_mu = xi^mu . s / N`` and visited states.

* :func:`hebbian_retrieval`: ``T = 0`` sequential dynamics started at stored patterns of fresh
  Hebbian networks (Def. 2.1.4), the final overlap with the start pattern (the capacity
  ``alpha_c`` of Amit, Gutfreund and Sompolinsky);
* :func:`glauber_retention`: Glauber chains (Lemma 2.1.3) started at stored patterns, the
  overlap with the start pattern averaged over the last sweeps (the ``(alpha, T)`` diagram);
* :func:`overlap_checkpoints`: Glauber chains read every few sweeps, stopping early when a
  condition on the overlaps holds (e.g. a mixture state is lost, Sec. 2.2.2:
  :func:`keeps_mixture`);
* :func:`random_couplings`: the three kinds of couplings of Theorem 2.1's test (an SK sample,
  Hebbian, asymmetric), and :func:`glauber_state_counts`: how often independent Glauber chains
  end in each of the ``2^N`` states;
* :func:`magnetization_samples`: the magnetisation of Glauber chains after a burn-in, per
  chain and as a histogram (Curie-Weiss, Sec. 2.2.1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from hopfield_lab.analysis.glauber import glauber_samples, state_codes
from hopfield_lab.data.corruptions import flip_bits
from hopfield_lab.data.synthetic import random_patterns
from hopfield_lab.errors import ConfigError, check_choice, check_int
from hopfield_lab.models.binary import BinaryHopfield

__all__ = [
    "COUPLING_KINDS",
    "glauber_retention",
    "glauber_state_counts",
    "hebbian_retrieval",
    "keeps_mixture",
    "magnetization_samples",
    "overlap_checkpoints",
    "random_couplings",
]

#: Kinds of :func:`random_couplings`.
COUPLING_KINDS = ("symmetric", "hebbian", "asymmetric")


def _own_overlaps(run_overlaps: Tensor | None) -> Tensor:
    if run_overlaps is None:
        raise RuntimeError("BinaryHopfield.run returned no overlaps although patterns were given")
    return run_overlaps


def hebbian_retrieval(
    P: int,
    N: int,
    n_trials: int,
    n_starts: int,
    *,
    max_sweeps: int,
    generator: torch.Generator,
    start_noise: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Retrieval trials of the Hebbian network at ``T = 0`` from its stored patterns.

    Each network stores ``P`` fresh unbiased patterns by Hebb's rule (``J_ii = 0``); its first
    ``R = min(P, n_starts)`` patterns (each with a fraction ``start_noise`` of spins flipped)
    start sequential dynamics (random order per sweep), run to a fixed point or ``max_sweeps``
    sweeps. As many networks as ``n_trials`` needs are drawn, in turn from ``generator``
    (patterns, flips, dynamics); the final overlap of trial ``r`` is ``xi^r . s_r / N``.

    Args:
        P: patterns per network (>= 1). N: spins (>= 1).
        n_trials: trials kept (>= 1). n_starts: most start patterns per network (>= 1).
        max_sweeps: most sweeps per run (>= 1). generator: draws everything.
        start_noise: fraction of spins flipped in each start pattern. Default 0.
        dtype: dtype of patterns and couplings. Default float32.

    Returns:
        ``(overlaps, settled)``: the ``(n_trials,)`` float64 final overlaps, network by network
        (``R`` consecutive trials share one network), and the ``(networks R,)`` sweep at which
        each run settled (-1 if it did not; every run of the last network included).

    Raises:
        ConfigError: for counts below 1 (and as :meth:`BinaryHopfield.run`).
    """
    for name, value in (("P", P), ("N", N), ("n_trials", n_trials), ("n_starts", n_starts)):
        check_int(name, value, 1)
    R = min(P, n_starts)
    overlaps, settled = [], []
    for _ in range(math.ceil(n_trials / R)):
        xi = random_patterns(P, N, generator=generator, dtype=dtype)
        start = xi[:R]
        if start_noise > 0:
            start = flip_bits(start, start_noise, generator=generator)
        res = BinaryHopfield.hebbian(xi).run(start, n_sweeps=max_sweeps, generator=generator)
        overlaps.append(((res.states * xi[:R]).sum(1) / N).double())  # (R,) with the start
        settled.append(res.settled_sweep)
    return torch.cat(overlaps)[:n_trials], torch.cat(settled)


def glauber_retention(
    xi: Tensor,
    temperature: float,
    replicas: int,
    *,
    n_sweeps: int,
    measure: int,
    generator: torch.Generator,
) -> Tensor:
    """Overlap with the start pattern of Glauber chains on the Hebbian network of ``xi``.

    Replica ``k`` starts at pattern ``k mod P`` and runs ``n_sweeps`` sweeps at
    ``temperature`` (Lemma 2.1.3; ``T = 0`` is sequential dynamics); its overlap with that
    pattern, recorded after every sweep, is averaged over the last ``measure`` records.

    Args:
        xi: ``(P, N)`` ±1 stored patterns. temperature: ``T >= 0``. replicas: ``R >= 1``.
        n_sweeps: sweeps (>= 1). measure: records averaged (>= 1; at most all of them).
        generator: the chains' random generator.

    Returns:
        ``(R,)`` time-averaged overlaps.

    Raises:
        ConfigError: for counts below 1 (and as :meth:`BinaryHopfield.run`).
    """
    check_int("replicas", replicas, 1)
    check_int("measure", measure, 1)
    which = torch.arange(replicas) % xi.shape[0]  # (R,) start pattern of each replica
    res = BinaryHopfield.hebbian(xi).run(
        xi[which],
        dynamics="glauber",
        temperature=temperature,
        n_sweeps=n_sweeps,
        generator=generator,
        record_every=1,
        patterns=xi,
    )
    ov = _own_overlaps(res.overlaps)[:, torch.arange(replicas), which]  # (T_rec, R) own pattern
    return ov[-min(measure, ov.shape[0]) :].mean(0)


def overlap_checkpoints(
    model: BinaryHopfield,
    s: Tensor,
    temperature: float,
    *,
    n_sweeps: int,
    every: int,
    patterns: Tensor,
    generator: torch.Generator | None,
    stop: Callable[[Tensor], bool] | None = None,
) -> tuple[Tensor, int, Tensor]:
    """Glauber dynamics on ``R`` replicas, reading the Mattis overlaps every ``every`` sweeps.

    Runs blocks of ``every`` sweeps (the last block shorter) until ``n_sweeps`` sweeps are
    done, or earlier when ``T = 0`` and every replica is at a fixed point (nothing changes any
    more), or when ``stop(overlaps)`` is true for the ``(R, P)`` overlaps just read.

    Args:
        model: the network. s: ``(R, N)`` initial states. temperature: ``T >= 0``.
        n_sweeps: most sweeps (>= 1). every: sweeps between readings (>= 1).
        patterns: ``(P, N)`` ±1 patterns of the overlaps. generator: the chains' generator.
        stop: an early-stopping condition on the ``(R, P)`` overlaps (on the CPU); default none.

    Returns:
        ``(states (R, N), sweeps run, overlaps (readings, R, P) on the CPU)``.

    Raises:
        ConfigError: for counts below 1 (and as :meth:`BinaryHopfield.run`).
    """
    check_int("n_sweeps", n_sweeps, 1)
    check_int("every", every, 1)
    history = []
    sweeps = 0
    while sweeps < n_sweeps:
        step = min(every, n_sweeps - sweeps)
        out = model.run(
            s,
            dynamics="glauber",
            temperature=temperature,
            n_sweeps=step,
            generator=generator,
            patterns=patterns,
        )
        s = out.states
        sweeps += step
        history.append(_own_overlaps(out.overlaps)[-1].cpu())  # (R, P)
        if temperature == 0 and bool(out.converged.all()):
            break
        if stop is not None and stop(history[-1]):
            break
    return s, sweeps, torch.stack(history)


def random_couplings(
    kind: Literal["symmetric", "hebbian", "asymmetric"],
    n: int,
    *,
    generator: torch.Generator,
    scale: float = 1.0,
    field_scale: float = 0.0,
    n_patterns: int = 2,
) -> BinaryHopfield:
    """A random float64 network of ``n`` spins with zero diagonal and field ``h ~ N(0,
    field_scale^2)``.

    With ``A_ij ~ N(0, scale^2 / n)``: ``"symmetric"`` is ``J = (A + A^T) / sqrt(2)`` (a
    Sherrington-Kirkpatrick sample), ``"asymmetric"`` is ``J = A`` (``J_ij``, ``J_ji``
    independent) and ``"hebbian"`` is ``scale xi^T xi / n`` of ``n_patterns`` random
    patterns. ``A``, ``h`` and then the patterns are drawn from ``generator`` in that order,
    whatever the kind.

    Args:
        kind: one of :data:`COUPLING_KINDS`. n: spins (>= 1).
        generator: draws everything. scale: coupling scale (> 0). Default 1.
        field_scale: standard deviation of the field entries (>= 0). Default 0.
        n_patterns: patterns of the Hebbian kind (>= 1). Default 2.

    Returns:
        The :class:`BinaryHopfield`.

    Raises:
        ConfigError: for an unknown kind or bad counts and scales.
    """
    check_choice("kind", kind, COUPLING_KINDS)
    check_int("n", n, 1)
    check_int("n_patterns", n_patterns, 1)
    if not (scale > 0 and field_scale >= 0):
        raise ConfigError(f"need scale > 0 and field_scale >= 0; got {scale!r}, {field_scale!r}")
    A = torch.randn(n, n, generator=generator, dtype=torch.float64) * scale / math.sqrt(n)
    h = torch.randn(n, generator=generator, dtype=torch.float64) * field_scale
    if kind == "symmetric":
        J = (A + A.T) / math.sqrt(2.0)
    elif kind == "hebbian":
        xi = random_patterns(n_patterns, n, generator=generator, dtype=torch.float64)
        J = scale * xi.T @ xi / n
    else:
        J = A
    J.fill_diagonal_(0.0)
    return BinaryHopfield(J, h)


def glauber_state_counts(
    model: BinaryHopfield,
    temperature: float,
    n_chains: int,
    n_sweeps: int,
    generator: torch.Generator,
) -> Tensor:
    """How many of ``n_chains`` independent Glauber chains end in each state.

    The chains start from independent uniform states and run ``n_sweeps`` sweeps of ``N``
    single-spin updates at uniformly random sites (the chain ``W`` of Lemma 2.1.3), so their
    final states are independent samples of ``p_0 W^(N n_sweeps)``.

    Args:
        model: a network of ``N <= 20`` spins. temperature: ``T >= 0``.
        n_chains: chains (>= 1). n_sweeps: sweeps (>= 0). generator: draws starts and dynamics.

    Returns:
        ``(2^N,)`` float64 counts, indexed as :func:`~hopfield_lab.analysis.state_codes`.

    Raises:
        ConfigError: for bad counts (and as :meth:`BinaryHopfield.run`).
    """
    check_int("n_chains", n_chains, 1)
    s0 = random_patterns(n_chains, model.n, generator=generator, dtype=torch.float64)
    res = model.run(
        s0,
        dynamics="glauber",
        temperature=temperature,
        n_sweeps=n_sweeps,
        generator=generator,
        order="uniform",
    )
    return torch.bincount(state_codes(res.states), minlength=2**model.n).double()


def magnetization_samples(
    model: BinaryHopfield,
    s: Tensor,
    temperature: float,
    *,
    burn_in: int,
    n_samples: int,
    every: int,
    generator: torch.Generator | None,
) -> tuple[Tensor, float, Tensor]:
    """The magnetisation ``m = (1/N) sum_i s_i`` of Glauber chains, sampled as
    :func:`~hopfield_lab.analysis.glauber_samples` does (``burn_in`` sweeps, then ``n_samples``
    readings ``every`` sweeps apart), kept exactly as the integer ``N m``.

    Args:
        model: the network (``N`` spins). s: ``(R, N)`` initial states. temperature: ``T > 0``.
        burn_in: sweeps before the first reading (>= 0). n_samples: readings (>= 1).
        every: sweeps between readings (>= 1). generator: the chains' random generator.

    Returns:
        ``(per_chain, mean_m, counts)``: the ``(R,)`` float64 time average of ``|m|`` per chain,
        the mean of ``m`` over all readings, and the ``(N + 1,)`` histogram of the readings by
        the number ``k`` of spins down (``m = (N - 2k) / N``), on the CPU.

    Raises:
        ConfigError: as :func:`~hopfield_lab.analysis.glauber_samples`.
    """
    n = model.n
    _, M = glauber_samples(
        model,
        s,
        temperature,
        burn_in=burn_in,
        n_samples=n_samples,
        every=every,
        generator=generator,
        observe=lambda s: s.sum(1).round().long().cpu(),  # (R,) magnetisation times N
    )  # (n_samples, R)
    per_chain = (M.abs().double() / n).mean(0)  # (R,)
    counts = torch.bincount((n - M.flatten()) // 2, minlength=n + 1)  # index k = spins down
    return per_chain, float(M.double().mean() / n), counts


def keeps_mixture(overlaps: np.ndarray, n: int, n_spins: int) -> np.ndarray:
    """Which chains still hold the symmetric ``n``-mixture of patterns ``1..n`` (Sec. 2.2.2).

    A chain keeps it when the mean ``mbar`` of its ``n`` involved overlaps is macroscopic,
    ``mbar >= 3 / sqrt(N)`` (three standard deviations of a random state's overlap), and the
    structure is symmetric, every involved overlap ``>= mbar / 2``; a mixture that decays
    into a pure state or a smaller mixture drops some involved overlap to ``O(N^{-1/2})``.

    Args:
        overlaps: ``(R, P)`` Mattis overlaps, the involved patterns first.
        n: patterns in the mixture (``1 <= n <= P``). n_spins: ``N``.

    Returns:
        ``(R,)`` bool.
    """
    inv = overlaps[:, :n]  # (R, n)
    mean = inv.mean(1)
    return (mean >= 3.0 / math.sqrt(n_spins)) & (inv.min(1) >= 0.5 * mean)
