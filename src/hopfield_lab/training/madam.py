"""Madam: multiplicative weight updates (Bernstein et al. 2020), and a linear LR decay.

Written from the paper's description (Bernstein, Zhao, Meister, Liu, Anandkumar & Yue,
"Learning compositional functions via multiplicative weight updates", NeurIPS 2020, Alg. 1)
as used by the DEQ paper (App. F: ``p_scale = 1024``, ``g_bound = 3``). For each parameter
``p`` with gradient ``g``, at step ``t``::

    v      <- beta v + (1 - beta) g^2                      (running second moment)
    g_hat  <- clamp(g / sqrt(v / (1 - beta^t)), -g_bound, g_bound)   (NaN -> 0)
    p      <- p * exp(-lr * g_hat * sign(p))
    p      <- clamp(p, -p_max, p_max),  p_max = p_scale * rms(p at the first step)

The update is relative: each entry moves by a factor ``exp(+-lr g_hat)``, so
``|Delta p| ~ lr |p|`` entrywise (the layer-wise scaling ``|Delta W|_F ~ |W|_F`` that
Scellier & Bengio advise). Entries never change sign, and zero entries stay zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError, check_int, check_range

__all__ = ["Madam", "linear_decay"]


class Madam(torch.optim.Optimizer):
    """Multiplicative Adam (Bernstein et al. 2020, Alg. 1).

    Args:
        params: parameters or parameter groups.
        lr: learning rate (> 0). Default 0.01.
        p_scale: ``p_max = p_scale * rms(p_0)`` (> 0). Default 1024 (DEQ paper).
        g_bound: clamp of the normalised gradient (> 0). Default 3 (DEQ paper).
        beta: second-moment decay in [0, 1). Default 0.999.

    Raises:
        ConfigError: for out-of-range hyperparameters.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.01,
        p_scale: float = 1024.0,
        g_bound: float = 3.0,
        beta: float = 0.999,
    ) -> None:
        check_range("lr", lr, 0.0, low_inclusive=False)
        check_range("p_scale", p_scale, 0.0, low_inclusive=False)
        check_range("g_bound", g_bound, 0.0, low_inclusive=False)
        check_range("beta", beta, 0.0, 1.0, high_inclusive=False)
        super().__init__(params, {"lr": lr, "p_scale": p_scale, "g_bound": g_bound, "beta": beta})

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One multiplicative update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, beta = group["lr"], group["beta"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ConfigError("Madam does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["max"] = group["p_scale"] * p.detach().pow(2).mean().sqrt()
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                v: Tensor = state["exp_avg_sq"]
                v.mul_(beta).addcmul_(p.grad, p.grad, value=1.0 - beta)
                v_hat = v / (1.0 - beta ** state["step"])
                g_hat = torch.nan_to_num(p.grad / v_hat.sqrt(), nan=0.0)
                g_hat.clamp_(-group["g_bound"], group["g_bound"])
                p.mul_(torch.exp(-lr * g_hat * torch.sign(p)))
                p.clamp_(-state["max"], state["max"])
        return loss


def linear_decay(
    optimizer: torch.optim.Optimizer, epochs: int, final: float = 0.1
) -> torch.optim.lr_scheduler.LinearLR:
    """Per-epoch schedule from the initial LR down to ``final`` times it at the last epoch.

    ``torch.optim.lr_scheduler.LinearLR(1 -> final, total_iters=epochs - 1)``, stepped once per
    epoch (``training.fit`` does): epoch ``e`` (1-based) trains with
    ``lr0 * (1 - (1 - final) (e - 1) / (epochs - 1))`` (DEQ paper App. F: 1/10 over 10 epochs).

    Raises:
        ConfigError: ``epochs < 1`` or ``final`` outside (0, 1].
    """
    check_int("epochs", epochs, 1)
    check_range("final", final, 0.0, 1.0, low_inclusive=False)
    return torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=1.0, end_factor=final, total_iters=max(epochs - 1, 1)
    )
