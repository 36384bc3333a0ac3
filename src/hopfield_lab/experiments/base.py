"""Experiment registry, profiles, typed ``--set key=value`` overrides, and the run/report split.

An experiment reproduces one paper table or figure. It is one file under
``experiments/<paper>/``, declared once, in four parts:

* a config: a frozen dataclass deriving from :class:`~hopfield_lab.experiments.fields.Config`
  whose constraints sit on the fields (``Annotated[int, Min(1)]``) and are validated in one
  place; cross-field rules go in ``Config.check``;
* ``run(config, run_dir, ctx) -> dict``: computes. Grids go through
  :func:`~hopfield_lab.runs.run_cells` (resumable, Ray-ready): each cell receives the typed
  config itself (frozen dataclasses pickle; never ``asdict``) and returns a JSON dict saved as
  ``cells/<key>.json``. ``run`` returns the summary numbers written to ``results.json``. It
  draws nothing and writes no table;
* ``report(config, run_dir) -> None``: every table and figure from ``cells/`` and
  ``results.json`` alone (closed-form theory curves may be evaluated; nothing random, nothing
  slow). ``hopfield-lab report DIR`` calls it, so fixing a plot never recomputes; the headline
  table (the paper's claim) is saved first with ``headline=True``; bounds and inequalities are
  :func:`~hopfield_lab.runs.check_table` rows; figures go through
  :func:`~hopfield_lab.runs.plots.figure`;
* a :func:`register` call: names, the three profiles, and the one source of truth for what a
  reader may expect: ``runtime`` per profile, ``memory`` (measured peak memory per profile,
  where measured), ``claim`` (what the quick profile tests) and ``expected`` (what the quick
  profile gives). ``hopfield-lab list --markdown`` renders them as
  the README's table. Module docstrings give the command, the setting and the paper's numbers,
  not runtimes.

What is not the experiment's own lives in the library, and the experiment imports it: models in
``models/``, closed forms and mean-field equations in ``theory/``, diagnostics in ``analysis/``
(the one energy-rise rule is :func:`~hopfield_lab.analysis.energy_rises`), data helpers in
``data/`` (``mnist_tensors``, ``subset``), a paper's training protocol in ``training/``
(``training.deq_paper``). No experiment imports another's private names.

Profiles: ``demo`` (seconds, what ``make demo`` runs; sizes too small for the paper's claim),
``quick`` (minutes on 2 CPU cores; enough to test the claim) and ``paper`` (the paper's
protocol, for a GPU or a cluster). The report of a demo or quick run says so, and what to run
for the paper's protocol.

The pattern, in short (see ``experiments/notes/curie_weiss.py`` for a complete one)::

    @dataclass(frozen=True)
    class SizesConfig(Config):
        sizes: Annotated[tuple[int, ...], NonEmpty, Increasing, Min(2)] = (16, 64)
        sweeps: Annotated[int, Min(1)] = 50
        burn_in: Annotated[int, Min(0), AtMost("sweeps")] = 10   # a bound set by another field
        seed: Seed = 0

    def _grid(config):                                   # keys shared by run and report
        return {f"N={n}": {"config": config, "n": n} for n in config.sizes}

    def _cell(cell):                                     # module level: picklable for Ray
        config: SizesConfig = cell["config"]             # the typed config
        return {"n": cell["n"], "m": simulate(cell["n"], config.sweeps, config.seed)}

    def run(config, run_dir, ctx):
        cells = ctx.cells(_cell, _grid(config), run_dir)            # run_cells, resumable
        return {"max_m": max(c["m"] for c in cells.values())}       # -> results.json

    def report(config, run_dir):
        cells = [run_dir.load_cell(k) for k in _grid(config)]
        run_dir.save_table(check_table("claims", [at_most("m", ..., 0.1)], "...",
                                       headline=True))
        with figure(run_dir, "m_vs_n") as (fig, ax):
            ax.plot([c["n"] for c in cells], [c["m"] for c in cells], "o-", label="Glauber")

    register(name="sizes", ..., profiles={...}, runtime={...}, claim="...", expected="...",
             run=run, report=report)       # config_cls: the demo profile's class

:func:`run_experiment` resolves the config, creates ``<out>/<experiment>/<name>/`` (``name`` is
the profile, or ``<profile>-<8 hex digits of the --set overrides' SHA-1>``), skips a run that
already finished (its report is redrawn: no ``--force`` needed), resumes an unfinished one
(grids skip finished cells, training restarts from its checkpoint) and writes ``report.html``.
``--force`` deletes the run directory first: cells, checkpoints and all, for a recomputation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hopfield_lab.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    check_choice,
    check_device,
    shown,
    warn_artifact,
)
from hopfield_lab.experiments.fields import check_memory, config_from_dict, preflight_config
from hopfield_lab.runs import RunDir, atomic_write_json, build_report, run_cells
from hopfield_lab.runs.executor import EXECUTORS
from hopfield_lab.runs.io import check_safe_name
from hopfield_lab.runs.lock import run_lock

__all__ = [
    "EXPERIMENTS",
    "PAPERS",
    "PROFILES",
    "Experiment",
    "RunContext",
    "RunOutcome",
    "RunPlan",
    "apply_overrides",
    "check_out_dir",
    "get_experiment",
    "markdown_table",
    "ordered_experiments",
    "parse_override",
    "plan_run",
    "profile_cost",
    "profile_note",
    "register",
    "report_run",
    "resolve_config",
    "run_experiment",
    "sort_runs",
    "what_was_kept",
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

    def cells(
        self,
        fn: Callable[[dict[str, Any]], dict[str, Any]],
        grid: Mapping[str, dict[str, Any]],
        run_dir: RunDir,
    ) -> dict[str, dict[str, Any]]:
        """:func:`~hopfield_lab.runs.run_cells` with this context's executor and progress bar:
        run the grid's unfinished cells and return every cell's saved result, in grid order."""
        return run_cells(fn, grid, run_dir, executor=self.executor, progress=self.progress)


#: The papers, keyed by their subpackage of ``experiments/``: ``(title, source)``, the source
#: being the paper's file name under ``shared/papers/`` (without ``.md``). Reports and the README
#: group experiments by these, in this order.
PAPERS: dict[str, tuple[str, str]] = {
    "notes": ("Continuous Hopfield Networks (lecture notes)", "continuous-hopfield-networks-notes"),
    "finite_step": (
        "Deep Neural Networks as Finite-Step Hopfield Dynamics",
        "finite-step-hopfield-dynamics",
    ),
    "deq": (
        "Accelerating Hopfield Network Dynamics: Beyond Synchronous Updates and Forward Euler",
        "accelerating-hopfield-dynamics-deq",
    ),
    "mhn": ("Dynamics of Modern Hopfield Networks", "dynamics-of-modern-hopfield-networks"),
    "idp": (
        "A Dynamical Theory of Sequential Retrieval in Input-Driven Hopfield Networks",
        "sequential-retrieval-idp-hopfield",
    ),
}


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: the one place that says what it reproduces and what to expect.

    Attributes:
        name: CLI name, e.g. ``"retrieval"``.
        title: one line shown by ``hopfield-lab list`` and as the report's title.
        paper: the source and where in it, e.g.
            ``"continuous-hopfield-networks-notes, ch. 2, Sec. 2.2.1"``; the paper itself is the
            experiment's subpackage (:data:`PAPERS`).
        figure: which table or figure (or theorem) it reproduces.
        config_cls: the frozen dataclass of its config.
        profiles: ``{"demo": cfg, "quick": cfg, "paper": cfg}``.
        runtime: expected wall time per profile on 2 CPU cores (or on a GPU for ``paper``).
        memory: measured peak resident memory per profile, e.g. ``{"quick": "0.8 GiB"}``
            (the whole process: interpreter, torch and data included; measured with
            ``python -m hopfield_lab.benchmarks.memory NAME``). A profile nobody measured is
            left out rather than guessed. Default: none.
        run: ``(config, run_dir, ctx) -> results dict`` (computes; draws nothing).
        report: ``(config, run_dir) -> None``: tables and figures from the saved artifacts.
        claim: the paper's claim the quick profile tests, one sentence ("" if not stated yet).
        expected: what the quick profile gives (measured numbers), one sentence.
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
    claim: str = ""
    expected: str = ""
    memory: Mapping[str, str] = field(default_factory=dict)

    @property
    def group(self) -> str:
        """The paper's key in :data:`PAPERS`: the experiment's subpackage of ``experiments/``."""
        parts = self.run.__module__.split(".")
        return parts[-2] if len(parts) >= 2 else ""

    @property
    def paper_title(self) -> str:
        """The paper's full title (:data:`PAPERS`), or the subpackage's name when unknown."""
        return PAPERS.get(self.group, (self.group, ""))[0]

    @property
    def document(self) -> str:
        """The paper's source file under ``shared/papers/`` (without ``.md``), or ``""``."""
        return PAPERS.get(self.group, ("", ""))[1]

    @property
    def section(self) -> str:
        """Where in the paper: ``paper`` without a leading source file name."""
        head, _, rest = self.paper.partition(",")
        return rest.strip() if head.strip() == self.document else self.paper


EXPERIMENTS: dict[str, Experiment] = {}


def register(experiment: Experiment | None = None, /, **fields: Any) -> Experiment:
    """Add an experiment to the registry (names are unique; all three profiles required).

    Args:
        experiment: the :class:`Experiment`; or, instead, its fields as keywords, where
            ``config_cls`` may be left out: it is the class of the ``demo`` profile.

    Returns:
        The registered experiment.

    Raises:
        ConfigError: a name registered twice, a missing profile, a profile that is not a
            config of ``config_cls``, or a ``runtime`` or ``memory`` for an unknown profile.
    """
    if experiment is None:
        if "config_cls" not in fields and "demo" in fields.get("profiles", {}):
            fields["config_cls"] = type(fields["profiles"]["demo"])
        experiment = Experiment(**fields)
    elif fields:
        raise ConfigError("register takes an Experiment or its fields as keywords, not both")
    if experiment.name in EXPERIMENTS:
        raise ConfigError(f"experiment {experiment.name!r} is registered twice")
    missing = [p for p in PROFILES if p not in experiment.profiles]
    if missing:
        raise ConfigError(f"experiment {experiment.name!r} lacks profiles {missing}")
    for profile, cfg in experiment.profiles.items():
        if not isinstance(cfg, experiment.config_cls):
            raise ConfigError(f"profile {profile!r} of {experiment.name!r} is not a config")
    for what, per_profile in (("runtime", experiment.runtime), ("memory", experiment.memory)):
        unknown = [p for p in per_profile if p not in PROFILES]
        if unknown:
            raise ConfigError(
                f"{what} of {experiment.name!r} names unknown profiles {unknown}; "
                f"allowed: {', '.join(PROFILES)}"
            )
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


@dataclass(frozen=True)
class RunPlan:
    """A run checked and ready to start: nothing of it is on disk yet (:func:`plan_run`).

    Attributes:
        experiment: the experiment.
        profile: ``demo``, ``quick`` or ``paper``.
        config: the resolved, validated config.
        path: the run directory ``<out>/<experiment>/<name>`` (it may already exist: resume).
        ctx: executor, device and progress settings (validated).
    """

    experiment: Experiment
    profile: str
    config: Any
    path: Path
    ctx: RunContext


def check_out_dir(name: str, path: str | Path) -> Path:
    """Check that directories can be created at ``path`` (or that it is a writable directory),
    writing nothing that stays.

    The deepest part of ``path`` that exists must be a directory in which a directory can be
    made (tried: a probe directory is made and removed at once); the message says which part
    fails and why: a file on the way, a read-only or virtual file system (``/proc``), no
    permission.

    Args:
        name: the parameter's name for messages, e.g. ``"--out"``.
        path: the directory to be created (or reused).

    Returns:
        ``path`` as a Path.

    Raises:
        ConfigError: naming ``name``, the path and the part that fails.
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ConfigError(f"{name} must be a directory path; got {shown(path)}")
    target = Path(path)
    if "\x00" in str(target):
        raise ConfigError(f"{name} must not contain a NUL character; got {shown(str(path))}")
    probe = target.absolute()
    try:
        while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
            probe = probe.parent
    except OSError as exc:  # a name too long, a loop of links
        raise ConfigError(f"{name} {str(path)!r} cannot be used: {exc.strerror or exc}") from None
    if not probe.is_dir():
        kind = "a broken link" if probe.is_symlink() and not probe.exists() else "a file"
        where = "it" if probe == target.absolute() else f"its part {str(probe)!r}"
        raise ConfigError(
            f"{name} {str(path)!r} must be a directory that can be created, but {where} is "
            f"{kind}, not a directory"
        )
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".hopfield-lab-probe-", dir=probe))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"{name} {str(path)!r} must be a directory that can be created; cannot create "
            f"directories in {str(probe)!r} ({reason})"
        ) from None
    return target


def plan_run(
    name: str,
    profile: str = "demo",
    overrides: Sequence[str] = (),
    *,
    out: str | Path = "runs",
    run_name: str | None = None,
    ctx: RunContext | None = None,
) -> RunPlan:
    """Check everything a run needs before it starts, writing nothing.

    In order: the executor and device, the experiment, the profile and every override (types,
    ranges, cross-field rules), the memory the sizes imply (:func:`check_memory`), what must
    exist on this machine (a data file: :func:`preflight_config`), the run name and the output
    directory (:func:`check_out_dir`). A command refused here leaves nothing on disk.

    Args:
        as :func:`run_experiment`.

    Returns:
        A :class:`RunPlan`.

    Raises:
        ConfigError: the first check that fails, naming the parameter, the value and what is
            allowed.
    """
    ctx = ctx or RunContext()
    if not isinstance(ctx, RunContext):
        raise ConfigError(f"ctx must be a RunContext; got {type(ctx).__name__}")
    check_choice("executor", ctx.executor, EXECUTORS)
    check_device("device", ctx.device)
    experiment = get_experiment(name)
    config = resolve_config(experiment, profile, overrides)
    check_memory(config)
    preflight_config(config)
    run_name = _default_name(profile, overrides) if run_name is None else run_name
    check_safe_name("name", run_name)
    check_out_dir("out", out)
    return RunPlan(experiment, profile, config, Path(out) / name / run_name, ctx)


def what_was_kept(path: str | Path) -> str:
    """What an interrupted run left in its directory, as a sentence for the CLI."""
    run = Path(path)
    if not run.is_dir():
        return "nothing was written"
    if (run / "results.json").is_file():
        return f"the finished run is kept in {run}"
    cells = len(list((run / "cells").glob("*.json"))) if (run / "cells").is_dir() else 0
    ckpts = list(run.rglob("checkpoints/*.pt"))
    parts = [f"{cells} finished cell(s)"] if cells else []
    if ckpts:
        parts.append(f"{len(ckpts)} training checkpoint(s)")
    if not parts:
        return f"nothing was finished in {run}"
    return f"{' and '.join(parts)} are kept in {run}; run the same command again to resume"


def _missing_dirs(path: Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    probe = path.absolute()
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    return missing


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    oom = getattr(torch, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "can't allocate memory" in text or "out of memory" in text
    )


def run_experiment(
    name: str,
    profile: str = "demo",
    overrides: Sequence[str] = (),
    *,
    out: str | Path = "runs",
    run_name: str | None = None,
    force: bool = False,
    ctx: RunContext | None = None,
    plan: RunPlan | None = None,
) -> RunOutcome:
    """Run (or resume, or skip) one experiment and write its artifacts and report.

    Everything is checked first (:func:`plan_run`), so a bad value leaves nothing on disk.
    A user error met later (a data file that does not parse, a run that runs out of memory)
    removes the run directory again when this call created it, so that the corrected command
    is not refused as a clash with a half-made run.

    Args:
        name: registered experiment name.
        profile: ``demo``, ``quick`` or ``paper``.
        overrides: ``key=value`` strings applied to the profile's config.
        out: root of the run directories. Default ``runs``.
        run_name: directory name; default the profile, plus a hash of the overrides if any.
            Must be a safe file name (letters, digits, ``.``, ``_``, ``-``; not empty).
        force: delete an existing run directory of the same name first (cells and
            checkpoints too): a recomputation. Redrawing never needs it.
        ctx: executor, device and progress settings.
        plan: a :func:`plan_run` result to run instead of planning from the arguments above
            (the CLI plans first, to know the run directory). Default None.

    Returns:
        RunOutcome with the run directory, ``skipped`` (already complete) and the results.

    Raises:
        ConfigError: unknown experiment, profile or key; bad values; a config clash; a run
            that ran out of memory.
        DataError: a data file that cannot be read; :class:`~hopfield_lab.errors.ArtifactError`
            when it is the run directory's ``config.json``.
        RunLockedError: another live process works on the same run directory (nothing is
            written; see :mod:`hopfield_lab.runs.lock`).
        StorageError: an artifact could not be written (e.g. disk full); what was written
            before is intact and re-running resumes.
        DivergenceError: the computation left the finite range (the run directory is kept).
    """
    if plan is None:
        plan = plan_run(name, profile, overrides, out=out, run_name=run_name, ctx=ctx)
    experiment, config, ctx = plan.experiment, plan.config, plan.ctx
    resolved = {
        "experiment": experiment.name,
        "profile": plan.profile,
        **dataclasses.asdict(config),
    }
    created = _missing_dirs(plan.path)
    fresh = bool(created) or force
    try:
        with run_lock(plan.path):
            run_dir = RunDir.create(
                plan.path.parent.parent, experiment.name, plan.path.name, resolved, force=force
            )
            if run_dir.is_complete():
                report_run(run_dir, experiment, config)
                return RunOutcome(run_dir, True, run_dir.read_results())
            start = time.perf_counter()
            results = experiment.run(config, run_dir, ctx)
            results = {
                "experiment": experiment.name,
                "profile": plan.profile,
                "wall_time_s": round(time.perf_counter() - start, 3),
                **results,
            }
            run_dir.write_results(results)
            report_run(run_dir, experiment, config)
    except (ConfigError, DataError) as exc:
        if fresh:
            _remove_run(plan.path, created)
        raise exc from None
    except Exception as exc:
        if _is_out_of_memory(exc):
            if fresh:
                _remove_run(plan.path, created)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"the run ran out of memory ({first[:160]}); use smaller sizes in the config "
                f"(see `hopfield-lab config {experiment.name}`)"
            ) from None
        _note_run_dir(exc, plan.path)
        raise
    return RunOutcome(run_dir, False, run_dir.read_results())


def _remove_run(path: Path, created: list[Path]) -> None:
    """Remove a run directory this call made, and the empty parents it made for it."""
    shutil.rmtree(path, ignore_errors=True)
    for directory in created[1:]:  # deepest first; the run directory itself is gone
        try:
            directory.rmdir()
        except OSError:
            break  # not empty (another run) or gone: stop there


def _note_run_dir(exc: BaseException, path: Path) -> None:
    """Tell the CLI which run an unexpected error belongs to (its log goes there)."""
    with contextlib.suppress(AttributeError, TypeError):  # a type that takes no attributes
        exc.hopfield_lab_run_dir = str(path)  # type: ignore[attr-defined]


def profile_note(experiment: Experiment, profile: str, changed: Sequence[str] = ()) -> str:
    """The sentence a report shows under its title: which protocol its numbers come from.

    Args:
        experiment: the experiment.
        profile: ``demo``, ``quick`` or ``paper``.
        changed: config fields that differ from the profile (``--set`` overrides).

    Returns:
        For ``demo`` and ``quick``: that the numbers are not the paper's protocol, which claim
        the quick profile tests, and the command for the paper's protocol; for ``paper``: that
        it is the paper's protocol. Overrides are named.
    """
    paper_cmd = f"hopfield-lab run {experiment.name} --profile paper"
    paper_time = experiment.runtime.get("paper", "")
    paper_run = f"{paper_cmd}" + (f" ({paper_time})" if paper_time else "")
    claim = f" The quick profile tests: {experiment.claim}" if experiment.claim else ""
    if profile == "demo":
        quick_time = experiment.runtime.get("quick", "")
        text = (
            "Demo profile: sizes chosen to finish in seconds, to show that the pipeline works; "
            "its numbers are not the paper's protocol and need not match the paper."
            f"{claim} For that run hopfield-lab run {experiment.name} --profile quick"
            + (f" ({quick_time})" if quick_time else "")
            + f"; for the paper's protocol, {paper_run}."
        )
    elif profile == "quick":
        text = (
            "Quick profile: reduced sizes that test the paper's claim on 2 CPU cores; the "
            f"numbers are not the paper's protocol.{claim} For the paper's protocol, "
            f"{paper_run}."
        )
    else:
        text = "Paper profile: the paper's protocol."
    if changed:
        text += f" This run overrides the profile's {', '.join(changed)}."
    return text


def _changed_fields(experiment: Experiment, profile: str, config: Any) -> list[str]:
    base = experiment.profiles.get(profile)
    if base is None or not dataclasses.is_dataclass(config):
        return []
    return [
        f.name
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != getattr(base, f.name, None)
    ]


def report_run(
    run_dir: RunDir | str | Path, experiment: Experiment | None = None, config: Any = None
) -> Path:
    """Redraw a run's tables and figures from its artifacts (no recomputation) and rebuild
    its ``about.json`` and ``report.html``.

    Tables and figures that the experiment's ``report`` no longer writes (left by an older
    version) are removed, so the report shows exactly what the current code draws.

    Artifacts that cannot be read are reported, not believed: if ``config.json`` is unreadable
    or the experiment's ``report`` meets a corrupt or missing cell or ``results.json`` (an
    :class:`~hopfield_lab.errors.ArtifactError` or ``DataError``), a warning names the file,
    the tables and figures drawn before are kept, and ``report.html`` is rebuilt from what can
    be read, with the problem listed at the top (``about.json``'s ``"problems"``).

    Args:
        run_dir: the run directory.
        experiment: its experiment (default: the one named in ``config.json``).
        config: its typed config (default: rebuilt from ``config.json``).

    Returns:
        The path of ``report.html``.

    Raises:
        ConfigError: an unknown experiment, or a config.json that does not fit its config.
        ArtifactError: the report reads a key that the run's cells or ``results.json`` lack
            (artifacts of another version's layout); nothing is redrawn or removed.
        RunLockedError: another live process works on the run directory.
    """
    run = RunDir(run_dir.path if isinstance(run_dir, RunDir) else run_dir)  # fresh save record
    with run_lock(run.path):
        try:
            stored = run.read_config()
        except ArtifactError as err:
            warn_artifact(f"{err}; report.html is rebuilt from the other artifacts")
            return build_report(run.path)
        experiment = experiment or get_experiment(str(stored.get("experiment", run.experiment)))
        if config is None:
            config = config_from_dict(experiment.config_cls, stored)
        profile = str(stored.get("profile", ""))
        problems: list[str] = []
        if experiment.report is not None and run.results_path.exists():
            try:
                experiment.report(config, run)
            except DataError as err:  # an unreadable (ArtifactError) or missing artifact
                problems.append(f"tables and figures not redrawn: {err}")
                warn_artifact(f"{err}; the tables and figures drawn before are kept")
            except KeyError as err:  # readable artifacts of another layout than this report's
                raise ArtifactError(
                    f"{run.path}: this version's report of {experiment.name} reads {err}, which "
                    "the run's cells or results.json lack (a run made by another version of "
                    f"hopfield-lab?); redo it with `hopfield-lab run {experiment.name} --profile "
                    f"{profile or '...'} --name {run.path.name} --force`",
                    path=run.path,
                ) from err
            else:
                run.remove_unsaved()
        redrawn = experiment.report is not None and not problems
        atomic_write_json(
            run.about_path,
            {
                "experiment": experiment.name,
                "title": experiment.title,
                "paper": experiment.group,
                "paper_title": experiment.paper_title,
                "section": experiment.section,
                "figure": experiment.figure,
                "profile": profile,
                "note": profile_note(
                    experiment, profile, _changed_fields(experiment, profile, config)
                ),
                "tables": run.saved_tables if redrawn else None,
                "figures": run.saved_figures if redrawn else None,
                "problems": problems,
            },
        )
        return build_report(run.path)


def ordered_experiments() -> list[Experiment]:
    """Every registered experiment, grouped by paper (:data:`PAPERS` order), then by name."""
    _load_all()
    rank = {key: i for i, key in enumerate(PAPERS)}
    return sorted(EXPERIMENTS.values(), key=lambda e: (rank.get(e.group, len(rank)), e.name))


def sort_runs(run_dirs: Sequence[str | Path]) -> list[Path]:
    """Run directories in report order: by paper and experiment (as :func:`ordered_experiments`),
    then by run name; runs of unknown experiments last."""
    rank = {e.name: i for i, e in enumerate(ordered_experiments())}
    paths = [Path(p) for p in run_dirs]
    return sorted(paths, key=lambda p: (rank.get(p.parent.name, len(rank)), p.parent.name, p.name))


def profile_cost(experiment: Experiment, profile: str) -> str:
    """What a profile costs, as the registry states it: ``"~1 min, peak 0.8 GiB"``.

    Args:
        experiment: the experiment.
        profile: ``demo``, ``quick`` or ``paper``.

    Returns:
        The runtime, followed by the peak memory where one was measured; ``""`` when the
        registry states neither.
    """
    runtime = experiment.runtime.get(profile, "")
    memory = experiment.memory.get(profile, "")
    return ", ".join(x for x in (runtime, f"peak {memory}" if memory else "") if x)


def markdown_table() -> str:
    """The README's experiment table, generated from the registry (``list --markdown``)."""
    lines = [
        "| experiment | reproduces | demo | quick | the quick profile |",
        "|---|---|---|---|---|",
    ]
    paper = None
    for e in ordered_experiments():
        if e.group != paper:
            paper = e.group
            source = f" (`{e.document}.md`)" if e.document else ""
            lines.append(f"| **{e.paper_title}**{source} | | | | |")
        where = "; ".join(x for x in (e.section, e.figure) if x)
        parts = [
            f"*Tests:* {e.claim}" if e.claim else "",
            f"*Gives:* {e.expected}" if e.expected else "",
        ]
        result = " ".join(p for p in parts if p) or "—"
        cells = [
            f"`{e.name}`",
            f"{e.title} ({where})",
            e.runtime.get("demo", "—"),
            profile_cost(e, "quick") or "—",
            result,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
