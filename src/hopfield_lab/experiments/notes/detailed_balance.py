"""Glauber dynamics samples the Gibbs distribution iff J is symmetric (notes, Theorem 2.1).

Command::

    hopfield-lab run detailed-balance --profile demo     # ~10 s CPU time (~20 s wall, loaded)
    hopfield-lab run detailed-balance --profile quick    # ~40 s CPU time
    hopfield-lab run detailed-balance --profile paper    # N = 10, 10 x 10^6 chains, ~15 min

Setting. ``N <= 10`` spins, so that all ``2^N`` states can be enumerated, temperature ``T``
(``beta = 1/T``), three coupling matrices, all with zero diagonal and a random field ``h``
(entries ``N(0, field_scale^2)``):

* ``symmetric``: ``J = (A + A^T)/sqrt(2)`` with ``A_ij ~ N(0, coupling_scale^2 / N)`` (an SK
  sample);
* ``hebbian``: Hebb's rule with ``hebbian_patterns`` random patterns, times ``coupling_scale``;
* ``asymmetric``: ``J = A`` itself, with ``J_ij`` and ``J_ji`` independent.

Dynamics. Glauber dynamics with uniformly random site choice, the chain of Def. 2.1.5 whose
one-step transition matrix ``W`` is given by Lemma 2.1.3 (flip probability
``(1 - s_i tanh(beta phi_i))/2`` of the chosen spin). ``n_chains`` independent chains start
from uniformly random states and run ``t`` sweeps of ``N`` steps; their final states are
``n_chains`` independent samples of the law ``p_t = p_0 W^(N t)``. The burn-in ``t`` is the
first (at least ``burn_in``) at which the exact ``TV(p_t, pi)`` is below 1/20 of the sampling
noise floor, so that the bias it leaves is negligible against sampling noise.

Measured, for each coupling:

* (``n_repeats`` independent batches of ``n_chains`` chains) the empirical law against the
  Gibbs law ``exp(-beta L(s))/Z`` with
  ``L(s) = -1/2 s.J s - h.s``: total-variation distance and the p-value of a G-test
  (log-likelihood ratio, bins of expected count < 5 pooled, ``2^N - 1`` degrees of freedom at
  most). The samples are independent, so the p-value is exact up to the chi-square
  approximation and the (computed) burn-in bias;
* the exact stationary law ``pi`` of ``W`` (a ``2^N x 2^N`` linear solve), the exact distance
  ``TV(p_t, pi)`` left after burn-in (computed by propagating ``p_0`` through ``W``), the
  empirical law against ``pi`` (G-test), ``TV(pi, Gibbs)`` and the largest detailed-balance
  residual ``max |pi(s) W(s, s') - pi(s') W(s', s)|`` relative to ``max pi(s) W(s, s')``;
* the sampling noise floor: mean TV of ``n_chains`` multinomial draws from ``pi`` to ``pi``.

What Theorem 2.1 predicts. With ``J`` symmetric and ``J_ii = 0`` the Gibbs law satisfies
detailed balance ``p(s) W(s, F_i s) = p(F_i s) W(F_i s, s)``: the ratio of the two flip
probabilities is ``exp(-2 beta s_i phi_i)``, which equals ``exp(-beta (L(F_i s) - L(s)))``
because ``phi_i`` does not depend on ``s_i``. So ``pi = Gibbs`` exactly, the G-test p-value is
uniform on (0, 1) and the TV sits at the noise floor. With ``J`` asymmetric no law satisfies
detailed balance: the "flux" ``2 s_i phi_i`` around the 4-cycle ``s, F_i s, F_j F_i s, F_j s``
sums to ``2 (J_ij - J_ji) s_i s_j`` times a sign, not 0 (the proof of Theorem 2.1 with
Lemma 2.1.4), so there is no potential ``K`` with ``pi = exp(-beta K)`` that makes the chain
reversible. The chain is still ergodic and has a unique stationary law ``pi``, which the
samples follow (the G-test against ``pi`` passes), but ``pi`` is not the Gibbs law of ``L``
(which only sees the symmetric part of ``J``): the G-test against Gibbs rejects (p ~ 0) and
the detailed-balance residual is of order 1.

Measured (quick profile, N = 10, 5 repeats of 10^5 chains): symmetric J: TV(pi, Gibbs) =
6e-15, residual 3e-14, median p = 0.48, TV(samples, Gibbs) = 0.0201 against a noise floor of
0.0202; Hebbian J: median p = 0.24, TV 0.0278 (floor 0.0278); asymmetric J: TV(pi, Gibbs) =
0.186, residual 0.76, p = 0 (underflow) in all 5 repeats, TV(samples, Gibbs) = 0.188 while
TV(samples, pi) = 0.035 (floor 0.035, median p vs pi = 0.24).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy import stats
from torch import Tensor

from hopfield_lab.data.synthetic import random_patterns
from hopfield_lab.errors import ConfigError, check_choice, check_int, check_positive, check_range
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.models.binary import BinaryHopfield
from hopfield_lab.runs import RunDir, Table, comparison_table, run_cells

__all__ = ["COUPLINGS", "DetailedBalanceConfig", "run"]

COUPLINGS = ("symmetric", "hebbian", "asymmetric")
F64 = torch.float64


@dataclass(frozen=True)
class DetailedBalanceConfig:
    """Config of the detailed-balance experiment (see the module docstring).

    Attributes:
        n: spins ``N`` (2 to 10: all ``2^N`` states are enumerated).
        temperature: ``T > 0``.
        couplings: which coupling matrices to test (``symmetric``, ``hebbian``, ``asymmetric``).
        coupling_scale: scale of ``J`` (see the module docstring).
        field_scale: standard deviation of the field entries.
        hebbian_patterns: patterns of the Hebbian coupling.
        n_chains: independent chains per repeat, one sample each.
        n_repeats: independent batches of ``n_chains`` chains (one G-test each).
        burn_in: least sweeps (``N`` steps each) before the sample is taken; more are run
            until the exact ``TV(p_t, pi)`` is below 1/20 of the sampling noise floor.
        max_burn_in: most sweeps of burn-in.
        noise_draws: multinomial draws for the sampling noise floor.
        seed: seeds couplings and chains.
    """

    n: int = 8
    temperature: float = 1.0
    couplings: tuple[str, ...] = COUPLINGS
    coupling_scale: float = 1.0
    field_scale: float = 0.3
    hebbian_patterns: int = 2
    n_chains: int = 20000
    n_repeats: int = 5
    burn_in: int = 20
    max_burn_in: int = 5000
    noise_draws: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n", self.n, 2, 10)
        check_positive("temperature", self.temperature)
        if not self.couplings:
            raise ConfigError("couplings must not be empty")
        for c in self.couplings:
            check_choice("couplings", c, COUPLINGS)
        check_positive("coupling_scale", self.coupling_scale)
        check_range("field_scale", self.field_scale, 0.0)
        check_int("hebbian_patterns", self.hebbian_patterns, 1)
        check_int("n_chains", self.n_chains, 10)
        check_int("n_repeats", self.n_repeats, 1)
        check_int("burn_in", self.burn_in, 1)
        check_int("max_burn_in", self.max_burn_in, self.burn_in)
        check_int("noise_draws", self.noise_draws, 1)
        check_int("seed", self.seed, 0)


def all_states(n: int) -> Tensor:
    """Every ±1 state of ``n`` spins, ``(2^n, n)``; row ``k`` has bits of ``k``, MSB first."""
    codes = torch.arange(2**n)
    bits = (codes[:, None] >> torch.arange(n - 1, -1, -1)) & 1  # (2^n, n)
    return (2 * bits - 1).to(F64)


def state_codes(S: Tensor) -> Tensor:
    """Index of each ±1 state (rows of ``S``) in :func:`all_states`."""
    n = S.shape[1]
    return ((S > 0).long() << torch.arange(n - 1, -1, -1)).sum(1)


def _couplings(kind: str, cfg: dict[str, Any]) -> BinaryHopfield:
    gen = torch.Generator().manual_seed(cfg["seed"] * 31 + COUPLINGS.index(kind))
    n, scale = cfg["n"], cfg["coupling_scale"]
    A = torch.randn(n, n, generator=gen, dtype=F64) * scale / math.sqrt(n)
    h = torch.randn(n, generator=gen, dtype=F64) * cfg["field_scale"]
    if kind == "symmetric":
        J = (A + A.T) / math.sqrt(2.0)
    elif kind == "hebbian":
        xi = random_patterns(cfg["hebbian_patterns"], n, generator=gen, dtype=F64)
        J = scale * xi.T @ xi / n
    else:
        J = A
    J.fill_diagonal_(0.0)
    return BinaryHopfield(J, h)


def transition_matrix(model: BinaryHopfield, temperature: float) -> Tensor:
    """``W`` of Lemma 2.1.3 (uniform site choice), ``(2^N, 2^N)``, rows sum to 1."""
    n = model.n
    S = all_states(n)
    p = model.flip_probability(S, temperature) / n  # (M, N) prob. to flip site i from state a
    M = S.shape[0]
    W = torch.zeros(M, M, dtype=F64)
    a = torch.arange(M)
    for i in range(n):
        b = a ^ (1 << (n - 1 - i))  # the state with spin i flipped
        W[a, b] = p[:, i]
    W[a, a] = 1.0 - p.sum(1)
    return W


def stationary(W: Tensor) -> Tensor:
    """The unique law ``pi`` with ``pi W = pi`` (solve ``(W^T - I) pi = 0``, ``sum pi = 1``)."""
    M = W.shape[0]
    A = W.T - torch.eye(M, dtype=W.dtype)
    A[-1] = 1.0
    b = torch.zeros(M, dtype=W.dtype)
    b[-1] = 1.0
    return torch.linalg.solve(A, b)


def _tv(p: Tensor | np.ndarray, q: Tensor | np.ndarray) -> float:
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def g_test(counts: np.ndarray, probs: np.ndarray) -> tuple[float, float, int]:
    """G-test of counts against a law; bins with expected count < 5 are pooled into one.

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


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    cfg = cell["config"]
    kind = cell["coupling"]
    T = cfg["temperature"]
    n = cfg["n"]
    model = _couplings(kind, cfg)
    states = all_states(n)
    gibbs = torch.softmax(-model.energy(states) / T, 0)  # (M,)
    W = transition_matrix(model, T)
    pi = stationary(W)
    flux = pi[:, None] * W  # (M, M) probability flow s -> s'
    db_residual = float((flux - flux.T).abs().max() / flux.fill_diagonal_(0).max())
    rng = np.random.default_rng(cfg["seed"])
    floor = [
        _tv(rng.multinomial(cfg["n_chains"], pi.numpy()) / cfg["n_chains"], pi.numpy())
        for _ in range(cfg["noise_draws"])
    ]
    # exact law after t sweeps: p_0 uniform, then (W^N)^t; burn in until its distance to pi
    # is below 1/20 of the sampling noise floor (at least burn_in, at most max_burn_in sweeps)
    sweep = torch.linalg.matrix_power(W, n)
    p_t = torch.full((2**n,), 2.0**-n, dtype=F64)
    burn = 0
    while burn < cfg["max_burn_in"]:
        p_t = p_t @ sweep
        burn += 1
        if burn >= cfg["burn_in"] and _tv(p_t, pi) < float(np.mean(floor)) / 20:
            break
    # sampling: n_repeats independent batches of n_chains chains, one sample per chain
    gen = torch.Generator().manual_seed(cfg["seed"] * 97 + COUPLINGS.index(kind))
    reps: list[dict[str, float]] = []
    emp = np.zeros(2**n)
    for _ in range(cfg["n_repeats"]):
        S0 = random_patterns(cfg["n_chains"], n, generator=gen, dtype=F64)
        res = model.run(
            S0, dynamics="glauber", temperature=T, n_sweeps=burn, generator=gen,
            order="uniform",
        )  # fmt: skip
        counts = torch.bincount(state_codes(res.states), minlength=2**n).double().numpy()
        freq = counts / counts.sum()
        reps.append(
            {
                "tv_gibbs": _tv(freq, gibbs.numpy()),
                "tv_pi": _tv(freq, pi.numpy()),
                "p_gibbs": g_test(counts, gibbs.numpy())[1],
                "p_pi": g_test(counts, pi.numpy())[1],
            }
        )
        emp += freq / cfg["n_repeats"]
    p_gibbs = [r["p_gibbs"] for r in reps]
    p_pi = [r["p_pi"] for r in reps]
    return {
        "burn_in": burn,
        "coupling": kind,
        "symmetric": model.is_symmetric,
        "asymmetry": float((model.J - model.J.T).norm() / model.J.norm()),
        "tv_emp_gibbs": float(np.mean([r["tv_gibbs"] for r in reps])),
        "tv_emp_pi": float(np.mean([r["tv_pi"] for r in reps])),
        "tv_pi_gibbs": _tv(pi.numpy(), gibbs.numpy()),
        "tv_burn_in": _tv(p_t.numpy(), pi.numpy()),
        "tv_noise_floor": float(np.mean(floor)),
        "p_gibbs": float(np.median(p_gibbs)),
        "p_gibbs_all": p_gibbs,
        "frac_p_gibbs_below_005": float(np.mean(np.asarray(p_gibbs) < 0.05)),
        "p_pi": float(np.median(p_pi)),
        "p_pi_all": p_pi,
        "db_residual": db_residual,
        "gibbs": gibbs.tolist(),
        "pi": pi.tolist(),
        "empirical": emp.tolist(),
    }


def run(config: DetailedBalanceConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """One resumable cell per coupling matrix, then tables and the probability scatter."""
    cfg = {k: getattr(config, k) for k in config.__dataclass_fields__}
    cells = {c: {"coupling": c, "config": cfg} for c in config.couplings}
    results = run_cells(_cell, cells, run_dir, executor=ctx.executor, progress=ctx.progress)
    ordered = [results[c] for c in config.couplings]

    table = Table(
        "stationary_vs_gibbs",
        [
            "coupling",
            "TV(emp, Gibbs)",
            "median G-test p vs Gibbs",
            "repeats with p < 0.05",
            "TV(emp, pi)",
            "median G-test p vs pi",
            "TV(pi, Gibbs)",
            "detailed-balance residual",
            "TV noise floor",
            "TV left by burn-in",
            "burn-in sweeps",
        ],
        caption=f"N = {config.n}, T = {config.temperature:g}; {config.n_repeats} repeats of "
        f"{config.n_chains} independent Glauber chains (uniform site choice) after the burn-in "
        "shown, one sample per chain; TVs are means and p-values medians over repeats (the "
        "'repeats with p < 0.05' column is a fraction; about 0.05 is expected when the null "
        "holds). pi is the exact "
        "stationary law of W (Lemma 2.1.3); the residual is max |pi(s)W(s,s') - "
        "pi(s')W(s',s)| / max pi(s)W(s,s'); the noise floor is the mean TV of a multinomial "
        "sample of the same size from pi.",
    )
    rows = []
    for r in ordered:
        table.add_row(
            r["coupling"],
            r["tv_emp_gibbs"],
            r["p_gibbs"],
            r["frac_p_gibbs_below_005"],
            r["tv_emp_pi"],
            r["p_pi"],
            r["tv_pi_gibbs"],
            r["db_residual"],
            r["tv_noise_floor"],
            r["tv_burn_in"],
            r["burn_in"],
        )
        sym = r["symmetric"]
        tag = "symmetric J" if sym else "asymmetric J"
        rows += [
            (
                f"{r['coupling']}: TV(pi, Gibbs), exact ({tag})",
                0 if sym else "> 0",
                r["tv_pi_gibbs"],
                None,
            ),
            (
                f"{r['coupling']}: detailed-balance residual of pi ({tag})",
                0 if sym else "> 0",
                r["db_residual"],
                None,
            ),
            (
                f"{r['coupling']}: median G-test p-value, samples vs Gibbs",
                "U(0,1): median 0.5" if sym else "~0",
                r["p_gibbs"],
                None,
            ),
            (
                f"{r['coupling']}: fraction of {config.n_repeats} repeats with p < 0.05",
                0.05 if sym else 1,
                r["frac_p_gibbs_below_005"],
                None,
            ),
            (
                f"{r['coupling']}: TV(samples, Gibbs) / noise floor",
                "~1" if sym else ">> 1",
                r["tv_emp_gibbs"] / r["tv_noise_floor"],
                None,
            ),
        ]
    run_dir.save_table(table)
    run_dir.save_table(
        comparison_table(
            "theory",
            rows,
            caption="Theorem 2.1: with J symmetric and J_ii = 0 the stationary law of Glauber "
            "dynamics is the Gibbs law exp(-L/T)/Z and satisfies detailed balance; with J "
            "asymmetric neither holds. 'U(0,1)' means a p-value that is not small.",
        )
    )
    _figure(config, ordered, run_dir)
    return {
        r["coupling"]: {
            "tv_emp_gibbs": r["tv_emp_gibbs"],
            "p_gibbs": r["p_gibbs"],
            "p_gibbs_all": r["p_gibbs_all"],
            "p_pi": r["p_pi"],
            "tv_pi_gibbs": r["tv_pi_gibbs"],
            "db_residual": r["db_residual"],
            "tv_noise_floor": r["tv_noise_floor"],
        }
        for r in ordered
    }


def _figure(config: DetailedBalanceConfig, results: list[dict], run_dir: RunDir) -> None:
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4), squeeze=False)
    for ax, r in zip(axes[0], results, strict=True):
        g = np.asarray(r["gibbs"])
        pi = np.asarray(r["pi"])
        emp = np.asarray(r["empirical"])
        lo = max(min(g.min(), pi.min()), 0.5 / config.n_chains)
        ax.loglog([lo, 1], [lo, 1], color="0.6", lw=1)
        ax.loglog(g, emp, "o", ms=3, alpha=0.7, label="empirical vs Gibbs")
        if not r["symmetric"]:
            ax.loglog(pi, emp, "x", ms=3, alpha=0.7, label="empirical vs exact pi")
        ax.set(
            xlabel="predicted probability",
            ylabel="empirical frequency",
            title=f"{r['coupling']}: median p(Gibbs) = {r['p_gibbs']:.2g}",
        )
        ax.legend(fontsize=7)
    fig.suptitle(f"Glauber stationary law vs Gibbs, N = {config.n}, T = {config.temperature:g}")
    fig.tight_layout()
    run_dir.save_figure(fig, "stationary_vs_gibbs")
    plt.close("all")


register(
    Experiment(
        name="detailed-balance",
        title="Glauber dynamics: Gibbs stationary law for symmetric J, not for asymmetric J",
        paper="continuous-hopfield-networks-notes, ch. 2.1.2",
        figure="Lemma 2.1.3, Theorem 2.1 (no figure; predictions only)",
        config_cls=DetailedBalanceConfig,
        profiles={
            "demo": DetailedBalanceConfig(),
            "quick": DetailedBalanceConfig(n=10, n_chains=100000),
            "paper": DetailedBalanceConfig(n=10, n_chains=1000000, n_repeats=10, noise_draws=50),
        },
        runtime={
            "demo": "~20 s (2 CPU cores)",
            "quick": "~1 min (2 CPU cores)",
            "paper": "~15 min (2 CPU cores)",
        },
        run=run,
    )
)
