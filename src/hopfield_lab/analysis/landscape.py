"""A two-dimensional PCA slice of a state space, for drawing energies and decision regions.

The finite-step paper's Figure 2 (App. A) pools the hidden states ``v_k`` of many trajectories,
fits PCA to them and looks at the plane ``v = mu + s_1 p_1 + s_2 p_2`` spanned by the top two
components: the energy ``E(v)`` on a grid of that plane, the regions a classifier assigns after
running the dynamics from each grid point, and trajectories projected on it.
:func:`pca_plane` builds that plane and its grid; :class:`PCAPlane` projects states on it and
lifts grid points back to the state space.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sklearn.decomposition import PCA
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_int, check_range

__all__ = ["PCAPlane", "pca_plane"]


@dataclass(frozen=True, eq=False)
class PCAPlane:
    """The plane ``v = mean + s_1 p_1 + s_2 p_2`` and a ``G x G`` grid on it.

    Attributes:
        mean: ``mu`` ``(d,)``, the mean of the states the plane was fitted to.
        components: ``(2, d)`` orthonormal rows ``p_1, p_2`` (sklearn's sign convention).
        s1, s2: grid coordinates along ``p_1`` and ``p_2``, ``(G,)`` each, increasing.
    """

    mean: Tensor
    components: Tensor
    s1: Tensor
    s2: Tensor

    def project(self, x: Tensor) -> Tensor:
        """Coordinates ``(s_1, s_2)`` of states ``x`` ``(..., d)``: ``(..., 2)``."""
        return (x - self.mean) @ self.components.T  # (..., 2)

    def points(self) -> Tensor:
        """The grid points in the state space, ``(G * G, d)``, row ``i * G + j`` at
        ``(s1[j], s2[i])`` (so ``values.view(G, G)`` is indexed ``[s2, s1]``, as ``imshow`` and
        ``contour`` with ``meshgrid(s1, s2)`` expect)."""
        S2, S1 = torch.meshgrid(self.s2, self.s1, indexing="ij")  # (G, G) each
        coords = torch.stack([S1.reshape(-1), S2.reshape(-1)], dim=1)  # (G^2, 2)
        return self.mean + coords @ self.components  # (G^2, d)


def pca_plane(states: Tensor, grid: int, *, pad: float = 0.1) -> PCAPlane:
    """Fit PCA to ``states`` and lay a ``grid x grid`` grid over their projection.

    Args:
        states: ``(n, d)`` states (e.g. every ``v_k`` of many trajectories), ``n >= 3``.
        grid: points per axis, >= 2.
        pad: margin added on each side of the projected states' range, as a fraction of it
            (>= 0). Default 0.1.

    Returns:
        The :class:`PCAPlane` (tensors in the dtype and on the device of ``states``).

    Raises:
        ConfigError: for states that are not a 2-D floating tensor with at least 3 rows and 2
            columns, ``grid < 2`` or ``pad < 0``.
    """
    if not isinstance(states, Tensor) or states.dim() != 2 or not states.is_floating_point():
        what = tuple(states.shape) if isinstance(states, Tensor) else type(states).__name__
        raise ConfigError(f"states must be a floating (n, d) tensor; got {what}")
    if states.shape[0] < 3 or states.shape[1] < 2:
        raise ConfigError(f"states need n >= 3 rows and d >= 2 columns; got {tuple(states.shape)}")
    check_int("grid", grid, 2)
    check_range("pad", pad, 0.0)
    pca = PCA(n_components=2).fit(states.detach().cpu().double().numpy())
    dtype, device = states.dtype, states.device
    mean = torch.as_tensor(pca.mean_, dtype=dtype, device=device)
    components = torch.as_tensor(pca.components_, dtype=dtype, device=device)  # (2, d)
    proj = (states.detach() - mean) @ components.T  # (n, 2)
    lo, hi = proj.min(0).values, proj.max(0).values
    margin = pad * (hi - lo)
    s1, s2 = (
        torch.linspace(
            float(lo[i] - margin[i]), float(hi[i] + margin[i]), grid, dtype=dtype, device=device
        )
        for i in (0, 1)
    )
    return PCAPlane(mean, components, s1, s2)
