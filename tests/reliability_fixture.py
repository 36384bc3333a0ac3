"""A small registered experiment for the reliability tests: a grid of cells, each one a resumable
``fit`` training in its own sub-directory, plus a report drawn from the cells.

It is a fixture, not a reproduction: least-squares regression of a fixed random linear map,
learned by Adam on 64 samples, one cell per seed. Small enough that a run takes well under a
second, real enough to go through every artifact the runs layer writes (``config.json``,
``cells/``, ``train/<cell>/checkpoints/last.pt``, ``metrics.jsonl``, ``results.json``,
``tables/``, ``report.html``). ``sleep`` slows each epoch (seconds) so that the concurrency
test can start a second process while the first one holds the lock; ``hold`` (a path) makes
every epoch wait while that file exists (up to 5 minutes), so the test decides when the first
process may finish, however slowly the second one starts.

Run as a script it registers the experiment and calls the CLI's ``main`` with the arguments:
``python reliability_fixture.py run toy-grid --out DIR ...``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import torch
from torch import nn

from hopfield_lab.experiments.base import EXPERIMENTS, Experiment, RunContext, register
from hopfield_lab.experiments.fields import Config, Min, NonNegative
from hopfield_lab.runs import RunDir, Table, cell_filename, run_cells
from hopfield_lab.training import TrainConfig, fit

NAME = "toy-grid"


@dataclass(frozen=True)
class ToyConfig(Config):
    """cells: grid size (one seed each); epochs: per cell; sleep: seconds per epoch; hold: a
    file whose existence pauses every epoch ("" = none)."""

    cells: Annotated[int, Min(1)] = 3
    epochs: Annotated[int, Min(1)] = 3
    n: Annotated[int, Min(1)] = 64
    sleep: Annotated[float, NonNegative] = 0.0
    hold: str = ""


def _grid(config: ToyConfig, root: Path) -> dict[str, dict[str, Any]]:
    return {
        f"seed={s}": {"config": config, "seed": s, "train_dir": str(root / f"seed-{s}")}
        for s in range(config.cells)
    }


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    config: ToyConfig = cell["config"]
    g = torch.Generator().manual_seed(1000 + cell["seed"])
    x = torch.randn(config.n, 4, generator=g)
    y = x @ torch.randn(4, 2, generator=g)  # (n, 2)
    torch.manual_seed(cell["seed"])
    model = nn.Linear(4, 2)

    def loss_fn(m: nn.Module, b: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return ((m(b[0]) - b[1]) ** 2).mean()

    def eval_fn(m: nn.Module) -> dict[str, Any]:
        time.sleep(config.sleep)
        deadline = time.monotonic() + 300
        while config.hold and Path(config.hold).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with torch.no_grad():
            return {"fit_mse": float(((m(x) - y) ** 2).mean())}

    result = fit(
        model,
        torch.optim.Adam(model.parameters(), lr=0.05),
        loss_fn,
        (x, y),
        TrainConfig(epochs=config.epochs, batch_size=16, seed=cell["seed"], progress=False),
        run_dir=cell["train_dir"],
        eval_fn=eval_fn,
    )
    return {
        "seed": cell["seed"],
        "losses": [h["train_loss"] for h in result.history],
        "weight": model.weight.detach().flatten().tolist(),
    }


def run(config: ToyConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    cells = run_cells(_cell, _grid(config, run_dir.path / "train"), run_dir, progress=False)
    finals = [c["losses"][-1] for c in cells.values()]
    return {"final_losses": finals, "mean_final_loss": sum(finals) / len(finals)}


def report(config: ToyConfig, run_dir: RunDir) -> None:
    rows = [
        [c["seed"], c["losses"][-1]]
        for c in (run_dir.load_cell(k) for k in _grid(config, run_dir.path))
    ]
    run_dir.save_table(Table("losses", ["seed", "final loss"], rows, headline=True))


def register_toy() -> Experiment:
    """Register the experiment once (idempotent) and return it."""
    if NAME not in EXPERIMENTS:
        demo = ToyConfig()
        register(
            Experiment(
                name=NAME,
                title="reliability fixture: a grid of small trainings",
                paper="tests",
                figure="-",
                config_cls=ToyConfig,
                profiles={"demo": demo, "quick": demo, "paper": demo},
                runtime={"demo": "< 1 s"},
                run=run,
                report=report,
            )
        )
    return EXPERIMENTS[NAME]


__all__ = ["NAME", "ToyConfig", "cell_filename", "register_toy"]


if __name__ == "__main__":
    from hopfield_lab.cli import main
    from hopfield_lab.experiments.base import _load_all

    _load_all()  # the registry first, then the fixture (as a test does)
    register_toy()
    sys.exit(main(sys.argv[1:]))
