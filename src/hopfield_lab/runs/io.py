"""Crash-safe file writes and tolerant readers for run artifacts.

Every writer here is atomic: the content goes to a temporary file in the destination's directory,
is flushed and fsync'ed, and only then renamed over the destination with ``os.replace``. A reader
therefore sees either the old file or the new one, never a half-written mix, even if the process
is killed mid-write. The temporary file is removed when the write fails.

JSON is written strictly valid: numpy and torch scalars and arrays become Python numbers and
lists, paths become strings, and non-finite floats become the strings ``"nan"``, ``"inf"`` and
``"-inf"`` (plain JSON has no NaN). Readers return those strings as they are.

The append-only JSON-lines log (``metrics.jsonl``) is the one file that is not rewritten whole:
``append_jsonl`` fsyncs every record, and ``read_jsonl`` ignores a truncated last line, which is
what a kill in the middle of an append leaves behind.

Readers do not believe what they read: a file that is not UTF-8, not valid JSON, or cannot be
read raises :class:`~hopfield_lab.errors.ArtifactError` naming it. A write that fails (disk
full, quota, read-only file system) raises :class:`~hopfield_lab.errors.StorageError` naming
the file and saying that its previous version is intact. A kill between the write and the
rename leaves a ``.<name>.<random>.tmp`` file; :func:`remove_orphans` deletes those (the run
directory's lock holder calls it, so no live writer's temporary is touched).

Fault injection (for the crash tests): with ``HOPFIELD_LAB_KILL_BEFORE_RENAME=<glob>[@<n>]`` in
the environment, the ``n``-th (default first) atomic write in this process whose destination
file name matches ``<glob>`` kills the process with SIGKILL after the temporary file is written
and fsync'ed, just before the rename: exactly the state a kill at the worst moment leaves.
``HOPFIELD_LAB_KILL_AFTER_RENAME`` does the same just after the rename (e.g. a checkpoint
renamed, its metrics line not yet appended).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fnmatch
import json
import math
import os
import re
import signal
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from hopfield_lab.errors import ArtifactError, ConfigError, StorageError

__all__ = [
    "KILL_AFTER_RENAME_ENV",
    "KILL_BEFORE_RENAME_ENV",
    "append_jsonl",
    "atomic_torch_save",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_jsonl",
    "atomic_write_text",
    "check_safe_name",
    "read_json",
    "read_jsonl",
    "read_tensors",
    "read_text",
    "remove_orphans",
    "to_jsonable",
]

#: Environment variables of the fault-injection hooks (see the module docstring).
KILL_BEFORE_RENAME_ENV = "HOPFIELD_LAB_KILL_BEFORE_RENAME"
KILL_AFTER_RENAME_ENV = "HOPFIELD_LAB_KILL_AFTER_RENAME"
_kill_hook_matches = {KILL_BEFORE_RENAME_ENV: 0, KILL_AFTER_RENAME_ENV: 0}


def _current_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, and restore it at once.
    mask = os.umask(0)
    os.umask(mask)
    return mask


# NamedTemporaryFile creates files with mode 0o600; artifacts get the usual mode instead.
_FILE_MODE = 0o666 & ~_current_umask()


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable by syncing its directory (best effort; not possible on Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _maybe_kill(variable: str, target: Path) -> None:
    """The fault-injection hooks: SIGKILL this process if ``target`` is the chosen write."""
    spec = os.environ.get(variable)
    if not spec:
        return
    pattern, _, count = spec.partition("@")
    if not fnmatch.fnmatch(target.name, pattern):
        return
    _kill_hook_matches[variable] += 1
    if _kill_hook_matches[variable] == (int(count) if count.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)


def _storage_error(target: Path, err: OSError, action: str) -> StorageError:
    reason = os.strerror(err.errno) if err.errno else str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += "; free some space and re-run the same command to resume"
    kept = (
        f"the previous {target.name} is left intact"
        if target.exists()
        else "nothing was written there"
    )
    return StorageError(
        f"could not {action} {target}: {reason}; {kept}", path=target, errno=err.errno
    )


def _atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Run ``write`` on a temporary file next to ``path``, then rename it over ``path``.

    Raises:
        StorageError: if the file system refuses (disk full, read-only, ...); the temporary is
            removed and ``path`` is left as it was.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, renamed or removed
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        )
    except OSError as err:
        raise _storage_error(target, err, "write") from err
    try:
        with tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, _FILE_MODE)
        _maybe_kill(KILL_BEFORE_RENAME_ENV, target)
        os.replace(tmp.name, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp.name)
        if isinstance(err, OSError) and not isinstance(err, StorageError):
            raise _storage_error(target, err, "write") from err
        raise
    _fsync_dir(target.parent)
    _maybe_kill(KILL_AFTER_RENAME_ENV, target)
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, fsync, rename).

    Args:
        path: destination file; missing parent directories are created.
        data: the bytes to write.

    Returns:
        The destination as a ``Path``.

    Raises:
        TypeError: if ``data`` is not bytes-like.
        StorageError: if the write or the rename fails, e.g. disk full (an ``OSError``; the
            old file, if any, is left intact).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    return _atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Args:
        path: destination file; missing parent directories are created.
        text: the text to write, written as UTF-8 without newline translation.

    Returns:
        The destination as a ``Path``.

    Raises:
        TypeError: if ``text`` is not a string.
        StorageError: if the write or the rename fails, e.g. disk full (an ``OSError``; the
            old file, if any, is left intact).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode("utf-8"))


def _float_to_json(value: float) -> float | str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def to_jsonable(obj: Any) -> Any:
    """Convert ``obj`` into plain JSON types (dict, list, str, int, float, bool, None).

    Handles numpy and torch scalars and arrays (as numbers and nested lists), tuples and sets
    (as lists), paths (as strings), dataclass instances (as dicts) and mappings with non-string
    keys (keys converted with ``str``). Non-finite floats become ``"nan"``, ``"inf"``, ``"-inf"``.

    Args:
        obj: the object to convert.

    Returns:
        A structure that ``json.dumps(..., allow_nan=False)`` accepts.

    Raises:
        TypeError: if some leaf has a type with no JSON counterpart.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return _float_to_json(float(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(obj, key=repr)]
    if isinstance(obj, torch.Tensor):
        return to_jsonable(obj.detach().cpu().tolist())
    if isinstance(obj, (np.ndarray, np.generic)):
        return to_jsonable(obj.tolist())
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    raise TypeError(f"cannot write a value of type {type(obj).__name__} as JSON: {obj!r}")


def _dumps(obj: Any, *, indent: int | None) -> str:
    return json.dumps(to_jsonable(obj), indent=indent, sort_keys=False, allow_nan=False)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON (indent 2, keys in insertion order) atomically.

    Args:
        path: destination file; missing parent directories are created.
        obj: anything ``to_jsonable`` accepts (numpy/torch values, NaN and inf included).

    Returns:
        The destination as a ``Path``.

    Raises:
        TypeError: if ``obj`` holds a value with no JSON counterpart (nothing is written).
        StorageError: if the write or the rename fails, e.g. disk full (an ``OSError``; the
            old file, if any, is left intact).
    """
    return atomic_write_text(path, _dumps(obj, indent=2) + "\n")


def atomic_write_jsonl(path: str | os.PathLike[str], records: Iterable[Any]) -> Path:
    """Write ``records`` as a JSON-lines file (one compact record per line) atomically.

    Args:
        path: destination file; missing parent directories are created.
        records: the records, each converted with ``to_jsonable``.

    Returns:
        The destination as a ``Path``.

    Raises:
        TypeError: if a record holds a value with no JSON counterpart (nothing is written).
        StorageError: if the write or the rename fails, e.g. disk full (an ``OSError``; the
            old file, if any, is left intact).
    """
    text = "".join(_dumps(r, indent=None) + "\n" for r in records)
    return atomic_write_text(path, text)


def atomic_torch_save(path: str | os.PathLike[str], obj: Any) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically.

    Args:
        path: destination file; missing parent directories are created.
        obj: anything ``torch.save`` accepts (state dicts, RNG states, lists of metrics).

    Returns:
        The destination as a ``Path``.

    Raises:
        StorageError: if the write or the rename fails, e.g. disk full (an ``OSError``; the
            old file, if any, is left intact).
    """
    return _atomic_write(path, lambda f: torch.save(obj, f))


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 text artifact.

    Args:
        path: the file.

    Returns:
        Its text (no newline translation).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ArtifactError: if it cannot be read or is not UTF-8; the message names it.
    """
    source = Path(path)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err)
        raise ArtifactError(f"cannot read {source}: {reason}", path=source) from err
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ArtifactError(
            f"{source} is not a UTF-8 text file (byte {err.start} is {data[err.start]:#04x}); "
            "it is corrupt or not an artifact of hopfield-lab",
            path=source,
        ) from err


def read_json(path: str | os.PathLike[str], *, expect: type | None = None) -> Any:
    """Read a JSON file.

    Args:
        path: the file to read.
        expect: the type the top-level value must have (``dict`` or ``list``); None accepts
            any. Default None.

    Returns:
        The decoded object (non-finite floats come back as the strings written for them).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ArtifactError: (a ``DataError``) if the file cannot be read, is not UTF-8, is not valid
            JSON, or its top-level value is not of type ``expect``; the message names the file.
    """
    source = Path(path)
    text = read_text(source)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        what = "is empty" if not text.strip() else f"is not valid JSON ({err})"
        raise ArtifactError(f"{source} {what}", path=source) from err
    if expect is not None and not isinstance(value, expect):
        raise ArtifactError(
            f"{source} holds a JSON {type(value).__name__}, expected a JSON "
            f"{'object' if expect is dict else expect.__name__}; it is not the artifact "
            "hopfield-lab wrote there",
            path=source,
        )
    return value


def _drop_partial_last_line(path: Path) -> None:
    """Truncate ``path`` after its last newline, removing a record cut short by a kill."""
    with path.open("rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        keep = f.read().rfind(b"\n") + 1  # 0 when the file holds only the partial line
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())


def append_jsonl(path: str | os.PathLike[str], record: Any) -> None:
    """Append one record as a single JSON line and fsync it.

    A partial last line left by an earlier kill is removed first, so that the new record starts
    on a line of its own.

    Args:
        path: the JSON-lines file; it and its parent directories are created if missing.
        record: the record, converted with ``to_jsonable``.

    Raises:
        TypeError: if the record holds a value with no JSON counterpart (nothing is written).
        StorageError: if the write fails (e.g. disk full); a partial line it may leave is
            removed by the next append or ignored by ``read_jsonl``.
    """
    line = _dumps(record, indent=None) + "\n"
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            _drop_partial_last_line(target)
        with target.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        raise _storage_error(target, err, "append to") from err


def read_jsonl(path: str | os.PathLike[str]) -> list[Any]:
    """Read a JSON-lines file, ignoring a truncated last line.

    Blank lines are skipped. A last line that does not decode is what a kill in the middle of
    ``append_jsonl`` leaves behind, so it is dropped; a bad line anywhere else is corruption and
    raises.

    Args:
        path: the file to read.

    Returns:
        The decoded records in file order.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ArtifactError: (a ``DataError``) if the file cannot be read or is not UTF-8, or a line
            other than the last one is not valid JSON; the message names the file and the line.
    """
    source = Path(path)
    lines = read_text(source).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    records: list[Any] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            if number == len(lines):
                break  # an append cut short by a kill
            raise ArtifactError(
                f"{source}, line {number}, is not valid JSON: {err}", path=source
            ) from err
    return records


def read_tensors(path: str | os.PathLike[str]) -> Any:
    """Load a file written by :func:`atomic_torch_save` holding tensors and plain values only
    (``torch.load(weights_only=True)``, on the CPU).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ArtifactError: if it cannot be read (truncated, corrupt, not a torch file, or holding
            objects other than tensors and plain values); the message names it.
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"no file at {source}")
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except Exception as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ArtifactError(f"{source} cannot be read ({reason[:200]})", path=source) from err


_ORPHAN_RE = re.compile(r"\..+\.tmp")


def remove_orphans(directory: str | os.PathLike[str]) -> tuple[int, int]:
    """Delete the temporaries (``.<name>.<random>.tmp``) that killed atomic writes left.

    Only call this while no other process writes under ``directory`` (the run directory's
    lock holder does): a live writer's temporary matches the same pattern.

    Args:
        directory: searched recursively; a missing directory holds nothing.

    Returns:
        ``(count, bytes)`` of the files removed.
    """
    root = Path(directory)
    if not root.is_dir():
        return 0, 0
    count = size = 0
    for dirpath, _, filenames in os.walk(root):
        for filename in filenames:
            if _ORPHAN_RE.fullmatch(filename):
                path = Path(dirpath) / filename
                with contextlib.suppress(OSError):
                    nbytes = path.stat().st_size
                    path.unlink()
                    count, size = count + 1, size + nbytes
    return count, size


_SAFE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_safe_name(label: str, value: Any) -> str:
    """Return ``value`` if it can be a file or directory name, else raise ConfigError.

    Allowed: a non-empty string of letters, digits, ``.``, ``_`` or ``-`` starting with a
    letter or digit.
    """
    if not isinstance(value, str) or not _SAFE_NAME_RE.fullmatch(value):
        raise ConfigError(
            f"{label} must be a non-empty string of letters, digits, '.', '_' or '-' starting "
            f"with a letter or digit (it becomes a file or directory name); got {value!r}"
        )
    return value
