"""Result tables: a small dataclass that writes CSV (exact) and Markdown (formatted).

CSV keeps full precision (floats written with ``repr``) so that ``Table.from_csv`` gives back the
numbers that were saved; Markdown and HTML show them formatted, with **one number format per
column** (chosen from the column's values unless the table fixes it, see
:meth:`Table.column_formats`). A missing value is ``None``: an empty CSV field, and "—" in
Markdown and HTML; NaN is shown as "—" too, never as ``nan``.

Two table shapes recur in every report:

* ``comparison_table``: the paper's value against ours (columns ``quantity, paper, ours, ±,
  gap``), ``gap = ours - paper`` where the paper gives a number, ``±`` a spread over seeds or
  chains (a spread below rounding is written as 0, not as ``2.8e-17``);
* ``check_table``: a bound, an inequality or an exact prediction as a check (columns
  ``quantity, claim, ours, margin, holds``), built from :class:`Check` rows made by
  :func:`at_most`, :func:`at_least`, :func:`within` or :func:`equals`; ``margin >= 0`` exactly
  when the check holds, so its sign reads the same in every row.

Any other table with one row per record (a grid point, a configuration) is most simply built
by ``records_table``, which names each column once, beside what fills it.

A table marked ``headline=True`` (the paper's table or figure claim) is shown first in a report.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hopfield_lab.errors import ArtifactError, ConfigError
from hopfield_lab.runs.io import check_safe_name, read_json, read_text

__all__ = [
    "CHECK_COLUMNS",
    "COMPARISON_COLUMNS",
    "MISSING",
    "Check",
    "Table",
    "at_least",
    "at_most",
    "check_table",
    "comparison_table",
    "decreasing_checks",
    "descent_checks",
    "equals",
    "format_cell",
    "mean_std",
    "records_table",
    "tidy_spread",
    "within",
]

#: Columns of a ``comparison_table``.
COMPARISON_COLUMNS: tuple[str, ...] = ("quantity", "paper", "ours", "±", "gap")

#: Columns of a ``check_table``.
CHECK_COLUMNS: tuple[str, ...] = ("quantity", "claim", "ours", "margin", "holds")

#: How a missing value (``None`` or NaN) is shown in Markdown and HTML.
MISSING = "—"

_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(
    r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|nan|inf|infinity)", flags=re.IGNORECASE
)

#: A spread (``±``) at most this fraction of the value (or of 1) is rounding, written as 0.
_SPREAD_ROUNDING = 1e-12


def _to_python(value: Any) -> Any:
    """Turn numpy/torch scalars into Python numbers; leave other cells as they are."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ConfigError(f"a table cell must be a scalar; got a tensor of shape {value.shape}")
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_cell(value: Any, fmt: str = "{:.4g}") -> str:
    """Format one table cell for display.

    Args:
        value: the cell; floats use ``fmt``, ``None`` and NaN become "—", infinities "∞" or
            "-∞", booleans "yes"/"no", anything else ``str``.
        fmt: a ``str.format`` pattern for floats. Default ``"{:.4g}"``.

    Returns:
        The display string.
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return MISSING
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return fmt.format(value)
    return str(value)


def auto_format(values: Iterable[Any]) -> str:
    """One ``str.format`` pattern for every float of a column.

    Fixed-point when every non-zero magnitude lies in ``[1e-3, 1e5)``, with enough decimals for
    four significant digits of the largest and three of the smallest (at most 6; fewer when
    every value is written exactly with fewer, as grid values like 0.5 and 1.25 are);
    scientific notation with three significant digits otherwise; ``{:.0f}`` for
    integer-valued floats.

    Args:
        values: the column's cells (non-float cells are ignored).

    Returns:
        The pattern, e.g. ``"{:.3f}"`` or ``"{:.2e}"``.
    """
    floats = [abs(v) for v in values if isinstance(v, float) and math.isfinite(v)]
    nonzero = [v for v in floats if v > 0]
    if not nonzero:
        return "{:.0f}" if floats else "{:.4g}"
    if all(v.is_integer() for v in floats) and max(nonzero) < 1e15:
        return "{:.0f}"
    lo, hi = min(nonzero), max(nonzero)
    if lo < 1e-3 or hi >= 1e5:
        return "{:.2e}"
    decimals = min(6, max(0, math.ceil(-math.log10(hi)) + 3, math.ceil(-math.log10(lo)) + 2))
    exact = max(_exact_decimals(v) for v in floats)  # grid values: 0.5, 1.25 as written
    return f"{{:.{min(decimals, exact)}f}}"


def _exact_decimals(v: float, most: int = 6) -> int:
    """Fewest decimals (up to ``most + 1``) that write ``v`` exactly, to rounding."""
    for k in range(most + 1):
        if abs(round(v, k) - v) <= 1e-12 * max(1.0, abs(v)):
            return k
    return most + 1


def _parse_csv_field(text: str) -> Any:
    if text == "":
        return None
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    return text


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest string that round-trips exactly; 'nan' and 'inf' included
    return str(value)


def _meta_path(csv_path: Path) -> Path:
    return csv_path.with_name(f"{csv_path.stem}.meta.json")


def _check_fmt(fmt: str, what: str) -> None:
    try:
        fmt.format(1.5)
    except (ValueError, IndexError, KeyError, AttributeError) as err:
        raise ConfigError(
            f"{what} must be a str.format pattern for one float, like '{{:.4g}}'; got {fmt!r}"
        ) from err


@dataclass
class Table:
    """A named table of results.

    Attributes:
        name: file-safe name, used for ``tables/<name>.csv`` and ``.md``.
        columns: column headers.
        rows: the rows, each a list with one cell per column (numbers, strings, booleans or
            ``None``; numpy and torch scalars are converted to Python numbers).
        caption: a sentence saying what the table shows (and where the paper's values come from).
        fmt: one ``str.format`` pattern for every float of the table, or None (default) for one
            pattern per column chosen by :func:`auto_format`.
        formats: ``{column: pattern}`` overriding the pattern of single columns.
        headline: the table a reader should see first (the paper's claim). Default False.
    """

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    caption: str = ""
    fmt: str | None = None
    formats: dict[str, str] = field(default_factory=dict)
    headline: bool = False

    def __post_init__(self) -> None:
        check_safe_name("table name", self.name)
        if isinstance(self.columns, str) or not all(isinstance(c, str) for c in self.columns):
            raise ConfigError(f"columns must be a list of strings; got {self.columns!r}")
        self.columns = list(self.columns)
        if not self.columns:
            raise ConfigError(f"columns must not be empty (table {self.name!r})")
        if not isinstance(self.caption, str):
            raise ConfigError(f"caption must be a string; got {self.caption!r}")
        if self.fmt is not None:
            _check_fmt(self.fmt, "fmt")
        for column, pattern in self.formats.items():
            if column not in self.columns:
                raise ConfigError(
                    f"formats names column {column!r}, which table {self.name!r} lacks; "
                    f"columns: {self.columns}"
                )
            _check_fmt(pattern, f"formats[{column!r}]")
        self.rows = [[_to_python(v) for v in row] for row in self.rows]
        self._check_rows()

    def _check_rows(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ConfigError(
                    f"row {i} of table {self.name!r} has {len(row)} cells; "
                    f"expected {len(self.columns)} (columns {self.columns})"
                )

    def add_row(self, *cells: Any) -> None:
        """Append one row.

        Args:
            *cells: one value per column.

        Raises:
            ConfigError: if the number of cells differs from the number of columns.
        """
        if len(cells) != len(self.columns):
            raise ConfigError(
                f"add_row got {len(cells)} cells; expected {len(self.columns)} "
                f"(columns {self.columns})"
            )
        self.rows.append([_to_python(v) for v in cells])

    def column_formats(self) -> list[str]:
        """The display pattern of each column: ``formats``, else ``fmt``, else automatic."""
        out = []
        for j, column in enumerate(self.columns):
            if column in self.formats:
                out.append(self.formats[column])
            elif self.fmt is not None:
                out.append(self.fmt)
            else:
                out.append(auto_format(_to_python(row[j]) for row in self.rows))
        return out

    def formatted_rows(self) -> list[list[str]]:
        """Every cell as display text, one number format per column."""
        self._check_rows()
        formats = self.column_formats()
        return [
            [format_cell(_to_python(v), f) for v, f in zip(row, formats, strict=True)]
            for row in self.rows
        ]

    def to_csv(self) -> str:
        """Return the table as CSV text (header row first, floats at full precision)."""
        self._check_rows()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_csv_field(_to_python(v)) for v in row])
        return buffer.getvalue()

    def to_markdown(self) -> str:
        """Return the table as a Markdown pipe table, caption first when there is one."""

        def line(cells: Iterable[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

        lines = []
        if self.caption:
            lines += [self.caption, ""]
        lines.append(line(self.columns))
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += [line(row) for row in self.formatted_rows()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str]) -> Table:
        """Read a table written by ``to_csv`` (the name is the file's stem).

        Integers and floats come back as numbers, empty fields as ``None``, anything else as a
        string. Caption, formats and the headline flag are read from ``<stem>.meta.json`` next
        to the CSV when it exists (``RunDir.save_table`` writes it).

        Args:
            path: the CSV file.

        Returns:
            The table.

        Raises:
            FileNotFoundError: if ``path`` does not exist.
            ArtifactError: (a ``DataError``) if the file or its ``.meta.json`` is unreadable or
                not UTF-8, the CSV is empty or malformed, a row has the wrong number of fields,
                or the meta file is not a JSON object; the message names the file.
        """
        source = Path(path)
        try:
            records = list(csv.reader(io.StringIO(read_text(source), newline="")))
        except csv.Error as err:
            raise ArtifactError(f"{source} is not a valid CSV file: {err}", path=source) from err
        if not records:
            raise ArtifactError(f"{source} is empty; expected a header row", path=source)
        columns, body = records[0], records[1:]
        for i, row in enumerate(body, start=2):
            if len(row) != len(columns):
                raise ArtifactError(
                    f"{source}, line {i}, has {len(row)} fields; expected {len(columns)}",
                    path=source,
                )
        meta: dict[str, Any] = {}
        if _meta_path(source).exists():
            meta = read_json(_meta_path(source), expect=dict)
        fmt = meta.get("fmt")
        formats = meta.get("formats") or {}
        return cls(
            name=source.stem,
            columns=columns,
            rows=[[_parse_csv_field(v) for v in row] for row in body],
            caption=str(meta.get("caption", "")),
            fmt=str(fmt) if fmt is not None else None,
            formats={str(k): str(v) for k, v in formats.items() if k in columns},
            headline=bool(meta.get("headline", False)),
        )

    def meta(self) -> dict[str, Any]:
        """Return what CSV cannot hold (name, caption, formats, headline) for ``.meta.json``."""
        return {
            "name": self.name,
            "caption": self.caption,
            "fmt": self.fmt,
            "formats": dict(self.formats),
            "headline": self.headline,
        }


def records_table(
    name: str,
    records: Iterable[Any],
    columns: Mapping[str, Any],
    caption: str = "",
    **table_kw: Any,
) -> Table:
    """A table with one row per record (a dict such as a grid cell, or any object read by
    functions) and one column per entry of ``columns``, each named once beside what fills it.

    Args:
        name: the table's file-safe name.
        records: the rows' sources, in order.
        columns: ``{header: key}`` (the cell is ``record[key]`` of a mapping; missing,
            shown as a dash, when a record lacks the key: cells of older runs) or
            ``{header: f}`` (the cell is ``f(record)``, for records of any type), in column
            order.
        caption: what the table shows.
        **table_kw: passed to :class:`Table` (``fmt``, ``formats``, ``headline``).

    Returns:
        The ``Table``.
    """
    rows = [[f(r) if callable(f) else r.get(f) for f in columns.values()] for r in records]
    return Table(name, list(columns), rows, caption=caption, **table_kw)


def mean_std(values: Iterable[float] | np.ndarray | torch.Tensor) -> tuple[float, float | None]:
    """Return the mean and the sample standard deviation (``ddof=1``) of ``values``.

    Args:
        values: one or more numbers (a sequence, numpy array or tensor; flattened).

    Returns:
        ``(mean, std)`` as floats; ``std`` is ``None`` when there is a single value.

    Raises:
        ConfigError: if ``values`` is empty.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    data = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    data = data.ravel()
    if data.size == 0:
        raise ConfigError("mean_std needs at least one value; got an empty sequence")
    mean = float(data.mean())
    std = float(data.std(ddof=1)) if data.size >= 2 else None
    return mean, std


def tidy_spread(value: float | None, std: float | None) -> float | None:
    """A spread (``±``, a standard deviation) as a report shows it: one below the rounding of
    ``value`` (``<= 1e-12 max(1, |value|)``: identical samples) is exactly 0, not ``1e-17``.

    Args:
        value: the value the spread belongs to (None if unknown).
        std: the spread, or None.

    Returns:
        ``std``, or 0.0 when it is rounding.
    """
    if std is None or not math.isfinite(std):
        return std
    scale = max(1.0, abs(value)) if value is not None and math.isfinite(value) else 1.0
    return 0.0 if abs(std) <= _SPREAD_ROUNDING * scale else float(std)


def comparison_table(
    name: str,
    rows: Sequence[tuple[str, float | str | None, float | None, float | None]],
    caption: str = "",
    *,
    fmt: str | None = None,
    headline: bool = False,
    formats: dict[str, str] | None = None,
) -> Table:
    """Build a paper-versus-ours table with a gap column.

    Args:
        name: the table's file-safe name.
        rows: ``(quantity, paper, ours, ours_std)`` per row. ``paper`` is a number, a string
            shown as it is (e.g. ``"32%"`` or ``"~0.1"``) or ``None``; ``ours`` is our value
            (``None`` if missing); ``ours_std`` its spread over seeds or chains, or ``None``
            (a spread below rounding, ``<= 1e-12 max(1, |ours|)``, is written as 0).
        caption: what the table shows and which table/figure of the paper it reproduces.
        fmt: one float pattern for the whole table; default one automatic pattern per column.
        headline: show this table first in the report. Default False.
        formats: ``{column: pattern}`` for single columns (e.g. more digits for ``paper`` and
            ``ours`` when they agree to many). Default none.

    Returns:
        A ``Table`` with columns ``quantity, paper, ours, ±, gap``; ``gap = ours - paper`` when
        both are numbers, else ``None``.

    Raises:
        ConfigError: if a row does not have 4 entries, ``quantity`` is not a string, ``paper``
            is neither a number, a string nor ``None``, or ``ours``/``ours_std`` is not a number
            or ``None``.
    """
    out: list[list[Any]] = []
    for i, row in enumerate(rows):
        if len(row) != 4:
            raise ConfigError(
                f"comparison row {i} must be (quantity, paper, ours, ours_std); got {row!r}"
            )
        quantity, paper, ours, ours_std = (_to_python(v) for v in row)
        if not isinstance(quantity, str):
            raise ConfigError(f"quantity in comparison row {i} must be a string; got {quantity!r}")
        if paper is not None and not (_is_number(paper) or isinstance(paper, str)):
            raise ConfigError(
                f"paper in comparison row {i} must be a number, a string or None; got {paper!r}"
            )
        for label, value in (("ours", ours), ("ours_std", ours_std)):
            if value is not None and not _is_number(value):
                raise ConfigError(
                    f"{label} in comparison row {i} must be a number or None; got {value!r}"
                )
        gap = None
        if _is_number(paper) and ours is not None:
            gap = float(ours) - float(paper)
        spread = tidy_spread(None if ours is None else float(ours), ours_std)
        out.append([quantity, paper, ours, spread, gap])
    return Table(
        name=name,
        columns=list(COMPARISON_COLUMNS),
        rows=out,
        caption=caption,
        fmt=fmt,
        formats=dict(formats or {}),
        headline=headline,
    )


# ------------------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Check:
    """One claim checked against our value: a bound, an inequality or an exact prediction.

    Attributes:
        quantity: what is measured, e.g. ``"energy rises in 10^6 single-spin updates"``.
        claim: the claim as a reader writes it, e.g. ``"= 0"``, ``"<= 0.138"``,
            ``"0.691 ± 0.012"``.
        ours: our value (``None`` when it could not be measured).
        margin: how far inside the claim our value is, in the units of ``ours``: ``>= 0``
            exactly when the claim holds, negative by how much it fails; ``None`` when there is
            no value.
    """

    quantity: str
    claim: str
    ours: float | int | None
    margin: float | None

    @property
    def holds(self) -> bool | None:
        """True / False, or None when there is no value to check."""
        return None if self.margin is None else self.margin >= 0


def _num(x: float) -> str:
    return f"{x:.4g}"


def _value(ours: Any, label: str) -> float | None:
    ours = _to_python(ours)
    if ours is None:
        return None
    if not _is_number(ours):
        raise ConfigError(f"{label}: ours must be a number or None; got {ours!r}")
    return None if math.isnan(float(ours)) else float(ours)


def at_most(quantity: str, ours: Any, bound: float, *, claim: str | None = None) -> Check:
    """The claim ``ours <= bound``; margin ``bound - ours``.

    Args:
        quantity: what is measured.
        ours: our value (a number or None).
        bound: the upper bound.
        claim: the claim's text; default ``"<= bound"``.

    Returns:
        The :class:`Check`.
    """
    value = _value(ours, quantity)
    margin = None if value is None else float(bound) - value
    return Check(quantity, claim or f"<= {_num(bound)}", _to_python(ours), margin)


def at_least(quantity: str, ours: Any, bound: float, *, claim: str | None = None) -> Check:
    """The claim ``ours >= bound``; margin ``ours - bound`` (see :func:`at_most`)."""
    value = _value(ours, quantity)
    margin = None if value is None else value - float(bound)
    return Check(quantity, claim or f">= {_num(bound)}", _to_python(ours), margin)


def within(
    quantity: str, ours: Any, target: float, tol: float, *, claim: str | None = None
) -> Check:
    """The claim ``|ours - target| <= tol``; margin ``tol - |ours - target|``.

    Args:
        quantity: what is measured.
        ours: our value (a number or None).
        target: the predicted value.
        tol: the allowed deviation (>= 0), e.g. three standard errors.
        claim: the claim's text; default ``"target ± tol"``.

    Returns:
        The :class:`Check`.
    """
    if not tol >= 0:
        raise ConfigError(f"{quantity}: tol must be >= 0; got {tol!r}")
    value = _value(ours, quantity)
    margin = None if value is None else float(tol) - abs(value - float(target))
    return Check(quantity, claim or f"{_num(target)} ± {_num(tol)}", _to_python(ours), margin)


def equals(quantity: str, ours: Any, target: float = 0, *, claim: str | None = None) -> Check:
    """The exact claim ``ours == target`` (e.g. "0 energy rises"); margin ``-|ours - target|``."""
    return within(quantity, ours, target, 0.0, claim=claim or f"= {_num(target)}")


def descent_checks(
    what: str, rises: int, trajectories: int, largest: float | None, theorem: str
) -> list[Check]:
    """The two rows of a descent theorem (``E`` never rises) checked by
    :func:`~hopfield_lab.analysis.energy_rises`: the number of trajectories with a rise beyond
    rounding (``= 0``) and the largest energy step in units of the rounding slack (``<= 1``,
    :func:`~hopfield_lab.analysis.rise_over_slack`), which says how near to a rise the
    trajectories came or by how much one rose.

    Args:
        what: the trajectories, e.g. ``"Picard trajectories"``.
        rises: trajectories with a rise. trajectories: trajectories checked.
        largest: the largest step over the slack (None if not measured).
        theorem: e.g. ``"Prop. 3.2"``.

    Returns:
        Two :class:`Check` rows.
    """
    return [
        equals(f"{what} with an energy rise, of {trajectories:,} ({theorem})", rises),
        at_most(f"largest energy step / rounding slack ({theorem})", largest, 1),
    ]


def check_table(
    name: str, checks: Sequence[Check], caption: str = "", *, headline: bool = False
) -> Table:
    """Build a table of checks: ``quantity, claim, ours, margin, holds``.

    Args:
        name: the table's file-safe name.
        checks: the rows, from :func:`at_most`, :func:`at_least`, :func:`within`,
            :func:`equals` (or :class:`Check` directly).
        caption: what is claimed and where (theorem, lemma, the paper's table).
        headline: show this table first in the report. Default False.

    Returns:
        A ``Table``; ``holds`` is ``"holds"``, ``"fails"`` or ``None`` (no value).

    Raises:
        ConfigError: if a row is not a :class:`Check`.
    """
    rows = []
    for i, c in enumerate(checks):
        if not isinstance(c, Check):
            raise ConfigError(f"check row {i} must be a Check; got {type(c).__name__}")
        verdict = None if c.holds is None else ("holds" if c.holds else "fails")
        rows.append([c.quantity, c.claim, c.ours, c.margin, verdict])
    return Table(name, list(CHECK_COLUMNS), rows, caption=caption, headline=headline)


def decreasing_checks(quantity: str, values: Mapping[str, float]) -> list[Check]:
    """The claim that each value is below the one before it (e.g. iterations of methods listed
    from slowest to fastest): one :func:`at_most` row per value after the first, bounded by its
    predecessor, the claim written ``"< NAME (value)"``.

    Args:
        quantity: the rows' quantity with a ``{name}`` field, e.g. ``"3L {name}: iterations"``.
        values: ``{name: value}`` in the claimed order (at least two entries for a row).

    Returns:
        ``len(values) - 1`` :class:`Check` rows.
    """
    return [
        at_most(quantity.format(name=b), values[b], values[a], claim=f"< {a} ({values[a]:.2f})")
        for a, b in itertools.pairwise(values)
    ]
