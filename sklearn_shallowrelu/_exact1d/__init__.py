"""The exact 1-D engine: ridge on ReLU units with knots, at finite or infinite
width, as banded systems over the sorted data, in ``O(m)`` after sorting.

Every 1-D fit of the package that has a closed form goes through :func:`solve`:
the finite-width ridge of ``RandomFeatureReLURegressor(algorithm='knots')``,
the spline of ``SmoothingSplineEquivalent`` (its fits, leverages and
cross-validation), and each Newton step of the mirror-descent limits
(:mod:`.bregman`).  It takes pooled data, a knot measure and a penalty, and
returns a :class:`Fit` (fitted values, intercept, leverages, the jumps of a
network, evaluation with derivatives anywhere).

The problem (``doc/theory.md``, sections 2 and 5).  ``f(x) = c + sum_k t_k
relu(s_k (x - xi_k))`` with knots ``xi_k``, directions ``s_k = +-1`` and the
penalty ``alpha sum_k t_k^2 / q_k``::

    minimise  sum_i weights_i (y_i - f(x_i))^2 + alpha sum_k t_k^2 / q_k,

which is scikit-learn's ridge on the random features ``relu(w x + b) /
sqrt(n)`` with ``t_k = v_k |w_k| / sqrt(n)`` and ``q_k = w_k^2 / n``.  At
infinite width the knot measure ``sum_k q_k delta_{xi_k}`` becomes the
curvature weights ``g_+(c) dc`` and ``g_-(c) dc`` of an initialisation, and
the same problem is kernel ridge regression with its kernel: a weighted cubic
smoothing spline.

The map of the folder:

==============  ==============================================================
``moments``     what a solver needs of a knot measure: its moments per gap
``continuum``   those moments at infinite width (quadrature of ``g_+-``), and
                evaluation of an infinite-width fit between the data
``chain``       the free-affine chain, 4 unknowns per point: the core system
``bordered``    the chain bordered by the penalised affine part (2 unknowns):
                the fast path for ``'free_constant'`` and ``'penalized'``
``general``     the same problem with 8 unknowns per point: the fallback when
                the bordered chain fails its certificate
``banded``      LAPACK band storage, pivoted banded LU, and the diagonal of the
                inverse by block cyclic reduction (the leverages' fallback)
``fastchain``   the same problem as a Kalman filter and smoother, compiled
                (``_fastchain.pyx``): the leverages of :func:`solve` and its
                whole fit for a free affine part; the criteria of the
                smoothing search and the search itself (``_search.pyx``)
``options``     the affine options and the engine's constants
``network``     sorting, pooling ties, the jumps of any knots, evaluation of a
                finite network by prefix sums
``bregman``     non-quadratic penalties (mirror-descent limits): a dual Newton
                method whose every step is one call of :func:`solve`
``operator``    the random-feature design of 1-D inputs as an ``O(m + n)``
                operator, for the iterative (descent) solvers
==============  ==============================================================

Which system runs (one rule, here): a free affine part is the chain alone,
solved by the filter and smoother (the band matrix at a singular pivot); a
free constant or a penalised affine part is the bordered chain.  A finite
network's fit is certified: the network rebuilt from its jumps (block sums,
independent of the states) must reproduce the solve's fitted values to
``CERTIFICATE_TOL`` relative; if not, the general system is tried, and if that
fails too :class:`InaccurateFit` carries the better attempt to the caller (the
estimator then falls back to its dense solvers).  An infinite-width fit has no
representation besides the states, so there is nothing independent to check it
against at run time; its accuracy is established in the tests against 50- and
60-digit references.  The Newton steps of :mod:`.bregman` are not certified
either: Newton's own residual, checked at every iteration, certifies the result.
"""

import numpy as np

from . import _prepare, bordered, fastchain, general
from .chain import solve_free
from .continuum import Combined, chain_moments, evaluate
from .moments import Blocks, from_gap_moments, kernel_diagonal, knot_gaps, knot_moments
from .network import PiecewiseLinear, knot_jumps, sort_order
from .options import AFFINE, CERTIFICATE_TOL, INTERPOLATION_ALPHA, check_affine, network_affine

__all__ = ["AFFINE", "CERTIFICATE_TOL", "INTERPOLATION_ALPHA", "Continuum", "Fit", "InaccurateFit", "Knots",
           "check_affine", "discrepancy", "network_affine", "solve"]

class Knots:
    """A finite knot measure ``sum_k q_k delta_{xi_k}``: a network's units.

    Parameters
    ----------
    knots : ndarray of shape (n,)
        ``-b_k / w_k``; with ``presorted=True`` ascending (then the fit is
        certified and its jumps come from block sums in ``O(n + m)``).
    q : ndarray of shape (n,)
        Masses ``w_k^2 / n`` (the penalty of unit ``k`` is ``alpha t_k^2 / q_k``).
    right : ndarray of bool of shape (n,)
        Right-facing units (``w_k > 0``).
    presorted : bool, default=False
    """

    def __init__(self, knots, q, right, presorted=False):
        self.knots, self.q, self.right, self.presorted = knots, q, right, presorted
        self._moments = None

    def chain_moments(self, xs):
        """The :class:`.moments.ChainMoments` on the sorted data ``xs``."""
        if self._moments is None or self._moments.xs is not xs:  # the solve, its jumps and states share it
            self._moments = (Blocks(xs, self.knots, self.q, self.right) if self.presorted else
                            from_gap_moments(xs, knot_moments(xs, self.knots, self.q, self.right)))
        return self._moments

    def gap_moments(self, xs):
        """The :class:`.moments.GapMoments` (the general system's input)."""
        gap = self.chain_moments(xs).block - 1 if self.presorted else None
        return knot_moments(xs, self.knots, self.q, self.right, gap)

    def kernel_diagonal(self, xs):
        """``K(x_i, x_i) = sum_k q_k relu(s_k (x_i - xi_k))^2`` at the sorted ``xs`` (m,).

        The squared row norms of the network's features (the units with a
        knot): the weighted trace of this kernel sets the scale of ``alpha``
        (:func:`..._selection.penalty_scale`).  ``O(n + m)`` for presorted
        knots (one ``searchsorted`` of the data into them), ``O(n log m)``
        otherwise; never the ``m x n`` features.

        The knots' moments are summed by the point where they enter the data
        and carried from point to point with non-negative terms
        (:func:`.moments.kernel_diagonal`), so the diagonal keeps full relative
        accuracy far from the origin.
        """
        xs = np.ascontiguousarray(xs, dtype=float)
        m = len(xs)
        if self.presorted:  # gap j: x_j <= xi < x_{j+1} (-1 left of x_1, m-1 from x_m on)
            pos = np.searchsorted(self.knots, xs, side="left")
            gap = np.repeat(np.arange(-1, m), np.diff(pos, prepend=0, append=len(self.knots)))
        else:
            gap = knot_gaps(xs, self.knots)
        # a right-facing knot of gap j enters at x_{j+1} (those left of x_1 at x_1), a
        # left-facing one at x_j (those right of x_m at x_m); a knot on a data point
        # adds zero there; the right-facing knots right of x_m and the left-facing ones
        # left of x_1 never act on the data
        entry = np.where(self.right, gap + 1, gap)
        blocks = []
        for side, sign in ((self.right, 1.0), (~self.right, -1.0)):
            side = side & (entry >= 0) & (entry < m)
            e = entry[side]
            d = sign * (xs[e] - self.knots[side])  # from the point of entry: >= 0
            q = self.q[side]
            # (float even without knots, where bincount's sums would be integers)
            blocks.append(np.array([np.bincount(e, weights=q * d**k, minlength=m) for k in range(3)], dtype=float))
        return _prepare.kernel_diagonal(xs, *blocks)


class Continuum:
    """The curvature weights ``g_+-`` of an initialisation: the infinite-width measure.

    Its moments on given data are computed once (quadrature) and reused by
    every solve on those data, as a search over ``alpha`` needs.
    """

    def __init__(self, init):
        self.init = init
        self._cache = (None, None)

    def chain_moments(self, xs):
        """The :class:`.moments.ChainMoments` of ``g_+-`` on the sorted data ``xs``."""
        if self._cache[0] is not xs:
            self._cache = (xs, chain_moments(self.init, xs))
        return self._cache[1]

    def kernel_diagonal(self, xs):
        """``K(x_i, x_i)`` of the limit kernel at the sorted ``xs`` (:func:`.moments.kernel_diagonal`)."""
        return kernel_diagonal(xs, self.chain_moments(xs).gaps)


class Fit:
    """A solved problem on the pooled data ``xs``.

    Attributes
    ----------
    fitted : ndarray of shape (m, k)
        ``f`` at ``xs``, its free constant included.
    intercept : ndarray of shape (k,)
        The free constant (zero unless ``affine='free_constant'``).
    leverages : ndarray of shape (m,) or None
        The diagonal of the smoother, if asked for.
    system : {'chain', 'bordered', 'general'}
        Which banded system solved it.
    discrepancy : float or None
        The certificate (finite networks with ``certify=True``).
    """

    def __init__(self, xs, measure, affine, system, raw, states=None):
        self.xs, self.measure, self.affine, self.system = xs, measure, affine, system
        self._raw, self._states = raw, states  # the bordered form (chain and border), the states form
        source = raw if raw is not None else states
        self.fitted, self.intercept = source.fitted, source.intercept
        self.leverages = getattr(source, "leverages", None)
        self.discrepancy = None
        self._jumps = None

    @property
    def states(self):
        """The states form (:class:`.chain.Solution`): right- and left-facing parts
        apart, with their multipliers, as evaluation and :meth:`dual` read them."""
        if self._states is None:
            self._states = bordered.to_solution(self.xs, self.measure.chain_moments(self.xs), self._raw)
        return self._states

    def _bordered_form(self):
        """The solution as chain and border (the chain's own has no border: ``mult_0 = 0``)."""
        if self._raw is None:
            sol = self._states
            mult = np.zeros((len(self.xs) + 1, 2, sol.fitted.shape[1]))
            mult[1:-1] = sol.mult_right[1:]
            self._raw = bordered.BorderedSolution(mult, sol.fitted, sol.R[:, 1], sol.intercept, sol.leverages)
        return self._raw

    def affine_part(self):
        """The fit's own affine part per output (2, k): (value at ``x_1``, slope)
        with a free affine part (no outer knots then), else (constant, 0)."""
        if self.affine != "free":
            return np.stack([self.intercept, np.zeros_like(self.intercept)])
        R = self.states.R[0]
        out = np.stack([R[0] + self.intercept, R[1]])
        if self.system == "chain":
            # The chain treats a left-facing unit as a right-facing one: t relu(xi - x)
            # = t relu(x - xi) - t (x - xi), so the network's own affine part is
            # the chain's plus sum t (x - xi) over the left-facing units.
            if not isinstance(self.measure, Knots):
                raise NotImplementedError("The affine part of an infinite-width fit with affine='free' "
                                          "is that of all units taken as right-facing; see .continuum.Combined.")
            left = ~self.measure.right
            t = self.jumps()[left]
            out[0] += (self.xs[0] - self.measure.knots[left]) @ t
            out[1] += t.sum(axis=0)
        return out

    def jumps(self):
        """The slope jumps ``t_k`` (n, k) of a network's knots (in their order)."""
        if self._jumps is None:  # computed once: the certificate and the caller both read them
            if self.system != "general" and self.measure.presorted:
                self._jumps = bordered.jumps(self.measure.chain_moments(self.xs), self._bordered_form())
            else:
                self._jumps = self.dual(self.measure.knots, self.measure.right, self.measure.q)
        return self._jumps

    def dual(self, knots, right, q=None):
        """``q (d, 1) . mult`` at any ``knots`` (n,) with directions ``right``: the
        optimal jumps for masses ``q`` (default one, the multiplier function)."""
        q = np.ones(len(knots)) if q is None else q
        return knot_jumps(self.states, knots, q, right)

    def network(self):
        """The units' part ``c + sum_k t_k relu(s_k (x - xi_k))`` of a finite network,
        evaluated by prefix sums; with ``affine='free'`` the fit adds :meth:`affine_part`."""
        m, jumps = self.measure, self.jumps()
        knots, right = m.knots, m.right
        if not m.presorted:
            order, knots = sort_order(knots)
            right, jumps = right[order], jumps[order]
        return PiecewiseLinear.from_jumps(knots, right, jumps, self.intercept)

    def evaluate(self, x, order=0):
        """``f`` (order 0) or its first or second derivative at ``x`` (p,): (p, k).

        At infinite width between the data the jump densities are integrated
        (:func:`.continuum.evaluate`); a network is piecewise linear, so its
        orders are 0 and 1 (the right derivative at a knot).
        """
        x = np.asarray(x, float)
        if isinstance(self.measure, Continuum):
            init = Combined(self.measure.init) if self.affine == "free" else self.measure.init
            return evaluate(init, self.states, x, order)
        if order not in (0, 1):
            raise ValueError("A finite network is piecewise linear: order must be 0 or 1.")
        net = self.network()
        out = net(x) if order == 0 else net.derivative(x)
        if self.affine == "free":  # the units' part has the (zero) constant only
            a0, a1 = self.affine_part()
            out = out + (a0 - self.intercept + (x - self.xs[0])[:, None] * a1 if order == 0 else a1)
        return out


class InaccurateFit(np.linalg.LinAlgError):
    """A finite network's fit failed its certificate on every system.

    Attributes
    ----------
    best : Fit or None
        The attempt with the smallest discrepancy (None if every system was singular).
    reference : ndarray of shape (m, k) or None
        The first system's fitted values, against which the discrepancies were measured.
    scale : float
        The size relative to which they were measured.
    """

    def __init__(self, best, reference, scale):
        super().__init__(
            f"The exact 1-D solver lost accuracy (certificate {getattr(best, 'discrepancy', np.inf):.1e} "
            f"> {CERTIFICATE_TOL:g})."
        )
        self.best, self.reference, self.scale = best, reference, scale


def discrepancy(values, reference, scale):
    """``max |values - reference| / scale``, infinite when not finite: the certificate's measure."""
    err = float(np.max(np.abs(values - reference))) / scale
    return err if np.isfinite(err) else np.inf


def _leverages(xs, weights, measure, alpha, affine):
    """The leverages by the compiled filter and smoother (:mod:`.fastchain`), or
    None where it meets a singular pivot (then the banded systems' own block
    cyclic reduction, with its fallback to columns of the inverse, computes them)."""
    try:
        return fastchain.fit_values(xs, np.zeros((len(xs), 1)), weights, measure.chain_moments(xs), alpha,
                                    affine)[1]
    except np.linalg.LinAlgError:
        return None


def _solve_system(system, xs, Y, weights, measure, alpha, affine, leverages, scanner=None):
    if system == "chain":
        # the filter and smoother give the chain's states, multipliers and leverages
        # in O(m); the band matrix where they meet a singular pivot
        try:
            sol = (scanner.solve_free(alpha) if scanner is not None
                   else fastchain.solve_free(xs, Y, weights, measure.chain_moments(xs), alpha))
            return Fit(xs, measure, affine, system, None, sol)
        except np.linalg.LinAlgError:
            pass
    lev = _leverages(xs, weights, measure, alpha, affine) if leverages else None
    banded = leverages and lev is None
    if system == "general":
        fit = Fit(xs, measure, affine, system, None,
                  general.solve(xs, Y, weights, measure.gap_moments(xs), alpha, affine, banded))
    elif system == "chain":
        mom = measure.chain_moments(xs)
        # the bordered form only if jumps are asked for
        fit = Fit(xs, measure, affine, system, None, solve_free(xs, Y, weights, mom.M[:, 1:], alpha, banded))
    else:
        mom = measure.chain_moments(xs)
        fit = Fit(xs, measure, affine, system, bordered.solve(xs, Y, weights, mom, alpha, affine, banded))
    if lev is not None:
        fit.leverages = lev
    return fit


def solve(xs, Y, weights, measure, alpha, affine="free_constant", leverages=False, certify=True, scanner=None):
    """Solve the ridge problem of a knot measure on pooled data.

    Parameters
    ----------
    xs : ndarray of shape (m,)
        Sorted distinct inputs (:func:`.network.pool_ties`), ``m >= 2``.
    Y : ndarray of shape (m, k)
        Targets (weighted means of tied samples).
    weights : ndarray of shape (m,)
        Positive weights (sums over tied samples).
    measure : Knots or Continuum
        The units: a finite network's knots or an initialisation's curvature weights.
    alpha : float >= 0
        The penalty; 0 is the interpolation limit (:data:`INTERPOLATION_ALPHA`).
    affine : {'free_constant', 'penalized', 'free'}, default='free_constant'
    leverages : bool, default=False
        Also the diagonal of the smoother, from the compiled filter and
        smoother (:mod:`.fastchain`; where it meets a singular pivot, from the
        banded system by block cyclic reduction).
    certify : bool, default=True
        For :class:`Knots` given sorted: check the fit against the network
        rebuilt from its jumps, fall back to the general system, and raise
        :class:`InaccurateFit` if neither passes (see the module docstring).
    scanner : fastchain.Scanner, default=None
        A scanner built on the same problem (``xs``, ``Y``, ``weights``,
        ``measure``, ``affine``), as a search over ``alpha`` has: its compiled
        kernel solves ``affine='free'`` without being built again.

    Returns
    -------
    Fit
    """
    check_affine(affine)
    alpha = alpha if alpha > 0 else INTERPOLATION_ALPHA
    first = "chain" if affine == "free" else "bordered"
    if not (certify and isinstance(measure, Knots) and measure.presorted):
        return _solve_system(first, xs, Y, weights, measure, alpha, affine, leverages, scanner)
    blk = measure.chain_moments(xs)
    best, reference, scale = None, None, 1.0
    for system in (first, "general"):
        with np.errstate(all="ignore"):
            try:
                fit = _solve_system(system, xs, Y, weights, measure, alpha, affine, leverages,
                                    scanner if system == first else None)
            except (np.linalg.LinAlgError, ValueError):
                continue
            # the network rebuilt from the jumps reproduces the states' fitted
            # values only if the banded system was solved accurately
            network = bordered.network_at_data(blk, fit.jumps(), fit.intercept)
            if affine == "free":  # plus the fit's own affine part, beyond its (zero) constant
                a0, a1 = fit.affine_part()
                network += a0 + (xs - xs[0])[:, None] * a1
        if reference is None:  # the first system's states: the reference for what follows
            reference = fit.fitted
            scale = max(float(np.max(np.abs(reference))), float(np.max(np.abs(Y))), 1e-300)
        fit.discrepancy = discrepancy(network, reference, scale)
        if best is None or fit.discrepancy < best.discrepancy:
            best = fit
        if fit.discrepancy <= CERTIFICATE_TOL:
            return fit
    raise InaccurateFit(best, reference, scale)
