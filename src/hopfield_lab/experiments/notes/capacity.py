"""Storage capacity of the Hebbian binary Hopfield network and its (alpha, T) phase diagram.

Command::

    hopfield-lab run capacity --profile demo     # ~11 s CPU time (~23 s wall, loaded)
    hopfield-lab run capacity --profile quick    # ~100 s CPU time, N up to 2000
    hopfield-lab run capacity --profile paper    # N up to 8000: hours on 2 cores, use Ray

Setting (lecture notes ch. 2, with the capacity alpha_c ~ 0.138 of Amit, Gutfreund and
Sompolinsky 1985/87, "AGS"). ``P = round(alpha N)`` unbiased random patterns stored by Hebb's
rule (Def. 2.1.4, ``J_ii = 0``, ``h = 0``).

Part 1, retrieval vs load (``T = 0``). Each trial starts sequential dynamics (random order per
sweep, Def. 2.1.2) exactly at a stored pattern ``xi^mu`` (``start_noise`` > 0 flips that
fraction of its spins first) and runs it to a fixed point (at most ``max_sweeps`` sweeps). We
record the final Mattis overlap ``m = xi^mu . s / N`` with that pattern. A trial "retrieves"
when ``m > success_overlap`` (0.9 by default: AGS predicts ``m >= 0.967`` in the retrieval
phase at ``T = 0``, and ``m`` well below 0.5 beyond ``alpha_c``). For each ``N`` we estimate
``alpha_c(N)`` as the load where the fraction of retrieving trials crosses 1/2 (linear
interpolation between grid loads), and also where the mean overlap crosses
``mean_threshold``. The finite-size drift is summarised by a least-squares fit
``alpha_c(N) = a + b / sqrt(N)`` (a heuristic form; with fewer than 3 sizes no fit is made),
whose intercept ``a`` is compared with 0.138. At finite ``N`` the transition is smooth and
appears at larger loads for smaller ``N``: the 1/sqrt(N) fluctuations of the crosstalk noise
let small networks keep patterns stable a little beyond alpha_c.

Part 2, phase diagram (``alpha``, ``T``) with Glauber dynamics (Lemma 2.1.3). ``pd_trials``
replicas per cell start at stored patterns (replica ``k`` at pattern ``k mod P``) of a network
of ``pd_n`` spins, run ``pd_sweeps`` sweeps at temperature ``T``, and the overlap with the
start pattern is averaged over the last ``pd_measure`` sweeps and the replicas. The heatmap is
overlaid with the AGS retrieval line ``T_M(alpha)``: the largest ``T`` at which the
replica-symmetric equations (AGS 1987)::

    m = < tanh(beta (m + sqrt(alpha r) z)) >_z,   q = < tanh^2(beta (m + sqrt(alpha r) z)) >_z,
    r = q / (1 - beta (1 - q))^2,                 z ~ N(0, 1),

have a solution with ``m > 0.05``, solved here by fixed-point iteration from ``m = q = 1``
(Gauss-Hermite quadrature; at ``T = 0`` the limit ``m = erf(m / sqrt(2 alpha r))``,
``r = (1 - sqrt(2/(pi alpha r)) exp(-m^2 / (2 alpha r)))^-2``). Its end points are
``T_M(0) = 1`` and ``alpha_c(T = 0) = 0.1379``, which the comparison table checks. Near
``T = 1`` the retrieval overlap vanishes continuously (``T_M ~ 1 - 1.95 sqrt(alpha)``), so the
``m > 0.05`` criterion places the line slightly below the true one there. The retrieval
states are metastable below ``T_M`` (global minima only below a lower line ``T_c``, not
drawn), which is what dynamics started at a pattern probes.

The notes' numbers: ``alpha_c ~ 0.138`` at ``T = 0``; ``T_c = 1`` at ``alpha = 0``
(Curie-Weiss). Measured (quick profile, 192 trials per point): ``alpha_c(N)`` = 0.187,
0.177, 0.166, 0.156 (bootstrap std over networks 0.003, 0.002, 0.001, 0.001) for N = 250,
500, 1000, 2000; extrapolated ``a = 0.141 +- 0.002``; the RS solver gives
``alpha_c(T=0) = 0.1379`` and ``T_M(alpha = 1e-6) = 0.998``. CPU time: demo ~11 s, quick
~100 s (user time, one core).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.special import erf

from hopfield_lab.data.corruptions import flip_bits
from hopfield_lab.data.synthetic import random_patterns
from hopfield_lab.errors import ConfigError, check_int, check_probability, check_range
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.models.binary import BinaryHopfield
from hopfield_lab.runs import RunDir, Table, comparison_table, run_cells

__all__ = ["ALPHA_C", "CapacityConfig", "ags_overlap", "ags_retrieval_line", "run"]

ALPHA_C = 0.138
"""Capacity of the Hebbian network at T = 0 (AGS), quoted by the notes."""

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(81)
_GH_W = _GH_W / _GH_W.sum()  # weights of E[f(z)], z ~ N(0, 1)


@dataclass(frozen=True)
class CapacityConfig:
    """Config of the capacity experiment (see the module docstring).

    Attributes:
        sizes: network sizes ``N`` of part 1.
        alphas: loads of part 1.
        n_trials: retrieval trials per (N, alpha) (distinct start patterns, over as many
            networks as needed).
        n_starts: most start patterns per network (the replicas of one run).
        start_noise: fraction of the start pattern's spins flipped before the dynamics.
        max_sweeps: most sweeps of sequential dynamics.
        success_overlap: final overlap above which a trial counts as retrieved.
        mean_threshold: the mean-overlap level of the second alpha_c estimate.
        pd_n: spins of the phase-diagram networks (0 skips part 2).
        pd_alphas: loads of the phase diagram.
        pd_temperatures: temperatures of the phase diagram.
        pd_trials: replicas per phase-diagram cell.
        pd_sweeps: Glauber sweeps per phase-diagram run.
        pd_measure: final sweeps over which the overlap is averaged.
        dtype: ``"float32"`` or ``"float64"`` for couplings and states.
        seed: seeds everything.
    """

    sizes: tuple[int, ...] = (250, 500, 1000)
    alphas: tuple[float, ...] = (0.08, 0.11, 0.13, 0.15, 0.17, 0.2)
    n_trials: int = 48
    n_starts: int = 48
    start_noise: float = 0.0
    max_sweeps: int = 100
    success_overlap: float = 0.9
    mean_threshold: float = 0.75
    pd_n: int = 200
    pd_alphas: tuple[float, ...] = (0.01, 0.05, 0.1, 0.15)
    pd_temperatures: tuple[float, ...] = (0.0, 0.3, 0.6, 0.9, 1.2)
    pd_trials: int = 24
    pd_sweeps: int = 20
    pd_measure: int = 5
    dtype: str = "float32"
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.sizes or not self.alphas:
            raise ConfigError("sizes and alphas must not be empty")
        for n in self.sizes:
            check_int("sizes", n, 10)
        for a in self.alphas:
            check_range("alphas", a, 0.0, 2.0, low_inclusive=False)
        if list(self.alphas) != sorted(set(self.alphas)):
            raise ConfigError(f"alphas must be strictly increasing; got {self.alphas!r}")
        check_int("n_trials", self.n_trials, 1)
        check_int("n_starts", self.n_starts, 1)
        check_range("start_noise", self.start_noise, 0.0, 0.5)
        check_int("max_sweeps", self.max_sweeps, 1)
        check_probability("success_overlap", self.success_overlap)
        check_probability("mean_threshold", self.mean_threshold)
        check_int("pd_n", self.pd_n, 0)
        if self.pd_n:
            if not self.pd_alphas or not self.pd_temperatures:
                raise ConfigError("pd_alphas and pd_temperatures must not be empty")
            for a in self.pd_alphas:
                check_range("pd_alphas", a, 0.0, 2.0, low_inclusive=False)
            for t in self.pd_temperatures:
                check_range("pd_temperatures", t, 0.0)
        check_int("pd_trials", self.pd_trials, 1)
        check_int("pd_sweeps", self.pd_sweeps, 1)
        check_int("pd_measure", self.pd_measure, 1, self.pd_sweeps)
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be one of 'float32', 'float64'; got {self.dtype!r}")
        check_int("seed", self.seed, 0)


# --- AGS replica-symmetric theory ------------------------------------------------------------


def ags_overlap(
    alpha: np.ndarray, T: np.ndarray | float, iters: int = 2000, tol: float = 1e-9
) -> np.ndarray:
    """Retrieval overlap ``m`` of the AGS replica-symmetric equations, iterated from m = 1.

    Args:
        alpha: loads, any shape (> 0).
        T: temperatures, broadcastable to ``alpha`` (>= 0; 0 uses the T -> 0 limit).
        iters: most fixed-point iterations.
        tol: stop when no ``m`` moves by more than this in one iteration.

    Returns:
        ``m`` of the shape of ``alpha``; close to 0 where no retrieval solution exists.
    """
    a = np.asarray(alpha, dtype=float)
    t = np.broadcast_to(np.asarray(T, dtype=float), a.shape)
    zero = t == 0
    beta = 1.0 / np.where(zero, 1.0, t)
    m = np.ones_like(a)
    r = np.ones_like(a)
    any_zero, any_pos = bool(zero.any()), bool((~zero).any())
    m_t = c_t = m_0 = c_0 = q_t = m
    for _ in range(iters):
        s = np.sqrt(a * r)
        if any_pos:
            th = np.tanh(beta[..., None] * (m[..., None] + s[..., None] * _GH_X))
            m_t = th @ _GH_W
            q_t = (th**2) @ _GH_W
            c_t = beta * (1.0 - q_t)
        if any_zero:
            s0 = np.maximum(s, 1e-300)
            m_0 = erf(m / (math.sqrt(2.0) * s0))
            c_0 = math.sqrt(2.0 / math.pi) / s0 * np.exp(-(m**2) / (2.0 * s0**2))
        q = np.where(zero, 1.0, q_t)
        c = np.minimum(np.where(zero, c_0, c_t), 0.999)  # susceptibility beta (1 - q)
        r = q / (1.0 - c) ** 2
        m_new = np.where(zero, m_0, m_t)
        if np.max(np.abs(m_new - m), initial=0.0) < tol:
            return m_new
        m = m_new
    return m


def ags_retrieval_line(alphas: np.ndarray, threshold: float = 0.05, steps: int = 18) -> np.ndarray:
    """``T_M(alpha)``: largest T with a retrieval solution ``m > threshold`` (bisection).

    Returns 0 where no retrieval solution exists even at T = 0 (alpha > alpha_c).
    """
    a = np.asarray(alphas, dtype=float)
    lo = np.zeros_like(a)
    hi = np.full_like(a, 1.0)
    ok0 = ags_overlap(a, 0.0) > threshold
    for _ in range(steps):
        mid = (lo + hi) / 2
        ok = ags_overlap(a, mid) > threshold
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    return np.where(ok0, lo, 0.0)


@functools.lru_cache(maxsize=8)
def ags_alpha_c(threshold: float = 0.05, steps: int = 22) -> float:
    """``alpha_c(T = 0)`` of the AGS equations by bisection (0.1379)."""
    lo, hi = 0.05, 0.2
    for _ in range(steps):
        mid = (lo + hi) / 2
        if ags_overlap(np.array([mid]), 0.0)[0] > threshold:
            lo = mid
        else:
            hi = mid
    return lo


# --- cells -----------------------------------------------------------------------------------


def _dtype(name: str) -> torch.dtype:
    return torch.float64 if name == "float64" else torch.float32


def _retrieval_cell(cell: dict[str, Any]) -> dict[str, Any]:
    cfg = cell["config"]
    N, alpha = int(cell["N"]), float(cell["alpha"])
    P = max(1, round(alpha * N))
    R = min(P, cfg["n_starts"])
    n_networks = math.ceil(cfg["n_trials"] / R)
    gen = torch.Generator().manual_seed(cfg["seed"] * 1_000_003 + N * 1009 + int(cell["index"]))
    dtype = _dtype(cfg["dtype"])
    overlaps: list[float] = []
    sweeps: list[int] = []
    for _ in range(n_networks):
        xi = random_patterns(P, N, generator=gen, dtype=dtype)
        model = BinaryHopfield.hebbian(xi)
        start = xi[:R]
        if cfg["start_noise"] > 0:
            start = flip_bits(start, cfg["start_noise"], generator=gen)
        res = model.run(start, n_sweeps=cfg["max_sweeps"], generator=gen)
        m = (res.states * xi[:R]).sum(1) / N  # (R,) overlap with the start pattern
        overlaps += m.double().tolist()
        sweeps += res.settled_sweep.tolist()
    overlaps = overlaps[: cfg["n_trials"]]
    return {"N": N, "alpha": alpha, "P": P, "overlaps": overlaps, "sweeps": sweeps}


def _phase_cell(cell: dict[str, Any]) -> dict[str, Any]:
    cfg = cell["config"]
    N, alpha, T = cfg["pd_n"], float(cell["alpha"]), float(cell["T"])
    P = max(1, round(alpha * N))
    R = cfg["pd_trials"]
    gen = torch.Generator().manual_seed(cfg["seed"] * 7 + 100_003 * int(cell["index"]))
    dtype = _dtype(cfg["dtype"])
    xi = random_patterns(P, N, generator=gen, dtype=dtype)
    model = BinaryHopfield.hebbian(xi)
    which = torch.arange(R) % P  # (R,) start pattern of each replica
    res = model.run(
        xi[which],
        dynamics="glauber",
        temperature=T,
        n_sweeps=cfg["pd_sweeps"],
        generator=gen,
        record_every=1,
        patterns=xi,
    )
    if res.overlaps is None:
        raise RuntimeError("BinaryHopfield.run returned no overlaps although patterns were given")
    ov = res.overlaps[:, torch.arange(R), which]  # (T_rec, R) overlap with the own pattern
    last = ov[-min(cfg["pd_measure"], ov.shape[0]) :].mean(0)  # (R,)
    return {
        "alpha": alpha,
        "T": T,
        "P": P,
        "mean_overlap": float(last.mean()),
        "std_overlap": float(last.std()) if R > 1 else 0.0,
    }


@functools.lru_cache(maxsize=8)
def _line(alphas: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(ags_retrieval_line(np.asarray(alphas)).tolist())


def _ags_cell(cell: dict[str, Any]) -> dict[str, Any]:
    alphas = np.asarray(cell["alphas"], dtype=float)
    grid = np.asarray(cell["m_alphas"], dtype=float)
    return {
        "alphas": alphas.tolist(),
        "T_M": list(_line(tuple(alphas.tolist()))),
        "alpha_c": ags_alpha_c(),
        "m_alphas": grid.tolist(),
        "m_T0": ags_overlap(grid, 0.0).tolist(),
        "T_M_small_alpha": _line((1e-6,))[0],
    }


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    kind = cell["kind"]
    if kind == "retrieval":
        return _retrieval_cell(cell)
    if kind == "phase":
        return _phase_cell(cell)
    return _ags_cell(cell)


# --- analysis --------------------------------------------------------------------------------


def crossing(xs: list[float], ys: list[float], level: float) -> float | None:
    """First x where the piecewise-linear curve ``ys(xs)`` falls from >= level to < level."""
    for k in range(len(xs) - 1):
        x0, x1, y0, y1 = xs[k], xs[k + 1], ys[k], ys[k + 1]
        if y0 >= level > y1:
            return x0 + (y0 - level) * (x1 - x0) / (y0 - y1)
    return None


def _fit_intercept(sizes: list[int], values: list[float]) -> tuple[float, float] | None:
    """Least squares ``alpha_c(N) = a + b / sqrt(N)``; None with fewer than 3 points."""
    if len(sizes) < 3:
        return None
    x = 1.0 / np.sqrt(np.asarray(sizes, dtype=float))
    A = np.stack([np.ones_like(x), x], 1)
    coef, *_ = np.linalg.lstsq(A, np.asarray(values, dtype=float), rcond=None)
    return float(coef[0]), float(coef[1])


_N_BOOT = 200


def _per_network(cell: dict[str, Any], n_starts: int) -> list[np.ndarray]:
    """Split a retrieval cell's overlaps into the trials of each network (blocks of R)."""
    R = min(int(cell["P"]), n_starts)
    ov = np.asarray(cell["overlaps"])
    return [ov[i : i + R] for i in range(0, ov.size, R)]


def _bootstrap_alpha_c(
    overlaps: dict[int, list[list[np.ndarray]]], alphas: list[float], success: float, seed: int
) -> dict[str, Any]:
    """Bootstrap spread of alpha_c(N) (fraction crossing 1/2) and of the fit's intercept.

    Each resample redraws, with replacement, the networks of every (N, alpha) cell with all
    their trials (the trials of one network share J and are not independent); a resample
    whose curve does not cross 1/2 is left out for that N (and for the intercept).
    """
    rng = np.random.default_rng(seed)
    per_n: dict[int, list[float]] = {N: [] for N in overlaps}
    intercepts: list[float] = []
    for _ in range(_N_BOOT):
        values: dict[int, float] = {}
        for N, cells in overlaps.items():
            fracs = []
            for nets in cells:
                pick = rng.integers(0, len(nets), len(nets))
                fracs.append(float((np.concatenate([nets[k] for k in pick]) > success).mean()))
            v = crossing(alphas, fracs, 0.5)
            if v is not None:
                values[N] = v
                per_n[N].append(v)
        if len(values) == len(overlaps):
            fit = _fit_intercept(list(values), list(values.values()))
            if fit is not None:
                intercepts.append(fit[0])
    return {
        "std_by_N": {N: float(np.std(v, ddof=1)) for N, v in per_n.items() if len(v) > 1},
        "std_intercept": float(np.std(intercepts, ddof=1)) if len(intercepts) > 1 else None,
    }


def run(config: CapacityConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Every (N, alpha) and (alpha, T) as a resumable cell, then tables and figures."""
    cfg = {k: getattr(config, k) for k in config.__dataclass_fields__}
    cells: dict[str, dict[str, Any]] = {}
    line_alphas = np.linspace(0.002, 0.145, 16).tolist()
    cells["ags"] = {"kind": "ags", "alphas": line_alphas, "m_alphas": list(config.alphas)}
    for N in config.sizes:
        for i, a in enumerate(config.alphas):
            cells[f"N={N},alpha={a:g}"] = {
                "kind": "retrieval",
                "N": N,
                "alpha": a,
                "index": i,
                "config": cfg,
            }
    if config.pd_n:
        k = 0
        for a in config.pd_alphas:
            for t in config.pd_temperatures:
                cells[f"pd,alpha={a:g},T={t:g}"] = {
                    "kind": "phase",
                    "alpha": a,
                    "T": t,
                    "index": k,
                    "config": cfg,
                }
                k += 1
    res = run_cells(_cell, cells, run_dir, executor=ctx.executor, progress=ctx.progress)
    ags = res["ags"]

    # part 1: retrieval vs load
    curves: dict[int, dict[str, list[float]]] = {}
    table = Table(
        "retrieval_vs_load",
        [
            "N",
            "alpha",
            "P",
            "mean overlap",
            "std overlap",
            f"fraction m > {config.success_overlap:g}",
            "mean sweeps",
            "AGS m (T=0)",
        ],
        caption=f"Sequential T = 0 dynamics started at a stored pattern (start noise "
        f"{config.start_noise:g}); final overlap with it over {config.n_trials} trials per "
        "row. AGS m is the replica-symmetric retrieval overlap (0 beyond alpha_c = 0.138).",
    )
    for N in config.sizes:
        rows = [res[f"N={N},alpha={a:g}"] for a in config.alphas]
        means, fracs = [], []
        for r, m_ags in zip(rows, ags["m_T0"], strict=True):
            ov = np.asarray(r["overlaps"])
            sw = [s for s in r["sweeps"] if s >= 0]
            means.append(float(ov.mean()))
            fracs.append(float((ov > config.success_overlap).mean()))
            table.add_row(
                N,
                r["alpha"],
                r["P"],
                means[-1],
                float(ov.std(ddof=1)) if len(ov) > 1 else None,
                fracs[-1],
                float(np.mean(sw)) if sw else None,
                m_ags if m_ags > 0.3 else 0.0,
            )
        curves[N] = {"mean": means, "frac": fracs}
    run_dir.save_table(table)

    alphas = list(config.alphas)
    est = Table(
        "alpha_c_vs_N",
        [
            "N",
            "alpha_c (fraction = 1/2)",
            "bootstrap std",
            f"alpha_c (mean m = {config.mean_threshold:g})",
        ],
        caption=f"Finite-size estimates of alpha_c: the load where the fraction of trials with "
        f"m > {config.success_overlap:g} crosses 1/2, and where the mean overlap crosses "
        f"{config.mean_threshold:g} (linear interpolation on the alpha grid; empty when the "
        f"curve does not cross inside the grid). Std from {_N_BOOT} bootstrap resamples of the "
        "networks of each load (with all their trials).",
    )
    overlaps = {  # per cell: one array of final overlaps per network (its starts share J)
        N: [_per_network(res[f"N={N},alpha={a:g}"], config.n_starts) for a in alphas]
        for N in config.sizes
    }
    boot = _bootstrap_alpha_c(overlaps, alphas, config.success_overlap, config.seed)
    ac_frac: dict[int, float | None] = {}
    ac_mean: dict[int, float | None] = {}
    for N in config.sizes:
        ac_frac[N] = crossing(alphas, curves[N]["frac"], 0.5)
        ac_mean[N] = crossing(alphas, curves[N]["mean"], config.mean_threshold)
        est.add_row(N, ac_frac[N], boot["std_by_N"].get(N), ac_mean[N])
    run_dir.save_table(est)
    known = [(N, v) for N, v in ac_frac.items() if v is not None]
    fit = _fit_intercept([n for n, _ in known], [v for _, v in known])
    largest = known[-1] if known else None

    rows_cmp: list[tuple[str, float | str | None, float | None, float | None]] = [
        ("AGS alpha_c(T=0), our RS solver", ALPHA_C, ags["alpha_c"], None),
        (
            "AGS T_M(alpha = 1e-6), our RS solver (T_c = 1 at alpha = 0)",
            1.0,
            ags["T_M_small_alpha"],
            None,
        ),
        (
            f"alpha_c(N) from simulations, largest N = {largest[0]}" if largest else "alpha_c(N)",
            ALPHA_C,
            largest[1] if largest else None,
            boot["std_by_N"].get(largest[0]) if largest else None,
        ),
        (
            "alpha_c(N -> inf), fit a + b/sqrt(N) (heuristic)",
            ALPHA_C,
            fit[0] if fit else None,
            boot["std_intercept"] if fit else None,
        ),
    ]
    run_dir.save_table(
        comparison_table(
            "theory",
            rows_cmp,
            caption="The notes' capacity alpha_c ~ 0.138 (AGS) and T_c = 1 at alpha = 0 against "
            "our replica-symmetric solver and our simulations (estimator: fraction of "
            f"retrieving trials (m > {config.success_overlap:g}) crossing 1/2).",
        )
    )

    # part 2: phase diagram
    pd_summary: dict[str, Any] = {}
    if config.pd_n:
        grid = np.array(
            [
                [res[f"pd,alpha={a:g},T={t:g}"]["mean_overlap"] for a in config.pd_alphas]
                for t in config.pd_temperatures
            ]
        )  # (n_T, n_alpha)
        pd_table = Table(
            "phase_diagram",
            ["T", *[f"alpha={a:g}" for a in config.pd_alphas]],
            caption=f"Mean overlap with the start pattern after {config.pd_sweeps} Glauber "
            f"sweeps (averaged over the last {config.pd_measure} and {config.pd_trials} "
            f"replicas), N = {config.pd_n}.",
        )
        for t, row in zip(config.pd_temperatures, grid, strict=True):
            pd_table.add_row(t, *row.tolist())
        run_dir.save_table(pd_table)
        pd_summary = {"phase_mean_overlap": grid.tolist()}

    _figures(config, curves, ags, res, run_dir, fit)
    return {
        "alpha_c_by_N": {str(N): v for N, v in ac_frac.items()},
        "alpha_c_mean_overlap_by_N": {str(N): v for N, v in ac_mean.items()},
        "alpha_c_extrapolated": fit[0] if fit else None,
        "alpha_c_extrapolated_std": boot["std_intercept"] if fit else None,
        "alpha_c_std_by_N": {str(N): v for N, v in boot["std_by_N"].items()},
        "ags_alpha_c": ags["alpha_c"],
        **pd_summary,
    }


def _figures(
    config: CapacityConfig,
    curves: dict[int, dict[str, list[float]]],
    ags: dict[str, Any],
    res: dict[str, dict[str, Any]],
    run_dir: RunDir,
    fit: tuple[float, float] | None,
) -> None:
    alphas = list(config.alphas)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for N in config.sizes:
        axes[0].plot(alphas, curves[N]["mean"], "o-", ms=4, label=f"N = {N}")
        axes[1].plot(alphas, curves[N]["frac"], "o-", ms=4, label=f"N = {N}")
    m_ags = np.where(np.asarray(ags["m_T0"]) > 0.3, ags["m_T0"], np.nan)
    axes[0].plot(alphas, m_ags, "k--", lw=1, label="AGS (RS) m")
    for ax in axes:
        ax.axvline(ALPHA_C, color="0.6", ls=":", lw=1)
        ax.set(xlabel="load alpha = P/N")
    axes[0].set(ylabel="mean final overlap m", title="Retrieval from a stored pattern (T = 0)")
    axes[1].set(
        ylabel=f"fraction with m > {config.success_overlap:g}",
        title="alpha_c(N): where this crosses 1/2",
    )
    axes[1].axhline(0.5, color="0.6", lw=1)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    run_dir.save_figure(fig, "retrieval_vs_load")

    if config.pd_n:
        grid = np.array(
            [
                [res[f"pd,alpha={a:g},T={t:g}"]["mean_overlap"] for a in config.pd_alphas]
                for t in config.pd_temperatures
            ]
        )
        fig, ax = plt.subplots(figsize=(6, 4.5))
        a = np.asarray(config.pd_alphas)
        t = np.asarray(config.pd_temperatures)
        mesh = ax.pcolormesh(_edges(a), _edges(t), grid, vmin=0, vmax=1, cmap="viridis")
        fig.colorbar(mesh, ax=ax, label="mean overlap m")
        la = np.asarray(ags["alphas"])
        tm = np.asarray(ags["T_M"])
        ax.plot(
            np.concatenate([[0.0], la[tm > 0], [ags["alpha_c"]]]),
            np.concatenate([[1.0], tm[tm > 0], [0.0]]),
            "w--",
            lw=2,
            label="AGS retrieval line T_M",
        )
        ax.set(
            xlabel="load alpha",
            ylabel="temperature T",
            title=f"Retrieval phase diagram, Glauber, N = {config.pd_n}",
            xlim=(0, a.max() * 1.05 + 0.005),
            ylim=(0, t.max() * 1.05 + 0.05),
        )
        ax.legend(fontsize=8, loc="upper right")
        run_dir.save_figure(fig, "phase_diagram")
    plt.close("all")


def _edges(v: np.ndarray) -> np.ndarray:
    """Cell edges around the centres ``v`` (for pcolormesh)."""
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5]) if v[0] else np.array([0.0, 1.0])
    mids = (v[1:] + v[:-1]) / 2
    return np.concatenate([[max(0.0, v[0] - (mids[0] - v[0]))], mids, [v[-1] + v[-1] - mids[-1]]])


_QUICK_ALPHAS = (0.08, 0.1, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18, 0.2)
_PD_ALPHAS = (0.01, 0.03, 0.05, 0.07, 0.09, 0.11, 0.13, 0.15)
_PD_TEMPS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2)

register(
    Experiment(
        name="capacity",
        title="Hebbian Hopfield capacity alpha_c ~ 0.138, finite-size drift, (alpha, T) diagram",
        paper="continuous-hopfield-networks-notes, ch. 2 (capacity alpha_c ~ 0.138, AGS)",
        figure="alpha_c = 0.138 at T = 0; T_c = 1 at alpha = 0 (AGS phase diagram)",
        config_cls=CapacityConfig,
        profiles={
            "demo": CapacityConfig(),
            "quick": CapacityConfig(
                sizes=(250, 500, 1000, 2000),
                alphas=_QUICK_ALPHAS,
                n_trials=192,
                pd_n=400,
                pd_alphas=_PD_ALPHAS,
                pd_temperatures=_PD_TEMPS,
                pd_trials=32,
                pd_sweeps=30,
            ),
            "paper": CapacityConfig(
                sizes=(500, 1000, 2000, 4000, 8000),
                alphas=_QUICK_ALPHAS,
                n_trials=500,
                n_starts=100,
                max_sweeps=300,
                pd_n=2000,
                pd_alphas=_PD_ALPHAS,
                pd_temperatures=_PD_TEMPS,
                pd_trials=100,
                pd_sweeps=100,
                pd_measure=20,
            ),
        },
        runtime={
            "demo": "~25 s (2 CPU cores)",
            "quick": "~2-3 min (2 CPU cores)",
            "paper": "hours on 2 CPU cores; use --executor ray or a GPU",
        },
        run=run,
    )
)
