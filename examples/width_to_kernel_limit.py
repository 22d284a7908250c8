"""Ridge on wider and wider random ReLU features approaches kernel ridge regression.
=================================================================================

``RandomFeatureReLURegressor(solver='ridge', alpha=alpha)`` is scikit-learn's
``Ridge(alpha, fit_intercept=True)`` on the features
``phi(x) = relu(W x + b) / sqrt(n_hidden)``.  Because of the ``1 / sqrt(n)``
scale, ``phi(x) . phi(x')`` converges to the kernel of the initialisation,

    K(x, x') = E[relu(W x + B) relu(W x' + B)],

so at a fixed ``alpha`` the network tends, as the width grows, to kernel ridge
regression with ``K``, the same ``alpha`` and a free (unpenalised) intercept:

    f(x) = sum_j c_j K(x, x_j) + b,   [[K + alpha I, 1], [1^T, 0]] [c; b] = [y; 0].

(The bordered system is what ``Ridge(fit_intercept=True)`` becomes in the limit:
the intercept is not penalised, and the optimality condition for it forces
``sum_j c_j = 0``.  Equivalently, centre the kernel, ``P K P`` with
``P = I - 1 1^T / m``: ``c = P (P K P + alpha I)^{-1} P y`` and the constant
is ``mean(y) - mean(K c)``; the script checks that both ways agree.)

``init.kernel(x, y)`` gives ``K`` in closed form: for ``Gaussian()`` it is half
the degree-one arc-cosine kernel of ``(sigma_w x, sigma_b)``, for
``RademacherUniform(bias_range=a)`` it is the kernel of a cubic smoothing spline
with constant curvature weight ``g = 1 / (2 a)`` on ``[-a, a]``.

What to look for: the sup-distance between the width-``n`` network and the
kernel limit shrinks like ``n^(-1/2)`` (random-feature Monte Carlo error), i.e.
by about ``sqrt(10) ~ 3.2`` per decade of width (individual ratios are noisy:
the error is averaged over a few seeds).  For scale, the table also shows how
far the limit with a free intercept is from kernel ridge regression *without*
an intercept: the widest networks are much closer to the former, so the
intercept treatment is visible.

Run it with ``python examples/width_to_kernel_limit.py``; it prints the table
and, when matplotlib is installed, saves ``width_to_kernel_limit.png`` in the
current working directory.
"""

import _convergence
import _plotting
import numpy as np

from sklearn_shallowrelu import RandomFeatureReLURegressor
from sklearn_shallowrelu.datasets import make_curve
from sklearn_shallowrelu.init import Gaussian, RademacherUniform

ALPHA = 0.1
WIDTHS = (100, 1_000, 10_000, 100_000)
N_SEEDS = 5
INITS = {
    "Gaussian()": Gaussian(),
    "RademacherUniform(3)": RademacherUniform(bias_range=3.0),
}


def kernel_ridge_free_intercept(K, K_new, y, alpha):
    """Kernel ridge with an unpenalised intercept, by the bordered system.

    Solves ``[[K + alpha I, 1], [1^T, 0]] [c; b] = [y; 0]`` and returns
    ``K_new @ c + b`` (``K_new``: kernel between new points and training points).
    """
    m = len(y)
    M = np.zeros((m + 1, m + 1))
    M[:m, :m] = K + alpha * np.eye(m)
    M[:m, m] = 1.0
    M[m, :m] = 1.0
    sol = np.linalg.solve(M, np.append(y, 0.0))
    return K_new @ sol[:m] + sol[m]


def kernel_ridge_centred(K, K_new, y, alpha):
    """The same estimator by centring, as ``Ridge`` does on the features.

    ``c = P (P K P + alpha I)^{-1} P y`` and ``f(x) = K(x, X) c + mean(y) -
    mean(K c)`` (the last term comes from centring the features).
    """
    m = len(y)
    P = np.eye(m) - 1.0 / m
    c = P @ np.linalg.solve(P @ K @ P + alpha * np.eye(m), P @ y)
    # the centred features subtract their mean, which shifts the constant
    return K_new @ c + y.mean() - (K @ c).mean()


def kernel_ridge_no_intercept(K, K_new, y, alpha):
    return K_new @ np.linalg.solve(K + alpha * np.eye(len(y)), y)


def main(plot_figure=True, widths=WIDTHS, n_seeds=N_SEEDS):
    X, y = make_curve(30, noise=0.2, sort=True, random_state=0)  # sin(2x) + noise on [-2, 2]
    grid = np.linspace(X.min(), X.max(), 201)
    results = {}
    print(f"Ridge (alpha={ALPHA}) on n random ReLU features vs kernel ridge regression "
          f"with the init's kernel")
    print(f"{len(y)} samples of sin(2x) + noise on [-2, 2]; sup-distance on the data range, "
          f"mean over {n_seeds} seeds")
    for name, init in INITS.items():
        K = init.kernel(X[:, 0])
        K_grid = init.kernel(grid, X[:, 0])
        limit = kernel_ridge_free_intercept(K, K_grid, y, ALPHA)
        check = np.abs(limit - kernel_ridge_centred(K, K_grid, y, ALPHA)).max()
        no_icpt = np.abs(limit - kernel_ridge_no_intercept(K, K_grid, y, ALPHA)).max()
        errors, curves = [], {}
        for n in widths:
            e = []
            for seed in range(n_seeds):
                net = RandomFeatureReLURegressor(n_hidden=n, init=init, alpha=ALPHA,
                                                 random_state=seed).fit(X, y)
                pred = net.predict(grid.reshape(-1, 1))
                e.append(np.abs(pred - limit).max())
                if seed == 0:
                    curves[n] = pred
            errors.append((np.mean(e), np.std(e)))
        errors = np.array(errors)
        slope = np.polyfit(np.log10(widths), np.log10(errors[:, 0]), 1)[0]
        results[name] = {"widths": np.array(widths), "errors": errors, "slope": slope,
                         "limit": limit, "curves": curves, "no_intercept_gap": no_icpt}

        print()
        print(f"init = {name}   (bordered vs centred kernel ridge: {check:.1e})")
        _convergence.print_table(widths, errors, slope, "sup |f_n - f_K|")
        print(f"for scale: sup |KRR with free intercept - KRR without intercept| = {no_icpt:.5f}")

    if plot_figure:
        _plotting.save_figure(_plot, "width_to_kernel_limit.png", X, y, grid, results, dpi=120, blank_line=True)
    return results


def _plot(plt, X, y, grid, results):
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    _convergence.errors_panel(ax, results, "sup |network - kernel ridge|",
                              f"distance to the kernel limit (alpha = {ALPHA})\n"
                              "dotted: gap between KRR with and without free intercept",
                              hline_key="no_intercept_gap")
    name = next(iter(results))
    _convergence.curves_panel(plt, ax2, X, y, grid, results[name], "ridge", "kernel ridge limit",
                              f"init = {name}, one seed")
    return fig


if __name__ == "__main__":
    main()
