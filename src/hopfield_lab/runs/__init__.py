"""Run directories, atomic artifact I/O, result tables, grid executors and HTML reports.

A run lives in ``runs/<experiment>/<name>/`` (see ``RunDir``); every write is atomic, re-running
the same config resumes, and ``build_report`` regenerates ``report.html`` from the artifacts alone.
Readers check what they read (``ArtifactError`` naming the file); one process at a time writes a
run directory (``run_lock``), and orphaned temporaries of killed writes are removed
(``remove_orphans``).
Reports draw with ``runs.plots`` (``figure``, ``heatmap``) and tabulate with ``Table``,
``comparison_table`` (paper vs ours) and ``check_table`` (a claim checked: holds / fails, margin).
"""

from hopfield_lab.runs.executor import EXECUTORS, CellFn, run_cells
from hopfield_lab.runs.io import (
    append_jsonl,
    atomic_torch_save,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_jsonl,
    atomic_write_text,
    read_json,
    read_jsonl,
    read_tensors,
    read_text,
    remove_orphans,
    to_jsonable,
)
from hopfield_lab.runs.lock import LOCK_NAME, lock_owner, run_lock
from hopfield_lab.runs.report import build_index, build_report, read_about, render_run_section
from hopfield_lab.runs.rundir import RunDir, cell_filename
from hopfield_lab.runs.table import (
    CHECK_COLUMNS,
    COMPARISON_COLUMNS,
    MISSING,
    Check,
    Table,
    at_least,
    at_most,
    check_table,
    comparison_table,
    decreasing_checks,
    descent_checks,
    equals,
    format_cell,
    mean_std,
    records_table,
    tidy_spread,
    within,
)

__all__ = [
    "CHECK_COLUMNS",
    "COMPARISON_COLUMNS",
    "EXECUTORS",
    "LOCK_NAME",
    "MISSING",
    "CellFn",
    "Check",
    "RunDir",
    "Table",
    "append_jsonl",
    "at_least",
    "at_most",
    "atomic_torch_save",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_jsonl",
    "atomic_write_text",
    "build_index",
    "build_report",
    "cell_filename",
    "check_table",
    "comparison_table",
    "decreasing_checks",
    "descent_checks",
    "equals",
    "format_cell",
    "lock_owner",
    "mean_std",
    "read_about",
    "read_json",
    "read_jsonl",
    "read_tensors",
    "read_text",
    "records_table",
    "remove_orphans",
    "render_run_section",
    "run_cells",
    "run_lock",
    "tidy_spread",
    "to_jsonable",
    "within",
]
