"""Smoke runs of the binary Hopfield experiments and the Glauber benchmark at tiny sizes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from hopfield_lab.analysis import (
    all_states,
    g_test,
    level_crossing,
    stationary_law,
    transition_matrix,
)
from hopfield_lab.benchmarks import run_benchmarks
from hopfield_lab.benchmarks.common import TINY_ENV_VAR
from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import EXPERIMENTS, RunContext, run_experiment
from hopfield_lab.experiments.base import resolve_config
from hopfield_lab.experiments.notes.capacity import ALPHA_C
from hopfield_lab.models.binary import BinaryHopfield
from hopfield_lab.runs import Table
from hopfield_lab.theory import ags_capacity

CTX = RunContext(progress=False)


def test_registered_with_profiles() -> None:
    for name in ("binary-dynamics", "detailed-balance", "capacity"):
        exp = EXPERIMENTS[name]
        assert set(exp.profiles) == {"demo", "quick", "paper"}
    with pytest.raises(ConfigError, match="check_n must be"):
        resolve_config(EXPERIMENTS["binary-dynamics"], "demo", ["check_n=1"])
    with pytest.raises(ConfigError, match="n must be in"):
        resolve_config(EXPERIMENTS["detailed-balance"], "demo", ["n=12"])
    with pytest.raises(ConfigError, match="alphas must be strictly increasing"):
        resolve_config(EXPERIMENTS["capacity"], "demo", ["alphas=0.2,0.1"])


def test_binary_dynamics_smoke(tmp_path) -> None:
    over = ["n=60", "loads=0.05,0.5", "n_networks=1", "n_replicas=16", "check_n=20"]
    out = run_experiment("binary-dynamics", "demo", over, out=tmp_path, ctx=CTX)
    res = out.results
    assert res["energy_rises_per_update"] == 0 and res["energy_rises_per_sweep"] == 0
    assert res["parallel_e2_rises"] == 0
    assert res["control_asym_rises"] > 0 and res["control_negdiag_rises"] > 0
    assert res["two_cycle_example_found"]
    rd = out.run_dir
    example = Table.from_csv(rd.tables_dir / "two_cycle_example.csv")
    states = [r[1] for r in example.rows[:-1]]
    assert states[-1] == states[-3] != states[-2]  # the last two states form a 2-cycle
    theory = Table.from_csv(rd.tables_dir / "theory.csv")
    assert theory.columns == ["quantity", "claim", "ours", "margin", "holds"]
    assert [r[4] for r in theory.rows] == ["holds"] * len(theory.rows)  # controls included
    for fig in ("parallel_outcomes_vs_load", "sequential_energy"):
        assert (rd.figures_dir / f"{fig}.png").is_file()


def test_transition_matrix_is_the_lemma_2_1_3_chain() -> None:
    g = torch.Generator().manual_seed(2)
    A = torch.randn(4, 4, generator=g, dtype=torch.float64)
    A.fill_diagonal_(0)
    for J, reversible in (((A + A.T) / 2, True), (A, False)):
        m = BinaryHopfield(J, torch.randn(4, generator=g, dtype=torch.float64) * 0.2)
        W = transition_matrix(m, 0.7)
        assert torch.allclose(W.sum(1), torch.ones(16, dtype=torch.float64))
        assert (W >= 0).all() and ((W > 0).sum(1) <= 5).all()  # stay or one of 4 flips
        pi = stationary_law(W)
        assert torch.allclose(pi @ W, pi)
        gibbs = torch.softmax(-m.energy(all_states(4)) / 0.7, 0)
        assert torch.allclose(pi, gibbs, atol=1e-12) == reversible
    counts = np.array([30, 20, 50])
    _, p_same, df = g_test(counts, np.array([0.3, 0.2, 0.5]))
    _, p_diff, _ = g_test(counts, np.array([0.6, 0.2, 0.2]))
    assert df == 2 and p_same > 0.99 and p_diff < 1e-6


def test_detailed_balance_smoke(tmp_path) -> None:
    over = ["n=5", "n_chains=8000", "n_repeats=2", "noise_draws=3"]
    out = run_experiment("detailed-balance", "demo", over, out=tmp_path, ctx=CTX)
    res = out.results
    for kind in ("symmetric", "hebbian"):
        assert res[kind]["tv_pi_gibbs"] < 1e-10 and res[kind]["db_residual"] < 1e-10
        assert res[kind]["tv_emp_gibbs"] < 4 * res[kind]["tv_noise_floor"]
    asym = res["asymmetric"]
    assert asym["tv_pi_gibbs"] > 0.05 and asym["db_residual"] > 0.05
    assert asym["p_gibbs"] < 1e-3
    assert asym["tv_emp_gibbs"] > 2 * asym["tv_noise_floor"]
    table = Table.from_csv(out.run_dir.tables_dir / "stationary_vs_gibbs.csv")
    assert [r[0] for r in table.rows] == ["symmetric", "hebbian", "asymmetric"]
    assert (out.run_dir.figures_dir / "stationary_vs_gibbs.png").is_file()
    json.dumps(res)


def test_crossing() -> None:
    assert level_crossing([0.1, 0.2, 0.3], [1.0, 0.6, 0.2], 0.5) == pytest.approx(0.225)
    assert level_crossing([0.1, 0.2], [1.0, 0.9], 0.5) is None


def test_capacity_smoke(tmp_path) -> None:
    over = [
        "sizes=40,80,120",
        "alphas=0.05,0.3,0.6",
        "n_trials=8",
        "n_starts=8",
        "pd_n=40",
        "pd_alphas=0.05,0.5",
        "pd_temperatures=0,1.5",
        "pd_trials=8",
        "pd_sweeps=4",
        "pd_measure=2",
    ]
    out = run_experiment("capacity", "demo", over, out=tmp_path, ctx=CTX)
    res = out.results
    rd = out.run_dir
    table = Table.from_csv(rd.tables_dir / "retrieval_vs_load.csv")
    assert len(table.rows) == 9
    low = [r for r in table.rows if r[1] == 0.05]
    assert all(r[3] > 0.9 for r in low)  # retrieval well below capacity
    assert all(r[3] < 0.9 for r in table.rows if r[1] == 0.6)  # no retrieval far above
    assert all(v is not None and 0.05 < v < 0.6 for v in res["alpha_c_by_N"].values())
    assert res["alpha_c_extrapolated"] is not None and math.isfinite(res["alpha_c_extrapolated"])
    pd = np.array(res["phase_mean_overlap"])  # (T, alpha)
    assert pd[0, 0] > 0.9 and pd[1, 0] < 0.6  # retrieval at T = 0, lost at T = 1.5
    theory = Table.from_csv(rd.tables_dir / "theory.csv")
    assert theory.headline and theory.rows[0][1] == ALPHA_C  # the notes' value, beside ...
    assert theory.rows[0][2] == ags_capacity()  # ... the RS solver's (tested in test_theory)
    for fig in ("retrieval_vs_load", "phase_diagram"):
        assert (rd.figures_dir / f"{fig}.png").is_file()


def test_glauber_benchmark_tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TINY_ENV_VAR, "1")
    out = run_benchmarks(["glauber-vs-numpy"], quick=True)
    res = out["results"][0]
    t0 = [r for r in res["rows"] if r["T"] == 0.0]
    assert len(t0) == 2 and all(r["agree"] == 1.0 for r in t0)  # same fixed points
    assert t0[0]["mean_E_per_spin"] == pytest.approx(t0[1]["mean_E_per_spin"])
    assert all(math.isfinite(v) and v > 0 for v in res["ratios"].values())
    keys = list(res["rows"][0])
    assert all(list(r) == keys for r in res["rows"])
