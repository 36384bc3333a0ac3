"""Training and evaluation shared by ``mhn-accuracy`` and ``mhn-rectifier`` (ODE paper, App. C).

Protocol ([code] = the authors' JAX repository, see the spec):

* data: the library's MNIST split (50,000 train / 10,000 validation / 10,000 test; the code
  carves 48k / 6k / 6k out of the 60k training images), pixels in [0, 1], ``x(0)`` = the image
  with ``n_label_units`` zeros appended (0, as in the code); a model's ``n_train`` images are
  the first of a permutation seeded by the config's seed (the same subset for every model);
* model: :class:`~hopfield_lab.models.HopfieldODE`, ``W ~ N(0, 1) / sqrt(N)`` seeded by the
  config's seed (every model of a run starts from the same ``W``), ``b = 0``;
* training: Adam with default betas, batch 128, no clipping, decay or schedule [paper, code];
  loss ``ce_last10`` [code] (``mse_pm1``, the paper's text, as an option); backprop through the
  solver's steps (``adjoint`` as an option); :func:`~hopfield_lab.training.fit` checkpoints
  every epoch under ``train/<name>/`` and resumes there;
* validation accuracy after every epoch on the first ``n_val_epoch`` validation images; the
  reported accuracy is the *final* model's on the test split (the code's table values are final
  models on its 6k test carve-out);
* every trained model is saved as ``models/<name>.pt`` (:func:`~hopfield_lab.models.save_trained`,
  with its training solve in ``meta["flow"]``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hopfield_lab.analysis import energy_increase_rate
from hopfield_lab.data import load_mnist
from hopfield_lab.errors import ConfigError, DivergenceError
from hopfield_lab.experiments.fields import Config, Min, MnistPath, NonEmpty, Positive
from hopfield_lab.models import MLP, FlowOptions, HopfieldODE, load_trained, save_trained
from hopfield_lab.models.ode import classification_loss
from hopfield_lab.runs import RunDir
from hopfield_lab.runs.io import check_safe_name
from hopfield_lab.training import TrainConfig, fit

__all__ = [
    "ACTIVATIONS",
    "PAPER_ACCURACY",
    "PAPER_DTS",
    "PAPER_TABLE",
    "PAPER_TS",
    "ModelSpec",
    "TrainSettings",
    "energy_check",
    "evaluate",
    "flow_options",
    "load_hopfield",
    "mnist",
    "obtain_hopfield",
    "obtain_mlp",
    "paper_accuracy",
    "sensitivity",
    "train_hopfield",
    "train_mlp",
]

Activation = Literal["relu", "gelu", "tanh", "sigmoid", "softplus"]
ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "tanh", "sigmoid", "softplus")

PAPER_TABLE = {"relu": 4, "gelu": 5, "tanh": 6, "sigmoid": 7, "softplus": 8}
"""The paper's table number per activation (App. C)."""
PAPER_TS: tuple[float, ...] = (1.0, 3.0, 5.0, 10.0, 15.0)
PAPER_DTS: tuple[float, ...] = (0.01, 0.05, 0.1)

#: Tables 4-8 (test accuracy, %): ``{(activation, lr): {T: (dt .01, dt .05, dt .1)}}``, 20 epochs,
#: batch 128 (transcribed from the paper; the spec's Sec. 2 table). In the code ``dt`` is only
#: Dopri5's first step, so the three values of a ``T`` are replicates.
PAPER_ACCURACY: dict[tuple[str, float], dict[float, tuple[float, float, float]]] = {
    ("relu", 1e-3): {
        1.0: (97.7, 97.7, 97.3),
        3.0: (97.5, 97.9, 97.5),
        5.0: (97.7, 96.7, 97.4),
        10.0: (97.3, 97.2, 97.0),
        15.0: (96.7, 96.6, 96.3),
    },
    ("gelu", 1e-3): {
        1.0: (97.8, 97.5, 97.6),
        3.0: (97.2, 97.5, 97.2),
        5.0: (97.1, 96.9, 97.0),
        10.0: (95.7, 94.3, 96.1),
        15.0: (91.2, 73.3, 85.1),
    },
    ("tanh", 1e-3): {
        1.0: (97.1, 97.0, 96.9),
        3.0: (96.5, 96.4, 96.1),
        5.0: (95.5, 94.6, 95.3),
        10.0: (29.8, 88.8, 9.9),
        15.0: (16.1, 17.1, 19.3),
    },
    ("tanh", 1e-4): {
        5.0: (95.9, 96.1, 95.8),
        10.0: (95.4, 96.2, 95.7),
        15.0: (95.4, 95.8, 96.0),
    },
    ("sigmoid", 1e-3): {
        1.0: (92.4, 92.5, 91.5),
        3.0: (91.0, 92.2, 91.9),
        5.0: (89.0, 90.7, 89.4),
        10.0: (10.4, 10.4, 11.2),
        15.0: (9.9, 11.2, 11.2),
    },
    ("sigmoid", 1e-4): {
        5.0: (74.6, 74.8, 76.8),
        10.0: (11.2, 11.2, 9.9),
        15.0: (9.9, 10.4, 11.2),
    },
    ("softplus", 1e-3): {
        1.0: (95.0, 93.8, 94.8),
        3.0: (93.5, 94.4, 94.5),
        5.0: (92.7, 93.2, 90.9),
        10.0: (11.2, 11.2, 9.9),
        15.0: (11.2, 10.2, 9.9),
    },
    ("softplus", 1e-4): {
        5.0: (91.3, 89.9, 89.2),
        10.0: (76.2, 74.9, 76.4),
        15.0: (11.2, 11.2, 10.4),
    },
}


def paper_accuracy(activation: str, lr: float, T: float, dt: float) -> float | None:
    """The paper's accuracy (%) for a cell of Tables 4-8, or ``None`` where it has none."""
    row = PAPER_ACCURACY.get((activation, lr), {}).get(float(T))
    for i, d in enumerate(PAPER_DTS):
        if row is not None and math.isclose(d, dt, rel_tol=1e-9):
            return row[i]
    return None


@dataclass(frozen=True)
class ModelSpec(Config):
    """One model to train.

    Attributes:
        name: file-safe name (``models/<name>.pt``, ``train/<name>/``), unique in a run.
        activation: ``g``: relu, gelu, tanh, sigmoid or softplus.
        T: integration time ``t_train`` (> 0).
        dt: the solver's step (Euler / RK4) or first step (Dopri5), ``0 < dt <= T``.
        lr: Adam's learning rate. Default 1e-3.
        epochs: passes over the training images. Default 20 (the paper's).
        n_train: training images (0 = all 50,000). Default 0.
    """

    name: Annotated[str, NonEmpty]
    activation: Activation
    T: Annotated[float, Positive]
    dt: Annotated[float, Positive]
    lr: Annotated[float, Positive] = 1e-3
    epochs: Annotated[int, Min(1)] = 20
    n_train: Annotated[int, Min(0)] = 0

    def check(self) -> None:
        check_safe_name("model name", self.name)
        if self.dt > self.T:
            raise ConfigError(f"model {self.name!r}: dt must be <= T (T={self.T}); got {self.dt}")


@dataclass(frozen=True)
class TrainSettings(Config):
    """How every model of a run is trained and solved.

    Attributes:
        solver: ``dopri5`` (first step ``dt``, the paper's), ``euler`` or ``rk4`` (step ``dt``).
        rtol, atol: Dopri5's tolerances (1e-5 each, the code's).
        adjoint: adjoint gradients instead of backprop through the steps (default False).
        batch_size: 128 (the paper's).
        loss: ``ce_last10`` (the code's) or ``mse_pm1`` (the paper's text).
        n_label_units: zeros appended to the image (0, the code's).
        n_val_epoch: validation images for the per-epoch accuracy (0 = all 10,000).
        mnist_path: optional user MNIST ("" = bundled).
    """

    solver: Literal["dopri5", "euler", "rk4"] = "dopri5"
    rtol: Annotated[float, Positive] = 1e-5
    atol: Annotated[float, Positive] = 1e-5
    adjoint: bool = False
    batch_size: Annotated[int, Min(1)] = 128
    loss: Literal["ce_last10", "mse_pm1"] = "ce_last10"
    n_label_units: Annotated[int, Min(0)] = 0
    n_val_epoch: Annotated[int, Min(0)] = 2000
    mnist_path: MnistPath = ""


def check_unique_names(specs: tuple[ModelSpec, ...]) -> None:
    """Raise ConfigError when two models share a name."""
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup or "MLP" in names:
        raise ConfigError(f"model names must be unique and not 'MLP'; repeated: {dup or ['MLP']}")


def flow_options(spec: ModelSpec, settings: TrainSettings, **changes: Any) -> FlowOptions:
    """The training solve of ``spec`` under ``settings`` (``**changes`` replace fields)."""
    opts = FlowOptions(
        T=spec.T,
        solver=settings.solver,
        dt=spec.dt,
        rtol=settings.rtol,
        atol=settings.atol,
        adjoint=settings.adjoint,
    )
    return dataclasses.replace(opts, **changes) if changes else opts


@functools.lru_cache(maxsize=2)
def _mnist(path: str) -> dict[str, tuple[Tensor, Tensor]]:
    data = load_mnist(path or None)
    return {s: (getattr(data, s).x, getattr(data, s).y) for s in ("train", "val", "test")}


def mnist(path: str, split: str, n: int = 0, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Images ``(n, 784)`` and labels of a split; ``n > 0`` takes the first ``n`` of a
    permutation seeded by ``seed`` (``n = 0``: the whole split, in order)."""
    x, y = _mnist(path)[split]
    if n <= 0 or n >= len(x):
        return x, y
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def evaluate(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    opts: FlowOptions | None = None,
    *,
    batch: int = 1000,
    loss: str = "ce_last10",
) -> dict[str, Any]:
    """Accuracy (%), mean loss, the most frequent predicted class and its share (a collapsed
    model predicts one class: its accuracy is that class's frequency), and the mean number of
    field evaluations per batch (HopfieldODE).

    Raises:
        DivergenceError: a solve left the finite range.
    """
    device = _device_of(model)
    correct, total_loss, nfe, calls = 0, 0.0, 0, 0
    preds = []
    for i in range(0, len(images), batch):
        xb, yb = images[i : i + batch].to(device), labels[i : i + batch].to(device)
        if isinstance(model, HopfieldODE):
            res = model.solve(model.initial_state(xb), opts)
            logits = model.logits(res.x)
            nfe, calls = nfe + res.nfe, calls + 1
        else:
            logits = model(xb)
        pred = logits.argmax(dim=1)
        preds.append(pred.cpu())
        correct += int((pred == yb).sum())
        total_loss += float(classification_loss(logits, yb, loss)) * len(xb)
    counts = torch.bincount(torch.cat(preds), minlength=10)
    return {
        "accuracy": 100.0 * correct / len(images),
        "loss": total_loss / len(images),
        "majority_class": int(counts.argmax()),
        "majority_fraction": float(counts.max()) / len(images),
        "nfe_per_batch": nfe / calls if calls else None,
    }


def _history(hist: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("epoch", "train_loss", "val_accuracy", "wall_time_s")
    return [{k: h[k] for k in keys if k in h} for h in hist]


def train_hopfield(
    spec: ModelSpec,
    settings: TrainSettings,
    *,
    seed: int,
    run_path: Path,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[HopfieldODE, dict[str, Any]]:
    """Train one :class:`HopfieldODE` (resuming from ``train/<name>/``) and save it as
    ``models/<name>.pt``; returns the model and a JSON-ready record (history, wall time,
    ``diverged``: the :class:`DivergenceError` message if training stopped, else None; the
    model then holds the parameters before the failing step)."""
    model = HopfieldODE(
        784,
        spec.activation,
        n_label_units=settings.n_label_units,
        generator=torch.Generator().manual_seed(seed),
    ).to(device)
    opts = flow_options(spec, settings)
    xv, yv = mnist(settings.mnist_path, "val", settings.n_val_epoch)

    def loss_fn(m: nn.Module, b: tuple[Tensor, ...]) -> Tensor:
        return m.loss(b[0], b[1], opts, settings.loss)  # type: ignore[operator]

    def eval_fn(m: nn.Module) -> dict[str, Any]:
        return {"val_accuracy": evaluate(m, xv, yv, opts, loss=settings.loss)["accuracy"]}

    start = time.perf_counter()
    diverged = None
    history: list[dict[str, Any]] = []
    try:
        result = fit(
            model,
            torch.optim.Adam(model.parameters(), lr=spec.lr),
            loss_fn,
            mnist(settings.mnist_path, "train", spec.n_train, seed),
            TrainConfig(
                epochs=spec.epochs,
                batch_size=settings.batch_size,
                seed=seed,
                device=device,
                progress=progress,
            ),
            run_dir=run_path / "train" / spec.name,
            eval_fn=eval_fn,
        )
        history = result.history
    except DivergenceError as err:
        diverged = str(err)
        history = RunDir(run_path / "train" / spec.name).read_metrics()
    record = {
        "name": spec.name,
        "activation": spec.activation,
        "T": spec.T,
        "dt": spec.dt,
        "lr": spec.lr,
        "epochs": spec.epochs,
        "n_train": spec.n_train or 50_000,
        "solver": settings.solver,
        "history": _history(history),
        "train_time_s": time.perf_counter() - start,
        "diverged": diverged,
    }
    save_trained(
        run_path,
        spec.name,
        model,
        {
            "flow": {k: v for k, v in dataclasses.asdict(opts).items() if k != "adjoint"},
            "loss": settings.loss,
            "lr": spec.lr,
            "epochs": spec.epochs,
            "n_train": record["n_train"],
            "diverged": diverged,
        },
    )
    return model, record


def train_mlp(
    epochs: int,
    settings: TrainSettings,
    *,
    n_train: int = 0,
    seed: int,
    run_path: Path,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[MLP, dict[str, Any]]:
    """Train the baseline MLP (784-256-128-10, Adam 1e-3, cross-entropy, batch 128) with the
    same loop and save it as ``models/MLP.pt``."""
    torch.manual_seed(seed)
    model = MLP().to(device)
    xv, yv = mnist(settings.mnist_path, "val", settings.n_val_epoch)
    start = time.perf_counter()
    result = fit(
        model,
        torch.optim.Adam(model.parameters(), lr=1e-3),
        lambda m, b: F.cross_entropy(m(b[0]), b[1]),
        mnist(settings.mnist_path, "train", n_train, seed),
        TrainConfig(
            epochs=epochs,
            batch_size=settings.batch_size,
            seed=seed,
            device=device,
            progress=progress,
        ),
        run_dir=run_path / "train" / "MLP",
        eval_fn=lambda m: {"val_accuracy": evaluate(m, xv, yv)["accuracy"]},
    )
    save_trained(run_path, "MLP", model, {"lr": 1e-3, "epochs": epochs})
    record = {
        "name": "MLP",
        "epochs": epochs,
        "n_train": n_train or 50_000,
        "history": _history(result.history),
        "train_time_s": time.perf_counter() - start,
        "diverged": None,
    }
    return model, record


def obtain_hopfield(
    spec: ModelSpec,
    settings: TrainSettings,
    *,
    seed: int,
    run_path: Path,
    models_from: str = "",
    device: str = "cpu",
    progress: bool = False,
) -> tuple[HopfieldODE, dict[str, Any]]:
    """The trained model of ``spec``: ``models/<name>.pt`` of the run ``models_from`` when it
    holds one (its activation and ``T`` must match the spec), else trained here by
    :func:`train_hopfield` (resuming); returns the model (on CPU, eval mode) and a JSON-ready
    record (``loaded_from`` says which).

    Raises:
        ConfigError: a loaded model that is not a HopfieldODE of the spec's activation and T.
    """
    path = Path(models_from) / "models" / f"{spec.name}.pt" if models_from else None
    if path is None or not path.exists():
        model, record = train_hopfield(
            spec, settings, seed=seed, run_path=run_path, device=device, progress=progress
        )
        record["loaded_from"] = None
        return model.cpu().eval(), record
    loaded, record = load_hopfield(models_from, spec)
    return loaded, record | {"diverged": None}


def load_hopfield(models_from: str, spec: ModelSpec) -> tuple[HopfieldODE, dict[str, Any]]:
    """``models/<name>.pt`` of the run ``models_from``, checked against ``spec``, and a JSON-ready
    record (``loaded_from``, the saved ``meta``, an empty ``history``).

    Raises:
        ConfigError: the saved model is not a HopfieldODE of the spec's activation and T.
    """
    loaded, meta = load_trained(models_from, spec.name)
    flow = meta.get("flow", {})
    if (
        not isinstance(loaded, HopfieldODE)
        or loaded.activation.name != spec.activation
        or not math.isclose(float(flow.get("T", -1)), spec.T)
    ):
        raise ConfigError(
            f"models_from: {spec.name!r} in {models_from} is not a {spec.activation} "
            f"HopfieldODE trained at T={spec.T}"
        )
    record = {"name": spec.name, "activation": spec.activation, "T": spec.T, "dt": spec.dt}
    record.update({"loaded_from": models_from, "meta": meta, "history": []})
    return loaded, record


def obtain_mlp(
    epochs: int,
    settings: TrainSettings,
    *,
    n_train: int = 0,
    seed: int,
    run_path: Path,
    models_from: str = "",
    device: str = "cpu",
    progress: bool = False,
) -> tuple[MLP, dict[str, Any]]:
    """The baseline MLP: ``models/MLP.pt`` of ``models_from`` when it holds one, else trained
    here by :func:`train_mlp`; returns the model (CPU, eval mode) and its record."""
    path = Path(models_from) / "models" / "MLP.pt" if models_from else None
    if path is None or not path.exists():
        mlp, record = train_mlp(
            epochs,
            settings,
            n_train=n_train,
            seed=seed,
            run_path=run_path,
            device=device,
            progress=progress,
        )
        record["loaded_from"] = None
        return mlp.cpu().eval(), record
    loaded, meta = load_trained(models_from, "MLP")
    if not isinstance(loaded, MLP):
        raise ConfigError(f"models_from: 'MLP' in {models_from} is not an MLP")
    return loaded, {"name": "MLP", "loaded_from": models_from, "meta": meta, "history": []}


def _float64(model: HopfieldODE) -> HopfieldODE:
    out = HopfieldODE(
        model.n_inputs, model.activation, n_label_units=model.n_label_units, dtype=torch.float64
    )
    out.load_state_dict({k: v.detach().double().cpu() for k, v in model.state_dict().items()})
    return out


def energy_check(
    model: HopfieldODE, images: Tensor, T: float, step: float = 0.01, n_curve: int = 60
) -> dict[str, Any]:
    """Energy along RK4 trajectories (step ``step``, float64, every step recorded) from
    ``x(0) = images`` to ``T``, and Eq. 8 against autograd (App. A).

    Returns:
        ``{"applies": False, "reason"}`` for GELU; otherwise ``increase_rate`` (fraction of steps
        where E rises beyond rounding, :func:`~hopfield_lab.analysis.energy_increase_rate`),
        ``samples_with_rise``, ``max_rel_rise`` (largest rise over the sample's ``max |E|``),
        ``eq8_max_abs_error`` / ``eq8_max_rel_error`` (closed-form gradient vs autograd at
        ``x(0)`` and ``x(T)``), ``rate_max`` (largest ``dE/dt`` of Eq. 10 on the path, <= 0),
        and the curve ``t``, ``median_rel`` / ``q10_rel`` / ``q90_rel`` of
        ``(E(t) - E(0)) / |E(0)|`` at ``n_curve`` times for the figure.
    """
    if not model.activation.convex_lagrangian:
        return {"applies": False, "reason": "GELU's Lagrangian is not convex: no energy"}
    m64 = _float64(model)
    x0 = m64.initial_state(images.double().cpu())
    n = max(1, math.ceil(T / step - 1e-9))
    times = torch.linspace(0.0, T, n + 1, dtype=torch.float64)
    with torch.no_grad():
        res = m64.solve(x0, times=times, record=True, T=T, solver="rk4", dt=min(step, T))
        traj = res.trajectory  # (n+1, B, D), recorded
        if traj is None:  # pragma: no cover - record=True always keeps it
            raise RuntimeError("integrate did not record the trajectory")
        energies = m64.energy(traj.reshape(-1, traj.shape[-1])).reshape(n + 1, -1)  # (n+1, B)
        rates = m64.energy_rate(traj.reshape(-1, traj.shape[-1]))  # ((n+1) B,)
    stats = energy_increase_rate(energies)
    scale = energies.abs().amax(dim=0)  # (B,)
    errs = []
    for x in (traj[0], traj[-1]):
        xg = x.clone().requires_grad_(True)
        (auto,) = torch.autograd.grad(m64.energy(xg).sum(), xg)
        closed = m64.energy_grad(x).detach()
        errs.append(((closed - auto).abs().max(), closed.abs().max()))
    abs_err = max(float(e) for e, _ in errs)
    rel_err = max(float(e / s.clamp_min(1e-300)) for e, s in errs)
    idx = torch.linspace(0, n, min(n_curve, n + 1)).round().long()
    rel = (energies[idx] - energies[0]) / energies[0].abs().clamp_min(1e-300)  # (K, B)
    q = torch.quantile(rel, torch.tensor([0.1, 0.5, 0.9], dtype=rel.dtype), dim=1)  # (3, K)
    return {
        "applies": True,
        "T": T,
        "step": step,
        "n_samples": len(images),
        "increase_rate": stats["rate"],
        "samples_with_rise": stats["any"],
        "max_rel_rise": float((stats["max_rise"] / scale.clamp_min(1e-300)).max()),
        "rate_max": float(rates.max()),
        "eq8_max_abs_error": abs_err,
        "eq8_max_rel_error": rel_err,
        "t": times[idx].tolist(),
        "q10_rel": q[0].tolist(),
        "median_rel": q[1].tolist(),
        "q90_rel": q[2].tolist(),
    }


def sensitivity(
    model: HopfieldODE, images: Tensor, opts: FlowOptions, iters: int = 20
) -> dict[str, Any]:
    """``|d x(T) / d x0|_2`` (power iteration, float64) on ``images`` and the Grönwall bound
    ``exp((|W_s|_2 sup g' - 1) T)`` (spec Sec. 2's contraction estimate)."""
    m64 = _float64(model)
    norms = m64.flow_jacobian_norm(m64.initial_state(images.double().cpu()), opts, iters=iters)
    return {
        "T": opts.T,
        "median": float(norms.median()),
        "max": float(norms.max()),
        "bound": m64.contraction_bound(opts.T),
        "W_s_norm": m64.spectral_norm(),
    }
