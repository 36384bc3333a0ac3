"""Stored images for retrieval experiments with a modern Hopfield memory (notes ch. 3).

:func:`image_memories` draws ``P`` training images to store and ``Q`` of them to query;
:func:`center_scale` puts images on the sphere of radius ``sqrt(N)`` around the stored images'
pixel mean. Raw pixels favour heavy digits: their larger norms win every dot product, so many
stored images are not even fixed points (their separation ``Delta_i``, Def. 3.3.2, is negative);
centred and scaled, every pattern has the same norm.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor

from hopfield_lab.data.digits import load_digits
from hopfield_lab.data.mnist import load_mnist
from hopfield_lab.errors import ConfigError

__all__ = ["center_scale", "image_memories"]


@lru_cache(maxsize=4)
def image_memories(
    dataset: str, n_patterns: int, n_queries: int, seed: int, mnist_path: str = ""
) -> tuple[Tensor, Tensor, Tensor, tuple[int, int]]:
    """``P`` training images to store and the indices of ``Q`` distinct ones to query.

    A generator seeded with ``seed`` shuffles the training split and keeps its first ``P``
    images, then draws a permutation of ``P`` and keeps its first ``Q`` entries. Cached: the
    cells of one run share the draw.

    Args:
        dataset: ``"mnist"`` (bundled, or ``mnist_path``) or ``"digits"`` (scikit-learn 8x8,
            split with ``seed``).
        n_patterns: ``P``. n_queries: ``Q <= P``. seed: the draw's seed.
        mnist_path: optional user MNIST ("" = bundled copy).

    Returns:
        ``(X, idx, mean, image_shape)``: ``(P, N)`` float64 raw pixels in [0, 1], ``(Q,)``
        indices into ``X``, the ``(N,)`` pixel mean of ``X`` and ``(H, W)``.

    Raises:
        ConfigError: if ``n_patterns`` exceeds the training split.
    """
    data = load_mnist(mnist_path or None) if dataset == "mnist" else load_digits(seed=seed)
    gen = torch.Generator().manual_seed(seed)
    if n_patterns > len(data.train):
        raise ConfigError(
            f"n_patterns must be <= {len(data.train)} for {dataset}; got {n_patterns}"
        )
    X = data.train.x[torch.randperm(len(data.train), generator=gen)[:n_patterns]].double()
    queries = torch.randperm(n_patterns, generator=gen)[:n_queries]
    return X, queries, X.mean(0), data.image_shape


def center_scale(x: Tensor, mean: Tensor) -> Tensor:
    """Rows centred on ``mean`` and scaled to norm ``sqrt(N)``, each using only itself:
    ``sqrt(N) (x - mean) / |x - mean|`` (a zero row stays zero).

    Args:
        x: ``(B, N)`` images. mean: ``(N,)`` pixel mean.

    Returns:
        ``(B, N)``.
    """
    c = x - mean
    return c / c.norm(dim=1, keepdim=True).clamp_min(1e-12) * math.sqrt(x.shape[1])
