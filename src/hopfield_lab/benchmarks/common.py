"""What every benchmark shares: machine description, a timer, the result record and a registry.

A benchmark is a function ``(quick: bool, device: str) -> BenchResult`` registered under a
name with :func:`register`. It measures our solvers side by side with a reference (a plain
method or a peer library) on the same problem in one run, and reports rows of numbers, the
ratios that summarise them and notes saying exactly what was measured.

Sizes come in three profiles (:func:`bench_profile`): ``"full"`` (the default, under a
minute for all benchmarks on 2 idle CPU cores), ``"quick"`` (``quick=True``, about 20
seconds) and ``"tiny"`` (seconds, for the test suite), the last selected by the environment
variable ``HOPFIELD_LAB_BENCH_TINY=1`` whatever ``quick`` says.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import torch

from hopfield_lab.errors import check_int

__all__ = [
    "BENCHMARKS",
    "DESCRIPTIONS",
    "TINY_ENV_VAR",
    "BenchFn",
    "BenchResult",
    "CountedCalls",
    "Profile",
    "bench_profile",
    "machine_info",
    "machine_threads",
    "register",
    "time_fn",
    "time_fns",
    "torch_threads",
]


class CountedCalls:
    """Wrap a step function and count its (batched) calls: function evaluations of a solver
    that does not report them (torchdeq)."""

    def __init__(self, f: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.f = f
        self.calls = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.f(x)


TINY_ENV_VAR = "HOPFIELD_LAB_BENCH_TINY"
"""Set to ``1`` to run every benchmark at a seconds-long size (the test suite does)."""

Profile = Literal["full", "quick", "tiny"]


@dataclass
class BenchResult:
    """The outcome of one benchmark.

    Attributes:
        name: registry name, e.g. ``"anderson-vs-picard"``.
        description: one line saying what is compared on what problem.
        rows: one dict per measured setting (same keys in every row; values are numbers,
            strings, booleans or None where a quantity does not apply).
        ratios: named summary ratios, e.g. ``"time torchdeq/ours hopfield" -> 2.1``.
        notes: what each column measures, the sizes used, caveats.
    """

    name: str
    description: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy: ``{"name", "description", "rows", "ratios", "notes"}``."""
        return asdict(self)


BenchFn = Callable[[bool, str], BenchResult]
BENCHMARKS: dict[str, BenchFn] = {}
"""Benchmark name -> function ``(quick, device) -> BenchResult``, filled by :func:`register`."""
DESCRIPTIONS: dict[str, str] = {}
"""Benchmark name -> one-line description."""


def register(name: str, description: str) -> Callable[[BenchFn], BenchFn]:
    """Decorator adding a benchmark ``fn(quick: bool, device: str) -> BenchResult``.

    Args:
        name: registry name (unique).
        description: one-line description, shown by listings and copied into the result.

    Returns:
        The decorator; it returns the function unchanged.

    Raises:
        ValueError: if ``name`` is already registered.
    """

    def decorate(fn: BenchFn) -> BenchFn:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is already registered")
        BENCHMARKS[name] = fn
        DESCRIPTIONS[name] = description
        return fn

    return decorate


def bench_profile(quick: bool) -> Profile:
    """Size profile: ``"tiny"`` if ``$HOPFIELD_LAB_BENCH_TINY`` is set to a true value, else
    ``"quick"`` or ``"full"`` following ``quick``."""
    if os.environ.get(TINY_ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on"):
        return "tiny"
    return "quick" if quick else "full"


def machine_threads() -> int:
    """Number of CPU cores this process may run on (its affinity mask, else ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` and restore the previous count after."""
    check_int("n", n, 1)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor() or None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
            return value.strip()
    return platform.processor() or None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """Describe the machine the numbers come from.

    Returns:
        ``{"platform", "python", "torch", "torch_threads", "cpu_count", "cpu_model",
        "cuda_device", "load_average", "torchdiffeq", "torchdeq"}``; ``cpu_model`` is read
        from ``/proc/cpuinfo`` when present, ``cuda_device`` is None without CUDA,
        ``load_average`` is the 1-minute load (other processes competing for the cores make
        timings noisy), the last two are the installed peer versions (None if absent).
    """
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    try:
        load: float | None = round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        load = None
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": machine_threads(),
        "cpu_model": _cpu_model(),
        "cuda_device": cuda,
        "load_average": load,
        "torchdiffeq": _version("torchdiffeq"),
        "torchdeq": _version("torchdeq"),
    }


def _sync(device: str | torch.device | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_fn(
    fn: Callable[[], Any],
    *,
    repeat: int,
    warmup: int = 1,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """Wall-clock time of ``fn()`` with ``time.perf_counter``.

    Args:
        fn: the call to time, without arguments.
        repeat: timed calls (>= 1).
        warmup: untimed calls first (>= 0). Default 1.
        device: where ``fn`` computes; on CUDA the device is synchronised before and after
            each call so that queued kernels are counted. Default None (CPU).

    Returns:
        ``{"median_s", "min_s", "repeat", "result"}``: median and minimum seconds per call,
        and the value of the last call.

    Raises:
        ConfigError: for ``repeat < 1`` or ``warmup < 0``.
    """
    check_int("repeat", repeat, 1)
    check_int("warmup", warmup, 0)
    for _ in range(warmup):
        fn()
    times: list[float] = []
    out: Any = None
    for _ in range(repeat):
        _sync(device)
        start = time.perf_counter()
        out = fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "repeat": repeat,
        "result": out,
    }


def time_fns(
    fns: dict[str, Callable[[], Any]],
    *,
    repeat: int,
    warmup: int = 1,
    device: str | torch.device | None = None,
) -> dict[str, dict[str, Any]]:
    """Time several calls side by side, interleaved round-robin.

    Interleaving (a, b, a, b, ...) rather than timing a's block then b's spreads slow phases
    of a shared machine (other processes, clock changes) over every contender alike.

    Args:
        fns: name -> call without arguments.
        repeat: timed calls of each (>= 1).
        warmup: untimed rounds first (>= 0). Default 1.
        device: see :func:`time_fn`.

    Returns:
        name -> ``{"median_s", "min_s", "repeat", "result"}`` as :func:`time_fn` returns.

    Raises:
        ConfigError: for ``repeat < 1`` or ``warmup < 0``.
    """
    check_int("repeat", repeat, 1)
    check_int("warmup", warmup, 0)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            one = time_fn(fn, repeat=1, warmup=0, device=device)
            times[name].append(one["min_s"])
            results[name] = one["result"]
    return {
        name: {
            "median_s": statistics.median(ts),
            "min_s": min(ts),
            "repeat": repeat,
            "result": results[name],
        }
        for name, ts in times.items()
    }
