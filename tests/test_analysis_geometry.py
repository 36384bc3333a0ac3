"""Trajectory geometry (analysis/geometry.py): exact lines and circles, closed forms per family."""

from __future__ import annotations

import math

import pytest
import torch

from hopfield_lab.analysis import compactness, curvature, length_ratio, speeds
from hopfield_lab.errors import ConfigError
from hopfield_lab.models import FiniteStepHopfield, LayeredHopfield, ModernHopfield
from hopfield_lab.solvers import integrate

D = torch.float64


def _plane(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two orthonormal vectors of R^n."""
    q, _ = torch.linalg.qr(torch.randn(n, 2, generator=gen, dtype=D))
    return q[:, 0], q[:, 1]


class Rotation:
    """``f(x) = omega A (x - c)`` with ``A = q2 q1^T - q1 q2^T``: rotation in the (q1, q2) plane.

    Its flow lines are circles of radius ``|P (x - c)|`` (``P`` the projection on the plane)
    traversed at angular speed ``omega``.
    """

    def __init__(self, q1, q2, c, omega=1.0):
        self.q1, self.q2, self.c, self.omega = q1, q2, c, omega
        self.A = torch.outer(q2, q1) - torch.outer(q1, q2)

    def __call__(self, t, x):
        return self.omega * (x - self.c) @ self.A.T

    def circle(self, radius, times):
        """``(len(times), B, n)`` points ``c + R (cos(w t) q1 + sin(w t) q2)``."""
        ang = self.omega * times[:, None, None]  # (T+1, 1, 1)
        r = radius[None, :, None]  # (1, B, 1)
        return self.c + r * (torch.cos(ang) * self.q1 + torch.sin(ang) * self.q2)


def _closed_form_kappa(v, a):
    vv = (v * v).sum(-1, keepdim=True)
    return torch.linalg.vector_norm(a - (a * v).sum(-1, keepdim=True) / vv * v, dim=-1) / vv[..., 0]


# ------------------------------------------------------------------------------ length ratio
def test_length_ratio_is_one_on_a_line_with_uneven_steps(gen):
    s = torch.sort(torch.rand(30, generator=gen, dtype=D)).values * 5.0  # uneven, increasing
    x0, d = torch.randn(4, 7, generator=gen, dtype=D), torch.randn(4, 7, generator=gen, dtype=D)
    traj = x0 + s[:, None, None] * d  # (30, 4, 7)
    torch.testing.assert_close(length_ratio(traj), torch.ones(4, dtype=D), rtol=1e-13, atol=0)
    # quadrature form: constant field d per sample, the same times
    field = lambda t, x: d  # noqa: E731
    torch.testing.assert_close(length_ratio(traj, s, field=field), torch.ones(4, dtype=D))


def test_length_ratio_half_circle_polyline_and_quadrature(gen):
    q1, q2 = _plane(5, gen)
    rot = Rotation(q1, q2, torch.randn(5, generator=gen, dtype=D), omega=2.0)
    k = 100
    times = torch.linspace(0, math.pi / 2.0, k + 1, dtype=D)  # omega t from 0 to pi
    traj = rot.circle(torch.tensor([0.5, 3.0], dtype=D), times)  # (K+1, 2, 5)
    chords = length_ratio(traj)
    exact_chords = k * math.sin(math.pi / (2 * k))  # K chords of a half circle over its diameter
    torch.testing.assert_close(chords, torch.full((2,), exact_chords, dtype=D), rtol=1e-12, atol=0)
    assert abs(exact_chords - math.pi / 2) < 1e-4
    quad = length_ratio(traj, times, field=rot)  # constant speed: the trapezoid rule is exact
    torch.testing.assert_close(quad, torch.full((2,), math.pi / 2, dtype=D), rtol=1e-12, atol=0)


def test_length_ratio_reads_times_from_a_solver_result_and_converges_at_second_order(gen):
    q1, q2 = _plane(4, gen)
    rot = Rotation(q1, q2, torch.zeros(4, dtype=D))
    x0 = 2.0 * q1.expand(3, 4).clone()
    errs = []
    for k in (20, 40):
        res = integrate(rot, x0, torch.linspace(0, math.pi, k + 1, dtype=D), method="rk4")
        errs.append(float((length_ratio(res) - math.pi / 2).abs().max()))
        # the result's own times feed the quadrature form
        torch.testing.assert_close(
            length_ratio(res, field=rot), torch.full((3,), math.pi / 2, dtype=D), rtol=1e-6, atol=0
        )
    assert 3.5 < errs[0] / errs[1] < 4.5  # polyline error O(h^2)


def test_length_ratio_of_a_linear_spiral_matches_its_closed_form(gen):
    """x' = (-a I + w J) x in a plane: speed sqrt(a^2 + w^2) e^{-at} |x0|, so
    s = sqrt(a^2 + w^2) (1 - e^{-aT}) / a / |e^{(-a + iw) T} - 1|."""
    q1, q2 = _plane(6, gen)
    a, w, t_end = 0.3, 2.0, 4.0
    rot = Rotation(q1, q2, torch.zeros(6, dtype=D), omega=w)
    field = lambda t, x: rot(t, x) - a * x  # noqa: E731  (x in the plane)
    x0 = torch.stack([q1, 2.0 * q2, q1 - 3.0 * q2])  # (3, 6)
    res = integrate(field, x0, torch.linspace(0, t_end, 2001, dtype=D), method="rk4")
    decay = math.exp(-a * t_end)
    chord = math.sqrt(1 - 2 * decay * math.cos(w * t_end) + decay**2)
    want = math.hypot(a, w) * (1 - decay) / a / chord  # about 2.2
    full = torch.full((3,), want, dtype=D)
    torch.testing.assert_close(length_ratio(res), full, rtol=1e-5, atol=0)
    torch.testing.assert_close(length_ratio(res, field=field), full, rtol=1e-5, atol=0)


def test_frozen_rows_add_no_length(gen):
    traj = torch.cumsum(torch.randn(6, 3, 5, generator=gen, dtype=D), dim=0)
    padded = torch.cat([traj, traj[-1:].expand(4, 3, 5)])  # a solver freezing converged samples
    torch.testing.assert_close(length_ratio(padded), length_ratio(traj))
    assert bool((length_ratio(traj) >= 1).all())


def test_length_ratio_degenerate_samples():
    loop = torch.tensor([[[0.0, 0.0]], [[1.0, 0.0]], [[0.0, 0.0]]], dtype=D)  # back to start
    still = torch.zeros(3, 1, 2, dtype=D)
    out = length_ratio(torch.cat([loop, still], dim=1))
    assert math.isinf(float(out[0])) and math.isnan(float(out[1]))


# ------------------------------------------------------------------------------ curvature
@pytest.mark.parametrize("ad", ["forward", "reverse"])
def test_curvature_is_one_over_radius_on_circles(gen, ad):
    q1, q2 = _plane(6, gen)
    rot = Rotation(q1, q2, torch.randn(6, generator=gen, dtype=D), omega=0.7)
    radius = torch.tensor([0.1, 1.0, 6.7, 40.0], dtype=D)
    traj = rot.circle(radius, torch.linspace(0, 3, 9, dtype=D))  # (9, 4, 6)
    kappa = curvature(rot, traj, ad=ad)
    torch.testing.assert_close(kappa, (1 / radius).expand(9, 4), rtol=1e-10, atol=0)
    # off-plane points move on circles of radius |P (x - c)|
    x = torch.randn(50, 6, generator=gen, dtype=D)
    rel = x - rot.c
    r = torch.sqrt((rel @ q1) ** 2 + (rel @ q2) ** 2)
    torch.testing.assert_close(curvature(rot, x, ad=ad), 1 / r, rtol=1e-9, atol=0)


def test_curvature_is_zero_on_straight_flows(gen):
    x = torch.randn(20, 5, generator=gen, dtype=D)
    contraction = lambda t, z: -2.0 * z  # noqa: E731  radial lines to 0
    assert float(curvature(contraction, x).max()) < 1e-14
    res = integrate(contraction, x, torch.linspace(0, 1, 11, dtype=D), method="rk4")
    torch.testing.assert_close(length_ratio(res), torch.ones(20, dtype=D), rtol=1e-12, atol=0)


def test_curvature_scales_as_one_over_length(gen):
    model = ModernHopfield(torch.randn(6, 10, generator=gen, dtype=D), beta=0.5)
    x = torch.randn(8, 10, generator=gen, dtype=D)
    scaled = lambda t, z: 3.0 * model.vector_field(t, z / 3.0)  # noqa: E731  the flow of 3 x(t)
    torch.testing.assert_close(curvature(scaled, 3.0 * x), curvature(model, x) / 3.0)


def test_curvature_matches_closed_form_jacobians_along_model_trajectories(gen):
    """a = J_f v by jvp equals (J - I) v from each family's closed-form Jacobian (of the
    undamped map whose relaxation is the flow: the update for modern, J_T for finite-step)."""
    modern = ModernHopfield(torch.randn(8, 12, generator=gen, dtype=D), beta=2.0)
    finite = FiniteStepHopfield(d=12, N=16, activation="tanh", K=3).to(D)
    for model, jac in ((modern, modern.jacobian), (finite, finite.jacobian_T)):
        x0 = torch.randn(5, 12, generator=gen, dtype=D)
        res = integrate(model.vector_field, x0, torch.linspace(0, 2, 21, dtype=D), method="rk4")
        states = res.trajectory.reshape(-1, 12)  # (21 * 5, 12)
        with torch.no_grad():
            v = model.vector_field(0.0, states)
            a = ((jac(states) - torch.eye(12, dtype=D)) @ v.unsqueeze(-1)).squeeze(-1)
        want = _closed_form_kappa(v, a).reshape(21, 5)
        got = curvature(model, res)  # the model's vector_field, the result's times
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(curvature(model.vector_field, res.trajectory, chunk_size=7), got)


def test_polyline_and_quadrature_agree_on_model_flows(gen):
    """Two readings of the arc length agree on a finely sampled smooth flow (O(h^2))."""
    modern = ModernHopfield(torch.randn(8, 12, generator=gen, dtype=D), beta=2.0)
    finite = FiniteStepHopfield(d=12, N=16, activation="sigmoid", K=3).to(D)
    for model in (modern, finite):
        x0 = 2.0 * torch.randn(6, 12, generator=gen, dtype=D)
        res = integrate(model.vector_field, x0, torch.linspace(0, 3, 301, dtype=D), method="rk4")
        poly, quad = length_ratio(res), length_ratio(res, field=model)
        assert bool((poly >= 1 - 1e-12).all())
        torch.testing.assert_close(poly, quad, rtol=1e-4, atol=0)


def test_discrete_families_give_polyline_trajectories(gen):
    """A finite-step model's K steps and a layered model's fixed-point iterates are polylines."""
    finite = FiniteStepHopfield(d=12, N=16, activation="relu", K=4).to(D)
    traj = finite.trajectory(torch.randn(5, 12, generator=gen, dtype=D))  # (5, 5, 12)
    steps = torch.linalg.vector_norm(traj[1:] - traj[:-1], dim=-1).sum(0)
    torch.testing.assert_close(
        length_ratio(traj), steps / torch.linalg.vector_norm(traj[-1] - traj[0], dim=-1)
    )
    layered = LayeredHopfield([12, 10, 4]).to(D)
    with torch.no_grad():
        res = layered.solve(torch.rand(3, 12, generator=gen, dtype=D), record_trajectory=True)
    s = length_ratio(res)
    assert s.shape == (3,) and bool((s >= 1 - 1e-12).all()) and bool(torch.isfinite(s).all())


def test_speeds_row_times_and_autonomous_agree(gen):
    model = ModernHopfield(torch.randn(4, 6, generator=gen, dtype=D))
    traj = torch.randn(3, 2, 6, generator=gen, dtype=D)
    torch.testing.assert_close(
        speeds(model, traj), speeds(model, traj, torch.tensor([0.0, 1.0, 2.0], dtype=D))
    )


# ------------------------------------------------------------------------------ compactness
def test_compactness_hand_made():
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [10.0, 4.0], [5.0, 5.0]], dtype=D)
    y = torch.tensor([0, 0, 1, 1, 2])  # class 2 has one point: a centroid, no pair
    c0, c1, c2 = torch.tensor([1.0, 0.0]), torch.tensor([10.0, 2.0]), torch.tensor([5.0, 5.0])
    inter = (torch.dist(c0, c1) + torch.dist(c0, c2) + torch.dist(c1, c2)) / 3
    want = ((2.0 + 4.0) / 2) / inter
    torch.testing.assert_close(compactness(x, y), want.to(D))
    torch.testing.assert_close(compactness(7.5 * x, y), want.to(D))  # scale-free


def test_compactness_along_a_contraction_to_class_centroids(gen):
    """x_c(t) = m_c + e^{-t} (x_c(0) - m_c) keeps the centroids: rho(t) = e^{-t} rho(0)."""
    y = torch.arange(4).repeat_interleave(10)
    x0 = (
        torch.randn(40, 5, generator=gen, dtype=D)
        + 3 * torch.randn(4, 5, generator=gen, dtype=D)[y]
    )
    m = torch.stack([x0[y == c].mean(0) for c in range(4)])[y]  # (40, 5)
    t = torch.linspace(0, 2, 5, dtype=D)
    traj = m + torch.exp(-t)[:, None, None] * (x0 - m)  # (5, 40, 5)
    rho = compactness(traj, y)
    torch.testing.assert_close(rho, rho[0] * torch.exp(-t))
    torch.testing.assert_close(rho[2], compactness(traj[2], y))


# ------------------------------------------------------------------------------ bad input
def test_bad_input_is_one_config_error(gen):
    traj = torch.randn(5, 3, 4, generator=gen, dtype=D)
    f = lambda t, x: -x  # noqa: E731
    cases = [
        (lambda: length_ratio(traj[:1]), "at least 2 states"),
        (lambda: length_ratio(traj, torch.arange(4.0)), "one time per recorded state"),
        (lambda: length_ratio(traj, field=f), "needs the times"),
        (lambda: length_ratio(traj[0]), "3 dimensions"),
        (lambda: curvature(f, traj, torch.arange(3.0)), "one time per recorded state"),
        (lambda: curvature(lambda t, x: x[:, :2], traj), "same shape"),
        (lambda: curvature(3, traj), "callable"),
        (lambda: curvature(f, traj, ad="central"), "ad must be one of"),
        (lambda: compactness(traj[0], torch.tensor([0, 1])), "labels must have shape (3,)"),
        (lambda: compactness(traj[0], torch.zeros(3, dtype=torch.long)), "at least 2 classes"),
        (lambda: compactness(traj[0], torch.tensor([0, 1, 2])), "at least 2 points"),
        (lambda: compactness(traj[0], torch.tensor([0.0, 1.0, 1.0])), "integer"),
    ]
    for call, text in cases:
        with pytest.raises(ConfigError) as err:
            call()
        assert text in str(err.value) and "\n" not in str(err.value)


def test_a_model_without_a_flow_raises_its_capability_error_upfront(gen):
    """Models lacking vector_field (spins; an input-driven model not bound) say so in one line
    before any state is evaluated; the bound view of the layered model has a flow."""
    from hopfield_lab.errors import CapabilityError
    from hopfield_lab.models import BinaryHopfield

    spins = BinaryHopfield(torch.zeros(4, 4, dtype=D))
    layered = LayeredHopfield([4, 3, 2]).to(D)
    traj = torch.randn(3, 2, 4, generator=gen, dtype=D)
    for model, text in ((spins, "BinaryHopfield has no vector_field"), (layered, "bind")):
        for call in (
            lambda m=model: curvature(m, traj),
            lambda m=model: speeds(m, traj),
            lambda m=model: length_ratio(traj, torch.arange(3.0, dtype=D), field=m),
        ):
            with pytest.raises(CapabilityError) as err:
                call()
            assert text in str(err.value) and "\n" not in str(err.value)
    view = layered.bind(torch.rand(2, 4, generator=gen, dtype=D))
    states = torch.rand(3, 2, view.state_dim, generator=gen, dtype=D)
    assert curvature(view, states).shape == (3, 2)
