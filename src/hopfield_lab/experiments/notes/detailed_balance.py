"""Glauber dynamics samples the Gibbs distribution iff J is symmetric (notes, Theorem 2.1).

Command::

    hopfield-lab run detailed-balance --profile quick

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

The chain maths (``W``, ``pi``, the residual, the G-test) is
:mod:`hopfield_lab.analysis.glauber`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import torch

from hopfield_lab.analysis import (
    all_states,
    detailed_balance_residual,
    g_test,
    state_codes,
    stationary_law,
    total_variation,
    transition_matrix,
)
from hopfield_lab.data.synthetic import random_patterns
from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.experiments.fields import (
    Config,
    Min,
    NonEmpty,
    NonNegative,
    Positive,
    Range,
    Seed,
    Unique,
)
from hopfield_lab.models.binary import BinaryHopfield
from hopfield_lab.runs import (
    RunDir,
    Table,
    at_least,
    at_most,
    check_table,
    run_cells,
)
from hopfield_lab.runs.plots import figure

__all__ = ["COUPLINGS", "DetailedBalanceConfig", "report", "run"]

_Coupling = Literal["symmetric", "hebbian", "asymmetric"]
COUPLINGS: tuple[_Coupling, ...] = ("symmetric", "hebbian", "asymmetric")
F64 = torch.float64


@dataclass(frozen=True)
class DetailedBalanceConfig(Config):
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
        max_burn_in: most sweeps of burn-in (>= burn_in).
        noise_draws: multinomial draws for the sampling noise floor.
        seed: seeds couplings and chains.
    """

    n: Annotated[int, Range(2, 10)] = 8
    temperature: Annotated[float, Positive] = 1.0
    couplings: Annotated[tuple[_Coupling, ...], NonEmpty, Unique] = COUPLINGS
    coupling_scale: Annotated[float, Positive] = 1.0
    field_scale: Annotated[float, NonNegative] = 0.3
    hebbian_patterns: Annotated[int, Min(1)] = 2
    n_chains: Annotated[int, Min(10)] = 20000
    n_repeats: Annotated[int, Min(1)] = 5
    burn_in: Annotated[int, Min(1)] = 20
    max_burn_in: Annotated[int, Min(1)] = 5000
    noise_draws: Annotated[int, Min(1)] = 20
    seed: Seed = 0

    def check(self) -> None:
        """``max_burn_in >= burn_in``."""
        if self.max_burn_in < self.burn_in:
            raise ConfigError(
                f"max_burn_in must be >= burn_in ({self.burn_in}); got {self.max_burn_in}"
            )


def _couplings(kind: str, config: DetailedBalanceConfig) -> BinaryHopfield:
    gen = torch.Generator().manual_seed(config.seed * 31 + COUPLINGS.index(kind))
    n, scale = config.n, config.coupling_scale
    A = torch.randn(n, n, generator=gen, dtype=F64) * scale / math.sqrt(n)
    h = torch.randn(n, generator=gen, dtype=F64) * config.field_scale
    if kind == "symmetric":
        J = (A + A.T) / math.sqrt(2.0)
    elif kind == "hebbian":
        xi = random_patterns(config.hebbian_patterns, n, generator=gen, dtype=F64)
        J = scale * xi.T @ xi / n
    else:
        J = A
    J.fill_diagonal_(0.0)
    return BinaryHopfield(J, h)


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    """One coupling: exact W, pi and Gibbs; burn-in; repeated G-tests of independent chains."""
    config: DetailedBalanceConfig = cell["config"]
    kind = cell["coupling"]
    T, n = config.temperature, config.n
    model = _couplings(kind, config)
    gibbs = torch.softmax(-model.energy(all_states(n)) / T, 0)  # (M,)
    W = transition_matrix(model, T)
    pi = stationary_law(W)
    db_residual = detailed_balance_residual(pi, W)
    rng = np.random.default_rng(config.seed)
    floor = [
        total_variation(rng.multinomial(config.n_chains, pi.numpy()) / config.n_chains, pi.numpy())
        for _ in range(config.noise_draws)
    ]
    # exact law after t sweeps: p_0 uniform, then (W^N)^t; burn in until its distance to pi
    # is below 1/20 of the sampling noise floor (at least burn_in, at most max_burn_in sweeps)
    sweep = torch.linalg.matrix_power(W, n)
    p_t = torch.full((2**n,), 2.0**-n, dtype=F64)
    burn = 0
    while burn < config.max_burn_in:
        p_t = p_t @ sweep
        burn += 1
        if burn >= config.burn_in and total_variation(p_t, pi) < float(np.mean(floor)) / 20:
            break
    # sampling: n_repeats independent batches of n_chains chains, one sample per chain
    gen = torch.Generator().manual_seed(config.seed * 97 + COUPLINGS.index(kind))
    reps: list[dict[str, float]] = []
    emp = np.zeros(2**n)
    for _ in range(config.n_repeats):
        S0 = random_patterns(config.n_chains, n, generator=gen, dtype=F64)
        res = model.run(
            S0, dynamics="glauber", temperature=T, n_sweeps=burn, generator=gen,
            order="uniform",
        )  # fmt: skip
        counts = torch.bincount(state_codes(res.states), minlength=2**n).double().numpy()
        freq = counts / counts.sum()
        reps.append(
            {
                "tv_gibbs": total_variation(freq, gibbs.numpy()),
                "tv_pi": total_variation(freq, pi.numpy()),
                "p_gibbs": g_test(counts, gibbs.numpy())[1],
                "p_pi": g_test(counts, pi.numpy())[1],
            }
        )
        emp += freq / config.n_repeats
    p_gibbs = [r["p_gibbs"] for r in reps]
    p_pi = [r["p_pi"] for r in reps]
    return {
        "burn_in": burn,
        "coupling": kind,
        "symmetric": model.is_symmetric,
        "asymmetry": float((model.J - model.J.T).norm() / model.J.norm()),
        "tv_emp_gibbs": float(np.mean([r["tv_gibbs"] for r in reps])),
        "tv_emp_pi": float(np.mean([r["tv_pi"] for r in reps])),
        "tv_pi_gibbs": total_variation(pi.numpy(), gibbs.numpy()),
        "tv_burn_in": total_variation(p_t.numpy(), pi.numpy()),
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


def _grid(config: DetailedBalanceConfig) -> dict[str, dict[str, Any]]:
    """One cell per coupling matrix (shared by ``run`` and ``report``)."""
    return {c: {"coupling": c, "config": config} for c in config.couplings}


def run(config: DetailedBalanceConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """One resumable cell per coupling matrix; per coupling the headline numbers."""
    cells = run_cells(_cell, _grid(config), run_dir, executor=ctx.executor, progress=ctx.progress)
    return {
        c: {
            "tv_emp_gibbs": r["tv_emp_gibbs"],
            "p_gibbs": r["p_gibbs"],
            "p_gibbs_all": r["p_gibbs_all"],
            "p_pi": r["p_pi"],
            "tv_pi_gibbs": r["tv_pi_gibbs"],
            "db_residual": r["db_residual"],
            "tv_noise_floor": r["tv_noise_floor"],
        }
        for c, r in ((c, cells[c]) for c in config.couplings)
    }


_EXACT = 1e-10
"""Below this an exact distance or residual is rounding (the chain is reversible)."""
_P_NULL = 0.05
"""A median G-test p-value at least this is consistent with the null (p uniform on (0, 1))."""
_P_REJECT = 1e-3
"""A median G-test p-value below this rejects the Gibbs law."""
_FLOOR_RATIO = 1.25
"""TV(samples, Gibbs) within this factor of the sampling noise floor is at the floor."""


def report(config: DetailedBalanceConfig, run_dir: RunDir) -> None:
    """Headline checks of Theorem 2.1 per coupling, the full table and the scatter."""
    ordered = [run_dir.load_cell(c) for c in config.couplings]
    checks = []
    for r in ordered:
        name = r["coupling"]
        ratio = r["tv_emp_gibbs"] / r["tv_noise_floor"]
        if r["symmetric"]:
            checks += [
                at_most(f"{name}: TV(pi, Gibbs), exact", r["tv_pi_gibbs"], _EXACT),
                at_most(f"{name}: detailed-balance residual of pi", r["db_residual"], _EXACT),
                at_least(
                    f"{name}: median G-test p-value, samples vs Gibbs",
                    r["p_gibbs"],
                    _P_NULL,
                    claim=f">= {_P_NULL:g} (p ~ U(0, 1) under the null)",
                ),
                at_most(f"{name}: TV(samples, Gibbs) / sampling noise floor", ratio, _FLOOR_RATIO),
            ]
        else:
            checks += [
                at_least(f"{name}: TV(pi, Gibbs), exact", r["tv_pi_gibbs"], _EXACT, claim="> 0"),
                at_least(
                    f"{name}: detailed-balance residual of pi",
                    r["db_residual"],
                    _EXACT,
                    claim="> 0",
                ),
                at_most(
                    f"{name}: median G-test p-value, samples vs Gibbs",
                    r["p_gibbs"],
                    _P_REJECT,
                    claim=f"< {_P_REJECT:g} (Gibbs rejected)",
                ),
                at_least(
                    f"{name}: median G-test p-value, samples vs the exact pi",
                    r["p_pi"],
                    _P_NULL,
                    claim=f">= {_P_NULL:g} (the chain still samples its own pi)",
                ),
            ]
    run_dir.save_table(
        check_table(
            "theory",
            checks,
            caption=(
                "Theorem 2.1: with J symmetric and J_ii = 0 the stationary law pi of Glauber "
                "dynamics is the Gibbs law exp(-L/T)/Z and satisfies detailed balance; with J "
                f"asymmetric neither holds. 'Exact' quantities are 0 when below {_EXACT:g} "
                f"(rounding); p-values are medians over {config.n_repeats} repeats of "
                f"{config.n_chains} independent chains."
            ),
            headline=True,
        )
    )
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
        caption=(
            f"N = {config.n}, T = {config.temperature:g}; {config.n_repeats} repeats of "
            f"{config.n_chains} independent Glauber chains (uniform site choice) after the "
            "burn-in shown, one sample per chain; TVs are means and p-values medians over "
            "repeats (the 'repeats with p < 0.05' column is a fraction; about 0.05 is expected "
            "when the null holds). pi is the exact stationary law of W (Lemma 2.1.3); the "
            "residual is max |pi(s)W(s,s') - pi(s')W(s',s)| / max pi(s)W(s,s'); the noise floor "
            "is the mean TV of a multinomial sample of the same size from pi."
        ),
    )
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
    run_dir.save_table(table)
    _figure(config, ordered, run_dir)


def _figure(config: DetailedBalanceConfig, cells: list[dict], run_dir: RunDir) -> None:
    k = len(cells)
    with figure(run_dir, "stationary_vs_gibbs", ncols=k, size=(4.4 * k, 4.4), squeeze=False) as (
        fig,
        axes,
    ):
        for ax, r in zip(axes[0], cells, strict=True):
            g = np.asarray(r["gibbs"])
            pi = np.asarray(r["pi"])
            emp = np.asarray(r["empirical"])
            lo = max(min(g.min(), pi.min()), 0.5 / config.n_chains)
            ax.loglog([lo, 1], [lo, 1], color="0.6", lw=1, label="y = x")
            ax.loglog(g, emp, "o", ms=3, alpha=0.7, label="empirical vs Gibbs")
            if not r["symmetric"]:
                ax.loglog(pi, emp, "x", ms=3, alpha=0.7, label="empirical vs exact pi")
            ax.set(
                xlabel="predicted probability",
                ylabel="empirical frequency",
                title=f"{r['coupling']} J: median p(Gibbs) = {r['p_gibbs']:.2g}",
            )
            ax.legend(fontsize=7)
        fig.suptitle(f"Glauber stationary law vs Gibbs, N = {config.n}, T = {config.temperature:g}")


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
        runtime={"demo": "~15 s", "quick": "~1 min", "paper": "~15 min (2 CPU cores)"},
        claim=(
            "Glauber samples follow the Gibbs law, with detailed balance, for symmetric J "
            "(Theorem 2.1); for asymmetric J the chain's own stationary law differs from Gibbs "
            "and is not reversible."
        ),
        expected=(
            "symmetric J: TV(pi, Gibbs) = 6e-15, median p = 0.48, TV at the noise floor "
            "(0.0201 vs 0.0202); asymmetric J: TV(pi, Gibbs) = 0.186, residual 0.76, p = 0 "
            "against Gibbs and 0.24 against pi (N = 10, 5 x 10^5 chains)."
        ),
        run=run,
        report=report,
    )
)
