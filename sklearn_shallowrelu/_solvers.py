"""Output-layer solvers shared by the estimators: ridge, the spectral GD path,
iterative GD and mirror descent (the least-squares side of :mod:`._descent`'s
loop), and exact leave-one-out over their paths.

Everything works on the normalised design of :mod:`._design`: the loss is
``L(v) = 1/2 ||A v - b||^2 + mu/2 ||v||^2`` with ``mu = alpha / w_sum``
(``w_sum`` the total sample weight), so ``mu`` is scikit-learn's ridge
``alpha`` in loss units.
"""

import warnings

import numpy as np
from scipy import linalg
from scipy.sparse.linalg import LinearOperator, eigsh

from ._descent import Walk, mirror_step
from ._design import rows_per_chunk
from ._memory import fits_in_ram, require_memory

# ----------------------------------------------------------------- spectrum


class Spectrum:
    """Thin eigen-structure of the design: ``A = U diag(sqrt(eigvals)) V^T``.

    Attributes
    ----------
    eigvals : (r,) positive eigenvalues of ``A^T A``, descending.
    V : (n, r) right singular vectors, or None when not formed (see :meth:`combine`).
    d : (r, k) coordinates ``U^T b`` of the target.
    resid2 : (k,) squared norm of the part of ``b`` outside the range of ``A``.
    U : (m, r) or None; left singular vectors when the design was explicit.
    """

    def __init__(self, eigvals, V, d, resid2, U=None):
        self.eigvals, self.V, self.d, self.resid2, self.U = eigvals, V, d, resid2, U

    @property
    def eigval_max(self):
        """The largest eigenvalue of ``A^T A`` (0 for an empty spectrum)."""
        return float(self.eigvals[0]) if self.eigvals.size else 0.0

    def combine(self, e, design):
        """``V e`` for coordinates ``e`` (r, k): the coefficients with those coordinates.

        Without ``V`` (dual form, ``V`` not kept) it is ``A^T U diag(eigvals^-1/2) e``,
        one pass over the features.
        """
        if self.V is not None:
            return self.V @ e
        return design.rmatvec((self.U @ (e / np.sqrt(self.eigvals)[:, None])).astype(design.dtype)).astype(np.float64)


def _rank_cut(eigvals):
    eigvals = np.clip(eigvals, 0, None)
    top = eigvals.max(initial=0.0)
    eps = np.finfo(eigvals.dtype).eps
    return eigvals > top * max(eigvals.size, 1) * eps * 10


def spectrum_bytes(mode, m, n, need_U=False, need_V=True):
    """Predicted peak bytes of :func:`spectrum` beyond the design itself.

    The square matrix, its copy inside the LAPACK eigensolver and its
    eigenvectors (3 squares), the singular vectors of the other side and the
    features formed in chunks (``working_memory``, not counted here).
    """
    r = min(m, n)
    if mode == "dual":
        return 8 * (3 * m * m + (n * r if need_V else 0))
    return 8 * (3 * n * n + (m * r if need_U else 0))


_SPECTRUM_FIX = (
    "Use fewer hidden units (n_hidden) or fewer samples, or RandomFeatureReLURegressor with "
    "solver='gd' and algorithm='iterative', whose memory grows as m + n."
)


def spectrum_mode(m, n, need_U=False, need_V=True, mode="auto", fix=_SPECTRUM_FIX):
    """Primal or dual eigendecomposition for an ``m x n`` design, by predicted memory and time.

    ``'auto'`` eigendecomposes the smaller of the two squares (time
    ``min(m, n)^2 max(m, n)``) unless only the other fits in the available
    memory.  Refuses, before allocating, what cannot fit.

    Raises
    ------
    MemoryError
        When the chosen (or every) form exceeds the available memory.
    """
    if mode != "auto":
        require_memory(spectrum_bytes(mode, m, n, need_U, need_V),
                       f"The {mode} eigendecomposition of the {m} x {n} design", fix)
        return mode
    order = ("dual", "primal") if m < n else ("primal", "dual")
    for mode in order:
        if fits_in_ram(spectrum_bytes(mode, m, n, need_U, need_V)):
            return mode
    need = min(spectrum_bytes(mode, m, n, need_U, need_V) for mode in order)
    require_memory(need, f"An eigendecomposition of the {m} x {n} design", fix)
    return order[0]  # memory was freed in between


def spectrum(design, mode="auto", need_U=False, need_V=True):
    """Eigendecompose the design in primal (``A^T A``) or dual (``A A^T``) form.

    ``need_U`` also forms the left singular vectors (m x r) in the primal form,
    over row chunks if the design is not explicit; ``need_V=False`` keeps the
    dual form from forming the n x r right singular vectors (then
    :meth:`Spectrum.combine` gives ``V e``).  ``'auto'`` chooses by
    :func:`spectrum_mode`; neither form needs the m x n features at once.
    """
    mode = spectrum_mode(design.m, design.n, need_U, need_V, mode)
    b = design.b.astype(np.float64)
    if mode == "dual":
        eigvals, U = linalg.eigh(design.kernel_gram().astype(np.float64))
        keep = _rank_cut(eigvals)
        resid2 = np.sum((U[:, ~keep].T @ b) ** 2, axis=0)
        eigvals, U = eigvals[keep][::-1], U[:, keep][:, ::-1]
        d = U.T @ b
        V = None
        if need_V:
            # n x r: one copy only (no dtype round trip, divided in place)
            V = design.rmatvec(U.astype(design.dtype)).astype(np.float64, copy=False)
            V /= np.sqrt(eigvals)
        return Spectrum(eigvals, V, d, resid2, U)
    eigvals, V = linalg.eigh(design.gram().astype(np.float64))
    keep = _rank_cut(eigvals)
    eigvals, V = eigvals[keep][::-1], V[:, keep][:, ::-1]
    d = (V.T @ design.rmatvec(b)) / np.sqrt(eigvals)[:, None]
    resid2 = np.clip(np.sum(b**2, axis=0) - np.sum(d**2, axis=0), 0, None)
    U = design.matvec((V / np.sqrt(eigvals)).astype(design.dtype)).astype(np.float64) if need_U else None
    return Spectrum(eigvals, V, d, resid2, U)


def top_eigenvalue(design):
    """Largest eigenvalue of ``A^T A`` by Lanczos on matrix-vector products.

    Zero when every centred feature vanishes (one sample, or all units dead).
    """
    n = design.n
    if n <= 64:
        return float(max(linalg.eigvalsh(design.gram().astype(np.float64))[-1], 0.0))
    if design.sum_of_squares() == 0.0:
        return 0.0

    def mv(v):
        v = v.reshape(-1, 1).astype(design.dtype)
        return design.rmatvec(design.matvec(v)).ravel().astype(np.float64)

    op = LinearOperator((n, n), matvec=mv, dtype=np.float64)
    # a fixed generic start: reproducible, and not orthogonal to the range
    v0 = np.random.RandomState(0).standard_normal(n)
    return float(eigsh(op, k=1, which="LA", v0=v0, tol=1e-8, return_eigenvectors=False)[0])


# -------------------------------------------------------------------- ridge


def ridge_bytes(algorithm, m, n):
    """Predicted peak bytes of :func:`ridge`: the square system and the solver's copy of it."""
    side = m if algorithm == "dual" else n
    return 8 * 2 * side * side


#: The dense ridge solvers: the n x n Gram system (explicit features or
#: accumulated over row chunks) and the m x m kernel system.
RIDGE_ALGORITHMS = ("primal", "dual", "chunked")


def ridge_algorithm(design, algorithm="auto"):
    """The ridge algorithm to run, chosen by predicted memory and time.

    ``'auto'``: the dual m x m system when ``m < n``, the primal n x n one
    otherwise (the smaller system is also the faster: ``min(m, n)^2 max(m,
    n)``), unless only the other fits in the available memory; the primal one
    is ``'chunked'`` when the features do not fit in ``working_memory``.
    Neither needs the m x n features at once.

    Raises
    ------
    MemoryError
        When the system exceeds the available memory, before it is allocated.
    """
    m, n = design.m, design.n
    fix = ("Use fewer hidden units (n_hidden) or fewer samples"
           + (", or algorithm='auto'." if algorithm != "auto" else "."))
    if algorithm == "auto":
        order = ("dual", "primal") if m < n else ("primal", "dual")
        fitting = [a for a in order if fits_in_ram(ridge_bytes(a, m, n))]
        algorithm = fitting[0] if fitting else order[0]
        if algorithm == "primal" and not design.explicit:
            algorithm = "chunked"
    if algorithm == "knots":  # the estimator falls through to here only then
        raise ValueError("algorithm='knots' needs at least 3 distinct inputs with positive weight; "
                         "use algorithm='auto'.")
    if algorithm not in RIDGE_ALGORITHMS:
        raise ValueError(f"Unknown ridge algorithm {algorithm!r}.")
    side = "m x m kernel" if algorithm == "dual" else "n x n Gram"
    require_memory(ridge_bytes(algorithm, m, n), f"The {side} system of ridge ({algorithm!r}, m={m}, n={n})", fix)
    return algorithm


def ridge(design, mu, algorithm="auto"):
    """Exact ridge coefficients ``argmin 1/2||A v - b||^2 + mu/2 ||v||^2`` (n, k).

    ``algorithm``: ``'primal'`` solves the n x n normal equations, ``'dual'`` the
    m x m kernel system (the kernel accumulated over blocks of units when the
    features do not fit in ``working_memory``), ``'chunked'`` the primal system
    with the Gram matrix accumulated over row chunks (peak memory about ``n^2``
    plus one chunk); ``'auto'``: :func:`ridge_algorithm`.
    """
    algorithm = ridge_algorithm(design, algorithm)
    b = design.b
    if algorithm == "dual":
        return design.rmatvec(_psd_solve(design.kernel_gram(), b, mu))
    if algorithm == "chunked" and design.explicit:
        design = design.as_chunked()
    G = design.gram()
    return _psd_solve(G, design.rmatvec(b), mu)


def _psd_solve(M, rhs, mu):
    """Solve ``(M + mu I) x = rhs`` for symmetric PSD ``M``; least-norm when singular.

    ``M`` is a fresh Gram matrix that this function owns and overwrites; the
    solvers below make one copy of it, the peak that :func:`ridge_bytes` predicts.
    """
    M.flat[:: M.shape[0] + 1] += mu
    if mu > 0:
        # mu far below the scale of M leaves it numerically singular: scipy then
        # warns (LinAlgWarning) and its Cholesky solution is noise in the null
        # space; the least-norm solution below is the one the limit mu -> 0 picks.
        # Without overwrite_a, M is intact for that fallback.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", linalg.LinAlgWarning)
                return linalg.solve(M, rhs, assume_a="pos")
        except (linalg.LinAlgError, linalg.LinAlgWarning):
            pass
    return linalg.lstsq(M, rhs, cond=None)[0].astype(rhs.dtype, copy=False)


# ------------------------------------------------------------ GD: spectral


def gd_filter(eigvals, eta, mu, steps):
    """``(1 - (1 - eta (eigvals + mu))^t) / (eigvals + mu)`` for each ``t`` in ``steps``.

    The coefficient filter of ``t`` gradient steps from zero; ``eta t`` where
    ``eigvals + mu`` is zero.  Returns shape ``(len(steps), len(eigvals))``.
    """
    eigvals = np.asarray(eigvals, dtype=np.float64)
    steps = np.asarray(steps, dtype=np.float64)[:, None]
    s = eigvals + mu
    x = eta * s
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # expm1/log1p keep full precision when eta * s is small
        small = (x > 0) & (x < 1)
        one_minus_q = np.where(
            small,
            -np.expm1(steps * np.log1p(-np.where(small, x, 0.0))),
            1.0 - (1.0 - x) ** steps,
        )
        F = np.where(s > 0, one_minus_q / np.where(s > 0, s, 1.0), eta * steps)
    return F


def decay(eigvals, eta, mu, steps):
    """``(1 - eta (eigvals + mu))^t``: how much of the start survives ``t`` steps."""
    eigvals = np.asarray(eigvals, dtype=np.float64)
    return (1.0 - eta * (eigvals + mu)) ** np.asarray(steps, dtype=np.float64)[:, None]


class GDPath:
    """The whole gradient-descent path on the output layer, from one spectrum.

    ``v_t = V [F_t(eigvals) sqrt(eigvals) d + q_t (V^T v0)] + q0_t (v0 - V V^T v0)`` with
    ``F_t`` from :func:`gd_filter`, ``q_t = (1 - eta (eigvals + mu))^t`` and
    ``q0_t = (1 - eta mu)^t``: GD is affine in the start.
    """

    def __init__(self, spec, eta, mu, coef_init=None):
        self.spec, self.eta, self.mu = spec, eta, mu
        k = spec.d.shape[1]
        self.v0 = None if coef_init is None else np.asarray(coef_init, np.float64).reshape(-1, k)
        if self.v0 is not None:
            self.p0 = spec.V.T @ self.v0  # start in the range
            self.n0 = self.v0 - spec.V @ self.p0  # start in the null space
        self.c = np.sqrt(spec.eigvals)[:, None] * spec.d

    def range_coords(self, steps):
        """Coordinates of ``V^T v_t``, shape (len(steps), r, k)."""
        F = gd_filter(self.spec.eigvals, self.eta, self.mu, steps)
        e = F[:, :, None] * self.c[None]
        if self.v0 is not None:
            e = e + decay(self.spec.eigvals, self.eta, self.mu, steps)[:, :, None] * self.p0[None]
        return e

    def null_part(self, steps):
        """Null-space part of ``v_t``, shape (len(steps), n, k), or None."""
        if self.v0 is None:
            return None
        q0 = (1.0 - self.eta * self.mu) ** np.asarray(steps, dtype=np.float64)
        return q0[:, None, None] * self.n0[None]

    def coef(self, t):
        e = self.range_coords([t])[0]
        v = self.spec.V @ e
        if self.v0 is not None:
            v = v + self.null_part([t])[0]
        return v

    def losses(self, steps):
        """Training loss ``1/2 ||A v_t - b||^2`` (data part, summed over outputs)."""
        e = self.range_coords(steps)
        s = np.sqrt(self.spec.eigvals)[None, :, None]
        r2 = np.sum((s * e - self.spec.d[None]) ** 2, axis=(1, 2))
        return 0.5 * (r2 + np.sum(self.spec.resid2))


# ----------------------------------------------------- GD and mirror: iterative


class LeastSquaresWalk(Walk):
    """Mirror descent on the output layer, the least-squares side of :func:`._descent.descend`.

    The step is ``phi'(v_{t+1} - v0) = phi'(v_t - v0) - eta grad L(v_t)``
    (:func:`._descent.mirror_step`); with the quadratic potential it is plain
    gradient descent.  The iterates move only along the range of ``A^T``, so
    for an under-determined problem they converge to the Bregman projection of
    the start onto the interpolants.  After the run, ``v`` is the last iterate,
    ``best`` the validation-best one (with ``validation``) and ``path`` the
    iterates from the start (with ``keep_path``).

    Parameters
    ----------
    design : Design
    potential : Potential
    eta : float
    mu : float
        The penalty in loss units.
    coef_init : ndarray of shape (n, k) or None
        The start ``v0``; zero when None.
    validation : object with ``loss(coef)`` or None
        The held-out split of early stopping.
    rule : NoImprovement or None
    keep_path : bool, default=False
    curvature : float or None, default=None
        ``lambda_max + mu`` for the ``'auto'`` step of mirror descent: every
        step is then at most ``min_k phi''(v_t - v0)_k / curvature``, half the
        local stability limit (:meth:`local_step`).
    """

    def __init__(self, design, potential, eta, mu, coef_init=None, validation=None, rule=None, keep_path=False,
                 curvature=None):
        # backtracking rejects any rise of the loss (slack 1), as this solver always has
        # done: a tolerance would change its float32 paths from those of earlier releases
        super().__init__(eta, [], None if validation is None else [], rule)
        k = design.b.shape[1]
        self.design, self.potential, self.mu, self.validation = design, potential, mu, validation
        self.curvature = curvature
        self.v0 = (np.zeros((design.n, k)) if coef_init is None
                   else np.asarray(coef_init, np.float64).reshape(design.n, k))
        self.v = self.v0.copy()
        self.z = potential.grad(self.v - self.v0)
        self.r = design.matvec(self.v) - design.b
        self.path = [] if keep_path else None
        self._grad = self._grad_at = None
        self.begin(0.5 * float(np.sum(self.r**2)))

    def _gradient(self):
        # computed once per point: a retried (halved) step reuses it
        if self._grad_at is not self.v:
            self._grad, self._grad_at = self.design.rmatvec(self.r) + self.mu * self.v, self.v
        return self._grad

    def advance(self, step):
        v, self.z = mirror_step(self.v0, self.z, self._gradient(), step, self.potential)
        self.r = self.design.matvec(v.astype(self.design.dtype, copy=False)) - self.design.b
        self.v = v
        return 0.5 * float(np.sum(self.r**2))

    def point(self):
        return self.v, self.z, self.r

    def set_point(self, point):
        self.v, self.z, self.r = point

    def model(self):
        return self.v

    def finite(self):
        return bool(np.isfinite(self.v).all())

    def validation_loss(self):
        return self.validation.loss(self.v)

    def on_record(self):
        if self.path is not None:
            self.path.append(self.v)

    def lists(self):
        return super().lists() + ([] if self.path is None else [self.path])

    def local_step(self):
        if self.curvature is None:
            return None
        return self.potential.step_scale(self.v - self.v0) / self.curvature


# ------------------------------------------------------- leave-one-out paths


class LooRows:
    """Where leave-one-out is evaluated, and how the squared residuals are summed.

    One class per sample, or per set of samples that share both their row of
    the design (tied inputs pooled into one row) and their weight.  Leaving
    out any member of a class downdates the fit in the same way; the left-out
    residual differs between members only through the member's own target,
    on which it depends affinely: ``res_i = res_c + slope_c (e_i - e_c)``
    with ``e_c`` the class mean.  So the weighted sum of squared residuals
    over a class is ``mass_c res_c^2 + slope_c^2 within_c`` exactly.

    Parameters
    ----------
    group : ndarray of int of shape (c,)
        The row of the design the class sits at.
    weight : ndarray of shape (c,)
        The weight of one sample of the class, in the design's unit weights
        (``sample_weight / design.weight_scale``).
    e : ndarray of shape (c, k)
        Mean centred target ``y - y_mean`` of the class.
    mass : ndarray of shape (c,)
        The class's share ``sum_{i in c} w_i / w_sum`` of the weighted mean.
    within : ndarray of shape (c, k) or None
        ``sum_{i in c} (w_i / w_sum) (e_i - e_c)^2``; None when every class is one sample.
    n_samples : int
        Samples with positive weight (the ``m`` of GCV).
    """

    def __init__(self, group, weight, e, mass, within, n_samples):
        self.group, self.weight, self.e, self.mass = group, weight, e, mass
        self.within, self.n_samples = within, n_samples

    @classmethod
    def of_design(cls, design):
        """Every sample of the design a class of its own."""
        inv = np.divide(1.0, design.scale.astype(np.float64),
                        out=np.zeros(design.m), where=design.scale > 0)[:, None]
        e = design.b.astype(np.float64) * inv
        return cls(np.arange(design.m), design.weights, e, design.p, None, int(np.sum(design.weights > 0)))

    def mse(self, res, slope):
        """Weighted mean squared residual over all samples for residuals ``res`` (..., c, k)."""
        out = np.einsum("c,...ck->...", self.mass, res**2)
        if self.within is not None:
            out = out + slope**2 @ self.within.sum(axis=1)
        return out


def _loo_setup(design, spec, rows):
    """Per-class quantities for exact leave-one-out on the centred design.

    Returns ``u`` (rows of ``U`` scaled back to unit weight, c x r), ``z = u
    sqrt(eigvals)`` (the centred feature row in the V basis), the unit weights
    ``w`` (c,) and their total ``w_sum``.  The formulas are homogeneous of degree
    zero in the weights, so the unit weights give the fit of the raw ones.
    """
    w_sum = design.weight_total
    pg = design.p[rows.group]
    # A zero-weight row has a zero row in A, so its own quantities cannot be
    # read back; it enters every criterion with weight zero, so zeros will do.
    inv = np.divide(1.0, np.sqrt(pg), out=np.zeros_like(pg), where=pg > 0)
    u = spec.U[rows.group] * inv[:, None]
    return u, u * np.sqrt(spec.eigvals), rows.weight, w_sum


def loo_ridge_mse(design, spec, mus, rows=None):
    """Exact leave-one-out weighted mean squared error of ridge for each ``mu`` (len(mus),).

    Ridge is a linear smoother whose leave-one-out fit equals the full fit with
    ``y_i`` replaced by its own prediction, so the residual is ``r_i / (1 -
    h_i)`` (leverages from the thin SVD; the free intercept adds ``w_i / w_sum``).
    A sample of a pooled row has leverage ``w_i`` times the pooled row's
    leverage per unit weight: leaving it out is not leaving the row out.
    """
    rows = rows or LooRows.of_design(design)
    u, _, w, w_sum = _loo_setup(design, spec, rows)
    eigvals = spec.eigvals
    u2 = u**2
    out = []
    for mu in mus:
        f = eigvals / (eigvals + mu)
        fitted = u @ (f[:, None] * spec.d)
        h = (w / w_sum) * (u2 @ f + (1.0 if design.fit_intercept else 0.0))
        slope = 1.0 / (1.0 - h)
        out.append(rows.mse((rows.e - fitted) * slope[:, None], slope))
    return np.asarray(out)


def loo_gd(design, spec, eta, mu, steps, method="auto"):
    """Exact leave-one-out residuals of ``t`` GD steps, every sample, shape (len(steps), m, k).

    See :func:`loo_gd_mse`, which sums them in blocks of steps without
    keeping them.
    """
    rows = LooRows.of_design(design)
    steps = np.asarray(steps, dtype=np.int64)
    return np.concatenate([res for _, res, _ in _loo_gd_blocks(design, spec, eta, mu, steps, rows, method)])


def loo_gd_mse(design, spec, eta, mu, steps, rows=None, method="auto"):
    """Exact leave-one-out weighted mean squared error of ``t`` GD steps for each ``t`` in ``steps``.

    Leaving sample ``i`` out is a rank-one downdate of the scatter matrix
    (``S - kappa_i a_i a_i^T`` with ``kappa_i = w_i w_sum / (w_sum - w_i)`` when the
    intercept is free, ``w_i`` otherwise) and rescales the loss by ``w_sum / (w_sum - w_i)``.
    In the eigenbasis of the full scatter the left-out run lives in ``r``
    dimensions, and its prediction at ``x_i`` is computed exactly in one of two ways:

    - ``'recursion'``: the scalar ``s_t = a_i^T v_t`` obeys the causal recursion
      ``s_t = eps_i sum_{tau<t} G_{t-1-tau} s_tau + C_t`` with
      ``G_k = a_i^T P^k a_i`` and ``C_t = sum_{k<t} a_i^T P^k g_i``:
      ``O(m r T + m T^2)`` for ``T = max(steps)``;
    - ``'eigen'``: eigendecompose the ``r x r`` downdated matrix of each left-out
      run, then any stopping time costs ``O(r)``: ``O(m r^3 + m r |steps|)``.

    ``'auto'`` takes the cheaper (the recursion only when its ``m x T``
    arrays fit in ``working_memory``).  ``m`` counts classes of ``rows``
    (:class:`LooRows`), not samples.  Residuals are formed and summed in
    blocks of steps, so memory does not grow with ``len(steps) x m``.
    Returns shape (len(steps),).
    """
    rows = rows or LooRows.of_design(design)
    steps = np.asarray(steps, dtype=np.int64)
    out = np.empty(len(steps))
    done = 0
    for block, res, slope in _loo_gd_blocks(design, spec, eta, mu, steps, rows, method):
        out[done : done + len(block)] = rows.mse(res, slope)
        done += len(block)
    return out


BLOCK_ENTRIES = 2**22  # entries of a temporary block (32 MiB in float64)


def _loo_gd_blocks(design, spec, eta, mu, steps, rows, method):
    """Yield ``(steps_block, res (B, c, k), slope (B, c) or None)`` over blocks of ``steps``."""
    _, z, w, w_sum = _loo_setup(design, spec, rows)
    e = rows.e
    c, k = e.shape
    r = spec.eigvals.size
    T = int(steps.max())
    pooled = rows.within is not None
    if method == "auto":
        fits = 4 * c * (T + 1) * (k + pooled) * 8 <= _working_bytes()
        method = "eigen" if (r**3 < 1.5 * T**2 or not fits) else "recursion"
    w_rest = w_sum - w  # the total weight of each left-out run
    if design.fit_intercept:
        kappa, res_scale = w * w_sum / w_rest, w_sum / w_rest
    else:
        kappa, res_scale = w, np.ones(c)
    Vr = w_sum * np.sqrt(spec.eigvals)[:, None] * spec.d  # V^T r, r = sum_j w_j a_j e_j
    if pooled:
        # The prediction is affine in the left-out target: one more column with
        # no data term and unit target gives its coefficient, hence the slope.
        e = np.column_stack([e, np.ones(c)])
        Vr = np.column_stack([Vr, np.zeros(r)])

    def split(block, s):
        res = res_scale[None, :, None] * (e[None, :, :k] - s[..., :k])
        slope = res_scale[None, :] * (1.0 - s[..., k]) if pooled else None
        return block, res, slope

    if method == "eigen":
        beta, coef = _loo_gd_eigen_setup(spec.eigvals, z, e, kappa, w_rest, w_sum, Vr, mu)
        width = max(1, BLOCK_ENTRIES // max(1, c * r))
        table = _ConsecutiveFilters(beta, coef, eta, width) if len(steps) > 2 * width else None
        for lo in range(0, len(steps), width):
            block = steps[lo : lo + width]
            yield split(block, _loo_gd_eigen_eval(beta, coef, eta, block, table))
    else:
        s = _loo_gd_recursion(spec.eigvals, z, e, kappa, w_rest, w_sum, Vr, eta, mu, T)
        width = max(1, BLOCK_ENTRIES // max(1, c * (k + pooled)))
        for lo in range(0, len(steps), width):
            block = steps[lo : lo + width]
            yield split(block, s[block - 1])


def _working_bytes():
    return rows_per_chunk(1, np.uint8)  # working_memory in bytes


def _loo_gd_eigen_setup(eigvals, z, e, kappa, w_rest, w_sum, Vr, mu):
    """Per class: eigenvalues ``beta`` (c, r) of the left-out run's matrix and the
    coefficients (c, r, k) with which its filters add up to the left-out prediction."""
    m, r = z.shape
    beta = np.empty((m, r))
    coef = np.empty((m, r, e.shape[1]))
    batch = max(1, int(2**24 // max(1, r * r)))  # bound the stacked r x r matrices
    for start in range(0, m, batch):
        idx = np.arange(start, min(start + batch, m))
        zi = z[idx]
        B = -kappa[idx, None, None] * zi[:, :, None] * zi[:, None, :]
        B[:, np.arange(r), np.arange(r)] += w_sum * (eigvals + mu)
        B /= w_rest[idx, None, None]
        beta[idx], Q = np.linalg.eigh(B)
        g = (Vr[None] - kappa[idx, None, None] * zi[:, :, None] * e[idx][:, None, :]) / w_rest[idx, None, None]
        zq = np.einsum("ir,irj->ij", zi, Q)  # z^T q_j
        qg = np.einsum("irj,irk->ijk", Q, g)  # q_j^T g
        coef[idx] = zq[:, :, None] * qg
    return beta, coef


def _loo_gd_eigen_eval(beta, coef, eta, steps, table=None):
    """Left-out predictions ``a_i^T v_t`` (len(steps), c, k), in blocks of classes.

    ``sum_j coef_j F_t(beta_j)`` with the filter of :func:`gd_filter`; a run of
    consecutive steps reuses ``table`` (:class:`_ConsecutiveFilters`).
    """
    m, r = beta.shape
    if table is not None and len(steps) <= table.B and steps[-1] - steps[0] == len(steps) - 1:
        return table(int(steps[0]), len(steps))
    out = np.empty((len(steps), m, coef.shape[2]))
    batch = max(1, BLOCK_ENTRIES // max(1, r * len(steps)))
    for start in range(0, m, batch):
        idx = slice(start, min(start + batch, m))
        F = gd_filter(beta[idx].ravel(), eta, 0.0, steps).reshape(len(steps), -1, r)
        out[:, idx] = np.einsum("tcr,crk->tck", F, coef[idx])
    return out


class _ConsecutiveFilters:
    """``sum_j coef_j F_t(beta_j)`` for runs ``t = t0, ..., t0 + b - 1`` (b <= B): (b, c, k).

    With ``q = 1 - eta beta``, ``F_t = (1 - q^t) / beta``.  Where ``0 < q`` and
    ``q != 1``, ``1 - q^t = -expm1(t log q)`` (exact when ``q`` is close to one)
    and ``expm1((t0 + j) L) = E_t0 + (1 + E_t0) E_j``; elsewhere ``q^t = q^t0 q^j``
    (no cancellation: ``q <= 0``); ``beta = 0`` gives ``F_t = eta t``.  The
    tables ``E_j``, ``q^j`` over ``j < B`` are built once; a run is then one
    product of a table with per-class vectors, a multiply-add per entry
    instead of a logarithm and an exponential.
    """

    def __init__(self, beta, coef, eta, B):
        self.eta, self.coef, self.B = eta, coef, B
        x = eta * beta
        self.q = 1.0 - x
        self.smooth = (self.q > 0) & (x != 0)
        self.zero = beta == 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.L = np.where(self.smooth, np.log1p(-np.where(self.smooth, x, 0.0)), 0.0)
            w = np.where(self.zero, 0.0, 1.0 / np.where(self.zero, 1.0, beta))  # F = (1 - q^t) w
            j = np.arange(B, dtype=np.float64)[None, :, None]
            self.E_j = np.expm1(j * self.L[:, None, :])  # (c, B, r)
            self.direct = bool(np.any(~self.smooth & ~self.zero))
            if self.direct:
                self.P_j = np.where(self.smooth[:, None, :], 0.0, self.q[:, None, :] ** j)
        cw = coef * w[:, :, None]  # (c, r, k)
        self.cw_smooth = np.where(self.smooth[:, :, None], cw, 0.0)
        self.cw_direct = np.where((~self.smooth & ~self.zero)[:, :, None], cw, 0.0)
        self.c_zero = np.einsum("cr,crk->ck", self.zero, coef)

    def __call__(self, t0, b):
        E_j = self.E_j[:, :b]
        with np.errstate(over="ignore", invalid="ignore"):
            E0 = np.expm1(t0 * self.L)
            # smooth: 1 - q^t = -(E0 + (1 + E0) E_j); direct: 1 - q^t0 q^j
            base = np.einsum("cr,crk->ck", -E0, self.cw_smooth) + self.cw_direct.sum(axis=1)
            out = base[None] - np.einsum("cbr,crk->bck", E_j, (1.0 + E0)[:, :, None] * self.cw_smooth)
            if self.direct:
                P0 = np.where(self.smooth, 0.0, self.q**t0)
                out -= np.einsum("cbr,crk->bck", self.P_j[:, :b], P0[:, :, None] * self.cw_direct)
        if np.any(self.zero):
            t = t0 + np.arange(b, dtype=np.float64)
            out += self.eta * t[:, None, None] * self.c_zero[None]
        return out


def _loo_gd_recursion(eigvals, z, e, kappa, w_rest, w_sum, Vr, eta, mu, T):
    """Left-out predictions ``a_i^T v_t`` for t = 1..T, shape (T, m, k), by the causal recursion."""
    m, k = e.shape
    powers_of = np.arange(T)
    G = np.empty((m, T))
    C = np.empty((m, T + 1, k))
    # rho depends on i only through w_rest_i: group samples by their weight
    for wi in np.unique(w_rest):
        idx = np.flatnonzero(w_rest == wi)
        step = eta / wi
        rho = 1.0 - step * w_sum * (eigvals + mu)
        powers = rho[None, :] ** powers_of[:, None]  # (T, r)
        zi = z[idx]
        G[idx] = (zi**2) @ powers.T
        # g_i = step (r - kappa a_i e_i); C_t = sum_j z_j (V^T g)_j (1 - rho_j^t) / (1 - rho_j)
        Vg = step * (Vr[None] - kappa[idx, None, None] * zi[:, :, None] * e[idx][:, None, :])
        C[idx] = np.einsum("ir,tr,irk->itk", zi, _geometric_sums(rho, T), Vg)
    eps = eta * kappa / w_rest
    s = np.zeros((m, T + 1, k))
    for t in range(1, T + 1):
        s[:, t] = C[:, t]
        if t > 1:
            s[:, t] += eps[:, None] * np.einsum("it,itk->ik", G[:, t - 2 :: -1][:, : t - 1], s[:, 1:t])
    return np.moveaxis(s[:, 1:], 1, 0)


def _geometric_sums(rho, T):
    """``sum_{k<t} rho^k`` for ``t = 0..T``, shape (T+1, len(rho)).

    That is ``(1 - (1 - x)^t) / x`` with ``x = 1 - rho``: the GD filter with unit
    step, which stays accurate when ``rho`` is close to one.
    """
    return gd_filter(1.0 - rho, 1.0, 0.0, np.arange(T + 1))
