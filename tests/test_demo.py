"""``hopfield-lab demo``'s runner: worker processes give the runs one process gives."""

from __future__ import annotations

import json

import pytest

from hopfield_lab.errors import ConfigError, DivergenceError, HopfieldLabError
from hopfield_lab.experiments.demo import DemoFailure, demo_seconds, run_demos

FAST = ("idp-landscape", "idp-phase")


def _results(run_dir) -> dict:
    results = json.loads((run_dir / "results.json").read_text())
    return {k: v for k, v in results.items() if k not in ("wall_time_s", "timestamp")}


def test_workers_write_what_one_process_writes(tmp_path) -> None:
    seen: list[str] = []
    parallel = run_demos(
        FAST, tmp_path / "two", jobs=2, on_done=lambda r: seen.append(r.experiment)
    )
    assert [r.experiment for r in parallel] == list(FAST) and sorted(seen) == sorted(FAST)
    assert all(r.cpu_seconds > 0 and not r.skipped for r in parallel)
    (serial,) = run_demos(FAST[:1], tmp_path / "one", jobs=1)
    assert _results(serial.run_dir) == _results(parallel[0].run_dir)
    again = run_demos(FAST, tmp_path / "two", jobs=1)
    assert all(r.skipped for r in again)


def test_bad_jobs_and_names_rejected_before_running(tmp_path) -> None:
    with pytest.raises(ConfigError, match="jobs must be an integer >= 1; got 0"):
        run_demos(FAST, tmp_path, jobs=0)
    with pytest.raises(ConfigError, match="no-such"):
        run_demos(["no-such"], tmp_path, jobs=2)
    assert not any(tmp_path.iterdir())


def test_failures_keep_their_class() -> None:
    err = DemoFailure("x", "DivergenceError", "loss is nan", step=7).error()
    assert isinstance(err, DivergenceError) and err.step == 7 and str(err) == "x: loss is nan"
    assert isinstance(DemoFailure("x", "ConfigError", "bad").error(), ConfigError)
    other = DemoFailure("x", "DataError", "corrupt").error()
    assert type(other) is HopfieldLabError and "DataError" in str(other)


def test_registry_demo_runtimes_parse() -> None:
    assert demo_seconds("idp-phase") > 0
