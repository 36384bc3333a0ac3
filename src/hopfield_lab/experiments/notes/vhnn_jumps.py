"""VHNN's stochastic jumps between attractors (notes Sec. 4.4, "A Simple Experiment").

Setting. 30 patterns on 32 x 32 pixels, 3 per digit. The notes' hand-made prototypes are not
available; ours are the signs of the 3 k-means centroids of each digit's MNIST training images
(:func:`~hopfield_lab.data.prototypes.binary_prototypes`): pixels ``+-1``, ``|x_i| = 32``, close
to the notes' near-binary patterns (``M = 31.39``). (The grey centroids are a poor memory:
``Delta_min < 0``, and at ``beta = 0.063`` every start falls into one mixture state.) A
:class:`~hopfield_lab.models.layers.VHNN` runs the chain

    p_t = softmax(beta X xi_t),   xi_{t+1} = X^T (p_t + eta sqrt(p_t (1 - p_t)) * eps_t)

for ``steps`` steps from the notes' starts (patterns 0, 21, 27) and from random states (``mean
pattern + 10 N(0, I)``, notes cell 34), for each noise level ``eta`` and two betas: ``notes``
(0.063) and ``matched`` (``0.063 * 37.53 / Delta_min``: our patterns get the notes' softmax
gap ``beta Delta_min = 2.36``; at the notes' beta our larger ``Delta_min`` makes the
attractors much deeper). All settings share their noise draws (common random numbers).

Every visited state is quenched to its noiseless fixed point, and fixed points closer than ``tol``
(L1, in probabilities) are one attractor, with one attractor list for every setting; the label
sequences give occupation, dwell times and transitions (:mod:`hopfield_lab.analysis.attractors`).

The notes' claim: at ``beta = 0.063``, ``eta = 0.3`` the chain lives on **4 states**, two it
hardly leaves and two it jumps between.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Annotated, Any, Literal

import numpy as np
import torch
from torch import Tensor

from hopfield_lab.analysis import chain_attractors, cluster_fixed_points, dwell_statistics
from hopfield_lab.data.prototypes import binary_prototypes
from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments.base import RunContext, register
from hopfield_lab.experiments.fields import (
    AtMost,
    Config,
    Min,
    MnistPath,
    NonEmpty,
    Positive,
    Range,
    Seed,
    Unique,
)
from hopfield_lab.experiments.notes import _common as notes
from hopfield_lab.models import VHNN, ModernHopfield, select_beta
from hopfield_lab.runs import RunDir, Table, comparison_table, records_table
from hopfield_lab.runs.plots import figure, image_grid

__all__ = ["VHNNJumpsConfig", "report", "run"]

NOTES_STATES = 4
"""States the notes' chain lives on at ``beta = 0.063``, ``eta = 0.3`` (Sec. 4.4)."""
NOTES_ETA = 0.3

BetaMode = Literal["notes", "matched"]
_ETAS = (0.1, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0)


@dataclass(frozen=True)
class VHNNJumpsConfig(Config):
    """Config of ``vhnn-jumps`` (see the module docstring).

    Attributes:
        beta: inverse temperature of the VHNN (notes: 0.063).
        beta_modes: ``notes`` (``beta``), ``matched`` (rescaled to the notes' ``beta Delta_min``).
        noise_levels: noise levels ``eta`` (notes: 0.3), in ``(0, 100]``: the noise is added to
            probabilities in ``[0, 1]``, so at 100 it is already 50 times the largest signal.
        steps: chain length per start (notes' animation: 4,096 frames).
        burn_in: first steps of every chain left out of the statistics (the transient from a
            random start into its first basin is not a noise-driven jump).
        starts: stored-pattern indices used as starting states (notes: 0, 21, 27).
        random_starts: extra starts ``mean pattern + 10 N(0, I)``.
        seeds: independent repetitions (noise draws) per noise level.
        quench_steps: deterministic iterations used to find a state's attractor.
        tol: L1 distance of fixed-point probabilities below which two are one attractor.
        per_digit: prototypes per digit (notes: 3, i.e. 30 patterns).
        seed: seeds the prototypes and the chains. mnist_path: user MNIST ("" = bundled).
    """

    beta: Annotated[float, Positive] = 0.063
    beta_modes: Annotated[tuple[BetaMode, ...], NonEmpty, Unique] = ("notes", "matched")
    noise_levels: Annotated[tuple[float, ...], NonEmpty, Range(0.0, 100.0, open_low=True)] = _ETAS
    steps: Annotated[int, Min(2)] = 16_384
    burn_in: Annotated[int, Min(0), AtMost("steps", -2)] = 20
    starts: Annotated[tuple[int, ...], Min(0)] = (0, 21, 27)
    random_starts: Annotated[int, Min(0)] = 5
    seeds: Annotated[int, Min(1)] = 3
    quench_steps: Annotated[int, Min(1)] = 300
    tol: Annotated[float, Range(0.0, 2.0, open_low=True)] = 0.05
    per_digit: Annotated[int, Min(1)] = 3
    seed: Seed = 0
    mnist_path: MnistPath = ""

    def check(self) -> None:
        if any(s >= 10 * self.per_digit for s in self.starts):
            raise ConfigError(
                f"starts must be pattern indices below {10 * self.per_digit}; got {self.starts}"
            )
        if not self.starts and self.random_starts == 0:
            raise ConfigError("need at least one start: starts is empty and random_starts = 0")


def _selection(X: Tensor) -> dict[str, float]:
    """``M``, ``Delta_min`` and Prop. 3.4's rule (``a``, ``u``, ``beta_star``, ``radius``; NaN
    when ``Delta_min <= 0``: no beta separates the patterns)."""
    model = ModernHopfield(X)
    out = {"M": float(model.max_norm), "delta_min": float(model.separation().min())}
    if out["delta_min"] <= 0:
        return out | dict.fromkeys(("a", "u", "beta_star", "radius"), float("nan"))
    sel = select_beta(X)
    return out | {"a": sel.a, "u": sel.u, "beta_star": sel.beta, "radius": sel.radius}


def _betas(config: VHNNJumpsConfig, delta_min: float) -> dict[str, float]:
    """The beta of each mode (``matched`` needs ``Delta_min > 0``; else it is skipped)."""
    matched = config.beta * notes.DELTA_MIN / delta_min if delta_min > 0 else None
    betas = {"notes": config.beta, "matched": matched}
    out = {str(m): b for m in config.beta_modes if (b := betas[m]) is not None}
    if not out:
        raise ConfigError(
            f"beta_modes=('matched',) needs patterns with Delta_min > 0; ours have {delta_min:.4g}"
        )
    return out


def _grid(config: VHNNJumpsConfig) -> dict[str, dict[str, Any]]:
    cells = {
        f"beta={m},eta={e},seed={s}": {"config": config, "mode": m, "noise": e, "seed": s}
        for m, e, s in product(config.beta_modes, config.noise_levels, range(config.seeds))
    }
    return {"patterns": {"config": config}} | cells


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    """The pattern set, or the chains of one beta, noise level and seed: quenched, clustered."""
    config: VHNNJumpsConfig = cell["config"]
    X = binary_prototypes(config.mnist_path, config.per_digit, config.seed)  # (P, N)
    sel = _selection(X)
    betas = _betas(config, sel["delta_min"])
    if "mode" not in cell:
        return {"patterns": X.int().tolist(), "selection": sel, "betas": betas}
    beta = betas.get(cell["mode"])
    if beta is None:
        return {"skipped": True}
    gen = torch.Generator().manual_seed(1_000_003 * config.seed + 7919 * cell["seed"] + 1)
    starts = [X[i] for i in config.starts]
    for _ in range(config.random_starts):
        starts.append(X.mean(0) + 10.0 * torch.randn(X.shape[1], generator=gen, dtype=X.dtype))
    model = VHNN(1, len(X), X.shape[1], beta=beta, noise=cell["noise"]).double().eval()
    model.set_patterns(X.unsqueeze(0))

    def step(xi: Tensor) -> Tensor:  # (S, N) -> (S, N), through VHNN's (S, 1, N)
        return model.step(xi[:, None], stochastic=True, generator=gen)[:, 0]

    S0, T = torch.stack(starts), config.steps
    chains = chain_attractors(step, X, beta, S0, T, config.burn_in, config.quench_steps, config.tol)
    return {
        "centres": [c.tolist() for c in chains.centres],
        "labels": chains.labels.tolist(),
        "unconverged": chains.unconverged,
    }


def _summary(config: VHNNJumpsConfig, cells: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One attractor list for all cells, and the statistics of every (beta mode, eta)."""
    X = torch.tensor(cells["patterns"]["patterns"], dtype=torch.float64)
    centres: list[Tensor] = []
    seqs: dict[tuple[str, float], list[np.ndarray]] = {}
    unconverged: dict[tuple[str, float], list[float]] = {}
    for key, cell in _grid(config).items():
        if key == "patterns" or cells[key].get("skipped"):
            continue
        g, r = (cell["mode"], cell["noise"]), cells[key]
        local = torch.tensor(r["centres"], dtype=torch.float64)
        mapping = cluster_fixed_points(local, config.tol, centres).numpy()
        seqs.setdefault(g, []).extend(mapping[np.asarray(seq)] for seq in r["labels"])
        unconverged.setdefault(g, []).append(r["unconverged"])
    K = len(centres)
    C = torch.stack(centres)  # (K, P) fixed-point probabilities p*
    states = C @ X  # (K, N): the attractors xi* = X^T p*
    stats = {g: dwell_statistics(q, K) for g, q in seqs.items()}
    n_chains = len(config.starts) + config.random_starts
    for g, st in stats.items():  # the notes' question: which states do chains from 0, 21, 27 visit?
        own = [q for i, q in enumerate(seqs[g]) if i % n_chains < len(config.starts)]
        st["notes_starts_visited_1pct"] = dwell_statistics(own, K)["n_visited_1pct"] if own else 0
        st["unconverged"] = float(np.mean(unconverged[g]))
    return {
        "C": C,
        "states": states,
        "nearest": torch.cdist(states, X).argmin(1),  # (K,)
        "stats": stats,
        "seqs": seqs,
        "order": np.argsort(-sum(st["occupation"] for st in stats.values()), kind="stable"),
    }


def run(config: VHNNJumpsConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """The chains, one resumable cell per beta, noise level and seed; their statistics."""
    cells = ctx.cells(_cell, _grid(config), run_dir)
    head, stats = cells["patterns"], (s := _summary(config, cells))["stats"]
    drop = ("transitions", "occupation", "dwell_list", "unconverged")
    return {
        "n_attractors": len(s["C"]),
        "beta_selection": head["selection"],
        "betas": head["betas"],
        "per_setting": {
            f"{m},eta={e}": {k: v for k, v in st.items() if k not in drop}
            for (m, e), st in stats.items()
        },
        "attractor_nearest_pattern": s["nearest"].tolist(),
        "transitions": {f"{m},eta={e}": st["transitions"].tolist() for (m, e), st in stats.items()},
    }


def report(config: VHNNJumpsConfig, run_dir: RunDir) -> None:
    """The notes' numbers against ours (headline), dwell and attractor tables, four figures."""
    cells = {k: run_dir.load_cell(k) for k in _grid(config)}
    head, s = cells["patterns"], _summary(config, cells)
    sel, betas, stats, order = head["selection"], head["betas"], s["stats"], s["order"]
    main_eta = min(config.noise_levels, key=lambda e: abs(e - NOTES_ETA))
    rows: list[tuple[str, Any, Any, Any]] = [
        ("M = max_i |x_i|", notes.MAX_NORM, sel["M"], None),
        ("Delta_min", notes.DELTA_MIN, sel["delta_min"], None),
        ("beta from the separation condition", notes.BETA, sel["beta_star"], None),
    ]
    for mode, beta in betas.items():
        st, at = stats[(mode, main_eta)], f"[{mode}]"
        notes_gap, from_starts = notes.BETA_USED * notes.DELTA_MIN, st["notes_starts_visited_1pct"]
        visited = f"{at} states visited > 1 % from the starts {config.starts}"
        rows += [
            (f"{at} beta", notes.BETA_USED, beta, None),
            (f"{at} beta Delta_min", notes_gap, beta * sel["delta_min"], None),
            (visited, NOTES_STATES, from_starts, None),
            (f"{at} attractors visited > 1 %, all chains", None, st["n_visited_1pct"], None),
            (f"{at} jumps per 1,000 steps", None, st["jump_rate"], None),
        ]
    run_dir.save_table(
        comparison_table(
            "vhnn_notes",
            rows,
            caption=f"Notes Sec. 4.4 vs ours, at eta = {main_eta}. Our 30 patterns are "
            "binarised k-means prototypes, not the notes' hand-made ones, so M, Delta_min and "
            "the separation beta differ; 'matched' rescales beta to the notes' beta Delta_min. "
            "The notes' '4 states' is read as the attractors that the chains from the notes' "
            "starts occupy more than 1 % of the time.",
            headline=True,
        )
    )
    run_dir.save_table(
        records_table(
            "dwell_times",
            [{"mode": m, "beta": betas[m], "eta": e, **st} for (m, e), st in stats.items()],
            {
                "beta mode": "mode",
                "beta": "beta",
                "eta": "eta",
                "attractors visited": "n_visited",
                "visited > 1 %": "n_visited_1pct",
                "visited > 1 % (notes' starts)": "notes_starts_visited_1pct",
                "jumps / 1000 steps": "jump_rate",
                "mean dwell": "mean_dwell",
                "median dwell": "median_dwell",
                "max dwell": "max_dwell",
                "censored runs": "censored",
                "unconverged quench": "unconverged",
            },
            caption=f"Per beta and noise level: {config.seeds} seed(s) x "
            f"{len(config.starts) + config.random_starts} chains x {config.steps} steps, the "
            f"first {config.burn_in} left out. Dwell = length in steps of a completed stay in one "
            "attractor (the stay cut by the end of a chain is censored).",
        )
    )
    grid, C, nearest = list(stats), s["C"], s["nearest"]
    run_dir.save_table(
        Table(
            "attractors",
            ["attractor", "nearest pattern", "digit", "max p*"]
            + [f"occupation {m} eta={e}" for m, e in grid],
            [
                [int(k), int(nearest[k]), int(nearest[k]) // config.per_digit, float(C[k].max())]
                + [float(stats[g]["occupation"][k]) for g in grid]
                for k in order
            ],
            caption="Attractors (fixed points of the noiseless update reached by quenching), "
            "their nearest stored pattern, the largest fixed-point probability (well below 1: a "
            "mixture state) and the fraction of steps spent in each.",
        )
    )
    for (mode, eta), st in stats.items():
        run_dir.save_table(
            Table(  # a safe file name for any eta (1e-05 -> 1em05)
                f"transitions_{mode}_eta{eta}".replace(".", "p").replace("+", "").replace("-", "m"),
                ["from \\ to"] + [str(int(k)) for k in order],
                [[str(int(i))] + [int(st["transitions"][i, j]) for j in order] for i in order],
                caption=f"Transition counts between attractors, beta {mode} = "
                f"{betas[mode]:.4g}, eta = {eta}.",
            )
        )
    _figures(config, betas, s, run_dir)


def _figures(
    config: VHNNJumpsConfig, betas: dict[str, float], s: dict[str, Any], run_dir: RunDir
) -> None:
    stats, seqs, order, nearest = s["stats"], s["seqs"], s["order"], s["nearest"]
    etas, n_chains = list(config.noise_levels), len(config.starts) + config.random_starts
    rank = np.argsort(order)  # the inverse permutation: rank[order[i]] = i
    size, kw = (9.0, 1.1 * len(etas) + 0.8), {"squeeze": False, "sharex": True}
    for mode in betas:
        traces = figure(run_dir, f"traces_{mode}", nrows=len(etas), size=size, **kw)
        with traces as (_, axes):
            for ax, eta in zip(axes[:, 0], etas, strict=True):
                for c, seq in enumerate(seqs[(mode, eta)][:n_chains]):
                    ax.plot(rank[seq] + 0.08 * c, drawstyle="steps-post", lw=0.7)
                ax.set_ylabel(f"eta={eta}", fontsize=7)
            axes[-1, 0].set_xlabel("step")
            title = "Attractor (rank by occupation) along each chain"
            axes[0, 0].set_title(f"{title}, beta {mode} = {betas[mode]:.4g}")
    top = order[:12]
    ticks = [f"{int(nearest[k])}" for k in top]
    counts = {g: np.log1p(st["transitions"][np.ix_(top, top)]) for g, st in stats.items()}
    vmax = max(1e-9, *(c.max() for c in counts.values()))
    rows, cols, size = len(betas), len(etas), (2.6 * len(etas) + 1, 2.8 * len(betas))
    panels = figure(run_dir, "transitions", nrows=rows, ncols=cols, size=size, squeeze=False)
    with panels as (fig, axes):
        for r, mode in enumerate(betas):
            for ax, eta in zip(axes[r], etas, strict=True):
                image = ax.imshow(counts[(mode, eta)], cmap="viridis", vmin=0, vmax=vmax)
                ax.set_title(f"{mode}, eta={eta}", fontsize=8)
                ax.set_xticks(range(len(top)), ticks, fontsize=5)
                ax.set_yticks(range(len(top)), ticks, fontsize=5)
        fig.colorbar(image, ax=axes, label="log(1 + transition count)")
        fig.suptitle("Transitions from (rows) to (columns); ticks: the attractor's nearest pattern")
    ylabels = {"n_visited_1pct": "attractors visited (> 1 %)", "jump_rate": "jumps per 1000 steps"}
    ylabels["mean_dwell"] = "mean dwell time (steps)"
    with figure(run_dir, "noise_dependence", ncols=3, size=(13.0, 3.6)) as (_, axes):
        for j, mode in enumerate(betas):
            st, label = [stats[(mode, e)] for e in etas], f"{mode} (beta={betas[mode]:.3g})"
            for ax, key in zip(axes, ylabels, strict=True):
                ax.plot(etas, [x[key] for x in st], "o-", color=f"C{j}", label=label)
            starts = [x["notes_starts_visited_1pct"] for x in st]
            axes[0].plot(etas, starts, "x--", color=f"C{j}", label=f"{mode}, from {config.starts}")
        axes[0].axhline(NOTES_STATES, color="gray", ls="--", label="notes (eta = 0.3)")
        scales = ("linear", "symlog", "log")
        for ax, ylabel, yscale in zip(axes, ylabels.values(), scales, strict=True):
            ax.set(xlabel="eta", ylabel=ylabel, yscale=yscale)
            ax.legend(fontsize=7)
    top = order[:8]
    image_grid(
        run_dir,
        "attractors",
        [[s["states"][k].view(32, 32).numpy() for k in top]],
        titles=[[f"near {int(nearest[k])}" for k in top]],
        title="Most visited attractors",
        cell=(1.5, 1.9),
    )


register(
    name="vhnn-jumps",
    title="VHNN: stochastic jumps between attractors vs the noise level",
    paper="continuous-hopfield-networks-notes, Sec. 4.4",
    figure="VHNN animation, Table 4.1",
    profiles={
        "demo": VHNNJumpsConfig(noise_levels=(0.3, 1.5), steps=2000, random_starts=2, seeds=1),
        "quick": VHNNJumpsConfig(noise_levels=(0.1, 0.3, 0.5, 1.0, 2.0, 3.0), steps=4096, seeds=1),
        "paper": VHNNJumpsConfig(),
    },
    runtime={"demo": "~20 s", "quick": "~1 min", "paper": "~8 min (1 CPU thread)"},
    memory={"quick": "1.1 GiB"},
    claim=(
        "A VHNN chain at the notes' beta and noise 0.3 lives on a few attractors; jumps "
        "between them become frequent as the noise grows."
    ),
    expected=(
        "At eta = 0.3 no jumps at either beta: the chains from 0, 21, 27 occupy 3 attractors "
        "(notes' beta) or 2 (matched beta; notes: 4); at the matched beta 0.8, 29, 145 and 205 "
        "jumps per 1,000 steps at eta = 0.5, 1, 2, 3; at the notes' beta fewer than one per "
        "1,000 steps up to eta = 3."
    ),
    run=run,
    report=report,
)
