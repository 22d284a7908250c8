"""The exact 1-D ridge solver (banded KKT system over the gaps) against references.

(a) 2e3 samples x 2e4 random ReLU features, evenly spaced and random uniform
    inputs: ``RandomFeatureReLURegressor(n_hidden, alpha, random_state=0)``
    (which picks ``algorithm_ == 'knots'`` by itself for 1-D ridge) against
    scikit-learn's ``Ridge`` on the explicit ``ReLURandomFeatures`` of the same
    seed (feature construction included in its time).  Same predictions on a
    grid; goal >= 100x faster.
(b) 1e5 random inputs x 1e6 features: the estimator's fit (which includes
    drawing the units and checking its accuracy certificate), and the same steps
    one by one: gap moments, banded solve, jumps, the certificate (the network
    rebuilt from its jumps evaluated at the data, against the fitted values of
    the banded solution: ``max |network - fitted| / max |fitted|``; the
    estimator accepts the knots result below 1e-8) and prediction at 1e5 new
    points.  Reference: ``numpy.sort`` of the knots plus ``numpy.sort`` of the
    inputs, on the same arrays.  Goals: under 2 s on one core, within 10x of sort.

Times are the best of a few runs, in this process, on one BLAS thread (set
``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1`` before starting Python).

Run:  python benchmarks/bench_knots.py [--quick]
"""

import argparse
import os
import time

import numpy as np
from sklearn.linear_model import Ridge

from sklearn_shallowrelu import RandomFeatureReLURegressor, ReLURandomFeatures, _knots


def best_of(f, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def data(m, kind, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-2, 2, m) if kind == "random" else np.linspace(-2, 2, m)
    return x[:, None], np.sin(3 * x) + 0.1 * rng.standard_normal(m)


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
    t = {}
    t0 = time.perf_counter()
    rf = ReLURandomFeatures(n, random_state=0).fit(X)
    w, b = rf.weights_[:, 0], rf.bias_
    has = w != 0
    knots, q, right = -b[has] / w[has], w[has] ** 2 / n, w[has] > 0
    t["draw units"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    xs, Y, W = _knots.pool_ties(X[:, 0], y[:, None], np.ones(len(y)))
    t["sort/pool data"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mom = _knots.knot_moments(xs, knots, q, right)
    t["moments"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = _knots.solve(xs, Y, W, mom, alpha, "free_constant")
    t["solve"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    coef = np.zeros((n, 1))
    coef[has] = _knots.knot_jumps(sol, knots, q, right) * np.sqrt(n) / np.abs(w[has])[:, None]
    t["jumps"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    net = _knots.PiecewiseLinear(w, b, coef, 1.0 / np.sqrt(n), sol.intercept)
    cert = rel_diff(net(xs), sol.fitted)
    t["certificate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    net(X_new[:, 0])
    t["predict m new"] = time.perf_counter() - t0
    return t, cert, knots


def bench_large(m, n, alpha):
    X, y = data(m, "random", seed=1)
    X_new = np.random.RandomState(2).uniform(-2.5, 2.5, (m, 1))
    t_fit, est = best_of(lambda: RandomFeatureReLURegressor(n_hidden=n, alpha=alpha, random_state=0).fit(X, y))
    t_pred, _ = best_of(lambda: est.predict(X_new))
    split, cert, knots = None, None, None
    for _ in range(3):
        t, cert, knots = steps(X, y, n, alpha, X_new)
        split = t if split is None else {k: min(split[k], v) for k, v in t.items()}
    t_sort, _ = best_of(lambda: (np.sort(knots), np.sort(X[:, 0])), repeat=5)
    t_sort_knots, _ = best_of(lambda: np.sort(knots), repeat=5)
    t_argsort, _ = best_of(lambda: np.argsort(knots, kind="stable"), repeat=3)
    print(f"(b) random inputs, m={m}, n={n}, alpha={alpha:g}: RandomFeatureReLURegressor.fit "
          f"{t_fit:.3f} s (algorithm_={est.algorithm_!r}) | predict {m} new points {t_pred:.3f} s")
    print(f"    numpy.sort(knots) + numpy.sort(x) {t_sort:.4f} s (knots alone {t_sort_knots:.4f} s; "
          f"argsort(knots, kind='stable') {t_argsort:.4f} s) | fit / sort {t_fit / t_sort:.0f}x")
    total = sum(split.values())
    print("    time split of the same steps (best of 3 each):")
    for k, v in split.items():
        print(f"      {k:<16} {v:7.3f} s  {100 * v / total:5.1f} %")
    print(f"      {'sum':<16} {total:7.3f} s")
    print(f"    accuracy certificate max|network(x_i) - fitted_i| / max|fitted| = {cert:.1e} (accepted below 1e-8)")
    return t_fit, t_sort, cert, est.algorithm_


def main(quick=False):
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"(1/5/15 min) on {os.cpu_count()} cores; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    m, n = (500, 5000) if quick else (2000, 20000)
    small = {kind: bench_small(m, n, 1e-3, kind) for kind in ("evenly spaced", "random")}
    m, n = (10_000, 100_000) if quick else (100_000, 1_000_000)
    t_fit, t_sort, cert, algo = bench_large(m, n, 1e-3)
    speedups = ", ".join(f"{k} {v[0]:.0f}x (diff {v[1]:.0e}, {v[2]})" for k, v in small.items())
    print(f"SUMMARY knots: (a) vs Ridge on explicit features: {speedups}; "
          f"(b) fit {t_fit:.2f} s at {m}x{n} ({algo}), {t_fit / t_sort:.0f}x numpy.sort, certificate {cert:.0e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
