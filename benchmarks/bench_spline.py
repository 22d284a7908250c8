"""SmoothingSplineEquivalent against scipy and csaps, at a fixed lam and with GCV.

With ``init=RademacherUniform(bias_range=a)`` the curvature weight is ``g = 1/(2a)``
on ``[-a, a]``, so on data inside ``[-a, a]`` and with ``affine='free'``,
``SmoothingSplineEquivalent(alpha=lam / (2a))`` is the cubic smoothing spline of
``scipy.interpolate.make_smoothing_spline(x, y, lam=lam)`` and of
``csaps.CubicSmoothingSpline(x, y, smooth=1 / (1 + lam))`` (csaps weighs the
data term by ``p`` and the curvature by ``1 - p``; see ``doc/spline.md``).

(1) Fixed lam, m = 1e3 ... 1e6 random points in (-1, 1), a = 1.  Times (best of
    a few, one BLAS thread, all methods given the same sorted arrays):
      ours      ``SmoothingSplineEquivalent.fit`` (validation, pooling, moments,
                banded solve; the leverages are computed only when df_ is read);
      ours solve  the moments and the solve alone, the path the estimator takes
                for affine='free': ``_exact1d.solve`` with the curvature
                weights' moments (the free-affine chain, 4 unknowns per point);
      scipy, csaps  the fit only (no evaluation).
    Accuracy: max |difference| of the fitted values at the data, and, to tell
    which of two disagreeing fits is right, the max |difference| of each from a
    reference: csaps on the data with points closer than 1e-5 pooled (weights =
    counts).  Random inputs at m = 1e5 have gaps down to 1e-10, which the
    reference avoids; pooling moves the fit by about 1e-4, so differences below
    that are not resolved by this column (at m <= 1e5 csaps, scipy and ours agree
    on the pooled data to about 2e-4).  At m = 1e6 most gaps are below 1e-5 and
    chains of them pool into a few thousand groups (the count is printed), so
    there the reference is coarser.
(2) GCV: ours ``alpha='gcv'`` against ``make_smoothing_spline(lam=None)``: time,
    whether a finite fit comes back, the chosen lam (ours: ``lam_scipy_``; scipy's
    is read from the ``minimize_scalar`` call inside it), and the RMS error to
    the noiseless function.  Hard data: ties, x scaled by 1e-6 and 1e6 (lam is
    printed divided by scale^3, so it should not move), and low noise on a
    fast-varying function (the best lam is tiny, and scipy's bounded search on
    the linear bracket ``(0, n)`` does not get near it).

A method whose time, extrapolated linearly from the previous size, exceeds
120 s is skipped at that size (said in the output); ours with leverages is
also skipped when its extrapolated memory exceeds a third of the available RAM.

Run:  python benchmarks/bench_spline.py [--quick]
"""

import argparse
import contextlib
import time
import warnings

import numpy as np
import scipy.interpolate._bsplines as scipy_bsplines
from _timing import best_of, load_average, print_load, traced_peak  # this folder is on the path when a script in it runs
from scipy.interpolate import make_smoothing_spline

from sklearn_shallowrelu import SmoothingSplineEquivalent
from sklearn_shallowrelu import _exact1d
from sklearn_shallowrelu.datasets import make_curve
from sklearn_shallowrelu.init import RademacherUniform

try:
    import csaps
except ImportError:
    csaps = None

LIMIT = 120.0  # seconds


def truth(u):
    return np.sin(2 * np.pi * u * (1 + 2 * u**2))


def data(m, noise=0.3, scale=1.0, seed=0):
    """Sorted inputs ``u`` in (-1, 1), scaled, and ``truth(u)`` plus noise: returns ``(scale u, y, u)``."""
    U, y = make_curve(m, target=truth, x_range=(-1, 1), noise=noise, sort=True, random_state=seed)
    u = U[:, 0]
    return u * scale, y, u


def mem_available():
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable"):
                return int(line.split()[1]) * 1024
    return 0


def pooled_reference(x, y, lam, eps=1e-5):
    """csaps on the data with neighbours closer than ``eps`` pooled: no tiny gaps left."""
    group = np.concatenate([[0], np.cumsum(np.diff(x) >= eps)])
    w = np.bincount(group).astype(float)
    xp, yp = np.bincount(group, weights=x) / w, np.bincount(group, weights=y) / w
    return csaps.CubicSmoothingSpline(xp, yp, weights=w, smooth=1 / (1 + lam))(x), len(xp)


class Skipper:
    """Skips a method at a size when its linear extrapolation from the last size exceeds the limit."""

    def __init__(self):
        self.last = {}

    def predicted(self, name, m):
        if name not in self.last:
            return 0.0
        m0, t0 = self.last[name]
        return t0 * m / m0

    def record(self, name, m, t):
        self.last[name] = (m, t)


# ------------------------------------------------------------------ (1)
def fixed_lam(sizes, a=1.0):
    print(f"(1) fixed lam, RademacherUniform(bias_range={a}), affine='free', alpha = lam / (2a); "
          f"random x in (-1, 1), y = sin(2 pi x (1 + 2 x^2)) + 0.3 noise; lam = 1e-6 * m")
    head = (f"{'m':>8} | {'ours fit':>9} {'ours solve':>10} {'scipy':>9} {'csaps':>9} | {'ours/fastest':>12} "
            f"{'solve/fastest':>13} | {'max|ours-scipy|':>15} {'max|ours-csaps|':>15} {'max|scipy-csaps|':>16} | "
            f"max|fit - pooled ref| ours / scipy / csaps")
    print(head)
    print("-" * len(head))
    skip = Skipper()
    notes = []
    summary = []
    peak_per_point = None
    for m in sizes:
        x, y, _ = data(m)
        lam = 1e-6 * m
        init = RademacherUniform(bias_range=a)
        X = x[:, None]
        repeat = 3 if m <= 10_000 else 1
        t, fits = {}, {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if skip.predicted("ours", m) > LIMIT:
                notes.append(f"m={m}: ours fit skipped (predicted {skip.predicted('ours', m):.0f} s > {LIMIT:.0f} s)")
            elif peak_per_point is not None and peak_per_point * m > mem_available() / 3:
                notes.append(f"m={m}: ours fit (with leverages) skipped: predicted peak memory "
                             f"{peak_per_point * m / 2**30:.1f} GiB > a third of the available "
                             f"{mem_available() / 2**30:.1f} GiB (measured {peak_per_point:.0f} bytes per point "
                             "at the previous size)")
            else:
                t["ours"], est = best_of(lambda: SmoothingSplineEquivalent(init=init, affine="free",
                                                                           alpha=lam / (2 * a)).fit(X, y), repeat)
                skip.record("ours", m, t["ours"])
                fits["ours"] = est.predict(X)
                assert abs(est.lam_scipy_ / lam - 1) < 1e-12
                if m <= 100_000:  # the peak memory of the fit, to decide whether the next size fits in RAM
                    peak, _ = traced_peak(
                        lambda: SmoothingSplineEquivalent(init=init, affine="free", alpha=lam / (2 * a)).fit(X, y))
                    peak_per_point = peak / m

            def solve_only():  # the engine's entry point, as the estimator calls it
                measure = _exact1d.Continuum(init.bind(X))
                return _exact1d.solve(x, y[:, None], np.ones(m), measure, lam / (2 * a), "free")

            t["ours solve"], sol = best_of(solve_only, repeat)
            if "ours" not in fits:
                fits["ours"] = sol.evaluate(x)[:, 0]
            else:
                assert np.max(np.abs(sol.evaluate(x)[:, 0] - fits["ours"])) < 1e-9
        if skip.predicted("scipy", m) > LIMIT:
            notes.append(f"m={m}: scipy skipped (predicted {skip.predicted('scipy', m):.0f} s)")
        else:
            t["scipy"], sp = best_of(lambda: make_smoothing_spline(x, y, lam=lam), repeat)
            skip.record("scipy", m, t["scipy"])
            fits["scipy"] = sp(x)
        if csaps is None:
            notes.append("csaps is not installed")
        elif skip.predicted("csaps", m) > LIMIT:
            notes.append(f"m={m}: csaps skipped (predicted {skip.predicted('csaps', m):.0f} s)")
        else:
            t["csaps"], cs = best_of(lambda: csaps.CubicSmoothingSpline(x, y, smooth=1 / (1 + lam)), repeat)
            skip.record("csaps", m, t["csaps"])
            fits["csaps"] = cs(x)
        ref, n_pooled = pooled_reference(x, y, lam) if csaps is not None else (None, 0)
        fastest = min(t.get("scipy", np.inf), t.get("csaps", np.inf))

        def diff(p, q):
            return f"{np.max(np.abs(fits[p] - fits[q])):.1e}" if p in fits and q in fits else "-"

        def tm(k):
            return f"{t[k]:.4f}" if k in t else "skipped"

        excess = " / ".join(f"{np.max(np.abs(fits[k] - ref)):.0e}" if k in fits and ref is not None else "-"
                            for k in ("ours", "scipy", "csaps")) + f"  ({n_pooled} pooled points)"
        ratio = f"{t['ours'] / fastest:.1f}x" if "ours" in t else "-"
        print(f"{m:>8d} | {tm('ours'):>9} {tm('ours solve'):>10} {tm('scipy'):>9} {tm('csaps'):>9} | {ratio:>12} "
              f"{t['ours solve'] / fastest:>12.1f}x | {diff('ours', 'scipy'):>15} {diff('ours', 'csaps'):>15} "
              f"{diff('scipy', 'csaps'):>16} | {excess}")
        summary.append((m, t.get("ours"), t["ours solve"], fastest))
    for n in notes:
        print("   note:", n)
    print(f"   ({load_average()})")
    return summary


# ------------------------------------------------------------------ (2)
@contextlib.contextmanager
def scipy_gcv_lam():
    """Record the lam that make_smoothing_spline's GCV search returns."""
    seen = []
    original = scipy_bsplines.minimize_scalar

    def spy(*args, **kwargs):
        res = original(*args, **kwargs)
        seen.append(float(res.x))
        return res

    scipy_bsplines.minimize_scalar = spy
    try:
        yield seen
    finally:
        scipy_bsplines.minimize_scalar = original


def gcv_case(name, x, y, u, scale, a, skip, m_key=None):
    X = x[:, None]
    f_true = truth(u)
    row = {"case": name}
    key = m_key or name
    if skip.predicted("ours " + key, len(x)) > LIMIT:
        row["ours"] = f"skipped (predicted {skip.predicted('ours ' + key, len(x)):.0f} s > {LIMIT:.0f} s)"
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            try:
                est = SmoothingSplineEquivalent(init=RademacherUniform(bias_range=a), affine="free",
                                                alpha="gcv").fit(X, y)
                t = time.perf_counter() - t0
                p = est.predict(X)
                ok = bool(np.all(np.isfinite(p)))
                rmse = np.sqrt(np.mean((p - f_true) ** 2))
                row["ours"] = (f"{t:8.2f} s  finite={ok!s:5}  lam/scale^3={est.lam_scipy_ / scale**3:.3e}  "
                               f"df={est.df_:7.1f}  rmse={rmse:.2e}  ({len(est.cv_alphas_)} fits)")
            except Exception as exc:  # report, do not hide
                t = time.perf_counter() - t0
                row["ours"] = f"{t:8.2f} s  raised {type(exc).__name__}: {exc}"
        skip.record("ours " + key, len(x), t)
        kinds = sorted({f"{w.category.__name__}: {str(w.message)[:60]}" for w in caught})
        if kinds:
            row["ours"] += "  warnings: " + "; ".join(kinds)
    if skip.predicted("scipy " + key, len(x)) > LIMIT:
        row["scipy"] = f"skipped (predicted {skip.predicted('scipy ' + key, len(x)):.0f} s > {LIMIT:.0f} s)"
    else:
        t0 = time.perf_counter()
        with scipy_gcv_lam() as seen, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                sp = make_smoothing_spline(x, y)
                t = time.perf_counter() - t0
                p = sp(x)
                ok = bool(np.all(np.isfinite(p)))
                rmse = np.sqrt(np.mean((p - f_true) ** 2))
                lam = f"{seen[-1] / scale**3:.3e}" if seen else "?"
                row["scipy"] = f"{t:8.2f} s  finite={ok!s:5}  lam/scale^3={lam}  rmse={rmse:.2e}"
            except Exception as exc:
                t = time.perf_counter() - t0
                row["scipy"] = f"{t:8.2f} s  raised {type(exc).__name__}: {str(exc)[:70]}"
        skip.record("scipy " + key, len(x), t)
    print(f"  {name}")
    print(f"     ours : {row['ours']}")
    print(f"     scipy: {row['scipy']}")
    return row


def gcv(sizes):
    print()
    print("(2) GCV: ours alpha='gcv' (RademacherUniform(bias_range=a), affine='free') vs "
          "make_smoothing_spline(lam=None); rmse to the noiseless function at the data")
    skip = Skipper()
    rows = []
    for m in sizes:
        x, y, u = data(m)
        rows.append(gcv_case(f"m={m}, noise 0.3", x, y, u, 1.0, 1.0, skip, m_key="size"))
    print("  hard data (m = 1000 unless said):")
    hard = Skipper()
    x, y, u = data(1000)
    rows.append(gcv_case("reference: noise 0.3, x in (-1, 1)", x, y, u, 1.0, 1.0, hard))
    rng = np.random.RandomState(1)
    u = np.sort(np.round(rng.uniform(-1, 1, 1000), 2))  # about 200 distinct values
    y = truth(u) + 0.3 * rng.standard_normal(len(u))
    rows.append(gcv_case(f"ties: x rounded to 0.01 ({len(np.unique(u))} distinct of {len(u)})", u, y, u,
                         1.0, 1.0, hard))
    for scale in (1e-6, 1e6):
        x, y, u = data(1000)
        rows.append(gcv_case(f"x scaled by {scale:g}", x * scale, y, u, scale, scale, hard))
    x, y, u = data(2000, noise=0.001)
    rows.append(gcv_case("low noise (0.001), m=2000", x, y, u, 1.0, 1.0, hard))
    print(f"   ({load_average()})")
    return rows


def main(quick=False):
    print_load("at start")
    print(f"bench_spline: csaps {'installed' if csaps is not None else 'NOT installed'}")
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000, 1_000_000)
    summary = fixed_lam(sizes)
    rows = gcv((1_000,) if quick else (1_000, 10_000, 100_000, 1_000_000))
    worst = max(s[1] / s[3] for s in summary if s[1] is not None)
    print(f"SUMMARY spline: fixed lam, ours / fastest of scipy and csaps up to {worst:.1f}x "
          f"(solve without leverages up to {max(s[2] / s[3] for s in summary):.1f}x)")
    return summary, rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
