"""LAPACK band storage for the engine's block-banded systems: writing the
``p x p`` blocks of a block-tridiagonal matrix into ``gbsv``'s layout, the
pivoted banded LU, and the diagonal blocks of the inverse by block cyclic
reduction (the leverages).

The matrices are allocated with LAPACK's ``kl`` spare rows on top, so the
factorisation runs in place: at ``m = 1e6`` points a copy would cost 100 MB.
"""

import numpy as np
from scipy import linalg


def band_writer(ab, m, p, kl, ku):
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


def free_rows(ab, rows, kl, ku):
    """Drop the equations in ``rows``: their multipliers become zero (identity rows)."""
    for r in rows:
        ab[:, r] = 0.0
        for j in range(max(0, r - ku), min(ab.shape[1], r + kl + 1)):
            ab[ku + r - j, j] = 0.0
        ab[ku, r] = 1.0


def scale_row(view, row, p, m, factor):
    """Multiply the equation in position ``row`` of every block by ``factor`` (m,)."""
    for shift in (-1, 0, 1):
        for col in range(p):
            v = view(row, col, shift)
            if v is not None:
                v *= factor[max(-shift, 0): m - max(shift, 0)]


def banded_solve(full, kl, ku, rhs):
    """LAPACK ``gbsv`` in place on ``full`` (with its ``kl`` spare rows on top)."""
    gbsv = linalg.get_lapack_funcs("gbsv", (full, rhs))
    _, _, z, info = gbsv(kl, ku, full, rhs, overwrite_ab=True, overwrite_b=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"The banded system is singular (LAPACK gbsv info={info}).")
    return z


def banded_lu(full, kl, ku):
    """LAPACK ``gbtrf`` in place on ``full``: the factors and pivots for :func:`lu_solve`."""
    gbtrf = linalg.get_lapack_funcs("gbtrf", (full,))
    lu, piv, info = gbtrf(full, kl, ku, overwrite_ab=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"The banded system is singular (LAPACK gbtrf info={info}).")
    return lu, piv


def lu_solve(lu, piv, kl, ku, rhs, trans=0):
    """LAPACK ``gbtrs``: ``A^-1 rhs`` (``trans=1``: ``A^-T rhs``) from :func:`banded_lu`."""
    gbtrs = linalg.get_lapack_funcs("gbtrs", (lu,))
    z, info = gbtrs(lu, kl, ku, rhs, piv, trans=trans)
    if info != 0:
        raise np.linalg.LinAlgError(f"LAPACK gbtrs info={info}.")
    return z


_COLUMNS_FALLBACK = 4000  # points up to which singular pivots fall back to solving for columns


def inverse_diagonal_entries(full, p, kl, ku, row, cols):
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
