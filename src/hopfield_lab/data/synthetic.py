"""Synthetic pattern sets for associative-memory experiments, and Mattis overlaps.

Every generator returns a float tensor of shape ``(P, N)``: ``P`` patterns of ``N`` units with
values in {-1, +1}. Randomness comes from ``generator`` (the global torch RNG when None); the
patterns are created on the generator's device.
"""

from __future__ import annotations

import torch

from hopfield_lab.data.base import _check_float_dtype
from hopfield_lab.errors import ConfigError, check_int, check_probability, check_range

__all__ = ["correlated_patterns", "hadamard_patterns", "overlaps", "random_patterns"]


def _device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def _signs(prob_plus: float, shape: tuple[int, ...], generator: torch.Generator | None):
    """Independent ±1 entries (as int8) that equal +1 with probability ``prob_plus``."""
    u = torch.rand(shape, generator=generator, dtype=torch.float64, device=_device(generator))
    return torch.where(u < prob_plus, 1, -1).to(torch.int8)


def random_patterns(
    P: int,
    N: int,
    *,
    bias: float = 0.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """I.i.d. ±1 patterns with P(xi = +1) = (1 + bias) / 2, so that E[xi] = bias.

    ``bias = 0`` gives the unbiased patterns of the Hopfield capacity analysis (alpha_c ~ 0.138);
    ``bias != 0`` gives the biased (low-activity) patterns that lower it.

    Args:
        P: number of patterns, an int >= 1.
        N: number of units, an int >= 1.
        bias: mean of each entry, in the open interval ``(-1, 1)``. Default 0.
        generator: random generator; None uses the global torch RNG.
        dtype: floating dtype of the result. Default ``torch.float32``.

    Returns:
        Tensor of shape ``(P, N)`` with entries in {-1, +1}.

    Raises:
        ConfigError: if ``P`` or ``N`` is not a positive int, ``bias`` is outside ``(-1, 1)``
            or ``dtype`` is not floating.
    """
    check_int("P", P, 1)
    check_int("N", N, 1)
    check_range("bias", bias, -1.0, 1.0, low_inclusive=False, high_inclusive=False)
    _check_float_dtype(dtype)
    return _signs((1.0 + bias) / 2.0, (P, N), generator).to(dtype)  # (P, N)


def correlated_patterns(
    P: int,
    N: int,
    *,
    correlation: float,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """±1 patterns scattered around one random ±1 parent, with pairwise correlation c^2.

    A parent ``eta`` is drawn uniformly in {-1, +1}^N; each pattern copies it bit by bit,
    keeping each bit with probability ``(1 + c) / 2`` and flipping it otherwise. Hence
    ``E[xi_mu_i eta_i] = c`` and, for ``mu != nu``, ``E[xi_mu_i xi_nu_i] = c^2``: the expected
    overlap ``(1/N) xi_mu . xi_nu`` between two patterns is ``c^2``. ``c = 0`` gives independent
    unbiased patterns, ``c = 1`` gives ``P`` copies of the parent.

    Args:
        P: number of patterns, an int >= 1.
        N: number of units, an int >= 1.
        correlation: ``c`` in ``[0, 1]``, the expected overlap of a pattern with the parent.
        generator: random generator; None uses the global torch RNG.
        dtype: floating dtype of the result. Default ``torch.float32``.

    Returns:
        Tensor of shape ``(P, N)`` with entries in {-1, +1}.

    Raises:
        ConfigError: if ``P`` or ``N`` is not a positive int, ``correlation`` is outside
            ``[0, 1]`` or ``dtype`` is not floating.
    """
    check_int("P", P, 1)
    check_int("N", N, 1)
    check_probability("correlation", correlation)
    _check_float_dtype(dtype)
    parent = _signs(0.5, (N,), generator)  # (N,)
    keep = _signs((1.0 + correlation) / 2.0, (P, N), generator)  # (P, N), +1 keeps, -1 flips
    return (keep * parent).to(dtype)  # (P, N)


def hadamard_patterns(
    P: int,
    N: int,
    *,
    random_signs: bool = True,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``P`` distinct, mutually orthogonal ±1 patterns: rows of the Sylvester Hadamard matrix.

    The Sylvester matrix of order ``N = 2^k`` has entries ``H[i, j] = (-1)^popcount(i & j)``
    (``H_1 = [1]``, ``H_2n = [[H_n, H_n], [H_n, -H_n]]``) and satisfies ``H H^T = N I``. ``P``
    distinct rows are chosen at random. With ``random_signs`` each column is multiplied by an
    independent random sign (``X = H[rows] D`` with ``D`` a random ±1 diagonal), which keeps
    ``X X^T = N I`` exactly while removing the structure of the Sylvester rows. Every row may be
    drawn; with ``random_signs=False`` row 0 of ``H`` is the all-ones pattern and can be among
    those returned.

    Only the chosen rows are built, so memory is ``O(P N)``.

    Args:
        P: number of patterns, an int in ``[1, N]``.
        N: number of units, a power of 2 (1, 2, 4, ...).
        random_signs: multiply each column by a random ±1. Default True.
        generator: random generator for the rows and signs; None uses the global torch RNG.
        dtype: floating dtype of the result. Default ``torch.float32``.

    Returns:
        Tensor ``X`` of shape ``(P, N)`` with entries in {-1, +1} and ``X @ X.T == N * I``
        (exactly, in any floating dtype that represents ``N`` exactly).

    Raises:
        ConfigError: if ``N`` is not a power of 2, ``P`` is not in ``[1, N]`` or ``dtype`` is
            not floating.
    """
    check_int("N", N, 1)
    if N & (N - 1):
        raise ConfigError(
            f"N must be a power of 2 for a Sylvester Hadamard matrix (1, 2, 4, 8, ...); got {N}"
        )
    check_int("P", P, 1, N)
    _check_float_dtype(dtype)
    device = _device(generator)
    rows = torch.randperm(N, generator=generator, device=device)[:P]  # (P,)
    cols = torch.arange(N, device=device)  # (N,)
    common = rows[:, None] & cols[None, :]  # (P, N) bits shared by row and column index
    parity = torch.zeros_like(common)
    for _ in range(N.bit_length()):  # parity of popcount, one bit at a time
        parity ^= common & 1
        common = common >> 1
    X = (1 - 2 * parity).to(torch.int8)  # (P, N), (-1)^popcount(i & j)
    if random_signs:
        X = X * _signs(0.5, (N,), generator)  # (P, N) @ diag(d)
    return X.to(dtype)


def overlaps(patterns: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """Mattis overlaps ``m_mu = (1/N) xi_mu . s`` of each state with each pattern.

    For ±1 patterns and states, ``m_mu`` lies in ``[-1, 1]`` and equals 1 when ``s = xi_mu``.

    Args:
        patterns: stored patterns ``xi``, shape ``(P, N)``.
        states: states ``s``, shape ``(B, N)``, or a single state of shape ``(N,)``.

    Returns:
        Overlaps of shape ``(B, P)`` (``(P,)`` for a single state), in the promoted dtype of
        the inputs and at least ``torch.float32``.

    Raises:
        ConfigError: if the inputs are not tensors of the shapes above or disagree on ``N``.
    """
    if not isinstance(patterns, torch.Tensor) or patterns.ndim != 2:
        raise ConfigError(f"patterns must be a 2-D tensor (P, N); got {_shape_of(patterns)}")
    if not isinstance(states, torch.Tensor) or states.ndim not in (1, 2):
        raise ConfigError(f"states must be a tensor (B, N) or (N,); got {_shape_of(states)}")
    N = patterns.shape[1]
    if states.shape[-1] != N:
        raise ConfigError(
            f"states must have N={N} units like patterns {tuple(patterns.shape)}; "
            f"got states of shape {tuple(states.shape)}"
        )
    dtype = torch.promote_types(torch.promote_types(patterns.dtype, states.dtype), torch.float32)
    return states.to(dtype) @ patterns.to(dtype).T / N  # (B, P) or (P,)


def _shape_of(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"shape {tuple(value.shape)}"
    return f"an object of type {type(value).__name__}"
