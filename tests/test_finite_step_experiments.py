"""Smoke runs of the finite-step experiments (Table 1, Figures 1-2) at seconds-long sizes."""

from __future__ import annotations

import json
import sys

import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import EXPERIMENTS, RunContext, run_experiment
from hopfield_lab.experiments.base import report_run, resolve_config
from hopfield_lab.experiments.finite_step.table1 import PAPER
from hopfield_lab.runs import Table

CTX = RunContext(progress=False)
PAIR = ["pair.epochs=1", "pair.n_train=400", "pair.n_eval=40"]


def test_paper_table_is_complete() -> None:
    assert len(PAPER) == 36
    assert PAPER[("relu", "jacq", 3)] == (97.84, 0.24, 90.56, 2.52)
    assert PAPER[("tanh", "base", 5)] == (96.30, 0.50, 72.26, 2.08)


def test_table1_smoke_with_tuning(tmp_path) -> None:
    overrides = [
        "activations=relu",
        "methods=base,jacq,lip",
        "Ks=1,3",
        "seeds=2",
        "epochs=1",
        "n_train=300",
        "n_test=500",
        "tune=true",
        "tune_epochs=1",
        "tune_n_train=300",
        "tune_n_val=200",
        "jacq_lams=1,10",
        "jacq_ms=1",
        "lip_lams=0.01",
    ]
    out = run_experiment("finite-step-table1", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    table = Table.from_csv(rd.tables_dir / "table1.csv")
    assert len(table.rows) == 1 * 3 * 2 * 2  # activation x method x K x (test, noisy)
    row = table.rows[0]
    assert row[4] == PAPER[("relu", "base", 1)][0]  # paper value beside ours
    assert row[-1] == pytest.approx(row[6] - row[4])  # gap = ours - paper
    tuning = Table.from_csv(rd.tables_dir / "tuning.csv")
    assert len(tuning.rows) == 3  # 2 JacQ settings + 1 Lip setting, on validation data
    results = json.loads(rd.results_path.read_text())
    assert results["chosen_regularisers"]["jacq_lam"] in (1.0, 10.0)
    assert results["protocol_reading"] == "pixels, clipped"
    # the claim's numbers: paired JacQ - Base differences per seed, their mean and std
    for K in (1, 3):
        d = results[f"jacq_minus_base_noisy_relu_k{K}"]
        paired = [j - b for b, j in zip(d["base_noisy"], d["jacq_noisy"], strict=True)]
        assert d["per_seed"] == pytest.approx(paired) and len(paired) == 2
        assert d["mean"] == pytest.approx(sum(paired) / 2)
        assert d["std"] == pytest.approx(abs(paired[0] - paired[1]) / 2**0.5)
        assert set(d["by_reading"]) == {"pixels, clipped", "pixels, unclipped"}
        assert d["by_reading"]["pixels, clipped"] == pytest.approx(d["mean"])
    assert set(results["claim_jacq_beats_base_relu"]) == {"K=3"}
    for K in (1, 3):  # every compared pair: Lip - Base and JacQ - Lip too
        lip = results[f"lip_minus_base_noisy_relu_k{K}"]
        jacq_lip = results[f"jacq_minus_lip_noisy_relu_k{K}"]
        assert jacq_lip["mean"] == pytest.approx(
            results[f"jacq_minus_base_noisy_relu_k{K}"]["mean"] - lip["mean"]
        )
        noisy = {m: results["noisy_accuracy"][f"relu/{m}/K={K}"] for m in ("base", "lip", "jacq")}
        best = max(noisy, key=lambda m: sum(noisy[m]))
        assert results["best_noisy_method_relu"][f"K={K}"] == best
    assert "jacf_minus_base_noisy_relu_k3" not in results  # JacF did not run
    assert results["clean_accuracy"]["relu/base/K=3"] == [
        r[4] for r in Table.from_csv(rd.tables_dir / "per_seed.csv").rows if r[1:3] == ["Base", 3]
    ]
    claims = Table.from_csv(rd.tables_dir / "claims.csv")  # the headline: JacQ vs each method
    assert [r[0].split(" noisy")[0].split(" clean")[0] for r in claims.rows] == [
        "JacQ - Base",
        "JacQ - Lip",
        "JacQ - Base",
    ]  # K = 3 only (K = 1 is not the claim)
    jb = results["jacq_minus_base_noisy_relu_k3"]
    assert claims.rows[0][2] == pytest.approx(jb["mean"])
    assert claims.rows[0][4] == ("holds" if jb["mean"] >= 0 else "fails")
    claim = Table.from_csv(rd.tables_dir / "differences.csv")
    assert [r[:2] for r in claim.rows] == [
        [pair, K] for pair in ("JacQ - Base", "Lip - Base", "JacQ - Lip") for K in (1, 3)
    ]
    # energy never rises for monotone activations with a <= 1 (convex Lagrangian)
    diag = Table.from_csv(rd.tables_dir / "diagnostics.csv")
    assert all(r[-1] == 0 for r in diag.rows)
    robust = Table.from_csv(rd.tables_dir / "robustness.csv")
    assert len(robust.rows) == 1 * 3 * 2 and len(robust.columns) == 3 + 7
    for r in robust.rows:  # the curve starts at the clean accuracy (sigma = 0)
        assert r[3] == pytest.approx(
            next(t[6] for t in table.rows if t[:3] == r[:3] and t[3] == "test")
        )
    readings = Table.from_csv(rd.tables_dir / "readings.csv")
    for r in readings.rows[:6]:  # the default reading's column is the noisy column of table1
        assert r[3] == pytest.approx(
            next(t[6] for t in table.rows if t[:3] == r[:3] and t[3] == "noisy")
        )
    for fig in ("noisy_accuracy", "violations_vs_noisy", "robustness_curves", "paired_noisy"):
        assert (rd.figures_dir / f"{fig}.png").is_file()
    # the report is drawn from the saved artifacts alone
    for f in rd.tables_dir.glob("*"):
        f.unlink()
    report_run(rd.path)
    assert (rd.tables_dir / "claims.csv").is_file() and (rd.tables_dir / "tuning.csv").is_file()


def test_table1_standardized_reading(tmp_path) -> None:
    overrides = [
        "methods=base",
        "Ks=1",
        "epochs=1",
        "n_train=300",
        "n_test=300",
        "inputs=standardized",
        "noise_on=inputs",
        "clip_noisy=false",
        "noise_curve=0,0.5",
    ]
    out = run_experiment("finite-step-table1", "demo", overrides, out=tmp_path, ctx=CTX)
    results = out.results
    assert results["protocol_reading"] == "standardized, noise on inputs, unclipped"
    cell = out.run_dir.load_cell("act=relu,method=base,K=1,seed=0")
    assert len(cell["noisy_readings"]) == 4
    assert cell["noisy_readings"]["standardized, noise on inputs, unclipped"] == cell["noisy"]
    with pytest.raises(ConfigError, match="noise_on='inputs'"):
        resolve_config(EXPERIMENTS["finite-step-table1"], "demo", ["noise_on=inputs"])


def test_quick_profile_tests_the_claim() -> None:
    """The quick profile trains what the claim needs: ReLU Base and JacQ at K = 3 and 5, three
    seeds or more, on the whole training split."""
    quick = EXPERIMENTS["finite-step-table1"].profiles["quick"]
    assert quick.activations == ("relu",) and {"base", "lip", "jacq"} <= set(quick.methods)
    assert {3, 5} <= set(quick.Ks) and quick.seeds >= 3 and quick.n_train == 0
    assert quick.n_test == 0 and quick.clip_noisy and quick.inputs == "pixels"
    assert quick.tune
    grid = EXPERIMENTS["finite-step-table1"].profiles["grid"]
    assert len(grid.activations) * len(grid.methods) * len(grid.Ks) == 36
    # the docstring's command line for the grid profile gives that profile
    sets = (
        "seeds=2 epochs=2 n_train=15000 tune_epochs=2 tune_n_train=8000 tune_n_val=5000 "
        "jacq_lams=1,10 jacq_ms=1,0.5 jacf_lams=0.001,0.01 lip_lams=0.01,0.1"
    )
    exp = EXPERIMENTS["finite-step-table1"]
    assert resolve_config(exp, "paper", sets.split()) == grid
    doc = " ".join((sys.modules[exp.run.__module__].__doc__ or "").split())
    assert sets in doc.replace("``", "")


def test_energy_and_landscape_smoke(tmp_path) -> None:
    e = run_experiment("finite-step-energy", "demo", PAIR, out=tmp_path, ctx=CTX)
    claims = Table.from_csv(e.run_dir.tables_dir / "claims.csv")
    rows = {r[0]: r for r in claims.rows}
    bound = next(v for k, v in rows.items() if k.startswith("fraction of samples"))
    assert bound[2] == 1.0  # App. B.1: the product bound holds for every sample
    assert all(v[2] == 0 for k, v in rows.items() if k.startswith("energy increase"))
    assert (e.run_dir.figures_dir / "figure1.png").is_file()
    land = run_experiment(
        "finite-step-landscape",
        "demo",
        [*PAIR, "n_pca=40", "grid=8", "n_levels=4"],
        out=tmp_path,
        ctx=CTX,
    )
    assert (land.run_dir.figures_dir / "figure2.png").is_file()
    res = land.results
    assert len(res["base"]["predictions"]) == 4 and res["jacq"]["energy_increase_rate"] == 0
    # both reports are redrawn from the saved artifacts alone
    for run in (e, land):
        for f in [*run.run_dir.tables_dir.glob("*"), *run.run_dir.figures_dir.glob("*")]:
            f.unlink()
        report_run(run.run_dir.path)
    assert (e.run_dir.figures_dir / "figure1.png").is_file()
    assert (e.run_dir.tables_dir / "claims.csv").is_file()
    assert (land.run_dir.figures_dir / "figure2.png").is_file()
    assert (land.run_dir.tables_dir / "claims.csv").is_file()


def test_bad_finite_step_configs() -> None:
    exp = EXPERIMENTS["finite-step-table1"]
    with pytest.raises(ConfigError, match="activations must be one of"):
        resolve_config(exp, "demo", ["activations=gelu"])
    with pytest.raises(ConfigError, match="jacq_qs must be in"):
        resolve_config(exp, "demo", ["jacq_qs=1.5"])
    with pytest.raises(ConfigError, match="Ks must be >= 1"):
        resolve_config(exp, "demo", ["Ks=0"])
    with pytest.raises(ConfigError, match="methods must not repeat"):
        resolve_config(exp, "demo", ["methods=base,base"])
    with pytest.raises(ConfigError, match="K must be >= 1"):
        resolve_config(EXPERIMENTS["finite-step-energy"], "demo", ["pair.K=0"])
    with pytest.raises(ConfigError, match="jacq_q must be in"):
        resolve_config(EXPERIMENTS["finite-step-landscape"], "demo", ["pair.jacq_q=1"])
