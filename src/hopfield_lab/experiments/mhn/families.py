"""The ODE paper's diagnostics on every model family of the library (beyond the paper).

Command::

    hopfield-lab run mhn-families --profile demo
    hopfield-lab run mhn-families --profile quick

The ODE paper measures one family (its Hopfield ODE); the diagnostics of
:mod:`hopfield_lab.analysis` take any model of the contract, so one table can set the
families side by side, which no paper does. On MNIST (pixels in [0, 1]), each family is
trained briefly here (or not trained: retrieval) and measured the same way:

* ``ode``: :class:`~hopfield_lab.models.HopfieldODE`, tanh, ``T = 1``, Euler ``dt = 0.1``
  (ODE paper, Eq. 1): trajectory = the solve's states, field = its ``vector_field``;
* ``finite_step``: :class:`~hopfield_lab.models.FiniteStepHopfield` (finite-step paper,
  Table 1's network: ``N = 128`` hidden units, ``K`` damped descent steps ``v <- (1 - a) v +
  a M^T sigma(M v)``, a linear classifier on ``v_K``): trajectory = the ``K`` steps (a
  polyline), field = ``T(v) - v``, the flow those steps discretise;
* ``layered_ham``: :class:`~hopfield_lab.models.LayeredHopfield` HAM ``[784, 128, 10]`` (DEQ
  paper, synchronous Picard from the zero state, implicit gradients): bound to each input
  (``model.bind(x)``), trajectory = the fixed-point iterates of the hidden and output layers,
  field = the bound view's ``vector_field``; its start state is 0 for every input, so the
  "start" of the intrinsic dimension and clusters is the input image;
* ``modern``: :class:`~hopfield_lab.models.ModernHopfield` retrieval (notes ch. 3) storing
  ``patterns_per_class`` training images per class, queried with test images, the gradient
  flow ``x' = X^T softmax(beta X x) - x`` integrated by RK4 (step 0.2) to ``modern_T``, at each
  ``modern_betas``; the class is the label of the nearest stored pattern. Not a classifier
  with logits, so no attack.

Diagnostics (per family): the length ratio ``s`` and the curvature ``kappa`` on
``geometry_samples`` test images (``kappa`` at every recorded state; its scale-free form
``kappa |x(T) - x(0)|``, since ``kappa`` has units of 1/length and the families' states differ
in scale); TwoNN at the start and the end on ``per_class`` test images per class (median over
classes and of the per-class ratio); HDBSCAN clusters per class at the end (min_cluster_size
15, min_samples 5, PCA-50); the success of Eq. 3's attack at ``eps`` (``steps`` scale-free
steps, cross-entropy) on ``attack_images`` test images, for the classifiers.

Why a third experiment rather than rows of ``mhn-geometry``: its models and training are
other papers' (the families' own experiments train them at full size), its claim is a
comparison, not the ODE paper's, and it stays small enough to run in a few minutes.

Measured (``hopfield-lab run mhn-families --profile quick``, seed 0; 10k images x 2 epochs;
ID on 200 test images per class, whose start ID is 12.1 for every family):

* ode (tanh, T=1): accuracy 91.3 %, median s 1.022, median ``kappa |chord|`` 0.57, ID
  end / start 0.52, median clusters 0 (max 2), attack success 75.5 %;
* finite_step (K=3): 90.3 %, s 1.055, 1.16, ID ratio 0.51, clusters 0 (max 2), 82.3 %;
* layered_ham: 89.4 %, s 1.51, 2435, ID ratio 0.82, clusters 0 (max 2), 11.4 %;
* modern, beta 0.2: 44.0 % (nearest stored pattern's label), s 1.097, 1.25, ID ratio 0.49,
  clusters 3 (max 6); beta 1: 68.7 %, s 1.000, 2e-7, ID ratio 0.74, clusters 4.5 (max 5).

So the ODE paper's two findings carry over to the finite-step network (nearly straight, ID
halves) and to retrieval (at beta = 1 each query runs straight to one stored pattern, ``x' = xi
- x``); the layered HAM's Picard iterates from the zero state are not straight (s 1.5; why,
whether the synchronous map overshoots, was not examined) and compress least. Its median
``kappa`` is large; the iterates recorded after convergence (rows frozen at the fixed point,
where ``v -> 0`` and ``kappa <= |J| / |v|`` grows) may dominate it (not separated here). The
HAM resists Eq. 3 best (11 % at eps 0.1 against 76-82 % for the ODE and finite-step networks);
its gradient is the implicit one of the DEQ (8 recurrent-backprop iterations), which may
understate the true gradient (not examined). HDBSCAN finds no dense cluster (all noise) in most
classes of the classifiers' final states at 200 images per class; retrieval's final states sit
on stored patterns and cluster (3-6).
"""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hopfield_lab.analysis import cluster_counts, curvature, length_ratio, pgd_attack, twonn
from hopfield_lab.experiments.base import RunContext, register
from hopfield_lab.experiments.fields import Config, Min, MnistPath, NonEmpty, Positive, Seed, Unique
from hopfield_lab.experiments.mhn._common import ModelSpec, TrainSettings, mnist, train_hopfield
from hopfield_lab.models import FiniteStepHopfield, FlowOptions, LayeredHopfield, ModernHopfield
from hopfield_lab.runs import RunDir, at_least, at_most, check_table, records_table
from hopfield_lab.runs.plots import figure
from hopfield_lab.solvers import integrate
from hopfield_lab.training import TrainConfig, fit

__all__ = ["FAMILIES", "FamiliesConfig", "report", "run"]

Family = Literal["ode", "finite_step", "layered_ham", "modern"]
FAMILIES: tuple[Family, ...] = ("ode", "finite_step", "layered_ham", "modern")
_N_CLASSES = 10
_MODERN_STEP = 0.2
"""RK4 step of the retrieval flow (its Jacobian ``beta X^T (diag p - p p^T) X - I``; the
states are recorded at every step)."""


@dataclasses.dataclass(frozen=True)
class FamiliesConfig(Config):
    """Config of ``mhn-families``.

    Attributes:
        families: which families to measure (default all four).
        n_train: training images of the trained families. epochs: their epochs (Adam 1e-3,
            batch 128, cross-entropy).
        ode_T, ode_dt: the ODE's ``T`` and Euler step.
        finite_K, finite_hidden: the finite-step network's steps and hidden units.
        layered_hidden: the HAM's hidden layer.
        patterns_per_class: stored training images per class (modern retrieval).
        modern_betas: inverse temperatures of the retrieval rows. modern_T: its flow time.
        per_class: test images per class for TwoNN and HDBSCAN.
        geometry_samples: test images for ``s`` and ``kappa``.
        attack_images: test images attacked. eps: the attack's radius. steps: its steps.
        mnist_path: optional user MNIST ("" = bundled).
        seed: seeds training and the draws.
    """

    families: Annotated[tuple[Family, ...], NonEmpty, Unique] = FAMILIES
    n_train: Annotated[int, Min(0)] = 10_000
    epochs: Annotated[int, Min(1)] = 2
    ode_T: Annotated[float, Positive] = 1.0
    ode_dt: Annotated[float, Positive] = 0.1
    finite_K: Annotated[int, Min(1)] = 3
    finite_hidden: Annotated[int, Min(1)] = 128
    layered_hidden: Annotated[int, Min(1)] = 128
    patterns_per_class: Annotated[int, Min(1)] = 20
    modern_betas: Annotated[tuple[float, ...], NonEmpty, Unique, Positive] = (0.2, 1.0)
    modern_T: Annotated[float, Positive] = 10.0
    per_class: Annotated[int, Min(20)] = 200
    geometry_samples: Annotated[int, Min(1)] = 200
    attack_images: Annotated[int, Min(1)] = 200
    eps: Annotated[float, Positive] = 0.1
    steps: Annotated[int, Min(1)] = 20
    mnist_path: MnistPath = ""
    seed: Seed = 0


def _grid(config: FamiliesConfig) -> dict[str, dict[str, Any]]:
    """One cell per family (the retrieval family: one per beta)."""
    cells: dict[str, dict[str, Any]] = {}
    for fam in config.families:
        if fam == "modern":
            for beta in config.modern_betas:
                cells[f"modern-beta{beta:g}"] = {"config": config, "family": fam, "beta": beta}
        else:
            cells[fam] = {"config": config, "family": fam, "beta": None}
    return cells


# ------------------------------------------------------------------------------ the families


def _fit(model: nn.Module, config: FamiliesConfig, run_path: Path, name: str) -> nn.Module:
    """Adam 1e-3, batch 128, cross-entropy of ``model(x)``, checkpointed under train/<name>."""
    data = mnist(config.mnist_path, "train", config.n_train, config.seed)
    fit(
        model,
        torch.optim.Adam(model.parameters(), lr=1e-3),
        lambda m, b: F.cross_entropy(m(b[0]), b[1]),
        data,
        TrainConfig(epochs=config.epochs, batch_size=128, seed=config.seed, progress=False),
        run_dir=run_path / "train" / name,
    )
    return model.eval()


@dataclasses.dataclass
class _Measured:
    """What every family provides: start and end states of the ID / cluster images, a
    trajectory and field of the geometry images, predictions, and a classifier (or None)."""

    start: Tensor
    end: Tensor
    pred: Tensor
    traj: Tensor
    field: Any
    classifier: Any


def _recorded(traj: Tensor | None) -> Tensor:
    if traj is None:  # pragma: no cover - the solves record
        raise RuntimeError("the solve did not record its trajectory")
    return traj


def _ode(config: FamiliesConfig, x: Tensor, xg: Tensor, run_path: Path) -> _Measured:
    spec = ModelSpec("ode_tanh", "tanh", config.ode_T, config.ode_dt, epochs=config.epochs)
    spec = dataclasses.replace(spec, n_train=config.n_train)
    settings = TrainSettings(solver="euler", n_val_epoch=500, mnist_path=config.mnist_path)
    model, _ = train_hopfield(spec, settings, seed=config.seed, run_path=run_path)
    model = model.cpu().eval()
    opts = FlowOptions(T=config.ode_T, solver="euler", dt=config.ode_dt)
    n = max(1, round(config.ode_T / config.ode_dt))
    with torch.no_grad():
        end = model.solve(model.initial_state(x), opts).x
        traj = model.solve(
            model.initial_state(xg), opts, times=torch.linspace(0, config.ode_T, n + 1), record=True
        ).trajectory
    model.requires_grad_(False)
    return _Measured(
        x,
        end,
        model.logits(end).argmax(1),
        _recorded(traj),
        model,
        lambda z: model.classify(z, opts),
    )


def _finite(config: FamiliesConfig, x: Tensor, xg: Tensor, run_path: Path) -> _Measured:
    torch.manual_seed(config.seed)
    model = FiniteStepHopfield(784, config.finite_hidden, activation="tanh", K=config.finite_K)
    _fit(model, config, run_path, "finite_step")
    model.requires_grad_(False)
    with torch.no_grad():
        end = model.trajectory(x)[-1]
        traj = model.trajectory(xg)
        pred = model(x).argmax(1)
    return _Measured(x, end, pred, traj, model, model)


def _layered(config: FamiliesConfig, x: Tensor, xg: Tensor, run_path: Path) -> _Measured:
    torch.manual_seed(config.seed)
    model = LayeredHopfield([784, config.layered_hidden, _N_CLASSES])
    _fit(model, config, run_path, "layered_ham")
    model.requires_grad_(False)
    with torch.no_grad():
        end = model.solve(x, record_residuals=False).x
        res = model.solve(xg, record_residuals=False, record_trajectory=True)
        pred = model.readout(end, "sync").argmax(1)
    return _Measured(x, end, pred, _recorded(res.trajectory), model.bind(xg), model)


def _modern(config: FamiliesConfig, beta: float, x: Tensor, xg: Tensor) -> _Measured:
    xs, ys = mnist(config.mnist_path, "train", 0)
    gen = torch.Generator().manual_seed(config.seed)
    picks = []
    for c in range(_N_CLASSES):
        idx = torch.nonzero(ys == c).flatten()
        picks.append(idx[torch.randperm(len(idx), generator=gen)[: config.patterns_per_class]])
    chosen = torch.cat(picks)
    model = ModernHopfield(xs[chosen].double(), beta=beta)
    labels = ys[chosen]
    n = max(1, round(config.modern_T / _MODERN_STEP))
    times = torch.linspace(0, config.modern_T, n + 1, dtype=torch.float64)
    with torch.no_grad():
        end = integrate(
            model.vector_field, x.double(), times[[0, -1]], method="rk4", step_size=_MODERN_STEP
        ).x
        traj = integrate(
            model.vector_field, xg.double(), times, method="rk4", step_size=_MODERN_STEP
        ).trajectory
    return _Measured(x, end, labels[model.nearest(end)], _recorded(traj), model, None)


def _per_class(x: Tensor, y: Tensor, per_class: int, seed: int) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    idx = []
    for c in range(_N_CLASSES):
        rows = torch.nonzero(y == c).flatten()
        idx.append(rows[torch.randperm(len(rows), generator=gen)[:per_class]])
    sel = torch.cat(idx)
    return x[sel], y[sel]


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Train (or build) one family and measure it."""
    config: FamiliesConfig = cell["config"]
    fam, beta = cell["family"], cell["beta"]
    run_path = Path(cell["run_path"])
    xt, yt = mnist(config.mnist_path, "test")
    x, y = _per_class(xt, yt, config.per_class, config.seed)
    xg, _ = mnist(config.mnist_path, "test", config.geometry_samples, config.seed + 1)
    if fam == "ode":
        m = _ode(config, x, xg, run_path)
    elif fam == "finite_step":
        m = _finite(config, x, xg, run_path)
    elif fam == "layered_ham":
        m = _layered(config, x, xg, run_path)
    else:
        m = _modern(config, float(beta), x, xg)
    s = length_ratio(m.traj)  # (B,)
    kappa = curvature(m.field, m.traj)  # (K+1, B)
    chord = torch.linalg.vector_norm(m.traj[-1] - m.traj[0], dim=-1)  # (B,)
    id0, id1 = [], []
    for c in range(_N_CLASSES):
        id0.append(twonn(m.start[y == c]).dimension)
        id1.append(twonn(m.end[y == c]).dimension)
    clusters = cluster_counts(m.end.double(), y)
    out: dict[str, Any] = {
        "family": fam,
        "beta": beta,
        "state_dim": int(m.traj.shape[-1]),
        "recorded_states": int(m.traj.shape[0]),
        "accuracy": 100.0 * float((m.pred == y).double().mean()),
        "s_median": float(s.median()),
        "s_q90": float(torch.quantile(s.double(), 0.9)),
        "kappa_median": float(torch.nanmedian(kappa)),
        "kappa_chord_median": float(torch.nanmedian(kappa * chord)),
        "id_start": id0,
        "id_end": id1,
        "clusters": list(clusters.counts),
        "noise": list(clusters.noise),
        "attack_success": None,
    }
    if m.classifier is not None:
        xa, ya = mnist(config.mnist_path, "test", config.attack_images, config.seed + 2)
        res = pgd_attack(m.classifier, xa, ya, config.eps, config.steps)
        out["attack_success"] = 100.0 * res.success_rate
        out["attack_clean_accuracy"] = 100.0 * res.clean_accuracy
    return out


def _summary(cell: dict[str, Any]) -> dict[str, Any]:
    ratios = [b / a for a, b in zip(cell["id_start"], cell["id_end"], strict=True)]
    return {
        "id_start_median": statistics.median(cell["id_start"]),
        "id_end_median": statistics.median(cell["id_end"]),
        "id_ratio_median": statistics.median(ratios),
        "clusters_median": statistics.median(cell["clusters"]),
        "clusters_max": max(cell["clusters"]),
        "noise_median": statistics.median(cell["noise"]),
    }


def run(config: FamiliesConfig, run_dir: RunDir, ctx: RunContext) -> dict[str, Any]:
    """One cell per family; the comparison's numbers."""
    common = {"run_path": str(run_dir.path)}
    cells = ctx.cells(_cell, {k: {**v, **common} for k, v in _grid(config).items()}, run_dir)
    return {
        "families": {
            k: {
                "accuracy": c["accuracy"],
                "s_median": c["s_median"],
                "kappa_chord_median": c["kappa_chord_median"],
                "attack_success": c["attack_success"],
                **_summary(c),
            }
            for k, c in cells.items()
        }
    }


def _label(key: str, cell: dict[str, Any]) -> str:
    return key if cell["beta"] is None else f"modern (beta {cell['beta']:g})"


def report(config: FamiliesConfig, run_dir: RunDir) -> None:
    """The comparison table (headline: s >= 1 everywhere, a sanity check of the arc length),
    the table of all diagnostics and a figure of ID and s per family."""
    cells = {k: run_dir.load_cell(k) for k in _grid(config)}
    summ = {k: _summary(c) for k, c in cells.items()}
    run_dir.save_table(
        check_table(
            "claims",
            [at_least(f"{_label(k, c)}: median s", c["s_median"], 1.0) for k, c in cells.items()]
            + [
                at_most(
                    f"{_label(k, c)}: median over classes of ID at the end / at the start",
                    summ[k]["id_ratio_median"],
                    1.0,
                    claim="<= 1 (compression, as the ODE paper finds for its family)",
                )
                for k, c in cells.items()
            ],
            "Beyond the paper: the ODE paper's findings (straight paths, s near 1; class "
            "manifolds compress) checked family by family. s >= 1 holds by construction (a "
            "chord never exceeds its arc); the compression is an empirical finding that may "
            "fail for a family.",
            headline=True,
        )
    )
    run_dir.save_table(
        records_table(
            "families",
            list(cells.items()),
            {
                "family": lambda kc: _label(*kc),
                "state dim": lambda kc: kc[1]["state_dim"],
                "states on path": lambda kc: kc[1]["recorded_states"],
                "accuracy %": lambda kc: kc[1]["accuracy"],
                "s median": lambda kc: kc[1]["s_median"],
                "s 90 %": lambda kc: kc[1]["s_q90"],
                "kappa median": lambda kc: kc[1]["kappa_median"],
                "kappa |x(T)-x(0)| median": lambda kc: kc[1]["kappa_chord_median"],
                "ID start": lambda kc: summ[kc[0]]["id_start_median"],
                "ID end": lambda kc: summ[kc[0]]["id_end_median"],
                "ID end / start": lambda kc: summ[kc[0]]["id_ratio_median"],
                "clusters median": lambda kc: summ[kc[0]]["clusters_median"],
                "clusters max": lambda kc: summ[kc[0]]["clusters_max"],
                "noise median": lambda kc: summ[kc[0]]["noise_median"],
                f"attack success % (eps {config.eps:g})": lambda kc: kc[1]["attack_success"],
            },
            caption=f"The ODE paper's diagnostics on every family (MNIST; trained families: "
            f"{config.n_train} images x {config.epochs} epochs). ID: TwoNN, median over classes "
            f"of {config.per_class} test images each (start: the image; end: the final state); "
            f"clusters: HDBSCAN per class on the final states; attack: Eq. 3, {config.steps} "
            f"scale-free steps on {config.attack_images} images (retrieval has no logits: "
            "none).",
            fmt="{:.4g}",
        )
    )
    with figure(run_dir, "families", ncols=2) as (_f, axes):
        names = [_label(k, c) for k, c in cells.items()]
        x = np.arange(len(names))
        axes[0].bar(x - 0.2, [summ[k]["id_start_median"] for k in cells], 0.4, label="start")
        axes[0].bar(x + 0.2, [summ[k]["id_end_median"] for k in cells], 0.4, label="end")
        axes[0].set(ylabel="TwoNN ID (median over classes)", title="Intrinsic dimension")
        axes[1].bar(x, [c["s_median"] - 1.0 for c in cells.values()], color="C2")
        axes[1].set(ylabel="median s - 1", yscale="symlog", title="Excess path length")
        for ax in axes:
            ax.set_xticks(x, names, rotation=30, fontsize=8)
        axes[0].legend(fontsize=8)


register(
    name="mhn-families",
    title="The ODE paper's diagnostics on every model family (beyond the paper)",
    paper="dynamics-of-modern-hopfield-networks, Sec. 3 (diagnostics), beyond the paper",
    figure="comparison table (no paper counterpart)",
    profiles={
        "demo": FamiliesConfig(
            n_train=2000,
            epochs=1,
            patterns_per_class=5,
            modern_betas=(1.0,),
            per_class=30,
            geometry_samples=20,
            attack_images=30,
            steps=3,
        ),
        "quick": FamiliesConfig(),
        "paper": FamiliesConfig(n_train=0, epochs=10, per_class=500, geometry_samples=1000),
    },
    runtime={
        "demo": "~10 s of CPU, one thread (25 s wall on the loaded machine)",
        "quick": "~1 min of CPU, one thread (2.5 min wall on the loaded shared machine)",
        "paper": "~1 CPU-h (50k images x 10 epochs per trained family)",
    },
    claim=(
        "Beyond the paper: whether the ODE paper's findings (nearly straight paths, "
        "compressed class manifolds) hold for the finite-step, layered HAM and retrieval "
        "families too."
    ),
    expected=(
        "median s: ODE 1.022, finite-step 1.055, layered HAM 1.51 (Picard iterates from "
        "0), retrieval 1.10 (beta 0.2) and 1.000 (beta 1); ID end/start 0.52, 0.51, "
        "0.82, 0.49, 0.74 (all compress); attack success at eps 0.1: ODE 76 %, "
        "finite-step 82 %, layered HAM 11 %."
    ),
    run=run,
    report=report,
)
