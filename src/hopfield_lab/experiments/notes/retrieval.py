"""Retrieval of corrupted MNIST digits by a modern Hopfield memory (lecture notes, ch. 3).

Command::

    hopfield-lab run retrieval --profile demo     # ~30 s on 2 CPU cores
    hopfield-lab run retrieval --profile quick    # ~5 min on 2 CPU cores
    hopfield-lab run retrieval --profile paper    # all 50k training digits: GPU

Protocol. ``P`` MNIST training images are stored as the rows of ``X`` in
:class:`~hopfield_lab.models.ModernHopfield`. Patterns are centred on their pixel mean and scaled
to norm ``sqrt(N)`` (``normalize="center_scale"``): with raw pixels, heavy digits have larger
norms and win every dot product, so many stored images are not even fixed points (their
separation ``Delta_i`` of Def. 3.3.1 is negative); ``normalize="none"`` keeps raw pixels. Queries
are stored images corrupted in pixel space (Gaussian noise of std ``sigma``, or the bottom
``fraction`` of the image set to 0), then mapped by the same centring and scaled to norm
``sqrt(N)`` using only the query itself. Each query runs to a fixed point of
``xi <- X^T softmax(beta X xi)`` (Eq. 3.5) with Picard and Anderson iterations
(relative residual ``tol``).

Measured, per ``beta`` and corruption:

* retrieval accuracy: the fixed point's nearest stored pattern is the original, and "exact" when
  in addition ``|xi* - x| / |x| < exact_threshold``;
* the energy (Eq. 3.4) along every Picard trajectory: Prop. 3.2 says it never increases; the
  table counts trajectories with an increase larger than float rounding, the minimum energy
  (Lemma 3.2.1: >= 0) and the largest energy after one update relative to the bound
  ``beta^-1 ln P + M^2/2`` of Lemma 3.2.2 (ii) (<= 1);
* iterations to convergence and wall time of Picard vs Anderson, did-not-converge counts, and
  whether both reach the same fixed point.

The notes give no retrieval accuracies for MNIST (they retrieve 30 prototypes at one beta), so
the "paper" column holds the theorems' predictions.
"""

from __future__ import annotations

import math
import time
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import Tensor

from hopfield_lab.data import gaussian_noise, load_digits, load_mnist, mask
from hopfield_lab.errors import (
    ConfigError,
    check_choice,
    check_int,
    check_positive,
    check_range,
)
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.models import ModernHopfield
from hopfield_lab.runs import RunDir, Table, comparison_table, run_cells

SOLVERS = ("picard", "damped", "anderson", "anderson-plain")

__all__ = ["RetrievalConfig", "run"]


@dataclass(frozen=True)
class RetrievalConfig:
    """Config of the retrieval experiment (see the module docstring for the protocol).

    Attributes:
        dataset: ``"mnist"`` (bundled, 28x28) or ``"digits"`` (scikit-learn 8x8, for tests).
        n_patterns: stored patterns ``P`` (first ``P`` training images after a seeded shuffle).
        n_queries: queries per corruption setting (distinct stored patterns), <= P.
        betas: inverse temperatures to sweep (for patterns of norm sqrt(N)).
        noise_sigmas: Gaussian pixel-noise levels (pixels in [0, 1]).
        mask_fractions: fractions of image rows occluded from the bottom.
        normalize: ``"center_scale"`` or ``"none"`` (raw pixels).
        solvers: fixed-point methods to compare; the first one gives the accuracy table.
            ``anderson`` is safeguarded by the energy (accepted steps never raise E),
            ``anderson-plain`` by the residual only; ``damped`` uses damping 0.5.
        tol: relative residual tolerance. max_iter: iteration budget.
        anderson_window: Anderson history size.
        exact_threshold: relative error below which a retrieval counts as exact.
        dtype: ``"float32"`` or ``"float64"``.
        seed: seeds the pattern choice, queries and noise.
        mnist_path: optional user MNIST file or directory ("" = bundled copy).
    """

    dataset: Literal["mnist", "digits"] = "mnist"
    n_patterns: int = 1000
    n_queries: int = 128
    betas: tuple[float, ...] = (0.005, 0.01, 0.015, 0.02, 0.05, 0.1)
    noise_sigmas: tuple[float, ...] = (0.3, 0.6)
    mask_fractions: tuple[float, ...] = (0.5,)
    normalize: Literal["center_scale", "none"] = "center_scale"
    solvers: tuple[str, ...] = ("picard", "anderson", "anderson-plain")
    tol: float = 1e-5
    max_iter: int = 300
    anderson_window: int = 5
    exact_threshold: float = 0.05
    dtype: Literal["float32", "float64"] = "float32"
    seed: int = 0
    mnist_path: str = ""

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, ("mnist", "digits"))
        check_int("n_patterns", self.n_patterns, 2)
        check_int("n_queries", self.n_queries, 1, self.n_patterns)
        if not self.betas:
            _raise_empty("betas")
        for b in self.betas:
            check_positive("betas", b)
        for s in self.noise_sigmas:
            check_range("noise_sigmas", s, 0.0)
        for f in self.mask_fractions:
            check_range("mask_fractions", f, 0.0, 1.0, high_inclusive=False)
        if not self.noise_sigmas and not self.mask_fractions:
            _raise_empty("noise_sigmas or mask_fractions")
        check_choice("normalize", self.normalize, ("center_scale", "none"))
        if not self.solvers:
            _raise_empty("solvers")
        for name in self.solvers:
            check_choice("solvers", name, SOLVERS)
        check_positive("tol", self.tol)
        check_int("max_iter", self.max_iter, 1)
        check_int("anderson_window", self.anderson_window, 1)
        check_range("exact_threshold", self.exact_threshold, 0.0, low_inclusive=False)
        check_choice("dtype", self.dtype, ("float32", "float64"))
        check_int("seed", self.seed, 0)

    @property
    def settings(self) -> list[tuple[str, float]]:
        """The corruption settings ``(kind, level)`` in report order."""
        return [("noise", s) for s in self.noise_sigmas] + [
            ("mask", f) for f in self.mask_fractions
        ]


def _raise_empty(name: str) -> None:
    """Raise the error for an empty list-valued field."""
    raise ConfigError(f"{name} must not be empty")


def _label(kind: str, level: float) -> str:
    return f"noise σ={level:g}" if kind == "noise" else f"mask {100 * level:g}%"


# --- data ------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _problem(cfg_key: tuple) -> tuple[Tensor, Tensor, Tensor, tuple[int, int]]:
    """Stored raw patterns (P, N), query indices (Q,), pixel mean (N,), image shape."""
    dataset, n_patterns, n_queries, seed, mnist_path = cfg_key
    data = load_mnist(mnist_path or None) if dataset == "mnist" else load_digits(seed=seed)
    gen = torch.Generator().manual_seed(seed)
    train = data.train
    if n_patterns > len(train):
        raise ConfigError(f"n_patterns must be <= {len(train)} for {dataset}; got {n_patterns}")
    order = torch.randperm(len(train), generator=gen)[:n_patterns]
    X = train.x[order].double()
    queries = torch.randperm(n_patterns, generator=gen)[:n_queries]
    return X, queries, X.mean(0), data.image_shape


def _normalise(x: Tensor, mean: Tensor, mode: str) -> Tensor:
    if mode == "none":
        return x
    c = x - mean
    return c / c.norm(dim=1, keepdim=True).clamp_min(1e-12) * math.sqrt(x.shape[1])


def _queries(
    cfg: dict, X: Tensor, idx: Tensor, shape: tuple[int, int], kind: str, level: float, salt: int
) -> Tensor:
    gen = torch.Generator().manual_seed(cfg["seed"] * 1000 + salt)
    clean = X[idx]
    if kind == "noise":
        return gaussian_noise(clean, level, generator=gen)
    return typing.cast(Tensor, mask(clean, level, mode="bottom", image_shape=shape))


# --- one cell: one beta, every corruption, every solver --------------------------------------


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    cfg = cell["config"]
    beta = float(cell["beta"])
    dtype = torch.float64 if cfg["dtype"] == "float64" else torch.float32
    device = cell.get("device", "cpu")
    X_raw, idx, mean, shape = _problem(
        (cfg["dataset"], cfg["n_patterns"], cfg["n_queries"], cfg["seed"], cfg["mnist_path"])
    )
    X = _normalise(X_raw, mean, cfg["normalize"]).to(dtype=dtype, device=device)
    model = ModernHopfield(X, beta=beta)
    bound = math.log(model.n_patterns) / beta + 0.5 * float(model.max_norm) ** 2
    target = idx.to(device)
    out: dict[str, Any] = {"beta": beta, "settings": {}}
    for s_i, (kind, level) in enumerate(_settings(cfg)):
        q_raw = _queries(cfg, X_raw, idx, shape, kind, level, salt=s_i)
        q = _normalise(q_raw, mean, cfg["normalize"]).to(dtype=dtype, device=device)
        setting: dict[str, Any] = {"kind": kind, "level": level, "solvers": {}}
        finals: dict[str, Tensor] = {}
        for s_name in cfg["solvers"]:
            kw: dict[str, Any] = {}
            method = s_name
            if s_name.startswith("anderson"):
                method, kw["window"] = "anderson", cfg["anderson_window"]
                if s_name == "anderson-plain":
                    kw["merit"] = None
            if s_name == "damped":
                kw["damping"] = 0.5
            first = s_name == cfg["solvers"][0]
            start = time.perf_counter()
            res = model.retrieve(
                q,
                method=method,
                tol=cfg["tol"],
                max_iter=cfg["max_iter"],
                energy=model.energy if first else None,
                record_residuals=False,
                **kw,
            )
            wall = time.perf_counter() - start
            finals[s_name] = res.x
            near = model.nearest(res.x)
            err = (res.x - X[target]).norm(dim=1) / X[target].norm(dim=1)
            hit = near == target
            stats = {
                "accuracy": float(hit.double().mean()),
                "exact": float((hit & (err < cfg["exact_threshold"])).double().mean()),
                "mean_steps": float(res.n_steps.double().mean()),
                "max_steps": int(res.n_steps.max()),
                "not_converged": res.n_not_converged,
                "wall_s": wall,
                "evaluated_rows": int(res.stats.get("evaluated_rows", 0)),
            }
            if first and res.energies is not None:
                e = res.energies.double()  # (T+1, Q)
                scale = e.abs().amax(0) + 1.0
                rise = ((e[1:] - e[:-1]) / scale).amax(0)  # largest relative increase
                stats["energy_increases"] = int((rise > _energy_slack(dtype)).sum())
                stats["max_relative_increase"] = float(rise.max().clamp_min(0.0))
                stats["min_energy"] = float(e.min())
                stats["max_energy_after_one_step_over_bound"] = float(e[1].max() / bound)
                if s_i == 0:
                    out["energy_curves"] = _curves(e)
                if kind == "mask":
                    out["examples"] = _examples(q, res.x, X[target])
            setting["solvers"][s_name] = stats
        if len(finals) > 1:
            ref = finals[cfg["solvers"][0]]
            for s_name, xs in finals.items():
                rel = (xs - ref).norm(dim=1) / ref.norm(dim=1).clamp_min(1e-12)
                setting["solvers"][s_name]["agrees_with_first"] = float(
                    (rel < 1e-3).double().mean()
                )
        out["settings"][_label(kind, level)] = setting
    return out


def _energy_slack(dtype: torch.dtype) -> float:
    """Relative energy rise attributable to rounding (a few ulps of the energy scale)."""
    return 64 * torch.finfo(dtype).eps


def _settings(cfg: dict) -> list[tuple[str, float]]:
    return [("noise", s) for s in cfg["noise_sigmas"]] + [
        ("mask", f) for f in cfg["mask_fractions"]
    ]


def _curves(e: Tensor, n: int = 12) -> dict[str, list]:
    steps = int(min(e.shape[0], 40))
    e = e[:steps]
    return {
        "mean": e.mean(1).tolist(),
        "std": e.std(1).tolist() if e.shape[1] > 1 else [0.0] * steps,
        "samples": e[:, :n].T.tolist(),
    }


def _examples(q: Tensor, fixed: Tensor, target: Tensor, n: int = 6) -> dict[str, list]:
    return {
        "query": q[:n].double().cpu().round(decimals=3).tolist(),
        "fixed_point": fixed[:n].double().cpu().round(decimals=3).tolist(),
        "target": target[:n].double().cpu().round(decimals=3).tolist(),
    }


# --- the experiment --------------------------------------------------------------------------


def run(config: RetrievalConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Run every beta as one resumable cell, then write tables and figures."""
    cfg = {k: getattr(config, k) for k in config.__dataclass_fields__}
    cells = {f"beta={b:g}": {"beta": b, "config": cfg, "device": ctx.device} for b in config.betas}
    results = run_cells(_cell, cells, run_dir, executor=ctx.executor, progress=ctx.progress)
    ordered = [results[k] for k in cells]
    _, _, _, shape = _problem(
        (config.dataset, config.n_patterns, config.n_queries, config.seed, config.mnist_path)
    )
    _tables(config, ordered, run_dir)
    _figures(config, ordered, run_dir, shape)
    return _summary(config, ordered)


def _tables(config: RetrievalConfig, cells: list[dict], run_dir: RunDir) -> None:
    first = config.solvers[0]
    labels = [_label(k, v) for k, v in config.settings]
    acc = Table(
        "accuracy",
        ["beta", *[f"{lab} (exact)" for lab in labels], *[f"{lab} (nearest)" for lab in labels]],
        caption=f"Retrieval accuracy of {first} fixed points over {config.n_queries} queries "
        f"per setting, P = {config.n_patterns} stored {config.dataset} images.",
    )
    for c in cells:
        s = c["settings"]
        acc.add_row(
            c["beta"],
            *[s[lab]["solvers"][first]["exact"] for lab in labels],
            *[s[lab]["solvers"][first]["accuracy"] for lab in labels],
        )
    run_dir.save_table(acc)

    solv = Table(
        "solvers",
        [
            "beta",
            "setting",
            "solver",
            "mean iterations",
            "max iterations",
            "not converged",
            "wall ms",
            "agrees with " + first,
        ],
        caption="Iterations to relative residual < tol (per-sample), wall time per batch "
        "solve, and the fraction of queries whose fixed point matches the first solver's.",
    )
    for c in cells:
        for lab in labels:
            for s_name in config.solvers:
                st = c["settings"][lab]["solvers"][s_name]
                solv.add_row(
                    c["beta"],
                    lab,
                    s_name,
                    st["mean_steps"],
                    st["max_steps"],
                    st["not_converged"],
                    1000 * st["wall_s"],
                    st.get("agrees_with_first"),
                )
    run_dir.save_table(solv)

    firsts = [c["settings"][lab]["solvers"][first] for c in cells for lab in labels]
    n_traj = config.n_queries * len(firsts)
    theory = comparison_table(
        "theory",
        [
            (
                f"Picard trajectories with an energy increase, of {n_traj} (Prop. 3.2)",
                0,
                sum(f["energy_increases"] for f in firsts),
                None,
            ),
            (
                "largest relative energy increase per step (Prop. 3.2)",
                0,
                max(f["max_relative_increase"] for f in firsts),
                None,
            ),
            (
                "minimum energy along all trajectories (Lemma 3.2.1: >= 0)",
                0,
                min(f["min_energy"] for f in firsts),
                None,
            ),
            (
                "max E after one update / (ln P / beta + M^2 / 2) (Lemma 3.2.2 ii: <= 1)",
                1,
                max(f["max_energy_after_one_step_over_bound"] for f in firsts),
                None,
            ),
        ],
        caption="The notes' theorems against our measurements (paper = what the theorem "
        "predicts; an energy increase counts when it exceeds 64 ulps of the energy scale).",
    )
    run_dir.save_table(theory)


def _figures(
    config: RetrievalConfig, cells: list[dict], run_dir: RunDir, shape: tuple[int, int]
) -> None:
    first = config.solvers[0]
    labels = [_label(k, v) for k, v in config.settings]
    betas = [c["beta"] for c in cells]

    fig, ax = plt.subplots(figsize=(6, 4))
    for lab in labels:
        ax.plot(
            betas, [c["settings"][lab]["solvers"][first]["exact"] for c in cells], "o-", label=lab
        )
    ax.set(
        xscale="log",
        xlabel="beta",
        ylabel="exact retrieval accuracy",
        ylim=(-0.02, 1.02),
        title=f"Retrieval vs beta (P = {config.n_patterns})",
    )
    ax.legend(fontsize=8)
    run_dir.save_figure(fig, "accuracy_vs_beta")

    fig, ax = plt.subplots(figsize=(6, 4))
    for s_name in config.solvers:
        means = [
            sum(c["settings"][lab]["solvers"][s_name]["mean_steps"] for lab in labels) / len(labels)
            for c in cells
        ]
        ax.plot(betas, means, "o-", label=s_name)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="beta",
        ylabel="mean iterations to tol",
        title="Iterations to convergence",
    )
    ax.legend()
    run_dir.save_figure(fig, "iterations_vs_beta")

    fig, axes = plt.subplots(
        1, min(len(cells), 4), figsize=(3.2 * min(len(cells), 4), 3), squeeze=False
    )
    pick = [cells[i] for i in torch.linspace(0, len(cells) - 1, axes.shape[1]).round().long()]
    for ax, c in zip(axes[0], pick, strict=False):
        curves = c.get("energy_curves")
        if not curves:
            continue
        t = range(len(curves["mean"]))
        for sample in curves["samples"]:
            ax.plot(t, sample, color="0.7", lw=0.7)
        ax.plot(t, curves["mean"], color="C0", lw=2, label="mean")
        ax.set(title=f"beta = {c['beta']:g}", xlabel="Picard iteration", ylabel="energy E")
    fig.suptitle(f"Energy along trajectories ({labels[0]}): never increasing (Prop. 3.2)")
    fig.tight_layout()
    run_dir.save_figure(fig, "energy_trajectories")

    ex_cells = [c for c in cells if "examples" in c]
    if ex_cells:
        mask_labels = [lab for lab in labels if lab.startswith("mask")]
        c = max(ex_cells, key=lambda c: c["settings"][mask_labels[-1]]["solvers"][first]["exact"])
        ex = c["examples"]
        n = len(ex["query"])
        fig, axes = plt.subplots(3, n, figsize=(1.3 * n, 4.2), squeeze=False)
        for j in range(n):
            for i, key in enumerate(("query", "fixed_point", "target")):
                axes[i, j].imshow(np.asarray(ex[key][j]).reshape(shape), cmap="gray")
                axes[i, j].axis("off")
            axes[0, j].set_title(f"#{j}", fontsize=8)
        for i, key in enumerate(("query", "fixed point", "stored")):
            axes[i, 0].text(
                -0.1, 0.5, key, transform=axes[i, 0].transAxes, ha="right", va="center", fontsize=8
            )
        fig.suptitle(f"Masked queries, beta = {c['beta']:g}")
        run_dir.save_figure(fig, "examples")
    plt.close("all")


def _summary(config: RetrievalConfig, cells: list[dict]) -> dict[str, Any]:
    first = config.solvers[0]
    labels = [_label(k, v) for k, v in config.settings]
    best = {
        lab: max(c["settings"][lab]["solvers"][first]["exact"] for c in cells) for lab in labels
    }
    out: dict[str, Any] = {
        "best_exact_accuracy": best,
        "energy_increases": sum(
            c["settings"][lab]["solvers"][first]["energy_increases"]
            for c in cells
            for lab in labels
        ),
    }
    for s_name in config.solvers:
        out[f"mean_iterations_{s_name}"] = sum(
            c["settings"][lab]["solvers"][s_name]["mean_steps"] for c in cells for lab in labels
        ) / (len(cells) * len(labels))
    return out


register(
    Experiment(
        name="retrieval",
        title="Modern Hopfield retrieval of corrupted MNIST digits: accuracy, energy, solvers",
        paper="continuous-hopfield-networks-notes, ch. 3",
        figure="Eq. 3.4-3.5, Prop. 3.2, Lemmas 3.2.1-3.2.2",
        config_cls=RetrievalConfig,
        profiles={
            "demo": RetrievalConfig(),
            "quick": RetrievalConfig(
                n_patterns=5000,
                n_queries=200,
                betas=(0.003, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.3),
                noise_sigmas=(0.2, 0.4, 0.6, 0.8),
                mask_fractions=(0.25, 0.5, 0.75),
            ),
            "paper": RetrievalConfig(
                n_patterns=50000,
                n_queries=2000,
                betas=(0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.3, 1.0),
                noise_sigmas=(0.1, 0.2, 0.4, 0.6, 0.8, 1.0),
                mask_fractions=(0.25, 0.5, 0.6, 0.75),
                max_iter=1000,
            ),
        },
        runtime={
            "demo": "~20 s (2 CPU cores)",
            "quick": "~7 min (2 CPU cores)",
            "paper": "~1 h on one GPU",
        },
        run=run,
    )
)
