"""VHNN's stochastic jumps between attractors (notes Sec. 4.4, "A Simple Experiment").

Command::

    hopfield-lab run vhnn-jumps --profile demo     # 2 x 2 settings, 2,000 steps: ~20 s
    hopfield-lab run vhnn-jumps --profile quick    # 2 x 6 settings, 4,096 steps: ~35 s CPU
    hopfield-lab run vhnn-jumps --profile paper    # 2 x 7 settings, 16,384 steps, 3 seeds: ~8 min

Small tensors: run with ``OMP_NUM_THREADS=1`` (more threads only spin on a busy machine).

Setting. 30 patterns on 32 x 32 pixels, 3 per digit. The notes' hand-made prototypes are not
available; ours are the signs of the 3 k-means centroids of each digit's MNIST training images
(:func:`~hopfield_lab.experiments.notes.deephnn.digit_prototypes`), so pixels are +-1 and every
``|x_i| = 32``, close to the notes' near-binary patterns (``M = 31.39``). (The grey centroids
themselves are a poor memory: their ``Delta_min`` is negative, a heavy centroid outscoring a
lighter one on its own direction, and at ``beta = 0.063`` every start falls into one mixture
state.) A :class:`~hopfield_lab.models.layers.VHNN` runs the chain

    p_t = softmax(beta X xi_t),   xi_{t+1} = X^T (p_t + eta sqrt(p_t (1 - p_t)) * eps_t)

for ``steps`` steps from the notes' starts (stored patterns 0, 21 and 27) and from random
states (``mean pattern + 10 N(0, I)``, notes cell 34), for each noise level ``eta`` and two
betas: ``notes`` (0.063) and ``matched`` (``0.063 * 37.53 / Delta_min``, which gives our
patterns the notes' softmax gap ``beta Delta_min = 2.36`` between the two closest patterns;
with ``Delta_min = 86`` the notes' beta makes our attractors much deeper than theirs). The
chains of all settings share their noise draws ``eps`` (common random numbers).

Which attractor is the chain in? Every visited state is *quenched*: the deterministic update is
iterated to its fixed point (in logit coordinates, ``l <- beta X X^T softmax(l)``, Sec. 4.1,
which is exact because ``xi_t`` lies in the span of the patterns). Fixed points closer than
``tol`` (L1 distance of their probability vectors) are one attractor. The label sequence gives
the visited attractors, their occupation, the **dwell times** (lengths of maximal runs; the run
cut by the end of the chain is censored and left out of the mean) and the **transition counts**
between consecutive distinct attractors (a matrix per setting).

The notes' numbers: ``M = max_i |x_i| = 31.39``, ``Delta_min = 37.53`` and the beta of the
separation condition (Sec. 3.4) ``beta = u / Delta_min = 0.0727`` with ``u = a + log u``,
``a = 2/P + log(2 P (P - 1) M^2 / Delta_min)`` (their code uses ``((7 + u)/8) / Delta_min``
after 5 fixed-point steps); at ``beta = 0.063`` and ``eta = 0.3`` the chain lives on **4
states**: two it hardly leaves, two it jumps between. Ours are computed for our prototypes, so
the gaps reflect the different pattern set as much as the dynamics. What we see (quick
profile, seed 0): at ``eta = 0.3`` no jumps at either beta; the chains from 0, 21, 27 occupy 3
attractors (notes' beta) or 2 (matched beta, where two starts share a mixture state with
``max p* = 0.10``). Jumps start near ``eta = 0.5``-``1``: at the matched beta 0.8, 29, 145 and
205 jumps per 1,000 steps at ``eta = 0.5, 1, 2, 3`` (median dwell 8, 7, 3, 3 steps); at the
notes' beta fewer than one per 1,000 steps up to ``eta = 3``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from hopfield_lab.data import mnist_tensors
from hopfield_lab.errors import ConfigError, check_choice, check_int, check_positive, check_range
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.experiments.notes.deephnn import digit_prototypes, mnist32
from hopfield_lab.models.layers import VHNN
from hopfield_lab.runs import RunDir, Table, comparison_table, run_cells

__all__ = ["NOTES", "VHNNJumpsConfig", "beta_selection", "quench", "run"]

#: The notes' numbers (Sec. 4.4).
NOTES = {"M": 31.3933, "delta_min": 37.5255, "beta_star": 0.0727, "beta": 0.063, "eta": 0.3}
NOTES_STATES = 4
BETA_MODES = ("notes", "matched")


@dataclass(frozen=True)
class VHNNJumpsConfig:
    """Config of ``vhnn-jumps``.

    Attributes:
        beta: inverse temperature of the VHNN (notes: 0.063).
        beta_modes: which betas to run: ``notes`` (``beta`` itself) and/or ``matched``
            (``beta * Delta_min^notes / Delta_min^ours``, so that the softmax gap
            ``beta Delta_min`` between the closest patterns is the notes' 2.36).
        noise_levels: noise levels ``eta`` to compare (notes: 0.3).
        steps: chain length per start (notes' animation: 4,096 frames).
        burn_in: first steps of every chain left out of the statistics (the transient from a
            random start into its first basin is not a noise-driven jump).
        starts: stored-pattern indices used as starting states (notes: 0, 21, 27).
        random_starts: extra starts ``mean pattern + 10 N(0, I)``.
        seeds: independent repetitions (noise draws) per noise level.
        quench_steps: deterministic iterations used to find a state's attractor.
        tol: L1 distance of fixed-point probabilities below which two are one attractor.
        per_digit: prototypes per digit (notes: 3, i.e. 30 patterns).
        seed: seeds the prototypes and the chains.
        mnist_path: optional user MNIST ("" = bundled).
    """

    beta: float = 0.063
    beta_modes: tuple[str, ...] = BETA_MODES
    noise_levels: tuple[float, ...] = (0.1, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0)
    steps: int = 16_384
    burn_in: int = 20
    starts: tuple[int, ...] = (0, 21, 27)
    random_starts: int = 5
    seeds: int = 3
    quench_steps: int = 300
    tol: float = 0.05
    per_digit: int = 3
    seed: int = 0
    mnist_path: str = ""

    def __post_init__(self) -> None:
        check_positive("beta", self.beta)
        if not self.beta_modes:
            raise ConfigError(f"beta_modes must not be empty; allowed: {', '.join(BETA_MODES)}")
        for mode in self.beta_modes:
            check_choice("beta_modes", mode, BETA_MODES)
        if not self.noise_levels:
            raise ConfigError("noise_levels must not be empty")
        for eta in self.noise_levels:
            check_range("noise_levels", eta, 0.0, low_inclusive=False)
        check_int("steps", self.steps, 2)
        check_int("burn_in", self.burn_in, 0, self.steps - 2)
        check_int("per_digit", self.per_digit, 1)
        for s in self.starts:
            check_int("starts", s, 0, 10 * self.per_digit - 1)
        check_int("random_starts", self.random_starts, 0)
        if not self.starts and self.random_starts == 0:
            raise ConfigError("need at least one start: starts is empty and random_starts = 0")
        check_int("seeds", self.seeds, 1)
        check_int("quench_steps", self.quench_steps, 1)
        check_range("tol", self.tol, 0.0, 2.0, low_inclusive=False)
        check_int("seed", self.seed, 0)


# ------------------------------------------------------------------------------------ helpers


@lru_cache(maxsize=4)
def _patterns(mnist_path: str, per_digit: int, seed: int) -> Tensor:
    x, y = mnist_tensors(mnist_path)["train"]
    centroids = digit_prototypes(mnist32(x).flatten(1) * 2 - 1, y, per_digit, seed=seed)
    return torch.where(centroids >= 0, 1.0, -1.0).double()  # (P, N) binary, |x_i| = 32


def beta_selection(patterns: Tensor, iters: int = 50) -> dict[str, float]:
    """The separation-based beta of notes Sec. 4.4 (from Prop. 3.4's condition).

    ``M = max_i |x_i|``, ``Delta_min = min_i min_{j != i} (x_i.x_i - x_i.x_j)``,
    ``a = 2/P + log(2 P (P - 1) M^2 / Delta_min)``; if ``a > 1`` the larger root of
    ``u = a + log u`` (fixed-point iteration from ``2a``), else ``u = 1``; ``beta = u /
    Delta_min`` and the radius ``R = 1 / (beta P M)``.

    Returns:
        ``M``, ``delta_min``, ``a``, ``u``, ``beta_star`` and ``radius`` (``beta_star`` and
        ``radius`` are NaN when ``Delta_min <= 0``: no beta separates the patterns).
    """
    P = patterns.shape[0]
    M = float(torch.linalg.vector_norm(patterns, dim=1).max())
    g = patterns @ patterns.T  # (P, P)
    off = g.masked_fill(torch.eye(P, dtype=torch.bool), -math.inf)
    delta_min = float((torch.diagonal(g) - off.max(dim=1).values).min())
    out = {"M": M, "delta_min": delta_min, "a": math.nan, "u": math.nan}
    if delta_min <= 0:
        return {**out, "beta_star": math.nan, "radius": math.nan}
    a = 2.0 / P + math.log(2.0 * P * (P - 1) * M * M / delta_min)
    u = 1.0
    if a > 1:
        u = 2.0 * a
        for _ in range(iters):
            u = a + math.log(u)
    beta = u / delta_min
    return {**out, "a": a, "u": u, "beta_star": beta, "radius": 1.0 / (beta * P * M)}


def quench(logits: Tensor, A: Tensor, steps: int) -> tuple[Tensor, Tensor]:
    """Iterate ``l <- A softmax(l)`` ``steps`` times; return the probabilities and residuals.

    Args:
        logits: ``(S, P)`` logits ``beta X xi``. A: ``(P, P)`` = ``beta X X^T``.
        steps: iterations (>= 1).

    Returns:
        ``softmax(l_T)`` ``(S, P)`` and the max-norm of the last logit change ``(S,)``.
    """
    l_prev = logits
    for t in range(steps):
        l_prev, logits = logits, logits.softmax(dim=-1) @ A  # (S, P); A symmetric
        if t % 20 == 19 and float((logits - l_prev).abs().max()) < 1e-10:
            break  # every state is on its fixed point to rounding: more steps change nothing
    return logits.softmax(dim=-1), (logits - l_prev).abs().amax(dim=-1)


def _cluster(probs: Tensor, tol: float, centres: list[Tensor]) -> Tensor:
    """Greedy clustering of fixed points (L1 < tol); extends ``centres``; returns labels."""
    labels = torch.full((len(probs),), -1, dtype=torch.long)
    for k, c in enumerate(centres):
        hit = (labels < 0) & ((probs - c).abs().sum(-1) < tol)
        labels[hit] = k
    while bool((labels < 0).any()):
        i = int(torch.nonzero(labels < 0)[0])
        centres.append(probs[i].clone())
        hit = (labels < 0) & ((probs - probs[i]).abs().sum(-1) < tol)
        labels[hit] = len(centres) - 1
    return labels


def _runs(seq: np.ndarray) -> list[tuple[int, int, bool]]:
    """Maximal runs of a label sequence: ``(label, length, complete)``."""
    change = np.flatnonzero(np.diff(seq)) + 1
    bounds = np.concatenate([[0], change, [len(seq)]])
    return [(int(seq[s]), int(e - s), e < len(seq)) for s, e in itertools.pairwise(bounds)]


def _chain_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Run the chains of one noise level and seed; return quenched fixed points and labels."""
    cfg = cell["config"]
    X = _patterns(cfg["mnist_path"], cfg["per_digit"], cfg["seed"])  # (P, N)
    P, N = X.shape
    beta = cell["beta"]
    gen = torch.Generator().manual_seed(1_000_003 * cfg["seed"] + 7919 * cell["seed"] + 1)
    starts = [X[i] for i in cfg["starts"]]
    for _ in range(cfg["random_starts"]):
        noise = torch.randn(N, generator=gen, dtype=X.dtype)
        starts.append(X.mean(0) + 10.0 * noise)
    xi = torch.stack(starts).unsqueeze(1)  # (S, 1, N)
    model = VHNN(1, P, N, beta=beta, noise=cell["noise"]).double().eval()
    model.set_patterns(X.unsqueeze(0))
    steps = cfg["steps"]
    logits = torch.empty(steps, xi.shape[0], P, dtype=X.dtype)  # (T, S, P)
    with torch.no_grad():
        for t in range(steps):
            xi = model.step(xi, stochastic=True, generator=gen)  # (S, 1, N)
            logits[t] = beta * xi[:, 0] @ X.T  # (S, P)
        A = beta * X @ X.T  # (P, P)
        kept = logits[cfg["burn_in"] :]  # (T - burn_in, S, P)
        probs, resid = quench(kept.reshape(-1, P), A, cfg["quench_steps"])
    centres: list[Tensor] = []
    labels = _cluster(probs, cfg["tol"], centres).view(len(kept), -1).T  # (S, T - burn_in)
    return {
        "centres": [c.tolist() for c in centres],
        "labels": labels.tolist(),
        "unconverged": float((resid > 1e-6 * max(1.0, float(A.abs().max()))).double().mean()),
    }


# ----------------------------------------------------------------------------------------- run


def _betas(config: VHNNJumpsConfig, sel: dict[str, float]) -> dict[str, float]:
    """The beta of each mode (``matched`` needs ``Delta_min > 0``; else it is skipped)."""
    out = {}
    for mode in config.beta_modes:
        if mode == "notes":
            out[mode] = config.beta
        elif sel["delta_min"] > 0:
            out[mode] = config.beta * NOTES["delta_min"] / sel["delta_min"]
    if not out:
        raise ConfigError(
            "beta_modes=('matched',) needs patterns with Delta_min > 0; "
            f"ours have Delta_min = {sel['delta_min']:.4g}"
        )
    return out


def run(config: VHNNJumpsConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Run the chains (one resumable cell per beta, noise level and seed), then summarise."""
    cfg = {k: getattr(config, k) for k in config.__dataclass_fields__}
    X = _patterns(config.mnist_path, config.per_digit, config.seed)
    sel = beta_selection(X)
    betas = _betas(config, sel)
    grid = [(mode, eta) for mode in betas for eta in config.noise_levels]
    cells: dict[str, dict[str, Any]] = {
        f"beta={mode},eta={eta},seed={s}": {
            "mode": mode,
            "beta": betas[mode],
            "noise": eta,
            "seed": s,
            "config": cfg,
        }
        for mode, eta in grid
        for s in range(config.seeds)
    }
    res = run_cells(_chain_cell, cells, run_dir, executor=ctx.executor, progress=ctx.progress)

    # one attractor list for all cells, so that labels mean the same everywhere
    centres: list[Tensor] = []
    seqs: dict[tuple[str, float], list[np.ndarray]] = {g: [] for g in grid}
    unconverged: dict[tuple[str, float], list[float]] = {g: [] for g in grid}
    for key, cell in cells.items():
        r = res[key]
        local = torch.tensor(r["centres"], dtype=torch.float64)
        mapping = _cluster(local, config.tol, centres).numpy()
        g = (cell["mode"], cell["noise"])
        seqs[g] += [mapping[np.asarray(seq)] for seq in r["labels"]]
        unconverged[g].append(r["unconverged"])
    K = len(centres)
    C = torch.stack(centres)  # (K, P) fixed-point probabilities p*
    states = C @ X  # (K, N): the attractors xi* = X^T p*
    nearest = torch.cdist(states, X).argmin(1)  # (K,)
    stats = {g: _stats(seqs[g], K) for g in grid}
    n_chains = len(config.starts) + config.random_starts
    for g in grid:  # the notes' question: which states do the chains from 0, 21, 27 visit?
        own = [q for i, q in enumerate(seqs[g]) if i % n_chains < len(config.starts)]
        stats[g]["notes_starts_visited_1pct"] = _stats(own, K)["n_visited_1pct"] if own else 0
    order = np.argsort(-sum(s["occupation"] for s in stats.values()), kind="stable")

    main_eta = min(config.noise_levels, key=lambda e: abs(e - NOTES["eta"]))
    rows: list[tuple[str, Any, Any, Any]] = [
        ("M = max_i |x_i|", NOTES["M"], sel["M"], None),
        ("Delta_min", NOTES["delta_min"], sel["delta_min"], None),
        ("beta from the separation condition", NOTES["beta_star"], sel["beta_star"], None),
    ]
    for mode, beta in betas.items():
        s = stats[(mode, main_eta)]
        rows += [
            (f"[{mode}] beta", NOTES["beta"], beta, None),
            (
                f"[{mode}] beta Delta_min",
                NOTES["beta"] * NOTES["delta_min"],
                beta * sel["delta_min"],
                None,
            ),
            (
                f"[{mode}] states visited > 1 % from the starts {config.starts} (eta={main_eta})",
                NOTES_STATES,
                s["notes_starts_visited_1pct"],
                None,
            ),
            (
                f"[{mode}] attractors visited > 1 %, all chains (eta={main_eta})",
                None,
                s["n_visited_1pct"],
                None,
            ),
            (f"[{mode}] jumps per 1,000 steps (eta={main_eta})", None, s["jump_rate"], None),
        ]
    run_dir.save_table(
        comparison_table(
            "vhnn_notes",
            rows,
            caption="Notes Sec. 4.4 vs ours. Our 30 patterns are binarised k-means prototypes, "
            "not the notes' hand-made ones, so M, Delta_min and the separation beta differ; "
            "'matched' rescales beta to the notes' beta Delta_min. The notes' '4 states' is read "
            "as the attractors that the chains from the notes' starts occupy more than 1 % of "
            "the time.",
        )
    )
    run_dir.save_table(
        Table(
            "dwell_times",
            [
                "beta mode",
                "beta",
                "eta",
                "attractors visited",
                "visited > 1 %",
                "visited > 1 % (notes' starts)",
                "jumps / 1000 steps",
                "mean dwell",
                "median dwell",
                "max dwell",
                "censored runs",
                "unconverged quench",
            ],
            [
                [
                    mode,
                    betas[mode],
                    eta,
                    s["n_visited"],
                    s["n_visited_1pct"],
                    s["notes_starts_visited_1pct"],
                    s["jump_rate"],
                    s["mean_dwell"],
                    s["median_dwell"],
                    s["max_dwell"],
                    s["censored"],
                    float(np.mean(unconverged[(mode, eta)])),
                ]
                for (mode, eta), s in stats.items()
            ],
            caption=f"Per beta and noise level: {config.seeds} seed(s) x "
            f"{len(config.starts) + config.random_starts} chains x {config.steps} steps, the "
            f"first {config.burn_in} left out. Dwell = length in steps of a completed stay in one "
            "attractor (the stay cut by the end of a "
            "chain is censored).",
        )
    )
    run_dir.save_table(
        Table(
            "attractors",
            ["attractor", "nearest pattern", "digit", "max p*"]
            + [f"occupation {mode} eta={eta}" for mode, eta in grid],
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
    for (mode, eta), s in stats.items():
        run_dir.save_table(
            Table(
                f"transitions_{mode}_eta{eta}".replace(".", "p"),
                ["from \\ to"] + [str(int(k)) for k in order],
                [[str(int(i))] + [int(s["transitions"][i, j]) for j in order] for i in order],
                caption=f"Transition counts between attractors, beta {mode} = "
                f"{betas[mode]:.4g}, eta = {eta}.",
            )
        )
    _figures(config, betas, stats, seqs, order, states, nearest, run_dir)
    return {
        "n_attractors": K,
        "beta_selection": sel,
        "betas": betas,
        "per_setting": {
            f"{mode},eta={eta}": {
                k: v for k, v in s.items() if k not in ("transitions", "occupation", "dwell_list")
            }
            for (mode, eta), s in stats.items()
        },
        "attractor_nearest_pattern": nearest.tolist(),
        "transitions": {f"{m},eta={e}": s["transitions"].tolist() for (m, e), s in stats.items()},
    }


def _stats(seqs: list[np.ndarray], K: int) -> dict[str, Any]:
    trans = np.zeros((K, K), dtype=np.int64)
    occupation = np.zeros(K)
    dwell: list[int] = []
    censored = 0
    total = 0
    for seq in seqs:
        total += len(seq)
        occupation += np.bincount(seq, minlength=K)
        runs = _runs(seq)
        for (a, _, _), (b, _, _) in itertools.pairwise(runs):
            trans[a, b] += 1
        for _, length, complete in runs:
            if complete:
                dwell.append(length)
            else:
                censored += 1
    occupation /= max(total, 1)
    jumps = int(trans.sum())
    return {
        "transitions": trans,
        "occupation": occupation,
        "dwell_list": dwell,
        "n_visited": int((occupation > 0).sum()),
        "n_visited_1pct": int((occupation > 0.01).sum()),
        "jumps": jumps,
        "jump_rate": 1000.0 * jumps / max(total, 1),
        "mean_dwell": float(np.mean(dwell)) if dwell else float("nan"),
        "median_dwell": float(np.median(dwell)) if dwell else float("nan"),
        "max_dwell": int(max(dwell)) if dwell else 0,
        "censored": censored,
    }


def _figures(
    config: VHNNJumpsConfig,
    betas: dict[str, float],
    stats: dict[tuple[str, float], dict[str, Any]],
    seqs: dict[tuple[str, float], list[np.ndarray]],
    order: np.ndarray,
    states: Tensor,
    nearest: Tensor,
    run_dir: RunDir,
) -> None:
    etas = list(config.noise_levels)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    n_chains = len(config.starts) + config.random_starts
    for mode in betas:
        fig, axes = plt.subplots(
            len(etas), 1, figsize=(9, 1.1 * len(etas) + 0.8), squeeze=False, sharex=True
        )
        for ax, eta in zip(axes[:, 0], etas, strict=True):
            for c, seq in enumerate(seqs[(mode, eta)][:n_chains]):
                ax.plot(rank[seq] + 0.08 * c, drawstyle="steps-post", lw=0.7)
            ax.set_ylabel(f"eta={eta}", fontsize=7)
        axes[-1, 0].set_xlabel("step")
        axes[0, 0].set_title(
            f"Attractor (rank by occupation) along each chain, beta {mode} = {betas[mode]:.4g}",
            fontsize=9,
        )
        fig.tight_layout()
        run_dir.save_figure(fig, f"traces_{mode}")

    top = order[: min(len(order), 12)]
    labels = [f"{int(nearest[k])}" for k in top]
    fig, axes = plt.subplots(
        len(betas), len(etas), figsize=(2.6 * len(etas), 2.8 * len(betas)), squeeze=False
    )
    for r, mode in enumerate(betas):
        for ax, eta in zip(axes[r], etas, strict=True):
            m = stats[(mode, eta)]["transitions"][np.ix_(top, top)]
            ax.imshow(np.log1p(m), cmap="viridis")
            ax.set_title(f"{mode}, eta={eta}", fontsize=8)
            ax.set_xticks(range(len(top)), labels, fontsize=5)
            ax.set_yticks(range(len(top)), labels, fontsize=5)
    fig.suptitle("log(1 + transition counts), from (rows) to (columns); ticks: nearest pattern")
    fig.tight_layout()
    run_dir.save_figure(fig, "transitions")

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for j, mode in enumerate(betas):
        st = [stats[(mode, e)] for e in etas]
        label = f"{mode} (beta={betas[mode]:.3g})"
        axes[0].plot(etas, [s["n_visited_1pct"] for s in st], "o-", color=f"C{j}", label=label)
        axes[0].plot(
            etas,
            [s["notes_starts_visited_1pct"] for s in st],
            "x--",
            color=f"C{j}",
            label=f"{mode}, chains from {config.starts}",
        )
        axes[1].plot(etas, [s["jump_rate"] for s in st], "o-", color=f"C{j}", label=label)
        axes[2].plot(etas, [s["mean_dwell"] for s in st], "o-", color=f"C{j}", label=label)
    axes[0].axhline(NOTES_STATES, color="gray", ls="--", label="notes (eta = 0.3)")
    axes[0].set(xlabel="eta", ylabel="attractors visited (> 1 %)")
    axes[1].set(xlabel="eta", ylabel="jumps per 1000 steps", yscale="symlog")
    axes[2].set(xlabel="eta", ylabel="mean dwell time (steps)", yscale="log")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    run_dir.save_figure(fig, "noise_dependence")

    top = order[: min(len(order), 8)]
    fig, axes = plt.subplots(1, len(top), figsize=(1.5 * len(top), 1.9), squeeze=False)
    for ax, k in zip(axes[0], top, strict=True):
        ax.imshow(states[k].view(32, 32).numpy(), cmap="gray")
        ax.set_title(f"near {int(nearest[k])}", fontsize=7)
        ax.axis("off")
    fig.suptitle("Most visited attractors", fontsize=9)
    fig.tight_layout()
    run_dir.save_figure(fig, "attractors")


_PAPER = VHNNJumpsConfig()

register(
    Experiment(
        name="vhnn-jumps",
        title="VHNN: stochastic jumps between attractors vs the noise level",
        paper="continuous-hopfield-networks-notes, Sec. 4.4",
        figure="Sec. 4.4 (VHNN animation, Table 4.1)",
        config_cls=VHNNJumpsConfig,
        profiles={
            "demo": replace(_PAPER, noise_levels=(0.3, 1.5), steps=2000, random_starts=2, seeds=1),
            "quick": replace(
                _PAPER, noise_levels=(0.1, 0.3, 0.5, 1.0, 2.0, 3.0), steps=4096, seeds=1
            ),
            "paper": _PAPER,
        },
        runtime={
            "demo": "~20 s (2 CPU cores)",
            "quick": "~35 s CPU (1 thread)",
            "paper": "~8 min CPU (1 thread)",
        },
        run=run,
    )
)
