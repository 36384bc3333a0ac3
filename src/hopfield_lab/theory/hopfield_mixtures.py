"""Mean-field theory of the Hopfield model at low load: pure and mixture states.

Lecture notes, ch. 2, Sec. 2.2.2 (Theorem 2.3, Lemmas 2.2.1-2.2.3). With ``P`` patterns of
i.i.d. ``+-1`` entries, ``P / N -> 0`` and the Hebbian couplings of Def. 2.1.4, the quenched free
energy per spin of the overlaps ``m = (m_1, ..., m_P)`` is (Eq. 2.9)

    f(m) = 1/2 |m|^2 - (1/beta) E_xi ln 2cosh(beta m . xi),

where ``E_xi`` averages over the ``2^P`` equally likely sign vectors ``xi in {-1, +1}^P`` (the
notes' ``x``). Its stationary points solve (Eq. 2.10) ``m = E_xi[xi tanh(beta m . xi)]``, its
gradient is ``m - E[xi tanh(beta m . xi)]`` and its Hessian (Lemma 2.2.3, reconstructed from the
proof: the printed statement is garbled by extraction) is

    A_{mu nu} = delta_{mu nu} - beta E_xi[ xi_mu xi_nu sech^2(beta m . xi) ].

Symmetric mixtures (Lemma 2.2.2). For ``m = m_n (1, ..., 1, 0, ..., 0)`` with ``n`` ones, ``m . xi
= m_n z`` with ``z = xi_1 + ... + xi_n`` and ``z = n - 2k``, ``k ~ Binomial(n, 1/2)``. Averaging
Eq. 2.10 over the ``n`` symmetric components gives the exact scalar equation

    m_n = (1/n) E_z[ z tanh(beta m_n z) ],

computed over the ``n + 1`` values of ``z`` with weights ``C(n, k) / 2^n`` (the ``2^n`` sign
patterns grouped by their sum, no sampling); the uninvolved components (``mu > n``) vanish by
independence. The right-hand side over ``m_n`` is ``(beta/n) E[z^2 tanhc(beta m_n z)]`` with
``tanhc(x) = tanh(x)/x`` decreasing in ``|x|``, so a positive solution exists iff ``beta > 1`` and
is then unique; it is bracketed in ``(0, 1]`` and found by bisection to full precision.

The Hessian at a symmetric mixture has three distinct eigenvalues. With
``S_0 = E_z[sech^2(beta m_n z)]`` and ``S_2 = E_z[c(z) sech^2(beta m_n z)]`` where
``c(z) = E[xi_1 xi_2 | z] = (z^2 - n) / (n (n - 1))``:

* ``lambda_sym  = 1 - beta S_0 - (n - 1) beta S_2`` along ``(1, ..., 1, 0, ...)`` (multiplicity 1);
* ``lambda_anti = 1 - beta S_0 + beta S_2`` in the involved block orthogonal to it (``n - 1``);
* ``lambda_out  = 1 - beta S_0`` along each uninvolved pattern (``P - n``; these directions exist
  whenever ``P > n``, the usual low-load setting).

(In the notes' notation ``Q = 1 - S_0`` and ``R = -S_2``.) For ``n = 1`` all three coincide with
``1 - beta (1 - m_1^2)``, the Curie-Weiss curvature, positive for every ``beta > 1`` (notes). The
classical result (Amit, Gutfreund & Sompolinsky, Phys. Rev. A 32, 1007, 1985) is that odd
mixtures become local minima below a temperature that decreases with ``n`` (about 0.46 for
``n = 3``) and even mixtures never do: at ``T -> 0`` an even ``z`` hits 0 with probability
``C(n, n/2) / 2^n`` and ``beta S_0 -> inf``. :func:`mixture_critical_temperature` finds the
threshold by root finding on the smallest eigenvalue; nothing here is tabulated.

``T = 0`` is handled as the limit ``beta -> inf``: ``m_n = E|z| / n``, ``f = n m_n^2/2 - m_n
E|z|`` and ``beta sech^2(beta m_n z) -> 0`` for ``z != 0`` and ``+inf`` for ``z = 0``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hopfield_lab.errors import MAX_INT, ConfigError, shown
from hopfield_lab.theory.curie_weiss import bisect

__all__ = [
    "MAX_MIXTURE",
    "MixtureState",
    "MixtureThreshold",
    "hopfield_free_energy",
    "hopfield_gradient",
    "hopfield_hessian",
    "mixture_critical_temperature",
    "mixture_eigenvalues",
    "mixture_free_energy",
    "mixture_line_barrier",
    "mixture_overlap",
    "sign_patterns",
    "solve_mixture",
    "sum_distribution",
]

ArrayLike = Any

#: Largest ``P`` for which :func:`sign_patterns` enumerates all ``2^P`` vectors.
MAX_ENUMERATED_PATTERNS = 20

#: Largest mixture size ``n``: the law of ``z = xi_1 + ... + xi_n`` is ``C(n, k) / 2^n``,
#: exact in float64 up to here (``2^n`` overflows past ``n = 1023``, and ``n = 10^8`` would
#: take hours of big-integer binomials instead of failing).
MAX_MIXTURE = 1000


# --- validation and numerics -------------------------------------------------------------------


def _check_n(n: Any, name: str = "n", high: int = MAX_MIXTURE) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= high:
        what = "number of mixed patterns" if name == "n" else "number of patterns"
        raise ConfigError(f"{name} must be an integer in [1, {high}] ({what}); got {shown(n)}")
    return int(n)


def _temperatures(temperature: ArrayLike) -> np.ndarray:
    if isinstance(temperature, bool):
        raise ConfigError(f"temperature must be a finite number >= 0; got {temperature!r}")
    try:
        T = np.asarray(temperature, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"temperature must be a finite number >= 0; got {temperature!r}"
        ) from None
    if not np.isfinite(T).all() or (T < 0).any():
        raise ConfigError(f"temperature must be a finite number >= 0; got {temperature!r}")
    return T


def _beta(name: str, beta: ArrayLike) -> np.ndarray:
    b = np.asarray(beta, dtype=np.float64)
    if isinstance(beta, bool) or not np.isfinite(b).all() or (b <= 0).any():
        raise ConfigError(f"{name} must be a finite number > 0; got {beta!r}")
    return b


def _sech2(x: np.ndarray) -> np.ndarray:
    """``sech^2(x) = 4 e^{-2|x|} / (1 + e^{-2|x|})^2``, without overflow."""
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / (1.0 + e) ** 2


def _log2cosh(x: np.ndarray) -> np.ndarray:
    """``ln 2cosh(x) = |x| + ln(1 + e^{-2|x|})``, without overflow."""
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a))


def _tanhc(x: np.ndarray) -> np.ndarray:
    """``tanh(x) / x`` with its limit 1 at 0 (series below ``|x| < 1e-4``)."""
    small = np.abs(x) < 1e-4
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x**2 / 3.0 + 2.0 * x**4 / 15.0, np.tanh(safe) / safe)


def sum_distribution(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact law of ``z = xi_1 + ... + xi_n`` for i.i.d. uniform signs.

    Args:
        n: number of signs, >= 1.

    Returns:
        ``(z, p)``: the ``n + 1`` values ``n - 2k`` (k = 0..n) and their probabilities
        ``C(n, k) / 2^n`` (exact in float64 for ``n <= 1000``).
    """
    n = _check_n(n)
    k = np.arange(n + 1)
    z = (n - 2 * k).astype(np.float64)
    p = np.array([math.comb(n, int(j)) for j in k], dtype=np.float64) / 2.0**n
    return z, p


def sign_patterns(P: int) -> np.ndarray:
    """All ``2^P`` vectors of ``{-1, +1}^P`` (rows), for exact pattern averages ``E_xi``.

    Args:
        P: number of patterns, 1 <= P <= 20.

    Returns:
        Array ``(2^P, P)`` of float64 signs.
    """
    P = _check_n(P, "P", MAX_INT)
    if P > MAX_ENUMERATED_PATTERNS:
        raise ConfigError(f"P must be <= {MAX_ENUMERATED_PATTERNS} for exact enumeration; got {P}")
    return np.array(list(itertools.product((1.0, -1.0), repeat=P)), dtype=np.float64)


# --- the general low-load free energy (any overlap vector) ------------------------------------


def _overlaps(m: ArrayLike) -> np.ndarray:
    arr = np.asarray(m, dtype=np.float64)
    if arr.ndim == 0 or not np.isfinite(arr).all():
        raise ConfigError(f"m must be a finite array of overlaps with shape (..., P); got {m!r}")
    return arr


def hopfield_free_energy(m: ArrayLike, beta: float) -> np.ndarray:
    """``f(m) = |m|^2/2 - (1/beta) E_xi ln 2cosh(beta m . xi)`` (Theorem 2.3, Eq. 2.9).

    Args:
        m: overlaps, shape ``(..., P)`` with ``P <= 20`` (the average is an exact enumeration).
        beta: inverse temperature, > 0.

    Returns:
        ``f``, shape ``(...)``.
    """
    m = _overlaps(m)
    b = _beta("beta", beta)
    xi = sign_patterns(m.shape[-1])  # (2^P, P)
    h = m @ xi.T  # (..., 2^P)
    return 0.5 * (m**2).sum(-1) - _log2cosh(b * h).mean(-1) / b


def hopfield_gradient(m: ArrayLike, beta: float) -> np.ndarray:
    """``grad f = m - E_xi[xi tanh(beta m . xi)]``; zero exactly at solutions of Eq. 2.10.

    Args:
        m: overlaps, shape ``(..., P)``, ``P <= 20``.
        beta: inverse temperature, > 0.

    Returns:
        The gradient, shape ``(..., P)``.
    """
    m = _overlaps(m)
    b = _beta("beta", beta)
    xi = sign_patterns(m.shape[-1])  # (2^P, P)
    t = np.tanh(b * (m @ xi.T))  # (..., 2^P)
    return m - t @ xi / xi.shape[0]


def hopfield_hessian(m: ArrayLike, beta: float) -> np.ndarray:
    """``A = I - beta E_xi[xi xi^T sech^2(beta m . xi)]`` (Lemma 2.2.3, reconstructed).

    Args:
        m: overlaps, shape ``(..., P)``, ``P <= 20``.
        beta: inverse temperature, > 0.

    Returns:
        The Hessian of :func:`hopfield_free_energy`, shape ``(..., P, P)``.
    """
    m = _overlaps(m)
    b = _beta("beta", beta)
    P = m.shape[-1]
    xi = sign_patterns(P)  # (2^P, P)
    w = _sech2(b * (m @ xi.T)) / xi.shape[0]  # (..., 2^P)
    return np.eye(P) - b[..., None, None] * np.einsum("...s,sp,sq->...pq", w, xi, xi)


# --- symmetric mixtures -----------------------------------------------------------------------


def mixture_overlap(n: int, temperature: ArrayLike) -> np.ndarray:
    """The overlap ``m_n >= 0`` of the symmetric ``n``-mixture, ``m_n = E[z tanh(beta m_n z)]/n``.

    Args:
        n: number of mixed patterns, >= 1.
        temperature: ``T >= 0``, any shape.

    Returns:
        ``m_n(T)``, same shape: 0 for ``T >= 1`` (Lemma 2.2.1), ``E|z|/n`` at ``T = 0``.
    """
    n = _check_n(n)
    T = _temperatures(temperature)
    z, p = sum_distribution(n)
    cold = T == 0
    hot = T >= 1
    beta = 1.0 / np.where(cold | hot, 0.5, T)  # placeholder beta = 2 where not solved

    def phi(m: np.ndarray) -> np.ndarray:
        # 1 - RHS(m)/m, increasing in m, = 1 - beta at m = 0 and > 0 at m = 1
        x = beta[..., None] * m[..., None] * z  # (..., n+1)
        return 1.0 - beta / n * (p * z**2 * _tanhc(x)).sum(-1)

    lo = np.zeros_like(T)
    hi = np.ones_like(T)
    m = bisect(phi, lo, hi)
    m_cold = float((p * np.abs(z)).sum() / n)
    return np.where(cold, m_cold, np.where(hot, 0.0, m))


def mixture_free_energy(n: int, temperature: ArrayLike, m: ArrayLike | None = None) -> np.ndarray:
    """``f_n = n m^2 / 2 - (1/beta) E_z ln 2cosh(beta m z)`` (Eq. 2.9 at the n-mixture).

    Args:
        n: number of mixed patterns, >= 1.
        temperature: ``T >= 0``.
        m: the common overlap; default the solution :func:`mixture_overlap` (``m = 0`` gives
            the paramagnetic ``-T ln 2``).

    Returns:
        ``f_n``, broadcast shape of ``temperature`` and ``m``.
    """
    n = _check_n(n)
    T = _temperatures(temperature)
    mm = mixture_overlap(n, T) if m is None else np.asarray(m, dtype=np.float64)
    T, mm = np.broadcast_arrays(T, mm)
    z, p = sum_distribution(n)
    cold = T == 0
    safe_T = np.where(cold, 1.0, T)
    warm = 0.5 * n * mm**2 - safe_T * (p * _log2cosh(mm[..., None] * z / safe_T[..., None])).sum(-1)
    zero_t = 0.5 * n * mm**2 - np.abs(mm) * float((p * np.abs(z)).sum())
    return np.where(cold, zero_t, warm)


def _beta_weighted_sech2(
    weights: np.ndarray, p: np.ndarray, z: np.ndarray, m: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """``beta E_z[w(z) sech^2(beta m z)]`` with its ``T = 0`` limit (``inf`` from ``z = 0``)."""
    cold = T == 0
    beta = 1.0 / np.where(cold, 1.0, T)
    warm = beta * (p * weights * _sech2(beta[..., None] * m[..., None] * z)).sum(-1)
    mass0 = float((p * weights)[z == 0].sum()) if (z == 0).any() else 0.0
    limit = math.inf * np.sign(mass0) if mass0 != 0 else 0.0
    return np.where(cold, limit, warm)


def mixture_eigenvalues(
    n: int, temperature: ArrayLike, m: ArrayLike | None = None
) -> dict[str, np.ndarray]:
    """The three distinct Hessian eigenvalues at the symmetric ``n``-mixture (module docstring).

    Args:
        n: number of mixed patterns, >= 1.
        temperature: ``T >= 0``.
        m: the common overlap; default the solution of the self-consistency equation.

    Returns:
        ``{"sym": lambda_sym, "anti": lambda_anti, "out": lambda_out}`` (multiplicities 1,
        ``n - 1`` and ``P - n``); ``anti`` is NaN for ``n = 1`` (no such direction).
    """
    n = _check_n(n)
    T = _temperatures(temperature)
    mm = mixture_overlap(n, T) if m is None else np.asarray(m, dtype=np.float64)
    T, mm = np.broadcast_arrays(T, mm)
    z, p = sum_distribution(n)
    s0 = _beta_weighted_sech2(np.ones_like(z), p, z, mm, T)
    if n == 1:
        return {"sym": 1.0 - s0, "anti": np.full_like(s0, np.nan), "out": 1.0 - s0}
    c = (z**2 - n) / (n * (n - 1))  # E[xi_1 xi_2 | z]
    s2 = _beta_weighted_sech2(c, p, z, mm, T)
    with np.errstate(invalid="ignore"):  # inf - inf cannot occur: s2 has the sign of c(0) < 0
        sym = 1.0 - s0 - (n - 1) * s2
        anti = 1.0 - s0 + s2
    # at T = 0 and even n, s0 -> +inf and (n - 1) s2 -> -inf with equal weight: sym -> 1
    sym = np.where((T == 0) & np.isnan(sym), 1.0, sym)
    return {"sym": sym, "anti": anti, "out": 1.0 - s0}


def _min_eigenvalue(n: int, T: np.ndarray, include_uninvolved: bool) -> np.ndarray:
    ev = mixture_eigenvalues(n, T)
    keys = ["sym"] + (["anti"] if n > 1 else []) + (["out"] if include_uninvolved else [])
    return np.min(np.stack([ev[k] for k in keys]), axis=0)


@dataclass(frozen=True)
class MixtureState:
    """The symmetric ``n``-mixture at one temperature.

    Attributes:
        n: number of mixed patterns.
        temperature: ``T`` (``beta = 1/T``; ``T = 0`` is the limit).
        n_patterns: ``P`` (None: ``P > n``, uninvolved directions present).
        overlap: ``m_n`` (0 when the mixture does not exist, ``T >= 1``).
        exists: ``m_n > 0``.
        free_energy: ``f_n`` per spin (Eq. 2.9).
        eigenvalues: ``{"sym", "anti", "out"}`` Hessian eigenvalues.
        multiplicities: their multiplicities (``P - n`` as ``None`` when ``P`` is unspecified).
        min_eigenvalue: smallest eigenvalue over the directions present.
        stable: ``exists`` and ``min_eigenvalue > 0`` (a local minimum of ``f``).
    """

    n: int
    temperature: float
    n_patterns: int | None
    overlap: float
    exists: bool
    free_energy: float
    eigenvalues: dict[str, float]
    multiplicities: dict[str, int | None]
    min_eigenvalue: float
    stable: bool

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "n": self.n,
            "temperature": self.temperature,
            "beta": math.inf if self.temperature == 0 else 1.0 / self.temperature,
            "n_patterns": self.n_patterns,
            "overlap": self.overlap,
            "exists": self.exists,
            "free_energy": self.free_energy,
            "eigenvalues": self.eigenvalues,
            "multiplicities": self.multiplicities,
            "min_eigenvalue": self.min_eigenvalue,
            "stable": self.stable,
        }


def solve_mixture(n: int, temperature: float, n_patterns: int | None = None) -> MixtureState:
    """Solve the symmetric ``n``-mixture at temperature ``T``: overlap, free energy, stability.

    Args:
        n: number of mixed patterns, in ``[1, 1000]`` (:data:`MAX_MIXTURE`).
        temperature: ``T = 0`` or ``1e-12 <= T <= 1e12`` (beyond, ``beta^2`` overflows).
        n_patterns: ``P >= n``; ``P = n`` drops the uninvolved directions. Default None: ``P > n``.

    Returns:
        A :class:`MixtureState`.

    Raises:
        ConfigError: if ``n < 1``, ``T < 0`` or not finite, or ``P < n``.
    """
    n = _check_n(n)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating)):
        raise ConfigError(f"temperature must be a finite number >= 0; got {temperature!r}")
    T = float(_temperatures(temperature))
    if T != 0 and not 1e-12 <= T <= 1e12:  # beta^2 overflows below T ~ 1e-154
        raise ConfigError(
            f"temperature must be 0 or in [1e-12, 1e12] (where the float64 numerics hold); "
            f"got {temperature!r}"
        )
    if n_patterns is not None:
        P = _check_n(n_patterns, "n_patterns", MAX_INT)
        if n > P:
            raise ConfigError(f"n_patterns must be >= n = {n}; got {P}")
    has_out = n_patterns is None or n_patterns > n
    m = float(mixture_overlap(n, T))
    ev = {k: float(v) for k, v in mixture_eigenvalues(n, T, m).items()}
    keys = ["sym"] + (["anti"] if n > 1 else []) + (["out"] if has_out else [])
    lam_min = min(ev[k] for k in keys)
    mult: dict[str, int | None] = {
        "sym": 1,
        "anti": n - 1,
        "out": None if n_patterns is None else n_patterns - n,
    }
    return MixtureState(
        n=n,
        temperature=T,
        n_patterns=n_patterns,
        overlap=m,
        exists=m > 0,
        free_energy=float(mixture_free_energy(n, T, m)),
        eigenvalues=ev,
        multiplicities=mult,
        min_eigenvalue=lam_min,
        stable=bool(m > 0 and lam_min > 0),
    )


@dataclass(frozen=True)
class MixtureThreshold:
    """Where the symmetric ``n``-mixture is a local minimum, from its smallest eigenvalue.

    Attributes:
        n: number of mixed patterns.
        critical_temperature: ``T_n``: the mixture is stable for every ``0 < T < T_n`` on the
            scan (0: never stable; 1: stable wherever it exists).
        crossings: every temperature in ``(0, 1)`` where the smallest eigenvalue changes sign.
        unstable_direction: the eigen-direction (``sym``, ``anti`` or ``out``) that turns
            unstable at ``T_n`` (None when ``T_n`` is 0 or 1).
        include_uninvolved: whether the ``out`` directions (``P > n``) were included.
    """

    n: int
    critical_temperature: float
    crossings: tuple[float, ...]
    unstable_direction: str | None
    include_uninvolved: bool


def mixture_critical_temperature(
    n: int,
    *,
    include_uninvolved: bool = True,
    t_min: float = 1e-3,
    t_max: float = 1.0 - 1e-6,
    n_grid: int = 2000,
) -> MixtureThreshold:
    """The temperature below which the symmetric ``n``-mixture is stable (smallest eigenvalue > 0).

    The smallest Hessian eigenvalue ``lambda_min(T)`` is evaluated on a uniform grid of
    ``n_grid`` temperatures in ``[t_min, t_max]``; every sign change is refined by bisection to
    full precision. ``T_n`` is the first crossing above ``t_min`` when the mixture is stable at
    ``t_min`` (0 if unstable there; ``1`` if no crossing at all).

    Args:
        n: number of mixed patterns, >= 1.
        include_uninvolved: include the ``P - n`` uninvolved directions (``P > n``). Default True.
        t_min: lowest scanned temperature, in (0, 1). Default 1e-3.
        t_max: highest scanned temperature, in (t_min, 1). Default 1 - 1e-6.
        n_grid: grid size, >= 10. Default 2000.

    Returns:
        A :class:`MixtureThreshold`.
    """
    n = _check_n(n)
    if not (isinstance(n_grid, int) and n_grid >= 10):
        raise ConfigError(f"n_grid must be an integer >= 10; got {n_grid!r}")
    if not (0 < t_min < t_max < 1):
        raise ConfigError(f"need 0 < t_min < t_max < 1; got t_min={t_min!r}, t_max={t_max!r}")
    grid = np.linspace(t_min, t_max, n_grid)
    lam = _min_eigenvalue(n, grid, include_uninvolved)
    sign = np.sign(lam)
    idx = np.nonzero(sign[:-1] * sign[1:] < 0)[0]
    crossings: tuple[float, ...] = ()
    if idx.size:

        def fn(t: np.ndarray) -> np.ndarray:
            return _min_eigenvalue(n, t, include_uninvolved)

        crossings = tuple(float(t) for t in bisect(fn, grid[idx], grid[idx + 1]))
    direction: str | None = None
    if lam[0] <= 0:
        t_c = 0.0
    elif not crossings:
        t_c = 1.0
    else:
        t_c = crossings[0]
        ev = mixture_eigenvalues(n, np.array(min(t_c * (1 + 1e-6), t_max)))
        keys = ["sym"] + (["anti"] if n > 1 else []) + (["out"] if include_uninvolved else [])
        direction = min(keys, key=lambda k: float(ev[k]))
    return MixtureThreshold(
        n=n,
        critical_temperature=t_c,
        crossings=crossings,
        unstable_direction=direction,
        include_uninvolved=include_uninvolved,
    )


def mixture_line_barrier(n: int, temperature: float, points: int = 201) -> float | None:
    """Free-energy barrier per spin on the straight line from the symmetric n-mixture to a
    pure state: ``max_s f((1 - s) m^(n) + s m^(1)) - f(m^(n))``, ``s in [0, 1]``.

    ``m^(n) = m_n (1, ..., 1)`` (``n`` involved overlaps, :func:`mixture_overlap`) and
    ``m^(1) = (m_1, 0, ..., 0)``; ``f`` is Eq. 2.9 evaluated exactly over the ``2^n`` sign
    patterns of the involved patterns (:func:`hopfield_free_energy`). The line is one path
    among many, so this is an upper bound on the saddle-point barrier. A chain of ``N`` spins
    crosses a barrier ``N dF / T`` of a few units within a few sweeps, which is why finite-``N``
    chains leave a mixture below its stability temperature ``T_n``.

    Args:
        n: mixture size (>= 2).
        temperature: ``0 < T < 1`` (above ``T = 1`` no retrieval state exists).
        points: points on the line (>= 3). Default 201.

    Returns:
        The barrier ``dF >= 0``, or None for ``n = 1`` or ``T`` outside ``(0, 1)``.
    """
    n = _check_n(n)
    if n == 1 or not 0 < temperature < 1:
        return None
    if points < 3:
        raise ConfigError(f"points must be >= 3; got {points!r}")
    m_n = float(mixture_overlap(n, temperature))
    m_1 = float(mixture_overlap(1, temperature))
    start = np.full(n, m_n)
    end = np.r_[m_1, np.zeros(n - 1)]
    s = np.linspace(0.0, 1.0, points)[:, None]
    f = hopfield_free_energy((1 - s) * start + s * end, 1.0 / temperature)  # (points,)
    return float(f.max() - f[0])
