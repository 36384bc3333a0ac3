"""Layered Hopfield networks as deep equilibrium models: HAM and CHN (DEQ paper, Secs. 2-3).

Reading of the paper's equations (the text copy lost its activation symbols; App. B-D and
Theorem 2 fix them). Row-vector states, batch first; ``rho`` is the activation (default
``shifted_sigmoid``, ``rho(u) = sigmoid(4u - 2)``, App. F), applied elementwise:

* layers ``[d, n_1, ..., n_{L-1}]``: layer 0 is the input ``x`` (not part of the state), the
  state ``s = [s_1; ...; s_{L-1}]`` has ``D = n_1 + ... + n_{L-1}`` entries and the output is
  the last layer ``s_{L-1}``. Layers ``l`` and ``l + 1`` are coupled by ``W_l`` ``(n_l,
  n_{l+1})`` in both directions (the block-tridiagonal symmetric ``W`` of Fig. 1), optional
  ``skip`` edges add blocks between other layer pairs. The input enters layer 1 through
  ``U`` ``(d, n_1)`` as ``rho(x) U`` (hopdeq's ``preprocess_inputs``);
* the drive ``h(s) = rho(s) W + b + [rho(x) U, 0, ..., 0]`` (the bracket of Eqs. 5-6);
* HAM (Eq. 6/13): ``s = h(s)``, the equilibrium of ``ds/dt = -s + h(s)`` (Eq. 4);
* CHN (Eq. 5/12, the Bengio-Fischer energy of Eq. 1): ``s = rho'(s) * h(s)``, the equilibrium
  of ``ds/dt = -s + rho'(s) * h(s)`` (Eq. 2).

Even-odd splitting (Theorem 2, Eqs. 7-10). The layer graph (edges between state layers) must
be bipartite; its two colour classes are the "even" and "odd" groups of the paper. We call
*primary* the class holding the output layer (the paper's ``s_even`` for an odd number of
layers) and *auxiliary* the other. One even-odd iteration updates the auxiliary group from the
primary one, then the primary group from the new auxiliary one:

* HAM (Eq. 8-10): each half step is exact (``s_aux = h_aux(s_primary)``), so the DEQ state is
  the primary group alone: ``z <- h_primary(h_aux(z))`` (Eq. 10);
* CHN (Eq. 7): each half step is itself the local fixed point ``s_g = rho'(s_g) * C_g``
  (``C_g`` the drive from the other group), approximated by ``inner_iters`` damped iterations
  ``s_g <- (1 - a) s_g + a rho'(s_g) * C_g`` (paper and hopdeq: 10 iterations, a = 0.5), warm
  started from the current value; the DEQ state holds both groups ``[primary, auxiliary]``.

The groups are found from the layer graph by breadth-first two-colouring (any bipartite
layered model, skip connections between the classes included), not hard-coded per depth.

HAM energy (Eq. 3, Krotov 2021), with ``L`` the Lagrangian (``L' = rho``)::

    E(s) = sum_l [s_l . rho(s_l) - L(s_l)] - 1/2 rho(s) W rho(s)^T - b . rho(s)
           - rho(s_1) . rho(x) U

``dE/ds = rho'(s) * (s - h(s))``, so ``E`` decreases along the flow of Eq. 4, and each exact
even-odd half step minimises ``E`` over one group (``s_l rho(s_l) - L(s_l)`` is the convex
conjugate of ``L`` at ``rho(s_l)``): ``E`` never rises under even-odd splitting, while
synchronous updates may raise it and end in a 2-cycle (App. E). CHN energy (Eq. 1):
``1/2 |s|^2 - 1/2 rho(s) W rho(s)^T - b . rho(s) - rho(s_1) . rho(x) U``.

Theorem 3 (App. D): with ``psi(s) = s / rho'(s)``, a CHN equilibrium satisfies
``psi(s) = h(s)``; the change of variables ``u = psi(s)`` turns it into the HAM equilibrium
``u = rho~(u) W + b + rho~(psi(x)) U`` with the effective non-linearity
``rho~ = rho o psi^{-1}`` and the input preprocessing ``x -> psi(x)``. See
:func:`effective_activation`, :func:`chn_to_ham` and :func:`check_theorem3`.

In the model contract (:mod:`hopfield_lab.core.dynamics`) the model is input-driven:
``model.bind(x, scheme)`` is a :class:`LayeredView` with the energy, update, flow and Jacobian
above on the DEQ state of the scheme, and :meth:`LayeredHopfield.solve` is ``fixed_point`` on
that view with :class:`DEQSettings` (a :class:`~hopfield_lab.solvers.FixedPointOptions` plus
the scheme and the gradient mode). Stability and the energy: at an equilibrium the Hessian of
``E`` is congruent to ``I - J`` (``J`` the synchronous map's Jacobian; for the HAM
``grad^2 E = D - D W D`` with ``D = diag(rho'(s))`` and ``J = W D``, for the CHN
``grad^2 E = I - J``), so an equilibrium is a local minimum of ``E`` exactly when every
eigenvalue of ``J`` is below 1: the equilibria the flow leaves are the saddles of ``E``. Hence
Anderson's residual safeguard takes the energy as its merit by default.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from hopfield_lab.core.activations import Activation, get_activation
from hopfield_lab.core.dynamics import BoundModel, HopfieldModel
from hopfield_lab.errors import ConfigError, DivergenceError, check_choice, check_int, check_range
from hopfield_lab.solvers.fixed_point import fixed_point
from hopfield_lab.solvers.gradients import GRADIENT_MODES, GradMode, solve_fixed_point
from hopfield_lab.solvers.options import FixedPointOptions
from hopfield_lab.solvers.result import SolverResult, flat_norm

__all__ = [
    "DEQ_SOLVER",
    "KINDS",
    "SCHEMES",
    "DEQSettings",
    "LayeredHopfield",
    "LayeredView",
    "bipartition",
    "check_theorem3",
    "chn_to_ham",
    "effective_activation",
    "layer_edges",
    "sync_two_cycle_example",
]

KINDS = ("ham", "chn")
SCHEMES = ("sync", "even_odd")
Kind = Literal["ham", "chn"]
Scheme = Literal["sync", "even_odd"]


# ------------------------------------------------------------------------------ layer graph
def layer_edges(n_layers: int, skip: Sequence[tuple[int, int]] = ()) -> tuple[tuple[int, int], ...]:
    """Edges between state layers ``1 .. n_layers - 1``: successive pairs plus ``skip``.

    Args:
        n_layers: number of layers including the input (>= 3).
        skip: extra ``(i, j)`` pairs of state layers (``1 <= i, j < n_layers``, ``i != j``).

    Returns:
        Sorted unique ``(i, j)`` with ``i < j``.

    Raises:
        ConfigError: a skip edge outside the state layers, a self-loop or a malformed pair.
    """
    check_int("number of layers", n_layers, 3)
    edges = {(l, l + 1) for l in range(1, n_layers - 1)}
    for pair in skip:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ConfigError(f"skip edges must be (i, j) pairs; got {pair!r}")
        i, j = (int(v) for v in pair)
        if not (1 <= i < n_layers and 1 <= j < n_layers) or i == j:
            raise ConfigError(
                f"skip edge {pair!r} must join two distinct state layers in 1..{n_layers - 1}"
            )
        edges.add((min(i, j), max(i, j)))
    return tuple(sorted(edges))


def bipartition(
    n_layers: int, edges: Sequence[tuple[int, int]]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two-colour the layer graph: ``(primary, auxiliary)`` groups of state layers.

    The primary group holds the output layer ``n_layers - 1``; every edge joins the groups.

    Raises:
        ConfigError: if the graph has an odd cycle (even-odd splitting then does not apply).
    """
    nodes = range(1, n_layers)
    adj: dict[int, list[int]] = {v: [] for v in nodes}
    for i, j in edges:
        adj[i].append(j)
        adj[j].append(i)
    colour: dict[int, int] = {}
    for root in [n_layers - 1, *nodes]:  # the output's component first: output gets colour 0
        if root in colour:
            continue
        colour[root] = 0
        queue = deque([root])
        while queue:
            v = queue.popleft()
            for w in adj[v]:
                if w not in colour:
                    colour[w] = 1 - colour[v]
                    queue.append(w)
                elif colour[w] == colour[v]:
                    raise ConfigError(
                        f"the layer graph is not bipartite (edge {min(v, w)}-{max(v, w)} closes "
                        "an odd cycle): even-odd splitting needs edges between the two groups only"
                    )
    primary = tuple(v for v in nodes if colour[v] == 0)
    return primary, tuple(v for v in nodes if colour[v] == 1)


# ------------------------------------------------------------------------------ solver settings
DEQ_SOLVER = FixedPointOptions(max_iter=40, tol=1e-4, window=4, lam=1e-10)
"""The DEQ paper's forward solver for 3 layers (App. F): Picard, 40 iterations, relative
residual 1e-4, Anderson window 4 and Tikhonov 1e-10 when ``method="anderson"``."""

_ADJOINT_TOL = 1e-8


@dataclass(frozen=True)
class DEQSettings:
    """How a :class:`LayeredHopfield` finds its equilibrium (DEQ paper, Sec. 4 and App. F).

    The forward solver is a :class:`~hopfield_lab.solvers.FixedPointOptions` (one dataclass
    for every fixed-point solve in the library); the rest is what only a DEQ has: the update
    scheme, how gradients cross the fixed point, and whether Anderson's safeguard uses the
    model's energy. :meth:`of` builds one from flat keywords, routing solver fields into
    ``solver``: ``DEQSettings.of(scheme="even_odd", method="anderson", max_iter=200)``.

    Attributes:
        scheme: ``"sync"`` (all layers at once, Eqs. 5-6) or ``"even_odd"`` (Theorem 2).
            Default "sync".
        solver: the forward fixed-point options. Default :data:`DEQ_SOLVER` (Picard, 40
            iterations, tol 1e-4; paper: 40/80/120 iterations for 3/5/7 layers, doubled with
            damping; damping 0.5 with ``method="damped"`` or ``"anderson"`` for the
            synchronous CHN).
        grad: ``"implicit"`` (recurrent backprop on the adjoint fixed point) or
            ``"unrolled"`` (BPTT). Default "implicit".
        backward_max_iter: recurrent-backprop iterations (paper: 8/16/24, doubled with
            damping). Default 8. The adjoint is solved by Picard, damped (0.5) when the
            forward solve is damped, to relative tolerance 1e-8 (:attr:`backward`).
        energy_merit: with Anderson and the ``"residual"`` safeguard, reject extrapolations
            that raise the bound model's energy (its :meth:`LayeredView.energy` becomes the
            solver's ``merit`` unless ``solver.merit`` is set). Default True. Why: at an
            equilibrium ``s*`` the Hessian of the HAM energy is congruent to ``I - J`` (``J``
            the Jacobian of the synchronous map; for the CHN it equals ``I - J``), so the
            equilibria whose Jacobian has an eigenvalue above 1, which the flow and
            (damped) Picard leave, are exactly the saddles of ``E``; without the merit
            Anderson settles on such points for a few samples (``tests/test_layered.py``,
            ``test_anderson_does_not_settle_on_unstable_equilibria``). The proxy safeguard
            ignores it.

    Raises:
        ConfigError: for an unknown scheme or grad mode, a solver that is not a
            FixedPointOptions, or ``backward_max_iter < 1``.
    """

    scheme: Scheme = "sync"
    solver: FixedPointOptions = DEQ_SOLVER
    grad: GradMode = "implicit"
    backward_max_iter: int = 8
    energy_merit: bool = True

    def __post_init__(self) -> None:
        check_choice("scheme", self.scheme, SCHEMES)
        if not isinstance(self.solver, FixedPointOptions):
            raise ConfigError(
                f"solver must be a FixedPointOptions; got {type(self.solver).__name__}"
            )
        check_choice("grad", self.grad, GRADIENT_MODES)
        check_int("backward_max_iter", self.backward_max_iter, 1)
        if not isinstance(self.energy_merit, bool):
            raise ConfigError(f"energy_merit must be a bool; got {self.energy_merit!r}")

    @classmethod
    def of(cls, settings: DEQSettings | None = None, **changes: Any) -> DEQSettings:
        """``settings`` (default: the defaults) with ``changes`` applied.

        A change named like a field of this class replaces it; one named like a field of
        :class:`~hopfield_lab.solvers.FixedPointOptions` (``method``, ``tol``, ``max_iter``,
        ``damping``, ``safeguard``, ...) changes ``solver``.

        Raises:
            ConfigError: for an unknown name or an invalid value.
        """
        base = cls() if settings is None else settings
        if not isinstance(base, DEQSettings):
            raise ConfigError(f"settings must be a DEQSettings; got {type(base).__name__}")
        own = {f.name for f in dataclasses.fields(cls)}
        top = {k: v for k, v in changes.items() if k in own}
        rest = {k: v for k, v in changes.items() if k not in own}
        if rest:
            solver = top.get("solver", base.solver)
            if not isinstance(solver, FixedPointOptions):
                raise ConfigError(
                    f"solver must be a FixedPointOptions; got {type(solver).__name__}"
                )
            try:
                top["solver"] = solver.replace(**rest)
            except ConfigError as err:
                raise ConfigError(f"{err} (or a DEQSettings field: {', '.join(own)})") from None
        return dataclasses.replace(base, **top) if top else base

    def replace(self, **changes: Any) -> DEQSettings:
        """A copy with some fields (or solver fields) changed; see :meth:`of`."""
        return DEQSettings.of(self, **changes)

    @property
    def backward(self) -> FixedPointOptions:
        """Options of the adjoint solve: Picard (damped 0.5 after a damped forward solve),
        ``backward_max_iter`` iterations, relative tolerance 1e-8."""
        damped = self.solver.damping > 0
        return FixedPointOptions(
            method="damped" if damped else "picard",
            damping=0.5 if damped else 0.0,
            max_iter=self.backward_max_iter,
            tol=_ADJOINT_TOL,
        )

    def options_for(self, view: LayeredView) -> FixedPointOptions:
        """The forward options for a bound model: :attr:`solver`, with ``view.energy`` as
        the merit where :attr:`energy_merit` applies (Anderson, residual safeguard, no merit
        set)."""
        opts = self.solver
        if (
            self.energy_merit
            and opts.method == "anderson"
            and opts.safeguard == "residual"
            and opts.merit is None
        ):
            opts = opts.replace(merit=view.energy)
        return opts


# ------------------------------------------------------------------------------ the model
class LayeredHopfield(HopfieldModel):
    """A layered HAM or CHN with bidirectional weights between connected layers.

    An input-driven model (``input_driven = True``): it becomes a dynamical system once an
    input is bound, ``view = model.bind(x, scheme)`` (a :class:`LayeredView` with the
    contract's ``energy``, ``update``, ``vector_field`` and ``jacobian`` on the DEQ state of
    the scheme); its own generic methods raise the "bind first" ``CapabilityError``.
    :meth:`solve` finds the equilibrium for inputs (a thin call of
    :func:`~hopfield_lab.solvers.fixed_point` on the view) and ``forward(x)`` returns the
    output layer there.

    Args:
        layers: ``[d, n_1, ..., n_out]``, at least 3 positive integers (input, >= 1 hidden or
            output layers; the last is the output).
        kind: ``"ham"`` (Eq. 6) or ``"chn"`` (Eq. 5). Default "ham".
        activation: a registered activation name or :class:`Activation` (elementwise).
            Default ``"shifted_sigmoid"`` (``sigmoid(4u - 2)``).
        skip: extra edges between state layers (must keep the graph bipartite for
            even-odd splitting).
        inner_iters: CHN even-odd local iterations per half step (paper: 10).
        inner_damping: damping of those local iterations, in [0, 1) (paper: 0.5).

    Initialisation (App. F): Xavier-uniform ``U`` and per-edge ``W_e``; biases ``N(0, 0.01^2)``.

    Raises:
        ConfigError: bad layer list, unknown kind or activation, non-elementwise activation,
            damping outside [0, 1).
    """

    input_driven = True

    def __init__(
        self,
        layers: Sequence[int],
        *,
        kind: Kind = "ham",
        activation: str | Activation = "shifted_sigmoid",
        skip: Sequence[tuple[int, int]] = (),
        inner_iters: int = 10,
        inner_damping: float = 0.5,
    ) -> None:
        super().__init__()
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
            raise ConfigError(f"layers must be a list of layer sizes; got {layers!r}")
        if len(layers) < 3:
            raise ConfigError(
                f"layers must list at least 3 sizes (input, hidden..., output); got {list(layers)}"
            )
        for i, n in enumerate(layers):
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ConfigError(f"layers[{i}] must be a positive integer; got {n!r}")
        check_choice("kind", kind, KINDS)
        check_int("inner_iters", inner_iters, 1)
        check_range("inner_damping", inner_damping, 0.0, 1.0, high_inclusive=False)
        self.layers = tuple(int(n) for n in layers)
        self.kind = kind
        self.act = get_activation(activation)
        if not self.act.elementwise:
            raise ConfigError(f"activation must be elementwise; {self.act.name!r} is not")
        self.inner_iters = inner_iters
        self.inner_damping = float(inner_damping)
        n_layers = len(self.layers)
        self.edges = layer_edges(n_layers, skip)
        sizes = self.layers[1:]
        starts = [0]
        for n in sizes:
            starts.append(starts[-1] + n)
        self._slices = {l: slice(starts[l - 1], starts[l]) for l in range(1, n_layers)}
        self.dim = starts[-1]
        self.U = nn.Parameter(nn.init.xavier_uniform_(torch.empty(self.layers[0], self.layers[1])))
        self.weights = nn.ParameterList(
            nn.Parameter(nn.init.xavier_uniform_(torch.empty(self.layers[i], self.layers[j])))
            for i, j in self.edges
        )
        self.b = nn.Parameter(torch.randn(self.dim) * 0.01)
        try:
            self.primary, self.auxiliary = bipartition(n_layers, self.edges)
        except ConfigError:
            self.primary, self.auxiliary = (), ()  # even-odd unavailable; sync still works
        self._prim_dim = sum(self.layers[l] for l in self.primary)
        self.state_dim = self.dim

    # --------------------------------------------------------------------------- basics
    @property
    def output_layer(self) -> int:
        return len(self.layers) - 1

    @property
    def n_out(self) -> int:
        return self.layers[-1]

    def extra_repr(self) -> str:
        return f"layers={list(self.layers)}, kind={self.kind!r}, activation={self.act.name!r}"

    def blocks(self, s: Tensor) -> dict[int, Tensor]:
        """Split a full state ``(B, D)`` into per-layer views ``{l: (B, n_l)}``."""
        return {l: s[:, sl] for l, sl in self._slices.items()}

    def join(self, blocks: dict[int, Tensor], order: Sequence[int]) -> Tensor:
        """Concatenate per-layer blocks in ``order``: ``(B, sum n_l)``."""
        return torch.cat([blocks[l] for l in order], dim=1)

    def input_drive(self, x: Tensor) -> Tensor:
        """``rho(x) U``: the input's drive on layer 1, ``(B, d) -> (B, n_1)``."""
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.layers[0]:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ConfigError(f"x must have shape (B, {self.layers[0]}); got {got}")
        if x.dtype != self.U.dtype:
            raise ConfigError(
                f"x must have the model's dtype {self.U.dtype} (convert one of them with "
                f".to(dtype)); got {x.dtype}"
            )
        return self.act(x) @ self.U  # (B, n_1)

    def coupling_matrix(self) -> Tensor:
        """The symmetric block matrix ``W`` ``(D, D)`` of Fig. 1 (zero diagonal blocks):
        ``h(s) = rho(s) W + b + [rho(x) U, 0, ...]``."""
        w_full = self.b.new_zeros(self.dim, self.dim)
        for (i, j), w in zip(self.edges, self.weights, strict=True):
            w_full = w_full.index_put(self._block_index(i, j), w)
            w_full = w_full.index_put(self._block_index(j, i), w.T)
        return w_full

    def _block_index(self, i: int, j: int) -> tuple[Tensor, Tensor]:
        si, sj = self._slices[i], self._slices[j]
        rows = torch.arange(si.start, si.stop, device=self.b.device)
        cols = torch.arange(sj.start, sj.stop, device=self.b.device)
        return rows.view(-1, 1), cols.view(1, -1)

    def group_index(self, group: Sequence[int]) -> Tensor:
        """Full-state indices of the layers of ``group``, in group order: ``(sum n_l,)``."""
        return torch.cat(
            [
                torch.arange(self._slices[l].start, self._slices[l].stop, device=self.b.device)
                for l in group
            ]
        )

    def _drive_layers(
        self, r: dict[int, Tensor], targets: Sequence[int], ux: Tensor
    ) -> dict[int, Tensor]:
        """Drive ``h_l = sum_k rho(s_k) W_kl + b_l (+ rho(x) U)`` on ``targets`` from ``r``
        (``r[k] = rho(s_k)``; only neighbours of the targets are read)."""
        want = set(targets)
        out: dict[int, Tensor] = {}
        for (i, j), w in zip(self.edges, self.weights, strict=True):
            if j in want:
                term = r[i] @ w  # (B, n_j)
                out[j] = term if j not in out else out[j] + term
            if i in want:
                term = r[j] @ w.T  # (B, n_i)
                out[i] = term if i not in out else out[i] + term
        for l in targets:
            h = out[l] + self.b[self._slices[l]] if l in out else self.b[self._slices[l]]
            if l == 1:
                h = h + ux
            out[l] = h.expand(ux.shape[0], -1) if h.dim() == 1 else h
        return out

    def drive(self, s: Tensor, ux: Tensor) -> Tensor:
        """``h(s) = rho(s) W + b + [rho(x) U, 0, ...]``: ``(B, D) -> (B, D)``."""
        r = self.blocks(self.act(s))
        h = self._drive_layers(r, list(self._slices), ux)
        return self.join(h, list(self._slices))

    def sync_step(self, s: Tensor, ux: Tensor) -> Tensor:
        """One synchronous update: HAM ``h(s)`` (Eq. 6), CHN ``rho'(s) * h(s)`` (Eq. 5)."""
        h = self.drive(s, ux)
        return h if self.kind == "ham" else self.act.derivative(s) * h

    def full_energy(self, s: Tensor, ux: Tensor) -> Tensor:
        """Energy of full states ``(B, D)`` with input drive ``ux = rho(x) U``: ``(B,)``.

        HAM: Eq. 3 (Krotov's, with the Legendre term ``s rho(s) - L(s)``); CHN: Eq. 1 (see
        the module docstring). The contract's energy is :meth:`LayeredView.energy`.
        """
        r = self.act(s)
        rb = self.blocks(r)
        pair = s.new_zeros(s.shape[0])
        for (i, j), w in zip(self.edges, self.weights, strict=True):
            pair = pair + ((rb[i] @ w) * rb[j]).sum(1)  # rho_i W_ij rho_j, once per edge
        lin = (r * self.b).sum(1) + (rb[1] * ux).sum(1)
        if self.kind == "ham":
            own = (s * r).sum(1) - self.act.lagrangian(s)
        else:
            own = 0.5 * (s * s).sum(1)
        return own - pair - lin

    # --------------------------------------------------------------------------- even-odd
    def _require_eo(self) -> None:
        if not self.primary:
            raise ConfigError(
                "even-odd splitting needs a bipartite layer graph; this model's skip edges "
                "close an odd cycle"
            )

    def eo_dim(self) -> int:
        """Size of the even-odd DEQ state: the primary group (HAM) or all layers (CHN)."""
        self._require_eo()
        return self._prim_dim if self.kind == "ham" else self.dim

    def _local(self, s_g: Tensor, c_g: Tensor) -> Tensor:
        """CHN local equilibrium ``s = rho'(s) * C`` by damped iterations (warm start)."""
        a = 1.0 - self.inner_damping
        for _ in range(self.inner_iters):
            s_g = (1.0 - a) * s_g + a * self.act.derivative(s_g) * c_g
        return s_g

    def _split_group(self, z: Tensor, group: Sequence[int]) -> dict[int, Tensor]:
        out, start = {}, 0
        for l in group:
            out[l] = z[:, start : start + self.layers[l]]
            start += self.layers[l]
        return out

    def eo_step(self, z: Tensor, ux: Tensor) -> Tensor:
        """One even-odd iteration (Theorem 2): auxiliary group, then primary group.

        HAM: ``z = s_primary`` ``(B, D_p)``, ``z <- h_p(h_a(z))`` (Eqs. 9-10, exact halves).
        CHN: ``z = [s_primary, s_auxiliary]`` ``(B, D)``, each half a local damped fixed point
        (Eq. 7).
        """
        self._require_eo()
        prim, aux = self.primary, self.auxiliary
        if self.kind == "ham":
            rp = {l: self.act(v) for l, v in self._split_group(z, prim).items()}
            s_aux = self._drive_layers(rp, aux, ux)
            ra = {l: self.act(v) for l, v in s_aux.items()}
            return self.join(self._drive_layers(ra, prim, ux), prim)
        zp, za = z[:, : self._prim_dim], z[:, self._prim_dim :]
        rp = {l: self.act(v) for l, v in self._split_group(zp, prim).items()}
        c_aux = self.join(self._drive_layers(rp, aux, ux), aux)
        za = self._local(za, c_aux)
        ra = {l: self.act(v) for l, v in self._split_group(za, aux).items()}
        c_prim = self.join(self._drive_layers(ra, prim, ux), prim)
        zp = self._local(zp, c_prim)
        return torch.cat([zp, za], dim=1)

    def eo_from_full(self, s: Tensor) -> Tensor:
        """Full state ``(B, D)`` -> even-odd DEQ state (primary, plus auxiliary for the CHN)."""
        self._require_eo()
        blk = self.blocks(s)
        order = self.primary if self.kind == "ham" else (*self.primary, *self.auxiliary)
        return self.join(blk, order)

    def full_from_eo(self, z: Tensor, ux: Tensor) -> Tensor:
        """Even-odd DEQ state -> full state ``(B, D)`` in layer order. For the HAM the
        auxiliary group is its exact response ``h_aux(z)`` (the half step of Eq. 8)."""
        self._require_eo()
        if self.kind == "ham":
            prim = self._split_group(z, self.primary)
            aux = self._drive_layers({l: self.act(v) for l, v in prim.items()}, self.auxiliary, ux)
            blk = {**prim, **aux}
        else:
            blk = self._split_group(z, (*self.primary, *self.auxiliary))
        return self.join(blk, list(self._slices))

    def special_init(self, x: Tensor) -> Tensor:
        """App. E's initialisation: auxiliary 0 and primary ``h_primary(rho(0))``, from which
        two synchronous HAM steps equal one even-odd step. Full state ``(B, D)``."""
        self._require_eo()
        ux = self.input_drive(x)
        zero = x.new_zeros(x.shape[0], self.dim)
        r = self.blocks(self.act(zero))
        prim = self._drive_layers(r, self.primary, ux)
        aux = {l: zero[:, self._slices[l]] for l in self.auxiliary}
        return self.join({**prim, **aux}, list(self._slices))

    # --------------------------------------------------------------------------- binding
    def bind(self, x: Tensor, scheme: Scheme = "sync") -> LayeredView:
        """Fix the input: the model as a dynamical system on the DEQ state of ``scheme``.

        Args:
            x: inputs ``(B, d)``; their drive ``rho(x) U`` is computed once here.
            scheme: ``"sync"`` (state: all layers, ``(B, D)``) or ``"even_odd"`` (state: the
                primary group for the HAM, ``[primary, auxiliary]`` for the CHN).

        Returns:
            A :class:`LayeredView` sharing this model's parameters.

        Raises:
            ConfigError: bad input shape, unknown scheme, or ``"even_odd"`` on a layer graph
                that is not bipartite.
        """
        return LayeredView(self, x, scheme)

    def readout(self, state: Tensor, scheme: Scheme) -> Tensor:
        """The output layer ``(B, n_out)`` from a DEQ state of the given scheme."""
        check_choice("scheme", scheme, SCHEMES)
        if scheme == "sync":
            return state[:, self._slices[self.output_layer]]
        blk = self._split_group(state[:, : self._prim_dim], self.primary)
        return blk[self.output_layer]

    # --------------------------------------------------------------------------- solving
    def solve(
        self,
        x: Tensor,
        settings: DEQSettings | None = None,
        *,
        record_residuals: bool = True,
        record_trajectory: bool = False,
    ) -> SolverResult:
        """Equilibrium for inputs ``x`` ``(B, d)`` from the zero state (App. F).

        ``fixed_point(view.update, view.initial_state(), settings.options_for(view))`` on
        ``view = self.bind(x, settings.scheme)``, divergence flagged. Under autograd,
        gradients follow ``settings.grad`` (:func:`~hopfield_lab.solvers.solve_fixed_point`):
        recurrent backprop (:attr:`DEQSettings.backward` on the adjoint fixed point) or
        unrolled BPTT.

        Args:
            x: inputs ``(B, d)``.
            settings: scheme, solver, gradient mode; default :class:`DEQSettings` ``()``.
            record_residuals: keep the residual history. record_trajectory: keep the iterates.

        Returns:
            SolverResult whose ``x`` is the DEQ state of the scheme (full state for
            ``sync``, see :meth:`eo_step` for ``even_odd``); :meth:`readout` gives the output.
        """
        st = DEQSettings.of(settings)
        view = self.bind(x, st.scheme)
        opts = st.options_for(view)
        z0 = view.initial_state()
        record = {
            "record_residuals": record_residuals,
            "record_trajectory": record_trajectory,
            "on_divergence": "flag",
        }
        if not torch.is_grad_enabled():
            return fixed_point(view.update, z0, opts, **record)  # type: ignore[arg-type]
        return solve_fixed_point(
            view.update, z0, opts, grad=st.grad, backward=st.backward, **record
        )

    def forward(self, x: Tensor, settings: DEQSettings | None = None) -> Tensor:
        """The output layer at equilibrium, ``(B, d) -> (B, n_out)``.

        Raises:
            ConfigError: ``x`` is not a finite ``(B, d)`` tensor.
            DivergenceError: the equilibrium solve diverged for some sample (its state left
                the finite range): the flagged samples' last finite states are not
                equilibria, so no logits are returned for them.
        """
        st = DEQSettings.of(settings)
        if isinstance(x, Tensor) and not bool(torch.isfinite(x).all()):
            raise ConfigError("x must be finite; it contains NaN or Inf")
        result = self.solve(x, st, record_residuals=False)
        if result.diverged is not None and bool(result.diverged.any()):
            bad = torch.nonzero(result.diverged).flatten().tolist()
            steps = result.diverged_step
            first = int(steps[result.diverged].min()) if steps is not None else -1
            raise DivergenceError(
                f"LayeredHopfield.forward: the equilibrium solve diverged for {len(bad)} of "
                f"{result.diverged.numel()} samples, first at step {first}; use a damped or "
                "Anderson solver, or check the weights",
                step=first,
                samples=bad,
            )
        return self.readout(result.x, st.scheme)


class LayeredView(BoundModel):
    """A :class:`LayeredHopfield` with its input bound: the contract on the DEQ state.

    Made by ``model.bind(x, scheme)``. With ``h`` the drive of the module docstring, ``rho'``
    the activation's derivative and the input drive ``rho(x) U`` computed once:

    ======================  ===============================  ==================================
    scheme / kind           ``update(s)``                    ``vector_field(t, s)``
    ======================  ===============================  ==================================
    sync, HAM               ``h(s)`` (Eq. 6)                 ``-s + h(s)`` (Eq. 4)
    sync, CHN               ``rho'(s) * h(s)`` (Eq. 5)       ``-s + rho'(s) * h(s)`` (Eq. 2)
    even-odd, HAM           ``h_p(h_a(z))`` (Eq. 10)         ``-z + h_p(h_a(z))``
    even-odd, CHN           two local solves (Eq. 7)         none
    ======================  ===============================  ==================================

    Energies: ``energy(s)`` is Eq. 3 (HAM) or Eq. 1 (CHN) of the full state (for the
    even-odd HAM, of ``[z, h_a(z)]``: the energy minimised over the auxiliary group, since
    each exact half step minimises ``E`` over one group). ``dE/ds = rho'(s) * (s - h(s))``
    (HAM) and ``s - rho'(s) * h(s)`` (CHN), so ``E`` decreases along both synchronous flows.
    It never rises under the even-odd HAM update (Theorem 2's exact half steps); the
    synchronous update may raise it (App. E's 2-cycle).

    The even-odd HAM flow is Eq. 4 in the limit of instantaneous auxiliary layers
    (``s_a = h_a(z)`` at all times): with ``E_red(z) = E(z, h_a(z))``,
    ``dE_red/dz = rho'(z) * (z - h_p(h_a(z)))`` (the auxiliary block of ``dE/ds`` vanishes
    there), so ``E_red`` decreases along it and its equilibria are the model's. The even-odd
    CHN has no flow: its update is a block Gauss-Seidel sweep with approximate inner solves
    (``inner_iters`` damped iterations), not a time discretisation; use ``scheme="sync"``,
    whose Eq. 2 flow has the same equilibria.

    Jacobians (``d update / ds``, closed forms; ``W`` = :meth:`LayeredHopfield.coupling_matrix`,
    ``D(v) = diag(rho'(v))``, ``G`` the primary-auxiliary block of ``W``):
    sync HAM ``W D(s)``; sync CHN ``diag(rho''(s) h(s)) + D(s) W D(s)``; even-odd HAM
    ``G D(s_a) G^T D(z)`` with ``s_a = h_a(z)``; even-odd CHN by autograd.

    Attributes:
        scheme: ``"sync"`` or ``"even_odd"``. x: the bound inputs ``(B, d)``.
        ux: their drive ``rho(x) U`` ``(B, n_1)``.
    """

    parent: LayeredHopfield

    capability_notes: ClassVar[Mapping[str, str]] = {
        "vector_field": (
            "the even-odd CHN update is a block Gauss-Seidel sweep with approximate inner "
            "solves, not a flow; bind with scheme='sync' for the flow of Eq. 2 (same "
            "equilibria)"
        ),
    }

    def __init__(self, parent: LayeredHopfield, x: Tensor, scheme: Scheme = "sync") -> None:
        check_choice("scheme", scheme, SCHEMES)
        ux = parent.input_drive(x)
        dim = parent.dim if scheme == "sync" else parent.eo_dim()
        super().__init__(parent, dim, x.shape[0])
        self.scheme = scheme
        self.x = x
        self.ux = ux

    def extra_repr(self) -> str:
        return f"scheme={self.scheme!r}, kind={self.parent.kind!r}, " + super().extra_repr()

    def capabilities(self) -> frozenset[str]:
        caps = super().capabilities()
        if self.scheme == "even_odd" and self.parent.kind == "chn":
            return caps - {"vector_field"}
        return caps

    # --------------------------------------------------------------------------- the contract
    def update(self, s: Tensor) -> Tensor:
        """One iteration of the scheme's DEQ map: ``(B, N) -> (B, N)`` (table above)."""
        ux = self.rows(self.ux, s)
        if self.scheme == "sync":
            return self.parent.sync_step(s, ux)
        return self.parent.eo_step(s, ux)

    def energy(self, s: Tensor) -> Tensor:
        """Energy of DEQ states ``(B, N) -> (B,)``: Eq. 3 (HAM) / Eq. 1 (CHN) of
        :meth:`full_state`."""
        ux = self.rows(self.ux, s)
        return self.parent.full_energy(self._full(s, ux), ux)

    def vector_field(self, t: Tensor | float, s: Tensor) -> Tensor:
        """``ds/dt = update(s) - s``: Eq. 4 (HAM), Eq. 2 (CHN), or the even-odd HAM flow."""
        if "vector_field" not in self.capabilities():
            raise self.missing("vector_field")
        return self.update(s) - s

    def jacobian(self, s: Tensor) -> Tensor:
        """``d update / ds`` ``(B, N, N)`` (closed forms in the class docstring)."""
        p = self.parent
        ux = self.rows(self.ux, s)
        if self.scheme == "even_odd" and p.kind == "chn":
            return super().jacobian(s)
        w = p.coupling_matrix()  # (D, D)
        if self.scheme == "sync":
            ds = p.act.derivative(s)  # (B, D)
            if p.kind == "ham":
                return w * ds.unsqueeze(1)  # (B, D, D): W[i, j] rho'(s_j)
            jac = ds.unsqueeze(2) * w * ds.unsqueeze(1)  # (B, D, D): D W D
            diag = _second_derivative(p.act, s) * p.drive(s, ux)  # (B, D): rho''(s) h(s)
            return jac + torch.diag_embed(diag)
        ip, ia = p.group_index(p.primary), p.group_index(p.auxiliary)
        g = w.index_select(0, ip).index_select(1, ia)  # (D_p, D_a)
        s_a = self._full(s, ux).index_select(1, ia)  # (B, D_a) = h_a(z)
        inner = (g * p.act.derivative(s_a).unsqueeze(1)) @ g.T  # (B, D_p, D_p) = G D G^T
        return inner * p.act.derivative(s).unsqueeze(1)  # right-multiply by D(z)

    # --------------------------------------------------------------------------- helpers
    def initial_state(self) -> Tensor:
        """The zero DEQ state of App. F, ``(B, N)``."""
        return self.x.new_zeros(self.batch, self.state_dim)

    def _full(self, s: Tensor, ux: Tensor) -> Tensor:
        return s if self.scheme == "sync" else self.parent.full_from_eo(s, ux)

    def full_state(self, s: Tensor) -> Tensor:
        """All layers ``(B, D)`` in layer order (even-odd: :meth:`LayeredHopfield.full_from_eo`)."""
        return self._full(s, self.rows(self.ux, s))

    def readout(self, s: Tensor) -> Tensor:
        """The output layer ``(B, n_out)`` of DEQ states."""
        return self.parent.readout(s, self.scheme)


def _second_derivative(act: Activation, s: Tensor) -> Tensor:
    """Elementwise ``rho''(s)`` by autograd of ``rho'`` (one backward of an elementwise map)."""
    with torch.enable_grad():
        u = s.detach().requires_grad_(True)
        (d2,) = torch.autograd.grad(act.derivative(u).sum(), u)
    return d2


# ------------------------------------------------------------------------------ Theorem 3
def _psi(act: Activation, s: Tensor) -> Tensor:
    """``psi(s) = s / rho'(s)`` (Theorem 3)."""
    return s / act.derivative(s)


def _psi_inverse(act: Activation, u: Tensor, iters: int = 200) -> Tensor:
    """``psi^{-1}(u)`` by bisection (``psi`` increasing, see :func:`effective_activation`)."""
    lo = torch.full_like(u, -1.0)
    hi = torch.full_like(u, 1.0)
    for _ in range(60):  # bracket: psi(lo) <= u <= psi(hi)
        grow_lo = _psi(act, lo) > u
        grow_hi = _psi(act, hi) < u
        if not bool(grow_lo.any() or grow_hi.any()):
            break
        lo = torch.where(grow_lo, 2.0 * lo, lo)
        hi = torch.where(grow_hi, 2.0 * hi, hi)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = _psi(act, mid) < u
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
        if bool(((hi - lo) <= 4 * torch.finfo(u.dtype).eps * (1 + mid.abs())).all()):
            break
    return 0.5 * (lo + hi)


class _PsiInverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, u: Tensor, act: Activation) -> Tensor:
        t = _psi_inverse(act, u.detach())
        ctx.save_for_backward(t)
        ctx.act = act
        return t

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (t,) = ctx.saved_tensors
        t = t.detach().requires_grad_(True)
        with torch.enable_grad():
            (dpsi,) = torch.autograd.grad(_psi(ctx.act, t).sum(), t)
        return grad / dpsi, None


def effective_activation(activation: str | Activation = "shifted_sigmoid") -> Activation:
    """Theorem 3's effective non-linearity ``rho~ = rho o psi^{-1}``, ``psi(s) = s / rho'(s)``.

    Its Lagrangian has the closed form ``L~(u) = rho(t) psi(t) - t^2 / 2`` with
    ``t = psi^{-1}(u)`` (``dL~/du = rho(t)``), and ``rho~'(u) = rho'(t) / psi'(t)``.

    Raises:
        ConfigError: if ``rho'(0) = 0`` (Lemma 7: no well-behaved CHN) or ``psi`` is not
            increasing on a test grid (then ``psi`` is not invertible).
    """
    act = get_activation(activation)
    grid = torch.linspace(-6.0, 6.0, 2001, dtype=torch.float64)
    d = act.derivative(grid)
    if not bool((d > 0).all()):
        raise ConfigError(
            f"Theorem 3 needs rho' > 0 (Lemma 7-8); {act.name!r} has rho' = 0 somewhere on [-6, 6]"
        )
    if not bool((torch.diff(_psi(act, grid)) > 0).all()):
        raise ConfigError(f"psi(s) = s / rho'(s) is not increasing for {act.name!r}")

    def inv(u: Tensor) -> Tensor:
        return _PsiInverse.apply(u, act)

    def sigma(u: Tensor) -> Tensor:
        return act(inv(u))

    def phi(u: Tensor) -> Tensor:
        t = inv(u)
        return act(t) * _psi(act, t) - 0.5 * t * t

    def dsigma(u: Tensor) -> Tensor:
        t = inv(u).detach().requires_grad_(True)
        with torch.enable_grad():
            (dpsi,) = torch.autograd.grad(_psi(act, t).sum(), t)
        return act.derivative(t.detach()) / dpsi

    return Activation(f"effective_{act.name}", 1.0, sigma, phi, dsigma, bounded=act.bounded)


def chn_to_ham(chn: LayeredHopfield) -> LayeredHopfield:
    """The HAM of Theorem 3: same weights, activation ``rho~``; feed it ``psi(x)``.

    The HAM is built in the CHN's dtype and device before the weights are copied, so they
    are the CHN's bit for bit (a float64 CHN keeps float64 weights), and without drawing from
    the global random generator (its Xavier initialisation is overwritten anyway).

    Raises:
        ConfigError: if ``chn`` is not a CHN (or Theorem 3's conditions fail).
    """
    if not isinstance(chn, LayeredHopfield) or chn.kind != "chn":
        raise ConfigError("chn_to_ham needs a LayeredHopfield with kind='chn'")
    skip = [e for e in chn.edges if e[1] != e[0] + 1]
    with torch.random.fork_rng(devices=[]):
        ham = LayeredHopfield(
            list(chn.layers),
            kind="ham",
            activation=effective_activation(chn.act),
            skip=skip,
            inner_iters=chn.inner_iters,
            inner_damping=chn.inner_damping,
        )
    ham = ham.to(dtype=chn.b.dtype, device=chn.b.device)
    ham.load_state_dict(chn.state_dict())
    return ham


def check_theorem3(
    chn: LayeredHopfield, x: Tensor, *, tol: float = 1e-10, max_iter: int = 2000
) -> dict[str, float]:
    """Solve the CHN and its Theorem-3 HAM; compare ``psi(s*_CHN)`` with ``u*_HAM``.

    Both are solved by damped Picard (damping 0.5, synchronous) to ``tol`` in the dtype of
    ``chn`` (use float64).

    Returns:
        ``state_rel_err``: max over samples of ``|psi(s*) - u*| / |u*|``;
        ``output_rel_err``: same for ``rho`` of the output layer (the model's prediction);
        ``chn_residual``, ``ham_residual``: final relative residuals; ``converged``: 1.0 if
        both solves converged for every sample.
    """
    ham = chn_to_ham(chn)
    st = DEQSettings.of(method="damped", damping=0.5, tol=tol, max_iter=max_iter)
    with torch.no_grad():
        rc = chn.solve(x, st)
        rh = ham.solve(_psi(chn.act, x), st)
        u_from_chn = _psi(chn.act, rc.x)
        err = flat_norm(u_from_chn - rh.x) / flat_norm(rh.x)
        out_c = chn.act(chn.readout(rc.x, "sync"))
        out_h = ham.act(ham.readout(rh.x, "sync"))
        out_err = flat_norm(out_c - out_h) / flat_norm(out_h)
    return {
        "state_rel_err": float(err.max()),
        "output_rel_err": float(out_err.max()),
        "chn_residual": float(rc.final_residual.max()) if rc.final_residual is not None else 0.0,
        "ham_residual": float(rh.final_residual.max()) if rh.final_residual is not None else 0.0,
        "converged": float(bool(rc.converged.all()) and bool(rh.converged.all())),
    }


# ------------------------------------------------------------------------------ App. E example
def sync_two_cycle_example(dtype: torch.dtype = torch.float64) -> tuple[LayeredHopfield, Tensor]:
    """A 3-layer HAM ``[1, 1, 1]`` whose synchronous iteration from zero ends in a 2-cycle
    while even-odd splitting converges (App. E, problem 1).

    With ``U = -3``, ``W_1 = 6`` and zero biases, the even-odd map ``z -> h_2(h_1(z))`` is
    bistable (strong positive coupling, an inhibiting input): the synchronous iterates
    interleave two copies of it, started from different points (``s_2 = 0`` and ``s_1 = 0``
    plus the input), which settle in different stable equilibria, so ``s`` alternates between
    two states forever.

    Returns:
        ``(model, x)`` with ``x`` of shape ``(1, 1)``.
    """
    model = LayeredHopfield([1, 1, 1], kind="ham", activation="shifted_sigmoid").to(dtype)
    with torch.no_grad():
        model.U.fill_(-3.0)
        model.weights[0].fill_(6.0)
        model.b.zero_()
    return model, torch.ones(1, 1, dtype=dtype)
