"""The vocabulary every model speaks: a state, an energy, an update or a vector field.

States are batch-first tensors ``x`` of shape ``(B, N)``. A model is an ``nn.Module`` that
implements whichever of these its mathematics defines:

* ``energy(x) -> (B,)``: a Lyapunov function of the dynamics, where one exists;
* ``update(x) -> (B, N)``: a discrete map ``x_{t+1} = T(x_t)`` (fixed-point dynamics);
* ``vector_field(t, x) -> (B, N)``: a flow ``dx/dt = F(t, x)`` (ODE dynamics).

:class:`HopfieldModel` gives the defaults that follow from the others: for a model with an
``update`` the vector field is the relaxation ``dx/dt = T(x) - x`` (whose fixed points are those
of ``T``), and ``energy_grad`` falls back to autograd on ``energy``. Solvers never see a model,
only the bound methods (``model.update`` is a step function, ``model.vector_field`` a field).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hopfield_lab.errors import ConfigError

__all__ = ["HopfieldModel", "as_batch"]


def as_batch(x: Tensor, n: int, *, name: str = "x") -> tuple[Tensor, bool]:
    """Return ``x`` as ``(B, n)`` and whether a batch dimension was added.

    Raises:
        ConfigError: when ``x`` is not 1-D or 2-D with last dimension ``n``.
    """
    if not isinstance(x, Tensor):
        raise ConfigError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if x.dim() == 1 and x.shape[0] == n:
        return x.unsqueeze(0), True
    if x.dim() == 2 and x.shape[1] == n:
        return x, False
    raise ConfigError(f"{name} must have shape (B, {n}) or ({n},); got {tuple(x.shape)}")


class HopfieldModel(nn.Module):
    """Base class for Hopfield-type models (batch-first states ``(B, N)``)."""

    #: Dimension ``N`` of the state; set by subclasses.
    state_dim: int

    def energy(self, x: Tensor) -> Tensor:
        """Energy ``E(x)`` per sample, shape ``(B,)``."""
        raise NotImplementedError(f"{type(self).__name__} defines no energy")

    def update(self, x: Tensor) -> Tensor:
        """One step of the discrete dynamics ``x -> T(x)``."""
        raise NotImplementedError(f"{type(self).__name__} defines no discrete update")

    def vector_field(self, t: Tensor | float, x: Tensor) -> Tensor:
        """The flow ``dx/dt``; by default the relaxation ``T(x) - x`` of the update."""
        return self.update(x) - x

    @property
    def has_energy(self) -> bool:
        """Whether the subclass overrides :meth:`energy`."""
        return type(self).energy is not HopfieldModel.energy

    def energy_grad(self, x: Tensor) -> Tensor:
        """``grad_x E(x)`` by autograd (subclasses override with a closed form)."""
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.energy(xg).sum(), xg)
        return g

    def forward(self, x: Tensor) -> Tensor:
        return self.update(x)
