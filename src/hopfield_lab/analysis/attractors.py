"""Which attractor a noisy chain is in, and how long it stays (notes Sec. 4.4, VHNN).

A stochastic chain around the modern Hopfield update (VHNN) wanders between basins. To name
the basin of a visited state ``xi_t``, the state is *quenched*: the noiseless update is
iterated to its fixed point. In logit coordinates (notes Sec. 4.1), ``l = beta X xi`` and the
update is ``l <- A softmax(l)`` with ``A = beta X X^T`` ``(P, P)``, exact when ``xi`` lies in
the span of the patterns (as every VHNN state after one step does). Fixed points whose
probability vectors are closer than ``tol`` in L1 are one attractor
(:func:`cluster_fixed_points`). The label sequence of a chain then gives

* maximal runs (:func:`label_runs`): a stay in one attractor; the run cut by the end of the
  chain is *censored* (its true length is unknown);
* dwell times (lengths of the completed runs), transition counts between consecutive distinct
  attractors, and the occupation of each attractor (:func:`dwell_statistics`).

:func:`chain_attractors` runs chains from given starts, quenches every visited state after a
burn-in and labels it with its attractor.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_int

__all__ = [
    "ChainAttractors",
    "chain_attractors",
    "cluster_fixed_points",
    "dwell_statistics",
    "label_runs",
    "quench",
]


def quench(logits: Tensor, A: Tensor, steps: int) -> tuple[Tensor, Tensor]:
    """Iterate ``l <- A softmax(l)`` up to ``steps`` times; return probabilities and residuals.

    Stops early (checked every 20 steps) once no logit moves by more than ``1e-10``: every
    state is then on its fixed point to rounding.

    Args:
        logits: ``(S, P)`` logits ``beta X xi``. A: ``(P, P)`` symmetric, ``beta X X^T``.
        steps: iteration budget (>= 1).

    Returns:
        ``softmax(l_T)`` ``(S, P)`` and the max-norm of the last logit change ``(S,)``.
    """
    check_int("steps", steps, 1)
    l_prev = logits
    for t in range(steps):
        l_prev, logits = logits, logits.softmax(dim=-1) @ A  # (S, P); A symmetric
        if t % 20 == 19 and float((logits - l_prev).abs().max()) < 1e-10:
            break
    return logits.softmax(dim=-1), (logits - l_prev).abs().amax(dim=-1)


def cluster_fixed_points(probs: Tensor, tol: float, centres: list[Tensor]) -> Tensor:
    """Greedy L1 clustering of fixed points against a growing list of centres.

    Each row joins the first centre within L1 distance ``tol``; a row near none becomes a new
    centre (appended to ``centres``, in order of first appearance), and the rows within
    ``tol`` of it join it.

    Args:
        probs: ``(S, P)`` fixed-point probabilities.
        tol: L1 radius (> 0).
        centres: known centres ``(P,)``; extended in place.

    Returns:
        ``(S,)`` long labels, indices into ``centres``.
    """
    if not tol > 0:
        raise ConfigError(f"tol must be > 0; got {tol!r}")
    labels = torch.full((len(probs),), -1, dtype=torch.long)
    for k, c in enumerate(centres):
        hit = (labels < 0) & ((probs - c).abs().sum(-1) < tol)
        labels[hit] = k
    while bool((labels < 0).any()):
        i = int(torch.nonzero(labels < 0)[0])
        centres.append(probs[i].clone())
        hit = (labels < 0) & ((probs - probs[i]).abs().sum(-1) < tol)
        labels[hit] = len(centres) - 1
    return labels


def label_runs(seq: np.ndarray) -> list[tuple[int, int, bool]]:
    """Maximal runs of a label sequence: ``(label, length, complete)``; the last is incomplete."""
    change = np.flatnonzero(np.diff(seq)) + 1
    bounds = np.concatenate([[0], change, [len(seq)]])
    return [(int(seq[s]), int(e - s), e < len(seq)) for s, e in itertools.pairwise(bounds)]


def dwell_statistics(seqs: Sequence[np.ndarray], n_attractors: int) -> dict[str, Any]:
    """Occupation, transitions and dwell times of label sequences over ``K`` attractors.

    Args:
        seqs: label sequences (one per chain), values in ``0..K-1``.
        n_attractors: ``K``.

    Returns:
        ``transitions`` ``(K, K)`` int counts from (row) to (column); ``occupation`` ``(K,)``
        fraction of steps; ``dwell_list`` completed run lengths; ``n_visited`` and
        ``n_visited_1pct`` (attractors occupied at all, and more than 1 % of the steps);
        ``jumps`` and ``jump_rate`` (per 1,000 steps); ``mean_dwell``, ``median_dwell`` (NaN
        without a completed run), ``max_dwell`` (0 then) and ``censored`` (runs cut by the end
        of their chain, one per chain).
    """
    K = n_attractors
    trans = np.zeros((K, K), dtype=np.int64)
    occupation = np.zeros(K)
    dwell: list[int] = []
    censored = total = 0
    for seq in seqs:
        total += len(seq)
        occupation += np.bincount(seq, minlength=K)
        runs = label_runs(seq)
        for (a, _, _), (b, _, _) in itertools.pairwise(runs):
            trans[a, b] += 1
        dwell += [length for _, length, complete in runs if complete]
        censored += sum(not complete for _, _, complete in runs)
    occupation /= max(total, 1)
    jumps = int(trans.sum())
    return {
        "transitions": trans,
        "occupation": occupation,
        "dwell_list": dwell,
        "n_visited": int((occupation > 0).sum()),
        "n_visited_1pct": int((occupation > 0.01).sum()),
        "jumps": jumps,
        "jump_rate": 1000.0 * jumps / max(total, 1),
        "mean_dwell": float(np.mean(dwell)) if dwell else float("nan"),
        "median_dwell": float(np.median(dwell)) if dwell else float("nan"),
        "max_dwell": int(max(dwell)) if dwell else 0,
        "censored": censored,
    }


@dataclass(frozen=True)
class ChainAttractors:
    """What :func:`chain_attractors` returns.

    Attributes:
        centres: the attractors' fixed-point probabilities ``(P,)``, in order of first visit.
        labels: ``(S, T - burn_in)`` long, the attractor of each chain at each kept step.
        unconverged: fraction of quenched states whose last logit change exceeded ``1e-6``
            times ``max(1, max |A|)``.
    """

    centres: list[Tensor]
    labels: Tensor
    unconverged: float


def chain_attractors(
    step: Callable[[Tensor], Tensor],
    X: Tensor,
    beta: float,
    starts: Tensor,
    steps: int,
    burn_in: int,
    quench_steps: int,
    tol: float,
) -> ChainAttractors:
    """Run chains ``xi_{t+1} = step(xi_t)`` and label every state after ``burn_in`` with its
    attractor: the logits ``l_t = beta X xi_t`` are quenched (:func:`quench`, ``A = beta X
    X^T``) and the fixed points clustered (:func:`cluster_fixed_points`).

    Args:
        step: ``(S, N) -> (S, N)``, one (noisy) step of every chain.
        X: ``(P, N)`` patterns. beta: inverse temperature (> 0).
        starts: ``(S, N)`` initial states. steps: chain length (>= 1).
        burn_in: first steps left out (``0 <= burn_in < steps``).
        quench_steps: iteration budget of the quench. tol: L1 radius of one attractor.

    Returns:
        A :class:`ChainAttractors`.
    """
    check_int("steps", steps, 1)
    check_int("burn_in", burn_in, 0, steps - 1)
    xi, P = starts, X.shape[0]
    logits = torch.empty(steps, len(starts), P, dtype=X.dtype)  # (T, S, P)
    with torch.no_grad():
        for t in range(steps):
            xi = step(xi)  # (S, N)
            logits[t] = beta * xi @ X.T  # (S, P)
        A = beta * X @ X.T  # (P, P)
        kept = logits[burn_in:]  # (T - burn_in, S, P)
        probs, resid = quench(kept.reshape(-1, P), A, quench_steps)
    centres: list[Tensor] = []
    labels = cluster_fixed_points(probs, tol, centres).view(len(kept), -1).T  # (S, T - burn_in)
    unconverged = float((resid > 1e-6 * max(1.0, float(A.abs().max()))).double().mean())
    return ChainAttractors(centres, labels, unconverged)
