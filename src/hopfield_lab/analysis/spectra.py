"""Spectra of Jacobians: eigenvalues, spectral radius and spectral norm.

The Jacobian ``J_T(v) = M^T H_Phi(M v) M`` of the finite-step map (finite-step paper, Eq. 6)
and that of the modern Hopfield update (notes Sec. 3.3) are symmetric, so their spectra are
real and ``|J|_2 = max_i |lambda_i|``; ``eigvalsh`` gives both, cheaper and more accurately
than a general eigen- or singular-value decomposition. Every function here therefore checks
symmetry with a dtype-aware tolerance (unless told) and falls back to the general routines
(``eigvals``, complex output; ``matrix_norm(ord=2)``, an SVD) for non-symmetric input, such as
the Jacobian of a map that is not a gradient step.

Shapes: a batch of matrices ``(..., N, N)``, typically ``(B, N, N)``; results drop the last
one (eigenvalues ``(..., N)``) or two (norms and radii ``(...)``) dimensions.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hopfield_lab.analysis._common import check_square, eps_of
from hopfield_lab.errors import ConfigError, check_positive

__all__ = [
    "is_symmetric",
    "jacobian_spectrum",
    "spectral_radius",
    "top_singular_value",
]

#: Default relative asymmetry tolerance, in units of the dtype's machine epsilon.
_SYM_EPS_FACTOR = 1e3


def is_symmetric(mats: Tensor, *, rtol: float | None = None) -> bool:
    """Whether every matrix of a batch is symmetric up to a relative tolerance.

    A matrix counts as symmetric when ``max|A - A^T| <= rtol * max|A|`` (for the whole batch:
    one decision, so that a batch never mixes real and complex spectra).

    Args:
        mats: ``(..., N, N)`` real matrices.
        rtol: relative tolerance (> 0); default ``1e3 * eps`` of the dtype (about ``2e-13`` in
            float64, ``1e-4`` in float32), enough for the rounding of closed-form and autograd
            Jacobians of symmetric maps.

    Returns:
        True if all matrices are symmetric within the tolerance (complex input: never).

    Raises:
        ConfigError: for a non-square input or a bad ``rtol``.
    """
    mats = check_square(mats, "mats")
    if mats.is_complex():
        return False
    tol = _SYM_EPS_FACTOR * eps_of(mats) if rtol is None else float(check_positive("rtol", rtol))
    if mats.numel() == 0:
        return True
    with torch.no_grad():
        asym = (mats - mats.transpose(-1, -2)).abs().amax()
        scale = mats.abs().amax()
    return bool(asym <= tol * scale)


def _use_symmetric(mats: Tensor, symmetric: bool | None) -> bool:
    if symmetric is None:
        return is_symmetric(mats)
    if not isinstance(symmetric, bool):
        raise ConfigError(f"symmetric must be True, False or None; got {symmetric!r}")
    return symmetric


def jacobian_spectrum(jac: Tensor, *, symmetric: bool | None = None) -> Tensor:
    """Eigenvalues of each Jacobian of a batch.

    Args:
        jac: ``(..., N, N)`` Jacobians, e.g. ``(B, N, N)`` from ``model.jacobian(x)``.
        symmetric: ``None`` (default) detects symmetry (see :func:`is_symmetric`); ``True``
            forces ``eigvalsh`` on the symmetric part ``(J + J^T) / 2``; ``False`` forces the
            general ``eigvals``.

    Returns:
        ``(..., N)`` eigenvalues: real and ascending for symmetric input (``eigvalsh``),
        complex (in LAPACK's order) otherwise.

    Raises:
        ConfigError: for a non-square input or a bad ``symmetric``.
    """
    jac = check_square(jac, "jac")
    if _use_symmetric(jac, symmetric):
        return torch.linalg.eigvalsh(0.5 * (jac + jac.transpose(-1, -2)))  # (..., N)
    return torch.linalg.eigvals(jac)  # (..., N) complex


def spectral_radius(jac: Tensor, *, symmetric: bool | None = None) -> Tensor:
    """Spectral radius ``max_i |lambda_i(J)|`` of each matrix of a batch.

    For a symmetric matrix it equals the spectral norm ``|J|_2``; in general it is a lower
    bound of it (the local asymptotic growth rate of perturbations at a fixed point, whereas
    ``|J|_2`` bounds the one-step growth of App. B.1).

    Args:
        jac: ``(..., N, N)`` matrices.
        symmetric: as in :func:`jacobian_spectrum`.

    Returns:
        ``(...)`` real non-negative radii (``(B,)`` for a ``(B, N, N)`` batch).
    """
    return jacobian_spectrum(jac, symmetric=symmetric).abs().amax(dim=-1)


def top_singular_value(jac: Tensor, *, symmetric: bool | None = None) -> Tensor:
    """Spectral norm ``|J|_2 = sigma_max(J)`` of each matrix of a batch (paper Eq. 7).

    Symmetric input uses ``max_i |lambda_i|`` from ``eigvalsh``; other input uses
    ``torch.linalg.matrix_norm(ord=2)`` (a full SVD, ``O(N^3)`` per matrix). Both are
    differentiable (wherever the top singular value is simple).

    Args:
        jac: ``(..., N, N)`` matrices.
        symmetric: as in :func:`jacobian_spectrum`.

    Returns:
        ``(...)`` spectral norms (``(B,)`` for a ``(B, N, N)`` batch).
    """
    jac = check_square(jac, "jac")
    if _use_symmetric(jac, symmetric):
        eig = torch.linalg.eigvalsh(0.5 * (jac + jac.transpose(-1, -2)))  # (..., N)
        return eig.abs().amax(dim=-1)
    return torch.linalg.matrix_norm(jac, ord=2)
