"""SmoothingSplineEquivalent with its default affine='free_constant' (and 'penalized'):
the bordered chain against the general system, on the same data, in this process.

The infinite-width problem with a penalised or partly free affine part is solved
two ways, given the same pooled data and ``init=Gaussian()``:

  bordered  ``continuum.chain_moments`` + ``bordered.solve`` (+ ``to_solution``),
            4 unknowns per point and a border of one or two: what the estimator runs;
  general   ``continuum.gap_moments`` + ``general.solve``, 8 unknowns per point
            (band 7 + 7): what it ran before, and the finite-width fallback.

For m = 1e3 ... 1e6 random points in (-2, 2) and alpha = 1e-3 m: time of the
moments and of the solve, without and with the exact leverages (which GCV and
df_ need), the max |difference| of the fitted values and of the leverages, and
the estimator's whole fit with alpha='gcv'.  The general system's leverages are
skipped at 1e6 (about 8 KB per point).  Times are best of a few, one BLAS thread.

Run:  python benchmarks/bench_spline_affine.py [--quick]
"""

import argparse

import numpy as np
from _timing import best_of, print_load, timed  # this folder is on the path when a script in it runs

from sklearn_shallowrelu import SmoothingSplineEquivalent
from sklearn_shallowrelu._exact1d import bordered, continuum, general, network
from sklearn_shallowrelu.datasets import make_curve
from sklearn_shallowrelu.init import Gaussian


def run(m, affine, with_general_leverages, gcv):
    X, y = make_curve(m, target=lambda x: np.sin(3 * x), noise=0.3, random_state=0)
    x = X[:, 0]
    xs, Y, weights = network.pool_ties(x, y[:, None], np.ones(m))
    init, alpha = Gaussian(), 1e-3 * m
    repeat = 3 if m <= 100_000 else 1
    t_cm, cm = best_of(lambda: continuum.chain_moments(init, xs), repeat)
    t_gm, gm = best_of(lambda: continuum.gap_moments(init, xs), repeat)
    t_b, b = best_of(lambda: bordered.to_solution(xs, cm, bordered.solve(xs, Y, weights, cm, alpha, affine)), repeat)
    t_g, g = best_of(lambda: general.solve(xs, Y, weights, gm, alpha, affine), repeat)
    t_bl, bl = best_of(lambda: bordered.solve(xs, Y, weights, cm, alpha, affine, leverages=True), repeat)
    row = {"m": m, "affine": affine, "moments": (t_cm, t_gm), "solve": (t_b, t_g),
           "fit diff": float(np.max(np.abs(b.fitted - g.fitted)))}
    if with_general_leverages:
        t_gl, gl = best_of(lambda: general.solve(xs, Y, weights, gm, alpha, affine, leverages=True), repeat)
        row["leverages"] = (t_bl, t_gl)
        row["lev diff"] = float(np.max(np.abs(bl.leverages - gl.leverages)))
    else:
        row["leverages"] = (t_bl, None)
        row["lev diff"] = None
    if gcv:
        t_gcv, est = timed(lambda: SmoothingSplineEquivalent(init=init, alpha="gcv", affine=affine).fit(x, y))
        row["gcv"] = (t_gcv, est.df_)
    return row


def main(quick=False):
    print_load("at start")
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    print("| m | affine | moments bordered / general | solve bordered / general | speed-up | "
          "with leverages bordered / general | speed-up | max |fit diff| | max |lev diff| | GCV fit (df) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    speedups = []
    for m in sizes:
        for affine in ("free_constant", "penalized"):
            r = run(m, affine, with_general_leverages=m < 1_000_000, gcv=affine == "free_constant" and m <= 100_000)
            (tb, tg), (lb, lg) = r["solve"], r["leverages"]
            speedups.append(tg / tb)
            lev = f"{lb:.3f} s / {lg:.3f} s | {lg / lb:.1f}x" if lg else f"{lb:.3f} s / skipped | -"
            ld = f"{r['lev diff']:.1e}" if r["lev diff"] is not None else "-"
            g = f"{r['gcv'][0]:.2f} s ({r['gcv'][1]:.1f})" if "gcv" in r else "-"
            print(f"| {m:.0e} | {affine} | {r['moments'][0]:.3f} s / {r['moments'][1]:.3f} s | "
                  f"{tb:.4f} s / {tg:.4f} s | {tg / tb:.1f}x | {lev} | {r['fit diff']:.1e} | {ld} | {g} |",
                  flush=True)
    print_load("at end")
    print(f"SUMMARY spline affine: the bordered chain solves {min(speedups):.1f}x to {max(speedups):.1f}x "
          "faster than the general system, same fits")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
