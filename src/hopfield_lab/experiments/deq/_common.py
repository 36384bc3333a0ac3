"""What ``deq-table2`` and ``deq-residuals`` share (DEQ paper, Sec. 4): Table 2's numbers, the
config fields of its rows and the grid of training cells. The training and evaluation protocol
(App. F) is :mod:`hopfield_lab.training.deq_paper`; the models and solver settings are
:mod:`hopfield_lab.models.deq_paper`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Annotated, Any

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments.fields import Choice, Config, Min, MnistPath, NonEmpty
from hopfield_lab.models.deq_paper import ARCHITECTURES, MODELS
from hopfield_lab.runs import cell_filename
from hopfield_lab.training.deq_paper import TrainSpec, train_and_evaluate

__all__ = [
    "HAM_ORDER",
    "PAPER",
    "Depths",
    "Models",
    "TrainingConfig",
    "expand_shared",
    "train_cell",
    "train_cells",
]

# (depth, row) -> (iterations, iterations std, speedup, accuracy %, accuracy std), Table 2.
PAPER: dict[tuple[int, str], tuple[float, float, float, float, float]] = {
    (3, "CHN (10 epochs)"): (75.5, 2.1, 0.5, 97.9, 0.1),
    (3, "CHN (3 epochs)"): (39.1, 3.8, 1.0, 97.0, 0.2),
    (3, "CHN-DEQ"): (20.6, 0.2, 1.9, 97.2, 0.3),
    (3, "CHN-EO"): (16.8, 0.5, 0.1, 97.1, 0.1),
    (3, "CHN-EO-DEQ"): (16.2, 1.0, 0.1, 97.1, 0.2),
    (3, "HAM"): (11.9, 0.4, 1.0, 97.9, 0.0),
    (3, "HAM-DEQ"): (9.9, 0.3, 1.2, 97.9, 0.1),
    (3, "HAM-EO"): (8.0, 0.2, 1.5, 97.9, 0.1),
    (3, "HAM-EO-DEQ"): (6.6, 0.2, 1.8, 97.9, 0.1),
    (5, "HAM"): (36.0, 1.8, 1.0, 97.1, 0.1),
    (5, "HAM-DEQ"): (33.0, 0.6, 1.1, 97.1, 0.2),
    (5, "HAM-EO"): (18.3, 0.5, 2.0, 97.1, 0.1),
    (5, "HAM-EO-DEQ"): (17.7, 0.3, 2.0, 97.1, 0.1),
    (7, "HAM"): (67.1, 2.9, 1.0, 95.6, 0.2),
    (7, "HAM-DEQ"): (56.0, 1.4, 1.2, 95.6, 0.1),
    (7, "HAM-EO"): (32.2, 0.8, 2.1, 95.5, 0.2),
    (7, "HAM-EO-DEQ"): (31.0, 1.0, 2.2, 95.5, 0.2),
}
HAM_ORDER = ("HAM", "HAM-DEQ", "HAM-EO", "HAM-EO-DEQ")
"""The HAM rows in the paper's order of decreasing iterations."""

Depths = Annotated[tuple[int, ...], NonEmpty, Choice(tuple(ARCHITECTURES))]
"""A config field: numbers of layers among the paper's 3, 5, 7."""
Models = Annotated[tuple[str, ...], NonEmpty, Choice(tuple(MODELS))]
"""A config field: rows of Table 2 (:data:`~hopfield_lab.models.deq_paper.MODELS`)."""


@dataclass(frozen=True)
class TrainingConfig(Config):
    """The fields of both experiments' configs that say what is trained.

    Attributes:
        depths: numbers of layers (CHN models run at depth 3 only, as in the paper).
        models: rows of Table 2 (:data:`~hopfield_lab.models.deq_paper.MODELS`).
        seeds: seeds per row. epochs: training epochs (paper: 5 seeds, 10 epochs).
        n_train: training images (0: all 50,000).
        mnist_path: optional user MNIST.
        shared_training: train one HAM per (depth, seed) with one solver's settings
            (``train_model``'s, default HAM-EO-DEQ's) and evaluate every HAM row's solver on its
            weights (1/4 of the training cost); False (the paper): each row trains its own.
    """

    depths: Depths = (3, 5, 7)
    models: Models = tuple(MODELS)
    seeds: Annotated[int, Min(1)] = 5
    epochs: Annotated[int, Min(1)] = 10
    n_train: Annotated[int, Min(0)] = 0
    mnist_path: MnistPath = ""
    shared_training: bool = False

    def check(self) -> None:
        """CHN models need depth 3."""
        if not any(MODELS[m].kind == "ham" for m in self.models) and 3 not in self.depths:
            raise ConfigError("CHN models run at depth 3 only: add 3 to depths or a HAM model")


def train_cells(
    config: Any,
    device: str = "cpu",
    *,
    variants: Callable[[str], list[str]] = lambda m: [m],
    **spec: Any,
) -> dict[str, dict[str, Any]]:
    """The grid of cells ``depth=..,model=..,seed=..`` (CHN models at depth 3 only), each
    with its checkpoints under ``train/<cell>`` of the run directory.

    Args:
        config: an experiment config with ``depths``, ``models``, ``seeds``,
            ``shared_training`` (train one HAM per (depth, seed), key ``model=HAM-shared``,
            with ``config.train_model``'s solver, default HAM-EO-DEQ's, and evaluate every HAM
            solver of ``models`` on its weights) and the :class:`TrainSpec` fields it names
            alike (``epochs``, ``n_train``, ...).
        device: torch device of the cells.
        variants: the evaluated solvers of a model (itself, plus safeguard variants).
        **spec: further :class:`TrainSpec` fields (e.g. ``n_resid``).

    Returns:
        ``{key: {"spec": TrainSpec}}``.
    """
    shared = config.shared_training
    own = {f.name for f in fields(TrainSpec)} - {"depth", "model", "seed", "device", *spec}
    named = {k: getattr(config, k) for k in own if hasattr(config, k)}
    base = TrainSpec(depth=0, model="", seed=0, device=device, **named, **spec)
    cells: dict[str, dict[str, Any]] = {}
    for depth, model, seed in itertools.product(config.depths, config.models, range(config.seeds)):
        if MODELS[model].kind == "chn" and depth != 3:
            continue
        key = f"depth={depth},model={model},seed={seed}"
        evals = variants(model)
        if shared and MODELS[model].kind == "ham":
            key = f"depth={depth},model=HAM-shared,seed={seed}"
            evals = [v for m in config.models if MODELS[m].kind == "ham" for v in variants(m)]
            model = getattr(config, "train_model", "HAM-EO-DEQ")
        cell_spec = replace(
            base,
            depth=depth,
            model=model,
            seed=seed,
            short_epochs=base.short_epochs if model == "CHN" else 0,
            eval_models=tuple(evals) if len(evals) > 1 else (),
            train_dir=f"train/{cell_filename(key)}",
        )
        cells.setdefault(key, {"spec": cell_spec})
    return cells


def train_cell(cell: dict[str, Any], root: str = ".") -> dict[str, Any]:
    """The work of a training cell: :func:`~hopfield_lab.training.deq_paper.train_and_evaluate`
    of its spec, checkpoints under the run directory ``root``."""
    return train_and_evaluate(cell["spec"], root)


def expand_shared(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-row results from cells that evaluated several solvers (``eval_models``) on one
    trained model: each evaluated name gets its own key (``model=<name>``); only the solver
    that trained keeps the epoch time (the others trained none)."""
    out: dict[str, dict[str, Any]] = {}
    for key, r in results.items():
        if "models" not in r:
            out[key] = r
            continue
        trained = r["trained_model"]
        head, _, rest = key.partition("model=")
        tail = rest.partition(",")[2]
        for name, metrics in r["models"].items():
            row = {
                "final": metrics,
                "epoch_time_s": r["epoch_time_s"] if name == trained else math.nan,
                "history": r["history"] if name == trained else [],
            }
            if name == trained and "short" in r:
                row["short"] = r["short"]
            out[f"{head}model={name},{tail}" if tail else f"{head}model={name}"] = row
    return out
