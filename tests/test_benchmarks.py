"""Benchmarks at the tiny size: structure, equivalences and errors (no timing assertions)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from hopfield_lab.benchmarks import (
    BENCHMARKS,
    BenchResult,
    Timing,
    bench_profile,
    format_results,
    ratio,
    run_benchmarks,
    time_fn,
    time_fns,
)
from hopfield_lab.benchmarks.common import TINY_ENV_VAR, machine_info, torch_threads
from hopfield_lab.benchmarks.fixed_point import EQUAL_CALLS, linear_problem
from hopfield_lab.errors import ConfigError

NAMES = ("anderson-vs-picard", "anderson-vs-torchdeq", "euler-rk4-vs-torchdiffeq")


@pytest.fixture(scope="module")
def tiny_run() -> dict:
    """All benchmarks once at the tiny size, shared by the tests below (marked slow: this one
    fixture took a third of the default suite's time)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TINY_ENV_VAR, "1")
        pytest.importorskip("torchdeq")
        threads = torch.get_num_threads()
        out = run_benchmarks(None, quick=True)
        assert torch.get_num_threads() == threads  # restored
    return out


def _result(run: dict, name: str) -> dict:
    return next(r for r in run["results"] if r["name"] == name)


def test_registry_names() -> None:
    assert set(NAMES) <= set(BENCHMARKS)


@pytest.mark.slow
def test_results_have_rows_and_finite_positive_ratios(tiny_run: dict) -> None:
    assert tiny_run["settings"]["profile"] == "tiny" and tiny_run["settings"]["threads"] == 1
    assert [r["name"] for r in tiny_run["results"]] == list(BENCHMARKS)
    for res in tiny_run["results"]:
        assert res["rows"], res["name"]
        assert res["ratios"], res["name"]
        assert res["notes"], res["name"]
        for key, value in res["ratios"].items():
            assert math.isfinite(value) and value > 0, (res["name"], key, value)
        keys = list(res["rows"][0])
        assert all(list(row) == keys for row in res["rows"])
    json.dumps(tiny_run)  # JSON-ready


@pytest.mark.slow
def test_anderson_and_picard_agree_at_contraction_betas(tiny_run: dict) -> None:
    rows = _result(tiny_run, "anderson-vs-picard")["rows"]
    small = [r for r in rows if r["beta"] <= 0.03]
    assert small
    for row in small:
        assert row["nc_p"] == 0 and row["nc_a"] == 0
        assert row["agree"] >= 0.9, row
        assert row["it_a_mean"] <= row["it_p_mean"]
    for row in rows:
        assert row["it_p_max"] <= 1000 and row["it_a_max"] <= 1000


@pytest.mark.slow
def test_torchdeq_rows_solve_the_same_problem(tiny_run: dict) -> None:
    rows = _result(tiny_run, "anderson-vs-torchdeq")["rows"]
    assert {r["problem"] for r in rows} == {"hopfield", "linear"}
    assert {r["mode"] for r in rows} == {"to tol", "equal calls"}
    for row in rows:
        if row["mode"] == "equal calls":  # the same budget of map calls for every solver
            assert row["nfe"] == EQUAL_CALLS and row["diff_ours"] < 1e-2, row
            continue
        assert row["not_conv"] == 0, row
        assert row["res_max"] < 1e-5, row  # every solver really found a fixed point
        assert row["diff_ours"] < 1e-3, row
        if row["problem"] == "linear":
            # |x - x*| <= |f(x) - x| / (1 - 0.97): relative error a few 1e-5 at tol 1e-6
            assert row["err_max"] < 1e-4, row
        else:
            assert row["err_max"] is None
    ratios = _result(tiny_run, "anderson-vs-torchdeq")["ratios"]
    assert {f"equal calls: time ours/torchdeq {p}" for p in ("hopfield", "linear")} <= set(ratios)


@pytest.mark.slow
def test_ode_states_and_gradients_agree(tiny_run: dict) -> None:
    rows = _result(tiny_run, "euler-rk4-vs-torchdiffeq")["rows"]
    assert len(rows) == 2 * 2 * 2  # flows x methods x modes
    for row in rows:
        assert row["x_rel"] < 1e-5, row
        if row["mode"] == "forward+backward":
            assert row["grad_rel"] is not None and row["grad_rel"] < 1e-5, row
        else:
            assert row["grad_rel"] is None


@pytest.mark.slow
def test_format_results_prints_every_benchmark(tiny_run: dict) -> None:
    text = format_results(tiny_run)
    assert text.startswith("machine: ")
    for name in NAMES:
        assert f"== {name}" in text
    assert "ratios:" in text and "to tol: time torchdeq(lam=1e-4)/ours linear" in text


def test_unknown_benchmark_name_raises_listing_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown benchmark.*'nope'.*anderson-vs-picard"):
        run_benchmarks(["nope"])
    with pytest.raises(ConfigError, match="list of benchmark names"):
        run_benchmarks("anderson-vs-picard")  # type: ignore[arg-type]


def test_bad_device_raises() -> None:
    with pytest.raises(ConfigError, match="device"):
        run_benchmarks([], device="not-a-device")


def test_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TINY_ENV_VAR, raising=False)
    assert bench_profile(True) == "quick" and bench_profile(False) == "full"
    monkeypatch.setenv(TINY_ENV_VAR, "1")
    assert bench_profile(False) == "tiny"


def test_time_fn_and_threads() -> None:
    calls: list[int] = []
    out = time_fn(lambda: calls.append(1) or len(calls), repeat=3, warmup=2)
    assert len(calls) == 5 and out.result == 5 and out.repeat == 3
    assert 0 <= out.min("cpu") <= out.median("cpu") and 0 <= out.min("wall") <= out.median("wall")
    assert set(out.columns()) == {"cpu_ms", "cpu_min_ms", "wall_ms", "wall_min_ms"}
    both = time_fns({"a": lambda: "a", "b": lambda: "b"}, repeat=2, warmup=0)
    assert both["a"].result == "a" and both["b"].repeat == 2
    with pytest.raises(ConfigError, match="repeat"):
        time_fn(lambda: None, repeat=0)
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    info = machine_info()
    assert {"platform", "python", "torch", "torch_threads", "cpu_model", "cuda_device"} <= set(info)


def test_rounds_rotate_and_ratios_are_medians_of_per_round_ratios() -> None:
    order: list[str] = []
    time_fns({n: (lambda n=n: order.append(n)) for n in "abc"}, repeat=3, warmup=0)
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    a = Timing(cpu_s=[1.0, 2.0, 10.0], wall_s=[1.0, 1.0, 1.0])
    b = Timing(cpu_s=[2.0, 2.0, 2.0], wall_s=[4.0, 2.0, 1.0])
    assert ratio(a, b) == 1.0  # per round 0.5, 1, 5 (a ratio of medians would say 1.0 too)
    assert ratio(a, b, "wall") == 0.5  # per round 0.25, 0.5, 1
    assert ratio(Timing([1.0, 1.0, 9.0], [1, 1, 1]), Timing([1.0, 1.0, 1.0], [1, 1, 1])) == 1.0
    with pytest.raises(ConfigError, match="same rounds"):
        ratio(a, Timing([1.0], [1.0]))


def test_run_benchmarks_uses_one_thread_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def fake(quick: bool, device: str) -> BenchResult:
        seen.append(torch.get_num_threads())
        return BenchResult("fake", "d", rows=[{"a": 1}], ratios={"r": 1.0}, notes=["n"])

    monkeypatch.setitem(BENCHMARKS, "fake", fake)
    before = torch.get_num_threads()
    out = run_benchmarks(["fake"])
    run_benchmarks(["fake"], threads=2)
    assert seen == [1, 2] and torch.get_num_threads() == before
    assert out["settings"]["threads"] == 1 and out["runs"]["fake"]["cpu_s"] >= 0
    with pytest.raises(ConfigError, match="threads"):
        run_benchmarks(["fake"], threads=0)


def test_peak_rss_of_a_child_process() -> None:
    """A child that touches 200 MB has a peak resident set of at least that, one that does
    not stays far below the size of this process (pytest with torch: about 1 GB)."""
    import sys

    from hopfield_lab.benchmarks.memory import peak_rss

    small = peak_rss([sys.executable, "-c", "pass"])
    big = peak_rss([sys.executable, "-c", "b = bytearray(200_000_000)"])
    assert small.returncode == big.returncode == 0
    assert big.peak_bytes - small.peak_bytes > 190e6 and small.peak_mib < 100
    assert peak_rss([sys.executable, "-c", "raise SystemExit(3)"]).returncode == 3


def test_linear_problem_exact_solution() -> None:
    f, _x0, x_star, top = linear_problem("tiny")
    assert top == pytest.approx(0.97)
    fx = f(x_star.float()).double()
    assert float((fx - x_star).norm() / x_star.norm()) < 1e-5


def test_bench_result_to_dict() -> None:
    res = BenchResult("n", "d", rows=[{"a": 1}], ratios={"r": 2.0}, notes=["x"])
    assert res.to_dict() == {
        "name": "n",
        "description": "d",
        "rows": [{"a": 1}],
        "ratios": {"r": 2.0},
        "notes": ["x"],
    }
