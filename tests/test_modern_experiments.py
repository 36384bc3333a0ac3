"""Smoke runs of the modern Hopfield experiments (notes Figs. 3.1-3.2, Table 4.1) at tiny sizes."""

from __future__ import annotations

import json
import math

import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import EXPERIMENTS, RunContext, run_experiment
from hopfield_lab.experiments.base import resolve_config
from hopfield_lab.experiments.notes._common import BETA as NOTES_BETA
from hopfield_lab.experiments.notes._common import DELTA_MIN as NOTES_DELTA_MIN
from hopfield_lab.experiments.notes._common import MAX_NORM as NOTES_MAX_NORM
from hopfield_lab.experiments.notes._common import SEPARATION as NOTES_SEPARATION
from hopfield_lab.models.beta_rule import notes_iteration_beta
from hopfield_lab.runs import Table

CTX = RunContext(progress=False)
DIGITS = ["dataset=digits", "pad=0", "n_per_class=0"]


def test_registered_with_three_profiles() -> None:
    for name in ("modern-beta-sweep", "modern-beta-recipe"):
        exp = EXPERIMENTS[name]
        assert set(exp.profiles) == {"demo", "quick", "paper"}
        assert exp.profiles["paper"] != exp.profiles["demo"]


def test_notes_numbers_and_their_inconsistency() -> None:
    assert len(NOTES_SEPARATION) == 10 and all(len(v) == 3 for v in NOTES_SEPARATION.values())
    # the text's Delta_min is digit 5's third value; the table's minimum is digit 7's
    assert min(min(v) for v in NOTES_SEPARATION.values()) == 35.1906
    assert NOTES_SEPARATION[5][2] == NOTES_DELTA_MIN
    text, code = notes_iteration_beta(30, NOTES_MAX_NORM, NOTES_DELTA_MIN)
    assert text == pytest.approx(0.35685, abs=1e-4)  # u_5 / Delta_min
    assert code == pytest.approx(0.06792, abs=1e-4)  # ((7 + u_5) / 8) / Delta_min
    assert abs(code - NOTES_BETA) > 1e-3 and abs(text - NOTES_BETA) > 0.1


def test_beta_recipe_smoke(tmp_path) -> None:
    overrides = [*DIGITS, "n_queries=60", "noise_sigmas=0,0.5", "sphere_directions=4"]
    out = run_experiment("modern-beta-recipe", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    res = json.loads(rd.results_path.read_text())
    assert res["n_patterns"] == 30 and res["n_neurons"] == 64
    # beta solves Prop. 3.4 with equality; radius and sphere check follow
    p, m, d = res["n_patterns"], res["max_norm"], res["separation_min"]
    rhs = 2 / (res["beta"] * p) + math.log(2 * (p - 1) * p * res["beta"] * m**2) / res["beta"]
    assert rhs == pytest.approx(d, rel=1e-9)
    assert res["radius"] == pytest.approx(1 / (res["beta"] * p * m))
    assert res["sphere_check"]["frac_update_in_sphere"] == 1.0
    assert res["sphere_check"]["frac_within_lemma_bound"] == 1.0
    acc = res["accuracy_at_beta"]["0"]["accuracy"]
    assert 0.5 < acc <= 1.0  # 3 prototypes per digit classify clean 8x8 digits well
    table = Table.from_csv(rd.tables_dir / "table4_1.csv")
    rows = {r[0]: r for r in table.rows}
    assert rows["M = max |x_i|"][1] == NOTES_MAX_NORM
    assert rows["M = max |x_i|"][2] == pytest.approx(m)
    assert rows["M = max |x_i|"][4] == pytest.approx(m - NOTES_MAX_NORM)
    acc_table = Table.from_csv(rd.tables_dir / "retrieval_accuracy.csv")
    assert len(acc_table.rows) == 6 and len(acc_table.columns) == 2 + 2 * 2
    for name in ("prototypes", "beta_condition", "accuracy_vs_noise"):
        assert (rd.figures_dir / f"{name}.png").stat().st_size > 1000


def test_beta_sweep_smoke(tmp_path) -> None:
    overrides = [*DIGITS, "n_queries=30", "betas=0.001,0.03,0.3,3,30", "max_iter=2000"]
    out = run_experiment("modern-beta-sweep", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    res = json.loads(rd.results_path.read_text())
    assert res["energy_increases"] == 0  # Prop. 3.2
    assert res["frac_global_at_smallest_beta"] == 1.0  # Fig. 3.1
    assert res["frac_single_own_at_largest_beta"] >= 0.9  # Fig. 3.2
    table = Table.from_csv(rd.tables_dir / "fractions.csv")
    assert [r[0] for r in table.rows] == [0.001, 0.03, 0.3, 3.0, 30.0]
    for r in table.rows:  # the three classes partition the queries
        assert r[2] + r[3] + r[4] == pytest.approx(1.0)
    assert table.rows[0][7] == 1  # one fixed point in the contraction regime (Prop. 3.3)
    claims = Table.from_csv(rd.tables_dir / "claims.csv")
    assert claims.rows[0][2] == 0 and claims.rows[3][2] == 1
    for name in ("fractions_vs_beta", "effective_patterns", "fixed_points_vs_beta"):
        assert (rd.figures_dir / f"{name}.png").stat().st_size > 1000


def test_bad_configs() -> None:
    sweep = EXPERIMENTS["modern-beta-sweep"]
    recipe = EXPERIMENTS["modern-beta-recipe"]
    with pytest.raises(ConfigError, match=r"betas\[1\] must be > 0"):
        resolve_config(sweep, "demo", ["betas=0.1,-1"])
    with pytest.raises(ConfigError, match="single_threshold must be > 1"):
        resolve_config(sweep, "demo", ["single_threshold=1"])
    with pytest.raises(ConfigError, match="n_per_class must be 0 \\(all\\) or >= per_class"):
        resolve_config(recipe, "demo", ["n_per_class=2"])
    with pytest.raises(ConfigError, match="prototypes must be one of"):
        resolve_config(recipe, "demo", ["prototypes=random"])


def test_loops_of_the_benchmark_match_retrieve(gen) -> None:
    import torch

    from hopfield_lab.benchmarks.modern import batched_loop, per_query_loop
    from hopfield_lab.models import ModernHopfield

    X = torch.randn(20, 12, generator=gen, dtype=torch.float64)
    q = 2.0 * torch.randn(7, 12, generator=gen, dtype=torch.float64)
    for beta in (0.01, 0.3, 3.0):
        m = ModernHopfield(X, beta=beta)
        ref = m.retrieve(q, tol=1e-9, max_iter=500)
        for fn in (per_query_loop, batched_loop):
            x, n = fn(X, beta, q, tol=1e-9, max_iter=500)
            torch.testing.assert_close(x, ref.x, rtol=1e-12, atol=1e-12)
            assert torch.equal(n, ref.n_steps.cpu())


def test_benchmark_tiny(monkeypatch) -> None:
    from hopfield_lab.benchmarks import run_benchmarks
    from hopfield_lab.benchmarks.common import TINY_ENV_VAR

    monkeypatch.setenv(TINY_ENV_VAR, "1")
    out = run_benchmarks(["modern-retrieve-vs-loop"], quick=True)
    (res,) = out["results"]
    assert [r["beta"] for r in res["rows"]] == [0.03, 0.06, 1.0]
    for row in res["rows"]:
        assert row["agree_loop"] >= 0.9 and row["agree_batched"] >= 0.9, row
        assert row["diff_batched_max"] < 1e-3 and row["it_max"] < 1000, row
    assert len(res["ratios"]) == 6
    assert all(math.isfinite(v) and v > 0 for v in res["ratios"].values())
