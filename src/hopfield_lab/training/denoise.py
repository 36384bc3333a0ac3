"""The lecture notes' denoising protocol for :class:`~hopfield_lab.models.networks.
HopfieldDenoiser` (Sec. 4.3, ``MMforNN.ipynb`` cell 27).

Images are 32 x 32 with pixels in ``[-1, 1]``; the input gets Gaussian noise of std ``std`` in
``[0, 1]`` pixel units, i.e. ``2 std`` on the network's scale (:func:`pixel_noise`; the notes'
"noise 1.0" is the variance ``(2 * 0.5)^2``), and the target is the clean image. Training
(:func:`train_denoiser`) minimises ``MSE + reg (mean |encoder weight| + mean |decoder
weight|)`` with Adam; :func:`denoising_mse` measures the test MSE beside two baselines, the
clamped noisy input and the all-background image; :func:`denoiser_pictures` keeps what
Figs. 4.7-4.8 show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from hopfield_lab.models.networks import HopfieldDenoiser
from hopfield_lab.training.loop import TrainConfig, fit

__all__ = ["denoiser_pictures", "denoising_mse", "pixel_noise", "train_denoiser"]


def pixel_noise(clean: Tensor, std: float, generator: torch.Generator | None = None) -> Tensor:
    """Add noise of std ``std`` in ``[0, 1]`` pixel units to images in ``[-1, 1]``.

    Args:
        clean: images of any shape ``(B, ...)`` in ``[-1, 1]``.
        std: noise std in ``[0, 1]`` units (``2 std`` on the images' scale).
        generator: a CPU random generator (the noise is drawn on the CPU, then moved to the
            images' device); None uses the global torch RNG.

    Returns:
        ``clean + 2 std z`` with ``z ~ N(0, I)`` of ``clean``'s shape, unclamped.
    """
    noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    return clean + 2.0 * std * noise.to(clean.device)


@torch.no_grad()
def denoising_mse(
    model: nn.Module, clean: Tensor, std: float, seed: int, batch: int = 1000
) -> dict[str, float]:
    """Test MSE per pixel of the model's output, of the clamped noisy input and of the blank
    (all ``-1``) image, against the clean images.

    Args:
        model: the denoiser (put in eval mode). clean: ``(n, 1, 32, 32)`` CPU images.
        std: noise std in ``[0, 1]`` units. seed: the noise comes from a generator seeded
            ``10_000 + seed`` (the same noise for every model and level of one seed).
        batch: images per forward pass. Default 1000.

    Returns:
        ``{"model": ..., "noisy_input": ..., "blank": ...}``.
    """
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(10_000 + seed)
    sums = {"model": 0.0, "noisy_input": 0.0, "blank": 0.0}
    for i in range(0, len(clean), batch):
        c = clean[i : i + batch]
        noisy = pixel_noise(c, std, gen)
        sums["model"] += float(F.mse_loss(model(noisy.to(device)).cpu(), c, reduction="sum"))
        sums["noisy_input"] += float(F.mse_loss(noisy.clamp(-1, 1), c, reduction="sum"))
        sums["blank"] += float(F.mse_loss(torch.full_like(c, -1.0), c, reduction="sum"))
    return {k: v / clean.numel() for k, v in sums.items()}


def train_denoiser(
    train: Tensor,
    val: Tensor,
    options: TrainConfig,
    *,
    noise_std: float,
    reg: float,
    lr: float,
    run_dir: str | Path | None = None,
) -> tuple[HopfieldDenoiser, list[dict[str, Any]]]:
    """Train a :class:`HopfieldDenoiser` (seeded with ``options.seed``) to map noisy images to
    clean ones, resumable through ``run_dir``'s checkpoint.

    Args:
        train: ``(n, 1, 32, 32)`` training images in ``[-1, 1]``. val: validation images, whose
            :func:`denoising_mse` is recorded after each epoch as ``val_mse``.
        options: epochs, batch size, seed, device, progress.
        noise_std: training noise std in ``[0, 1]`` units (notes: 0.5).
        reg: weight of the regulariser (notes: 0.01). lr: Adam's learning rate (notes: 0.01).
        run_dir: checkpoint folder (None: no checkpoint).

    Returns:
        The trained model and :func:`~hopfield_lab.training.fit`'s history (``train_mse``,
        ``train_reg``, ``val_mse`` per epoch).
    """
    torch.manual_seed(options.seed)
    model = HopfieldDenoiser()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def loss_fn(m: nn.Module, batch: tuple[Tensor, ...]) -> tuple[Tensor, dict[str, Any]]:
        clean = batch[0]
        mse = F.mse_loss(m(pixel_noise(clean, noise_std)), clean)
        penalty = reg * m.regulariser()  # type: ignore[operator]
        return mse + penalty, {"mse": mse.detach(), "reg": penalty.detach()}

    def eval_fn(m: nn.Module) -> dict[str, Any]:
        return {"val_mse": denoising_mse(m, val, noise_std, options.seed)["model"]}

    result = fit(model, optimizer, loss_fn, (train,), options, run_dir=run_dir, eval_fn=eval_fn)
    return model, result.history


@torch.no_grad()
def denoiser_pictures(
    model: HopfieldDenoiser, clean: Tensor, noise_std: float, seed: int
) -> dict[str, Tensor]:
    """Examples and the stages of the first one through the network (Figs. 4.7-4.8).

    Args:
        model: the trained denoiser (put in eval mode). clean: ``(n, 1, 32, 32)`` CPU images.
        noise_std: noise std in ``[0, 1]`` units, drawn by a generator seeded ``seed``.
        seed: the noise's seed.

    Returns:
        CPU tensors: ``clean``, ``noisy``, ``output`` ``(n, 32, 32)``; ``patterns`` ``(K, 5,
        5)``; the first image's Hopfield ``logits`` and ``decoded`` logits ``(K, 36, 36)``.
    """
    model.eval()
    noisy = pixel_noise(clean, noise_std, torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    stages = {k: v.cpu() for k, v in model.stages(noisy.to(device)).items()}
    out = {"clean": clean[:, 0], "noisy": noisy[:, 0], "output": stages["output"][:, 0]}
    out |= {"patterns": model.hopfield.patterns[:, 0].cpu()}
    return out | {"logits": stages["logits"][0], "decoded": stages["decoded"][0]}
