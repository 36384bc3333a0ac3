"""Exceptions and argument checks shared by the whole package.

Every check raises with a message that names the parameter, the value received and what is
allowed, so that the CLI can print it as one line (exit code 2) and a library user can read it
without a traceback dive.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable
from typing import Any

__all__ = [
    "DEVICES",
    "MAX_INT",
    "ArtifactError",
    "ArtifactWarning",
    "CapabilityError",
    "ConfigError",
    "DataError",
    "DivergenceError",
    "HopfieldLabError",
    "RunLockedError",
    "StorageError",
    "check_choice",
    "check_device",
    "check_int",
    "check_positive",
    "check_probability",
    "check_range",
    "shown",
    "warn_artifact",
]


#: Largest integer accepted where no tighter bound is given: torch's and NumPy's int64.
MAX_INT = 2**63 - 1

#: Devices accepted by the CLI and the library: ``cpu``, ``cuda`` and ``cuda:<index>``.
DEVICES = ("cpu", "cuda", "cuda:<index>")


class HopfieldLabError(Exception):
    """Base class of every error raised on purpose by hopfield-lab."""


class ConfigError(HopfieldLabError, ValueError):
    """A parameter has a value outside what is allowed (a user error)."""


class CapabilityError(ConfigError):
    """A model was asked for a capability of the model contract it does not offer (an
    ``energy``, ``update``, ``vector_field`` or ``jacobian`` its mathematics does not define,
    or a generic call on an input-driven model that was not bound); see
    :mod:`hopfield_lab.core.dynamics`."""


class DataError(HopfieldLabError, ValueError):
    """A data file is missing or malformed."""


class ArtifactError(DataError):
    """A run artifact (``config.json``, ``results.json``, a cell, a table, a checkpoint,
    ``metrics.jsonl``) cannot be trusted: unreadable, not UTF-8, not valid JSON, truncated, or
    a file of another kind or another run. The message names the file.

    Attributes:
        path: the file, as a string.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str]) -> None:
        super().__init__(message)
        self.path = os.fspath(path)


class StorageError(HopfieldLabError, OSError):
    """Writing an artifact failed (disk full, quota, read-only file system, ...); the previous
    version of the file, if any, is left as it was. The message names the file and the cause.

    Attributes:
        path: the file that could not be written, as a string.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str], errno: int | None) -> None:
        super().__init__(message)
        self.path = os.fspath(path)
        self.errno = errno


class RunLockedError(HopfieldLabError):
    """Another live process holds the run directory's lock; nothing was written."""


class ArtifactWarning(UserWarning):
    """Something in a run directory was not believed and was dealt with: a corrupt cell or
    checkpoint recomputed, a stale lock taken over, orphaned temporaries removed. Shown as one
    line, ``warning: <message>``."""


def warn_artifact(message: str) -> None:
    """Emit ``message`` as an :class:`ArtifactWarning` (printed as one ``warning:`` line)."""
    warnings.warn(message, ArtifactWarning, stacklevel=2)


_plain_formatwarning = warnings.formatwarning


def _formatwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """One line for hopfield-lab's own warnings (no source location, no code line)."""
    if isinstance(category, type) and issubclass(category, ArtifactWarning):
        return f"warning: {message}\n"
    return _plain_formatwarning(message, category, filename, lineno, line)


warnings.formatwarning = _formatwarning
# Each one names a different file or event: show every occurrence, not the first per location.
warnings.filterwarnings("always", category=ArtifactWarning, append=True)


class DivergenceError(HopfieldLabError, FloatingPointError):
    """A trajectory or a training run left the finite range.

    Attributes:
        step: the (first) step index at which divergence was detected.
        samples: indices of the diverged samples in the batch (may be empty for training).
    """

    def __init__(self, message: str, *, step: int, samples: Iterable[int] = ()) -> None:
        super().__init__(message)
        self.step = int(step)
        self.samples = tuple(int(s) for s in samples)


_MAX_SHOWN = 80
"""Longest ``repr`` of a rejected value shown in a message (a 400-digit seed is cut)."""


def shown(value: Any) -> str:
    """``repr(value)``, cut to 80 characters (with the full length said) for messages."""
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails is still named by its type
        return f"<{type(value).__name__}>"
    if len(text) > _MAX_SHOWN:
        return f"{text[: _MAX_SHOWN - 20]}...{text[-8:]} ({len(text)} characters)"
    return text


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ConfigError listing them.

    Membership is by equality (``True`` is not ``1``, though); a value that cannot be compared
    (a tensor, an array) is not a choice.
    """
    options = list(choices)
    if not any(_same(value, c) for c in options):
        allowed = ", ".join(repr(c) for c in options)
        raise ConfigError(f"{name} must be one of {allowed}; got {shown(value)}")
    return value


def _same(value: Any, choice: Any) -> bool:
    if isinstance(value, bool) != isinstance(choice, bool):
        return False
    try:
        return bool(value == choice)
    except Exception:  # arrays and tensors compare elementwise
        return False


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    """A real number that is finite as a float (ints beyond float range are not)."""
    if not _is_real(value):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def check_range(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> Any:
    """Return ``value`` if it is a finite real number in the given interval, else raise."""
    lo_b = "[" if low_inclusive else "("
    hi_b = "]" if high_inclusive else ")"
    interval = f"{lo_b}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi_b}"
    if not _finite(value):
        raise ConfigError(f"{name} must be a finite number in {interval}; got {shown(value)}")
    bad_low = low is not None and (value < low if low_inclusive else value <= low)
    bad_high = high is not None and (value > high if high_inclusive else value >= high)
    if bad_low or bad_high:
        raise ConfigError(f"{name} must be in {interval}; got {shown(value)}")
    return value


def check_positive(name: str, value: Any) -> Any:
    """Return ``value`` if it is a finite number > 0."""
    if not _finite(value) or value <= 0:
        raise ConfigError(f"{name} must be a finite number > 0; got {shown(value)}")
    return value


def check_probability(name: str, value: Any) -> Any:
    """Return ``value`` if it lies in [0, 1]."""
    return check_range(name, value, 0.0, 1.0)


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` if it is an int (not bool) in [low, high].

    Without ``high``, the bound is ``2**63 - 1``: larger integers fit no torch or NumPy index
    and never reach them.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{name} must be an integer; got {shown(value)}")
    if high is None and value > MAX_INT:
        low_text = "-inf" if low is None else str(low)
        raise ConfigError(
            f"{name} must be an integer in [{low_text}, 2**63 - 1]; got {shown(value)}"
        )
    check_range(name, value, low, high)
    return value


def check_device(name: str, value: Any) -> str:
    """Return ``value`` if it names a usable torch device: ``cpu``, ``cuda`` or ``cuda:N``.

    ``cuda`` is refused on a machine without CUDA, ``cuda:N`` beyond the devices present.

    Raises:
        ConfigError: naming the parameter, the value and the allowed devices.
    """
    allowed = "'cpu', 'cuda' or 'cuda:<index>'"
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be {allowed}; got {shown(value)}")
    if value == "cpu":
        return value
    kind, colon, index = value.partition(":")
    if kind != "cuda" or (colon and not (index.isascii() and index.isdigit())):
        raise ConfigError(f"{name} must be {allowed}; got {shown(value)}")
    import torch  # here: errors.py is imported by everything and must stay light

    if not torch.cuda.is_available():
        raise ConfigError(
            f"{name} is {value!r} but CUDA is not available on this machine; use 'cpu'"
        )
    if index and int(index) >= torch.cuda.device_count():
        raise ConfigError(
            f"{name} is {value!r} but this machine has {torch.cuda.device_count()} CUDA "
            f"device(s): cuda:0..cuda:{torch.cuda.device_count() - 1}"
        )
    return value
