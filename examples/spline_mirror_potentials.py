"""Mirror descent with width-scaled potentials: non-quadratic curvature penalties.
===============================================================================

Mirror descent on the output layer of a random-feature network, with a
potential rescaled by the width (``WidthScaled(phi)``, Liang & Montufar), from
zero and without ridge term, converges to the Bregman projection of zero onto
the interpolants.  As the width grows that projection tends to the function
minimising

    int D_phi(alpha(c), 0) g(c) dc   subject to   f(x_i) = y_i,

where ``alpha(c)`` is the output weight of the unit with knot ``c`` (its jump
density ``f''`` is ``g(c) alpha(c)`` split between the two directions) and
``D_phi`` is the Bregman divergence of ``phi``.  With the quadratic potential
this is the cubic smoothing spline's interpolant; other potentials penalise
large and small curvatures differently (``x^2/2 + c x^4 / 4`` punishes large
ones harder and spreads the curvature out, the hyperbolic entropy punishes
them less and concentrates it).

``SmoothingSplineEquivalent(init, alpha=0, potential=phi)`` solves the limit
problem by Newton's method on its dual (each step is the banded solver of the
quadratic case with knot masses ``q / phi''(alpha)``), and
``SmoothingSplineEquivalent.from_estimator(network)`` builds it from a
network's parameters.  The table shows, per potential, how far the width-n
mirror-descent network is from its limit (the Monte Carlo error of the knots,
falling like ``n^-1/2``, plus what is left of the descent after ``max_iter``
steps: its training loss is printed beside it) and how far the limit is from
the quadratic one (the potential matters).

Run it with ``python examples/spline_mirror_potentials.py``; it prints the
table and, when matplotlib is installed, saves ``spline_mirror_potentials.png``
in the current working directory.
"""

import _plotting
import numpy as np

from sklearn_shallowrelu import RandomFeatureReLURegressor, SmoothingSplineEquivalent
from sklearn_shallowrelu.init import RademacherUniform
from sklearn_shallowrelu.potentials import HyperbolicEntropy, Quadratic, QuadraticPlusPower, WidthScaled

INIT = RademacherUniform(bias_range=1.0)
POTENTIALS = {
    "quadratic": Quadratic(),
    "x^2/2 + 0.3 |x|^3/3": QuadraticPlusPower(p=3, c=0.3),
    "hyperbolic entropy (beta=0.5)": HyperbolicEntropy(0.5),
}
WIDTHS = (100, 1_000)
# Seven points in [-1, 1], written out.
X_DATA = np.array([-0.85, -0.5, -0.2, 0.05, 0.3, 0.6, 0.85])[:, None]
Y_DATA = 0.5 * np.array([0.0, 0.6, -0.4, 0.5, 0.1, -0.6, 0.2])


def main(plot_figure=True, widths=WIDTHS, max_iter=20_000):
    X, y = X_DATA, Y_DATA
    grid = np.linspace(-1, 1, 401)[:, None]
    inside = (grid[:, 0] >= X.min()) & (grid[:, 0] <= X.max())
    quadratic = SmoothingSplineEquivalent(init=INIT, alpha=0.0).fit(X, y).predict(grid)  # the interpolant
    results = {}
    print("Mirror descent from zero (alpha = 0) with WidthScaled(phi) vs its infinite-width limit")
    print(f"{len(y)} points, init = {INIT!r}; sup-distances on the data range")
    head = (f"{'potential':>30} | {'Newton its':>10} | {'sup |limit - quadratic|':>23} | "
            + " | ".join(f"{'n=' + str(n) + ': to limit, loss':>25}" for n in widths))
    print(head)
    print("-" * len(head))
    for name, phi in POTENTIALS.items():
        errors, curves, losses = [], {}, []
        limit_est = None
        for n in widths:
            net = RandomFeatureReLURegressor(n_hidden=n, init=INIT, solver="mirror", alpha=0.0,
                                             potential=WidthScaled(phi), max_iter=max_iter, tol=None,
                                             random_state=0).fit(X, y)
            if limit_est is None:
                limit_est = SmoothingSplineEquivalent.from_estimator(net).fit(X, y)
                limit = limit_est.predict(grid)
            curves[n] = net.predict(grid)
            errors.append(float(np.max(np.abs(curves[n] - limit)[inside])))
            losses.append(float(net.loss_curve_[-1]))  # mirror descent slows down where phi'' grows
        gap = float(np.max(np.abs(limit - quadratic)[inside]))
        n_iter = getattr(limit_est, "n_iter_", 0)
        results[name] = {"limit": limit, "curves": curves, "errors": errors, "losses": losses,
                         "gap_to_quadratic": gap,
                         "curvature": limit_est.predict_derivative(grid, order=2)}
        print(f"{name:>30} | {n_iter:>10d} | {gap:23.4f} | "
              + " | ".join(f"{e:14.4f}, {loss:9.1e}" for e, loss in zip(errors, losses)))
    print("(loss: the network's training loss after max_iter steps; the distance to the limit is also\n"
          " what is left of the descent, which the non-quadratic potentials slow down)")

    if plot_figure:
        _plotting.save_figure(_plot, "spline_mirror_potentials.png", X, y, grid[:, 0], results, blank_line=True)
    return results


def _plot(plt, X, y, grid, results):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    for k, (name, r) in enumerate(results.items()):
        axes[0].plot(grid, r["limit"], color=f"C{k}", lw=2, label=f"limit, {name}")
        widest = max(r["curves"])
        axes[0].plot(grid, r["curves"][widest], color=f"C{k}", lw=1, ls=":", label=f"network n={widest}")
        axes[1].plot(grid, r["curvature"], color=f"C{k}", label=name)
    axes[0].plot(X[:, 0], y, "ko", label="data")
    axes[0].set_title("interpolating limits of mirror descent")
    axes[0].legend(fontsize=7)
    axes[1].set_title("f'' of the limits (jump densities)")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set_xlabel("x")
    return fig


if __name__ == "__main__":
    main()
