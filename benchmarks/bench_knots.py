"""The exact 1-D ridge solver (banded KKT system over the gaps) against references.

(a) 2e3 samples x 2e4 random ReLU features, evenly spaced and random uniform
    inputs: ``RandomFeatureReLURegressor(n_hidden, alpha, random_state=0)``
    (which picks ``algorithm_ == 'knots'`` by itself for 1-D ridge) against
    scikit-learn's ``Ridge`` on the explicit ``ReLURandomFeatures`` of the same
    seed (feature construction included in its time).  Same predictions on a
    grid; goal >= 100x faster.
(b) 1e5 random inputs x 1e6 features: the estimator's fit (which includes
    drawing the units, 1e6 normal pairs), and the exact solver alone step by
    step: sorting and pooling the data, sorting the knots, the block moments,
    the bordered banded solve, the jumps, and the certificate (the network
    rebuilt from its jumps evaluated at the data, against the fitted values of
    the solve: ``max |network - fitted| / max |fitted|``; the estimator accepts
    the result below 1e-8); then prediction at 1e5 new points.  Reference:
    ``numpy.sort`` of the knots plus ``numpy.sort`` of the inputs, on the same
    arrays.  Goals: under 2 s on one core, the solver within 10x of sort.  The
    general 8-unknown system, the fallback when the certificate fails, is timed
    beside it.

Times are the best of a few runs, in this process, on one BLAS thread (set
``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1`` before starting Python).

Run:  python benchmarks/bench_knots.py [--quick]
"""

import argparse

import numpy as np
from _timing import Laps, best_of, print_load, timed  # this folder is on the path when a script in it runs
from sklearn.linear_model import Ridge

from sklearn_shallowrelu import RandomFeatureReLURegressor, ReLURandomFeatures
from sklearn_shallowrelu._exact1d import bordered, general, moments, network
from sklearn_shallowrelu.datasets import make_curve


def sin3(x):
    return np.sin(3 * x)


def data(m, kind, seed=0):
    """``sin(3x)`` plus noise on [-2, 2], at ``m`` random (``kind='random'``) or evenly spaced inputs."""
    return make_curve(m, target=sin3, noise=0.1, sampling="uniform" if kind == "random" else "grid",
                      random_state=seed)


def rel_diff(p, ref):
    return float(np.max(np.abs(p - ref)) / np.max(np.abs(ref)))


def bench_small(m, n, alpha, kind):
    X, y = data(m, kind)
    grid = np.linspace(-2.2, 2.2, 500)[:, None]  # also outside the data: the affine tails must agree
    t_ours, ours = best_of(lambda: RandomFeatureReLURegressor(n_hidden=n, alpha=alpha, random_state=0).fit(X, y))

    def dense():
        rf = ReLURandomFeatures(n, random_state=0).fit(X)
        return rf, Ridge(alpha=alpha).fit(rf.transform(X), y)

    t_ref, (rf, ridge) = best_of(dense, repeat=2)
    diff = rel_diff(ours.predict(grid), ridge.predict(rf.transform(grid)))
    same_units = np.array_equal(rf.weights_, ours.hidden_weights_) and np.array_equal(rf.bias_, ours.hidden_bias_)
    print(f"(a) {kind:>13} inputs, m={m}, n={n}, alpha={alpha:g}: algorithm_={ours.algorithm_!r} "
          f"{t_ours:.4f} s | ReLURandomFeatures + Ridge {t_ref:.3f} s | speed-up {t_ref / t_ours:.0f}x | "
          f"max rel. prediction difference {diff:.1e} (same units: {same_units})")
    return t_ref / t_ours, diff, ours.algorithm_


def steps(X, y, n, alpha, X_new):
    """The steps of the estimator's knots path, timed one by one (same units as random_state=0)."""
    rf = ReLURandomFeatures(n, random_state=0).fit(X)
    w, b = rf.weights_[:, 0], rf.bias_
    laps = Laps()
    xs, Y, weights = network.pool_ties(X[:, 0], y[:, None], np.ones(len(y)))
    laps.lap("sort/pool data")
    order, knots = network.sort_order(-b / w)
    ws = w[order]
    q, right = ws * ws / n, ws > 0
    laps.lap("sort knots")
    blk = moments.Blocks(xs, knots, q, right)
    laps.lap("block moments")
    sol = bordered.solve(xs, Y, weights, blk, alpha, "free_constant")
    laps.lap("bordered solve")
    jumps = bordered.jumps(blk, sol)
    coef = np.zeros((n, 1))
    coef[order] = jumps * (np.sqrt(n) / np.abs(ws))[:, None]
    laps.lap("jumps")
    cert = rel_diff(bordered.network_at_data(blk, jumps, sol.intercept), sol.fitted)
    laps.lap("certificate")
    net = network.PiecewiseLinear(w, b, coef, 1.0 / np.sqrt(n), sol.intercept)
    net(X_new[:, 0])
    laps.lap("predict m new")
    mom = moments.knot_moments(xs, knots, q, right, blk.block - 1)
    via_general = general.solve(xs, Y, weights, mom, alpha, "free_constant")
    laps.lap("moments + solve")
    t_general = {"moments + solve": laps.times.pop("moments + solve")}
    agree = rel_diff(sol.fitted, via_general.fitted)
    return laps.times, cert, -b / w, t_general, agree


def bench_large(m, n, alpha):
    X, y = data(m, "random", seed=1)
    X_new = np.random.RandomState(2).uniform(-2.5, 2.5, (m, 1))
    t_fit, est = best_of(lambda: RandomFeatureReLURegressor(n_hidden=n, alpha=alpha, random_state=0).fit(X, y))
    t_pred = np.inf  # the first prediction after a fit (which forms the prefix sums of the sorted knots)
    for _ in range(3):
        est = RandomFeatureReLURegressor(n_hidden=n, alpha=alpha, random_state=0).fit(X, y)
        t_pred = min(t_pred, timed(lambda: est.predict(X_new))[0])
    t_again, _ = best_of(lambda: est.predict(X_new))
    t_draw, _ = best_of(lambda: ReLURandomFeatures(n, random_state=0).fit(X))
    split, cert, knots, general, agree = None, None, None, None, None
    for _ in range(3):
        t, cert, knots, tg, agree = steps(X, y, n, alpha, X_new)
        split = t if split is None else {k: min(split[k], v) for k, v in t.items()}
        general = tg if general is None else {k: min(general[k], v) for k, v in tg.items()}
    t_sort, _ = best_of(lambda: (np.sort(knots), np.sort(X[:, 0])), repeat=5)
    t_sort_knots, _ = best_of(lambda: np.sort(knots), repeat=5)
    t_argsort, _ = best_of(lambda: np.argsort(knots), repeat=3)
    solver = sum(v for k, v in split.items() if k != "predict m new")
    print(f"(b) random inputs, m={m}, n={n}, alpha={alpha:g}: RandomFeatureReLURegressor.fit "
          f"{t_fit:.3f} s (algorithm_={est.algorithm_!r}; drawing the units alone {t_draw:.3f} s) | "
          f"predict {m} new points {t_pred:.3f} s (first call after fit; again {t_again:.3f} s)")
    print(f"    numpy.sort(knots) + numpy.sort(x) {t_sort:.4f} s (knots alone {t_sort_knots:.4f} s; "
          f"numpy.argsort(knots) {t_argsort:.4f} s)")
    print(f"    the exact solver alone (data sort to certificate) {solver:.3f} s = {solver / t_sort:.1f}x sort; "
          f"fit / sort {t_fit / t_sort:.1f}x")
    total = sum(split.values())
    print("    time split of the same steps (best of 3 each):")
    for k, v in split.items():
        print(f"      {k:<16} {v:7.3f} s  {100 * v / total:5.1f} %")
    print(f"      {'sum':<16} {total:7.3f} s")
    print(f"    the general 8-unknown system (moments + solve, the fallback) {general['moments + solve']:.3f} s; "
          f"its fitted values differ from the bordered chain's by {agree:.1e} relative")
    print(f"    accuracy certificate max|network(x_i) - fitted_i| / max|fitted| = {cert:.1e} (accepted below 1e-8)")
    return t_fit, solver, t_sort, cert, est.algorithm_


def main(quick=False):
    print_load("at start")
    m, n = (500, 5000) if quick else (2000, 20000)
    small = {kind: bench_small(m, n, 1e-3, kind) for kind in ("evenly spaced", "random")}
    m, n = (10_000, 100_000) if quick else (100_000, 1_000_000)
    t_fit, t_solver, t_sort, cert, algo = bench_large(m, n, 1e-3)
    print_load("at end")
    speedups = ", ".join(f"{k} {v[0]:.0f}x (diff {v[1]:.0e}, {v[2]})" for k, v in small.items())
    print(f"SUMMARY knots: (a) vs Ridge on explicit features: {speedups}; "
          f"(b) fit {t_fit:.2f} s at {m}x{n} ({algo}); solver alone {t_solver:.3f} s = {t_solver / t_sort:.1f}x "
          f"numpy.sort (goal 10x), certificate {cert:.0e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
