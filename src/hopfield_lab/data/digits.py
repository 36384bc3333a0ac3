"""The 8x8 handwritten digits bundled with scikit-learn (1,797 images, offline), as a Dataset.

A small stand-in for MNIST when a test or a quick profile needs real images in milliseconds.
"""

from __future__ import annotations

import numpy as np
import torch

from hopfield_lab.data.base import Dataset, Split, _check_float_dtype
from hopfield_lab.errors import ConfigError, check_int, check_range

__all__ = ["load_digits"]

_IMAGE_SHAPE = (8, 8)
_MAX_PIXEL = 16.0  # the sklearn digits take integer values 0..16
_VAL_FRACTION = 0.1  # share of the non-test part kept for validation


def load_digits(
    *, test_fraction: float = 0.25, seed: int = 0, dtype: torch.dtype = torch.float32
) -> Dataset:
    """Load scikit-learn's 8x8 digits with a stratified, deterministic train/val/test split.

    Pixels (integers 0..16) are divided by 16 into ``[0, 1]``. First ``test_fraction`` of the
    images go to the test split; then 10% of the rest go to validation. Both cuts are
    stratified by label, so every split keeps the class proportions up to rounding, and depend
    only on ``seed``. Within each split the images keep their original order.

    Args:
        test_fraction: share of the 1,797 images in the test split, in ``(0, 1)``.
            Default 0.25.
        seed: seed of the split, an int in ``[0, 2**32 - 1]``. Default 0.
        dtype: floating dtype of the images. Default ``torch.float32``.

    Returns:
        A :class:`Dataset` named ``"digits"`` with ``image_shape == (8, 8)``; each split has
        ``x`` of shape ``(n, 64)`` in ``[0, 1]`` and ``y`` of shape ``(n,)`` (``torch.long``,
        values 0..9).

    Raises:
        ConfigError: if ``test_fraction`` is outside ``(0, 1)`` or leaves a split too small to
            hold every class, if ``seed`` is not an int in range, or if ``dtype`` is not a
            floating-point dtype.
    """
    check_range("test_fraction", test_fraction, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_int("seed", seed, 0, 2**32 - 1)
    _check_float_dtype(dtype)
    # Imported here so that ``import hopfield_lab.data`` does not pay for scikit-learn.
    from sklearn.datasets import load_digits as _sklearn_digits
    from sklearn.model_selection import train_test_split

    images, labels = _sklearn_digits(return_X_y=True)  # (1797, 64) in 0..16, (1797,)
    index = np.arange(len(labels))
    try:
        rest, test = train_test_split(
            index, test_size=test_fraction, stratify=labels, random_state=seed
        )
        train, val = train_test_split(
            rest, test_size=_VAL_FRACTION, stratify=labels[rest], random_state=seed
        )
    except ValueError as exc:
        raise ConfigError(
            f"test_fraction={test_fraction!r} leaves a split too small for a stratified cut "
            f"of the {len(labels)} digits into 10 classes: {exc}"
        ) from exc

    def split(rows: np.ndarray) -> Split:
        rows = np.sort(rows)
        x = torch.from_numpy(images[rows] / _MAX_PIXEL).to(dtype)  # (n, 64) in [0, 1]
        y = torch.from_numpy(labels[rows].astype(np.int64))  # (n,)
        return Split(x, y, _IMAGE_SHAPE)

    return Dataset(split(train), split(val), split(test), name="digits")
