"""Regularisers: Jacobian penalties of the finite-step paper (JacQ, JacF, Lip) and the norms
they need, as functions of the weights ``M`` and ``sigma'(M v)`` (never of a model)."""

from hopfield_lab.regularizers.jacobian import (
    DEFAULT_ITERS,
    JACQ_WARM_ITERS,
    SPECTRAL_METHODS,
    SpectralNormEstimator,
    descent_condition,
    jacf_penalty,
    jacobian_frobenius_norm,
    jacobian_spectral_norm,
    jacq_estimator,
    jacq_penalty,
    lip_penalty,
)

__all__ = [
    "DEFAULT_ITERS",
    "JACQ_WARM_ITERS",
    "SPECTRAL_METHODS",
    "SpectralNormEstimator",
    "descent_condition",
    "jacf_penalty",
    "jacobian_frobenius_norm",
    "jacobian_spectral_norm",
    "jacq_estimator",
    "jacq_penalty",
    "lip_penalty",
]
