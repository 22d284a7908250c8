"""Output-layer solvers shared by the estimators: ridge, the spectral GD path,
iterative GD and mirror descent, and exact leave-one-out over their paths.

Everything works on the normalised design of :mod:`._design`: the loss is
``L(v) = 1/2 ||A v - b||^2 + mu/2 ||v||^2`` with ``mu = alpha / W`` (``W`` the
total sample weight), so ``mu`` is scikit-learn's ridge ``alpha`` in loss units.
"""

import warnings

import numpy as np
from scipy import linalg
from scipy.sparse.linalg import LinearOperator, eigsh
from sklearn.exceptions import ConvergenceWarning

# ----------------------------------------------------------------- spectrum


class Spectrum:
    """Thin eigen-structure of the design: ``A = U diag(sqrt(lam)) V^T``.

    Attributes
    ----------
    lam : (r,) positive eigenvalues of ``A^T A``, descending.
    V : (n, r) right singular vectors.
    d : (r, k) coordinates ``U^T b`` of the target.
    resid2 : (k,) squared norm of the part of ``b`` outside the range of ``A``.
    U : (m, r) or None; left singular vectors when the design was explicit.
    """

    def __init__(self, lam, V, d, resid2, U=None):
        self.lam, self.V, self.d, self.resid2, self.U = lam, V, d, resid2, U

    @property
    def lam_max(self):
        return float(self.lam[0]) if self.lam.size else 0.0


def _rank_cut(lam):
    lam = np.clip(lam, 0, None)
    top = lam.max(initial=0.0)
    eps = np.finfo(lam.dtype).eps
    return lam > top * max(lam.size, 1) * eps * 10


def spectrum(design, mode="auto", need_U=False):
    """Eigendecompose the design in primal (``A^T A``) or dual (``A A^T``) form.

    ``need_U`` also forms the left singular vectors (m x r) in the primal form,
    over row chunks if the design is not explicit.
    """
    if mode == "auto":
        mode = "dual" if design.explicit and design.m < design.n else "primal"
    b = design.b.astype(np.float64)
    if mode == "dual":
        A = design.A.astype(np.float64)
        lam, U = linalg.eigh(A @ A.T)
        keep = _rank_cut(lam)
        resid2 = np.sum((U[:, ~keep].T @ b) ** 2, axis=0)
        lam, U = lam[keep][::-1], U[:, keep][:, ::-1]
        d = U.T @ b
        V = (A.T @ U) / np.sqrt(lam)
        return Spectrum(lam, V, d, resid2, U)
    lam, V = linalg.eigh(design.gram().astype(np.float64))
    keep = _rank_cut(lam)
    lam, V = lam[keep][::-1], V[:, keep][:, ::-1]
    d = (V.T @ design.rmatvec(b)) / np.sqrt(lam)[:, None]
    resid2 = np.clip(np.sum(b**2, axis=0) - np.sum(d**2, axis=0), 0, None)
    U = design.matvec((V / np.sqrt(lam)).astype(design.dtype)).astype(np.float64) if need_U else None
    return Spectrum(lam, V, d, resid2, U)


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


def ridge(design, mu, algorithm="auto"):
    """Exact ridge coefficients ``argmin 1/2||A v - b||^2 + mu/2 ||v||^2`` (n, k).

    ``algorithm``: ``'primal'`` solves the n x n normal equations, ``'dual'`` the
    m x m kernel system, ``'chunked'`` the primal system with the Gram matrix
    accumulated over row chunks (peak memory about ``n^2`` plus one chunk).
    """
    if algorithm == "auto":
        if not design.explicit:
            algorithm = "chunked"
        else:
            algorithm = "dual" if design.m < design.n else "primal"
    b = design.b
    if algorithm == "dual":
        A = design.A
        K = A @ A.T
        return A.T @ _psd_solve(K, b, mu)
    if algorithm in ("primal", "chunked"):
        if algorithm == "chunked" and design.explicit:
            design = _as_chunked(design)
        G = design.gram()
        return _psd_solve(G, design.rmatvec(b), mu)
    raise ValueError(f"Unknown ridge algorithm {algorithm!r}.")


def _as_chunked(design):
    import copy

    chunked = copy.copy(design)
    chunked.explicit = False
    chunked._A = None
    return chunked


def _psd_solve(M, rhs, mu):
    """Solve ``(M + mu I) x = rhs`` for symmetric PSD ``M``; least-norm when singular."""
    M = M.copy()
    M.flat[:: M.shape[0] + 1] += mu
    if mu > 0:
        try:
            return linalg.solve(M, rhs, assume_a="pos", overwrite_a=True)
        except linalg.LinAlgError:
            pass
    return linalg.lstsq(M, rhs, cond=None)[0].astype(rhs.dtype, copy=False)


# ------------------------------------------------------------ GD: spectral


def gd_filter(lam, eta, mu, steps):
    """``(1 - (1 - eta (lam + mu))^t) / (lam + mu)`` for each ``t`` in ``steps``.

    The coefficient filter of ``t`` gradient steps from zero; ``eta t`` where
    ``lam + mu`` is zero.  Returns shape ``(len(steps), len(lam))``.
    """
    lam = np.asarray(lam, dtype=np.float64)
    steps = np.asarray(steps, dtype=np.float64)[:, None]
    s = lam + mu
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


def decay(lam, eta, mu, steps):
    """``(1 - eta (lam + mu))^t``: how much of the start survives ``t`` steps."""
    lam = np.asarray(lam, dtype=np.float64)
    return (1.0 - eta * (lam + mu)) ** np.asarray(steps, dtype=np.float64)[:, None]


class GDPath:
    """The whole gradient-descent path on the output layer, from one spectrum.

    ``v_t = V [F_t(lam) sqrt(lam) d + q_t (V^T v0)] + q0_t (v0 - V V^T v0)`` with
    ``F_t`` from :func:`gd_filter`, ``q_t = (1 - eta (lam + mu))^t`` and
    ``q0_t = (1 - eta mu)^t``: GD is affine in the start.
    """

    def __init__(self, spec, eta, mu, coef_init=None):
        self.spec, self.eta, self.mu = spec, eta, mu
        k = spec.d.shape[1]
        self.v0 = None if coef_init is None else np.asarray(coef_init, np.float64).reshape(-1, k)
        if self.v0 is not None:
            self.p0 = spec.V.T @ self.v0  # start in the range
            self.n0 = self.v0 - spec.V @ self.p0  # start in the null space
        self.c = np.sqrt(spec.lam)[:, None] * spec.d

    def range_coords(self, steps):
        """Coordinates of ``V^T v_t``, shape (len(steps), r, k)."""
        F = gd_filter(self.spec.lam, self.eta, self.mu, steps)
        e = F[:, :, None] * self.c[None]
        if self.v0 is not None:
            e = e + decay(self.spec.lam, self.eta, self.mu, steps)[:, :, None] * self.p0[None]
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
        s = np.sqrt(self.spec.lam)[None, :, None]
        r2 = np.sum((s * e - self.spec.d[None]) ** 2, axis=(1, 2))
        return 0.5 * (r2 + np.sum(self.spec.resid2))


# ----------------------------------------------------------- stopping rule


class NoImprovement:
    """scikit-learn's rule: stop after ``n_iter_no_change`` iterations without a
    decrease of the monitored loss by more than ``tol`` (``MLPRegressor``'s rule)."""

    def __init__(self, tol, n_iter_no_change):
        self.tol, self.patience = tol, n_iter_no_change
        self.best = np.inf
        self.best_iter = 0
        self.count = 0

    def update(self, loss, it):
        """Record ``loss`` at iteration ``it``; return True when training should stop."""
        if loss > self.best - self.tol:
            self.count += 1
        else:
            self.count = 0
        if loss < self.best:
            self.best, self.best_iter = loss, it
        return self.count > self.patience


# --------------------------------------------------------- iterative loops


class Diverged(Exception):
    """Raised inside an iterative loop when the loss stops being finite or explodes."""

    def __init__(self, iteration, last_coef, losses):
        self.iteration, self.last_coef, self.losses = iteration, last_coef, np.asarray(losses)


def mirror_descent(design, potential, eta, mu, max_iter, coef_init=None, monitor=None, local_step=None):
    """Mirror descent ``phi'(v_{t+1} - v0) = phi'(v_t - v0) - eta grad L(v_t)``.

    With the quadratic potential this is plain gradient descent.  ``monitor(t, v,
    train_loss)`` is called after every step and returns True to stop.

    With ``local_step=lambda_max`` (the ``'auto'`` step) the step is
    ``min(eta, min_k phi''(v_t - v0)_k / lambda_max)``, half the local
    stability limit, and is halved while it would increase the loss (the mirror
    map is nonlinear, so a locally stable step can still overshoot).  The
    iterates still move only along the range of ``A^T``, so the limit is the
    same Bregman projection.  Returns ``(coef, n_iter, loss_curve)`` with
    ``loss_curve[t]`` the loss after ``t`` steps.
    """
    k = design.b.shape[1]
    v0 = np.zeros((design.n, k)) if coef_init is None else np.asarray(coef_init, np.float64).reshape(design.n, k)
    v = v0.copy()
    z = potential.grad(v - v0)
    r = design.matvec(v) - design.b
    losses = [0.5 * float(np.sum(r**2))]
    blow_up = 1e8 * max(losses[0], np.finfo(float).tiny) + 1e8
    t = 0
    for t in range(1, max_iter + 1):
        grad = design.rmatvec(r) + mu * v
        step = eta if not local_step else min(eta, potential.step_scale(v - v0) / local_step)
        for _ in range(60 if local_step else 1):
            z_new = z - step * grad
            # overflow is how divergence shows itself; it is caught below
            with np.errstate(over="ignore", invalid="ignore"):
                v_new = v0 + potential.grad_inv(z_new)
                r_new = design.matvec(v_new.astype(design.dtype, copy=False)) - design.b
                loss = 0.5 * float(np.sum(r_new**2))
            if not local_step or (np.isfinite(loss) and loss <= losses[-1]):
                break
            step *= 0.5
        if not np.isfinite(loss) or loss > blow_up or not np.all(np.isfinite(v_new)):
            raise Diverged(t, v, losses)
        z, v, r = z_new, v_new, r_new
        losses.append(loss)
        if monitor is not None and monitor(t, v, loss):
            break
    return v, t, np.asarray(losses)


def divergence_warning(solver, eta, iteration, limit):
    """Warn that a descent diverged, saying how the step compares with the limit."""
    msg = f"{solver} diverged at iteration {iteration} with learning_rate={eta:.4g}: "
    if eta > limit:
        msg += f"the step exceeds the stability limit (about {limit:.4g}) {eta / limit:.3g} times"
    else:
        msg += (
            f"the step is below the linear stability limit (about {limit:.4g}) but the mirror "
            "map is strongly nonlinear at the scale of these targets"
        )
    msg += ". The last finite coefficients were kept; use a smaller learning_rate or learning_rate='auto'."
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)


# ------------------------------------------------------- leave-one-out paths


def _loo_setup(design, spec):
    """Per-sample quantities for exact leave-one-out on the centred design.

    Returns ``e`` (centred targets, m x k), ``z`` (coordinates of the centred
    feature row in the V basis, m x r), ``w`` (sample weights, m), ``W`` and
    ``inv`` (m x 1), the factor from a row of ``A`` back to the centred row.
    """
    W = design.weight_sum
    w = (design.scale.astype(np.float64) ** 2) * W
    sw = np.sqrt(w / W)
    # A zero-weight sample has a zero row in A, so its own quantities cannot be
    # read back; it enters every criterion with weight zero, so zeros will do.
    inv = np.divide(1.0, sw, out=np.zeros_like(sw), where=sw > 0)[:, None]
    e = design.b.astype(np.float64) * inv
    z = spec.U * np.sqrt(spec.lam) * inv
    return e, z, w, W, inv


def loo_ridge(design, spec, mus):
    """Exact leave-one-out residuals of ridge for each ``mu`` (len(mus), m, k).

    Ridge is a linear smoother whose leave-one-out fit equals the full fit with
    ``y_i`` replaced by its own prediction, so the residual is ``r_i / (1 - H_ii)``
    (leverages from the thin SVD; the free intercept adds ``w_i / W``).
    """
    e, z, w, W, inv = _loo_setup(design, spec)
    lam = spec.lam
    U2 = spec.U**2
    out = []
    for mu in mus:
        f = lam / (lam + mu)
        fitted_c = (spec.U * f) @ spec.d * inv
        h = U2 @ f + (w / W if design.fit_intercept else 0.0)
        out.append((e - fitted_c) / (1.0 - h)[:, None])
    return np.asarray(out)


def loo_gd(design, spec, eta, mu, steps, method="auto"):
    """Exact leave-one-out residuals of ``t`` GD steps for each ``t`` in ``steps``.

    Leaving sample ``i`` out is a rank-one downdate of the scatter matrix
    (``S - kappa_i a_i a_i^T`` with ``kappa_i = w_i W / (W - w_i)`` when the
    intercept is free, ``w_i`` otherwise) and rescales the loss by ``W / (W - w_i)``.
    In the eigenbasis of the full scatter the left-out run lives in ``r``
    dimensions, and its prediction at ``x_i`` is computed exactly in one of two ways:

    - ``'recursion'``: the scalar ``s_t = a_i^T v_t`` obeys the causal recursion
      ``s_t = eps_i sum_{tau<t} G_{t-1-tau} s_tau + C_t`` with
      ``G_k = a_i^T P^k a_i`` and ``C_t = sum_{k<t} a_i^T P^k g_i``:
      ``O(m r T + m T^2)`` for ``T = max(steps)``;
    - ``'eigen'``: eigendecompose the ``r x r`` downdated matrix of each left-out
      run, then any stopping time costs ``O(r)``: ``O(m r^3 + m r |steps|)``.

    ``'auto'`` takes the cheaper.  Returns residuals of shape (len(steps), m, k).
    """
    steps = np.asarray(steps, dtype=np.int64)
    e, z, w, W, _ = _loo_setup(design, spec)
    m = e.shape[0]
    r = spec.lam.size
    T = int(steps.max())
    if method == "auto":
        method = "eigen" if r**3 < 1.5 * T**2 else "recursion"
    Wi = W - w
    if design.fit_intercept:
        kappa, res_scale = w * W / Wi, W / Wi
    else:
        kappa, res_scale = w, np.ones(m)
    Vr = W * np.sqrt(spec.lam)[:, None] * spec.d  # V^T r, r = sum_j w_j a_j e_j
    if method == "eigen":
        s = _loo_gd_eigen(spec.lam, z, e, kappa, Wi, W, Vr, eta, mu, steps)
    else:
        s = _loo_gd_recursion(spec.lam, z, e, kappa, Wi, W, Vr, eta, mu, T)[steps - 1]
    return res_scale[None, :, None] * (e[None] - s)


def _loo_gd_eigen(lam, z, e, kappa, Wi, W, Vr, eta, mu, steps):
    """Left-out predictions ``a_i^T v_t`` (len(steps), m, k) by one small eigh per sample."""
    m, r = z.shape
    out = np.empty((len(steps), m, e.shape[1]))
    batch = max(1, int(2**24 // max(1, r * r)))  # bound the stacked r x r matrices
    for start in range(0, m, batch):
        idx = np.arange(start, min(start + batch, m))
        zi = z[idx]
        B = -kappa[idx, None, None] * zi[:, :, None] * zi[:, None, :]
        B[:, np.arange(r), np.arange(r)] += W * (lam + mu)
        B /= Wi[idx, None, None]
        beta, Q = np.linalg.eigh(B)
        g = (Vr[None] - kappa[idx, None, None] * zi[:, :, None] * e[idx][:, None, :]) / Wi[idx, None, None]
        zq = np.einsum("ir,irj->ij", zi, Q)  # z^T q_j
        qg = np.einsum("irj,irk->ijk", Q, g)  # q_j^T g
        for b, i in enumerate(idx):
            F = gd_filter(beta[b], eta, 0.0, steps)  # (len(steps), r)
            out[:, i, :] = F @ (zq[b][:, None] * qg[b])
    return out


def _loo_gd_recursion(lam, z, e, kappa, Wi, W, Vr, eta, mu, T):
    """Left-out predictions ``a_i^T v_t`` for t = 1..T, shape (T, m, k), by the causal recursion."""
    m, k = e.shape
    powers_of = np.arange(T)
    G = np.empty((m, T))
    C = np.empty((m, T + 1, k))
    # rho depends on i only through W_i: group samples by their weight
    for wi in np.unique(Wi):
        idx = np.flatnonzero(Wi == wi)
        step = eta / wi
        rho = 1.0 - step * W * (lam + mu)
        powers = rho[None, :] ** powers_of[:, None]  # (T, r)
        zi = z[idx]
        G[idx] = (zi**2) @ powers.T
        # g_i = step (r - kappa a_i e_i); C_t = sum_j z_j (V^T g)_j (1 - rho_j^t) / (1 - rho_j)
        Vg = step * (Vr[None] - kappa[idx, None, None] * zi[:, :, None] * e[idx][:, None, :])
        C[idx] = np.einsum("ir,tr,irk->itk", zi, _geometric_sums(rho, T), Vg)
    eps = eta * kappa / Wi
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
