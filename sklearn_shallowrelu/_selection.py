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


def rungs(scale, start, stop):
    """The rungs ``start <= j < stop`` of the ladder: ``AFFINE_END * scale * 10**(-j / PER_DECADE)``."""
    return AFFINE_END * scale * 10.0 ** (-np.arange(start, stop) / PER_DECADE)


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
LOG_TOL = 1e-3  # the refinement's tolerance in log(alpha): the criterion is quadratic there, so 1e-6 relative


def _flat(values, dfs, df_max):
    """Whether the ladder has reached the interpolation end: ``df`` near its
    maximum and every column's criterion settled (or undefined) over the last decade."""
    if len(values) <= PER_DECADE or not near_interpolation(float(dfs[-1]), df_max):
        return False
    last, before = values[-1], values[-1 - PER_DECADE]
    settled = np.abs(last - before) <= FLAT * np.abs(last)
    return bool(np.all(settled | ~np.isfinite(last)))


def minimise(scale, evaluate, df_max):
    """The global minimiser of a criterion over ``alpha``, per column.

    The ladder (:func:`rungs`) runs from the affine end down until ``df`` is
    near ``df_max`` and every column's criterion has settled to its
    interpolation limit (the criteria of a linear smoother tend to finite limits
    as ``alpha -> 0``, reached to ``FLAT`` when a decade changes them less); then
    every local minimum of each column within ``CANDIDATE`` of the column's best
    rung is refined by a bounded scalar search between its neighbours.

    Parameters
    ----------
    scale : float
        :func:`penalty_scale` of the data.
    evaluate : callable
        ``evaluate(alphas) -> (values (na, k), df (na,))``; a value is ``inf``
        where the criterion is undefined (a singular fit, a leverage of one).
    df_max : float
        The degrees of freedom of interpolation.

    Returns
    -------
    best : ndarray of shape (k,)
        The minimising ``alpha`` of each column.
    best_values : ndarray of shape (k,)
    alphas : ndarray of shape (n_rungs,)
        The ladder, decreasing.
    values : ndarray of shape (n_rungs, k)
        The criterion on it.
    """
    alphas, values, dfs = [], [], []
    for start in range(0, MAX_DECADES * PER_DECADE, PER_DECADE):
        a = rungs(scale, start, start + PER_DECADE)
        v, d = evaluate(a)
        alphas.extend(a)
        values.extend(np.where(np.isfinite(v), v, np.inf))
        dfs.extend(d)
        if _flat(np.asarray(values), np.asarray(dfs), df_max):
            break
    alphas, values = np.asarray(alphas), np.asarray(values)
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
            lo, hi = np.log(alphas[min(i + 1, len(col) - 1)]), np.log(alphas[max(i - 1, 0)])
            if hi <= lo:
                continue

            def score(log_alpha, j=j):
                return float(evaluate(np.array([np.exp(log_alpha)]))[0][0, j])

            res = optimize.minimize_scalar(score, bounds=(lo, hi), method="bounded",
                                           options={"xatol": LOG_TOL})
            if np.isfinite(res.fun) and res.fun < best_values[j]:
                best[j], best_values[j] = float(np.exp(res.x)), float(res.fun)
    return best, best_values, alphas, values


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
