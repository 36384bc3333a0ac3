"""The Eq. 3 attack and the basin graph (analysis/adversarial.py)."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch
from torch import nn

from hopfield_lab.analysis import basin_graph, pgd_attack, success_rate
from hopfield_lab.analysis.adversarial import draw_basin_graph
from hopfield_lab.errors import ConfigError, DivergenceError
from hopfield_lab.models import FiniteStepHopfield, LayeredHopfield
from hopfield_lab.solvers import integrate

matplotlib.use("Agg")
D = torch.float64


def _linear(n_in: int, n_out: int, gen: torch.Generator) -> nn.Linear:
    lin = nn.Linear(n_in, n_out).to(D)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(n_out, n_in, generator=gen, dtype=D))
        lin.bias.copy_(torch.randn(n_out, generator=gen, dtype=D))
    return lin


def _sup(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1).abs().amax(dim=1)


# ------------------------------------------------------------------------------ the ball
@pytest.mark.parametrize("mode", ["scale_free", "raw"])
@pytest.mark.parametrize("eps", [0.06, 0.5, 1.3])
def test_attack_never_leaves_the_eps_ball(gen, mode, eps):
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4)).to(D)
    x = torch.rand(32, 3, 4, generator=gen, dtype=D)  # image-shaped inputs (B, 3, 4)
    y = torch.randint(0, 4, (32,), generator=gen)
    alpha = 10.0 if mode == "raw" else None  # a large raw step: the projection must bite
    out = pgd_attack(mlp, x, y, eps=eps, steps=15, alpha_mode=mode, alpha=alpha)
    assert out.x_adv.shape == x.shape
    assert bool((_sup(out.delta) <= eps * (1 + 1e-12)).all())
    torch.testing.assert_close(out.x_adv, x + out.delta)
    assert not any(p.grad is not None for p in mlp.parameters())  # the model is not touched


def test_clip_keeps_the_box_and_the_ball(gen):
    lin = _linear(10, 3, gen)
    x = torch.rand(20, 10, generator=gen, dtype=D)
    out = pgd_attack(lin, x, torch.randint(0, 3, (20,), generator=gen), eps=0.3, clip=(0.0, 1.0))
    assert bool((out.x_adv >= 0).all() and (out.x_adv <= 1).all())
    assert bool((_sup(out.delta) <= 0.3 * (1 + 1e-12)).all())


# ------------------------------------------------------------------------------ convex models
def test_logistic_regression_attack_raises_the_loss_and_has_a_closed_form(gen):
    """Two logits z = W x + c with cross-entropy: the loss depends on x only through w.x with
    w = W_1 - W_0 and is convex, and every gradient is a positive multiple of -(2y - 1) w.
    So every iterate lies on that ray and the loss never falls; the scale-free step reaches
    the boundary in 4 steps and stays at delta = -(2y - 1) eps w / |w|_inf (the rescale keeps
    directions: not the l_inf optimum eps sign(w)); the raw step moves along the ray."""
    lin = _linear(8, 2, gen)
    x = torch.randn(50, 8, generator=gen, dtype=D)
    y = torch.randint(0, 2, (50,), generator=gen)
    w = (lin.weight[1] - lin.weight[0]).detach()
    ray = (1 - 2 * y).to(D).unsqueeze(1) * w / w.abs().max()  # (50, 8), |ray|_inf = 1
    out = pgd_attack(lin, x, y, eps=0.2, steps=30)
    assert bool((out.adv_loss >= out.clean_loss).all())
    torch.testing.assert_close(out.delta, 0.2 * ray, rtol=1e-10, atol=1e-12)
    raw = pgd_attack(lin, x, y, eps=0.2, steps=30, alpha_mode="raw", alpha=0.05)
    assert bool((raw.adv_loss >= raw.clean_loss).all())
    length = _sup(raw.delta).unsqueeze(1)  # (50, 1), in (0, eps]
    assert bool((length > 0).all() and (length <= 0.2 * (1 + 1e-12)).all())
    torch.testing.assert_close(raw.delta, length * ray, rtol=1e-9, atol=1e-12)


def test_squared_error_loss_is_convex_too(gen):
    """The paper's loss |z - v|^2 (v = +-1) on a linear model is convex in delta."""
    lin = _linear(8, 4, gen)
    x = torch.randn(50, 8, generator=gen, dtype=D)
    y = torch.randint(0, 4, (50,), generator=gen)
    out = pgd_attack(lin, x, y, eps=0.3, steps=1, loss="mse_pm1")
    assert bool((out.adv_loss > out.clean_loss).all())
    target = 2 * nn.functional.one_hot(y, 4).to(D) - 1
    torch.testing.assert_close(out.clean_loss, ((lin(x) - target) ** 2).sum(1).detach())


def test_one_step_from_zero_is_the_rescaled_gradient_and_raises_a_convex_loss(gen):
    """Multinomial logistic regression is convex in delta: L(delta_1) >= L(0) + g.delta_1 > L(0)."""
    lin = _linear(6, 5, gen)
    x = torch.randn(40, 6, generator=gen, dtype=D)
    y = torch.randint(0, 5, (40,), generator=gen)
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(nn.functional.cross_entropy(lin(xg), y, reduction="sum"), xg)
    g_inf = g.abs().amax(1, keepdim=True)
    out = pgd_attack(lin, x, y, eps=0.4, steps=1)
    torch.testing.assert_close(out.delta, 0.1 * g / g_inf)  # (eps / 4) g / |g|_inf
    assert bool((out.adv_loss > out.clean_loss).all())
    raw = pgd_attack(lin, x, y, eps=0.4, steps=1, alpha_mode="raw", alpha=3.0)
    u = 3.0 * g
    torch.testing.assert_close(
        raw.delta, 0.4 * u / torch.clamp(u.abs().amax(1, keepdim=True), min=0.4)
    )
    assert bool((raw.adv_loss > raw.clean_loss).all())


def test_gradient_goes_through_the_ode_solver(gen):
    """Logits = first 3 coordinates of x(1) for x' = A x: the first scale-free step follows the
    closed-form gradient through exp(A) (rk4, 50 steps)."""
    n = 6
    a = 0.5 * torch.randn(n, n, generator=gen, dtype=D)

    def model(x0: torch.Tensor) -> torch.Tensor:
        res = integrate(lambda t, x: x @ a.T, x0, [0.0, 1.0], method="rk4", step_size=0.02)
        return res.x[:, :3]

    x = torch.randn(10, n, generator=gen, dtype=D)
    y = torch.randint(0, 3, (10,), generator=gen)
    prop = torch.linalg.matrix_exp(a)[:3]  # (3, n): logits = prop x
    p = torch.softmax(x @ prop.T, dim=1)
    g = (p - nn.functional.one_hot(y, 3).to(D)) @ prop  # d CE / d x
    out = pgd_attack(model, x, y, eps=0.2, steps=1)
    torch.testing.assert_close(
        out.delta, 0.05 * g / g.abs().amax(1, keepdim=True), rtol=1e-7, atol=1e-9
    )
    more = pgd_attack(model, x, y, eps=0.2, steps=10)
    assert bool((more.adv_loss >= more.clean_loss).all())  # a linear flow: convex in delta


def test_model_families_finite_step_and_layered(gen):
    finite = FiniteStepHopfield(d=16, N=12, activation="tanh", K=3, n_classes=4).to(D)
    layered = LayeredHopfield([16, 12, 4]).to(D)
    x = torch.rand(12, 16, generator=gen, dtype=D)
    y = torch.randint(0, 4, (12,), generator=gen)
    for model in (finite, layered):
        out = pgd_attack(model, x, y, eps=0.3, steps=8)
        assert bool((_sup(out.delta) <= 0.3 * (1 + 1e-12)).all())
        assert bool(torch.isfinite(out.adv_loss).all())
        assert float(out.adv_loss.mean()) > float(out.clean_loss.mean())
        assert bool((out.success <= out.clean_correct).all())


def test_batching_and_eps_zero(gen):
    lin = _linear(5, 3, gen)
    x = torch.randn(17, 5, generator=gen, dtype=D)
    y = torch.randint(0, 3, (17,), generator=gen)
    whole = pgd_attack(lin, x, y, eps=0.5, steps=5)
    chunked = pgd_attack(lin, x, y, eps=0.5, steps=5, batch_size=4)
    torch.testing.assert_close(chunked.delta, whole.delta)
    zero = pgd_attack(lin, x, y, eps=0.0)
    assert bool((zero.delta == 0).all()) and not bool(zero.success.any())
    assert zero.success_rate == 0.0 or math.isnan(zero.success_rate)


# ------------------------------------------------------------------------------ success, graph
def test_success_rate_counts_only_clean_correct_samples():
    fooled = torch.tensor([True, True, False, True, False])
    ok = torch.tensor([True, False, False, True, True])
    assert success_rate(fooled, ok) == pytest.approx(2 / 3)
    assert math.isnan(success_rate(fooled, torch.zeros(5, dtype=torch.bool)))


def test_success_of_an_attack_result(gen):
    lin = _linear(4, 3, gen)
    x = torch.randn(60, 4, generator=gen, dtype=D)
    y = torch.randint(0, 3, (60,), generator=gen)
    out = pgd_attack(lin, x, y, eps=1.0, steps=10)
    ok = out.clean_pred == y
    assert out.success_rate == pytest.approx(int((ok & (out.adv_pred != y)).sum()) / int(ok.sum()))
    assert out.clean_accuracy == pytest.approx(float(ok.double().mean()))
    g = basin_graph(out)
    assert g.n_classes == 3 and g.n_flips == int(out.success.sum())


def test_basin_graph_hand_made():
    src = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 1])
    dst = torch.tensor([1, 1, 2, 1, 0, 2, 2, 0, 2])
    valid = torch.tensor([True] * 8 + [False])  # the last flip does not count
    g = basin_graph(src, dst, valid=valid)
    assert g.edges == [(0, 1, 2), (0, 2, 1), (1, 0, 1), (2, 0, 1)]
    assert g.n_edges == 4 and g.n_flips == 5 and g.out_degree.tolist() == [2, 1, 1]
    assert g.mean_out_degree == pytest.approx(4 / 3)
    assert basin_graph(src, dst, valid=valid, n_classes=10).mean_out_degree == pytest.approx(0.4)
    assert int(g.counts.diagonal().sum()) == 0
    assert basin_graph(src, dst).edges[-1] == (2, 0, 1) and basin_graph(src, dst).n_edges == 5


def test_draw_basin_graph(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    g = basin_graph(torch.tensor([0, 0, 1, 3, 3]), torch.tensor([1, 2, 0, 0, 1]), n_classes=4)
    ax = draw_basin_graph(g)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == g.n_edges == 5
    assert ax.get_title() == "|E| = 5, mean out-degree = 1.25"
    ax.figure.savefig(tmp_path / "basins.png")
    assert (tmp_path / "basins.png").stat().st_size > 1000
    plt.close(ax.figure)  # a figure left open would be another test's business
    with pytest.raises(ConfigError, match="4 entries"):
        draw_basin_graph(g, labels=["a"])


# ------------------------------------------------------------------------------ bad input
def test_bad_input_is_one_config_error(gen):
    lin = _linear(4, 3, gen)
    x = torch.randn(6, 4, generator=gen, dtype=D)
    y = torch.randint(0, 3, (6,), generator=gen)
    cases = [
        (lambda: pgd_attack(lin, x, y, eps=-0.1), "eps must be"),
        (lambda: pgd_attack(lin, x, y, eps=0.1, steps=0), "steps must be"),
        (lambda: pgd_attack(lin, x, y, eps=0.1, alpha_mode="raw"), "needs alpha"),
        (lambda: pgd_attack(lin, x, y, eps=0.1, alpha=1.0), "only used with alpha_mode='raw'"),
        (lambda: pgd_attack(lin, x, y, eps=0.1, alpha_mode="sign"), "alpha_mode must be one of"),
        (lambda: pgd_attack(lin, x, y[:4], eps=0.1), "y must have shape (6,)"),
        (lambda: pgd_attack(lin, x, y.double(), eps=0.1), "integer"),
        (lambda: pgd_attack(lin, x, y + 3, eps=0.1), "labels in [0, 3)"),
        (lambda: pgd_attack(lambda z: z.sum(1), x, y, eps=0.1), "logits of shape (6, C)"),
        (lambda: pgd_attack(lin, x, y, eps=0.1, loss="hinge"), "loss must be one of"),
        (lambda: pgd_attack(lin, x, y, eps=0.1, batch_size=0), "batch_size"),
        (lambda: pgd_attack(lin, x[0], y, eps=0.1), "shape (B, ...)"),
        (lambda: success_rate(torch.ones(3, dtype=torch.bool)), "needs clean_correct"),
        (lambda: basin_graph(torch.tensor([0, 1])), "needs target"),
        (lambda: basin_graph(torch.tensor([0, 1]), torch.tensor([1])), "target must have shape"),
        (lambda: basin_graph(torch.tensor([0, 5]), torch.tensor([1, 0]), n_classes=3), "[0, 3)"),
    ]
    for call, text in cases:
        with pytest.raises(ConfigError) as err:
            call()
        assert text in str(err.value) and "\n" not in str(err.value)


def test_non_finite_gradient_is_a_divergence_error(gen):
    x = torch.randn(4, 3, generator=gen, dtype=D)

    def blows_up(z: torch.Tensor) -> torch.Tensor:
        return torch.stack([z.sum(1), torch.sqrt(z[:, 0] - z[:, 0].detach())], dim=1)  # grad inf

    with pytest.raises(DivergenceError, match="non-finite loss gradient at step 0"):
        pgd_attack(blows_up, x, torch.zeros(4, dtype=torch.long), eps=0.1)
