# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled kernel of :mod:`.fastchain`: one ``O(m)`` filter and smoother
per ``alpha`` (the derivation and the array layouts are in that module's
docstring).  :mod:`._search` scores and searches ``alpha`` on top of it."""

import numpy as np

from libc.math cimport fabs, frexp, ldexp, INFINITY

# Near interpolation some of the smoother's terms decay through subnormal
# numbers, which cost about a hundred cycles each on x86 (measured: 4.9 ms per
# alpha at 1e5 points below alpha = 1e-12 times the scale, 2.8 ms above).  They
# are below 1e-308 in absolute value, far below every rounding error here, so
# each evaluation flushes them to zero (SSE's FTZ and DAZ) and restores the
# caller's mode when it returns; elsewhere the mode is left alone.
cdef extern from *:
    """
    #if defined(__SSE2__) || defined(_M_X64)
    #include <xmmintrin.h>
    static inline unsigned int fc_flush_subnormals(void) {
        unsigned int old = _mm_getcsr();
        _mm_setcsr(old | 0x8040u);
        return old;
    }
    static inline void fc_restore_mode(unsigned int old) { _mm_setcsr(old); }
    #else
    static inline unsigned int fc_flush_subnormals(void) { return 0u; }
    static inline void fc_restore_mode(unsigned int old) { (void)old; }
    #endif
    """
    unsigned int fc_flush_subnormals() noexcept nogil
    void fc_restore_mode(unsigned int old) noexcept nogil


# Four alphas at once.  The filter and the smoother are recursions along the
# data: each step waits for the last (a division, then products), so one alpha
# leaves most of the CPU's arithmetic idle.  The lanes of one AVX vector carry
# four alphas of the same problem through the same steps, for about the time of
# one (measured: 4.1 to 4.9 ns per point and alpha against 17 to 20 at 1e2 to
# 1e4 points; 2.7 times less at 1e5, where the lanes' arrays leave the cache).
# The variant is compiled for AVX2 without FMA, and the module with
# -ffp-contract=off (setup.py), so neither the lanes nor the one-alpha kernel
# fuse a product into a sum, even in a build for a newer CPU: each lane does
# the one-alpha kernel's operations in the same order, and gets the same
# results to the last bit.  On 64-bit x86 only (32-bit x86 may round in x87
# registers).
# Only the shape of a spline search is carried: a free affine part and one
# output column (``Free1``), the residuals and ``1 -`` leverages but no fitted
# values, slopes or multipliers.  Elsewhere, and without AVX2, one alpha at a
# time.
cdef extern from "_cpu.h":
    int srl_cpu_level() noexcept nogil


cdef extern from *:
    """
    #if defined(SRL_X86) && defined(__x86_64__)  /* (_cpu.h; 32-bit x86 may round in x87 registers) */
    #define FC_LANES_BUILT 1
    typedef double fc_v __attribute__((vector_size(32)));
    typedef double fc_vu __attribute__((vector_size(32), aligned(8), may_alias));  /* unaligned */
    typedef long long fc_m __attribute__((vector_size(32)));
    #define FC_SEL(MASK, A, B) ((fc_v)(((fc_m)(A) & (MASK)) | ((fc_m)(B) & ~(MASK))))
    #define FC_LOAD(P) (*(const fc_vu*)(P))
    #define FC_STORE(P, X) (*(fc_vu*)(P) = (X))
    #define FC_TARGET __attribute__((target("avx2")))

    /* _forward of the Free1 shape for the four lanes of hs (H_t = hs * winv_t)
       and lams (the variances' powers of two): cov (m, 3, 4), V (m, 3, 4) and the
       Gram G (6, 4).  Returns a bit per lane whose pivot failed (such a lane runs
       on, in NaN or infinity, and is discarded). */
    FC_TARGET static int fc_forward4(Py_ssize_t m, const double* gap, const double* winv, const double* Y,
                                     const double* hs, const double* lams, double* cov, double* V, double* G)
    {
        const fc_v z = {0.0, 0.0, 0.0, 0.0}, one = {1.0, 1.0, 1.0, 1.0};
        const fc_v inf = {INFINITY, INFINITY, INFINITY, INFINITY};
        const fc_v Hs = FC_LOAD(hs), lam = FC_LOAD(lams);
        fc_v s0[3] = {one, z, z}, s1[3] = {z, one, z}, vF[3], g[6] = {z, z, z, z, z, z};
        fc_v p00 = z, p01 = z, p11 = z, det = z, H, F, iF, g0, g1, e0, v, yv, af0, af1, c00, c01, c11, top;
        fc_m bad = {0, 0, 0, 0};
        const double* row;
        double hh;
        double* Vt;
        Py_ssize_t t;
        int c, i;
        for (t = 0; t < m; t++) {
            H = Hs * winv[t];
            F = p00 + H;
            bad |= ~((F > z) & (F < inf));
            iF = one / F;
            g0 = p00 * iF;
            g1 = p01 * iF;
            e0 = H * iF;
            FC_STORE(cov + 12 * t, iF);
            FC_STORE(cov + 12 * t + 4, g0);
            FC_STORE(cov + 12 * t + 8, g1);
            row = gap + 7 * t;
            hh = row[0];
            Vt = V + 12 * t;
            for (c = 0; c < 3; c++) {
                if (c >= 2) {
                    yv = (fc_v){Y[t], Y[t], Y[t], Y[t]};
                } else {
                    yv = z;
                }
                v = yv - s0[c];
                FC_STORE(Vt + 4 * c, v);
                vF[c] = v * iF;
                af0 = e0 * s0[c] + g0 * yv;
                af1 = s1[c] + g1 * v;
                s0[c] = af0 + hh * af1;
                s1[c] = af1;
            }
            for (i = 0; i < 2; i++)
                for (c = i; c < 3; c++)
                    g[i * 3 + c] += vF[i] * FC_LOAD(Vt + 4 * c);
            c00 = p00 * H;
            c01 = p01 * H;
            c11 = det + p11 * H;
            det = (det * H + lam * (c11 * row[5] + 2.0 * c01 * row[4] + c00 * row[3])) * iF + lam * lam * row[6];
            p00 = (c00 + hh * (2.0 * c01 + hh * c11)) * iF + lam * row[1];
            p01 = (c01 + hh * c11) * iF + lam * row[2];
            p11 = c11 * iF + lam * row[3];
            top = p00 * p11;
            det = FC_SEL(det > top, top, det);
            det = FC_SEL(det > z, det, z);
        }
        for (i = 0; i < 6; i++)
            FC_STORE(G + 4 * i, g[i]);
        return (bad[0] ? 1 : 0) | (bad[1] ? 2 : 0) | (bad[2] ? 4 : 0) | (bad[3] ? 8 : 0);
    }

    /* _backward of the Free1 shape for the four lanes, with each lane's Binv
       (4, 4) and theta (2, 4): the residuals E (m, 4), 1 - leverages OMH (m, 4),
       and per lane the trace and the residual sum of squares weighted by wts. */
    FC_TARGET static void fc_backward4(Py_ssize_t m, const double* gap, const double* winv, const double* hs,
                                       const double* cov, const double* V, const double* Binv,
                                       const double* theta, const double* wts, double* E, double* OMH,
                                       double* trace4, double* rss4)
    {
        const fc_v z = {0.0, 0.0, 0.0, 0.0};
        const fc_v Hs = FC_LOAD(hs);
        const fc_v B[4] = {FC_LOAD(Binv), FC_LOAD(Binv + 4), FC_LOAD(Binv + 8), FC_LOAD(Binv + 12)};
        const fc_v th[2] = {FC_LOAD(theta), FC_LOAD(theta + 4)};
        fc_v s0[3] = {z, z, z}, s1[3] = {z, z, z}, u[3], na = z, nab = z, nc = z, trace = z, rss = z;
        fc_v iF, g0, g1, H, q, corr, x, lev, ut, e0, n00, n01;
        const double* Vt;
        double hh;
        Py_ssize_t t;
        int c, i, j;
        for (t = m - 1; t >= 0; t--) {
            iF = FC_LOAD(cov + 12 * t);
            g0 = FC_LOAD(cov + 12 * t + 4);
            g1 = FC_LOAD(cov + 12 * t + 8);
            H = Hs * winv[t];
            Vt = V + 12 * t;
            for (c = 0; c < 3; c++)
                u[c] = FC_LOAD(Vt + 4 * c) * iF - (g0 * s0[c] + g1 * s1[c]);
            q = g0 * g0 * na + 2.0 * g0 * g1 * nab + g1 * g1 * nc;
            corr = z;
            for (i = 0; i < 2; i++) {
                x = z;
                for (j = 0; j < 2; j++)
                    x += B[i * 2 + j] * u[j];
                corr += (H * u[i]) * x;
            }
            lev = g0 - H * q + corr;
            FC_STORE(OMH + 4 * t, H * (iF + q) - corr);
            trace += lev;
            ut = u[2];
            for (i = 0; i < 2; i++)
                ut += u[i] * th[i];
            ut = H * ut;
            FC_STORE(E + 4 * t, ut);
            rss += wts[t] * ut * ut;
            if (t > 0) {
                e0 = H * iF;
                n00 = (iF + e0 * e0 * na) + g1 * (g1 * nc - 2.0 * e0 * nab);
                n01 = e0 * nab - g1 * nc;
                hh = gap[7 * (t - 1)];
                for (c = 0; c < 3; c++) {
                    s0[c] += u[c];
                    s1[c] += hh * s0[c];
                }
                na = n00;
                nab = hh * n00 + n01;
                nc = hh * hh * n00 + (2.0 * hh * n01 + nc);
            }
        }
        FC_STORE(trace4, trace);
        FC_STORE(rss4, rss);
    }
    #else
    #define FC_LANES_BUILT 0
    static int fc_forward4(Py_ssize_t m, const double* gap, const double* winv, const double* Y,
                           const double* hs, const double* lams, double* cov, double* V, double* G) { return 15; }
    static void fc_backward4(Py_ssize_t m, const double* gap, const double* winv, const double* hs,
                             const double* cov, const double* V, const double* Binv, const double* theta,
                             const double* wts, double* E, double* OMH, double* trace4, double* rss4) {}
    #endif
    """
    int FC_LANES_BUILT
    int fc_forward4(Py_ssize_t m, const double* gap, const double* winv, const double* Y, const double* hs,
                    const double* lams, double* cov, double* V, double* G) noexcept nogil
    void fc_backward4(Py_ssize_t m, const double* gap, const double* winv, const double* hs, const double* cov,
                      const double* V, const double* Binv, const double* theta, const double* wts, double* E,
                      double* OMH, double* trace4, double* rss4) noexcept nogil


#: Alphas per call of :func:`_evaluate_lanes` on this CPU: 4 with AVX2, else 0 (none).
LANES = LANE_COUNT if (FC_LANES_BUILT and srl_cpu_level() >= 2) else 0

cdef int _lanes = LANES


cdef int lanes_for(const Problem* p) noexcept nogil:
    """The alphas :func:`_evaluate_lanes` takes at once for this problem (0: none)."""
    return _lanes if (p.nt == 2 and p.k == 1) else 0


cdef int _evaluate_lanes(const Problem* p, Lanes* L, const double* Hs, const double* wts) noexcept nogil:
    """:func:`_evaluate` of ``LANE_COUNT`` alphas (``H_t = Hs[l] * winv_t``) of a
    problem :func:`lanes_for` accepts, into ``L``: residuals ``E`` and ``1 -``
    leverages ``OMH`` (both (m, LANE_COUNT)), and per lane the trace, the
    weighted residual sum of squares (``wts``) and whether it failed (a
    non-positive or non-finite pivot, or a non-finite sum).  Returns the number
    of failed lanes."""
    cdef int l, expo, i, j, failed = 0, badbits
    cdef double hs[LANE_COUNT]
    cdef double lams[LANE_COUNT]
    cdef double G[6 * LANE_COUNT]
    cdef double Binv[4 * LANE_COUNT]
    cdef double theta[2 * LANE_COUNT]
    cdef Work w1
    cdef unsigned int mode = fc_flush_subnormals()
    for l in range(LANE_COUNT):
        # the variances' power of two, as _evaluate_passes
        frexp(Hs[l], &expo)
        lams[l] = ldexp(1.0, -(expo // 2))
        hs[l] = Hs[l] * lams[l]
        L.lam[l] = lams[l]
    badbits = fc_forward4(p.m, p.gap, p.winv, p.Y, hs, lams, L.cov, L.V, G)
    for l in range(LANE_COUNT):
        L.bad[l] = (badbits >> l) & 1
        # the parameters of each lane, as _border does for one
        for i in range(6):
            w1.G[i] = G[i * LANE_COUNT + l]
        w1.G[3] = 0.0  # (i, c) = (1, 0): below the diagonal, never accumulated
        if not L.bad[l] and _border(p, &w1, lams[l], 1) != 0:
            L.bad[l] = 1
        for i in range(2):
            theta[i * LANE_COUNT + l] = 0.0 if L.bad[l] else w1.theta[i]
            for j in range(2):
                Binv[(i * 2 + j) * LANE_COUNT + l] = 0.0 if L.bad[l] else w1.Binv[i * 2 + j]
    fc_backward4(p.m, p.gap, p.winv, hs, L.cov, L.V, Binv, theta, wts, L.E, L.OMH, L.trace, L.rss)
    fc_restore_mode(mode)
    for l in range(LANE_COUNT):
        if not _finite(L.rss[l]):
            L.bad[l] = 1
        failed += L.bad[l]
    return failed


# Shapes as types: each fused specialisation below fixes (nt, kc) at compile
# time, so the loops over columns unroll (the common single-output cases).
ctypedef struct Free1:
    char _
ctypedef struct Const1:
    char _
ctypedef struct Pen1:
    char _
ctypedef struct Any:
    char _
ctypedef fused Shape:
    Free1
    Const1
    Pen1
    Any


cdef inline bint _finite(double x) noexcept nogil:
    return fabs(x) < INFINITY


cdef int _lu(double* A, int* prow, int* pcol, int n) noexcept nogil:
    """In-place LU with complete pivoting of the n x n row-major A (row and
    column exchanges in prow, pcol); -1 if singular.  Complete pivoting: the
    entries of the parameters' matrix span up to 200 decades near
    interpolation, and it eliminates the best determined parameter first."""
    cdef int i, j, l, pr, pc
    cdef double best, tmp, mult
    for j in range(n):
        pr = pc = j
        best = 0.0
        for i in range(j, n):
            for l in range(j, n):
                if fabs(A[i * n + l]) > best:
                    best = fabs(A[i * n + l])
                    pr, pc = i, l
        if not (best > 0.0) or not _finite(best):
            return -1
        prow[j], pcol[j] = pr, pc
        if pr != j:
            for l in range(n):
                tmp = A[j * n + l]
                A[j * n + l] = A[pr * n + l]
                A[pr * n + l] = tmp
        if pc != j:
            for i in range(n):
                tmp = A[i * n + j]
                A[i * n + j] = A[i * n + pc]
                A[i * n + pc] = tmp
        for i in range(j + 1, n):
            mult = A[i * n + j] / A[j * n + j]
            A[i * n + j] = mult
            for l in range(j + 1, n):
                A[i * n + l] -= mult * A[j * n + l]
    return 0


cdef void _lu_solve(const double* A, const int* prow, const int* pcol, int n, double* b) noexcept nogil:
    cdef int i, l
    cdef double tmp
    for i in range(n):
        if prow[i] != i:
            tmp = b[i]
            b[i] = b[prow[i]]
            b[prow[i]] = tmp
    for i in range(n):
        for l in range(i):
            b[i] -= A[i * n + l] * b[l]
    for i in range(n - 1, -1, -1):
        for l in range(i + 1, n):
            b[i] -= A[i * n + l] * b[l]
        b[i] /= A[i * n + i]
    for i in range(n - 1, -1, -1):
        if pcol[i] != i:
            tmp = b[i]
            b[i] = b[pcol[i]]
            b[pcol[i]] = tmp



cdef int _border(const Problem* p, Work* w, double lam, int kc) noexcept nogil:
    """The parameters' normal equations B theta = -G[:, nt:], and B^-1 for the leverages."""
    cdef int nt = <int>p.nt, ncol = nt + kc
    cdef int i, j, l, c
    cdef double B[MAXT * MAXT]
    cdef double rhs[MAXT]
    cdef int prow[MAXT]
    cdef int pcol[MAXT]
    for i in range(nt):
        for j in range(i, nt):
            B[i * nt + j] = w.G[i * ncol + j]
            B[j * nt + i] = w.G[i * ncol + j]
    for j in range(p.nb):
        c = p.comps[j]
        B[c * nt + 2 + j] += 1.0
        B[(2 + j) * nt + c] += 1.0
        for l in range(p.nb):
            B[(2 + j) * nt + 2 + l] -= lam * p.M00[j * p.nb + l]
    if _lu(B, prow, pcol, nt) != 0:
        return -1
    for j in range(kc):
        for i in range(nt):
            rhs[i] = -w.G[i * ncol + nt + j]
        _lu_solve(B, prow, pcol, nt, rhs)
        for i in range(nt):
            w.theta[i * kc + j] = rhs[i]
    for j in range(nt):
        for i in range(nt):
            rhs[i] = 1.0 if i == j else 0.0
        _lu_solve(B, prow, pcol, nt, rhs)
        for i in range(nt):
            w.Binv[i * nt + j] = rhs[i]
    return 0


cdef inline int _params(Shape* shape, const Problem* p) noexcept nogil:
    """The parameter columns: the free state's two, plus the border's (known at
    compile time in the single-output copies, so their loops unroll)."""
    if Shape is Free1:
        return 2
    elif Shape is Const1:
        return 3
    elif Shape is Pen1:
        return 4
    return <int>p.nt


cdef int _forward(Shape* shape, const Problem* p, Work* w, double Hs, double lam,
                  Py_ssize_t col0, int kc) noexcept nogil:
    """The filter from a known zero state for the parameter columns and the
    output columns ``col0 .. col0 + kc - 1`` at once (``H_t = Hs * winv_t``)."""
    cdef int nt = _params(shape, p), ncol, c, i, j
    if Shape is not Any:  # the compiled single-output copies
        kc = 1
    ncol = nt + kc
    cdef Py_ssize_t m = p.m, k = p.k, t, ld = w.ld
    cdef int nb = nt - 2
    cdef const double* row
    cdef const double* fr
    cdef const double* Yt
    cdef double* Vt
    cdef double s0[MAXC]
    cdef double s1[MAXC]
    cdef double G[MAXT * MAXC]
    cdef double vF[MAXC]
    cdef double p00 = 0.0, p01 = 0.0, p11 = 0.0, det = 0.0
    cdef double H, F, iF, g0, g1, e0, v, yv, af0, af1, hh, c00, c01, c11, top
    for c in range(ncol):
        s0[c] = 0.0
        s1[c] = 0.0
    s0[0] = 1.0  # the columns of the initial state's value and slope
    s1[1] = 1.0
    for i in range(nt * ncol):
        G[i] = 0.0
    for t in range(m):
        H = Hs * p.winv[t]
        F = p00 + H
        if not (F > 0.0) or not _finite(F):
            return -1
        iF = 1.0 / F
        g0 = p00 * iF
        g1 = p01 * iF
        e0 = H * iF  # 1 - g0 without the cancellation
        w.cov[3 * t] = iF
        w.cov[3 * t + 1] = g0
        w.cov[3 * t + 2] = g1
        row = p.gap + GAPCOLS * t
        hh = row[0]
        Vt = w.V + t * ld
        Yt = p.Y + t * k + col0
        for c in range(ncol):
            yv = Yt[c - nt] if c >= nt else 0.0
            v = yv - s0[c]
            Vt[c] = v
            vF[c] = v * iF
            af0 = e0 * s0[c] + g0 * yv  # the filtered value as a convex combination
            af1 = s1[c] + g1 * v
            if w.A0F != NULL:
                w.A0F[t * ld + c] = af0
            if w.A1F != NULL:
                w.A1F[t * ld + c] = af1
            s0[c] = af0 + hh * af1
            s1[c] = af1
        fr = p.forc + 2 * nb * t
        for j in range(nb):
            s0[2 + j] += lam * fr[2 * j]
            s1[2 + j] += lam * fr[2 * j + 1]
        for i in range(nt):
            for c in range(i, ncol):
                G[i * ncol + c] += vF[i] * Vt[c]
        # the covariance: filtered from the exact 2 x 2 update (no subtraction),
        # C = [[P00 H, P01 H], [P01 H, det P + P11 H]] / F, predicted with its
        # determinant carried along as a sum of non-negative terms; the
        # numerators are formed while 1/F is computed
        c00 = p00 * H
        c01 = p01 * H
        c11 = det + p11 * H
        if w.C11 != NULL:
            w.C11[t] = c11 * iF
        det = (det * H + lam * (c11 * row[5] + 2.0 * c01 * row[4] + c00 * row[3])) * iF + lam * lam * row[6]
        p00 = (c00 + hh * (2.0 * c01 + hh * c11)) * iF + lam * row[1]
        p01 = (c01 + hh * c11) * iF + lam * row[2]
        p11 = c11 * iF + lam * row[3]
        top = p00 * p11
        if det > top:
            det = top
        if not (det > 0.0):
            det = 0.0
    for i in range(nt * ncol):
        w.G[i] = G[i]
    return _border(p, w, lam, kc)


cdef void _backward(Shape* shape, const Problem* p, Work* w, double Hs,
                    Py_ssize_t col0, int kc, Out* o) noexcept nogil:
    """The smoother: adjoints (``s0, s1`` hold ``T^T r`` per column), their
    variance ``N``, and per point the residuals, leverages and fitted values."""
    cdef int nt = _params(shape, p), ncol, c, i, j
    if Shape is not Any:  # the compiled single-output copies
        kc = 1
    ncol = nt + kc
    cdef Py_ssize_t m = p.m, k = p.k, t, ld = w.ld
    cdef const double* Vt
    cdef double s0[MAXC]
    cdef double s1[MAXC]
    cdef double u[MAXC]
    cdef double f[MAXC]
    cdef double rss[KB]
    cdef double H, iF, g0, g1, e0, hh, c00, c01, q, corr, x, ut, ft, lev, n00, n01, trace = 0.0
    cdef double na = 0.0, nab = 0.0, nc = 0.0
    for c in range(ncol):
        s0[c] = 0.0
        s1[c] = 0.0
    for j in range(kc):
        rss[j] = 0.0
    for t in range(m - 1, -1, -1):
        iF = w.cov[3 * t]
        g0 = w.cov[3 * t + 1]
        g1 = w.cov[3 * t + 2]
        H = Hs * p.winv[t]
        Vt = w.V + t * ld
        for c in range(ncol):
            u[c] = Vt[c] * iF - (g0 * s0[c] + g1 * s1[c])
        q = g0 * g0 * na + 2.0 * g0 * g1 * nab + g1 * g1 * nc
        corr = 0.0
        for i in range(nt):
            x = 0.0
            for j in range(nt):
                x += w.Binv[i * nt + j] * u[j]
            corr += (H * u[i]) * x
        lev = g0 - H * q + corr
        o.LEV[t] = lev
        o.OMH[t] = H * (iF + q) - corr
        trace += lev
        for j in range(kc):
            ut = u[nt + j]
            for i in range(nt):
                ut += u[i] * w.theta[i * kc + j]
            ut = H * ut
            o.E[t * k + col0 + j] = ut
            if o.wts != NULL:
                rss[j] += o.wts[t] * ut * ut
        # the smoothed state: filtered plus C rho (C the filtered covariance,
        # its first row (g0, g1) H), each column combined with the parameters
        c00 = g0 * H
        c01 = g1 * H
        if o.FIT != NULL:
            for c in range(ncol):
                f[c] = w.A0F[t * ld + c] + c00 * s0[c] + c01 * s1[c]
            for j in range(kc):
                ft = f[nt + j]
                for i in range(nt):
                    ft += f[i] * w.theta[i * kc + j]
                o.FIT[t * k + col0 + j] = ft
        if o.SLOPE != NULL:
            for c in range(ncol):
                f[c] = w.A1F[t * ld + c] + c01 * s0[c] + w.C11[t] * s1[c]
            for j in range(kc):
                ft = f[nt + j]
                for i in range(nt):
                    ft += f[i] * w.theta[i * kc + j]
                o.SLOPE[t * k + col0 + j] = ft
        if o.MULT != NULL and t > 0:  # r_{t-1} = rho_t + (u_t, 0): the multiplier of gap t - 1
            for j in range(kc):
                ft = s0[nt + j] + u[nt + j]
                x = s1[nt + j]
                for i in range(nt):
                    ft += (s0[i] + u[i]) * w.theta[i * kc + j]
                    x += s1[i] * w.theta[i * kc + j]
                o.MULT[2 * t * k + col0 + j] = ft
                o.MULT[(2 * t + 1) * k + col0 + j] = x
        if t > 0:
            # N_{t-1} = e_0 e_0^T / F + J^T Ntilde J, then transported over gap
            # t - 1 (sums grouped as trees: this recursion is a critical path)
            e0 = H * iF
            n00 = (iF + e0 * e0 * na) + g1 * (g1 * nc - 2.0 * e0 * nab)
            n01 = e0 * nab - g1 * nc
            hh = p.gap[GAPCOLS * (t - 1)]
            for c in range(ncol):
                s0[c] += u[c]
                s1[c] += hh * s0[c]
            na = n00
            nab = hh * n00 + n01
            nc = hh * hh * n00 + (2.0 * hh * n01 + nc)
    o.trace = trace
    for j in range(kc):
        o.rss[j] = rss[j]


cdef int _evaluate(const Problem* p, Work* w, double Hs, Py_ssize_t col0, int kc, Out* o) noexcept nogil:
    """One ``alpha`` (``H_t = Hs * winv_t``) for the output columns ``col0 ..
    col0 + kc - 1``: residuals, leverages, ``1 -`` leverages and fitted values
    (if ``o.FIT``) in ``o``.  Returns -1 on a non-positive or non-finite pivot."""
    cdef unsigned int mode = fc_flush_subnormals()
    cdef int status = _evaluate_passes(p, w, Hs, col0, kc, o)
    fc_restore_mode(mode)
    return status


cdef int _evaluate_columns(const Problem* p, Work* w, double Hs, Out* o, double* rss) noexcept nogil:
    """:func:`_evaluate` for every output column, in blocks of ``KB``; with
    ``rss``, each column's weighted residual sum of squares goes there (a
    non-finite one counts as a failure).  Returns nonzero on a failure."""
    cdef Py_ssize_t col0 = 0, k = p.k
    cdef int kc, j, bad = 0
    while col0 < k and bad == 0:
        kc = <int>min(k - col0, <Py_ssize_t>KB)
        bad = _evaluate(p, w, Hs, col0, kc, o)
        if rss != NULL:
            for j in range(kc):
                rss[col0 + j] = o.rss[j]
                if not _finite(o.rss[j]):
                    bad = -1
        col0 += KB
    return bad


cdef int _evaluate_passes(const Problem* p, Work* w, double Hs, Py_ssize_t col0, int kc, Out* o) noexcept nogil:
    """:func:`_evaluate`'s two passes, in the floating-point mode it sets."""
    cdef int expo, status
    cdef double lam
    # All variances scaled by a power of two (exact; the posterior does not
    # change) that balances H ~ Hs against the unit moments: near interpolation
    # their products stay far from underflow (H^2 ~ 1e-300 at alpha = 1e-150).
    frexp(Hs, &expo)
    lam = ldexp(1.0, -(expo // 2))
    w.lam = lam
    Hs = Hs * lam
    if kc == 1 and p.nt == 2:
        status = _forward(<Free1*>NULL, p, w, Hs, lam, col0, kc)
        if status == 0:
            _backward(<Free1*>NULL, p, w, Hs, col0, kc, o)
    elif kc == 1 and p.nt == 3:
        status = _forward(<Const1*>NULL, p, w, Hs, lam, col0, kc)
        if status == 0:
            _backward(<Const1*>NULL, p, w, Hs, col0, kc, o)
    elif kc == 1 and p.nt == 4:
        status = _forward(<Pen1*>NULL, p, w, Hs, lam, col0, kc)
        if status == 0:
            _backward(<Pen1*>NULL, p, w, Hs, col0, kc, o)
    else:
        status = _forward(<Any*>NULL, p, w, Hs, lam, col0, kc)
        if status == 0:
            _backward(<Any*>NULL, p, w, Hs, col0, kc, o)
    return status


cdef class Kernel:
    """The alpha-independent arrays of one problem and the work arrays of its
    evaluations (allocated once, reused by every ``alpha``)."""

    def __init__(self, double[::1] h, double[:, ::1] M, double[:, ::1] forc, double[::1] winv,
                 double[:, ::1] Y, double[:, ::1] M00, long[::1] comps):
        """``h`` (m - 1,) the gaps and ``M`` (3, m - 1) their moments ``M0, M1,
        M2`` about the gap's right end, in the units of :func:`.chain.rescaled`;
        the rest as laid out in :func:`.fastchain._problem`."""
        cdef Py_ssize_t m = Y.shape[0], k = Y.shape[1], nb = comps.shape[0], i, j
        if m < 2 or k < 1 or nb > 2 or h.shape[0] != m - 1 or M.shape[0] != 3 or M.shape[1] != m - 1 \
                or forc.shape[0] != m or forc.shape[1] < 2 * nb or winv.shape[0] != m \
                or M00.shape[0] < nb or M00.shape[1] < nb:
            raise ValueError("inconsistent problem arrays")
        for i in range(nb):
            if comps[i] < 0 or comps[i] > 1:
                raise ValueError("border components are 0 or 1")
        cdef double[:, ::1] gap = np.zeros((m, GAPCOLS))
        cdef double hh, m0, m1, m2, me1
        for i in range(m - 1):
            hh, m0, m1, m2 = h[i], M[0, i], M[1, i], M[2, i]
            gap[i, 0], gap[i, 1], gap[i, 2], gap[i, 3] = hh, m2, m1, m0
            # the moments about the gap's left end, and det M, clipped to what a
            # positive semidefinite M allows (rounding only)
            # (a nan stays: the evaluation fails on it)
            me1 = hh * m0 - m1
            if me1 < 0.0:
                me1 = 0.0
            gap[i, 4] = me1
            gap[i, 5] = m2 - hh * (2.0 * m1 - hh * m0)
            if m0 > 0.0 and gap[i, 5] < me1 * me1 / m0:
                gap[i, 5] = me1 * me1 / m0
            elif gap[i, 5] < 0.0:
                gap[i, 5] = 0.0
            gap[i, 6] = m0 * m2 - m1 * m1
            if gap[i, 6] < 0.0:
                gap[i, 6] = 0.0
        self._keep = (gap, forc, winv, Y)  # the pointers below point into these
        self.p.m, self.p.k, self.p.nb = m, k, nb
        self.p.nt = 2 + nb
        self.p.gap = &gap[0, 0]
        self.p.forc = &forc[0, 0]
        self.p.winv = &winv[0]
        self.p.Y = &Y[0, 0]
        for i in range(nb):
            self.p.comps[i] = <int>comps[i]
            for j in range(nb):
                self.p.M00[i * nb + j] = M00[i, j]
        self.w.ld = self.p.nt + min(k, <Py_ssize_t>KB)
        self._cov = np.empty(m * 3)
        self._V = np.empty(m * self.w.ld)
        self.w.cov = &self._cov[0]
        self.w.V = &self._V[0]
        # the arrays of fitted values and states: allocated when first asked for
        self.w.A0F, self.w.A1F, self.w.C11 = NULL, NULL, NULL

    cdef void _want(self, bint states):
        """Allocate the filtered means (and the states' arrays) before an evaluation that needs them."""
        cdef Py_ssize_t m = self.p.m
        if self.w.A0F == NULL:
            self._A0F = np.empty(m * self.w.ld)
            self.w.A0F = &self._A0F[0]
        if states and self.w.A1F == NULL:
            self._A1F = np.empty(m * self.w.ld)
            self._C11 = np.empty(m)
            self.w.A1F, self.w.C11 = &self._A1F[0], &self._C11[0]

    def evaluate(self, double Hs):
        """``(fitted (m, k), residuals (m, k), leverages (m,), 1 - leverages (m,))``;
        raises ``FloatingPointError`` on a singular or non-finite pivot."""
        self._want(False)
        cdef Py_ssize_t m = self.p.m, k = self.p.k
        cdef double[:, ::1] fit = np.empty((m, k))
        cdef double[:, ::1] res = np.empty((m, k))
        cdef double[::1] lev = np.empty(m)
        cdef double[::1] omh = np.empty(m)
        cdef Out o
        cdef int bad = 0
        o.E, o.FIT, o.LEV, o.OMH, o.wts = &res[0, 0], &fit[0, 0], &lev[0], &omh[0], NULL
        o.SLOPE, o.MULT = NULL, NULL
        with nogil:
            bad = _evaluate_columns(&self.p, &self.w, Hs, &o, NULL)
        if bad:
            raise FloatingPointError("singular or non-finite pivot")
        return np.asarray(fit), np.asarray(res), np.asarray(lev), np.asarray(omh)

    def states(self, double Hs):
        """``(fitted (m, k), slopes (m, k), multipliers (m, 2, k), leverages (m,))``
        in the units of :func:`.chain.free_system` (those of its ``z``), the
        multiplier of the gap before each point (row 0 zero); raises ``FloatingPointError`` on a singular or
        non-finite pivot or a non-finite result."""
        self._want(True)
        cdef Py_ssize_t m = self.p.m, k = self.p.k
        cdef double[:, ::1] fit = np.empty((m, k))
        cdef double[:, ::1] slope = np.empty((m, k))
        cdef double[:, :, ::1] mult = np.zeros((m, 2, k))
        cdef double[:, ::1] res = np.empty((m, k))
        cdef double[::1] lev = np.empty(m)
        cdef double[::1] omh = np.empty(m)
        cdef Out o
        cdef int bad = 0
        o.E, o.FIT, o.LEV, o.OMH, o.wts = &res[0, 0], &fit[0, 0], &lev[0], &omh[0], NULL
        o.SLOPE, o.MULT = &slope[0, 0], &mult[0, 0, 0]
        cdef Py_ssize_t i, j
        with nogil:
            bad = _evaluate_columns(&self.p, &self.w, Hs, &o, NULL)
            for i in range(m):
                bad = bad or not _finite(lev[i])
                for j in range(k):
                    bad = bad or not (_finite(fit[i, j]) and _finite(slope[i, j]) and _finite(mult[i, 0, j])
                                      and _finite(mult[i, 1, j]))
        if bad:
            raise FloatingPointError("singular or non-finite pivot, or a non-finite result")
        # the adjoints come in units of the scaled variances: lam times them is the chain's mult
        return np.asarray(fit), np.asarray(slope), np.asarray(mult) * self.w.lam, np.asarray(lev)
