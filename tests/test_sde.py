"""Euler-Maruyama: Ornstein-Uhlenbeck moments, strong order, seeding, divergence, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hopfield_lab.errors import ConfigError, DivergenceError
from hopfield_lab.solvers import brownian_increments, euler_maruyama, integrate
from hopfield_lab.solvers.sde import step_counts

THETA, SIGMA, X0 = 1.5, 0.6, 1.0


def _ou(t, x):
    return -THETA * x


def test_ou_mean_and_variance_exact_and_discrete() -> None:
    """Sample moments at several times against the discrete EM recursion (exact for the scheme,
    to sampling error) and against the continuous OU law (to O(h) plus sampling error)."""
    B, dt = 40_000, 0.01
    t = torch.linspace(0.0, 1.0, 5, dtype=torch.float64)
    x0 = torch.full((B, 1), X0, dtype=torch.float64)
    gen = torch.Generator().manual_seed(7)
    res = euler_maruyama(_ou, x0, t, sigma=SIGMA, dt=dt, generator=gen)
    assert res.trajectory is not None and res.trajectory.shape == (5, B, 1)
    assert res.method == "euler_maruyama" and res.nfe == 100
    for i in range(1, 5):
        xs = res.trajectory[i, :, 0]
        n = round(float(t[i]) / dt)
        q = 1.0 - THETA * dt
        mean_d = X0 * q**n
        var_d = SIGMA**2 * dt * (1 - q ** (2 * n)) / (1 - q * q)
        tt = float(t[i])
        mean_c = X0 * math.exp(-THETA * tt)
        var_c = SIGMA**2 * (1 - math.exp(-2 * THETA * tt)) / (2 * THETA)
        se_mean = math.sqrt(var_d / B)
        se_var = var_d * math.sqrt(2.0 / (B - 1))
        assert abs(float(xs.mean()) - mean_d) < 4 * se_mean
        assert abs(float(xs.var()) - var_d) < 4 * se_var
        # the scheme's bias is O(dt): within 2% of the continuous moments here
        assert abs(mean_d - mean_c) < 0.02 * mean_c
        assert abs(var_d - var_c) < 0.02 * var_c
        assert abs(float(xs.mean()) - mean_c) < 0.02 * mean_c + 4 * se_mean


def test_strong_order_at_least_one_half() -> None:
    """Strong error E|X_T^h - X_T^ref| on shared Brownian paths: log-log slope >= 0.5 (for
    additive noise Euler-Maruyama is Milstein, so about 1 is expected)."""
    B, T, fine = 2000, 1.0, 2**-11
    t = torch.tensor([0.0, T], dtype=torch.float64)
    gen = torch.Generator().manual_seed(3)
    n_fine = step_counts(t, fine)[0]
    dW = brownian_increments(n_fine, (B, 1), T / n_fine, generator=gen)
    x0 = torch.full((B, 1), X0, dtype=torch.float64)
    ref = euler_maruyama(_ou, x0, t, sigma=SIGMA, dt=fine, increments=dW, record=False).x
    hs, errs = [], []
    for level in (4, 5, 6, 7, 8):
        h = 2.0**-level
        n = step_counts(t, h)[0]
        coarse = dW.reshape(n, n_fine // n, B, 1).sum(1)  # the same path, summed
        x = euler_maruyama(_ou, x0, t, sigma=SIGMA, dt=h, increments=coarse, record=False).x
        hs.append(h)
        errs.append(float((x - ref).abs().mean()))
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert slope > 0.5, (slope, errs)
    assert 0.8 < slope < 1.3, (slope, errs)  # additive noise: order 1


def test_seeded_replicas_reproducible_and_independent() -> None:
    x0 = torch.zeros(64, 3, dtype=torch.float64)
    t = [0.0, 0.5, 1.0]

    def run(seed):
        gen = torch.Generator().manual_seed(seed)
        return euler_maruyama(_ou, x0, t, sigma=1.0, dt=0.01, generator=gen, chunk=7).x

    a, b, c = run(1), run(1), run(2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert float(a.std()) > 0.3  # replicas differ from each other


def test_zero_noise_is_euler() -> None:
    x0 = torch.randn(4, 3, dtype=torch.float64)

    def f(t, x):
        return torch.sin(x) - 0.3 * x + 0.1 * t

    t = torch.linspace(0, 2, 9, dtype=torch.float64)
    a = euler_maruyama(f, x0, t, sigma=0.0, dt=0.05)
    b = integrate(f, x0, t, method="euler", step_size=0.05)
    assert torch.allclose(a.trajectory, b.trajectory, atol=1e-13)


def test_per_coordinate_sigma_and_observe() -> None:
    x0 = torch.zeros(8, 3, dtype=torch.float64)
    sigma = torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64)
    res = euler_maruyama(
        lambda t, x: -x,
        x0,
        [0.0, 1.0, 2.0],
        sigma=sigma,
        dt=0.01,
        generator=torch.Generator().manual_seed(0),
        observe=lambda x: x[:, 1:],
    )
    assert res.trajectory.shape == (3, 8, 2)
    assert torch.all(res.x[:, 1] == 0)  # no noise on coordinate 1
    assert float(res.x[:, 0].std()) > 0.2


def test_divergence_detected_with_step() -> None:
    x0 = torch.ones(3, 2, dtype=torch.float64)
    x0[1] = 0.0  # stays at the origin
    with pytest.raises(DivergenceError) as err:
        euler_maruyama(lambda t, x: 5.0 * x, x0, [0.0, 10.0], sigma=0.0, dt=0.01, max_norm=1e6)
    assert err.value.step > 0 and 1 not in err.value.samples
    res = euler_maruyama(
        lambda t, x: 5.0 * x,
        x0,
        [0.0, 10.0],
        sigma=0.0,
        dt=0.01,
        max_norm=1e6,
        on_divergence="flag",
    )
    assert res.diverged.tolist() == [True, False, True]
    assert bool(torch.isfinite(res.x).all())
    assert int(res.diverged_step[0]) > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dt": 0.0}, "dt"),
        ({"dt": -1.0}, "dt"),
        ({"sigma": -0.1}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"sigma": torch.ones(5)}, "sigma"),
        ({"increments": torch.zeros(3, 2, 2)}, "increments"),
        ({"chunk": 0}, "chunk"),
    ],
)
def test_bad_input(kwargs, match) -> None:
    args = {"sigma": 0.1, "dt": 0.1}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match):
        euler_maruyama(_ou, torch.zeros(2, 2), [0.0, 1.0], **args)


def test_bad_times_and_state() -> None:
    with pytest.raises(ConfigError, match="increasing"):
        euler_maruyama(_ou, torch.zeros(2, 2), [0.0, 0.0], sigma=0.1, dt=0.1)
    with pytest.raises(ConfigError, match="x0"):
        euler_maruyama(_ou, torch.full((2, 2), float("nan")), [0.0, 1.0], sigma=0.1, dt=0.1)
