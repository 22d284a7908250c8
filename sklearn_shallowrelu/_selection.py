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


def minimise(criterion, scale, loo, shared, df_max):
    """The global minimiser of a criterion over ``alpha``, per column.

    A branch and bound on the quarter-decade ladder (:func:`rungs`):

    1. one rung per three decades from the affine end down until ``df`` is
       near ``df_max`` and every column's criterion has settled to its
       interpolation limit or its rounding floor: the criteria of a linear
       smoother tend to finite limits as ``alpha -> 0``, reached to ``FLAT``
       when a rung changes them less; on the way the change shrinks as
       ``alpha`` does, tenfold a decade, so a change that no longer shrinks
       from one rung to the next is rounding (an undefined criterion also
       counts as settled);
    2. every gap between evaluated rungs is halved, down to single rungs,
       unless the least value the criterion can take inside it
       (:func:`._exact1d._search.interval_bound`, from the monotone parts of
       :class:`Scores`) is above the best value found: such a gap cannot hold
       the minimum.  What remains is the quarter-decade ladder wherever the
       minimum can be;
    3. every local minimum of each column within ``CANDIDATE`` of its best
       rung is refined between its neighbours: a local grid of ``FINE``
       points, then the vertex of the parabola through the best of them and
       its neighbours (the criterion is smooth, so its error there is of
       fourth order in the local spacing).

    The bound: in ``t = log(alpha)`` the numerator of :class:`Scores` is at
    least ``max(num_lo, num_hi exp(-2 (t_hi - t)))`` inside a gap and the
    denominator at most ``min(den_hi, den_lo exp(t - t_lo))``; their ratio is
    piecewise exponential, so its least value is at an end or where one of the
    two switches.  A failed evaluation (numerator 0, denominator ``inf``)
    bounds nothing, so the gaps beside it stay open.

    The search runs in compiled code (:meth:`._exact1d._search.Criterion.minimise`):
    at 100 points a return to Python per batch of rungs cost ten times the
    evaluations.  Where the CPU has AVX2 it evaluates four rungs at once (the
    first pass four ahead, dropping those past its end; each halving's gaps
    and each local grid together), with the same results to the last bit as
    one at a time (:func:`._exact1d._fastchain._evaluate_lanes`).

    Parameters
    ----------
    criterion : _exact1d._search.Criterion
        The problem's criteria (:class:`._exact1d.fastchain.Scanner`).
    scale : float
        :func:`penalty_scale` of the data.
    loo : bool
        Leave-one-out if true, else GCV.
    shared : bool
        One ``alpha`` for all columns, minimising the summed criterion.
    df_max : float
        The degrees of freedom of interpolation.

    Returns
    -------
    best : ndarray of shape (k,)
        The minimising ``alpha`` of each column (one if ``shared``).
    best_values : ndarray of shape (k,)
    alphas : ndarray of shape (n_rungs,)
        The rungs evaluated, decreasing.
    values : ndarray of shape (n_rungs, k)
        The criterion on them.
    """
    best, best_values, keys, values = criterion.minimise(
        AFFINE_END * scale, bool(loo), bool(shared), float(df_max), PER_DECADE, MAX_DECADES * PER_DECADE,
        NEAR_INTERPOLATION, FLAT, CANDIDATE, COARSE, FINE)
    return best, best_values, rung(scale, keys), values


def solve_df(criterion, scale, target):
    """The ``alpha`` whose fit has ``target`` degrees of freedom.

    ``df`` falls monotonically as ``alpha`` grows, so the first decade below
    the affine end that reaches the target brackets it (four decades tested at
    once where the CPU has AVX2), and Brent's method on ``log(alpha)`` closes
    in on it (to ``1e-14`` in ``log(alpha)``), in compiled code
    (:meth:`._exact1d._search.Criterion.solve_df`).

    Parameters
    ----------
    criterion : _exact1d._search.Criterion
        The problem's criteria (:class:`._exact1d.fastchain.Scanner`).
    scale : float
        :func:`penalty_scale` of the data.
    target : float
        Strictly between the degrees of freedom of the affine fit and of
        interpolation (the caller checks).

    Returns
    -------
    float
    """
    return criterion.solve_df(AFFINE_END * scale, float(target), MAX_DECADES, 1e-14,
                              4 * np.finfo(float).eps, 200)
