"""What ``deq-table2`` and ``deq-residuals`` share (DEQ paper, Sec. 4): the config fields of
what they train. The paper's numbers, models and solver settings are
:mod:`hopfield_lab.models.deq_paper`; the training and evaluation protocol (App. F) and the
grid of training cells are :mod:`hopfield_lab.training.deq_paper`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from hopfield_lab.errors import ConfigError
from hopfield_lab.experiments.fields import Choice, Config, Min, MnistPath, NonEmpty
from hopfield_lab.models.deq_paper import ARCHITECTURES, MODELS

__all__ = ["Depths", "Models", "TrainingConfig"]

Depths = Annotated[tuple[int, ...], NonEmpty, Choice(tuple(ARCHITECTURES))]
"""A config field: numbers of layers among the paper's 3, 5, 7."""
Models = Annotated[tuple[str, ...], NonEmpty, Choice(tuple(MODELS))]
"""A config field: rows of Table 2 (:data:`~hopfield_lab.models.deq_paper.MODELS`)."""


@dataclass(frozen=True)
class TrainingConfig(Config):
    """The fields of both experiments' configs that say what is trained.

    Attributes:
        depths: numbers of layers (CHN models run at depth 3 only, as in the paper).
        models: rows of Table 2 (:data:`~hopfield_lab.models.deq_paper.MODELS`).
        seeds: seeds per row. epochs: training epochs (paper: 5 seeds, 10 epochs).
        n_train: training images (0: all 50,000). mnist_path: optional user MNIST.
        shared_training: train one HAM per (depth, seed) with one solver's settings
            (``train_model``'s, default HAM-EO-DEQ's) and evaluate every HAM row's solver on its
            weights (1/4 of the training cost); False (the paper): each row trains its own.
    """

    depths: Depths = (3, 5, 7)
    models: Models = tuple(MODELS)
    seeds: Annotated[int, Min(1)] = 5
    epochs: Annotated[int, Min(1)] = 10
    n_train: Annotated[int, Min(0)] = 0
    mnist_path: MnistPath = ""
    shared_training: bool = False

    def check(self) -> None:
        """CHN models need depth 3."""
        if not any(MODELS[m].kind == "ham" for m in self.models) and 3 not in self.depths:
            raise ConfigError("CHN models run at depth 3 only: add 3 to depths or a HAM model")
