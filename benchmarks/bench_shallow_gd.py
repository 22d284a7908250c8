"""Full-batch gradient descent of ShallowReLURegressor: time per step against
MLPRegressor on the same trajectory, and against the unavoidable matrix products.

For each size ``(m, n, d)`` (samples, width, input dimension):

* Both estimators start from the same parameters (``ShallowReLURegressor.initialize``
  handed to ``MLPRegressor`` as ``coefs_`` / ``intercepts_``, as in
  ``tests/test_shallow.py::_mlp_trajectory``) and run ``T`` steps of full-batch
  gradient descent with the same step: ``MLPRegressor(solver='sgd',
  batch_size=m, momentum=0, alpha=0, shuffle=False, learning_rate='constant')``.
  The step is ``eta = 0.5 / sharpness`` at the start (half the largest stable
  step), so both trajectories are stable and comparable to rounding.
* Agreement: ``MLPRegressor.loss_curve_[t]`` is the loss *before* step ``t+1``,
  ``ShallowReLURegressor.loss_curve_[t]`` the loss *after* ``t`` steps, so the
  first ``T`` entries must coincide; the loss after the last step is compared
  through ``MLPRegressor.predict``.  "loss rel diff" is the largest
  ``|L_ours - L_mlp| / L_mlp`` over those ``T + 1`` losses; the summary says
  whether it is below 1e-10 everywhere.
* Time per step: wall time of one ``fit`` of ``T`` steps divided by ``T``
  (it includes the per-fit set-up, which is small against ``T`` steps); the best
  of ``repeats`` runs, the two estimators and the floor (below) interleaved so
  that any drift of the machine hits all three.
* Floor: the products a gradient-descent step cannot avoid, timed with numpy
  directly on arrays of the same shapes, into preallocated outputs, summed
  (each product: the best of 3 timings after each fit pair, so of ``3 * repeats``):

  - forward ``Z = X W^T``             (m x d) @ (d x n)
  - output ``A v``                    (m x n) @ (n x 1)
  - backward ``A^T r``                (n x m) @ (m x 1)
  - ``D = (r v^T) * act'(Z)``         two elementwise (m x n) passes
  - ``D^T X``                         (n x m) @ (m x d)

  Each product is timed in its fastest numpy form (for ``d = 1`` the forward
  product is an outer product, ``np.multiply`` beats ``np.matmul``), one of
  which goes through the rows in blocks of the size ``ShallowReLURegressor``
  uses (``sklearn_shallowrelu._network.BLOCK_BYTES``), with the (m x n) arrays
  in one block-sized buffer, as cache-resident as they can be: the estimator
  blocks its rows, so the floor must not be timed only on arrays that miss the
  cache.  The bias add, the activation and its derivative, the loss, the
  reductions and the parameter update are *not* in the floor, so "ours / floor"
  is > 1 unless the estimator's passes gain more from the cache than each
  product timed alone.
* Minor page faults per step (``getrusage``) of both fits: memory that the
  allocator handed back to the OS and that is touched again costs a fault per
  page, which on some machines is a large part of a step.

Goals (from the issue): at least 2x faster than ``MLPRegressor`` per step, and
within 1.5x of the floor.  Each ratio is marked ``+`` (met) or ``-`` (missed)
per size, and the summary line says whether both are met everywhere.

BLAS threads: the default is whatever the BLAS library chooses (usually one per
core); ``--threads 1`` limits both estimators and the floor to one thread
(through threadpoolctl), which gives steadier numbers when other processes load
the machine.  The load average is printed at the start and at the end.

Run::

    python benchmarks/bench_shallow_gd.py             # full sizes, one to two minutes on 2 cores
    python benchmarks/bench_shallow_gd.py --quick     # reduced sizes, a few seconds
    python benchmarks/bench_shallow_gd.py --threads 1 # one BLAS thread (steadier on a loaded machine)
    python benchmarks/bench_shallow_gd.py --profile   # plus a lean numpy GD loop on the same trajectory
                                                      # and a cProfile of one fit per size
"""

import argparse
import cProfile
import gc
import io
import pstats
import resource
import warnings

import numpy as np
import sklearn
from _timing import best_of, print_load, timed  # this folder is on the path when a script in it runs
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu._network import BLOCK_BYTES
from sklearn_shallowrelu.datasets import make_single_index

SEED = 0
FULL_SIZES = [(1000, 1000, 1), (1000, 1000, 10), (10000, 256, 10)]
QUICK_SIZES = [(200, 200, 1), (200, 200, 10), (2000, 64, 10)]


def start_and_step(X, y, n):
    """The common start and the step ``0.5 / sharpness`` there."""
    net = ShallowReLURegressor(n_hidden=n, random_state=SEED)
    p0 = net.initialize(X, y)
    # one step of size ~0 only to get a fitted estimator whose parameters are p0
    probe = ShallowReLURegressor(n_hidden=n, max_iter=1, learning_rate=1e-300, random_state=SEED)
    probe.fit(X, y, init_params=p0)
    sharp = probe.sharpness(X, y)
    return p0, 0.5 / sharp, sharp


def make_mlp(X, y, n, eta):
    """An MLPRegressor doing full-batch GD, with its internal state built."""
    mlp = MLPRegressor(hidden_layer_sizes=(n,), activation="relu", solver="sgd", batch_size=len(y),
                       momentum=0.0, alpha=0.0, learning_rate_init=eta, learning_rate="constant",
                       shuffle=False, max_iter=1, n_iter_no_change=10**9, tol=0.0, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)  # builds the optimizer and the layer sizes; the start is overwritten before each run
    return mlp


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed_with_faults(fn):
    """(wall seconds, minor page faults) of one call."""
    gc.collect()
    f0 = minor_faults()
    seconds, _ = timed(fn)
    return seconds, minor_faults() - f0


def run_mlp(mlp, X, y, p0, T):
    mlp.coefs_ = [p0["hidden_weights"].T.copy(), p0["output_weights"].copy()]
    mlp.intercepts_ = [p0["hidden_bias"].copy(), p0["intercept"].copy()]
    mlp.loss_curve_, mlp.n_iter_, mlp.t_ = [], 0, 0
    mlp.set_params(warm_start=True, max_iter=T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # "max_iter reached": expected
        return timed_with_faults(lambda: mlp.fit(X, y))


def run_ours(net, X, y, p0):
    return timed_with_faults(lambda: net.fit(X, y, init_params=p0))


def lean_gd(X, y, p0, eta, T):
    """A lean numpy GD loop for comparison (``--profile`` only): ReLU, one output, standard scale.

    Preallocated (m, n) buffers, the bias folded into the first GEMM, one
    forward pass per step (the loss after the last step costs one more).
    Returns the ``T + 1`` losses.
    """
    m, n = X.shape[0], p0["hidden_weights"].shape[0]
    X1 = np.hstack([X, np.ones((m, 1))])
    W1 = np.hstack([p0["hidden_weights"], p0["hidden_bias"][:, None]])
    v, c = p0["output_weights"][:, 0].copy(), float(p0["intercept"][0])
    Z, A, mask = np.empty((m, n)), np.empty((m, n)), np.empty((m, n), dtype=bool)
    losses = []
    for t in range(T + 1):
        np.matmul(X1, W1.T, out=Z)
        np.maximum(Z, 0, out=A)
        r = A @ v
        r += c - y
        losses.append(0.5 * float(r @ r) / m)
        if t == T:
            break
        r /= m
        gv, gc = A.T @ r, r.sum()
        np.multiply(r[:, None], v[None, :], out=A)  # A is reused as D = (r v^T) * relu'(Z)
        np.greater(Z, 0, out=mask)
        A *= mask
        W1 -= eta * (A.T @ X1)
        v -= eta * gv
        c -= eta * gc
    return np.array(losses)


def floor_times(m, n, d, rng, repeats=3):
    """Seconds of each unavoidable product of one GD step (ReLU network, one output)."""
    X = rng.standard_normal((m, d))
    W = rng.standard_normal((n, d))
    v = rng.standard_normal((n, 1))
    r = rng.standard_normal((m, 1))
    Z = np.empty((m, n))
    A = np.maximum(rng.standard_normal((m, n)), 0)
    A1 = (A > 0).astype(float)
    D = np.empty((m, n))
    out_m, out_n, out_nd = np.empty((m, 1)), np.empty((n, 1)), np.empty((n, d))
    vt = v.T

    def outer_times_act1():
        np.multiply(r, vt, out=D)  # r v^T
        np.multiply(D, A1, out=D)  # * act'

    # each product: the fastest of its numpy formulations (an outer product when d == 1)
    ops = {
        "X W^T": [lambda: np.matmul(X, W.T, out=Z)] + ([lambda: np.multiply(X, W.T, out=Z)] if d == 1 else []),
        "A v": [lambda: np.matmul(A, v, out=out_m)],
        "A^T r": [lambda: np.matmul(A.T, r, out=out_n)],
        "(r v^T)*act'": [outer_times_act1],
        "D^T X": [lambda: np.matmul(D.T, X, out=out_nd)],
    }
    rows = max(1, BLOCK_BYTES // (n * Z.itemsize))
    if rows < m:  # the same products on the estimator's row blocks, each (m x n) operand in its first rows
        blocks = [(slice(i, i + rows), min(rows, m - i)) for i in range(0, m, rows)]

        def blocked(product):
            return lambda: [product(I, k) for I, k in blocks]

        ops["X W^T"].append(blocked(lambda I, k: np.matmul(X[I], W.T, out=Z[:k])))
        if d == 1:
            ops["X W^T"].append(blocked(lambda I, k: np.multiply(X[I], W.T, out=Z[:k])))
        ops["A v"].append(blocked(lambda I, k: np.matmul(A[:k], v, out=out_m[I])))
        ops["A^T r"].append(blocked(lambda I, k: np.add(out_n, A[:k].T @ r[I], out=out_n)))
        ops["(r v^T)*act'"].append(blocked(lambda I, k: np.multiply(np.multiply(r[I], vt, out=D[:k]), A1[:k],
                                                                   out=D[:k])))
        ops["D^T X"].append(blocked(lambda I, k: np.add(out_nd, D[:k].T @ X[I], out=out_nd)))
    number = max(1, int(2e7 // (m * n)))  # ~ 20 M entries per timing
    return {name: min(best_of(fn, repeats, number=number)[0] for fn in fns) for name, fns in ops.items()}


def max_rel_diff(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def profile_fit(net, X, y, p0, top=12):
    prof = cProfile.Profile()
    prof.enable()
    net.fit(X, y, init_params=p0)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    return "\n".join("      " + ln for ln in lines[start:])


def bench_size(m, n, d, T, repeats, profile):
    X, y = make_single_index(m, d, noise=0.1, random_state=SEED)  # sin(2 u.x) + noise
    p0, eta, sharp = start_and_step(X, y, n)

    net = ShallowReLURegressor(n_hidden=n, learning_rate=eta, max_iter=T, random_state=SEED)
    mlp = make_mlp(X, y, n, eta)
    t_ours = t_mlp = (np.inf, 0)
    floor = None
    for _ in range(repeats):  # interleaved, so that drift of the machine hits all three
        t_ours = min(t_ours, run_ours(net, X, y, p0))
        t_mlp = min(t_mlp, run_mlp(mlp, X, y, p0, T))
        parts = floor_times(m, n, d, np.random.RandomState(SEED + 1), repeats=3)
        floor = parts if floor is None else {k: min(floor[k], v) for k, v in parts.items()}
    (t_ours, faults_ours), (t_mlp, faults_mlp) = t_ours, t_mlp

    # agreement: T losses before each step, and the loss after the last one
    mlp_losses = np.append(mlp.loss_curve_, 0.5 * np.mean((mlp.predict(X) - y) ** 2))
    assert net.n_iter_ == T and len(mlp.loss_curve_) == T, (net.n_iter_, len(mlp.loss_curve_))
    diff = max_rel_diff(net.loss_curve_, mlp_losses)
    pred_diff = float(np.max(np.abs(net.predict(X) - mlp.predict(X))) / np.max(np.abs(mlp.predict(X))))

    row = {"m": m, "n": n, "d": d, "eta": eta, "sharp": sharp, "ours": t_ours / T, "mlp": t_mlp / T,
           "floor": sum(floor.values()), "parts": floor, "diff": diff, "pred_diff": pred_diff,
           "loss0": net.loss_curve_[0], "lossT": net.loss_curve_[-1],
           "faults_ours": faults_ours / T, "faults_mlp": faults_mlp / T}
    if profile:
        row["profile"] = profile_fit(net, X, y, p0)
        t_lean, lean = best_of(lambda: lean_gd(X, y, p0, eta, T), repeats, collect=True)
        row["lean"], row["lean_diff"] = t_lean / T, max_rel_diff(lean, net.loss_curve_)
    return row


def blas_description():
    info = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(info) or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes and steps for a smoke test")
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS threads (default: BLAS default)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one fit per size")
    args = parser.parse_args()
    sizes, T, repeats = (QUICK_SIZES, 20, 2) if args.quick else (FULL_SIZES, 100, 3)

    with threadpool_limits(limits=args.threads, user_api="blas"):
        print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, BLAS: {blas_description()}"
              f"{'  [--quick: reduced sizes]' if args.quick else ''}")
        print_load("at start")
        print(f"{T} GD steps per fit, best of {repeats}")
        rows = [bench_size(m, n, d, T, repeats, args.profile) for m, n, d in sizes]

    head = (f"{'m':>6} {'n':>5} {'d':>3} {'eta':>8} | {'ours ms':>8} {'MLP ms':>8} {'MLP/ours':>8} | "
            f"{'floor ms':>8} {'ours/floor':>10} | {'faults/step':>11} {'MLP':>5} | "
            f"{'loss rel diff':>13} {'pred rel diff':>13}")
    print()
    print("Time per full-batch GD step (ms); goals: MLP/ours >= 2, ours/floor <= 1.5")
    print(head)
    print("-" * len(head))
    for r in rows:
        mlp_ratio, floor_ratio = r["mlp"] / r["ours"], r["ours"] / r["floor"]
        print(f"{r['m']:>6} {r['n']:>5} {r['d']:>3} {r['eta']:>8.2e} | {r['ours'] * 1e3:>8.2f} {r['mlp'] * 1e3:>8.2f} "
              f"{mlp_ratio:>7.2f}{'+' if mlp_ratio >= 2 else '-'} | {r['floor'] * 1e3:>8.2f} "
              f"{floor_ratio:>9.2f}{'+' if floor_ratio <= 1.5 else '-'} | {r['faults_ours']:>11.0f} "
              f"{r['faults_mlp']:>5.0f} | {r['diff']:>13.1e} {r['pred_diff']:>13.1e}")
    print("(+ goal met, - goal missed; 'faults/step': minor page faults per step of ours and of MLPRegressor")
    print(" in the fastest run (memory handed back to the OS and touched again); 'loss rel diff' over the")
    print(" T+1 losses of the two trajectories; 'pred rel diff' = max|f_ours - f_mlp| / max|f_mlp| on the")
    print(" training inputs after T steps)")
    print()
    print("Floor components (ms), numpy into preallocated outputs:")
    names = list(rows[0]["parts"])
    print(f"{'m':>6} {'n':>5} {'d':>3} | " + " ".join(f"{k:>13}" for k in names))
    for r in rows:
        print(f"{r['m']:>6} {r['n']:>5} {r['d']:>3} | " + " ".join(f"{r['parts'][k] * 1e3:>13.3f}" for k in names))
    print("Losses: " + "; ".join(f"(m={r['m']}, n={r['n']}, d={r['d']}) sharpness {r['sharp']:.3g}, "
                                 f"L0 {r['loss0']:.4f} -> L{T} {r['lossT']:.4f}" for r in rows))
    if args.profile:
        print()
        print("A lean numpy GD loop (preallocated buffers, one forward pass per step; ReLU only), same trajectory:")
        for r in rows:
            print(f"  m={r['m']:>6} n={r['n']:>5} d={r['d']:>3}: {r['lean'] * 1e3:8.2f} ms/step "
                  f"(ours/lean {r['ours'] / r['lean']:.2f}, MLP/lean {r['mlp'] / r['lean']:.2f}, "
                  f"lean/floor {r['lean'] / r['floor']:.2f}), loss rel diff to ours {r['lean_diff']:.1e}")
        for r in rows:
            print(f"\ncProfile of one ShallowReLURegressor fit, m={r['m']} n={r['n']} d={r['d']}, {T} steps:")
            print(r["profile"])
    print_load("at end")

    speed = [r["mlp"] / r["ours"] for r in rows]
    to_floor = [r["ours"] / r["floor"] for r in rows]
    diff = max(r["diff"] for r in rows)
    ok = "met" if min(speed) >= 2 and max(to_floor) <= 1.5 else "NOT met"
    print(f"SUMMARY shallow GD: MLP/ours per step {min(speed):.2f}x..{max(speed):.2f}x (goal >= 2), "
          f"ours/floor {min(to_floor):.2f}x..{max(to_floor):.2f}x (goal <= 1.5), goals {ok}; "
          f"same trajectory as MLPRegressor: max loss rel diff {diff:.1e} ({'OK' if diff <= 1e-10 else 'TOO LARGE'})")


if __name__ == "__main__":
    main()
