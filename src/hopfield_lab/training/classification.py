"""Test metrics of a classifier: accuracy and mean cross-entropy over a data set in batches."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from hopfield_lab.errors import ConfigError, check_int

__all__ = ["evaluate_classifier"]


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
