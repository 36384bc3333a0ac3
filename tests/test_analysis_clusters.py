"""Attractor clusters and embeddings (analysis/clusters.py): known blobs, the PCA fallback."""

from __future__ import annotations

import pytest
import torch

import hopfield_lab.analysis.clusters as clusters_mod
from hopfield_lab.analysis import cluster_counts, embed, hdbscan_labels
from hopfield_lab.errors import ConfigError

D = torch.float64


def _blobs(n_blobs: int, per: int, dim: int, gen: torch.Generator, spread: float = 0.05):
    """``n_blobs`` tight Gaussian blobs (std ``spread``) around random unit-scale centres."""
    centres = torch.randn(n_blobs, dim, generator=gen, dtype=D)
    return centres.repeat_interleave(per, 0) + spread * torch.randn(
        n_blobs * per, dim, generator=gen, dtype=D
    )


def test_counts_recover_known_blobs_per_class(gen):
    """Class 3 ends in 2 attractors, class 5 in 3, class 8 in 1, in R^80 (PCA-50 applies)."""
    x = torch.cat([_blobs(2, 60, 80, gen), _blobs(3, 60, 80, gen), _blobs(1, 60, 80, gen)])
    y = torch.tensor([3] * 120 + [5] * 180 + [8] * 60)
    perm = torch.randperm(360, generator=gen)
    out = cluster_counts(x[perm], y[perm])  # order of the samples does not matter
    assert out.classes == (3, 5, 8) and out.sizes == (120, 180, 60)
    assert out.counts[:2] == (2, 3)
    assert all(f < 0.2 for f in out.noise[:2])
    # HDBSCAN's default (the authors' call) allows no single cluster: one blob reads 0, all noise
    assert out.counts[2] == 0 and out.noise[2] == 1.0
    assert out.median_count == 2.0 and out.max_count == 3
    single = cluster_counts(x[300:], y[300:], allow_single_cluster=True)
    assert single.counts == (1,)
    # per-point assignments: within class 5, each blob is one cluster
    inv = torch.argsort(perm)
    a5 = out.assignments[inv][120:300]
    for blob in range(3):
        ids = a5[blob * 60 : (blob + 1) * 60]
        kept = ids[ids >= 0]
        assert kept.numel() > 48 and bool((kept == kept[0]).all())
    assert out.rows()[1] == {"class": 5, "clusters": 3, "noise": out.noise[1], "n": 180}


def test_small_sets_are_all_noise(gen):
    lab = hdbscan_labels(torch.randn(10, 4, generator=gen, dtype=D), min_cluster_size=15)
    assert (lab == -1).all()
    out = cluster_counts(
        torch.randn(12, 4, generator=gen, dtype=D), torch.tensor([0] * 6 + [1] * 6)
    )
    assert out.counts == (0, 0) and out.noise == (1.0, 1.0)


def test_pca_fallback_is_an_isometry_on_planar_data(gen, monkeypatch):
    """Points in a 2-D affine plane of R^10: the PCA picture keeps every pairwise distance."""
    monkeypatch.setattr(clusters_mod, "umap_available", lambda: False)
    q, _ = torch.linalg.qr(torch.randn(10, 2, generator=gen, dtype=D))
    x = torch.randn(40, 2, generator=gen, dtype=D) @ q.T + 3.0
    emb = embed(x)  # "auto" without umap-learn: PCA
    assert emb.method == "pca" and emb.points.shape == (40, 2)
    exact = "donot_use_mm_for_euclid_dist"
    torch.testing.assert_close(
        torch.cdist(emb.points, emb.points, compute_mode=exact),
        torch.cdist(x, x, compute_mode=exact),
    )
    # fitted on the same states, a separate transform gives the same coordinates
    torch.testing.assert_close(embed(x, method="pca", fit_on=x).points, emb.points)
    with pytest.raises(ConfigError, match="needs umap-learn"):
        embed(x, method="umap")


def test_embed_fit_on_one_time_and_transform_another(gen):
    x0 = torch.randn(30, 6, generator=gen, dtype=D)
    xt = 0.5 * x0
    e0 = embed(x0, method="pca")
    et = embed(xt, method="pca", fit_on=x0)  # the same frame: a pure contraction of the picture
    centred = e0.points - e0.points.mean(0)
    torch.testing.assert_close(et.points - et.points.mean(0), 0.5 * centred)


@pytest.mark.slow
def test_umap_separates_blobs_when_installed(gen):
    """Optional: with umap-learn, the UMAP picture keeps well-separated blobs apart."""
    pytest.importorskip("umap")
    x = _blobs(3, 40, 30, gen, spread=0.02)
    emb = embed(x, method="auto", seed=0)
    assert emb.method == "umap" and emb.points.shape == (120, 2)
    d = torch.cdist(emb.points, emb.points)
    d.fill_diagonal_(float("inf"))
    nearest = d.argmin(dim=1)
    assert bool((nearest // 40 == torch.arange(120) // 40).all())
    again = embed(x, method="umap", seed=0)
    torch.testing.assert_close(again.points, emb.points)  # seeded: reproducible


def test_bad_input_is_one_config_error(gen):
    x = torch.randn(20, 5, generator=gen, dtype=D)
    y = torch.zeros(20, dtype=torch.long)
    cases = [
        (lambda: cluster_counts(x, y[:5]), "labels must have shape (20,)"),
        (lambda: cluster_counts(x, y.double()), "integer"),
        (lambda: cluster_counts(x[0], y), "shape (B, N)"),
        (lambda: cluster_counts(x, y, min_cluster_size=1), "min_cluster_size"),
        (lambda: cluster_counts(x, y, min_samples=0), "min_samples"),
        (lambda: embed(x, method="tsne"), "method must be one of"),
        (lambda: embed(x, method="pca", n_components=6), "n_components"),
        (lambda: embed(x, fit_on=torch.randn(4, 3, dtype=D)), "fit_on must have 5 columns"),
        (lambda: embed(torch.full((4, 2), float("nan"))), "finite"),
    ]
    for call, text in cases:
        with pytest.raises(ConfigError) as err:
            call()
        assert text in str(err.value) and "\n" not in str(err.value)
