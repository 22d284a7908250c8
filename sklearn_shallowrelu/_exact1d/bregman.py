"""Non-quadratic curvature penalties in 1-D: the limit of mirror descent with a
width-scaled potential, solved by a dual Newton method on the banded structure
of :func:`sklearn_shallowrelu._exact1d.solve` (``doc/theory.md``, section 4).

Setting.  Units ``k`` with knot ``xi_k``, direction ``s_k = +-1``, quadratic
knot mass ``q_k`` and amplitude ``a_k``; unit ``k`` carries the mass
``mu_k = q_k / a_k^2`` and the function::

    f(x) = sum_k (q_k / a_k) alpha_k relu(s_k (x - xi_k))  (+ affine part).

For the random features ``relu(w x + b) / sqrt(n)`` with output weights ``v``
and the potential ``WidthScaled(phi)`` (resolved to ``phi(sqrt(n) v) / n``),
``alpha_k = sqrt(n) v_k``, ``q_k = w_k^2 / n`` and ``a_k = |w_k|``: mirror
descent from ``v = 0`` with ``alpha = 0`` converges to the Bregman projection::

    min  sum_k mu_k D_phi(alpha_k, 0)   s.t.   f(x_i) = y_i,

and with a data-fit term the problem solved is::

    min  sum_i weights_i (y_i - f(x_i))^2 / 2 + alpha sum_k mu_k D_phi(alpha_k, 0),

whose quadratic case ``phi = u^2 / 2`` is ridge with the same ``alpha`` in
scikit-learn's units (``sum weights r^2 + alpha |v|^2``), i.e. :func:`.solve`.  It
is *not* the limit of ``RandomFeatureReLURegressor(solver='mirror', alpha>0)``:
that estimator penalises ``|v|^2``, so its mirror descent converges to the
ridge solution whatever the potential.

At infinite width the units are Gauss-Legendre nodes over the knot positions,
on pieces that never straddle a data point (so the integrands are smooth on
each piece), with ``q = g_+-(c) dc`` from the initialisation.  Only
initialisations with ``|w| = 1`` (``RademacherUniform``, ``UniformKnots``) are
supported there: for them the optimal ``alpha`` is a function of (direction,
knot) alone; a general ``|w|`` needs a ``(w, knot)`` product grid.  Where the
dual function below vanishes (inside a gap, and at ``x_1`` / ``x_m`` for the
left- / right-facing units) a potential with a super-linear ``phi'`` gives the
jump density a cusp, so the pieces are graded geometrically toward those
points; as the points move with the solution, the nodes are rebuilt and the
problem re-solved from the previous dual until they settle (a few rounds of
one or two Newton steps).

Dual Newton.  Stationarity gives ``phi'(alpha_k) = phi'(0) + a_k Lambda_k``
with the dual function ``Lambda_k = sum_i lambda_i relu(s_k (x_i - xi_k))``,
linear in the knot between data points.  The Newton system for the
constraints ``f(x_i) + alpha lambda_i / weights_i = y_i`` has the Jacobian
``K + alpha weights^-1`` with ``K`` the kernel of the knot measure ``q_k /
phi''(alpha_k)``: a ridge (or, for ``alpha = 0``, an interpolation) problem of
exactly the form :func:`.solve` solves in ``O(m)``.  Its gap
multipliers are the Newton step of the dual function, evaluated at all units by
:meth:`.Fit.dual`.  Steps are damped by backtracking
on the residual norm (the Newton direction always decreases it).
"""

import numpy as np

from ..init import check_init
from ..potentials import WidthScaled, check_potential
from . import Knots, continuum, solve
from .options import check_affine
from .network import PiecewiseLinear, knot_jumps

__all__ = ["BregmanFit", "Units", "bregman_fit", "continuum_units", "network_units"]

_ROUNDS = 8  # re-gridding rounds at infinite width (two or three are typical)


class Units:
    """Units of a 1-D network in the form the solver needs.

    Parameters
    ----------
    knots : ndarray of shape (n,)
    right : ndarray of bool, shape (n,)
        ``True`` for right-facing units (``w > 0``).
    q : ndarray of shape (n,)
        Quadratic knot masses (``w^2 / n`` for the random features).
    amp : ndarray of shape (n,)
        Amplitudes ``|w|``.
    """

    def __init__(self, knots, right, q, amp):
        self.knots, self.right = np.asarray(knots, float), np.asarray(right, bool)
        self.q, self.amp = np.asarray(q, float), np.asarray(amp, float)

    def __len__(self):
        return len(self.knots)

    def network(self, jumps):
        """The piecewise-linear function ``sum_k jumps_k relu(s_k (x - xi_k))``."""
        s = np.where(self.right, 1.0, -1.0)
        return PiecewiseLinear(s, -s * self.knots, jumps, 1.0, np.zeros(jumps.shape[1]))


def network_units(w, b):
    """Units of the random features ``relu(w x + b) / sqrt(n)``.

    Parameters
    ----------
    w, b : ndarray of shape (n,)
        Hidden weights (1-D inputs) and biases; ``n`` is the width.  Units with
        ``w = 0`` are constants: they are dropped, which is exact when the
        constant is free (their optimal ``alpha`` is then 0).

    Returns
    -------
    Units
    """
    w, b = np.asarray(w, float).ravel(), np.asarray(b, float).ravel()
    n = len(w)
    has = w != 0
    return Units(-b[has] / w[has], w[has] > 0, w[has] ** 2 / n, np.abs(w[has]))


def _check_unit_weight(init):
    if not init.unit_norm_weights:
        raise NotImplementedError(
            f"The infinite-width Bregman problem is implemented for initialisations with |w| = 1 "
            f"(RademacherUniform, UniformKnots), got {init!r}: with a varying |w| the optimal output "
            "weight varies along each knot fibre and needs a (w, knot) product grid."
        )


def _nodes(init, a, b, refine=1, singular=()):
    """Gauss-Legendre nodes on the pieces of :mod:`.continuum` covering each
    ``[a_i, b_i]``, each piece cut into ``refine`` equal parts and graded
    geometrically toward the points ``singular``.

    Returns ``(owner, c, wq, lo, hi)``, all flattened per node (``lo, hi``: the
    ends of the node's piece, from which offsets are formed).
    """
    owner, lo, hi = continuum.pieces(init, np.asarray(a, float), np.asarray(b, float))
    if refine > 1:
        frac = np.arange(refine + 1) / refine
        edges = lo[:, None] + (hi - lo)[:, None] * frac
        edges[:, -1] = hi
        owner, lo, hi = np.repeat(owner, refine), edges[:, :-1].ravel(), edges[:, 1:].ravel()
    for point in singular:
        owner, lo, hi = _grade(owner, lo, hi, point)
    c, wq = continuum.gauss(lo, hi, continuum.NODES, continuum.WEIGHTS)
    k = len(continuum.NODES)
    return (np.repeat(owner, k), c.ravel(), wq.ravel(), np.repeat(lo, k), np.repeat(hi, k))


# Each graded piece [r D, D] keeps a singularity at 0 far enough (relative to its
# length) for 10-point Gauss-Legendre to reach ~1e-13; 30 levels reach 1e-12 D.
_GRADING = 0.4 ** np.arange(1, 31)


def _grade(owner, lo, hi, point):
    """Refine the pieces geometrically toward ``point``.

    Where the dual function vanishes a potential whose ``phi'`` grows faster
    than linearly (``x^2/2 + |x|^p/p``) makes the jump density behave like
    ``|c - point|^(1/(p-1))`` down to a tiny scale (its complex singularities
    lie that close to ``point``): smooth pieces of a fixed size would integrate
    it to only a few digits.  Pieces that contain ``point`` are cut there; each
    piece ending at, or lying closer to ``point`` than its own length, is cut
    at distances ``L 0.4^j`` from its end nearest to ``point``, down to the
    distance of ``point``.
    """
    inside = (lo < point) & (point < hi)
    if inside.any():
        out = ~inside
        owner = np.concatenate([owner[out], owner[inside], owner[inside]])
        pt = np.full(int(inside.sum()), float(point))
        lo, hi = np.concatenate([lo[out], lo[inside], pt]), np.concatenate([hi[out], pt, hi[inside]])
    length = hi - lo
    to_lo = point <= lo
    dist = np.where(to_lo, lo - point, point - hi)
    sel = (dist < length) & (length > 0)
    if not sel.any():
        return owner, lo, hi
    steps = length[sel, None] * _GRADING
    steps = np.where(steps > dist[sel, None], steps, 0.0)  # finer than the distance is not needed
    inner = np.where(to_lo[sel, None], lo[sel, None] + steps, hi[sel, None] - steps)
    edges = np.sort(np.column_stack([lo[sel], inner, hi[sel]]), axis=1)
    a, b = edges[:, :-1].ravel(), edges[:, 1:].ravel()
    own = np.repeat(owner[sel], edges.shape[1] - 1)
    real = b > a  # the levels left out above are empty pieces
    keep = ~sel
    return (np.concatenate([owner[keep], own[real]]), np.concatenate([lo[keep], a[real]]),
            np.concatenate([hi[keep], b[real]]))


def _extended_ends(init, xs):
    """``[lo, x_1, ..., x_m, hi]``: the data points with the support of the knots."""
    lo, hi = init.support()
    return np.concatenate([[min(lo, xs[0])], xs, [max(hi, xs[-1])]])


def continuum_units(init, xs, refine=1, singular=()):
    """Quadrature nodes standing in for the units of an infinite-width network.

    Nodes lie on pieces between consecutive points of ``[lo, x_1, ..., x_m,
    hi]`` (``[lo, hi]`` the support of the knots), so that the jump density,
    smooth between data points, is integrated to high order.  Right-facing
    nodes right of ``x_m`` and left-facing ones left of ``x_1`` are left out:
    they vanish on the data, so their ``alpha`` is 0.

    Parameters
    ----------
    init : Initialization with ``|w| = 1`` and a bounded knot support, bound to the data
    xs : ndarray of shape (m,), sorted distinct inputs
    refine : int, default=1
        Cut every quadrature piece of :mod:`.continuum` into this many (to check
        the quadrature error).
    singular : sequence of float, default=()
        Knot positions where the jump density is not smooth (the zeros of the
        dual function inside the data range): the pieces are graded toward
        them, and always toward ``x_1`` and ``x_m``, where the dual function of
        the left- (right-) facing units starts from zero.

    Returns
    -------
    Units
    """
    _check_unit_weight(init)
    ends = _extended_ends(init, xs)
    if not np.all(np.isfinite(ends)):
        raise NotImplementedError(f"{init!r} has knots on an unbounded range; a bounded support is needed.")
    m = len(xs)
    singular = np.concatenate([xs[[0, -1]], np.ravel(singular)])
    owner, c, wq, _, _ = _nodes(init, ends[:-1], ends[1:], refine, singular)
    gp, gm = init.curvature_weight_parts(c)
    parts = []
    # owner: 0 for [lo, x_1], j for [x_j, x_j+1] (data counted from 1), m for [x_m, hi]
    for right, g, keep in ((True, gp, owner < m), (False, gm, owner > 0)):
        sel = keep & (g * wq > 0)
        parts.append((c[sel], np.full(int(sel.sum()), right), (g * wq)[sel]))
    knots, right, q = (np.concatenate(z) for z in zip(*parts))
    return Units(knots, right, q, np.ones_like(q))


class _Dual:
    """Gap multipliers of the dual function ``Lambda`` (the fields of a
    :class:`.Solution` that :func:`.knot_jumps` reads)."""

    def __init__(self, xs):
        m = len(xs)
        self.xs = xs
        self.mult_right, self.mult_left = np.zeros((m, 2, 1)), np.zeros((m, 2, 1))
        self.intercept = np.zeros(1)

    def at(self, knots, right):
        """``Lambda`` at the given knots and directions."""
        return knot_jumps(self, knots, np.ones(len(knots)), right)[:, 0]

    def add(self, sol, step):
        self.mult_right = self.mult_right + step * sol.mult_right
        self.mult_left = self.mult_left + step * sol.mult_left

    def copy(self):
        new = _Dual(self.xs)
        new.mult_right, new.mult_left = self.mult_right.copy(), self.mult_left.copy()
        return new

    def zeros(self, ends):
        """Where ``Lambda`` changes sign between consecutive ``ends`` (it is
        continuous and linear between data points, so at most once there)."""
        out = []
        for right in (True, False):
            v = self.at(ends, np.full(len(ends), right))
            a, b = v[:-1], v[1:]
            cross = a * b < 0
            t = a[cross] / (a[cross] - b[cross])
            out.append(ends[:-1][cross] + t * np.diff(ends)[cross])
        return np.concatenate(out)


class _Problem:
    """One output column: the units, the data and the potential."""

    def __init__(self, units, xs, y, weights, potential, alpha, affine):
        self.units, self.xs, self.y, self.weights = units, xs, y, weights
        self.potential, self.alpha, self.affine = potential, alpha, affine
        self.grad0 = float(potential.grad(0.0))

    def coefficients(self, Lam, amp=None):
        """``alpha`` from the dual function ``Lam`` at the units (or at amplitudes ``amp``)."""
        return self.potential.grad_inv(self.grad0 + (self.units.amp if amp is None else amp) * Lam)

    def jumps(self, coef):
        return (self.units.q / self.units.amp * coef)[:, None]

    def values(self, Lam, aff):
        """``f`` at the data points for dual values ``Lam`` and affine part ``aff``."""
        f = self.units.network(self.jumps(self.coefficients(Lam)))(self.xs)[:, 0]
        return f + aff[0] + aff[1] * (self.xs - self.xs[0])

    def residual(self, Lam, aff, e):
        with np.errstate(over="ignore", invalid="ignore"):
            return self.y - self.values(Lam, aff) - e

    def merit(self, r):
        with np.errstate(over="ignore", invalid="ignore"):  # an overshooting trial step; it is rejected
            return float(np.sum(self.weights * r**2))

    def newton_step(self, Lam, r):
        """Solve the linearised problem for the residual ``r``."""
        with np.errstate(divide="ignore"):
            qn = self.units.q / self.potential.hess(self.coefficients(Lam))
        u = self.units
        # Newton's residual, checked every iteration, certifies the result
        return solve(self.xs, r[:, None], self.weights, Knots(u.knots, qn, u.right), self.alpha, self.affine,
                     certify=False)


def _newton(prob, tol, max_iter, start=None):
    """Damped Newton on the dual, from zero or from ``start = (dual, affine, e)``.

    Returns ``(dual, Lambda, affine, e, iterations, residuals)``.
    """
    u = prob.units
    if start is None:
        dual, aff, e = _Dual(prob.xs), np.zeros(2), np.zeros(len(prob.xs))
    else:
        dual, aff, e = start[0].copy(), start[1].copy(), start[2].copy()
    Lam = dual.at(u.knots, u.right)
    r = prob.residual(Lam, aff, e)
    scale = max(float(np.max(np.abs(prob.y))), np.finfo(float).tiny)
    history = [float(np.max(np.abs(r)))]
    it = 0
    while history[-1] > tol * scale:
        if it == max_iter:
            # at alpha = 0 the fit must interpolate, the hardest case; a data-fit
            # term makes the dual strongly concave, so that is the fix to name
            fix = ("Use alpha > 0 (a data-fit term instead of exact interpolation, e.g. alpha=1e-3 times "
                   "the total sample weight), or rescale y toward unit size." if prob.alpha == 0 else
                   "Use a larger alpha, or rescale y toward unit size.")
            raise RuntimeError(
                f"Newton's method did not reach a relative residual of {tol:g} in {max_iter} iterations "
                f"(residual {history[-1] / scale:.3g}) at alpha={prob.alpha:g}; the constraints may be "
                "infeasible (too few units between the data points) or the potential too steep for these "
                f"targets. {fix}"
            )
        it += 1
        sol = prob.newton_step(Lam, r)
        dLam = sol.dual(u.knots, u.right)[:, 0]
        daff = sol.affine_part()[:, 0]
        de = (r - sol.fitted[:, 0]) if prob.alpha > 0 else np.zeros_like(e)
        m0 = prob.merit(r)
        step = 1.0
        for _ in range(60):
            r_new = prob.residual(Lam + step * dLam, aff + step * daff, e + step * de)
            m1 = prob.merit(r_new)
            # Armijo on |r|^2: along the Newton direction it falls like (1 - step)^2
            if np.isfinite(m1) and m1 <= (1.0 - 1e-4 * step) * m0:
                break
            step *= 0.5
        else:
            raise RuntimeError("Newton's method found no decrease along its direction (ill-conditioned step).")
        Lam, aff, e, r = Lam + step * dLam, aff + step * daff, e + step * de, r_new
        dual.add(sol.states, step)
        history.append(float(np.max(np.abs(r))))
    return dual, Lam, aff, e, it, np.array(history)


def resolve_potential(potential):
    potential = check_potential(potential)
    if isinstance(potential, WidthScaled):
        potential = potential.base
    h0 = float(potential.hess(0.0))
    if not (np.isfinite(h0) and h0 > 0):
        raise ValueError(
            f"Newton's method needs a potential with a finite positive phi''(0) (the Jacobian at the "
            f"start is the kernel of q / phi''(0)); {potential!r} has phi''(0) = {h0}. Use e.g. "
            "QuadraticPlusPower or HyperbolicEntropy."
        )
    return potential


def bregman_fit(source, xs, Y, weights, potential, alpha=0.0, affine="free_constant", tol=1e-12, max_iter=100,
                refine=1):
    """Bregman projection (``alpha = 0``) or Bregman-penalised fit of 1-D data.

    Parameters
    ----------
    source : Initialization, tuple (w, b) or Units
        An initialisation with ``|w| = 1`` (bound to the data if it depends on
        it): the infinite-width problem, on quadrature nodes.  A tuple of hidden
        weights and biases: the network ``relu(w x + b) / sqrt(n)`` of width
        ``n = len(w)``.  Or units built by :func:`network_units` or
        :func:`continuum_units`.
    xs : ndarray of shape (m,)
        Sorted distinct inputs (``pool_ties``), ``m >= 2``.
    Y : ndarray of shape (m,) or (m, k)
        Targets (pooled means).
    weights : ndarray of shape (m,)
        Positive weights (pooled sums); irrelevant for ``alpha = 0``.
    potential : str or Potential
        The base potential ``phi`` (a ``WidthScaled`` one is unwrapped), with
        ``0 < phi''(0) < inf``.
    alpha : float >= 0, default=0.0
        0: interpolation.  Otherwise the penalty level of ``sum weights r^2 / 2 +
        alpha sum mu D_phi`` (for the quadratic potential, ridge with ``alpha``).
    affine : {'free_constant', 'penalized', 'free'}, default='free_constant'
    tol : float, default=1e-12
        Newton stops when ``max |y - f - alpha lambda / weights| <= tol max |y|``.
    max_iter : int, default=100
    refine : int, default=1
        Quadrature refinement (infinite width only).

    Returns
    -------
    BregmanFit
    """
    check_affine(affine)
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha!r}.")
    xs = np.asarray(xs, float)
    Y2 = np.asarray(Y, float).reshape(len(xs), -1)
    weights = np.asarray(weights, float)
    base = resolve_potential(potential)
    if alpha == 0:
        weights = np.ones_like(weights)  # interpolation does not depend on them; unit weights keep the solve well scaled

    def solve_all(units, starts):
        cols = []
        for j in range(Y2.shape[1]):
            prob = _Problem(units, xs, Y2[:, j], weights, base, float(alpha), affine)
            cols.append((prob,) + _newton(prob, tol, max_iter, starts[j]))
        return cols

    if isinstance(source, tuple):
        w = np.asarray(source[0], float)
        if affine == "penalized" and np.any(w == 0):
            raise ValueError("Units with w = 0 are constants, which affine='penalized' cannot drop.")
        source = network_units(*source)
    if isinstance(source, Units):
        units = source
        return BregmanFit(units, None, base, xs, solve_all(units, [None] * Y2.shape[1]), affine)
    init = check_init(source)
    ends = _extended_ends(init, xs)
    units = continuum_units(init, xs, refine)
    cols = solve_all(units, [None] * Y2.shape[1])
    used, rounds = np.zeros(0), 0
    # The nodes are graded toward the zeros of the dual function, which move as
    # it is solved for: re-solve (warm, one or two Newton steps) until the zeros
    # the nodes were built for are those of the solution.
    for _ in range(_ROUNDS):
        zeros = np.sort(np.concatenate([c[1].zeros(ends) for c in cols]))
        if len(zeros) == len(used) and np.all(np.abs(zeros - used) <= 1e-9 * (ends[-1] - ends[0])):
            break
        used = zeros
        units = continuum_units(init, xs, refine, used)
        before = cols
        cols = solve_all(units, [(c[1], c[3], c[4]) for c in cols])
        cols = [c[:5] + (c[5] + b[5], np.concatenate([b[6], c[6]])) for c, b in zip(cols, before)]
        rounds += 1
    return BregmanFit(units, init, base, xs, cols, affine, rounds)


class BregmanFit:
    """The solved problem: coefficients, jumps and the function anywhere.

    Attributes
    ----------
    units : Units
    coef_ : ndarray of shape (n_units, k)
        ``alpha_k`` per unit (``sqrt(n) v_k`` for a network).
    jumps_ : ndarray of shape (n_units, k)
        Slope jumps ``(q_k / a_k) alpha_k`` (for quadrature nodes: jump density
        times the node weight).
    n_iter_ : list of int
        Newton iterations per output (at infinite width summed over the rounds).
    n_rounds_ : int
        Infinite width: how often the nodes were rebuilt, graded toward the
        zeros of the dual function of the previous solution.
    residuals_ : list of ndarray
        Max residual before each Newton iteration and at the end, per output
        (at infinite width the rounds one after the other, each from its own
        start on the new nodes).
    fitted : ndarray of shape (m, k)
        ``f`` at the data.
    intercept : ndarray of shape (k,)
        The free constant (zero unless ``affine='free_constant'``).
    leverages : None
        A nonlinear smoother has none.
    """

    def __init__(self, units, init, potential, xs, cols, affine, rounds=0):
        self.units, self.init, self.potential, self.xs, self.affine = units, init, potential, xs, affine
        self.n_rounds_ = rounds
        self._probs = [c[0] for c in cols]
        self._duals = [c[1] for c in cols]
        self.coef_ = np.column_stack([p.coefficients(c[2]) for p, c in zip(self._probs, cols)])
        self.jumps_ = (units.q / units.amp)[:, None] * self.coef_
        self._affine_part = np.column_stack([c[3] for c in cols])
        self.n_iter_ = [c[5] for c in cols]
        self.residuals_ = [c[6] for c in cols]
        self._net = units.network(self.jumps_)
        self.fitted = self._affine(xs, 0) + self._net(xs)
        # the affine part is (value at x_1, slope); with a free constant only the value moves
        self.intercept = self._affine_part[0] if affine == "free_constant" else np.zeros(len(self._affine_part[0]))
        self.leverages = None
        if init is not None:
            ends = _extended_ends(init, xs)
            self._singular = np.concatenate([xs[[0, -1]]] + [d.zeros(ends) for d in self._duals])
            s = np.where(units.right, 1.0, -1.0)
            self._sides = [PiecewiseLinear(s[sel], -s[sel] * units.knots[sel], self.jumps_[sel], 1.0,
                                                  np.zeros(self.jumps_.shape[1]))
                           for sel in (units.right, ~units.right)]

    def affine_part(self):
        """The affine part (2, k): (value at ``x_1``, slope)."""
        return self._affine_part

    def _affine(self, x, order):
        a0, a1 = self._affine_part
        if order == 0:
            return a0 + (x - self.xs[0])[:, None] * a1
        return np.broadcast_to(a1 if order == 1 else 0.0 * a1, (len(x), len(a1)))

    def jump_density(self, c):
        """Right- and left-facing jump densities ``g_+- alpha_+- / a`` at knots ``c``
        (infinite width); their sum is ``f''``.  Each of shape (p, k)."""
        if self.init is None:
            raise ValueError("Jump densities exist at infinite width only; see jumps_ for a network.")
        c = np.asarray(c, float)
        gp, gm = self.init.curvature_weight_parts(c)
        out = []
        for right, g in ((True, gp), (False, gm)):
            flags = np.full(len(c), right)
            cols = [p.coefficients(d.at(c, flags), 1.0) for p, d in zip(self._probs, self._duals)]
            out.append(g[:, None] * np.column_stack(cols))
        return out[0], out[1]

    def evaluate(self, x, order=0):
        """``f`` (order 0) or its derivatives at ``x`` (p,); shape (p, k).

        A network gives orders 0 and 1 (the right derivative at a knot); the
        infinite-width fit also order 2.
        """
        x = np.asarray(x, float)
        if self.init is None:
            if order == 0:
                return self._net(x) + self._affine(x, 0)
            if order == 1:
                return self._net.derivative(x) + self._affine(x, 1)
            raise ValueError("A finite network is piecewise linear: order must be 0 or 1.")
        if order == 2:
            jp, jm = self.jump_density(x)
            return jp + jm
        return self._continuum_predict(x, order)

    def _continuum_predict(self, x, order):
        """Infinite width between quadrature nodes.

        In the extended gap ``[E_J, E_J+1]`` holding ``x``, the right-facing part
        is its state at ``E_J`` (sums over the nodes left of it, exact) carried to
        ``x`` plus the jumps on ``[E_J, x]``; those are integrated afresh, since
        the kink of ``relu(x - c)`` at ``c = x`` would spoil the quadrature of the
        gap.  The left-facing part likewise from ``E_J+1``.
        """
        ends = _extended_ends(self.init, self.xs)
        J = np.clip(np.searchsorted(ends, x, side="right") - 1, 0, len(ends) - 2)
        xr = np.clip(x, ends[0], ends[-1])
        Rv, Rd, Lv, Ld = self._end_states()
        a, b = ends[J], ends[J + 1]
        I0, I1 = self._partial(a, xr, True)  # int_a^xr j_+ (xr - c)^k
        K0, K1 = self._partial(xr, b, False)  # int_xr^b j_- (c - xr)^k
        if order == 0:
            R = Rv[J] + Rd[J] * (x - a)[:, None] + I1 + (x - xr)[:, None] * I0
            L = Lv[J + 1] + Ld[J + 1] * (x - b)[:, None] + K1 - (x - xr)[:, None] * K0
        else:
            R = Rd[J] + I0
            L = Ld[J + 1] - K0
        return R + L + self._affine(x, order)

    def _end_states(self):
        """Values and slopes of the right- and left-facing parts at the extended
        ends, each (m + 2, k): all that prediction needs of the quadrature nodes.
        (The evaluation is elementwise, so these are the numbers that evaluating
        the parts at any one end gives.)"""
        if getattr(self, "_ends_table", None) is None:
            ends = _extended_ends(self.init, self.xs)
            right, left = self._sides
            self._ends_table = (right(ends), right.derivative(ends), left(ends), left.derivative(ends))
        return self._ends_table

    def __getstate__(self):
        """At infinite width, a pickle keeps the fit without its quadrature nodes.

        The nodes, their coefficients and jumps (``units``, ``coef_``,
        ``jumps_``: about a thousand per data point) are how the fit was solved;
        prediction needs of them only the states at the extended ends
        (:meth:`_end_states`) besides the dual functions, so that is what a
        pickle holds (300 points, hyperbolic entropy: 43 MB before, 38 kB after).  A finite network keeps its units.
        """
        state = dict(self.__dict__)
        if self.init is not None:
            state["_ends_table"] = self._end_states()
            for name in ("units", "coef_", "jumps_", "_net", "_sides"):
                state.pop(name, None)
            probs = []
            for prob in self._probs:  # the potential and constants; coefficients() takes amplitudes then
                light = _Problem.__new__(_Problem)
                light.__dict__.update({k: v for k, v in prob.__dict__.items() if k != "units"})
                probs.append(light)
            state["_probs"] = probs
        return state

    def _partial(self, a, b, right):
        """``int_a^b j(c) (anchor offset)^k dc`` for k = 0, 1, per interval, with
        the offset ``b - c`` (right-facing) or ``c - a`` (left-facing)."""
        k = len(self._probs)
        out0, out1 = np.zeros((len(a), k)), np.zeros((len(a), k))
        span = b > a
        if not span.any():
            return out0, out1
        owner, c, wq, lo, hi = _nodes(self.init, a[span], b[span], 1, self._singular)
        jp, jm = self.jump_density(c)
        j = jp if right else jm
        per_piece = slice(None, None, len(continuum.NODES))  # _nodes repeats these per node
        d, e = continuum.offsets(a[span], b[span], owner[per_piece], lo[per_piece], hi[per_piece],
                                   continuum.NODES)
        off = (d if right else e).ravel()
        idx = np.flatnonzero(span)
        for col in range(k):
            out0[idx, col] = np.bincount(owner, weights=wq * j[:, col], minlength=len(idx))
            out1[idx, col] = np.bincount(owner, weights=wq * j[:, col] * off, minlength=len(idx))
        return out0, out1
