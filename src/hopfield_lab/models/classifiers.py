"""The baseline MLP of the ODE paper's adversarial comparison, and saving / loading of trained
classifiers so that later analyses can reload them from a run directory.

* :class:`MLP`: ``784 -> 256 -> 128 -> 10`` with ReLU (the paper does not give its MLP; the
  authors' tutorial code uses this one with Adam 1e-3 [spec Sec. 3, "MLP"]).
* :func:`save_trained` writes ``<run_dir>/models/<name>.pt``: the model kind, its constructor
  arguments, its ``state_dict`` and a JSON-ready ``meta`` dict (for a :class:`HopfieldODE` the
  training solve ``T``, ``solver``, ``dt``, ... so that it can be run as it was trained);
  :func:`load_trained` rebuilds the model (in eval mode) and returns it with ``meta``;
  :func:`trained_models` lists the names saved in a run directory. The files hold tensors and
  plain Python values only, so they load with ``torch.load(weights_only=True)``.

Example (a model trained by ``hopfield-lab run mhn-accuracy``)::

    from hopfield_lab.models.classifiers import load_trained, trained_models
    print(trained_models("runs/mhn-accuracy/quick"))      # ['A_relu_T1', ...]
    model, meta = load_trained("runs/mhn-accuracy/quick", "A_relu_T1")
    logits = model.classify(images, FlowOptions(**meta["flow"]))
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from hopfield_lab.errors import ArtifactError, ConfigError, DataError, check_int
from hopfield_lab.models.ode import HopfieldODE
from hopfield_lab.runs.io import atomic_torch_save, check_safe_name

__all__ = ["MLP", "MODELS_DIR", "load_trained", "save_trained", "trained_models"]

MODELS_DIR = "models"
"""Sub-directory of a run directory holding the trained models (``<name>.pt``)."""

_FORMAT = 1


class MLP(nn.Module):
    """A ReLU multilayer perceptron on flattened images (default ``784-256-128-10``).

    Args:
        sizes: layer widths, input first, logits last; at least two, each >= 1.
            Default ``(784, 256, 128, 10)``.
    """

    def __init__(self, sizes: Sequence[int] = (784, 256, 128, 10)) -> None:
        super().__init__()
        sizes = tuple(sizes)
        if len(sizes) < 2:
            raise ConfigError(f"sizes must list at least input and output widths; got {sizes}")
        for s in sizes:
            check_int("sizes", s, 1)
        self.sizes = sizes
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def init_args(self) -> dict[str, Any]:
        """The constructor arguments (JSON-ready)."""
        return {"sizes": list(self.sizes)}

    def forward(self, images: Tensor) -> Tensor:
        """Logits ``(B, sizes[-1])`` of images ``(B, sizes[0])`` (flattened if needed)."""
        return self.net(images.reshape(images.shape[0], -1))

    def classify(self, images: Tensor) -> Tensor:
        """Logits; the same call as :meth:`HopfieldODE.classify` without solver options."""
        return self(images)


_KINDS: dict[str, type[nn.Module]] = {"HopfieldODE": HopfieldODE, "MLP": MLP}


def _path(run_dir: str | os.PathLike[str], name: str) -> Path:
    check_safe_name("model name", name)
    return Path(run_dir) / MODELS_DIR / f"{name}.pt"


def save_trained(
    run_dir: str | os.PathLike[str],
    name: str,
    model: nn.Module,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Save a trained :class:`HopfieldODE` or :class:`MLP` as ``<run_dir>/models/<name>.pt``.

    Args:
        run_dir: the run directory (a path or a ``RunDir``'s ``.path``).
        name: file-safe model name.
        model: the model (its ``init_args()`` rebuild it).
        meta: JSON-ready facts needed to use it (training solve, accuracy, ...). Default {}.

    Returns:
        The file written (atomically).

    Raises:
        ConfigError: an unsupported model or an unsafe name.
    """
    kind = type(model).__name__
    if kind not in _KINDS:
        raise ConfigError(f"model must be one of {', '.join(_KINDS)}; got {kind}")
    payload = {
        "format": _FORMAT,
        "kind": kind,
        "init": model.init_args(),  # type: ignore[operator]
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    path = _path(run_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_torch_save(path, payload)


def load_trained(
    run_dir: str | os.PathLike[str], name: str, *, map_location: str = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Load a model saved by :func:`save_trained`; returns ``(model in eval mode, meta)``.

    Raises:
        DataError: no such file.
        ArtifactError: (a ``DataError``) a file that cannot be read or was not written by
            :func:`save_trained`; the message names it.
    """
    path = _path(run_dir, name)
    if not path.exists():
        have = ", ".join(trained_models(run_dir)) or "none"
        raise DataError(f"no trained model {name!r} in {Path(run_dir) / MODELS_DIR} (has: {have})")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ArtifactError(
            f"cannot read trained model {path} ({reason[:200]})", path=path
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ArtifactError(f"{path} is not a model written by save_trained", path=path)
    cls = _KINDS.get(payload["kind"])
    if cls is None:
        raise DataError(f"{path} holds an unknown model kind {payload['kind']!r}")
    state = payload["state_dict"]
    init = dict(payload["init"])
    if cls is HopfieldODE:
        init["dtype"] = state["W"].dtype
    model = cls(**init)
    model.load_state_dict(state)
    model.eval()
    return model, payload["meta"]


def trained_models(run_dir: str | os.PathLike[str]) -> list[str]:
    """Names of the models saved in ``<run_dir>/models/`` (sorted)."""
    folder = Path(run_dir) / MODELS_DIR
    return sorted(p.stem for p in folder.glob("*.pt")) if folder.exists() else []
