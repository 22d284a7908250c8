"""Ridge on random ReLU features: time, peak memory and agreement with scikit-learn.

Two measurements:

(a) In-memory size (m=10 000 samples, n_hidden=2 000, d=10).
    ``RandomFeatureReLURegressor(solver='ridge')`` with the automatic algorithm
    against ``Ridge`` fitted on explicit ``ReLURandomFeatures`` features.  The
    reference time includes building the features, which is also reported on
    its own.  Times are the best of 3 untraced runs; peak memory is the
    peak of ``tracemalloc`` (numpy reports its buffers to it) during one more,
    traced fit of each, in this process.  The predictions of both on held-out
    points must agree to about 1e-8.

(b) Out-of-core size (m=500 000, n_hidden=2 200, d=10): the explicit float64
    feature matrix would take m * n * 8 bytes = 8.8 GB, so only the chunked
    solver (``algorithm='auto'`` picks it under
    ``sklearn.config_context(working_memory=256)``) is run, timed once and
    traced.  Correctness is checked on 200 test points against a chunked ridge
    solve written here with plain numpy.

(c) Wide (m=200, n_hidden=1 000 000, d=10): the explicit features would take
    1.6 GB and the n x n Gram matrix 8 TB.  ``algorithm='auto'`` picks the
    dual system, its 200 x 200 kernel accumulated over blocks of units, under
    ``working_memory=256``; timed once and traced.  Checked against a dual
    ridge solve written here with plain numpy over blocks of units.

"Max rel diff" is ``max |p - p_ref| / max |p_ref|`` over the test predictions
(an elementwise ratio would blow up wherever a prediction crosses zero).

Run::

    python benchmarks/bench_ridge.py            # full sizes, a few minutes on 2 cores
    python benchmarks/bench_ridge.py --quick    # reduced sizes, a few seconds
"""

import argparse

import numpy as np
import sklearn
from _timing import Laps, print_load, timed, traced_peak  # this folder is on the path when a script in it runs
from sklearn.linear_model import Ridge

from sklearn_shallowrelu import RandomFeatureReLURegressor, ReLURandomFeatures
from sklearn_shallowrelu.datasets import make_single_index

GiB = 2**30
MiB = 2**20
ALPHA = 1.0
SEED = 0


def make_data(m, d, rng, m_test):
    """A smooth single-index target with noise, ``sin(2 u.x)``; the test points come from the same law."""
    X, y = make_single_index(m + m_test, d, noise=0.1, random_state=rng)
    return X[:m], y[:m], X[m:]


def best_stages(fn, repeats):
    """Best wall time per stage (``fn`` returns its stage times) over ``repeats`` runs, and the peak memory.

    Tracing hooks every allocation, so the timed runs are untraced and the peak
    comes from a separate run.
    """
    best = None
    for _ in range(repeats):
        total, (_, stages) = timed(fn, collect=True)
        stages = dict(stages, total=total)
        best = stages if best is None else {k: min(best[k], v) for k, v in stages.items()}
    peak, (result, _) = traced_peak(fn)
    return result, best, peak


def rel_diff(p, ref):
    return float(np.max(np.abs(p - ref)) / np.max(np.abs(ref)))


# --------------------------------------------------------------------- (a)
def bench_in_memory(m, n, d, repeats):
    rng = np.random.RandomState(SEED)
    X, y, X_test = make_data(m, d, rng, m_test=2000)
    wm = sklearn.get_config()["working_memory"]
    # The estimator's rule: chunked unless the features fit in working_memory, then dual iff m < n.
    auto = ("dual" if m < n else "primal") if m * n * 8 <= wm * MiB else "chunked"

    def ours():
        return RandomFeatureReLURegressor(n_hidden=n, solver="ridge", alpha=ALPHA, random_state=SEED).fit(X, y), {}

    def reference():
        laps = Laps()
        rf = ReLURandomFeatures(n_components=n, random_state=SEED).fit(X)
        F = rf.transform(X)
        laps.lap("features")
        ridge = Ridge(alpha=ALPHA).fit(F, y)
        laps.lap("ridge_fit")
        return (rf, ridge), laps.times

    net, t_ours, peak_ours = best_stages(ours, repeats)
    (rf, ridge), t_ref, peak_ref = best_stages(reference, repeats)

    diff = rel_diff(net.predict(X_test), ridge.predict(rf.transform(X_test)))
    t_ratio = t_ref["total"] / t_ours["total"]
    mem_ratio = peak_ref / peak_ours

    print(f"(a) in memory: m={m}, n_hidden={n}, d={d}, alpha={ALPHA}, "
          f"explicit features {m * n * 8 / MiB:.0f} MiB, working_memory={wm} MiB "
          f"-> auto algorithm {auto!r}; best of {repeats}")
    print(f"    {'method':<44}{'time [s]':>10}{'peak [MiB]':>12}")
    print(f"    {'RandomFeatureReLURegressor(solver=ridge)':<44}{t_ours['total']:>10.3f}{peak_ours / MiB:>12.1f}")
    print(f"    {'ReLURandomFeatures + Ridge (total)':<44}{t_ref['total']:>10.3f}{peak_ref / MiB:>12.1f}")
    print(f"    {'  of which ReLURandomFeatures.fit_transform':<44}{t_ref['features']:>10.3f}")
    print(f"    {'  of which Ridge.fit':<44}{t_ref['ridge_fit']:>10.3f}")
    print(f"    time ratio        (Ridge pipeline / ours): {t_ratio:.2f}")
    print(f"    peak-memory ratio (Ridge pipeline / ours): {mem_ratio:.2f}")
    print(f"    prediction max rel diff on {len(X_test)} test points: {diff:.2e}")
    return t_ratio, mem_ratio, diff


# --------------------------------------------------------------------- (b)
def reference_chunked_ridge(X, y, W, b, alpha, chunk_rows):
    """Ridge with a free intercept by one pass over row chunks, numpy only.

    The features are positive with a sizeable mean, so ``sum phi phi^T - m mu mu^T``
    would cancel badly; accumulating around a shift ``s`` close to the mean (the
    first chunk's mean) keeps the centred Gram accurate in a single pass.
    """
    n = W.shape[0]
    scale = 1.0 / np.sqrt(n)

    def features(rows):
        Z = X[rows] @ W.T
        Z += b
        np.maximum(Z, 0, out=Z)
        Z *= scale
        return Z

    shift = features(slice(0, chunk_rows)).mean(axis=0)
    y_shift = float(y[:chunk_rows].mean())
    G = np.zeros((n, n))
    g = np.zeros(n)
    s1 = np.zeros(n)
    t1 = 0.0
    for start in range(0, len(X), chunk_rows):
        rows = slice(start, start + chunk_rows)
        F = features(rows)
        F -= shift
        e = y[rows] - y_shift
        G += F.T @ F
        g += F.T @ e
        s1 += F.sum(axis=0)
        t1 += float(e.sum())
    m = len(X)
    mu_f, mu_y = s1 / m, t1 / m  # means of the shifted features / targets
    G -= m * np.outer(mu_f, mu_f)
    g -= m * mu_f * mu_y
    G.flat[:: n + 1] += alpha
    coef = np.linalg.solve(G, g)
    intercept = (y_shift + mu_y) - (shift + mu_f) @ coef
    return coef, intercept


def fit_ours(X, y, X_test, n, working_memory):
    """The estimator's ridge fit (timed, with its tracemalloc peak) and its test predictions,
    both under the given ``working_memory``."""
    def ours():
        with sklearn.config_context(working_memory=working_memory):
            return RandomFeatureReLURegressor(n_hidden=n, solver="ridge", alpha=ALPHA, random_state=SEED).fit(X, y)

    peak_ours, (t_ours, net) = traced_peak(lambda: timed(ours, collect=True))
    with sklearn.config_context(working_memory=working_memory):
        pred = net.predict(X_test)
    return net, pred, t_ours, peak_ours


def bench_out_of_core(m, n, d, working_memory):
    rng = np.random.RandomState(SEED + 1)
    X, y, X_test = make_data(m, d, rng, m_test=200)
    explicit = m * n * 8
    chunk_rows = int(working_memory * MiB // (n * 8))

    net, pred, t_ours, peak_ours = fit_ours(X, y, X_test, n, working_memory)

    # Same hidden units as the estimator: same init and random_state.
    rf = ReLURandomFeatures(n_components=n, random_state=SEED).fit(X[:1])
    t_ref, (coef, intercept) = timed(
        lambda: reference_chunked_ridge(X, y, rf.weights_, rf.bias_, ALPHA, chunk_rows), collect=True
    )
    ref = np.maximum(X_test @ rf.weights_.T + rf.bias_, 0) / np.sqrt(n) @ coef + intercept
    diff = rel_diff(pred, ref)

    print(f"(b) out of core: m={m}, n_hidden={n}, d={d}, alpha={ALPHA}, "
          f"working_memory={working_memory} MiB ({chunk_rows} rows per chunk) "
          f"-> auto algorithm 'chunked'")
    print(f"    explicit float64 feature matrix would need m*n*8 = {explicit / 1e9:.2f} GB "
          f"= {explicit / GiB:.2f} GiB (not run)")
    print(f"    {'method':<44}{'time [s]':>10}{'peak [MiB]':>12}")
    print(f"    {'RandomFeatureReLURegressor (chunked)':<44}{t_ours:>10.1f}{peak_ours / MiB:>12.1f}")
    print(f"    {'numpy chunked reference (check only)':<44}{t_ref:>10.1f}{'-':>12}")
    print(f"    explicit-need / our-peak memory ratio: {explicit / peak_ours:.1f}")
    print(f"    prediction max rel diff on {len(X_test)} test points vs numpy reference: {diff:.2e}")
    return t_ours, peak_ours, explicit, diff


# --------------------------------------------------------------------- (c)
def reference_dual_ridge(X, y, W, b, alpha, block):
    """``v = Phi_c^T (Phi_c Phi_c^T + alpha I)^{-1} (y - ybar)`` with the features in column blocks."""
    n = W.shape[0]
    cols = [slice(i, min(i + block, n)) for i in range(0, n, block)]

    def features(c):
        return np.maximum(X @ W[c].T + b[c], 0) / np.sqrt(n)

    mean = np.concatenate([features(c).mean(axis=0) for c in cols])
    K = sum((features(c) - mean[c]) @ (features(c) - mean[c]).T for c in cols)
    a = np.linalg.solve(K + alpha * np.eye(len(y)), y - y.mean())
    coef = np.concatenate([(features(c) - mean[c]).T @ a for c in cols])
    return coef, y.mean() - mean @ coef


def bench_wide(m, n, d, working_memory):
    rng = np.random.RandomState(SEED + 2)
    X, y, X_test = make_data(m, d, rng, m_test=200)

    net, pred, t_ours, peak_ours = fit_ours(X, y, X_test, n, working_memory)
    t_ref, (coef, intercept) = timed(
        lambda: reference_dual_ridge(X, y, net.hidden_weights_, net.hidden_bias_, ALPHA, 2**14), collect=True)
    ref = np.maximum(X_test @ net.hidden_weights_.T + net.hidden_bias_, 0) / np.sqrt(n) @ coef + intercept
    diff = rel_diff(pred, ref)
    print(f"(c) wide: m={m}, n_hidden={n}, d={d}, alpha={ALPHA}, working_memory={working_memory} MiB "
          f"-> auto algorithm {net.algorithm_!r}")
    print(f"    explicit features would need {m * n * 8 / GiB:.2f} GiB, the n x n Gram {n * n * 8 / GiB:.3g} GiB")
    print(f"    {'method':<44}{'time [s]':>10}{'peak [MiB]':>12}")
    print(f"    {'RandomFeatureReLURegressor (auto)':<44}{t_ours:>10.1f}{peak_ours / MiB:>12.1f}")
    print(f"    {'numpy dual reference (check only)':<44}{t_ref:>10.1f}{'-':>12}")
    print(f"    prediction max rel diff on {len(X_test)} test points vs numpy reference: {diff:.2e}")
    return t_ours, peak_ours, diff


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes for a smoke test")
    args = parser.parse_args()
    if args.quick:
        # working_memory is shrunk with the problem so that (b) still goes through the chunked path
        sizes_a, repeats, sizes_b, wm = (2000, 400, 10), 1, (20000, 300, 10), 4
        sizes_c = (100, 50_000, 10)
    else:
        sizes_a, repeats, sizes_b, wm = (10_000, 2000, 10), 3, (500_000, 2200, 10), 256
        sizes_c = (200, 1_000_000, 10)
    print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}"
          f"{'  [--quick: reduced sizes]' if args.quick else ''}")
    # Other jobs on a 2-core machine distort BLAS timings badly; make that visible.
    print_load("at start")
    t_ratio, mem_ratio, diff_a = bench_in_memory(*sizes_a, repeats)
    t_b, peak_b, need_b, diff_b = bench_out_of_core(*sizes_b, wm)
    t_c, peak_c, diff_c = bench_wide(*sizes_c, wm)
    print_load("at end")
    print(f"SUMMARY ridge: (a) Ridge-pipeline/ours time {t_ratio:.2f}x, peak memory {mem_ratio:.2f}x, "
          f"pred diff {diff_a:.1e} | (b) chunked m={sizes_b[0]} n={sizes_b[1]}: {t_b:.1f} s, "
          f"peak {peak_b / MiB:.0f} MiB vs {need_b / GiB:.1f} GiB explicit, pred diff {diff_b:.1e} | "
          f"(c) wide m={sizes_c[0]} n={sizes_c[1]}: {t_c:.1f} s, peak {peak_c / MiB:.0f} MiB, pred diff {diff_c:.1e}")


if __name__ == "__main__":
    main()
