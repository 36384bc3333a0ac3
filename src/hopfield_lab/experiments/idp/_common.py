"""Shared by the IDP experiments: the configs' common fields, memories, the three-model input
protocol of E1-E3, the claims checked against its mean-field theory, and the bookkeeping of
Model 2 runs (what a cell stores and how a report reads it back).

Three-model protocol (spec E1-E3, the authors' code [C]): the IDP network
``x' = -x + W(u) psi(x)``, the classic network ``x' = -x + W_0 psi(x) + u(t)`` with a pulsed
input (the first time unit of each window) and with a constant input, all with
``psi = tanh(gamma x)`` and Euler-Maruyama noise ``sigma dB`` (``dt = 0.01``). Each of ``S``
trials draws its own mixed inputs (:func:`~hopfield_lab.models.idp.mixed_inputs`) and its own
``x0 ~ N(0, I)``; all trials of a model run as one batch. A trial *ends on the target* of a
window when, at the window's end, the target has the largest ``|m_mu|`` and ``|m_target| >=``
the retrieval threshold (0.75, above ``1/sqrt(2)``: at most one memory can pass it).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import torch

from hopfield_lab.data.synthetic import hadamard_patterns, random_patterns
from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments.base import RunContext
from hopfield_lab.experiments.fields import Config, Min, NonEmpty, NonNegative, Positive, Seed
from hopfield_lab.models.idp import (
    ClassicInputHopfield,
    IDPHopfield,
    InputSchedule,
    SequenceRun,
    mixed_inputs,
)
from hopfield_lab.runs import (
    Check,
    RunDir,
    at_least,
    at_most,
    check_table,
    comparison_table,
    run_cells,
    within,
)
from hopfield_lab.solvers.sde import euler_maruyama
from hopfield_lab.theory import idp as theory

__all__ = [
    "MIXTURE_TOL",
    "MODELS",
    "MODEL_LABELS",
    "OVERLAP_TOL",
    "RETRIEVAL_THRESHOLD",
    "ChainConfig",
    "InputConfig",
    "as_array",
    "draw_overlaps",
    "memories",
    "model_checks",
    "run_schedule",
    "run_to_cell",
    "schedule_cell",
    "schedule_grid",
    "schedule_tables",
    "summarize",
]

MODELS: tuple[str, ...] = ("idp", "classic-pulsed", "classic-constant")
"""The three networks of E1-E3."""

MODEL_LABELS: dict[str, str] = {
    "idp": "IDP",
    "classic-pulsed": "classic, pulsed input",
    "classic-constant": "classic, constant input",
}

RETRIEVAL_THRESHOLD = 0.75
"""``|m|`` above which a memory counts as retrieved."""

OVERLAP_TOL = 0.01
"""Largest gap allowed between a retrieved target's ``|m|`` and the noisy-well mean field."""

MIXTURE_TOL = 0.05
"""Largest gap allowed between the classic network's constant-input mixture and the
input-dominated prediction ``mean_i xi_i E[psi(u_i + s Z)]``."""


@dataclass(frozen=True)
class InputConfig(Config):
    """The network and integration fields of E1-E3 (see the module docstring).

    Attributes:
        n_units: ``N`` (a power of 2 when ``orthogonal``). n_patterns: ``P``.
        orthogonal: Hadamard memories instead of random ones.
        gamma: gain of ``tanh``. zero_diag: zero the diagonals.
        targets: the target memory of each (distinct) input.
        trials: trials per network, simulated as one batch.
        dt: Euler-Maruyama step. record_dt: time between recorded overlaps.
        seed: seeds memories, inputs, initial states and noise.
    """

    n_units: Annotated[int, Min(4)] = 1024
    n_patterns: Annotated[int, Min(2)] = 10
    orthogonal: bool = False
    gamma: Annotated[float, Positive] = 10.0
    zero_diag: bool = True
    targets: Annotated[tuple[int, ...], NonEmpty, Min(0)] = (0, 1, 2)
    trials: Annotated[int, Min(1)] = 16
    dt: Annotated[float, Positive] = 0.01
    record_dt: Annotated[float, Positive] = 0.1
    seed: Seed = 0

    def check(self) -> None:
        """Targets index memories; orthogonal memories fit; recording no finer than a step."""
        if max(self.targets) >= self.n_patterns:
            raise ConfigError(
                f"targets must be memory indices below n_patterns={self.n_patterns}; "
                f"got {self.targets}"
            )
        if self.orthogonal and (
            self.n_units & (self.n_units - 1) or self.n_patterns > self.n_units
        ):
            raise ConfigError(
                "orthogonal memories need n_units a power of 2 and n_patterns <= n_units; "
                f"got n_units={self.n_units}, n_patterns={self.n_patterns}"
            )
        if self.record_dt < self.dt:
            raise ConfigError(f"record_dt must be >= dt; got {self.record_dt} < {self.dt}")


@dataclass(frozen=True)
class ChainConfig(Config):
    """The Model 2 fields of E5-E8: ``P`` Hadamard memories of length ``N`` in an open chain.

    Attributes:
        n_units: ``N`` (a power of 2). n_patterns: ``P`` (<= N).
        dt: fast step. sigma: noise. seed: memories and noise.
    """

    n_units: Annotated[int, Min(4)] = 64
    n_patterns: Annotated[int, Min(2)] = 8
    dt: Annotated[float, Positive] = 0.01
    sigma: Annotated[float, NonNegative] = 1e-3
    seed: Seed = 0

    def check(self) -> None:
        """Hadamard memories: ``n_units`` a power of 2, ``n_patterns <= n_units``."""
        if self.n_units & (self.n_units - 1) or self.n_patterns > self.n_units:
            raise ConfigError(
                "n_units must be a power of 2 and n_patterns <= n_units (Hadamard memories); "
                f"got n_units={self.n_units}, n_patterns={self.n_patterns}"
            )


def memories(n_units: int, n_patterns: int, orthogonal: bool, seed: int) -> torch.Tensor:
    """``(P, N)`` float64 memories: Hadamard rows (orthogonal) or random ``+-1``."""
    gen = torch.Generator().manual_seed(seed)
    if orthogonal:
        return hadamard_patterns(n_patterns, n_units, generator=gen, dtype=torch.float64)
    return random_patterns(n_patterns, n_units, generator=gen, dtype=torch.float64)


def schedule_grid(
    config: InputConfig,
    order: Sequence[int],
    boundaries: Sequence[float],
    sigmas: Sequence[float],
) -> dict[str, dict[str, Any]]:
    """One cell per network of :data:`MODELS` and noise level, keyed ``model=..`` (one noise
    level) or ``model=..,sigma=..``."""
    cells = {}
    for s in sigmas:
        for name in MODELS:
            key = f"model={name}" if len(sigmas) == 1 else f"model={name},sigma={s:g}"
            cells[key] = {
                "config": config,
                "model": name,
                "sigma": s,
                "order": list(order),
                "boundaries": list(boundaries),
            }
    return cells


def run_schedule(
    grid: dict[str, dict[str, Any]], run_dir: RunDir, ctx: RunContext
) -> dict[str, dict[str, Any]]:
    """Run the cells of :func:`schedule_grid` (resumable) and :func:`summarize` each."""
    cells = run_cells(schedule_cell, grid, run_dir, executor=ctx.executor, progress=ctx.progress)
    return {key: summarize(cell) for key, cell in cells.items()}


def schedule_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Simulate one network of the three-model protocol for ``trials`` trials (one batch).

    Cell keys: ``config`` (an :class:`InputConfig`), ``model`` (one of :data:`MODELS`),
    ``sigma``, ``order`` (input index per window), ``boundaries`` (window edges).

    Returns:
        JSON-ready dict: ``times`` ``(T,)``; ``mean_abs_m`` ``(T, P)`` (mean over trials of
        ``|m_mu(t)|``); ``window_end_m`` ``(J, S, P)`` (``|m|`` at each window's end);
        ``saliencies`` ``(J, S, P)`` of each window's input; ``on_target`` ``(J, S)`` bools;
        ``theory_m`` ``(J,)`` the mean-field overlap of the target well (:func:`theory.noisy_well`;
        for the classic constant input, the input-dominated overlap ``mean_i xi_i E[psi(u_i +
        s Z)]``); ``theory_c`` ``(J,)`` the amplitude where defined.
    """
    config: InputConfig = cell["config"]
    X = memories(config.n_units, config.n_patterns, config.orthogonal, config.seed)
    gen = torch.Generator().manual_seed(config.seed + 1)
    targets, order = list(config.targets), list(cell["order"])
    S, gamma, sigma = config.trials, config.gamma, float(cell["sigma"])
    u, _ = mixed_inputs(X, targets, generator=gen, batch=S)  # (K, S, N), one per distinct input
    inputs = u[order]  # (J, S, N), one per window
    window_targets = [targets[i] for i in order]
    model_name = cell["model"]
    if model_name == "idp":
        model: IDPHopfield | ClassicInputHopfield = IDPHopfield(
            X, "tanh", gamma, zero_diag=config.zero_diag
        )
        schedule = InputSchedule(inputs, tuple(cell["boundaries"]), "constant")
    else:
        model = ClassicInputHopfield(X, "tanh", gamma, zero_diag=config.zero_diag)
        pulsed = model_name == "classic-pulsed"
        schedule = InputSchedule(
            inputs, tuple(cell["boundaries"]), "pulsed" if pulsed else "constant"
        )
    end = float(cell["boundaries"][-1])
    n_rec = round(end / config.record_dt)
    times = torch.linspace(0.0, end, n_rec + 1, dtype=torch.float64)
    x0 = torch.randn(S, X.shape[1], generator=gen, dtype=torch.float64)
    res = euler_maruyama(
        model.schedule_field(schedule),
        x0,
        times,
        sigma=sigma,
        dt=config.dt,
        generator=gen,
        observe=lambda x: model.overlaps(x).abs(),
    )
    if res.trajectory is None:  # pragma: no cover - record=True above
        raise RuntimeError("euler_maruyama returned no trajectory")
    m = res.trajectory.double()  # (T, S, P)
    ends = [int(torch.argmin((times - b).abs())) for b in cell["boundaries"][1:]]
    window_end = m[ends]  # (J, S, P)
    tgt = torch.tensor(window_targets)
    top = window_end.argmax(-1)  # (J, S)
    m_tgt = window_end.gather(-1, tgt.view(-1, 1, 1).expand(-1, S, 1))[..., 0]  # (J, S)
    on_target = (top == tgt[:, None]) & (m_tgt >= RETRIEVAL_THRESHOLD)
    alphas = IDPHopfield(X).saliency(inputs)  # (J, S, P)
    theory_m, theory_c = [], []
    for j, t in enumerate(window_targets):
        if model_name == "idp":
            a_t = float(alphas[j, :, t].mean())
            c, mm = theory.noisy_well(a_t, sigma, "tanh", gamma)
        elif model_name == "classic-pulsed":
            c, mm = theory.noisy_well(1.0, sigma, "tanh", gamma)
        else:  # the input dominates: x_i ~ u_i + OU noise
            mean_psi = theory.noisy_activation_mean(inputs[j].numpy(), sigma, "tanh", gamma)
            mm = float(np.mean(np.asarray(mean_psi) * X[t].numpy(), axis=-1).mean())
            c = math.nan
        theory_m.append(mm)
        theory_c.append(c)
    return {
        "times": times.tolist(),
        "mean_abs_m": m.mean(1).tolist(),
        "window_end_m": window_end.tolist(),
        "saliencies": alphas.tolist(),
        "window_targets": window_targets,
        "on_target": on_target.tolist(),
        "theory_m": theory_m,
        "theory_c": theory_c,
    }


def summarize(cell: dict[str, Any]) -> dict[str, Any]:
    """Per-window fraction on target, target overlap and theory of one cell.

    ``m_compare`` is what the theory's overlap describes: where the theory says the target well
    keeps a retrieved state (``theory_m >= RETRIEVAL_THRESHOLD``), the mean ``|m_target|`` over
    the trials that ended on the target (``scope = "retrieved trials"``; all trials if none
    did); where it says retrieval is lost or the state is a mixture, the mean over all trials.
    """
    on = np.asarray(cell["on_target"], dtype=bool)  # (J, S)
    wm = np.asarray(cell["window_end_m"])  # (J, S, P)
    tg = np.asarray(cell["window_targets"])
    m_t = wm[np.arange(len(tg)), :, tg]  # (J, S)
    compare, compare_std, scope = [], [], []
    for j, m_star in enumerate(cell["theory_m"]):
        pick = on[j] if m_star >= RETRIEVAL_THRESHOLD and on[j].any() else np.ones_like(on[j])
        vals = m_t[j, pick]
        compare.append(float(vals.mean()))
        compare_std.append(float(vals.std(ddof=1)) if vals.size > 1 else None)
        scope.append("retrieved trials" if m_star >= RETRIEVAL_THRESHOLD else "all trials")
    return {
        "fraction": on.mean(1).tolist(),
        "m_target": m_t.mean(1).tolist(),
        "m_target_std": m_t.std(1, ddof=1).tolist() if m_t.shape[1] > 1 else [None] * len(tg),
        "m_compare": compare,
        "m_compare_std": compare_std,
        "scope": scope,
        "theory_m": cell["theory_m"],
        "fraction_all": float(on.mean()),
    }


def model_checks(
    name: str,
    s: dict[str, Any],
    windows: Sequence[int],
    label: str,
    idp_fraction: float = 1.0,
    idp_overlap: bool = True,
) -> list[Check]:
    """The mean-field claims about one network over some windows of a :func:`summarize`d cell.

    * IDP: at least ``idp_fraction`` of the trials end on the target (1: noise drives the state
      to the deepest well, which is the target's [A]); where the noisy-well overlap keeps a
      retrieved state (``m* >= RETRIEVAL_THRESHOLD``), the retrieved trials' ``|m_target|`` is
      within :data:`OVERLAP_TOL` of it (shown for the window farthest from it);
    * classic: where ``m* < RETRIEVAL_THRESHOLD`` no trial ends on the target; with a constant
      input the overlap is within :data:`MIXTURE_TOL` of the input-dominated prediction.

    Args:
        name: one of :data:`MODELS`. s: the summary. windows: the windows checked.
        label: prefix of the rows' quantities. idp_fraction: the IDP network's claimed fraction.
        idp_overlap: check the IDP network's overlap too (it describes a settled state).

    Returns:
        The :class:`~hopfield_lab.runs.Check` rows (none where no claim applies).
    """

    def overlap(js: list[int], tol: float, what: str) -> Check:
        j = max(js, key=lambda j: abs(s["m_compare"][j] - s["theory_m"][j]))  # the farthest
        m_star = s["theory_m"][j]
        quantity = f"{label}: |m_target|, window {j} (the farthest from {what})"
        return within(quantity, s["m_compare"][j], m_star, tol, claim=f"{m_star:.4f} ± {tol:g}")

    retained = [j for j in windows if s["theory_m"][j] >= RETRIEVAL_THRESHOLD]
    lost = [j for j in windows if s["theory_m"][j] < RETRIEVAL_THRESHOLD]
    out = []
    if name == "idp":
        frac = float(np.mean([s["fraction"][j] for j in windows]))
        claim = "= 1 (the deepest well)" if idp_fraction == 1 else f">= {idp_fraction:g}"
        out.append(
            at_least(f"{label}: fraction of trials on target", frac, idp_fraction, claim=claim)
        )
        if retained and idp_overlap:
            out.append(overlap(retained, OVERLAP_TOL, "the noisy well"))
    elif lost:
        frac = max(s["fraction"][j] for j in lost)
        out.append(
            at_most(f"{label}: fraction on target where m* < {RETRIEVAL_THRESHOLD}", frac, 0.0)
        )
        if name == "classic-constant":
            out.append(overlap(lost, MIXTURE_TOL, "the input-dominated mixture"))
    return out


def schedule_tables(
    run_dir: RunDir,
    summaries: dict[str, dict[str, Any]],
    labels: Sequence[str],
    checked: Sequence[int],
    captions: tuple[str, str],
    idp_overlap: bool = True,
) -> None:
    """The headline checks and the per-window theory-vs-simulation table of a schedule run.

    Args:
        run_dir: where the tables go.
        summaries: :func:`summarize` of each network of :data:`MODELS`.
        labels: one label per window (e.g. ``"window 0 (u0)"``).
        checked: the windows whose claims are checked (:func:`model_checks`); the others get
            no theory value for the fraction on target.
        captions: of the headline and of the table.
        idp_overlap: check the IDP network's overlap (see :func:`model_checks`).
    """
    checks = []
    for name in MODELS:
        label = MODEL_LABELS[name]
        checks += model_checks(name, summaries[name], checked, label, idp_overlap=idp_overlap)
    run_dir.save_table(check_table("headline", checks, captions[0], headline=True))
    rows: list[tuple[str, float | str | None, float | None, float | None]] = []
    for name, s in summaries.items():
        for j, window in enumerate(labels):
            m_star = s["theory_m"][j]
            frac = 1.0 if name == "idp" else (0.0 if m_star < RETRIEVAL_THRESHOLD else None)
            label = f"{MODEL_LABELS[name]}, {window}"
            rows.append(
                (
                    f"{label}: fraction on target",
                    frac if j in checked else None,
                    s["fraction"][j],
                    None,
                )
            )
            quantity = f"{label}: |m_target| at the window's end ({s['scope'][j]})"
            rows.append((quantity, m_star, s["m_compare"][j], s["m_compare_std"][j]))
    run_dir.save_table(comparison_table("theory_vs_simulation", rows, captions[1]))


def run_to_cell(run: SequenceRun, every: int = 1) -> dict[str, Any]:
    """A JSON-ready summary of a batched :class:`SequenceRun` (series decimated by ``every``)."""

    def nan_list(a: np.ndarray) -> list[Any]:
        return [[None if not math.isfinite(v) else float(v) for v in row] for row in a]

    return {
        "times": run.times[::every].tolist(),
        "overlaps": run.overlaps[::every].double().tolist(),  # (T, B, P)
        "saliencies": run.saliencies[::every].double().tolist(),
        "entry_memories": run.entry_memories.tolist(),
        "entry_times": nan_list(run.entry_times),
        "entry_saliencies": nan_list(run.entry_saliencies),
        "dwell_times": nan_list(run.dwell_times),
        "n_entries": run.n_entries.tolist(),
        "n_retrieved": run.n_retrieved.tolist(),
        "initial_memory": run.initial_memory.tolist(),
        "collapsed": run.collapsed.tolist(),
        "collapse_time": [None if math.isnan(v) else float(v) for v in run.collapse_time],
        "steps": run.steps,
        "stopped_early": run.stopped_early,
    }


def as_array(rows: Sequence[Sequence[float | None]]) -> np.ndarray:
    """Rows with ``None`` (JSON's NaN) back to a float array."""
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)


def draw_overlaps(axes: Any, cells: dict[str, dict[str, Any]], boundaries: Sequence[float]) -> None:
    """One panel per model: ``mean |m_mu(t)|`` over trials, targets drawn thick, windows shaded
    and labelled with their target memory."""
    for ax, name in zip(axes, MODELS, strict=True):
        cell = cells[name]
        t = np.asarray(cell["times"])
        m = np.asarray(cell["mean_abs_m"])  # (T, P)
        targets = set(cell["window_targets"])
        for mu in range(m.shape[1]):
            thick = mu in targets
            ax.plot(
                t,
                m[:, mu],
                lw=1.8 if thick else 0.7,
                color=f"C{mu % 10}" if thick else "0.6",
                label=f"memory {mu}" if thick else None,
            )
        for j, (lo, hi) in enumerate(itertools.pairwise(boundaries)):
            if j % 2:
                ax.axvspan(lo, hi, color="0.93", zorder=0)
            ax.text(
                0.5 * (lo + hi), 1.03, f"-> {cell['window_targets'][j]}", ha="center", fontsize=7
            )
        ax.axhline(RETRIEVAL_THRESHOLD, color="k", lw=0.6, ls=":")
        ax.set(xlabel="time t", ylabel="mean |m_mu|", ylim=(0, 1.1), title=MODEL_LABELS[name])
    axes[0].legend(fontsize=7, loc="lower right")
