"""The lecture notes' random image transform (``MMforNN.ipynb`` cell 13), in torch.

``RandomAffine(degrees=5, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10)`` followed by
``ColorJitter(contrast=(0.9, 1.5))``, applied per image to a batch without torchvision.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = ["notes_augment"]


def notes_augment(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """The notes' random affine transform and contrast jitter on images in ``[0, 1]``.

    Per image: a rotation by ``a ~ U[-5, 5]`` degrees, an x-shear by ``s ~ U[-10, 10]``
    degrees, a scale ``c_s ~ U[0.9, 1.1]`` and a shift ``U[-0.1, 0.1]`` of the size in each
    direction (the sampling grid ``R(a) Sh(s) / c_s``, bilinear, zero fill), then the contrast
    ``c ~ U[0.9, 1.5]`` blended with the image mean: ``clip(c x + (1 - c) mean(x), 0, 1)``.

    Args:
        x: ``(B, 1, H, W)`` images in ``[0, 1]``.
        generator: CPU generator of the draws; ``None`` draws from torch's global generator
            (which ``training.fit`` seeds and checkpoints, so resumed runs stay exact).

    Returns:
        ``(B, 1, H, W)`` transformed images in ``[0, 1]``.
    """
    B = x.shape[0]

    def uniform(lo: float, hi: float) -> Tensor:
        return lo + (hi - lo) * torch.rand(B, generator=generator, dtype=x.dtype)

    angle = torch.deg2rad(uniform(-5.0, 5.0))
    shear = torch.deg2rad(uniform(-10.0, 10.0))
    scale = uniform(0.9, 1.1)
    cos, sin, tan = angle.cos(), angle.sin(), shear.tan()
    theta = torch.zeros(B, 2, 3, dtype=x.dtype)  # (B, 2, 3) affine sampling matrices
    theta[:, 0, 0], theta[:, 0, 1] = cos / scale, (cos * tan - sin) / scale  # R(a) Sh(s) / s
    theta[:, 1, 0], theta[:, 1, 1] = sin / scale, (sin * tan + cos) / scale
    theta[:, 0, 2], theta[:, 1, 2] = 2 * uniform(-0.1, 0.1), 2 * uniform(-0.1, 0.1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid.to(x.device), align_corners=False)  # zero fill
    c = uniform(0.9, 1.5).view(B, 1, 1, 1).to(x.device)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    return (c * out + (1 - c) * mean).clamp(0.0, 1.0)
