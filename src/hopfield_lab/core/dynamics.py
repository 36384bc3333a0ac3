"""The model contract: the vocabulary every model speaks (checked by a test for every family).

States are batch-first tensors ``x`` of shape ``(B, N)``. A model is a :class:`HopfieldModel`
(an ``nn.Module``) that offers exactly the capabilities its mathematics defines:

================  =========================  ===============================================
capability        method                     meaning
================  =========================  ===============================================
``energy``        ``energy(x) -> (B,)``      a Lyapunov function of the model's dynamics
``update``        ``update(x) -> (B, N)``    a discrete map ``x_{t+1} = T(x_t)``
``vector_field``  ``vector_field(t, x)``     a flow ``dx/dt = F(t, x)``, ``(B, N)``
``jacobian``      ``jacobian(x) -> (B,N,N)`` ``d update / dx`` (``d F / dx`` for a pure flow)
================  =========================  ===============================================

Rules:

* A capability is offered when the subclass overrides the method and
  :meth:`HopfieldModel.capabilities` lists it (a model may withdraw one per instance, e.g. an
  ODE model with GELU has no convex Lagrangian and so no energy). Calling a capability a model
  lacks raises :class:`~hopfield_lab.errors.CapabilityError` (a ``ConfigError``), one line
  naming the model, what is missing, why (where the model says) and what it offers instead.
  There is no inherited default that means nothing for the model: the base class gives no
  relaxation flow for a map, and no Jacobian for a map that is not differentiable (``±1``
  spins: autograd through ``sign`` would return a silent zero).
* ``jacobian`` always means ``d update / dx`` (or ``d vector_field / dx`` for a model with a
  flow and no map). Other Jacobians get their own names (``FiniteStepHopfield.jacobian_T``).
  Where no closed form is written, the base class computes it by autograd
  (``torch.func.vmap(jacrev(...))``), unless the model declares ``differentiable = False``.
* Solvers never see a model, only bound methods: ``fixed_point(model.update, x0)``,
  ``integrate(model.vector_field, x0, t)``. Diagnostics accept a model (duck typing) or the
  bound methods.
* A model driven by an input (the layered HAM/CHN by ``x``, the IDP network by ``u``) is not
  itself a dynamical system until the input is fixed: it sets ``input_driven = True``, its
  generic capabilities raise a ``CapabilityError`` that says to bind, and ``model.bind(input)``
  returns a :class:`BoundModel`, a view that speaks this same contract with the input drive
  precomputed (parameters shared with the parent, so gradients reach it).

Families (``tests/test_model_contract.py`` checks each through the generic API):

=======================  ==========  ===========  ===============  =============  ======
family                   energy      update       vector_field     jacobian       input
=======================  ==========  ===========  ===============  =============  ======
``BinaryHopfield``       yes         parallel     none             none (spins)   -
``ModernHopfield``       yes         CCCP step    ``update - x``   closed form    -
``FiniteStepHopfield``   yes         damped step  ``T(v) - v``     closed form    -
``LayeredHopfield``      bound       bound        bound            bound          ``x``
``LayeredView`` sync     Eq. 3 / 1   Eq. 6 / 5    Eq. 4 / 2        closed form    bound
``LayeredView`` e-o      Eq. 3 / 1   Eq. 10 / 7   HAM only         HAM closed     bound
=======================  ==========  ===========  ===============  =============  ======

The chapter-4 layers (``DeepHNN``, ``ConvHNN2d``, ``VHNN``) are network layers, not models;
their ``as_hopfield(...)`` is the ``ModernHopfield`` they iterate.

Vocabulary for running dynamics (one name per idea):

* ``update(x)`` / ``vector_field(t, x)``: one step of the map / the flow (the contract).
* :func:`~hopfield_lab.solvers.fixed_point` ``(model.update, x0, FixedPointOptions(...))``,
  :func:`~hopfield_lab.solvers.integrate` ``(model.vector_field, x0, t)`` and
  :func:`~hopfield_lab.analysis.rollout` ``(model, x0, K)``: the generic ways to run any
  model; the first two return a :class:`~hopfield_lab.solvers.SolverResult`, ``rollout`` the
  ``(K+1, B, N)`` states.
* ``retrieve(query, options)`` (``ModernHopfield``) and ``solve(x, settings)``
  (``LayeredHopfield``) are ``fixed_point`` with what the model knows (independent rows and
  the energy as Anderson's merit; the bound input, the zero initial state, the scheme and
  implicit gradients). The names differ because the argument does: a query is the initial
  state of an autonomous memory; an input drives the dynamics from a fixed initial state.
  Both return a ``SolverResult`` and take :class:`~hopfield_lab.solvers.FixedPointOptions`
  (the layered model inside its ``DEQSettings``).
* ``FiniteStepHopfield.trajectory(x, K)`` is ``rollout(model, x, K)`` with the network's own
  ``K`` as default (the states its forward pass visits).
* ``BinaryHopfield.run(s0, dynamics=...)`` runs a Markov chain (sequential or Glauber sweeps,
  parallel steps) and returns a ``BinaryRun``. It is the one other result type, on purpose: a
  chain at ``T > 0`` never converges and has no residual or tolerance; what it records is
  sweeps, Mattis overlaps, 2-cycles of parallel dynamics, settling sweeps and the temperature.
* ``forward(x)``: the model as a network layer (``nn.Module``): logits of the finite-step
  classifier, the layered model's output layer at equilibrium; one ``update`` by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from hopfield_lab.errors import CapabilityError, ConfigError

__all__ = [
    "CAPABILITIES",
    "BoundModel",
    "DynamicalModel",
    "HopfieldModel",
    "as_batch",
    "capabilities_of",
]

CAPABILITIES: tuple[str, ...] = ("energy", "update", "vector_field", "jacobian")
"""The capabilities of the contract, in the order they are listed in messages."""


def as_batch(x: Tensor, n: int, *, name: str = "x") -> tuple[Tensor, bool]:
    """Return ``x`` as ``(B, n)`` and whether a batch dimension was added.

    Raises:
        ConfigError: when ``x`` is not 1-D or 2-D with last dimension ``n``.
    """
    if not isinstance(x, Tensor):
        raise ConfigError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if x.dim() == 1 and x.shape[0] == n:
        return x.unsqueeze(0), True
    if x.dim() == 2 and x.shape[1] == n:
        return x, False
    raise ConfigError(f"{name} must have shape (B, {n}) or ({n},); got {tuple(x.shape)}")


@runtime_checkable
class DynamicalModel(Protocol):
    """Structural type of anything that speaks the contract (for type hints and duck typing)."""

    state_dim: int

    def capabilities(self) -> frozenset[str]: ...

    def energy(self, x: Tensor) -> Tensor: ...

    def update(self, x: Tensor) -> Tensor: ...

    def vector_field(self, t: Tensor | float, x: Tensor) -> Tensor: ...

    def jacobian(self, x: Tensor) -> Tensor: ...


class HopfieldModel(nn.Module):
    """Base class of every model family (batch-first states ``(B, N)``).

    Subclasses override the methods their mathematics defines; see the module docstring.

    Class attributes:
        state_dim: dimension ``N`` of the state (set by subclasses, per instance).
        differentiable: whether ``update`` / ``vector_field`` are differentiable maps, so that
            the autograd Jacobian means something. False for spin models.
        input_driven: whether the model needs an input bound (:meth:`bind`) before it is a
            dynamical system.
        capability_notes: ``{capability: why it is missing / what to use instead}``, shown in
            the error raised when a missing capability is called.
    """

    state_dim: int
    differentiable: ClassVar[bool] = True
    input_driven: ClassVar[bool] = False
    capability_notes: ClassVar[Mapping[str, str]] = {}

    # ----------------------------------------------------------------------- capabilities
    def _overrides(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(HopfieldModel, name)

    def capabilities(self) -> frozenset[str]:
        """The capabilities this model offers (a subset of :data:`CAPABILITIES`).

        Default: every method the subclass overrides, plus ``jacobian`` by autograd when the
        model is ``differentiable`` and has an ``update`` or a ``vector_field``. An
        input-driven model offers none until bound. Subclasses may withdraw capabilities per
        instance (and then raise from the method with :meth:`missing`).
        """
        if self.input_driven:
            return frozenset()
        have = {c for c in ("energy", "update", "vector_field") if self._overrides(c)}
        if self._overrides("jacobian") or (
            self.differentiable and ({"update", "vector_field"} & have)
        ):
            have.add("jacobian")
        return frozenset(have)

    def has(self, capability: str) -> bool:
        """Whether ``capability`` (one of :data:`CAPABILITIES`) is offered."""
        if capability not in CAPABILITIES:
            raise ConfigError(
                f"capability must be one of {', '.join(CAPABILITIES)}; got {capability!r}"
            )
        return capability in self.capabilities()

    def missing(self, capability: str) -> CapabilityError:
        """The error for calling a capability this model lacks (raise it)."""
        name = type(self).__name__
        offers = [c for c in CAPABILITIES if c in self.capabilities()]
        if self.input_driven:
            why = "it is driven by an input: bind one first, model.bind(...)"
        else:
            why = self.capability_notes.get(capability, "its equations define none")
        offered = (
            ", ".join(offers) if offers else "nothing until bound" if self.input_driven else "none"
        )
        return CapabilityError(f"{name} has no {capability}: {why} (it offers: {offered})")

    # ----------------------------------------------------------------------- the contract
    def energy(self, x: Tensor) -> Tensor:
        """Energy ``E(x)`` per sample, shape ``(B,)``."""
        raise self.missing("energy")

    def update(self, x: Tensor) -> Tensor:
        """One step of the discrete dynamics ``x -> T(x)``, shape ``(B, N)``."""
        raise self.missing("update")

    def vector_field(self, t: Tensor | float, x: Tensor) -> Tensor:
        """The flow ``dx/dt = F(t, x)``, shape ``(B, N)``."""
        raise self.missing("vector_field")

    def jacobian(self, x: Tensor) -> Tensor:
        """``d update / dx`` (``d vector_field / dx`` without a map), shape ``(B, N, N)``.

        By autograd (per sample, ``vmap(jacrev)``) unless the subclass gives a closed form.
        """
        caps = self.capabilities()
        if "jacobian" not in caps:
            raise self.missing("jacobian")
        from hopfield_lab.analysis.jacobian_stats import autograd_jacobian

        if "update" in caps:
            return autograd_jacobian(self.update)(x)
        return autograd_jacobian(lambda v: self.vector_field(0.0, v))(x)

    def energy_grad(self, x: Tensor) -> Tensor:
        """``grad_x E(x)`` by autograd (subclasses override with a closed form)."""
        if "energy" not in self.capabilities():
            raise self.missing("energy")
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.energy(xg).sum(), xg)
        return g

    def bind(self, *args: Any, **kwargs: Any) -> BoundModel:
        """Fix the input of an input-driven model; returns a :class:`BoundModel` view."""
        raise CapabilityError(
            f"{type(self).__name__} is not driven by an input; use it directly (nothing to bind)"
        )

    def forward(self, x: Tensor) -> Tensor:
        """One ``update`` (models whose forward pass is something else override this)."""
        return self.update(x)


def capabilities_of(model: Any) -> frozenset[str]:
    """The capabilities of ``model``: its own declaration, or for a duck-typed object the
    contract methods it has as callables."""
    caps = getattr(model, "capabilities", None)
    if callable(caps):
        out = caps()
        if isinstance(out, frozenset):
            return out
    return frozenset(c for c in CAPABILITIES if callable(getattr(model, c, None)))


class BoundModel(HopfieldModel):
    """A view of an input-driven model with its input fixed (``model.bind(input)``).

    It holds the parent (parameters shared, so gradients of anything computed on the view
    reach the parent's parameters) and whatever input drive the parent precomputed for the
    ``batch`` inputs it was bound to. Subclasses implement the contract methods for their
    family; the parent's ``bind`` documents which.

    Batch rule: row ``b`` of a state belongs to input ``b``. States of ``k * batch`` rows are
    read as ``k`` stacked copies of the bound batch (row ``r`` goes with input
    ``r mod batch``): the layout of a trajectory ``(T+1, B, N)`` flattened to
    ``((T+1) B, N)``, which is how :func:`~hopfield_lab.analysis.energy_along` evaluates it.
    Any other batch size raises a ``ConfigError`` (:meth:`rows`). Solvers must therefore not
    evaluate a bound model on a subset of rows (``fixed_point``'s ``batch_independent`` stays
    False).

    The default :meth:`jacobian` is autograd of ``update`` (or of the field) by ``N`` batched
    vector-Jacobian products on the whole batch (:func:`~hopfield_lab.analysis.batch_jacobian`),
    never on a single row, since a single row would not match the bound inputs.

    Attributes:
        parent: the input-driven model.
        batch: number of bound inputs ``B``.
    """

    def __init__(self, parent: nn.Module, state_dim: int, batch: int) -> None:
        super().__init__()
        self.parent = parent
        self.state_dim = int(state_dim)
        self.batch = int(batch)

    def _overrides(self, name: str) -> bool:
        # BoundModel.jacobian is the generic autograd default, not a subclass's own Jacobian
        if name == "jacobian" and type(self).jacobian is BoundModel.jacobian:
            return False
        return super()._overrides(name)

    def rows(self, drive: Tensor, x: Tensor) -> Tensor:
        """The rows of a per-input tensor ``drive`` ``(B, ...)`` that go with states ``x``.

        Args:
            drive: a tensor with one row per bound input, ``(B, ...)``.
            x: states ``(k B, N)``.

        Returns:
            ``drive`` itself for ``k = 1``, else ``k`` stacked copies ``(k B, ...)``.

        Raises:
            ConfigError: when the number of states is not a multiple of ``B`` or the state
                dimension is not :attr:`state_dim`.
        """
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.state_dim:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ConfigError(
                f"{type(self).__name__} states must have shape (B, {self.state_dim}); got {got}"
            )
        n = x.shape[0]
        if n == self.batch:
            return drive
        if n == 0 or n % self.batch:
            raise ConfigError(
                f"{type(self).__name__} was bound to {self.batch} inputs: states must have "
                f"{self.batch} rows (or a multiple, stacked copies); got {n}"
            )
        return drive.repeat(n // self.batch, *([1] * (drive.dim() - 1)))

    def jacobian(self, x: Tensor) -> Tensor:
        """``d update / dx`` (``d vector_field / dx`` without a map) by batched autograd."""
        caps = self.capabilities()
        if "jacobian" not in caps:
            raise self.missing("jacobian")
        from hopfield_lab.analysis.jacobian_stats import batch_jacobian

        if "update" in caps:
            return batch_jacobian(self.update)(x)
        return batch_jacobian(lambda v: self.vector_field(0.0, v))(x)

    def extra_repr(self) -> str:
        return f"state_dim={self.state_dim}, batch={self.batch}"
