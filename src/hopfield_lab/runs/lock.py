"""One writer per run directory: an advisory lock file holding the owner's pid and host.

``<run dir>/lock`` is created when a process starts working on a run directory (``hopfield-lab
run``, ``report``, ``fit`` with a ``run_dir``) and removed when it finishes. While it exists and
is held, a second process started on the same directory is refused with
:class:`~hopfield_lab.errors.RunLockedError`, whose one-line message names the owner (pid, host,
start time, command), before it writes anything.

Mutual exclusion comes from ``fcntl.flock`` on the open lock file, which the kernel releases
when the owner dies, however it dies (``kill -9`` included). A lock file that is still there but
not held was therefore left by a process that died without cleaning up: it is stale, and the
next process takes it over, saying so (an :class:`~hopfield_lab.errors.ArtifactWarning` naming
the dead owner). Taking the lock also removes the orphaned temporaries of atomic writes that
such a death left in the directory (:func:`~hopfield_lab.runs.io.remove_orphans`), saying how
many.

The lock is re-entrant within a process (a run that calls ``fit`` on its own directory does
not lock itself out); a lock taken inside a directory this process already holds (``fit`` in
``<run>/train/<cell>``) takes over a stale lock there silently, the outer lock having reported
the interrupted run. POSIX only (``fcntl``); on other systems locking is a no-op.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from hopfield_lab.errors import RunLockedError, StorageError, warn_artifact
from hopfield_lab.runs.io import remove_orphans

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "lock_owner", "run_lock"]

#: File name of the lock in a run directory.
LOCK_NAME = "lock"

_held: set[Path] = set()  # resolved run directories whose lock this process holds
_guard = threading.Lock()


def _describe(owner: dict[str, Any] | None) -> str:
    if not owner:
        return "an unknown process"
    parts = [f"pid {owner.get('pid', '?')} on host {owner.get('host', '?')}"]
    if owner.get("started"):
        parts.append(f"since {owner['started']}")
    if owner.get("command"):
        parts.append(f"({owner['command']})")
    return " ".join(parts)


def _read_owner(handle: IO[str]) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        handle.seek(0)
        owner = json.loads(handle.read() or "null")
        return owner if isinstance(owner, dict) else None
    return None


def lock_owner(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The owner recorded in ``<run_dir>/lock`` (``pid``, ``host``, ``started``, ``command``),
    or None when there is no readable lock file. Says nothing about whether it is still held."""
    path = Path(run_dir) / LOCK_NAME
    try:
        with path.open(encoding="utf-8") as handle:
            return _read_owner(handle)
    except OSError:
        return None


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _open_locked(path: Path) -> tuple[IO[str], dict[str, Any] | None]:
    """Open ``path`` and take its flock; return the handle and the previous owner record."""
    while True:
        try:
            handle = path.open("a+", encoding="utf-8")
        except OSError as err:
            raise StorageError(
                f"cannot create the lock file {path}: {os.strerror(err.errno or 0) or err}",
                path=path,
                errno=err.errno,
            ) from err
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = _read_owner(handle)
            handle.close()
            raise RunLockedError(
                f"run directory {path.parent} is in use by {_describe(owner)}; wait for it to "
                f"finish, or stop it (its lock file is {path})"
            ) from None
        # The previous holder may have unlinked the file between our open and our flock: then
        # we hold a lock on a file nobody else will see. Retry on the file now at the path.
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle, _read_owner(handle)
        handle.close()


def _write_owner(handle: IO[str]) -> None:
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])[:300],
    }
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(owner) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold ``<run_dir>/lock`` for the duration of the ``with`` block.

    Creates ``run_dir`` if needed. On entry, a stale lock (left by a process that died) is
    taken over with a warning naming its owner, and orphaned ``.*.tmp`` files under
    ``run_dir`` are removed with a warning saying how many. On exit the lock file is removed.

    Args:
        run_dir: the run directory.

    Yields:
        The path of the lock file.

    Raises:
        RunLockedError: if another live process holds the lock (nothing is written).
        StorageError: if the lock file cannot be created (e.g. read-only file system).
    """
    directory = Path(run_dir)
    # the directories this call creates, deepest first: removed again if left empty
    created = [d for d in (directory, *directory.parents) if not d.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(
            f"cannot create run directory {directory}: {os.strerror(err.errno or 0) or err}",
            path=directory,
            errno=err.errno,
        ) from err
    path = directory / LOCK_NAME
    key = directory.resolve()
    with _guard:
        reentered = key in _held
    if fcntl is None or reentered:  # not POSIX, or this process already holds it
        yield path
        return

    with _guard:  # inside a directory this process already locked: its warnings said it all
        nested = any(parent in _held for parent in key.parents)
    handle, previous = _open_locked(path)
    try:
        if previous and not nested:
            alive = _pid_alive(previous.get("pid")) and previous.get("host") == socket.gethostname()
            state = "no longer holds it" if alive else "is no longer running"
            warn_artifact(
                f"took over the stale lock of {path.parent} left by {_describe(previous)} "
                f"(that process {state})"
            )
        _write_owner(handle)
        count, size = (0, 0) if nested else remove_orphans(directory)
        if count:
            noun = "file" if count == 1 else "files"
            warn_artifact(
                f"removed {count} orphaned temporary {noun} ({size / 1e6:.2f} MB) left by an "
                f"interrupted write in {directory}"
            )
        with _guard:
            _held.add(key)
        yield path
    finally:
        with _guard:
            _held.discard(key)
        with contextlib.suppress(OSError):
            os.unlink(path)  # before unlocking: a waiter then retries on a fresh file
        handle.close()
        for made in created:  # a command that wrote nothing leaves no empty directory behind
            try:
                made.rmdir()
            except OSError:
                break
