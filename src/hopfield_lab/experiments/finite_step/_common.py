"""The Base/JacQ pair of the finite-step paper's Figures 1-2 (Sec. 5.2), trained as two cells.

The protocol (model, objective, Adam, the noise readings) is
:mod:`hopfield_lab.training.finite_step`'s; Table 1 chooses the regularisers' weights on
validation data (:mod:`hopfield_lab.experiments.finite_step.table1`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from hopfield_lab.data import NoiseReading, mnist_tensors, subset
from hopfield_lab.experiments.base import RunContext
from hopfield_lab.experiments.fields import Config, Min, MnistPath, NonNegative, Range, Seed
from hopfield_lab.models import FiniteStepHopfield
from hopfield_lab.runs import RunDir
from hopfield_lab.training import RegSettings, evaluate_finite_step, train_finite_step

__all__ = ["PAIR_METHODS", "PairConfig", "pair_cells", "train_pair"]

PAIR_METHODS = {"base": "Base", "jacq": "JacQ"}
"""The pair's methods and their names in figures."""


@dataclass(frozen=True)
class PairConfig(Config):
    """Base and JacQ trained on the setting of the paper's Figures 1-2 (Sec. 5.2).

    Attributes:
        activation: paper: tanh. K: steps (paper: 5). epochs: paper: 100.
        n_train: training images (0 = all). seed: training seed.
        jacq_lam, jacq_q, jacq_m: JacQ's ``lam``, ``q`` and ``m`` (Eq. 9; the paper gives none).
        n_eval: test images analysed. mnist_path: optional user MNIST ("" = bundled).
    """

    activation: Literal["relu", "sigmoid", "tanh"] = "tanh"
    K: Annotated[int, Min(1)] = 5
    epochs: Annotated[int, Min(1)] = 100
    n_train: Annotated[int, Min(0)] = 0
    seed: Seed = 0
    jacq_lam: Annotated[float, NonNegative] = 1.0
    jacq_q: Annotated[float, Range(0, 1, open_low=True, open_high=True)] = 0.9
    jacq_m: Annotated[float, NonNegative] = 1.0
    n_eval: Annotated[int, Min(2)] = 1000
    mnist_path: MnistPath = ""


def pair_cells(pair: PairConfig) -> dict[str, dict[str, Any]]:
    """The grid of :func:`train_pair`: one cell per method, holding the typed ``pair``."""
    return {f"method={m}": {"config": pair, "method": m} for m in PAIR_METHODS}


def _pair_cell(cell: dict[str, Any]) -> dict[str, Any]:
    pair: PairConfig = cell["config"]
    model = _pair_model(pair, cell["method"], cell["train_dir"], cell.get("device", "cpu"))
    x, y = mnist_tensors(pair.mnist_path)["test"]
    return evaluate_finite_step(
        model, x, y, reading=NoiseReading(), noise_sigma=0.25, seed=pair.seed
    )


def _pair_model(pair: PairConfig, method: str, train_dir: str, device: str) -> FiniteStepHopfield:
    x, y = subset(*mnist_tensors(pair.mnist_path)["train"], pair.n_train, pair.seed)
    model, _ = train_finite_step(
        activation=pair.activation,
        method=method,
        K=pair.K,
        seed=pair.seed,
        x=x,
        y=y,
        epochs=pair.epochs,
        reg=RegSettings(jacq_lam=pair.jacq_lam, jacq_q=pair.jacq_q, jacq_m=pair.jacq_m),
        device=device,
        train_dir=Path(train_dir),
    )
    return model.eval()


def train_pair(
    pair: PairConfig, run_dir: RunDir, ctx: RunContext
) -> dict[str, tuple[FiniteStepHopfield, dict[str, Any]]]:
    """Train (or resume, or load) Base and JacQ; return ``{method: (model, test metrics)}``.

    The test metrics are the cells of :func:`pair_cells` (see
    :func:`~hopfield_lab.training.evaluate_finite_step`; noise under the default reading,
    sigma = 0.25); the models are loaded from their checkpoints under ``train/<method>``.
    """
    cells = pair_cells(pair)
    for cell in cells.values():
        cell.update(device=ctx.device, train_dir=str(run_dir.path / "train" / cell["method"]))
    metrics = ctx.cells(_pair_cell, cells, run_dir)
    return {
        c["method"]: (_pair_model(pair, c["method"], c["train_dir"], ctx.device), metrics[k])
        for k, c in cells.items()
    }
