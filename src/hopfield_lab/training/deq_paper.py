"""The DEQ paper's training and evaluation protocol (Sec. 4, App. F), on the models of
:mod:`hopfield_lab.models.deq_paper`.

* data: MNIST pixels in [0, 1], one-hot targets (the paper used EMNIST-MNIST, 60,000 training
  images; the bundled MNIST has 50,000 training images and 10,000 test images);
* model: :class:`~hopfield_lab.models.layered.LayeredHopfield` with the shifted sigmoid, zero
  initial state; the prediction is the raw output layer ``s_out`` (argmax for accuracy);
* loss ``0.5 sum (s_out - t)^2 / B`` (MSE), batch 64, Madam (lr 0.01 for 3 layers, 0.005
  otherwise; ``p_scale = 1024, g_bound = 3``) with a linear decay to lr/10 over the epochs;
  recurrent backprop with (damped) Picard on the adjoint;
* stopping at training time: a sample stops at relative residual ``|f(s) - s| / |f(s)| <
  1e-4`` (the paper ran its fixed budget; at the fixed point the two agree);
* evaluation: the test set is solved with the full forward budget and "iterations" are counted
  as hopdeq's ``TimeToConvergenceCallback`` counts them, on the fly
  (:func:`~hopfield_lab.analysis.successive_residuals`), times ``1 - damping`` (forward-Euler
  time); "state updates" multiply by the cost of one iteration.

:func:`train_and_evaluate` trains one :class:`TrainSpec` (a row of Table 2 and a seed),
resumably through its checkpoint folder, and evaluates its solver, or several solvers of the
same kind on the same weights (``eval_models``: synchronous/even-odd x Picard/Anderson share the
fixed point of the same weights; ``"NAME@rule"`` evaluates NAME's solver with another Anderson
safeguard).

:func:`train_cells` lays out the grid of such runs an experiment computes (one per row, depth
and seed, or one shared HAM per depth and seed whose weights every HAM solver is evaluated on),
:func:`train_cell` is the work of one, and :func:`expand_shared` turns the results of shared
cells back into one result per evaluated row. Two diagnostics of App. E and Theorem 2:
:func:`two_cycle_traces` (synchronous updates 2-cycle on an example, even-odd ones converge)
and :func:`energies_by_scheme` (the HAM energy along synchronous and even-odd iterations).
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hopfield_lab.analysis import successive_residuals
from hopfield_lab.data import mnist_tensors, subset
from hopfield_lab.errors import ArtifactError, ConfigError, warn_artifact
from hopfield_lab.models.deq_paper import (
    ARCHITECTURES,
    MODELS,
    PAPER_SAFEGUARD,
    cost_per_iteration,
    settings_for,
    split_variant,
)
from hopfield_lab.models.layered import DEQSettings, LayeredHopfield, sync_two_cycle_example
from hopfield_lab.runs import atomic_write_json, cell_filename, read_json
from hopfield_lab.training.loop import CHECKPOINT_NAME, TrainConfig, fit, load_checkpoint
from hopfield_lab.training.madam import Madam, linear_decay

__all__ = [
    "TOLERANCES",
    "TrainSpec",
    "energies_by_scheme",
    "evaluate",
    "expand_shared",
    "load_trained",
    "mse_loss",
    "train_and_evaluate",
    "train_cell",
    "train_cells",
    "two_cycle_traces",
]

TOLERANCES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
"""Convergence criteria at which mean iterations are reported (Figs. 3-4, cyan curve)."""

_EVAL_BATCH = 1000


@dataclass(frozen=True)
class TrainSpec:
    """One training run: what to train, how to evaluate it, where its checkpoint lives.

    Attributes:
        depth, model, seed: the row of Table 2 and the seed.
        epochs: training epochs. short_epochs: also evaluate after this many (0: not).
        n_train, n_test: images (0: all). batch_size: training and timing batch.
        tol: relative-residual criterion. n_timing: batches timed per forward solve.
        n_resid: test images whose residual statistics are kept (0: none).
        safeguard: Anderson safeguard of the trained solver (and of unsuffixed evaluations).
        eval_models: solvers evaluated on the trained weights (empty: the model's own).
        mnist_path: optional user MNIST. device: torch device.
        train_dir: checkpoint folder, relative to the run directory.
    """

    depth: int
    model: str
    seed: int
    epochs: int
    n_train: int = 0
    n_test: int = 0
    short_epochs: int = 0
    batch_size: int = 64
    tol: float = 1e-4
    n_timing: int = 1
    n_resid: int = 0
    safeguard: str = PAPER_SAFEGUARD
    eval_models: tuple[str, ...] = ()
    mnist_path: str = ""
    device: str = "cpu"
    train_dir: str = ""


def mse_loss(settings: DEQSettings) -> Any:
    """The paper's training loss for :func:`~hopfield_lab.training.fit`: the model is solved
    with ``settings`` and its output layer ``s_out`` (B, 10) compared with the one-hot target
    ``t``, ``0.5 sum (s_out - t)^2 / B``; the mean forward steps are logged."""

    def loss_fn(module: torch.nn.Module, batch: tuple[Tensor, ...]) -> tuple[Tensor, dict]:
        m = typing.cast(LayeredHopfield, module)
        xb, yb = batch
        res = m.solve(xb, settings, record_residuals=False)
        out = m.readout(res.x, settings.scheme)  # (B, 10)
        target = torch.nn.functional.one_hot(yb, m.n_out).to(out.dtype)
        loss = 0.5 * ((out - target) ** 2).sum() / len(xb)
        return loss, {"forward_steps": float(res.n_steps.double().mean())}

    return loss_fn


@torch.no_grad()
def _solve_test_set(
    m: LayeredHopfield, settings: DEQSettings, x: Tensor, y: Tensor, spec: TrainSpec
) -> dict[str, Any]:
    """Accuracy, iterations (hopdeq's count), timing and residual statistics on the test set."""
    dev = next(m.parameters()).device
    m.eval()
    tol = settings.solver.tol
    tols = tuple(dict.fromkeys((tol, *TOLERANCES)))
    steps, hists, correct, converged = [], [], 0, 0
    first: dict[float, list[Tensor]] = {t: [] for t in TOLERANCES}
    for i in range(0, len(x), _EVAL_BATCH):
        view = m.bind(x[i : i + _EVAL_BATCH].to(dev), settings.scheme)
        opts = settings.options_for(view).replace(stop="rel")
        keep = max(0, spec.n_resid - i)  # samples of this batch in the residual statistics
        counts = successive_residuals(
            view.update, view.initial_state(), opts, tols, hist_samples=keep
        )
        steps.append(counts.first_below[tol])
        converged += int((counts.first_below[tol] < counts.n_residuals).sum())
        pred = m.readout(counts.result.x, settings.scheme).argmax(1).cpu()
        correct += int((pred == y[i : i + _EVAL_BATCH]).sum())
        if counts.histogram is not None:  # residual density and iterations per tolerance
            hists.append(counts.histogram)
            for t in TOLERANCES:
                first[t].append(counts.first_below[t][:keep])
    n_steps = torch.cat(steps)
    out: dict[str, Any] = {
        "accuracy": 100.0 * correct / len(x),
        "steps_mean": float(n_steps.mean()),
        "not_converged": int(len(x) - converged),
        "solve_time_s": _solve_time(m, settings, x, spec),
    }
    if spec.n_resid > 0:
        out["hist"] = sum(hists[1:], hists[0]).tolist()
        out["iters_at_tol"] = {f"{t:g}": float(torch.cat(first[t]).mean()) for t in TOLERANCES}
    return out


def _solve_time(m: LayeredHopfield, settings: DEQSettings, x: Tensor, spec: TrainSpec) -> float:
    """Median wall time of one batched forward solve at the training batch size, each sample
    stopping at the criterion (our solver, not the fixed budget); full batches only, unless
    the test set is smaller than one."""
    dev = next(m.parameters()).device
    times: list[float] = []
    bsz = spec.batch_size
    for i in range(spec.n_timing):
        xb = x[i * bsz : (i + 1) * bsz].to(dev)
        if len(xb) < bsz and (times or len(xb) == 0):
            break
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        start = time.perf_counter()
        m.solve(xb, settings, record_residuals=False)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - start)
    return statistics.median(times) if times else float("nan")


def train_and_evaluate(spec: TrainSpec, root: str = ".") -> dict[str, Any]:
    """Train one model (resumable via ``train_dir``) and evaluate it.

    Args:
        spec: what to train and evaluate.
        root: the run directory (``train_dir`` is relative to it).

    Returns:
        ``{"final": metrics, "short": metrics (with short_epochs), "models": {name: metrics}
        and "trained_model" (with eval_models), "epoch_time_s", "history"}``; metrics hold
        accuracy (%), mean iterations (raw and Euler-time), state updates, the non-converged
        count, wall time per forward solve and the residual statistics.
    """
    layers, lr = ARCHITECTURES[spec.depth]
    settings = settings_for(spec.model, spec.depth, tol=spec.tol, safeguard=spec.safeguard)
    data = mnist_tensors(spec.mnist_path)
    x, y = subset(*data["train"], spec.n_train)
    tx, ty = subset(*data["test"], spec.n_test)
    torch.manual_seed(spec.seed)
    model = LayeredHopfield(layers, kind=MODELS[spec.model].kind)  # type: ignore[arg-type]
    opt = Madam(model.parameters(), lr=lr, p_scale=1024, g_bound=3)
    sched = linear_decay(opt, spec.epochs)
    train_dir = Path(root) / spec.train_dir
    stages = [spec.short_epochs] if 0 < spec.short_epochs < spec.epochs else []
    stages.append(spec.epochs)
    out: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    short_file = train_dir / "short_metrics.json"
    short = _read_short(short_file) if len(stages) == 2 else None
    if short is not None:  # resumed after the short evaluation
        out["short"] = short
        stages = stages[1:]
    elif len(stages) == 2 and _checkpoint_epoch(train_dir) > stages[0]:
        stages = stages[1:]  # killed between training past it and saving its evaluation
    for stage in stages:
        cfg = TrainConfig(
            epochs=stage,
            batch_size=spec.batch_size,
            seed=spec.seed,
            device=spec.device,
            progress=False,
        )
        result = fit(
            model, opt, mse_loss(settings), (x, y), cfg, run_dir=train_dir, scheduler=sched
        )
        history = result.history
        if stage == spec.epochs and spec.eval_models:
            out["models"] = {ev: evaluate(model, ev, tx, ty, spec) for ev in spec.eval_models}
            out["trained_model"] = spec.model
            metrics = out["models"].get(spec.model) or evaluate(model, spec.model, tx, ty, spec)
        else:
            metrics = evaluate(model, spec.model, tx, ty, spec)
        out["short" if stage != spec.epochs else "final"] = metrics
        if stage != spec.epochs:
            atomic_write_json(short_file, metrics)
    epoch_times = [h["wall_time_s"] for h in history]
    out["epoch_time_s"] = statistics.median(epoch_times) if epoch_times else math.nan
    out["history"] = [
        {k: h[k] for k in ("epoch", "train_loss", "train_forward_steps", "lr") if k in h}
        for h in history
    ]
    return out


def evaluate(
    m: LayeredHopfield, name: str, x: Tensor, y: Tensor, spec: TrainSpec
) -> dict[str, Any]:
    """Evaluate a trained model on a test set with the solver of Table 2's row ``name``.

    Args:
        m: the trained model.
        name: a row of :data:`~hopfield_lab.models.deq_paper.MODELS` of ``m``'s kind,
            optionally ``"NAME@rule"`` (another Anderson safeguard).
        x: ``(n, 784)`` test images in [0, 1]. y: ``(n,)`` labels.
        spec: the depth, criterion, default safeguard, timing batches and ``n_resid``.

    Returns:
        ``accuracy`` (%), ``steps_mean`` (hopdeq's count of iterations to the criterion; the
        full budget where it is never met), ``not_converged``, ``solve_time_s`` (median wall time
        of one forward solve of a training batch), ``iters`` (``steps_mean`` times ``1 -
        damping``), ``state_updates`` (``iters`` times the cost of one iteration) and, with
        ``spec.n_resid > 0``, ``hist`` (log-residual histogram per iteration of the first
        ``n_resid`` images) and ``iters_at_tol`` (their mean iterations per tolerance of
        :data:`TOLERANCES`).

    Raises:
        ConfigError: ``name`` is of the other kind (HAM vs CHN) than ``m``.
    """
    model, rule = split_variant(name)
    if MODELS[model].kind != m.kind:
        raise ConfigError(f"cannot evaluate {name!r} on a trained {m.kind.upper()} model")
    settings = settings_for(model, spec.depth, tol=spec.tol, safeguard=rule or spec.safeguard)
    metrics = _solve_test_set(m, settings, x, y, spec)
    metrics["iters"] = metrics["steps_mean"] * (1.0 - MODELS[model].damping)
    metrics["state_updates"] = metrics["iters"] * cost_per_iteration(name, m.inner_iters)
    return metrics


def _read_short(path: Path) -> dict[str, Any] | None:
    """The saved short-run evaluation, or None when there is none or it cannot be read (then
    a warning names it and it is removed)."""
    if not path.exists():
        return None
    try:
        return read_json(path, expect=dict)
    except ArtifactError as err:
        path.unlink(missing_ok=True)
        warn_artifact(f"{err}; removed, the short-run evaluation is redone if still possible")
        return None


def _checkpoint_epoch(train_dir: Path) -> int:
    """The epoch of the training checkpoint; 0 when there is none or it cannot be read (``fit``
    then says so and restarts)."""
    path = train_dir / "checkpoints" / CHECKPOINT_NAME
    if not path.exists():
        return 0
    try:
        return int(load_checkpoint(path)["epoch"])
    except ArtifactError:
        return 0


def load_trained(spec: TrainSpec, root: str, dtype: torch.dtype = torch.float64) -> LayeredHopfield:
    """The model :func:`train_and_evaluate` trained for ``spec``, from its checkpoint under
    the run directory ``root``, in ``dtype`` (default float64)."""
    layers, _ = ARCHITECTURES[spec.depth]
    model = LayeredHopfield(layers, kind=MODELS[spec.model].kind).to(dtype)  # type: ignore[arg-type]
    path = Path(root) / spec.train_dir / "checkpoints" / CHECKPOINT_NAME
    model.load_state_dict(load_checkpoint(path)["model"])
    return model


def train_cells(
    config: Any,
    device: str = "cpu",
    *,
    variants: Callable[[str], list[str]] = lambda m: [m],
    **spec: Any,
) -> dict[str, dict[str, Any]]:
    """The grid of cells ``depth=..,model=..,seed=..`` (CHN models at depth 3 only), each
    with its checkpoints under ``train/<cell>`` of the run directory.

    Args:
        config: an experiment config with ``depths``, ``models``, ``seeds``,
            ``shared_training`` (train one HAM per (depth, seed), key ``model=HAM-shared``,
            with ``config.train_model``'s solver, default HAM-EO-DEQ's, and evaluate every HAM
            solver of ``models`` on its weights) and the :class:`TrainSpec` fields it names
            alike (``epochs``, ``n_train``, ...).
        device: torch device of the cells.
        variants: the evaluated solvers of a model (itself, plus safeguard variants).
        **spec: further :class:`TrainSpec` fields (e.g. ``n_resid``).

    Returns:
        ``{key: {"spec": TrainSpec}}``.
    """
    shared = config.shared_training
    own = {f.name for f in fields(TrainSpec)} - {"depth", "model", "seed", "device", *spec}
    named = {k: getattr(config, k) for k in own if hasattr(config, k)}
    base = TrainSpec(depth=0, model="", seed=0, device=device, **named, **spec)
    cells: dict[str, dict[str, Any]] = {}
    for depth, model, seed in itertools.product(config.depths, config.models, range(config.seeds)):
        if MODELS[model].kind == "chn" and depth != 3:
            continue
        key = f"depth={depth},model={model},seed={seed}"
        evals = variants(model)
        if shared and MODELS[model].kind == "ham":
            key = f"depth={depth},model=HAM-shared,seed={seed}"
            evals = [v for m in config.models if MODELS[m].kind == "ham" for v in variants(m)]
            model = getattr(config, "train_model", "HAM-EO-DEQ")
        cell_spec = replace(
            base,
            depth=depth,
            model=model,
            seed=seed,
            short_epochs=base.short_epochs if model == "CHN" else 0,
            eval_models=tuple(evals) if len(evals) > 1 else (),
            train_dir=f"train/{cell_filename(key)}",
        )
        cells.setdefault(key, {"spec": cell_spec})
    return cells


def train_cell(cell: dict[str, Any], root: str = ".") -> dict[str, Any]:
    """The work of a cell of :func:`train_cells`: :func:`train_and_evaluate` of its spec,
    checkpoints under the run directory ``root``."""
    return train_and_evaluate(cell["spec"], root)


def expand_shared(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-row results from cells that evaluated several solvers (``eval_models``) on one
    trained model: each evaluated name gets its own key (``model=<name>``); only the solver
    that trained keeps the epoch time (the others trained none).

    Args:
        results: ``{cell key: result of train_and_evaluate}``.

    Returns:
        ``{key: result}``, a shared cell's key repeated once per evaluated name, with
        ``final`` (that name's metrics), ``epoch_time_s`` (NaN for names that did not train),
        ``history`` (empty for them) and the trained name's ``short`` stage.
    """
    out: dict[str, dict[str, Any]] = {}
    for key, r in results.items():
        if "models" not in r:
            out[key] = r
            continue
        trained = r["trained_model"]
        head, _, rest = key.partition("model=")
        tail = rest.partition(",")[2]
        for name, metrics in r["models"].items():
            row = {
                "final": metrics,
                "epoch_time_s": r["epoch_time_s"] if name == trained else math.nan,
                "history": r["history"] if name == trained else [],
            }
            if name == trained and "short" in r:
                row["short"] = r["short"]
            out[f"{head}model={name},{tail}" if tail else f"{head}model={name}"] = row
    return out


@torch.no_grad()
def two_cycle_traces() -> dict[str, Any]:
    """App. E's problem 1 on :func:`~hopfield_lab.models.layered.sync_two_cycle_example`:
    synchronous updates end in a 2-cycle (the residual stalls), even-odd updates converge.

    Returns:
        ``{"sync": ..., "even_odd": ...}``, each with ``residuals`` (relative residual per
        iteration, tolerance 1e-12, at most 60 iterations), ``converged`` and ``iterations``;
        and ``last_sync_states``: the last 4 of 12 synchronous states (they alternate).
    """
    model, x = sync_two_cycle_example()
    out: dict[str, Any] = {}
    for scheme in ("sync", "even_odd"):
        res = model.solve(x, DEQSettings.of(scheme=scheme, tol=1e-12, max_iter=60))
        out[scheme] = {
            "residuals": res.residuals[:, 0].tolist(),  # type: ignore[index]
            "converged": bool(res.converged.all()),
            "iterations": int(res.n_steps[0]),
        }
    settings = DEQSettings.of(scheme="sync", tol=1e-12, max_iter=12)
    traj = model.solve(x, settings, record_trajectory=True).trajectory
    out["last_sync_states"] = traj[-4:, 0].tolist()  # type: ignore[index]
    return out


@torch.no_grad()
def energies_by_scheme(model: LayeredHopfield, x: Tensor, n_steps: int) -> dict[str, Tensor]:
    """The HAM energy (Eq. 3) after each of ``n_steps`` synchronous and even-odd iterations
    from the zero state (Theorem 2: an exact even-odd half step minimises the energy over one
    group, so it never rises; synchronous steps may raise it).

    Args:
        model: a HAM. x: ``(B, n_in)`` inputs. n_steps: iterations ``T``.

    Returns:
        ``{"sync": (T, B), "even_odd": (T, B)}`` energies.
    """
    out = {}
    for scheme in ("sync", "even_odd"):
        view = model.bind(x, scheme)
        z, energies = view.initial_state(), []
        for _ in range(n_steps):
            z = view.update(z)
            energies.append(view.energy(z))
        out[scheme] = torch.stack(energies)  # (T, B)
    return out
