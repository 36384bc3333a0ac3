"""Experiment registry, profiles and typed ``--set key=value`` overrides.

An experiment reproduces one paper table or figure. It is declared once, in its own file, with

* a frozen dataclass config whose ``__post_init__`` validates every field (errors name the field);
* three profiles: ``demo`` (about a minute on 2 CPU cores, what ``make demo`` runs), ``quick``
  (at most about 15 minutes on 2 CPU cores, enough to test the paper's qualitative claims) and
  ``paper`` (the paper's full protocol, for a GPU or a cluster);
* ``run(config, run_dir, ctx) -> dict``: computes, saves cells and other raw artifacts into
  the run directory and returns the summary numbers written to ``results.json``; it draws
  nothing;
* ``report(config, run_dir) -> None``: builds every table and figure from ``cells/`` and
  ``results.json`` alone, so ``hopfield-lab report DIR`` redraws without recomputing.

Configs derive from :class:`~hopfield_lab.experiments.fields.Config` and declare their
constraints on the fields (``Annotated[int, Min(1)]``); they are validated in one place.

:func:`run_experiment` resolves the config, creates ``<out>/<experiment>/<name>/``, skips a run
that already finished (its report is rebuilt), resumes an unfinished one (grids skip finished
cells, training restarts from its checkpoint) and writes ``report.html``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hopfield_lab.errors import ConfigError, check_choice
from hopfield_lab.experiments.fields import config_from_dict
from hopfield_lab.runs import RunDir, build_report
from hopfield_lab.runs.executor import EXECUTORS

__all__ = [
    "EXPERIMENTS",
    "PROFILES",
    "Experiment",
    "RunContext",
    "RunOutcome",
    "apply_overrides",
    "get_experiment",
    "parse_override",
    "register",
    "report_run",
    "resolve_config",
    "run_experiment",
]

PROFILES = ("demo", "quick", "paper")


@dataclass(frozen=True)
class RunContext:
    """How to run (not what to compute): never part of the config or of the results.

    Attributes:
        executor: grid executor, ``"local"`` or ``"ray"``.
        device: torch device string for the heavy tensors.
        progress: show progress bars.
    """

    executor: str = "local"
    device: str = "cpu"
    progress: bool = True


@dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes:
        name: CLI name, e.g. ``"retrieval"``.
        title: one line shown by ``hopfield-lab list``.
        paper: the source document and section, e.g. ``"notes ch. 3"``.
        figure: which table or figure it reproduces.
        config_cls: the frozen dataclass of its config.
        profiles: ``{"demo": cfg, "quick": cfg, "paper": cfg}``.
        runtime: expected wall time per profile on 2 CPU cores (or on a GPU for ``paper``).
        run: ``(config, run_dir, ctx) -> results dict`` (computes; draws nothing).
        report: ``(config, run_dir) -> None``: tables and figures from the saved artifacts.
    """

    name: str
    title: str
    paper: str
    figure: str
    config_cls: type
    profiles: Mapping[str, Any]
    runtime: Mapping[str, str]
    run: Callable[[Any, RunDir, RunContext], dict[str, Any]] = field(repr=False)
    report: Callable[[Any, RunDir], None] | None = field(default=None, repr=False)


EXPERIMENTS: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (names are unique; all three profiles required)."""
    if experiment.name in EXPERIMENTS:
        raise ConfigError(f"experiment {experiment.name!r} is registered twice")
    missing = [p for p in PROFILES if p not in experiment.profiles]
    if missing:
        raise ConfigError(f"experiment {experiment.name!r} lacks profiles {missing}")
    for profile, cfg in experiment.profiles.items():
        if not isinstance(cfg, experiment.config_cls):
            raise ConfigError(f"profile {profile!r} of {experiment.name!r} is not a config")
    EXPERIMENTS[experiment.name] = experiment
    return experiment


def get_experiment(name: str) -> Experiment:
    """Look up an experiment; unknown names list the registered ones."""
    _load_all()
    if name not in EXPERIMENTS:
        raise ConfigError(
            f"experiment must be one of {', '.join(sorted(EXPERIMENTS))}; got {name!r}"
        )
    return EXPERIMENTS[name]


def _load_all() -> None:
    import hopfield_lab.experiments  # noqa: F401  (imports every experiment module)


# --- overrides -------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(key: str, text: str, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in {"none", "null"} and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(key, text, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: cannot parse {text!r}")
    if origin is typing.Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise ConfigError(f"{key} must be one of {', '.join(repr(a) for a in args)}; got {text!r}")
    if origin is tuple:
        inner = args[0] if args else str
        items = [s.strip() for s in text.split(",") if s.strip()]
        if not items:
            raise ConfigError(f"{key} must be a comma-separated list; got {text!r}")
        return tuple(_convert(key, s, inner) for s in items)
    if tp is bool:
        low = text.lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
        raise ConfigError(f"{key} must be a boolean (true/false); got {text!r}")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{key} must be an integer; got {text!r}") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{key} must be a number; got {text!r}") from None
    if tp is str:
        return text
    raise ConfigError(f"{key}: overriding fields of type {tp} is not supported")


def parse_override(text: str) -> tuple[str, str]:
    """Split ``"key=value"``; raise ConfigError on anything else."""
    if "=" not in text or text.startswith("="):
        raise ConfigError(f"--set expects key=value; got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def apply_overrides(config: Any, overrides: Sequence[str], _prefix: str = "") -> Any:
    """Return ``config`` with ``key=value`` overrides applied, typed by the dataclass fields.

    Raises:
        ConfigError: unknown key (the message lists the valid keys), unparsable value, or a
            value rejected by the config's own validation.
    """
    hints = typing.get_type_hints(type(config))
    names = [f.name for f in dataclasses.fields(config)]
    changes: dict[str, Any] = {}
    nested: dict[str, list[str]] = {}
    for text in overrides:
        key, value = parse_override(text)
        head, dot, rest = key.partition(".")
        if head not in names:
            valid = ", ".join(_prefix + n for n in names)
            raise ConfigError(f"unknown config key {_prefix + key!r}; valid keys: {valid}")
        if dot:  # "pair.epochs=3" overrides a field of a nested config
            if not dataclasses.is_dataclass(hints[head]):
                raise ConfigError(f"config key {_prefix + head!r} has no sub-keys")
            nested.setdefault(head, []).append(f"{rest}={value}")
        else:
            changes[key] = _convert(_prefix + key, value, hints[key])
    for head, sub_overrides in nested.items():
        changes[head] = apply_overrides(getattr(config, head), sub_overrides, f"{_prefix}{head}.")
    try:
        return dataclasses.replace(config, **changes)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def resolve_config(experiment: Experiment, profile: str, overrides: Sequence[str] = ()) -> Any:
    """The profile's config with overrides applied."""
    check_choice("profile", profile, PROFILES)
    return apply_overrides(experiment.profiles[profile], overrides)


# --- running ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`run_experiment` did: the run directory, and whether it was already done."""

    run_dir: RunDir
    skipped: bool
    results: dict[str, Any]


def _default_name(profile: str, overrides: Sequence[str]) -> str:
    if not overrides:
        return profile
    digest = hashlib.sha1(json.dumps(sorted(overrides)).encode()).hexdigest()[:8]
    return f"{profile}-{digest}"


def run_experiment(
    name: str,
    profile: str = "demo",
    overrides: Sequence[str] = (),
    *,
    out: str | Path = "runs",
    run_name: str | None = None,
    force: bool = False,
    ctx: RunContext | None = None,
) -> RunOutcome:
    """Run (or resume, or skip) one experiment and write its artifacts and report.

    Args:
        name: registered experiment name.
        profile: ``demo``, ``quick`` or ``paper``.
        overrides: ``key=value`` strings applied to the profile's config.
        out: root of the run directories. Default ``runs``.
        run_name: directory name; default the profile, plus a hash of the overrides if any.
        force: wipe an existing run directory of the same name first.
        ctx: executor, device and progress settings.

    Returns:
        RunOutcome with the run directory, ``skipped`` (already complete) and the results.

    Raises:
        ConfigError: unknown experiment, profile or key; bad values; a config clash.
    """
    ctx = ctx or RunContext()
    check_choice("executor", ctx.executor, EXECUTORS)
    if ctx.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {ctx.device!r} requested but CUDA is not available; use 'cpu'")
    experiment = get_experiment(name)
    config = resolve_config(experiment, profile, overrides)
    resolved = {"experiment": name, "profile": profile, **dataclasses.asdict(config)}
    run_dir = RunDir.create(
        out, name, run_name or _default_name(profile, overrides), resolved, force=force
    )
    if run_dir.is_complete():
        report_run(run_dir, experiment, config)
        return RunOutcome(run_dir, True, run_dir.read_results())
    start = time.perf_counter()
    results = experiment.run(config, run_dir, ctx)
    results = {
        "experiment": name,
        "profile": profile,
        "wall_time_s": round(time.perf_counter() - start, 3),
        **results,
    }
    run_dir.write_results(results)
    report_run(run_dir, experiment, config)
    return RunOutcome(run_dir, False, run_dir.read_results())


def report_run(
    run_dir: RunDir | str | Path, experiment: Experiment | None = None, config: Any = None
) -> Path:
    """Redraw a run's tables and figures from its artifacts (no recomputation) and rebuild
    its ``report.html``.

    Args:
        run_dir: the run directory.
        experiment: its experiment (default: the one named in ``config.json``).
        config: its typed config (default: rebuilt from ``config.json``).

    Returns:
        The path of ``report.html``.

    Raises:
        ConfigError / DataError: an unknown experiment, or a config.json that does not fit.
    """
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    if experiment is None or config is None:
        stored = run.read_config()
        experiment = experiment or get_experiment(str(stored.get("experiment", run.experiment)))
        if config is None:
            config = config_from_dict(experiment.config_cls, stored)
    if experiment.report is not None and run.results_path.exists():
        experiment.report(config, run)
    return build_report(run.path)
