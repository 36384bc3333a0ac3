"""Shared by the IDP experiments: memories, the three-model input protocol of E1-E3, and the
bookkeeping of Model 2 runs (what a cell stores and how a report reads it back).

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
from typing import Any

import numpy as np
import torch

from hopfield_lab.data.synthetic import hadamard_patterns, random_patterns
from hopfield_lab.models.idp import (
    ClassicInputHopfield,
    IDPHopfield,
    InputSchedule,
    SequenceRun,
    mixed_inputs,
)
from hopfield_lab.solvers.sde import euler_maruyama
from hopfield_lab.theory import idp as theory

__all__ = [
    "MODELS",
    "MODEL_LABELS",
    "RETRIEVAL_THRESHOLD",
    "as_array",
    "draw_overlaps",
    "memories",
    "run_to_cell",
    "schedule_cell",
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


def memories(n_units: int, n_patterns: int, orthogonal: bool, seed: int) -> torch.Tensor:
    """``(P, N)`` float64 memories: Hadamard rows (orthogonal) or random ``+-1``."""
    gen = torch.Generator().manual_seed(seed)
    if orthogonal:
        return hadamard_patterns(n_patterns, n_units, generator=gen, dtype=torch.float64)
    return random_patterns(n_patterns, n_units, generator=gen, dtype=torch.float64)


def schedule_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Simulate one network of the three-model protocol for ``trials`` trials (one batch).

    Cell keys: ``model`` (one of :data:`MODELS`), ``n_units``, ``n_patterns``,
    ``orthogonal``, ``gamma``, ``zero_diag``, ``sigma``, ``dt``, ``record_dt``, ``trials``,
    ``targets`` (target of each distinct input), ``order`` (input index per window),
    ``boundaries`` (window edges), ``seed``.

    Returns:
        JSON-ready dict: ``times`` ``(T,)``; ``mean_abs_m`` ``(T, P)`` (mean over trials of
        ``|m_mu(t)|``); ``window_end_m`` ``(J, S, P)`` (``|m|`` at each window's end);
        ``saliencies`` ``(J, S, P)`` of each window's input; ``on_target`` ``(J, S)`` bools;
        ``theory_m`` ``(J,)`` the mean-field overlap of the target well (:func:`theory.noisy_well`;
        for the classic constant input, the input-dominated overlap ``mean_i xi_i E[psi(u_i +
        s Z)]``); ``theory_c`` ``(J,)`` the amplitude where defined.
    """
    X = memories(cell["n_units"], cell["n_patterns"], cell["orthogonal"], cell["seed"])
    gen = torch.Generator().manual_seed(cell["seed"] + 1)
    targets, order = list(cell["targets"]), list(cell["order"])
    S, gamma, sigma = int(cell["trials"]), float(cell["gamma"]), float(cell["sigma"])
    u, _ = mixed_inputs(X, targets, generator=gen, batch=S)  # (K, S, N), one per distinct input
    inputs = u[order]  # (J, S, N), one per window
    window_targets = [targets[i] for i in order]
    model_name = cell["model"]
    if model_name == "idp":
        model: IDPHopfield | ClassicInputHopfield = IDPHopfield(
            X, "tanh", gamma, zero_diag=cell["zero_diag"]
        )
        schedule = InputSchedule(inputs, tuple(cell["boundaries"]), "constant")
    else:
        model = ClassicInputHopfield(X, "tanh", gamma, zero_diag=cell["zero_diag"])
        pulsed = model_name == "classic-pulsed"
        schedule = InputSchedule(
            inputs, tuple(cell["boundaries"]), "pulsed" if pulsed else "constant"
        )
    end = float(cell["boundaries"][-1])
    n_rec = round(end / cell["record_dt"])
    times = torch.linspace(0.0, end, n_rec + 1, dtype=torch.float64)
    x0 = torch.randn(S, X.shape[1], generator=gen, dtype=torch.float64)
    res = euler_maruyama(
        model.schedule_field(schedule),
        x0,
        times,
        sigma=sigma,
        dt=cell["dt"],
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
