"""Plotting helpers for experiment reports: one figure context that saves and closes.

Reports draw from saved artifacts only (see :mod:`hopfield_lab.experiments.base`). Every figure
goes through :func:`figure`, which creates it with the house style, yields it to the caller and
saves it atomically into ``figures/<name>.png`` (closing it even when drawing fails), so a
report never leaks open figures or leaves a half-written PNG::

    with figure(run_dir, "magnetization", ncols=2) as (fig, axes):
        axes[0].plot(t, m, label="theory")
        ...

Before saving, the context makes every figure readable on its own:

* in a figure without any legend, every axes with labelled artists gets one;
* in a figure without any colorbar, every ``pcolormesh`` / ``imshow`` colour map gets one
  (greyscale pictures excepted; :func:`heatmap` draws a labelled one);
* titles (and the suptitle) are wrapped to the width of their axes instead of running off the
  figure.

:func:`heatmap` draws the one shape several reports repeat: values on a (possibly irregular)
grid of centres, with cell edges half-way between them and a labelled colorbar;
:func:`grouped_bars` draws several series as bars side by side at each label. Two whole
figures recur too: :func:`image_grid` (pictures in rows and columns: queries, fixed points,
prototypes) and :func:`curve_panels` (a few panels of curves with their mean: energies along
trajectories at a few settings).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import QuadMesh
from matplotlib.image import AxesImage

from hopfield_lab.errors import ConfigError
from hopfield_lab.runs.rundir import RunDir

__all__ = [
    "cell_edges",
    "curve_panels",
    "figure",
    "grouped_bars",
    "heatmap",
    "image_grid",
    "panel_grid",
    "plot_records",
    "plot_series",
]

_PANEL_SIZE = (5.2, 3.8)
_CHAR_WIDTH = 0.56
"""Average glyph width of the default sans-serif font, in units of the font size."""


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
    """Create a figure, yield ``(fig, axes)``, then finish and save it as ``figures/<name>.png``.

    Args:
        run_dir: the run directory to save into.
        name: file-safe figure name (without ``.png``).
        nrows, ncols: panel grid (``axes`` is one Axes for 1 x 1, else an array). Default 1, 1.
        size: figure size in inches; default ``5.2 x 3.8`` per panel.
        **subplots_kw: passed to ``plt.subplots`` (e.g. ``sharex=True``, ``squeeze=False``).

    Yields:
        ``(fig, axes)``.
    """
    if size is None:
        size = (_PANEL_SIZE[0] * ncols, _PANEL_SIZE[1] * nrows)
    subplots_kw.setdefault("layout", "constrained")
    fig, axes = plt.subplots(nrows, ncols, figsize=size, **subplots_kw)
    try:
        yield fig, axes
        finish(fig)
    except BaseException:
        plt.close(fig)
        raise
    run_dir.save_figure(fig, name)  # saves atomically and closes


def finish(fig: Any) -> None:
    """Add missing legends and colorbars and wrap long titles (see the module docstring).

    Conservative where the author made a choice: a figure that already shows a legend (one
    panel's legend may serve all) gets no other, and a figure that already has a colorbar (a
    shared one) gets no other.
    """
    panels = [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is None]
    has_legend = bool(fig.legends) or any(ax.get_legend() is not None for ax in panels)
    has_colorbar = len(panels) < len(fig.axes)
    for ax in panels:
        handles, _ = ax.get_legend_handles_labels()
        if handles and not has_legend:
            ax.legend(fontsize=8)
        for mappable in [*ax.images, *ax.collections]:
            if has_colorbar or not isinstance(mappable, (QuadMesh, AxesImage)):
                continue
            picture = mappable.get_cmap().name in {"gray", "Greys", "gray_r", "Greys_r"}
            if mappable.colorbar is None and not (isinstance(mappable, AxesImage) and picture):
                fig.colorbar(mappable, ax=ax)  # a picture (digits) needs no colour scale
        _wrap(ax.title, _axes_width(fig, ax))
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None:
        _wrap(suptitle, fig.get_figwidth())


def _axes_width(fig: Any, ax: Any) -> float:
    """Width available to an axes' title, in inches (its share of the figure)."""
    spec = ax.get_subplotspec()
    if spec is None:
        return fig.get_figwidth() * ax.get_position().width
    grid = spec.get_gridspec()
    cols = spec.colspan.stop - spec.colspan.start
    return fig.get_figwidth() * cols / grid.ncols


def _wrap(text: Any, width_in: float) -> None:
    """Wrap a title ``Text`` so that each line fits ``width_in`` inches."""
    label = text.get_text()
    if not label:
        return
    chars = max(12, int(width_in * 72 / (_CHAR_WIDTH * text.get_fontsize())))
    lines = label.split("\n")
    if all(len(line) <= chars for line in lines):
        return
    text.set_text("\n".join(textwrap.fill(line, chars) for line in lines))


def cell_edges(centres: Sequence[float] | np.ndarray) -> np.ndarray:
    """Edges of the cells around grid centres: half-way between neighbours, the outer ones
    mirrored (not below 0 when the first centre is >= 0).

    Args:
        centres: increasing grid values ``(n,)``.

    Returns:
        ``(n + 1,)`` edges.
    """
    v = np.asarray(centres, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5]) if v[0] else np.array([0.0, 1.0])
    mids = (v[1:] + v[:-1]) / 2
    first = v[0] - (mids[0] - v[0])
    if v[0] >= 0:
        first = max(0.0, first)
    return np.concatenate([[first], mids, [v[-1] + v[-1] - mids[-1]]])


def heatmap(
    fig: Any,
    ax: Any,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    values: np.ndarray,
    *,
    label: str,
    **pcolormesh_kw: Any,
) -> Any:
    """Draw ``values[i, j]`` at ``(x[j], y[i])`` as coloured cells with a labelled colorbar.

    Args:
        fig, ax: the figure and the axes to draw into.
        x: ``(nx,)`` increasing column centres. y: ``(ny,)`` increasing row centres.
        values: ``(ny, nx)``.
        label: the colorbar's label (what the colour means).
        **pcolormesh_kw: passed on (``vmin``, ``vmax``, ``cmap``).

    Returns:
        The ``QuadMesh``.
    """
    mesh = ax.pcolormesh(cell_edges(x), cell_edges(y), np.asarray(values), **pcolormesh_kw)
    fig.colorbar(mesh, ax=ax, label=label)
    return mesh


def grouped_bars(
    ax: Any,
    labels: Sequence[Any],
    series: Mapping[str, Sequence[float] | np.ndarray],
    *,
    errors: Mapping[str, Sequence[float]] | None = None,
    width: float = 0.8,
    rotation: float = 0.0,
    fontsize: float | None = None,
) -> None:
    """Bars of several series side by side at each label, one legend entry per series.

    Args:
        ax: the axes.
        labels: ``(n,)`` tick labels, one per group.
        series: ``{name: (n,) values}``; the ``k`` series of a group share ``width``.
        errors: ``{name: (n,) error bar half-lengths}`` for some series. Default none.
        width: total width of a group (1 = touching groups). Default 0.8.
        rotation: tick-label rotation in degrees (right-aligned when not 0). Default 0.
        fontsize: tick-label font size; default matplotlib's.
    """
    k = len(series)
    x = np.arange(len(labels))
    for j, (name, values) in enumerate(series.items()):
        yerr = (errors or {}).get(name)
        ax.bar(x + (j - (k - 1) / 2) * width / k, values, width / k, yerr=yerr, label=name)
    ha = "right" if rotation else "center"
    ax.set_xticks(x, [str(v) for v in labels], rotation=rotation, ha=ha, fontsize=fontsize)


def image_grid(
    run_dir: RunDir,
    name: str,
    images: Sequence[Sequence[Any]],
    *,
    shape: tuple[int, int] | None = None,
    titles: Sequence[Sequence[str]] | None = None,
    row_labels: Sequence[str] = (),
    title: str = "",
    vmin: float | None = None,
    vmax: float | None = None,
    cell: tuple[float, float] = (1.3, 1.4),
) -> None:
    """Save grey-scale pictures ``images[row][col]`` as ``figures/<name>.png``.

    Args:
        run_dir: the run directory.
        name: the figure's name.
        images: rows of pictures: 2-D arrays, flat arrays (reshaped to ``shape``) or ``None``
            (an empty place); rows may be shorter than the longest.
        shape: ``(H, W)`` of flat pictures.
        titles: a title per picture, same nesting as ``images`` (``""`` for none).
        row_labels: a label left of each row.
        title: the figure's title.
        vmin, vmax: the grey scale's range; default each picture's own.
        cell: inches per picture ``(width, height)``. Default ``(1.3, 1.4)``.
    """
    nrows, ncols = len(images), max(len(row) for row in images)
    size = (cell[0] * ncols + (0.8 if row_labels else 0.0), cell[1] * nrows + 0.4 * bool(title))
    with figure(run_dir, name, nrows=nrows, ncols=ncols, size=size, squeeze=False) as (fig, axes):
        for i, row in enumerate(images):
            for j, ax in enumerate(axes[i]):
                ax.axis("off")
                if j >= len(row) or row[j] is None:
                    continue
                picture = np.asarray(row[j], dtype=float)
                if picture.ndim == 1:
                    if shape is None:
                        raise ConfigError(f"image_grid {name!r}: flat pictures need a shape")
                    picture = picture.reshape(shape)
                ax.imshow(picture, cmap="gray", vmin=vmin, vmax=vmax)
                if titles is not None and titles[i][j]:
                    ax.set_title(titles[i][j], fontsize=7)
        for i, label in enumerate(row_labels):
            axes[i, 0].text(
                -0.08, 0.5, label, transform=axes[i, 0].transAxes, ha="right", va="center"
            )
        if title:
            fig.suptitle(title, fontsize=10)


def curve_panels(
    run_dir: RunDir,
    name: str,
    panels: Sequence[tuple[str, Sequence[Sequence[float]]]],
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
    means: Sequence[Sequence[float]] | None = None,
    mean_label: str = "mean",
) -> None:
    """Save one panel per ``(title, curves)``: every curve thin, their mean thick, as
    ``figures/<name>.png``.

    Args:
        run_dir: the run directory.
        name: the figure's name.
        panels: ``(panel title, curves)``; each curve a sequence of values against its index.
        xlabel, ylabel: axis labels (the y label on the first panel).
        title: the figure's title.
        means: the thick curve of each panel (e.g. the mean over more curves than are drawn);
            default the mean of the panel's curves at each step they reach.
        mean_label: the legend's label of the thick curve. Default ``"mean"``.
    """
    n = len(panels)
    with figure(run_dir, name, ncols=n, size=(2.9 * n + 0.6, 3.2), squeeze=False) as (fig, axes):
        for i, (ax, (panel_title, curves)) in enumerate(zip(axes[0], panels, strict=True)):
            for curve in curves:
                ax.plot(curve, lw=0.7, alpha=0.7)
            steps = max((len(c) for c in curves), default=0)
            mean = [np.mean([c[t] for c in curves if len(c) > t]) for t in range(steps)]
            ax.plot(mean if means is None else means[i], color="k", lw=2, label=mean_label)
            ax.set(title=panel_title, xlabel=xlabel)
        axes[0, 0].set_ylabel(ylabel)
        axes[0, 0].legend(fontsize=7)
        if title:
            fig.suptitle(title, fontsize=10)


def plot_records(
    ax: Any,
    records: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    fmt: str = "o-",
    *,
    yerr: str | None = None,
    **style: Any,
) -> Any:
    """Plot ``record[y]`` against ``record[x]`` for records that are dicts (a table's rows),
    with error bars ``record[yerr]`` when ``yerr`` is given (a missing one drawn as 0).

    Args:
        ax: the axes.
        records: the points, in drawing order (mappings with the keys named below).
        x, y: the keys of the abscissa and the ordinate.
        fmt: a matplotlib format string. Default ``"o-"``.
        yerr: the key of the error bars' half-lengths; default none (a plain line).
        **style: passed to ``ax.plot`` or ``ax.errorbar`` (``color``, ``label``, ``ms``, ...).

    Returns:
        The ``Line2D``, or the ``ErrorbarContainer`` when ``yerr`` is given.
    """
    xs, ys = [r[x] for r in records], [r[y] for r in records]
    if yerr is None:
        return ax.plot(xs, ys, fmt, **style)[0]
    return ax.errorbar(xs, ys, yerr=[r[yerr] or 0.0 for r in records], fmt=fmt, **style)


@contextmanager
def panel_grid(
    run_dir: RunDir,
    name: str,
    n: int,
    *,
    ncols: int,
    panel: tuple[float, float] = _PANEL_SIZE,
) -> Iterator[tuple[Any, list[Any]]]:
    """A figure of ``n`` panels (one per setting) in rows of ``ncols``, saved as
    ``figures/<name>.png`` like :func:`figure`; the places after the ``n``-th stay blank.

    Args:
        run_dir: the run directory.
        name: the figure's name.
        n: panels (>= 1).
        ncols: panels per row (>= 1).
        panel: inches per panel ``(width, height)``. Default ``5.2 x 3.8``.

    Yields:
        ``(fig, axes)``: the figure and its ``n`` axes in reading order.

    Raises:
        ConfigError: if ``n`` or ``ncols`` is below 1.
    """
    if n < 1 or ncols < 1:
        raise ConfigError(f"panel_grid {name!r}: n and ncols must be >= 1; got {n}, {ncols}")
    nrows = -(-n // ncols)
    size = (panel[0] * ncols, panel[1] * nrows)
    with figure(run_dir, name, nrows=nrows, ncols=ncols, size=size, squeeze=False) as (fig, axes):
        for ax in axes.flat[n:]:
            ax.axis("off")
        yield fig, list(axes.flat[:n])


def plot_series(
    ax: Any,
    x: Sequence[float] | np.ndarray | None,
    series: Mapping[str, Sequence[float] | np.ndarray],
    *,
    styles: str | Sequence[str] = "o-",
    colors: Sequence[Any] | None = None,
    **plot_kw: Any,
) -> None:
    """Plot several labelled series against one x axis, one legend entry per series.

    Args:
        ax: the axes.
        x: ``(n,)`` the shared x values, or None: each series against its index.
        series: ``{label: (n,) values}``, drawn in order (matplotlib's colour cycle unless
            ``colors`` is given).
        styles: one format string for all series, or one per series. Default ``"o-"``.
        colors: one colour per series. Default the colour cycle.
        **plot_kw: passed to every ``ax.plot`` (``ms``, ``lw``, ...).
    """
    n = len(series)
    fmts = [styles] * n if isinstance(styles, str) else list(styles)
    if len(fmts) != n or (colors is not None and len(colors) != n):
        raise ConfigError(f"plot_series: {n} series need {n} styles and colours")
    for i, (label, values) in enumerate(series.items()):
        kw = plot_kw if colors is None else {**plot_kw, "color": colors[i]}
        if x is None:
            ax.plot(values, fmts[i], label=label, **kw)
        else:
            ax.plot(x, values, fmts[i], label=label, **kw)
