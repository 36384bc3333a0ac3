"""A small explicit training loop (mini-batches from tensors, checkpoints, exact resume, one
divergence rule), the Madam optimizer of the DEQ paper, the finite-step paper's objective
(:class:`FiniteStepLoss`) and the lecture notes' denoising protocol (:func:`train_denoiser`)."""

from hopfield_lab.training.denoise import (
    denoiser_pictures,
    denoising_mse,
    pixel_noise,
    train_denoiser,
)
from hopfield_lab.training.finite_step import PENALTIES, FiniteStepLoss
from hopfield_lab.training.loop import (
    BLOWUP_FACTOR,
    CHECKPOINT_NAME,
    LossFn,
    Stateful,
    TrainConfig,
    TrainResult,
    fit,
    load_checkpoint,
    loss_blew_up,
)
from hopfield_lab.training.madam import Madam, linear_decay

__all__ = [
    "BLOWUP_FACTOR",
    "CHECKPOINT_NAME",
    "PENALTIES",
    "FiniteStepLoss",
    "LossFn",
    "Madam",
    "Stateful",
    "TrainConfig",
    "TrainResult",
    "denoiser_pictures",
    "denoising_mse",
    "fit",
    "linear_decay",
    "load_checkpoint",
    "loss_blew_up",
    "pixel_noise",
    "train_denoiser",
]
