"""RandomFeatureKernel against sampled features, finite differences and scikit-learn's kernel machinery."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.kernel_ridge import KernelRidge

from sklearn_shallowrelu import RandomFeatureReLURegressor
from sklearn_shallowrelu.init import Gaussian
from sklearn_shallowrelu.kernels import RandomFeatureKernel, TangentKernel


@pytest.mark.parametrize("d", [1, 3, 10])
def test_the_kernel_is_the_mean_of_sampled_relu_features(d):
    """Independent code: features relu(<w, x> + b) sampled here, averaged; each
    entry within 6 standard errors of the Monte-Carlo mean."""
    rng = np.random.default_rng(d)
    X = rng.standard_normal((6, d))
    sw, sb, n = 0.7, 1.3, 400_000
    W, b = sw * rng.standard_normal((n, d)), sb * rng.standard_normal(n)
    F = np.maximum(X @ W.T + b, 0.0)  # (6, n)
    products = F[:, None, :] * F[None, :, :]
    mean, se = products.mean(axis=2), products.std(axis=2) / np.sqrt(n)
    K = RandomFeatureKernel(sw, sb)(X)
    assert np.all(np.abs(K - mean) <= 6 * se + 1e-12)
    np.testing.assert_allclose(RandomFeatureKernel(sw, sb).diag(X), np.diag(K), rtol=1e-12)


@pytest.mark.parametrize("d", [1, 4])
def test_gradients_equal_finite_differences_in_the_log_scales(d):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, d))
    X[1] = 2.5 * X[0]  # two points on one ray from the origin's image: S = 0 for the pair
    _check_gradient(RandomFeatureKernel(0.8, 1.7), X, rtol=1e-6, atol=1e-8)


def _check_gradient(kernel, X, rtol, atol):
    """The kernel's gradient in theta against central differences: error O(h^2)
    from the third derivative plus the rounding eps |K| / h."""
    _, grad = kernel(X, eval_gradient=True)
    h = 1e-6
    for j in range(len(kernel.theta)):
        up, down = kernel.theta.copy(), kernel.theta.copy()
        up[j] += h
        down[j] -= h
        fd = (kernel.clone_with_theta(up)(X) - kernel.clone_with_theta(down)(X)) / (2 * h)
        np.testing.assert_allclose(grad[:, :, j], fd, rtol=rtol, atol=atol)


def test_fixed_scales_have_no_gradient_and_the_kernel_api_holds():
    X = np.random.default_rng(1).standard_normal((5, 2))
    k = RandomFeatureKernel(sigma_b_bounds="fixed")
    assert k(X, eval_gradient=True)[1].shape == (5, 5, 1)
    assert k.n_dims == 1 and not k.is_stationary()
    k2 = clone(RandomFeatureKernel(2.0, 0.5))
    assert k2.get_params()["sigma_w"] == 2.0
    np.testing.assert_allclose(k2(X, X[:2]), Gaussian(2.0, 0.5).kernel(X, X[:2]))
    with pytest.raises(ValueError, match="Y is None"):
        k2(X, X, eval_gradient=True)


def test_a_gaussian_process_fits_the_scales_by_marginal_likelihood():
    rng = np.random.default_rng(2)
    X = rng.uniform(-2, 2, (40, 1))
    y = np.abs(X[:, 0]) + 0.05 * rng.standard_normal(40)
    gp = GaussianProcessRegressor(RandomFeatureKernel(), alpha=0.05**2, random_state=0).fit(X, y)
    start = gp.log_marginal_likelihood(RandomFeatureKernel().theta)
    assert gp.log_marginal_likelihood_value_ > start  # the fit moved the scales uphill
    # the likelihood's analytic gradient (through the kernel's) against finite differences
    theta = gp.kernel_.theta + 0.3
    value, grad = gp.log_marginal_likelihood(theta, eval_gradient=True)
    h = 1e-6
    fd = [(gp.log_marginal_likelihood(theta + h * e) - gp.log_marginal_likelihood(theta - h * e)) / (2 * h)
          for e in np.eye(2)]
    # the differences carry the rounding of the likelihood, eps cond(K + alpha I) |value|, over h
    cond = np.linalg.cond(gp.kernel_.clone_with_theta(theta)(X) + 0.05**2 * np.eye(40))
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=10 * np.finfo(float).eps * cond * abs(value) / h)


def test_kernel_ridge_with_it_is_the_limit_of_ridge_on_random_features():
    """Ridge on n random ReLU features (no free constant: the penalised affine
    part) approaches KernelRidge with the kernel, at the rate n^-1/2 of the
    features' Monte-Carlo error; a Gaussian process with noise alpha has the
    same mean."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, (30, 2))
    y = np.sin(X[:, 0]) * X[:, 1]
    Xt = rng.uniform(-2, 2, (50, 2))
    alpha = 0.1
    kr = KernelRidge(alpha=alpha, kernel=RandomFeatureKernel(0.9, 1.1)).fit(X, y)
    gp = GaussianProcessRegressor(RandomFeatureKernel(0.9, 1.1, "fixed", "fixed"), alpha=alpha, optimizer=None)
    np.testing.assert_allclose(gp.fit(X, y).predict(Xt), kr.predict(Xt), rtol=1e-8, atol=1e-10)
    errors = []
    for n in (4_000, 64_000):
        seeds = [RandomFeatureReLURegressor(n_hidden=n, init=Gaussian(0.9, 1.1), alpha=alpha, fit_intercept=False,
                                            random_state=s).fit(X, y).predict(Xt) for s in range(4)]
        errors.append(np.mean([np.max(np.abs(p - kr.predict(Xt))) for p in seeds]))
    # 16 times the width: the error falls about four times (n^-1/2); 2.5 leaves room for the seeds' spread
    assert errors[1] < errors[0] / 2.5, errors


def _empirical_ntk(X, W, b, v, output_bias):
    """<grad f(x), grad f(y)> of f = sum_k v_k relu(<w_k, x> + b_k) / sqrt(n) + c, from the
    Jacobian written here: d/dv_k, d/dw_k, d/db_k (and d/dc = 1)."""
    n = len(b)
    Z = X @ W.T + b
    A, D = np.maximum(Z, 0.0), (Z > 0).astype(float)
    Jv = A / np.sqrt(n)  # (m, n)
    Jh = D * v[None, :] / np.sqrt(n)  # times (x, 1) for (w_k, b_k)
    X1 = np.hstack([X, np.ones((len(X), 1))])
    return Jv @ Jv.T + (Jh @ Jh.T) * (X1 @ X1.T) + (1.0 if output_bias else 0.0)


@pytest.mark.parametrize("d", [1, 3])
def test_the_tangent_kernel_is_the_limit_of_the_empirical_one(d):
    """The empirical tangent kernel of wide random networks (Jacobians written in
    the test) approaches the closed form like n^-1/2."""
    rng = np.random.default_rng(10 + d)
    X = rng.standard_normal((8, d))
    sw, sb = 0.8, 1.2
    kernel = TangentKernel(sw, sb, output_variance=1.0 / 3.0)(X)
    errors = []
    for n in (2_000, 32_000):
        err = []
        for seed in range(4):
            r = np.random.default_rng(seed)
            W, b, v = sw * r.standard_normal((n, d)), sb * r.standard_normal(n), r.uniform(-1, 1, n)
            err.append(np.max(np.abs(_empirical_ntk(X, W, b, v, True) - kernel)))
        errors.append(np.mean(err))
    assert errors[1] < errors[0] / 2.5, errors  # 16 times the width: about 4 times smaller


def test_the_tangent_kernel_of_a_shallow_network_at_its_start():
    from sklearn_shallowrelu import ShallowReLURegressor

    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 2))
    y = rng.standard_normal(6)
    est = ShallowReLURegressor(n_hidden=40_000, parametrization="ntk", init="gaussian", init_scale=0.7,
                               random_state=0)
    p = est.initialize(X, y)
    empirical = _empirical_ntk(X, p["hidden_weights"], p["hidden_bias"], p["output_weights"][:, 0], True)
    closed = TangentKernel.from_estimator(est)(X)
    # one network of width 4e4: Monte-Carlo error of order |K| / sqrt(n) ~ 1e-2 |K|
    assert np.max(np.abs(empirical - closed)) <= 0.05 * np.max(np.abs(closed))
    with pytest.raises(NotImplementedError, match="parametrization='ntk'"):
        TangentKernel.from_estimator(ShallowReLURegressor())


def test_tangent_kernel_gradients_and_a_gaussian_process():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((7, 2))
    X[1] = X[0]  # a repeated point: a pair on one ray
    kernel = TangentKernel(0.9, 1.4, 0.5)
    np.testing.assert_allclose(kernel.diag(X), np.diag(kernel(X)), rtol=1e-12)
    _check_gradient(kernel, X, rtol=1e-5, atol=1e-7)
    y = np.abs(X[:, 0])
    gp = GaussianProcessRegressor(TangentKernel(), alpha=1e-2, random_state=0).fit(X, y)
    assert gp.log_marginal_likelihood_value_ >= gp.log_marginal_likelihood(TangentKernel().theta)
