"""Choosing the penalty: the ladder of ``alpha`` from a nearly affine fit to a
nearly interpolating one, on which the spline's GCV / leave-one-out search and
the networks' default cross-validation grid both run.

The scale of ``alpha`` is set by the data: with ``s = sum_i w_i K(x_i, x_i)``
(the weighted trace of the kernel), the smoother's eigenvalues are
``kappa_j / (kappa_j + alpha)`` with ``sum kappa_j <= s``, so at ``alpha = 1e4 s``
every penalised direction is shrunk by a factor above ten thousand: the fit is
its unpenalised (affine) part to about ``1e-4``.  Going down, the degrees of freedom ``df`` rise
monotonically to the number of distinct inputs (or to the rank of a finite
network), where the fit interpolates.  The ladder steps down by quarter
decades: ``df`` and the residuals are sums of terms ``kappa / (kappa + alpha)``,
each of which moves over about two decades of ``alpha``, so no minimum of a
criterion built from them is narrower than the steps.
"""

import numpy as np
from scipy import optimize

PER_DECADE = 4  # rungs per decade of alpha
AFFINE_END = 1e4  # the top rung, times the penalty scale: the fit is its affine part to 1e-4
MAX_DECADES = 60  # below 1e-57 of the scale every problem of double precision interpolates
NEAR_INTERPOLATION = 1e-3  # the ladder ends when df is within this fraction of its maximum


def penalty_scale(weights, diagonal):
    """``sum_i w_i K(x_i, x_i)``: the weighted trace of the kernel (1 if it vanishes)."""
    s = float(np.dot(weights, diagonal))
    return s if np.isfinite(s) and s > 0 else 1.0


def rung(scale, j):
    """The ``alpha`` of rung ``j`` (an int or an array of them): ``AFFINE_END * scale * 10**(-j / PER_DECADE)``."""
    return AFFINE_END * scale * 10.0 ** (-np.asarray(j) / PER_DECADE)


def rungs(scale, start, stop):
    """The rungs ``start <= j < stop`` of the ladder (:func:`rung`)."""
    return rung(scale, np.arange(start, stop))


def near_interpolation(df, df_max):
    """Whether ``df`` is within :data:`NEAR_INTERPOLATION` of its maximum ``df_max``."""
    return df >= df_max * (1.0 - NEAR_INTERPOLATION)


def ladder(scale, df_of, df_max, batch=PER_DECADE):
    """The rungs from the affine end down to near interpolation.

    Parameters
    ----------
    scale : float
        :func:`penalty_scale` of the data.
    df_of : callable
        ``df_of(alphas)`` -> degrees of freedom at each of ``alphas`` (called on
        one decade at a time, so a batched evaluation pays off).
    df_max : float
        The degrees of freedom of interpolation (distinct inputs, or the rank).

    Returns
    -------
    alphas, df : ndarray
        Decreasing ``alphas``, down to the first decade that reaches
        :func:`near_interpolation` (or :data:`MAX_DECADES`), and their ``df``.
    """
    alphas, dfs = [], []
    for start in range(0, MAX_DECADES * PER_DECADE, batch):
        a = rungs(scale, start, start + batch)
        d = np.asarray(df_of(a), dtype=float)
        alphas.append(a)
        dfs.append(d)
        if near_interpolation(float(np.max(d)), df_max):
            break
    return np.concatenate(alphas), np.concatenate(dfs)


FLAT = 1e-5  # relative change of a criterion over a decade below which its interpolation end is reached
CANDIDATE = 1.5  # local minima of the ladder within this factor of the best are refined
COARSE = 3 * PER_DECADE  # the first pass takes every COARSE-th rung: one per three decades
BATCH = 3  # rungs of the first pass per evaluation (one compiled call each)
FINE = 5  # points of the local grid between a candidate's neighbours


class Scores:
    """A criterion at some ``alphas`` and the two monotone parts that bound it.

    values : (na, k) the criterion per column (``inf`` where undefined)
    df : (na,) the degrees of freedom
    num, den : (na, k) and (na,) with ``values >= num / den**2``, both
        non-decreasing in ``alpha``, ``num`` by at most ``alpha**2`` and
        ``den`` by at most ``alpha`` (their logarithmic derivatives in
        ``log(alpha)`` lie in ``[0, 2]`` and ``[0, 1]``)
    """

    def __init__(self, values, df, num, den):
        self.values, self.df, self.num, self.den = values, df, num, den


def interval_bound(lo, hi, num_lo, num_hi, den_lo, den_hi):
    """The least value that ``num / den**2`` can take between ``alpha = lo < hi``.

    In ``t = log(alpha)`` the numerator is at least ``max(num_lo, num_hi
    exp(-2 (t_hi - t)))`` and the denominator at most ``min(den_hi, den_lo
    exp(t - t_lo))``; the ratio of these is piecewise exponential, so its least
    value is at an end or where one of the two switches.  Arrays broadcast
    (``num_*`` of shape (n, k), the rest (n,) or (n, 1)).
    """
    tl, th = np.log(lo), np.log(hi)
    shape = np.broadcast(num_lo, den_lo, tl).shape
    out = np.full(shape, np.inf)
    # a failed end (numerator 0, denominator inf) makes these inf or nan: then the
    # end points alone are tried, which is what is known
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t1 = th - 0.5 * np.log(num_hi / num_lo)
        t2 = tl + np.log(den_hi / den_lo)
        for t in (tl, th, t1, t2):
            t = np.clip(np.nan_to_num(np.broadcast_to(t, shape), nan=-np.inf), tl, th)
            num = np.maximum(num_lo, num_hi * np.exp(-2.0 * (th - t)))
            den = np.minimum(den_hi, den_lo * np.exp(t - tl))
            out = np.minimum(out, np.where(den > 0, num / den**2, np.inf))
    return np.where(np.isnan(out), -np.inf, out)


def _settled(values, df, df_max):
    """Whether the last of ``values`` (one row per rung of the first pass) ends
    the ladder at the interpolation end: ``df`` near its maximum and, in every
    column, the criterion settled (it changed by less than ``FLAT`` since the
    rung before) or at its rounding floor (the change did not shrink from the
    one before: on its way to the limit it shrinks as ``alpha`` does, tenfold
    a decade, so a change that no longer shrinks is rounding) or undefined."""
    if len(values) < 3 or not near_interpolation(float(df[-1]), df_max):
        return False
    last = values[-1]
    change, before = np.abs(last - values[-2]), np.abs(values[-2] - values[-3])
    return bool(np.all((change <= FLAT * np.abs(last)) | (change >= before) | ~np.isfinite(last)))


def minimise(scale, evaluate, df_max):
    """The global minimiser of a criterion over ``alpha``, per column.

    A branch and bound on the quarter-decade ladder (:func:`rungs`):

    1. one rung per three decades from the affine end down until ``df`` is
       near ``df_max`` and every column's criterion has settled to its
       interpolation limit (the criteria of a linear smoother tend to finite
       limits as ``alpha -> 0``, reached to ``FLAT`` when a rung changes them
       less) or its rounding floor (:func:`_settled`);
    2. every gap between evaluated rungs is halved, down to single rungs,
       unless the least value the criterion can take inside it (:func:`interval_bound`, from the
       monotone parts of :class:`Scores`) is above the best value found: such
       a gap cannot hold the minimum.  What remains is the quarter-decade
       ladder wherever the minimum can be;
    3. every local minimum of each column within ``CANDIDATE`` of its best
       rung is refined between its neighbours (:func:`_refine`).

    Parameters
    ----------
    scale : float
        :func:`penalty_scale` of the data.
    evaluate : callable
        ``evaluate(alphas) -> Scores``.
    df_max : float
        The degrees of freedom of interpolation.

    Returns
    -------
    best : ndarray of shape (k,)
        The minimising ``alpha`` of each column.
    best_values : ndarray of shape (k,)
    alphas : ndarray of shape (n_rungs,)
        The rungs evaluated, decreasing.
    values : ndarray of shape (n_rungs, k)
        The criterion on them.
    """
    seen = {}  # rung index -> (values (k,), df, num (k,), den)

    def run(indices):
        sc = evaluate(rung(scale, indices))
        for i, j in enumerate(indices):
            seen[j] = (np.where(np.isfinite(sc.values[i]), sc.values[i], np.inf), float(sc.df[i]),
                       sc.num[i], float(sc.den[i]))

    top = MAX_DECADES * PER_DECADE
    for start in range(0, top, BATCH * COARSE):
        run(list(range(start, min(start + BATCH * COARSE, top + 1), COARSE)))
        keys = sorted(seen)
        values, dfs = np.array([seen[j][0] for j in keys]), np.array([seen[j][1] for j in keys])
        # the first settled rung ends the ladder: the rungs of the batch beyond it
        # are dropped (deeper down only rounding changes the criterion)
        end = next((q for q in range(max(1, len(keys) - BATCH), len(keys))
                    if _settled(values[:q + 1], dfs[:q + 1], df_max)), None)
        if end is not None:
            for j in keys[end + 1:]:
                del seen[j]
            break
    while True:  # halve every gap that may hold the minimum, down to single rungs
        keys = np.array(sorted(seen))
        vals = np.array([seen[j][0] for j in keys])
        best = np.min(vals, axis=0)
        num = np.array([seen[j][2] for j in keys])
        den = np.array([seen[j][3] for j in keys])
        alphas = rung(scale, keys)
        # gap between keys[i] (larger alpha) and keys[i + 1] (smaller alpha)
        bound = interval_bound(alphas[1:, None], alphas[:-1, None], num[1:], num[:-1], den[1:, None], den[:-1, None])
        open_ = (np.diff(keys) > 1) & np.any(bound <= best[None, :], axis=1)
        if not np.any(open_):
            break
        run([int((keys[i] + keys[i + 1]) // 2) for i in np.flatnonzero(open_)])
    keys = sorted(seen)
    alphas = rung(scale, keys)
    values = np.array([seen[j][0] for j in keys])
    k = values.shape[1]
    best, best_values = np.empty(k), np.empty(k)
    for j in range(k):
        col = values[:, j]
        i_best = int(np.argmin(col))
        best[j], best_values[j] = alphas[i_best], col[i_best]
        if not np.isfinite(col[i_best]):
            continue
        padded = np.concatenate([[np.inf], col, [np.inf]])
        local = np.flatnonzero((padded[1:-1] <= padded[:-2]) & (padded[1:-1] <= padded[2:]))
        for i in local[col[local] <= CANDIDATE * col[i_best]]:
            a, v = _refine(evaluate, alphas, col, i, j)
            if v < best_values[j]:
                best[j], best_values[j] = a, v
    return best, best_values, alphas, values


def _refine(evaluate, alphas, col, i, j):
    """The minimum of column ``j`` between the neighbours of rung ``i``: a local
    grid of ``FINE`` points in one evaluation, then the vertex of the parabola
    through the best of them and its neighbours (the criterion is smooth, so its
    error there is of fourth order in the local spacing)."""
    lo, hi = np.log(alphas[min(i + 1, len(col) - 1)]), np.log(alphas[max(i - 1, 0)])
    t = np.concatenate([[lo], np.linspace(lo, hi, FINE + 2)[1:-1], [hi]])
    v = np.concatenate([[col[min(i + 1, len(col) - 1)]], evaluate(np.exp(t[1:-1])).values[:, j],
                        [col[max(i - 1, 0)]]])
    b = int(np.argmin(v))
    best_t, best_v = t[b], v[b]
    if 0 < b < len(t) - 1 and np.all(np.isfinite(v[b - 1:b + 2])):
        (t0, t1, t2), (v0, v1, v2) = t[b - 1:b + 2], v[b - 1:b + 2]
        p, q = (t1 - t0) * (v1 - v2), (t1 - t2) * (v1 - v0)
        if q - p != 0:  # the vertex of the parabola through the three points
            vertex = float(np.clip(t1 - 0.5 * ((t1 - t0) * p - (t1 - t2) * q) / (p - q), t0, t2))
            vv = float(evaluate(np.array([np.exp(vertex)])).values[0, j])
            if vv < best_v:
                best_t, best_v = vertex, vv
    return float(np.exp(best_t)), float(best_v)


DF_TOL = 1e-10  # relative accuracy of a target df (the fit reports it to 1e-8)


def solve_df(scale, df_of, target):
    """The ``alpha`` whose fit has ``target`` degrees of freedom.

    ``df`` falls monotonically as ``alpha`` grows, so the ladder brackets the
    target and a root finder on ``log(alpha)`` closes in on it.

    Parameters
    ----------
    scale : float
        :func:`penalty_scale` of the data.
    df_of : callable
        ``df_of(alpha) -> df`` at one ``alpha``.
    target : float
        Strictly between the degrees of freedom of the affine fit and of
        interpolation (the caller checks).

    Returns
    -------
    float
    """
    hi = np.log(AFFINE_END * scale)
    if df_of(np.exp(hi)) >= target:
        raise ValueError(f"df={target:g} is at or below the degrees of freedom of the affine fit.")
    lo = hi
    for _ in range(MAX_DECADES):
        lo -= np.log(10.0)
        if df_of(np.exp(lo)) >= target:
            break
        hi = lo
    else:
        raise ValueError(f"df={target:g} is not reached above {np.exp(lo):.3g}: too close to interpolation.")

    def gap(log_alpha):
        return df_of(np.exp(log_alpha)) - target

    root = optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=200)
    return float(np.exp(root))
