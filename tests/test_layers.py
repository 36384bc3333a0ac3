"""Trainable Hopfield layers of notes ch. 4: shapes, equations, gradients, counts, bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from hopfield_lab.errors import ConfigError
from hopfield_lab.models.layers import (
    VHNN,
    ConvexReducer,
    ConvHNN2d,
    ConvOptions,
    DeepHNN,
    count_parameters,
)
from hopfield_lab.models.modern import ModernHopfield


def _signs(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.where(torch.rand(*shape, generator=gen) < 0.5, -1.0, 1.0).double()


def _gradcheck_module(module: nn.Module, *inputs: torch.Tensor, **kwargs) -> None:
    """gradcheck with respect to the inputs and every parameter of ``module`` (float64)."""
    names = [n for n, _ in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in module.named_parameters())
    xs = tuple(x.detach().clone().requires_grad_(True) for x in inputs)

    def fn(*args: torch.Tensor) -> torch.Tensor:
        state = dict(zip(names, args[: len(names)], strict=True))
        return functional_call(module, state, args[len(names) :], kwargs)

    assert torch.autograd.gradcheck(fn, params + xs, eps=1e-6, atol=1e-6, rtol=1e-5)


# ------------------------------------------------------------------------------------ shapes


def test_shapes() -> None:
    deep = DeepHNN(3, 4, 10, deep=2, iterations=2)
    x = torch.randn(5, 3, 10)
    assert deep(x).shape == (5, 3, 4)
    assert deep.loop_logits(x).shape == (5, 3, 8)
    assert deep.recall(x).shape == (5, 3, 10)
    conv = ConvHNN2d(2, 6, (3, 5), iterations=2, conv=ConvOptions(stride=2, padding=1))
    y = conv(torch.randn(4, 2, 11, 13))
    assert y.shape == (4, 6, 6, 6)  # floor((11 + 2 - 3) / 2) + 1, floor((13 + 2 - 5) / 2) + 1
    assert conv.reconstruct(y).shape == (4, 2, 11, 13)
    v = VHNN(2, 7, 9, iterations=3)
    assert v(torch.randn(4, 2, 9)).shape == (4, 2, 9)
    red = ConvexReducer(3, 4)
    assert red(deep(x)).shape == (5, 4)


# --------------------------------------------------------------------- equations vs the notes


def test_deephnn_equals_modern_hopfield_iteration(gen: torch.Generator) -> None:
    """One channel, deep = 1: the loop is the modern update of Eq. 3.5 in logit coordinates."""
    X = torch.randn(6, 12, generator=gen, dtype=torch.float64)
    layer = DeepHNN(1, 6, 12, iterations=3, beta=0.4).double()
    layer.set_patterns(X.unsqueeze(0))
    ref = ModernHopfield(X, beta=0.4)
    x = torch.randn(5, 12, generator=gen, dtype=torch.float64)
    xi = x
    for _ in range(3):
        xi = ref.update(xi)
    torch.testing.assert_close(layer.recall(x.unsqueeze(1))[:, 0], xi)
    # l_T = beta X xi_T, and the output is max over deep (= 1) plus the bias
    torch.testing.assert_close(layer.loop_logits(x.unsqueeze(1))[:, 0], 0.4 * xi @ X.T)
    torch.testing.assert_close(layer(x.unsqueeze(1))[:, 0], 0.4 * xi @ X.T)


def test_deephnn_max_reduction_and_bias(gen: torch.Generator) -> None:
    layer = DeepHNN(2, 3, 8, deep=4, iterations=1).double()
    x = torch.randn(5, 2, 8, generator=gen, dtype=torch.float64)
    bias = torch.randn(2, 3, generator=gen, dtype=torch.float64)
    layer.set_bias(bias)
    logits = layer.loop_logits(x).view(5, 2, 3, 4)  # pattern f * deep + d
    torch.testing.assert_close(layer(x), logits.amax(-1) + bias)


def test_set_bias_stores_the_value_not_its_log() -> None:
    """The notes' update_bias stored log(bias): NaN for -0.5. Ours stores -0.5."""
    layer = DeepHNN(1, 2, 3)
    x = torch.randn(4, 1, 3)
    before = layer(x)
    layer.set_bias(-0.5)
    assert torch.equal(layer.bias.data, torch.full((1, 2), -0.5))
    torch.testing.assert_close(layer(x), before - 0.5)
    with pytest.raises(ConfigError, match="bias"):
        layer.set_bias(torch.zeros(2, 2))


def test_one_pattern_per_feature_large_beta_returns_the_stored_pattern(
    gen: torch.Generator,
) -> None:
    P, N = 6, 64
    X = _signs(gen, P, N)
    layer = DeepHNN(1, P, N, deep=1, iterations=2, beta=1.0).double()
    layer.set_patterns(X.unsqueeze(0))
    flips = torch.rand(P, N, generator=gen) < 0.1  # 10 % of the pixels flipped
    query = torch.where(flips, -X, X).unsqueeze(1)  # (P, 1, N)
    torch.testing.assert_close(layer.recall(query)[:, 0], X, atol=1e-10, rtol=0)
    assert torch.equal(layer(query)[:, 0].argmax(1), torch.arange(P))
    # the feature logit of the recalled pattern is beta |x_k|^2 = N
    torch.testing.assert_close(
        layer(query)[:, 0].amax(1), torch.full((P,), float(N), dtype=torch.float64)
    )


def test_convhnn_single_patch_is_a_hopfield_network(gen: torch.Generator) -> None:
    """On one 3x3 patch ConvHNN2d is the logit loop of Sec. 4.1 with flattened kernels."""
    conv = ConvHNN2d(2, 5, 3, iterations=2, beta=0.3).double()
    x = torch.randn(4, 2, 3, 3, generator=gen, dtype=torch.float64)
    Xbar = conv.patterns.detach().reshape(5, -1)  # (5, 18)
    ref = ModernHopfield(Xbar, beta=0.3)
    xi = x.reshape(4, -1)
    for _ in range(2):
        xi = ref.update(xi)
    out = conv(x)
    assert out.shape == (4, 5, 1, 1)
    torch.testing.assert_close(out[:, :, 0, 0], 0.3 * xi @ Xbar.T + conv.bias.detach())
    # reconstruct: X^T softmax(logits) placed back on the patch
    recon = conv.reconstruct(out)
    expect = (out[:, :, 0, 0].softmax(1) @ Xbar).view(4, 2, 3, 3)
    torch.testing.assert_close(recon, expect)


def test_convhnn_matches_unfolded_patches(gen: torch.Generator) -> None:
    """Every output pixel runs its own patch's network (stride, padding, dilation)."""
    opts = ConvOptions(stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    conv = ConvHNN2d(1, 4, (3, 2), iterations=1, beta=0.5, conv=opts).double()
    x = torch.randn(2, 1, 7, 6, generator=gen, dtype=torch.float64)
    out = conv(x)  # (2, 4, H', W')
    cols = F.unfold(x, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2))  # (2, 6, L)
    Xbar = conv.patterns.detach().reshape(4, -1)
    ref = ModernHopfield(Xbar, beta=0.5)
    xi = ref.update(cols.transpose(1, 2).reshape(-1, 6))  # (2 L, 6)
    expect = (0.5 * xi @ Xbar.T + conv.bias.detach()).view(2, -1, 4).transpose(1, 2)
    torch.testing.assert_close(out.flatten(2), expect)


def test_convex_reducer_is_convex(gen: torch.Generator) -> None:
    red = ConvexReducer(4, 3).double()
    with torch.no_grad():
        red.weight.copy_(torch.randn(4, 3, generator=gen, dtype=torch.float64))
    x = torch.randn(6, 4, 3, generator=gen, dtype=torch.float64)
    y = red(x)
    torch.testing.assert_close(red.mixing().sum(0), torch.ones(3, dtype=torch.float64))
    assert bool((y <= x.amax(1) + 1e-12).all()) and bool((y >= x.amin(1) - 1e-12).all())
    torch.testing.assert_close(y, (red.mixing() * x).sum(1))


# ----------------------------------------------------------------------------------- VHNN


def test_vhnn_deterministic_in_eval_equals_modern_update(gen: torch.Generator) -> None:
    X = torch.randn(5, 10, generator=gen, dtype=torch.float64)
    v = VHNN(1, 5, 10, iterations=2, beta=0.7, noise=0.5).double().eval()
    v.set_patterns(X.unsqueeze(0))
    x = torch.randn(3, 1, 10, generator=gen, dtype=torch.float64)
    ref = ModernHopfield(X, beta=0.7)
    torch.testing.assert_close(v(x)[:, 0], ref.update(ref.update(x[:, 0])))
    assert torch.equal(v(x), v(x))
    v.train()
    assert not torch.equal(v(x), v(x))  # noisy in train mode
    assert not torch.equal(v(x, stochastic=False), v(x))
    torch.testing.assert_close(v(x, stochastic=False), ref.update(ref.update(x[:, 0])).unsqueeze(1))
    v.eval()
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a, b = v(x, stochastic=True, generator=g1), v(x, stochastic=True, generator=g2)
    assert torch.equal(a, b) and not torch.equal(a, v(x))


def test_vhnn_noise_statistics(gen: torch.Generator) -> None:
    """S = p + eta sqrt(p(1-p)) eps: mean p and variance eta^2 p (1 - p) (Sec. 4.4)."""
    v = VHNN(1, 4, 3, noise=0.3).double()
    p = torch.tensor([[[0.7, 0.2, 0.1, 0.0]]], dtype=torch.float64).expand(200_000, 1, 4)
    S = v.sample(p, gen)
    torch.testing.assert_close(S.mean(0)[0], p[0, 0], atol=3e-3, rtol=0)
    torch.testing.assert_close(S.var(0)[0], 0.09 * p[0, 0] * (1 - p[0, 0]), atol=1e-3, rtol=0)
    assert torch.equal(S[:, 0, 3], torch.zeros(200_000, dtype=torch.float64))  # p = 0: no noise


def test_vhnn_noise_is_reparameterised(gen: torch.Generator) -> None:
    """d xi / d log eta = X^T (eta sqrt(p(1-p)) eps) for one step; deterministic: no gradient."""
    v = VHNN(1, 4, 6, beta=0.8, noise=0.2).double()
    x = torch.randn(3, 1, 6, generator=gen, dtype=torch.float64)
    out = v(x, stochastic=True, generator=torch.Generator().manual_seed(7))
    out.sum().backward()
    eps = torch.randn(3, 1, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    with torch.no_grad():
        p = v.probabilities(x)
        expect = (0.2 * (p * (1 - p)).sqrt() * eps * v.patterns.sum(-1).unsqueeze(0)).sum()
    assert v.log_noise.grad is not None
    torch.testing.assert_close(v.log_noise.grad[0], expect)
    v.zero_grad(set_to_none=True)
    v.eval()
    v(x).sum().backward()
    assert v.log_noise.grad is None and v.patterns.grad is not None


# ------------------------------------------------------------------------------- gradients


def test_gradcheck_deephnn(gen: torch.Generator) -> None:
    layer = DeepHNN(2, 2, 4, deep=2, iterations=2, beta=0.6).double()
    with torch.no_grad():
        layer.bias.normal_(generator=gen)
    _gradcheck_module(layer, torch.randn(3, 2, 4, generator=gen, dtype=torch.float64))


def test_gradcheck_convhnn(gen: torch.Generator) -> None:
    conv = ConvHNN2d(1, 3, 3, iterations=2, beta=0.5, conv=ConvOptions(padding=1)).double()
    _gradcheck_module(conv, torch.randn(2, 1, 4, 4, generator=gen, dtype=torch.float64))


def test_gradcheck_vhnn_and_reducer(gen: torch.Generator) -> None:
    v = VHNN(1, 3, 4, iterations=2, beta=0.5, noise=0.3).double().eval()
    x = torch.randn(2, 1, 4, generator=gen, dtype=torch.float64)
    _gradcheck_module(v, x)
    names = [n for n, _ in v.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in v.named_parameters())

    def noisy(*args: torch.Tensor) -> torch.Tensor:  # fixed eps: a smooth function
        g = torch.Generator().manual_seed(11)
        state = dict(zip(names, args[:-1], strict=True))
        return functional_call(v, state, (args[-1],), {"stochastic": True, "generator": g})

    assert torch.autograd.gradcheck(noisy, (*params, x.clone().requires_grad_(True)), eps=1e-6)
    red = ConvexReducer(3, 2).double()
    _gradcheck_module(red, torch.randn(4, 3, 2, generator=gen, dtype=torch.float64))


# ------------------------------------------------------------------------ parameter counts


def test_parameter_counts_of_the_notes() -> None:
    # Sec. 4.2: Conv(1 -> 5, 4x4, stride 2) + DeepHNN(5, 10, 225, deep 5) + reducer = 56,440
    cnn = nn.Conv2d(1, 5, 4, stride=2)
    deep = DeepHNN(5, 10, 15 * 15, deep=5)
    red = ConvexReducer(5, 10)
    assert (count_parameters(cnn), count_parameters(deep), count_parameters(red)) == (
        85,
        56_305,
        50,
    )
    assert count_parameters(nn.ModuleList([cnn, deep, red])) == 56_440
    assert cnn(torch.zeros(1, 1, 32, 32)).shape[-2:] == (15, 15)
    # Sec. 4.3: ConvHNN2d(1, 9, 5x5) = 1 + 225 + 9
    assert count_parameters(ConvHNN2d(1, 9, 5, iterations=2)) == 235
    layer = DeepHNN(1, 10, 1024, deep=3)
    layer.log_beta.requires_grad_(False)  # frozen beta (prototype experiment)
    assert count_parameters(layer) == 30_730
    assert count_parameters(layer, trainable_only=False) == 30_731


def test_experiment_models_have_the_notes_counts() -> None:
    from hopfield_lab.models.networks import CNNDeepHNN, HopfieldDenoiser

    model = CNNDeepHNN()
    assert count_parameters(model) == 56_440
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    den = HopfieldDenoiser()
    assert count_parameters(den) == 742
    out = den(torch.zeros(2, 1, 32, 32))
    assert out.shape == (2, 1, 32, 32) and bool((out.abs() <= 1).all())


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: DeepHNN(2, 3, 4, iterations=0), "iterations"),
        (lambda: DeepHNN(2, 3, 4, beta=0.0), "beta"),
        (lambda: DeepHNN(2, 3, 4, beta=-1.0), "beta"),
        (lambda: DeepHNN(0, 3, 4), "channels"),
        (lambda: DeepHNN(2, 3, 4, deep=0), "deep"),
        (lambda: ConvHNN2d(1, 3, 3, iterations=0), "iterations"),
        (lambda: ConvHNN2d(1, 3, 3, beta=float("nan")), "beta"),
        (lambda: ConvHNN2d(1, 3, (3, 0)), "kernel_size"),
        (lambda: ConvOptions(stride=0), "stride"),
        (lambda: ConvOptions(padding=(1, 2, 3)), "padding"),
        (lambda: VHNN(1, 3, 4, iterations=0), "iterations"),
        (lambda: VHNN(1, 3, 4, beta=0.0), "beta"),
        (lambda: VHNN(1, 3, 4, noise=0.0), "noise"),
        (lambda: ConvexReducer(0, 3), "channels"),
    ],
)
def test_bad_construction(build, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build()


def test_bad_inputs() -> None:
    deep = DeepHNN(2, 3, 4)
    with pytest.raises(ConfigError, match=r"\(B, channels, neurons\)"):
        deep(torch.randn(5, 3, 4))  # 3 channels, 2 expected
    with pytest.raises(ConfigError, match="neurons"):
        deep(torch.randn(5, 2, 5))
    with pytest.raises(ConfigError, match="floating"):
        deep(torch.ones(5, 2, 4, dtype=torch.long))
    with pytest.raises(ConfigError, match="beta"):
        deep.set_beta(0.0)
    conv = ConvHNN2d(2, 3, 3)
    with pytest.raises(ConfigError, match="input channels"):
        conv(torch.randn(1, 1, 8, 8))
    with pytest.raises(ConfigError, match="kernel span"):
        conv(torch.randn(1, 2, 2, 8))
    with pytest.raises(ConfigError, match="channels"):
        conv.reconstruct(torch.randn(1, 4, 5, 5))
    v = VHNN(2, 3, 4)
    with pytest.raises(ConfigError, match="channels"):
        v(torch.randn(5, 1, 4))
    with pytest.raises(ConfigError, match="noise"):
        v.set_noise(-1.0)
    with pytest.raises(ConfigError, match=r"\(B, C, F\)"):
        ConvexReducer(2, 3)(torch.randn(4, 3, 2))


def test_vhnn_gradients_stay_finite_when_softmax_saturates(gen: torch.Generator) -> None:
    v = VHNN(1, 4, 8, beta=50.0, noise=0.5)  # float32: exp underflows to exactly 0
    x = 3 * torch.randn(5, 1, 8, generator=gen)
    p = v.probabilities(x)
    assert bool((p == 0).any()) and bool((p == 1).any())  # p (1 - p) = 0 at both ends
    v(x, stochastic=True, generator=gen).sum().backward()
    for name, p in v.named_parameters():
        assert p.grad is not None and bool(torch.isfinite(p.grad).all()), name


def test_as_hopfield_views_are_the_networks_the_layers_iterate(gen: torch.Generator) -> None:
    """Issue 10: the layers are not models; as_hopfield gives the ModernHopfield they run."""
    deep = DeepHNN(3, 2, 6, deep=2, iterations=3, beta=0.6).double()
    x = torch.randn(4, 3, 6, generator=gen, dtype=torch.float64)
    rec, logits = deep.recall(x), deep.loop_logits(x)
    for c in range(3):
        view = deep.as_hopfield(c)
        xi = x[:, c]
        for _ in range(3):
            xi = view.update(xi)
        torch.testing.assert_close(rec[:, c], xi)
        torch.testing.assert_close(logits[:, c], view.beta * xi @ view.patterns.T)
    conv = ConvHNN2d(2, 4, 2, iterations=2, beta=0.7).double()
    img = torch.randn(3, 2, 4, 5, generator=gen, dtype=torch.float64)
    view = conv.as_hopfield()
    xi = F.unfold(img, 2).transpose(1, 2).reshape(-1, 8)  # (3 L, C_in kh kw) patches
    for _ in range(2):
        xi = view.update(xi)
    expect = (0.7 * xi @ view.patterns.T + conv.bias.detach()).view(3, -1, 4).transpose(1, 2)
    torch.testing.assert_close(conv(img).flatten(2), expect)
    vh = VHNN(2, 4, 6, iterations=2, beta=0.9).double().eval()
    q = torch.randn(5, 2, 6, generator=gen, dtype=torch.float64)
    out = vh(q)
    for c in range(2):
        view = vh.as_hopfield(c)
        torch.testing.assert_close(out[:, c], view.update(view.update(q[:, c])))
    assert not deep.as_hopfield(0).patterns.requires_grad  # a snapshot, not the trained tensor
    with pytest.raises(ConfigError, match="channel"):
        deep.as_hopfield(3)
    with pytest.raises(ConfigError, match="channel"):
        vh.as_hopfield(-1)
