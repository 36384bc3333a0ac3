"""Figures 3-4 of the DEQ paper: relative residual against iteration over the test set.

Command::

    hopfield-lab run deq-residuals --profile demo    # 3-layer HAM configurations, tiny training
    hopfield-lab run deq-residuals --profile quick   # 3-layer CHN and HAM configurations
    hopfield-lab run deq-residuals --profile paper   # 3, 5, 7 layers, 5 seeds, 10 epochs (GPU)

Setting: the models of ``deq-table2`` (:mod:`hopfield_lab.experiments.deq._common`), trained
the same way; then, on the test set, every sample runs the full forward budget
(``full_iterations``) and its relative residual ``r_t = |s_{t+1} - s_t| / |s_{t+1}|`` between
successive outputs of the (damped) DEQ map is recorded at every iteration, as hopdeq's
``track_log_relative_residual`` callback does (see :mod:`hopfield_lab.experiments.deq._common`).
The demo profile trains one HAM (HAM-EO-DEQ's solver) and records the four HAM solvers on its
weights (``shared_training``); quick and paper train each configuration.

Per configuration the figure shows the density (log colour scale) of log10 residual against
iteration, cumulated over seeds (Fig. 3: 3-layer CHN and HAM; Fig. 4:
deeper HAMs), the 1e-4 criterion (white dashed line), the mean number of iterations needed for
each tolerance (cyan) and the mean at 1e-4 (white marker, Table 2's value). The table
``iters_at_tol`` lists those means.

Beyond the paper:

* ``two_cycle``: App. E's problem 1 on an example (a 3-layer HAM ``[1, 1, 1]``): synchronous
  updates end in a 2-cycle (the residual stalls), even-odd splitting converges;
* ``energy``: the HAM energy (Eq. 3) along the iterations for trained 3-layer HAMs on test
  samples, synchronous vs even-odd; each exact even-odd half step minimises the energy over
  one group, so it never rises there, while synchronous steps may raise it.

Expected runtime: demo ~10 s; quick 2 min 39 s wall on 2 idle CPU cores (eight 3-layer
models, 1 epoch on 10,000 images each); paper: GPU hours. The paper's numbers (mean
iterations at 1e-4) are Table 2's, see :data:`hopfield_lab.experiments.deq.table2.PAPER`.

Measured quick profile (``hopfield-lab run deq-residuals --profile quick``, iterations at
1e-4 x (1 - damping); models trained 1 epoch on 10,000 images, so slower to converge than
the paper's 10-epoch models): HAM 16.5, HAM-DEQ 14.8, HAM-EO 11.8, HAM-EO-DEQ 9.2 (the
paper's order); CHN 16.7, CHN-DEQ 11.4, CHN-EO 6.0, CHN-EO-DEQ 6.3 outer iterations (x 20
local updates for the even-odd CHN: 120 and 125 state updates, slower than the synchronous
CHN, as in the paper's 0.1x); the synchronous 2-cycle example stalls while even-odd
converges.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from hopfield_lab.data import mnist_tensors
from hopfield_lab.errors import check_int
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.experiments.deq._common import (
    ARCHITECTURES,
    LOG_RES_RANGE,
    MODELS,
    TOLERANCES,
    check_models,
    expand_shared,
    settings_for,
    train_and_evaluate,
)
from hopfield_lab.experiments.deq.table2 import HAM_ORDER, PAPER
from hopfield_lab.models.layered import DEQSettings, LayeredHopfield, sync_two_cycle_example
from hopfield_lab.runs import RunDir, Table, cell_filename, run_cells
from hopfield_lab.training.loop import CHECKPOINT_NAME

__all__ = ["ResidualsConfig", "run"]


@dataclass(frozen=True)
class ResidualsConfig:
    """Config of Figures 3-4.

    Attributes:
        depths: numbers of layers (CHN models run at depth 3 only).
        models: configurations (see ``deq-table2``).
        seeds, epochs, n_train: training (paper: 5 seeds, 10 epochs, all images).
        n_resid: test images whose full residual curves are recorded (0 = all 10,000).
        n_energy: test images of the energy-along-iterations diagnostic.
        mnist_path: optional user MNIST.
        shared_training: train one HAM per (depth, seed) with HAM-EO-DEQ's solver and record
            every HAM configuration's residuals on its weights (see ``deq-table2``); False:
            each configuration trains its own model, as in the paper.
    """

    depths: tuple[int, ...] = (3, 5, 7)
    models: tuple[str, ...] = tuple(MODELS)
    seeds: int = 5
    epochs: int = 10
    n_train: int = 0
    n_resid: int = 0
    n_energy: int = 200
    mnist_path: str = ""
    shared_training: bool = False

    def __post_init__(self) -> None:
        check_models(self.models, self.depths)
        check_int("seeds", self.seeds, 1)
        check_int("epochs", self.epochs, 1)
        check_int("n_train", self.n_train, 0)
        check_int("n_resid", self.n_resid, 0)
        check_int("n_energy", self.n_energy, 0)


def _configs(config: ResidualsConfig) -> list[tuple[int, str]]:
    return [
        (d, m)
        for d, m in itertools.product(config.depths, config.models)
        if MODELS[m].kind == "ham" or d == 3
    ]


def run(config: ResidualsConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Train (resumable cells), record residual curves, draw the heatmaps and diagnostics."""
    n_resid = config.n_resid or 10_000
    cells: dict[str, dict[str, Any]] = {}
    for (depth, model), seed in itertools.product(_configs(config), range(config.seeds)):
        key = f"depth={depth},model={model},seed={seed}"
        eval_models: list[str] = []
        if config.shared_training and MODELS[model].kind == "ham":
            key = f"depth={depth},model=HAM-shared,seed={seed}"
            if key in cells:
                continue
            eval_models = [m for m in config.models if MODELS[m].kind == "ham"]
            model = "HAM-EO-DEQ"
        cells[key] = {
            "depth": depth,
            "model": model,
            "seed": seed,
            "epochs": config.epochs,
            "short_epochs": 0,
            "n_train": config.n_train,
            "n_test": n_resid,
            "batch_size": 64,
            "tol": 1e-4,
            "n_timing": 1,
            "n_resid": n_resid,
            "mnist_path": config.mnist_path,
            "device": ctx.device,
            "train_dir": str(run_dir.path / "train" / cell_filename(key)),
        }
        if eval_models:
            cells[key]["eval_models"] = eval_models
    res = run_cells(
        train_and_evaluate, cells, run_dir, executor=ctx.executor, progress=ctx.progress
    )
    res = expand_shared(res)
    stats: dict[tuple[int, str], dict[str, Any]] = {}
    for depth, model in _configs(config):
        runs = [res[f"depth={depth},model={model},seed={s}"]["final"] for s in range(config.seeds)]
        hist = np.sum([np.asarray(r["hist"]) for r in runs], axis=0)  # (T, bins)
        iters = {
            t: float(np.mean([r["iters_at_tol"][t] for r in runs])) for t in runs[0]["iters_at_tol"]
        }
        stats[(depth, model)] = {"hist": hist, "iters_at_tol": iters}
    _heatmaps(config, stats, run_dir)
    rows = []
    for (depth, model), s in stats.items():
        paper = PAPER.get((depth, "CHN (10 epochs)" if model == "CHN" else model))
        damp = 1.0 - MODELS[model].damping
        rows.append(
            [depth, model, paper[0] if paper else None]
            + [s["iters_at_tol"][f"{t:g}"] * damp for t in TOLERANCES]
        )
    run_dir.save_table(
        Table(
            "iters_at_tol",
            ["layers", "model", "paper @1e-4"] + [f"@{t:g}" for t in TOLERANCES],
            rows,
            caption="Mean iterations (x (1 - damping)) until the relative residual first drops "
            f"below each tolerance, over {n_resid} test images and {config.seeds} seed(s) "
            "(samples that never get there count the full budget); paper: Table 2 at 1e-4.",
        )
    )
    out: dict[str, Any] = {  # x (1 - damping), as in the table and the paper's Table 2
        "iters_at_1e-4": {
            f"{d}L {m}": s["iters_at_tol"]["0.0001"] * (1.0 - MODELS[m].damping)
            for (d, m), s in stats.items()
        }
    }
    out.update(_two_cycle(run_dir))
    if config.n_energy and 3 in config.depths:
        out.update(_energy(config, cells, run_dir))
    return out


def _heatmaps(config: ResidualsConfig, stats: dict, run_dir: RunDir) -> None:
    lo, hi, _ = LOG_RES_RANGE
    for depth in config.depths:
        confs = [m for (d, m) in stats if d == depth]
        if not confs:
            continue
        ncol = 4
        nrow = (len(confs) + ncol - 1) // ncol
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.0 * nrow), squeeze=False)
        for ax in axes.flat[len(confs) :]:
            ax.axis("off")
        for ax, model in zip(axes.flat, confs, strict=False):
            s = stats[(depth, model)]
            hist = s["hist"].astype(float)  # (T, bins)
            t_max = hist.shape[0]
            ax.imshow(
                np.log10(1.0 + hist.T),
                origin="lower",
                aspect="auto",
                extent=(0.5, t_max + 0.5, lo, hi),
                cmap="magma",
            )
            ax.axhline(-4.0, color="white", ls="--", lw=0.8)
            tols = [t for t in TOLERANCES]
            its = [s["iters_at_tol"][f"{t:g}"] for t in tols]
            ax.plot(its, np.log10(tols), color="cyan", lw=1.2)
            ax.plot([s["iters_at_tol"]["0.0001"]], [-4.0], "o", color="white", ms=4)
            ax.set(title=f"{model}", xlabel="iteration", ylabel="log10 rel. residual")
        fig.suptitle(f"{depth} layers: density of log10 relative residual vs iteration (test set)")
        fig.tight_layout()
        run_dir.save_figure(fig, f"residuals_{depth}layers")
    plt.close("all")


def _two_cycle(run_dir: RunDir) -> dict[str, Any]:
    """App. E problem 1 on an example: the synchronous residual stalls, even-odd converges."""
    model, x = sync_two_cycle_example()
    with torch.no_grad():
        rs = model.solve(x, DEQSettings.of(scheme="sync", tol=1e-12, max_iter=60))
        re = model.solve(x, DEQSettings.of(scheme="even_odd", tol=1e-12, max_iter=60))
        traj = model.solve(
            x, DEQSettings.of(scheme="sync", tol=1e-12, max_iter=12), record_trajectory=True
        ).trajectory
    assert rs.residuals is not None and re.residuals is not None and traj is not None
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.semilogy(range(1, len(rs.residuals) + 1), rs.residuals[:, 0].numpy(), label="synchronous")
    ax.semilogy(range(1, len(re.residuals) + 1), re.residuals[:, 0].numpy(), label="even-odd")
    ax.set(xlabel="iteration", ylabel="relative residual", title="App. E: 2-cycle of sync updates")
    ax.legend()
    fig.tight_layout()
    run_dir.save_figure(fig, "two_cycle")
    states = traj[-4:, 0].tolist()  # last 4 synchronous states (s_1, s_2)
    run_dir.save_table(
        Table(
            "two_cycle",
            ["scheme", "converged", "final residual", "iterations"],
            [
                [
                    "synchronous",
                    bool(rs.converged.all()),
                    float(rs.residuals[-1, 0]),
                    int(rs.n_steps[0]),
                ],
                [
                    "even-odd",
                    bool(re.converged.all()),
                    float(re.residuals[-1, 0]),
                    int(re.n_steps[0]),
                ],
            ],
            caption="HAM [1, 1, 1] with U = -3, W_1 = 6, zero biases, x = 1: the last "
            f"synchronous states alternate, {states}",
        )
    )
    return {
        "two_cycle_sync_converged": bool(rs.converged.all()),
        "two_cycle_even_odd_converged": bool(re.converged.all()),
    }


def _energy(config: ResidualsConfig, cells: dict, run_dir: RunDir) -> dict[str, Any]:
    """HAM energy along synchronous and even-odd iterations on test images (trained HAM)."""
    key = next(
        (k for k, c in cells.items() if c["depth"] == 3 and MODELS[c["model"]].kind == "ham"),
        None,
    )
    if key is None:
        return {}
    cell = cells[key]
    layers, _ = ARCHITECTURES[3]
    model = LayeredHopfield(layers, kind="ham").double()
    ckpt = torch.load(Path(cell["train_dir"]) / "checkpoints" / CHECKPOINT_NAME, weights_only=False)
    model.load_state_dict(ckpt["model"])
    x = mnist_tensors(config.mnist_path)["test"][0][: config.n_energy].double()
    out: dict[str, Any] = {}
    fig, ax = plt.subplots(figsize=(5, 3.4))
    with torch.no_grad():
        for scheme in ("sync", "even_odd"):
            st = settings_for("HAM", 3).replace(scheme=scheme)
            view = model.bind(x, scheme)
            z, energies = view.initial_state(), []
            for _ in range(st.solver.max_iter):
                z = view.update(z)
                energies.append(view.energy(z))
            e = torch.stack(energies)  # (T, B)
            rises = (e[1:] > e[:-1] + 1e-9 * e[:-1].abs().clamp_min(1.0)).double()
            out[f"energy_rise_rate_{scheme}"] = float(rises.mean())
            rel = (e - e[-1]).mean(1).clamp_min(1e-16)
            ax.semilogy(range(1, len(rel) + 1), rel.numpy(), label=scheme)
    ax.set(
        xlabel="iteration",
        ylabel="mean E(s_n) - E(s_T)",
        title=f"HAM energy along iterations ({cell['model']} weights)",
    )
    ax.legend()
    fig.tight_layout()
    run_dir.save_figure(fig, "ham_energy")
    return out


register(
    Experiment(
        name="deq-residuals",
        title="Hopfield networks as DEQs: residual density against iteration (sync vs even-odd)",
        paper="accelerating-hopfield-dynamics-deq, App. G",
        figure="Figures 3-4",
        config_cls=ResidualsConfig,
        profiles={
            "demo": ResidualsConfig(
                depths=(3,),
                models=HAM_ORDER,
                seeds=1,
                epochs=1,
                n_train=3200,
                n_resid=1000,
                n_energy=100,
                shared_training=True,
            ),
            "quick": ResidualsConfig(
                depths=(3,),
                models=tuple(MODELS),
                seeds=1,
                epochs=1,
                n_train=10000,
                n_resid=2000,
            ),
            "paper": ResidualsConfig(),
        },
        runtime={
            "demo": "~15 s CPU (2 CPU cores)",
            "quick": "~3 min (2 CPU cores)",
            "paper": "GPU hours (the trainings of deq-table2)",
        },
        run=run,
    )
)
