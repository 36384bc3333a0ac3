"""Classifiers trained on cross-entropy and their test metrics.

* :func:`train_classifier`: Adam on ``CE + reg * model.regulariser()`` (the learning rate
  divided by 10 after a given epoch), an optional random input transform drawn afresh for
  every batch, the validation accuracy after every epoch, through the library's resumable
  :func:`~hopfield_lab.training.fit`;
* :func:`evaluate_classifier`: accuracy and mean cross-entropy over a data set in batches.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from hopfield_lab.errors import ConfigError, check_int, check_positive, check_range
from hopfield_lab.training.loop import TrainConfig, TrainResult, fit

__all__ = ["evaluate_classifier", "train_classifier"]


def train_classifier(
    model: nn.Module,
    train: tuple[Tensor, Tensor],
    options: TrainConfig,
    *,
    lr: float,
    decay_epoch: int = 0,
    reg: float = 0.0,
    transform: Callable[[Tensor], Tensor] | None = None,
    val: tuple[Tensor, Tensor] | None = None,
    run_dir: str | Path | None = None,
) -> TrainResult:
    """Train ``model`` with Adam on ``CE(model(T(x)), y) + reg * model.regulariser()``.

    Args:
        model: maps ``(B, ...)`` inputs to ``(B, C)`` logits; needs ``regulariser()`` (a
            scalar tensor) when ``reg > 0``. Only parameters with ``requires_grad`` train.
        train: ``(x (n, ...), y (n,))``.
        options: epochs, batch size, seed, device, progress (:class:`TrainConfig`).
        lr: Adam's learning rate (> 0).
        decay_epoch: after this many epochs the learning rate is divided by 10 (0, or not
            below ``options.epochs``: never). Default 0.
        reg: weight of the regulariser (>= 0). Default 0.
        transform: ``T``, applied to every training batch (e.g. a random augmentation);
            default none.
        val: ``(x, y)`` whose accuracy (%) and CE are recorded after every epoch as
            ``val_accuracy`` and ``val_ce``. Default none.
        run_dir: checkpoints and metrics, for resuming (:func:`~hopfield_lab.training.fit`).

    Returns:
        The :class:`TrainResult`; its history records ``train_ce`` (and ``train_reg``, the
        weighted regulariser, when ``reg > 0``) per epoch.
    """
    check_positive("lr", lr)
    check_int("decay_epoch", decay_epoch, 0)
    check_range("reg", reg, 0.0)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    scheduler = None
    if 0 < decay_epoch < options.epochs:
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [decay_epoch], gamma=0.1)

    def loss_fn(m: nn.Module, b: tuple[Tensor, ...]) -> tuple[Tensor, dict[str, Any]]:
        ce = F.cross_entropy(m(b[0] if transform is None else transform(b[0])), b[1])
        if reg == 0:
            return ce, {"ce": ce.detach()}
        penalty = reg * m.regulariser()  # type: ignore[operator]
        return ce + penalty, {"ce": ce.detach(), "reg": penalty.detach()}

    def eval_fn(m: nn.Module) -> dict[str, Any]:
        if val is None:
            return {}
        acc, ce = evaluate_classifier(m, *val)
        return {"val_accuracy": acc, "val_ce": ce}

    evaluate = None if val is None else eval_fn
    return fit(
        model,
        optimizer,
        loss_fn,
        train,
        options,
        run_dir=run_dir,
        scheduler=scheduler,
        eval_fn=evaluate,
    )


@torch.no_grad()
def evaluate_classifier(
    model: nn.Module, x: Tensor, y: Tensor, batch: int = 4096
) -> tuple[float, float]:
    """Accuracy (%) and mean cross-entropy of ``model`` on ``(x, y)``, in eval mode.

    ``accuracy = 100 / n sum_i [argmax_c logits_ic = y_i]`` and ``CE = -1/n sum_i log
    softmax(logits_i)_{y_i}``; the batches go to the model's device, and its training mode is
    restored afterwards.

    Args:
        model: maps ``(B, ...)`` inputs to ``(B, C)`` logits.
        x: ``(n, ...)`` inputs. y: ``(n,)`` long labels in ``0..C-1``.
        batch: evaluation batch size (>= 1). Default 4096.

    Returns:
        ``(accuracy in %, mean cross-entropy)``.

    Raises:
        ConfigError: for an empty data set, mismatched lengths or a bad ``batch``.
    """
    check_int("batch", batch, 1)
    if len(x) == 0 or len(x) != len(y):
        raise ConfigError(f"x and y must be non-empty and as long; got {len(x)} and {len(y)}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct, loss = 0, 0.0
    for i in range(0, len(x), batch):
        xb, yb = x[i : i + batch].to(device), y[i : i + batch].to(device)
        logits = model(xb)  # (B, C)
        correct += int((logits.argmax(1) == yb).sum())
        loss += float(F.cross_entropy(logits, yb, reduction="sum"))
    model.train(was_training)
    return 100.0 * correct / len(x), loss / len(x)
