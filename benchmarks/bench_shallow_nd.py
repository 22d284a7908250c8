"""Both layers trained on several inputs: time per full-batch GD step against MLPRegressor and JAX.

Issue 15's grid: input dimension ``d`` in {2, 10, 100}, width ``n`` from 64 to
8192, samples ``m`` from 1e3 to 1e5, float64 and float32.  A ReLU network of
width ``n`` on ``m`` points (``y = sin(2 x_1) + x_d + noise``, ``x`` uniform on
the cube) runs full-batch gradient descent from the same start at half the
stability limit:

  ours    ``ShallowReLURegressor(solver='gd')`` (inputs in the dtype of the row);
  MLP     scikit-learn's ``MLPRegressor`` doing full-batch GD (``solver='sgd'``,
          ``batch_size=m``, no momentum), in the same dtype;
  JAX     a jitted ``lax.fori_loop`` of the plain gradient step on the CPU, in the
          same dtype, when ``jax`` is installed (not a dependency).

Each time is per step, the best of ``ROUNDS`` fits of ``T`` steps (``T`` shrinks
as ``m n`` grows); the three fit in turn, round after round, so that a slow
moment of a shared machine does not fall on one of them only.  Ratios above 1
mean ours is faster.  Sizes with ``m n > 2e8`` are left out (minutes per
configuration for the peers).

Threads: every peer runs with the threads it has by default (JAX's own pool;
OpenBLAS's for ours and MLPRegressor), as a user would run it; the BLAS threads
are printed.  To compare on one core, pin the whole process, which binds all of
them alike:  ``taskset -c 0 python benchmarks/bench_shallow_nd.py``.  Run on an
idle machine: the load average is printed at the start and the end (the end's includes
the benchmark's own threads: about 2 on 2 CPUs).

Run:  python benchmarks/bench_shallow_nd.py [--quick] [--dims 2 10] [--shapes 10000,64,2 ...] [--rounds 5]
"""

import argparse
import os

import numpy as np
from _peers import SEED, jax_runner, mlp_runner
from _timing import print_load, timed
from threadpoolctl import threadpool_info

from sklearn_shallowrelu import ShallowReLURegressor

DIMS = (2, 10, 100)
WIDTHS = (64, 512, 4096, 8192)
SAMPLES = (1_000, 10_000, 100_000)
QUICK = [(1_000, 64, 2), (1_000, 1_000, 10), (10_000, 256, 10)]
MAX_PRODUCT = 2e8
ROUNDS = 3


def data(m, d, dtype):
    rng = np.random.default_rng(m + d)
    X = rng.uniform(-1, 1, (m, d))
    y = np.sin(2 * X[:, 0]) + X[:, -1] + 0.1 * rng.standard_normal(m)
    return X.astype(dtype), y.astype(dtype)


def start(X, y, n):
    """The common start (float64) and the step: half the stability limit at the start."""
    X64, y64 = X.astype(np.float64), y.astype(np.float64)
    p0 = ShallowReLURegressor(n_hidden=n, random_state=SEED).initialize(X64, y64)
    probe = ShallowReLURegressor(n_hidden=n, max_iter=1, learning_rate=1e-300, random_state=SEED)
    probe.fit(X64, y64, init_params=p0)
    return p0, 0.5 / probe.sharpness(X64, y64)


def ours_runner(X, y, n, p0, eta, T):
    est = ShallowReLURegressor(n_hidden=n, max_iter=T, learning_rate=eta, random_state=SEED)
    return lambda: est.fit(X, y, init_params=p0)


def per_step(runners, T, rounds=ROUNDS):
    """Seconds per step of each runner (None: not installed), the best of ``rounds``
    rounds in which each runs once, in turn."""
    best = {name: np.inf for name, run in runners.items() if run is not None}
    for _ in range(rounds):
        for name in best:
            best[name] = min(best[name], timed(runners[name], collect=True)[0] / T)
    return {name: best.get(name, np.nan) for name in runners}


def print_threads():
    blas = sorted({(lib["internal_api"], lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "blas"})
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"CPUs this process may use: {cpus}; BLAS threads: "
          + ", ".join(f"{api} {threads}" for api, threads in blas))


def grid(quick, dims, shapes=None):
    if shapes:
        return shapes
    if quick:
        return [(m, n, d) for m, n, d in QUICK if d in dims]
    return [(m, n, d) for d in dims for m in SAMPLES for n in WIDTHS if m * n <= MAX_PRODUCT]


def main(quick=False, dims=DIMS, shapes=None, rounds=ROUNDS):
    print_load("at start")
    print_threads()
    print("ms per full-batch GD step, ReLU, one output; ratios = peer / ours (above 1: ours is faster)\n")
    head = (f"{'m':>7} {'n':>6} {'d':>4} {'dtype':>7} | {'ours':>9} {'MLP':>9} {'JAX':>9} | "
            f"{'MLP/ours':>8} {'JAX/ours':>8}")
    print(head)
    print("-" * len(head))
    worst = {}
    for m, n, d in grid(quick, dims, shapes):
        for dtype in (np.float64, np.float32):
            X, y = data(m, d, dtype)
            p0, eta = start(X, y, n)
            T = 100 if m * n <= 1e6 else (20 if m * n <= 2e7 else 5)
            t = per_step({"ours": ours_runner(X, y, n, p0, eta, T), "mlp": mlp_runner(X, y, n, p0, eta, T),
                          "jax": jax_runner(X, y, n, p0, eta, T)}, T, rounds)
            t_ours, t_mlp, t_jax = t["ours"], t["mlp"], t["jax"]
            name = np.dtype(dtype).name
            print(f"{m:>7} {n:>6} {d:>4} {name:>7} | {1e3 * t_ours:9.3f} {1e3 * t_mlp:9.3f} {1e3 * t_jax:9.3f} | "
                  f"{t_mlp / t_ours:8.2f} {t_jax / t_ours:8.2f}", flush=True)
            if np.isfinite(t_jax):
                worst[name] = min(worst.get(name, np.inf), t_jax / t_ours)
    for name, ratio in worst.items():
        print(f"\nslowest against JAX in {name}: JAX/ours = {ratio:.2f}")
    print_load("at end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="three sizes only")
    parser.add_argument("--dims", type=int, nargs="+", default=list(DIMS), help="input dimensions to run")
    parser.add_argument("--shapes", nargs="+", default=None, metavar="M,N,D",
                        type=lambda text: tuple(int(v) for v in text.split(",")), help="these (m, n, d) only")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="runs of each peer per shape (the best is kept)")
    args = parser.parse_args()
    main(args.quick, tuple(args.dims), args.shapes, args.rounds)
