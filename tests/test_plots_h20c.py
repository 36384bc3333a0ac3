"""runs.plots.plot_records: a series drawn from a table's row dicts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from hopfield_lab.runs.plots import plot_records


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
