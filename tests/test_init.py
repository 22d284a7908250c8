"""Initialisations: sampling, curvature weights, cumulative moments and kernels
against Monte Carlo, quadrature and the closed forms of doc/initialisations_and_potentials.md."""

import numpy as np
import pytest

from sklearn_shallowrelu.init import (
    CallableInit,
    ExplicitInit,
    Gaussian,
    He,
    Initialization,
    RademacherUniform,
    Uniform,
    UniformKnots,
    check_init,
)

ONE_D_INITS = [
    Gaussian(1.0, 1.0),
    Gaussian(2.0, 0.3),
    RademacherUniform(2.0),
    Uniform(1.0, 2.0),
    Uniform(0.5, 1.5),
    He(),
    UniformKnots(margin=0.1).bind(np.array([[-1.0], [0.5], [3.0]])),
]


def _mc_curvature_weight(init, x0, n=4_000_000, h=0.02, seed=0):
    """g(x0) ~ sum_k w_k^2 1[|xi_k - x0| < h] / (2 h N)  (the knots' local average of w^2)."""
    W, b = init.sample(n, 1, random_state=seed)
    w = W[:, 0]
    xi = -b / w
    return np.sum(w**2 * (np.abs(xi - x0) < h)) / (2 * h * n)


@pytest.mark.parametrize("init", ONE_D_INITS, ids=repr)
def test_curvature_weight_against_monte_carlo(init):
    for x0 in (-0.7, 0.0, 0.9):
        g = float(init.curvature_weight(x0))
        mc = _mc_curvature_weight(init, x0)
        assert mc == pytest.approx(g, rel=0.03, abs=1e-3)


def test_gaussian_curvature_weight_closed_form_of_jin_montufar():
    sw, sb = 1.3, 0.7
    x = np.linspace(-3, 3, 13)
    expected = 2 * sw**3 * sb**3 / (np.pi * (sb**2 + x**2 * sw**2) ** 2)
    np.testing.assert_allclose(Gaussian(sw, sb).curvature_weight(x), expected, rtol=1e-14)


@pytest.mark.parametrize("init", ONE_D_INITS, ids=repr)
def test_knot_density_against_monte_carlo(init):
    W, b = init.sample(2_000_000, 1, random_state=1)
    xi = -b / W[:, 0]
    for x0 in (-0.5, 0.0, 1.2):
        mc = np.mean(np.abs(xi - x0) < 0.02) / 0.04
        assert mc == pytest.approx(float(init.knot_density(x0)), rel=0.03, abs=1e-3)


@pytest.mark.parametrize("init", ONE_D_INITS, ids=repr)
@pytest.mark.parametrize("side", ["+", "-"])
def test_closed_form_moments_against_quadrature(init, side):
    u = np.array([-9.0, -2.5, -1.0, -0.2, 0.0, 0.3, 1.7, 4.0, 12.0])
    closed = init.cumulative_moments(u, side)
    quad = Initialization.cumulative_moments(init, u, side)
    np.testing.assert_allclose(closed, quad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("init", [Gaussian(1.0, 1.0), Gaussian(0.5, 2.0)], ids=repr)
def test_gaussian_arccos_kernel_equals_kernel_from_curvature_weight(init):
    # closed-form arc-cosine kernel vs the curvature-weight integral of section 4
    x = np.linspace(-3, 3, 9)
    K_arccos = init.kernel(x)
    K_moments = Initialization.kernel(init, x)
    np.testing.assert_allclose(K_arccos, K_moments, rtol=1e-9, atol=1e-12)


def test_rademacher_uniform_kernel_closed_form():
    # the kernel of doc/initialisations_and_potentials.md, for |x|, |x'| <= a
    a = 2.0
    x = np.linspace(-1.9, 1.9, 7)
    X, Y = np.meshgrid(x, x, indexing="ij")
    lo, hi, d = np.minimum(X, Y), np.maximum(X, Y), np.abs(X - Y)
    closed = ((lo + a) ** 3 / 3 + d * (lo + a) ** 2 / 2 + (a - hi) ** 3 / 3 + d * (a - hi) ** 2 / 2) / (4 * a)
    np.testing.assert_allclose(RademacherUniform(a).kernel(x), closed, rtol=1e-12)


@pytest.mark.parametrize("init", [Gaussian(), RademacherUniform(2.0), Uniform(1.0, 2.0)], ids=repr)
def test_kernel_against_monte_carlo(init):
    x = np.array([-1.5, -0.2, 0.4, 1.8])
    W, b = init.sample(2_000_000, 1, random_state=3)
    F = np.maximum(np.outer(x, W[:, 0]) + b, 0)
    K_mc = F @ F.T / F.shape[1]
    np.testing.assert_allclose(init.kernel(x), K_mc, atol=0.01)


def test_gaussian_kernel_in_several_dimensions_against_monte_carlo():
    rng = np.random.RandomState(0)
    x = rng.standard_normal((4, 3))
    init = Gaussian(1.0, 0.5)
    W, b = init.sample(1_000_000, 3, random_state=4)
    F = np.maximum(x @ W.T + b, 0)
    np.testing.assert_allclose(init.kernel(x), F @ F.T / F.shape[1], atol=0.01)


def test_sampling_shapes_and_reproducibility():
    for name in ["gaussian", "rademacher_uniform", "uniform", "he"]:
        init = check_init(name)
        W1, b1 = init.sample(7, 3, random_state=5)
        W2, b2 = init.sample(7, 3, random_state=5)
        assert W1.shape == (7, 3) and b1.shape == (7,)
        np.testing.assert_array_equal(W1, W2)
        np.testing.assert_array_equal(b1, b2)


def test_he_matches_pytorch_default_bounds():
    W, b = He().sample(10_000, 16, random_state=0)
    assert np.abs(W).max() <= 0.25 and np.abs(W).max() > 0.249
    assert np.abs(b).max() <= 0.25


def test_uniform_knots_cover_the_data_range_in_any_dimension():
    rng = np.random.RandomState(0)
    X = rng.uniform(-5, 1, (50, 2))
    init = UniformKnots().bind(X)
    W, b = init.sample(500, 2, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0)
    tau = -b
    proj = X @ W.T
    assert np.all(tau >= proj.min(axis=0) - 1e-12) and np.all(tau <= proj.max(axis=0) + 1e-12)


def test_uniform_knots_needs_binding_and_distinct_values():
    with pytest.raises(ValueError, match="bind"):
        UniformKnots().sample(3, 1, random_state=0)
    with pytest.raises(ValueError, match="distinct"):
        UniformKnots().bind(np.ones((5, 1)))


def test_callable_and_explicit_inits():
    init = check_init(lambda n, d, rs: (rs.standard_normal((n, d)), rs.standard_normal(n)))
    assert isinstance(init, CallableInit)
    W, b = init.sample(4, 2, random_state=0)
    assert W.shape == (4, 2)
    with pytest.raises(ValueError, match="expected"):
        CallableInit(lambda n, d, rs: (np.ones((n + 1, d)), np.ones(n))).sample(3, 1)
    init = check_init((np.ones((2, 1)), np.zeros(2)))
    assert isinstance(init, ExplicitInit)
    with pytest.raises(ValueError, match="expected"):
        init.sample(3, 1)
    with pytest.raises(NotImplementedError, match="curvature weight"):
        init.curvature_weight(0.0)


def test_one_dimensional_kernels_refuse_several_columns():
    with pytest.raises(ValueError, match="1-D"):
        RademacherUniform().kernel(np.ones((4, 2)))
    assert Gaussian().kernel(np.ones((4, 2))).shape == (4, 4)


def test_bad_init_arguments():
    with pytest.raises(ValueError, match="Unknown init"):
        check_init("xavier")
    with pytest.raises(ValueError, match="positive"):
        Gaussian(sigma_w=-1)
    with pytest.raises(TypeError):
        check_init(3)
