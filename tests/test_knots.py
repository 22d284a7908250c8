"""The exact 1-D solver (interval moments, banded solve) and the 1-D
piecewise-linear evaluation, against dense least squares."""

import numpy as np
import pytest

from sklearn_shallowrelu import RandomFeatureReLURegressor, ReLURandomFeatures
from sklearn_shallowrelu.init import ExplicitInit
from sklearn_shallowrelu._exact1d import banded, bordered, chain, general, moments


def _lstsq_ridge(Phi, y, sw, alpha, fit_intercept):
    """min sum w (y - Phi v - c)^2 + alpha |v|^2 as one dense least-squares problem."""
    m, n = Phi.shape
    cols = np.hstack([Phi, np.ones((m, 1))]) if fit_intercept else Phi
    k = cols.shape[1]
    top = np.sqrt(sw)[:, None] * cols
    pen = np.sqrt(alpha) * np.eye(n, k)
    Y = y.reshape(m, -1)
    rhs = np.vstack([np.sqrt(sw)[:, None] * Y, np.zeros((n, Y.shape[1]))])
    sol = np.linalg.lstsq(np.vstack([top, pen]), rhs, rcond=None)[0]
    return sol[:n], (sol[n] if fit_intercept else np.zeros(Y.shape[1]))


@pytest.mark.parametrize("init", ["gaussian", "rademacher_uniform", "uniform", "uniform_knots", "he"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_exact_solver_equals_dense_lstsq(init, fit_intercept):
    rng = np.random.RandomState(0)
    m, n = 60, 250
    x = rng.uniform(-2.5, 2.5, m)
    x[10:13] = x[9]  # ties are pooled
    Y = np.column_stack([np.sin(2 * x), np.abs(x)]) + 0.1 * rng.standard_normal((m, 2))
    sw = rng.uniform(0.2, 3.0, m)
    sw[20] = 0.0  # a zero weight is dropped
    net = RandomFeatureReLURegressor(n_hidden=n, init=init, alpha=0.05, algorithm="knots",
                                     fit_intercept=fit_intercept, random_state=1).fit(x[:, None], Y, sample_weight=sw)
    Phi = ReLURandomFeatures(n, init=init, random_state=1).fit(x[:, None]).transform(x[:, None])
    v, c = _lstsq_ridge(Phi, Y, sw, 0.05, fit_intercept)
    scale = np.max(np.abs(Phi @ v + c))
    grid = np.linspace(-4, 4, 200)[:, None]
    ref = ReLURandomFeatures(n, init=init, random_state=1).fit(x[:, None]).transform(grid) @ v + c
    assert np.max(np.abs(net.predict(grid) - ref)) < 1e-8 * scale
    assert np.max(np.abs(net.coef_.T - v)) < 1e-7 * np.max(np.abs(v))


def test_nearly_coinciding_knots_cost_no_accuracy():
    # pairs of knots 1e-13 apart act as single knots with the summed weight q:
    # the merged problem is the reference, and it is well conditioned
    x = np.linspace(-1, 1, 40)[:, None]
    y = np.sin(3 * x[:, 0]) + 0.05 * np.cos(17 * x[:, 0])
    centres = np.linspace(-0.95, 0.95, 150)
    b = -np.repeat(centres, 2)
    b[1::2] -= 1e-13
    W = np.ones((300, 1))
    W[1::2] *= -1  # one right- and one left-facing unit per place
    alpha = 1e-7
    net = RandomFeatureReLURegressor(n_hidden=300, init=ExplicitInit(W, b), alpha=alpha, algorithm="knots",
                                     random_state=0).fit(x, y)
    # merged reference: both units of a pair share the knot, so the pair is one
    # unit of weight q = 2/300 per direction... here directions differ, so keep both
    # but put them exactly on the same knot
    b_merged = -np.repeat(centres, 2)
    ref = RandomFeatureReLURegressor(n_hidden=300, init=ExplicitInit(W, b_merged), alpha=alpha, algorithm="knots",
                                     random_state=0).fit(x, y)
    Phi = ReLURandomFeatures(300, init=ExplicitInit(W, b_merged)).fit(x).transform(x)
    v, c = _lstsq_ridge(Phi, y, np.ones(40), alpha, True)
    grid = np.linspace(-1, 1, 333)[:, None]
    dense = ReLURandomFeatures(300, init=ExplicitInit(W, b_merged)).fit(x).transform(grid) @ v[:, 0] + c[0]
    assert np.max(np.abs(ref.predict(grid) - dense)) < 1e-8
    assert np.max(np.abs(net.predict(grid) - dense)) < 1e-8


def test_piecewise_linear_evaluation_equals_dense_features():
    rng = np.random.RandomState(3)
    W = rng.standard_normal((80, 1))
    W[:3] = 0.0  # units without a knot are constants relu(b)
    b = rng.standard_normal(80)
    net = RandomFeatureReLURegressor(n_hidden=80, init=ExplicitInit(W, b), algorithm="primal", fit_intercept=False)
    X = rng.uniform(-3, 3, (50, 1))
    net.fit(X, np.column_stack([np.sin(X[:, 0]), X[:, 0] ** 2]))
    grid = np.concatenate([np.linspace(-6, 6, 301), -b[3:10] / W[3:10, 0]])[:, None]  # includes knots
    Phi = ReLURandomFeatures(80, init=ExplicitInit(W, b)).fit(X).transform(grid)
    np.testing.assert_allclose(net.predict(grid), Phi @ net.coef_.T + net.intercept_, rtol=1e-10, atol=1e-10)
    # derivative: the right derivative, also at knots
    h = 1e-7
    fd = (net.predict(grid + h) - net.predict(grid)) / h
    np.testing.assert_allclose(net.predict_derivative(grid)[:, :, 0], fd, rtol=1e-5, atol=1e-5)


def test_knots_path_is_chosen_in_1d_and_refuses_what_it_cannot_do():
    x = np.linspace(-1, 1, 30)[:, None]
    y = x[:, 0] ** 2
    with pytest.raises(ValueError, match="knots"):
        RandomFeatureReLURegressor(alpha=0.0, algorithm="knots").fit(x, y)
    with pytest.raises(ValueError, match="knots"):
        RandomFeatureReLURegressor(algorithm="knots").fit(np.hstack([x, x]), y)
    # two distinct inputs: the auto path falls back to the dense solver
    two = RandomFeatureReLURegressor(n_hidden=20, random_state=0).fit(np.array([[0.0], [1.0], [1.0]]), [0.0, 1.0, 1.0])
    ref = RandomFeatureReLURegressor(n_hidden=20, algorithm="primal", random_state=0).fit(
        np.array([[0.0], [1.0], [1.0]]), [0.0, 1.0, 1.0])
    np.testing.assert_allclose(two.coef_, ref.coef_, rtol=1e-10)


def test_large_width_fits_without_the_feature_matrix():
    import tracemalloc

    x = np.linspace(-1, 1, 2000)[:, None]
    y = np.sin(4 * x[:, 0]) + 0.1 * np.random.RandomState(0).standard_normal(2000)
    tracemalloc.start()
    net = RandomFeatureReLURegressor(n_hidden=200_000, alpha=1e-3, random_state=0).fit(x, y)
    pred = net.predict(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert net.algorithm_ == "knots"
    assert peak < 100 * 2**20  # the 2000 x 200000 feature matrix alone would need 3.2 GB
    assert np.mean((pred - np.sin(4 * x[:, 0])) ** 2) < 0.002  # noise variance 0.01


@pytest.mark.parametrize("alpha", [1e-6, 0.1, 100.0])
def test_closely_spaced_random_inputs_keep_full_accuracy(alpha):
    # Random inputs put some data points 1e-7 apart and leave gaps with zero or
    # one knot: the regime where a basis of divided differences breaks down.
    rng = np.random.RandomState(1)
    x = rng.uniform(-2, 2, (1500, 1))
    x[::50, 0] += 1e-9  # near-ties
    y = np.sin(3 * x[:, 0]) + 0.1 * rng.standard_normal(1500)
    sw = rng.uniform(0.5, 2.0, 1500)
    net = RandomFeatureReLURegressor(n_hidden=800, alpha=alpha, algorithm="knots", random_state=0).fit(
        x, y, sample_weight=sw)
    feats = ReLURandomFeatures(800, random_state=0).fit(x)
    v, c = _lstsq_ridge(feats.transform(x), y, sw, alpha, True)
    grid = np.linspace(-2.5, 2.5, 500)[:, None]
    ref = feats.transform(grid) @ v[:, 0] + c[0]
    assert net.algorithm_ == "knots"
    assert np.max(np.abs(net.predict(grid) - ref)) < 1e-8 * np.max(np.abs(ref))


def test_refit_on_several_features_removes_stale_knots():
    x = np.linspace(-1, 1, 30)[:, None]
    net = RandomFeatureReLURegressor(n_hidden=20, random_state=0).fit(x, x[:, 0] ** 2)
    assert net.knots_.shape == net.slope_jumps_.shape == (20,)
    net.fit(np.hstack([x, x]), x[:, 0] ** 2)
    assert not hasattr(net, "knots_") and not hasattr(net, "slope_jumps_")


# Tolerances of the exact solvers.  A backward-stable solve of the banded
# system A z = b returns the exact solution of (A + dA) z = b + db with
# |dA| <= c eps |A|, |db| <= c eps |b| entrywise; to first order that moves a
# leverage omega_i (A^-1)_rr by at most c eps omega_i (|A^-1| |A| |A^-1|)_rr and a
# solution entry by at most c eps (|A^-1| (|A| |z| + |b|))_r (componentwise
# condition numbers; Higham, Accuracy and Stability, ch. 7).  The bound on c
# for banded LU with partial pivoting grows with the band and the pivot growth
# (ch. 9); the chain's band is 2 + 2 and the moments and gaps entering A carry
# one rounding each.  _C = 1000 covers that with room: the largest error seen
# against 50-digit references was 40 eps kappa (block cyclic reduction, 40
# points at alpha = 1e-11), the defect fixed in general._chain_leverages 1e8
# eps kappa.  kappa is computed here from the dense chain matrix, whatever
# machine runs the test.
_C = 1000.0
_EPS = np.finfo(float).eps


def _chain_condition(x, Y, W, knots, q, alpha):
    """Componentwise condition numbers of the free-affine chain's leverages (m,)
    and fitted values (m, k), from its matrix as a dense array."""
    return _system_condition(x, Y, W, moments.knot_moments(x, knots, q, np.ones(len(q), bool)).right, alpha)


def _dense_chain(x, Y, W, right, alpha):
    """The chain's banded system of any gap moments ``right`` (3, m - 1) as a
    dense matrix ``A``, its right-hand side ``b``, the value rows ``r`` and
    their data factor ``omega * shrink``."""
    m = len(x)
    full, omega, shrink, _, _ = chain.free_system(x, W, right, alpha)
    D, U, L = banded._band_blocks(full[chain.KL:], m, 4, chain.KL, chain.KU)
    A = np.zeros((4 * m, 4 * m))
    for i in range(m):
        A[4 * i:4 * i + 4, 4 * i:4 * i + 4] = D[i]
        if i < m - 1:
            A[4 * i:4 * i + 4, 4 * i + 4:4 * i + 8] = U[i]
            A[4 * i + 4:4 * i + 8, 4 * i:4 * i + 4] = L[i]
    b = np.zeros((4 * m, Y.shape[1]))
    r = 4 * np.arange(m) + chain.FV
    b[r] = (omega * shrink)[:, None] * Y
    return A, b, r, omega * shrink


def _system_condition(x, Y, W, right, alpha):
    """The same for the chain of any gap moments ``right`` (3, m - 1)."""
    A, b, r, data = _dense_chain(x, Y, W, right, alpha)
    Ai = np.linalg.inv(A)
    z = Ai @ b
    absAi = np.abs(Ai)
    lev = data * np.einsum("ij,jk,ki->i", absAi[r], np.abs(A), absAi[:, r])
    fit = absAi[r] @ (np.abs(A) @ np.abs(z) + np.abs(b))
    return lev, fit


def _mp_reference(x, y, W, knots, q, right, alpha, affine, dps=30):
    """Leverages and fitted values of min sum W (f - y)^2 + alpha sum t^2 / q with
    f = affine part + sum t_k relu(+-(x - knot_k)), from the dual (kernel) system
    [[K + alpha W^-1, P], [P^T, 0]] solved in ``dps``-digit arithmetic: the
    residual is alpha W^-1 c, so the smoother is I - alpha W^-1 G_11.  The
    float64 inputs are taken exactly; 30 digits leave more than 15 after the
    condition number (< 1e13 here) has taken its share."""
    import mpmath as mp

    with mp.workdps(dps):
        m = len(x)
        X = [mp.mpf(float(v)) for v in x]
        Phi = mp.matrix(m, len(knots))
        for j, (kn, qq, r) in enumerate(zip(knots, q, right)):
            k, s = mp.mpf(float(kn)), mp.sqrt(mp.mpf(float(qq)))
            for i in range(m):
                d = X[i] - k if r else k - X[i]
                Phi[i, j] = s * d if d > 0 else 0
        K = Phi * Phi.T
        P = {"penalized": [], "free_constant": [[1] * m], "free": [[1] * m, X]}[affine]
        nb = len(P)
        a = mp.mpf(float(alpha))
        B = mp.matrix(m + nb, m + nb)
        for i in range(m):
            for j in range(m):
                B[i, j] = K[i, j]
            B[i, i] += a / mp.mpf(float(W[i]))
            for c in range(nb):
                B[i, m + c] = B[m + c, i] = P[c][i]
        G = B ** -1
        c = G * mp.matrix([mp.mpf(float(v)) for v in y] + [0] * nb)
        lev = np.array([float(1 - a / mp.mpf(float(W[i])) * G[i, i]) for i in range(m)])
        fit = np.array([float(mp.mpf(float(y[i])) - a / mp.mpf(float(W[i])) * c[i]) for i in range(m)])
    return lev, fit


def _chain_problem(m, n, seed=5):
    rng = np.random.RandomState(seed)
    x = np.sort(rng.uniform(-2, 2, m))
    x[30] = x[29] + 1e-9  # a near-tie
    Y = np.column_stack([np.sin(2 * x), np.abs(x)]) + 0.1 * rng.standard_normal((m, 2))
    W = rng.uniform(0.5, 2.0, m)
    w, b = rng.standard_normal(n), rng.uniform(-2.5, 2.5, n)
    return x, Y, W, -b / w, w**2 / n, w > 0


@pytest.mark.parametrize("alpha", [1e-8, 1e-4, 0.1, 10.0])
def test_free_affine_chain_equals_the_general_solver(alpha):
    """With a free affine part a left-facing unit is a right-facing one plus an
    affine function: the 4-unknown chain of solve_free gives the same fit."""
    x, Y, W, knots, q, right = _chain_problem(120, 400)
    n = len(q)
    via_general = general.solve(x, Y, W, moments.knot_moments(x, knots, q, right), alpha, "free", leverages=True)
    via_chain = chain.solve_free(x, Y, W, moments.knot_moments(x, knots, q, np.ones(n, bool)).right, alpha,
                              leverages=True)
    kappa_lev, kappa_fit = _chain_condition(x, Y, W, knots, q, alpha)
    # each is within _C eps kappa of the exact fit, so they are within twice that of each other
    assert np.max(np.abs(via_chain.fitted - via_general.fitted)) <= 2 * _C * _EPS * np.max(kappa_fit)
    assert np.max(np.abs(via_chain.leverages - via_general.leverages)) <= 2 * _C * _EPS * np.max(kappa_lev)


@pytest.mark.parametrize("affine", ["free", "free_constant", "penalized"])
@pytest.mark.parametrize("alpha", [1e-11, 1e-8])
def test_leverages_and_fit_equal_a_high_precision_reference(affine, alpha):
    # The problem above at 40 points, near interpolation, where block
    # cyclic reduction on the 8-unknown system lost 1e-7 to 1e-4 of a leverage.
    x, Y, W, knots, q, right = _chain_problem(40, 130)
    lev, fit = _mp_reference(x, Y[:, 0], W, knots, q, right, alpha, affine)
    kappa_lev, kappa_fit = _chain_condition(x, Y[:, :1], W, knots, q, alpha)
    tol_lev = _C * _EPS * np.max(kappa_lev)
    via_general = general.solve(x, Y[:, :1], W, moments.knot_moments(x, knots, q, right), alpha, affine, leverages=True)
    if affine == "free":
        via_chain = chain.solve_free(x, Y[:, :1], W, moments.knot_moments(x, knots, q, np.ones(len(q), bool)).right,
                                  alpha, leverages=True)
    else:
        order = np.argsort(knots)
        blk = moments.Blocks(x, knots[order], q[order], right[order])
        via_chain = bordered.solve(x, Y[:, :1], W, blk, alpha, affine, leverages=True)
    assert np.max(np.abs(via_general.leverages - lev)) <= tol_lev
    assert np.max(np.abs(via_chain.leverages - lev)) <= tol_lev
    # the fit of the chain (the estimators' path); its condition stands in for
    # that of the bordered system, whose border adds two unknowns
    assert np.max(np.abs(via_chain.fitted[:, 0] - fit)) <= _C * _EPS * np.max(kappa_fit)


def _naive_hat_basis_fit(x, y, knots, alpha):
    """Ridge on right-facing units relu(x - knot)/sqrt(n) with a free constant, written in the
    basis of function values at the sorted knots (hat functions): jumps are divided differences."""
    ks = np.sort(knots); n = len(ks)
    E = np.eye(n + 1)  # unknowns: a_0..a_{n-1} (values at the knots), s (slope right of the last knot)
    H = np.zeros((len(x), n + 1))
    j = np.searchsorted(ks, x)
    for i, (xi, ji) in enumerate(zip(x, j)):
        if ji == 0:
            H[i] = E[0]
        elif ji == n:
            H[i] = E[n - 1] + (xi - ks[-1]) * E[n]
        else:
            u = (xi - ks[ji - 1]) / (ks[ji] - ks[ji - 1])
            H[i] = (1 - u) * E[ji - 1] + u * E[ji]
    slope = [(E[k + 1] - E[k]) / (ks[k + 1] - ks[k]) for k in range(n - 1)]
    D = np.array([slope[0]] + [slope[k] - slope[k - 1] for k in range(1, n - 1)] + [E[n] - slope[-1]])
    P = alpha * n * D.T @ D  # alpha |v|^2 with t = v / sqrt(n)
    N = H.T @ H + P
    a = np.linalg.solve(N, H.T @ y)
    return H @ a, np.linalg.cond(N)


@pytest.mark.parametrize("gap", [1e-3, 1e-13])
def test_a_naive_basis_over_the_knots_breaks_down_where_ours_does_not(gap):
    # pairs of knots `gap` apart; the values-at-knots (hat) basis divides by the gap
    x = np.linspace(-1, 1, 40)
    y = np.sin(3 * x) + 0.05 * np.cos(17 * x)
    knots = np.repeat(np.linspace(-0.95, 0.95, 150), 2)
    knots[1::2] += gap
    n, alpha = len(knots), 1e-3
    init = ExplicitInit(np.ones((n, 1)), -knots)
    Phi = ReLURandomFeatures(n, init=init).fit(x[:, None]).transform(x[:, None])
    v, c = _lstsq_ridge(Phi, y, np.ones(len(x)), alpha, True)
    ref = (Phi @ v + c)[:, 0]
    ours = RandomFeatureReLURegressor(n_hidden=n, init=init, alpha=alpha, algorithm="knots").fit(x[:, None], y)
    # The dense reference is a least-squares solve of the stacked matrix S: its
    # error is at most about eps (kappa + kappa^2 |r| / (|S| |v|)) <= 2 eps kappa^2
    # relative (Higham, ch. 20), kappa = cond(S) ~ 220 here whatever the gap.
    S = np.vstack([np.hstack([Phi, np.ones((len(x), 1))]), np.sqrt(alpha) * np.eye(n, n + 1)])
    tol_ref = _C * _EPS * np.linalg.cond(S) ** 2 * np.max(np.abs(y))
    assert np.max(np.abs(ours.predict(x[:, None]) - ref)) < tol_ref
    naive, cond_naive = _naive_hat_basis_fit(x, y, knots, alpha)
    naive = np.max(np.abs(naive - ref))
    if gap == 1e-3:
        # the naive basis is right when the knots are apart: within its normal
        # equations' condition (6e7) times eps, 1.4e-5 with _C (measured 4e-10)...
        assert naive < _C * _EPS * cond_naive * np.max(np.abs(y)) + tol_ref
        assert _C * _EPS * cond_naive < 1e-2  # (so the bound above says something)
    else:
        assert naive > 0.1  # ...and lost when they nearly coincide (measured 0.99)
