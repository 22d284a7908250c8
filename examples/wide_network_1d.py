"""Training both layers of very wide networks on one input: the sorted step.
=========================================================================

On 1-D inputs a ReLU network's values, its loss gradient and its Hessian-vector
products are prefix sums over the sorted data (``doc/shallow.md``, "One input:
the sorted step"), so a gradient-descent step costs ``O((m + n) log(m + n))``
instead of ``O(m n)``.  :class:`~sklearn_shallowrelu.ShallowReLURegressor`
chooses that step by itself on 1-D inputs; nothing changes in the call.

The script trains networks of width 1e3, 1e4 and 1e5 on 10 000 noisy points of
``sin(2 x)`` (full-batch GD, 300 steps at the ``'auto'`` step, which measures
the sharpness at the start by Lanczos on the sorted Hessian-vector products),
and prints per width the time of a step, the final training loss, the final
sharpness against the stability limit ``2 / eta`` and the number of knots
inside the data.  For the narrowest width it also times the dense ``O(m n)``
step it replaces, and checks that both give the same loss curve.

What to look for
----------------
* The time of a step grows far slower than the width (the dense step grows
  like it): 1e5 units on 1e4 points take milliseconds a step.
* The same loss curve from the dense step, to rounding.
* The sharpness stays below ``2 / eta``.

Run it with ``python examples/wide_network_1d.py``; it prints the table and,
when matplotlib is installed, saves ``wide_network_1d.png`` (the fits, the
data and the knots by :class:`~sklearn_shallowrelu.plotting.FunctionDisplay`,
the loss curve by :class:`~sklearn_shallowrelu.plotting.TrainingCurveDisplay`)
in the current working directory.
"""

import contextlib
import time

import _plotting
import numpy as np

from sklearn_shallowrelu import ShallowReLURegressor, _sorted1d

WIDTHS = (1_000, 10_000, 100_000)
M, STEPS = 10_000, 300


def fit(x, y, width, sorted_path=True):
    # off: the dense step, for comparison
    with contextlib.nullcontext() if sorted_path else _sorted1d.dense_only():
        est = ShallowReLURegressor(n_hidden=width, max_iter=STEPS, random_state=0)
        t0 = time.perf_counter()
        est.fit(x, y)
        return est, (time.perf_counter() - t0) / STEPS


def run():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (M, 1))
    y = np.sin(2 * x[:, 0]) + 0.2 * rng.standard_normal(M)
    rows, fits = [], {}
    for width in WIDTHS:
        est, per_step = fit(x, y, width)
        sharp = est.sharpness(x, y)
        knots = est.knots_[(est.knots_ > -2) & (est.knots_ < 2)]
        rows.append({"width": width, "ms_per_step": 1e3 * per_step, "loss": float(est.loss_curve_[-1]),
                     "sharpness": sharp, "limit": 2.0 / est.learning_rate_, "knots_inside": len(knots)})
        fits[width] = est
    dense, dense_step = fit(x, y, WIDTHS[0], sorted_path=False)
    same = float(np.max(np.abs(dense.loss_curve_ - fits[WIDTHS[0]].loss_curve_) / dense.loss_curve_))
    return rows, fits, x, y, 1e3 * dense_step, same


def table(rows, dense_ms, same):
    lines = [f"{'width':>8} {'ms/step':>8} {'loss':>9} {'sharpness':>10} {'2/eta':>8} {'knots in data':>13}"]
    for r in rows:
        lines.append(f"{r['width']:>8} {r['ms_per_step']:8.2f} {r['loss']:9.5f} {r['sharpness']:10.3f} "
                     f"{r['limit']:8.3f} {r['knots_inside']:>13}")
    lines.append(f"\nwidth {rows[0]['width']}: the dense O(m n) step takes {dense_ms:.2f} ms; the loss curves "
                 f"agree to {same:.1e} relative")
    return "\n".join(lines)


def plot(plt, fits, x, y):
    from sklearn_shallowrelu.plotting import FunctionDisplay, TrainingCurveDisplay

    widest = fits[WIDTHS[-1]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    # the widest fit with every 10th point and its knots, the narrower fits beside it
    FunctionDisplay.from_estimator(widest, x[::10], y[::10], ax=left)
    for width in WIDTHS[:-1]:
        left.plot(*_curve(fits[width]), lw=1, label=f"width {width}")
    left.legend(fontsize=8)
    left.set_title(f"width {WIDTHS[-1]}, {STEPS} GD steps on {M} points")
    TrainingCurveDisplay.from_estimator(widest, ax=right)
    right.set_title("its training loss")
    fig.tight_layout()
    return fig


def _curve(est):
    grid = np.linspace(-2, 2, 400)
    return grid, est.predict(grid[:, None])


def main(plot_figure=True):
    rows, fits, x, y, dense_ms, same = run()
    print(table(rows, dense_ms, same))
    if plot_figure:
        _plotting.save_figure(plot, "wide_network_1d.png", fits, x, y, blank_line=True)
    return rows


if __name__ == "__main__":
    main()
