"""Plotting helpers for experiment reports: one figure context that saves and closes.

Reports draw from saved artifacts only (see :mod:`hopfield_lab.experiments.base`). Every figure
goes through :func:`figure`, which creates it with the house style, yields it to the caller and
saves it atomically into ``figures/<name>.png`` (closing it even when drawing fails), so a
report never leaks open figures or leaves a half-written PNG::

    with figure(run_dir, "magnetization", ncols=2) as (fig, axes):
        axes[0].plot(t, m, label="theory")
        ...

Titles are set by the caller and must fit (``fig`` uses constrained layout, which makes room
for legends and colorbars).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from hopfield_lab.runs.rundir import RunDir

__all__ = ["figure"]

_PANEL_SIZE = (5.2, 3.8)


@contextmanager
def figure(
    run_dir: RunDir,
    name: str,
    *,
    nrows: int = 1,
    ncols: int = 1,
    size: tuple[float, float] | None = None,
    **subplots_kw: Any,
) -> Iterator[tuple[Any, Any]]:
    """Create a figure, yield ``(fig, axes)``, then save it as ``figures/<name>.png``.

    Args:
        run_dir: the run directory to save into.
        name: file-safe figure name (without ``.png``).
        nrows, ncols: panel grid (``axes`` is one Axes for 1 x 1, else an array).
        size: figure size in inches; default ``5.2 x 3.8`` per panel.
        **subplots_kw: passed to ``plt.subplots`` (e.g. ``sharex=True``).

    Yields:
        ``(fig, axes)``.
    """
    if size is None:
        size = (_PANEL_SIZE[0] * ncols, _PANEL_SIZE[1] * nrows)
    subplots_kw.setdefault("layout", "constrained")
    fig, axes = plt.subplots(nrows, ncols, figsize=size, **subplots_kw)
    try:
        yield fig, axes
    except BaseException:
        plt.close(fig)
        raise
    run_dir.save_figure(fig, name)  # saves atomically and closes
