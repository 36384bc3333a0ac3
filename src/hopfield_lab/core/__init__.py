"""The core vocabulary: activations with Lagrangians, and the model base class."""

from hopfield_lab.core.activations import ACTIVATIONS, Activation, get_activation
from hopfield_lab.core.dynamics import HopfieldModel, as_batch

__all__ = ["ACTIVATIONS", "Activation", "HopfieldModel", "as_batch", "get_activation"]
