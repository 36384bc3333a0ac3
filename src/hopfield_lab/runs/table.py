"""Result tables: a small dataclass that writes CSV (exact) and Markdown (formatted).

CSV keeps full precision (floats written with ``repr``) so that ``Table.from_csv`` gives back the
numbers that were saved; Markdown and HTML show them with the table's ``fmt``. A missing value is
``None``: an empty CSV field, and "—" in Markdown.

``comparison_table`` builds the paper-versus-ours table that every experiment report shows:
columns ``quantity, paper, ours, ±, gap``, with ``gap = ours - paper`` where the paper gives a
number.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hopfield_lab.errors import ConfigError, DataError
from hopfield_lab.runs.io import check_safe_name, read_json

__all__ = [
    "COMPARISON_COLUMNS",
    "MISSING",
    "Table",
    "comparison_table",
    "format_cell",
    "mean_std",
]

#: Columns of a ``comparison_table``.
COMPARISON_COLUMNS: tuple[str, ...] = ("quantity", "paper", "ours", "±", "gap")

#: How a missing value (``None``) is shown in Markdown and HTML.
MISSING = "—"

_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(
    r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|nan|inf|infinity)", flags=re.IGNORECASE
)


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
        value: the cell; floats use ``fmt``, ``None`` becomes "—", anything else ``str``.
        fmt: a ``str.format`` pattern for floats. Default ``"{:.4g}"``.

    Returns:
        The display string.
    """
    if value is None:
        return MISSING
    if isinstance(value, float):
        return fmt.format(value)
    return str(value)


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


@dataclass
class Table:
    """A named table of results.

    Attributes:
        name: file-safe name, used for ``tables/<name>.csv`` and ``.md``.
        columns: column headers.
        rows: the rows, each a list with one cell per column (numbers, strings or ``None``;
            numpy and torch scalars are converted to Python numbers).
        caption: a sentence saying what the table shows (and where the paper's values come from).
        fmt: ``str.format`` pattern for floats in Markdown and HTML. Default ``"{:.4g}"``.
    """

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    caption: str = ""
    fmt: str = "{:.4g}"

    def __post_init__(self) -> None:
        check_safe_name("table name", self.name)
        if isinstance(self.columns, str) or not all(isinstance(c, str) for c in self.columns):
            raise ConfigError(f"columns must be a list of strings; got {self.columns!r}")
        self.columns = list(self.columns)
        if not self.columns:
            raise ConfigError(f"columns must not be empty (table {self.name!r})")
        if not isinstance(self.caption, str):
            raise ConfigError(f"caption must be a string; got {self.caption!r}")
        try:
            self.fmt.format(1.5)
        except (ValueError, IndexError, KeyError, AttributeError) as err:
            raise ConfigError(
                f"fmt must be a str.format pattern for one float, like '{{:.4g}}'; got {self.fmt!r}"
            ) from err
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
        self._check_rows()

        def line(cells: Iterable[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

        lines = []
        if self.caption:
            lines += [self.caption, ""]
        lines.append(line(self.columns))
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += [line(format_cell(_to_python(v), self.fmt) for v in row) for row in self.rows]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str]) -> Table:
        """Read a table written by ``to_csv`` (the name is the file's stem).

        Integers and floats come back as numbers, empty fields as ``None``, anything else as a
        string. Caption and ``fmt`` are read from ``<stem>.meta.json`` next to the CSV when it
        exists (``RunDir.save_table`` writes it).

        Args:
            path: the CSV file.

        Returns:
            The table.

        Raises:
            FileNotFoundError: if ``path`` does not exist.
            DataError: if the file is empty or a row has the wrong number of fields.
        """
        source = Path(path)
        with source.open(newline="", encoding="utf-8") as f:
            records = list(csv.reader(f))
        if not records:
            raise DataError(f"{source} is empty; expected a header row")
        columns, body = records[0], records[1:]
        for i, row in enumerate(body, start=2):
            if len(row) != len(columns):
                raise DataError(
                    f"{source}, line {i}, has {len(row)} fields; expected {len(columns)}"
                )
        meta: dict[str, Any] = {}
        if _meta_path(source).exists():
            meta = read_json(_meta_path(source))
        return cls(
            name=source.stem,
            columns=columns,
            rows=[[_parse_csv_field(v) for v in row] for row in body],
            caption=str(meta.get("caption", "")),
            fmt=str(meta.get("fmt", "{:.4g}")),
        )

    def meta(self) -> dict[str, str]:
        """Return what CSV cannot hold (name, caption, fmt), for ``<name>.meta.json``."""
        return {"name": self.name, "caption": self.caption, "fmt": self.fmt}


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


def comparison_table(
    name: str,
    rows: Sequence[tuple[str, float | str | None, float | None, float | None]],
    caption: str = "",
    *,
    fmt: str = "{:.4g}",
) -> Table:
    """Build a paper-versus-ours table with a gap column.

    Args:
        name: the table's file-safe name.
        rows: ``(quantity, paper, ours, ours_std)`` per row. ``paper`` is a number, a string
            shown as it is (e.g. ``"32%"`` or ``"~0.1"``) or ``None``; ``ours`` is our value
            (``None`` if missing); ``ours_std`` its spread over seeds or ``None``.
        caption: what the table shows and which table/figure of the paper it reproduces.
        fmt: ``str.format`` pattern for floats in Markdown and HTML. Default ``"{:.4g}"``.

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
            gap = float(ours) - float(paper)  # nan when ours is nan: a failure stays visible
        out.append([quantity, paper, ours, ours_std, gap])
    return Table(name=name, columns=list(COMPARISON_COLUMNS), rows=out, caption=caption, fmt=fmt)
