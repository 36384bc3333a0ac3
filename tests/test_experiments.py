"""Experiment registry, typed overrides, run/skip/resume, and the retrieval smoke run."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import EXPERIMENTS, PROFILES, RunContext, run_experiment
from hopfield_lab.experiments.base import apply_overrides, resolve_config
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
    with pytest.raises(ConfigError, match="n_queries must be in"):
        resolve_config(exp, "demo", ["n_queries=100000"])
    with pytest.raises(ConfigError, match="betas must be a finite number > 0"):
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
    assert "data:image/png;base64" in html and "gap" in html
    # Prop. 3.2: no Picard trajectory raises the energy; Lemma 3.2.1: E >= 0
    theory = Table.from_csv(rd.tables_dir / "theory.csv")
    rows = {r[0]: r for r in theory.rows}
    increases = next(v for k, v in rows.items() if k.startswith("Picard trajectories"))
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
    import shutil

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
