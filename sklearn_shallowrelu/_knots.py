"""The exact 1-D solver: ridge on ReLU units with knots as a banded problem
over the sorted data points, in ``O(n log n + m)``.

Setting.  ``f(x) = c + sum_k t_k psi_k(x)`` with ``psi_k(x) = relu(s_k (x - xi_k))``
(knot ``xi_k``, direction ``s_k = +-1``) and the penalty ``alpha sum_k t_k^2 / q_k``.
For random features ``relu(w_k x + b_k) / sqrt(n)`` with output weights ``v_k``
this is scikit-learn's ridge: ``t_k = v_k |w_k| / sqrt(n)`` and ``q_k = w_k^2 / n``.
With the knot measure ``sum_k q_k delta_{xi_k}`` replaced by the curvature
weights ``g_+(xi) d xi`` and ``g_-(xi) d xi`` of an initialisation, the same
problem is its infinite-width limit (kernel ridge regression with the kernel of
the initialisation).

State space.  On the sorted distinct data ``x_1 < ... < x_m`` split ``f - c``
into the right-facing part ``R`` and the left-facing part ``L``.  The state
``R_i = (R(x_i), R'(x_i))`` moves right by a shear over each gap plus the jumps
of the knots in the gap; ``L_i = (L(x_i), -L'(x_i))`` moves left the same way::

    R_{i+1} = T(h_i) R_i + sum_gap t_k (x_{i+1} - xi_k, 1),
    L_i     = T(h_i) L_{i+1} + sum_gap t_k (xi_k - x_i, 1),      T(h) = [[1, h], [0, 1]],

starting from the knots outside the data (``R_1``: right-facing knots left of
``x_1``; ``L_m``: left-facing knots right of ``x_m``).  Minimising the penalty
over the jumps of a gap gives ``t_k = q_k (d_k, 1) . lambda_gap`` with the gap's
multiplier ``lambda_gap``, so the jumps enter only through the 2 x 2 moment
matrix ``M = sum_gap q_k (d_k, 1)(d_k, 1)^T``.  The optimality conditions in
``(lambda^R, R, L, lambda^L)`` per data point are a block-tridiagonal system
with 8 x 8 blocks (bandwidth 7), solved by LAPACK's banded LU with partial
pivoting.  With a free affine part one chain of 4 unknowns per point suffices
(:func:`solve_free`); the network's own problem is that chain bordered by two
unknowns (:mod:`._bordered`), the estimator's fast path, with this system as
its fallback.

Nothing is divided by a gap length and no moment matrix is inverted, so nearly
coinciding data points, empty gaps and gaps with a single knot cost no
accuracy; absolute positions never appear (only gaps and local offsets), and
the inputs are rescaled to unit range inside :func:`solve`.

Affine part: ``'free_constant'`` is scikit-learn's
unpenalised intercept (the value of ``R_1`` is freed); ``'penalized'`` has no
constant (the plain network); ``'free'`` leaves the affine part unpenalised (a
skip connection), i.e. ``R_1`` free and no outer knots.

Leverages (the diagonal of the smoother) come from the diagonal blocks of the
inverse of the one-chain system, by block cyclic reduction; see
:func:`_chain_leverages` for why not of this system's.
"""

import numpy as np
from scipy import linalg

__all__ = ["pool_ties", "sort_order", "GapMoments", "knot_gaps", "knot_moments", "solve", "solve_free", "Solution",
           "knot_jumps"]


def pool_ties(x, Y, w):
    """Sort, drop zero weights and pool tied inputs.

    Returns the distinct sorted ``x``, the weighted mean targets (m, k) and the
    summed weights.
    """
    keep = w > 0
    x, Y, w = x[keep], Y[keep], w[keep]
    order, x = sort_order(x)
    Y, w = Y[order], w[order]
    xs, start = np.unique(x, return_index=True)
    W = np.add.reduceat(w, start)
    Ym = np.add.reduceat(w[:, None] * Y, start, axis=0) / W[:, None]
    return xs, Ym, W


def sort_order(values):
    """An ascending order of ``values`` (ties in any order), exact, and for large
    arrays about twice as fast as ``numpy.argsort``; returns ``(order, values[order])``.

    The order comes from ``numpy.sort`` on the values with their index written
    into the lowest mantissa bits (a value sort is much faster than an index
    sort); that orders the values up to a relative ``n 2^-52``, and a stable
    pass over the almost sorted result, linear in practice, makes it exact.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    n = len(values)
    if n < 50_000 or not np.all(np.isfinite(values)):
        order = np.argsort(values, kind="stable")
        return order, values[order]
    low = np.uint64((1 << (n - 1).bit_length()) - 1)
    key = (values.view(np.uint64) & ~low) | np.arange(n, dtype=np.uint64)
    order = (np.sort(key.view(np.float64)).view(np.uint64) & low).astype(np.intp)
    almost = values[order]
    fix = np.argsort(almost, kind="stable")
    return order[fix], almost[fix]


class GapMoments:
    """What the solver needs of a knot measure, split by direction.

    right, left : ndarray of shape (3, m - 1)
        On each gap ``[x_j, x_{j+1})``: ``sum q d^k`` over the right-facing knots
        with ``d = x_{j+1} - xi`` and ``sum q e^k`` over the left-facing ones with
        ``e = xi - x_j`` (``k = 0, 1, 2``).  Local offsets keep tiny gaps exact.
    outer_right, outer_left : ndarray of shape (3,)
        The same for the right-facing knots left of ``x_1`` (``d = x_1 - xi``) and
        the left-facing knots right of ``x_m`` (``e = xi - x_m``): on the data they
        are affine functions.
    """

    def __init__(self, right, left, outer_right, outer_left):
        self.right, self.left = np.asarray(right, float), np.asarray(left, float)
        self.outer_right, self.outer_left = np.asarray(outer_right, float), np.asarray(outer_left, float)


def knot_gaps(xs, knots):
    """Gap index of each knot: ``j`` for ``x_j <= xi < x_{j+1}``, -1 left of the data, m-1 right of it."""
    return np.searchsorted(xs, knots, side="right") - 1


def knot_moments(xs, knots, q, right, gap=None):
    """Gap moments of the finite knot measure ``sum_k q_k delta_{xi_k}``.

    ``right`` marks the right-facing units (``w_k > 0``); ``gap`` is
    ``knot_gaps(xs, knots)`` if already known.
    """
    m = len(xs)
    gap = gap if gap is not None else knot_gaps(xs, knots)
    out = {}
    for name, side in (("right", right), ("left", ~right)):
        inner = side & (gap >= 0) & (gap < m - 1)
        g = gap[inner]
        off = xs[g + 1] - knots[inner] if name == "right" else knots[inner] - xs[g]
        out[name] = np.stack([np.bincount(g, weights=q[inner] * off**k, minlength=m - 1) for k in range(3)])
    o_r = right & (gap == -1)
    o_l = ~right & (gap == m - 1)
    d, e = xs[0] - knots[o_r], knots[o_l] - xs[-1]
    return GapMoments(out["right"], out["left"], [np.sum(q[o_r] * d**k) for k in range(3)],
                      [np.sum(q[o_l] * e**k) for k in range(3)])


class Solution:
    """The solved system on pooled data ``xs``.

    lam_right : (m, 2, k) multipliers of the right-facing parts: row 0 for the
        outer knots, row ``j + 1`` for gap ``j``; the jump of a right-facing
        knot in that gap is ``q (d lam[0] + lam[1])``.
    lam_left : (m, 2, k) rows ``0..m-2`` for the gaps, row ``m - 1`` for the outer knots.
    R, L : (m, 2, k) the states at the data points.
    intercept : (k,);  fitted : (m, k) fitted values at ``xs``.
    """

    def __init__(self, xs, lam_right, lam_left, R, L, intercept):
        self.xs, self.lam_right, self.lam_left, self.R, self.L = xs, lam_right, lam_left, R, L
        self.intercept = intercept
        self.fitted = R[:, 0] + L[:, 0] + intercept


_KL, _KU = 7, 7  # band of the 8-per-point ordering (lamR_prev, R, L, lamL)
# In-block positions of the unknowns, and of the equations written in their rows:
# the multipliers of R's equations, R = (value, slope), L = (value, -slope), the
# multipliers of L's equations.
_LRA, _LRB, _RV, _RS, _LV, _LS, _LLA, _LLB = range(8)
_J = np.array([[1.0, 1.0], [0.0, -1.0]])


def _matrix(M):
    """(sum q, sum q d, sum q d^2) as the 2 x 2 moment matrix of (d, 1)."""
    return np.array([[M[2], M[1]], [M[1], M[0]]])


def _unmatrix(mat):
    return np.array([mat[1, 1], mat[0, 1], mat[0, 0]])


def _band_writer(ab, m, p, kl, ku):
    """``view(row, col, shift)``: the strided view of ``A[p i + row, p (i + shift) + col]``
    over the blocks ``i`` that have that neighbour (None outside the band), and
    ``put(row, col, vals, shift=0)`` adding to it."""

    def view(row, col, shift):
        diag = ku + row - col - p * shift
        if not 0 <= diag < kl + ku + 1:
            return None
        return ab[diag, p * max(shift, 0) + col::p][: m - abs(shift)]

    def put(row, col, vals, shift=0):
        view(row, col, shift)[...] += vals

    return view, put


def _free_rows(ab, rows, kl, ku):
    """Drop the equations in ``rows``: their multipliers become zero (identity rows)."""
    for r in rows:
        ab[:, r] = 0.0
        for j in range(max(0, r - ku), min(ab.shape[1], r + kl + 1)):
            ab[ku + r - j, j] = 0.0
        ab[ku, r] = 1.0


def _scale_row(view, row, p, m, factor):
    """Multiply the equation in position ``row`` of every block by ``factor`` (m,)."""
    for shift in (-1, 0, 1):
        for col in range(p):
            v = view(row, col, shift)
            if v is not None:
                v *= factor[max(-shift, 0): m - max(shift, 0)]


def _banded_solve(full, kl, ku, rhs):
    """LAPACK ``gbsv`` in place on ``full`` (with its ``kl`` spare rows on top)."""
    gbsv = linalg.get_lapack_funcs("gbsv", (full, rhs))
    _, _, z, info = gbsv(kl, ku, full, rhs, overwrite_ab=True, overwrite_b=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"The banded system is singular (LAPACK gbsv info={info}).")
    return z


def _banded_lu(full, kl, ku):
    """LAPACK ``gbtrf`` in place on ``full``: the factors and pivots for :func:`_lu_solve`."""
    gbtrf = linalg.get_lapack_funcs("gbtrf", (full,))
    lu, piv, info = gbtrf(full, kl, ku, overwrite_ab=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"The banded system is singular (LAPACK gbtrf info={info}).")
    return lu, piv


def _lu_solve(lu, piv, kl, ku, rhs, trans=0):
    """LAPACK ``gbtrs``: ``A^-1 rhs`` (``trans=1``: ``A^-T rhs``) from :func:`_banded_lu`."""
    gbtrs = linalg.get_lapack_funcs("gbtrs", (lu,))
    z, info = gbtrs(lu, kl, ku, rhs, piv, trans=trans)
    if info != 0:
        raise np.linalg.LinAlgError(f"LAPACK gbtrs info={info}.")
    return z


def _chain(put, a, b, v, s, h, M, step):
    """One chain of states ``S_i = T(h) S_{i+step} + M lam_i`` (``step=-1``: the
    right-facing part, built from the left; ``+1``: the left-facing part): its
    equations in rows ``a, b`` (the positions of ``lam``) and its multipliers'
    terms in the stationarity rows ``v, s`` of the state (value, slope)."""
    put(a, v, 1.0)
    put(b, s, 1.0)
    put(a, v, -1.0, step)
    put(a, s, -h, step)
    put(b, s, -1.0, step)
    put(a, a, -M[2])
    put(a, b, -M[1])
    put(b, a, -M[1])
    put(b, b, -M[0])
    put(v, a, 1.0)
    put(s, b, 1.0)
    put(v, a, -1.0, -step)
    put(s, a, -h, -step)
    put(s, b, -1.0, -step)


def _system(xs, W, mom, alpha, affine):
    """The banded KKT matrix in LAPACK band storage, on inputs rescaled to unit range."""
    m = len(xs)
    sigma = xs[-1] - xs[0]
    h = np.diff(xs) / sigma
    pw = sigma ** (2.0 - np.arange(3))
    # (M11, M12, M22) = (sum q d^2, sum q d, sum q) in rescaled units, per block
    MR = np.column_stack([mom.outer_right * pw, mom.right * pw[:, None]])
    ML = np.column_stack([mom.left * pw[:, None], mom.outer_left * pw])
    if affine == "free":
        MR[:, 0] = 0.0
        ML[:, -1] = 0.0
    # Only alpha / q matters: scale the knot mass between the data points to
    # one, so that the moments and the data weights W / alpha meet at
    # comparable sizes whatever the scale of x relative to the initialisation.
    mass = MR[0, 1:].sum() + ML[0, :-1].sum()
    mass = mass if mass > 0 else MR[0].sum() + ML[0].sum()
    mass = mass if mass > 0 else 1.0
    MR, ML = MR / mass, ML / mass
    # The outer knots on both sides act on the data as one affine function: move
    # the left-facing ones into R_1 (their covariances add; J maps (L(x_m),
    # -L'(x_m)) to (value at x_1, slope) on the unit range), so that L_m = 0 and
    # two nearly free affine parts cannot trade against each other.
    outer_left = _matrix(ML[:, -1])
    MR[:, 0] = _unmatrix(_matrix(MR[:, 0]) + _J @ outer_left @ _J.T)
    ML[:, -1] = 0.0
    omega = W * mass / alpha
    N = 8 * m
    # LAPACK's gbsv wants KL spare rows on top for the fill-in of pivoting:
    # allocate them here so that the solve works in place (no 100 MB copy).
    full = np.zeros((2 * _KL + _KU + 1, N), order="F")  # LAPACK's layout: no copy
    ab = full[_KL:]

    view, put = _band_writer(ab, m, 8, _KL, _KU)
    # R_i = T(h) R_{i-1} + M lam and L_i = T(h) L_{i+1} + M lam, with their multipliers
    _chain(put, _LRA, _LRB, _RV, _RS, h, MR, -1)
    _chain(put, _LLA, _LLB, _LV, _LS, h, ML, 1)
    # stationarity in R_i and L_i: the data enter through f(x_i) = R(x_i) + L(x_i)
    for row in (_RV, _LV):
        put(row, _RV, omega)
        put(row, _LV, omega)
    # A free constant frees the value of R_1 and a free affine part also its
    # slope: the equation goes, and its multiplier is zero (an identity row).
    n_free = {"penalized": 0, "free_constant": 1, "free": 2}[affine]
    _free_rows(ab, (_LRA, _LRB)[:n_free], _KL, _KU)
    # Outer knots that dominate the interior (x far from where the initialisation
    # puts its knots, or squeezed into a tiny range) make the affine part nearly
    # free; the constraint R_1 = M lam then mixes sizes a factor 1e18 apart.
    # The information form lam = M^-1 R_1 (a weak penalty on R_1) is exact too
    # and well scaled there.
    if n_free < 2:
        _information_form(ab, (_LRA, _LRB), (_RV, _RS), MR[:, 0], value_free=n_free == 1)
    # Near interpolation omega = W / alpha is huge and the two stationarity rows
    # of a point are nearly equal: keep their difference (free of omega) and
    # divide the first by omega, so that alpha -> 0 tends to the interpolation
    # conditions f(x_i) = y_i instead of overflowing them.
    for shift in (-1, 0, 1):
        for col in range(8):
            src, dst = view(_RV, col, shift), view(_LV, col, shift)
            if src is not None and dst is not None:  # (where only dst is None, src holds no entry)
                dst -= src
    shrink = 1.0 / np.maximum(omega, 1.0)
    _scale_row(view, _RV, 8, m, shrink)
    return full, omega * shrink, sigma, mass, outer_left


def _information_form(ab, lam, state, M, value_free):
    """Replace ``state = M lam`` by ``lam = M^-1 state`` when that is better scaled.

    ``M`` = (sum q, sum q d, sum q d^2); with a free value only the slope is
    penalised, by ``slope^2 / sum q``.
    """
    mat = _matrix(M)
    eig = np.linalg.eigvalsh(mat[1:, 1:] if value_free else mat)
    if not (eig[0] >= 1.0 and eig[-1] < 1e12 * eig[0]):
        return
    P = np.zeros((2, 2))
    if value_free:
        P[1, 1] = 1.0 / M[0]
    else:
        P = np.linalg.inv(mat)
    for a in range(2):
        for b in range(2):
            ab[_KU + lam[a] - lam[b], lam[b]] = float(a == b)
            ab[_KU + lam[a] - state[b], state[b]] = -P[a, b]
            ab[_KU + state[a] - lam[b], lam[b]] = 0.0
            ab[_KU + state[a] - state[b], state[b]] += P[a, b]


def solve(xs, Y, W, mom, alpha, affine="free_constant", leverages=False):
    """Solve the ridge problem on pooled data; see the module docstring.

    Parameters
    ----------
    xs : (m,) sorted distinct inputs, m >= 2
    Y : (m, k) targets;  W : (m,) positive weights
    mom : GapMoments
    alpha : float > 0
    affine : {'penalized', 'free_constant', 'free'}
    leverages : bool, default=False
        Also compute the diagonal of the smoother (``d fitted_i / d Y_i``), in
        ``Solution.leverages``.

    Returns
    -------
    Solution
    """
    if affine not in ("penalized", "free_constant", "free"):
        raise ValueError(f"Unknown affine option {affine!r}.")
    m, k = Y.shape
    ab, omega, sigma, mass, outer_left = _system(xs, W, mom, alpha, affine)
    rhs = np.zeros((8 * m, k), order="F")
    rhs[_RV::8] = omega[:, None] * Y  # the data enter one row per point (see _system)
    diag = _chain_leverages(xs, W, mom, alpha, affine) if leverages else None
    z = _banded_solve(ab, _KL, _KU, rhs).reshape(m, 8, k)
    lam_r, R, L, lam_l = z[:, _LRA:_LRB + 1], z[:, _RV:_RS + 1], z[:, _LV:_LS + 1], z[:, _LLA:_LLB + 1]
    c = np.zeros(k)
    if affine == "free":
        lam_l[-1] = 0.0  # no outer knots: their multiplier carries no jumps
    else:
        # Split the merged affine part again: the left-facing outer knots get the
        # multiplier J^T lam_0 and their own state, which R gives back.
        lam_l[-1] = _J.T @ lam_r[0]
        lout = outer_left @ lam_l[-1]  # (L(x_m), -L'(x_m)) of the outer left-facing knots
        along = (xs[-1] - xs)[:, None] / sigma * lout[1]
        L[:, 0] += lout[0] + along
        L[:, 1] += lout[1]
        R[:, 0] -= lout[0] + along
        R[:, 1] += lout[1]
    if affine == "free_constant":
        # R(x_1) minus what the outer knots make of it (their slope-only multiplier)
        c = R[0, 0] - _matrix(mom.outer_right * sigma ** (2.0 - np.arange(3)) / mass)[0, 1] * lam_r[0, 1]
        R[:, 0] -= c
    unscale = np.array([1.0, sigma])[None, :, None]
    sol = Solution(xs, lam_r * unscale / mass, lam_l * unscale / mass, R / unscale, L / unscale, c)
    sol.leverages = diag
    return sol


def _chain_leverages(xs, W, mom, alpha, affine):
    """The leverages of :func:`solve`'s problem, from its one-chain form.

    Block cyclic reduction pivots only within a block.  On this module's
    8-unknown blocks that is unstable near interpolation: against a 50-digit
    dense reference (120 points, 400 knots, a near-tie) it lost 6e-7 of a
    leverage at ``alpha = 1e-8`` and 7 (all digits) at ``alpha = 1e-14``, with
    every reduction level contributing, although the fitted values from the
    pivoted LU were right to 1e-14.  On the 4-unknown chain of
    :func:`solve_free` (and its border, :mod:`._bordered`) the same reduction
    stays within a few ``eps`` times the componentwise condition of the
    leverages (6e-15 and 3e-10 there).  The problem is the same, so its
    leverages come from the chain.
    """
    from . import _bordered  # imported here: _bordered builds on this module

    chain = _bordered.from_gap_moments(xs, mom)
    zero = np.zeros((len(xs), 1))  # leverages do not depend on the targets
    if affine == "free":
        return solve_free(xs, zero, W, chain.M[:, 1:], alpha, leverages=True).leverages
    return _bordered.solve(xs, zero, W, chain, alpha, affine, leverages=True).leverages


_FA, _FB, _FV, _FS = range(4)  # in-block positions of the free-affine chain: (lam_a, lam_b, value, slope)
_FKL = _FKU = 2


def free_system(xs, W, right, alpha):
    """The matrix of :func:`solve_free` (band storage with gbsv's spare rows).

    Returns ``(full, omega, shrink, sigma, mass)``: the data ``Y`` enter the
    right-hand side as ``(omega * shrink)[:, None] * Y`` in the value rows
    (position ``_FV``), which are multiplied by ``shrink``; the inputs are
    rescaled by ``sigma`` and the knot masses by ``mass`` as in :func:`solve`
    (multipliers come back as ``lam * (1, sigma) / mass``).
    """
    m = len(xs)
    sigma = xs[-1] - xs[0]
    h = np.diff(xs) / sigma
    M = np.column_stack([np.zeros(3), np.asarray(right, float) * (sigma ** (2.0 - np.arange(3)))[:, None]])
    mass = M[0].sum() if M[0].sum() > 0 else 1.0
    M = M / mass
    omega = W * mass / alpha
    shrink = 1.0 / np.maximum(omega, 1.0)  # as in _system: alpha -> 0 tends to interpolation
    full = np.zeros((2 * _FKL + _FKU + 1, 4 * m), order="F")  # LAPACK's layout: no copy
    ab = full[_FKL:]
    view, put = _band_writer(ab, m, 4, _FKL, _FKU)
    _chain(put, _FA, _FB, _FV, _FS, h, M, -1)
    put(_FV, _FV, omega)
    _scale_row(view, _FV, 4, m, shrink)  # the data row, shrunk as in _system
    _free_rows(ab, (_FA, _FB), _FKL, _FKU)  # R_1 is free: no equation, a zero multiplier
    return full, omega, shrink, sigma, mass


def solve_free(xs, Y, W, right, alpha, leverages=False):
    """The ``affine='free'`` problem as one right-facing chain: 4 unknowns per point.

    With a free affine part a left-facing unit is a right-facing one at the same
    knot plus an affine function, which the free part absorbs; so the units of
    both directions form one chain ``R_{i+1} = T(h_i) R_i + M_i lam_i`` (``M``
    from the moments of all knots, anchored at the right end of each gap) with
    ``R_1`` free and ``f(x_i) = R(x_i)``.  The band is 2 + 2 wide instead of
    7 + 7, about 25 times less LU work than :func:`solve`, which it equals.

    Parameters
    ----------
    xs, Y, W, alpha, leverages : as in :func:`solve`
    right : ndarray of shape (3, m - 1)
        ``sum q d^k`` over all knots in each gap, ``d = x_{j+1} - xi``.

    Returns
    -------
    Solution (left-facing parts zero; ``lam_right`` carries every jump)
    """
    m, k = Y.shape
    full, omega, shrink, sigma, mass = free_system(xs, W, right, alpha)
    data = omega * shrink
    N = 4 * m
    rhs = np.zeros((N, k), order="F")
    rhs[_FV::4] = data[:, None] * Y
    diag = None
    if leverages:
        diag = data * _inverse_diagonal_entries(full, 4, _FKL, _FKU, _FV, (_FV,))
    z = _banded_solve(full, _FKL, _FKU, rhs).reshape(m, 4, k)
    unscale = np.array([1.0, sigma])[None, :, None]
    zeros = np.zeros((m, 2, k))
    sol = Solution(xs, z[:, 0:2] * unscale / mass, zeros, z[:, 2:4] / unscale, zeros, np.zeros(k))
    sol.leverages = diag
    return sol


def knot_jumps(sol, knots, q, right, gap=None):
    """Optimal jumps ``t_k`` (n, k) of the finite-width solution (``gap`` as in :func:`knot_moments`)."""
    xs = sol.xs
    m = len(xs)
    gap = gap if gap is not None else knot_gaps(xs, knots)
    t = np.zeros((len(knots), sol.intercept.shape[0]))
    # right-facing: outer (gap -1) uses row 0, gap j row j+1; beyond x_m nothing
    sel = right & (gap < m - 1)
    g = gap[sel]
    d = xs[np.maximum(g, -1) + 1] - knots[sel]
    lam = sol.lam_right[g + 1]
    t[sel] = q[sel, None] * (d[:, None] * lam[:, 0] + lam[:, 1])
    sel = ~right & (gap >= 0)
    g = gap[sel]
    e = knots[sel] - xs[g]
    lam = sol.lam_left[g]
    t[sel] = q[sel, None] * (e[:, None] * lam[:, 0] + lam[:, 1])
    return t


class PiecewiseLinear:
    """A 1-D network ``sum_k t_k relu(s_k (x - xi_k)) + const`` evaluated by
    sorted knots and prefix sums in ``O((n + p) log n)``, never a p x n matrix.

    Built from hidden weights ``w`` (n,), biases ``b`` (n,) and output
    coefficients ``coef`` (n, k) scaled by ``scale``; units with ``w = 0`` are
    constants ``relu(b)``.
    """

    def __init__(self, w, b, coef, scale, intercept):
        coef = np.asarray(coef, dtype=np.float64).reshape(len(w), -1) * scale
        const = intercept + np.maximum(b[w == 0], 0) @ coef[w == 0]
        has = w != 0
        xi, t = -b[has] / w[has], np.abs(w[has])[:, None] * coef[has]
        order, xi = sort_order(xi)
        self._build(xi, w[has][order] > 0, t[order], const)

    @classmethod
    def from_jumps(cls, knots, right, jumps, const):
        """The network with slope ``jumps`` (n, k) at ``knots`` sorted ascending;
        its prefix sums are formed at the first evaluation (a fit that is never
        evaluated does not pay for them)."""
        pl = cls.__new__(cls)
        pl._build(knots, right, jumps, const)
        return pl

    def _build(self, knots, right, jumps, const):
        self.const = np.asarray(const, dtype=np.float64)
        self._pending, self._sides = (knots, right, jumps), None

    @property
    def sides(self):
        """Per direction: the sorted knots and the prefix sums of ``t`` and ``t xi``."""
        if self._sides is None:
            knots, right, jumps = self._pending
            zero = np.zeros((1, jumps.shape[1]))
            self._sides = []
            for sel in (right, ~right):  # each side's knots stay sorted
                k, t = knots[sel], jumps[sel]
                self._sides.append((k, np.vstack([zero, np.cumsum(t, axis=0)]),
                                    np.vstack([zero, np.cumsum(t * k[:, None], axis=0)])))
            self._pending = None
        return self._sides

    def _positions(self, x):
        """For each ``x``: how many knots of each side lie at or left of it.  The
        queries are sorted first: ``searchsorted`` with sorted queries stays in
        cache, several times faster than with scattered ones."""
        order, xsorted = sort_order(x)
        out = []
        for k, _, _ in self.sides:
            pos = np.empty(len(x), dtype=np.intp)
            pos[order] = np.searchsorted(k, xsorted, side="right")
            out.append(pos)
        return out

    def __call__(self, x):
        """Values (p, k) at ``x`` (p,)."""
        (_, r0, r1), (_, l0, l1) = self.sides
        x = np.asarray(x, dtype=np.float64)
        i, j = self._positions(x)
        x = x[:, None]
        right = x * r0[i] - r1[i]  # sum over xi <= x of t (x - xi)
        left = (l1[-1] - l1[j]) - x * (l0[-1] - l0[j])  # sum over xi > x of t (xi - x)
        return right + left + self.const

    def derivative(self, x):
        """Right derivative (p, k) at ``x`` (p,)."""
        (_, r0, _), (_, l0, _) = self.sides
        i, j = self._positions(np.asarray(x, dtype=np.float64))
        return r0[i] - (l0[-1] - l0[j])


def set_knot_attributes(est, W, b, v, single, presorted=None):
    """Set ``knots_`` (sorted ``-b_k / w_k``) and ``slope_jumps_`` (``|w_k| v_k``) on a
    fitted 1-D network; remove them otherwise, so a refit never leaves stale ones.

    ``v`` (n, k) is the slope of each unit's output per unit of ``relu``: output
    weights times the output scale and the activation's jump.  ``presorted``:
    the knots already sorted and their jumps, when a solver has them.
    """
    for name in ("knots_", "slope_jumps_"):
        if hasattr(est, name):
            delattr(est, name)
    if v is None or W.shape[1] != 1:
        return
    if presorted is not None:  # (sorted knots, their jumps) from the exact solver
        est.knots_, jumps = presorted
        est.slope_jumps_ = jumps[:, 0] if single else jumps
        return
    w = W[:, 0]
    has = w != 0
    knots = -b[has] / w[has]
    order = np.argsort(knots, kind="stable")
    jumps = (np.abs(w[has])[:, None] * v[has])[order]
    est.knots_ = knots[order]
    est.slope_jumps_ = jumps[:, 0] if single else jumps


_COLUMNS_FALLBACK = 4000  # points up to which singular pivots fall back to solving for columns


def _inverse_diagonal_entries(full, p, kl, ku, row, cols):
    """``sum_c (A^-1)[p i + c, p i + row]`` for every block ``i``, ``c`` in ``cols``.

    By block cyclic reduction (:func:`_inverse_diagonal`), which pivots within
    blocks only: used on the 4-unknown chain (``p = 4``), where it is accurate,
    not on the 8-unknown system (see :func:`_chain_leverages`).  Near
    interpolation a gap without knots can make a pivot block singular; then, up
    to ``_COLUMNS_FALLBACK`` points, the columns of the inverse come from the
    pivoted banded LU instead (``O(m^2)``).
    """
    m = full.shape[1] // p
    try:
        with np.errstate(all="ignore"):
            G = _inverse_diagonal(*_band_blocks(full[kl:], m, p, kl, ku))[0]
        out = sum(G[:, c, row] for c in cols)
        if np.all(np.isfinite(out)):
            return out
    except np.linalg.LinAlgError:
        pass
    if m > _COLUMNS_FALLBACK:
        raise np.linalg.LinAlgError(
            "The exact leverages hit a singular pivot (near interpolation with gaps between data "
            f"points that hold no knots) and {m} points are too many for the column fallback; "
            "use a larger alpha."
        )
    gbtrf, gbtrs = linalg.get_lapack_funcs(("gbtrf", "gbtrs"), (full,))
    lu, piv, info = gbtrf(full.copy(), kl, ku)
    if info != 0:
        raise np.linalg.LinAlgError(f"The banded system is singular (LAPACK gbtrf info={info}).")
    out = np.empty(m)
    for start in range(0, m, 256):
        idx = np.arange(start, min(start + 256, m))
        E = np.zeros((full.shape[1], len(idx)))
        E[p * idx + row, np.arange(len(idx))] = 1.0
        Z, info = gbtrs(lu, kl, ku, E, piv)
        out[idx] = sum(Z[p * idx + c, np.arange(len(idx))] for c in cols)
    return out


def _band_blocks(ab, m, p, kl, ku):
    """Diagonal, upper and lower ``p x p`` blocks of a banded matrix (strided copies)."""
    D = np.zeros((m, p, p))
    U = np.zeros((m - 1, p, p))
    Lo = np.zeros((m - 1, p, p))
    for a in range(p):
        for b in range(p):
            if -ku <= a - b <= kl:
                D[:, a, b] = ab[ku + a - b, b::p]
            if 0 <= ku + a - b - p:  # A[p i + a, p (i+1) + b]
                U[:, a, b] = ab[ku + a - b - p, p + b::p]
            if ku + p + a - b <= kl + ku:  # A[p (i+1) + a, p i + b]
                Lo[:, a, b] = ab[ku + p + a - b, b::p][: m - 1]
    return D, U, Lo


def _inverse_diagonal(D, U, Lo):
    """Diagonal and first off-diagonal blocks of the inverse of a block-tridiagonal
    matrix (``U[i] = A[i, i+1]``, ``Lo[i] = A[i+1, i]``), by cyclic reduction.

    Each level eliminates the odd blocks at once (batched 8 x 8 algebra), so the
    cost is a few passes over the blocks instead of a Python loop over them; the
    eliminated blocks are those of a smoothing problem with one point removed,
    which keeps them invertible.
    """
    m, p = D.shape[0], D.shape[1]
    if m <= 2:
        A = np.zeros((m * p, m * p))
        for i in range(m):
            A[i * p:(i + 1) * p, i * p:(i + 1) * p] = D[i]
        if m == 2:
            A[:p, p:], A[p:, :p] = U[0], Lo[0]
        Ai = np.linalg.inv(A)
        return (np.stack([Ai[i * p:(i + 1) * p, i * p:(i + 1) * p] for i in range(m)]),
                Ai[None, :p, p:][: m - 1], Ai[None, p:, :p][: m - 1])
    if m % 2 == 0:  # pad with a decoupled identity block so every odd block has two neighbours
        D = np.concatenate([D, np.eye(p)[None]])
        U = np.concatenate([U, np.zeros((1, p, p))])
        Lo = np.concatenate([Lo, np.zeros((1, p, p))])
    Dinv = np.linalg.inv(D[1::2])
    Ul, Ur = U[0::2], U[1::2]  # A[2j, 2j+1], A[2j+1, 2j+2]
    Ll, Lr = Lo[0::2], Lo[1::2]  # A[2j+1, 2j], A[2j+2, 2j+1]
    De = D[0::2].copy()
    De[:-1] -= Ul @ Dinv @ Ll
    De[1:] -= Lr @ Dinv @ Ur
    Ge, Gue, Gle = _inverse_diagonal(De, -Ul @ Dinv @ Ur, -Lr @ Dinv @ Ll)
    # odd block i = 2j + 1 between the even blocks 2j and 2j + 2
    Gl_prev = -(Ge[:-1] @ Ul + Gue @ Lr) @ Dinv  # G[i-1, i]
    Gr_next = -(Gle @ Ul + Ge[1:] @ Lr) @ Dinv  # G[i+1, i]
    Go = Dinv @ (np.eye(p) - Ll @ Gl_prev - Ur @ Gr_next)
    Go_right = -Dinv @ (Ll @ Gue + Ur @ Ge[1:])  # G[i, i+1]
    Go_left = -Dinv @ (Ll @ Ge[:-1] + Ur @ Gle)  # G[i, i-1]
    n = D.shape[0]
    G = np.empty((n, p, p))
    G[0::2], G[1::2] = Ge, Go
    Gu = np.empty((n - 1, p, p))
    Gl = np.empty((n - 1, p, p))
    Gu[0::2], Gu[1::2] = Gl_prev, Go_right  # G[2j, 2j+1], G[2j+1, 2j+2]
    Gl[0::2], Gl[1::2] = Go_left, Gr_next  # G[2j+1, 2j], G[2j+2, 2j+1]
    return G[:m], Gu[: m - 1], Gl[: m - 1]
