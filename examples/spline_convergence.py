"""Wider and wider random ReLU networks approach their smoothing spline.
=====================================================================

``RandomFeatureReLURegressor(init=init, alpha=alpha, n_hidden=n)`` (ridge on the
output layer, free output bias) tends, as ``n`` grows, to
``SmoothingSplineEquivalent(init=init, alpha=alpha)``: the minimiser of

    sum_i (y_i - f(x_i))^2 + alpha * int f''(x)^2 / g(x) dx     (free constant),

a cubic smoothing spline whose stiffness ``1 / g`` is set by the curvature
weight ``g`` of the initialisation (where the initialisation puts many knots
with large input weights, curving is cheap).  ``SmoothingSplineEquivalent.
from_estimator(network)`` builds that limit from the network's parameters.

Both sides are exact: in 1-D the network's ridge problem is solved by the banded
"knots" solver (``algorithm_ == 'knots'``), and the spline by the same solver
with the moments of ``g`` in place of the sampled knots, so a width of 1e5 fits
in a fraction of a second and the only gap left is the Monte Carlo error of the
random knots.  That error falls like ``n^(-1/2)``: about ``sqrt(10) ~ 3.2`` per
decade of width (single ratios are noisy, so the error is averaged over seeds).

Two initialisations with different curvature weights:
``Gaussian()`` (``g`` peaks at 0 and decays like ``|x|^-4``) and
``RademacherUniform(bias_range=3)`` (``g = 1/6`` on ``[-3, 3]``, the classical
spline up to the affine part).

Run it with ``python examples/spline_convergence.py``; it prints the table and,
when matplotlib is installed, saves ``spline_convergence.png`` in the current
working directory.
"""

import _convergence
import _plotting
import numpy as np

from sklearn_shallowrelu import RandomFeatureReLURegressor, SmoothingSplineEquivalent
from sklearn_shallowrelu.datasets import make_curve
from sklearn_shallowrelu.init import Gaussian, RademacherUniform

ALPHA = 0.01
WIDTHS = (100, 1_000, 10_000, 100_000)
N_SEEDS = 8
INITS = {
    "Gaussian()": Gaussian(),
    "RademacherUniform(3)": RademacherUniform(bias_range=3.0),
}


def target(x):
    return np.sin(3 * x) + 0.5 * x


def main(plot_figure=True, widths=WIDTHS, n_seeds=N_SEEDS):
    X, y = make_curve(60, target=target, noise=0.2, sort=True, random_state=0)
    grid = np.linspace(X.min(), X.max(), 401)[:, None]
    results = {}
    print(f"Ridge (alpha={ALPHA}) on n random ReLU features vs SmoothingSplineEquivalent (same init, alpha)")
    print(f"{len(y)} samples of sin(3x) + x/2 + noise on [-2, 2]; sup-distance on a grid over the data range, "
          f"mean over {n_seeds} seeds")
    for name, init in INITS.items():
        spline = None
        errors, curves, algorithms = [], {}, set()
        for n in widths:
            e = []
            for seed in range(n_seeds):
                net = RandomFeatureReLURegressor(n_hidden=n, init=init, alpha=ALPHA, random_state=seed).fit(X, y)
                algorithms.add(net.algorithm_)
                if spline is None:
                    spline = SmoothingSplineEquivalent.from_estimator(net).fit(X, y)
                    limit = spline.predict(grid)
                pred = net.predict(grid)
                e.append(np.max(np.abs(pred - limit)))
                if seed == 0:
                    curves[n] = pred
            errors.append((np.mean(e), np.std(e)))
        errors = np.array(errors)
        slope = np.polyfit(np.log10(widths), np.log10(errors[:, 0]), 1)[0]
        g_grid = np.linspace(-4, 4, 401)
        results[name] = {"widths": np.array(widths), "errors": errors, "slope": slope, "limit": limit,
                         "curves": curves, "g_grid": g_grid, "g": init.curvature_weight(g_grid),
                         "spline_params": spline.get_params(), "df": spline.df_, "algorithms": algorithms}

        print()
        print(f"init = {name}: limit {type(spline).__name__}(alpha={spline.alpha_}, affine={spline.affine!r}), "
              f"df = {spline.df_:.1f}; network algorithm_ = {sorted(algorithms)}")
        _convergence.print_table(widths, errors, slope, "sup |f_n - spline|")

    if plot_figure:
        _plotting.save_figure(_plot, "spline_convergence.png", X, y, grid[:, 0], results, blank_line=True)
    return results


def _plot(plt, X, y, grid, results):
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.5), constrained_layout=True)
    ax = axes[0]
    for k, (name, r) in enumerate(results.items()):
        ax.plot(r["g_grid"], r["g"], color=f"C{k}", label=name)
    ax.axvspan(X.min(), X.max(), color="0.9", label="data range")
    ax.set_xlabel("x")
    ax.set_title("curvature weight g (penalty int f''^2 / g)")
    ax.legend(fontsize=8)
    for k, (name, r) in enumerate(results.items()):
        _convergence.curves_panel(plt, axes[1 + k], X, y, grid, r, "network", "SmoothingSplineEquivalent",
                                  f"init = {name}, seed 0", fontsize=7)
    _convergence.errors_panel(axes[3], results, "sup |network - spline|", f"distance to the spline (alpha = {ALPHA})")
    return fig


if __name__ == "__main__":
    main()
