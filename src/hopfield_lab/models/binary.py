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

Implementation. Sequential and Glauber sweeps keep the local fields ``H = S J^T + h`` (R, N)
up to date: a flip of spin ``i`` adds ``2 s_i^new J[:, i]`` to a replica's fields, ``O(N)`` per
flipped replica; the fields are recomputed exactly once per sweep so that rounding cannot
accumulate. Work on fixed-point states is thus ``O(R)`` per spin update. On CPU the per-spin
loop runs on NumPy views of the tensors (lower per-call overhead than torch) and the whole run
uses one intra-op thread (thousands of tiny ops gain nothing from a thread pool and lose much
on a loaded machine); on GPU it stays in torch with dense ``(R, N)`` updates. Throughput
against a per-spin NumPy loop: ``hopfield-lab bench glauber-vs-numpy``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import Tensor

from hopfield_lab.core.dynamics import HopfieldModel
from hopfield_lab.errors import ConfigError, check_choice, check_int, check_range

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
    if not torch.isfinite(J).all():
        raise ConfigError("J must have finite entries; got NaN or Inf")
    return J


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
    _JT: Tensor

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
        J = _as_matrix(J)
        n = J.shape[0]
        if h is None:
            h = torch.zeros(n, dtype=J.dtype, device=J.device)
        if not isinstance(h, Tensor) or h.shape != (n,):
            shape = tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__
            raise ConfigError(f"h must be a tensor of shape ({n},) like J's rows; got {shape}")
        if not torch.isfinite(h).all():
            raise ConfigError("h must have finite entries; got NaN or Inf")
        self.register_buffer("J", J.clone())
        self.register_buffer("h", h.to(dtype=J.dtype, device=J.device).clone())
        self.register_buffer("_JT", J.T.contiguous(), persistent=False)  # row i = J[:, i]
        self.state_dim = n

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
        N = xi.shape[1]
        J = xi.T @ xi / N  # (N, N)
        if diagonal == "zero":
            J.fill_diagonal_(0.0)
        return cls(J, h)

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
        return cls(Jm, torch.full((n,), float(h), dtype=dtype))

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
        H = S @ self._JT + self.h  # (R, N): phi_i = sum_j J_ij s_j + h_i
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
        E = -0.5 * ((S @ self._JT) * S).sum(1) - S @ self.h  # (R,)
        return E[0] if single else E

    def update(self, x: Tensor) -> Tensor:
        """One parallel step ``s <- sgn(J s + h)``, zero field keeps the spin (Def. 2.1.2)."""
        S, single = self._states(x, "x")
        out = _sign_keep(S @ self._JT + self.h, S)
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
        H = S @ self._JT + self.h  # (R, N)
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
        rec = _Recorder(self, xi, keep_states=record_every is not None)
        rec.add(0, S)
        settled = torch.full((R,), -1, dtype=torch.long, device=dev)
        cycle2 = torch.zeros(R, dtype=torch.bool, device=dev)
        deterministic = T == 0
        done = 0
        if dynamics == "parallel":
            prev = S.clone()
            H = S @ self._JT + self.h
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
                H = S @ self._JT + self.h
                done = t
                if record_every is not None and t % record_every == 0:
                    rec.add(t, S)
        else:
            H = S @ self._JT + self.h  # (R, N)
            if deterministic:
                settled[(S * H >= 0).all(1)] = 0
            for t in range(1, n_sweeps + 1):
                if deterministic and bool((settled >= 0).all()):
                    break
                self._sweep(S, H, T, order, generator)
                H = S @ self._JT + self.h  # exact refresh once per sweep
                if deterministic:
                    newly = (settled < 0) & (S * H >= 0).all(1)
                    settled[newly] = t
                done = t
                if record_every is not None and t % record_every == 0:
                    rec.add(t, S)
        if rec.sweeps[-1] != done:
            rec.add(done, S)
        H = S @ self._JT + self.h
        return BinaryRun(
            states=S,
            energies=torch.stack(rec.energies),
            record_sweeps=torch.tensor(rec.sweeps, dtype=torch.long),
            trajectory=torch.stack(rec.states) if rec.states else None,
            overlaps=torch.stack(rec.overlaps) if xi is not None else None,
            converged=(S * H >= 0).all(1),
            cycle2=cycle2,
            settled_sweep=settled,
            n_sweeps=done,
            dynamics=dynamics,
            temperature=T,
        )

    def _sweep(
        self,
        S: Tensor,
        H: Tensor,
        T: float,
        order: str,
        generator: torch.Generator | None,
    ) -> None:
        """One sweep of ``N`` single-spin updates per replica, in place on ``S`` and ``H``."""
        R, N = S.shape
        dev = S.device
        if order == "permutation":
            rand = torch.rand((R, N), generator=generator, device=dev)
            sites = rand.argsort(dim=1)  # (R, N), one random permutation per replica
        else:
            sites = torch.randint(0, N, (R, N), generator=generator, device=dev)  # (R, N)
        u = None
        if T > 0:
            u = torch.rand((N, R), generator=generator, dtype=torch.float64, device=dev)
        rows = torch.arange(R, device=dev)
        dense = dev.type != "cpu"  # on GPUs avoid the host sync of nonzero()
        self._spin_loop(S, H, T, sites, u, rows, dense)

    def _spin_loop(
        self,
        S: Tensor,
        H: Tensor,
        T: float,
        sites: Tensor,
        u: Tensor | None,
        rows: Tensor,
        dense: bool,
    ) -> None:
        """The ``N`` single-spin updates of one sweep (in place).

        On CPU the loop runs on NumPy views of ``S`` and ``H`` (shared memory): the work per
        step is a handful of length-``R`` operations plus ``O(N)`` per flipped replica, and
        NumPy's per-call overhead is several times smaller than torch's. On other devices it
        stays in torch with a dense update (no host synchronisation per step).
        """
        if not dense:
            _numpy_spin_loop(
                S.numpy(),
                H.numpy(),
                self._JT.numpy(),
                T,
                sites.numpy(),
                None if u is None else u.numpy(),
            )
            return
        for k in range(sites.shape[1]):
            i = sites[:, k]  # (R,) the site each replica updates now
            s_i = S[rows, i]  # (R,)
            flip = _draw_flips(s_i * H[rows, i], T, None if u is None else u[k])
            delta = torch.where(flip, -2.0 * s_i, torch.zeros_like(s_i))  # (R,) new - old
            S[rows, i] = s_i + delta
            H.add_(delta[:, None] * self._JT[i])  # (R, N): phi += (new - old) J[:, i]


def _numpy_spin_loop(
    S: np.ndarray,
    H: np.ndarray,
    JT: np.ndarray,
    T: float,
    sites: np.ndarray,
    u: np.ndarray | None,
) -> None:
    """CPU sweep on arrays that share memory with the tensors (modified in place)."""
    R = S.shape[0]
    rows = np.arange(R)
    for k in range(sites.shape[1]):
        i = sites[:, k]  # (R,)
        s_i = S[rows, i]  # (R,)
        stability = s_i * H[rows, i]  # (R,) s_i phi_i
        if u is None:
            flip = stability < 0
        else:  # heat bath: P(flip) = 1 / (1 + exp(2 s_i phi_i / T)), Lemma 2.1.3
            x = np.minimum(2.0 * stability.astype(np.float64) / T, 700.0)
            flip = u[k] < 1.0 / (1.0 + np.exp(x))
        r = np.flatnonzero(flip)
        if r.size == 0:
            continue
        ir = i[r]
        new = -s_i[r]  # (F,)
        S[r, ir] = new
        H[r] += (2.0 * new)[:, None] * JT[ir]  # (F, N): phi += (new - old) J[:, i], rows distinct


# --- helpers ---------------------------------------------------------------------------------


class _Recorder:
    """Energies, states and overlaps at the recorded sweeps."""

    def __init__(self, model: BinaryHopfield, xi: Tensor | None, *, keep_states: bool) -> None:
        self.model = model
        self.xi = xi
        self.keep_states = keep_states
        self.sweeps: list[int] = []
        self.energies: list[Tensor] = []
        self.states: list[Tensor] = []
        self.overlaps: list[Tensor] = []

    def add(self, t: int, S: Tensor) -> None:
        self.sweeps.append(t)
        self.energies.append(self.model.energy(S))
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
