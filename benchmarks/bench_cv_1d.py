"""Exact LOO over the ridge penalty of a wide 1-D network, against RidgeCV on its features.

``RandomFeatureReLURegressorCV(n_hidden=n)`` on 1-D inputs takes every ``alpha``
of its default grid (the data's own ladder, from the affine fit to near
interpolation) through the exact 1-D engine: one banded solve and one compiled
pass for the leverages per ``alpha``, ``O(m + n)``, never the ``m x n``
features.  The peer a user would pick instead is scikit-learn's
``RidgeCV(alphas=..., fit_intercept=True)`` (efficient LOO from one
decomposition of the data) on ``ReLURandomFeatures(n_components=n)``, the same
units (same ``init`` and ``random_state``), on the same grid; it is run where
its ``m x n`` features fit in memory (up to 2e3 x 2e4, 320 MB).

Printed: both times, their ratio, both chosen alphas and the LOO score of
each at its choice (RidgeCV's ``best_score_`` is minus the unweighted mean
squared LOO error, ours ``best_score_`` the same), then the exact path alone
at 1e4 x 1e5 and 1e5 x 1e6.

Run:  python benchmarks/bench_cv_1d.py [--quick]
"""

import argparse

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline

from _timing import best_of, print_load
from sklearn_shallowrelu import RandomFeatureReLURegressorCV, ReLURandomFeatures


def data(m, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, (m, 1))
    return X, np.sin(2 * X[:, 0]) + 0.3 * rng.standard_normal(m)


def main(quick=False):
    print_load("at start")
    print("ours: RandomFeatureReLURegressorCV(n_hidden=n) on 1-D x (exact engine, default grid); "
          "RidgeCV: the same units' features, the same grid\n")
    head = (f"{'m':>7} {'n':>8} | {'ours s':>8} {'RidgeCV s':>9} {'ours/RidgeCV':>12} | "
            f"{'alpha ours':>10} {'alpha RidgeCV':>13} | {'LOO ours':>9} {'LOO RidgeCV':>11} | {'grid':>4}")
    print(head)
    print("-" * len(head))
    sizes = [(500, 5_000), (2_000, 20_000)] if quick else [(500, 5_000), (2_000, 20_000), (10_000, 100_000),
                                                           (100_000, 1_000_000)]
    for m, n in sizes:
        X, y = data(m)
        t_ours, cv = best_of(lambda: RandomFeatureReLURegressorCV(n_hidden=n, random_state=0).fit(X, y),
                             3 if m <= 10_000 else 1)
        alphas = cv.cv_results_["param_alpha"]
        row = f"{m:>7} {n:>8} | {t_ours:8.3f} "
        if m * n <= 4e7:
            pipe = make_pipeline(ReLURandomFeatures(n_components=n, random_state=0),
                                 RidgeCV(alphas=alphas, fit_intercept=True))
            t_ref, pipe = best_of(lambda: pipe.fit(X, y), 1)
            ridge = pipe[-1]
            row += (f"{t_ref:9.3f} {t_ours / t_ref:12.3f} | {cv.alpha_:10.4g} {ridge.alpha_:13.4g} | "
                    f"{-cv.best_score_:9.5f} {-ridge.best_score_:11.5f} | {len(alphas):>4}")
        else:
            row += (f"{'-':>9} {'-':>12} | {cv.alpha_:10.4g} {'-':>13} | {-cv.best_score_:9.5f} {'-':>11} | "
                    f"{len(alphas):>4}")
        print(row)
    print_load("at end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the two sizes RidgeCV can take only")
    main(parser.parse_args().quick)
