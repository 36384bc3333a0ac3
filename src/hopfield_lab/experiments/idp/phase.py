"""E8: the (kappa, Z0) collapse phase diagram, coloured by the memories retrieved (spec E8, T3, T4).

Command::

    hopfield-lab run idp-phase --profile quick

Theory [A, D]: for ``kappa >= 4`` the sequence is sustained iff ``Z0 > Z_-(kappa)`` (the basin
edge) and collapses otherwise; for ``kappa < 4`` it always collapses. With an open chain of
``P`` memories the map predicts ``min(n_retrieved, P)`` retrievals
(:func:`hopfield_lab.theory.idp.retrieved_count`).

Simulation: :class:`~hopfield_lab.models.idp.SequentialIDP` ([P] slow law), every grid point
``(kappa, Z0)`` one replica of a single batch (per-replica gains and initial saliencies),
``P`` Hadamard memories of length 64, ``dt = 0.01``, ``sigma = 1e-3``; a replica's count is
its retrievals (the initial memory included) before the confusion state.

Finite eps biases every entry saliency upward (spec T8), which lowers the basin edge and the
effective critical gain below 4 (the map's slow passage near its saddle-node ghost at ``kappa``
just under 4 gives the bias many steps to act): the simulation can retrieve *more* than the
map, never fewer. The headline checks that direction: every grid point the map sustains is
sustained, and no point retrieves fewer memories than the map's count; the agreement fractions
are in ``theory_vs_simulation``, and the paper profile (eps = 0.002, finer grid) measures how
the bias shrinks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import torch

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.experiments.fields import Increasing, NonEmpty, Positive
from hopfield_lab.experiments.idp._common import ChainConfig, memories
from hopfield_lab.models.idp import SequentialIDP
from hopfield_lab.runs import RunDir, Table, at_least, check_table, comparison_table, run_cells
from hopfield_lab.runs.plots import figure
from hopfield_lab.theory import idp as theory

__all__ = ["PhaseConfig", "report", "run", "theory_counts"]


@dataclass(frozen=True)
class PhaseConfig(ChainConfig):
    """Config of E8: :class:`~hopfield_lab.experiments.idp._common.ChainConfig`, and

    Attributes:
        kappas: gains of the grid. Z0s: initial saliencies of the grid (> 1). eps: time-scale
            ratio.
    """

    kappas: Annotated[tuple[float, ...], NonEmpty, Increasing, Positive] = tuple(
        float(k) for k in np.linspace(3.0, 7.0, 9)
    )
    Z0s: Annotated[tuple[float, ...], NonEmpty, Increasing, Positive] = tuple(
        round(float(z), 4) for z in np.linspace(1.1, 4.0, 12)
    )
    eps: Annotated[float, Positive] = 0.005

    def check(self) -> None:
        """Hadamard sizes; memory 0 exists at every initial saliency."""
        super().check()
        if min(self.Z0s) <= 1.0:
            raise ConfigError(f"Z0s must be > 1 (memory 0 must exist); got {min(self.Z0s)}")


def _grid(config: PhaseConfig) -> dict[str, dict[str, Any]]:
    return {"grid": {"config": config}}


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Every grid point ``(kappa, Z0)`` one replica of a single batch."""
    config: PhaseConfig = cell["config"]
    X = memories(config.n_units, config.n_patterns, True, config.seed)
    kk, zz = np.meshgrid(list(config.kappas), list(config.Z0s), indexing="ij")  # (K, Z)
    P = config.n_patterns
    longest = max(
        float(np.sum(theory.orbit(float(z), float(k), P - 1).dwell_times))
        for k, z in zip(kk.ravel(), zz.ravel(), strict=True)
    )
    model = SequentialIDP(X, kappa=kk.ravel().tolist(), eps=config.eps)
    run = model.simulate(
        Z0=torch.tensor(zz.ravel(), dtype=torch.float64),
        T=1.2 * longest + 1.0,
        dt=config.dt,
        sigma=config.sigma,
        seed=config.seed,
        record_every=0.01,
        record_states=False,
    )
    return {
        "n_retrieved": run.n_retrieved.reshape(kk.shape).tolist(),
        "collapsed": run.collapsed.reshape(kk.shape).tolist(),
        "steps": run.steps,
        "final_time": float(run.times[-1]),
    }


def theory_counts(config: PhaseConfig) -> np.ndarray:
    """``(K, Z)`` retrievals the map predicts on an open chain of ``n_patterns`` memories."""
    return np.array(
        [
            [theory.retrieved_count(z, k, config.n_patterns) for z in config.Z0s]
            for k in config.kappas
        ]
    )


def run(config: PhaseConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """One cell: the whole grid as one batch; agreement with the map's counts."""
    run_cells(_cell, _grid(config), run_dir, executor=ctx.executor, progress=ctx.progress)
    sim = run_dir.load_cell("grid")
    got = np.asarray(sim["n_retrieved"])
    want = theory_counts(config)
    P = config.n_patterns
    return {
        "grid_points": int(want.size),
        "fraction_count_agrees": float(np.mean(got == want)),
        "fraction_within_one": float(np.mean(np.abs(got - want) <= 1)),
        "sustained_theory": int(np.sum(want == P)),
        "sustained_sim": int(np.sum(got == P)),
        "sustained_both": int(np.sum((want == P) & (got == P))),
        "steps": sim["steps"],
    }


def _boundary(counts: np.ndarray, Z0s: tuple[float, ...], P: int) -> list[float | None]:
    """Per gain, the smallest grid Z0 from which the whole chain is retrieved (None if none)."""
    out: list[float | None] = []
    for row in counts:
        full = np.nonzero(row == P)[0]
        out.append(float(Z0s[full[0]]) if full.size else None)
    return out


def report(config: PhaseConfig, run_dir: RunDir) -> None:
    """Headline table, per-gain basin edge, and the two phase diagrams side by side."""
    sim = run_dir.load_cell("grid")
    res = run_dir.read_results()
    got = np.asarray(sim["n_retrieved"])
    want = theory_counts(config)
    P = config.n_patterns
    sustained = f"grid points the map sustains (all P={P}) that the simulation sustains"
    fewest = "smallest count difference simulation - map over the grid"
    checks = [
        at_least(sustained, res["sustained_both"], res["sustained_theory"], claim="= all"),
        at_least(fewest, int((got - want).min()), 0, claim=">= 0 (finite eps biases upward)"),
    ]
    run_dir.save_table(
        check_table(
            "headline",
            checks,
            f"E8 [A, D] on a {len(config.kappas)} x {len(config.Z0s)} grid: for kappa >= 4 the "
            "sequence is sustained iff Z0 > Z_-(kappa); at finite eps (here "
            f"{config.eps:g}) the entry saliencies are biased upward (spec T8), so the simulation "
            "retrieves at least the map's count: it may sustain more points, never fewer.",
            headline=True,
        )
    )
    rows: list[tuple[str, float | str | None, float | None, float | None]] = [
        ("grid points with the map's count (fraction)", 1.0, res["fraction_count_agrees"], None),
        (
            "grid points within one memory of the map (fraction)",
            1.0,
            res["fraction_within_one"],
            None,
        ),
        (
            f"grid points retrieving the whole chain (P={P})",
            res["sustained_theory"],
            res["sustained_sim"],
            None,
        ),
    ]
    b_sim = _boundary(got, config.Z0s, P)
    b_map = _boundary(want, config.Z0s, P)
    k_sim = [k for k, b in zip(config.kappas, b_sim, strict=True) if b is not None]
    k_map = [k for k, b in zip(config.kappas, b_map, strict=True) if b is not None]
    rows.append(
        (
            "smallest grid kappa retrieving the whole chain from some Z0 (kappa_c = 4)",
            min(k_map) if k_map else None,
            min(k_sim) if k_sim else None,
            None,
        )
    )
    for k, bs, bm in zip(config.kappas, b_sim, b_map, strict=True):
        zm = theory.map_fixed_points(k)[1]
        edge = "none (kappa < 4)" if math.isnan(zm) else f"Z_- = {zm:.4g}"
        rows.append((f"kappa={k:g}: smallest grid Z0 retrieving the chain ({edge})", bm, bs, None))
    run_dir.save_table(
        comparison_table(
            "theory_vs_simulation",
            rows,
            caption=(
                f"E8 on a {len(config.kappas)} x {len(config.Z0s)} grid: 'paper' = the map's "
                f"count min(n_retrieved, P) on an open chain of P = {P}; 'ours' = "
                f"SequentialIDP ([P] slow law), eps = {config.eps:g}. The map's basin edge is "
                "Z_-(kappa) (for a finite chain the first grid Z0 that retrieves all P can lie "
                "a little below Z_-: orbits near Z_- take many steps to collapse)."
            ),
        )
    )
    counts = Table(
        "counts",
        ["kappa", *[f"Z0={z:g}" for z in config.Z0s]],
        caption="Simulated retrievals (map's in brackets) per grid point.",
    )
    for i, k in enumerate(config.kappas):
        counts.add_row(
            k, *[f"{int(got[i, j])} ({int(want[i, j])})" for j in range(len(config.Z0s))]
        )
    run_dir.save_table(counts)
    k_fine = np.linspace(min(config.kappas), max(config.kappas), 300)
    zm_fine = theory.map_fixed_points(k_fine)[1]
    dk = np.diff(config.kappas).mean() / 2 if len(config.kappas) > 1 else 0.5
    dz = np.diff(config.Z0s).mean() / 2 if len(config.Z0s) > 1 else 0.5
    extent = (
        config.kappas[0] - dk,
        config.kappas[-1] + dk,
        config.Z0s[0] - dz,
        config.Z0s[-1] + dz,
    )
    with figure(run_dir, "phase", ncols=2, size=(11.5, 4.4)) as (fig, axes):
        for ax, data, title in (
            (axes[0], want, "map: memories retrieved"),
            (axes[1], got, f"simulation (eps = {config.eps:g})"),
        ):
            im = ax.imshow(
                data.T, origin="lower", aspect="auto", extent=extent, cmap="viridis", vmin=0, vmax=P
            )
            ax.plot(k_fine, zm_fine, "w--", lw=1.2, label="Z_-(kappa)")
            ax.axvline(theory.KAPPA_CRITICAL, color="w", lw=0.8, ls=":")
            ax.set(xlabel="gain kappa", ylabel="initial saliency Z0", title=title, ylim=extent[2:])
        axes[0].legend(fontsize=7, loc="upper left")
        fig.colorbar(im, ax=axes, label="memories retrieved")


register(
    Experiment(
        name="idp-phase",
        title="Collapse phase diagram over (kappa, Z0), coloured by memories retrieved (E8)",
        paper="Betteti, Baggio, Zampieri, arXiv 2603.03201; spec E8",
        figure="E8: (kappa, Z0) phase diagram",
        config_cls=PhaseConfig,
        profiles={
            "demo": PhaseConfig(
                kappas=(3.0, 4.5, 6.0), Z0s=(1.15, 2.0, 3.0), n_patterns=4, eps=0.02
            ),
            "quick": PhaseConfig(),
            "paper": PhaseConfig(
                kappas=tuple(float(k) for k in np.linspace(3.0, 8.0, 21)),
                Z0s=tuple(round(float(z), 4) for z in np.linspace(1.05, 4.0, 30)),
                n_patterns=12,
                eps=0.002,
            ),
        },
        runtime={"demo": "~4 s", "quick": "~2 min (33 s CPU)", "paper": "~1 h CPU"},
        memory={"quick": "4.2 GiB"},
        claim=(
            "On a 9 x 12 (kappa, Z0) grid at eps = 0.005 the simulated retrieval counts follow "
            "the map's, sustained beyond Z_-(kappa) for kappa >= 4, never below the map's count."
        ),
        expected=(
            "87% of the 108 points agree exactly, 89% within one memory; every disagreement "
            "retrieves more than the map: one grid step below Z_- for 4 <= kappa <= 5, and the "
            "column kappa = 3.5 for Z0 >= 1.6 (the chain of 8 from Z0 >= 2.68)."
        ),
        run=run,
        report=report,
    )
)
