"""Smoke runs of the mean-field experiments (curie-weiss, mixture-states) at seconds-long sizes."""

from __future__ import annotations

import json

import pytest

from hopfield_lab.analysis import drop_bracket
from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import EXPERIMENTS, RunContext, run_experiment
from hopfield_lab.experiments.base import resolve_config
from hopfield_lab.experiments.notes.mixture_states import AGS_1985
from hopfield_lab.runs import Table
from hopfield_lab.theory import finite_size_magnetization_law, mixture_critical_temperature

CTX = RunContext(progress=False)


def test_curie_weiss_smoke(tmp_path) -> None:
    overrides = [
        "sizes=8,24",
        "temperatures=0.5,1.5",
        "replicas=6",
        "burn_in=5",
        "n_samples=8",
        "free_energy_temperatures=0.5,0.9",
    ]
    out = run_experiment("curie-weiss", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    table = Table.from_csv(rd.tables_dir / "magnetization.csv")
    assert len(table.rows) == 4 and table.columns == [
        "quantity",
        "claim",
        "ours",
        "margin",
        "holds",
    ]
    finite = Table.from_csv(rd.tables_dir / "finite_size.csv")
    col = {c: i for i, c in enumerate(finite.columns)}
    checks = {r[0]: r for r in table.rows}
    for row in finite.rows:
        n, t = row[col["N"]], row[col["T"]]
        check = checks[f"E|m|, N = {n}, T = {t:g}"]
        m, p = finite_size_magnetization_law(int(n), 1 / t)
        exact = float((p * abs(m)).sum())
        assert row[col["exact E|m|"]] == pytest.approx(exact, abs=1e-12)
        sim, sem = row[col["Glauber E|m|"]], row[col["s.e."]]
        assert check[2] == sim and sem > 0
        assert check[3] == pytest.approx(3 * sem - abs(sim - exact))  # margin of the 3 s.e. claim
        assert check[4] == ("holds" if check[3] >= 0 else "fails")
        assert abs(sim - exact) < 0.2  # a short chain, but at these sizes it equilibrates fast
    assert [r[col["T"]] for r in finite.rows] == [0.5, 0.5, 1.5, 1.5]
    assert finite.rows[2][col["mean-field m*(T)"]] == 0.0  # m* = 0 above T_c
    results = json.loads(rd.results_path.read_text())
    assert results["critical_temperature_theory"] == 1.0 and results["cells"] == 4
    for fig in ("magnetization", "free_energy"):
        assert (rd.figures_dir / f"{fig}.png").is_file()
    again = run_experiment("curie-weiss", "demo", overrides, out=tmp_path, ctx=CTX)
    assert again.skipped and again.results["cells"] == 4


def test_mixture_states_smoke(tmp_path) -> None:
    overrides = [
        "ns=1,3",
        "sizes=200",
        "n_patterns=4",
        "temperatures=0,0.2,0.9",
        "replicas=3",
        "n_sweeps=4",
        "check_every=2",
    ]
    out = run_experiment("mixture-states", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    retention = Table.from_csv(rd.tables_dir / "retention.csv")
    assert len(retention.rows) == 2 * 3
    by_key = {(r[0], r[2]): r for r in retention.rows}
    # zero-temperature dynamics from a stored pattern stays there (P/N = 0.02)
    assert by_key[(1, 0)][retention.columns.index("fraction kept")] == 1.0
    assert by_key[(1, 0)][retention.columns.index("sim m_n")] == 1.0
    # theory column: the 3-mixture is stable at T = 0.2, unstable at T = 0.9
    assert by_key[(3, 0.2)][3] == "yes" and by_key[(3, 0.9)][3] == "no"
    thresholds = Table.from_csv(rd.tables_dir / "thresholds.csv")
    assert len(thresholds.rows) == 2 and Table.from_csv(rd.tables_dir / "thresholds.csv")
    col = thresholds.columns.index("theory T_n (N = inf)")
    for row in thresholds.rows:  # the theory column is the root finder's T_n, n = 1 and 3
        want = mixture_critical_temperature(row[0], include_uninvolved=True).critical_temperature
        assert row[col] == want
    lit = Table.from_csv(rd.tables_dir / "literature.csv")
    assert lit.rows[0][1] == AGS_1985[3] and lit.rows[0][2] == thresholds.rows[1][col]
    instability = Table.from_csv(rd.tables_dir / "instability.csv")
    assert len(instability.rows) == 1 and instability.rows[0][0].startswith("n = 3")
    assert (rd.figures_dir / "mixture_stability.png").is_file()
    results = json.loads(rd.results_path.read_text())
    assert set(results["thresholds"]) == {"n=1,N=200", "n=3,N=200"}


def test_drop_bracket() -> None:
    assert drop_bracket([0.0, 0.2, 0.4, 0.6], [1.0, 0.75, 0.25, 0.0]) == (0.2, 0.4)
    assert drop_bracket([0.2, 0.0], [1.0, 0.0]) == (0.0, 0.0)  # fails at the lowest T
    assert drop_bracket([0.0, 0.5, 1.2], [1.0, 1.0, 0.0]) == (0.5, None)  # T >= 1 ignored


def test_bad_theory_experiment_configs() -> None:
    cw = EXPERIMENTS["curie-weiss"]
    with pytest.raises(ConfigError, match="temperatures must be > 0"):
        resolve_config(cw, "demo", ["temperatures=0"])
    with pytest.raises(ConfigError, match="sizes must be in"):
        resolve_config(cw, "demo", ["sizes=1"])
    with pytest.raises(ConfigError, match="J must be > 0"):
        resolve_config(cw, "demo", ["J=-1"])
    mx = EXPERIMENTS["mixture-states"]
    with pytest.raises(ConfigError, match="n_patterns must be in"):
        resolve_config(mx, "demo", ["ns=1,7", "n_patterns=6"])
    with pytest.raises(ConfigError, match="temperatures must be >= 0"):
        resolve_config(mx, "demo", ["temperatures=-0.1"])
    with pytest.raises(ConfigError, match="check_every must be <= n_sweeps"):
        resolve_config(mx, "demo", ["n_sweeps=3", "check_every=5"])
