"""Benchmarks: our solvers side by side with plain methods and peer libraries.

Registered benchmarks (``BENCHMARKS``; one module per comparison registers its own):

* ``anderson-vs-picard``: Anderson vs Picard on the modern Hopfield retrieval fixed point
  (MNIST) for several ``beta``, through ``ModernHopfield.retrieve``;
* ``anderson-vs-torchdeq``: our Anderson vs ``torchdeq``'s on that problem and on a linear
  contraction with a known solution, to tolerance and at equal ``lam`` and map calls;
* ``euler-rk4-vs-torchdiffeq``: our fixed-step ``integrate`` vs ``torchdiffeq.odeint``,
  forward and forward+backward, on two flows;
* ``jacq-step``: one training step of the finite-step model with each Jacobian penalty;
* ``glauber-vs-numpy``: ``BinaryHopfield`` sweeps (compiled and NumPy) vs a per-spin loop;
* ``modern-retrieve-vs-loop``: ``ModernHopfield.retrieve`` vs hand-written retrieval loops;
* ``deq-even-odd-vs-sync`` and ``deq-anderson-vs-torchdeq``: the layered HAM's equilibrium.

How they measure (so that a busy machine does not decide the result): torch with one
intra-op thread (``threads=1``; more on request), every contender of a comparison timed in
the same rounds with a rotating order, process CPU time and wall time per call (median and
fastest), and ratios as the median over rounds of the per-round ratio of CPU times (wall time
on a GPU). Each benchmark calls the code path the experiments run (``retrieve``,
``LayeredHopfield.solve``, ``BinaryHopfield.run``), plus fixed-work comparisons where a ratio
should isolate the solver's own cost. No test times anything.

Cost (one thread, this package's 2-core test machine): ``quick=True`` about 60 s of CPU for
all (3-4 minutes of wall time at load 7-9); the full profile about 150 s of CPU (the seven
solver benchmarks, without ``jacq-step`` and ``idp-sequential-vs-numpy``, 131 s of CPU and 7
minutes of wall time at load 8-10). Usage::

    from hopfield_lab.benchmarks import format_results, run_benchmarks
    print(format_results(run_benchmarks(None, quick=True)))
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from hopfield_lab._discovery import import_submodules
from hopfield_lab.benchmarks.common import (
    BENCHMARKS,
    DESCRIPTIONS,
    BenchResult,
    Timing,
    bench_profile,
    machine_info,
    ratio,
    register,
    time_fn,
    time_fns,
    torch_threads,
)
from hopfield_lab.errors import ConfigError, check_device, check_int

# every module of this package registers its benchmarks on import (add a file, not a line)
import_submodules(__name__, skip=("common", "memory"))  # memory: a tool, no benchmark

__all__ = [
    "BENCHMARKS",
    "DESCRIPTIONS",
    "BenchResult",
    "Timing",
    "bench_profile",
    "format_results",
    "machine_info",
    "ratio",
    "register",
    "run_benchmarks",
    "time_fn",
    "time_fns",
]


def _check_device(device: str) -> torch.device:
    return torch.device(check_device("device", device))


def run_benchmarks(
    names: list[str] | None, *, quick: bool = False, device: str = "cpu", threads: int = 1
) -> dict[str, Any]:
    """Run benchmarks by name, with ``threads`` torch intra-op threads (default one).

    One thread by default: these models are small, and on a shared machine several OpenMP
    threads wait on each other whenever one of them is descheduled, which inflates times by
    10-80x and makes them meaningless. The thread count is restored afterwards. Each benchmark
    interleaves its contenders round-robin and reports process CPU time and wall time (median
    and minimum) and the median of the per-round ratios (see
    :func:`~hopfield_lab.benchmarks.common.time_fns`).

    Args:
        names: benchmark names (see ``BENCHMARKS``), run in the order given (duplicates once);
            None runs them all.
        quick: quick sizes (about 60 s of CPU for all, see the module docstring). Default
            False (full sizes, about 150 s of CPU for all).
        device: torch device string. Default "cpu".
        threads: torch intra-op threads (>= 1). Default 1.

    Returns:
        ``{"machine": machine_info(), "settings": {"quick", "profile", "device", "threads"},
        "runs": {name: {"elapsed_s", "cpu_s", "load_average"}}, "results":
        [BenchResult.to_dict(), ...]}``; ``elapsed_s`` / ``cpu_s`` are the wall / process CPU
        seconds the benchmark took, ``load_average`` the machine's 1-minute load when it
        ended (above the core count, other processes competed for the cores).

    Raises:
        ConfigError: an unknown benchmark name (the message lists the valid ones), an
            unusable device or a thread count below 1.
    """
    valid = list(BENCHMARKS)
    if names is None:
        selected = valid
    else:
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"names must be a list of benchmark names or None; got {names!r}")
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            raise ConfigError(
                f"unknown benchmark(s) {', '.join(repr(n) for n in unknown)}; "
                f"valid names: {', '.join(valid)}"
            )
        selected = list(dict.fromkeys(names))
    dev = _check_device(device)
    check_int("threads", threads, 1)
    results: list[dict[str, Any]] = []
    runs: dict[str, dict[str, float | None]] = {}
    with torch_threads(threads):
        machine = machine_info()
        for name in selected:
            start, cpu = time.perf_counter(), time.process_time()
            results.append(BENCHMARKS[name](quick, str(dev)).to_dict())
            runs[name] = {
                "elapsed_s": time.perf_counter() - start,
                "cpu_s": time.process_time() - cpu,
                "load_average": machine_info()["load_average"],
            }
    return {
        "machine": machine,
        "settings": {
            "quick": quick,
            "profile": bench_profile(quick),
            "device": str(dev),
            "threads": threads,
        },
        "runs": runs,
        "results": results,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0.0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.2e}"
        return f"{value:.4g}"
    return str(value)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(no rows)"]
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)]


def _machine_line(m: dict[str, Any]) -> str:
    parts = [
        f"{m.get('platform')}",
        f"python {m.get('python')}",
        f"torch {m.get('torch')} ({m.get('torch_threads')} threads)",
        f"CPU {m.get('cpu_model')} ({m.get('cpu_count')} cores)",
        f"CUDA {m.get('cuda_device') or 'none'}",
        f"load {m.get('load_average')}",
        f"torchdiffeq {m.get('torchdiffeq')}",
        f"torchdeq {m.get('torchdeq')}",
    ]
    return "machine: " + " | ".join(parts)


def format_results(d: dict[str, Any]) -> str:
    """Plain-text report of :func:`run_benchmarks`' output: the machine line, then per
    benchmark a table of its rows, its ratios and its notes.

    Args:
        d: the dict returned by :func:`run_benchmarks`.

    Returns:
        The report, lines joined by newlines (no colour or markup).
    """
    out = [_machine_line(d.get("machine", {}))]
    settings = d.get("settings")
    if settings:
        out.append(
            f"settings: profile {settings.get('profile')}, device {settings.get('device')}, "
            f"torch threads {settings.get('threads')}"
        )
    runs = d.get("runs", {})
    for res in d.get("results", []):
        out.append("")
        run = runs.get(res["name"], {})
        took = (
            f" ({run['elapsed_s']:.1f} s wall, {run.get('cpu_s', float('nan')):.1f} s CPU, "
            f"load {run.get('load_average')} at the end)"
            if "elapsed_s" in run
            else ""
        )
        out.append(f"== {res['name']}{took} ==")
        out.append(res.get("description", ""))
        out.append("")
        out.extend(_table(res.get("rows", [])))
        ratios = res.get("ratios", {})
        if ratios:
            out.append("")
            out.append("ratios:")
            width = max(len(k) for k in ratios)
            out.extend(f"  {k.ljust(width)}  {_fmt(float(v))}" for k, v in ratios.items())
        notes = res.get("notes", [])
        if notes:
            out.append("")
            out.append("notes:")
            out.extend(f"  - {n}" for n in notes)
    return "\n".join(out)
