"""Declarative constraints on experiment config fields, validated in one place.

A config is a frozen dataclass deriving from :class:`Config`; each field states its constraints
in its type with ``typing.Annotated``::

    @dataclass(frozen=True)
    class CurieWeissConfig(Config):
        sizes: Annotated[tuple[int, ...], NonEmpty, Range(2, 100_000)] = (16, 64, 256)
        temperatures: Annotated[tuple[float, ...], NonEmpty, Positive] = (0.6, 1.0)
        J: Annotated[float, Positive] = 1.0
        replicas: Annotated[int, Min(2)] = 32
        seed: Seed = 0

:meth:`Config.__post_init__` checks every field against its type (``int``, ``float``, ``bool``,
``str``, ``Literal``, tuples of those, nested configs, ``X | None``) and its constraints, and
raises :class:`~hopfield_lab.errors.ConfigError` naming the field, the value and what is
allowed. Scalar constraints (:class:`Range`, :class:`Min`, :class:`Positive`, ...) apply to
each element of a tuple; collection constraints (:class:`NonEmpty`, :class:`Increasing`,
:class:`Unique`) to the tuple as a whole. A bound by another field of the same config is
:class:`AtMost` / :class:`AtLeast` (``check_every: Annotated[int, Min(1), AtMost("n_sweeps")]``),
checked after every field's own checks. A config class may add other cross-field checks by
overriding :meth:`Config.check` (called last).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from hopfield_lab.errors import MAX_INT, ConfigError, shown

__all__ = [
    "AtLeast",
    "AtMost",
    "Choice",
    "Config",
    "Constraint",
    "Increasing",
    "Max",
    "Min",
    "MnistPath",
    "NonEmpty",
    "NonNegative",
    "Positive",
    "Preflight",
    "Probability",
    "Range",
    "Seed",
    "Unique",
    "check_memory",
    "config_from_dict",
    "physical_memory",
    "preflight_config",
    "validate_config",
]

#: Largest seed accepted: what both ``torch.manual_seed`` and NumPy's ``default_rng`` take
#: without wrapping (and what survives the seed arithmetic of grids).
MAX_SEED = 2**32 - 1


class Constraint:
    """A check on one value (a scalar, or a whole tuple when ``whole`` is True)."""

    whole: ClassVar[bool] = False

    def check(self, name: str, value: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def _fmt(x: float) -> str:
    """A bound as people write it: integers without a decimal point, others by ``repr``."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else repr(float(x))


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    """A number finite as a float (an int beyond the float range is not)."""
    try:
        return _num(value) and math.isfinite(float(value))
    except OverflowError:
        return False


@dataclass(frozen=True)
class Range(Constraint):
    """``low <= value <= high`` (bounds optional; ``open_low``/``open_high`` make them strict)."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def describe(self) -> str:
        if self.high is None and self.low is not None:
            return f"{'>' if self.open_low else '>='} {_fmt(self.low)}"
        if self.low is None and self.high is not None:
            return f"{'<' if self.open_high else '<='} {_fmt(self.high)}"
        lo = "(" if self.open_low else "["
        hi = ")" if self.open_high else "]"
        low = "-inf" if self.low is None else _fmt(self.low)
        high = "inf" if self.high is None else _fmt(self.high)
        return f"in {lo}{low}, {high}{hi}"

    def check(self, name: str, value: Any) -> None:
        if not _finite(value):
            raise ConfigError(
                f"{name} must be a finite number {self.describe()}; got {shown(value)}"
            )
        bad_lo = self.low is not None and (value <= self.low if self.open_low else value < self.low)
        bad_hi = self.high is not None and (
            value >= self.high if self.open_high else value > self.high
        )
        if bad_lo or bad_hi:
            raise ConfigError(f"{name} must be {self.describe()}; got {shown(value)}")


def Min(low: float) -> Range:
    """``value >= low``."""
    return Range(low=low)


def Max(high: float) -> Range:
    """``value <= high``."""
    return Range(high=high)


Positive = Range(low=0, open_low=True)
"""``value > 0``."""
NonNegative = Range(low=0)
"""``value >= 0``."""
Probability = Range(low=0, high=1)
"""``0 <= value <= 1``."""


@dataclass(frozen=True)
class Choice(Constraint):
    """``value`` is one of ``options`` (prefer ``Literal`` in the type where it fits)."""

    options: tuple[Any, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def check(self, name: str, value: Any) -> None:
        if value not in self.options:
            raise ConfigError(f"{name} must be {self.describe()}; got {shown(value)}")


@dataclass(frozen=True)
class _NonEmpty(Constraint):
    whole: ClassVar[bool] = True

    def describe(self) -> str:
        return "non-empty"

    def check(self, name: str, value: Any) -> None:
        if len(value) == 0:
            raise ConfigError(f"{name} must not be empty; got {tuple(value)!r}")


@dataclass(frozen=True)
class _Increasing(Constraint):
    whole: ClassVar[bool] = True
    strict: bool = True

    def describe(self) -> str:
        return "strictly increasing" if self.strict else "non-decreasing"

    def check(self, name: str, value: Any) -> None:
        pairs = list(itertools.pairwise(value))
        if any((b <= a) if self.strict else (b < a) for a, b in pairs):
            raise ConfigError(f"{name} must be {self.describe()}; got {tuple(value)!r}")


@dataclass(frozen=True)
class _Unique(Constraint):
    whole: ClassVar[bool] = True

    def describe(self) -> str:
        return "without repeats"

    def check(self, name: str, value: Any) -> None:
        if len(set(value)) != len(value):
            raise ConfigError(f"{name} must not repeat a value; got {tuple(value)!r}")


@dataclass(frozen=True)
class AtMost(Constraint):
    """``value <= config.<other> + offset``: a bound set by another field of the same config.

    Attributes:
        other: the other field's name. offset: added to its value. Default 0.
    """

    other: str
    offset: float = 0

    def bound(self, config: Any) -> float:
        """The bound for this config: the other field's value plus ``offset``."""
        return getattr(config, self.other) + self.offset

    def describe(self) -> str:
        shift = (
            f" {'+' if self.offset > 0 else '-'} {_fmt(abs(self.offset))}" if self.offset else ""
        )
        return f"<= {self.other}{shift}"

    def check(self, name: str, value: Any) -> None:  # pragma: no cover - needs the config
        raise NotImplementedError("AtMost is checked by validate_config against the config")

    def check_in(self, name: str, value: Any, config: Any) -> None:
        """Raise ConfigError unless ``value`` satisfies the bound within ``config``."""
        if value > self.bound(config):
            raise ConfigError(
                f"{name} must be {self.describe()} = {self.bound(config)}; got {value!r}"
            )


@dataclass(frozen=True)
class AtLeast(AtMost):
    """``value >= config.<other> + offset`` (see :class:`AtMost`)."""

    def describe(self) -> str:
        return ">" + super().describe()[1:]

    def check_in(self, name: str, value: Any, config: Any) -> None:
        if value < self.bound(config):
            raise ConfigError(
                f"{name} must be {self.describe()} = {self.bound(config)}; got {value!r}"
            )


NonEmpty = _NonEmpty()
"""A tuple (or string) with at least one element."""
Increasing = _Increasing()
"""A strictly increasing tuple."""
Unique = _Unique()
"""A tuple without repeated values."""

Seed = Annotated[int, Range(0, MAX_SEED)]
"""A random seed: an int in ``[0, 2**32 - 1]``."""


class Preflight(Constraint):
    """A check made when a run starts, not when a saved config is read back.

    For what depends on the machine rather than on the config (a data file must exist): a
    config saved by a finished run stays readable by ``report`` after the file has moved.
    :func:`preflight_config` applies these; :func:`validate_config` skips them.
    """


@dataclass(frozen=True)
class _MnistFile(Preflight):
    def describe(self) -> str:
        return "an MNIST .npz, .pkl[.gz] or IDX directory ('' = the bundled copy)"

    def check(self, name: str, value: Any) -> None:
        from hopfield_lab.data.mnist import check_mnist_path  # data imports nothing from here
        from hopfield_lab.errors import DataError

        try:
            check_mnist_path(value)
        except DataError as exc:
            raise ConfigError(f"{name}: {exc}") from None


MnistPath = Annotated[str, _MnistFile()]
"""A path to MNIST for :func:`~hopfield_lab.data.load_mnist` (``""``: the bundled copy),
checked to exist with a supported type before a run starts."""


# ------------------------------------------------------------------------------ validation
def _strip(tp: Any) -> tuple[Any, list[Constraint]]:
    """``(base type, constraints)`` of a possibly ``Annotated`` type."""
    if typing.get_origin(tp) is Annotated:
        base, *meta = typing.get_args(tp)
        inner, more = _strip(base)
        return inner, [m for m in meta if isinstance(m, Constraint)] + more
    return tp, []


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _check_type(name: str, value: Any, tp: Any) -> None:
    """Raise ConfigError unless ``value`` fits the (un-annotated) type ``tp``."""
    tp, constraints = _strip(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                _check_type(name, value, arg)
                break
            except ConfigError as exc:
                errors.append(str(exc))
        else:
            raise ConfigError(errors[0] if errors else f"{name}: unexpected value {shown(value)}")
    elif origin is typing.Literal:
        if value not in args or type(value) is not type(args[args.index(value)]):
            raise ConfigError(
                f"{name} must be one of {', '.join(repr(a) for a in args)}; got {shown(value)}"
            )
    elif origin is tuple:
        if not isinstance(value, tuple):
            raise ConfigError(f"{name} must be a tuple; got {type(value).__name__} {shown(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            for i, item in enumerate(value):
                _check_type(f"{name}[{i}]", item, args[0])
        elif args:
            if len(args) != len(value):
                raise ConfigError(f"{name} must have {len(args)} entries; got {shown(value)}")
            for i, (item, arg) in enumerate(zip(value, args, strict=True)):
                _check_type(f"{name}[{i}]", item, arg)
    elif tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be a boolean; got {shown(value)}")
    elif tp is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{name} must be an integer; got {shown(value)}")
    elif tp is float:
        if not _num(value):
            raise ConfigError(f"{name} must be a number; got {shown(value)}")
        if not _finite(value) and not any(isinstance(c, Range) for c in constraints):
            raise ConfigError(f"{name} must be a finite number; got {shown(value)}")
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string; got {shown(value)}")
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, tp):
            raise ConfigError(f"{name} must be a {_type_name(tp)}; got {type(value).__name__}")
        validate_config(value, prefix=f"{name}.")
    _apply(name, value, constraints)  # first: a field's own range says more than int64's
    if tp is int and not -MAX_INT - 1 <= value <= MAX_INT:  # no int beyond int64 reaches torch
        raise ConfigError(f"{name} must be an integer in [-2**63, 2**63 - 1]; got {shown(value)}")


def _apply(
    name: str, value: Any, constraints: list[Constraint], *, preflight: bool = False
) -> None:
    for c in constraints:
        if isinstance(c, Preflight) != preflight:
            continue
        if isinstance(c, AtMost):
            continue  # needs the whole config: validate_config checks it last
        if c.whole or not isinstance(value, tuple):
            c.check(name, value)
        else:
            for i, item in enumerate(value):
                c.check(f"{name}[{i}]" if len(value) > 1 else name, item)


def validate_config(config: Any, *, prefix: str = "") -> None:
    """Check every field of a dataclass config against its annotated type and constraints.

    Raises:
        ConfigError: naming the first field (``prefix`` + name) that fails, its value and what
            is allowed.
    """
    hints = typing.get_type_hints(type(config), include_extras=True)
    fields = [f for f in dataclasses.fields(config) if f.init]
    for f in fields:
        _check_type(prefix + f.name, getattr(config, f.name), hints[f.name])
    for f in fields:  # bounds set by other fields, once every field is known to be valid
        for c in _strip(hints[f.name])[1]:
            if isinstance(c, AtMost):
                c.check_in(prefix + f.name, getattr(config, f.name), config)


def preflight_config(config: Any, *, prefix: str = "") -> None:
    """Apply the :class:`Preflight` checks of a config (nested configs too): what must hold on
    this machine for a run to start (a data file exists).

    Raises:
        ConfigError: naming the field that fails.
    """
    hints = typing.get_type_hints(type(config), include_extras=True)
    for f in dataclasses.fields(config):
        if not f.init:
            continue
        value = getattr(config, f.name)
        _, constraints = _strip(hints[f.name])
        _apply(prefix + f.name, value, constraints, preflight=True)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            preflight_config(value, prefix=f"{prefix}{f.name}.")


#: What a config's :meth:`Config.memory` returns: ``{field: (bytes, what they hold)}``.
MemoryEstimate = dict[str, tuple[float, str]]


@dataclass(frozen=True)
class Config:
    """Base of experiment configs: field constraints are validated on construction.

    Subclasses are frozen dataclasses; override :meth:`check` for rules that tie fields
    together (raise ``ConfigError`` naming the fields), and :meth:`memory` where a size field
    drives a large allocation, so that a size the machine cannot hold is refused before a run
    starts (:func:`check_memory`) instead of failing inside torch.
    """

    def __post_init__(self) -> None:
        validate_config(self)
        self.check()

    def check(self) -> None:
        """Cross-field rules (none by default)."""

    def memory(self) -> MemoryEstimate:
        """The largest memory the run needs at once, by the field that drives it.

        Returns:
            ``{field name: (bytes, what they hold)}``, e.g.
            ``{"sizes": (8 * N**2, "the N x N couplings at N = 100000, float64")}``; an
            estimate may be rough (within a small factor) but never an overestimate by orders
            of magnitude. Default ``{}`` (nothing large).
        """
        return {}


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine, or None where the OS does not say."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
    return int(pages) * int(size) if pages > 0 and size > 0 else None


def _human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def _as_typed(value: Any) -> str:
    """A field's value as typed on the command line (tuples comma-separated)."""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def check_memory(config: Any, limit: float | None = None) -> None:
    """Refuse a config whose :meth:`Config.memory` estimate exceeds the machine's memory.

    Args:
        config: a config (objects without ``memory`` pass).
        limit: bytes allowed. Default: the physical memory (:func:`physical_memory`; no check
            where unknown).

    Raises:
        ConfigError: naming the field, its value, the memory it implies and the limit.
    """
    estimate = getattr(config, "memory", None)
    if not callable(estimate):
        return
    limit = physical_memory() if limit is None else limit
    if limit is None:
        return
    for name, (nbytes, what) in estimate().items():
        if nbytes > limit:
            value = _as_typed(getattr(config, name, "?"))
            value = value if len(value) <= 60 else f"{value[:50]}..."
            raise ConfigError(
                f"{name}={value} implies about {_human_bytes(nbytes)} of memory "
                f"({what}), more than the {_human_bytes(limit)} of this machine; lower {name}"
            )


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a typed config from its JSON form (``config.json``: lists back to tuples,
    nested dicts back to nested configs); keys that are not fields (``experiment``,
    ``profile``) are ignored.

    Raises:
        ConfigError: a missing or malformed field (the config's own validation runs).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"a config must be a JSON object; got {type(data).__name__}")
    hints = typing.get_type_hints(cls, include_extras=True)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.name not in data:
            continue
        kwargs[f.name] = _from_json(data[f.name], hints[f.name])
        # the types first, for configs that validate by hand (not Config subclasses) too
        _check_type(f.name, kwargs[f.name], hints[f.name])
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot rebuild {cls.__name__} from its JSON: {exc}") from None


def _from_json(value: Any, tp: Any) -> Any:
    tp, _ = _strip(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        for arg in (a for a in args if a is not type(None)):
            if (typing.get_origin(_strip(arg)[0]) is tuple and isinstance(value, list)) or (
                dataclasses.is_dataclass(_strip(arg)[0]) and isinstance(value, dict)
            ):
                return _from_json(value, arg)
        return value
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_json(v, args[0]) for v in value)
        return tuple(_from_json(v, a) for v, a in zip(value, args, strict=False))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type) and isinstance(value, dict):
        return config_from_dict(tp, value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range: the check names the field
            return value
    return value
