"""A small explicit training loop: mini-batches from tensors, checkpoints, exact resume."""

from hopfield_lab.training.loop import CHECKPOINT_NAME, LossFn, TrainConfig, TrainResult, fit

__all__ = ["CHECKPOINT_NAME", "LossFn", "TrainConfig", "TrainResult", "fit"]
