"""One executor interface for grids of independent cells (seeds x settings).

``run_cells`` takes a function of one cell's parameters and a dict of cells, skips the cells whose
result is already saved in the run directory (resume), runs the others and saves each result as
soon as it exists, so that a killed grid loses at most the cells that were running.

Executors:
    ``"local"``: sequentially, in this process, with a progress bar on a terminal.
    ``"ray"``: as Ray tasks (one CPU each) on a local or existing Ray cluster; Ray is an optional
        dependency (``pip install 'hopfield-lab[cluster]'``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from hopfield_lab.errors import ConfigError, check_choice
from hopfield_lab.runs.progress import progress_bar
from hopfield_lab.runs.rundir import RunDir

__all__ = ["EXECUTORS", "CellFn", "run_cells"]

#: The executors ``run_cells`` accepts.
EXECUTORS: tuple[str, ...] = ("local", "ray")

#: A grid cell function: the cell's parameters in, a JSON-serializable result dict out.
CellFn = Callable[[dict[str, Any]], dict[str, Any]]

_RAY_MISSING = "executor 'ray' needs the optional dependency: pip install 'hopfield-lab[cluster]'"


def _check_result(key: str, result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise ConfigError(
            f"the cell function must return a dict; cell {key!r} returned {type(result).__name__}"
        )
    return result


def _run_local(
    fn: CellFn, pending: dict[str, dict[str, Any]], run_dir: RunDir, bar: Any, task: Any
) -> None:
    for key, cell in pending.items():
        bar.update(task, description=f"cell {key}")
        run_dir.save_cell(key, _check_result(key, fn(cell)))
        bar.advance(task)
    bar.update(task, description=f"{run_dir.experiment}/{run_dir.name}")


def _run_ray(
    fn: CellFn, pending: dict[str, dict[str, Any]], run_dir: RunDir, bar: Any, task: Any
) -> None:
    import ray  # optional; run_cells has checked that it imports

    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True)
    remote_fn = ray.remote(num_cpus=1)(fn)
    waiting = {remote_fn.remote(cell): key for key, cell in pending.items()}
    first_error: BaseException | None = None
    try:
        while waiting:
            done, _ = ray.wait(list(waiting), num_returns=1)
            for ref in done:
                key = waiting.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as err:  # keep saving the others, re-raise the first at the end
                    first_error = first_error or err
                else:
                    run_dir.save_cell(key, _check_result(key, result))
                bar.advance(task)
    except BaseException:
        for ref in waiting:  # interrupted: do not leave orphan tasks running on the cluster
            ray.cancel(ref)
        raise
    if first_error is not None:
        raise first_error


def run_cells(
    fn: CellFn,
    cells: Mapping[str, dict[str, Any]],
    run_dir: RunDir | str | os.PathLike[str],
    *,
    executor: str = "local",
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Run ``fn`` on every cell of a grid whose result is not saved yet, and return all results.

    Each result is saved in ``run_dir`` (``cells/<safe key>.json``, atomically) as soon as it is
    available; cells already saved are not run again, so calling ``run_cells`` again after a
    kill resumes the grid.

    Args:
        fn: ``fn(cell) -> dict``, the work of one cell; its result must be JSON-serializable.
            For ``"ray"`` it must be picklable (a module-level function, not a lambda or a
            closure over unpicklable state).
        cells: ``{key: cell parameters}``; keys are any non-empty strings (stored under a
            file-safe name), e.g. ``"beta=2,seed=0"``.
        run_dir: the run directory that stores the results.
        executor: ``"local"`` (sequential, in process) or ``"ray"``. Default ``"local"``.
        progress: show a progress bar (only on a terminal). Default True.

    Returns:
        ``{key: result}`` for every key of ``cells``, in the order of ``cells``.

    Raises:
        ConfigError: if ``executor`` is unknown, ``"ray"`` is asked for but not installed, a key
            is not a non-empty string, or ``fn`` returns something other than a dict.
        Exception: whatever ``fn`` raises; results of cells that finished are kept (with
            ``"ray"``, the remaining cells are run and saved before the first error is re-raised).
    """
    check_choice("executor", executor, EXECUTORS)
    if not callable(fn):
        raise ConfigError(f"fn must be callable; got {type(fn).__name__}")
    if not isinstance(cells, Mapping):
        raise ConfigError(f"cells must be a dict of {{key: cell}}; got {type(cells).__name__}")
    for key in cells:
        if not isinstance(key, str) or not key:
            raise ConfigError(f"cell keys must be non-empty strings; got {key!r}")
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)

    pending = {key: dict(cell) for key, cell in cells.items() if not run.cell_done(key)}
    if pending:
        if executor == "ray":
            try:
                import ray  # noqa: F401 - optional dependency, checked before any work starts
            except ImportError as err:
                raise ConfigError(_RAY_MISSING) from err
        with progress_bar(progress) as bar:
            label = f"{run.experiment}/{run.name}"
            task = bar.add_task(label, total=len(pending))
            runner = _run_ray if executor == "ray" else _run_local
            runner(fn, pending, run, bar, task)
    return {key: run.load_cell(key) for key in cells}
