"""Both layers trained on 1-D inputs: the sorted path against the dense step, MLPRegressor and JAX.

Full-batch gradient descent of a ReLU network of width ``n`` on ``m`` points
(``y = sin(2 x) + noise``, ``x`` uniform on (-2, 2)), from the same start, at
half the stability limit:

  ours    ``ShallowReLURegressor(solver='gd')``: on 1-D inputs it chooses the
          sorted path (``_sorted1d``: prefix sums over the sorted data,
          ``O((m + n) log(m + n))`` a step);
  dense   the same estimator with the sorted path switched off (the ``O(m n)``
          step it had before);
  MLP     scikit-learn's ``MLPRegressor`` doing full-batch GD (``solver='sgd'``,
          ``batch_size=m``, no momentum);
  JAX     a jitted ``lax.fori_loop`` of the plain gradient step on the CPU, in
          float64, when ``jax`` is installed (not a dependency).

The dense peers run where ``m n <= 1e8``.  Each time is per step, the best of
repeated fits of ``T`` steps.  The last column is the relative difference of
the final training loss of ours and of the dense path (the trajectories agree
to rounding).

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_shallow_1d.py [--quick]
"""

import argparse
import contextlib

import numpy as np
from _peers import SEED, jax_gd, mlp
from _timing import best_of, print_load

from sklearn_shallowrelu import ShallowReLURegressor, _sorted1d
SIZES = [(1_000, 1_000), (1_000, 10_000), (10_000, 1_000), (10_000, 10_000), (100_000, 100_000),
         (100_000, 1_000_000)]
QUICK = [(1_000, 1_000), (10_000, 10_000)]
DENSE_MAX = 1e8  # m n above this: the dense peers take minutes a step


def data(m):
    rng = np.random.default_rng(m)
    x = rng.uniform(-2, 2, (m, 1))
    return x, np.sin(2 * x[:, 0]) + 0.3 * rng.standard_normal(m)


def start(x, y, n):
    """The common start and the step: half the stability limit 2 / sharpness there."""
    p0 = ShallowReLURegressor(n_hidden=n, random_state=SEED).initialize(x, y)
    probe = ShallowReLURegressor(n_hidden=n, max_iter=1, learning_rate=1e-300, random_state=SEED)
    probe.fit(x, y, init_params=p0)
    return p0, 0.5 / probe.sharpness(x, y)


def ours(x, y, n, p0, eta, T, sorted_path):
    with contextlib.nullcontext() if sorted_path else _sorted1d.dense_only():
        est = ShallowReLURegressor(n_hidden=n, max_iter=T, learning_rate=eta, random_state=SEED)
        t, est = best_of(lambda: est.fit(x, y, init_params=p0), 3, budget=10.0)
    return t / T, est.loss_curve_[-1]


def main(quick=False):
    print_load("at start")
    print("ms per full-batch GD step, ReLU, one output; ratios = peer / ours\n")
    head = (f"{'m':>7} {'n':>8} | {'ours':>8} {'dense':>9} {'MLP':>9} {'JAX':>9} | {'dense/ours':>10} "
            f"{'MLP/ours':>9} {'JAX/ours':>9} | {'loss ours vs dense':>18}")
    print(head)
    print("-" * len(head))
    for m, n in (QUICK if quick else SIZES):
        x, y = data(m)
        p0, eta = start(x, y, n)
        T = 200 if m * n <= 1e7 else (50 if m * n <= 1e9 else 10)
        t_ours, loss_ours = ours(x, y, n, p0, eta, T, True)
        t_dense = t_mlp = t_jax = np.nan
        agree = np.nan
        if m * n <= DENSE_MAX:
            Td = max(3, min(T, int(2e9 // (m * n))))
            t_dense, loss_dense = ours(x, y, n, p0, eta, Td, False)
            _, loss_ours_d = ours(x, y, n, p0, eta, Td, True)
            agree = abs(loss_ours_d - loss_dense) / loss_dense
            t_mlp = mlp(x, y, n, p0, eta, Td)
            t_jax = jax_gd(x, y, n, p0, eta, Td)
            t_jax = np.nan if t_jax is None else t_jax
        print(f"{m:>7} {n:>8} | {1e3 * t_ours:8.3f} {1e3 * t_dense:9.2f} {1e3 * t_mlp:9.2f} {1e3 * t_jax:9.2f} | "
              f"{t_dense / t_ours:10.1f} {t_mlp / t_ours:9.1f} {t_jax / t_ours:9.1f} | {agree:18.1e}")
    print_load("at end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two sizes only")
    main(parser.parse_args().quick)
