"""The run directory: where one run of one experiment keeps all its artifacts.

Layout of ``<root>/<experiment>/<name>/``::

    config.json        the fully resolved config (written once, checked on every re-run)
    metrics.jsonl      one JSON record per line (training epochs), when the run trains
    results.json       final numbers plus "status" ("complete" once the run finished)
    tables/            <name>.csv (exact), <name>.md (formatted), <name>.meta.json (caption)
    figures/           <name>.png
    checkpoints/       last.pt of a training run (created by the first checkpoint)
    cells/             one JSON file per finished cell of a grid (seeds x settings)
    lock               while a process works on the run: its pid and host (``runs.lock``)
    about.json         what the report shows above the numbers: title, paper, profile note,
                       the order of tables and figures (written by each report)
    report.html        rebuilt from the above by ``hopfield_lab.runs.report``

Re-running with the same config resumes: finished cells are skipped and training restarts from
its checkpoint. Re-running with a different config under the same name is refused, so that one
directory never mixes results of two configs.

Nothing read back is believed blindly: a ``config.json`` or ``results.json`` that is not the
JSON object hopfield-lab wrote raises :class:`~hopfield_lab.errors.ArtifactError` naming it
(``is_complete`` instead warns and treats the run as unfinished); a cell file that is corrupt or
holds another key is moved aside to ``<file>.corrupt`` by ``cell_done``, with a warning, so the
grid recomputes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hopfield_lab.errors import ArtifactError, ConfigError, DataError, warn_artifact
from hopfield_lab.runs.io import (
    append_jsonl,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_safe_name,
    read_json,
    read_jsonl,
    to_jsonable,
)
from hopfield_lab.runs.lock import LOCK_NAME
from hopfield_lab.runs.table import Table

__all__ = ["RunDir", "cell_filename"]

_SAFE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_UNSAFE_RE = re.compile(r"[^a-z0-9._-]+")
_MAX_SLUG = 64


def cell_filename(key: str) -> str:
    """Return the file name (without ``.json``) under which a grid cell is stored.

    A key that is already a short, lower-case, file-safe string is used as it is; any other key
    is slugified (lower case, runs of other characters replaced by ``-``, cut to 64 characters)
    and suffixed with the first 10 hex digits of its SHA-1, so that distinct keys never share a
    file, even on case-insensitive file systems.

    Args:
        key: the cell key, e.g. ``"beta=2.0,seed=3"``.

    Returns:
        The file stem.

    Raises:
        ConfigError: if ``key`` is not a non-empty string.
    """
    if not isinstance(key, str) or not key:
        raise ConfigError(f"cell key must be a non-empty string; got {key!r}")
    slug = _UNSAFE_RE.sub("-", key.lower()).strip("-.")[:_MAX_SLUG].rstrip("-.")
    if slug == key and _SAFE_RE.fullmatch(slug):
        return slug
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    return f"{slug}-{digest}" if slug else digest


def _diff_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(old) + [k for k in new if k not in old]
        out: list[str] = []
        for k in keys:
            path = f"{prefix}.{k}" if prefix else str(k)
            if k not in old or k not in new:
                out.append(path)
            else:
                out += _diff_keys(old[k], new[k], path)
        return out
    return [] if old == new else [prefix or "<root>"]


class RunDir:
    """A run directory ``<root>/<experiment>/<name>/`` and its artifacts.

    Use ``RunDir.create`` to start or resume a run with a config; ``RunDir(path)`` opens an
    existing directory (or names one that ``fit`` or a writer will create).

    Args:
        path: the run directory.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._saved_tables: list[str] = []
        self._saved_figures: list[str] = []

    def __repr__(self) -> str:
        return f"RunDir({str(self._path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other._path == self._path

    def __hash__(self) -> int:
        return hash(self._path)

    # ----------------------------------------------------------------------------- creation
    @classmethod
    def create(
        cls,
        root: str | os.PathLike[str],
        experiment: str,
        name: str,
        config: dict[str, Any],
        *,
        force: bool = False,
    ) -> RunDir:
        """Create (or reopen) ``<root>/<experiment>/<name>/`` for ``config``.

        If the directory already holds the same config, it is reopened as it is: finished work
        is kept and will be skipped. If it holds a different config, nothing is touched and
        ``ConfigError`` is raised, unless ``force`` is set, which deletes the directory's
        content first (all but the lock file of the process holding it, see ``runs.lock``).

        Args:
            root: the runs root (e.g. ``runs/``).
            experiment: the experiment's name (a directory name).
            name: the run's name (a directory name).
            config: the fully resolved config, JSON-serializable.
            force: wipe the directory and start over. Default False.

        Returns:
            The run directory, with its sub-directories created and ``config.json`` written.

        Raises:
            ConfigError: if ``experiment`` or ``name`` is not a safe directory name, ``config``
                is not a dict, or the directory holds a different config and ``force`` is False.
            ArtifactError: if its ``config.json`` is unreadable or not a JSON object (and
                ``force`` is False).
        """
        check_safe_name("experiment", experiment)
        check_safe_name("name", name)
        if not isinstance(config, dict):
            raise ConfigError(f"config must be a dict; got {type(config).__name__}")
        run = cls(Path(root) / experiment / name)
        wanted = to_jsonable(config)  # as it reads back: tuples become lists, ...
        if force and run.path.exists():
            _clear(run.path)
        elif run.config_path.exists():
            try:
                existing = read_json(run.config_path, expect=dict)
            except ArtifactError as err:
                raise ArtifactError(
                    f"{err}; cannot tell which config this run directory holds: pass --force "
                    "to delete it and start over, or a different --name",
                    path=err.path,
                ) from err
            if existing != wanted:
                changed = ", ".join(_diff_keys(existing, wanted)[:8])
                raise ConfigError(
                    f"run directory {run.path} already holds a different config "
                    f"(differs in: {changed}); pass a different --name to keep both runs, "
                    f"or --force to delete the old one and start over"
                )
        for directory in (run.path, run.tables_dir, run.figures_dir, run.cells_dir):
            directory.mkdir(parents=True, exist_ok=True)  # checkpoints/ when one is saved
        atomic_write_json(run.config_path, wanted)
        return run

    # ---------------------------------------------------------------------------------- paths
    @property
    def path(self) -> Path:
        """The run directory."""
        return self._path

    @property
    def experiment(self) -> str:
        """The experiment's name (the parent directory's name)."""
        return self._path.parent.name

    @property
    def name(self) -> str:
        """The run's name (the directory's name)."""
        return self._path.name

    @property
    def config_path(self) -> Path:
        """``config.json``: the resolved config."""
        return self._path / "config.json"

    @property
    def metrics_path(self) -> Path:
        """``metrics.jsonl``: one record per line."""
        return self._path / "metrics.jsonl"

    @property
    def results_path(self) -> Path:
        """``results.json``: final numbers and status."""
        return self._path / "results.json"

    @property
    def tables_dir(self) -> Path:
        """``tables/``: CSV, Markdown and caption of each table."""
        return self._path / "tables"

    @property
    def figures_dir(self) -> Path:
        """``figures/``: PNG figures."""
        return self._path / "figures"

    @property
    def checkpoints_dir(self) -> Path:
        """``checkpoints/``: training checkpoints."""
        return self._path / "checkpoints"

    @property
    def cells_dir(self) -> Path:
        """``cells/``: one JSON file per finished grid cell."""
        return self._path / "cells"

    @property
    def about_path(self) -> Path:
        """``about.json``: title, paper, profile note and artifact order for the report."""
        return self._path / "about.json"

    @property
    def saved_tables(self) -> list[str]:
        """Names of the tables saved through this object, in order."""
        return list(self._saved_tables)

    @property
    def saved_figures(self) -> list[str]:
        """Names of the figures saved through this object, in order."""
        return list(self._saved_figures)

    @property
    def report_path(self) -> Path:
        """``report.html``: the self-contained report."""
        return self._path / "report.html"

    # -------------------------------------------------------------------------------- config
    def read_config(self) -> dict[str, Any]:
        """Return the resolved config from ``config.json``.

        Raises:
            DataError: if there is no ``config.json``.
            ArtifactError: if it is unreadable or not a JSON object.
        """
        if not self.config_path.exists():
            raise DataError(f"no config.json in {self.path}; create the run with RunDir.create")
        return read_json(self.config_path, expect=dict)

    # ------------------------------------------------------------------------------- results
    def is_complete(self) -> bool:
        """Return True if ``results.json`` exists and says ``"status": "complete"``.

        A ``results.json`` that cannot be read is not believed: a warning names it and the run
        counts as unfinished (re-running keeps the finished cells and checkpoints and rewrites
        it).
        """
        if not self.results_path.exists():
            return False
        try:
            results = read_json(self.results_path, expect=dict)
        except ArtifactError as err:
            warn_artifact(f"{err}; the run is treated as unfinished and its results rewritten")
            return False
        return results.get("status") == "complete"

    def write_results(self, results: dict[str, Any], status: str = "complete") -> Path:
        """Write ``results.json`` atomically, with ``status`` and a UTC timestamp first.

        Args:
            results: the run's final numbers (JSON-serializable; numpy/torch values allowed).
                A ``"timestamp"`` given here is kept; ``"status"`` is replaced by ``status``.
            status: ``"complete"`` once the run finished; anything else (e.g. ``"partial"``,
                ``"failed"``) marks it unfinished. Default ``"complete"``.

        Returns:
            The path of ``results.json``.

        Raises:
            ConfigError: if ``results`` is not a dict or ``status`` not a non-empty string.
        """
        if not isinstance(results, dict):
            raise ConfigError(f"results must be a dict; got {type(results).__name__}")
        if not isinstance(status, str) or not status:
            raise ConfigError(f"status must be a non-empty string; got {status!r}")
        timestamp = results.get("timestamp") or datetime.now(timezone.utc).isoformat(
            timespec="seconds"
        )
        record = {"status": status, "timestamp": timestamp}
        record.update({k: v for k, v in results.items() if k not in record})
        return atomic_write_json(self.results_path, record)

    def read_results(self) -> dict[str, Any]:
        """Return the content of ``results.json``.

        Raises:
            DataError: if there is no ``results.json`` (the run has not finished).
            ArtifactError: if it is unreadable or not a JSON object.
        """
        if not self.results_path.exists():
            raise DataError(f"no results.json in {self.path}; the run has not finished yet")
        return read_json(self.results_path, expect=dict)

    # ----------------------------------------------------------------------------- grid cells
    def _cell_path(self, key: str) -> Path:
        return self.cells_dir / f"{cell_filename(key)}.json"

    def _read_cell(self, path: Path, key: str | None) -> tuple[str, dict[str, Any]]:
        """``(key, result)`` stored in ``path``; ArtifactError if it is not a cell of ``key``."""
        stored = read_json(path, expect=dict)
        if set(stored) != {"key", "result"} or not isinstance(stored["result"], dict):
            raise ArtifactError(
                f"{path} is not a cell file (expected a JSON object with 'key' and a 'result' "
                f"object; got keys {sorted(stored)[:6]})",
                path=path,
            )
        if key is not None and stored["key"] != key:
            raise ArtifactError(
                f"{path} holds cell {stored['key']!r}, not {key!r}: a file of another grid",
                path=path,
            )
        return str(stored["key"]), stored["result"]

    def cell_done(self, key: str) -> bool:
        """Return True if the cell ``key`` has a saved result that reads back.

        A cell file that is corrupt (not UTF-8, not JSON, truncated) or foreign (another key,
        not a cell) is not believed: it is moved aside to ``<file>.corrupt`` with a warning
        naming it, and False is returned, so the grid recomputes the cell.
        """
        path = self._cell_path(key)
        if not path.exists():
            return False
        try:
            self._read_cell(path, key)
        except ArtifactError as err:
            aside = path.with_name(path.name + ".corrupt")
            with contextlib.suppress(OSError):
                os.replace(path, aside)
            warn_artifact(f"{err}; moved aside to {aside.name}, the cell is recomputed")
            return False
        return True

    def save_cell(self, key: str, result: dict[str, Any]) -> Path:
        """Save the result of cell ``key`` atomically (``cells/<safe key>.json``).

        Args:
            key: the cell key.
            result: the cell's result, JSON-serializable.

        Returns:
            The path of the cell file.

        Raises:
            ConfigError: if ``key`` is not a non-empty string or ``result`` is not a dict.
        """
        if not isinstance(result, dict):
            raise ConfigError(
                f"the result of cell {key!r} must be a dict; got {type(result).__name__}"
            )
        return atomic_write_json(self._cell_path(key), {"key": key, "result": result})

    def load_cell(self, key: str) -> dict[str, Any]:
        """Return the saved result of cell ``key``.

        Raises:
            DataError: if the cell has no saved result.
            ArtifactError: if its file is corrupt, not a cell, or belongs to another key (the
                message names the file; re-running the experiment recomputes it).
        """
        path = self._cell_path(key)
        if not path.exists():
            raise DataError(f"cell {key!r} has no saved result in {self.cells_dir}")
        try:
            return self._read_cell(path, key)[1]
        except ArtifactError as err:
            raise ArtifactError(
                f"{err}; re-run the experiment on {self.path} to recompute it", path=err.path
            ) from err

    def cells(self) -> dict[str, dict[str, Any]]:
        """Return every saved cell result, ``{key: result}``, in file-name order.

        Raises:
            ArtifactError: if a cell file is corrupt or not a cell (the message names it).
        """
        if not self.cells_dir.exists():
            return {}
        out: dict[str, dict[str, Any]] = {}
        for path in sorted(self.cells_dir.glob("*.json")):
            key, result = self._read_cell(path, None)
            out[key] = result
        return out

    # ------------------------------------------------------------------- tables, figures, logs
    def save_table(self, table: Table) -> Path:
        """Write ``tables/<name>.csv`` (exact), ``.md`` (formatted) and ``.meta.json`` (caption).

        Args:
            table: the table.

        Returns:
            The path of the CSV file.

        Raises:
            ConfigError: if ``table`` is not a ``Table``.
        """
        if not isinstance(table, Table):
            raise ConfigError(f"table must be a Table; got {type(table).__name__}")
        csv_path = atomic_write_text(self.tables_dir / f"{table.name}.csv", table.to_csv())
        atomic_write_text(self.tables_dir / f"{table.name}.md", table.to_markdown())
        atomic_write_json(self.tables_dir / f"{table.name}.meta.json", table.meta())
        if table.name not in self._saved_tables:
            self._saved_tables.append(table.name)
        return csv_path

    def save_figure(self, fig: Any, name: str) -> Path:
        """Save a matplotlib figure to ``figures/<name>.png`` atomically (dpi 110) and close it.

        Args:
            fig: a ``matplotlib.figure.Figure``.
            name: the file name, with or without ``.png``.

        Returns:
            The path of the PNG file.

        Raises:
            ConfigError: if ``name`` is not a safe file name.
        """
        stem = name[:-4] if isinstance(name, str) and name.endswith(".png") else name
        check_safe_name("figure name", stem)
        try:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=110)
            path = atomic_write_bytes(self.figures_dir / f"{stem}.png", buffer.getvalue())
            if stem not in self._saved_figures:
                self._saved_figures.append(stem)
            return path
        finally:
            import matplotlib.pyplot as plt  # imported here: pyplot only when a figure is saved

            plt.close(fig)

    def remove_unsaved(self) -> list[str]:
        """Delete the tables and figures that were not saved through this object.

        Called after a report has redrawn everything, so that a table or figure an older
        version of the report wrote (and the current one no longer does) does not linger.

        Returns:
            The removed file names (``tables/x.csv``, ``figures/y.png``, ...), sorted.
        """
        removed = []
        if self.tables_dir.is_dir():
            for path in self.tables_dir.iterdir():
                kinds = (".meta.json", ".csv", ".md")
                suffix = next((s for s in kinds if path.name.endswith(s)), "")
                stem = path.name[: -len(suffix)] if suffix else ""
                if suffix and stem not in self._saved_tables:
                    path.unlink()
                    removed.append(f"tables/{path.name}")
        if self.figures_dir.is_dir():
            for path in self.figures_dir.glob("*.png"):
                if path.stem not in self._saved_figures:
                    path.unlink()
                    removed.append(f"figures/{path.name}")
        return sorted(removed)

    def log_metrics(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line of ``metrics.jsonl`` (fsync'ed).

        Raises:
            ConfigError: if ``record`` is not a dict.
        """
        if not isinstance(record, dict):
            raise ConfigError(f"record must be a dict; got {type(record).__name__}")
        append_jsonl(self.metrics_path, record)

    def read_metrics(self) -> list[dict[str, Any]]:
        """Return the records of ``metrics.jsonl`` (empty if none were logged).

        Raises:
            ArtifactError: if the file is unreadable, not UTF-8, has a corrupt line other than
                the last, or a record that is not a JSON object.
        """
        if not self.metrics_path.exists():
            return []
        records = read_jsonl(self.metrics_path)
        for number, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                raise ArtifactError(
                    f"{self.metrics_path}, record {number}, is a JSON {type(record).__name__}, "
                    "not an object",
                    path=self.metrics_path,
                )
        return records


def _clear(directory: Path) -> None:
    """Delete everything in ``directory`` but its lock file (held by the caller)."""
    for child in directory.iterdir():
        if child.name == LOCK_NAME:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
