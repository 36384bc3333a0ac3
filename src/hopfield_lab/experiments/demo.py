"""Every experiment's demo profile, in worker processes: what ``hopfield-lab demo`` runs.

The demo profiles are seconds-long and independent (each writes its own run directory), and
each runs torch with one intra-op thread (:mod:`hopfield_lab.threads`), so on a machine with
``k`` cores, ``k`` worker processes finish them about ``k`` times sooner than one process.
Workers are started with ``spawn`` (a forked torch process can deadlock in OpenMP) and inherit
the parent's ``OMP_NUM_THREADS``. Experiments are handed out longest first (by the demo runtime
in the registry), so that a long one does not start last.

A failing experiment does not stop the others: its error comes back as a
:class:`DemoFailure`, and :func:`run_demos` raises the first one (with its own class and
message) after every other experiment has finished.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hopfield_lab.errors import ConfigError, DivergenceError, HopfieldLabError
from hopfield_lab.experiments.base import RunContext, get_experiment, run_experiment

__all__ = ["DemoFailure", "DemoRun", "default_jobs", "demo_seconds", "run_demos"]


@dataclass(frozen=True)
class DemoRun:
    """One finished demo run.

    Attributes:
        experiment: the experiment's name.
        seconds: wall time of the run in its worker.
        cpu_seconds: CPU time of its worker process during the run.
        skipped: the run directory was already complete.
        run_dir: the run directory.
        results: its ``results.json``.
    """

    experiment: str
    seconds: float
    cpu_seconds: float
    skipped: bool
    run_dir: Path
    results: dict[str, Any]


@dataclass(frozen=True)
class DemoFailure:
    """A demo run that raised: the error's class name, message and (divergence) step."""

    experiment: str
    kind: str
    message: str
    step: int | None = None

    def error(self) -> HopfieldLabError:
        """The error to raise in the parent: same class where it is the library's own."""
        text = f"{self.experiment}: {self.message}"
        if self.kind == "DivergenceError":
            return DivergenceError(text, step=-1 if self.step is None else self.step)
        if self.kind == "ConfigError":
            return ConfigError(text)
        return HopfieldLabError(f"{text} ({self.kind})")


def default_jobs() -> int:
    """Worker processes by default: the cores this process may use, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def demo_seconds(name: str) -> float:
    """The demo runtime the registry states for ``name`` (``"~20 s"``, ``"~1 min"``), or 0."""
    text = get_experiment(name).runtime.get("demo", "")
    match = re.search(r"([\d.]+)\s*(s|sec|min)", text)
    if not match:
        return 0.0
    return float(match.group(1)) * (60.0 if match.group(2) == "min" else 1.0)


def _run_one(name: str, out: str, force: bool, progress: bool) -> DemoRun | DemoFailure:
    """Run one demo profile (in a worker); errors come back as a :class:`DemoFailure`."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        ctx = RunContext(progress=progress)
        outcome = run_experiment(name, "demo", out=out, force=force, ctx=ctx)
    except DivergenceError as exc:
        return DemoFailure(name, "DivergenceError", str(exc), exc.step)
    except ConfigError as exc:
        return DemoFailure(name, "ConfigError", str(exc))
    except HopfieldLabError as exc:
        return DemoFailure(name, type(exc).__name__, str(exc))
    return DemoRun(
        name,
        round(time.perf_counter() - start, 2),
        round(time.process_time() - cpu, 2),
        outcome.skipped,
        outcome.run_dir.path,
        outcome.results,
    )


def run_demos(
    names: Sequence[str],
    out: str | Path,
    *,
    force: bool = False,
    jobs: int | None = None,
    progress: bool = False,
    on_done: Callable[[DemoRun], None] | None = None,
) -> list[DemoRun]:
    """Run the demo profile of each experiment in ``names``, ``jobs`` at a time.

    Args:
        names: registered experiment names.
        out: root of the run directories.
        force: recompute finished runs.
        jobs: worker processes; default :func:`default_jobs`. With 1, everything runs in this
            process (progress bars allowed).
        progress: progress bars (only with ``jobs=1``; workers' bars would interleave).
        on_done: called with each finished run, in completion order.

    Returns:
        The runs in the order of ``names``.

    Raises:
        ConfigError: ``jobs < 1`` or an unknown experiment (before anything runs).
        HopfieldLabError: the first failing experiment's error (same class for configuration
            and divergence errors), after the others have finished.
    """
    jobs = default_jobs() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be an integer >= 1; got {jobs!r}")
    for name in names:
        get_experiment(name)
    done: dict[str, DemoRun] = {}
    failures: list[DemoFailure] = []

    def collect(item: DemoRun | DemoFailure) -> None:
        if isinstance(item, DemoFailure):
            failures.append(item)
            return
        done[item.experiment] = item
        if on_done is not None:
            on_done(item)

    if jobs == 1:
        for name in names:
            collect(_run_one(name, str(out), force, progress))
    else:
        order = sorted(names, key=demo_seconds, reverse=True)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(order)), mp_context=context) as pool:
            pending = {pool.submit(_run_one, name, str(out), force, False) for name in order}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    collect(future.result())
    if failures:
        raise failures[0].error()
    return [done[name] for name in names]
