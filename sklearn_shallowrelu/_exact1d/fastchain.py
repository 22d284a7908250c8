"""Fitted values and leverages of the exact 1-D engine for many ``alpha`` at
once: a Kalman filter and smoother in ``O(m)`` per ``alpha``, compiled
(``_fastchain.pyx``), for the search of ``SmoothingSplineEquivalent(alpha='gcv'
| 'loo')``.  The same problem as :func:`sklearn_shallowrelu._exact1d.solve`
(``doc/theory.md``, sections 2 and 5), solved by another elimination of the same
equations.

**The problem as a Gaussian model.**  In the units of :func:`.chain.free_system`
(inputs over ``sigma = x_m - x_1``, knot masses over their total) the problem is,
up to the factor ``alpha``::

    minimise  sum_i (y_i - f_i)^2 / H_i + sum_k t_k^2 / q_k,      H_i = alpha / (mass w_i),

whose minimiser is the posterior mean of the model with independent jumps
``t_k ~ N(0, q_k)`` and noises ``y_i - f_i ~ N(0, H_i)``.  On the chain (a free
affine part, every unit taken as right-facing) the state ``s_i = (f(x_i),
f'(x_i))`` moves over gap ``i`` as ``s_{i+1} = T(h_i) s_i + D_i`` with the gap's
increment ``D_i ~ N(0, M_i)``, ``M_i = [[M2, M1], [M1, M0]]`` its moments
(``M_i`` is singular for a gap of a finite network with fewer than two knots;
nothing below inverts it).  The smoother matrix is ``S = d f / d y`` and the
leverage ``S_ii = Var(f_i | y) / H_i``.

**The filter.**  From a known initial state (below) the covariance form needs no
inverse but the scalar innovation variance ``F_i = P_00 + H_i`` (``P`` the
covariance of ``s_i`` given ``y_1 .. y_{i-1}``)::

    v_i = y_i - a_i[0],   g = P[:, 0] / F_i,   filtered: a_i + g v_i,  C = P - g P[0, :]
    a_{i+1} = T(h_i) (a_i + g v_i),           P_{i+1} = T C T^T + M_i.

Near interpolation ``H_i`` is tiny and ``P - g P[0, :]`` would cancel, so the
2 x 2 update is written without subtraction, ``C = [[P00 H, P01 H], [P01 H, det P
+ P11 H]] / F``, and ``det P`` is carried along as a sum of non-negative terms,
``det P_{i+1} = det C + det M_i + tr(adj(C) T^-1 M_i T^-T)``, the last with the
gap's moments about its left end (``h M0 - M1``, ``M2 - 2 h M1 + h^2 M0``).  For
the same reason the filtered value is the convex combination ``(H_i a_i[0] + P00
y_i) / F_i``, not ``a_i[0] + g_0 v_i``.  All variances (``H``, the moments and
the border's) are multiplied by one power of two that brings ``H`` and the unit
moments to the geometric mean of their scales; the posterior does not change
and the scaling is exact, but at ``alpha = 1e-150`` the products of two or three
variances stay far from underflow.

**The smoother.**  The residual is ``y_i - f_i = H_i u_i`` and the multiplier of
gap ``i`` (the chain's ``mult``) is the adjoint ``r_i``, from the backward
recursion (de Jong's; with ``rho_i = T(h_i)^T r_i``)::

    u_i = v_i / F_i - g . rho_i,     r_{i-1} = rho_i + (u_i, 0),
    smoothed state  a_i + g v_i + C rho_i   (its value is f_i, without cancellation at either end),

and the variance of the adjoint ``N_{i-1} = e_0 e_0^T / F_i + J^T (T^T N_i T) J``,
``J = I - g e_0^T`` (``1 - g_0 = H_i / F_i`` exactly), gives ``Var(u_i) = D_i =
1 / F_i + g^T (T^T N_i T) g`` and the leverage ``1 - H_i D_i`` (no inverse of
``P`` or ``M``).

**The free initial state and the border, as parameters.**  The filter above
starts from ``s_1 = 0`` exactly (``P_1 = 0``).  What the problem leaves free
enters linearly as parameters ``theta``: the initial state ``delta = s_1`` (two
columns, each run through the same filter with no data and initial mean
``e_0`` or ``e_1``), and for ``affine='free_constant' | 'penalized'`` the
multiplier ``mu`` of :mod:`.bordered`'s border (one or two columns with no data
and the forcing ``N_b mu`` in the transition of each gap).  By linearity the
innovations are ``v^y + V theta``, and the problem's value for fixed ``theta``
is ``W(theta) = sum_i (v^y_i + V_i theta)^2 / (2 F_i)`` (the Gaussian marginal
of ``y``), whose Gram matrix accumulates during the filter.  With the border's
own terms from :mod:`.bordered` (the Lagrangian ``W + mu . delta - mu^T M00 mu
/ 2``, ``mu = (0, mu_1)`` with a free constant) the stationarity conditions are
one symmetric system of ``2 + nb`` unknowns::

    B theta = -sum_i V_i^T v^y_i / F_i,
    B = sum_i V_i^T V_i / F_i + [[0, E], [E^T, -M00]],

the augmented filter of de Jong for the free state, Lagrange's border for the
rest.  Every column is smoothed by the same backward pass; the fit is the
columns combined, ``u = u^y + U theta``.  Since ``d W / d y_i = u_i``, the
derivative of the right-hand side in ``y_i`` is ``U_i``, and the exact
leverages are::

    S_ii = 1 - H_i (D_i - U_i^T B^-1 U_i),

the correction of the free state positive, the border's negative (the
:mod:`.bordered` rank-``nb`` correction, here together with the free state's).
The loo denominators ``1 - s S_ii`` of a sample with share ``s`` of its pooled
point are formed as ``(1 - s) + s H_i (D_i - ...)``, without cancellation in the
first term near interpolation.

``B`` is solved by LU with complete pivoting: near interpolation its entries
span up to 200 decades, and complete pivoting eliminates the best determined
parameter first.

Cost per ``alpha``: two passes with 2 x 2 algebra, one division per point, and
a ``(2 + nb)`` solve; no Python per ``alpha`` in :func:`scan`.

Accuracy (against the numpy engine, and the 30- and 60-digit references of the
tests): within the engine's own bound ``C eps kappa`` everywhere tested, and
closer to the references than the banded LU where that loses digits (the
interpolation limit with gaps of 1e-9 of the range, where the LU's ``f - y`` is
1e-9; the penalised affine part at large ``alpha``, where its fit is 1e-8 off in
relative terms).  Where it falls short: the residual ``H u`` of the first point
near interpolation (the free state's column cancels the data's there; the
other residuals keep full relative accuracy, where ``y - f`` is all rounding),
inputs spread far beyond the knots with a penalised affine part (Gaussian
knots, inputs of range 2e3: 2e-11 relative against the LU's 1e-12, with ``B``
of condition 1e14; at range 2e4 both lose 1e-9), where the border's multiplier
is large and its columns cancel, and the smoothed slopes (with the second
component of the multipliers) inside clusters of nearly tied inputs near
interpolation: against a 50-digit solve of the banded system, at ``alpha =
1e-12`` times the penalty scale they are 500 to 3000 ``eps kappa`` off (the LU
1 to 12), about 4e-11 relative, growing as ``alpha`` falls (4e4 ``eps kappa``
at 1e-14), while the values, the first multipliers and the leverages keep the
bound.
"""

import numpy as np

from ._fastchain import Kernel
from ._search import Criterion
from .bordered import _border
from .chain import free_solution, rescaled
from .options import INTERPOLATION_ALPHA, check_affine

__all__ = ["Scanner", "fit_values", "scan", "solve_free"]

_GAP = 7  # per gap: h, M2, M1, M0, ME1, ME2, det M (the kernel's layout)


def _problem(xs, Y, weights, mom, affine):
    """The kernel for one problem, its targets as a C array, the scale ``1 /
    (mass mean(w))`` of ``H`` and the units ``sigma``, ``mass`` of
    :func:`.chain.rescaled`."""
    check_affine(affine)
    xs = np.asarray(xs, float)
    m = len(xs)
    Y = np.require(np.asarray(Y, float).reshape(m, -1), float, ["C", "W"])
    weights = np.asarray(weights, float)
    sigma, h, M, mass = rescaled(xs, mom.M[:, 1:])  # the units of chain.free_system
    comps = {"free": [], "free_constant": [1], "penalized": [0, 1]}[affine]
    forc = np.zeros((m, max(2 * len(comps), 1)))
    M00 = np.zeros((2, 2))
    if comps:
        N, M00 = _border(xs, mom, sigma, mass)
        for j, c in enumerate(comps):
            forc[:-1, 2 * j:2 * j + 2] = N[:, :, c]
        M00 = M00[np.ix_(comps, comps)]
    wbar = float(weights.sum()) / m
    kernel = Kernel(np.ascontiguousarray(h), np.ascontiguousarray(M), forc, wbar / weights, Y,
                    np.ascontiguousarray(M00, dtype=float), np.asarray(comps, dtype=np.int64))
    return kernel, Y, 1.0 / (mass * wbar), sigma, mass


def fit_values(xs, Y, weights, mom, alpha, affine):
    """Fitted values and leverages of the exact engine at one ``alpha``.

    Parameters
    ----------
    xs : ndarray of shape (m,)
        Sorted distinct inputs, ``m >= 2``.
    Y : ndarray of shape (m, k)
        Targets (weighted means of tied samples).
    weights : ndarray of shape (m,)
        Positive weights (sums over tied samples).
    mom : ChainMoments
        ``measure.chain_moments(xs)`` of a :class:`.Knots` or :class:`.Continuum`.
    alpha : float >= 0
        The penalty; 0 is the interpolation limit (:data:`.INTERPOLATION_ALPHA`).
    affine : {'free_constant', 'penalized', 'free'}

    Returns
    -------
    fitted : ndarray of shape (m, k)
    leverages : ndarray of shape (m,)

    Raises
    ------
    numpy.linalg.LinAlgError
        On a singular or non-finite pivot.
    """
    kernel, _, scale, _, _ = _problem(xs, Y, weights, mom, affine)
    alpha = INTERPOLATION_ALPHA if alpha <= 0 else float(alpha)  # nan stays nan: it fails below
    try:
        fitted, _, lev, _ = kernel.evaluate(alpha * scale)
    except FloatingPointError as exc:
        raise np.linalg.LinAlgError(f"The fast chain hit a singular pivot at alpha={alpha!r}.") from exc
    if not (np.all(np.isfinite(fitted)) and np.all(np.isfinite(lev))):
        raise np.linalg.LinAlgError(f"The fast chain's fit is not finite at alpha={alpha!r}.")
    return fitted, lev


def solve_free(xs, Y, weights, mom, alpha):
    """The ``affine='free'`` problem by the filter and smoother: the same
    :class:`.chain.Solution`, leverages included, as :func:`.chain.solve_free`
    (the smoothed states are its states, the adjoints its multipliers), in
    ``O(m)`` without the band matrix.

    Parameters and raises as :func:`fit_values`.

    Returns
    -------
    chain.Solution
    """
    return _free_solution(xs, *_problem(xs, Y, weights, mom, "free"), alpha)


def _free_solution(xs, kernel, Y, scale, sigma, mass, alpha):
    alpha = INTERPOLATION_ALPHA if alpha <= 0 else float(alpha)  # nan stays nan: it fails below
    try:
        fitted, slope, mult, lev = kernel.states(alpha * scale)
    except FloatingPointError as exc:
        raise np.linalg.LinAlgError(f"The fast chain hit a singular pivot at alpha={alpha!r}.") from exc
    return free_solution(xs, mult, np.stack([fitted, slope], axis=1), sigma, mass, lev)


class Scanner:
    """The criteria of one problem at any ``alpha``, and their searches: the
    problem's arrays are built once, and every call runs its ``alpha`` (or a
    whole search) in one compiled loop (:class:`._search.Criterion`, no Python
    per ``alpha``).

    Parameters
    ----------
    xs, Y, weights, mom, affine : as in :func:`fit_values`
    group : ndarray of int of shape (n,)
        The pooled index of each original sample.
    sw : ndarray of shape (n,)
        The samples' weights (zero allowed: no term).
    Ys : ndarray of shape (n, k)
        The original targets.

    Attributes
    ----------
    criterion : _search.Criterion
        ``scores``, ``minimise`` and ``solve_df`` (:mod:`.._selection` calls them).
    """

    def __init__(self, xs, Y, weights, mom, affine, group, sw, Ys):
        self._xs, self._affine = xs, affine
        self._problem = _problem(xs, Y, weights, mom, affine)
        kernel, Y, scale, _, _ = self._problem
        # the kernel's memoryviews need writable buffers: a read-only input (a memmap) is copied
        group = np.require(group, np.int64, ["C", "W"])
        sw = np.require(sw, float, ["C", "W"])
        weights = np.require(weights, float, ["C", "W"])
        Ys = np.asarray(Ys, float).reshape(len(group), -1)
        self.criterion = Criterion(kernel, scale, INTERPOLATION_ALPHA, weights, group, sw, Ys)

    def solve_free(self, alpha):
        """:func:`solve_free` of the problem (``affine='free'``) with its kernel."""
        if self._affine != "free":
            raise ValueError(f"solve_free solves affine='free'; this problem has affine={self._affine!r}.")
        return _free_solution(self._xs, *self._problem, alpha)

    def scan(self, alphas):
        """The sums behind GCV and exact leave-one-out at each of ``alphas`` (na,).

        Returns
        -------
        rss : ndarray of shape (na, k)
            ``sum_g weights_g (Y_g - fitted_g)^2`` over the pooled points (the
            within-group spread of tied samples not included).
        trace : ndarray of shape (na,)
            The sum of the leverages.
        free : ndarray of shape (na,)
            ``sum_g (1 - lev_g)``, each term formed directly: ``m - trace``
            without its cancellation near interpolation (GCV's denominator).
        loo : ndarray of shape (na, k)
            ``sum_i sw_i (Ys_i - fitted_{g_i})^2 / (1 - sw_i / weights_{g_i} lev_{g_i})^2``,
            ``inf`` where a denominator is not positive.
        widest : ndarray of shape (na,)
            The largest of those denominators ``1 - sw_i / weights_{g_i} lev_{g_i}``
            over the samples of positive weight (a lower bound of ``loo`` is
            ``(rss + within) / widest^2``).

        An ``alpha <= 0`` is the interpolation limit.  An ``alpha`` whose
        evaluation meets a singular or non-finite pivot gets ``inf`` in
        ``rss``, ``trace``, ``loo`` and ``widest``, and 0 in ``free``.
        """
        return self.criterion.scan(np.asarray(alphas, float).ravel())


def scan(xs, Y, weights, mom, alphas, affine, group, sw, Ys):
    """:meth:`Scanner.scan` of a problem at ``alphas``, in one call."""
    return Scanner(xs, Y, weights, mom, affine, group, sw, Ys).scan(alphas)
