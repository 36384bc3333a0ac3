"""Madam (Bernstein et al. 2020) as used by the DEQ paper, and the linear LR decay."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from hopfield_lab.errors import ConfigError
from hopfield_lab.training.madam import Madam, linear_decay


def test_madam_update_matches_its_definition(gen) -> None:
    p0 = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    p = torch.nn.Parameter(p0.clone())
    opt = Madam([p], lr=0.1, p_scale=1024, g_bound=3, beta=0.999)
    grads = [torch.randn(4, 3, generator=gen, dtype=torch.float64) for _ in range(3)]
    grads[1][0, 0] = 1e3  # one outlier entry: clamped to g_bound
    ref, v = p0.clone(), torch.zeros_like(p0)
    p_max = 1024 * p0.pow(2).mean().sqrt()
    for t, g in enumerate(grads, start=1):
        p.grad = g.clone()
        opt.step()
        v = 0.999 * v + 0.001 * g * g
        g_hat = (g / (v / (1 - 0.999**t)).sqrt()).clamp(-3, 3)
        ref = (ref * torch.exp(-0.1 * g_hat * ref.sign())).clamp(-p_max, p_max)
        torch.testing.assert_close(p.detach(), ref)
    assert bool((p.detach().sign() == p0.sign()).all())  # multiplicative: signs never flip
    # the outlier moved by at most the clamped factor exp(lr * g_bound)
    ratio = (p.detach() / p0).abs()
    assert float(ratio.max()) <= math.exp(3 * 0.1 * 3) + 1e-12


def test_madam_clamps_to_p_scale_times_initial_rms() -> None:
    p = torch.nn.Parameter(torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64))
    opt = Madam([p], lr=1.0, p_scale=2.0, g_bound=3.0)
    for _ in range(5):
        p.grad = torch.tensor([-1.0, 1.0, 0.0, 0.0], dtype=torch.float64)  # grow the first two
        opt.step()
    assert p.detach()[:2].abs().tolist() == [2.0, 2.0]


def test_linear_decay_to_a_tenth() -> None:
    p = torch.nn.Parameter(torch.ones(2))
    opt = Madam([p], lr=0.01)
    sched = linear_decay(opt, epochs=10)
    lrs = []
    p.grad = torch.zeros(2)
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # an epoch of training, then the schedule
        sched.step()
    assert lrs[0] == pytest.approx(0.01) and lrs[-1] == pytest.approx(0.001)
    assert all(b < a for a, b in itertools.pairwise(lrs))


def test_bad_hyperparameters_fail_clearly() -> None:
    p = [torch.nn.Parameter(torch.ones(2))]
    with pytest.raises(ConfigError, match="lr"):
        Madam(p, lr=0.0)
    with pytest.raises(ConfigError, match="beta"):
        Madam(p, beta=1.0)
    with pytest.raises(ConfigError, match="final"):
        linear_decay(Madam(p), epochs=3, final=0.0)
