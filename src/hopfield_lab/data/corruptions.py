"""Corruptions of batch-first states ``(B, N)`` for retrieval and completion experiments.

Every function returns a new tensor and never modifies its input. Randomness comes from
``generator`` (the global torch RNG when None), which must live on the device of ``x``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from hopfield_lab.errors import ConfigError, check_choice, check_int, check_probability, check_range

__all__ = [
    "CORRUPTIONS",
    "MASK_MODES",
    "corrupt",
    "flip_bits",
    "flip_exact",
    "gaussian_noise",
    "mask",
]

CORRUPTIONS = ("noise", "flip", "mask")
"""Kinds accepted by :func:`corrupt`."""

MASK_MODES = ("random", "bottom", "right")
"""Modes accepted by :func:`mask`."""


def _check_batch(x: Any, *, floating: bool = False) -> torch.Tensor:
    """Return ``x`` if it is a 2-D tensor ``(B, N)`` (floating if asked), else raise ConfigError."""
    if not isinstance(x, torch.Tensor):
        raise ConfigError(f"x must be a torch.Tensor of shape (B, N); got {type(x).__name__}")
    if x.ndim != 2:
        raise ConfigError(
            f"x must be a 2-D tensor (B, N), batch first; got shape {tuple(x.shape)} "
            "(use x.unsqueeze(0) for a single state)"
        )
    if floating and not x.is_floating_point():
        raise ConfigError(f"x must have a floating-point dtype; got {x.dtype}")
    return x


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform [0, 1) samples of the shape of ``x``, in float64 so that rates are exact."""
    return torch.rand(x.shape, generator=generator, dtype=torch.float64, device=x.device)


def gaussian_noise(
    x: torch.Tensor,
    sigma: float,
    *,
    clip: tuple[float, float] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Add i.i.d. Gaussian noise: ``x + sigma * z`` with ``z ~ N(0, I)``, optionally clipped.

    Args:
        x: states, floating tensor of shape ``(B, N)``.
        sigma: noise standard deviation, ``>= 0``.
        clip: ``(low, high)`` with ``low <= high`` to clamp the result into, e.g. ``(0, 1)``
            for images; None (default) leaves it unclipped.
        generator: random generator; None uses the global torch RNG.

    Returns:
        New tensor of the shape and dtype of ``x``.

    Raises:
        ConfigError: if ``x`` is not a 2-D floating tensor, ``sigma < 0`` or ``clip`` is not
            an ordered pair of finite numbers.
    """
    _check_batch(x, floating=True)
    check_range("sigma", sigma, 0.0)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)  # (B, N)
    out = x + sigma * noise
    if clip is not None:
        if not isinstance(clip, (tuple, list)) or len(clip) != 2:
            raise ConfigError(f"clip must be a pair (low, high) or None; got {clip!r}")
        low = check_range("clip[0]", clip[0])
        high = check_range("clip[1]", clip[1])
        if low > high:
            raise ConfigError(f"clip must satisfy low <= high; got {tuple(clip)!r}")
        out = out.clamp(low, high)
    return out


def flip_bits(
    x: torch.Tensor, p: float, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Flip the sign of each entry independently with probability ``p`` (for ±1 states).

    Args:
        x: states, tensor of shape ``(B, N)`` with a floating or signed integer dtype.
        p: flip probability in ``[0, 1]``; the expected fraction of flipped entries.
        generator: random generator; None uses the global torch RNG.

    Returns:
        New tensor of the shape and dtype of ``x``.

    Raises:
        ConfigError: if ``x`` is not a 2-D signed tensor or ``p`` is outside ``[0, 1]``.
    """
    _check_signed(_check_batch(x))
    check_probability("p", p)
    flip = _uniform(x, generator) < p  # (B, N), True with probability p
    return torch.where(flip, -x, x)


def flip_exact(
    x: torch.Tensor, k: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Flip the sign of exactly ``k`` distinct, uniformly chosen entries in each row.

    Args:
        x: states, tensor of shape ``(B, N)`` with a floating or signed integer dtype.
        k: number of entries to flip per row, an int in ``[0, N]``.
        generator: random generator; None uses the global torch RNG.

    Returns:
        New tensor of the shape and dtype of ``x``; for ±1 states, each row is at Hamming
        distance exactly ``k`` from the input row.

    Raises:
        ConfigError: if ``x`` is not a 2-D signed tensor or ``k`` is not an int in ``[0, N]``.
    """
    _check_signed(_check_batch(x))
    check_int("k", k, 0, x.shape[1])
    flip = _random_subset(x, k, generator)  # (B, N), k True per row
    return torch.where(flip, -x, x)


def mask(
    x: torch.Tensor,
    fraction: float,
    *,
    value: float = 0.0,
    mode: str = "random",
    image_shape: tuple[int, int] | None = None,
    generator: torch.Generator | None = None,
    return_mask: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Overwrite a fraction of each row with ``value`` (occlusion / pattern completion).

    Modes:
        - ``"random"``: ``round(fraction * N)`` distinct entries chosen at random per row.
        - ``"bottom"``: rows are images of ``image_shape = (H, W)``; the last
          ``round(fraction * H)`` image rows are occluded (``fraction=0.5`` is the classic
          bottom-half completion task).
        - ``"right"``: likewise, the last ``round(fraction * W)`` image columns.

    Args:
        x: states, tensor of shape ``(B, N)``.
        fraction: share of the entries (or image rows/columns) to overwrite, in ``[0, 1]``.
        value: value written into the masked entries. Default 0 (the neutral state of a ±1
            network; use e.g. 0 or 0.5 for images).
        mode: ``"random"`` (default), ``"bottom"`` or ``"right"``.
        image_shape: ``(H, W)`` with ``H * W == N``; required for ``"bottom"`` and ``"right"``.
        generator: random generator for ``"random"``; None uses the global torch RNG.
        return_mask: also return the boolean mask. Default False.

    Returns:
        New tensor of the shape and dtype of ``x``; with ``return_mask`` the pair
        ``(masked, occluded)`` where ``occluded`` is a bool tensor ``(B, N)``, True where
        ``value`` was written.

    Raises:
        ConfigError: if ``x`` is not 2-D, ``fraction`` is outside ``[0, 1]``, ``mode`` is
            unknown, ``image_shape`` is missing or does not match ``N``, or ``value`` is not a
            number (or not an integer for an integer ``x``).
    """
    _check_batch(x)
    check_probability("fraction", fraction)
    check_choice("mode", mode, MASK_MODES)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ConfigError(f"value must be a real number; got {value!r}")
    if not x.is_floating_point() and not float(value).is_integer():
        raise ConfigError(f"value must be an integer for x of dtype {x.dtype}; got {value!r}")
    B, N = x.shape
    if mode == "random":
        occluded = _random_subset(x, round(fraction * N), generator)  # (B, N)
    else:
        H, W = _check_image_shape(image_shape, N, mode)
        grid = torch.zeros((H, W), dtype=torch.bool, device=x.device)
        if mode == "bottom":
            grid[H - round(fraction * H) :, :] = True
        else:
            grid[:, W - round(fraction * W) :] = True
        occluded = grid.reshape(1, N).expand(B, N)  # (B, N), same occlusion for every row
    out = torch.where(occluded, torch.full_like(x, value), x)
    if return_mask:
        return out, occluded.clone()
    return out


def corrupt(
    x: torch.Tensor,
    kind: str,
    level: float,
    *,
    generator: torch.Generator | None = None,
    **kw: Any,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Apply the corruption ``kind`` at strength ``level`` (one entry point for configs).

    ``"noise"`` calls :func:`gaussian_noise` with ``sigma=level``, ``"flip"`` calls
    :func:`flip_bits` with ``p=level`` and ``"mask"`` calls :func:`mask` with
    ``fraction=level``.

    Args:
        x: states, tensor of shape ``(B, N)``.
        kind: one of ``"noise"``, ``"flip"``, ``"mask"``.
        level: the corruption strength (``sigma``, ``p`` or ``fraction``).
        generator: random generator; None uses the global torch RNG.
        **kw: further keyword arguments of the chosen function (e.g. ``clip``, ``mode``,
            ``image_shape``, ``value``).

    Returns:
        What the chosen function returns.

    Raises:
        ConfigError: if ``kind`` is unknown (the message lists the valid kinds), or whatever
            the chosen function raises for ``level`` and ``kw``.
    """
    check_choice("kind", kind, CORRUPTIONS)
    if kind == "noise":
        return gaussian_noise(x, level, generator=generator, **kw)
    if kind == "flip":
        return flip_bits(x, level, generator=generator, **kw)
    return mask(x, level, generator=generator, **kw)


def _check_signed(x: torch.Tensor) -> None:
    if x.dtype == torch.bool or not (x.is_floating_point() or x.dtype.is_signed):
        raise ConfigError(f"x must have a floating or signed integer dtype to flip; got {x.dtype}")


def _random_subset(x: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    """Bool tensor of the shape of ``x`` with exactly ``k`` True entries per row, uniformly."""
    order = _uniform(x, generator).argsort(dim=1)  # (B, N), a random permutation per row
    chosen = torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    return chosen.scatter_(1, order[:, :k], True)  # (B, N)


def _check_image_shape(image_shape: Any, N: int, mode: str) -> tuple[int, int]:
    if image_shape is None:
        raise ConfigError(f"image_shape=(H, W) is required for mode={mode!r}; got None")
    ok = (
        isinstance(image_shape, (tuple, list))
        and len(image_shape) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in image_shape)
    )
    if not ok or math.prod(image_shape) != N:
        raise ConfigError(
            f"image_shape must be a pair of positive ints (H, W) with H * W == N = {N}; "
            f"got {image_shape!r}"
        )
    return int(image_shape[0]), int(image_shape[1])
