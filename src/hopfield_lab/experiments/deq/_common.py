"""Training and evaluation shared by ``deq-table2`` and ``deq-residuals`` (DEQ paper, Sec. 4).

Protocol (App. F and hopdeq's ``sweep.py``):

* data: MNIST pixels in [0, 1], one-hot targets. The paper used EMNIST-MNIST (60,000
  training images); we use the bundled MNIST (50,000 training images, 10,000 test);
* models: :class:`~hopfield_lab.models.layered.LayeredHopfield` with the shifted sigmoid,
  zero initial state; the prediction is the raw output layer ``s_out`` (argmax for accuracy);
* loss ``0.5 sum (s_out - t)^2 / B`` (MSE), batch 64, Madam (lr 0.01 for 3 layers, 0.005
  otherwise; ``p_scale = 1024, g_bound = 3``) with a linear decay to lr/10 over the epochs;
* solvers: the synchronous CHN and CHN-DEQ are damped (0.5) and their iteration budgets are
  doubled (App. F); forward ``40 s`` and backward ``8 s`` iterations with
  ``s = (n_layers // 2) / (1 - damping)``; Anderson window 4, Tikhonov 1e-10, safeguarded;
  recurrent backprop with (damped) Picard on the adjoint;
* stopping at training time: a sample stops at relative residual ``|f(s) - s| / |f(s)| <
  1e-4`` (the paper ran its fixed budget; at the fixed point the two agree);
* "iterations" are counted exactly like hopdeq's ``TimeToConvergenceCallback`` (which produced
  the paper's numbers): the test set is solved with the full forward budget, every output
  ``s_t`` of the (damped) DEQ map is recorded (``s_t = (1 - d) f(x_t) + d x_t``: hopdeq wraps
  the damping into the map before tracking it), ``r_t = |s_{t+1} - s_t| / |s_{t+1}|`` per sample
  and the iteration count is the first ``t`` (0-based) with ``r_t < 1e-4`` (``T - 1`` for
  samples that never get there), times ``1 - damping`` (forward-Euler time). Protocol fixes
  against the first implementation, which counted the calls of ``f`` up to and including the
  one whose own residual ``|f(x_k) - x_k| / |f(x_k)|`` met the tolerance: for Picard that is
  exactly ``t + 2`` (2 iterations too many), for Anderson about ``t + 1.2`` (hopdeq compares
  consecutive map outputs, not ``f(x_k)`` with the extrapolated ``x_k``), and for the damped
  CHN the undamped residual is twice the damped one hopdeq thresholds;
* Anderson's safeguard: the rows use hopdeq's rule (``safeguard="proxy"``: keep the
  extrapolation ``x~`` when ``|g_last - x~| / |x~| < |g_last - x_last| / |x_last|``, else take
  the Picard step), which produced the paper's numbers; a cell's ``safeguard`` picks another
  rule, and an evaluated model named ``"HAM-DEQ@residual"`` runs HAM-DEQ's solver with the
  foundation's rule (decaying residual bound, history restarts, the model's energy as merit:
  :class:`~hopfield_lab.models.layered.DEQSettings`), which accepts far more
  extrapolations (column ``rejected`` of ``hopfield-lab bench deq-anderson-vs-torchdeq``) and
  needs fewer iterations (see :mod:`hopfield_lab.experiments.deq.table2`). Our Tikhonov term
  is relative to the mean of diag(F F^T), hopdeq's 1e-10 is absolute;
* "state updates" also count the ``2 x 10`` local iterations of one CHN even-odd iteration
  (Table 2's footnote).
"""

from __future__ import annotations

import math
import statistics
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hopfield_lab.data import mnist_tensors, subset
from hopfield_lab.errors import ConfigError, check_choice
from hopfield_lab.models.layered import DEQSettings, LayeredHopfield
from hopfield_lab.runs import atomic_write_json, read_json
from hopfield_lab.solvers.fixed_point import SAFEGUARDS, fixed_point
from hopfield_lab.training import CHECKPOINT_NAME, TrainConfig, fit
from hopfield_lab.training.madam import Madam, linear_decay

__all__ = [
    "ARCHITECTURES",
    "LOG_RES_RANGE",
    "MODELS",
    "PAPER_SAFEGUARD",
    "TOLERANCES",
    "ModelSpec",
    "cost_per_iteration",
    "expand_shared",
    "settings_for",
    "split_variant",
    "train_and_evaluate",
]

ARCHITECTURES: dict[int, tuple[list[int], float]] = {
    3: ([784, 1990, 10], 0.01),
    5: ([784, 1280, 510, 200, 10], 0.005),
    7: ([784, 1024, 512, 256, 128, 70, 10], 0.005),
}
"""Depth -> (layer sizes, Madam learning rate), App. F."""

TOLERANCES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
"""Convergence criteria at which mean iterations are reported (Figs. 3-4, cyan curve)."""

PAPER_SAFEGUARD = "proxy"
"""Anderson safeguard of hopdeq (the paper's code); see the module docstring."""

LOG_RES_RANGE = (-8.0, 1.0, 72)
"""log10 relative-residual histogram: low, high, number of bins."""


@dataclass(frozen=True)
class ModelSpec:
    """One configuration of Table 2: Hopfield kind, update scheme, solver, damping."""

    kind: str
    scheme: str
    solver: str
    damping: float


MODELS: dict[str, ModelSpec] = {
    "CHN": ModelSpec("chn", "sync", "picard", 0.5),
    "CHN-DEQ": ModelSpec("chn", "sync", "anderson", 0.5),
    "CHN-EO": ModelSpec("chn", "even_odd", "picard", 0.0),
    "CHN-EO-DEQ": ModelSpec("chn", "even_odd", "anderson", 0.0),
    "HAM": ModelSpec("ham", "sync", "picard", 0.0),
    "HAM-DEQ": ModelSpec("ham", "sync", "anderson", 0.0),
    "HAM-EO": ModelSpec("ham", "even_odd", "picard", 0.0),
    "HAM-EO-DEQ": ModelSpec("ham", "even_odd", "anderson", 0.0),
}


def settings_for(model: str, depth: int, tol: float = 1e-4, **extra: Any) -> DEQSettings:
    """The paper's solver settings for ``model`` at ``depth`` layers (App. F, sweep.py);
    ``extra`` changes DEQSettings or solver fields (e.g. ``safeguard``)."""
    check_choice("model", model, tuple(MODELS))
    check_choice("depth", depth, tuple(ARCHITECTURES))
    spec = MODELS[model]
    scale = int((depth // 2) / (1.0 - spec.damping))
    plain = "damped" if spec.damping > 0 else "picard"
    method = "anderson" if spec.solver == "anderson" else plain
    return DEQSettings.of(
        scheme=spec.scheme,
        method=method,
        damping=spec.damping,
        max_iter=40 * scale,
        backward_max_iter=8 * scale,
        tol=tol,
        **extra,
    )


def split_variant(name: str) -> tuple[str, str | None]:
    """``"HAM-DEQ@residual" -> ("HAM-DEQ", "residual")``; ``"HAM" -> ("HAM", None)``.

    Raises:
        ConfigError: unknown model or safeguard, or a safeguard on a non-Anderson model.
    """
    model, sep, rule = name.partition("@")
    check_choice("model", model, tuple(MODELS))
    if not sep:
        return model, None
    check_choice("safeguard", rule, SAFEGUARDS)
    if MODELS[model].solver != "anderson":
        raise ConfigError(f"model {name!r}: a safeguard variant needs an Anderson model")
    return model, rule


def cost_per_iteration(model: str, inner_iters: int = 10) -> int:
    """State updates per DEQ iteration: ``2 inner_iters`` for the CHN even-odd, else 1."""
    spec = MODELS[split_variant(model)[0]]
    return 2 * inner_iters if (spec.kind == "chn" and spec.scheme == "even_odd") else 1


def _loss_fn(settings: DEQSettings) -> Any:
    def loss_fn(module: torch.nn.Module, batch: tuple[Tensor, ...]) -> tuple[Tensor, dict]:
        m = typing.cast(LayeredHopfield, module)
        xb, yb = batch
        res = m.solve(xb, settings, record_residuals=False)
        out = m.readout(res.x, settings.scheme)  # (B, 10)
        target = torch.nn.functional.one_hot(yb, m.n_out).to(out.dtype)
        loss = 0.5 * ((out - target) ** 2).sum() / len(xb)
        return loss, {"forward_steps": float(res.n_steps.double().mean())}

    return loss_fn


def _tracked_solve(m: LayeredHopfield, settings: DEQSettings, x: Tensor) -> tuple[Any, Tensor]:
    """Full-budget solve recording hopdeq's relative residuals of successive map outputs.

    Returns:
        ``(result, r)``: the solver result and ``r`` ``(T - 1, B)`` with
        ``r_t = |s_{t+1} - s_t| / |s_{t+1}|``, ``s_t = (1 - d) f(x_t) + d x_t`` the output of
        the damped map at iteration ``t`` (hopdeq's ``track_states``, see the module doc).
    """
    view = m.bind(x, settings.scheme)
    opts = settings.options_for(view).replace(stop="rel", full_iterations=True)
    d = opts.damping
    outs: list[Tensor] = []

    def tracked(z: Tensor) -> Tensor:
        g = view.update(z)
        outs.append(g if d == 0.0 else (1.0 - d) * g + d * z)
        return g

    res = fixed_point(
        tracked, view.initial_state(), opts, record_residuals=False, on_divergence="flag"
    )
    s = torch.stack(outs)  # (T, B, D)
    r = torch.linalg.vector_norm(s.diff(dim=0), dim=-1) / torch.linalg.vector_norm(s[1:], dim=-1)
    return res, r.double().cpu()  # (T - 1, B)


def _first_below(r: Tensor, tol: float) -> Tensor:
    """hopdeq's count: first ``t`` with ``r_t < tol``, else ``T - 1`` (``r``: ``(T - 1, B)``)."""
    below = r < tol
    return torch.where(below.any(0), below.double().argmax(0), float(r.shape[0]))


@torch.no_grad()
def _evaluate(
    m: LayeredHopfield, settings: DEQSettings, x: Tensor, y: Tensor, cell: dict[str, Any]
) -> dict[str, Any]:
    """Accuracy, iterations (hopdeq's count), timing and residual histograms on the test set."""
    dev = next(m.parameters()).device
    m.eval()
    steps, correct, converged = [], 0, 0
    n_resid = cell["n_resid"]
    lo, hi, nb = LOG_RES_RANGE
    hist = torch.zeros(settings.solver.max_iter - 1, nb, dtype=torch.long)
    first: dict[float, list[Tensor]] = {t: [] for t in TOLERANCES}
    for i in range(0, len(x), 1000):
        xb = x[i : i + 1000].to(dev)
        res, r = _tracked_solve(m, settings, xb)
        t_first = _first_below(r, settings.solver.tol)
        steps.append(t_first)
        converged += int((r < settings.solver.tol).any(0).sum())
        pred = m.readout(res.x, settings.scheme).argmax(1).cpu()
        correct += int((pred == y[i : i + 1000]).sum())
        if i < n_resid:  # residual density and iterations per tolerance (Figs. 3-4)
            rr = r[:, : n_resid - i]  # (T - 1, b)
            logr = torch.log10(rr.clamp_min(10**lo)).clamp(lo, hi - 1e-9)
            idx = ((logr - lo) / (hi - lo) * nb).long()  # (T - 1, b) bin indices
            hist.scatter_add_(1, idx, torch.ones_like(idx))
            for tol in TOLERANCES:
                first[tol].append(_first_below(rr, tol))
    n_steps = torch.cat(steps)
    # wall time of one batched forward solve at the training batch size (median over batches),
    # stopping each sample at the criterion (our solver, not the fixed budget)
    times: list[float] = []
    bsz = cell["batch_size"]
    for i in range(cell["n_timing"]):
        xb = x[i * bsz : (i + 1) * bsz].to(dev)
        if len(xb) < bsz and (times or len(xb) == 0):
            break  # full batches only, unless the test set is smaller than one
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        start = time.perf_counter()
        m.solve(xb, settings, record_residuals=False)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - start)
    out: dict[str, Any] = {
        "accuracy": 100.0 * correct / len(x),
        "steps_mean": float(n_steps.mean()),
        "not_converged": int(len(x) - converged),
        "solve_time_s": statistics.median(times) if times else float("nan"),
    }
    if n_resid > 0:
        out["hist"] = hist.tolist()
        out["iters_at_tol"] = {f"{t:g}": float(torch.cat(first[t]).mean()) for t in TOLERANCES}
    return out


def train_and_evaluate(cell: dict[str, Any]) -> dict[str, Any]:
    """Train one (depth, model, seed) cell (resumable via ``train_dir``) and evaluate it.

    Cell keys: ``depth, model, seed, epochs, short_epochs (0: none), n_train, n_test,
    batch_size, tol, n_timing, n_resid, mnist_path, device, train_dir``, and optionally
    optionally ``safeguard`` (Anderson rule, default :data:`PAPER_SAFEGUARD`) and
    ``eval_models``: models of the same kind whose solvers are also evaluated on the trained
    weights (synchronous/even-odd x Picard/Anderson share the fixed point of the same weights;
    ``"NAME@rule"`` evaluates NAME's solver with another Anderson safeguard).

    Returns:
        ``{"final": metrics, "short": metrics or absent, "models": {name: metrics} (with
        ``eval_models``), "epoch_time_s", "history"}`` where metrics hold accuracy (%), mean
        iterations (raw and Euler-time), state updates, non-converged count, wall time per
        forward solve and the residual statistics.
    """
    depth, name, seed = cell["depth"], cell["model"], cell["seed"]
    check_choice("model", name, tuple(MODELS))
    spec = MODELS[name]
    layers, lr = ARCHITECTURES[depth]
    settings = settings_for(
        name, depth, tol=cell["tol"], safeguard=cell.get("safeguard", PAPER_SAFEGUARD)
    )
    data = mnist_tensors(cell["mnist_path"])
    x, y = subset(*data["train"], cell["n_train"])
    tx, ty = subset(*data["test"], cell["n_test"])
    torch.manual_seed(seed)
    model = LayeredHopfield(layers, kind=spec.kind)  # type: ignore[arg-type]
    opt = Madam(model.parameters(), lr=lr, p_scale=1024, g_bound=3)
    sched = linear_decay(opt, cell["epochs"])
    train_dir = Path(cell["train_dir"])
    stages = [cell["short_epochs"]] if 0 < cell.get("short_epochs", 0) < cell["epochs"] else []
    stages.append(cell["epochs"])
    out: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    short_file = train_dir / "short_metrics.json"
    if len(stages) == 2 and short_file.exists():  # resumed after the short evaluation
        out["short"] = read_json(short_file)
        stages = stages[1:]
    elif len(stages) == 2 and _checkpoint_epoch(train_dir) > stages[0]:
        stages = stages[1:]  # killed between training past it and saving its evaluation
    for stage in stages:
        cfg = TrainConfig(
            epochs=stage,
            batch_size=cell["batch_size"],
            seed=seed,
            device=cell.get("device", "cpu"),
            progress=False,
        )
        result = fit(
            model, opt, _loss_fn(settings), (x, y), cfg, run_dir=train_dir, scheduler=sched
        )
        history = result.history
        if stage == cell["epochs"] and cell.get("eval_models"):
            out["models"] = {
                ev: _metrics(model, ev, depth, tx, ty, cell) for ev in cell["eval_models"]
            }
            out["trained_model"] = name
            metrics = out["models"].get(name) or _metrics(model, name, depth, tx, ty, cell)
        else:
            metrics = _metrics(model, name, depth, tx, ty, cell)
        out["short" if stage != cell["epochs"] else "final"] = metrics
        if stage != cell["epochs"]:
            atomic_write_json(short_file, metrics)
    epoch_times = [h["wall_time_s"] for h in history]
    out["epoch_time_s"] = statistics.median(epoch_times) if epoch_times else math.nan
    out["history"] = [
        {k: h[k] for k in ("epoch", "train_loss", "train_forward_steps", "lr") if k in h}
        for h in history
    ]
    return out


def _metrics(
    m: LayeredHopfield, name: str, depth: int, x: Tensor, y: Tensor, cell: dict[str, Any]
) -> dict[str, Any]:
    """:func:`_evaluate` with the solver settings of ``name``, plus Euler-time iterations."""
    model, rule = split_variant(name)
    if MODELS[model].kind != m.kind:
        raise ConfigError(f"cannot evaluate {name!r} on a trained {m.kind.upper()} model")
    safeguard = rule or cell.get("safeguard", PAPER_SAFEGUARD)
    settings = settings_for(model, depth, tol=cell["tol"], safeguard=safeguard)
    metrics = _evaluate(m, settings, x, y, cell)
    metrics["iters"] = metrics["steps_mean"] * (1.0 - MODELS[model].damping)
    metrics["state_updates"] = metrics["iters"] * cost_per_iteration(name, m.inner_iters)
    return metrics


def expand_shared(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per-row results from cells that evaluated several solvers (``eval_models``) on one
    trained model: each evaluated name gets its own key (``model=<name>``); only the solver
    that trained keeps the epoch time (the others trained none)."""
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


def _checkpoint_epoch(train_dir: Path) -> int:
    path = train_dir / "checkpoints" / CHECKPOINT_NAME
    if not path.exists():
        return 0
    return int(torch.load(path, map_location="cpu", weights_only=False)["epoch"])


def check_models(models: tuple[str, ...], depths: tuple[int, ...]) -> None:
    """Validate model and depth lists of a config (non-empty, known names, CHN only at 3)."""
    if not models:
        raise ConfigError("models must not be empty")
    if not depths:
        raise ConfigError("depths must not be empty")
    for m in models:
        check_choice("models", m, tuple(MODELS))
    for d in depths:
        check_choice("depths", d, tuple(ARCHITECTURES))
