"""Thread policy of the command line: how many intra-op threads, and how idle ones wait.

The models here are small (state vectors of hundreds to a few thousand entries, batches of
tens to hundreds): most torch ops take microseconds, and a thread pool buys little. On a
shared machine it costs a lot: when one of torch's OpenMP threads is descheduled, the others
wait at the end of every parallel region, so runs were measured 30-66x slower than on the
idle machine while the share of CPU explained 6-9x (``make demo``: 65 minutes instead of about
3, with two threads on two busy cores). The command line therefore chooses:

1. ``OMP_NUM_THREADS`` set by the user: honoured as it is (torch reads it when it loads).
2. else ``HOPFIELD_LAB_THREADS=n``: ``n`` intra-op threads.
3. else one intra-op thread.

In cases 2 and 3 ``OMP_NUM_THREADS`` is exported with that number, so that child processes
(Ray workers, subprocesses) start with the same.

Idle OpenMP threads of any process started from the command line wait passively
(``OMP_WAIT_POLICY=PASSIVE``: they sleep instead of spinning on a core that other work
needs) unless the user set ``OMP_WAIT_POLICY``. The OpenMP runtime reads that variable when it
is loaded, i.e. when torch is imported, which for the ``hopfield-lab`` process is before
:func:`configure` runs (importing the package imports torch). So the variable is set twice:
by :func:`early_environment`, which runs when this module is first imported (first thing in
``hopfield_lab/__init__.py``, before torch) and acts only when the process is the command line
(``hopfield-lab ...`` or ``python -m hopfield_lab.cli ...``; a library user's process is left
alone), and by
:func:`configure` for child processes. With one intra-op thread, the default, there is no
thread team to wait in; the policy matters when more threads are asked for.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass

from hopfield_lab.errors import ConfigError

__all__ = [
    "THREADS_ENV_VAR",
    "ThreadPolicy",
    "configure",
    "early_environment",
    "is_cli_process",
]

THREADS_ENV_VAR = "HOPFIELD_LAB_THREADS"
"""Intra-op threads of the command line when ``OMP_NUM_THREADS`` is not set (default 1)."""

_CLI_MODULE = "hopfield_lab.cli"


@dataclass(frozen=True)
class ThreadPolicy:
    """What :func:`configure` chose.

    Attributes:
        threads: torch intra-op threads of this process.
        source: ``"OMP_NUM_THREADS"``, ``"HOPFIELD_LAB_THREADS"`` or ``"default"``.
        wait_policy: the ``OMP_WAIT_POLICY`` child processes get.
    """

    threads: int
    source: str
    wait_policy: str


def is_cli_process(argv: list[str] | None = None) -> bool:
    """Whether this process is the ``hopfield-lab`` command (console script or ``-m``)."""
    args = list(getattr(sys, "orig_argv", sys.argv)) if argv is None else argv
    if any(os.path.basename(a) == "hopfield-lab" for a in args[:2]):
        return True
    return any(a == "-m" and b == _CLI_MODULE for a, b in itertools.pairwise(args))


def early_environment(
    environ: MutableMapping[str, str] | None = None, argv: list[str] | None = None
) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` (unless set) before torch loads, in the CLI only.

    Runs when this module is first imported (``hopfield_lab/__init__.py`` imports it before
    torch); does nothing in a process that is not the command line.

    Returns:
        Whether the process is the command line (and the variable was defaulted).
    """
    if not is_cli_process(argv):
        return False
    env = os.environ if environ is None else environ
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return True


def _positive_int(name: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return n


def configure(environ: MutableMapping[str, str] | None = None) -> ThreadPolicy:
    """Apply the command line's thread policy (see the module docstring) to this process
    and to the environment its children inherit.

    Args:
        environ: the environment to read and update; default ``os.environ``.

    Returns:
        The :class:`ThreadPolicy` applied.

    Raises:
        ConfigError: for a ``HOPFIELD_LAB_THREADS`` that is not a positive integer.
    """
    import torch

    env = os.environ if environ is None else environ
    wait = env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    user = env.get("OMP_NUM_THREADS", "").strip()
    if user:  # the user's choice; torch already read it
        try:
            threads = _positive_int("OMP_NUM_THREADS", user)
        except ConfigError:  # not ours to validate: keep what torch made of it
            threads = torch.get_num_threads()
        source = "OMP_NUM_THREADS"
    elif env.get(THREADS_ENV_VAR, "").strip():
        threads = _positive_int(THREADS_ENV_VAR, env[THREADS_ENV_VAR].strip())
        source = THREADS_ENV_VAR
        env["OMP_NUM_THREADS"] = str(threads)  # the same for child processes
    else:
        threads, source = 1, "default"
        env["OMP_NUM_THREADS"] = "1"  # children (Ray workers) start with one thread too
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return ThreadPolicy(threads=threads, source=source, wait_policy=wait)


early_environment()  # on import: hopfield_lab/__init__.py imports this module before torch
