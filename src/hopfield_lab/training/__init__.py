"""A small explicit training loop (mini-batches from tensors, checkpoints, exact resume, one
divergence rule), the Madam optimizer of the DEQ paper, the finite-step paper's objective
(:class:`FiniteStepLoss`) with its training and robustness evaluation (:func:`train_finite_step`,
:func:`evaluate_finite_step`), and the lecture notes' denoising protocol
(:func:`train_denoiser`) and classifier training (:func:`train_classifier`)."""

from hopfield_lab.training.classification import evaluate_classifier, train_classifier
from hopfield_lab.training.denoise import (
    denoiser_pictures,
    denoising_mse,
    pixel_noise,
    train_denoiser,
)
from hopfield_lab.training.finite_step import (
    DIAG_LANCZOS_ITERS,
    PENALTIES,
    FiniteStepLoss,
    RegSettings,
    evaluate_finite_step,
    perturbation_bound,
    step_jacobian_norms,
    train_finite_step,
)
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
    "DIAG_LANCZOS_ITERS",
    "PENALTIES",
    "FiniteStepLoss",
    "LossFn",
    "Madam",
    "RegSettings",
    "Stateful",
    "TrainConfig",
    "TrainResult",
    "denoiser_pictures",
    "denoising_mse",
    "evaluate_classifier",
    "evaluate_finite_step",
    "fit",
    "linear_decay",
    "load_checkpoint",
    "loss_blew_up",
    "perturbation_bound",
    "pixel_noise",
    "step_jacobian_norms",
    "train_classifier",
    "train_denoiser",
    "train_finite_step",
]
