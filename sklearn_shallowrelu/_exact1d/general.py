"""The general system: 8 unknowns per data point, right- and left-facing parts
apart.  The fallback of the bordered chain (see :mod:`sklearn_shallowrelu._exact1d`).

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
(:func:`.chain.solve_free`); the network's own problem is that chain bordered by two
unknowns (:mod:`.bordered`), the estimator's fast path, with this system as
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

from . import bordered
from .banded import band_writer, banded_solve, free_rows, scale_row
from .chain import Solution, chain_equations, solve_free
from .moments import from_gap_moments
from .options import check_affine


_KL, _KU = 7, 7  # band of the 8-per-point ordering (multR_prev, R, L, multL)


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


def _system(xs, weights, mom, alpha, affine):
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
    # one, so that the moments and the data weights / alpha meet at
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
    omega = weights * mass / alpha
    N = 8 * m
    # LAPACK's gbsv wants KL spare rows on top for the fill-in of pivoting:
    # allocate them here so that the solve works in place (no 100 MB copy).
    full = np.zeros((2 * _KL + _KU + 1, N), order="F")  # LAPACK's layout: no copy
    ab = full[_KL:]

    view, put = band_writer(ab, m, 8, _KL, _KU)
    # R_i = T(h) R_{i-1} + M mult and L_i = T(h) L_{i+1} + M mult, with their multipliers
    chain_equations(put, _LRA, _LRB, _RV, _RS, h, MR, -1)
    chain_equations(put, _LLA, _LLB, _LV, _LS, h, ML, 1)
    # stationarity in R_i and L_i: the data enter through f(x_i) = R(x_i) + L(x_i)
    for row in (_RV, _LV):
        put(row, _RV, omega)
        put(row, _LV, omega)
    # A free constant frees the value of R_1 and a free affine part also its
    # slope: the equation goes, and its multiplier is zero (an identity row).
    n_free = {"penalized": 0, "free_constant": 1, "free": 2}[affine]
    free_rows(ab, (_LRA, _LRB)[:n_free], _KL, _KU)
    # Outer knots that dominate the interior (x far from where the initialisation
    # puts its knots, or squeezed into a tiny range) make the affine part nearly
    # free; the constraint R_1 = M mult then mixes sizes a factor 1e18 apart.
    # The information form mult = M^-1 R_1 (a weak penalty on R_1) is exact too
    # and well scaled there.
    if n_free < 2:
        _information_form(ab, (_LRA, _LRB), (_RV, _RS), MR[:, 0], value_free=n_free == 1)
    # Near interpolation omega = weights / alpha is huge and the two stationarity rows
    # of a point are nearly equal: keep their difference (free of omega) and
    # divide the first by omega, so that alpha -> 0 tends to the interpolation
    # conditions f(x_i) = y_i instead of overflowing them.
    for shift in (-1, 0, 1):
        for col in range(8):
            src, dst = view(_RV, col, shift), view(_LV, col, shift)
            if src is not None and dst is not None:  # (where only dst is None, src holds no entry)
                dst -= src
    shrink = 1.0 / np.maximum(omega, 1.0)
    scale_row(view, _RV, 8, m, shrink)
    return full, omega * shrink, sigma, mass, outer_left


def _information_form(ab, mult, state, M, value_free):
    """Replace ``state = M mult`` by ``mult = M^-1 state`` when that is better scaled.

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
            ab[_KU + mult[a] - mult[b], mult[b]] = float(a == b)
            ab[_KU + mult[a] - state[b], state[b]] = -P[a, b]
            ab[_KU + state[a] - mult[b], mult[b]] = 0.0
            ab[_KU + state[a] - state[b], state[b]] += P[a, b]


def solve(xs, Y, weights, mom, alpha, affine="free_constant", leverages=False):
    """Solve the ridge problem on pooled data; see the module docstring.

    Parameters
    ----------
    xs : (m,) sorted distinct inputs, m >= 2
    Y : (m, k) targets;  weights : (m,) positive weights
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
    check_affine(affine)
    m, k = Y.shape
    ab, omega, sigma, mass, outer_left = _system(xs, weights, mom, alpha, affine)
    rhs = np.zeros((8 * m, k), order="F")
    rhs[_RV::8] = omega[:, None] * Y  # the data enter one row per point (see _system)
    diag = _chain_leverages(xs, weights, mom, alpha, affine) if leverages else None
    z = banded_solve(ab, _KL, _KU, rhs).reshape(m, 8, k)
    mult_r, R, L, mult_l = z[:, _LRA:_LRB + 1], z[:, _RV:_RS + 1], z[:, _LV:_LS + 1], z[:, _LLA:_LLB + 1]
    c = np.zeros(k)
    if affine == "free":
        mult_l[-1] = 0.0  # no outer knots: their multiplier carries no jumps
    else:
        # Split the merged affine part again: the left-facing outer knots get the
        # multiplier J^T mult_0 and their own state, which R gives back.
        mult_l[-1] = _J.T @ mult_r[0]
        lout = outer_left @ mult_l[-1]  # (L(x_m), -L'(x_m)) of the outer left-facing knots
        along = (xs[-1] - xs)[:, None] / sigma * lout[1]
        L[:, 0] += lout[0] + along
        L[:, 1] += lout[1]
        R[:, 0] -= lout[0] + along
        R[:, 1] += lout[1]
    if affine == "free_constant":
        # R(x_1) minus what the outer knots make of it (their slope-only multiplier)
        c = R[0, 0] - _matrix(mom.outer_right * sigma ** (2.0 - np.arange(3)) / mass)[0, 1] * mult_r[0, 1]
        R[:, 0] -= c
    unscale = np.array([1.0, sigma])[None, :, None]
    sol = Solution(xs, mult_r * unscale / mass, mult_l * unscale / mass, R / unscale, L / unscale, c)
    sol.leverages = diag
    return sol


def _chain_leverages(xs, weights, mom, alpha, affine):
    """The leverages of :func:`solve`'s problem, from its one-chain form.

    Block cyclic reduction pivots only within a block.  On this module's
    8-unknown blocks that is unstable near interpolation: against a 50-digit
    dense reference (120 points, 400 knots, a near-tie) it lost 6e-7 of a
    leverage at ``alpha = 1e-8`` and 7 (all digits) at ``alpha = 1e-14``, with
    every reduction level contributing, although the fitted values from the
    pivoted LU were right to 1e-14.  On the 4-unknown chain of
    :func:`.chain.solve_free` (and its border, :mod:`.bordered`) the same reduction
    stays within a few ``eps`` times the componentwise condition of the
    leverages (6e-15 and 3e-10 there).  The problem is the same, so its
    leverages come from the chain.
    """
    chain = from_gap_moments(xs, mom)
    zero = np.zeros((len(xs), 1))  # leverages do not depend on the targets
    if affine == "free":
        return solve_free(xs, zero, weights, chain.M[:, 1:], alpha, leverages=True).leverages
    return bordered.solve(xs, zero, weights, chain, alpha, affine, leverages=True).leverages
