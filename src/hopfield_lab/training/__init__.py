"""A small explicit training loop (mini-batches from tensors, checkpoints, exact resume) and
the Madam optimizer of the DEQ paper."""

from hopfield_lab.training.loop import (
    CHECKPOINT_NAME,
    LossFn,
    Stateful,
    TrainConfig,
    TrainResult,
    fit,
    load_checkpoint,
)
from hopfield_lab.training.madam import Madam, linear_decay

__all__ = [
    "CHECKPOINT_NAME",
    "LossFn",
    "Madam",
    "Stateful",
    "TrainConfig",
    "TrainResult",
    "fit",
    "linear_decay",
    "load_checkpoint",
]
