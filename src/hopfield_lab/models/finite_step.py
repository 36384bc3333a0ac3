"""Deep networks as finite-step Hopfield dynamics (Jung, Bang, Yoo & Zhang; the finite-step paper).

A weight-shared layer is one gradient step on a Hopfield energy. With ``M`` of shape ``(N, d)``
(``N`` hidden units, ``d`` state dimension) and a monotone activation ``sigma = grad Phi``
(App. C: ``tanh(beta u)``, ``sigmoid(beta u)`` or ``ReLU``):

* the map (Eq. 1): ``T(v) = M^T sigma(M v)``;
* the energy (Eq. 3): ``E(v) = |v|^2 / 2 - Phi(M v)``, so ``grad E(v) = v - T(v)``;
* the residual update (Eq. 4): ``v_{k+1} = v_k - a grad E(v_k) = (1 - a) v_k + a T(v_k)``,
  run for ``K`` steps; ``a = 1`` recovers ``v_{k+1} = T(v_k)``;
* the Jacobian of ``T`` and the Hessian of ``E`` (Eq. 6)::

      J_T(v) = M^T diag(sigma'(M v)) M,      grad^2 E(v) = I - J_T(v),

  ``J_T`` symmetric positive semi-definite because ``sigma' >= 0``. In the model contract
  ``jacobian(v)`` is the Jacobian of the update, ``(1 - a) I + a J_T(v)``; ``J_T`` itself is
  ``jacobian_T(v)`` (the diagnostics of :mod:`hopfield_lab.analysis` that need ``J_T`` take
  the step size ``a`` or ``model.jacobian_T``);
* the descent condition (Eq. 8, App. B.2): ``a <= 1 / L_k`` with ``L_k = 1 + |J_T(v_k)|_2``
  (see :func:`hopfield_lab.regularizers.descent_condition`);
* App. E: ``N = 128``; ``a = 1`` for ``K = 1`` and ``a = 0.5`` for ``K = 3, 5``; a linear
  classifier reads ``v_K``; trained end to end with cross-entropy and Adam.

Reading of the paper (our choice, the paper does not say how the input enters): the state
lives in input space, ``v_0 = x`` (the flattened image, ``d = 784`` for MNIST), so ``T`` maps
``R^d -> R^d`` through the ``N``-dimensional hidden layer and the classifier is
``nn.Linear(d, n_classes)`` on ``v_K``.

Initialisation (our choice): ``M = Z / (sqrt(d) + sqrt(N))`` with ``Z`` standard normal, i.e.
``N(0, 1/d)`` entries scaled by ``sqrt(d) / (sqrt(d) + sqrt(N))`` (0.71 for MNIST). By the
Bai-Yin law the largest singular value of ``Z`` is about ``sqrt(d) + sqrt(N)``, so
``|M|_2 ~ 1`` and ``|J_T(v)|_2 <= L_Phi |M|_2^2 ~ L_Phi`` at every ``v`` (``L_Phi = beta``
for tanh, ``beta / 4`` for sigmoid, 1 for ReLU; App. C): O(1), and for tanh with ``beta = 1``
the default ``a = 0.5`` satisfies the descent condition ``a <= 1 / (1 + |J_T|)`` at init.
Plain ``N(0, 1/d)`` would give ``|M|_2^2 ~ (1 + sqrt(N/d))^2 = 1.97`` for MNIST.

A property the paper does not state: for a monotone activation ``Phi`` is convex, so
``-Phi(M v) <= -Phi(M v_k) - T(v_k).(v - v_k)`` and ``E`` is majorised by the quadratic
``|v - T(v_k)|^2 / 2 + const`` that touches it at ``v_k``. Hence every step with
``0 < a < 2`` decreases the energy, ``E(v_{k+1}) <= E(v_k) - a (1 - a/2) |grad E(v_k)|^2``,
whatever ``|J_T|``: the paper's condition (8) is sufficient but never necessary for
``a <= 1`` (``grad^2 E = I - J_T <= I``: only the lower curvature grows with ``|J_T|``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hopfield_lab.core.activations import Activation, get_activation
from hopfield_lab.core.dynamics import HopfieldModel, as_batch
from hopfield_lab.errors import check_choice, check_int, check_positive, check_range
from hopfield_lab.regularizers.jacobian import jacobian_spectral_norm

__all__ = ["FINITE_STEP_ACTIVATIONS", "FiniteStepHopfield", "default_step"]

FINITE_STEP_ACTIVATIONS = ("relu", "sigmoid", "tanh")
"""Activations of the paper (App. C): monotone, with a convex Lagrangian."""


def default_step(K: int) -> float:
    """Step size of App. E: ``a = 1`` for ``K = 1`` (a plain layer), ``a = 0.5`` for ``K > 1``.

    Raises:
        ConfigError: if ``K`` is not an integer >= 1.
    """
    check_int("K", K, 1)
    return 1.0 if K == 1 else 0.5


class FiniteStepHopfield(HopfieldModel):
    """``K`` residual descent steps ``v <- (1 - a) v + a M^T sigma(M v)`` then a linear classifier.

    Args:
        d: state (input) dimension, >= 1. Default 784 (flattened MNIST).
        N: hidden units (rows of ``M``), >= 1. Default 128 (App. E).
        activation: ``"relu"``, ``"sigmoid"`` or ``"tanh"``. Default ``"tanh"``.
        beta: gain of ``tanh(beta u)`` and ``sigmoid(beta u)`` (> 0; ignored by ReLU).
            Default 1.
        a: step size in ``(0, 1]``; None (default) takes :func:`default_step` ``(K)``.
        K: number of descent steps, >= 1. Default 1.
        n_classes: outputs of the classifier on ``v_K``, >= 1. Default 10.

    Attributes:
        M: ``nn.Parameter`` ``(N, d)``, initialised as in the module docstring.
        classifier: ``nn.Linear(d, n_classes)`` with PyTorch's default initialisation.
        act: the :class:`~hopfield_lab.core.activations.Activation` (``sigma``, ``Phi``,
            ``sigma'``).

    Raises:
        ConfigError: for ``a`` outside ``(0, 1]``, ``K < 1``, ``N < 1``, ``d < 1``,
            ``n_classes < 1``, ``beta <= 0`` or an activation other than the three above;
            the message names the parameter.
    """

    def __init__(
        self,
        d: int = 784,
        N: int = 128,
        *,
        activation: str = "tanh",
        beta: float = 1.0,
        a: float | None = None,
        K: int = 1,
        n_classes: int = 10,
    ) -> None:
        super().__init__()
        check_int("d", d, 1)
        check_int("N", N, 1)
        check_int("K", K, 1)
        check_int("n_classes", n_classes, 1)
        check_choice("activation", activation, FINITE_STEP_ACTIVATIONS)
        check_positive("beta", beta)
        if a is None:
            a = default_step(K)
        check_range("a", a, 0.0, 1.0, low_inclusive=False)
        self.state_dim = d
        self.n_hidden = N
        self.K = K
        self.a = float(a)
        self.act: Activation = get_activation(activation, beta)
        self.M = nn.Parameter(torch.randn(N, d) / (d**0.5 + N**0.5))
        self.classifier = nn.Linear(d, n_classes)

    def extra_repr(self) -> str:
        return (
            f"d={self.state_dim}, N={self.n_hidden}, activation={self.act.name!r}, "
            f"beta={self.act.beta:g}, a={self.a:g}, K={self.K}"
        )

    # ---------------------------------------------------------------- the map and its energy

    def preactivation(self, v: Tensor) -> Tensor:
        """Hidden pre-activations ``u = M v``: ``(B, d) -> (B, N)``."""
        return v @ self.M.T  # (B, N)

    def T(self, v: Tensor) -> Tensor:
        """The map ``T(v) = M^T sigma(M v)`` (Eq. 1): ``(B, d) -> (B, d)``."""
        return self.act.sigma(self.preactivation(v)) @ self.M  # (B, d)

    def update(self, v: Tensor) -> Tensor:
        """One residual descent step ``(1 - a) v + a T(v)`` (Eq. 4): ``(B, d) -> (B, d)``."""
        return (1.0 - self.a) * v + self.a * self.T(v)

    def energy(self, v: Tensor) -> Tensor:
        """``E(v) = |v|^2 / 2 - Phi(M v)`` (Eq. 3): ``(B, d) -> (B,)``."""
        return 0.5 * (v * v).sum(dim=-1) - self.act.lagrangian(self.preactivation(v))

    def energy_grad(self, v: Tensor) -> Tensor:
        """Closed form ``grad E(v) = v - T(v)`` (Sec. 2.1): ``(B, d) -> (B, d)``."""
        return v - self.T(v)

    def vector_field(self, t: Tensor | float, v: Tensor) -> Tensor:
        """Gradient flow ``dv/dt = -grad E(v) = T(v) - v``, the ``a -> 0`` limit of Eq. 4."""
        return self.T(v) - v

    def dsigma(self, v: Tensor) -> Tensor:
        """``sigma'(M v) >= 0``, the diagonal of ``H_Phi(M v)``: ``(B, d) -> (B, N)``."""
        return self.act.derivative(self.preactivation(v))

    def jacobian_T(self, v: Tensor) -> Tensor:
        """Closed-form ``J_T(v) = M^T diag(sigma'(M v)) M`` of the undamped map (Eq. 6):
        ``(B, d) -> (B, d, d)``, symmetric positive semi-definite."""
        ds = self.dsigma(v)  # (B, N)
        return (self.M.T * ds.unsqueeze(-2)) @ self.M  # (B, d, N) @ (N, d) -> (B, d, d)

    def jacobian(self, v: Tensor) -> Tensor:
        """Closed-form Jacobian of :meth:`update`, ``(1 - a) I + a J_T(v)`` (the contract's
        ``d update / dv``; App. B.1's step operator): ``(B, d) -> (B, d, d)``.

        The paper's ``J_T`` (Eqs. 6-9) is :meth:`jacobian_T`.
        """
        eye = torch.eye(self.state_dim, dtype=v.dtype, device=v.device)
        return (1.0 - self.a) * eye + self.a * self.jacobian_T(v)

    def hessian(self, v: Tensor) -> Tensor:
        """``grad^2 E(v) = I - J_T(v)`` (Eq. 6): ``(B, d) -> (B, d, d)``."""
        eye = torch.eye(self.state_dim, dtype=v.dtype, device=v.device)
        return eye - self.jacobian_T(v)

    def jacobian_T_norm(self, v: Tensor, method: str = "exact", iters: int | None = None) -> Tensor:
        """``|J_T(v)|_2`` per state: ``(B, d) -> (B,)``.

        Args:
            v: states ``(B, d)``.
            method: ``"exact"`` (default), ``"lanczos"`` or ``"power"``; see
                :func:`~hopfield_lab.regularizers.jacobian_spectral_norm`.
            iters: iterations of the iterative methods (their default if None).
        """
        return jacobian_spectral_norm(self.M, self.dsigma(v), method=method, iters=iters)

    # ---------------------------------------------------------------- K steps and the classifier

    def trajectory(self, x: Tensor, K: int | None = None) -> Tensor:
        """States ``v_0 = x, v_1, ..., v_K`` of the residual dynamics (the network's layers).

        The same states as :func:`~hopfield_lab.analysis.rollout` ``(model, x, K)``, with the
        network's own ``K`` as default and a 1-D ``x`` accepted.

        Args:
            x: inputs ``(B, d)`` or ``(d,)`` (the initial state).
            K: number of steps (>= 0); None (default) uses the model's ``K``.

        Returns:
            ``(K + 1, B, d)``: ``out[k]`` is ``v_k`` (``B = 1`` for a 1-D ``x``).

        Raises:
            ConfigError: for a badly shaped ``x`` or ``K < 0``.
        """
        v, _ = as_batch(x, self.state_dim)
        steps = self.K if K is None else check_int("K", K, 0)
        states = [v]
        for _ in range(steps):
            v = self.update(v)
            states.append(v)
        return torch.stack(states)  # (K + 1, B, d)

    def logits_and_dsigma(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Logits and ``sigma'(M v_k)`` at the states ``v_0, ..., v_{K-1}`` the steps visit.

        What a Jacobian penalty along the trajectory needs (``J_T(v_k)`` for every step taken,
        Eq. 7): ``sigma'`` comes from the same products ``M v_k`` as the steps, so the penalty
        adds no ``(B, d) x (d, N)`` product to the forward pass (nor to its backward).

        Args:
            x: inputs ``(B, d)`` or ``(d,)``.

        Returns:
            ``(logits (B, n_classes), dsigma (K, B, N))``.

        Raises:
            ConfigError: for a badly shaped ``x``.
        """
        v, _ = as_batch(x, self.state_dim)
        derivs = []
        for _ in range(self.K):
            u = self.preactivation(v)  # (B, N), shared by the step and sigma'
            derivs.append(self.act.derivative(u))
            v = (1.0 - self.a) * v + self.a * (self.act.sigma(u) @ self.M)  # Eq. 4
        return self.classifier(v), torch.stack(derivs)  # (B, C), (K, B, N)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``classifier(v_K)`` after ``K`` steps from ``v_0 = x``: ``(B, d) -> (B, C)``.

        Raises:
            ConfigError: for a badly shaped ``x``.
        """
        v, _ = as_batch(x, self.state_dim)
        for _ in range(self.K):
            v = self.update(v)
        return self.classifier(v)  # (B, n_classes)
