"""The finite-step paper's training objective (Sec. 5, App. E): cross-entropy after ``K`` steps
plus one Jacobian penalty at the trajectory states.

For :class:`~hopfield_lab.models.FiniteStepHopfield` with inputs ``x`` ``(B, d)``, labels
``y`` and the states ``v_0 = x, ..., v_{K-1}`` the ``K`` steps leave from (Eq. 4)::

    L = CE(classifier(v_K), y) + P,

    P = 0                                   (base)
        lam_F mean_{b,k} |J_T(v_k^b)|_F^2   (jacf, closed form in the hidden space)
        lam_L |M|_2^2                       (lip)
        lam [max(J_q - m, 0)]^2             (jacq, Eq. 9; J_q the q-quantile of |J_T(v_k^b)|_2
                                             over the K B states)

with ``J_T(v) = M^T diag(sigma'(M v)) M`` (Eq. 6). The Jacobian penalties take ``sigma'(M v_k)``
from :meth:`~hopfield_lab.models.FiniteStepHopfield.logits_and_dsigma`, the same products
``M v_k`` as the steps, so they add no ``(B, d) x (d, N)`` product to the forward pass nor to
its backward. ``base`` and ``lip`` run the plain forward. JacQ's spectral norms come from the
estimator of :func:`~hopfield_lab.regularizers.jacq_estimator` for the model's activation; its
warm starts are training state (:attr:`FiniteStepLoss.state`, for ``fit(state=...)``).
"""

from __future__ import annotations

import typing
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from hopfield_lab.errors import ConfigError, check_choice, check_range
from hopfield_lab.models.finite_step import FINITE_STEP_ACTIVATIONS, FiniteStepHopfield
from hopfield_lab.regularizers import (
    SpectralNormEstimator,
    jacf_penalty,
    jacq_estimator,
    jacq_penalty,
    lip_penalty,
)

__all__ = ["PENALTIES", "FiniteStepLoss"]

PENALTIES = ("base", "jacf", "lip", "jacq")
"""The methods of Table 1: no penalty, JacF, Lip and JacQ."""


class FiniteStepLoss:
    """``(model, (x, y)) -> (loss, {"ce", "penalty"})``: the objective above, a
    :data:`~hopfield_lab.training.LossFn` for :func:`~hopfield_lab.training.fit`.

    Args:
        penalty: one of :data:`PENALTIES`. Default ``"base"``.
        activation: the model's activation (``"relu"``, ``"sigmoid"``, ``"tanh"``); it selects
            JacQ's estimator settings. Default ``"tanh"``.
        jacq_lam, jacq_q, jacq_m: JacQ's ``lam >= 0``, ``q`` in ``(0, 1)`` and ``m >= 0``
            (Eq. 9). Defaults 1, 0.9, 1.
        jacf_lam: JacF's weight (>= 0). Default 1e-3.
        lip_lam: Lip's weight (>= 0). Default 1e-2.

    Attributes:
        estimator: JacQ's :class:`~hopfield_lab.regularizers.SpectralNormEstimator` (None for
            the other penalties).

    Raises:
        ConfigError: for an unknown penalty or activation, or a weight out of range; when
            called, for a model that is not a ``FiniteStepHopfield`` with that activation.
    """

    def __init__(
        self,
        penalty: str = "base",
        *,
        activation: str = "tanh",
        jacq_lam: float = 1.0,
        jacq_q: float = 0.9,
        jacq_m: float = 1.0,
        jacf_lam: float = 1e-3,
        lip_lam: float = 1e-2,
    ) -> None:
        self.penalty = check_choice("penalty", penalty, PENALTIES)
        self.activation = check_choice("activation", activation, FINITE_STEP_ACTIVATIONS)
        check_range("jacq_q", jacq_q, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
        for name, value in (
            ("jacq_lam", jacq_lam),
            ("jacq_m", jacq_m),
            ("jacf_lam", jacf_lam),
            ("lip_lam", lip_lam),
        ):
            check_range(name, value, 0.0)
        self.jacq_lam, self.jacq_q, self.jacq_m = float(jacq_lam), float(jacq_q), float(jacq_m)
        self.jacf_lam, self.lip_lam = float(jacf_lam), float(lip_lam)
        self.estimator: SpectralNormEstimator | None = (
            jacq_estimator(activation, jacq_q) if penalty == "jacq" else None
        )

    @property
    def state(self) -> dict[str, Any] | None:
        """What a resumable training must checkpoint (``fit(state=...)``): JacQ's estimator."""
        return None if self.estimator is None else {"spectral_norm_estimator": self.estimator}

    def __call__(
        self, module: nn.Module, batch: tuple[Tensor, ...]
    ) -> tuple[Tensor, dict[str, float]]:
        """The loss on one batch ``(x (B, d), y (B,))`` and its two terms as floats."""
        if not isinstance(module, FiniteStepHopfield):
            raise ConfigError(
                f"FiniteStepLoss trains a FiniteStepHopfield; got {type(module).__name__}"
            )
        if module.act.name != self.activation:
            raise ConfigError(
                f"FiniteStepLoss was built for activation {self.activation!r}; the model uses "
                f"{module.act.name!r} (JacQ's estimator settings depend on it)"
            )
        x, y = batch[0], batch[1]
        model = typing.cast(FiniteStepHopfield, module)
        if self.penalty in ("base", "lip"):
            logits = model(x)  # (B, C)
            pen = (
                lip_penalty(model.M, lam=self.lip_lam)
                if self.penalty == "lip"
                else logits.new_zeros(())
            )
        else:
            logits, ds = model.logits_and_dsigma(x)  # (B, C), (K, B, N)
            flat = ds.reshape(-1, ds.shape[-1])  # (K B, N): states v_0 .. v_{K-1}
            if self.penalty == "jacf":
                pen = jacf_penalty(model.M, flat, lam=self.jacf_lam)
            else:
                estimator = typing.cast(SpectralNormEstimator, self.estimator)  # set for jacq
                norms = estimator(model.M, flat)  # (K B,)
                pen = jacq_penalty(norms, q=self.jacq_q, m=self.jacq_m, lam=self.jacq_lam)
        ce = F.cross_entropy(logits, y)
        return ce + pen, {"ce": float(ce.detach()), "penalty": float(pen.detach())}
