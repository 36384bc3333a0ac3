"""Private helpers shared by the analysis modules: input coercion and dtype-aware tolerances."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from hopfield_lab.errors import ConfigError

__all__: list[str] = []


def _describe(value: Any) -> str:
    """Shape of a tensor or type name of anything else, for error messages."""
    return str(tuple(value.shape)) if isinstance(value, Tensor) else type(value).__name__


def as_series(value: Any, name: str, attr: str, ndim: int) -> Tensor:
    """Return ``value`` (a tensor, or an object such as ``SolverResult`` with ``value.<attr>``)
    as a floating tensor with ``ndim`` dimensions, else raise ConfigError naming ``name``."""
    if not isinstance(value, Tensor):
        inner = getattr(value, attr, None)
        if not isinstance(inner, Tensor):
            raise ConfigError(
                f"{name} must be a torch.Tensor (or an object with a .{attr} tensor, e.g. a "
                f"SolverResult recorded with it); got {_describe(value)}"
            )
        value = inner
    if value.dim() != ndim:
        raise ConfigError(f"{name} must have {ndim} dimensions; got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        raise ConfigError(f"{name} must be a floating-point tensor; got dtype {value.dtype}")
    return value


def as_trajectory(traj: Any, name: str = "traj", *, min_len: int = 2) -> Tensor:
    """A trajectory ``(T+1, B, N)`` with at least ``min_len`` recorded states."""
    traj = as_series(traj, name, "trajectory", 3)
    if traj.shape[0] < min_len:
        raise ConfigError(
            f"{name} must hold at least {min_len} states along dim 0; got shape {tuple(traj.shape)}"
        )
    return traj


def as_states(x: Any, name: str = "x0") -> Tensor:
    """A batch of states ``(B, N)``."""
    if not isinstance(x, Tensor):
        raise ConfigError(f"{name} must be a torch.Tensor of shape (B, N); got {_describe(x)}")
    if x.dim() != 2 or not x.is_floating_point():
        raise ConfigError(
            f"{name} must be a floating-point tensor of shape (B, N); got shape "
            f"{tuple(x.shape)} and dtype {x.dtype}"
        )
    return x


def check_square(mats: Any, name: str) -> Tensor:
    """A batch of square matrices ``(..., N, N)``."""
    if not isinstance(mats, Tensor):
        raise ConfigError(
            f"{name} must be a torch.Tensor of shape (..., N, N); got {_describe(mats)}"
        )
    if mats.dim() < 2 or mats.shape[-1] != mats.shape[-2]:
        raise ConfigError(f"{name} must have shape (..., N, N); got {tuple(mats.shape)}")
    if not (mats.is_floating_point() or mats.is_complex()):
        raise ConfigError(f"{name} must be a floating-point tensor; got dtype {mats.dtype}")
    return mats


def eps_of(t: Tensor) -> float:
    """Machine epsilon of a tensor's (real) dtype."""
    return float(torch.finfo(t.real.dtype if t.is_complex() else t.dtype).eps)


def speaks_contract(obj: Any) -> bool:
    """Whether ``obj`` declares its capabilities (a :class:`~hopfield_lab.core.HopfieldModel`
    or anything with ``capabilities()`` and ``missing(name)``)."""
    return callable(getattr(obj, "capabilities", None)) and callable(getattr(obj, "missing", None))


def model_method(obj: Any, capability: str, name: str) -> Callable[..., Any]:
    """``obj.<capability>`` for a model, or ``obj`` itself for a plain callable.

    A model that declares its capabilities must offer ``capability``, else its own
    ``CapabilityError`` is raised (one line naming the model, why, and what it offers; for an
    unbound input-driven model, "bind first"). A duck-typed object is used when it has the
    method.

    Raises:
        CapabilityError: the model lacks the capability.
        ConfigError: ``obj`` is neither a model with the method nor a callable.
    """
    if speaks_contract(obj):
        if capability not in obj.capabilities():
            raise obj.missing(capability)
        return getattr(obj, capability)
    method = getattr(obj, capability, None)
    if callable(method):
        return method
    if callable(obj):
        return obj
    raise ConfigError(
        f"{name} must be callable or have a {capability}(x) method; got {type(obj).__name__}"
    )
