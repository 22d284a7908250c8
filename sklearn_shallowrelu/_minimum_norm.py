"""The minimum-norm two-layer ReLU network on 1-D data: an exact solver.

A unit ``v relu(w x + b)`` with ``w != 0`` puts a kink at ``c = -b / w`` where
``f'`` jumps by ``a = v |w|``; it is active on the right of ``c`` (``s = +1``,
``w > 0``) or on the left (``s = -1``).  The least squared norm
``v^2 + w^2 (+ b^2)`` of a unit with that kink and jump, over the rescalings
``(w, b, v) -> (t w, t b, v / t)`` that leave it unchanged, is
``2 |a| sqrt(1 + c^2)`` when the bias is penalised and ``2 |a|`` when it is
not (Savarese et al. 2019, Ongie et al. 2020).  So the least squared norm of a
network that represents ``f`` is the cost of the cheapest set of kinks, with
directions, that builds ``f``: a weighted L1 problem over a continuum of
candidate units,

    minimise  sum_i w_i (f(x_i) - y_i)^2 + alpha * sum_k omega(c_k) |a_k|

(or ``sum_k omega(c_k) |a_k|`` subject to ``f(x_i) = y_i`` at ``alpha = 0``),
``omega(c) = 2 sqrt(1 + c^2)`` or 2.  A constant costs ``2 |e|`` (a unit with
``w = 0``) when the bias is penalised and there is no output bias, and is
free otherwise.

Where the knots can be.  Between two consecutive data points ``x_j < c <
x_{j+1}`` a unit's values at the data are affine in ``c``: those of the convex
combination of the units at ``x_j`` and ``x_{j+1}`` with the same jump.  Its
cost is then the same (unpenalised bias: knots at the data suffice) or, since
``sqrt(1 + c^2)`` is strictly convex, *smaller* (penalised bias): an optimum
can need knots strictly between the data.  The solver therefore works on a
dictionary of units that starts with the knots at the data and grows by
column generation: after each restricted solve, the dual vector ``u``
(the LP's multipliers, or the weighted residual ``W (y - f)``) prices every
candidate unit, and in each gap and direction the price ``|<u, phi_c>| /
omega(c)`` has the closed-form maximiser ``c* = -Q / P`` of ``|P - Q c| /
sqrt(1 + c^2)`` (Cauchy-Schwarz), so the most violated unit of the continuum
is found exactly.  The loop stops when no unit violates the dual constraint
by more than ``tol``: the optimality certificate of the continuous problem.

The restricted problems: a linear program (HiGHS' dual simplex) at ``alpha =
0``; a weighted lasso otherwise, solved by LARS (scikit-learn's
``lars_path``) and then by feature-sign steps (Lee et al. 2006) until its
optimality conditions hold to rounding.
"""

import warnings

import numpy as np
from scipy.optimize import linprog
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import lars_path

from ._warn import warn

__all__ = ["minimum_norm_fit", "unit_cost", "MinimumNormSolution"]


def unit_cost(c, penalize_bias):
    """``omega(c)``: the least squared norm of a unit with a unit jump of ``f'`` at ``c``."""
    c = np.asarray(c, dtype=np.float64)
    return 2.0 * np.sqrt(1.0 + c * c) if penalize_bias else np.full(c.shape, 2.0)


def _features(x, knots, directions):
    """Values at ``x`` of the units ``relu(s (x - c))``, one column per unit."""
    return np.maximum(directions * (x[:, None] - knots), 0.0)


class MinimumNormSolution:
    """Knots, directions and jumps of the minimum-norm network, and its constant.

    ``f(x) = constant + sum_k jumps[k] relu(directions[k] (x - knots[k]))``;
    ``cost`` is its least squared parameter norm ``R(f)``; ``rounds`` the
    column-generation rounds; ``violation`` the largest dual-constraint ratio
    at the end (at most ``1 + tol``).
    """

    def __init__(self, knots, directions, jumps, constant, cost, rounds, violation):
        self.knots, self.directions, self.jumps = knots, directions, jumps
        self.constant, self.cost, self.rounds, self.violation = constant, cost, rounds, violation

    def predict(self, x):
        return self.constant + _features(np.asarray(x, dtype=np.float64), self.knots, self.directions) @ self.jumps


def _price(xs, u, penalize_bias, threshold):
    """The most violated unit in each gap and direction: ``(c, s, ratio)`` rows
    with ``ratio = |<u, phi_{c,s}>| / (threshold * omega(c))``.

    A unit ``relu(x - c)`` with ``x_j <= c <= x_{j+1}`` sees the points right of
    ``c``: ``<u, phi> = P - Q c`` with ``P = sum_{i>j} u_i x_i``, ``Q = sum_{i>j}
    u_i``; ``relu(c - x)`` sees those on the left: ``Q' c - P'``.  Over a gap,
    ``|P - Q c| / sqrt(1 + c^2)`` peaks at its ends or at ``c* = -Q / P``
    (value ``sqrt(P^2 + Q^2)``); without bias penalty ``omega`` is constant
    and the ends (the data points) are enough.
    """
    m = len(xs)
    ux = u * xs
    # right-active units in gaps j = 0..m-1: gap j is [x_{j-1}, x_j] (gap 0 is (-inf, x_0]),
    # they see the points i >= j
    P_right = np.cumsum(ux[::-1])[::-1]
    Q_right = np.cumsum(u[::-1])[::-1]
    # left-active units in gaps j = 0..m-1: gap j is [x_j, x_{j+1}] (gap m-1 is [x_{m-1}, inf)),
    # they see the points i <= j:  <u, phi> = Q c - P
    P_left, Q_left = np.cumsum(ux), np.cumsum(u)
    lo_right = np.concatenate([[-np.inf], xs[:-1]])
    hi_right = xs
    lo_left, hi_left = xs, np.concatenate([xs[1:], [np.inf]])
    rows = []
    for s, P, Q, lo, hi in ((1.0, P_right, Q_right, lo_right, hi_right),
                            (-1.0, -P_left, -Q_left, lo_left, hi_left)):
        # both directions as |P - Q c| (the left one with its signs flipped)
        cands = [np.where(np.isfinite(lo), lo, hi), np.where(np.isfinite(hi), hi, lo)]
        if penalize_bias:
            with np.errstate(divide="ignore", invalid="ignore"):
                star = -Q / P
            inside = np.isfinite(star) & (star >= lo) & (star <= hi)
            cands.append(np.where(inside, star, cands[0]))
        C = np.stack(cands, axis=1)
        value = np.abs(P[:, None] - Q[:, None] * C) / (threshold * unit_cost(C, penalize_bias))
        best = np.argmax(value, axis=1)
        idx = np.arange(m)
        rows.append(np.column_stack([C[idx, best], np.full(m, s), value[idx, best]]))
    return np.vstack(rows)


def _merge(xs, knots, directions, jumps):
    """Units in the same gap between data points, with the same direction and sign,
    merged into one: ``sum_k a_k relu(s (x - c_k))`` equals ``A relu(s (x - C))`` at
    every data point (``A = sum a_k``, ``C = sum a_k c_k / A``, inside the gap), at
    a cost ``2 |A| sqrt(1 + C^2)`` no larger, and smaller unless the knots coincide
    (the triangle inequality on ``(1, -c) / sqrt(1 + c^2)``, points of the unit
    circle).  Column generation would otherwise approach an interior knot by ever
    closer pairs, one round at a time.  Returns the merged ``(knots, directions)``."""
    gap = np.searchsorted(xs, knots, side="right")
    keys = np.column_stack([gap, directions, np.sign(jumps)])
    _, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.ravel()
    A = np.bincount(group, weights=jumps)
    count = np.bincount(group)
    C = np.bincount(group, weights=jumps * knots) / A
    single = count == 1
    C[group[single[group]]] = knots[single[group]]  # as they are: a knot at a data point stays there exactly
    D = np.bincount(group, weights=directions) / count
    return C, D


def _constant_price(u, threshold):
    """The price of the constant unit (cost 2): ``|sum u| / (2 threshold)``."""
    return abs(float(np.sum(u))) / (2.0 * threshold)


def _initial_dictionary(xs):
    """Knots at the data: right-active at all but the last point, left-active at all but the first."""
    knots = np.concatenate([xs[:-1], xs[1:]])
    directions = np.concatenate([np.ones(len(xs) - 1), -np.ones(len(xs) - 1)])
    return knots, directions


def _interpolation_lp(Phi, omega, ys, constant_cost):
    """``min sum omega |a| (+ constant_cost |e|)`` s.t. ``Phi a + e = y``; returns ``a, e, u``
    with ``u`` the equality multipliers (the dual vector)."""
    m, p = Phi.shape
    ones = np.ones((m, 1))
    if constant_cost is None:  # a free constant
        A = np.hstack([Phi, -Phi, ones])
        cost = np.concatenate([omega, omega, [0.0]])
        bounds = [(0, None)] * (2 * p) + [(None, None)]
    else:
        A = np.hstack([Phi, -Phi, ones, -ones])
        cost = np.concatenate([omega, omega, [constant_cost, constant_cost]])
        bounds = [(0, None)] * (2 * p + 2)
    # HiGHS' default tolerances: tighter ones made it slower by 100 times and report some
    # large-scale problems unbounded
    res = linprog(cost, A_eq=A, b_eq=ys, bounds=bounds, method="highs-ds")
    if res.status != 0:  # pragma: no cover - the data knots always interpolate
        raise RuntimeError(f"The interpolation LP failed: {res.message}")
    z = res.x
    a = z[:p] - z[p : 2 * p]
    e = z[2 * p] if constant_cost is None else z[2 * p] - z[2 * p + 1]
    return a, float(e), np.asarray(res.eqlin.marginals, dtype=np.float64)


def _feature_sign(X, y, gamma, beta, max_iter=None):
    """``min 1/2 |X b - y|^2 + gamma |b|_1`` from ``beta`` by feature-sign steps (Lee et al.
    2006): on the current support and signs the problem is a least-squares solve; a line
    search to where a coefficient changes sign keeps the objective decreasing, and a zero
    coefficient whose gradient exceeds ``gamma`` joins the support.  Exact in finitely
    many steps.

    The dictionary's columns are linearly dependent (a left- and a right-active unit at
    the same knot differ by an affine function), so the restricted solve goes through
    an SVD: where the signs have a component in the null space of the support's columns,
    the step moves along it (the fit is unchanged, the penalty falls) to the first zero."""
    p = X.shape[1]
    beta = beta.copy()
    max_iter = max_iter or 10 * p + 20
    scale = max(gamma, float(np.max(np.abs(X.T @ y))), 1e-300)

    def objective(b):
        r = X @ b - y
        return 0.5 * float(r @ r) + gamma * float(np.sum(np.abs(b)))

    theta = np.sign(beta)
    for _ in range(max_iter):
        grad = X.T @ (X @ beta - y)
        active = theta != 0
        active_ok = np.all(np.abs(grad[active] + gamma * theta[active]) <= 1e-11 * scale)
        if active_ok:
            over = np.where(active, 0.0, np.abs(grad))
            i = int(np.argmax(over))
            if over[i] <= gamma + 1e-11 * scale:
                return beta
            theta[i] = -np.sign(grad[i])
            active = theta != 0
        idx = np.flatnonzero(active)
        # the thin SVD has the whole null space when the support has no more columns than rows
        U, sv, Vt = np.linalg.svd(X[:, idx], full_matrices=len(idx) > X.shape[0])
        rank = int(np.sum(sv > sv[0] * 1e-12 * max(X.shape))) if sv.size else 0
        V_null = Vt[rank:].T
        start = beta[idx]
        drift = V_null @ (V_null.T @ theta[idx]) if V_null.size else np.zeros(len(idx))
        if np.linalg.norm(drift) > 1e-12 * np.sqrt(len(idx)):
            # along -drift the fit is unchanged and gamma theta . b falls: go to the first zero
            direction = -drift
            with np.errstate(divide="ignore", invalid="ignore"):
                steps = -start / direction
            steps = steps[(steps > 0) & np.isfinite(steps)]
            target = start + (np.min(steps) if steps.size else 0.0) * direction
            ts = [1.0]
        else:
            Vr, Ur = Vt[:rank].T, U[:, :rank]
            # the restricted minimiser nearest the current coefficients
            target = Vr @ ((Ur.T @ y - (Vr.T @ (gamma * theta[idx])) / sv[:rank]) / sv[:rank])
            target = target + V_null @ (V_null.T @ start) if V_null.size else target
            ts = [1.0]
            change = (np.sign(target) != theta[idx]) & (start != target)
            with np.errstate(divide="ignore", invalid="ignore"):
                cross = start / (start - target)
            ts += list(cross[change & (cross > 0) & (cross < 1)])
        best, best_val = None, np.inf
        for t in ts:
            cand = beta.copy()
            cand[idx] = start + t * (target - start)
            small = np.abs(cand[idx]) <= 1e-14 * max(1.0, float(np.max(np.abs(cand[idx]))))
            cand[idx[small]] = 0.0
            if t < 1.0:  # the coefficient that crosses zero there is set to zero exactly
                j = int(np.argmin(np.abs(cand[idx])))
                cand[idx[j]] = 0.0
            val = objective(cand)
            if val < best_val:
                best, best_val = cand, val
        beta = best
        theta = np.sign(beta)
    raise RuntimeError("The feature-sign steps did not converge.")  # pragma: no cover


def _penalised_lasso(Phi, omega, ys, weights, alpha, constant_cost):
    """``min sum w (Phi a + e - y)^2 / 2 + (alpha / 2) (sum omega |a| + constant_cost |e|)``;
    returns ``a, e, u`` with ``u = W (y - f)``, the dual vector."""
    sq = np.sqrt(weights)
    if constant_cost is None:  # a free constant: project it out (weighted centring)
        mean = lambda Z: (weights @ Z) / weights.sum()  # noqa: E731
        Phic, yc = Phi - mean(Phi), ys - mean(ys)
        cols, scale = Phic, omega
    else:
        cols = np.hstack([Phi, np.ones((len(ys), 1))])
        scale = np.concatenate([omega, [constant_cost]])
        yc = ys
    X = sq[:, None] * cols / scale
    target = sq * yc
    gamma = 0.5 * alpha
    n = X.shape[0]
    with warnings.catch_warnings():
        # LARS only gives the start: it may warn about the dependent columns, which the
        # feature-sign steps handle
        warnings.simplefilter("ignore")
        _, _, coefs = lars_path(X, target, method="lasso", alpha_min=gamma / n, max_iter=20 * X.shape[1] + 100)
    beta = _feature_sign(X, target, gamma, coefs[:, -1])
    coef = beta / scale
    if constant_cost is None:
        a = coef
        e = float(weights @ (ys - Phi @ a) / weights.sum())
    else:
        a, e = coef[:-1], float(coef[-1])
    f = Phi @ a + e
    return a, e, weights * (ys - f)


def _newton_polish(xs, ys, weights, alpha, knots, directions, jumps, e, u, free_constant, n_iter=30):
    """Newton's method on the optimality conditions of the continuous problem, at the
    structure column generation found (which units, their signs, which knots sit
    between data points); returns ``(knots, jumps, e, u)`` or None when it does not
    converge to a point with that structure.

    Unknowns: the jumps ``a``, the interior knots ``c``, the constant ``e`` and the dual
    vector ``u``.  Equations (``gamma = alpha / 2``, or 1 and the data matched exactly
    when ``alpha = 0``): the fit, ``u = W (y - f)`` (or ``f = y``); for each unit
    ``<u, phi_k> = sign(a_k) gamma omega(c_k)`` (the price is 1 where a unit is used);
    for each interior knot the price's derivative in ``c`` is zero (the knot is where
    its gap's price peaks); ``sum u = 0`` with a free constant.  As many equations as
    unknowns; the cutting planes of column generation converge to the knots only
    slowly, Newton's method quadratically."""
    gamma = 1.0 if alpha == 0 else 0.5 * alpha
    m, S = len(xs), len(knots)
    sigma = np.sign(jumps)
    interior = ~np.isin(knots, xs)
    I = np.flatnonzero(interior)
    has_e = free_constant or e != 0.0
    gap = np.searchsorted(xs, knots, side="right")
    c, a = knots.copy(), jumps.copy()
    n_unknown = S + len(I) + (1 if has_e else 0) + m
    for _ in range(n_iter):
        z = directions * (xs[:, None] - c)
        active = (z > 0).astype(np.float64)
        Phi = np.maximum(z, 0.0)
        dPhi = -directions * active  # d phi / d c
        root = np.sqrt(1.0 + c * c)
        om, om1, om2 = 2.0 * root, 2.0 * c / root, 2.0 / root**3
        f = Phi @ a + e
        Qs = dPhi.T @ u  # d <u, phi_k> / dc
        F = [f - ys if alpha == 0 else weights * (f - ys) + u,
             Phi.T @ u - sigma * gamma * om,
             (Qs - sigma * gamma * om1)[I]]
        if free_constant:
            F.append([np.sum(u)])
        elif has_e:
            F.append([np.sum(u) - np.sign(e) * gamma * 2.0])
        F = np.concatenate([np.ravel(x) for x in F])
        if np.max(np.abs(F)) <= 1e-15 * max(1.0, np.max(np.abs(ys)) * np.max(np.abs(xs)) * m):
            break
        J = np.zeros((len(F), n_unknown))
        rows_fit = slice(0, m)
        Wd = np.ones(m) if alpha == 0 else weights
        J[rows_fit, :S] = Wd[:, None] * Phi
        J[rows_fit, S : S + len(I)] = Wd[:, None] * dPhi[:, I] * a[I]
        col_e = S + len(I)
        col_u = col_e + (1 if has_e else 0)
        if has_e:
            J[rows_fit, col_e] = Wd
        if alpha != 0:
            J[rows_fit, col_u:] = np.eye(m)
        r2 = slice(m, m + S)
        J[r2, col_u:] = Phi.T
        J[m + I, S + np.arange(len(I))] = (Qs - sigma * gamma * om1)[I]
        r3 = m + S + np.arange(len(I))
        J[r3, col_u:] = dPhi[:, I].T
        J[r3, S + np.arange(len(I))] = -(sigma * gamma * om2)[I]
        if has_e:
            J[-1, col_u:] = 1.0
        step = np.linalg.lstsq(J, -F, rcond=None)[0]
        # a step that would change the structure (a sign, a knot leaving its gap) is halved
        for _ in range(30):
            a_new, c_new = a + step[:S], c.copy()
            c_new[I] += step[S : S + len(I)]
            if np.all(np.sign(a_new) == sigma) and np.all(np.searchsorted(xs, c_new, side="right") == gap):
                break
            step = 0.5 * step
        else:
            return None  # the optimum has another structure
        a, c = a_new, c_new
        if has_e:
            e = e + step[col_e]
        u = u + step[col_u:]
    else:
        return None
    return c, a, e, u


def minimum_norm_fit(xs, ys, weights, alpha, penalize_bias, free_constant, tol=1e-7, max_rounds=100):
    """The minimum-norm network on distinct sorted ``xs`` (weights ``weights``, targets ``ys``).

    Returns a :class:`MinimumNormSolution`.  ``alpha = 0``: the interpolant of
    least norm; ``alpha > 0``: the penalised fit.  ``free_constant``: a
    constant costs nothing (an output bias, or an unpenalised hidden bias).
    """
    xs, ys, weights = (np.asarray(a, dtype=np.float64) for a in (xs, ys, weights))
    constant_cost = None if free_constant else 2.0
    if len(xs) == 1 and free_constant:  # one point and a free constant: the constant
        empty = np.empty(0)
        return MinimumNormSolution(empty, empty, empty, float(ys[0]), 0.0, 0, 0.0)
    base_knots, base_directions = _initial_dictionary(xs)
    extra_knots, extra_directions = np.empty(0), np.empty(0)
    threshold = 1.0 if alpha == 0 else 0.5 * alpha
    worst, last, stalled = np.inf, np.inf, 0
    for rounds in range(1, max_rounds + 1):
        # the knots at the data always stay in the dictionary: they make every restricted
        # problem feasible and its dual vector a sensible price
        knots = np.concatenate([base_knots, extra_knots])
        directions = np.concatenate([base_directions, extra_directions])
        Phi = _features(xs, knots, directions)
        omega = unit_cost(knots, penalize_bias)
        if alpha == 0:
            a, e, u = _interpolation_lp(Phi, omega, ys, constant_cost)
        else:
            a, e, u = _penalised_lasso(Phi, omega, ys, weights, alpha, constant_cost)
        priced = _price(xs, u, penalize_bias, threshold)
        worst = float(np.max(priced[:, 2]))
        if constant_cost is not None:
            worst = max(worst, _constant_price(u, threshold))
        new = priced[priced[:, 2] > 1.0 + tol]
        # a unit already in the dictionary is priced at most 1 by the restricted solve, up
        # to its rounding: adding it again would change nothing
        known = [np.any((directions == s) & (np.abs(knots - c) <= 1e-12 * (1.0 + abs(c)))) for c, s, _ in new]
        new = new[~np.asarray(known, dtype=bool)] if len(new) else new
        value = float(omega @ np.abs(a)) + (0.0 if free_constant else 2.0 * abs(e))
        if alpha != 0:
            r = Phi @ a + e - ys
            value = 0.5 * float(weights @ (r * r)) + 0.5 * alpha * value
        # the objective stalls: a degenerate restricted problem (fewer units than data) has many
        # dual vectors, and the one the simplex returns can price units above 1 that improve
        # nothing; three rounds without a relative decrease of 1e-13 end the search
        stalled = stalled + 1 if value >= last * (1.0 - 1e-13) else 0
        last = min(last, value)
        if len(new) == 0 or stalled >= 3 or rounds == max_rounds:
            break
        used = a != 0
        merged_knots, merged_directions = _merge(xs, knots[used], directions[used], a[used])
        extra_knots = np.concatenate([merged_knots, new[:, 0]])
        extra_directions = np.concatenate([merged_directions, new[:, 1]])
    if penalize_bias and worst > 1.0 + 1e-12:
        used = a != 0
        # units that share a gap, direction and sign become one (the same fit, cheaper)
        merged_knots, merged_directions = _merge(xs, knots[used], directions[used], a[used])
        gap = np.searchsorted(xs, knots[used], side="right")
        _, group = np.unique(np.column_stack([gap, directions[used], np.sign(a[used])]), axis=0,
                             return_inverse=True)
        merged_jumps = np.bincount(group.ravel(), weights=a[used])
        polished = _newton_polish(xs, ys, weights, alpha, merged_knots, merged_directions, merged_jumps, e, u,
                                  free_constant)
        if polished is not None:
            c_new, a_new, e_new, u_new = polished
            priced = _price(xs, u_new, penalize_bias, threshold)
            worst_new = float(np.max(priced[:, 2]))
            if constant_cost is not None:
                worst_new = max(worst_new, _constant_price(u_new, threshold))
            if worst_new <= 1.0 + tol:
                knots, directions, a, e, worst = c_new, merged_directions, a_new, e_new, worst_new
    # an interpolation LP whose objective stalled is degenerate (fewer units than data: many dual
    # vectors, and the simplex's can price units above 1 that improve nothing); its norm then
    # agrees with fine-grid LPs, and dual_violation_ reports the price, without a warning
    if worst > 1.0 + tol and not (alpha == 0 and stalled >= 3):
        if len(new) and rounds == max_rounds and stalled < 3:
            why = f"column generation ran out of rounds (max_rounds={max_rounds}; raise it)"
        elif stalled >= 3:
            why = ("the objective stopped decreasing (a degenerate problem, whose dual vector is not unique, or "
                   "rounding)")
        else:
            why = ("the units priced above 1 are in the dictionary already: the restricted problem was solved "
                   "only to rounding (alpha is tiny against the data's scale; standardize x and y, or use a "
                   "larger alpha)")
        bound = ""
        if alpha == 0:
            # u / worst is dual feasible: its value, the LP's over worst, bounds the optimum from below
            bound = f" The norm found is within a factor {worst:.9g} of the least one (a dual bound)."
        warn(f"The minimum-norm fit stopped with a unit priced {worst:.12g} (optimal: at most 1 + tol = "
             f"{1 + tol:.12g}): {why}.{bound}", ConvergenceWarning)
    keep = a != 0
    knots, directions, jumps = knots[keep], directions[keep], a[keep]
    order = np.lexsort((directions, knots))
    knots, directions, jumps = knots[order], directions[order], jumps[order]
    cost = float(unit_cost(knots, penalize_bias) @ np.abs(jumps)) + (0.0 if free_constant else 2.0 * abs(e))
    return MinimumNormSolution(knots, directions, jumps, e, cost, rounds, worst)
