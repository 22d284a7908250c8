"""Gradient descent on 1-D inputs: the O(m + n) prefix-sum operator against the dense design.

One descent step costs one ``matvec`` and one ``rmatvec``.  Part 1 times a step
of :class:`Design1D` and of :class:`Design` (explicit, or rebuilt in row
chunks when the ``m x n`` matrix exceeds ``working_memory``) in the same
process, with the agreement of the products and of a short GD fit.  Part 2 is
the sweep behind ``operator_1d_helps`` (where the operator starts to win),
part 3 measures the constant of ``spectral_beats_operator_1d`` (a step of the
operator in flops of dense linear algebra).

Run single-threaded for stable numbers::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_gd_1d.py
"""

import numpy as np
from _timing import best_of, print_load, timed  # this folder is on the path when a script in it runs

from sklearn_shallowrelu import RandomFeatureReLURegressor, random_features
from sklearn_shallowrelu._design import Design, fits_in_memory
from sklearn_shallowrelu._exact1d.operator import Design1D, operator_1d_helps
from sklearn_shallowrelu.datasets import make_curve

MAX_DENSE_ENTRIES = 1e9  # a chunked dense step beyond this takes tens of seconds


def problem(m, n, seed=0):
    rng = np.random.RandomState(seed)
    X, y = make_curve(m, noise=0.1, random_state=rng)  # sin(2x) + noise on [-2, 2]; the units come next
    y = y[:, None]
    W, b = rng.standard_normal((n, 1)), rng.standard_normal(n)
    return X, y, W, b, np.ones(m), rng.standard_normal((n, 1))


def step_time(design, v, budget=1.0):
    """Best time of one ``rmatvec(matvec(v))`` over at most 21 repeats filling about ``budget`` seconds."""
    return best_of(lambda: design.rmatvec(design.matvec(v)), 21, budget=budget)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def part1():
    print("1. One GD step (matvec + rmatvec), same process")
    print(f"{'m':>8} {'n':>8} {'dense':>9} {'kind':>9} {'1-D':>9} {'dense/1-D':>10} {'products rel. diff':>19}")
    for m, n in [(1_000, 10_000), (10_000, 100_000), (100_000, 1_000_000)]:
        X, y, W, b, sw, v = problem(m, n)
        setup, op = timed(lambda: Design1D(X, W, b, y, sw, True))
        t_op, out_op = step_time(op, v)
        if m * n <= MAX_DENSE_ENTRIES:
            dense = Design(X, W, b, y, sw, True)
            kind = "explicit" if dense.explicit else "chunked"
            t_d, out_d = step_time(dense, v, budget=0.5)
            print(f"{m:>8} {n:>8} {t_d * 1e3:>7.2f}ms {kind:>9} {t_op * 1e3:>7.2f}ms {t_d / t_op:>10.1f} "
                  f"{rel(out_op, out_d):>19.1e}   (1-D setup {setup * 1e3:.0f} ms)")
            del dense
        else:
            print(f"{m:>8} {n:>8} {'skipped':>9} {'':>9} {t_op * 1e3:>7.2f}ms {'':>10} {'':>19}"
                  f"   (1-D setup {setup * 1e3:.0f} ms; dense would hold {m * n * 8 / 2**30:.0f} GiB)")


def part1_fit():
    print("\n   Whole fits, solver='gd', algorithm='iterative', 100 steps (n_hidden=10000, 1000 samples):")
    X, y = make_curve(1000, noise=0.1, random_state=1)
    fits, times = {}, {}
    real = random_features.operator_1d_helps
    for name, on in (("1-D", True), ("dense", False)):
        random_features.operator_1d_helps = lambda m, n, on=on: on
        try:
            times[name], fits[name] = timed(lambda: RandomFeatureReLURegressor(
                n_hidden=10_000, solver="gd", algorithm="iterative", max_iter=100, random_state=0).fit(X, y))
        finally:
            random_features.operator_1d_helps = real
    a, d = fits["1-D"], fits["dense"]
    print(f"   fit time: 1-D {times['1-D']:.2f} s, dense {times['dense']:.2f} s (ratio {times['dense'] / times['1-D']:.1f}); "
          f"coef rel. diff {rel(a.coef_, d.coef_):.1e}, loss curve rel. diff "
          f"{rel(a.loss_curve_, d.loss_curve_):.1e}, learning_rate_ {a.learning_rate_:.6g} vs {d.learning_rate_:.6g}")


def part2():
    print("\n2. Where the operator wins (dense explicit vs 1-D; '*' = operator_1d_helps picks the 1-D operator)")
    print(f"{'m':>8} {'n':>8} {'dense':>10} {'1-D':>10} {'dense/1-D':>10}")
    for m, n in [(1_000, 100), (1_000, 300), (1_000, 500), (1_000, 1_000), (300, 3_000), (3_000, 300),
                 (3_000, 3_000), (100_000, 16), (100_000, 32), (100_000, 64), (100_000, 256), (30, 100_000),
                 (60, 100_000), (200, 100_000)]:
        X, y, W, b, sw, v = problem(m, n)
        if not fits_in_memory(m, n, np.float64):
            continue
        t_d, _ = step_time(Design(X, W, b, y, sw, True), v, budget=0.3)
        t_op, _ = step_time(Design1D(X, W, b, y, sw, True), v, budget=0.3)
        mark = "*" if operator_1d_helps(m, n) else ""
        print(f"{m:>8} {n:>8} {t_d * 1e3:>8.3f}ms {t_op * 1e3:>8.3f}ms {t_d / t_op:>10.2f} {mark}")


def part3():
    print("\n3. A step of the operator in dense flops (the constant of spectral_beats_operator_1d)")
    rng = np.random.RandomState(0)
    A = rng.standard_normal((2000, 1000))
    flop = timed(lambda: A.T @ A)[0] / (2000 * 1000 * 1000)
    for m, n in [(2_000, 20_000), (20_000, 200_000)]:
        X, y, W, b, sw, v = problem(m, n)
        t_op, _ = step_time(Design1D(X, W, b, y, sw, True), v, budget=0.5)
        print(f"   m={m}, n={n}: step {t_op * 1e3:.2f} ms = {t_op / flop / (m + n):.0f} (m + n) flops "
              f"(one flop of A^T A: {flop * 1e12:.0f} ps)")


if __name__ == "__main__":
    print_load("at start")
    part1()
    part1_fit()
    part2()
    part3()
    print_load("at end")
