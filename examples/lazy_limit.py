"""Wide networks trained lazily approach their kernel limit, in any dimension.
===========================================================================

Two networks whose training, as the width ``n`` grows, becomes a training path
in function space with a fixed kernel (the lazy regime of Jacot et al. and Lee
et al.), and ``KernelLimitRegressor.from_estimator(network)``, which computes
that path exactly on the data:

1. ``ShallowReLURegressor(parametrization='ntk', output_init='antisymmetric')``
   on 2-D inputs: both layers trained by ``t`` steps of full-batch gradient
   descent with step ``eta``, from a network that is zero at the start.  The
   limit is ``t`` steps of ``f <- f - eta K P (f - y)`` with the neural tangent
   kernel ``K = TangentKernel.from_estimator(network)`` (its output bias is
   the kernel's constant).
2. ``RandomFeatureReLURegressor`` on 3-D inputs, ridge and gradient descent on
   the output layer: the limit is kernel ridge regression (same ``alpha``) and
   kernel gradient descent (same steps and step) with the random-feature
   kernel ``RandomFeatureKernel``, with the output bias kept at its optimum as
   the network keeps it.

What to look for: the sup-distance between the width-``n`` network and its
limit, over points of the input box, shrinks like ``n^(-1/2)`` (the Monte Carlo
error of the random kernel at the start and, for the NTK network, its drift
during training), about ``sqrt(10) ~ 3.2`` per decade of width; single ratios
are noisy, so the distance is averaged over a few seeds.

Run it with ``python examples/lazy_limit.py``; it prints the tables and, when
matplotlib is installed, saves ``lazy_limit.png`` in the current working
directory.
"""

import _convergence
import _plotting
import numpy as np

from sklearn_shallowrelu import RandomFeatureReLURegressor, ShallowReLURegressor
from sklearn_shallowrelu.init import Gaussian
from sklearn_shallowrelu.lazy import KernelLimitRegressor

NTK_WIDTHS = (100, 1_000, 10_000)
RF_WIDTHS = (100, 1_000, 10_000, 100_000)
N_SEEDS = 4
NTK = dict(parametrization="ntk", output_init="antisymmetric", init=Gaussian(1.0, 1.0), learning_rate=0.5,
           max_iter=300)
RF = {
    "random features, d=3, ridge": dict(init=Gaussian(0.9, 1.1), alpha=0.1),
    "random features, d=3, GD": dict(init=Gaussian(0.9, 1.1), solver="gd", learning_rate=1.0, max_iter=200),
}


def _distance(make, X, y, X_eval, widths, n_seeds, keep_curve=None):
    """Mean and spread over the seeds of sup |network - limit| on ``X_eval``, per width."""
    limit = KernelLimitRegressor.from_estimator(make(widths[0], 0)).fit(X, y)
    reference = limit.predict(X_eval)
    errors, curves = [], {}
    for n in widths:
        e = []
        for seed in range(n_seeds):
            net = make(n, seed).fit(X, y)
            e.append(np.max(np.abs(net.predict(X_eval) - reference)))
            if seed == 0 and keep_curve is not None:
                curves[n] = net.predict(keep_curve)
        errors.append((np.mean(e), np.std(e)))
    errors = np.array(errors)
    slope = np.polyfit(np.log10(widths), np.log10(errors[:, 0]), 1)[0]
    out = {"widths": np.array(widths), "errors": errors, "slope": slope, "curves": curves}
    if keep_curve is not None:
        out["limit"] = limit.predict(keep_curve)
    return out, limit


def main(plot_figure=True, ntk_widths=NTK_WIDTHS, rf_widths=RF_WIDTHS, n_seeds=N_SEEDS):
    rng = np.random.default_rng(0)
    results = {}

    # 1. both layers, NTK parametrisation, 2-D inputs
    X2 = rng.uniform(-1, 1, (20, 2))
    y2 = np.sin(3 * X2[:, 0]) * np.cos(2 * X2[:, 1]) + 0.1 * rng.standard_normal(20)
    g = np.linspace(-1, 1, 21)
    box2 = np.array(np.meshgrid(g, g)).reshape(2, -1).T  # a 21 x 21 grid over the input square
    line = np.linspace(-1, 1, 201)[:, None] * np.array([[1.0, -0.5]])  # a segment through the square, for the plot
    name = "NTK network, d=2, GD"
    results[name], limit = _distance(lambda n, s: ShallowReLURegressor(n_hidden=n, random_state=s, **NTK),
                                     X2, y2, box2, ntk_widths, n_seeds, keep_curve=line)
    results[name]["line"] = line
    print(f"ShallowReLURegressor(parametrization='ntk', output_init='antisymmetric', learning_rate="
          f"{NTK['learning_rate']}, max_iter={NTK['max_iter']}) vs its lazy limit")
    print(f"kernel {limit.kernel_!r}, n_steps={limit.n_steps}, learning_rate={limit.learning_rate}, "
          f"fit_intercept={limit.fit_intercept}")
    print(f"{len(y2)} samples in [-1, 1]^2; sup-distance on a 21 x 21 grid, mean over {n_seeds} seeds")
    _convergence.print_table(ntk_widths, results[name]["errors"], results[name]["slope"], "sup |f_n - f_NTK|")

    # 2. random features, 3-D inputs
    X3 = rng.uniform(-1, 1, (40, 3))
    y3 = np.sin(2 * X3[:, 0]) * X3[:, 1] + X3[:, 2] + 0.1 * rng.standard_normal(40)
    box3 = rng.uniform(-1, 1, (500, 3))
    for name, params in RF.items():
        results[name], limit = _distance(
            lambda n, s, params=params: RandomFeatureReLURegressor(n_hidden=n, random_state=s, **params),
            X3, y3, box3, rf_widths, n_seeds)
        print()
        shown = ("alpha", "fit_intercept") + (() if limit.n_steps is None else ("n_steps", "learning_rate"))
        mapped = ", ".join(f"{k}={getattr(limit, k)!r}" for k in shown)
        print(f"RandomFeatureReLURegressor({', '.join(f'{k}={v!r}' for k, v in params.items())}) vs its limit")
        print(f"kernel {limit.kernel_!r}, {mapped}")
        print(f"{len(y3)} samples in [-1, 1]^3; sup-distance at 500 random points of the cube, "
              f"mean over {n_seeds} seeds")
        _convergence.print_table(rf_widths, results[name]["errors"], results[name]["slope"], "sup |f_n - f_K|")

    if plot_figure:
        _plotting.save_figure(_plot, "lazy_limit.png", results, dpi=120, blank_line=True)
    return results


def _plot(plt, results):
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    _convergence.errors_panel(ax, results, "sup |network - kernel limit|",
                              "distance to the lazy-training limit")
    ntk = results["NTK network, d=2, GD"]
    s = ntk["line"][:, 0]
    for k, (n, pred) in enumerate(sorted(ntk["curves"].items())):
        ax2.plot(s, pred, color=plt.cm.viridis(0.15 + 0.3 * k), lw=1, label=f"NTK network, n_hidden = {n}")
    ax2.plot(s, ntk["limit"], "r--", lw=2, label="KernelLimitRegressor.from_estimator")
    ax2.set_xlabel("s  (x = (s, -s/2))")
    ax2.set_title("the NTK networks (seed 0) and their limit along a segment")
    ax2.legend(fontsize=8)
    return fig


if __name__ == "__main__":
    main()
