"""Property-based checks (hypothesis) of the argument boundary: random values of every config
field type through ``--set`` parsing and ``config_from_dict``, and random option values
through the solvers' validation, end in success or the library's own error, never in a raw
Python or torch exception.

Kept fast: a modest ``max_examples`` per test and no deadline (the machine is shared), so the
whole file takes seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import typing

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from hopfield_lab.errors import ConfigError, DivergenceError  # noqa: E402
from hopfield_lab.experiments import EXPERIMENTS  # noqa: E402
from hopfield_lab.experiments.base import apply_overrides, get_experiment  # noqa: E402
from hopfield_lab.experiments.fields import config_from_dict  # noqa: E402
from hopfield_lab.solvers import FixedPointOptions, fixed_point, integrate  # noqa: E402
from hopfield_lab.solvers.sde import euler_maruyama  # noqa: E402

FAST = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,  # the same examples every run: a failure is reproducible, CI is stable
)

get_experiment("retrieval")  # imports every experiment
NAMES = sorted(EXPERIMENTS)

# ---------------------------------------------------------------------------- value strategies
#: Text a user could type after ``key=``: numbers of every size and spelling, lists, words.
typed_text = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(10**500), max_value=10**500).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "inf", "-inf", "1e999", "-0", "true", "none", ",", "1,,2"]),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4).map(
        lambda xs: ",".join(repr(x) for x in xs)
    ),
    st.lists(st.integers(min_value=-(10**30), max_value=10**30), max_size=4).map(
        lambda xs: ",".join(str(x) for x in xs)
    ),
    st.text(max_size=12),
)

#: JSON values as ``config.json`` could hold them, edited by hand or corrupted.
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)

#: Anything a library user could pass as an option.
any_value = st.one_of(
    json_values,
    st.sampled_from(
        [
            torch.tensor([1.0, 2.0]),
            torch.tensor(float("nan")),
            torch.tensor(3),
            (1, 2),
            object(),
            math.inf,
            -math.inf,
            1e-320,
            1e308,
            2**63,
            -(2**63) - 1,
        ]
    ),
)


def _fields(name: str) -> list[str]:
    return [f.name for f in dataclasses.fields(EXPERIMENTS[name].profiles["demo"]) if f.init]


@st.composite
def overrides(draw: st.DrawFn) -> tuple[str, str, str]:
    name = draw(st.sampled_from(NAMES))
    key = draw(st.sampled_from(_fields(name)))
    return name, key, draw(typed_text)


@FAST
@given(overrides())
def test_set_parsing_never_raises_anything_but_config_error(case) -> None:
    name, key, text = case
    base = EXPERIMENTS[name].profiles["demo"]
    try:
        config = apply_overrides(base, [f"{key}={text}"])
    except ConfigError as exc:
        assert "\n" not in str(exc)  # one line on the CLI
        return
    assert dataclasses.is_dataclass(config)


@st.composite
def config_dicts(draw: st.DrawFn) -> tuple[str, dict]:
    name = draw(st.sampled_from(NAMES))
    base = dataclasses.asdict(EXPERIMENTS[name].profiles["demo"])
    keys = draw(st.lists(st.sampled_from(_fields(name)), min_size=1, max_size=3, unique=True))
    for key in keys:
        base[key] = draw(json_values)
    return name, base


@FAST
@given(config_dicts())
def test_config_from_dict_never_raises_anything_but_config_error(case) -> None:
    name, data = case
    try:
        config_from_dict(EXPERIMENTS[name].config_cls, data)
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_every_field_type_is_drawn() -> None:
    """The strategies above reach every kind of field the configs declare (the point of the
    property layer): ints, floats, bools, strings, Literals, tuples, optionals, nested."""
    kinds: set[str] = set()
    for name in NAMES:
        cls = EXPERIMENTS[name].config_cls
        for tp in typing.get_type_hints(cls).values():
            origin = typing.get_origin(tp)
            if origin is typing.Literal:
                kinds.add("literal")
            elif origin is tuple:
                kinds.add("tuple")
            elif origin in (typing.Union, __import__("types").UnionType):
                kinds.add("optional")
            elif dataclasses.is_dataclass(tp):
                kinds.add("nested")
            else:
                kinds.add(getattr(tp, "__name__", str(tp)))
    assert {"int", "float", "bool", "str", "literal", "tuple"} <= kinds


# ------------------------------------------------------------------------------------ solvers
OPTION_FIELDS = [f.name for f in dataclasses.fields(FixedPointOptions)]


@FAST
@given(st.dictionaries(st.sampled_from(OPTION_FIELDS), any_value, min_size=1, max_size=3))
def test_fixed_point_options_validation(kwargs) -> None:
    with contextlib.suppress(ConfigError):
        FixedPointOptions(**kwargs)


def _linear(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return -x


def _slow_step(step: object) -> bool:
    """A valid but small step (millions of steps: correct, only slow); subnormal steps stay in,
    the solvers must refuse them at once (``MAX_STEPS``)."""
    return isinstance(step, float) and 1e-300 < step < 1e-2


INTEGRATE_ARGS = ["method", "step_size", "rtol", "atol", "record", "max_norm", "on_divergence"]
INTEGRATE_ARGS += ["options", "adjoint", "energy"]


@FAST
@given(
    st.dictionaries(st.sampled_from(INTEGRATE_ARGS), any_value, min_size=1, max_size=2),
    st.sampled_from([[0.0, 0.5], [0.0, 0.1, 0.2], "t", [1.0, 0.0], [0.0, math.nan], [[0.0, 1.0]]]),
)
def test_integrate_validation(kwargs, t) -> None:
    hypothesis.assume(not _slow_step(kwargs.get("step_size")))
    x0 = torch.ones(2, 3, dtype=torch.float64)
    with contextlib.suppress(ConfigError, DivergenceError):  # a tiny max_norm diverges
        integrate(_linear, x0, t, **kwargs)


SDE_ARGS = ["sigma", "dt", "record", "max_norm", "on_divergence", "chunk", "observe"]
SDE_ARGS += ["generator", "increments"]


@FAST
@given(st.dictionaries(st.sampled_from(SDE_ARGS), any_value, min_size=1, max_size=2))
def test_euler_maruyama_validation(kwargs) -> None:
    hypothesis.assume(not _slow_step(kwargs.get("dt")))
    x0 = torch.zeros(2, 3, dtype=torch.float64)
    args = {"sigma": 0.1, "dt": 0.05, **kwargs}
    with contextlib.suppress(ConfigError, DivergenceError):
        euler_maruyama(_linear, x0, [0.0, 0.2], **args)


FP_ARGS = ["max_norm", "on_divergence", "record_residuals", "record_trajectory", "energy"]
FP_ARGS += ["batch_independent", "tol", "max_iter", "method", "damping"]


@FAST
@given(st.dictionaries(st.sampled_from(FP_ARGS), any_value, min_size=1, max_size=2))
def test_fixed_point_call_validation(kwargs) -> None:
    x0 = torch.zeros(2, 3, dtype=torch.float64)
    with contextlib.suppress(ConfigError, DivergenceError):
        fixed_point(lambda x: 0.5 * x + 1.0, x0, **kwargs)
