"""The report helper ``panel_grid`` (runs.plots): one panel per setting, blank places hidden."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.runs import RunDir
from hopfield_lab.runs.plots import panel_grid


def test_panel_grid_yields_n_axes_and_hides_the_rest(tmp_path) -> None:
    run_dir = RunDir(tmp_path)
    before = plt.get_fignums()
    with panel_grid(run_dir, "panels", 5, ncols=4, panel=(2.0, 1.5)) as (fig, axes):
        assert len(axes) == 5
        for i, ax in enumerate(axes):
            ax.plot([0, 1], [i, i + 1])
        assert fig.get_size_inches() == pytest.approx((8.0, 3.0))  # 2 rows of 4
        hidden = [ax for ax in fig.axes if not ax.axison]
        assert len(hidden) == 3
    assert (run_dir.figures_dir / "panels.png").stat().st_size > 0
    assert plt.get_fignums() == before  # saved and closed


def test_panel_grid_rejects_no_panels(tmp_path) -> None:
    with (
        pytest.raises(ConfigError, match="n and ncols must be >= 1"),
        panel_grid(RunDir(tmp_path), "x", 0, ncols=3),
    ):
        pass
