"""Datasets and pattern sets: MNIST (bundled), sklearn digits, synthetic patterns, corruptions.

Images come as flat, batch-first rows ``(n, H*W)`` in ``[0, 1]`` inside a :class:`Dataset` of
train/val/test :class:`Split` objects; pattern sets are ±1 tensors ``(P, N)``; corruptions take
and return states ``(B, N)`` without modifying their input.
"""

from hopfield_lab.data.base import MNIST, Dataset, Split, subset
from hopfield_lab.data.corruptions import (
    CORRUPTIONS,
    MASK_MODES,
    corrupt,
    flip_bits,
    flip_exact,
    gaussian_noise,
    mask,
)
from hopfield_lab.data.digits import load_digits
from hopfield_lab.data.mnist import load_mnist, mnist_tensors
from hopfield_lab.data.synthetic import (
    correlated_patterns,
    hadamard_patterns,
    overlaps,
    random_patterns,
)

__all__ = [
    "CORRUPTIONS",
    "MASK_MODES",
    "MNIST",
    "Dataset",
    "Split",
    "correlated_patterns",
    "corrupt",
    "flip_bits",
    "flip_exact",
    "gaussian_noise",
    "hadamard_patterns",
    "load_digits",
    "load_mnist",
    "mask",
    "mnist_tensors",
    "overlaps",
    "random_patterns",
    "subset",
]
