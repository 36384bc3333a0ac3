"""Peak memory of a run: the high-water mark of the resident set of a child process.

:func:`peak_rss` runs a command and returns the peak resident set size the kernel recorded for
it (``ru_maxrss`` of ``wait4``: the largest RSS of that process or of a child of it that it
waited for, on Linux in KiB). :func:`experiment_peak_memory` measures
``hopfield-lab run NAME --profile PROFILE`` this way for each experiment, in a fresh output
directory so that nothing is skipped or resumed. From the command line::

    python -m hopfield_lab.benchmarks.memory [NAME ...] [--profile quick] [--out DIR]

prints one line per experiment: peak RSS in MiB, wall and CPU seconds, exit code. The numbers
include the interpreter, torch and the data (about 300-400 MiB before any model exists).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hopfield_lab.errors import ConfigError

__all__ = ["PeakMemory", "experiment_peak_memory", "main", "peak_rss"]


@dataclass(frozen=True)
class PeakMemory:
    """What :func:`peak_rss` measured.

    Attributes:
        peak_bytes: the child's peak resident set size.
        wall_s: wall seconds until it exited.
        cpu_s: its user + system CPU seconds.
        returncode: its exit code (negative: killed by that signal).
    """

    peak_bytes: int
    wall_s: float
    cpu_s: float
    returncode: int

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20


_LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, u = os.wait4(p.pid, 0)\n"
    "with open(sys.argv[1], 'w') as fh:\n"
    "    fh.write(f'{u.ru_maxrss} {u.ru_utime + u.ru_stime} {os.waitstatus_to_exitcode(status)}')\n"
)
"""Starts the measured command from a fresh, small interpreter and reports its rusage: on
Linux a child's ``ru_maxrss`` starts from the memory of the process it was forked from (and
keeps it through ``exec``), so a command forked directly from a large process (pytest with
torch loaded: about 1 GB) would report at least that."""


def peak_rss(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    log: str | os.PathLike[str] | None = None,
) -> PeakMemory:
    """Run ``argv`` to completion and return its peak resident set size.

    The command is started by a small launcher interpreter (see :data:`_LAUNCHER`), so that
    the measurement does not inherit this process's size; it includes the launcher's own
    resident set at the fork (about 10 MiB).

    Args:
        argv: the command (no shell).
        env: its environment; default this process's.
        cwd: its working directory.
        log: file for its stdout and stderr; default discarded.

    Returns:
        :class:`PeakMemory`.

    Raises:
        ConfigError: on a platform without ``os.wait4`` (Windows).
    """
    if not hasattr(os, "wait4"):
        raise ConfigError("peak_rss needs os.wait4 (Linux, macOS)")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "rusage"
        out = open(log, "w") if log is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", _LAUNCHER, str(report), *argv],
                env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=True,
            )  # fmt: skip
            wall = time.perf_counter() - start
        finally:
            if log is not None:
                out.close()  # type: ignore[union-attr]
        maxrss, cpu, code = report.read_text().split()
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return PeakMemory(
        peak_bytes=int(maxrss) * unit, wall_s=wall, cpu_s=float(cpu), returncode=int(code)
    )


def experiment_peak_memory(
    names: Sequence[str] | None = None,
    *,
    profile: str = "quick",
    out: str | os.PathLike[str] | None = None,
) -> dict[str, PeakMemory]:
    """Peak RSS of ``hopfield-lab run NAME --profile PROFILE`` for each experiment.

    Each run starts in a fresh run directory under ``out`` (a temporary directory by default)
    with the interpreter running this function and ``OMP_NUM_THREADS`` as set here (the
    command line defaults to one thread).

    Args:
        names: experiments (default: all registered, sorted).
        profile: ``"demo"``, ``"quick"`` (default) or ``"paper"``.
        out: root of the run directories; the log of each run is ``<out>/<name>.log``.

    Returns:
        ``{name: PeakMemory}`` in the order run.
    """
    from hopfield_lab.experiments import EXPERIMENTS, PROFILES

    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    selected = sorted(EXPERIMENTS) if names is None else list(names)
    unknown = [n for n in selected if n not in EXPERIMENTS]
    if unknown:
        raise ConfigError(
            f"unknown experiment(s) {unknown}; valid: {', '.join(sorted(EXPERIMENTS))}"
        )
    root = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="hopfield-lab-mem-"))
    root.mkdir(parents=True, exist_ok=True)
    results: dict[str, PeakMemory] = {}
    for name in selected:
        argv = [
            sys.executable, "-m", "hopfield_lab.cli", "run", name, "--profile", profile,
            "--out", str(root), "--name", f"mem-{profile}", "--force", "--no-progress",
        ]  # fmt: skip
        results[name] = peak_rss(argv, log=root / f"{name}.log")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the peak RSS of each experiment's profile run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="*", help="experiments (default: all)")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--out", default=None, help="root of the run directories")
    args = parser.parse_args(argv)
    from hopfield_lab.experiments import EXPERIMENTS

    out = args.out or tempfile.mkdtemp(prefix="hopfield-lab-mem-")
    print(
        f"runs under {out}; this process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        flush=True,
    )
    for name in args.names or sorted(EXPERIMENTS):
        m = experiment_peak_memory([name], profile=args.profile, out=out)[name]
        print(
            f"{name:32s} peak {m.peak_mib:8.0f} MiB  wall {m.wall_s:7.1f} s  "
            f"cpu {m.cpu_s:7.1f} s  exit {m.returncode}",
            flush=True,
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
