"""Report helpers of :mod:`hopfield_lab.runs.plots`: ``panel_grid`` (one panel per setting,
blank places hidden), ``plot_records`` (a series from a table's row dicts) and ``plot_series``
(labelled series against one x axis)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.runs import RunDir
from hopfield_lab.runs.plots import figure, panel_grid, plot_records, plot_series


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


def test_plot_records_draws_the_keys_and_error_bars() -> None:
    rows = [{"T": 0.5, "m": 0.9, "s": 0.1}, {"T": 1.0, "m": 0.4, "s": None}]
    fig, ax = plt.subplots()
    try:
        line = plot_records(ax, rows, "T", "m", "s--", color="C1", label="chains")
        assert list(line.get_xdata()) == [0.5, 1.0] and list(line.get_ydata()) == [0.9, 0.4]
        assert line.get_linestyle() == "--" and line.get_label() == "chains"
        bars = plot_records(ax, rows, "T", "m", "o", yerr="s")
        segments = bars.lines[2][0].get_segments()  # one vertical bar per point
        assert np.allclose(segments[0], [[0.5, 0.8], [0.5, 1.0]])
        assert np.allclose(segments[1], [[1.0, 0.4], [1.0, 0.4]])  # a missing error is 0
    finally:
        plt.close(fig)


def test_plot_series_draws_one_labelled_line_per_series(tmp_path) -> None:
    rd = RunDir(tmp_path / "run")
    with figure(rd, "series") as (_, ax):
        plot_series(ax, [1, 2, 3], {"a": [1, 2, 3], "b": [3, 2, 1]}, styles=("o-", "s--"))
        plot_series(ax, None, {"c": [0, 1]}, colors=["k"], ms=3)
        lines = ax.get_lines()
        assert [ln.get_label() for ln in lines] == ["a", "b", "c"]
        assert lines[1].get_linestyle() == "--" and lines[2].get_markersize() == 3
        assert list(lines[2].get_xdata()) == [0, 1]
        with pytest.raises(ConfigError, match="2 series"):
            plot_series(ax, [1], {"a": [1], "b": [2]}, styles=("o-",))
    assert (rd.figures_dir / "series.png").exists()
