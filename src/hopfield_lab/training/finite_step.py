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

The protocol around it (Sec. 5, App. E): :func:`train_finite_step` trains a
``FiniteStepHopfield`` with ``N = 128`` hidden units on ``v_0 = x`` the flattened MNIST image,
``K`` residual steps (``a = 1`` for ``K = 1``, ``0.5`` otherwise), a linear classifier on ``v_K``,
with Adam (lr 1e-3, batch 128), resumably. :func:`evaluate_finite_step` measures clean and noisy
accuracy, noise ``N(0, sigma^2)`` added to the test images at test time only under a
:class:`~hopfield_lab.data.NoiseReading` (the paper does not say how inputs are scaled, where
the noise is added, or whether it is clipped), and trajectory diagnostics: ``|J_T(v_k)|_2``,
the descent condition ``a <= 1 / (1 + |J_T(v_k)|)`` (Eq. 8) and energy increases (Eq. 5).
"""

from __future__ import annotations

import typing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hopfield_lab.analysis import energy_along, energy_increase_rate
from hopfield_lab.data import NoiseReading
from hopfield_lab.errors import ConfigError, check_choice, check_range
from hopfield_lab.models.finite_step import FINITE_STEP_ACTIVATIONS, FiniteStepHopfield
from hopfield_lab.regularizers import (
    SpectralNormEstimator,
    jacf_penalty,
    jacq_estimator,
    jacq_penalty,
    lip_penalty,
)
from hopfield_lab.training.loop import TrainConfig, fit

__all__ = [
    "DIAG_LANCZOS_ITERS",
    "PENALTIES",
    "FiniteStepLoss",
    "RegSettings",
    "evaluate_finite_step",
    "perturbation_bound",
    "step_jacobian_norms",
    "train_finite_step",
]

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


DIAG_LANCZOS_ITERS = 48
"""Lanczos steps for diagnostic norms: within 0.1% of eigvalsh for N = 128, about 6x faster."""


@dataclass(frozen=True)
class RegSettings:
    """The penalties' weights, :class:`FiniteStepLoss`'s keyword arguments (the paper gives
    none: chosen on a validation split).

    Attributes:
        jacq_lam, jacq_q, jacq_m: JacQ's ``lam``, ``q`` and ``m`` (Eq. 9). Defaults 1, 0.9, 1.
        jacf_lam: JacF's weight. Default 1e-3. lip_lam: Lip's weight. Default 1e-2.
    """

    jacq_lam: float = 1.0
    jacq_q: float = 0.9
    jacq_m: float = 1.0
    jacf_lam: float = 1e-3
    lip_lam: float = 1e-2


def train_finite_step(
    *,
    activation: str,
    method: str,
    K: int,
    seed: int,
    x: Tensor,
    y: Tensor,
    epochs: int,
    reg: RegSettings,
    hidden: int = 128,
    lr: float = 1e-3,
    batch_size: int = 128,
    device: str = "cpu",
    train_dir: Path | None = None,
) -> tuple[FiniteStepHopfield, list[dict[str, Any]]]:
    """Train one classifier of Table 1 with Adam, resuming from ``train_dir`` when it holds a
    checkpoint (JacQ's warm starts are checkpointed too, so a resumed run is exact).

    Args:
        activation: ``"relu"``, ``"sigmoid"`` or ``"tanh"``. method: one of :data:`PENALTIES`.
        K: steps (>= 1; step size :func:`~hopfield_lab.models.finite_step.default_step`).
        seed: seeds the initialisation and the batch order.
        x: inputs ``(n, d)``. y: labels ``(n,)``. epochs: training epochs.
        reg: the penalties' weights. hidden: hidden units ``N``. Default 128.
        lr: Adam's learning rate. Default 1e-3. batch_size: mini-batch. Default 128.
        device: torch device. Default ``"cpu"``.
        train_dir: checkpoint folder (None: no checkpoint). Default None.

    Returns:
        The trained model (on ``device``) and the per-epoch history of
        :func:`~hopfield_lab.training.fit`.

    Raises:
        ConfigError: for an unknown activation or method, or a weight out of range.
    """
    torch.manual_seed(seed)
    model = FiniteStepHopfield(x.shape[1], hidden, activation=activation, K=K).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = FiniteStepLoss(method, activation=activation, **asdict(reg))
    cfg = TrainConfig(
        epochs=epochs, batch_size=batch_size, seed=seed, device=device, progress=False
    )
    result = fit(model, optimizer, loss_fn, (x, y), cfg, run_dir=train_dir, state=loss_fn.state)
    return model, result.history


def step_jacobian_norms(model: FiniteStepHopfield, traj: Tensor) -> Tensor:
    """``|J_T(v_k)|_2`` at the states ``v_0 .. v_{K-1}`` the steps leave from, by Lanczos with
    :data:`DIAG_LANCZOS_ITERS` steps.

    Args:
        model: the network. traj: its trajectories ``(K + 1, B, d)`` (``model.trajectory``).

    Returns:
        ``(K, B)`` spectral norms.
    """
    states = traj[:-1].reshape(-1, traj.shape[-1])  # (K B, d)
    norms = model.jacobian_T_norm(states, method="lanczos", iters=DIAG_LANCZOS_ITERS)
    return norms.view(traj.shape[0] - 1, -1)  # (K, B)


def perturbation_bound(model: FiniteStepHopfield, norms: Tensor) -> Tensor:
    """App. B.1's bound on the growth of a small perturbation along the steps, in closed form::

        rho_k <= prod_{j < k} |(1 - a) I + a J_T(v_j)|_2 = prod_{j < k} ((1 - a) + a |J_T(v_j)|_2)

    (to first order in the perturbation): ``J_T`` is symmetric positive semi-definite and
    ``0 < a <= 1``, so the step operator's eigenvalues ``(1 - a) + a lambda`` are >= 0 and its
    norm is the one at ``lambda = |J_T|_2``; no ``d x d`` Jacobian is formed.

    Args:
        model: the network (its step size ``a``). norms: ``(K, B)`` ``|J_T(v_k)|_2``
            (:func:`step_jacobian_norms`).

    Returns:
        ``(K + 1, B)``: the bound on ``rho_k`` for ``k = 0 .. K`` (row 0 is 1).
    """
    factors = (1.0 - model.a) + model.a * norms  # (K, B)
    return torch.cat([torch.ones_like(factors[:1]), factors.cumprod(0)])  # (K + 1, B)


def _accuracy(model: FiniteStepHopfield, x: Tensor, y: Tensor, batch: int, dev: Any) -> float:
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch].to(dev))
        correct += int((logits.argmax(1).cpu() == y[i : i + batch]).sum())
    return 100.0 * correct / len(x)


@torch.no_grad()
def evaluate_finite_step(
    model: FiniteStepHopfield,
    x: Tensor,
    y: Tensor,
    *,
    reading: NoiseReading,
    noise_sigma: float,
    seed: int,
    readings: tuple[NoiseReading, ...] = (),
    batch: int = 2000,
    jacobian_sample: int = 500,
    curve_sigmas: tuple[float, ...] = (),
) -> dict[str, Any]:
    """Clean and noisy accuracy, plus trajectory diagnostics on a test sample.

    Args:
        model: a trained model (inputs on ``reading.scale``).
        x: clean pixels ``(n, d)`` in ``[0, 1]``. y: labels ``(n,)``.
        reading: the noise protocol of ``noisy`` and of the curve.
        noise_sigma: test noise std. seed: seeds the noise draw ``xi`` (``10_000 + seed``),
            shared by every reading and noise level.
        readings: further readings (same ``scale``) whose noisy accuracy is reported. Default
            none.
        batch: evaluation batch. Default 2000. jacobian_sample: noisy test states for the
            diagnostics. Default 500.
        curve_sigmas: noise levels of the robustness curve. Default none.

    Returns:
        ``clean``, ``noisy`` accuracies (%); ``noisy_readings``: ``{reading name: accuracy}``;
        ``curve``: accuracy (%) at each of ``curve_sigmas`` (one draw scaled; absent without
        them); on the first ``jacobian_sample`` noisy test states: ``jac_median`` and
        ``jac_q90``, the median and 90% quantile of ``|J_T(v_k)|_2`` over steps,
        ``descent_violation_rate``, the rate of steps violating ``a <= 1 / (1 + |J_T(v_k)|)``
        (Eq. 8), and ``energy_increase_rate``, the rate of energy increases (Eq. 5).
    """
    model.eval()
    dev = next(model.parameters()).device
    xi = torch.randn(x.shape, generator=torch.Generator().manual_seed(10_000 + seed), dtype=x.dtype)
    noisy_x = reading.noisy(x, noise_sigma, xi)
    out: dict[str, Any] = {
        "clean": _accuracy(model, reading.inputs(x), y, batch, dev),
        "noisy": _accuracy(model, noisy_x, y, batch, dev),
        "noisy_readings": {
            r.name: _accuracy(model, r.noisy(x, noise_sigma, xi), y, batch, dev) for r in readings
        },
    }
    if curve_sigmas:
        out["curve"] = [
            _accuracy(model, reading.noisy(x, sigma, xi), y, batch, dev) for sigma in curve_sigmas
        ]
    traj = model.trajectory(noisy_x[:jacobian_sample].to(dev))  # (K + 1, S, d)
    norms = step_jacobian_norms(model, traj)  # (K, S)
    out["jac_median"] = float(norms.median())
    out["jac_q90"] = float(torch.quantile(norms.flatten().double(), 0.9))
    out["descent_violation_rate"] = float((model.a > 1.0 / (1.0 + norms)).double().mean())
    rate = energy_increase_rate(energy_along(model.energy, traj))
    out["energy_increase_rate"] = float(rate["rate"])
    return out
