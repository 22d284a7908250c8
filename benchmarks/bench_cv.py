"""Exact leave-one-out model selection against GridSearchCV(cv=LeaveOneOut()).

``RandomFeatureReLURegressorCV`` gets the leave-one-out (LOO) mean squared
error of every grid value from one eigendecomposition; the reference refits
``RandomFeatureReLURegressor`` once per left-out sample and grid value with
``GridSearchCV(..., cv=LeaveOneOut(), scoring='neg_mean_squared_error',
n_jobs=1)``.  Both use the same hidden units (same ``init`` and
``random_state``; the Gaussian init does not depend on the data, so every LOO
refit draws the same units).

* ridge: 30 ``alphas`` on a log grid.
* gd (gradient descent from zero, ``alpha=0``): the CV estimator scores every
  stopping time ``t = 1..T``; the grid search scores 30 distinct values of
  ``max_iter`` spread geometrically over ``1..T``, at a fixed numeric
  ``learning_rate`` equal to the CV estimator's ``learning_rate_`` (resolved
  on the full data and kept by the CV estimator for its LOO runs).  The LOO
  curves are compared on those 30 stopping times, and the selection is
  compared within them.

Printed per solver: the value each method selects, whether they agree, the max
relative difference ``max |mse - mse_ref| / mse_ref`` of the LOO MSE curves,
both wall times (ours: best of 3; the grid search: one run, as it takes far
longer and varies little relative to its length) and their ratio.

With ``--scale`` it instead times the sizes where the exact leave-one-out
must not form what grows with the problem (time and tracemalloc peak):

* 60 samples, ``n_hidden=10**7`` (ridge): the 60 x 60 kernel accumulated over
  blocks of units, never the 60 x 1e7 features nor the 1e7 x 1e7 Gram matrix;
* 60 samples, ``solver='gd'``, every stopping time up to ``max_iter=10**6``:
  the scores are summed in blocks of steps, never ``max_iter x m`` residuals;
* ``10**6`` samples on 41 distinct inputs (ridge and gd): tied inputs pooled
  into one row of the design.

Run::

    python benchmarks/bench_cv.py            # full sizes, a few minutes on 2 cores
    python benchmarks/bench_cv.py --quick    # reduced sizes, a few seconds
    python benchmarks/bench_cv.py --scale    # about a minute (--scale --quick: seconds)
"""

import argparse

import numpy as np
import sklearn
from _timing import best_of, print_load, timed, traced_peak  # this folder is on the path when a script in it runs
from sklearn.model_selection import GridSearchCV, LeaveOneOut

from sklearn_shallowrelu import RandomFeatureReLURegressor, RandomFeatureReLURegressorCV
from sklearn_shallowrelu.datasets import make_curve

SEED = 0
N_GRID = 30


def step_like(x):
    """The target: a noisy step-like curve, small enough for m x grid refits.

    A target that gradient descent learns early and then overfits puts the
    best stopping time inside 1..T for a T the exact recursion handles in
    about a second (smooth sines at this noise level want tens of thousands
    of steps, leaving the optimum on the grid's edge).
    """
    return np.tanh(2.0 * x)


def stopping_grid(T, k=N_GRID):
    """``k`` distinct stopping times, geometric over 1..T.

    Rounding ``geomspace`` collapses the small values (1, 1, 1, 2, ...), so each
    value is pushed to at least one past the previous to keep ``k`` of them.
    """
    ts = []
    for g in np.geomspace(1, T, k):
        ts.append(max(int(round(g)), ts[-1] + 1 if ts else 1))
    if ts[-1] > T:
        raise ValueError(f"T={T} is too small for {k} distinct stopping times.")
    return np.asarray(ts)


def grid_search(estimator, param, values, X, y):
    gs = GridSearchCV(estimator, {param: list(values)}, cv=LeaveOneOut(),
                      scoring="neg_mean_squared_error", n_jobs=1)
    elapsed, _ = timed(lambda: gs.fit(X, y))
    # Read the curve in our grid order rather than trusting cv_results_ ordering.
    order = {float(v): i for i, v in enumerate(gs.cv_results_[f"param_{param}"])}
    mse = np.array([-gs.cv_results_["mean_test_score"][order[float(v)]] for v in values])
    return gs, mse, elapsed


def max_rel(a, ref):
    return float(np.max(np.abs(a - ref) / np.abs(ref)))


def bench_ridge(X, y, n_hidden, alphas, repeats):
    t_ours, cv = best_of(lambda: RandomFeatureReLURegressorCV(
        alphas=alphas, solver="ridge", n_hidden=n_hidden, random_state=SEED).fit(X, y), repeats)
    mse_ours = cv.cv_results_["mean_squared_error"]
    gs, mse_gs, t_gs = grid_search(
        RandomFeatureReLURegressor(solver="ridge", n_hidden=n_hidden, random_state=SEED),
        "alpha", alphas, X, y)
    a_gs = float(gs.best_params_["alpha"])
    return {
        "label": f"ridge ({len(alphas)} alphas)",
        "ours": f"alpha={cv.alpha_:.3g}",
        "gs": f"alpha={a_gs:.3g}",
        "agree": np.isclose(cv.alpha_, a_gs, rtol=1e-12),
        "diff": max_rel(mse_ours, mse_gs),
        "t_ours": t_ours, "t_gs": t_gs,
        "best_mse": (float(np.min(mse_ours)), float(np.min(mse_gs))),
        "note": f"alpha grid [{alphas[0]:.1e}, {alphas[-1]:.1e}]; selected index {int(np.argmin(mse_ours))} of {len(alphas)}",
    }


def bench_gd(X, y, n_hidden, T, repeats):
    t_ours, cv = best_of(lambda: RandomFeatureReLURegressorCV(
        solver="gd", max_iter=T, n_hidden=n_hidden, random_state=SEED).fit(X, y), repeats)
    res = cv.cv_results_
    mse_all = res["mean_squared_error"][np.argsort(res["param_n_iter"], kind="stable")]
    ts = stopping_grid(T)
    mse_ours = mse_all[ts - 1]
    t_ours_grid = int(ts[np.argmin(mse_ours)])
    gs, mse_gs, t_gs = grid_search(
        RandomFeatureReLURegressor(solver="gd", learning_rate=cv.learning_rate_,
                                   n_hidden=n_hidden, random_state=SEED),
        "max_iter", ts, X, y)
    t_sel_gs = int(gs.best_params_["max_iter"])
    return {
        "label": f"gd ({len(ts)} of T={T} steps)",
        "ours": f"t={t_ours_grid}",
        "gs": f"t={t_sel_gs}",
        "agree": t_ours_grid == t_sel_gs,
        "diff": max_rel(mse_ours, mse_gs),
        "t_ours": t_ours, "t_gs": t_gs,
        "best_mse": (float(np.min(mse_ours)), float(np.min(mse_gs))),
        "note": (f"learning_rate_={cv.learning_rate_:.4g}; over all t=1..{T} ours selects "
                 f"n_iter_={cv.n_iter_} (LOO MSE {-cv.best_score_:.5g}); grid {ts[:6].tolist()}...{ts[-3:].tolist()}"),
    }


def scale(quick):
    rng = np.random.RandomState(SEED)
    X, y = make_curve(60, noise=0.1, sort=True, random_state=rng)  # sin(2x) + noise on [-2, 2]
    wide, T, m_tied = (10**5, 10**4, 10**4) if quick else (10**7, 10**6, 10**6)
    Xt = np.round(rng.uniform(-2, 2, (m_tied, 1)) * 10) / 10
    yt = np.sin(2 * Xt[:, 0]) + 0.1 * rng.standard_normal(m_tied)
    cases = [
        (f"ridge, m=60, n_hidden={wide:.0e}", lambda: RandomFeatureReLURegressorCV(
            n_hidden=wide, random_state=SEED).fit(X, y)),
        (f"gd, m=60, every t <= {T:.0e}", lambda: RandomFeatureReLURegressorCV(
            solver="gd", max_iter=T, random_state=SEED).fit(X, y)),
        (f"ridge, m={m_tied:.0e} on 41 inputs", lambda: RandomFeatureReLURegressorCV(
            random_state=SEED).fit(Xt, yt)),
        (f"gd T=1000, m={m_tied:.0e} on 41 inputs", lambda: RandomFeatureReLURegressorCV(
            solver="gd", random_state=SEED).fit(Xt, yt)),
    ]
    print_load("at start")
    head = f"{'':<34}{'selected':>16}{'LOO MSE':>12}{'time [s]':>10}{'peak [MiB]':>12}"
    print(head)
    print("-" * len(head))
    for label, fit in cases:
        peak, (elapsed, cv) = traced_peak(lambda: timed(fit))
        sel = f"alpha={cv.alpha_:.3g}" if cv.n_iter_ is None else f"t={cv.n_iter_}"
        print(f"{label:<34}{sel:>16}{-cv.best_score_:>12.5g}{elapsed:>10.2f}{peak / 2**20:>12.1f}")
    print_load("at end")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes for a smoke test")
    parser.add_argument("--scale", action="store_true", help="the large sizes (no grid search)")
    args = parser.parse_args()
    if args.scale:
        scale(args.quick)
        return
    m, n_hidden, T, repeats = (30, 100, 200, 1) if args.quick else (120, 300, 2000, 3)
    X, y = make_curve(m, target=step_like, noise=0.3, random_state=SEED)
    alphas = np.logspace(-5, 2, N_GRID)

    print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}"
          f"{'  [--quick: reduced sizes]' if args.quick else ''}")
    # Other jobs on a 2-core machine distort BLAS timings badly; make that visible.
    print_load("at start")
    print(f"data: m={m} samples, d=1, n_hidden={n_hidden}, init='gaussian'; "
          f"GridSearchCV: LeaveOneOut, n_jobs=1, {N_GRID} x {m} refits + 1")
    rows = [bench_ridge(X, y, n_hidden, alphas, repeats), bench_gd(X, y, n_hidden, T, repeats)]

    head = (f"{'':<26}{'CV estimator':>16}{'GridSearchCV':>16}{'agree':>7}"
            f"{'LOO-MSE rel diff':>18}{'ours [s]':>10}{'GS [s]':>9}{'GS/ours':>9}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['label']:<26}{r['ours']:>16}{r['gs']:>16}{'yes' if r['agree'] else 'NO':>7}"
              f"{r['diff']:>18.2e}{r['t_ours']:>10.3f}{r['t_gs']:>9.1f}{r['t_gs'] / r['t_ours']:>9.0f}")
    for r in rows:
        print(f"  {r['label']}: best LOO MSE ours {r['best_mse'][0]:.6g} / GS {r['best_mse'][1]:.6g}; {r['note']}")
    print_load("at end")
    print("SUMMARY cv: GridSearchCV(LOO)/ours time "
          + ", ".join(f"{r['label'].split()[0]} {r['t_gs'] / r['t_ours']:.0f}x" for r in rows)
          + "; LOO-MSE max rel diff "
          + ", ".join(f"{r['label'].split()[0]} {r['diff']:.1e}" for r in rows)
          + "; selections agree: " + ", ".join(f"{r['label'].split()[0]} {'yes' if r['agree'] else 'NO'}" for r in rows))


if __name__ == "__main__":
    main()
