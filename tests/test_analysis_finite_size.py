"""Finite-size estimates of a transition on a grid (analysis.finite_size)."""

from __future__ import annotations

import numpy as np
import pytest

from hopfield_lab.analysis import (
    bootstrap_crossings,
    drop_bracket,
    fit_inverse_sqrt,
    level_crossing,
)


def test_level_crossing_interpolates_the_first_fall() -> None:
    assert level_crossing([0.1, 0.2, 0.3], [1.0, 0.6, 0.2], 0.5) == pytest.approx(0.225)
    assert level_crossing([0.1, 0.2, 0.3], [0.4, 0.6, 0.2], 0.5) == pytest.approx(0.225)
    assert level_crossing([0.1, 0.2], [1.0, 0.9], 0.5) is None


def test_fit_inverse_sqrt_recovers_a_and_b() -> None:
    sizes = [100, 400, 1600, 6400]
    values = [0.138 + 0.5 / np.sqrt(n) for n in sizes]
    a, b = fit_inverse_sqrt(sizes, values)  # type: ignore[misc]
    assert (a, b) == (pytest.approx(0.138, abs=1e-12), pytest.approx(0.5, abs=1e-10))
    assert fit_inverse_sqrt(sizes[:2], values[:2]) is None


def test_drop_bracket() -> None:
    assert drop_bracket([0.4, 0.0, 0.2], [0.25, 1.0, 0.75]) == (0.2, 0.4)
    assert drop_bracket([0.0, 0.2], [1.0, 1.0]) == (0.2, None)
    assert drop_bracket([1.5], [0.0]) == (0.0, None)  # nothing below 1


def test_bootstrap_spread_follows_the_between_unit_spread() -> None:
    """Units whose success fraction varies more give a wider bootstrap spread of the crossing;
    a grid point with a single unit hides that spread, so none is given."""
    rng = np.random.default_rng(1)
    xs = [0.1, 0.2, 0.3]

    def units(spread: float, n_units: int) -> list[list[np.ndarray]]:
        """Per grid point, per unit: 20 trials, 1 (success) or 0; at the middle point each unit
        succeeds with its own probability 0.5 + spread z."""
        out = []
        for p in (1.0, 0.5, 0.0):
            shift = spread if p == 0.5 else 0.0
            ps = np.clip(p + shift * rng.standard_normal(n_units), 0, 1)
            out.append([(np.arange(20) < round(20 * q)).astype(float) for q in ps])
        return out

    stds, intercept = bootstrap_crossings(
        {100: units(0.02, 8), 400: units(0.2, 8), 1600: units(0.02, 8)},
        xs,
        0.5,
        n_boot=200,
        seed=0,
    )
    assert stds[400] > 2 * stds[100] and intercept is not None and intercept > 0
    stds, intercept = bootstrap_crossings({100: units(0.1, 1)}, xs, 0.5, n_boot=50, seed=0)
    assert stds == {} and intercept is None
