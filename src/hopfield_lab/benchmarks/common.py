"""What every benchmark shares: machine description, timers, the result record and a registry.

A benchmark is a function ``(quick: bool, device: str) -> BenchResult`` registered under a
name with :func:`register`. It measures our solvers side by side with a reference (a plain
method or a peer library) on the same problem in one run, and reports rows of numbers, the
ratios that summarise them and notes saying exactly what was measured.

Timing (:func:`time_fns`): every contender is called once per round, the order rotating from
round to round, and each call records its process CPU time (``time.process_time``) and its
wall time. On a shared machine wall time mostly measures the other processes; CPU time, with
one torch thread, measures the work. :func:`ratio` compares two contenders by the median of
their per-round ratios, which discards the rounds where a slow phase hit one side only.

Sizes come in three profiles (:func:`bench_profile`): ``"full"`` (the default, about 150 s
of CPU for all benchmarks), ``"quick"`` (``quick=True``, about 60 s of CPU) and ``"tiny"``
(seconds, for the test suite), the last selected by the environment variable
``HOPFIELD_LAB_BENCH_TINY=1`` whatever ``quick`` says.
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

from hopfield_lab.errors import ConfigError, check_int

__all__ = [
    "BENCHMARKS",
    "DESCRIPTIONS",
    "TINY_ENV_VAR",
    "BenchFn",
    "BenchResult",
    "Clock",
    "CountedCalls",
    "Profile",
    "Timing",
    "bench_profile",
    "clock_for",
    "machine_info",
    "machine_threads",
    "ratio",
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


Clock = Literal["cpu", "wall"]


def clock_for(device: str | torch.device | None) -> Clock:
    """The clock a ratio should use: ``"cpu"`` (process CPU time) on CPU devices, ``"wall"``
    on a GPU (where the host mostly waits)."""
    return "wall" if device is not None and torch.device(device).type == "cuda" else "cpu"


@dataclass
class Timing:
    """Per-call times of one contender, in the order of the rounds.

    Attributes:
        cpu_s: CPU seconds of the process per timed call (``time.process_time``: every thread
            of the process, so on a busy machine it does not count the time other processes
            held the cores; with one torch thread it is the work done).
        wall_s: wall-clock seconds per timed call (``time.perf_counter``).
        result: the value of the last call.
    """

    cpu_s: list[float]
    wall_s: list[float]
    result: Any = None

    def seconds(self, clock: Clock = "cpu") -> list[float]:
        """The per-call times of ``clock``."""
        return self.cpu_s if clock == "cpu" else self.wall_s

    def median(self, clock: Clock = "cpu") -> float:
        """Median seconds per call."""
        return statistics.median(self.seconds(clock))

    def min(self, clock: Clock = "cpu") -> float:
        """Fastest call, in seconds."""
        return min(self.seconds(clock))

    @property
    def repeat(self) -> int:
        return len(self.cpu_s)

    def columns(self, unit: Literal["s", "ms"] = "ms") -> dict[str, float]:
        """``{"cpu_<unit>", "cpu_min_<unit>", "wall_<unit>", "wall_min_<unit>"}`` (medians and
        minima) for a result row."""
        k = 1e3 if unit == "ms" else 1.0
        return {
            f"cpu_{unit}": k * self.median("cpu"),
            f"cpu_min_{unit}": k * self.min("cpu"),
            f"wall_{unit}": k * self.median("wall"),
            f"wall_min_{unit}": k * self.min("wall"),
        }


def ratio(num: Timing, den: Timing, clock: Clock = "cpu") -> float:
    """Median over rounds of the per-round ratio ``num / den`` (both timed in the same rounds).

    Each round runs every contender once, back to back, so a slow phase of a shared machine
    inflates both sides of that round's ratio; the median then drops the rounds where it hit
    one side only.
    """
    a, b = num.seconds(clock), den.seconds(clock)
    if len(a) != len(b):
        raise ConfigError(
            f"ratio needs timings of the same rounds; got {len(a)} and {len(b)} calls"
        )
    return statistics.median(x / max(y, 1e-12) for x, y in zip(a, b, strict=True))


def _timed_call(
    fn: Callable[[], Any], device: str | torch.device | None
) -> tuple[Any, float, float]:
    _sync(device)
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    _sync(device)
    return out, time.process_time() - c0, time.perf_counter() - w0


def time_fn(
    fn: Callable[[], Any],
    *,
    repeat: int,
    warmup: int = 1,
    device: str | torch.device | None = None,
) -> Timing:
    """CPU and wall time of ``fn()`` (see :func:`time_fns` for several contenders).

    Args:
        fn: the call to time, without arguments.
        repeat: timed calls (>= 1).
        warmup: untimed calls first (>= 0). Default 1.
        device: where ``fn`` computes; on CUDA the device is synchronised before and after
            each call so that queued kernels are counted. Default None (CPU).

    Returns:
        :class:`Timing` with the per-call CPU and wall seconds and the last call's value.

    Raises:
        ConfigError: for ``repeat < 1`` or ``warmup < 0``.
    """
    return time_fns({"fn": fn}, repeat=repeat, warmup=warmup, device=device)["fn"]


def time_fns(
    fns: dict[str, Callable[[], Any]],
    *,
    repeat: int,
    warmup: int = 1,
    device: str | torch.device | None = None,
) -> dict[str, Timing]:
    """Time several calls side by side, interleaved round-robin.

    Round ``i`` calls every contender once, starting with contender ``i mod n`` (the order
    rotates, so no contender always runs first after a pause). Interleaving spreads slow phases
    of a shared machine (other processes, clock changes) over every contender alike; compare
    them with :func:`ratio` (median of per-round ratios) rather than with ratios of medians.

    Args:
        fns: name -> call without arguments.
        repeat: rounds, i.e. timed calls of each (>= 1).
        warmup: untimed rounds first (>= 0). Default 1.
        device: see :func:`time_fn`.

    Returns:
        name -> :class:`Timing`, in the order of ``fns``.

    Raises:
        ConfigError: for ``repeat < 1`` or ``warmup < 0``.
    """
    check_int("repeat", repeat, 1)
    check_int("warmup", warmup, 0)
    names = list(fns)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    cpu: dict[str, list[float]] = {name: [] for name in names}
    wall: dict[str, list[float]] = {name: [] for name in names}
    results: dict[str, Any] = {}
    for i in range(repeat):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            results[name], c, w = _timed_call(fns[name], device)
            cpu[name].append(c)
            wall[name].append(w)
    return {name: Timing(cpu[name], wall[name], results[name]) for name in names}
