"""E3: noise sweep, fraction of trials ending on the target (spec E3, [A]).

Command::

    hopfield-lab run idp-noise --profile quick

Setting: E1's protocol (N = 1024, P = 10 random memories, ``tanh(10 x)``, zero diagonal, three
windows of 10 time units, ``dt = 0.01``) repeated for ``sigma in {0, 2, 4, 8}``; each sigma and
network is one cell of ``trials`` trials simulated as one batch.

Claims [A]: the IDP network stays robust as the noise grows (noise even helps: it drives the
state to the deepest well, the target), the classic network degrades. Theory columns
(:mod:`hopfield_lab.theory.idp`, mean field [D]): the overlap a retrieved target keeps under
noise, ``noisy_well(alpha_target, sigma)`` for the IDP network and ``noisy_well(1, sigma)`` for
the classic one (its memories are lost, ``m* = 0``, once ``sigma`` exceeds about 1.2 at
``gamma = 10``). For ``sigma = 0`` the deterministic IDP network cannot leave a memory that is
still stable (``psi'(c) max alpha < 1`` holds for every previous target here), so windows 2 and 3
are a test of noise-driven switching.

The headline checks, per noise level: for ``sigma > 0`` the IDP network ends on the target in at
least 90% of the trials (a few are still escaping the previous well when a window ends) with
the noisy-well overlap; the classic network ends on no target where its memories are lost, and
its constant-input mixture follows the input-dominated prediction; at ``sigma = 0`` the IDP
network misses switches that the classic pulsed one makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np

from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.experiments.fields import Increasing, NonEmpty, NonNegative, Positive
from hopfield_lab.experiments.idp._common import (
    MODEL_LABELS,
    MODELS,
    RETRIEVAL_THRESHOLD,
    InputConfig,
    model_checks,
    run_schedule,
    schedule_grid,
    summarize,
)
from hopfield_lab.runs import RunDir, Table, at_most, check_table, comparison_table
from hopfield_lab.runs.plots import figure
from hopfield_lab.theory import idp as theory

__all__ = ["NoiseConfig", "report", "run"]


_IDP_FRACTION = 0.9
"""Least fraction of trials the IDP network ends on the target with noise (``sigma > 0``)."""


@dataclass(frozen=True)
class NoiseConfig(InputConfig):
    """Config of E3: :class:`~hopfield_lab.experiments.idp._common.InputConfig`, and

    Attributes:
        sigmas: noise amplitudes swept. window: length of each input window.
    """

    sigmas: Annotated[tuple[float, ...], NonEmpty, Increasing, NonNegative] = (0.0, 2.0, 4.0, 8.0)
    window: Annotated[float, Positive] = 10.0
    record_dt: Annotated[float, Positive] = 0.5


def _key(name: str, sigma: float) -> str:
    return f"model={name},sigma={sigma:g}"


def _grid(config: NoiseConfig) -> dict[str, dict[str, Any]]:
    J = len(config.targets)
    edges = [config.window * j for j in range(J + 1)]
    cells = schedule_grid(config, range(J), edges, config.sigmas)
    return {_key(c["model"], c["sigma"]): c for c in cells.values()}  # one key form for any sigmas


def run(config: NoiseConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """One cell per (network, sigma); the summary is the fraction on target per cell."""
    summ = run_schedule(_grid(config), run_dir, ctx)
    out: dict[str, Any] = {}
    for name in MODELS:
        out[f"{name}_fraction_by_sigma"] = [
            summ[_key(name, s)]["fraction_all"] for s in config.sigmas
        ]
    gaps = [
        np.abs(
            np.asarray(summ[_key("idp", s)]["m_compare"]) - summ[_key("idp", s)]["theory_m"]
        ).max()
        for s in config.sigmas
        if s > 0
    ]
    out["idp_max_gap_m_target_noisy"] = float(max(gaps)) if gaps else None
    out["sigmas"] = list(config.sigmas)
    return out


def report(config: NoiseConfig, run_dir: RunDir) -> None:
    """Headline table (fraction and overlap per sigma, theory side by side) and two figures."""
    cells = {k: run_dir.load_cell(k) for k in _grid(config)}
    summ = {k: summarize(c) for k, c in cells.items()}
    windows = list(range(len(config.targets)))
    checks = []
    for s in config.sigmas:
        for name in MODELS:
            label = f"sigma={s:g}, {MODEL_LABELS[name]}"
            if name != "idp" or s > 0:
                sm = summ[_key(name, s)]
                checks += model_checks(name, sm, windows, label, idp_fraction=_IDP_FRACTION)
        if s == 0:
            idp, pulsed = (summ[_key(n, s)]["fraction_all"] for n in MODELS[:2])
            claim = f"< classic pulsed ({pulsed:.2f}): no noise, no switch"
            checks.append(at_most("sigma=0, IDP: fraction on target", idp, pulsed, claim=claim))
    run_dir.save_table(
        check_table(
            "headline",
            checks,
            f"E3 noise sweep, {config.trials} trials per cell, all windows: with noise the IDP "
            f"network ends on the target in at least {_IDP_FRACTION:.0%} of the trials with the "
            "noisy-well overlap [A]; the classic network degrades; without noise the IDP "
            "network cannot leave a memory that is still stable.",
            headline=True,
        )
    )
    rows: list[tuple[str, float | str | None, float | None, float | None]] = []
    for s in config.sigmas:
        for name in MODELS:
            sm = summ[_key(name, s)]
            m_star = float(np.mean(sm["theory_m"]))
            if name == "idp":
                frac: float | str | None = 1.0 if s > 0 else None
            else:
                frac = 0.0 if m_star < RETRIEVAL_THRESHOLD else None
            label = f"sigma={s:g}, {MODEL_LABELS[name]}"
            rows.append((f"{label}: fraction on target", frac, sm["fraction_all"], None))
            rows.append(
                (
                    f"{label}: mean |m_target| ({sm['scope'][0]})",
                    m_star,
                    float(np.mean(sm["m_compare"])),
                    None,
                )
            )
    run_dir.save_table(
        comparison_table(
            "theory_vs_simulation",
            rows,
            caption=(
                "Windows averaged. 'paper' = theory: fraction 1 for the IDP network with noise "
                "(deepest well [A]; none given at sigma = 0, where it cannot leave a stable "
                f"memory), 0 where the noisy-well overlap is below {RETRIEVAL_THRESHOLD}; the "
                "noisy-well overlap of the target (input-dominated for the classic constant "
                "input)."
            ),
        )
    )
    per_window = Table(
        "per_window",
        ["sigma", "network", *[f"window {j} fraction" for j in range(len(config.targets))]],
        caption="Fraction of trials ending on the target, per window.",
    )
    for s in config.sigmas:
        for name in MODELS:
            per_window.add_row(s, MODEL_LABELS[name], *summ[_key(name, s)]["fraction"])
    run_dir.save_table(per_window)
    with figure(run_dir, "fraction_vs_sigma", ncols=2, size=(11.0, 3.8)) as (_, axes):
        grid = np.linspace(0.0, max(config.sigmas) * 1.05 + 1e-9, 60)
        for i, name in enumerate(MODELS):
            fracs = [summ[_key(name, s)]["fraction_all"] for s in config.sigmas]
            m_means = [float(np.mean(summ[_key(name, s)]["m_compare"])) for s in config.sigmas]
            axes[0].plot(config.sigmas, fracs, "o-", color=f"C{i}", label=MODEL_LABELS[name])
            axes[1].plot(
                config.sigmas, m_means, "o", color=f"C{i}", label=f"{MODEL_LABELS[name]} (sim)"
            )
        classic = [theory.noisy_well(1.0, float(g), "tanh", config.gamma)[1] for g in grid]
        axes[1].plot(grid, classic, "-", color="C1", lw=1, label="classic m*(sigma), theory")
        a_t = float(
            np.mean(
                np.asarray(cells[_key("idp", config.sigmas[-1])]["saliencies"])[
                    np.arange(len(config.targets)), :, list(config.targets)
                ]
            )
        )
        idp_curve = [theory.noisy_well(a_t, float(g), "tanh", config.gamma)[1] for g in grid]
        axes[1].plot(grid, idp_curve, "-", color="C0", lw=1, label="IDP m*(sigma), theory")
        axes[0].set(
            xlabel="noise sigma",
            ylabel="fraction ending on target",
            ylim=(-0.02, 1.05),
            title="Trials ending on the window's target",
        )
        axes[1].set(
            xlabel="noise sigma",
            ylabel="|m_target| (retrieved trials where m* >= 0.75)",
            ylim=(0, 1.05),
            title="Target overlap: simulation and mean-field theory",
        )
        axes[0].legend(fontsize=7)
        axes[1].legend(fontsize=7)


register(
    Experiment(
        name="idp-noise",
        title="Noise sweep: IDP stays on target, the classic network degrades (E3)",
        paper="Betteti et al., Sci. Adv. 2025; spec E3",
        figure="E3: fraction of trials ending on the target vs sigma",
        config_cls=NoiseConfig,
        profiles={
            "demo": NoiseConfig(sigmas=(0.0, 4.0), n_units=256, trials=4, window=8.0),
            "quick": NoiseConfig(),
            "paper": NoiseConfig(trials=50),
        },
        runtime={"demo": "~10 s", "quick": "~90 s (28 s CPU)", "paper": "~5 min"},
        memory={"quick": "0.85 GiB"},
        claim=(
            "With noise (sigma = 2, 4, 8) the IDP network ends on the target in at least 90% of "
            "the windows with the noisy-well overlap (within 0.01), while the classic network "
            "loses its memories (sigma >= 2); without noise the IDP network misses switches."
        ),
        expected=(
            "IDP on target in 52%, 96%, 98%, 100% of windows at sigma = 0, 2, 4, 8, overlaps "
            "within 0.001 of theory; classic pulsed 90% at sigma = 0, then 0% (|m| 0.03-0.05); "
            "classic constant 0% throughout (a mixture within 0.005 of its prediction)."
        ),
        run=run,
        report=report,
    )
)
