"""Smoke runs of mhn-geometry, mhn-adversarial and mhn-families at tiny sizes: artifacts,
criteria, and ``report`` redrawing every table and figure from the saved artifacts alone."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import EXPERIMENTS, RunContext
from hopfield_lab.experiments.base import apply_overrides, report_run
from hopfield_lab.experiments.fields import config_from_dict
from hopfield_lab.experiments.mhn import adversarial as adv_mod
from hopfield_lab.experiments.mhn import families as fam_mod
from hopfield_lab.experiments.mhn import geometry as geo_mod
from hopfield_lab.runs import RunDir, Table, to_jsonable

CTX = RunContext(progress=False)
NAMES = ("mhn-geometry", "mhn-adversarial", "mhn-families")


def _run(name: str, overrides: list[str], tmp_path, **changes) -> RunDir:
    """The demo profile with tiny overrides, run as ``run_experiment`` does."""
    exp = EXPERIMENTS[name]
    config = dataclasses.replace(apply_overrides(exp.profiles["demo"], overrides), **changes)
    resolved = {"experiment": name, "profile": "demo", **dataclasses.asdict(config)}
    rd = RunDir.create(tmp_path, name, "test", to_jsonable(resolved))
    rd.write_results(exp.run(config, rd, CTX))
    report_run(rd)
    return rd


def _redraws(rd: RunDir, monkeypatch, module, computing: tuple[str, ...]) -> None:
    """Delete every table and figure, forbid the computing functions, redraw: all come back."""
    tables = sorted(p.name for p in rd.tables_dir.iterdir())
    figures = sorted(p.name for p in rd.figures_dir.iterdir())
    assert tables and figures
    shutil.rmtree(rd.tables_dir)
    shutil.rmtree(rd.figures_dir)
    for fn in computing:
        monkeypatch.setattr(module, fn, lambda *a, **k: pytest.fail("report recomputed"))
    report_run(rd.path)  # config rebuilt from config.json, as 'hopfield-lab report' does
    assert sorted(p.name for p in rd.tables_dir.iterdir()) == tables
    assert sorted(p.name for p in rd.figures_dir.iterdir()) == figures


def test_registered_with_three_profiles_and_round_trips() -> None:
    for name in NAMES:
        exp = EXPERIMENTS[name]
        assert set(exp.profiles) == {"demo", "quick", "paper"} and exp.report is not None
        for cfg in exp.profiles.values():
            assert config_from_dict(exp.config_cls, to_jsonable(dataclasses.asdict(cfg))) == cfg
    quick = EXPERIMENTS["mhn-adversarial"].profiles["quick"]
    assert quick.steps == 20 and quick.epsilons == (0.06, 0.1, 0.5, 0.9, 1.3)
    assert EXPERIMENTS["mhn-adversarial"].profiles["paper"].steps == 40
    geo = EXPERIMENTS["mhn-geometry"].profiles["paper"]
    assert (geo.model.activation, geo.model.T, geo.model.lr) == ("tanh", 15.0, 1e-4)
    assert set(geo.input_scales) == {1.0, 255.0} and geo.id_per_class == 500


def test_bad_configs_are_one_line_config_errors() -> None:
    cases = [
        (lambda: adv_mod.AdversarialConfig(epsilons=(-0.1,)), "epsilons"),
        (lambda: adv_mod.AdversarialConfig(graph_eps=0.3), "graph_eps must be one of"),
        (lambda: adv_mod.AdversarialConfig(alpha_mode="raw"), "alpha must be set"),
        (lambda: geo_mod.GeometryConfig(input_scales=(255.0, 255.0)), "must not repeat"),
        (lambda: geo_mod.GeometryConfig(id_per_class=2), "id_per_class"),
        (lambda: geo_mod.GeometryConfig(record_dt=20.0), "record_dt must be <="),
        (
            lambda: geo_mod.GeometryConfig(geometry_per_class=600),
            "geometry_per_class must be <= id_per_class = 500",
        ),
        (lambda: geo_mod.GeometryConfig(curvature_samples=101), "curvature_samples"),
        (lambda: fam_mod.FamiliesConfig(families=("ode", "hopfield")), "families"),  # type: ignore[arg-type]
    ]
    for make, text in cases:
        with pytest.raises(ConfigError) as err:
            make()
        assert text in str(err.value) and "\n" not in str(err.value)


def test_paper_tables_as_transcribed() -> None:
    assert adv_mod.PAPER_TABLE9["tanh 1"] == (15, 30, 99, 97, 98, 98)
    assert adv_mod.PAPER_TABLE2["relu 1"] == adv_mod.PAPER_TABLE9["softplus 1"]  # spec's note
    assert adv_mod.paper_column("relu", 0.1) == "relu 0.1" and adv_mod.paper_column("gelu", 1) == ""
    ratios = sorted(b / a for a, b in zip(geo_mod.PAPER_ID_X0, geo_mod.PAPER_ID_XT, strict=True))
    assert (ratios[4] + ratios[5]) / 2 == pytest.approx(0.62, abs=0.005)  # the spec's 0.62


@pytest.mark.slow
def test_geometry_smoke_and_redraw(tmp_path, monkeypatch) -> None:
    rd = _run(
        "mhn-geometry",
        [
            "model.n_train=300",
            "model.T=1.0",
            "id_per_class=25",
            "id_draws=2",
            "geometry_per_class=2",
            "curvature_samples=5",
            "embed_per_class=4",
            "embed_times=0,3",
            "rho_points=5",
            "min_cluster_size=5",
            "min_samples=2",
        ],
        tmp_path,
    )
    res = rd.read_results()
    cell = rd.load_cell("trained-scale255")
    assert len(cell["id_x0"]) == 10 and len(cell["id_x0"][0]) == 2
    assert len(cell["s"]) == 20 and min(cell["s"]) >= 1.0 - 1e-6  # a chord never beats its arc
    assert set(cell["embedding"]) == {"0", "1", "3"}  # embed_times and T
    assert len(cell["embedding"]["1"]["points"]) == 40
    # TwoNN at x(0) does not depend on the input scale (it is scale-free)
    other = [v for row in rd.load_cell("trained-scale1")["id_x0"] for v in row]
    assert other == pytest.approx([v for row in cell["id_x0"] for v in row], rel=1e-9)
    assert res["untrained-scale255"]["s_median"] < 1.01  # raw pixels: the decay -x dominates
    for t in ("claims", "table1_scale255", "table3_scale1", "models"):
        assert (rd.tables_dir / f"{t}.csv").exists(), t
    t3 = Table.from_csv(rd.tables_dir / "table3_scale255.csv")
    assert t3.rows[0][:2] == ["class 0: ID at x(0)", 11.94]
    claims = Table.from_csv(rd.tables_dir / "claims.csv")
    assert len(claims.rows) == 20  # 10 checks x 2 scales
    _redraws(rd, monkeypatch, geo_mod, ("twonn", "cluster_counts", "curvature", "embed"))


@pytest.mark.slow
def test_adversarial_smoke_and_redraw(tmp_path, monkeypatch) -> None:
    demo = EXPERIMENTS["mhn-adversarial"].profiles["demo"]
    models = tuple(dataclasses.replace(m, n_train=300) for m in demo.models)
    rd = _run(
        "mhn-adversarial", ["mlp_n_train=300", "n_images=30", "steps=2"], tmp_path, models=models
    )
    res = rd.read_results()
    assert set(res["success"]) == {"MLP", "E_relu_T0.1", "B_tanh_T1"}
    for name in res["success"]:
        cell = rd.load_cell(name)
        for v in cell["by_eps"].values():
            assert v["max_delta"] <= v["eps"] * (1 + 1e-6)  # inside the ball
            assert v["adv_loss"] >= v["clean_loss"] - 1e-4 or v["success"] is None
            assert sum(map(sum, v["flips"])) <= v["n_clean_correct"]
    crit = res["criteria"]
    assert crit["success_eps0.5"]["MLP"] is not None and crit["mean_out_degree"]["MLP"] >= 0
    for t in ("claims", "table9", "table2", "basin_graphs"):
        assert (rd.tables_dir / f"{t}.csv").exists(), t
    t9 = Table.from_csv(rd.tables_dir / "table9.csv")
    assert t9.rows[0][:2] == ["MLP: success at eps 0.06 (%)", 8]
    _redraws(rd, monkeypatch, adv_mod, ("pgd_attack", "load_trained"))


@pytest.mark.slow
def test_families_smoke_and_redraw(tmp_path, monkeypatch) -> None:
    rd = _run(
        "mhn-families",
        ["n_train=300", "per_class=20", "geometry_samples=5", "attack_images=10", "steps=2"],
        tmp_path,
    )
    res = rd.read_results()["families"]
    assert set(res) == {"ode", "finite_step", "layered_ham", "modern-beta1"}
    for key, row in res.items():
        assert row["s_median"] >= 1.0 - 1e-6, key
        assert (row["attack_success"] is None) == key.startswith("modern"), key
    _redraws(rd, monkeypatch, fam_mod, ("twonn", "cluster_counts", "pgd_attack"))
