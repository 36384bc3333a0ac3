"""The model contract, checked for every family through the generic API.

Each family is one entry of :data:`FAMILIES`: a factory of a float64 model (a bound view for
input-driven models), a sampler of valid states, and the dynamics along which a theorem says
the energy never rises. Adding a family is one line there; every test below then runs on it:

* each declared capability works through the generic calls (``fixed_point``, ``integrate``,
  ``rollout``, ``energy_along``, ``energy_increase_rate``, ``jacobian_norms``);
* ``jacobian`` equals autograd of ``update`` (or of the field, for a pure flow) in float64;
* the energy does not rise along the model's own dynamics where a theorem says so;
* each capability it does not declare raises a one-line ``CapabilityError`` naming the model,
  from the method and from the generic call;
* an input-driven model that was not bound fails every generic call with "bind first".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from hopfield_lab.analysis import (
    energy_along,
    energy_increase_rate,
    jacobian_norms,
    resolve_jacobian,
    rollout,
)
from hopfield_lab.core import CAPABILITIES, HopfieldModel
from hopfield_lab.data.synthetic import hadamard_patterns
from hopfield_lab.errors import CapabilityError
from hopfield_lab.models import (
    VHNN,
    BinaryHopfield,
    ClassicInputHopfield,
    ConvHNN2d,
    DeepHNN,
    FiniteStepHopfield,
    HopfieldODE,
    IDPHopfield,
    LayeredHopfield,
    ModernHopfield,
    SequentialIDP,
)
from hopfield_lab.solvers import fixed_point, integrate

D = torch.float64
B = 4


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- factories
def _binary() -> HopfieldModel:
    xi = torch.where(torch.rand(3, 12, generator=_gen(1), dtype=D) < 0.5, -1.0, 1.0)
    return BinaryHopfield.hebbian(xi)


def _modern() -> HopfieldModel:
    return ModernHopfield(torch.randn(5, 6, generator=_gen(2), dtype=D), beta=1.5)


def _finite_step() -> HopfieldModel:
    torch.manual_seed(3)
    return FiniteStepHopfield(6, 4, activation="tanh", beta=1.5, a=0.5, K=3).double()


def _layered(kind: str, scheme: str) -> Callable[[], HopfieldModel]:
    def make() -> HopfieldModel:
        torch.manual_seed(4)
        model = LayeredHopfield([5, 4, 3, 2], kind=kind).double()  # type: ignore[arg-type]
        x = torch.rand(B, 5, generator=_gen(5), dtype=D)
        return model.bind(x, scheme)  # type: ignore[arg-type]

    return make


def _deephnn() -> HopfieldModel:
    torch.manual_seed(6)
    return DeepHNN(2, 3, 5, deep=2, beta=0.7).double().as_hopfield(1)


def _convhnn() -> HopfieldModel:
    torch.manual_seed(7)
    return ConvHNN2d(2, 4, 2, beta=0.5).double().as_hopfield()


def _vhnn() -> HopfieldModel:
    torch.manual_seed(8)
    return VHNN(2, 4, 5, beta=0.8).double().as_hopfield(0)


def _memories(P: int, N: int, seed: int) -> torch.Tensor:
    return hadamard_patterns(P, N, generator=_gen(seed), dtype=D)


def _ode(activation: str) -> Callable[[], HopfieldModel]:
    def make() -> HopfieldModel:
        model = HopfieldODE(12, activation, generator=_gen(15), dtype=D)
        with torch.no_grad():
            model.b.copy_(0.3 * torch.randn(12, generator=_gen(16), dtype=D))
        return model

    return make


def _idp_input(seed: int) -> torch.Tensor:
    """Inputs ``u = a Xi^T`` (B, 32) on 4 Hadamard memories, one per sample, saliencies in
    [0.5, 2.5]: some memories exist (alpha > 1), some do not."""
    a = 0.5 + 2.0 * torch.rand(B, 4, generator=_gen(seed), dtype=D)
    return a @ _memories(4, 32, 12)


def _idp() -> HopfieldModel:
    return IDPHopfield(_memories(4, 32, 12), "tanh", 2.0).bind(_idp_input(13))


def _idp_hardtanh() -> HopfieldModel:
    return IDPHopfield(_memories(4, 32, 12), "hardtanh").bind(_idp_input(14))


def _idp_classic() -> HopfieldModel:
    return ClassicInputHopfield(_memories(4, 32, 12), "tanh", 1.5).bind(0.3 * _idp_input(15))


def _sequential_idp() -> HopfieldModel:
    return SequentialIDP(_memories(8, 64, 16), 5.0, 0.05)


def _spins(model: HopfieldModel, gen: torch.Generator) -> torch.Tensor:
    return torch.where(torch.rand(B, model.state_dim, generator=gen, dtype=D) < 0.5, -1.0, 1.0)


def _gauss(model: HopfieldModel, gen: torch.Generator) -> torch.Tensor:
    return torch.randn(B, model.state_dim, generator=gen, dtype=D)


@dataclass(frozen=True)
class Family:
    """A model family under the contract test.

    Attributes:
        make: a float64 model (bound, for an input-driven family).
        states: valid states ``(B, N)`` for a model and a generator.
        descends: the model's dynamics along which a theorem says the energy never rises:
            ``"update"`` (the map) and/or ``"vector_field"`` (the flow).
    """

    make: Callable[[], HopfieldModel]
    states: Callable[[HopfieldModel, torch.Generator], torch.Tensor] = _gauss
    descends: tuple[str, ...] = ()


BOTH = ("update", "vector_field")
FLOW = ("vector_field",)

FAMILIES: dict[str, Family] = {
    "binary": Family(_binary, _spins),  # parallel sgn update: 2-cycles, no descent theorem
    "modern": Family(_modern, descends=BOTH),  # Prop. 3.2; gradient flow
    "finite-step": Family(_finite_step, descends=BOTH),  # convex Phi majoriser; gradient flow
    "layered-ham-sync": Family(_layered("ham", "sync"), descends=FLOW),  # Eq. 4 (App. E)
    "layered-ham-even-odd": Family(_layered("ham", "even_odd"), descends=BOTH),  # Theorem 2
    "layered-chn-sync": Family(_layered("chn", "sync"), descends=FLOW),  # Eq. 2
    "layered-chn-even-odd": Family(_layered("chn", "even_odd")),  # inexact local solves
    "deephnn-view": Family(_deephnn, descends=BOTH),  # ModernHopfield views
    "convhnn-view": Family(_convhnn, descends=BOTH),
    "vhnn-view": Family(_vhnn, descends=BOTH),
    "idp-tanh": Family(_idp, descends=FLOW),  # E(x; u), dE/dt = -sum psi' xdot^2 (spec T6)
    "idp-hardtanh": Family(_idp_hardtanh, descends=FLOW),
    "idp-classic": Family(_idp_classic, descends=FLOW),  # constant input: a Lyapunov flow
    "sequential-idp": Family(_sequential_idp),  # slow law: no energy, a flow in (x, alpha)
    "ode-tanh": Family(_ode("tanh"), descends=FLOW),  # ODE paper Eq. 10, convex L
    "ode-relu": Family(_ode("relu"), descends=FLOW),
    "ode-softplus": Family(_ode("softplus"), descends=FLOW),
    "ode-gelu": Family(_ode("gelu")),  # non-convex Lagrangian: no energy
}

NAMES = list(FAMILIES)


def _setup(name: str) -> tuple[HopfieldModel, torch.Tensor, Family]:
    fam = FAMILIES[name]
    model = fam.make()
    return model, fam.states(model, _gen(11)), fam


def _flow(model: HopfieldModel, x0: torch.Tensor, t_end: float = 1.0, n: int = 5):
    t = torch.linspace(0.0, t_end, n, dtype=D)
    return integrate(model.vector_field, x0, t, method="rk4", step_size=0.05)


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", NAMES)
def test_declared_capabilities_are_callable(name: str) -> None:
    model, _, _ = _setup(name)
    caps = model.capabilities()
    assert caps <= set(CAPABILITIES) and caps, f"{name} declares {caps}"
    assert model.has("update") or model.has("vector_field")
    for cap in caps:
        assert model.has(cap) and callable(getattr(model, cap))


@pytest.mark.parametrize("name", NAMES)
def test_update_through_the_generic_api(name: str) -> None:
    model, x0, _ = _setup(name)
    if not model.has("update"):
        pytest.skip("no update")
    with torch.no_grad():
        traj = rollout(model, x0, 3)
        res = fixed_point(model.update, x0, max_iter=50, on_divergence="flag")
    assert traj.shape == (4, *x0.shape) and bool(torch.isfinite(traj).all())
    torch.testing.assert_close(traj[1], model.update(x0))
    assert res.x.shape == x0.shape and bool(torch.isfinite(res.x).all())


@pytest.mark.parametrize("name", NAMES)
def test_flow_through_the_generic_api(name: str) -> None:
    model, x0, _ = _setup(name)
    if not model.has("vector_field"):
        pytest.skip("no flow")
    with torch.no_grad():
        res = _flow(model, x0)
        field = model.vector_field(0.0, x0)
    assert field.shape == x0.shape
    assert res.trajectory is not None and res.trajectory.shape == (5, *x0.shape)
    assert bool(torch.isfinite(res.x).all())


@pytest.mark.parametrize("name", NAMES)
def test_energy_through_the_generic_api(name: str) -> None:
    model, x0, _ = _setup(name)
    if not model.has("energy"):
        pytest.skip("no energy")
    with torch.no_grad():
        e = model.energy(x0)
        traj = rollout(model, x0, 3) if model.has("update") else _flow(model, x0).trajectory
        along = energy_along(model, traj)
    assert e.shape == (B,) and bool(torch.isfinite(e).all())
    assert along.shape == (traj.shape[0], B)
    torch.testing.assert_close(along[0], e)  # flattened time-major batch = per-step calls
    torch.testing.assert_close(along[-1], model.energy(traj[-1]))
    rate = energy_increase_rate(along)
    assert 0.0 <= rate["rate"] <= 1.0 and rate["mask"].shape == (traj.shape[0] - 1, B)


@pytest.mark.parametrize("name", NAMES)
def test_energy_does_not_rise_along_the_models_own_dynamics(name: str) -> None:
    model, x0, fam = _setup(name)
    if not fam.descends:
        pytest.skip("no descent theorem for this family's dynamics")
    with torch.no_grad():
        for dyn in fam.descends:
            if dyn == "update":
                traj = rollout(model, x0, 25)
            else:
                traj = _flow(model, x0, t_end=3.0, n=31).trajectory
            energies = energy_along(model, traj)
            rate = energy_increase_rate(energies, rtol=1e-10)
            assert rate["rate"] == 0.0, f"{name}: energy rises along {dyn}: {rate['max_rise']}"
            assert bool((energies[-1] < energies[0]).all())  # and it moves


def _autograd_reference(model: HopfieldModel, x: torch.Tensor) -> torch.Tensor:
    """``d map(x)[b] / d x[b]`` from the full-batch Jacobian (no single-row call)."""
    fn = model.update if model.has("update") else (lambda v: model.vector_field(0.0, v))
    full = torch.autograd.functional.jacobian(fn, x)  # (B, N, B, N)
    idx = torch.arange(x.shape[0])
    return full[idx, :, idx, :]  # (B, N, N)


@pytest.mark.parametrize("name", NAMES)
def test_jacobian_is_d_update_dx_and_feeds_the_diagnostics(name: str) -> None:
    model, x0, _ = _setup(name)
    if not model.has("jacobian"):
        pytest.skip("no jacobian")
    jac = model.jacobian(x0)
    assert jac.shape == (B, model.state_dim, model.state_dim)
    torch.testing.assert_close(jac, _autograd_reference(model, x0), rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        traj = rollout(model, x0, 2) if model.has("update") else _flow(model, x0, n=3).trajectory
        norms = jacobian_norms(model, traj)
    assert norms.shape == (2, B)
    torch.testing.assert_close(norms[0], torch.linalg.matrix_norm(jac.detach(), ord=2))


def _generic_call(model: HopfieldModel, cap: str, x0: torch.Tensor) -> Callable[[], object]:
    """The generic API call that needs ``cap``."""
    traj = torch.stack([x0, x0])
    return {
        "energy": lambda: energy_along(model, traj),
        "update": lambda: rollout(model, x0, 2),
        "vector_field": lambda: integrate(model.vector_field, x0, [0.0, 1.0]),
        "jacobian": lambda: jacobian_norms(model, traj),
    }[cap]


@pytest.mark.parametrize("name", NAMES)
def test_undeclared_capabilities_raise_one_clear_line(name: str) -> None:
    model, x0, _ = _setup(name)
    missing = [c for c in CAPABILITIES if not model.has(c)]
    for cap in missing:
        method = getattr(model, cap)
        args = (0.0, x0) if cap == "vector_field" else (x0,)
        direct = functools.partial(method, *args)
        for call in (direct, _generic_call(model, cap, x0)):
            with pytest.raises(CapabilityError) as info:
                call()
            msg = str(info.value)
            assert "\n" not in msg and type(model).__name__ in msg and f"no {cap}" in msg


def test_spins_refuse_jacobians_instead_of_returning_zeros() -> None:
    model = _binary()
    x0 = _spins(model, _gen(0))
    assert not model.has("jacobian") and not model.has("vector_field")
    for source in (model, model.update):
        with pytest.raises(CapabilityError, match="piecewise constant"):
            resolve_jacobian(source, x0)
    with pytest.raises(CapabilityError, match=r"run\(dynamics="):
        integrate(model.vector_field, x0, [0.0, 1.0])


def test_unbound_input_driven_model_says_bind_first() -> None:
    torch.manual_seed(0)
    model = LayeredHopfield([5, 4, 3, 2]).double()
    assert model.input_driven and model.capabilities() == frozenset()
    x0 = torch.zeros(B, model.dim, dtype=D)
    traj = torch.stack([x0, x0])
    calls = [
        lambda: model.update(x0),
        lambda: model.energy(x0),
        lambda: model.vector_field(0.0, x0),
        lambda: model.jacobian(x0),
        lambda: rollout(model, x0, 2),
        lambda: energy_along(model, traj),
        lambda: jacobian_norms(model, traj),
        lambda: fixed_point(model.update, x0),
        lambda: integrate(model.vector_field, x0, [0.0, 1.0]),
    ]
    for call in calls:
        with pytest.raises(CapabilityError, match="bind one first") as info:
            call()
        assert "LayeredHopfield" in str(info.value) and "\n" not in str(info.value)


def test_models_that_are_not_input_driven_refuse_bind() -> None:
    with pytest.raises(CapabilityError, match="nothing to bind"):
        _modern().bind(torch.zeros(1, 6))
