"""Smoke runs of the DEQ-paper experiments (Table 2, Figures 3-4) at seconds-long sizes."""

from __future__ import annotations

import itertools
import json
import shutil

import pytest

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments import RunContext, run_experiment
from hopfield_lab.experiments.base import get_experiment, report_run, resolve_config
from hopfield_lab.experiments.deq import table2
from hopfield_lab.models.deq_paper import TABLE2 as PAPER
from hopfield_lab.models.deq_paper import (
    cost_per_iteration,
    settings_for,
    split_variant,
    sync_twin,
)
from hopfield_lab.runs import Table
from hopfield_lab.training.deq_paper import TOLERANCES, TrainSpec, train_and_evaluate

CTX = RunContext(progress=False)
TINY = ["epochs=1", "n_train=192", "seeds=1"]


def test_paper_table_is_complete() -> None:
    assert len(PAPER) == 5 + 4 * 3
    assert PAPER[(3, "HAM-EO-DEQ")] == (6.6, 0.2, 1.8, 97.9, 0.1)
    assert PAPER[(7, "HAM")] == (67.1, 2.9, 1.0, 95.6, 0.2)


def test_paper_settings_and_costs() -> None:
    chn = settings_for("CHN", 3)  # damped: budgets doubled (App. F)
    assert (chn.solver.method, chn.solver.damping) == ("damped", 0.5)
    assert (chn.solver.max_iter, chn.backward_max_iter) == (80, 16)
    ham7 = settings_for("HAM-EO-DEQ", 7)
    assert ham7.scheme == "even_odd" and ham7.solver.method == "anderson"
    assert (ham7.solver.max_iter, ham7.backward_max_iter) == (120, 24)
    assert (ham7.solver.window, ham7.solver.lam) == (4, 1e-10)
    assert settings_for("HAM", 5).solver.max_iter == 80
    assert cost_per_iteration("CHN-EO") == 20 and cost_per_iteration("HAM-EO") == 1


def test_table2_smoke(tmp_path, monkeypatch) -> None:
    overrides = [*TINY, "models=HAM,HAM-EO,CHN", "chn_short_epochs=1", "n_test=100", "n_timing=2"]
    out = run_experiment("deq-table2", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    table = Table.from_csv(rd.tables_dir / "table2.csv")
    rows = {r[1]: r for r in table.rows}
    assert set(rows) == {"HAM", "HAM-EO", "CHN (1 epochs)"}
    ham = rows["HAM"]
    assert ham[2] == PAPER[(3, "HAM")][0] and ham[7] == 1.0  # paper beside ours; base speedup 1
    assert ham[12] == pytest.approx(ham[10] - ham[8])  # accuracy gap
    assert rows["HAM-EO"][4] < ham[4]  # even-odd converges in fewer iterations
    results = json.loads(rd.results_path.read_text())
    assert "3L HAM-EO" in results["rows"]
    assert Table.from_csv(rd.tables_dir / "comparison.csv").rows
    timing = Table.from_csv(rd.tables_dir / "timing.csv")
    assert any(r[1] == "HAM-EO" and r[5] is not None for r in timing.rows)
    assert (rd.figures_dir / "iterations.png").is_file()
    assert table.headline and not (rd.tables_dir / "ordering.csv").exists()  # no HAM-DEQ row
    saved = (sorted(rd.tables_dir.iterdir()), sorted(rd.figures_dir.iterdir()))
    shutil.rmtree(rd.tables_dir)
    shutil.rmtree(rd.figures_dir)

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report trained a model")

    monkeypatch.setattr(table2, "train_cell", no_training)
    report_run(rd)  # redrawn from cells/ alone
    assert (sorted(rd.tables_dir.iterdir()), sorted(rd.figures_dir.iterdir())) == saved
    again = run_experiment("deq-table2", "demo", overrides, out=tmp_path, ctx=CTX)
    assert again.skipped  # finished runs are not recomputed


def test_residuals_smoke(tmp_path) -> None:
    overrides = [*TINY, "models=HAM,HAM-EO-DEQ,CHN", "n_resid=100", "n_energy=20"]
    out = run_experiment("deq-residuals", "demo", overrides, out=tmp_path, ctx=CTX)
    rd = out.run_dir
    res = out.results
    assert res["two_cycle_sync_converged"] is False
    assert res["two_cycle_even_odd_converged"] is True
    assert res["energy_rise_rate_even_odd"] == 0.0  # exact block minimisation
    tab = Table.from_csv(rd.tables_dir / "iters_at_tol.csv")
    for row in tab.rows:
        assert row[3:] == sorted(row[3:])  # tighter tolerances need more iterations
        # the summary reports the same Euler-time counts (x 0.5 for the damped CHN)
        assert res["iters_at_1e-4"][f"3L {row[1]}"] == pytest.approx(row[6])
    for fig in ("residuals_3layers", "two_cycle", "ham_energy"):
        assert (rd.figures_dir / f"{fig}.png").is_file()


@pytest.mark.parametrize(
    ("name", "override", "match"),
    [
        ("deq-table2", "models=HAM,BAM", r"models\[1\] must be one of"),
        ("deq-table2", "depths=4", "depths must be one of"),
        ("deq-table2", "tol=0", "tol"),
        ("deq-residuals", "seeds=0", "seeds"),
        ("deq-table2", "safeguard=hopdeq", "safeguard must be one of 'residual', 'proxy'"),
        ("deq-table2", "compare_safeguard=proxy", "compare_safeguard must differ"),
    ],
)
def test_bad_configs_fail_clearly(name: str, override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_config(get_experiment(name), "demo", [override])


def test_chn_short_evaluation_survives_a_resume(tmp_path) -> None:
    spec = TrainSpec(
        depth=3,
        model="CHN",
        seed=0,
        epochs=2,
        short_epochs=1,
        n_train=64,
        n_test=50,
        train_dir="chn",
    )
    first = train_and_evaluate(spec, str(tmp_path))
    assert set(first) >= {"short", "final"} and len(first["history"]) == 2
    again = train_and_evaluate(spec, str(tmp_path))  # checkpoint at epoch 2
    assert again["short"]["accuracy"] == first["short"]["accuracy"]
    assert again["short"]["iters"] == first["short"]["iters"]
    assert again["final"]["accuracy"] == first["final"]["accuracy"]


def test_iterations_are_counted_like_hopdeq() -> None:
    """hopdeq's count (first t with |s_{t+1} - s_t| / |s_{t+1}| < tol over the map's outputs) is
    the number of Picard calls up to the one meeting |f(x) - x| / |f(x)| < tol, minus 2; the
    histogram counts every residual of the kept samples once."""
    import torch

    from hopfield_lab.analysis import successive_residuals
    from hopfield_lab.models.layered import DEQSettings, LayeredHopfield

    torch.manual_seed(0)
    model = LayeredHopfield([12, 8, 4]).double()
    x = torch.rand(16, 12, dtype=torch.float64)
    st = DEQSettings.of(max_iter=60)
    with torch.no_grad():
        view = model.bind(x)
        counts = successive_residuals(
            view.update, view.initial_state(), st.solver, (1e-2, st.solver.tol), hist_samples=10
        )
        early = model.solve(x, st)
    assert counts.n_residuals == 59 and counts.histogram is not None
    assert counts.histogram.shape == (59, 72) and bool((counts.histogram.sum(1) == 10).all())
    assert bool(early.converged.all())
    assert torch.equal(counts.first_below[st.solver.tol].long(), early.n_steps - 2)
    assert bool((counts.first_below[1e-2] <= counts.first_below[st.solver.tol]).all())
    assert torch.allclose(counts.result.x, early.x, atol=1e-3)  # same fixed point, to ~tol


def test_table2_shared_training(tmp_path) -> None:
    overrides = [*TINY, "models=HAM,HAM-EO,HAM-EO-DEQ", "n_test=100", "n_timing=1"]
    out = run_experiment("deq-table2", "demo", overrides, out=tmp_path, ctx=CTX)
    assert len(list((out.run_dir.path / "train").iterdir())) == 1  # one shared model
    rows = out.results["rows"]
    alt = "3L HAM-EO-DEQ [residual safeguard]"  # the same solver with the foundation's rule
    assert set(rows) == {"3L HAM", "3L HAM-EO", "3L HAM-EO-DEQ", alt}
    acc = [r["accuracy"] for r in rows.values()]
    assert max(acc) - min(acc) <= 3.0  # same weights: the solvers reach the same fixed point
    # only the row whose solver trained has an epoch time
    trained = [k for k, r in rows.items() if r["s_per_epoch"] is not None]
    assert trained == ["3L HAM-EO-DEQ"]


def test_safeguard_variants_parse_and_fail_clearly() -> None:
    assert split_variant("HAM-DEQ@residual") == ("HAM-DEQ", "residual")
    assert split_variant("CHN") == ("CHN", None)
    assert settings_for("HAM-DEQ", 3, safeguard="proxy").solver.safeguard == "proxy"
    with pytest.raises(ConfigError, match="needs an Anderson model"):
        split_variant("HAM-EO@proxy")
    with pytest.raises(ConfigError, match="safeguard must be one of"):
        split_variant("HAM-DEQ@strict")
    with pytest.raises(ConfigError, match="safeguard must be one of"):
        settings_for("HAM-DEQ", 3, safeguard="strict")


def test_chn_speedups_without_a_short_stage() -> None:
    """With ``chn_short_epochs=0`` the CHN rows' base is the CHN itself (not a missing row),
    and the even-odd CHN's timing twin is that row."""
    from hopfield_lab.experiments.deq.table2 import Table2Config, table_rows

    config = Table2Config(
        depths=(3,),
        models=("CHN", "CHN-EO"),
        seeds=1,
        epochs=3,
        chn_short_epochs=0,
        compare_safeguard="",
    )
    metrics = {"accuracy": 90.0, "not_converged": 0, "solve_time_s": 0.01}
    results = {
        "depth=3,model=CHN,seed=0": {
            "final": {**metrics, "iters": 14.0, "state_updates": 14.0},
            "epoch_time_s": 30.0,
        },
        "depth=3,model=CHN-EO,seed=0": {
            "final": {**metrics, "iters": 5.0, "state_updates": 100.0},
            "epoch_time_s": 37.0,
        },
    }
    rows = table_rows(config, results)
    assert set(rows) == {(3, "CHN (3 epochs)"), (3, "CHN-EO")}
    assert rows[(3, "CHN (3 epochs)")]["speedup"] == 1.0
    assert rows[(3, "CHN-EO")]["speedup"] == pytest.approx(0.14)
    assert sync_twin("CHN-EO", "CHN-EO", config.epochs) == "CHN (3 epochs)"
    assert sync_twin("CHN-EO-DEQ [residual safeguard]", "CHN-EO-DEQ", config.epochs) == (
        "CHN-DEQ [residual safeguard]"
    )
    assert sync_twin("CHN-DEQ", "CHN-DEQ", config.epochs) is None


def test_table2_separate_training_reports_both_safeguards(tmp_path) -> None:
    """The paper's protocol (one model per row): an Anderson row is trained with the paper's
    safeguard and also evaluated with ours on its own weights."""
    overrides = [*TINY, "models=HAM-DEQ", "shared_training=false", "n_test=100", "n_timing=1"]
    out = run_experiment("deq-table2", "demo", overrides, out=tmp_path, ctx=CTX)
    rows = out.results["rows"]
    assert set(rows) == {"3L HAM-DEQ", "3L HAM-DEQ [residual safeguard]"}
    assert rows["3L HAM-DEQ"]["s_per_epoch"] is not None  # the row that trained
    assert rows["3L HAM-DEQ [residual safeguard]"]["s_per_epoch"] is None
    assert rows["3L HAM-DEQ"]["accuracy"] == pytest.approx(
        rows["3L HAM-DEQ [residual safeguard]"]["accuracy"], abs=3.0
    )


def test_protocol_loss_and_evaluation_match_a_direct_solve() -> None:
    """The library's protocol (training.deq_paper): the loss is 0.5 |s_out - onehot|^2 / B of
    the solved output layer; the evaluated accuracy is the argmax of that layer, the iterations
    hopdeq's count, by hand: the first t with |s_{t+2} - s_{t+1}| / |s_{t+2}| < tol over the
    outputs s_k = f^k(s_0) of the full budget (x (1 - damping) = 1 for the undamped HAM)."""
    import torch

    from hopfield_lab.models.layered import LayeredHopfield
    from hopfield_lab.training.deq_paper import evaluate, mse_loss

    torch.manual_seed(0)
    model = LayeredHopfield([784, 40, 10]).double()  # a small 3-layer HAM (depth 3's settings)
    x, y = torch.rand(30, 784, dtype=torch.float64), torch.randint(0, 10, (30,))
    settings = settings_for("HAM", 3)
    res = model.solve(x, settings)  # with autograd on, as in training
    out = model.readout(res.x, settings.scheme).detach()
    target = torch.nn.functional.one_hot(y, 10).double()
    loss, logs = mse_loss(settings)(model, (x, y))
    assert float(loss.detach()) == pytest.approx(0.5 * float(((out - target) ** 2).sum()) / 30)
    assert logs["forward_steps"] == pytest.approx(float(res.n_steps.double().mean()))
    spec = TrainSpec(depth=3, model="HAM", seed=0, epochs=1, batch_size=8, n_resid=10)
    m = evaluate(model, "HAM", x, y, spec)
    assert m["accuracy"] == pytest.approx(100 * float((out.argmax(1) == y).double().mean()))
    with torch.no_grad():
        view, outputs = model.bind(x, settings.scheme), []
        s_k = view.initial_state()
        for _ in range(settings.solver.max_iter):
            outputs.append(s_k := view.update(s_k))
    r = torch.stack([(b - a).norm(dim=1) / b.norm(dim=1) for a, b in itertools.pairwise(outputs)])
    below = r < settings.solver.tol  # (T - 1, B)
    count = torch.where(below.any(0), below.double().argmax(0), float(len(r)))  # first t
    assert m["steps_mean"] == pytest.approx(float(count.mean()))
    assert m["iters"] == m["steps_mean"] and m["state_updates"] == m["iters"]
    assert m["not_converged"] == int((~below.any(0)).sum())
    assert set(m["iters_at_tol"]) == {f"{t:g}" for t in TOLERANCES}
    with pytest.raises(ConfigError, match="cannot evaluate"):
        evaluate(model, "CHN", x, y, spec)
