"""Smoke runs of the IDP experiments (E1-E8) at seconds-long sizes: artifacts, report redrawn
from artifacts alone, the claims each one checks at this size, and config validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import EXPERIMENTS, RunContext, get_experiment, run_experiment
from hopfield_lab.experiments.base import report_run, resolve_config
from hopfield_lab.runs import CHECK_COLUMNS, COMPARISON_COLUMNS, Table
from hopfield_lab.theory import idp

CTX = RunContext(progress=False)

NAMES = (
    "idp-classification",
    "idp-glitch",
    "idp-noise",
    "idp-landscape",
    "idp-sequence",
    "idp-bifurcation",
    "idp-escape",
    "idp-phase",
)

SMALL: dict[str, list[str]] = {
    "idp-classification": ["n_units=128", "trials=3", "window=5", "sigma=4"],
    "idp-glitch": ["n_units=128", "trials=2", "sigma=4"],
    "idp-noise": ["sigmas=0,4", "n_units=128", "trials=2", "window=5"],
    "idp-landscape": [],
    "idp-sequence": ["n_patterns=4", "kappas=3,5"],
    "idp-bifurcation": ["kappas=5", "eps=0.04", "n_patterns=4"],
    "idp-escape": ["epsilons=0.04,0.02", "replicas=1", "n_compare=2", "n_patterns=4"],
    "idp-phase": ["eps=0.04"],
}


def test_registered_with_three_profiles() -> None:
    for name in NAMES:
        exp = get_experiment(name)
        assert set(exp.profiles) == {"demo", "quick", "paper"}
        assert exp.report is not None
    assert {n for n in EXPERIMENTS if n.startswith("idp-")} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_smoke_and_report_from_artifacts(tmp_path, name) -> None:
    out = run_experiment(name, "demo", SMALL[name], out=tmp_path, ctx=CTX)
    rd = out.run_dir
    headline = Table.from_csv(rd.tables_dir / "headline.csv")
    assert headline.headline and headline.columns == list(CHECK_COLUMNS) and headline.rows
    table = Table.from_csv(rd.tables_dir / "theory_vs_simulation.csv")
    assert table.columns == list(COMPARISON_COLUMNS) and table.rows
    figures = sorted(p.name for p in rd.figures_dir.glob("*.png"))
    assert figures
    for p in rd.figures_dir.glob("*.png"):
        p.unlink()
    report_run(rd)  # redraw from the saved artifacts, no recomputation
    assert sorted(p.name for p in rd.figures_dir.glob("*.png")) == figures
    _check_claims(name, out.results, table)


def _check_claims(name: str, res: dict, table: Table) -> None:
    if name == "idp-classification":
        assert res["idp_fraction_on_target"] > res["classic-pulsed_fraction_on_target"]
        assert res["classic-constant_fraction_on_target"] == 0.0  # a mixture, not a memory
    elif name == "idp-glitch":
        assert res["idp_recovered_after_glitch"] >= 0.5
    elif name == "idp-noise":
        frac = res["idp_fraction_by_sigma"]
        assert frac[1] >= frac[0]  # noise helps the IDP network switch
        assert res["classic-pulsed_fraction_by_sigma"][1] == 0.0
    elif name == "idp-landscape":
        assert res["stability_threshold_numeric"] == pytest.approx(
            idp.stability_threshold(1.5), rel=1e-9
        )
        assert res["max_rate_gap"] < 1e-6 and res["max_well_energy_gap"] < 1e-9
    elif name == "idp-sequence":
        assert res["kappa=3_n_retrieved"] == {"theory": 2, "sim": 2}
        assert res["kappa=5_n_retrieved"] == {"theory": 4, "sim": 4}
    elif name == "idp-bifurcation":
        assert res["max_rel_error_period"] < 0.25  # eps = 0.04: a large but bounded bias
        assert res["max_rel_error_Z"] < 0.1
    elif name == "idp-escape":
        errs = res["entry_rel_error_by_eps"]
        assert errs["eps=0.02"] < errs["eps=0.04"]
        assert res["all_entries_observed"]
    elif name == "idp-phase":
        assert res["fraction_within_one"] >= 0.75
        assert res["sustained_both"] >= 1
    gaps = [r[4] for r in table.rows if isinstance(r[4], float)]
    assert all(math.isfinite(g) for g in gaps)


@pytest.mark.parametrize(
    ("name", "override", "match"),
    [
        ("idp-classification", "targets=0,20", "targets"),
        ("idp-classification", "sigma=-1", "sigma"),
        ("idp-sequence", "n_units=60", "power of 2"),
        ("idp-sequence", "eps=0", "eps"),
        ("idp-sequence", "kappas=5,4", "kappas"),
        ("idp-bifurcation", "kappas=3.5", "kappas"),
        ("idp-escape", "kappa=3", "collapses"),
        ("idp-phase", "Z0s=0.9,2", "Z0s"),
        ("idp-glitch", "boundaries=0,5", "boundaries"),
        ("idp-landscape", "alpha_1=0.9", "alpha_1"),
    ],
)
def test_bad_config_names_the_field(name, override, match) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_config(get_experiment(name), "demo", [override])


def test_quick_profiles_are_the_documented_sizes() -> None:
    """The quick profiles keep the settings their docstrings claim (guards silent edits)."""
    q = {n: get_experiment(n).profiles["quick"] for n in NAMES}
    assert q["idp-classification"].n_units == 1024 and q["idp-classification"].sigma == 8.0
    assert q["idp-noise"].sigmas == (0.0, 2.0, 4.0, 8.0)
    assert q["idp-sequence"].eps == 0.002 and q["idp-sequence"].kappas == (3.0, 4.0, 4.5, 5.0, 6.0)
    assert min(q["idp-escape"].epsilons) == 0.002
    assert np.allclose(q["idp-phase"].kappas, np.linspace(3, 7, 9))
