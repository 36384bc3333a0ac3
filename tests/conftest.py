"""Shared fixtures: a seeded generator per test and a fixed global seed.

No default dtype is set here: numerical checks ask for float64 themselves
(``dtype=torch.float64`` on the tensors they build), so that the library's float32 paths
(MNIST, the models' defaults) are exercised as users meet them.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def gen() -> torch.Generator:
    """A seeded CPU generator (fresh per test)."""
    return torch.Generator().manual_seed(1234)


@pytest.fixture(autouse=True)
def _global_seed() -> None:
    """Seed torch's global generator, so a test that forgets its own generator is repeatable."""
    torch.manual_seed(0)
