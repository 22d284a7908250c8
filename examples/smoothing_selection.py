"""Choosing the smoothing: GCV, leave-one-out and a df target, per column.
=======================================================================

Two data sets:

- scipy's own test data for ``make_smoothing_spline``'s GCV: ``x = linspace(0,
  10, 10)`` and 24 random columns.  ``SmoothingSplineEquivalent(init=
  'uniform_knots', affine='free', alpha='gcv')`` is the classical cubic
  smoothing spline (a constant curvature weight), and it chooses one ``alpha``
  per column by default, as scipy does.  Both minimise the same GCV criterion;
  the table compares the criterion at each one's choice (scipy's ``lam`` is read
  off its search and evaluated exactly by our estimator at the same ``lam``).
  Ours scans the whole range, from the affine fit to the interpolation limit,
  and refines every local minimum, so it is never worse; where scipy's bounded
  search on ``(0, n)`` misses a minimum, ours is lower.
- a noisy curve (300 points): GCV, exact leave-one-out and targets of 5, 10
  and 20 degrees of freedom (as R's ``smooth.spline(df=)``), with the test error
  of each choice.

Run it with ``python examples/smoothing_selection.py``; it prints the tables
and, when matplotlib is installed, saves ``smoothing_selection.png`` in the
current working directory.
"""

import time

import _plotting
import numpy as np
from _baselines import scipy_gcv

from sklearn_shallowrelu import SmoothingSplineEquivalent
from sklearn_shallowrelu.datasets import make_curve


def scipy_columns(x, Y, ours):
    """Per column: scipy's lam and the exact GCV at it, next to ours."""
    rows = []
    for j in range(Y.shape[1]):
        _, lam = scipy_gcv(x, Y[:, j])
        g = ours.alpha_[j] / ours.lam_scipy_[j]  # the constant curvature weight: alpha = g lam
        at_scipy = None
        if lam is not None:
            at_scipy = SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha=g * lam).fit(x, Y[:, j])
        rows.append({"column": j, "lam_ours": float(ours.lam_scipy_[j]), "gcv_ours": float(ours.gcv_score_[j]),
                     "df_ours": float(ours.df_[j]), "lam_scipy": lam,
                     "gcv_scipy": None if at_scipy is None else float(at_scipy.gcv_score_),
                     "df_scipy": None if at_scipy is None else float(at_scipy.df_)})
    return rows


def main(plot_figure=True):
    x = np.linspace(0, 10, 10)
    Y = np.random.default_rng(4329872134985134).random((10, 24))
    t = time.perf_counter()
    ours = SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha="gcv").fit(x, Y)
    seconds = time.perf_counter() - t
    rows = scipy_columns(x, Y, ours)
    print(f"scipy's test data (10 points, 24 columns): one GCV choice per column ({seconds:.3f} s for all 24)")
    head = f"{'column':>6} | {'lam ours':>10} {'df':>6} {'GCV ours':>10} | {'lam scipy':>10} {'df':>6} {'GCV scipy':>10} | {'scipy/ours':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        if r["gcv_scipy"] is None:
            print(f"{r['column']:>6} | {r['lam_ours']:10.4g} {r['df_ours']:6.2f} {r['gcv_ours']:10.6g} | scipy's lam not exposed")
            continue
        print(f"{r['column']:>6} | {r['lam_ours']:10.4g} {r['df_ours']:6.2f} {r['gcv_ours']:10.6g} | "
              f"{r['lam_scipy']:10.4g} {r['df_scipy']:6.2f} {r['gcv_scipy']:10.6g} | {r['gcv_scipy'] / r['gcv_ours']:10.4f}")
    shared = SmoothingSplineEquivalent(init="uniform_knots", affine="free", alpha="gcv",
                                       alpha_per_target=False).fit(x, Y)
    print(f"one alpha for all columns (alpha_per_target=False): summed GCV {shared.gcv_score_:.6g} "
          f"against {np.sum(ours.gcv_score_):.6g} per column")

    X, y = make_curve(600, noise=0.3, random_state=0)
    X_tr, y_tr, X_te, y_te = X[::2], y[::2], X[1::2], y[1::2]
    fits = {}
    print(f"\nNoisy curve: {len(y_tr)} training and {len(y_te)} test points (noise variance 0.09)")
    head = f"{'choice':<16} {'alpha_':>10} {'df_':>8} {'GCV':>9} {'LOO':>9} {'test MSE':>9} {'time s':>7}"
    print(head)
    print("-" * len(head))
    for name, params in (("alpha='gcv'", {"alpha": "gcv"}), ("alpha='loo'", {"alpha": "loo"}),
                         ("df=5", {"df": 5.0}), ("df=10", {"df": 10.0}), ("df=20", {"df": 20.0})):
        t = time.perf_counter()
        est = SmoothingSplineEquivalent(**params).fit(X_tr, y_tr)
        seconds = time.perf_counter() - t
        mse = float(np.mean((est.predict(X_te) - y_te) ** 2))
        fits[name] = est
        print(f"{name:<16} {est.alpha_:10.4g} {est.df_:8.3f} {est.gcv_score_:9.5f} {est.loo_score_:9.5f} "
              f"{mse:9.5f} {seconds:7.3f}")

    if plot_figure:
        _plotting.save_figure(_plot, "smoothing_selection.png", ours, rows, X_tr, y_tr, fits, blank_line=True)
    return rows, fits


def _plot(plt, ours, rows, X_tr, y_tr, fits):
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.6), constrained_layout=True)
    for j, c in ((4, "C0"), (23, "C1")):
        g = ours.alpha_[j] / ours.lam_scipy_[j]
        ax.loglog(ours.cv_alphas_ / g, ours.cv_scores_[:, j], "o-", ms=2.5, color=c, label=f"column {j}: the ladder")
        ax.plot(ours.lam_scipy_[j], ours.gcv_score_[j], "*", ms=13, color=c, label=f"column {j}: ours")
        if rows[j]["gcv_scipy"] is not None:
            ax.plot(rows[j]["lam_scipy"], rows[j]["gcv_scipy"], "x", ms=10, mew=2, color=c,
                    label=f"column {j}: scipy")
    ax.set_xlabel("lam (scipy's units)")
    ax.set_ylabel("GCV")
    ax.set_title("scipy's test data: GCV over the whole range of lam")
    ax.legend(fontsize=7)
    grid = np.linspace(X_tr.min(), X_tr.max(), 600)[:, None]
    ax2.plot(X_tr[:, 0], y_tr, ".", color="0.6", ms=3, label="training data")
    for k, (name, est) in enumerate(fits.items()):
        ax2.plot(grid[:, 0], est.predict(grid), color=f"C{k}", lw=1.2, label=f"{name} (df {est.df_:.1f})")
    ax2.set_xlabel("x")
    ax2.set_title("noisy curve: GCV, leave-one-out and df targets")
    ax2.legend(fontsize=8)
    return fig


if __name__ == "__main__":
    main()
