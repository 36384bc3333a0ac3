"""The core vocabulary: activations with Lagrangians, and the model base class."""

from hopfield_lab.core.activations import ACTIVATIONS, Activation, get_activation
from hopfield_lab.core.dynamics import (
    CAPABILITIES,
    BoundModel,
    DynamicalModel,
    HopfieldModel,
    as_batch,
    capabilities_of,
)

__all__ = [
    "ACTIVATIONS",
    "CAPABILITIES",
    "Activation",
    "BoundModel",
    "DynamicalModel",
    "HopfieldModel",
    "as_batch",
    "capabilities_of",
    "get_activation",
]
