"""E1: mixed-input classification, IDP network against the classic network (spec E1, [A, C]).

Command::

    hopfield-lab run idp-classification --profile quick

Setting (Betteti et al., Sci. Adv. 2025, and the authors' code [C]): ``N = 1024``, ``P = 10``
random ``+-1`` memories, ``psi = tanh(10 x)``, zero diagonal, ``x0 ~ N(0, I)``; three mixed
inputs ``u_j = sum_l a_{l,j} xi_l`` (target ``a ~ U[2, 3.5]``, previous target ``U[0.2,
0.6]``, others ``U[0.8, 1.5]``, columns rescaled to sum ``sqrt(P N)``) shown one after another
for 10 time units each; Euler-Maruyama with ``dt = 0.01`` and ``sigma = 8`` (code; a summary
quotes 4). Compared: the IDP network (input held), the classic network with the input as a
pulse (first time unit of each window) and held constant. Each trial draws its own inputs and
``x0``; see :mod:`hopfield_lab.experiments.idp._common` for the "ends on the target" rule.

Claims [A]: the IDP network follows the target of each window, noise driving it to the deepest
well (the largest saliency); the classic network gets stuck or mixes. Theory: the deepest-well
prediction (fraction 1 for the IDP), and the mean-field overlap a retrieved state keeps under
noise ``sigma`` (:func:`hopfield_lab.theory.idp.noisy_well`: ``c = alpha E[psi(c + s Z)]``,
``s = sigma / sqrt(2)``; the classic network is ``alpha = 1``, which keeps no memory at
``sigma = 8``, and with a constant input the input dominates: ``mean_i xi_i E[psi(u_i + s
Z)]``, a mixture below the retrieval threshold). The headline checks these claims
(:func:`~hopfield_lab.experiments.idp._common.model_checks`); the table
``theory_vs_simulation`` gives every window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np

from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.experiments.fields import NonNegative, Positive
from hopfield_lab.experiments.idp._common import (
    MODELS,
    RETRIEVAL_THRESHOLD,
    InputConfig,
    draw_overlaps,
    run_schedule,
    schedule_grid,
    schedule_tables,
    summarize,
)
from hopfield_lab.runs import RunDir
from hopfield_lab.runs.plots import figure, grouped_bars

__all__ = ["ClassificationConfig", "report", "run"]


@dataclass(frozen=True)
class ClassificationConfig(InputConfig):
    """Config of E1: :class:`~hopfield_lab.experiments.idp._common.InputConfig`, and

    Attributes:
        sigma: noise amplitude. window: length of each input window.
    """

    sigma: Annotated[float, NonNegative] = 8.0
    window: Annotated[float, Positive] = 10.0


def _grid(config: ClassificationConfig) -> dict[str, dict[str, Any]]:
    J = len(config.targets)
    edges = [config.window * j for j in range(J + 1)]
    return schedule_grid(config, range(J), edges, [config.sigma])


def run(config: ClassificationConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Simulate the three networks (one resumable cell each) and summarise."""
    summaries = run_schedule(_grid(config), run_dir, ctx)
    out: dict[str, Any] = {}
    for name in MODELS:
        s = summaries[f"model={name}"]
        out[f"{name}_fraction_on_target"] = s["fraction_all"]
        out[f"{name}_m_target"] = s["m_target"]
        out[f"{name}_theory_m"] = s["theory_m"]
    for name in ("idp", "classic-constant"):
        s = summaries[f"model={name}"]
        gaps = np.abs(np.asarray(s["m_compare"]) - np.asarray(s["theory_m"]))
        out[f"{name}_max_gap_m_target"] = float(np.max(gaps))
    return out


def report(config: ClassificationConfig, run_dir: RunDir) -> None:
    """Headline checks, theory against simulation per window, overlaps, saliency bars."""
    cells = {name: run_dir.load_cell(f"model={name}") for name in MODELS}
    summaries = {name: summarize(cells[name]) for name in MODELS}
    windows = list(range(len(config.targets)))
    setting = (
        f"N={config.n_units}, P={config.n_patterns}, tanh({config.gamma:g} x), "
        f"sigma={config.sigma:g}, {config.trials} trials"
    )
    head = (
        "E1 mixed-input classification, every window: the IDP network ends on the target (noise "
        "drives it to the deepest well [A]) with the noisy-well overlap; the classic network "
        "keeps no memory where the mean field loses it, and its constant-input mixture follows "
        f"the input-dominated prediction. {setting}."
    )
    table = (
        "'paper' = theory: the fraction of trials ending on the target (1 for the IDP network, 0 "
        f"where the theory's overlap is below the retrieval threshold {RETRIEVAL_THRESHOLD}) and "
        "the mean-field overlap |m| of the target well under noise (noisy_well; input-dominated "
        f"for the classic network with a constant input); 'ours' = mean (± std). {setting}."
    )
    labels = [f"window {j} (u{t})" for j, t in enumerate(config.targets)]
    schedule_tables(run_dir, summaries, labels, windows, (head, table))
    with figure(run_dir, "overlaps", ncols=3, size=(15.0, 3.8)) as (_, axes):
        draw_overlaps(axes, cells, [config.window * j for j in range(len(config.targets) + 1)])
    alphas = np.asarray(cells["idp"]["saliencies"]).mean(1)  # (J, P)
    with figure(run_dir, "saliencies", size=(7.0, 3.6)) as (_, ax):
        series = {f"input u{j} (target {t})": alphas[j] for j, t in enumerate(config.targets)}
        grouped_bars(ax, range(alphas.shape[1]), series)
        ax.axhline(1.0 / config.gamma, color="k", lw=0.7, ls=":", label="existence 1/gamma")
        ax.set(
            xlabel="memory mu",
            ylabel="saliency alpha_mu (mean over trials)",
            title="Saliencies of the three inputs",
        )
        ax.legend(fontsize=7)


register(
    Experiment(
        name="idp-classification",
        title="IDP vs classic network on mixed inputs: overlaps over time, saliency bars (E1)",
        paper="Betteti et al., Sci. Adv. 2025; spec E1",
        figure="E1: mixed-input classification",
        config_cls=ClassificationConfig,
        profiles={
            "demo": ClassificationConfig(n_units=256, trials=4, window=8.0, sigma=4.0),
            "quick": ClassificationConfig(),
            "paper": ClassificationConfig(trials=50),
        },
        runtime={"demo": "~5 s", "quick": "~40 s (12 s CPU)", "paper": "~2 min"},
        memory={"quick": "0.86 GiB"},
        claim=(
            "At sigma = 8 the IDP network ends every window on its target with the noisy-well "
            "overlap (within 0.01); the classic network keeps no memory (pulsed input) or sits "
            "in the input-dominated mixture (constant input, within 0.05)."
        ),
        expected=(
            "IDP 48/48 windows on target, |m_target| 0.9987-0.9994 against 0.9996-1.0 (largest "
            "gap 0.001); classic pulsed 0/48 (|m| 0.02-0.03); classic constant 0/48, overlaps "
            "0.52, 0.57, 0.60 against 0.518, 0.572, 0.594 (largest gap 0.008)."
        ),
        run=run,
        report=report,
    )
)
