"""Weight decay tends to the minimum-norm network, whose knots can sit between the data.
=======================================================================================

``ShallowReLURegressor(alpha=alpha)`` minimises, over networks of its width::

    (sum_i (f(x_i) - y_i)^2 + alpha |theta|^2) / (2 m).

Over all widths, the least ``|theta|^2`` of a network that represents ``f`` is
``R(f) = 2 sum_k |a_k| sqrt(1 + c_k^2)`` over its kinks ``c_k``, where ``f'``
jumps by ``a_k`` (``2 sum_k |a_k|`` when the biases are not penalised), plus
the cost of its affine part.  ``MinimumNormNetwork`` finds the exact minimiser
of ``sum_i (f(x_i) - y_i)^2 + alpha R(f)``: the infinite-width limit, and a
lower bound that any trained network can only approach from above.

The script prints:

1. Boursier et al.'s closed form on ``x = [-0.5, 2]``, ``y = [-1, 1]`` without
   output bias: squared norm ``2 (sqrt(0.2) + sqrt(0.8)) = 2.683282``.
2. With penalised biases, the kinks of the optimum between the data points,
   and how much more a network with kinks at the data only would cost.
3. Weight-decay training at growing widths: the objective reached (never
   below the limit) and its distance to the limit.  The narrowest networks
   cannot represent the optimum or get stuck; the gap is about 9% at width 20
   and 0.2% at width 80 (for a fixed number of steps: wider networks take
   smaller steps, and need more of them).
4. Without weight decay, from a small start on Boursier et al.'s two points:
   as ``init_scale`` shrinks, the interpolating network's squared norm tends to
   the least one and the function to the least-norm interpolant (the implicit
   bias of the rich regime, in a setting where it is proved).

Run it with ``python examples/minimum_norm_1d.py``; with matplotlib it saves
``minimum_norm_1d.png`` in the current working directory.
"""

import numpy as np
from scipy.optimize import linprog

import _plotting
from sklearn_shallowrelu import MinimumNormNetwork, ShallowReLURegressor

# wider networks start with a smaller 'auto' step (the curvature grows with the width in the
# standard parametrisation): at width 320, 20000 steps leave the objective at twice the limit
WIDTHS = (5, 20, 80)
N_SEEDS = 3


def _data_knots_only(x, y, alpha_zero_free_constant):
    """The least norm of an interpolating network whose kinks are at the data (an LP)."""
    knots = np.concatenate([x, x])
    signs = np.concatenate([np.ones(len(x)), -np.ones(len(x))])
    Phi = np.maximum(signs * (x[:, None] - knots), 0.0)
    omega = 2 * np.sqrt(1 + knots**2)
    p, one = len(knots), np.ones((len(x), 1))
    A = np.hstack([Phi, -Phi, one])
    res = linprog(np.concatenate([omega, omega, [0.0]]), A_eq=A, b_eq=y,
                  bounds=[(0, None)] * (2 * p) + [(None, None)], method="highs")
    return res.fun


def main(plot_figure=True, widths=WIDTHS, n_seeds=N_SEEDS):
    # 1. the closed form
    boursier = MinimumNormNetwork(penalize_bias=True, fit_intercept=False).fit([[-0.5], [2.0]], [-1.0, 1.0])
    print("Boursier et al., x = [-0.5, 2], y = [-1, 1], no output bias, biases penalised:")
    print(f"  squared norm {boursier.norm_:.6f} (closed form {2 * (np.sqrt(0.2) + np.sqrt(0.8)):.6f}); "
          f"knots {boursier.knots_}, jumps {boursier.slope_jumps_}")

    # 2. knots between the data
    rng = np.random.RandomState(0)
    x = np.sort(rng.uniform(-1.5, 1.5, 12))
    y = np.sin(3 * x) + 0.1 * rng.standard_normal(12)
    X = x[:, None]
    interp = MinimumNormNetwork(penalize_bias=True).fit(X, y)
    inside = ~np.isin(interp.knots_, x)
    print(f"\nInterpolating 12 points with penalised biases: {len(interp.knots_)} kinks, {int(inside.sum())} of "
          f"them strictly between data points; norm {interp.norm_:.6f}, with kinks at the data only "
          f"{_data_knots_only(x, y, True):.6f}")

    # 3. weight decay at growing widths
    alpha = 0.05
    limit = MinimumNormNetwork(alpha=alpha, penalize_bias=True).fit(X, y)
    print(f"\nShallowReLURegressor(alpha={alpha}, penalize_bias=True, max_iter=20000), {n_seeds} seeds; "
          f"limit objective {limit.objective_:.6f} ({len(limit.knots_)} units)")
    print(f"{'n_hidden':>9} | {'objective (min, mean)':>22} | {'gap / limit (mean)':>18} | {'sup |f_n - f*|':>15}")
    curves = {}
    for n in widths:
        objs, sups = [], []
        for seed in range(n_seeds):
            net = ShallowReLURegressor(n_hidden=n, alpha=alpha, penalize_bias=True, max_iter=20000,
                                       random_state=seed).fit(X, y)
            assert net.loss_curve_[-1] >= limit.objective_ * (1 - 1e-12)  # a lower bound: never beaten
            objs.append(net.loss_curve_[-1])
            grid = np.linspace(-1.5, 1.5, 301)[:, None]
            sups.append(np.max(np.abs(net.predict(grid) - limit.predict(grid))))
            if seed == 0:
                curves[n] = net.predict(grid)
        gap = np.mean(objs) / limit.objective_ - 1
        print(f"{n:>9} | {min(objs):>10.6f} {np.mean(objs):>11.6f} | {gap:>18.2e} | {np.mean(sups):>15.4f}")
    # 4. a small start, no weight decay: towards the least-norm interpolant
    Xb, yb = np.array([[-0.5], [2.0]]), np.array([-1.0, 1.0])
    grid = np.linspace(-1, 3, 201)[:, None]
    print(f"\nNo weight decay, a small start (Boursier et al.'s data; width 50, learning_rate=0.05, 60000 steps):")
    print(f"{'init_scale':>10} | {'final loss':>10} | {'|theta|^2':>9} (least {boursier.norm_:.4f}) | {'sup |f - f*|':>12}")
    for scale in (1e-1, 1e-2, 1e-3):
        net = ShallowReLURegressor(n_hidden=50, init="gaussian", init_scale=scale, fit_intercept=False,
                                   learning_rate=0.05, max_iter=60000, random_state=0).fit(Xb, yb)
        norm = np.sum(net.hidden_weights_**2) + np.sum(net.hidden_bias_**2) + np.sum(net.output_weights_**2)
        sup = np.max(np.abs(net.predict(grid) - boursier.predict(grid)))
        print(f"{scale:>10g} | {net.loss_curve_[-1]:>10.1e} | {norm:>9.4f}{'':>17} | {sup:>12.4f}")
    if plot_figure:
        _plotting.save_figure(_plot, "minimum_norm_1d.png", x, y, interp, limit, curves, blank_line=True)
    return limit


def _plot(plt, x, y, interp, limit, curves):
    grid = np.linspace(-1.5, 1.5, 301)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    ax.plot(grid, interp.predict(grid[:, None]), color="C0", label="least-norm interpolant")
    ax.scatter(x, y, color="k", zorder=3, s=18, label="data")
    inside = ~np.isin(interp.knots_, x)
    for c in interp.knots_[inside]:
        ax.axvline(c, color="C3", lw=0.8, ls=":")
    ax.plot([], [], color="C3", ls=":", label="kinks between data")
    ax.set_title("Penalised biases: kinks between the data")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(grid, limit.predict(grid[:, None]), color="k", lw=2.5, label="MinimumNormNetwork (limit)")
    for i, (n, curve) in enumerate(curves.items()):
        ax.plot(grid, curve, color=f"C{i}", lw=1, label=f"weight decay, width {n}")
    ax.scatter(x, y, color="k", s=14, zorder=3)
    ax.set_title("Weight decay at growing widths")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
