"""TwoNN intrinsic dimension (analysis/intrinsic_dim.py): known dimensions, the fit, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hopfield_lab.analysis import twonn, twonn_by_class
from hopfield_lab.analysis.intrinsic_dim import two_nearest
from hopfield_lab.errors import ConfigError

D = torch.float64


def _embedded_gaussian(n: int, d: int, ambient: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` draws of N(0, I_d) mapped linearly (orthonormal columns, a shift) into R^ambient."""
    q, _ = torch.linalg.qr(torch.randn(ambient, d, generator=gen, dtype=D))
    shift = torch.randn(ambient, generator=gen, dtype=D)
    return torch.randn(n, d, generator=gen, dtype=D) @ q.T + shift


@pytest.mark.parametrize("d", [2, 5, 10])
def test_gaussian_of_known_dimension_is_recovered_within_10_percent(gen, d):
    est = twonn(_embedded_gaussian(3000, d, 40, gen))
    assert abs(est.dimension - d) <= 0.1 * d, est.dimension
    assert est.n_used == 3000 and est.n_fit == 2700 and est.n_duplicates == 0
    assert float(est) == est.dimension


def test_cubes_read_low_because_of_their_boundary(gen):
    """Uniform [0,1]^10 at n = 3000 reads about 8.6 (boundary points see one-sided neighbours);
    the Gaussian of the same dimension, which has no boundary, reads about 10."""
    cube = twonn(torch.rand(3000, 10, generator=gen, dtype=D)).dimension
    gauss = twonn(torch.randn(3000, 10, generator=gen, dtype=D)).dimension
    assert 7.5 < cube < 9.3, cube
    assert cube < gauss - 0.5


def test_fit_matches_an_independent_numpy_reference(gen):
    """Brute-force distances with numpy and a least-squares slope through the origin."""
    x = torch.randn(300, 6, generator=gen, dtype=D) @ torch.randn(6, 9, generator=gen, dtype=D)
    a = x.numpy()
    dist = np.sqrt(((a[:, None, :] - a[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    r = np.sort(dist, axis=1)[:, :2]
    mu = np.sort(r[:, 1] / r[:, 0])
    n = len(mu)
    k = int(n * 0.9)
    xs, ys = np.log(mu[:k]), -np.log(1 - np.arange(1, k + 1) / n)
    slope = np.linalg.lstsq(xs[:, None], ys, rcond=None)[0][0]
    est = twonn(x)
    assert est.dimension == pytest.approx(slope, rel=1e-10)
    np.testing.assert_allclose(est.mu.numpy(), mu, rtol=1e-10)
    est20 = twonn(x, discard=0.2)
    assert est20.n_fit == 240 and est20.dimension != est.dimension


def test_invariant_to_rotation_scale_and_shift(gen):
    x = torch.randn(500, 7, generator=gen, dtype=D)
    q, _ = torch.linalg.qr(torch.randn(7, 7, generator=gen, dtype=D))
    moved = 250.0 * x @ q.T + 1e3
    assert twonn(moved).dimension == pytest.approx(twonn(x).dimension, rel=1e-9)


def test_two_nearest_is_exact_for_a_tight_cluster_far_from_the_rest(gen):
    """States gathered at a far attractor: the Gram form alone would lose their distances."""
    near = torch.randn(200, 20, generator=gen, dtype=D)
    far = 1e3 + 1e-6 * torch.randn(200, 20, generator=gen, dtype=D)
    x = torch.cat([near, far])
    r1, r2 = two_nearest(x, chunk_size=64)
    d = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    d.fill_diagonal_(math.inf)
    want = d.topk(2, dim=1, largest=False).values
    torch.testing.assert_close(r1, want[:, 0], rtol=1e-9, atol=0)
    torch.testing.assert_close(r2, want[:, 1], rtol=1e-9, atol=0)


def test_duplicates_are_dropped_and_counted_or_rejected(gen):
    x = torch.randn(400, 5, generator=gen, dtype=D)
    with_dups = torch.cat([x, x[:30], x[:5]])  # 35 extra copies
    est = twonn(with_dups)
    ref = twonn(x)
    assert est.n_points == 435 and est.n_duplicates == 35 and est.n_used == 400
    assert est.dimension == pytest.approx(ref.dimension, rel=1e-12)
    with pytest.raises(ConfigError, match="35 exact duplicates"):
        twonn(with_dups, duplicates="raise")


def test_ties_are_kept_and_counted():
    """On a square lattice every point has two neighbours at the same distance: all mu = 1,
    the slope is undefined (nan); jittered lattices have no ties."""
    g = torch.stack(torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij"), -1)
    lattice = g.reshape(-1, 2).to(D)
    est = twonn(lattice)
    assert est.n_ties == 64 and math.isnan(est.dimension)
    jitter = lattice + 1e-3 * torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    assert twonn(jitter.to(D)).n_ties == 0


def test_by_class_matches_per_class_calls(gen):
    x = torch.cat([_embedded_gaussian(300, 3, 12, gen), _embedded_gaussian(300, 6, 12, gen)])
    y = torch.tensor([4] * 300 + [7] * 300)
    out = twonn_by_class(x, y)
    assert list(out) == [4, 7]
    assert out[7].dimension == twonn(x[300:]).dimension
    assert out[4].dimension < out[7].dimension
    with pytest.raises(ConfigError, match="class 9"):
        twonn_by_class(torch.cat([x, x[:2] + 1]), torch.cat([y, torch.tensor([9, 9])]))


def test_bad_input_is_one_config_error(gen):
    x = torch.randn(10, 3, generator=gen, dtype=D)
    cases = [
        (lambda: twonn(x[:2]), "at least 3 points"),
        (lambda: twonn(torch.cat([x[:2], x[:1]])), "at least 3 distinct points"),
        (lambda: twonn(x, discard=1.0), "discard"),
        (lambda: twonn(x, discard=-0.1), "discard"),
        (lambda: twonn(x[0]), "shape (n, N)"),
        (lambda: twonn(x.tolist()), "torch.Tensor"),
        (lambda: twonn(x, duplicates="keep"), "duplicates must be one of"),
        (lambda: twonn(torch.full((5, 2), math.nan)), "finite"),
        (lambda: twonn_by_class(x, torch.zeros(9, dtype=torch.long)), "labels must have shape"),
    ]
    for call, text in cases:
        with pytest.raises(ConfigError) as err:
            call()
        assert text in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_agrees_with_scikit_dimension_when_installed(gen):
    """Optional cross-check: scikit-dimension's TwoNN (linear fit, 10 % discard). Slow only
    because importing scikit-dimension compiles numba code (about 5 s)."""
    skdim = pytest.importorskip("skdim")
    x = _embedded_gaussian(1000, 4, 30, gen)
    theirs = skdim.id.TwoNN(discard_fraction=0.1).fit(x.numpy()).dimension_
    assert twonn(x).dimension == pytest.approx(float(theirs), rel=1e-9)
