"""Cost of the curvature and rank diagnostics on a large network.

For each size (width ``n``, samples ``m``, input dimension ``d``; default
``n = m = 10^4`` with ``d = 1`` and ``d = 10``):

* The network: a ``ShallowReLURegressor`` fitted with ``max_iter=1`` and a tiny
  step (1e-6) from its default start, so its parameters are essentially the
  PyTorch-like initialisation (random knots/ridges, no condensation: the
  hardest case for clustering).  Data: ``x ~ N(0, I_d)``, ``y = sin(x_1)`` plus
  noise.
* **Curvature summary** (everything of ``CurvatureDiagnostics`` except the two
  top eigenvalues): ridges, stability weights of every ridge, merging,
  ``weighted_curvature_``, ``weighted_curvature_per_neuron_``,
  ``hessian_lower_bound_``, activation rates, knots on data, training loss.
  In 1-D the weights, rates and distances to the data come from the sorted
  inputs; for ``d > 1`` from one blocked pass over the pre-activations.  Timed as
  ``CurvatureDiagnostics(prefit=True).fit`` minus the time spent in the two
  eigenvalue calls (measured inside the same call, by wrapping
  ``curvature._top_eigenvalue``), and also the free function
  ``weighted_curvature`` alone.
* **Rank measures**: ``RankDiagnostics(prefit=True).fit`` (SVD, active mask,
  pairwise angles, greedy line/orientation clustering; the ``n_active^2``
  ``cosine_matrix_`` is only formed when read, so it is not timed), run in a
  forked child process and abandoned after ``--rank-timeout`` seconds
  (default 120; printed as ``inf``).  For ``d = 1`` the hidden vectors
  ``(w, b)`` are planar and everything comes from their sorted polar angles;
  for ``d = 10`` from one blocked pass over the cosines (``n^2 (d + 1)``
  flops), with ``mean_angle_`` over 2^21 sampled pairs (``max_angle_`` and the
  clusters exact).
* **Sharpness**: the ``sharpness_`` eigenvalue of the same call (Lanczos,
  ``which='LA'``, tol 1e-10 on analytic Hessian-vector products that reuse one
  forward pass), with the number of Hessian-vector products (the forward pass
  is inside the timed call); and one gradient evaluation
  (``sklearn_shallowrelu._network.Network.loss_and_grad``, best of 5) in the
  same run.  The ratio "sharpness / gradient" is the cost of the sharpness in
  gradient evaluations.

Goals: curvature summary and rank measures well under a second each; the
sharpness comparable to a few dozen gradient evaluations (we mark <= 50 as
met).  Each is marked ``+`` (met) or ``-`` (missed); the summary line says
whether all are met.  ``--profile`` adds a cProfile of the slowest part per
size.

``--widths`` instead times ``RankDiagnostics(prefit=True).fit`` against the width
``n = 10^3 .. 10^6`` (``--max-width``) at fixed ``m = 200`` samples, for ``d = 10``
with spread hidden vectors (Gaussian rows: the hardest case for the neighbour
search; above ``EXACT_UNITS`` active units the clusters come from hashing, the
angles from sampling), ``d = 10`` with condensed ones (a few bundles, the case
of trained networks; their neighbour graph grows like ``n^2``: one exact blocked
pass where that is cheaper than hashing, refused when its neighbour lists would
not fit in the memory available, printed as ``mem``) and ``d = 1``; each beside
``np.linalg.svd`` of the same ``n x (d + 1)`` matrix (a linear-time numpy
reference: the ratio should stay roughly flat in ``n``), with the load average.

Run::

    python benchmarks/bench_diagnostics.py --widths   # time vs width, 1e3 .. 1e6 (minutes)
    python benchmarks/bench_diagnostics.py            # n = m = 1e4, d = 1 and 10 (about a minute or more)
    python benchmarks/bench_diagnostics.py --quick    # n = m = 2000, a few seconds
    python benchmarks/bench_diagnostics.py --profile  # plus cProfile of the slow parts

Set ``OPENBLAS_NUM_THREADS=1`` for steadier numbers on a loaded machine.
"""

import argparse
import cProfile
import io
import os
import multiprocessing
import pstats
import tempfile
import time
import warnings

import numpy as np
from _timing import best_of, print_load, timed  # this folder is on the path when a script in it runs

from sklearn_shallowrelu import ShallowReLURegressor
from sklearn_shallowrelu._network import Batch, Network, Params
from sklearn_shallowrelu.activations import get_activation
from sklearn_shallowrelu.datasets import make_single_index
from sklearn_shallowrelu.diagnostics import CurvatureDiagnostics, RankDiagnostics, network_parameters, weighted_curvature
from sklearn_shallowrelu.diagnostics import curvature as curvature_module

SUMMARY_GOAL = 1.0  # seconds
SHARPNESS_GOAL = 50.0  # gradient evaluations


def make_problem(n_hidden, n_samples, d, seed=0):
    # y = sin(x_1) + noise: the teacher is the first coordinate
    X, y = make_single_index(n_samples, d, target=np.sin, direction=np.eye(d)[0], noise=0.1, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = ShallowReLURegressor(n_hidden=n_hidden, learning_rate=1e-6, max_iter=1, random_state=seed).fit(X, y)
    return X, y, net


class _EigTimer:
    """Wraps ``curvature._top_eigenvalue`` to time its calls and count Hessian-vector products."""

    def __init__(self):
        self.calls = []  # (gauss_newton, seconds, n_products)
        self._orig = curvature_module._top_eigenvalue

    def __enter__(self):
        orig = self._orig

        def timed(net, params, batch, gauss_newton, with_output_bias):
            count = [0]
            make = net._hvp_operator

            def counting_operator(*args, **kwargs):
                apply = make(*args, **kwargs)

                def counted(direction):
                    count[0] += 1
                    return apply(direction)

                return counted

            net._hvp_operator = counting_operator
            t = time.perf_counter()
            try:
                return orig(net, params, batch, gauss_newton, with_output_bias)
            finally:
                self.calls.append((gauss_newton, time.perf_counter() - t, count[0]))
                del net._hvp_operator

        curvature_module._top_eigenvalue = timed
        return self

    def __exit__(self, *exc):
        curvature_module._top_eigenvalue = self._orig


def gradient_time(net, X, y, repeats=5):
    p = network_parameters(net)
    network = Network(get_activation(p.activation), 1.0)
    params = Params(p.W, p.b, p.v, p.c)
    batch = Batch(X, y.reshape(-1, 1), np.ones(len(y)))
    return best_of(lambda: network.loss_and_grad(params, batch), repeats)[0]


def _profiled(fn, prof):
    """``fn()``, under the profiler ``prof`` unless it is None."""
    if prof is None:
        return fn()
    prof.enable()
    try:
        return fn()
    finally:
        prof.disable()


def _rank_child(conn, net, X, y, profile):
    prof = cProfile.Profile() if profile else None
    elapsed, rd = timed(lambda: _profiled(lambda: RankDiagnostics(net, prefit=True).fit(X, y), prof))
    stats_path = None
    if prof:
        stats_path = os.path.join(tempfile.gettempdir(), f"bench_rank_{os.getpid()}.prof")
        prof.dump_stats(stats_path)
    conn.send((elapsed, rd.n_active_, rd.n_lines_, stats_path))


def _rank_with_timeout(net, X, y, timeout, profile):
    """``RankDiagnostics.fit`` in a forked child, abandoned after ``timeout`` seconds.

    Returns (seconds or inf, n_active, n_lines, path of the profile or None).
    """
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_rank_child, args=(child, net, X, y, profile))
    proc.start()
    if parent.poll(timeout):
        elapsed, n_active, n_lines, stats_path = parent.recv()
        proc.join()
        return elapsed, n_active, n_lines, stats_path
    proc.terminate()
    proc.join()
    return float("inf"), -1, -1, None


def run_size(n_hidden, n_samples, d, profile=False, rank_timeout=120.0):
    X, y, net = make_problem(n_hidden, n_samples, d)
    out = {"n": n_hidden, "m": n_samples, "d": d}
    out["gradient"] = gradient_time(net, X, y)

    out["weighted_curvature_fn"], _ = timed(lambda: (weighted_curvature(net, X),
                                                     weighted_curvature(net, X, per_neuron=True)))

    prof = cProfile.Profile() if profile else None
    with _EigTimer() as timer:
        total, cd = timed(lambda: _profiled(lambda: CurvatureDiagnostics(net, prefit=True).fit(X, y), prof))
    eig_total = sum(c[1] for c in timer.calls)
    out["curvature_summary"] = total - eig_total
    for gn, secs, count in timer.calls:
        key = "gn_sharpness" if gn else "sharpness"
        out[key], out[key + "_hvps"] = secs, count
    out["sharpness_value"] = cd.sharpness_
    out["weighted_curvature"] = cd.weighted_curvature_

    out["rank"], out["n_active"], out["n_lines"], rprof = _rank_with_timeout(net, X, y, rank_timeout, profile)
    out["ratio"] = out["sharpness"] / out["gradient"]
    if profile:
        for name, pr in (("CurvatureDiagnostics.fit", prof), ("RankDiagnostics.fit", rprof)):
            if pr is None:
                print(f"--- RankDiagnostics.fit timed out after {rank_timeout:g} s: no profile")
                continue
            s = io.StringIO()
            (pstats.Stats(pr, stream=s) if isinstance(pr, cProfile.Profile) else pstats.Stats(pr, stream=s)) \
                .sort_stats("tottime").print_stats(8)
            print(f"--- cProfile of {name} (n={n_hidden}, m={n_samples}, d={d}), by own time")
            print("\n".join(s.getvalue().splitlines()[:30]))
    return out


def _net_with(W, b, v):
    """A ShallowReLURegressor carrying the given parameters (fitted on a tiny problem, then overwritten)."""
    d = W.shape[1]
    X = np.random.RandomState(0).standard_normal((4, d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = ShallowReLURegressor(n_hidden=2, max_iter=1, random_state=0).fit(X, X[:, 0])
    net.set_params(n_hidden=len(b))
    net.hidden_weights_, net.hidden_bias_, net.output_weights_ = W, b, v
    return net


def width_problem(kind, n, seed=0):
    rng = np.random.RandomState(seed)
    d = 1 if kind == "d=1" else 10
    if kind == "condensed":
        centres = rng.standard_normal((4, d + 1))
        M = centres[rng.randint(4, size=n)] * rng.choice([-1.0, 1.0], size=(n, 1)) + 0.02 * rng.standard_normal(
            (n, d + 1))
    else:
        M = rng.standard_normal((n, d + 1))
    X = rng.standard_normal((200, d))  # a Gaussian unit is positive somewhere on 200 inputs: nearly all active
    return X, _net_with(M[:, :-1], M[:, -1], rng.standard_normal(n)), M


def _width_child(conn, net, X):
    try:
        elapsed, rd = timed(lambda: RankDiagnostics(net, prefit=True).fit(X))
        conn.send((elapsed, rd.n_active_, rd.n_lines_, None))
    except MemoryError as exc:
        conn.send((float("nan"), -1, -1, str(exc)[:60]))


def run_widths(max_width, timeout):
    print_load("at start")
    widths = [w for w in (1_000, 10_000, 100_000, 1_000_000) if w <= max_width]
    head = f"{'kind':>10} {'n':>8} | {'rank fit':>9} {'svd':>8} {'ratio':>7} | {'active':>7} {'lines':>5} | load"
    print(head)
    print("-" * len(head))
    ctx = multiprocessing.get_context("fork")
    for kind in ("spread", "condensed", "d=1"):
        for n in widths:
            X, net, M = width_problem(kind, n)
            svd, _ = timed(lambda: np.linalg.svd(M, compute_uv=False))
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_width_child, args=(child, net, X))
            proc.start()
            if parent.poll(timeout):
                elapsed, n_active, n_lines, error = parent.recv()
                proc.join()
            else:
                proc.terminate()
                proc.join()
                elapsed, n_active, n_lines, error = float("inf"), -1, -1, None
            shown = "mem" if error else f"{elapsed:.3f}s"
            print(f"{kind:>10} {n:>8} | {shown:>9} {svd:>7.4f}s {elapsed / svd:>7.0f} | {n_active:>7} {n_lines:>5} | "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
    print("(rank fit: RankDiagnostics(prefit=True).fit, m = 200 samples, in a forked child given up after "
          f"{timeout:g} s (inf); mem: refused, the neighbour lists would not fit in the memory available; svd: "
          "np.linalg.svd(M, compute_uv=False) of the same n x (d + 1) matrix; ratio: rank fit / svd)")


def mark(ok):
    return "+" if ok else "-"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = m = 2000 instead of 10^4")
    parser.add_argument("--profile", action="store_true", help="cProfile of the diagnostics per size")
    parser.add_argument("--rank-timeout", type=float, default=120.0,
                        help="give up RankDiagnostics.fit after this many seconds (default 120)")
    parser.add_argument("--widths", action="store_true", help="RankDiagnostics time vs width, 1e3 .. --max-width")
    parser.add_argument("--max-width", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    if args.widths:
        return run_widths(args.max_width, args.rank_timeout)
    size = 2000 if args.quick else 10_000
    print_load("at start")
    rows = [run_size(size, size, d, args.profile, args.rank_timeout) for d in (1, 10)]
    head = (f"{'n':>6} {'m':>6} {'d':>3} | {'curv summary':>12} {'wc fn':>6} {'rank':>8} | {'gradient':>8} "
            f"{'sharpness':>9} {'HVPs':>4} {'GN sharp':>8} {'sharp/grad':>10} | {'active':>6} {'lines':>5}")
    print(head)
    print("-" * len(head))
    all_ok = True
    for r in rows:
        ok_c, ok_r, ok_s = r["curvature_summary"] < SUMMARY_GOAL, r["rank"] < SUMMARY_GOAL, r["ratio"] <= SHARPNESS_GOAL
        all_ok &= ok_c and ok_r and ok_s
        print(f"{r['n']:>6} {r['m']:>6} {r['d']:>3} | {r['curvature_summary']:>10.3f}s{mark(ok_c)} "
              f"{r['weighted_curvature_fn']:>5.2f}s {r['rank']:>6.3f}s{mark(ok_r)} | {1e3 * r['gradient']:>6.1f}ms "
              f"{r['sharpness']:>8.2f}s {r['sharpness_hvps']:>4} {r['gn_sharpness']:>7.2f}s "
              f"{r['ratio']:>9.1f}{mark(ok_s)} | {r['n_active']:>6} {r['n_lines']:>5}")
    print("(curv summary: CurvatureDiagnostics.fit minus its two eigenvalue calls; wc fn: weighted_curvature() "
          "function-space + per-neuron; HVPs: Hessian-vector products of the sharpness Lanczos; "
          "sharp/grad: sharpness time / one loss_and_grad)")
    print_load("at end")
    print(f"SUMMARY: goals (curvature summary < {SUMMARY_GOAL:g}s, rank < {SUMMARY_GOAL:g}s, sharpness <= "
          f"{SHARPNESS_GOAL:g} gradients) {'met on every size' if all_ok else 'MISSED (see the - marks)'}: "
          + "; ".join(f"d={r['d']}: {r['curvature_summary']:.2f}s / {r['rank']:.2f}s / {r['ratio']:.0f}x" for r in rows))
    return rows


if __name__ == "__main__":
    main()
