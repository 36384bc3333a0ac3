"""Accuracy of modern Hopfield ODEs over activation x T x dt x lr (ODE paper, App. C, Tables 4-8).

Command::

    hopfield-lab run mhn-accuracy --profile demo    # relu and tanh at T=1, 5k images, 1 epoch
    hopfield-lab run mhn-accuracy --profile quick   # the spec's Sec. 5 proposal, ~10 min
    hopfield-lab run mhn-accuracy --profile paper --executor ray   # the full grid

Setting: :mod:`hopfield_lab.experiments.mhn._common` (data, model, Adam, batch 128, final-model
test accuracy, models saved as ``models/<name>.pt``). The paper's grid: lr 1e-3 for all five
activations x ``dt`` {.01, .05, .1} x ``T`` {1, 3, 5, 10, 15}, plus lr 1e-4 for tanh, sigmoid and
softplus at ``T`` {5, 10, 15}: 102 models of 20 epochs each, Dopri5 with ``rtol = atol = 1e-5`` and
first step ``dt`` (in the code ``dt`` is only Dopri5's first step, so the three ``dt`` of a ``T``
are replicates).

Cost of the paper profile (spec Sec. 5, 2 CPU cores): about 58 us per image per field evaluation
with backprop (measured here: 57-61 us, one thread), i.e. ``2.9 s x NFE`` per 50k-image epoch.
The spec assumed Dopri5 needs ``NFE ~ 60 T`` (about 750 CPU-hours for the grid, 250 with one
``dt`` replicate). Dopri5 re-solves of the quick models (``rtol = atol = 1e-5``, batches of 500)
took 49-73 evaluations at T=1, 79 at T=5 and 103-115 at T=10, far below ``60 T``; at about 60,
70, 79, 109 and 130 evaluations for T = 1, 3, 5, 10, 15 (3 and 15 interpolated / extrapolated)
the grid needs about 150 CPU-hours (NFE during training may differ; not run here). With Euler at
the same ``dt`` it is about 545 h (RK4 x4). The longest cell (T=15) sets the wall time on a Ray
cluster (``--executor ray``, one cell per CPU). On one H200 a batch evaluation takes about
0.1-0.2 ms against 7.4 ms here: about 8-14 GPU-hours for the Euler grid, ~8 cells at once.

Quick profile (spec Sec. 5, Euler ``dt = 0.1``, lr 1e-3; the paper's models take 20 epochs):

==  ===================  ================  ====================================================
id  model                images x epochs   tests
==  ===================  ================  ====================================================
A   relu T=1             50k x 2           >= 95 %; learns faster than tanh (epoch-1 accuracy)
B   tanh T=1             50k x 2           >= 93 %
C   tanh T=5             20k x 2           trains (the proxy of the paper's T=15 analysis model)
D   sigmoid T=1, T=10    50k x 3, 10k x 1  T=1 >= 85 %, T=10 <= 30 % (collapse)
E   relu T=0.1, dt .01   50k x 3           >= 90 % (T=0.1 is nearly linear)
S   softplus T=1, T=10   20k x 1, 10k x 1  trains at T=1; collapse at T=10 (reported)
M   MLP 784-256-128-10   50k x 3           the baseline of part 2's adversarial comparison
==  ===================  ================  ====================================================

The spec proposed sigmoid T=1 on 20k x 1 epoch and relu T=0.1 on 50k x 2: measured, they reach
59.6 % and 89.0 % (both still rising), short of criteria 2 and 1; sigmoid learns slowly (its
``g' <= 1/4`` damps the gradient through the flow): 78.4 / 84.6 / 87.5 % validation accuracy
after 1 / 2 / 3 epochs of 50k. Hence 50k x 3 for both.

Why sigmoid collapses at long ``T`` (spec Sec. 2): at init ``|W_s|_2 ~ sqrt 2`` and
``sigmoid' <= 1/4``, so the field's Jacobian ``W_s diag g' - I`` has log-norm ``<= -0.65`` and the
flow contracts every pair of inputs by ``e^{-0.65 T}``: ``x(10)`` is nearly the same point for
every image, its gradient with respect to the input and the weights' effect on the class
vanish, and training settles on one class (accuracy = that class's frequency, 9.9-11.4 %). The
run measures ``|d x(T) / d x0|_2`` at init (power iteration through the solver) for every
activation next to this bound, and again for every trained model.

Every trained model gets the energy check of App. A: along RK4 trajectories (step 0.01, float64,
every step recorded) from test images to its ``T``, ``E`` (Eq. 4d) never rises for the convex
Lagrangians (relu, tanh, sigmoid, softplus), and the closed-form gradient (Eq. 8) equals
autograd. GELU has no energy (non-convex Lagrangian). Models trained with a fixed step are also
re-solved with Dopri5 (``rtol = atol = 1e-5``, first step ``dt``) on test images: its accuracy,
the agreement of the two solvers' predictions, and Dopri5's number of field evaluations.

Measured (quick profile, seed 0, MNIST test split; the paper's values after 20 epochs of 48k):

* test accuracy: relu T=1 95.04 % (paper 97.3), tanh T=1 93.81 % (96.9), tanh T=5 90.47 %
  (95.3), sigmoid T=1 86.45 % (91.5), relu T=0.1 90.57 % (no paper value), softplus T=1
  68.96 % (94.8; 20k images, 1 epoch), MLP 96.93 %;
* epoch-1 validation accuracy relu T=1 93.8 % vs tanh T=1 92.9 %: relu learns faster;
* collapse: sigmoid T=10 and softplus T=10 predict one class for every test image, 11.35 %
  (the share of digit 1 in the test split; paper 9.9-11.2 %). At init
  ``|d x(10) / d x0|_2`` is 1.12e-3 for sigmoid (bound 1.57e-3), 0.127 for softplus, 1.01 for
  relu and 22.9 for tanh; the trained sigmoid T=10 model has 5.4e-4, softplus T=10 2.2e-3;
* energy: no RK4 step (h 0.01, 50 images, float64) raised E for any of the 8 convex models;
  Eq. 8 vs autograd: relative error <= 8.6e-10;
* the Euler-trained models re-solved with Dopri5 agree on 85-100 % of the predictions (softplus
  T=1 85 %, sigmoid T=1 94 %, relu T=1 97 %): a model trained through Euler's steps learns
  that discretisation, not only the flow.

The report shows, per activation (Tables 4-8), paper value, ours and gap for every trained cell,
the acceptance criteria of spec Sec. 6 (1-3) with their targets, training curves, the energy
along trajectories and the sensitivities. Measured runtimes are in the registry entry below.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Annotated, Any

import torch

from hopfield_lab.errors import DivergenceError
from hopfield_lab.experiments.base import Experiment, RunContext, register
from hopfield_lab.experiments.fields import Config, Min, NonEmpty, Positive, Seed, config_from_dict
from hopfield_lab.experiments.mhn._common import (
    ACTIVATIONS,
    PAPER_ACCURACY,
    PAPER_DTS,
    PAPER_TABLE,
    ModelSpec,
    TrainSettings,
    check_unique_names,
    energy_check,
    evaluate,
    flow_options,
    mnist,
    paper_accuracy,
    sensitivity,
    train_hopfield,
    train_mlp,
)
from hopfield_lab.models import FlowOptions, HopfieldODE
from hopfield_lab.runs import RunDir, Table, comparison_table, run_cells, to_jsonable
from hopfield_lab.runs.plots import figure

__all__ = ["AccuracyConfig", "paper_grid", "report", "run"]


def paper_grid() -> tuple[ModelSpec, ...]:
    """The 102 models of Tables 4-8 (20 epochs, all 50k images)."""
    specs = []
    for (activation, lr), rows in PAPER_ACCURACY.items():
        for T in rows:
            for dt in PAPER_DTS:
                name = f"{activation}_lr{lr:g}_T{T:g}_dt{dt:g}"
                specs.append(ModelSpec(name, activation, T, dt, lr))  # type: ignore[arg-type]
    return tuple(specs)


@dataclasses.dataclass(frozen=True)
class AccuracyConfig(Config):
    """Config of ``mhn-accuracy``.

    Attributes:
        models: the models to train (:class:`ModelSpec`; unique names). Default the paper grid.
        train: how they are trained and solved (:class:`TrainSettings`).
        n_test: test images for the accuracy (0 = all 10,000).
        mlp_epochs: epochs of the baseline MLP (0 = none). mlp_n_train: its images (0 = all).
        energy_samples: test images of the energy check (0 = skip). energy_step: its RK4 step.
        sensitivity_samples: test images for ``|d x(T)/d x0|`` (0 = skip).
        sensitivity_T: ``T`` of the sensitivity at init (spec: 10). sensitivity_dt: its step.
        sensitivity_iters: power iterations (the estimate converges from below).
        dopri5_samples: test images re-solved with Dopri5 for fixed-step models (0 = skip).
        seed: seeds the subsets, the initial ``W`` and the shuffles.
    """

    models: Annotated[tuple[ModelSpec, ...], NonEmpty] = paper_grid()
    train: TrainSettings = dataclasses.field(default_factory=TrainSettings)
    n_test: Annotated[int, Min(0)] = 0
    mlp_epochs: Annotated[int, Min(0)] = 5
    mlp_n_train: Annotated[int, Min(0)] = 0
    energy_samples: Annotated[int, Min(0)] = 100
    energy_step: Annotated[float, Positive] = 0.01
    sensitivity_samples: Annotated[int, Min(0)] = 8
    sensitivity_T: Annotated[float, Positive] = 10.0
    sensitivity_dt: Annotated[float, Positive] = 0.1
    sensitivity_iters: Annotated[int, Min(1)] = 20
    dopri5_samples: Annotated[int, Min(0)] = 0
    seed: Seed = 0

    def check(self) -> None:
        check_unique_names(self.models)
        FlowOptions(T=self.sensitivity_T, dt=self.sensitivity_dt)  # dt <= T


# ------------------------------------------------------------------------------------ cells


def _guard(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return fn(*args, **kwargs)
    except DivergenceError as err:
        return {"error": str(err)}


@torch.no_grad()
def _agreement(model: HopfieldODE, x: torch.Tensor, a: FlowOptions, b: FlowOptions) -> float:
    pa = model.logits(model(model.initial_state(x), a)).argmax(1)
    pb = model.logits(model(model.initial_state(x), b)).argmax(1)
    return float((pa == pb).double().mean())


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    """One grid cell: train and evaluate a model, or measure an untrained one (``init``)."""
    config = config_from_dict(AccuracyConfig, cell["config"])
    settings = config.train
    run_path = Path(cell["run_path"])
    device = cell["device"]
    xt, yt = mnist(settings.mnist_path, "test", config.n_test, config.seed)
    if cell["kind"] == "init":
        model = HopfieldODE(
            784,
            cell["activation"],
            n_label_units=settings.n_label_units,
            generator=torch.Generator().manual_seed(config.seed),
        )
        opts = FlowOptions(
            T=config.sensitivity_T,
            solver=settings.solver,
            dt=config.sensitivity_dt,
            rtol=settings.rtol,
            atol=settings.atol,
        )
        sens = _guard(
            sensitivity, model, xt[: config.sensitivity_samples], opts, config.sensitivity_iters
        )
        return {"activation": cell["activation"], "sensitivity": sens}
    if cell["kind"] == "mlp":
        mlp, record = train_mlp(
            config.mlp_epochs,
            settings,
            n_train=config.mlp_n_train,
            seed=config.seed,
            run_path=run_path,
            device=device,
            progress=cell["progress"],
        )
        record["test"] = evaluate(mlp, xt, yt)
        return record
    spec = next(s for s in config.models if s.name == cell["name"])
    model, record = train_hopfield(
        spec,
        settings,
        seed=config.seed,
        run_path=run_path,
        device=device,
        progress=cell["progress"],
    )
    opts = flow_options(spec, settings)
    record["paper"] = paper_accuracy(spec.activation, spec.lr, spec.T, spec.dt)
    record["test"] = _guard(evaluate, model, xt, yt, opts, loss=settings.loss)
    model = model.cpu()
    if config.energy_samples:
        record["energy"] = _guard(
            energy_check, model, xt[: config.energy_samples], spec.T, config.energy_step
        )
    if config.sensitivity_samples:
        record["sensitivity"] = _guard(
            sensitivity, model, xt[: config.sensitivity_samples], opts, config.sensitivity_iters
        )
    if config.dopri5_samples and settings.solver != "dopri5":
        k = config.dopri5_samples
        dopri = flow_options(spec, settings, solver="dopri5", adjoint=False)
        record["dopri5"] = _guard(evaluate, model, xt[:k], yt[:k], dopri, loss=settings.loss)
        if "error" not in record["dopri5"]:
            record["dopri5"]["agreement"] = _agreement(model, xt[:k], opts, dopri)
    return record


def run(config: AccuracyConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """Train every model (one cell each, resumable), the MLP, and measure the untrained models'
    sensitivity; return the criteria of spec Sec. 6 (1-3) and a per-model summary."""
    common = {
        "config": to_jsonable(dataclasses.asdict(config)),  # lists, as config.json holds
        "run_path": str(run_dir.path),
        "device": ctx.device,
        "progress": ctx.progress,
    }
    cells: dict[str, dict[str, Any]] = {}
    if config.sensitivity_samples:
        for act in sorted({s.activation for s in config.models} | {"sigmoid", "tanh"}):
            cells[f"init-{act}"] = {**common, "kind": "init", "activation": act}
    for spec in config.models:
        cells[spec.name] = {**common, "kind": "hopfield", "name": spec.name}
    if config.mlp_epochs:
        cells["MLP"] = {**common, "kind": "mlp"}
    results = run_cells(_cell, cells, run_dir, executor=ctx.executor, progress=ctx.progress)
    models = {k: v for k, v in results.items() if not k.startswith("init-")}
    init = {v["activation"]: v["sensitivity"] for k, v in results.items() if k.startswith("init-")}
    summary = {
        name: {
            "test_accuracy": rec.get("test", {}).get("accuracy"),
            "paper": rec.get("paper"),
            "majority_fraction": rec.get("test", {}).get("majority_fraction"),
            "epoch1_val_accuracy": rec["history"][0].get("val_accuracy")
            if rec.get("history")
            else None,
            "diverged": rec.get("diverged") is not None,
        }
        for name, rec in models.items()
    }
    return {
        "criteria": _criteria(models, init),
        "models": summary,
        "init_sensitivity": {a: s.get("median") for a, s in init.items()},
        "train_time_s": sum(r.get("train_time_s", 0.0) for r in models.values()),
    }


# --------------------------------------------------------------------------------- criteria


def _acc(rec: dict[str, Any]) -> float | None:
    return rec.get("test", {}).get("accuracy")


def _accs(recs: list[dict[str, Any]]) -> list[float]:
    """Test accuracies of records that have one."""
    return [float(a) for a in map(_acc, recs) if a is not None]


def _select(
    models: dict[str, dict[str, Any]], activation: str, T: float, lr: float = 1e-3
) -> list[dict[str, Any]]:
    return [
        r
        for r in models.values()
        if r.get("activation") == activation
        and math.isclose(r["T"], T)
        and math.isclose(r["lr"], lr)
        and _acc(r) is not None
    ]


def _paper_range(activation: str, T: float, lr: float = 1e-3) -> str | None:
    row = PAPER_ACCURACY.get((activation, lr), {}).get(T)
    return None if row is None else f"{min(row):g}-{max(row):g}"


def _criterion(
    description: str, value: float | None, target: str, passed: bool | None, paper: Any = None
) -> dict[str, Any]:
    return {
        "description": description,
        "paper": paper,
        "ours": value,
        "target": target,
        "passed": passed,
    }


def _full_protocol(rec: dict[str, Any]) -> bool:
    return rec["epochs"] >= 20 and rec["n_train"] >= 50_000 and rec["solver"] == "dopri5"


def _criteria(
    models: dict[str, dict[str, Any]], init: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Spec Sec. 6 criteria 1-3 on whatever the run trained (``passed`` None: not applicable)."""
    out: dict[str, dict[str, Any]] = {}

    def floor(key: str, act: str, T: float, target: float, what: str) -> None:
        sel = _select(models, act, T)
        value = min(_accs(sel)) if sel else None
        out[key] = _criterion(
            f"{what}: test accuracy (%)",
            value,
            f">= {target:g}",
            None if value is None else value >= target,
            _paper_range(act, T),
        )

    floor("1a_relu_T1", "relu", 1.0, 95.0, "relu T=1")
    floor("1b_relu_T0.1", "relu", 0.1, 90.0, "relu T=0.1")
    floor("1c_tanh_T1", "tanh", 1.0, 93.0, "tanh T=1")
    relu, tanh = _select(models, "relu", 1.0), _select(models, "tanh", 1.0)
    pairs = [
        (r, t)
        for r in relu
        for t in tanh
        if r["n_train"] == t["n_train"]
        and math.isclose(r["dt"], t["dt"])
        and _has_val(r)
        and _has_val(t)
    ]
    if pairs:
        r, t = pairs[0]
        a_r, a_t = r["history"][0]["val_accuracy"], t["history"][0]["val_accuracy"]
        out["1d_relu_learns_faster"] = _criterion(
            "epoch-1 validation accuracy, relu T=1 minus tanh T=1 (points)",
            a_r - a_t,
            ">= 0",
            a_r >= a_t,
            "relu 'learns very fast' (App. C)",
        )
    good = [r for r in models.values() if _full_protocol(r) and (r.get("paper") or 0) >= 95.0]
    if good:
        gaps = [abs(a - r["paper"]) for r in good if (a := _acc(r)) is not None]
        out["1e_paper_good_cells"] = _criterion(
            f"largest |ours - paper| over the {len(good)} cells the paper has >= 95 % (points)",
            max(gaps) if gaps else None,
            "<= 2",
            bool(gaps) and max(gaps) <= 2.0 and len(gaps) == len(good),
        )
    s1, s10 = _select(models, "sigmoid", 1.0), _select(models, "sigmoid", 10.0)
    if s1 and s10:
        a1, a10 = min(_accs(s1)), max(_accs(s10))
        out["2a_sigmoid_collapse"] = _criterion(
            "sigmoid: test accuracy (%) at T=10 (collapse) while T=1 >= 85",
            a10,
            f"<= 30 (T=1: {a1:.1f} >= 85)",
            a10 <= 30.0 and a1 >= 85.0,
            _paper_range("sigmoid", 10.0),
        )
    sp10 = _select(models, "softplus", 10.0)
    if sp10:
        out["2b_softplus_T10"] = _criterion(
            "softplus T=10: test accuracy (%) (reported; paper: collapse)",
            max(_accs(sp10)),
            "reported",
            None,
            _paper_range("softplus", 10.0),
        )
    for act, key in (("sigmoid", "2c_sigmoid_init_sensitivity"), ("tanh", "2d_tanh_init_sens")):
        sens = init.get(act, {})
        if "median" in sens:
            is_sig = act == "sigmoid"
            out[key] = _criterion(
                f"{act} at init: median |d x({sens['T']:g}) / d x0|_2 (bound {sens['bound']:.3g})",
                sens["median"],
                "< 1e-2" if is_sig else "reported",
                sens["max"] < 1e-2 if is_sig else None,
                "e^-6.5 = 1.5e-3 (bound)" if is_sig else None,
            )
    full = [r for r in models.values() if _full_protocol(r) and _acc(r) is not None]
    long_bad = [
        r
        for r in full
        if r["activation"] in ("sigmoid", "softplus") and r["T"] >= 10 and r["lr"] == 1e-3
    ]
    if long_bad:
        out["2e_paper_long_T_collapse"] = _criterion(
            "sigmoid, softplus at lr 1e-3, T >= 10: largest accuracy (%)",
            max(_accs(long_bad)),
            "< 20",
            max(_accs(long_bad)) < 20.0,
        )
    tanh_slow = [r for r in full if r["activation"] == "tanh" and r["T"] >= 10 and r["lr"] == 1e-4]
    if tanh_slow:
        out["2f_paper_tanh_lr1e-4"] = _criterion(
            "tanh at lr 1e-4, T >= 10: smallest accuracy (%)",
            min(_accs(tanh_slow)),
            ">= 95",
            min(_accs(tanh_slow)) >= 95.0,
        )
    checks = [r["energy"] for r in models.values() if r.get("energy", {}).get("applies")]
    if checks:
        eq8 = max(c["eq8_max_rel_error"] for c in checks)
        out["3a_eq8_autograd"] = _criterion(
            f"Eq. 8 vs autograd, largest relative error over {len(checks)} trained models",
            eq8,
            "<= 1e-5",
            eq8 <= 1e-5,
        )
        rate = max(c["increase_rate"] for c in checks)
        out["3b_energy_monotone"] = _criterion(
            f"fraction of RK4 steps (h .01) where E rises, worst of {len(checks)} convex models",
            rate,
            "= 0",
            rate == 0.0,
        )
    return out


def _has_val(rec: dict[str, Any]) -> bool:
    return bool(rec.get("history")) and "val_accuracy" in rec["history"][0]


# ----------------------------------------------------------------------------------- report


def _label(rec: dict[str, Any]) -> str:
    return (
        f"lr {rec['lr']:g}, T={rec['T']:g}, dt={rec['dt']:g} "
        f"({rec['solver']}, {rec['epochs']} ep x {rec['n_train'] / 1000:g}k)"
    )


def report(config: AccuracyConfig, run_dir: RunDir) -> None:
    """Tables 4-8 (paper, ours, gap per activation), the criteria, an overview of the models,
    training curves, energy along trajectories and sensitivities, from the saved cells."""
    cells = run_dir.cells()
    models = {k: v for k, v in cells.items() if not k.startswith("init-") and k != "MLP"}
    results = run_dir.read_results()
    for act in ACTIVATIONS:
        recs = sorted(
            (r for r in models.values() if r["activation"] == act),
            key=lambda r: (-r["lr"], r["T"], r["dt"]),
        )
        if not recs:
            continue
        run_dir.save_table(
            comparison_table(
                f"table{PAPER_TABLE[act]}_{act}",
                [(_label(r), r.get("paper"), _acc(r), None) for r in recs],
                caption=f"Table {PAPER_TABLE[act]} ({act}): final-model test accuracy (%), paper "
                "(20 epochs, Dopri5 rtol=atol=1e-5 with first step dt, 6k test images carved "
                "from the training set) vs ours (MNIST test split, protocol in each row). "
                "Rows with fewer epochs or images are not the paper's protocol; the gap then "
                "measures the shortfall of the budget.",
                fmt="{:.1f}",
            )
        )
    crit = Table(
        "criteria",
        ["criterion", "description", "paper", "ours", "target", "passed"],
        caption="Spec Sec. 6 acceptance criteria 1-3 on this run (passed empty: reported only).",
    )
    for key, c in results.get("criteria", {}).items():
        passed = None if c["passed"] is None else ("yes" if c["passed"] else "NO")
        crit.add_row(key, c["description"], c["paper"], c["ours"], c["target"], passed)
    run_dir.save_table(crit)
    _overview(cells, run_dir)
    _figure_curves(cells, run_dir)
    _figure_energy(models, run_dir)
    _figure_sensitivity(cells, run_dir)


def _overview(cells: dict[str, dict[str, Any]], run_dir: RunDir) -> None:
    table = Table(
        "models",
        [
            "model",
            "activation",
            "T",
            "dt",
            "lr",
            "epochs",
            "images",
            "test acc %",
            "paper %",
            "top-class share",
            "E rises",
            "|dx(T)/dx0|",
            "Dopri5 acc %",
            "solver agreement",
            "Dopri5 NFE",
            "train s",
        ],
        caption="Every trained model: test accuracy, share of the most predicted class (1.0 = "
        "collapsed), fraction of RK4 steps where the energy rises (0 = Eq. 10 holds), median "
        "flow-map sensitivity at its T, the Dopri5 re-solve (accuracy, agreement with the "
        "training solver, field evaluations per batch of up to 1000 images) and the training time.",
        fmt="{:.4g}",
    )
    for name, r in cells.items():
        if name.startswith("init-"):
            continue
        test, energy = r.get("test", {}), r.get("energy", {})
        d5 = r.get("dopri5", {})
        table.add_row(
            name,
            r.get("activation", "MLP"),
            r.get("T"),
            r.get("dt"),
            r.get("lr", 1e-3),
            r["epochs"],
            r["n_train"],
            test.get("accuracy"),
            r.get("paper"),
            test.get("majority_fraction"),
            energy.get("increase_rate"),
            r.get("sensitivity", {}).get("median"),
            d5.get("accuracy"),
            d5.get("agreement"),
            d5.get("nfe_per_batch"),
            r.get("train_time_s"),
        )
    run_dir.save_table(table)


def _figure_curves(cells: dict[str, dict[str, Any]], run_dir: RunDir) -> None:
    recs = {k: v for k, v in cells.items() if v.get("history") and not k.startswith("init-")}
    if not recs:
        return
    with figure(run_dir, "training_curves", ncols=2) as (_fig, axes):
        for i, (name, r) in enumerate(recs.items()):
            h = r["history"]
            ep = [e["epoch"] for e in h]
            style = {"color": f"C{i % 10}", "marker": "o", "label": name}
            axes[0].plot(ep, [e["train_loss"] for e in h], **style)
            axes[1].plot(ep, [e.get("val_accuracy") for e in h], **style)
        axes[0].set(xlabel="epoch", ylabel="training loss", yscale="log", title="Loss")
        axes[1].set(xlabel="epoch", ylabel="validation accuracy (%)", title="Accuracy")
        axes[1].legend(fontsize=7)


def _figure_energy(models: dict[str, dict[str, Any]], run_dir: RunDir) -> None:
    recs = {k: v["energy"] for k, v in models.items() if v.get("energy", {}).get("applies")}
    if not recs:
        return
    with figure(run_dir, "energy", size=(6.5, 4.2)) as (_fig, ax):
        for i, (name, e) in enumerate(recs.items()):
            t = [s / e["T"] for s in e["t"]]
            ax.plot(
                t,
                e["median_rel"],
                color=f"C{i % 10}",
                label=f"{name} (rise rate {e['increase_rate']:g})",
            )
            ax.fill_between(t, e["q10_rel"], e["q90_rel"], color=f"C{i % 10}", alpha=0.15)
        ax.set(
            xlabel="t / T",
            ylabel="(E(t) - E(0)) / |E(0)|",
            yscale="symlog",
            title="Energy (Eq. 4d) along RK4 trajectories: median, 10-90 %",
        )
        ax.legend(fontsize=7)


def _figure_sensitivity(cells: dict[str, dict[str, Any]], run_dir: RunDir) -> None:
    init = {v["activation"]: v["sensitivity"] for k, v in cells.items() if k.startswith("init-")}
    init = {a: s for a, s in init.items() if "median" in s}
    trained = {
        k: v["sensitivity"]
        for k, v in cells.items()
        if "median" in v.get("sensitivity", {}) and not k.startswith("init-")
    }
    if not init and not trained:
        return
    with figure(run_dir, "sensitivity", ncols=2) as (_fig, axes):
        names = list(init)
        axes[0].bar(names, [init[a]["median"] for a in names], color="C0", label="measured")
        axes[0].scatter(
            names, [init[a]["bound"] for a in names], color="C3", zorder=3, label="bound"
        )
        T = next(iter(init.values()))["T"] if init else 0
        axes[0].set(yscale="log", ylabel="|d x(T) / d x0|_2", title=f"At init, T = {T:g}")
        axes[0].legend(fontsize=8)
        names = list(trained)
        axes[1].bar(names, [trained[k]["median"] for k in names], color="C1")
        axes[1].set(yscale="log", title="Trained models, at their T")
        axes[1].tick_params(axis="x", rotation=60, labelsize=7)


# ---------------------------------------------------------------------------------- register

_EULER = TrainSettings(solver="euler")
_QUICK_MODELS = (
    ModelSpec("A_relu_T1", "relu", 1.0, 0.1, epochs=2),
    ModelSpec("B_tanh_T1", "tanh", 1.0, 0.1, epochs=2),
    ModelSpec("C_tanh_T5", "tanh", 5.0, 0.1, epochs=2, n_train=20_000),
    ModelSpec("D_sigmoid_T1", "sigmoid", 1.0, 0.1, epochs=3),
    ModelSpec("D_sigmoid_T10", "sigmoid", 10.0, 0.1, epochs=1, n_train=10_000),
    ModelSpec("E_relu_T0.1", "relu", 0.1, 0.01, epochs=3),
    ModelSpec("S_softplus_T1", "softplus", 1.0, 0.1, epochs=1, n_train=20_000),
    ModelSpec("S_softplus_T10", "softplus", 10.0, 0.1, epochs=1, n_train=10_000),
)
_QUICK = AccuracyConfig(
    models=_QUICK_MODELS,
    train=_EULER,
    mlp_epochs=3,
    energy_samples=50,
    dopri5_samples=500,
)
_DEMO = AccuracyConfig(
    models=(
        ModelSpec("A_relu_T1", "relu", 1.0, 0.1, epochs=1, n_train=5000),
        ModelSpec("B_tanh_T1", "tanh", 1.0, 0.1, epochs=1, n_train=5000),
    ),
    train=dataclasses.replace(_EULER, n_val_epoch=1000),
    n_test=2000,
    mlp_epochs=1,
    mlp_n_train=5000,
    energy_samples=8,
    sensitivity_samples=4,
    sensitivity_iters=8,
    dopri5_samples=200,
)

register(
    Experiment(
        name="mhn-accuracy",
        title="Modern Hopfield ODEs on MNIST: accuracy over activation x T x dt x lr",
        paper="dynamics-of-modern-hopfield-networks, App. C",
        figure="Tables 4-8",
        config_cls=AccuracyConfig,
        profiles={"demo": _DEMO, "quick": _QUICK, "paper": AccuracyConfig()},
        runtime={
            "demo": "~15 s (2 CPU cores)",
            "quick": "~10 min (2 CPU cores, one thread)",
            "paper": "~150-750 CPU-h (Dopri5; see the docstring) or ~8-14 GPU-h; --executor ray",
        },
        claim=(
            "Trained through the flow, ReLU and tanh models classify MNIST at small T (relu T=1 "
            ">= 95 %, relu T=0.1 >= 90 %, tanh T=1 >= 93 %) and ReLU learns fastest; sigmoid "
            "collapses at T = 10 (<= 30 %) while T = 1 trains (>= 85 %), as its contraction "
            "bound predicts; the energy never rises for the convex Lagrangians (spec Sec. 6, "
            "criteria 1-3)."
        ),
        expected=(
            "relu T=1 95.04 %, relu T=0.1 90.57 %, tanh T=1 93.81 %, sigmoid T=1 86.45 % "
            "(paper 97.3, -, 96.9, 91.5 after 20 epochs of 48k); epoch 1: relu 93.8 % vs tanh "
            "92.9 %; sigmoid and softplus T=10 predict one class (11.35 %); |dx(10)/dx0| at "
            "init 1.12e-3 for sigmoid (bound 1.57e-3); no energy rise on 8 convex models; Eq. 8 "
            "vs autograd <= 8.6e-10."
        ),
        run=run,
        report=report,
    )
)
