"""What several lecture-notes experiments share: the notes' numbers for their 30 prototypes
(Sec. 4.4, Table 4.1) and the config of a prototype set like theirs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from torch import Tensor

from hopfield_lab.data.prototypes import prototype_problem
from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments.fields import Config, Min, MnistPath, Range, Seed

__all__ = [
    "BETA",
    "BETA_USED",
    "DELTA_MIN",
    "MAX_NORM",
    "N_PATTERNS",
    "SEPARATION",
    "PrototypeConfig",
]

N_PATTERNS = 30
"""``P``: 3 prototypes per digit, 32 x 32 pixels in ``[-1, 1]``."""
MAX_NORM = 31.3933
"""``M = max_i |x_i|`` of the notes' prototypes (Sec. 4.4)."""
DELTA_MIN = 37.5255
"""``Delta_min`` of the notes' prototypes (Sec. 4.4)."""
BETA = 0.0727
"""``beta`` the notes print for their prototypes (Sec. 4.4)."""
BETA_USED = 0.063
"""``beta`` the notes then use in their VHNN experiment (Sec. 4.4)."""
SEPARATION: dict[int, tuple[float, float, float]] = {
    0: (88.0986, 80.1672, 131.736),
    1: (53.4877, 69.0222, 59.4534),
    2: (63.2126, 63.9695, 69.7267),
    3: (65.0894, 55.4366, 46.0532),
    4: (66.9539, 62.2354, 46.1037),
    5: (41.8603, 39.9262, 37.5255),
    6: (45.8450, 60.8577, 49.2501),
    7: (55.7401, 51.3837, 35.1906),
    8: (52.2477, 56.2899, 69.4982),
    9: (107.129, 74.5176, 51.1973),
}
"""Table 4.1: ``Delta_i`` of the notes' prototypes, per digit (patterns 1-3). Its minimum is
35.1906 (digit 7), while the text says ``Delta_min = 37.5255`` (digit 5, pattern 3); reports
show both and use the text's value for the notes' ``beta``."""


@dataclass(frozen=True)
class PrototypeConfig(Config):
    """Fields of a prototype set like the notes' (:func:`~hopfield_lab.data.prototypes.
    prototype_problem`); experiment configs derive from it.

    Attributes:
        dataset: ``"mnist"`` or ``"digits"`` (scikit-learn 8x8, for tests).
        per_class: prototypes per digit (notes: 3).
        n_per_class: training images per digit given to k-means (0 = all of them).
        prototypes: ``"kmeans-medoid"`` (the training image nearest each centroid) or
            ``"kmeans-centroid"``.
        pad: background pixels added per side (2 turns 28x28 into the notes' 32x32).
        seed: seeds k-means and everything random after it. mnist_path: user MNIST ("" = bundled).
    """

    dataset: Literal["mnist", "digits"] = "mnist"
    per_class: Annotated[int, Range(1, 50)] = 3
    n_per_class: Annotated[int, Min(0)] = 500
    prototypes: Literal["kmeans-medoid", "kmeans-centroid"] = "kmeans-medoid"
    pad: Annotated[int, Range(0, 16)] = 2
    seed: Seed = 0
    mnist_path: MnistPath = ""

    def check(self) -> None:
        if 0 < self.n_per_class < self.per_class:
            raise ConfigError(
                f"n_per_class must be 0 (all) or >= per_class={self.per_class}; "
                f"got {self.n_per_class}"
            )

    def problem(self) -> tuple[Tensor, Tensor, Tensor, Tensor, tuple[int, int]]:
        """``(prototypes (P, N), labels (P,), test images (n, N), test labels (n,), shape)``."""
        return prototype_problem(
            self.dataset,
            self.per_class,
            self.n_per_class,
            self.prototypes,
            self.pad,
            self.seed,
            self.mnist_path,
        )
