"""SmoothingSplineEquivalent next to the usual spline baselines.
=============================================================

A noisy chirp (a sine whose frequency grows from left to right) with a
train/test split, fitted by

- ``scipy.interpolate.make_smoothing_spline(lam=None)``: cubic smoothing spline,
  ``lam`` by GCV (scipy searches it on the linear bracket ``(0, n_samples)``);
- csaps ``CubicSmoothingSpline(smooth=None)``: its automatic smoothing parameter
  ``p`` (a heuristic from the data, not a cross-validation), and with
  ``p = 1 / (1 + lam)`` for our GCV ``lam`` (the two conventions agree there);
  csaps is optional: without it these rows are skipped;
- ``SplineTransformer + RidgeCV``: a penalised regression spline with a fixed
  number of knots, ridge penalty on the B-spline coefficients by efficient LOO;
- ours, ``SmoothingSplineEquivalent(alpha='gcv')`` for two initialisations:
  ``'gaussian'`` (the limit of a Gaussian-initialised network with a free output
  bias: the penalty ``int f''^2 / g`` with the bell-shaped ``g`` of the Gaussian,
  stiffer away from 0) and ``RademacherUniform(bias_range=1)`` with
  ``affine='free'``, which is the classical cubic smoothing spline: its
  ``lam_scipy_`` is in scipy's units and can be set side by side with scipy's.

"Selected smoothing" is each method's own parameter: ``lam`` for the cubic
smoothing splines (scipy's convention ``sum w (y - f)^2 + lam int f''^2``, with
csaps' ``p`` converted by ``lam = (1 - p) / p``), the ridge ``alpha`` of RidgeCV,
and ``alpha_`` of our estimator (for RademacherUniform also ``lam_scipy_``,
which is ``alpha_ * 2 * bias_range``).  ``df`` is the trace of the smoother where
it is known.

Run it with ``python examples/spline_baselines.py``; it prints the table and,
when matplotlib is installed, saves ``spline_baselines.png`` in the current
working directory.
"""

import time

import _plotting
from _baselines import scipy_gcv
import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer

from sklearn_shallowrelu import SmoothingSplineEquivalent
from sklearn_shallowrelu.datasets import make_curve
from sklearn_shallowrelu.init import RademacherUniform

try:
    import csaps
except ImportError:  # optional dependency of this example
    csaps = None


def truth(x):
    return np.sin(2 * np.pi * (x + 1) ** 2)


def natural(spline, lo, hi):
    """Linear continuation outside [lo, hi] (scipy's BSpline continues the end cubics)."""
    d = spline.derivative()

    def f(x):
        out = spline(np.clip(x, lo, hi))
        return out + np.where(x < lo, d(lo) * (x - lo), 0.0) + np.where(x > hi, d(hi) * (x - hi), 0.0)
    return f


def main(plot_figure=True):
    X, y = make_curve(600, target=truth, x_range=(-1, 1), noise=0.3, random_state=0)
    x = X[:, 0]
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.5, random_state=0)
    order = np.argsort(x_tr)
    x_tr, y_tr = x_tr[order], y_tr[order]  # scipy and csaps want increasing x
    X_tr = x_tr[:, None]
    grid = np.linspace(-1, 1, 800)
    rows, curves = [], {}

    def add(name, predict, smoothing, df, seconds, note=""):
        p_te = predict(x_te)
        rows.append({"method": name, "smoothing": smoothing, "df": df, "seconds": seconds,
                     "test_mse": float(np.mean((p_te - y_te) ** 2)),
                     "mse_to_truth": float(np.mean((p_te - truth(x_te)) ** 2)), "note": note})
        curves[name] = predict(grid)

    t = time.perf_counter()
    ours_ru = SmoothingSplineEquivalent(init=RademacherUniform(bias_range=1.0), affine="free",
                                        alpha="gcv").fit(X_tr, y_tr)
    t_ru = time.perf_counter() - t
    t = time.perf_counter()
    ours_g = SmoothingSplineEquivalent(init="gaussian", alpha="gcv").fit(X_tr, y_tr)
    t_g = time.perf_counter() - t

    t = time.perf_counter()
    sp, lam_sp = scipy_gcv(x_tr, y_tr)
    t_sp = time.perf_counter() - t
    add("scipy make_smoothing_spline(lam=None)", natural(sp, x_tr[0], x_tr[-1]),
        f"lam = {lam_sp:.3g}" if lam_sp is not None else "lam = (not exposed)", "", t_sp)

    if csaps is None:
        rows.append({"method": "csaps", "note": "csaps is not installed: rows skipped (pip install csaps)"})
    else:
        t = time.perf_counter()
        cs = csaps.CubicSmoothingSpline(x_tr, y_tr, smooth=None)
        t_cs = time.perf_counter() - t
        p = float(cs.smooth)
        # p is within 1e-9 of 1 on dense data, so show 1 - p
        add("csaps CubicSmoothingSpline(smooth=None)", cs, f"p = 1 - {1 - p:.3g} (lam = {(1 - p) / p:.3g})", "", t_cs)
        p = 1.0 / (1.0 + ours_ru.lam_scipy_)
        t = time.perf_counter()
        cs = csaps.CubicSmoothingSpline(x_tr, y_tr, smooth=p)
        add("csaps, p = 1/(1 + our GCV lam)", cs, f"p = 1 - {1 - p:.3g}", "", time.perf_counter() - t)

    t = time.perf_counter()
    pipe = make_pipeline(SplineTransformer(n_knots=40, degree=3, extrapolation="linear"),
                         RidgeCV(alphas=np.logspace(-8, 3, 45))).fit(X_tr, y_tr)
    add("SplineTransformer(40 knots) + RidgeCV", lambda z: pipe.predict(z[:, None]),
        f"alpha = {pipe[-1].alpha_:.3g}", "", time.perf_counter() - t)

    add("ours, init='gaussian', alpha='gcv'", lambda z: ours_g.predict(z[:, None]),
        f"alpha_ = {ours_g.alpha_:.3g}", f"{ours_g.df_:.1f}", t_g)
    add("ours, RademacherUniform(1), affine='free', 'gcv'", lambda z: ours_ru.predict(z[:, None]),
        f"alpha_ = {ours_ru.alpha_:.3g} (lam = {ours_ru.lam_scipy_:.3g})", f"{ours_ru.df_:.1f}", t_ru)

    print(f"Noisy chirp sin(2 pi (x + 1)^2) + N(0, 0.3^2) on [-1, 1]: {len(x_tr)} training, {len(x_te)} test "
          f"points (test MSE floor = noise variance 0.09)")
    head = f"{'method':<50} {'selected smoothing':<34} {'df':>6} {'time s':>7} {'test MSE':>9} {'MSE to truth':>12}"
    print(head)
    print("-" * len(head))
    for r in rows:
        if "test_mse" not in r:
            print(f"{r['method']:<50} {r['note']}")
            continue
        print(f"{r['method']:<50} {r['smoothing']:<34} {r['df']:>6} {r['seconds']:7.3f} {r['test_mse']:9.4f} "
              f"{r['mse_to_truth']:12.4f}")
    if lam_sp is not None:
        print(f"scipy's GCV lam / ours (same criterion): {lam_sp / ours_ru.lam_scipy_:.3f}")

    if plot_figure:
        _plotting.save_figure(_plot, "spline_baselines.png", x_tr, y_tr, grid, curves, ours_ru, ours_g,
                              blank_line=True)
    return rows


def _plot(plt, x, y, grid, curves, ours_ru, ours_g):
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(14, 4.8), constrained_layout=True,
                                  gridspec_kw={"width_ratios": [2, 1]})
    ax.plot(x, y, ".", color="0.6", ms=3, label="training data")
    ax.plot(grid, truth(grid), "k-", lw=2, label="truth")
    styles = ["--", ":", "-.", "-", "--", "-"]
    for k, (name, curve) in enumerate(curves.items()):
        ax.plot(grid, curve, styles[k % len(styles)], color=f"C{k}", lw=1.2, label=name)
    ax.set_xlabel("x")
    ax.set_title("fits on the training data")
    ax.legend(fontsize=7, loc="lower left")
    for est, name, c in ((ours_ru, "RademacherUniform(1), free", "C5"), (ours_g, "gaussian", "C4")):
        ax2.loglog(est.cv_alphas_, est.cv_scores_, "o-", color=c, ms=3, label=f"ours, {name}")
        ax2.axvline(est.alpha_, color=c, lw=0.8)
    ax2.set_xlabel("alpha tried")
    ax2.set_ylabel("GCV score")
    ax2.set_title("our GCV search (every point an exact fit)")
    ax2.legend(fontsize=8)
    return fig


if __name__ == "__main__":
    main()
