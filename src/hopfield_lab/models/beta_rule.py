"""Prop. 3.4's beta rule from its three numbers ``(P, M, Delta_min)``, and the notes' iteration.

:func:`~hopfield_lab.models.modern.select_beta` applies the rule to a pattern set. The rule
depends on the patterns only through ``P``, ``M = max_i |x_i|`` and ``Delta_min``: with ``u =
beta Delta_min`` the condition of Prop. 3.4 reads ``u - log u >= a``,
``a = 2/P + log(2 (P - 1) P M^2 / Delta_min)`` (notes Sec. 3.3, Remark after Prop. 3.4, and
Sec. 4.4). :func:`prop_3_4_beta` applies it to numbers, e.g. those the notes print for their
prototypes (Sec. 4.4: ``M = 31.3933``, ``Delta_min = 37.5255``), whose images we do not have.

:func:`notes_iteration_beta` is what the notes compute instead of the root: their text iterates
``u <- a + log u`` five times from ``2a`` and uses ``u_5 / Delta_min``; their code (cell 33)
uses ``((7 + u_5) / 8) / Delta_min``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from hopfield_lab.errors import ConfigError, check_int, check_positive
from hopfield_lab.models.modern import solve_u_minus_log_u

__all__ = ["BetaRule", "notes_iteration_beta", "prop_3_4_beta", "prop_3_4_constant"]


class BetaRule(NamedTuple):
    """Prop. 3.4's rule for given ``(P, M, Delta_min)`` (fields as in ``BetaSelection``)."""

    a: float
    u: float
    beta: float
    beta_minus: float
    radius: float


def prop_3_4_constant(n_patterns: int, max_norm: float, separation_min: float) -> float:
    """``a = 2/P + log(2 (P - 1) P M^2 / Delta_min)`` of the condition ``u - log u >= a``.

    Raises:
        ConfigError: for ``P < 2``, ``M <= 0`` or ``Delta_min <= 0``.
    """
    check_int("n_patterns", n_patterns, 2)
    check_positive("max_norm", max_norm)
    check_positive("separation_min", separation_min)
    p = n_patterns
    return 2.0 / p + math.log(2.0 * (p - 1) * p * max_norm**2 / separation_min)


def prop_3_4_beta(n_patterns: int, max_norm: float, separation_min: float) -> BetaRule:
    """The smallest ``beta`` of Prop. 3.4's retrieval branch, ``u_+ / Delta_min``.

    Args:
        n_patterns: ``P >= 2``. max_norm: ``M > 0``. separation_min: ``Delta_min > 0``.

    Returns:
        :class:`BetaRule`: ``a``, the root ``u = u_+`` of ``u - log u = a`` (1 when ``a <= 1``:
        every ``beta`` then satisfies the condition), ``beta = u / Delta_min``, ``beta_minus =
        u_- / Delta_min`` and the sphere radius ``1 / (beta P M)``.

    Raises:
        ConfigError: as :func:`prop_3_4_constant`.
    """
    a = prop_3_4_constant(n_patterns, max_norm, separation_min)
    u_minus, u_plus = (1.0, 1.0) if a <= 1.0 else solve_u_minus_log_u(a)
    beta = u_plus / separation_min
    return BetaRule(a, u_plus, beta, u_minus / separation_min, 1.0 / (beta * n_patterns * max_norm))


def notes_iteration_beta(
    n_patterns: int, max_norm: float, separation_min: float, iterations: int = 5
) -> tuple[float, float]:
    """The notes' truncated iteration ``u <- a + log u`` from ``2a`` (Sec. 4.4, cell 33).

    Args:
        n_patterns, max_norm, separation_min: as :func:`prop_3_4_beta`.
        iterations: steps of the iteration (notes: 5). Default 5.

    Returns:
        ``(u_K / Delta_min, ((7 + u_K) / 8) / Delta_min)``: the text's and the code's ``beta``.

    Raises:
        ConfigError: as :func:`prop_3_4_constant`, or for ``a <= 0`` (``log u`` undefined).
    """
    check_int("iterations", iterations, 0)
    a = prop_3_4_constant(n_patterns, max_norm, separation_min)
    if a <= 0:
        raise ConfigError(f"the notes' iteration needs a > 0; got a = {a!r}")
    u = 2.0 * a
    for _ in range(iterations):
        u = a + math.log(u)
    return u / separation_min, (7.0 + u) / 8.0 / separation_min
