"""The classical binary Hopfield network: ±1 spins, Hebbian couplings, three dynamics.

Notation of the lecture notes (continuous-hopfield-networks-notes, ch. 2). A state is a vector
of Ising spins ``s`` in {-1, +1}^N (the notes' ``xi``); ``R`` replicas are stored batch-first
as ``(R, N)``. Couplings ``J`` (N, N) and thresholds ``h`` (N,) define

* the local field ``phi(s) = J s + h`` (Def. 2.1.2), ``phi_i = sum_j J_ij s_j + h_i``;
* the Lyapunov function / Hamiltonian ``L(s) = -1/2 s.J s - h.s`` (Lemma 2.1.1, Theorem 2.1);
* the Hebbian couplings ``J_ij = (1/N) sum_mu xi^mu_i xi^mu_j`` with ``J_ii = 0``
  (Def. 2.1.4; ``diagonal="keep"`` keeps ``J_ii = P/N``).

Dynamics (all vectorised over replicas):

* ``"parallel"``: ``s <- sgn(J s + h)`` for every spin at once (Def. 2.1.2). For symmetric ``J``
  it ends in a fixed point or a 2-cycle.
* ``"sequential"``: one spin at a time, ``s_i <- sgn(phi_i(s))`` (Def. 2.1.2); a sweep is ``N``
  single-spin updates. With ``J`` symmetric and ``J_ii >= 0`` the energy never rises
  (Lemma 2.1.1).
* ``"glauber"``: the stochastic sequential dynamics at temperature ``T = 1/beta``
  (Def. 2.1.5 with the noise law ``g(x) = (1 - tanh x)/2`` of the notes' remark). The chosen
  spin flips with probability (Lemma 2.1.3, case ii)::

      P(s_i -> -s_i) = (1 - s_i tanh(beta phi_i(s))) / 2
                     = exp(-beta s_i phi_i) / (2 cosh(beta phi_i))
                     = 1 / (1 + exp(2 beta s_i phi_i)),

  i.e. the new spin is +1 with probability ``(1 + tanh(beta phi_i))/2`` whatever its old
  value (the heat-bath rule). For symmetric ``J`` with zero diagonal its stationary law is the
  Gibbs distribution ``exp(-beta L(s)) / Z`` (Theorem 2.1); for asymmetric ``J`` it is not.

Tie rule. ``sgn(0)`` is not defined by the notes; here a spin whose local field is exactly zero
keeps its value (in all deterministic dynamics and at ``T = 0``). With this rule a
deterministic flip happens only when ``s_i phi_i < 0``, so every flip lowers the energy by
``2 |phi_i| + 2 J_ii > 0`` (for ``J_ii >= 0``) and a sweep without flips is a fixed point.
``glauber`` at ``T = 0`` is therefore exactly ``sequential`` (same random numbers, same result).

Reading of garbled equations. The flip probability of Lemma 2.1.3 is printed with the argument
``phi_i(xi')`` in the "stay" term; since ``J_ii = 0`` is assumed, ``phi_i(xi') = phi_i(xi)`` and
the stay probability is ``(1 + s_i tanh(beta phi_i(s)))/2``. In the proof of Lemma 2.1.1 the
energy change of a flip is ``Delta L = 2 s_i phi_i - 2 J_ii`` (the notes print ``- J_ii``): the
diagonal term enters twice, once from each of the two sums over ``l != i``.

Site order. A sweep visits sites in a fresh uniformly random permutation per replica
(``order="permutation"``, default), or draws ``N`` sites independently and uniformly
(``order="uniform"``, the notes' ``U_t ~ Unif([N])`` of Def. 2.1.5, whose one-step transition
matrix is the ``W`` of Lemma 2.1.3). Both leave the Gibbs law invariant for symmetric ``J``.

Implementation. Sequential and Glauber sweeps keep, per replica, either the local fields
``H = S J^T + h`` (any ``J``: a flip of spin ``i`` adds ``2 s_i^new J[:, i]``, ``O(N)`` per
flip; the fields are recomputed exactly once per sweep so that rounding cannot accumulate) or,
for Hebbian couplings built by :meth:`BinaryHopfield.hebbian` or :meth:`BinaryHopfield.curie_weiss`
(``J = (c/N)(xi^T xi - d I)``), the integer overlaps ``m_mu = xi^mu . s`` (``O(P)`` per
update and per flip, exact integer fields, so the sign of every field and the tie rule are
exact; used when ``P <= N / 2`` and ``P N < 2^31``). On CPU a sweep runs as a compiled kernel
when numba is installed (the ``fast`` extra: ``pip install 'hopfield-lab[fast]'``), else as a
NumPy loop vectorised over replicas; both compute the same chain from the same random numbers
(:mod:`hopfield_lab.models._sweeps`). The whole run uses one intra-op thread (thousands of
tiny ops gain nothing from a thread pool and lose much on a loaded machine). On GPU it stays
in torch with dense ``(R, N)`` field updates. A sweep's site order is one Fisher-Yates
permutation per replica drawn from ``(R, N)`` float64 uniforms of the run's generator
(:meth:`BinaryHopfield.draw_sites`; an argsort of them on GPU), then, for Glauber at ``T > 0``,
``(N, R)`` float64 uniforms for the heat-bath draws. Memory: ``J`` once (no transposed or
construction copy; the transpose is used as a view, or copied for one run when ``J`` is not
symmetric). Throughput against a per-spin NumPy loop: ``hopfield-lab bench glauber-vs-numpy``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import Tensor

from hopfield_lab.core.dynamics import HopfieldModel
from hopfield_lab.errors import ConfigError, check_choice, check_int, check_range
from hopfield_lab.models import _sweeps

__all__ = ["DYNAMICS", "ORDERS", "BinaryHopfield", "BinaryRun"]

DYNAMICS = ("parallel", "sequential", "glauber")
"""Dynamics accepted by :meth:`BinaryHopfield.run`."""

ORDERS = ("permutation", "uniform")
"""Site orders of sequential and Glauber sweeps."""

Dynamics = Literal["parallel", "sequential", "glauber"]
Order = Literal["permutation", "uniform"]


@dataclass
class BinaryRun:
    """Outcome of :meth:`BinaryHopfield.run`.

    Not a :class:`~hopfield_lab.solvers.SolverResult`, on purpose: a Markov chain is not a
    solver (at ``T > 0`` it never converges and has no residual or tolerance); it records
    sweeps, overlaps, 2-cycles and the temperature. The deterministic parallel map is also
    the contract's ``update``, so ``fixed_point(model.update, s0)`` and ``rollout`` apply.

    Attributes:
        states: final states, ``(R, N)``.
        energies: energies ``L(s)`` at the recorded sweeps, ``(T_rec, R)``.
        record_sweeps: the sweep index of each record, ``(T_rec,)`` (0 is the initial state; the
            last record is always the final state).
        trajectory: states at the recorded sweeps ``(T_rec, R, N)`` when ``record_every`` was
            given, else None.
        overlaps: Mattis magnetisations ``m_mu = xi_mu . s / N`` at the recorded sweeps,
            ``(T_rec, R, P)``, when ``patterns`` were given, else None.
        converged: ``(R,)`` bool, the final state is a fixed point of the deterministic
            dynamics (``s_i phi_i >= 0`` for every ``i``). For deterministic dynamics this means
            the run reached a fixed point; for Glauber at ``T > 0`` it only describes the last
            state (the chain itself never stops).
        cycle2: ``(R,)`` bool, parallel dynamics entered a 2-cycle ``s(t+1) = s(t-1) != s(t)``
            (always False for the other dynamics).
        settled_sweep: ``(R,)`` long, first sweep at which a fixed point (or, for parallel
            dynamics, a 2-cycle) was detected; -1 if never (always -1 for Glauber at T > 0).
        n_sweeps: sweeps actually performed (deterministic runs stop once every replica has
            settled).
        dynamics: the dynamics used.
        temperature: the temperature used.
    """

    states: Tensor
    energies: Tensor
    record_sweeps: Tensor
    trajectory: Tensor | None
    overlaps: Tensor | None
    converged: Tensor
    cycle2: Tensor
    settled_sweep: Tensor
    n_sweeps: int
    dynamics: str
    temperature: float


def _as_matrix(J: object) -> Tensor:
    if not isinstance(J, Tensor):
        raise ConfigError(f"J must be a torch.Tensor of shape (N, N); got {type(J).__name__}")
    if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] == 0:
        raise ConfigError(f"J must be a square matrix (N, N) with N >= 1; got {tuple(J.shape)}")
    if not J.is_floating_point():
        J = J.to(torch.get_default_dtype())
    if not _all_finite(J):
        raise ConfigError("J must have finite entries; got NaN or Inf")
    return J


def _all_finite(x: Tensor) -> bool:
    """Whether every entry is finite, from two reductions (NaN propagates through max; an
    infinity is the max or the min): no ``x``-sized temporaries (``isfinite`` of a float64
    matrix allocates more than the matrix itself)."""
    return x.numel() == 0 or bool(torch.isfinite(x.max()) & torch.isfinite(x.min()))


class BinaryHopfield(HopfieldModel):
    """Binary (Ising) Hopfield network with couplings ``J`` and thresholds ``h`` (notes, ch. 2).

    Args:
        J: couplings, ``(N, N)``, floating (``J_ij`` is the weight of spin ``j`` in the field of
            spin ``i``). Need not be symmetric (Theorem 2.1 is about what breaks then).
        h: thresholds ``(N,)``; None (default) means zero.

    Raises:
        ConfigError: if ``J`` is not a finite square matrix or ``h`` has the wrong shape.
    """

    J: Tensor
    h: Tensor
    _xi: Tensor | None

    differentiable = False  # sgn is piecewise constant: autograd would give a silent zero
    capability_notes: ClassVar[Mapping[str, str]] = {
        "vector_field": (
            "±1 spins have no flow; run the discrete dynamics with "
            "run(dynamics='parallel'|'sequential'|'glauber') or update(x)"
        ),
        "jacobian": (
            "the spin update sgn(J s + h) is piecewise constant, so its Jacobian is zero "
            "almost everywhere and says nothing about stability; use local_field(s) or "
            "flip_probability(s, T)"
        ),
    }

    def __init__(self, J: Tensor, h: Tensor | None = None) -> None:
        super().__init__()
        self._init(J, h, copy=True)

    def _init(self, J: Tensor, h: Tensor | None, *, copy: bool) -> None:
        """Validate and store ``J`` (a copy unless ``copy=False``: a matrix built here)."""
        J = _as_matrix(J)
        n = J.shape[0]
        if h is None:
            h = torch.zeros(n, dtype=J.dtype, device=J.device)
        if not isinstance(h, Tensor) or h.shape != (n,):
            shape = tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__
            raise ConfigError(f"h must be a tensor of shape ({n},) like J's rows; got {shape}")
        if not torch.isfinite(h).all():
            raise ConfigError("h must have finite entries; got NaN or Inf")
        self.register_buffer("J", J.clone(memory_format=torch.contiguous_format) if copy else J)
        self.register_buffer("h", h.to(dtype=J.dtype, device=J.device).clone())
        self.register_buffer("_xi", None, persistent=False)  # Hebbian patterns, int8 (P, N)
        self._hebb_scale = 1.0  # c of J = (c / N) (xi^T xi - d I)
        self._hebb_diag = 0  # d
        self._hebb_checked: tuple[object, ...] | None = None  # fingerprint of a Hebbian J
        self.state_dim = n

    @classmethod
    def _built(
        cls, J: Tensor, h: Tensor | None, xi: Tensor, scale: float, diag: int
    ) -> BinaryHopfield:
        """A model owning the freshly built Hebbian ``J = (scale / N)(xi^T xi - diag I)``
        (no copy of ``J``), with the patterns kept for the overlap representation."""
        if cls.__init__ is BinaryHopfield.__init__:
            model = cls.__new__(cls)
            HopfieldModel.__init__(model)
            model._init(J, h, copy=False)
        else:  # a subclass with its own constructor
            model = cls(J, h)
        model._xi = xi.to(dtype=torch.int8, device=model.J.device)
        model._hebb_scale, model._hebb_diag = float(scale), int(diag)
        model._hebb_checked = _fingerprint(model.J)
        return model

    # --- constructors ----------------------------------------------------------------------

    @classmethod
    def hebbian(
        cls,
        patterns: Tensor,
        *,
        h: Tensor | None = None,
        diagonal: Literal["zero", "keep"] = "zero",
    ) -> BinaryHopfield:
        """Hebb's rule ``J = xi^T xi / N`` (Def. 2.1.4), zero diagonal by default.

        Args:
            patterns: ``(P, N)`` patterns with entries ±1; their dtype sets the model's (an
                integer dtype becomes the default float dtype).
            h: thresholds ``(N,)``; None means zero.
            diagonal: ``"zero"`` (``J_ii = 0``, the notes' rule, default) or ``"keep"``
                (``J_ii = P/N``).

        Returns:
            The model.

        Raises:
            ConfigError: if ``patterns`` is not 2-D with ±1 entries or ``diagonal`` is unknown.
        """
        check_choice("diagonal", diagonal, ("zero", "keep"))
        xi = _check_patterns(patterns)
        P, N = xi.shape
        J = (xi.T @ xi).div_(N)  # (N, N), built in place: the model owns it (no copy)
        if diagonal == "zero":
            J.fill_diagonal_(0.0)
        return cls._built(J, h, xi, 1.0, P if diagonal == "zero" else 0)

    @classmethod
    def curie_weiss(
        cls, n: int, J: float = 1.0, h: float = 0.0, *, dtype: torch.dtype = torch.float64
    ) -> BinaryHopfield:
        """Curie-Weiss ferromagnet: ``J_ij = J/N`` for ``i != j``, ``J_ii = 0``, uniform ``h``.

        Its energy is ``L(s) = -J/(2N) ((sum_i s_i)^2 - N) - h sum_i s_i``, a one-pattern
        Hebbian network with the all-ones pattern (scaled by ``J``).

        Args:
            n: number of spins, an int >= 1.
            J: coupling strength (finite). Default 1.
            h: uniform external field (finite). Default 0.
            dtype: floating dtype. Default float64.

        Returns:
            The model.

        Raises:
            ConfigError: if ``n`` is not a positive int or ``J``/``h`` is not finite.
        """
        check_int("n", n, 1)
        check_range("J", J)
        check_range("h", h)
        Jm = torch.full((n, n), float(J) / n, dtype=dtype)  # (N, N)
        Jm.fill_diagonal_(0.0)
        ones = torch.ones(1, n, dtype=dtype)  # the pattern: J = (J / N)(1 1^T - I)
        return cls._built(Jm, torch.full((n,), float(h), dtype=dtype), ones, float(J), 1)

    # --- basic quantities ------------------------------------------------------------------

    @property
    def n(self) -> int:
        """Number of spins ``N``."""
        return self.state_dim

    @property
    def is_symmetric(self) -> bool:
        """Whether ``J == J^T`` exactly."""
        return bool(torch.equal(self.J, self.J.T))

    def _states(self, s: object, name: str = "s") -> tuple[Tensor, bool]:
        """Validate ±1 states; return them as ``(R, N)`` in J's dtype and a squeeze flag."""
        if not isinstance(s, Tensor):
            raise ConfigError(
                f"{name} must be a torch.Tensor (R, {self.n}); got {type(s).__name__}"
            )
        single = s.ndim == 1
        if single:
            s = s.unsqueeze(0)
        if s.ndim != 2 or s.shape[1] != self.n:
            raise ConfigError(
                f"{name} must have shape (R, {self.n}) or ({self.n},); got {tuple(s.shape)}"
            )
        if s.numel() and not ((s == 1) | (s == -1)).all():
            bad = s[(s != 1) & (s != -1)][0].item()
            raise ConfigError(f"{name} must contain only -1 and +1 spins; found {bad!r}")
        return s.to(dtype=self.J.dtype, device=self.J.device), single

    def local_field(self, s: Tensor) -> Tensor:
        """Local fields ``phi(s) = J s + h`` (Def. 2.1.2).

        Args:
            s: ±1 states ``(R, N)`` or ``(N,)``.

        Returns:
            ``(R, N)`` (or ``(N,)``) fields in the model's dtype.

        Raises:
            ConfigError: for a wrong shape or entries other than ±1.
        """
        S, single = self._states(s)
        H = S @ self.J.T + self.h  # (R, N): phi_i = sum_j J_ij s_j + h_i
        return H[0] if single else H

    def energy(self, s: Tensor) -> Tensor:
        """``L(s) = -1/2 sum_ij s_i J_ij s_j - sum_i h_i s_i`` (Lemma 2.1.1, Theorem 2.1).

        Args:
            s: ±1 states ``(R, N)`` or ``(N,)``.

        Returns:
            ``(R,)`` energies (a 0-d tensor for a single state).

        Raises:
            ConfigError: for a wrong shape or entries other than ±1.
        """
        S, single = self._states(s)
        E = -0.5 * ((S @ self.J.T) * S).sum(1) - S @ self.h  # (R,)
        return E[0] if single else E

    def update(self, x: Tensor) -> Tensor:
        """One parallel step ``s <- sgn(J s + h)``, zero field keeps the spin (Def. 2.1.2)."""
        S, single = self._states(x, "x")
        out = _sign_keep(S @ self.J.T + self.h, S)
        return out[0] if single else out

    def flip_probability(self, s: Tensor, temperature: float) -> Tensor:
        """Probability that spin ``i`` flips when it is the one updated (Lemma 2.1.3 ii).

        ``p_i = (1 - s_i tanh(phi_i / T)) / 2 = 1 / (1 + exp(2 s_i phi_i / T))``; at ``T = 0``
        the deterministic limit with the tie rule: 1 if ``s_i phi_i < 0``, else 0.

        Args:
            s: ±1 states ``(R, N)`` or ``(N,)``.
            temperature: ``T >= 0``.

        Returns:
            Flip probabilities of the shape of ``s``.

        Raises:
            ConfigError: for bad states or a negative temperature.
        """
        T = _check_temperature(temperature)
        S, single = self._states(s)
        H = S @ self.J.T + self.h  # (R, N)
        p = _flip_prob(S * H, T)
        return p[0] if single else p

    def update_sites(
        self,
        s: Tensor,
        sites: Tensor,
        *,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Update one spin per replica: spin ``sites[r]`` of replica ``r`` (Def. 2.1.2/2.1.5).

        A single step of the sequential (``T = 0``) or Glauber (``T > 0``) dynamics, computed
        from a fresh local field (``O(N)`` per replica); meant for checks that look at every
        single-spin update. :meth:`run` is the fast path.

        Args:
            s: ±1 states ``(R, N)``.
            sites: ``(R,)`` integer site per replica, in ``[0, N)``.
            temperature: ``T >= 0``. Default 0.
            generator: random generator for ``T > 0``.

        Returns:
            New states ``(R, N)`` (the input is not modified).

        Raises:
            ConfigError: for bad states, sites or temperature.
        """
        T = _check_temperature(temperature)
        S, _ = self._states(s)
        R = S.shape[0]
        if not isinstance(sites, Tensor) or sites.shape != (R,) or sites.is_floating_point():
            raise ConfigError(f"sites must be an integer tensor of shape ({R},); got {sites!r}")
        if R and (sites.min() < 0 or sites.max() >= self.n):
            raise ConfigError(f"sites must lie in [0, {self.n}); got {sites.tolist()}")
        sites = sites.to(self.J.device)
        rows = torch.arange(R, device=S.device)
        s_i = S[rows, sites]  # (R,)
        phi = (S * self.J[sites]).sum(1) + self.h[sites]  # (R,) phi_i for each replica's site
        flip = _draw_flips(s_i * phi, T, _uniform(R, generator, S.device) if T > 0 else None)
        out = S.clone()
        out[rows, sites] = torch.where(flip, -s_i, s_i)
        return out

    # --- dynamics --------------------------------------------------------------------------

    def run(
        self,
        s0: Tensor,
        *,
        dynamics: Dynamics = "sequential",
        temperature: float = 0.0,
        n_sweeps: int,
        generator: torch.Generator | None = None,
        record_every: int | None = None,
        patterns: Tensor | None = None,
        order: Order = "permutation",
    ) -> BinaryRun:
        """Run ``n_sweeps`` sweeps of parallel, sequential or Glauber dynamics on ``R`` replicas.

        A sweep is one parallel step, or ``N`` single-spin updates (sequential, Glauber). Each
        replica draws its own site order per sweep. Deterministic runs (parallel, sequential,
        Glauber at ``T = 0``) stop early once every replica has reached a fixed point (or, for
        parallel dynamics, a fixed point or a 2-cycle), since nothing changes afterwards.

        Args:
            s0: initial ±1 states ``(R, N)`` (or ``(N,)``, one replica).
            dynamics: ``"parallel"``, ``"sequential"`` (default) or ``"glauber"``.
            temperature: ``T >= 0``, for ``"glauber"`` only (``T = 0`` equals
                ``"sequential"``). Default 0.
            n_sweeps: maximum number of sweeps, an int >= 0 (keyword-only, required).
            generator: random generator for site orders and Glauber noise (on J's device);
                None uses the global torch RNG.
            record_every: record states (``trajectory``) and energies every that many sweeps;
                None (default) records only the initial and the final state's energies.
            patterns: ``(P, N)`` ±1 patterns; if given, Mattis overlaps are recorded.
            order: ``"permutation"`` (default) or ``"uniform"`` (see the module docstring).

        Returns:
            A :class:`BinaryRun`.

        Raises:
            ConfigError: unknown dynamics or order, negative temperature, a temperature with
                deterministic dynamics, bad states or patterns, bad sweep counts.
        """
        check_choice("dynamics", dynamics, DYNAMICS)
        check_choice("order", order, ORDERS)
        T = _check_temperature(temperature)
        if T > 0 and dynamics != "glauber":
            raise ConfigError(
                f"temperature applies to dynamics='glauber' only; got temperature={temperature!r} "
                f"with dynamics={dynamics!r}"
            )
        check_int("n_sweeps", n_sweeps, 0)
        if record_every is not None:
            check_int("record_every", record_every, 1)
        xi = None
        if patterns is not None:
            xi = _check_patterns(patterns).to(dtype=self.J.dtype, device=self.J.device)
            if xi.shape[1] != self.n:
                raise ConfigError(
                    f"patterns must have N={self.n} columns; got shape {tuple(xi.shape)}"
                )
        S, _ = self._states(s0, "s0")
        with _single_thread(S.device.type == "cpu"):
            return self._run(S.clone(), dynamics, T, n_sweeps, generator, record_every, xi, order)

    def draw_sites(
        self,
        replicas: int,
        *,
        generator: torch.Generator | None = None,
        order: Order = "permutation",
    ) -> Tensor:
        """The site order of one sweep of :meth:`run`, drawn as ``run`` draws it.

        ``"permutation"``: one uniformly random permutation of the ``N`` sites per replica,
        Fisher-Yates from ``(R, N)`` float64 uniforms of ``generator`` (on GPU an argsort of
        those uniforms); ``"uniform"``: ``N`` sites drawn independently per replica. A run
        draws this at the start of every sweep (then, for Glauber at ``T > 0``, ``(N, R)``
        float64 uniforms for the heat bath), so the same generator state reproduces its
        sites.

        Args:
            replicas: ``R >= 0``.
            generator: random generator on the model's device; None uses the global RNG.
            order: ``"permutation"`` (default) or ``"uniform"``.

        Returns:
            ``(R, N)`` long site indices on the model's device.

        Raises:
            ConfigError: for a negative ``replicas`` or an unknown order.
        """
        check_int("replicas", replicas, 0)
        check_choice("order", order, ORDERS)
        return self._sites(replicas, order, generator, self.J.device)

    def _sites(
        self, R: int, order: str, generator: torch.Generator | None, dev: torch.device
    ) -> Tensor:
        N = self.n
        if order == "uniform":
            return torch.randint(0, N, (R, N), generator=generator, device=dev)  # (R, N)
        u = torch.rand((R, N), generator=generator, dtype=torch.float64, device=dev)  # (R, N)
        if dev.type != "cpu":
            return u.argsort(dim=1)
        return torch.from_numpy(_sweeps.permutations(u.numpy()))  # (R, N) permutations

    # --- the Hebbian (overlap) representation ------------------------------------------------

    def _hebbian(self) -> bool:
        """Whether ``J`` is (still) the Hebbian ``(c / N)(xi^T xi - d I)`` of the kept patterns.

        Set by the constructors; rechecked (blockwise, ``O(N^2 P)``) when ``J`` changed since
        (written in place, replaced, moved or cast): every entry must be the exact value
        rounded to ``J``'s dtype (within two ulps).
        """
        xi, J = self._xi, self.J
        if xi is None:
            return False
        mark = _fingerprint(J)
        if mark is not None and self._hebb_checked == mark:
            return True
        X = xi.to(device=J.device, dtype=torch.float64)  # (P, N)
        n = self.n
        tol = 2 * torch.finfo(J.dtype).eps
        rows = max(1, (1 << 22) // n)
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            K = X[:, start:stop].T @ X  # (c, N) integer entries of xi^T xi
            if self._hebb_diag:
                K[torch.arange(stop - start), torch.arange(start, stop)] -= self._hebb_diag
            exact = K * self._hebb_scale / n
            if not bool(((J[start:stop].double() - exact).abs() <= tol * exact.abs()).all()):
                self._xi = None  # J no longer Hebbian: the fields representation from now on
                return False
        self._hebb_checked = mark
        return True

    def _overlap_setup(self, device: torch.device) -> tuple[np.ndarray, Tensor] | None:
        """``(XT (N, P) int32, xi (P, N) float64)`` when sweeps use the overlap
        representation (CPU, Hebbian ``J``, ``P <= N / 2``, ``P N < 2^31``), else None."""
        if device.type != "cpu" or self._xi is None:
            return None
        P, N = self._xi.shape
        if 2 * P > N or P * N >= 2**31 or not self._hebbian():
            return None
        xi = self._xi.to(device=device)
        return np.ascontiguousarray(xi.T.numpy(), dtype=np.int32), xi.to(torch.float64)

    def _exact_fields(self, S: Tensor, M: Tensor, xi: Tensor) -> Tensor:
        """``phi = c (M xi - d S) / N + h`` ``(R, N)`` from integer overlaps ``M`` (R, P): the
        integer part is exact (float64 products of integers below ``2^53``)."""
        nh = M.to(torch.float64) @ xi - self._hebb_diag * S.to(torch.float64)  # (R, N)
        return nh * self._hebb_scale / self.n + self.h.to(torch.float64)

    def _run(
        self,
        S: Tensor,
        dynamics: str,
        T: float,
        n_sweeps: int,
        generator: torch.Generator | None,
        record_every: int | None,
        xi: Tensor | None,
        order: str,
    ) -> BinaryRun:
        """The body of :meth:`run` on validated inputs (``S`` is modified in place)."""
        R = S.shape[0]
        dev = S.device
        sweeper = _Sweeper(self, S, T) if dynamics != "parallel" else None
        energy = self.energy if sweeper is None else sweeper.energy
        rec = _Recorder(energy, xi, keep_states=record_every is not None)
        rec.add(0, S)
        settled = torch.full((R,), -1, dtype=torch.long, device=dev)
        cycle2 = torch.zeros(R, dtype=torch.bool, device=dev)
        deterministic = T == 0
        done = 0
        if dynamics == "parallel":
            prev = S.clone()
            H = S @ self.J.T + self.h
            fixed = (S * H >= 0).all(1)
            settled[fixed] = 0
            for t in range(1, n_sweeps + 1):
                if bool((settled >= 0).all()):
                    break
                new = _sign_keep(H, S)  # (R, N)
                fixed_now = (new == S).all(1)
                cyc_now = (new == prev).all(1) & ~fixed_now  # s(t+1) = s(t-1) != s(t)
                newly = (settled < 0) & (fixed_now | cyc_now)
                settled[newly] = t
                cycle2 |= newly & cyc_now
                prev, S = S, new
                H = S @ self.J.T + self.h
                done = t
                if record_every is not None and t % record_every == 0:
                    rec.add(t, S)
            stable = (S * H >= 0).all(1)
        else:
            assert sweeper is not None
            if deterministic:
                settled[sweeper.stable()] = 0
            for t in range(1, n_sweeps + 1):
                if deterministic and bool((settled >= 0).all()):
                    break
                sites = self._sites(R, order, generator, dev)
                u = None
                if T > 0:
                    u = torch.rand(
                        (self.n, R), generator=generator, dtype=torch.float64, device=dev
                    )
                sweeper.sweep(sites, u)
                if deterministic:
                    newly = (settled < 0) & sweeper.stable()
                    settled[newly] = t
                done = t
                if record_every is not None and t % record_every == 0:
                    rec.add(t, S)
            stable = sweeper.stable()
        if rec.sweeps[-1] != done:
            rec.add(done, S)
        return BinaryRun(
            states=S,
            energies=torch.stack(rec.energies),
            record_sweeps=torch.tensor(rec.sweeps, dtype=torch.long),
            trajectory=torch.stack(rec.states) if rec.states else None,
            overlaps=torch.stack(rec.overlaps) if xi is not None else None,
            converged=stable,
            cycle2=cycle2,
            settled_sweep=settled,
            n_sweeps=done,
            dynamics=dynamics,
            temperature=T,
        )


class _Sweeper:
    """Single-spin sweeps of one run on the states ``S`` (modified in place).

    Picks the representation once per run: integer overlaps for a Hebbian model on CPU (see
    :meth:`BinaryHopfield._overlap_setup`), else the fields ``H = S J^T + h`` with ``J^T`` a
    view of ``J`` when it is symmetric (a copy for this run otherwise), refreshed exactly after
    every sweep. ``stable()`` says which replicas are fixed points of the deterministic
    dynamics (``s_i phi_i >= 0`` for every ``i``), with exact fields in the overlap case.
    """

    def __init__(self, model: BinaryHopfield, S: Tensor, T: float) -> None:
        self.model, self.S, self.T = model, S, T
        self.cpu = S.device.type == "cpu"
        setup = model._overlap_setup(S.device)
        self.H: Tensor | None = None
        if setup is not None:
            self.XT, self.xi = setup
            M = (S.to(torch.float64) @ self.xi.T).round()  # (R, P) exact integer overlaps
            self.M: Tensor | None = M.to(torch.int32)
            self.h64 = np.ascontiguousarray(model.h.to(torch.float64).numpy())
        else:
            self.M = None
            J = model.J
            self.JT = J if model.is_symmetric else J.T.contiguous()  # row i = J[:, i]
            self.H = S @ J.T + model.h  # (R, N)

    def energy(self, S: Tensor) -> Tensor:
        """``L(s)`` ``(R,)``; from exact integer overlaps in the overlap representation:
        ``-(c / 2N)(|xi s|^2 - d N) - h.s`` (the model's :meth:`~BinaryHopfield.energy` up to
        its rounding)."""
        if self.M is None:
            return self.model.energy(S)
        m = self.model
        S64 = S.to(torch.float64)
        M = (S64 @ self.xi.T).round()  # (R, P) exact overlaps
        quad = (M * M).sum(1) - m._hebb_diag * m.n  # (R,) integer s.(xi^T xi - d I).s
        E = -(m._hebb_scale / (2 * m.n)) * quad - S64 @ m.h.to(torch.float64)
        return E.to(S.dtype)

    def stable(self) -> Tensor:
        if self.M is not None:
            phi = self.model._exact_fields(self.S, self.M, self.xi)
            return (self.S.to(torch.float64) * phi >= 0).all(1)
        assert self.H is not None
        return (self.S * self.H >= 0).all(1)

    def sweep(self, sites: Tensor, u: Tensor | None) -> None:
        """``N`` single-spin updates per replica at ``sites`` ``(R, N)`` (in place)."""
        S, T = self.S, self.T
        un = None if u is None or not self.cpu else u.numpy()
        if self.M is not None:
            m = self.model
            _sweeps.sweep_overlaps(
                S.numpy(),
                self.M.numpy(),
                self.XT,
                m._hebb_diag,
                m._hebb_scale,
                self.h64,
                T,
                sites.numpy(),
                un,
            )
            return
        assert self.H is not None
        if self.cpu:
            _sweeps.sweep_fields(S.numpy(), self.H.numpy(), self.JT.numpy(), T, sites.numpy(), un)
        else:
            _dense_sweep(S, self.H, self.JT, T, sites, u)
        self.H = S @ self.model.J.T + self.model.h  # exact refresh once per sweep


def _dense_sweep(
    S: Tensor, H: Tensor, JT: Tensor, T: float, sites: Tensor, u: Tensor | None
) -> None:
    """The GPU sweep in the fields representation: dense ``(R, N)`` torch updates, no host
    synchronisation per step (in place on ``S`` and ``H``)."""
    rows = torch.arange(S.shape[0], device=S.device)
    for k in range(sites.shape[1]):
        i = sites[:, k]  # (R,) the site each replica updates now
        s_i = S[rows, i]  # (R,)
        flip = _draw_flips(s_i * H[rows, i], T, None if u is None else u[k])
        delta = torch.where(flip, -2.0 * s_i, torch.zeros_like(s_i))  # (R,) new - old
        S[rows, i] = s_i + delta
        H.add_(delta[:, None] * JT[i])  # (R, N): phi += (new - old) J[:, i]


# --- helpers ---------------------------------------------------------------------------------


def _fingerprint(J: Tensor) -> tuple[object, ...] | None:
    """Identity of ``J``'s contents: object, storage, version counter (bumped by every in-place
    write), dtype, device, shape; None for an inference tensor (no version counter)."""
    if J.is_inference():
        return None
    return (id(J), J.data_ptr(), J._version, J.dtype, J.device, tuple(J.shape))


class _Recorder:
    """Energies, states and overlaps at the recorded sweeps."""

    def __init__(
        self, energy: Callable[[Tensor], Tensor], xi: Tensor | None, *, keep_states: bool
    ) -> None:
        self.energy = energy
        self.xi = xi
        self.keep_states = keep_states
        self.sweeps: list[int] = []
        self.energies: list[Tensor] = []
        self.states: list[Tensor] = []
        self.overlaps: list[Tensor] = []

    def add(self, t: int, S: Tensor) -> None:
        self.sweeps.append(t)
        self.energies.append(self.energy(S))
        if self.keep_states:
            self.states.append(S.clone())
        if self.xi is not None:
            self.overlaps.append(S @ self.xi.T / S.shape[1])  # (R, P) Mattis magnetisations


@contextlib.contextmanager
def _single_thread(enabled: bool) -> Iterator[None]:
    """Run the block with one intra-op CPU thread (restored after).

    The sweeps issue thousands of tiny ops; with several threads each one may wait on a
    thread pool, which on a loaded machine costs up to milliseconds per op (measured: 5-100x
    slower runs with 2 threads on 2 busy cores). Single-threaded, the once-per-sweep field
    refresh (one ``(R, N) x (N, N)`` matmul) is the only op that loses, and it is not the
    bottleneck.
    """
    before = torch.get_num_threads()
    if not enabled or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_temperature(temperature: object) -> float:
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
        raise ConfigError(f"temperature must be a number >= 0; got {temperature!r}")
    check_range("temperature", temperature, 0.0)
    return float(temperature)


def _check_patterns(patterns: object) -> Tensor:
    if not isinstance(patterns, Tensor) or patterns.ndim != 2 or 0 in patterns.shape:
        shape = tuple(patterns.shape) if isinstance(patterns, Tensor) else type(patterns).__name__
        raise ConfigError(f"patterns must be a non-empty 2-D tensor (P, N); got {shape}")
    if not ((patterns == 1) | (patterns == -1)).all():
        raise ConfigError("patterns must contain only -1 and +1 entries")
    if not patterns.is_floating_point():
        patterns = patterns.to(torch.get_default_dtype())
    return patterns


def _sign_keep(H: Tensor, S: Tensor) -> Tensor:
    """``sgn(H)`` elementwise, keeping the current spin where ``H == 0`` (the tie rule)."""
    return torch.where(H > 0, 1.0, torch.where(H < 0, -1.0, S)).to(S.dtype)


def _flip_prob(stability: Tensor, T: float) -> Tensor:
    """Flip probability from ``s_i phi_i`` (Lemma 2.1.3): ``1/(1 + exp(2 s_i phi_i / T))``."""
    if T == 0:
        return (stability < 0).to(stability.dtype)
    return torch.sigmoid(-2.0 * stability / T)


def _draw_flips(stability: Tensor, T: float, u: Tensor | None) -> Tensor:
    """Bool flips from ``s_i phi_i``: deterministic for ``T = 0``, else ``u < p_flip``."""
    if T == 0 or u is None:
        return stability < 0
    return u < torch.sigmoid(-2.0 * stability.double() / T)


def _uniform(n: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    return torch.rand(n, generator=generator, dtype=torch.float64, device=device)
