"""Table 1 of the finite-step paper: clean and noisy MNIST accuracy, 3 activations x 4 methods x K.

Command::

    hopfield-lab run finite-step-table1 --profile demo    # ReLU, Base vs JacQ, K = 1, 3: ~1 min
    hopfield-lab run finite-step-table1 --profile quick   # the full grid, reduced: ~15 min
    hopfield-lab run finite-step-table1 --profile paper   # 100 epochs, 10 seeds (App. E): GPU

Protocol: see :mod:`hopfield_lab.experiments.finite_step.common` (model, step sizes, where the
regularisers act, noise at test time, no clipping). The paper gives no ``lam``, ``q`` or ``m``:
with ``tune=True`` (every profile) a first stage trains each regulariser on ReLU, ``K = 3`` (the
paper's headline case) for every value of a small grid, on the training split, and picks the
value with the best *noisy validation* accuracy (MNIST's validation split, carved from the
original training set: the test set is never used for choices). The search and the choice are
in the report (table ``tuning``) and in ``results.json``; the main grid then uses them for every
activation and ``K``.

Paper values (Table 1, mean +- std over 10 seeds, accuracy %) are kept in :data:`PAPER` and
shown beside ours with the gap. The paper's claim that the quick profile checks: JacQ's noisy
accuracy is above Base's at ``K = 3, 5`` for ReLU (reported in ``results.json`` as
``claim_jacq_beats_base_relu``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from hopfield_lab.data import mnist_tensors, subset
from hopfield_lab.errors import ConfigError, check_choice, check_int, check_range
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.experiments.fields import MnistPath
from hopfield_lab.experiments.finite_step.common import (
    METHODS,
    RegSettings,
    evaluate,
    train_model,
)
from hopfield_lab.runs import RunDir, Table, cell_filename, mean_std, run_cells

__all__ = ["PAPER", "Table1Config", "run"]

ACTIVATIONS = ("relu", "sigmoid", "tanh")

# (activation, method, K) -> (test, test std, noisy, noisy std), Table 1 of the paper.
PAPER: dict[tuple[str, str, int], tuple[float, float, float, float]] = {}
_ROWS = {
    ("relu", "base"): "97.90 0.07 68.75 2.70 97.51 0.20 80.32 3.63 97.17 0.20 79.40 3.51",
    ("relu", "jacf"): "97.63 0.22 90.13 1.69 97.39 0.14 65.60 2.61 97.23 0.17 66.93 2.65",
    ("relu", "lip"): "98.06 0.14 87.67 2.87 97.78 0.33 81.95 2.71 97.33 0.38 81.64 2.23",
    ("relu", "jacq"): "98.04 0.33 93.97 1.02 97.84 0.24 90.56 2.52 97.73 0.16 92.23 1.28",
    ("sigmoid", "base"): "97.74 0.05 67.59 3.29 97.52 0.13 62.26 2.71 97.04 0.18 62.48 2.71",
    ("sigmoid", "jacf"): "97.06 0.23 72.79 3.00 96.33 0.20 66.68 4.10 95.82 0.42 64.79 3.61",
    ("sigmoid", "lip"): "98.06 0.08 83.88 2.74 97.64 0.21 72.33 2.72 96.98 0.33 65.58 1.88",
    ("sigmoid", "jacq"): "97.30 0.21 78.41 5.45 96.75 0.34 74.18 4.17 96.43 0.31 75.46 5.63",
    ("tanh", "base"): "97.64 0.54 66.03 2.43 97.26 0.26 71.28 3.38 96.30 0.50 72.26 2.08",
    ("tanh", "jacf"): "96.59 0.29 79.19 5.19 96.58 0.37 71.39 3.11 96.44 0.28 72.99 1.88",
    ("tanh", "lip"): "98.05 0.13 85.12 3.04 97.37 0.27 76.48 3.12 96.59 0.40 72.84 3.72",
    ("tanh", "jacq"): "97.25 0.34 83.12 3.34 96.74 0.20 77.99 5.18 96.91 0.33 80.91 5.37",
}
for (_act, _method), _text in _ROWS.items():
    _v = [float(t) for t in _text.split()]
    for _i, _K in enumerate((1, 3, 5)):
        PAPER[(_act, _method, _K)] = (_v[4 * _i], _v[4 * _i + 1], _v[4 * _i + 2], _v[4 * _i + 3])

_NAMES = {"base": "Base", "jacf": "JacF", "lip": "Lip", "jacq": "JacQ"}


@dataclass(frozen=True)
class Table1Config:
    """Config of Table 1.

    Attributes:
        activations: subset of relu, sigmoid, tanh.
        methods: subset of base, jacf, lip, jacq.
        Ks: numbers of steps (App. E step size: 1 for K = 1, 0.5 otherwise).
        seeds: number of seeds per setting (mean +- std over seeds).
        epochs: training epochs (paper: 100). n_train: training images (0 = all 50,000).
        n_test: test images evaluated (0 = all 10,000; fewer only for smoke tests).
        hidden: hidden units N (paper: 128). lr: Adam learning rate. batch_size: mini-batch.
        noise_sigma: test-time Gaussian noise std (paper: 0.25). clip_noisy: clip noisy
            inputs to [0, 1] (paper: unspecified; default False).
        noise_curve: test noise levels of the robustness curves (beyond the paper).
        tune: choose regulariser strengths on the validation split first.
        tune_epochs, tune_n_train, tune_n_val: size of each tuning run.
        jacq_lams, jacq_ms, jacq_qs, jacf_lams, lip_lams: tuning grids; without tuning the
            first value of each is used.
        mnist_path: optional user MNIST ("" = bundled).
    """

    activations: tuple[str, ...] = ACTIVATIONS
    methods: tuple[str, ...] = METHODS
    Ks: tuple[int, ...] = (1, 3, 5)
    seeds: int = 10
    epochs: int = 100
    n_train: int = 0
    n_test: int = 0
    hidden: int = 128
    lr: float = 1e-3
    batch_size: int = 128
    noise_sigma: float = 0.25
    clip_noisy: bool = False
    noise_curve: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    tune: bool = True
    tune_epochs: int = 10
    tune_n_train: int = 0
    tune_n_val: int = 0
    jacq_lams: tuple[float, ...] = (1.0, 0.1, 10.0)
    jacq_ms: tuple[float, ...] = (1.0, 0.5, 2.0)
    jacq_qs: tuple[float, ...] = (0.9,)
    jacf_lams: tuple[float, ...] = (1e-3, 1e-4, 1e-2)
    lip_lams: tuple[float, ...] = (1e-2, 1e-3, 1e-1)
    mnist_path: MnistPath = ""

    def __post_init__(self) -> None:
        for name, allowed in (("activations", ACTIVATIONS), ("methods", METHODS)):
            values = getattr(self, name)
            if not values:
                raise ConfigError(f"{name} must not be empty")
            for v in values:
                check_choice(name, v, allowed)
        if not self.Ks:
            raise ConfigError("Ks must not be empty")
        for K in self.Ks:
            check_int("Ks", K, 1)
        check_int("seeds", self.seeds, 1)
        check_int("epochs", self.epochs, 1)
        check_int("n_train", self.n_train, 0)
        check_int("n_test", self.n_test, 0)
        check_int("hidden", self.hidden, 1)
        check_range("lr", self.lr, 0.0, low_inclusive=False)
        check_int("batch_size", self.batch_size, 1)
        check_range("noise_sigma", self.noise_sigma, 0.0)
        for s in self.noise_curve:
            check_range("noise_curve", s, 0.0)
        check_int("tune_epochs", self.tune_epochs, 1)
        check_int("tune_n_train", self.tune_n_train, 0)
        check_int("tune_n_val", self.tune_n_val, 0)
        for name in ("jacq_lams", "jacq_ms", "jacf_lams", "lip_lams"):
            if not getattr(self, name):
                raise ConfigError(f"{name} must not be empty")
            for v in getattr(self, name):
                check_range(name, v, 0.0)
        for q in self.jacq_qs:
            check_range("jacq_qs", q, 0.0, 1.0, low_inclusive=False, high_inclusive=False)


# --- cells -------------------------------------------------------------------------------------


def _train_eval(cell: dict[str, Any]) -> dict[str, Any]:
    """One training run, evaluated on validation (tuning) or test (main grid)."""
    cfg = cell["config"]
    data = mnist_tensors(cfg["mnist_path"])
    stage = cell["stage"]
    n_train = cfg["tune_n_train"] if stage == "tune" else cfg["n_train"]
    x, y = subset(*data["train"], n_train, seed=cell["seed"])
    if stage == "tune":
        ex, ey = subset(*data["val"], cfg["tune_n_val"], seed=0)
    else:
        ex, ey = subset(*data["test"], cfg["n_test"], seed=0)
    model, history = train_model(
        activation=cell["activation"],
        method=cell["method"],
        K=cell["K"],
        seed=cell["seed"],
        x=x,
        y=y,
        epochs=cfg["tune_epochs"] if stage == "tune" else cfg["epochs"],
        reg=RegSettings(**cell["reg"]),
        hidden=cfg["hidden"],
        lr=cfg["lr"],
        batch_size=cfg["batch_size"],
        device=cell.get("device", "cpu"),
        train_dir=Path(cell["train_dir"]) if cell.get("train_dir") else None,
    )
    out = evaluate(
        model,
        ex,
        ey,
        noise_sigma=cfg["noise_sigma"],
        seed=cell["seed"],
        clip_noisy=cfg["clip_noisy"],
        curve_sigmas=() if stage == "tune" else tuple(cfg["noise_curve"]),
    )
    out["final_train_loss"] = float(history[-1]["train_loss"]) if history else float("nan")
    return out


def _tuning_candidates(config: Table1Config) -> list[tuple[str, dict[str, float]]]:
    cands: list[tuple[str, dict[str, float]]] = []
    if "jacq" in config.methods:
        for lam, m, q in itertools.product(config.jacq_lams, config.jacq_ms, config.jacq_qs):
            cands.append(("jacq", {"jacq_lam": lam, "jacq_m": m, "jacq_q": q}))
    if "jacf" in config.methods:
        cands += [("jacf", {"jacf_lam": lam}) for lam in config.jacf_lams]
    if "lip" in config.methods:
        cands += [("lip", {"lip_lam": lam}) for lam in config.lip_lams]
    return cands


def _key(parts: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in parts.items())


def run(config: Table1Config, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Tune (optional), train the grid as resumable cells, write tables and figures."""
    cfg = {k: getattr(config, k) for k in config.__dataclass_fields__}
    train_root = run_dir.path / "train"
    default = RegSettings(
        jacq_lam=config.jacq_lams[0],
        jacq_q=config.jacq_qs[0],
        jacq_m=config.jacq_ms[0],
        jacf_lam=config.jacf_lams[0],
        lip_lam=config.lip_lams[0],
    )
    chosen = default
    tuning_rows: list[list[Any]] = []
    if config.tune and any(m != "base" for m in config.methods):
        cands = _tuning_candidates(config)
        cells = {}
        for method, params in cands:
            key = _key({"stage": "tune", "method": method, **params})
            cells[key] = {
                "stage": "tune",
                "activation": "relu",
                "method": method,
                "K": 3,
                "seed": 0,
                "reg": {**default.__dict__, **params},
                "config": cfg,
                "device": ctx.device,
                "train_dir": str(train_root / cell_filename(key)),
            }
        res = run_cells(_train_eval, cells, run_dir, executor=ctx.executor, progress=ctx.progress)
        best: dict[str, tuple[float, dict[str, float]]] = {}
        for (method, params), key in zip(cands, cells, strict=True):
            r = res[key]
            tuning_rows.append([method, _key(params), r["clean"], r["noisy"], r["jac_q90"]])
            if method not in best or r["noisy"] > best[method][0]:
                best[method] = (r["noisy"], params)
        merged = dict(default.__dict__)
        for _, params in best.values():
            merged.update(params)
        chosen = RegSettings(**merged)

    grid = list(
        itertools.product(config.activations, config.methods, config.Ks, range(config.seeds))
    )
    cells = {}
    for act, method, K, seed in grid:
        key = _key({"act": act, "method": method, "K": K, "seed": seed})
        cells[key] = {
            "stage": "main",
            "activation": act,
            "method": method,
            "K": K,
            "seed": seed,
            "reg": chosen.__dict__,
            "config": cfg,
            "device": ctx.device,
            "train_dir": str(train_root / cell_filename(key)),
        }
    res = run_cells(_train_eval, cells, run_dir, executor=ctx.executor, progress=ctx.progress)
    stats: dict[tuple[str, str, int], dict[str, Any]] = {}
    for act, method, K in itertools.product(config.activations, config.methods, config.Ks):
        runs = [
            res[_key({"act": act, "method": method, "K": K, "seed": s})]
            for s in range(config.seeds)
        ]
        stats[(act, method, K)] = {
            k: mean_std([r[k] for r in runs])
            for k in ("clean", "noisy", "jac_q90", "descent_violation_rate", "energy_increase_rate")
        }
        if config.noise_curve:
            curves = torch.tensor([r["curve"] for r in runs], dtype=torch.float64)  # (S, L)
            stats[(act, method, K)]["curve"] = curves.mean(0).tolist()
    _tables(config, stats, tuning_rows, chosen, run_dir)
    _figures(config, stats, run_dir)
    if config.noise_curve:
        _robustness(config, stats, run_dir)
    return _summary(config, stats, chosen)


def _tables(
    config: Table1Config, stats: dict, tuning_rows: list, chosen: RegSettings, run_dir: RunDir
) -> None:
    rows = []
    for act, method, K in itertools.product(config.activations, config.methods, config.Ks):
        paper = PAPER[(act, method, K)]
        s = stats[(act, method, K)]
        for label, p_mean, p_std, ours in (
            ("test", paper[0], paper[1], s["clean"]),
            ("noisy", paper[2], paper[3], s["noisy"]),
        ):
            rows.append(
                [act, _NAMES[method], K, label, p_mean, p_std, ours[0], ours[1], ours[0] - p_mean]
            )
    run_dir.save_table(
        Table(
            "table1",
            ["activation", "method", "K", "accuracy", "paper", "paper ±", "ours", "ours ±", "gap"],
            rows,
            caption=f"Table 1: clean and noisy (σ = {config.noise_sigma}) MNIST test accuracy (%), "
            f"mean ± std over {config.seeds} seed(s), {config.epochs} epoch(s); paper: 10 seeds, "
            "100 epochs.",
        )
    )
    diag = []
    for act, method, K in itertools.product(config.activations, config.methods, config.Ks):
        s = stats[(act, method, K)]
        diag.append(
            [
                act,
                _NAMES[method],
                K,
                s["noisy"][0],
                s["jac_q90"][0],
                s["descent_violation_rate"][0],
                s["energy_increase_rate"][0],
            ]
        )
    run_dir.save_table(
        Table(
            "diagnostics",
            [
                "activation",
                "method",
                "K",
                "noisy acc",
                "q90 |J_T|",
                "a > 1/L_k rate",
                "energy increase rate",
            ],
            diag,
            caption="Beyond the paper: on 500 noisy test trajectories, the 90% quantile of "
            "|J_T(v_k)|_2, the rate of steps violating the descent condition a <= 1/(1 + |J_T|) "
            "(Eq. 8) and the rate of energy increases E(v_{k+1}) > E(v_k) (Eq. 5).",
        )
    )
    if tuning_rows:
        run_dir.save_table(
            Table(
                "tuning",
                ["method", "setting", "val clean", "val noisy", "q90 |J_T|"],
                tuning_rows,
                caption="Regulariser strengths tried on ReLU, K = 3 (validation split, never the "
                f"test set); chosen by noisy validation accuracy: {chosen}.",
            )
        )


def _figures(config: Table1Config, stats: dict, run_dir: RunDir) -> None:
    fig, axes = plt.subplots(
        1, len(config.activations), figsize=(4.2 * len(config.activations), 3.4), squeeze=False
    )
    for ax, act in zip(axes[0], config.activations, strict=True):
        for j, method in enumerate(config.methods):
            ours = [stats[(act, method, K)]["noisy"][0] for K in config.Ks]
            paper = [PAPER[(act, method, K)][2] for K in config.Ks]
            ax.plot(config.Ks, ours, "o-", color=f"C{j}", label=f"{_NAMES[method]} (ours)")
            ax.plot(
                config.Ks, paper, "x--", color=f"C{j}", alpha=0.6, label=f"{_NAMES[method]} (paper)"
            )
        ax.set(title=act, xlabel="K", ylabel="noisy accuracy (%)", xticks=list(config.Ks))
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Table 1: noisy accuracy, ours (solid) vs paper (dashed)")
    fig.tight_layout()
    run_dir.save_figure(fig, "noisy_accuracy")

    fig, ax = plt.subplots(figsize=(5, 4))
    for j, method in enumerate(config.methods):
        xs = [stats[k]["descent_violation_rate"][0] for k in stats if k[1] == method]
        ys = [stats[k]["noisy"][0] for k in stats if k[1] == method]
        ax.scatter(xs, ys, color=f"C{j}", label=_NAMES[method])
    ax.set(
        xlabel="rate of a > 1/L_k along noisy trajectories",
        ylabel="noisy accuracy (%)",
        title="Descent-condition violations vs robustness",
    )
    ax.legend()
    run_dir.save_figure(fig, "violations_vs_noisy")
    plt.close("all")


def _robustness(config: Table1Config, stats: dict, run_dir: RunDir) -> None:
    """Beyond the paper: accuracy against the test noise level, per method."""
    sig = list(config.noise_curve)
    rows = [
        [act, _NAMES[method], K, *stats[(act, method, K)]["curve"]]
        for act, method, K in itertools.product(config.activations, config.methods, config.Ks)
    ]
    run_dir.save_table(
        Table(
            "robustness",
            ["activation", "method", "K", *[f"σ={s:g}" for s in sig]],
            rows,
            caption="Beyond the paper: test accuracy (%) against additive Gaussian noise σ (one "
            f"noise draw scaled), mean over {config.seeds} seed(s).",
        )
    )
    fig, axes = plt.subplots(
        len(config.Ks),
        len(config.activations),
        figsize=(4 * len(config.activations), 3.2 * len(config.Ks)),
        squeeze=False,
    )
    for (r, K), (c, act) in itertools.product(enumerate(config.Ks), enumerate(config.activations)):
        ax = axes[r, c]
        for j, method in enumerate(config.methods):
            ax.plot(
                sig,
                stats[(act, method, K)]["curve"],
                "o-",
                color=f"C{j}",
                ms=3,
                label=_NAMES[method],
            )
        ax.axvline(config.noise_sigma, color="0.6", lw=0.8, ls="--")
        ax.set(title=f"{act}, K = {K}", xlabel="test noise σ", ylabel="accuracy (%)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Noise-robustness curves (dashed: the paper's σ)")
    fig.tight_layout()
    run_dir.save_figure(fig, "robustness_curves")
    plt.close("all")


def _summary(config: Table1Config, stats: dict, chosen: RegSettings) -> dict[str, Any]:
    out: dict[str, Any] = {"chosen_regularisers": chosen.__dict__}
    if "relu" in config.activations and {"base", "jacq"} <= set(config.methods):
        claim = {
            f"K={K}": stats[("relu", "jacq", K)]["noisy"][0]
            > stats[("relu", "base", K)]["noisy"][0]
            for K in config.Ks
            if K > 1
        }
        if claim:
            out["claim_jacq_beats_base_relu"] = claim
    out["mean_abs_gap_clean"] = sum(
        abs(s["clean"][0] - PAPER[k][0]) for k, s in stats.items()
    ) / len(stats)
    out["mean_abs_gap_noisy"] = sum(
        abs(s["noisy"][0] - PAPER[k][2]) for k, s in stats.items()
    ) / len(stats)
    return out


_QUICK = Table1Config(
    seeds=2,
    epochs=2,
    n_train=15000,
    tune_epochs=2,
    tune_n_train=8000,
    tune_n_val=5000,
    jacq_lams=(1.0, 10.0),
    jacq_ms=(1.0, 0.5),
    jacf_lams=(1e-3, 1e-2),
    lip_lams=(1e-2, 1e-1),
)
register(
    Experiment(
        name="finite-step-table1",
        title="Finite-step Hopfield dynamics: clean/noisy MNIST accuracy with JacQ, JacF, Lip",
        paper="finite-step-hopfield-dynamics, Sec. 5.1",
        figure="Table 1",
        config_cls=Table1Config,
        profiles={
            "demo": replace(
                _QUICK,
                activations=("relu",),
                methods=("base", "jacq"),
                Ks=(1, 3),
                seeds=1,
                epochs=1,
                n_train=10000,
                tune=False,
            ),
            "quick": _QUICK,
            "paper": Table1Config(),
        },
        runtime={
            "demo": "~5 s",
            "quick": "~5 min (2 CPU cores)",
            "paper": "~36 GPU-hours (360 trainings x 100 epochs)",
        },
        run=run,
    )
)
