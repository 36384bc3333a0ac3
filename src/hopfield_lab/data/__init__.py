"""Datasets and pattern sets: MNIST (bundled), sklearn digits, synthetic patterns, corruptions,
readings of a test-time noise protocol.

Images come as flat, batch-first rows ``(n, H*W)`` in ``[0, 1]`` inside a :class:`Dataset` of
train/val/test :class:`Split` objects; pattern sets are ±1 tensors ``(P, N)``; corruptions take
and return states ``(B, N)`` without modifying their input. The lecture notes' chapter 4 adds
padded 32 x 32 MNIST and k-means prototype digits (:mod:`~hopfield_lab.data.prototypes`) and
their random image transform (:func:`notes_augment`).
"""

from hopfield_lab.data.augment import notes_augment
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
from hopfield_lab.data.memories import center_scale, image_memories
from hopfield_lab.data.mnist import load_mnist, mnist_tensors
from hopfield_lab.data.prototypes import (
    PROTOTYPE_METHODS,
    binary_prototypes,
    digit_prototypes,
    kmeans_prototypes,
    mnist32,
    prototype_problem,
    signed_padded,
)
from hopfield_lab.data.readings import (
    INPUT_SCALES,
    MNIST_MEAN,
    MNIST_STD,
    NOISE_SPACES,
    NoiseReading,
    readings_for_scale,
)
from hopfield_lab.data.synthetic import (
    correlated_patterns,
    hadamard_patterns,
    overlaps,
    random_patterns,
)

__all__ = [
    "CORRUPTIONS",
    "INPUT_SCALES",
    "MASK_MODES",
    "MNIST",
    "MNIST_MEAN",
    "MNIST_STD",
    "NOISE_SPACES",
    "PROTOTYPE_METHODS",
    "Dataset",
    "NoiseReading",
    "Split",
    "binary_prototypes",
    "center_scale",
    "correlated_patterns",
    "corrupt",
    "digit_prototypes",
    "flip_bits",
    "flip_exact",
    "gaussian_noise",
    "hadamard_patterns",
    "image_memories",
    "kmeans_prototypes",
    "load_digits",
    "load_mnist",
    "mask",
    "mnist32",
    "mnist_tensors",
    "notes_augment",
    "overlaps",
    "prototype_problem",
    "random_patterns",
    "readings_for_scale",
    "signed_padded",
    "subset",
]
