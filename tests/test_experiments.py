"""Experiment registry, typed overrides, run/skip/resume, and the retrieval smoke run."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from typing import Annotated

import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import EXPERIMENTS, PROFILES, RunContext, run_experiment
from hopfield_lab.experiments.base import apply_overrides, resolve_config
from hopfield_lab.experiments.fields import AtLeast, AtMost, Config, Min
from hopfield_lab.runs import Table

TINY = [
    "dataset=digits",
    "n_patterns=120",
    "n_queries=16",
    "betas=0.05,0.5",
    "noise_sigmas=0.3",
    "mask_fractions=0.5",
    "max_iter=100",
]
CTX = RunContext(progress=False)


def test_every_experiment_has_three_valid_profiles() -> None:
    assert EXPERIMENTS
    for exp in EXPERIMENTS.values():
        assert set(PROFILES) <= set(exp.profiles)
        assert set(PROFILES) <= set(exp.runtime)
        assert exp.paper and exp.figure and exp.title


@dataclass(frozen=True)
class _Cfg:
    n: int = 1
    x: float = 0.5
    flag: bool = False
    names: tuple[str, ...] = ("a",)
    levels: tuple[float, ...] = (1.0,)
    path: str = ""
    maybe: int | None = None

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"n must be >= 1; got {self.n}")


def test_overrides_are_typed_and_validated() -> None:
    cfg = apply_overrides(
        _Cfg(), ["n=3", "x=1e-3", "flag=true", "names=a,b", "levels=0.1, 0.2", "maybe=none"]
    )
    assert cfg == _Cfg(n=3, x=1e-3, flag=True, names=("a", "b"), levels=(0.1, 0.2))
    assert apply_overrides(_Cfg(), ["maybe=4"]).maybe == 4
    with pytest.raises(ConfigError, match="unknown config key 'm'; valid keys: n, x"):
        apply_overrides(_Cfg(), ["m=1"])
    with pytest.raises(ConfigError, match="n must be an integer; got '1.5'"):
        apply_overrides(_Cfg(), ["n=1.5"])
    with pytest.raises(ConfigError, match="flag must be a boolean"):
        apply_overrides(_Cfg(), ["flag=maybe"])
    with pytest.raises(ConfigError, match="n must be >= 1"):
        apply_overrides(_Cfg(), ["n=0"])
    with pytest.raises(ConfigError, match="--set expects key=value"):
        apply_overrides(_Cfg(), ["n"])


def test_retrieval_config_validation() -> None:
    exp = EXPERIMENTS["retrieval"]
    with pytest.raises(ConfigError, match="n_queries must be <= n_patterns = 1000"):
        resolve_config(exp, "demo", ["n_queries=100000"])
    with pytest.raises(ConfigError, match=r"betas\[1\] must be > 0"):
        resolve_config(exp, "demo", ["betas=0.1,-2"])
    with pytest.raises(ConfigError, match="profile must be one of"):
        resolve_config(exp, "huge")


@pytest.fixture(scope="module")
def retrieval_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return out, run_experiment("retrieval", "demo", TINY, out=out, ctx=CTX)


def test_retrieval_smoke_artifacts(retrieval_run) -> None:
    out, outcome = retrieval_run
    rd = outcome.run_dir
    assert not outcome.skipped and rd.is_complete()
    assert rd.path.parent.parent == out and rd.path.parent.name == "retrieval"
    config = json.loads(rd.config_path.read_text())
    assert config["dataset"] == "digits" and config["profile"] == "demo"
    for table in ("accuracy", "solvers", "theory"):
        assert (rd.tables_dir / f"{table}.csv").is_file()
        assert (rd.tables_dir / f"{table}.md").is_file()
    for fig in ("accuracy_vs_beta", "iterations_vs_beta", "energy_trajectories", "examples"):
        assert (rd.figures_dir / f"{fig}.png").stat().st_size > 1000
    html = rd.report_path.read_text()
    assert "data:image/png;base64" in html and "holds" in html
    # Prop. 3.2: no Picard trajectory raises the energy; Lemma 3.2.1: E >= 0
    theory = Table.from_csv(rd.tables_dir / "theory.csv")
    rows = {r[0]: r for r in theory.rows}
    increases = next(v for k, v in rows.items() if k.startswith("picard trajectories"))
    assert increases[2] == 0
    min_energy = next(v for k, v in rows.items() if k.startswith("minimum energy"))
    assert min_energy[2] >= 0
    bound = next(v for k, v in rows.items() if k.startswith("max E after one update"))
    assert bound[2] <= 1.0
    # at the larger beta most noisy digits are retrieved exactly
    results = outcome.results
    assert results["best_exact_accuracy"]["noise σ=0.3"] > 0.8


def test_rerun_skips_and_resume_after_kill(retrieval_run, tmp_path) -> None:
    out, first = retrieval_run
    again = run_experiment("retrieval", "demo", TINY, out=out, ctx=CTX)
    assert again.skipped and again.run_dir == first.run_dir
    # a clashing config under the same name is refused
    with pytest.raises(ConfigError, match="--name|--force"):
        run_experiment(
            "retrieval",
            "demo",
            [*TINY[:-1], "max_iter=50"],
            out=out,
            run_name=first.run_dir.name,
            ctx=CTX,
        )
    # simulate a kill after the first cell: resume computes only the missing cell
    rd = first.run_dir
    target = tmp_path / "copy"
    shutil.copytree(out, target)
    copy_dir = target / "retrieval" / rd.name
    (copy_dir / "results.json").unlink()
    cells = sorted((copy_dir / "cells").glob("*.json"))
    assert len(cells) == 2
    cells[1].unlink()
    kept = cells[0].read_text()
    resumed = run_experiment("retrieval", "demo", TINY, out=target, ctx=CTX)
    assert not resumed.skipped and resumed.run_dir.is_complete()
    assert cells[0].read_text() == kept  # the finished cell was not recomputed
    assert cells[1].is_file()


@dataclass(frozen=True)
class _Outer:
    inner: _Cfg = _Cfg()
    k: int = 0


def test_nested_overrides() -> None:
    cfg = apply_overrides(_Outer(), ["inner.n=4", "k=2", "inner.names=x,y"])
    assert cfg.inner.n == 4 and cfg.inner.names == ("x", "y") and cfg.k == 2
    with pytest.raises(ConfigError, match="unknown config key 'inner.zz'; valid keys: inner.n"):
        apply_overrides(_Outer(), ["inner.zz=1"])
    with pytest.raises(ConfigError, match="config key 'k' has no sub-keys"):
        apply_overrides(_Outer(), ["k.x=1"])


# ----------------------------------------------------------------- run / report split, registry
CW_TINY = [
    "sizes=8,16",
    "temperatures=0.5,1.5",
    "replicas=4",
    "burn_in=2",
    "n_samples=4",
    "free_energy_temperatures=0.8",
]


def test_report_redraws_a_finished_run_without_recomputing(tmp_path, monkeypatch) -> None:
    """Delete tables/ and figures/, call `hopfield-lab report DIR`: both come back, and neither
    a cell nor results.json is touched (the cell function would raise if it were called)."""
    from hopfield_lab.cli import main
    from hopfield_lab.experiments.notes import curie_weiss

    outcome = run_experiment("curie-weiss", "demo", CW_TINY, out=tmp_path, ctx=CTX)
    rd = outcome.run_dir
    tables = sorted(p.name for p in rd.tables_dir.iterdir())
    figures = sorted(p.name for p in rd.figures_dir.iterdir())
    assert "magnetization.csv" in tables and figures == ["free_energy.png", "magnetization.png"]
    frozen = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in rd.cells_dir.iterdir()}
    frozen[rd.results_path] = (rd.results_path.stat().st_mtime_ns, rd.results_path.read_bytes())
    shutil.rmtree(rd.tables_dir)
    shutil.rmtree(rd.figures_dir)

    def no_compute(cell):
        raise AssertionError("report recomputed a cell")

    monkeypatch.setattr(curie_weiss, "_cell", no_compute)
    assert main(["report", str(rd.path)]) == 0
    assert sorted(p.name for p in rd.tables_dir.iterdir()) == tables
    assert sorted(p.name for p in rd.figures_dir.iterdir()) == figures
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in frozen} == frozen
    # re-running the finished run redraws too (no --force needed) and still computes nothing
    (rd.figures_dir / "magnetization.png").unlink()
    again = run_experiment("curie-weiss", "demo", CW_TINY, out=tmp_path, ctx=CTX)
    assert again.skipped and (rd.figures_dir / "magnetization.png").is_file()
    # --force recomputes: the cells are written anew
    monkeypatch.undo()
    forced = run_experiment("curie-weiss", "demo", CW_TINY, out=tmp_path, force=True, ctx=CTX)
    assert not forced.skipped
    assert all(p.stat().st_mtime_ns > frozen[p][0] for p in rd.cells_dir.iterdir())


def test_report_says_which_protocol_and_leads_with_the_headline(tmp_path) -> None:
    outcome = run_experiment("curie-weiss", "demo", CW_TINY, out=tmp_path, ctx=CTX)
    about = json.loads(outcome.run_dir.about_path.read_text())
    assert about["profile"] == "demo" and about["paper"] == "notes"
    note = about["note"]
    assert "not the paper's protocol" in note
    assert "hopfield-lab run curie-weiss --profile paper" in note
    assert EXPERIMENTS["curie-weiss"].claim in note
    assert "overrides the profile's sizes, temperatures" in note
    assert about["tables"][0] == "magnetization"  # saved first: the headline
    assert Table.from_csv(outcome.run_dir.tables_dir / "magnetization.csv").headline
    page = outcome.run_dir.report_path.read_text()
    assert page.index("Headline") < page.index("Figures") < page.index("table-finite_size")
    assert ">nan<" not in page


MIGRATED = (
    *("binary-dynamics", "capacity", "curie-weiss", "detailed-balance", "mixture-states"),
    *("retrieval", "modern-beta-sweep", "modern-beta-recipe", "deephnn-mnist"),
    *("convhnn-denoise", "vhnn-jumps"),
    *("deq-residuals", "deq-table2"),
    *("idp-classification", "idp-glitch", "idp-noise", "idp-landscape", "idp-sequence"),
    *("idp-bifurcation", "idp-escape", "idp-phase"),
    *("finite-step-table1", "finite-step-energy", "finite-step-landscape"),
    *("mhn-geometry", "mhn-adversarial", "mhn-families"),
)


def test_migrated_experiments_follow_the_pattern() -> None:
    """Declarative configs (validated from their annotations), a report, the registry's claim,
    and no private imports from other experiments."""
    import dataclasses
    import importlib
    import inspect
    import pickle
    import re

    from hopfield_lab.experiments.fields import Config

    for name in MIGRATED:
        exp = EXPERIMENTS[name]
        assert issubclass(exp.config_cls, Config) and exp.report is not None
        assert exp.claim and exp.expected and set(exp.runtime) == set(PROFILES)
        module = importlib.import_module(exp.run.__module__)
        source = inspect.getsource(module)
        assert "__post_init__" not in source and "asdict(" not in source
        assert "matplotlib.pyplot" not in source  # figures go through runs.plots.figure
        cells = module._grid(exp.profiles["demo"])  # typed configs in cells, picklable for Ray
        typed = [v for c in cells.values() for v in c.values() if dataclasses.is_dataclass(v)]
        assert typed, name  # the config itself, or a typed spec built from it
        assert pickle.loads(pickle.dumps(cells)) == cells
        runtime = re.compile(r"~\s*\d+(\.\d+)?\s*(s|min|h)\b|\bhours\b|CPU time|wall\b")
        assert not runtime.search(module.__doc__ or ""), name  # runtimes live in the registry


def test_no_experiment_imports_another_experiments_private_names() -> None:
    import re
    from pathlib import Path

    import hopfield_lab.experiments as pkg

    root = Path(pkg.__file__).parent
    pattern = re.compile(r"from hopfield_lab\.experiments\.(\w+)\.(\w+) import (\([^)]*\)|[^\n]*)")
    offenders = []
    for path in root.rglob("*.py"):
        for paper, module, names in pattern.findall(path.read_text()):
            own = paper == path.parent.name and module.startswith("_")  # a paper's shared module
            private = re.findall(r"\b_\w+", names)
            if (private and not own) or (module.startswith("_") and not own):
                offenders.append(f"{path.name}: {paper}.{module} {private}")
    assert not offenders, offenders


@dataclass(frozen=True)
class _Steps(Config):
    steps: Annotated[int, Min(2)] = 10
    burn_in: Annotated[int, Min(0), AtMost("steps", -2)] = 8
    budget: Annotated[int, AtLeast("steps")] = 10


def test_bounds_by_another_field() -> None:
    """AtMost / AtLeast compare a field with another of the same config (plus an offset), after
    every field's own checks, with the one-line message naming both."""
    ok = _Steps()
    with pytest.raises(ConfigError, match=r"burn_in must be <= steps - 2 = 8; got 9"):
        replace(ok, burn_in=9)
    with pytest.raises(ConfigError, match=r"budget must be >= steps = 10; got 9"):
        replace(ok, budget=9)
    with pytest.raises(ConfigError, match=r"steps must be >= 2"):  # own checks first
        replace(ok, steps=1)
