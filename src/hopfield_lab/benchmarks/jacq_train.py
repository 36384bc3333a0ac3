"""JacQ at the step the finite-step experiments train with, and the accuracy of its ``J_q``.

Problem: :class:`~hopfield_lab.models.FiniteStepHopfield` with ``d = 784``, ``K = 5``,
``a = 0.5`` on MNIST training images, batch ``B``, hidden ``N``, the penalty at the ``K B``
trajectory states (Eq. 9, ``q = 0.9``).

* Timing: one training step (forward, loss, backward, Adam lr 1e-3) through
  :class:`~hopfield_lab.training.FiniteStepLoss`, the objective ``finite-step-table1``,
  ``-energy`` and ``-landscape`` train with, for ``penalty="base"`` and ``"jacq"``; tanh (the
  target: JacQ / Base <= 2.0, aiming at 1.5) and ReLU (whose estimator refines every state).
  Contenders interleaved round-robin, CPU time, ratios = medians of per-round ratios.
* Accuracy: per activation, a JacQ training (``m = 0``, ``lam = 10``: the penalty is active at
  every step) driven by exact norms, so every estimator sees the same states; at each step the
  estimator of :func:`~hopfield_lab.regularizers.jacq_estimator` and the former setting (the
  Frobenius tail of 25%, 6 warm steps, for every activation) estimate ``J_q`` on the batch,
  each with its own warm memory. Rows: the largest ``|J_q - J_q^exact| / J_q^exact`` over the
  steps after the second, and for the tail settings the most states above the exact ``J_q``
  left outside the refined rows.

Sizes: full ``B = 128, N = 128`` (15 timing rounds, 30 accuracy steps), quick (7, 12), tiny
``B = 16, N = 32`` (2, 4).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from hopfield_lab.benchmarks.common import (
    DESCRIPTIONS,
    BenchResult,
    Profile,
    bench_profile,
    clock_for,
    ratio,
    register,
    time_fns,
)
from hopfield_lab.data import load_mnist
from hopfield_lab.models import FiniteStepHopfield
from hopfield_lab.regularizers import (
    SpectralNormEstimator,
    jacobian_spectral_norm,
    jacq_estimator,
    jacq_penalty,
)
from hopfield_lab.training import FiniteStepLoss

__all__ = ["K_STEPS", "Q", "jacq_train_step"]

K_STEPS = 5
Q = 0.9
_LAM, _M = 10.0, 0.0  # accuracy runs: the penalty lam * J_q^2 is active at every step
_TIMING_M = 0.5  # timing: below J_q at init for tanh, so JacQ's gradient flows from step one

# profile -> (B, N, timing rounds, accuracy steps)
_SIZES: dict[Profile, tuple[int, int, int, int]] = {
    "full": (128, 128, 15, 30),
    "quick": (128, 128, 7, 12),
    "tiny": (16, 32, 2, 4),
}


def _step(
    model: FiniteStepHopfield, loss_fn: FiniteStepLoss, batches: list[tuple[Any, Any]]
) -> Callable[[], None]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    cycle = itertools.cycle(batches)

    def step() -> None:
        loss, _ = loss_fn(model, next(cycle))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _accuracy(
    activation: str, x: torch.Tensor, y: torch.Tensor, batch: int, hidden: int, steps: int
) -> dict[str, dict[str, float]]:
    """Worst ``J_q`` error per estimator setting along an exact-driven JacQ training."""
    torch.manual_seed(0)
    model = FiniteStepHopfield(784, hidden, activation=activation, K=K_STEPS)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    settings = {
        "jacq_estimator": jacq_estimator(activation, Q),
        "tail 0.25, 6 steps (before)": SpectralNormEstimator(tail=0.25),
    }
    worst = {name: {"jq_err_max": 0.0, "missed_max": 0.0} for name in settings}
    for i in range(steps):
        xb, yb = x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]
        logits, ds = model.logits_and_dsigma(xb)  # (B, C), (K, B, N)
        flat = ds.reshape(-1, hidden)  # (K B, N)
        with torch.no_grad():
            M, d = model.M.detach(), flat.detach()
            exact = jacobian_spectral_norm(M, d)  # (K B,)
            jq = torch.quantile(exact, Q)
            n = len(exact)
            top = exact.topk(n - math.floor(Q * (n - 1))).indices  # states at or above J_q
            for name, est in settings.items():
                err = float((torch.quantile(est(M, d), Q) / jq - 1).abs())
                rows = est.last_refined
                missed = 0 if rows is None else int((~torch.isin(top, rows)).sum())
                if i >= 2:
                    w = worst[name]
                    w["jq_err_max"] = max(w["jq_err_max"], err)
                    w["missed_max"] = max(w["missed_max"], float(missed))
        norms = jacobian_spectral_norm(model.M, flat)
        loss = F.cross_entropy(logits, yb) + jacq_penalty(norms, q=Q, m=_M, lam=_LAM)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return worst


@register(
    "jacq-train-step",
    "the JacQ training step of the finite-step experiments (FiniteStepLoss, K=5, B=128, "
    "MNIST) vs Base, tanh and ReLU; J_q of the training estimator vs exact per activation",
)
def jacq_train_step(quick: bool = False, device: str = "cpu") -> BenchResult:
    """Time Base and JacQ steps through the experiments' objective; check ``J_q``'s accuracy.

    Args:
        quick: quick profile. Default False.
        device: torch device. Default "cpu".

    Returns:
        BenchResult: timing rows (``cpu_ms``, ``x_base``) and accuracy rows (``jq_err_max``,
        ``missed_max``); ratios ``jacq/base <activation>``.
    """
    profile = bench_profile(quick)
    batch, hidden, rounds, acc_steps = _SIZES[profile]
    data = load_mnist().train
    n_batches = max(4, acc_steps)
    x = data.x[: batch * n_batches].to(device)
    y = data.y[: batch * n_batches].to(device)
    batches = [(x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]) for i in range(4)]
    clock = clock_for(device)
    rows: list[dict[str, Any]] = []
    ratios: dict[str, float] = {}
    for act in ("tanh", "relu"):
        torch.manual_seed(0)
        init = FiniteStepHopfield(784, hidden, activation=act, K=K_STEPS).to(device)
        fns = {
            pen: _step(
                copy.deepcopy(init),
                FiniteStepLoss(pen, activation=act, jacq_m=_TIMING_M, jacq_lam=1.0),
                batches,
            )
            for pen in ("base", "jacq")
        }
        timed = time_fns(fns, repeat=rounds, warmup=2, device=device)
        for pen, t in timed.items():
            x_base = ratio(t, timed["base"], clock)
            rows.append({"kind": "step", "activation": act, "case": pen, **t.columns()})
            rows[-1]["x_base"] = x_base
        ratios[f"jacq/base {act}"] = ratio(timed["jacq"], timed["base"], clock)
    for act in ("tanh", "sigmoid", "relu"):
        for name, w in _accuracy(act, x.cpu(), y.cpu(), batch, hidden, acc_steps).items():
            rows.append({"kind": "J_q", "activation": act, "case": name, **w})
    notes = [
        f"profile {profile}, device {device}, float32; FiniteStepHopfield(d=784, N={hidden}, "
        f"K={K_STEPS}, a=0.5), MNIST training images, B={batch}; Adam lr 1e-3",
        f"step rows: one training step through FiniteStepLoss (base: forward; jacq: "
        f"logits_and_dsigma, the estimator of jacq_estimator(act, {Q}), q={Q}, m={_TIMING_M}, "
        f"lam=1), {rounds} interleaved rounds after two warm-up rounds; cpu_ms: median CPU "
        "time; x_base: median of per-round ratios to base",
        f"J_q rows: {acc_steps} JacQ steps (m={_M}, lam={_LAM}) driven by exact norms; "
        "jq_err_max: the largest |J_q - exact| / exact over steps 3.. of each setting (own "
        "warm memory); missed_max: the most states at or above the exact J_q outside the "
        "refined rows (0 when every state is refined)",
    ]
    keys = list(dict.fromkeys(k for row in rows for k in row))  # one table: same columns
    rows = [{k: row.get(k) for k in keys} for row in rows]
    return BenchResult(
        name="jacq-train-step",
        description=DESCRIPTIONS["jacq-train-step"],
        rows=rows,
        ratios=ratios,
        notes=notes,
    )
