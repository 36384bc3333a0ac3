"""Figures 3-4 of the DEQ paper: relative residual against iteration over the test set.

Setting: the models of ``deq-table2`` (:mod:`hopfield_lab.training.deq_paper`), trained
the same way; then, on the test set, every sample runs the full forward budget and its
relative residual ``r_t = |s_{t+1} - s_t| / |s_{t+1}|`` between successive outputs of the
(damped) DEQ map is summarised at every iteration, as hopdeq's
``track_log_relative_residual`` callback does (:func:`~hopfield_lab.analysis.successive_residuals`).
The demo profile trains one HAM (HAM-EO-DEQ's solver) and records the four HAM solvers on its
weights (``shared_training``); quick and paper train each configuration.

The figures show, per configuration, the density of log10 residual against iteration summed
over seeds (Fig. 3: 3-layer CHN and HAM; Fig. 4: deeper HAMs) and the mean iterations needed for
each tolerance, which the headline table ``iters_at_tol`` lists beside Table 2. Beyond the paper:
``two_cycle``, App. E's problem 1 on an example
(:func:`~hopfield_lab.training.deq_paper.two_cycle_traces`), and ``ham_energy``, Theorem 2 on a
trained 3-layer HAM (:func:`~hopfield_lab.training.deq_paper.energies_by_scheme`; a rise counts
by :func:`~hopfield_lab.analysis.energy_rises` without a scale: beyond ``sqrt(eps) max |E|``).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, replace
from typing import Annotated, Any

import numpy as np

from hopfield_lab.analysis import LOG_RESIDUAL_BINS, energy_rises
from hopfield_lab.data import mnist_tensors
from hopfield_lab.experiments.base import RunContext, register
from hopfield_lab.experiments.deq._common import TrainingConfig
from hopfield_lab.experiments.fields import Min
from hopfield_lab.models.deq_paper import HAM_ORDER, MODELS, paper_numbers, settings_for
from hopfield_lab.runs import RunDir, Table, check_table, decreasing_checks, equals
from hopfield_lab.runs.plots import figure, heatmap, panel_grid
from hopfield_lab.training.deq_paper import (
    TOLERANCES,
    TrainSpec,
    energies_by_scheme,
    expand_shared,
    load_trained,
    train_cell,
    train_cells,
    two_cycle_traces,
)

__all__ = ["ResidualsConfig", "report", "run"]


@dataclass(frozen=True)
class ResidualsConfig(TrainingConfig):
    """Config of Figures 3-4 (the fields of what is trained: :class:`.TrainingConfig`).

    Attributes:
        n_resid: test images whose residual curves are recorded (0: all 10,000).
        n_energy: test images of the energy-along-iterations diagnostic (0: none).
    """

    n_resid: Annotated[int, Min(0)] = 0
    n_energy: Annotated[int, Min(0)] = 200


def _grid(config: ResidualsConfig, device: str = "cpu") -> dict[str, Any]:
    """The training cells (see ``deq-table2``), each evaluated on ``n_resid`` test images; the
    2-cycle example; the energy along iterations of the first 3-layer HAM trained."""
    n_resid = config.n_resid or 10_000
    cells = train_cells(config, device, n_test=n_resid, n_resid=n_resid)
    specs = [c["spec"] for c in cells.values()]
    ham3 = [s for s in specs if s.depth == 3 and MODELS[s.model].kind == "ham"]
    cells["two_cycle"] = {"kind": "two_cycle"}
    if config.n_energy and ham3:
        cells["ham_energy"] = {"kind": "energy", "spec": ham3[0], "config": config}
    return cells


def _cell(cell: dict[str, Any], root: str = ".") -> dict[str, Any]:
    kind = cell.get("kind", "train")
    if kind == "two_cycle":
        return two_cycle_traces()
    if kind == "energy":
        return _energy(cell["spec"], cell["config"], root)
    return train_cell(cell, root)


def _energy(spec: TrainSpec, config: ResidualsConfig, root: str) -> dict[str, Any]:
    """HAM energy along synchronous and even-odd iterations on test images (trained HAM)."""
    x = mnist_tensors(config.mnist_path)["test"][0][: config.n_energy].double()
    steps = settings_for("HAM", 3).solver.max_iter
    out: dict[str, Any] = {"model": spec.model}
    for scheme, e in energies_by_scheme(load_trained(spec, root), x, steps).items():  # (T, B)
        out[scheme] = {
            "rise_rate": float(energy_rises(e).double().mean()),
            "excess": (e - e[-1]).mean(1).clamp_min(1e-16).tolist(),  # (T,)
        }
    return out


def _stats(config: ResidualsConfig, run_dir: RunDir) -> dict[tuple[int, str], dict[str, Any]]:
    """Per (depth, model): the histogram summed over seeds and mean iterations per tolerance."""
    trained = [k for k, cell in _grid(config).items() if "kind" not in cell]
    res = expand_shared({k: run_dir.load_cell(k) for k in trained})
    stats = {}
    for depth, model in itertools.product(config.depths, config.models):
        if MODELS[model].kind == "chn" and depth != 3:
            continue  # the CHN runs at depth 3 only
        runs = [res[f"depth={depth},model={model},seed={s}"]["final"] for s in range(config.seeds)]
        stats[(depth, model)] = {
            "hist": np.sum([np.asarray(r["hist"]) for r in runs], axis=0),  # (T, bins)
            "iters_at_tol": {
                t: float(np.mean([r["iters_at_tol"][t] for r in runs]))
                for t in runs[0]["iters_at_tol"]
            },
            "euler": 1.0 - MODELS[model].damping,  # iterations x (1 - damping): Table 2's unit
        }
    return stats


def run(config: ResidualsConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Train (resumable cells), record the residual statistics, the two diagnostics."""
    done = ctx.cells(
        functools.partial(_cell, root=str(run_dir.path)), _grid(config, ctx.device), run_dir
    )
    stats = _stats(config, run_dir)
    out: dict[str, Any] = {
        "iters_at_1e-4": {
            f"{d}L {m}": s["iters_at_tol"]["0.0001"] * s["euler"] for (d, m), s in stats.items()
        },
        "two_cycle_sync_converged": done["two_cycle"]["sync"]["converged"],
        "two_cycle_even_odd_converged": done["two_cycle"]["even_odd"]["converged"],
    }
    if "ham_energy" in done:
        for scheme in ("sync", "even_odd"):
            out[f"energy_rise_rate_{scheme}"] = done["ham_energy"][scheme]["rise_rate"]
    return out


def report(config: ResidualsConfig, run_dir: RunDir) -> None:
    """Iterations per tolerance (headline), checks, residual densities, the diagnostics."""
    stats = _stats(config, run_dir)
    n_resid = config.n_resid or 10_000
    table = Table(
        "iters_at_tol",
        ["layers", "model", "paper @1e-4"] + [f"@{t:g}" for t in TOLERANCES],
        caption="Mean iterations (x (1 - damping)) until the relative residual first drops "
        f"below each tolerance, over {n_resid} test images and {config.seeds} seed(s) "
        "(samples that never get there count the full budget); paper: Table 2 at 1e-4.",
        headline=True,
    )
    for (depth, model), s in stats.items():
        paper = paper_numbers(depth, model)
        its = [s["iters_at_tol"][f"{t:g}"] * s["euler"] for t in TOLERANCES]
        table.add_row(depth, model, paper[0] if paper else None, *its)
    run_dir.save_table(table)
    two = run_dir.load_cell("two_cycle")
    checks = [
        equals("synchronous 2-cycle example: converged", int(two["sync"]["converged"])),
        equals("even-odd on the same example: converged", int(two["even_odd"]["converged"]), 1),
    ]
    for depth in config.depths:
        if all((depth, m) in stats for m in HAM_ORDER):
            it = {m: stats[(depth, m)]["iters_at_tol"]["0.0001"] for m in HAM_ORDER}
            checks += decreasing_checks(f"{depth}L {{name}}: iterations at 1e-4", it)
    energy = run_dir.load_cell("ham_energy") if "ham_energy" in _grid(config) else None
    if energy:
        rate = energy["even_odd"]["rise_rate"]
        checks.append(equals("even-odd HAM: fraction of steps where the energy rises", rate))
    run_dir.save_table(
        check_table(
            "claims",
            checks,
            "The paper's ordering of the HAM configurations (Table 2, Figs. 3-4), App. E's "
            "2-cycle of synchronous updates that even-odd splitting avoids, and Theorem 2 (the "
            "energy never rises under even-odd updates; 1 = converged, 0 = not).",
        )
    )
    _heatmaps(config, stats, run_dir)
    _two_cycle_report(two, run_dir)
    if energy:
        with figure(run_dir, "ham_energy", size=(5.2, 3.6)) as (_, ax):
            for scheme in ("sync", "even_odd"):
                excess = energy[scheme]["excess"]
                ax.semilogy(range(1, len(excess) + 1), excess, label=scheme)
            ax.set(
                xlabel="iteration",
                ylabel="mean E(s_n) - E(s_T)",
                title=f"HAM energy along iterations ({energy['model']} weights)",
            )


def _heatmaps(config: ResidualsConfig, stats: dict, run_dir: RunDir) -> None:
    lo, hi, nb = LOG_RESIDUAL_BINS
    centres = lo + (np.arange(nb) + 0.5) * (hi - lo) / nb
    for depth in config.depths:
        confs = [m for (d, m) in stats if d == depth]
        if not confs:
            continue
        name = f"residuals_{depth}layers"
        with panel_grid(run_dir, name, len(confs), ncols=4, panel=(3.8, 3.2)) as (fig, axes):
            for ax, model in zip(axes, confs, strict=True):
                s = stats[(depth, model)]
                hist = s["hist"].astype(float)  # (T, bins)
                steps = np.arange(1, hist.shape[0] + 1)
                heatmap(fig, ax, steps, centres, np.log10(1.0 + hist.T), label="log10(1 + count)")
                its = [s["iters_at_tol"][f"{t:g}"] for t in TOLERANCES]
                ax.plot(its, np.log10(TOLERANCES), color="cyan", lw=1.2, label="mean @ tol")
                ax.plot([s["iters_at_tol"]["0.0001"]], [-4.0], "o", color="white", ms=4)
                ax.axhline(-4.0, color="white", ls="--", lw=0.8)
                ax.set(title=model, xlabel="iteration", ylabel="log10 rel. residual")
            fig.suptitle(f"{depth} layers: density of log10 relative residual vs iteration")


def _two_cycle_report(two: dict[str, Any], run_dir: RunDir) -> None:
    table = Table(
        "two_cycle",
        ["scheme", "converged", "final residual", "iterations"],
        caption="HAM [1, 1, 1] with U = -3, W_1 = 6, zero biases, x = 1: the last synchronous "
        f"states alternate, {two['last_sync_states']}",
    )
    with figure(run_dir, "two_cycle", size=(5.2, 3.6)) as (_, ax):
        for scheme, label in (("sync", "synchronous"), ("even_odd", "even-odd")):
            r = two[scheme]
            table.add_row(label, r["converged"], r["residuals"][-1], r["iterations"])
            ax.semilogy(range(1, len(r["residuals"]) + 1), r["residuals"], label=label)
        ax.set(xlabel="iteration", ylabel="relative residual", title="App. E: sync 2-cycle")
    run_dir.save_table(table)


_QUICK = ResidualsConfig(depths=(3,), seeds=1, epochs=1, n_train=10000, n_resid=2000)
register(
    name="deq-residuals",
    title="Hopfield networks as DEQs: residual density against iteration (sync vs even-odd)",
    paper="accelerating-hopfield-dynamics-deq, App. G",
    figure="Figures 3-4",
    profiles={
        "demo": replace(
            _QUICK, models=HAM_ORDER, n_train=3200, n_resid=1000, n_energy=100, shared_training=True
        ),
        "quick": _QUICK,
        "paper": ResidualsConfig(),
    },
    runtime={
        "demo": "~15 s",
        "quick": "~3.5 min of CPU, one thread",
        "paper": "GPU hours (the trainings of deq-table2)",
    },
    claim=(
        "Residuals of 3-layer models trained one epoch fall fastest with even-odd "
        "splitting and Anderson: HAM > HAM-DEQ > HAM-EO > HAM-EO-DEQ iterations at 1e-4; "
        "synchronous updates 2-cycle on App. E's example, even-odd converges; the even-odd "
        "HAM energy never rises."
    ),
    expected=(
        "iterations at 1e-4 (x (1 - damping)): HAM 16.5, HAM-DEQ 14.8, HAM-EO 11.8, "
        "HAM-EO-DEQ 9.2; CHN 16.7, CHN-DEQ 10.9, CHN-EO 6.0, CHN-EO-DEQ 5.0 outer "
        "iterations (x 20 local updates for the even-odd CHN); no energy rise."
    ),
    run=run,
    report=report,
)
