"""Wider and wider random ReLU networks approach their smoothing spline.

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

import os

import numpy as np

from sklearn_shallowrelu import RandomFeatureReLURegressor, SmoothingSplineEquivalent
from sklearn_shallowrelu.init import Gaussian, RademacherUniform

ALPHA = 0.01
WIDTHS = (100, 1_000, 10_000, 100_000)
N_SEEDS = 8
INITS = {
    "Gaussian()": Gaussian(),
    "RademacherUniform(3)": RademacherUniform(bias_range=3.0),
}


def make_data(n_samples=60, noise=0.2, random_state=0):
    rng = np.random.RandomState(random_state)
    X = np.sort(rng.uniform(-2, 2, n_samples)).reshape(-1, 1)
    y = np.sin(3 * X[:, 0]) + 0.5 * X[:, 0] + noise * rng.standard_normal(n_samples)
    return X, y


def main(plot_figure=True, widths=WIDTHS, n_seeds=N_SEEDS):
    X, y = make_data()
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
        head = f"{'n_hidden':>9} | {'sup |f_n - spline|':>18} {'(std)':>8} | {'ratio / decade':>14}"
        print(head)
        print("-" * len(head))
        for i, n in enumerate(widths):
            ratio = "" if i == 0 else f"{errors[i - 1, 0] / errors[i, 0]:14.2f}"
            print(f"{n:>9d} | {errors[i, 0]:18.5f} {errors[i, 1]:8.5f} | {ratio:>14}")
        print(f"least-squares slope: error ~ n^{slope:.2f}  ->  {10 ** (-slope):.2f} per decade "
              f"(expected n^-0.5, sqrt(10) = 3.16)")

    if plot_figure:
        try:
            path = os.path.join(os.getcwd(), "spline_convergence.png")
            _plot(path, X, y, grid[:, 0], results)
            print(f"\nFigure saved to {path}")
        except ImportError:
            print("\nmatplotlib is not installed: no figure (pip install matplotlib).")
    return results


def _plot(path, X, y, grid, results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(19, 4.5), constrained_layout=True)
    ax = axes[0]
    for k, (name, r) in enumerate(results.items()):
        ax.plot(r["g_grid"], r["g"], color=f"C{k}", label=name)
    ax.axvspan(X.min(), X.max(), color="0.9", label="data range")
    ax.set_xlabel("x")
    ax.set_title("curvature weight g (penalty int f''^2 / g)")
    ax.legend(fontsize=8)
    for k, (name, r) in enumerate(results.items()):
        ax = axes[1 + k]
        ax.plot(X[:, 0], y, "k.", label="data")
        for j, (n, pred) in enumerate(sorted(r["curves"].items())):
            if n >= 100_000:
                continue
            ax.plot(grid, pred, color=plt.cm.viridis(0.15 + 0.3 * j), lw=1, label=f"network, n_hidden = {n}")
        ax.plot(grid, r["limit"], "r--", lw=2, label="SmoothingSplineEquivalent")
        ax.set_xlabel("x")
        ax.set_title(f"init = {name}, seed 0")
        ax.legend(fontsize=7)
    ax = axes[3]
    for k, (name, r) in enumerate(results.items()):
        w, e = r["widths"], r["errors"]
        ax.errorbar(w, e[:, 0], yerr=e[:, 1], marker="o", color=f"C{k}", capsize=3,
                    label=f"{name}: slope {r['slope']:.2f}")
    first = next(iter(results.values()))
    w = first["widths"]
    ax.plot(w, first["errors"][0, 0] * np.sqrt(w[0] / w), "k--", lw=1, label="n^(-1/2)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width n_hidden")
    ax.set_ylabel("sup |network - spline|")
    ax.set_title(f"distance to the spline (alpha = {ALPHA})")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
