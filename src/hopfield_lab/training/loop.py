"""A small, explicit training loop with exact resume and divergence detection.

``fit`` runs mini-batch gradient descent over tensors held in memory::

    for epoch in start..epochs:
        order = randperm(N, generator seeded from (seed, epoch))
        for batch in order[::batch_size]:
            loss = loss_fn(model, batch); check finite and not blown up; backward;
            check grad norm; clip; step
        scheduler.step(); eval_fn(model)
        save checkpoints/last.pt (atomic), then append the epoch's record to metrics.jsonl

Divergence, one rule for every training (:func:`loss_blew_up`): a step whose loss or gradient
norm is NaN or infinite, or whose loss is finite but has grown by six orders of magnitude,
``|loss| > 1e6 * max(|L_ref|, 1)``, stops training with a
:class:`~hopfield_lab.errors.DivergenceError` naming the epoch and the step (the CLI exits with
code 3). ``L_ref`` is the training's starting loss: the first step's loss during epoch 1, then
epoch 1's mean loss (what a resumed run also reads back from the checkpoint's history, so a
resumed run judges exactly as an uninterrupted one). The floor 1 keeps a loss that starts near
0 from being flagged for ordinary noise; a learning rate of ``1e8`` takes a cross-entropy of 2.3
past ``2.3e6`` within a few steps. Only growth over the start counts, never over the running
best: a loss that has converged to ``1e-8`` may fluctuate by orders of magnitude and is fine.

Resume is exact: the shuffle order of an epoch depends only on ``(seed, epoch)``, and the
checkpoint holds the model, optimizer and scheduler states, the torch, numpy and Python RNG
states at the end of the epoch, and the state of every object passed as ``fit(state=...)``:
anything else the loss carries from step to step (e.g. the warm starts of a
:class:`~hopfield_lab.regularizers.SpectralNormEstimator`). A run killed anywhere (even
mid-epoch) and started again with the same run directory ends with the same parameters, bit for
bit, as a run that was never interrupted (on the same device and library versions). Because the
checkpoint is written before the metrics line, the checkpoint is the source of truth: on resume
``metrics.jsonl`` is rewritten from the checkpoint's history, so every epoch appears exactly once.

One ``fit`` per run directory: for several trainings in one experiment, give each its own
sub-directory, e.g. ``RunDir(run.path / "model_a")``.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import Progress, TextColumn
from torch import Tensor, nn

from hopfield_lab.errors import (
    ConfigError,
    DataError,
    DivergenceError,
    check_device,
    check_int,
    check_positive,
)
from hopfield_lab.runs.io import atomic_torch_save, atomic_write_jsonl
from hopfield_lab.runs.progress import progress_bar
from hopfield_lab.runs.rundir import RunDir

__all__ = [
    "BLOWUP_FACTOR",
    "CHECKPOINT_NAME",
    "LossFn",
    "Stateful",
    "TrainConfig",
    "TrainResult",
    "fit",
    "loss_blew_up",
]

#: File name of the checkpoint in ``<run_dir>/checkpoints/``.
CHECKPOINT_NAME = "last.pt"

#: ``loss_fn(model, batch)`` returns a scalar loss, or ``(loss, {name: value})``.
LossFn = Callable[[nn.Module, tuple[Tensor, ...]], "Tensor | tuple[Tensor, dict[str, Any]]"]

#: Growth of the loss over its starting scale that counts as a (finite) divergence.
BLOWUP_FACTOR = 1e6

_CHECKPOINT_FORMAT = 1


@typing.runtime_checkable
class Stateful(typing.Protocol):
    """What ``fit(state=...)`` checkpoints: ``state_dict()`` and ``load_state_dict(state)``."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], /) -> None: ...


# Config fields that change the trajectory: a checkpoint written with other values cannot resume.
_TRAJECTORY_FIELDS = ("seed", "batch_size", "max_grad_norm")
_RESERVED_KEYS = ("epoch", "step", "train_loss", "lr", "wall_time_s")


@dataclass(frozen=True)
class TrainConfig:
    """Options of ``fit``.

    Attributes:
        epochs: number of passes over the data, >= 1. Default 10.
        batch_size: samples per optimizer step, >= 1 (the last batch of an epoch may be
            smaller). Default 64.
        seed: seeds torch, numpy and Python ``random`` at the start and, with the epoch, each
            epoch's shuffle; >= 0. Default 0.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"`` (CUDA must be available).
            Default ``"cpu"``.
        log_every: steps between updates of the loss shown by the progress bar, >= 1.
            Default 50.
        max_grad_norm: clip the global gradient 2-norm to this value; ``None`` for no
            clipping. Default None.
        progress: show a progress bar over each epoch's steps (only on a terminal).
            Default True.

    Raises:
        ConfigError: if a field is out of range; the message names the field.
    """

    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"
    log_every: int = 50
    max_grad_norm: float | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("seed", self.seed, 0, 2**63 - 1)
        check_int("log_every", self.log_every, 1)
        if self.max_grad_norm is not None:
            check_positive("max_grad_norm", self.max_grad_norm)
        if not isinstance(self.progress, bool):
            raise ConfigError(f"progress must be True or False; got {self.progress!r}")
        _check_device(self.device)


def _check_device(device: Any) -> None:
    check_device("device", device)


@dataclass
class TrainResult:
    """What ``fit`` did.

    Attributes:
        epochs_run: epochs trained by this call (0 when the checkpoint already had them all).
        history: one record per epoch since the start of the run (resumed epochs included),
            each with ``epoch``, ``step`` (optimizer steps so far), ``train_loss``, the
            ``train_<name>`` means of the extra metrics of ``loss_fn``, the metrics of
            ``eval_fn``, ``lr`` and ``wall_time_s`` (of that epoch).
        resumed_from: the epoch of the checkpoint this call resumed from, or ``None``.
        wall_time_s: wall-clock time of this call, in seconds.
    """

    epochs_run: int
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: int | None = None
    wall_time_s: float = 0.0


# ----------------------------------------------------------------------------------- helpers
def loss_blew_up(loss: float, reference: float | None) -> bool:
    """Whether a training loss has diverged: not finite, or ``|loss| > 1e6 max(|ref|, 1)``.

    The one divergence rule of the library's training loops (module docstring).

    Args:
        loss: the step's loss.
        reference: the training's starting loss (None: only NaN/Inf count).

    Returns:
        True when training must stop.
    """
    if not math.isfinite(loss):
        return True
    if reference is None or not math.isfinite(reference):
        return False
    return abs(loss) > BLOWUP_FACTOR * max(abs(reference), 1.0)


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator for one epoch's shuffle, seeded from (seed, epoch) only."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _check_state(state: Any) -> dict[str, Stateful]:
    if state is None:
        return {}
    if not isinstance(state, Mapping):
        raise ConfigError(
            f"state must be a dict of {{name: object}} or None; got {type(state).__name__}"
        )
    for name, obj in state.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"state names must be non-empty strings; got {name!r}")
        if not isinstance(obj, Stateful):
            raise ConfigError(
                f"state[{name!r}] must have state_dict() and load_state_dict(); "
                f"got {type(obj).__name__}"
            )
    return dict(state)


def _check_data(train_data: Any) -> tuple[Tensor, ...]:
    if isinstance(train_data, Tensor):
        train_data = (train_data,)
    if not isinstance(train_data, (tuple, list)) or not train_data:
        raise ConfigError(
            f"train_data must be a non-empty tuple of tensors; got {type(train_data).__name__}"
        )
    for i, t in enumerate(train_data):
        if not isinstance(t, Tensor) or t.dim() == 0:
            raise ConfigError(
                f"train_data[{i}] must be a tensor with a batch dimension; got {t!r:.80}"
            )
    sizes = [len(t) for t in train_data]
    if sizes[0] == 0 or any(s != sizes[0] for s in sizes):
        raise ConfigError(
            f"train_data tensors must have the same, non-zero first dimension; got sizes {sizes}"
        )
    return tuple(train_data)


def _scalar(name: str, value: Any) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ConfigError(f"metric {name!r} must be a scalar; got shape {tuple(value.shape)}")
        return float(value.detach().item())
    if isinstance(value, (int, float, np.generic)) and not isinstance(value, bool):
        return float(value)
    raise ConfigError(f"metric {name!r} must be a number or scalar tensor; got {value!r:.80}")


def _split_loss(out: Any) -> tuple[Tensor, dict[str, Any]]:
    extras: dict[str, Any] = {}
    if isinstance(out, tuple):
        if len(out) != 2 or not isinstance(out[1], dict):
            raise ConfigError(
                "loss_fn must return a scalar tensor or (loss, dict of metrics); "
                f"got a tuple of length {len(out)}"
            )
        out, extras = out
    if not isinstance(out, Tensor) or out.numel() != 1:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ConfigError(f"loss_fn must return a scalar tensor; got {shape}")
    return out, extras


def _grad_norm(params: Sequence[Tensor]) -> Tensor:
    """Global 2-norm of the gradients (0 when no parameter has one)."""
    norms = [torch.linalg.vector_norm(p.grad.detach()) for p in params if p.grad is not None]
    if not norms:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([n.to(norms[0].device) for n in norms]))


def _rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        # weights_only=False: the file holds numpy and Python RNG states. fit wrote it itself;
        # as with any pickle, resume only from run directories you trust.
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise DataError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != _CHECKPOINT_FORMAT:
        raise DataError(f"{path} is not a checkpoint written by hopfield_lab.training.fit")
    return ckpt


def _check_resumable(ckpt: dict[str, Any], config: TrainConfig, n: int, path: Path) -> None:
    saved = ckpt["config"]
    for name in _TRAJECTORY_FIELDS:
        if saved.get(name) != getattr(config, name):
            raise ConfigError(
                f"checkpoint {path} was written with {name}={saved.get(name)!r} but the config "
                f"has {name}={getattr(config, name)!r}; resuming would not reproduce the run. "
                f"Use a fresh run directory (another --name, or --force)"
            )
    if ckpt["n_samples"] != n:
        raise ConfigError(
            f"checkpoint {path} was trained on {ckpt['n_samples']} samples, train_data has {n}; "
            f"use a fresh run directory (another --name, or --force)"
        )
    if ckpt["epoch"] > config.epochs:
        raise ConfigError(
            f"checkpoint {path} is at epoch {ckpt['epoch']}, beyond epochs={config.epochs}; "
            f"ask for epochs >= {ckpt['epoch']} or use a fresh run directory"
        )


def _sync_metrics(run: RunDir, history: list[dict[str, Any]]) -> None:
    """Make metrics.jsonl hold exactly the checkpoint's epochs (other records are kept)."""
    existing = run.read_metrics()
    others = [r for r in existing if not (isinstance(r, dict) and "epoch" in r)]
    wanted = others + history
    if existing != wanted:
        atomic_write_jsonl(run.metrics_path, wanted)


def _diverged(
    what: str, value: float, epoch: int, step: int, step_in_epoch: int, steps: int, saved: bool
) -> DivergenceError:
    kept = f"; the checkpoint of epoch {epoch - 1} is kept" if saved and epoch > 1 else ""
    return DivergenceError(
        f"training diverged at epoch {epoch}, step {step} (step {step_in_epoch} of {steps} in "
        f"the epoch): {what} = {value}; try a smaller learning rate, gradient clipping "
        f"(TrainConfig.max_grad_norm) or float64{kept}",
        step=step,
    )


def _progress_bar(enabled: bool) -> Progress:
    return progress_bar(enabled, TextColumn("loss {task.fields[loss]}"))


# -------------------------------------------------------------------------------------- fit
def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn,
    train_data: tuple[Tensor, ...],
    config: TrainConfig,
    *,
    run_dir: RunDir | str | Path | None = None,
    scheduler: Any = None,
    eval_fn: Callable[[nn.Module], dict[str, Any]] | None = None,
    state: Mapping[str, Stateful] | None = None,
) -> TrainResult:
    """Train ``model`` on in-memory tensors, checkpointing and resuming through ``run_dir``.

    Args:
        model: the model; moved to ``config.device`` (in place, so ``optimizer`` stays valid).
        optimizer: an optimizer over ``model``'s parameters.
        loss_fn: ``loss_fn(model, batch) -> loss`` or ``(loss, {name: value})``, where
            ``batch`` is the tuple of mini-batch slices of ``train_data`` (same order) and
            ``loss`` a scalar tensor. Extra values are averaged over the epoch (weighted by
            batch size) and recorded as ``train_<name>``.
        train_data: tensors sharing their first (sample) dimension, e.g. ``(X, y)`` with
            shapes ``(N, D)`` and ``(N,)``; a single tensor is accepted too.
        config: the training options.
        run_dir: where ``checkpoints/last.pt`` and ``metrics.jsonl`` go. When it already holds
            a checkpoint, training resumes from the epoch after it (nothing is trained if it
            has all ``config.epochs``). ``None``: no files, no resume. Default None.
        scheduler: an LR scheduler stepped once per epoch (after the epoch's steps), saved and
            restored with the checkpoint. Default None.
        eval_fn: ``eval_fn(model) -> {name: value}`` called after each epoch with the model in
            eval mode (and autograd enabled, for energy-gradient diagnostics); its values are
            recorded under their own names. Default None.
        state: ``{name: object}`` of other state the training carries from step to step
            (objects with ``state_dict()`` and ``load_state_dict(state)``, e.g. the
            :class:`~hopfield_lab.regularizers.SpectralNormEstimator` a ``loss_fn`` closes
            over); saved in every checkpoint and restored on resume. Default None.

    Returns:
        A ``TrainResult``; the model holds the parameters after the last epoch.

    Raises:
        ConfigError: on bad arguments (the message names them), when ``run_dir``'s checkpoint
            was written with another seed, batch size, clipping or data size, or is beyond
            ``config.epochs``, or lacks the state of a name in ``state`` (a checkpoint
            written without it cannot resume exactly).
        DataError: if the checkpoint cannot be read.
        DivergenceError: when a loss or the gradient norm is not finite, or the loss blew up
            (:func:`loss_blew_up`); training stops at once (before the optimizer step),
            ``.step`` is the global step (1-based) and the checkpoint of the last finished
            epoch is left as it was.
    """
    start_time = time.perf_counter()
    if not isinstance(config, TrainConfig):
        raise ConfigError(f"config must be a TrainConfig; got {type(config).__name__}")
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"optimizer must be a torch.optim.Optimizer; got {optimizer!r:.80}")
    if not callable(loss_fn):
        raise ConfigError(f"loss_fn must be callable; got {loss_fn!r:.80}")
    if eval_fn is not None and not callable(eval_fn):
        raise ConfigError(f"eval_fn must be callable or None; got {eval_fn!r:.80}")
    states = _check_state(state)
    data = _check_data(train_data)
    n = len(data[0])
    device = torch.device(config.device)
    model.to(device)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    run = None if run_dir is None else (run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir))
    ckpt_path = None if run is None else run.checkpoints_dir / CHECKPOINT_NAME

    torch.manual_seed(config.seed)
    np.random.seed(config.seed % 2**32)
    random.seed(config.seed)

    history: list[dict[str, Any]] = []
    start_epoch, global_step, resumed_from = 1, 0, None
    if ckpt_path is not None and ckpt_path.exists():
        ckpt = _load_checkpoint(ckpt_path)
        _check_resumable(ckpt, config, n, ckpt_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt["scheduler"] is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        _set_rng_state(ckpt["rng"])
        saved_states = ckpt.get("state", {})
        for name, obj in states.items():
            if name not in saved_states:
                raise ConfigError(
                    f"checkpoint {ckpt_path} holds no state for {name!r} (it was written "
                    f"without it), so resuming would not reproduce the run; use a fresh run "
                    f"directory (another --name, or --force)"
                )
            obj.load_state_dict(saved_states[name])
        history = list(ckpt["history"])
        start_epoch, global_step = ckpt["epoch"] + 1, ckpt["global_step"]
        resumed_from = ckpt["epoch"]
    if run is not None:
        _sync_metrics(run, history)

    steps = math.ceil(n / config.batch_size)
    epochs_run = 0
    reference: float | None = float(history[0]["train_loss"]) if history else None
    with _progress_bar(config.progress) as bar:
        task = bar.add_task("epoch", total=steps, loss="—")
        for epoch in range(start_epoch, config.epochs + 1):
            epoch_start = time.perf_counter()
            bar.reset(task, total=steps, description=f"epoch {epoch}/{config.epochs}", loss="—")
            order = torch.randperm(n, generator=_epoch_generator(config.seed, epoch))
            lr = float(optimizer.param_groups[0]["lr"])
            loss_sum, seen = 0.0, 0
            extra_sums: dict[str, float] = {}
            model.train()
            for i, start in enumerate(range(0, n, config.batch_size), start=1):
                idx = order[start : start + config.batch_size]  # (b,)
                batch = tuple(t[idx.to(t.device)].to(device) for t in data)
                step = global_step + 1
                optimizer.zero_grad(set_to_none=True)
                loss, extras = _split_loss(loss_fn(model, batch))
                loss_value = float(loss.detach().item())
                if reference is None and math.isfinite(loss_value):
                    reference = loss_value  # the first step's loss, until epoch 1 is done
                if loss_blew_up(loss_value, reference):
                    what = "loss"
                    if math.isfinite(loss_value):
                        what = f"loss (over {BLOWUP_FACTOR:g} x its start {reference:.4g})"
                    raise _diverged(what, loss_value, epoch, step, i, steps, run is not None)
                loss.backward()
                if config.max_grad_norm is not None:
                    norm = nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                else:
                    norm = _grad_norm(params)
                norm_value = float(norm)
                if not math.isfinite(norm_value):
                    raise _diverged(
                        "gradient norm", norm_value, epoch, step, i, steps, run is not None
                    )
                optimizer.step()
                global_step = step

                b = len(idx)
                seen += b
                loss_sum += loss_value * b
                for name, value in extras.items():
                    extra_sums[name] = extra_sums.get(name, 0.0) + _scalar(name, value) * b
                if i % config.log_every == 0 or i == steps:
                    bar.update(task, loss=f"{loss_sum / seen:.4g}")
                bar.advance(task)

            if scheduler is not None:
                scheduler.step()
            record: dict[str, Any] = {
                "epoch": epoch,
                "step": global_step,
                "train_loss": loss_sum / seen,
            }
            record.update({f"train_{k}": v / seen for k, v in extra_sums.items()})
            if eval_fn is not None:
                model.eval()
                metrics = eval_fn(model)
                model.train()
                if not isinstance(metrics, dict):
                    raise ConfigError(f"eval_fn must return a dict; got {type(metrics).__name__}")
                for name, value in metrics.items():
                    if name in record or name in _RESERVED_KEYS:
                        raise ConfigError(
                            f"eval_fn metric {name!r} clashes with a recorded key; "
                            f"reserved: {', '.join(sorted(set(record) | set(_RESERVED_KEYS)))}"
                        )
                    record[name] = _scalar(name, value)
            record["lr"] = lr
            record["wall_time_s"] = time.perf_counter() - epoch_start
            history.append(record)
            epochs_run += 1
            reference = float(history[0]["train_loss"])

            if run is not None and ckpt_path is not None:
                atomic_torch_save(
                    ckpt_path,
                    {
                        "format": _CHECKPOINT_FORMAT,
                        "epoch": epoch,
                        "global_step": global_step,
                        "n_samples": n,
                        "config": dataclasses.asdict(config),
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": None if scheduler is None else scheduler.state_dict(),
                        "rng": _rng_state(device),
                        "state": {name: obj.state_dict() for name, obj in states.items()},
                        "history": history,
                    },
                )
                run.log_metrics(record)  # after the checkpoint: the checkpoint is the truth

    return TrainResult(
        epochs_run=epochs_run,
        history=history,
        resumed_from=resumed_from,
        wall_time_s=time.perf_counter() - start_time,
    )
