"""Training and evaluation shared by the finite-step experiments (Table 1, Figures 1-2).

Protocol (finite-step paper, Sec. 5 and App. E): ``FiniteStepHopfield`` with ``N = 128`` hidden
units, ``v_0 = x`` the flattened MNIST image (pixels in [0, 1]), ``K`` residual steps with
``a = 1`` for ``K = 1`` and ``a = 0.5`` otherwise, a linear classifier on ``v_K``, cross-entropy
and Adam (lr 1e-3, batch 128). The objective is the library's
:class:`~hopfield_lab.training.FiniteStepLoss` (one forward pass that also yields
``sigma'(M v_k)``): regularisers act on the Jacobians at the trajectory states ``v_0 .. v_{K-1}``
of the mini-batch (the states whose steps the descent condition (8) concerns), ``B K`` states
per step:

* ``base``: none;
* ``jacq``: ``lam [max(J_q - m, 0)]^2`` (Eq. 9) with ``J_q`` the empirical upper ``q``-quantile
  of ``|J_T(v)|_2`` over those states, estimated by warm-started Lanczos with the settings of
  :func:`~hopfield_lab.regularizers.jacq_estimator` for the activation (tanh: the Frobenius
  tail; ReLU and sigmoid: every state);
* ``jacf``: ``lam * mean |J_T(v)|_F^2`` (closed form in the hidden space);
* ``lip``: ``lam * |M|_2^2``.

Noisy accuracy adds ``N(0, noise_sigma^2)`` noise to the test images at test time only, under a
:class:`~hopfield_lab.data.NoiseReading` of the protocol (the paper does not say how inputs are
scaled, where the noise is added, or whether it is clipped): by default pixels in ``[0, 1]``,
noise on the pixels, clipped to ``[0, 1]``, the reading under which our trained Base matches
the paper's (see :mod:`hopfield_lab.experiments.finite_step.table1`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import torch
from torch import Tensor

from hopfield_lab.analysis import energy_along, energy_increase_rate
from hopfield_lab.data import NoiseReading, mnist_tensors, subset
from hopfield_lab.experiments.base import RunContext
from hopfield_lab.experiments.fields import Config, Min, MnistPath, NonNegative, Range, Seed
from hopfield_lab.models import FiniteStepHopfield
from hopfield_lab.regularizers import (
    jacobian_spectral_norm,
)
from hopfield_lab.runs import RunDir, run_cells
from hopfield_lab.training import FiniteStepLoss, TrainConfig, fit

__all__ = [
    "METHODS",
    "PAIR_METHODS",
    "HasPair",
    "PairConfig",
    "RegSettings",
    "evaluate",
    "pair_cells",
    "train_model",
    "train_pair",
]

METHODS = ("base", "jacf", "lip", "jacq")
DIAG_LANCZOS_ITERS = 48
"""Lanczos steps for diagnostic norms: within 0.1% of eigvalsh for N = 128, about 6x faster."""


@dataclass(frozen=True)
class RegSettings:
    """Regulariser hyperparameters (the paper gives none: chosen on a validation split)."""

    jacq_lam: float = 1.0
    jacq_q: float = 0.9
    jacq_m: float = 1.0
    jacf_lam: float = 1e-3
    lip_lam: float = 1e-2


def train_model(
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
    """Train one model (resuming from ``train_dir`` when it holds a checkpoint).

    Returns:
        The trained model (on ``device``) and the per-epoch history.
    """
    torch.manual_seed(seed)
    model = FiniteStepHopfield(x.shape[1], hidden, activation=activation, K=K).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = FiniteStepLoss(
        method,
        activation=activation,
        jacq_lam=reg.jacq_lam,
        jacq_q=reg.jacq_q,
        jacq_m=reg.jacq_m,
        jacf_lam=reg.jacf_lam,
        lip_lam=reg.lip_lam,
    )
    cfg = TrainConfig(
        epochs=epochs, batch_size=batch_size, seed=seed, device=device, progress=False
    )
    # JacQ's warm starts are training state: checkpointed, so resume stays exact
    result = fit(model, optimizer, loss_fn, (x, y), cfg, run_dir=train_dir, state=loss_fn.state)
    return model, result.history


def _accuracy(model: FiniteStepHopfield, x: Tensor, y: Tensor, batch: int, dev: Any) -> float:
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch].to(dev))
        correct += int((logits.argmax(1).cpu() == y[i : i + batch]).sum())
    return 100.0 * correct / len(x)


@torch.no_grad()
def evaluate(
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
        readings: further readings (same ``scale``) whose noisy accuracy is reported.
        batch: evaluation batch. jacobian_sample: noisy test states for the diagnostics.
        curve_sigmas: noise levels of the robustness curve.

    Returns:
        ``clean``, ``noisy`` accuracies (%); ``noisy_readings``: ``{reading name: accuracy}``;
        ``curve``: accuracy (%) at each of ``curve_sigmas`` (one draw scaled); on the first
        ``jacobian_sample`` noisy test states: the median and 90% quantile of ``|J_T(v_k)|_2``
        over steps, the rate of steps violating ``a <= 1 / (1 + |J_T(v_k)|)`` (Eq. 8) and the
        rate of energy increases (Eq. 5).
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
    states = traj[:-1].reshape(-1, traj.shape[-1])  # (K S, d)
    norms = jacobian_spectral_norm(
        model.M, model.dsigma(states), method="lanczos", iters=DIAG_LANCZOS_ITERS
    ).view(model.K, -1)
    out["jac_median"] = float(norms.median())
    out["jac_q90"] = float(torch.quantile(norms.flatten().double(), 0.9))
    out["descent_violation_rate"] = float((model.a > 1.0 / (1.0 + norms)).double().mean())
    rate = energy_increase_rate(energy_along(model.energy, traj))
    out["energy_increase_rate"] = float(rate["rate"])
    return out


@dataclass(frozen=True)
class PairConfig(Config):
    """Base and JacQ trained on the setting of the paper's Figures 1-2 (Sec. 5.2).

    Attributes:
        activation: paper: tanh. K: steps (paper: 5). epochs: paper: 100.
        n_train: training images (0 = all). seed: training seed.
        jacq_lam, jacq_q, jacq_m: JacQ's ``lam``, ``q`` and ``m`` (Eq. 9; the paper gives none).
        n_eval: test images analysed. mnist_path: optional user MNIST ("" = bundled).
    """

    activation: Literal["relu", "sigmoid", "tanh"] = "tanh"
    K: Annotated[int, Min(1)] = 5
    epochs: Annotated[int, Min(1)] = 100
    n_train: Annotated[int, Min(0)] = 0
    seed: Seed = 0
    jacq_lam: Annotated[float, NonNegative] = 1.0
    jacq_q: Annotated[float, Range(0, 1, open_low=True, open_high=True)] = 0.9
    jacq_m: Annotated[float, NonNegative] = 1.0
    n_eval: Annotated[int, Min(2)] = 1000
    mnist_path: MnistPath = ""


PAIR_METHODS = ("base", "jacq")


class HasPair(Protocol):
    """An experiment config holding the trained pair's settings (Figures 1 and 2)."""

    @property
    def pair(self) -> PairConfig: ...


def pair_cells(config: HasPair) -> dict[str, dict[str, Any]]:
    """The grid of :func:`train_pair`: one cell per method, holding the typed ``config``."""
    return {f"method={m}": {"config": config, "method": m} for m in PAIR_METHODS}


def _pair_cell(cell: dict[str, Any]) -> dict[str, Any]:
    pair: PairConfig = cell["config"].pair
    model = _pair_model(pair, cell["method"], cell["train_dir"], cell.get("device", "cpu"))
    x, y = mnist_tensors(pair.mnist_path)["test"]
    return evaluate(model, x, y, reading=NoiseReading(), noise_sigma=0.25, seed=pair.seed)


def _pair_model(pair: PairConfig, method: str, train_dir: str, device: str) -> FiniteStepHopfield:
    x, y = subset(*mnist_tensors(pair.mnist_path)["train"], pair.n_train, pair.seed)
    model, _ = train_model(
        activation=pair.activation,
        method=method,
        K=pair.K,
        seed=pair.seed,
        x=x,
        y=y,
        epochs=pair.epochs,
        reg=RegSettings(jacq_lam=pair.jacq_lam, jacq_q=pair.jacq_q, jacq_m=pair.jacq_m),
        device=device,
        train_dir=Path(train_dir),
    )
    return model.eval()


def train_pair(
    config: HasPair, run_dir: RunDir, ctx: RunContext
) -> dict[str, tuple[FiniteStepHopfield, dict[str, Any]]]:
    """Train (or resume, or load) Base and JacQ; return ``{method: (model, test metrics)}``.

    The test metrics are the cells of :func:`pair_cells` (see :func:`evaluate`; noise under the
    default reading, sigma = 0.25); the models are loaded from their checkpoints under
    ``train/<method>``.
    """
    cells = pair_cells(config)
    for cell in cells.values():
        cell["device"] = ctx.device
        cell["train_dir"] = str(run_dir.path / "train" / cell["method"])
    metrics = run_cells(_pair_cell, cells, run_dir, executor=ctx.executor, progress=ctx.progress)
    return {
        c["method"]: (_pair_model(config.pair, c["method"], c["train_dir"], ctx.device), metrics[k])
        for k, c in cells.items()
    }
