"""Curie-Weiss magnetisation: mean-field theory against Glauber simulations at finite N.

Command::

    hopfield-lab run curie-weiss --profile demo     # ~20 s CPU (2 cores)
    hopfield-lab run curie-weiss --profile quick    # ~4 min CPU (2 cores)
    hopfield-lab run curie-weiss --profile paper    # N up to 4096, long chains: ~hours on CPU

Setting (lecture notes, ch. 2, Sec. 2.2.1). ``BinaryHopfield.curie_weiss(N, J, h)``:
``J_ij = J/N`` (``i != j``), uniform field ``h``. For every size ``N`` and temperature ``T``,
``replicas`` chains start from the all-up state and run Glauber (heat-bath) dynamics at ``T``:
``burn_in`` sweeps, then ``n_samples`` measurements of ``m = (1/N) sum_i s_i``, one every
``sample_every`` sweeps. Each chain's time average of ``|m|`` is one estimate; the table gives
the mean over chains and its standard error.

Three predictions are compared:

* the mean-field magnetisation ``m*(T)`` (largest root of ``m = tanh(beta (J m + h))``, Eq. 2.8,
  :mod:`hopfield_lab.theory.curie_weiss`): 0 above ``T_c = J``, ``~ sqrt(3 (T_c - T))`` below;
* the exact finite-``N`` equilibrium ``E_N |m|`` from the magnetisation law
  ``P_N(m) ~ C(N, k) exp(-beta H)`` (:func:`~hopfield_lab.theory.finite_size_magnetization_law`),
  what a converged chain must reproduce: this is the "theory" column of the main table, so the
  gap measures the simulation (equilibration, statistics), not the thermodynamic limit;
* finite-size rounding: ``E_N |m| ~ N^{-1/2}`` above ``T_c`` instead of 0 and a smooth crossover
  instead of the kink at ``T_c``, shrinking as ``N`` grows (table ``finite_size``, figure
  ``magnetization``).

The figure ``free_energy`` shows ``f(m) - min f`` (Landau form of the notes) at a few
temperatures, with the finite-``N`` estimate ``-(T/N) ln P_N(m)`` (exact law, largest ``N``)
and, at simulated temperatures, the same estimate from the chains' histogram of ``m``.

The notes give no numbers for this model beyond ``T_c = J`` and the square-root law; both are
checked in ``tests/test_theory.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from hopfield_lab.errors import ConfigError, check_int, check_positive, check_range
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.models.binary import BinaryHopfield
from hopfield_lab.runs import RunDir, Table, comparison_table, run_cells
from hopfield_lab.theory import (
    curie_weiss_critical_temperature,
    curie_weiss_free_energy,
    equilibrium_magnetization,
    finite_size_magnetization_law,
)

__all__ = ["CurieWeissConfig", "run"]


@dataclass(frozen=True)
class CurieWeissConfig:
    """Config of the Curie-Weiss experiment (see the module docstring).

    Attributes:
        sizes: numbers of spins ``N`` to simulate.
        temperatures: Glauber temperatures ``T > 0``.
        J: coupling (``T_c = J``). h: uniform field.
        replicas: independent chains per ``(N, T)``.
        burn_in: sweeps before the first measurement.
        n_samples: measurements of ``m`` per chain. sample_every: sweeps between them.
        free_energy_temperatures: temperatures of the ``f(m)`` figure.
        seed: seeds every chain.
    """

    sizes: tuple[int, ...] = (16, 64, 256)
    temperatures: tuple[float, ...] = (0.6, 0.8, 0.9, 1.0, 1.1, 1.3)
    J: float = 1.0
    h: float = 0.0
    replicas: int = 32
    burn_in: int = 40
    n_samples: int = 40
    sample_every: int = 1
    free_energy_temperatures: tuple[float, ...] = (0.8, 1.0, 1.3)
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.sizes:
            raise ConfigError("sizes must not be empty")
        for n in self.sizes:
            check_int("sizes", n, 2, 100_000)
        if not self.temperatures:
            raise ConfigError("temperatures must not be empty")
        for t in self.temperatures:
            check_positive("temperatures", t)
        check_range("J", self.J, 0.0, low_inclusive=False)
        check_range("h", self.h)
        check_int("replicas", self.replicas, 2)
        check_int("burn_in", self.burn_in, 0)
        check_int("n_samples", self.n_samples, 1)
        check_int("sample_every", self.sample_every, 1)
        for t in self.free_energy_temperatures:
            check_positive("free_energy_temperatures", t)
        check_int("seed", self.seed, 0)


def _exact_mean_abs(n: int, T: float, J: float, h: float) -> float:
    m, p = finite_size_magnetization_law(n, 1.0 / T, J, h)
    return float((p * np.abs(m)).sum())


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Glauber chains for one ``(N, T)``: per-chain mean ``|m|`` and the histogram of ``m``."""
    cfg = cell["config"]
    n, T = int(cell["n"]), float(cell["temperature"])
    device = cell.get("device", "cpu")
    gen = torch.Generator(device=device).manual_seed(int(cell["seed"]))
    model = BinaryHopfield.curie_weiss(n, cfg["J"], cfg["h"]).to(device)
    s = torch.ones(cfg["replicas"], n, dtype=torch.float64, device=device)
    if cfg["burn_in"]:
        s = model.run(
            s, dynamics="glauber", temperature=T, n_sweeps=cfg["burn_in"], generator=gen
        ).states
    samples = []
    for _ in range(cfg["n_samples"]):
        s = model.run(
            s, dynamics="glauber", temperature=T, n_sweeps=cfg["sample_every"], generator=gen
        ).states
        samples.append(s.sum(1).round().long().cpu())  # (R,) magnetisation times N
    M = torch.stack(samples)  # (n_samples, R)
    per_chain = (M.abs().double() / n).mean(0)  # (R,)
    counts = torch.bincount((n - M.flatten()) // 2, minlength=n + 1)  # index k = spins down
    return {
        "n": n,
        "temperature": T,
        "mean_abs_m_chains": per_chain.tolist(),
        "mean_m": float(M.double().mean() / n),
        "counts": counts.tolist(),
    }


def run(config: CurieWeissConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Simulate every ``(N, T)`` as one resumable cell, then tables, figures and the summary."""
    cfg = asdict(config)
    cells = {
        f"N={n},T={t:g}": {
            "n": n,
            "temperature": t,
            "seed": config.seed * 1_000_003 + 7919 * i + j,
            "config": cfg,
            "device": ctx.device,
        }
        for i, n in enumerate(config.sizes)
        for j, t in enumerate(config.temperatures)
    }
    results = run_cells(_cell, cells, run_dir, executor=ctx.executor, progress=ctx.progress)
    rows = []
    for key in cells:
        r = results[key]
        chains = np.asarray(r["mean_abs_m_chains"])
        rows.append(
            {
                "n": r["n"],
                "temperature": r["temperature"],
                "sim": float(chains.mean()),
                "sem": float(chains.std(ddof=1) / np.sqrt(chains.size)),
                "exact": _exact_mean_abs(r["n"], r["temperature"], config.J, config.h),
                "mean_field": float(
                    abs(equilibrium_magnetization(1.0 / r["temperature"], config.J, config.h))
                ),
                "counts": r["counts"],
            }
        )
    _tables(config, rows, run_dir)
    _figures(config, rows, run_dir)
    z = [abs(r["sim"] - r["exact"]) / max(r["sem"], 1e-12) for r in rows]
    largest = max(config.sizes)
    return {
        "critical_temperature_theory": curie_weiss_critical_temperature(config.J),
        "max_abs_gap_vs_exact_finite_n": max(abs(r["sim"] - r["exact"]) for r in rows),
        "max_z_score_vs_exact_finite_n": max(z),
        "fraction_within_3_sem": float(np.mean([v <= 3 for v in z])),
        "max_abs_gap_vs_mean_field_largest_n": max(
            abs(r["sim"] - r["mean_field"]) for r in rows if r["n"] == largest
        ),
        "cells": len(rows),
    }


def _tables(config: CurieWeissConfig, rows: list[dict[str, Any]], run_dir: RunDir) -> None:
    run_dir.save_table(
        comparison_table(
            "magnetization",
            [
                (f"E|m|, N={r['n']}, T={r['temperature']:g}", r["exact"], r["sim"], r["sem"])
                for r in rows
            ],
            caption=(
                "Mean |m| of Glauber chains (ours, ± standard error over chains) against the exact "
                "finite-N equilibrium E_N|m| (theory column 'paper'); "
                f"J={config.J:g}, h={config.h:g}, {config.replicas} chains, "
                f"{config.burn_in} burn-in sweeps, {config.n_samples} samples every "
                f"{config.sample_every} sweep(s)."
            ),
        )
    )
    columns = ["T", "mean-field m*(T)"]
    for n in config.sizes:
        columns += [f"exact E|m| N={n}", f"sim N={n}", f"sim - m* N={n}"]
    table = Table(
        "finite_size",
        columns,
        caption=(
            "Finite-size rounding: mean-field m*(T) (N = inf) against the exact finite-N "
            f"E|m| and the simulation; T_c = J = {config.J:g}."
        ),
    )
    for t in config.temperatures:
        by_n = {r["n"]: r for r in rows if r["temperature"] == t}
        mf = next(iter(by_n.values()))["mean_field"]
        cells: list[Any] = [t, mf]
        for n in config.sizes:
            r = by_n[n]
            cells += [r["exact"], r["sim"], r["sim"] - mf]
        table.add_row(*cells)
    run_dir.save_table(table)


def _figures(config: CurieWeissConfig, rows: list[dict[str, Any]], run_dir: RunDir) -> None:
    J, h = config.J, config.h
    t_hi = max(max(config.temperatures), 1.5 * J)
    grid = np.linspace(0.02 * J, t_hi, 300)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.plot(grid, np.abs(equilibrium_magnetization(1.0 / grid, J, h)), "k-", lw=2, label="N = ∞")
    for i, n in enumerate(config.sizes):
        exact = [_exact_mean_abs(n, t, J, h) for t in grid]
        ax.plot(grid, exact, color=f"C{i}", lw=1, ls="--")
        sim = [r for r in rows if r["n"] == n]
        ax.errorbar(
            [r["temperature"] for r in sim],
            [r["sim"] for r in sim],
            yerr=[r["sem"] for r in sim],
            fmt="o",
            color=f"C{i}",
            ms=4,
            capsize=2,
            label=f"N = {n}: Glauber (dots), exact (dashes)",
        )
    ax.axvline(J, color="0.6", lw=0.8, ls=":")
    ax.set(xlabel="temperature T", ylabel="E|m|", title="Curie-Weiss magnetisation vs T")
    ax.legend(fontsize=8)
    fig.tight_layout()
    run_dir.save_figure(fig, "magnetization")

    n_big = max(config.sizes)
    sim_big = {r["temperature"]: r for r in rows if r["n"] == n_big}
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    m = np.linspace(-0.999, 0.999, 400)
    for i, t in enumerate(config.free_energy_temperatures):
        f = curie_weiss_free_energy(m, 1.0 / t, J, h)
        ax.plot(m, f - f.min(), color=f"C{i}", lw=2, label=f"T = {t:g}: f(m) - min f")
        mk, p = finite_size_magnetization_law(n_big, 1.0 / t, J, h)
        keep = p > 1e-300
        est = -t / n_big * np.log(p[keep])
        ax.plot(mk[keep], est - est.min(), color=f"C{i}", lw=1, ls="--")
        if t in sim_big:
            counts = np.asarray(sim_big[t]["counts"], dtype=float)
            seen = counts > 0
            est_sim = -t / n_big * np.log(counts[seen] / counts.sum())
            ax.plot(mk[seen], est_sim - est_sim.min(), "o", color=f"C{i}", ms=3)
    ax.set(
        xlabel="m",
        ylabel="free energy per spin (shifted)",
        title=f"f(m): mean field (solid), -(T/N) ln P_N(m), N={n_big}: exact (dashes), sim (dots)",
    )
    ax.title.set_fontsize(8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    run_dir.save_figure(fig, "free_energy")


_PAPER_TEMPERATURES = (
    *(0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.975, 1.0),
    *(1.025, 1.05, 1.1, 1.15, 1.2, 1.3, 1.5),
)
register(
    Experiment(
        name="curie-weiss",
        title="Curie-Weiss m(T): mean-field theory vs Glauber chains at finite N",
        paper="continuous-hopfield-networks-notes, ch. 2, Sec. 2.2.1",
        figure="Eq. 2.8, free energy f(m), phase transition at T_c = J",
        config_cls=CurieWeissConfig,
        profiles={
            "demo": CurieWeissConfig(),
            "quick": CurieWeissConfig(
                sizes=(16, 64, 256, 1024),
                temperatures=(0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.4),
                replicas=64,
                burn_in=100,
                n_samples=100,
                sample_every=1,
                free_energy_temperatures=(0.8, 0.95, 1.0, 1.2),
            ),
            "paper": CurieWeissConfig(
                sizes=(64, 256, 1024, 4096),
                temperatures=_PAPER_TEMPERATURES,
                replicas=128,
                burn_in=1000,
                n_samples=500,
                sample_every=2,
                free_energy_temperatures=(0.8, 0.95, 1.0, 1.2),
            ),
        },
        runtime={"demo": "~20 s", "quick": "~4 min (2 CPU cores)", "paper": "hours (CPU) / GPU"},
        run=run,
    )
)
