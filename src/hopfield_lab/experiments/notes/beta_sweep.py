"""Figures 3.1 and 3.2 of the lecture notes: where retrieval ends as beta grows.

Command::

    hopfield-lab run modern-beta-sweep --profile demo     # ~15 s on 2 idle CPU cores
    hopfield-lab run modern-beta-sweep --profile quick    # ~40 s on 2 idle CPU cores
    hopfield-lab run modern-beta-sweep --profile paper    # ~5 min on 2 idle CPU cores

(Measured under a load of 10 on 2 cores, one torch thread: demo 24 s wall / 7 s user CPU, 60
queries x 25 betas; quick with 300 queries 48 s wall / 13 s user.)

Setting. The stored patterns are the 30 MNIST prototypes of Table 4.1 (3 per digit, 32 x 32,
pixels in ``[-1, 1]``; see :mod:`hopfield_lab.experiments.notes.beta_recipe` for how they are
chosen). Queries are stored patterns plus Gaussian pixel noise of std ``noise_sigma`` ("a random
perturbation of a stored pattern", Fig. 3.2), cycling over the patterns. For each ``beta`` of a
log grid every query runs the update ``xi <- X^T softmax(beta X xi)`` (Eq. 3.5, plain Picard
iteration: the CCCP descent itself) to a fixed point, recording the energy (Eq. 3.4) at every
step.

Where a query ends is read from the softmax ``p`` at its fixed point, through the effective
number of patterns ``n_eff = exp(H(p))`` (1 for a single pattern, ``P`` for the uniform
average):

* global average: ``n_eff >= global_fraction * P`` (Fig. 3.1: small ``beta``, every input gives
  the same output; for ``beta m_max^2 < 1`` Prop. 3.3 makes the update a contraction, so there
  is a single fixed point);
* single pattern: ``n_eff < single_threshold`` (Fig. 3.2, small temperature: "local
  convergence to the stored pattern"), split into the query's own pattern or another one;
* metastable mixture of several patterns: in between (Fig. 3.2, larger temperature).

Also measured per ``beta``: the number of distinct fixed points over all queries (merged when
closer than ``1e-3`` relative), and Prop. 3.2 along every trajectory (an energy increase counts
when it exceeds 64 ulps of the energy's largest cancelling term, ``ln P / beta + M^2 + |E| +
|xi_0|^2 / 2``: at ``beta = 1e-4`` the constant ``ln P / beta`` is 3e4 while ``E`` is a few
units, so rounding alone moves ``E`` by about 1e-11). Vertical markers: the contraction limit
``1 / m_max^2`` (Prop. 3.3) and the ``beta`` of Prop. 3.4 (:func:`~hopfield_lab.models.modern.
select_beta`).

The notes' figures are qualitative (no numbers): at small ``beta`` every input ends at the same
point; at large ``beta`` a perturbed pattern returns to itself; in between it ends at a
mixture. The comparison table turns these statements, and Props. 3.2-3.4, into checks.

Expected (quick grid with 300 queries, seed 0): one global fixed point for every query up to
``beta = 0.022`` (``beta m_max^2 = 7.7``: Prop. 3.3's contraction limit ``beta m_max^2 < 1`` is
sufficient, far from necessary); metastable mixtures peak at ``beta = 0.038`` (73% of queries,
19 distinct fixed points); from ``beta = 0.068`` on every query returns to its own pattern,
well below Prop. 3.4's ``beta = 0.24``; no energy increase along any trajectory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_choice, check_int, check_positive, check_range
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.experiments.notes.beta_recipe import prototype_problem
from hopfield_lab.models import ModernHopfield
from hopfield_lab.models.modern import select_beta
from hopfield_lab.runs import RunDir, Table, comparison_table, run_cells

__all__ = ["BetaSweepConfig", "classify", "effective_patterns", "run"]

_DEFAULT_BETAS = tuple(float(f"{b:.4g}") for b in np.logspace(-4, 0, 25))
_FIG_BETAS = 6  # columns of the Fig. 3.2 panel
_DISTINCT_RTOL = 1e-3


@dataclass(frozen=True)
class BetaSweepConfig:
    """Config of the beta sweep (see the module docstring for the protocol).

    Attributes:
        dataset: ``"mnist"`` or ``"digits"`` (scikit-learn 8x8, for tests).
        per_class: prototypes per digit. n_per_class: training images per digit for k-means
            (0 = all). prototypes: ``"kmeans-medoid"`` or ``"kmeans-centroid"``. pad: padding.
        betas: inverse temperatures (increasing order is used for the figures).
        n_queries: queries (stored patterns plus noise, cycling over the patterns).
        noise_sigma: pixel-noise std of the queries (pixels in ``[-1, 1]``).
        single_threshold: ``n_eff`` below which a fixed point is a single pattern.
        global_fraction: ``n_eff >= global_fraction * P`` counts as the global average.
        tol: relative residual tolerance. max_iter: Picard iteration budget.
        seed: seeds k-means, the queries and the noise.
        mnist_path: optional user MNIST file or directory ("" = bundled copy).
    """

    dataset: Literal["mnist", "digits"] = "mnist"
    per_class: int = 3
    n_per_class: int = 500
    prototypes: Literal["kmeans-medoid", "kmeans-centroid"] = "kmeans-medoid"
    pad: int = 2
    betas: tuple[float, ...] = _DEFAULT_BETAS
    n_queries: int = 60
    noise_sigma: float = 0.5
    single_threshold: float = 1.5
    global_fraction: float = 0.5
    tol: float = 1e-7
    max_iter: int = 3000
    seed: int = 0
    mnist_path: str = ""

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, ("mnist", "digits"))
        check_int("per_class", self.per_class, 1, 50)
        check_int("n_per_class", self.n_per_class, 0)
        check_choice("prototypes", self.prototypes, ("kmeans-medoid", "kmeans-centroid"))
        check_int("pad", self.pad, 0, 16)
        if not self.betas:
            raise ConfigError("betas must not be empty")
        for b in self.betas:
            check_positive("betas", b)
        check_int("n_queries", self.n_queries, 1)
        check_range("noise_sigma", self.noise_sigma, 0.0)
        check_range("single_threshold", self.single_threshold, 1.0, low_inclusive=False)
        check_range("global_fraction", self.global_fraction, 0.0, 1.0, low_inclusive=False)
        check_positive("tol", self.tol)
        check_int("max_iter", self.max_iter, 1)
        check_int("seed", self.seed, 0)


def effective_patterns(p: Tensor) -> Tensor:
    """``n_eff = exp(-sum_i p_i log p_i)``: ``(B, P) -> (B,)``, in ``[1, P]``."""
    return torch.exp(-(p * torch.log(p.clamp_min(1e-300))).sum(-1))


def classify(
    n_eff: Tensor, n_patterns: int, single_threshold: float, global_fraction: float
) -> Tensor:
    """0 = global average, 1 = metastable mixture, 2 = single pattern: ``(B,) -> (B,)``."""
    out = torch.ones_like(n_eff, dtype=torch.long)
    out[n_eff >= global_fraction * n_patterns] = 0
    out[n_eff < single_threshold] = 2
    return out


def _distinct(x: Tensor) -> int:
    """Number of distinct rows, merging rows closer than ``1e-3`` relative (greedy)."""
    reps: list[Tensor] = []
    for row in x:
        scale = float(row.norm()) + 1e-12
        if not any(float((row - r).norm()) <= _DISTINCT_RTOL * scale for r in reps):
            reps.append(row)
    return len(reps)


def _problem(cfg: dict[str, Any]) -> tuple[Tensor, Tensor, Tensor, tuple[int, int]]:
    """Prototypes ``(P, N)``, queries ``(Q, N)``, their sources ``(Q,)`` and the image shape."""
    X, _, _, _, shape = prototype_problem(
        cfg["dataset"],
        cfg["per_class"],
        cfg["n_per_class"],
        cfg["prototypes"],
        cfg["pad"],
        cfg["seed"],
        cfg["mnist_path"],
    )
    gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    src = torch.arange(cfg["n_queries"]) % X.shape[0]
    q = X[src] + cfg["noise_sigma"] * torch.randn(
        len(src), X.shape[1], generator=gen, dtype=X.dtype
    )
    return X, q, src, shape


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    """One ``beta``: retrieve every query, classify its end point, check the energy."""
    cfg, beta = cell["config"], float(cell["beta"])
    X, q, src, _ = _problem(cfg)
    model = ModernHopfield(X, beta=beta)
    res = model.retrieve(
        q,
        tol=cfg["tol"],
        max_iter=cfg["max_iter"],
        energy=model.energy,
        record_residuals=False,
    )
    p = model.probabilities(res.x)  # (Q, P)
    n_eff = effective_patterns(p)
    kind = classify(n_eff, model.n_patterns, cfg["single_threshold"], cfg["global_fraction"])
    own = (p.argmax(1) == src) & (kind == 2)
    if res.energies is None:  # cannot happen: an energy was given
        raise RuntimeError("fixed_point returned no energies")
    e = res.energies  # (T+1, Q)
    # rounding of E is eps times its largest cancelling term: ln P / beta (huge at small beta),
    # M^2 / 2 and |xi|^2 / 2 <= E + lse, so scale the slack by their sum, not by |E|
    terms = math.log(model.n_patterns) / beta + float(model.max_norm) ** 2 + e.abs().amax(0)
    scale = terms + 0.5 * float(q.norm(dim=1).max()) ** 2 + 1.0
    rise = ((e[1:] - e[:-1]) / scale).amax(0) if len(e) > 1 else torch.zeros(len(q))
    slack = 64 * torch.finfo(e.dtype).eps
    steps = min(len(e), 60)
    return {
        "beta": beta,
        "frac_global": float((kind == 0).double().mean()),
        "frac_metastable": float((kind == 1).double().mean()),
        "frac_single": float((kind == 2).double().mean()),
        "frac_single_own": float(own.double().mean()),
        "n_eff_median": float(n_eff.median()),
        "n_eff_q25": float(n_eff.quantile(0.25)),
        "n_eff_q75": float(n_eff.quantile(0.75)),
        "distinct_fixed_points": _distinct(res.x),
        "mean_steps": float(res.n_steps.double().mean()),
        "not_converged": int(res.n_not_converged),
        "energy_increases": int((rise > slack).sum()),
        "max_relative_increase": float(rise.max().clamp_min(0.0)),
        "min_energy": float(e.min()),
        "energy_curves": e[:steps, :8].T.tolist(),
        "example_fixed_points": res.x[: min(6, len(q))].round(decimals=3).tolist(),
    }


def run(config: BetaSweepConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Sweep ``beta`` (one resumable cell each), then write the tables and figures."""
    cfg = {k: getattr(config, k) for k in config.__dataclass_fields__}
    betas = sorted(config.betas)
    cells = {f"beta={b:g}": {"beta": b, "config": cfg} for b in betas}
    results = run_cells(_cell, cells, run_dir, executor=ctx.executor, progress=ctx.progress)
    ordered = [results[k] for k in cells]
    X, q, _, shape = _problem(cfg)
    m_max2 = float(((X - X.mean(0)).norm(dim=1).max()) ** 2)
    try:
        beta_star: float | None = select_beta(X).beta
    except ConfigError:  # Delta_min <= 0: no beta satisfies Prop. 3.4
        beta_star = None
    _tables(config, run_dir, ordered, X.shape[0], m_max2, beta_star)
    _figures(config, run_dir, ordered, q, X, shape, m_max2, beta_star)
    first_single = next((c for c in ordered if beta_star and c["beta"] >= beta_star), None)
    return {
        "n_patterns": int(X.shape[0]),
        "contraction_beta": 1.0 / m_max2,
        "prop_3_4_beta": beta_star,
        "energy_increases": sum(c["energy_increases"] for c in ordered),
        "frac_global_at_smallest_beta": ordered[0]["frac_global"],
        "frac_single_own_at_largest_beta": ordered[-1]["frac_single_own"],
        "frac_single_own_at_prop_3_4_beta": (
            first_single["frac_single_own"] if first_single else None
        ),
        "max_frac_metastable": max(c["frac_metastable"] for c in ordered),
        "not_converged": sum(c["not_converged"] for c in ordered),
    }


def _tables(
    config: BetaSweepConfig,
    run_dir: RunDir,
    cells: list[dict[str, Any]],
    n_patterns: int,
    m_max2: float,
    beta_star: float | None,
) -> None:
    star = "none (Delta_min <= 0)" if beta_star is None else f"{beta_star:.4g}"
    sweep = Table(
        "fractions",
        [
            "beta",
            "beta m_max^2",
            "global",
            "metastable",
            "single",
            "single (own)",
            "median n_eff",
            "distinct fixed points",
            "mean steps",
            "not converged",
            "energy increases",
        ],
        caption=f"Where {config.n_queries} perturbed patterns (noise sigma "
        f"{config.noise_sigma:g}) end, by the effective number of patterns at the fixed point "
        f"(global: n_eff >= {config.global_fraction:g} P, single: n_eff < "
        f"{config.single_threshold:g}); P = {n_patterns}; Prop. 3.4 beta = {star}.",
    )
    for c in cells:
        sweep.add_row(
            c["beta"],
            c["beta"] * m_max2,
            c["frac_global"],
            c["frac_metastable"],
            c["frac_single"],
            c["frac_single_own"],
            c["n_eff_median"],
            c["distinct_fixed_points"],
            c["mean_steps"],
            c["not_converged"],
            c["energy_increases"],
        )
    run_dir.save_table(sweep)

    contraction = [c for c in cells if c["beta"] * m_max2 < 1.0]
    above = [c for c in cells if beta_star is not None and c["beta"] >= beta_star]
    rows: list[tuple[str, float | str | None, float | None, float | None]] = [
        (
            "energy increases along all trajectories (Prop. 3.2)",
            0,
            sum(c["energy_increases"] for c in cells),
            None,
        ),
        (
            "largest relative energy increase per step (Prop. 3.2)",
            0,
            max(c["max_relative_increase"] for c in cells),
            None,
        ),
        ("minimum energy (Lemma 3.2.1: >= 0)", 0, min(c["min_energy"] for c in cells), None),
        (
            "distinct fixed points, largest over beta m_max^2 < 1 (Prop. 3.3: 1)",
            1,
            max(c["distinct_fixed_points"] for c in contraction) if contraction else None,
            None,
        ),
        (
            f"fraction at the global average, smallest beta {cells[0]['beta']:g} (Fig. 3.1)",
            "all",
            cells[0]["frac_global"],
            None,
        ),
        (
            "fraction back at its own pattern, smallest beta >= Prop. 3.4 beta (Fig. 3.2)",
            "all",
            above[0]["frac_single_own"] if above else None,
            None,
        ),
        (
            f"fraction back at its own pattern, largest beta {cells[-1]['beta']:g} (Fig. 3.2)",
            "all",
            cells[-1]["frac_single_own"],
            None,
        ),
        (
            "largest fraction ending at a metastable mixture (Fig. 3.2)",
            "> 0 in between",
            max(c["frac_metastable"] for c in cells),
            None,
        ),
    ]
    run_dir.save_table(
        comparison_table(
            "claims",
            rows,
            caption="Figs. 3.1-3.2 and Props. 3.2-3.4 as checks (the notes' figures give no "
            "numbers: 'paper' is what the text states).",
        )
    )


def _figures(
    config: BetaSweepConfig,
    run_dir: RunDir,
    cells: list[dict[str, Any]],
    q: Tensor,
    X: Tensor,
    shape: tuple[int, int],
    m_max2: float,
    beta_star: float | None,
) -> None:
    betas = [c["beta"] for c in cells]

    def markers(ax: Any) -> None:
        ax.axvline(1.0 / m_max2, color="k", ls=":", lw=1, label="1/m_max² (Prop. 3.3)")
        if beta_star is not None:
            ax.axvline(beta_star, color="k", ls="--", lw=1, label="Prop. 3.4 beta")

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(betas, [c["frac_global"] for c in cells], "o-", label="global average")
    ax.plot(betas, [c["frac_metastable"] for c in cells], "s-", label="metastable mixture")
    ax.plot(betas, [c["frac_single"] for c in cells], "^-", label="single pattern")
    ax.plot(betas, [c["frac_single_own"] for c in cells], "v--", label="single, own pattern")
    markers(ax)
    ax.set(xscale="log", xlabel="beta", ylabel="fraction of queries", ylim=(-0.02, 1.02))
    ax.set_title("Where retrieval ends (Figs. 3.1-3.2)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    run_dir.save_figure(fig, "fractions_vs_beta")

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(betas, [c["n_eff_median"] for c in cells], "o-", label="median n_eff")
    ax.fill_between(
        betas, [c["n_eff_q25"] for c in cells], [c["n_eff_q75"] for c in cells], alpha=0.3
    )
    ax.plot(betas, [c["distinct_fixed_points"] for c in cells], "s--", label="distinct fixed pts")
    markers(ax)
    ax.set(xscale="log", yscale="log", xlabel="beta", ylabel="count")
    ax.set_title("Effective patterns at the fixed point")
    ax.legend(fontsize=7)
    fig.tight_layout()
    run_dir.save_figure(fig, "effective_patterns")

    chosen = {int(i) for i in np.linspace(0, len(cells) - 1, min(_FIG_BETAS, len(cells)))}
    meta = max(range(len(cells)), key=lambda k: cells[k]["frac_metastable"])
    if cells[meta]["frac_metastable"] > 0:  # show the mixture regime too
        chosen.add(meta)
    pick = sorted(chosen)
    n_ex = min(4, len(q))
    fig, axes = plt.subplots(n_ex, len(pick) + 1, figsize=(1.4 * (len(pick) + 1), 1.5 * n_ex))
    axes = np.atleast_2d(axes)
    for r in range(n_ex):
        axes[r, 0].imshow(q[r].reshape(shape).numpy(), cmap="gray", vmin=-1, vmax=1)
        axes[r, 0].axis("off")
        for j, k in enumerate(pick):
            img = np.asarray(cells[k]["example_fixed_points"][r]).reshape(shape)
            axes[r, j + 1].imshow(img, cmap="gray", vmin=-1, vmax=1)
            axes[r, j + 1].axis("off")
            if r == 0:
                axes[r, j + 1].set_title(f"β={cells[k]['beta']:.3g}", fontsize=7)
    axes[0, 0].set_title("query", fontsize=7)
    fig.suptitle("Same queries, different temperatures (Figs. 3.1-3.2)", fontsize=9)
    fig.tight_layout()
    run_dir.save_figure(fig, "fixed_points_vs_beta")

    fig, axes = plt.subplots(1, len(pick), figsize=(2.6 * len(pick), 2.6), squeeze=False)
    for ax, k in zip(axes[0], pick, strict=True):
        for curve in cells[k]["energy_curves"]:
            ax.plot(curve, lw=0.8)
        ax.set(title=f"β={cells[k]['beta']:.3g}", xlabel="step")
    axes[0, 0].set_ylabel("energy E")
    fig.suptitle("Energy along the updates: never increasing (Prop. 3.2)", fontsize=9)
    fig.tight_layout()
    run_dir.save_figure(fig, "energy_trajectories")
    plt.close("all")


register(
    Experiment(
        name="modern-beta-sweep",
        title="Where modern Hopfield retrieval ends vs beta: global / metastable / single",
        paper="continuous-hopfield-networks-notes, Sec. 3.3",
        figure="Figs. 3.1-3.2, Props. 3.2-3.4",
        config_cls=BetaSweepConfig,
        profiles={
            "demo": BetaSweepConfig(n_per_class=300, n_queries=60),
            "quick": BetaSweepConfig(
                n_per_class=2000,
                n_queries=600,
                betas=tuple(float(f"{b:.4g}") for b in np.logspace(-4, 0, 49)),
            ),
            "paper": BetaSweepConfig(
                n_per_class=0,
                n_queries=3000,
                betas=tuple(float(f"{b:.4g}") for b in np.logspace(-4.5, 0.5, 51)),
                max_iter=10000,
            ),
        },
        runtime={
            "demo": "~15 s (2 CPU cores)",
            "quick": "~40 s (2 CPU cores)",
            "paper": "~5 min (2 CPU cores)",
        },
        run=run,
    )
)
