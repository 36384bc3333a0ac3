"""Smoke runs of the ODE-paper experiments (mhn-accuracy, mhn-rectifier) at tiny sizes, their
artifacts, the paper's tables as transcribed, and the acceptance-criteria logic."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import EXPERIMENTS, RunContext
from hopfield_lab.experiments.base import report_run
from hopfield_lab.experiments.fields import config_from_dict
from hopfield_lab.experiments.mhn import accuracy as acc_mod
from hopfield_lab.experiments.mhn import rectifier as rect_mod
from hopfield_lab.experiments.mhn._common import ModelSpec, TrainSettings, paper_accuracy
from hopfield_lab.models import FlowOptions, HopfieldODE, load_trained, trained_models
from hopfield_lab.runs import RunDir, Table, to_jsonable

CTX = RunContext(progress=False)
TINY = TrainSettings(solver="euler", n_val_epoch=200)


def _run(name: str, config, tmp_path) -> RunDir:
    """What ``run_experiment`` does, for a config built in the test."""
    exp = EXPERIMENTS[name]
    resolved = {"experiment": name, "profile": "test", **dataclasses.asdict(config)}
    rd = RunDir.create(tmp_path, name, "test", to_jsonable(resolved))
    rd.write_results(exp.run(config, rd, CTX))
    report_run(rd)  # rebuilds the config from config.json, as 'hopfield-lab report' does
    return rd


def test_registered_with_three_profiles() -> None:
    for name in ("mhn-accuracy", "mhn-rectifier"):
        exp = EXPERIMENTS[name]
        assert set(exp.profiles) == {"demo", "quick", "paper"}
        assert exp.report is not None
    paper = EXPERIMENTS["mhn-accuracy"].profiles["paper"]
    assert len(paper.models) == 102  # 5 x 3 x 5 at lr 1e-3 + 3 x 3 x 3 at lr 1e-4
    assert {m.epochs for m in paper.models} == {20} and paper.train.solver == "dopri5"
    quick = EXPERIMENTS["mhn-accuracy"].profiles["quick"]
    assert quick.train.solver == "euler" and {m.lr for m in quick.models} == {1e-3}


def test_paper_tables_as_transcribed() -> None:
    assert paper_accuracy("relu", 1e-3, 1.0, 0.01) == 97.7
    assert paper_accuracy("tanh", 1e-4, 15.0, 0.1) == 96.0
    assert paper_accuracy("gelu", 1e-3, 15.0, 0.05) == 73.3
    assert paper_accuracy("sigmoid", 1e-4, 5.0, 0.1) == 76.8
    assert paper_accuracy("softplus", 1e-3, 15.0, 0.05) == 10.2
    assert paper_accuracy("relu", 1e-3, 0.1, 0.01) is None
    assert paper_accuracy("tanh", 1e-4, 1.0, 0.01) is None  # '-' in Table 6


def test_config_rejects_bad_models() -> None:
    with pytest.raises(ConfigError, match="dt must be <= T"):
        ModelSpec("x", "relu", 0.1, 0.5)
    with pytest.raises(ConfigError, match="activation must be one of"):
        ModelSpec("x", "swish", 1.0, 0.1)  # type: ignore[arg-type]
    spec = ModelSpec("x", "relu", 1.0, 0.1)
    with pytest.raises(ConfigError, match="unique"):
        acc_mod.AccuracyConfig(models=(spec, spec))
    with pytest.raises(ConfigError, match="rectifiers"):
        rect_mod.RectifierConfig(models=(ModelSpec("t", "tanh", 1.0, 0.1),))


def _record(activation: str, T: float, accuracy: float, epoch1: float = 50.0, **kw) -> dict:
    rec = {
        "activation": activation,
        "T": T,
        "dt": 0.1,
        "lr": 1e-3,
        "epochs": 2,
        "n_train": 50_000,
        "solver": "euler",
        "history": [{"epoch": 1, "val_accuracy": epoch1}],
        "test": {"accuracy": accuracy},
    }
    rec.update(kw)
    return rec


def test_criteria_logic() -> None:
    models = {
        "a": _record("relu", 1.0, 96.0, epoch1=94.0),
        "b": _record("tanh", 1.0, 92.0, epoch1=95.0),
        "d1": _record("sigmoid", 1.0, 88.0),
        "d10": _record("sigmoid", 10.0, 11.35),
    }
    init = {"sigmoid": {"T": 10.0, "median": 1e-3, "max": 2e-3, "bound": 1.5e-3}}
    c = acc_mod._criteria(models, init)
    assert c["1a_relu_T1"]["passed"] and c["1a_relu_T1"]["ours"] == 96.0
    assert c["1b_relu_T0.1"]["passed"] is None  # not trained: not applicable
    assert c["1c_tanh_T1"]["passed"] is False
    assert c["1d_relu_learns_faster"]["passed"] is False
    assert c["1d_relu_learns_faster"]["ours"] == pytest.approx(-1.0)
    assert c["2a_sigmoid_collapse"]["passed"]
    assert c["2c_sigmoid_init_sensitivity"]["passed"]
    assert "1e_paper_good_cells" not in c  # no cell trained with the paper's protocol
    models["d10"]["test"]["accuracy"] = 40.0
    assert acc_mod._criteria(models, init)["2a_sigmoid_collapse"]["passed"] is False


def test_paper_protocol_criteria() -> None:
    full = {"epochs": 20, "solver": "dopri5"}
    models = {
        "r": _record("relu", 1.0, 96.5, paper=97.7, **full),
        "s": _record("sigmoid", 10.0, 10.4, paper=10.4, **full),
        "t": _record("tanh", 10.0, 94.0, paper=95.4, lr=1e-4, **full),
    }
    c = acc_mod._criteria(models, {})
    assert c["1e_paper_good_cells"]["ours"] == pytest.approx(1.4)  # tanh: 95.4 - 94.0
    assert c["1e_paper_good_cells"]["passed"] and c["2e_paper_long_T_collapse"]["passed"]
    assert c["2f_paper_tanh_lr1e-4"]["passed"] is False


@pytest.fixture(scope="module")
def accuracy_run(tmp_path_factory) -> RunDir:
    config = acc_mod.AccuracyConfig(
        models=(
            ModelSpec("A_relu_T1", "relu", 1.0, 0.1, epochs=1, n_train=1000),
            ModelSpec("D_sigmoid_T2", "sigmoid", 2.0, 0.2, epochs=1, n_train=500),
        ),
        train=TINY,
        n_test=300,
        mlp_epochs=1,
        mlp_n_train=1000,
        energy_samples=4,
        sensitivity_samples=2,
        sensitivity_T=2.0,
        sensitivity_dt=0.2,
        sensitivity_iters=3,
        dopri5_samples=40,
    )
    return _run("mhn-accuracy", config, tmp_path_factory.mktemp("acc"))


def test_accuracy_smoke_artifacts(accuracy_run) -> None:
    rd = accuracy_run
    res = rd.read_results()
    assert set(res["models"]) == {"A_relu_T1", "D_sigmoid_T2", "MLP"}
    a = rd.load_cell("A_relu_T1")
    assert 30.0 < a["test"]["accuracy"] <= 100.0  # learns something on 1000 images
    assert a["paper"] == 97.3 and len(a["history"]) == 1
    assert a["energy"]["applies"] and a["energy"]["increase_rate"] == 0.0
    assert a["energy"]["eq8_max_rel_error"] < 1e-12
    assert a["energy"]["rate_max"] <= 0.0  # dE/dt <= 0 along the path (Eq. 10)
    assert 0.0 <= a["dopri5"]["agreement"] <= 1.0 and a["dopri5"]["nfe_per_batch"] > 6
    sig = rd.load_cell("init-sigmoid")["sensitivity"]
    assert sig["max"] <= sig["bound"] * (1 + 1e-9)  # Grönwall's bound holds at init
    assert math.isclose(sig["bound"], math.exp((sig["W_s_norm"] / 4 - 1) * 2.0))
    assert res["criteria"]["3b_energy_monotone"]["passed"]
    for table in ("table4_relu", "table7_sigmoid", "criteria", "models"):
        assert (rd.tables_dir / f"{table}.csv").exists(), table
    t4 = Table.from_csv(rd.tables_dir / "table4_relu.csv")
    assert t4.columns == ["quantity", "paper", "ours", "±", "gap"]
    assert t4.rows[0][1] == 97.3
    assert t4.rows[0][4] == pytest.approx(a["test"]["accuracy"] - 97.3)
    for fig in ("training_curves", "energy", "sensitivity"):
        assert (rd.figures_dir / f"{fig}.png").stat().st_size > 1000, fig
    assert rd.report_path.exists()


def test_accuracy_saves_loadable_models(accuracy_run) -> None:
    assert trained_models(accuracy_run.path) == ["A_relu_T1", "D_sigmoid_T2", "MLP"]
    model, meta = load_trained(accuracy_run.path, "A_relu_T1")
    assert isinstance(model, HopfieldODE) and model.activation.name == "relu"
    opts = FlowOptions(**meta["flow"])
    assert (opts.T, opts.solver, opts.dt) == (1.0, "euler", 0.1)
    x = torch.rand(3, 784)
    assert model.classify(x, opts).shape == (3, 10)


def test_rectifier_smoke_and_models_from(accuracy_run, tmp_path) -> None:
    config = rect_mod.RectifierConfig(
        models=(ModelSpec("A_relu_T1", "relu", 1.0, 0.1, epochs=1, n_train=1000),),
        train=TINY,
        models_from=str(accuracy_run.path),
        n_samples=4,
        t_end=3.0,
        step=0.05,
        n_times=13,
        n_plot=2,
        n_components=5,
        n_test=200,
    )
    rd = _run("mhn-rectifier", config, tmp_path)
    cell = rd.load_cell("A_relu_T1")
    assert cell["loaded_from"] == str(accuracy_run.path)
    s = cell["rectifier"]
    assert s["eq2_max_err_0_1"] < 1e-6 and s["eq2_max_norm_dev"] < 1e-6  # Eq. 2 = x/|x|
    assert 0.0 <= s["frac_class_end_equals_T"] <= 1.0
    crit = rd.read_results()["criteria"]
    assert crit["A_relu_T1:8d_eq2_vs_flow"]["passed"] and crit["A_relu_T1:8c_unit_norm"]["passed"]
    arrays = torch.load(rd.path / "arrays" / "A_relu_T1.pt", weights_only=True)
    times = arrays["times"]
    assert bool((times[1:] > times[:-1]).all()) and float(times[-1]) == 3.0
    assert bool(((times - 2.0).abs() < 1e-6).any())  # t_end - 1 is on the grid
    assert arrays["y_plot"].shape == (2, len(times), 5)
    for fig in ("fig4_fig7_relu_directions", "fig9_inverse_norm", "eq2_check"):
        assert (rd.figures_dir / f"{fig}.png").exists(), fig
    assert (rd.tables_dir / "rectifier.csv").exists()
    # a model loaded under another activation is refused
    wrong = dataclasses.replace(config, models=(ModelSpec("A_relu_T1", "softplus", 1.0, 0.1),))
    with pytest.raises(ConfigError, match="not a softplus"):
        rect_mod._cell(
            {
                "config": to_jsonable(dataclasses.asdict(wrong)),
                "name": "A_relu_T1",
                "run_path": str(tmp_path / "other"),
                "device": "cpu",
                "progress": False,
            }
        )


def test_config_json_round_trip() -> None:
    for name in ("mhn-accuracy", "mhn-rectifier"):
        exp = EXPERIMENTS[name]
        for cfg in exp.profiles.values():
            back = config_from_dict(exp.config_cls, to_jsonable(dataclasses.asdict(cfg)))
            assert back == cfg


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mhn-accuracy", "mhn-rectifier"])
def test_demo_profiles(name, tmp_path) -> None:
    from hopfield_lab.experiments import run_experiment

    out = run_experiment(name, "demo", out=tmp_path, ctx=CTX)
    assert out.run_dir.is_complete() and out.run_dir.report_path.exists()
