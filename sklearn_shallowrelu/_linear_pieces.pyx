# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled work of the gradient step of a network with a piecewise-linear
activation and one output (see :meth:`._network.Network._data_loss_and_grad`).

Between its two matrix products (``Z = [X, 1] [W, b]^T`` and ``[X, 1]^T D``) a
gradient step needs ``r = act(Z) v``, then ``D = p r act'(Z)`` and ``act(Z)^T (p
r)``.  In numpy these were seven passes over the ``m x n`` block for ReLU
(``maximum`` alone, which must propagate NaN, costs four times a copy; the mask
went through a boolean array and a cast) and more for the others, and they took
most of a step whenever ``d`` is small.  Here :func:`linear_pieces_pass` does
them in one pass, row by row.  With few inputs the row kernel
(:func:`linear_pieces_rows`) replaces the products too.  NaN propagates as in
numpy: a NaN pre-activation gives a NaN ``r``.
"""

from cython cimport floating

from ._parts cimport run_parts

import numpy as np

from ._parts import MAX_THREADS


cdef extern from "_cpu.h":
    int srl_cpu_level() noexcept nogil


# One output: the two passes of a row block between its matrix products, in one.
#
# A row's residual needs only that row: ``r = s act(z) v - shift`` reads the
# row once, and the backward step (``gv += act(z) p r``, ``z <- p r act'(z)``)
# reads it again while it is still in the first-level cache.  The block then
# goes through memory once, where a forward pass over the whole block and a
# backward pass after it read it twice from the outer caches (at width 512 and
# more the block outgrows the second level).  The lanes are GCC/clang vector
# types, 32 bytes with AVX2 and 16 bytes otherwise, as in the row kernel below;
# a compiler without them builds the same loops on scalars.  NaN as numpy has
# it: ``z <= 0`` fails for a NaN, which stays in ``act(z)`` and so in ``r`` and
# ``gv``; its slope is ``zero``, so its ``p r act'(z)`` is 0 for ReLU (a
# selection) and ``zero * NaN`` for the others (a product).  With ``neg = 0``
# below 0 the activation is 0 even at ``-inf`` (not ``-inf * 0``).
cdef extern from *:
    """
    /* one entry of act(z), and of p r act'(z) (ACT 0 is ReLU, 1 the general pieces) */
    #define LP_ACT1(ACT, z, pos, neg)                                                                 \\
        ((ACT) == 0 ? ((z) <= 0 ? 0 : (z)) : ((z) <= 0 ? 0 : (z)) * (pos) + (((z) < 0 && (neg) != 0) ? (z) : 0) * (neg))
    #define LP_D1(ACT, z, pr, pos, neg, zero)                                                        \\
        ((ACT) == 0 ? ((z) > 0 ? (pr) : 0) : ((z) > 0 ? (pos) : ((z) < 0 ? (neg) : (zero))) * (pr))
    /* the residual of row i from its sum, and the backward pass of the entries from j on */
    #define LP_RESIDUAL(sum)                                                                         \\
        r = (sum) * s - shift[i];                                                                    \\
        R[i] = r;                                                                                    \\
        if (!p) continue;  /* the forward pass alone */                                             \\
        pr = r * p[i];                                                                               \\
        PR[i] = pr;                                                                                  \\
        sq += (double)pr * (double)r;
    #define LP_BACK_TAIL(ACT)                                                                        \\
        for (; j < n; j++) {                                                                         \\
            zz = z[j];                                                                               \\
            gv[j] += LP_ACT1(ACT, zz, pos, neg) * pr;                                                \\
            z[j] = LP_D1(ACT, zz, pr, pos, neg, zero);                                               \\
        }
    #define LP_SIGNATURE(NAME, T)                                                                    \\
        static double NAME(T* Z, Py_ssize_t rows, Py_ssize_t n, Py_ssize_t ldz, const T* v,          \\
                           const T* shift, T s, const T* p, T pos, T neg, T zero, T* R, T* PR, T* gv)
    #if (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)
    /* act(z) of a group of lanes (keep: all ones where neg != 0) */
    #define LP_ACT(V, M, ACT, z, vpos, vneg, keep)                                                   \\
        ((ACT) == 0 ? (V)((M)(z) & ~(M)((z) <= 0))                                                  \\
                    : (V)((M)(z) & ~(M)((z) <= 0)) * (vpos) + (V)((M)(z) & (M)((z) < 0) & (keep)) * (vneg))
    #define LP_DEFINE(NAME, T, IT, VB, ACT, ATTR)                                                    \\
    typedef T NAME##_v __attribute__((vector_size(VB)));                                             \\
    typedef T NAME##_vu __attribute__((vector_size(VB), aligned(sizeof(T)), may_alias));  /* unaligned */\\
    typedef IT NAME##_m __attribute__((vector_size(VB)));                                            \\
    ATTR LP_SIGNATURE(NAME, T) {                                                                     \\
        const int L = VB / (int)sizeof(T);                                                           \\
        const NAME##_v vpos = (NAME##_v){0} + pos, vneg = (NAME##_v){0} + neg;                       \\
        const NAME##_v vzero = (NAME##_v){0} + zero;                                                 \\
        const NAME##_m keep = (NAME##_m){0} - (IT)(neg != 0);                                        \\
        double sq = 0;                                                                               \\
        Py_ssize_t i, j;                                                                             \\
        int e;                                                                                       \\
        T sum, r, pr, zz;                                                                            \\
        for (i = 0; i < rows; i++) {                                                                 \\
            T* z = Z + i * ldz;                                                                      \\
            NAME##_v a0 = (NAME##_v){0}, a1 = (NAME##_v){0};  /* two sums: the adds overlap */      \\
            for (j = 0; j + 2 * L <= n; j += 2 * L) {                                                \\
                NAME##_v z0 = *(NAME##_vu*)(z + j), z1 = *(NAME##_vu*)(z + j + L);                   \\
                a0 += LP_ACT(NAME##_v, NAME##_m, ACT, z0, vpos, vneg, keep) * *(const NAME##_vu*)(v + j); \\
                a1 += LP_ACT(NAME##_v, NAME##_m, ACT, z1, vpos, vneg, keep) * *(const NAME##_vu*)(v + j + L); \\
            }                                                                                        \\
            for (; j + L <= n; j += L) {                                                             \\
                NAME##_v z0 = *(NAME##_vu*)(z + j);                                                  \\
                a0 += LP_ACT(NAME##_v, NAME##_m, ACT, z0, vpos, vneg, keep) * *(const NAME##_vu*)(v + j); \\
            }                                                                                        \\
            a0 += a1;                                                                                \\
            sum = 0;                                                                                 \\
            for (e = 0; e < L; e++) sum += a0[e];                                                    \\
            for (; j < n; j++) { zz = z[j]; sum += LP_ACT1(ACT, zz, pos, neg) * v[j]; }              \\
            LP_RESIDUAL(sum)                                                                         \\
            {                                                                                        \\
                const NAME##_v vpr = (NAME##_v){0} + pr;                                             \\
                for (j = 0; j + L <= n; j += L) {                                                    \\
                    NAME##_v z0 = *(NAME##_vu*)(z + j), D;                                           \\
                    NAME##_m above = (NAME##_m)(z0 > 0), below = (NAME##_m)(z0 < 0);                 \\
                    *(NAME##_vu*)(gv + j) += LP_ACT(NAME##_v, NAME##_m, ACT, z0, vpos, vneg, keep) * vpr; \\
                    if (ACT == 0) D = (NAME##_v)((NAME##_m)vpr & above);  /* a selection */          \\
                    else D = (NAME##_v)(((NAME##_m)vpos & above) | ((NAME##_m)vneg & below)          \\
                                        | ((NAME##_m)vzero & ~(above | below))) * vpr;               \\
                    *(NAME##_vu*)(z + j) = D;                                                        \\
                }                                                                                    \\
                LP_BACK_TAIL(ACT)                                                                    \\
            }                                                                                        \\
        }                                                                                            \\
        return sq;                                                                                   \\
    }
    #define LP_SET(SUFFIX, VB, ATTR)                                                                 \\
        LP_DEFINE(lp_d0_##SUFFIX, double, long long, VB, 0, ATTR)                                  \\
        LP_DEFINE(lp_d1_##SUFFIX, double, long long, VB, 1, ATTR)                                  \\
        LP_DEFINE(lp_f0_##SUFFIX, float, int, VB, 0, ATTR)                                         \\
        LP_DEFINE(lp_f1_##SUFFIX, float, int, VB, 1, ATTR)
    LP_SET(base, 16, )
    #ifdef SRL_X86  /* (_cpu.h) */
    #define LP_HAS_AVX2 1
    LP_SET(avx2, 32, __attribute__((target("avx2,fma"))))
    #endif
    #else  /* no vector types (MSVC): the same loops on scalars */
    #define LP_DEFINE(NAME, T, ACT)                                                                  \\
    LP_SIGNATURE(NAME, T) {                                                                          \\
        double sq = 0;                                                                               \\
        Py_ssize_t i, j;                                                                             \\
        T sum, r, pr, zz;                                                                            \\
        for (i = 0; i < rows; i++) {                                                                 \\
            T* z = Z + i * ldz;                                                                      \\
            sum = 0;                                                                                 \\
            for (j = 0; j < n; j++) { zz = z[j]; sum += LP_ACT1(ACT, zz, pos, neg) * v[j]; }         \\
            LP_RESIDUAL(sum)                                                                         \\
            j = 0;                                                                                   \\
            LP_BACK_TAIL(ACT)                                                                        \\
        }                                                                                            \\
        return sq;                                                                                   \\
    }
    LP_DEFINE(lp_d0_base, double, 0)
    LP_DEFINE(lp_d1_base, double, 1)
    LP_DEFINE(lp_f0_base, float, 0)
    LP_DEFINE(lp_f1_base, float, 1)
    #endif
    #ifdef LP_HAS_AVX2
    #define LP_PICK(F, AVX2) ((AVX2) ? F##_avx2 : F##_base)
    #else
    #define LP_HAS_AVX2 0
    #define LP_PICK(F, AVX2) F##_base
    #endif
    static double lp_pass_d(int avx2, int act, double* Z, Py_ssize_t rows, Py_ssize_t n, Py_ssize_t ldz,
                            const double* v, const double* shift, double s, const double* p, double pos,
                            double neg, double zero, double* R, double* PR, double* gv) {
        return (act == 0 ? LP_PICK(lp_d0, avx2) : LP_PICK(lp_d1, avx2))(Z, rows, n, ldz, v, shift, s, p, pos,
                                                                        neg, zero, R, PR, gv);
    }
    static double lp_pass_f(int avx2, int act, float* Z, Py_ssize_t rows, Py_ssize_t n, Py_ssize_t ldz,
                            const float* v, const float* shift, float s, const float* p, float pos,
                            float neg, float zero, float* R, float* PR, float* gv) {
        return (act == 0 ? LP_PICK(lp_f0, avx2) : LP_PICK(lp_f1, avx2))(Z, rows, n, ldz, v, shift, s, p, pos,
                                                                        neg, zero, R, PR, gv);
    }
    """
    int LP_HAS_AVX2
    double lp_pass_d(int avx2, int act, double* Z, Py_ssize_t rows, Py_ssize_t n, Py_ssize_t ldz,
                     const double* v, const double* shift, double s, const double* p, double pos, double neg,
                     double zero, double* R, double* PR, double* gv) noexcept nogil
    double lp_pass_f(int avx2, int act, float* Z, Py_ssize_t rows, Py_ssize_t n, Py_ssize_t ldz,
                     const float* v, const float* shift, float s, const float* p, float pos, float neg,
                     float zero, float* R, float* PR, float* gv) noexcept nogil


def linear_pieces_pass(floating[:, ::1] Z, const floating[::1] v, const floating[::1] shift, floating s,
                       floating[::1] R, const floating[::1] p=None, floating[::1] PR=None,
                       floating[::1] gv=None, *, floating pos=1, floating neg=0, floating zero=0, bint avx2=True):
    """The passes of a row block of pre-activations ``Z`` (rows, n) for one output.

    Forward: ``R = s act(Z) v - shift``.  With ``p`` (and ``PR``, ``gv``), backward
    too: ``PR = p R``, ``gv += act(Z)^T PR``, and ``Z <- PR act'(Z)`` in place
    (``D``, whose product with ``[X, 1]`` gives the weights' gradient); returns
    ``sum_i p_i r_i^2`` summed in float64 (0 without ``p``).  ``act(z) = pos z``
    above 0 and ``neg z`` below, with slope ``zero`` at 0; the defaults are ReLU,
    whose own variant runs for the slopes (1, 0, 0).  ``avx2=False`` runs the
    16-byte lanes where the CPU has AVX2 (a test of both).

    (One thread: split over two, the pass ran no faster within a step, where
    OpenBLAS's threads still spin after the product before it; in one run at
    ``(m, n, d) = (1e3, 4096, 100)`` float32 a step took 19.3 ms, against 16.0 ms
    with the two passes it replaced on one thread.)
    """
    cdef Py_ssize_t rows = Z.shape[0], n = Z.shape[1]
    cdef bint back = p is not None
    if v.shape[0] != n or shift.shape[0] != rows or R.shape[0] != rows:
        raise ValueError("inconsistent shapes")
    if back and (PR is None or gv is None or p.shape[0] != rows or PR.shape[0] != rows or gv.shape[0] != n):
        raise ValueError("the backward pass needs p, PR (rows,) and gv (n,)")
    if rows == 0:
        return 0.0
    # ReLU's own variant (kernel_variant 0); every other activation, neg = 0 too, the general one
    cdef int act = 0 if kernel_variant(pos, neg, zero) == 0 else 1
    cdef int wide = avx2 and _LP_AVX2
    cdef Py_ssize_t ldz = Z.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef const floating* p_ = &p[0] if back else NULL
    cdef floating* PR_ = &PR[0] if back else NULL
    cdef floating* gv_ = &gv[0] if back else NULL
    cdef double squares
    with nogil:
        if floating is double:
            squares = lp_pass_d(wide, act, &Z[0, 0], rows, n, ldz, &v[0], &shift[0], s, p_, pos, neg, zero,
                                &R[0], PR_, gv_)
        else:
            squares = lp_pass_f(wide, act, &Z[0, 0], rows, n, ldz, &v[0], &shift[0], s, p_, pos, neg, zero,
                                &R[0], PR_, gv_)
    return squares


#: Whether :func:`linear_pieces_pass` runs its 32-byte lanes on this CPU (AVX2).
_LP_AVX2 = bool(LP_HAS_AVX2) and srl_cpu_level() >= 2


# The activations other than ReLU, act(z) = z act'(z) with the slopes ``pos``
# above 0, ``neg`` below and ``zero`` at 0 (leaky ReLU, absolute value).

cdef inline floating _act(floating z, floating pos, floating neg) noexcept nogil:
    # selections, not branches, so that the loops vectorise: the first part keeps a NaN
    # ("z <= 0" fails); with neg = 0 (ReLU) the second is 0 even at -inf, where -inf * 0
    # would be NaN
    return (0 if z <= 0 else z) * pos + (0 if (z >= 0 or neg == 0) else z) * neg


cdef inline floating _slope(floating z, floating pos, floating neg, floating zero) noexcept nogil:
    return pos if z > 0 else (neg if z < 0 else zero)


# Several outputs: the products with the output weights are matrix products
# (BLAS), so the passes left are act(Z) and the product of D = (p R) V^T with act'(Z).

def linear_pieces_value(const floating[:, ::1] Z, floating[:, ::1] A, floating pos, floating neg):
    """``A = act(Z)`` for ``act(z) = pos z`` above 0 and ``neg z`` below; a NaN stays."""
    cdef Py_ssize_t i, k, rows = Z.shape[0], n = Z.shape[1]
    with nogil:
        for i in range(rows):
            for k in range(n):
                A[i, k] = _act(Z[i, k], pos, neg)


def linear_pieces_times_slope(floating[:, ::1] D, const floating[:, ::1] Z, floating pos, floating neg,
                              floating zero):
    """``D <- D * act'(Z)`` in place (``act'`` is ``pos``, ``neg`` or ``zero`` by the sign of ``Z``)."""
    cdef Py_ssize_t i, k, rows = Z.shape[0], n = Z.shape[1]
    with nogil:
        for i in range(rows):
            for k in range(n):
                D[i, k] *= _slope(Z[i, k], pos, neg, zero)


# ---------------------------------------------------------------------------
# Few inputs: the whole row-block step in one pass, without matrix products.
#
# With few inputs the two products ``Z = X1 W1T`` and ``X1^T D`` have an inner
# dimension of ``d + 1`` (3 at d = 2): BLAS runs them far below its peak, and the
# two passes between them read and write the ``m x n`` block twice more.  The
# step needs no ``m x n`` array at all: a row's residual depends on that row
# alone, so a group of rows can go forward (``z = x1 W1T``, ``r = s act(z) v -
# (y - c)``) and straight back (``gv += act(z) p r``, ``G1T += x1 (p r
# act'(z))``) while its ``z`` (a few rows of width ``n``) is still in the
# first-level cache.  Each weight column ``W1T[:, j]`` loaded serves ``RB``
# rows, as in a matrix product's inner kernel.  (Measured at m = 1e4, width 64:
# 2.2 to 2.8 times faster than the products and passes at d = 2, 1.5 times at
# d = 10; slower once ``(d + 1) n`` outgrows the cache or d is large, where
# BLAS's blocking wins: see ``_network.rows_kernel_wins``.)
#
# The lanes are GCC/clang vector types, one per instruction set: 64-byte
# vectors and 8 rows with AVX-512 (32 registers), 32-byte and 4 rows with AVX2
# (16 registers; 64-byte vectors there spill and were measured 15 times
# slower), 16-byte and 4 rows otherwise (SSE2, NEON), chosen when the module
# loads.  A compiler without vector types (MSVC) builds no kernel, and the
# products and passes above serve every shape.
#
# Two activations per variant, fixed at compile time (ACT): ReLU keeps
# ``relu(z)`` and its own selections, as its passes do; the general pieces
# (``pos z`` above 0, ``neg z`` below, slope ``zero`` at 0: leaky ReLU, the
# absolute value, with ``neg != 0``) keep ``z``, whose sign the backward step
# needs.  NaN as in the passes: ``z <= 0`` and ``z < 0`` fail for a NaN, which
# stays in ``act(z)`` and so in ``r`` and ``gv``; its slope is ``zero``, and its
# row's ``p r act'(z)`` is 0 for ReLU (a selection, as in :func:`linear_pieces_pass`)
# and ``zero * NaN`` for the others (a product, as there).
cdef extern from *:
    """
    #if (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)
    #define RK_AVAILABLE 1
    #define RK_MAX_ROWS 8  /* the most rows a variant takes at once (the work array's height) */
    #define RK_DEFINE(NAME, T, IT, VB, RB, ACT, ATTR)                                                   \\
    typedef T NAME##_v __attribute__((vector_size(VB)));                                             \\
    typedef T NAME##_vu __attribute__((vector_size(VB), aligned(sizeof(T)), may_alias));  /* unaligned */\\
    typedef IT NAME##_m __attribute__((vector_size(VB)));                                            \\
    ATTR static void NAME(const T* X1, Py_ssize_t m, Py_ssize_t d1, const T* W1T, Py_ssize_t n,     \\
                          Py_ssize_t ldw, Py_ssize_t ldg, Py_ssize_t ldb, const T* v, const T* shift, const T* p, T s, T pos, T neg, T zero,       \\
                          const T* zeros, T* R, T* PR, T* gv, T* G1T, T* buf) {                    \\
        const int L = VB / (int)sizeof(T);                                                           \\
        const NAME##_v vpos = (NAME##_v){0} + pos, vneg = (NAME##_v){0} + neg;                       \\
        const NAME##_v vzero = (NAME##_v){0} + zero;                                                 \\
        Py_ssize_t nv = n - n % L, i0, j, l;                                                         \\
        int q, e;                                                                                    \\
        for (i0 = 0; i0 < m; i0 += RB) {                                                             \\
            const T* x[RB];                                                                          \\
            T tail[RB], pr[RB];                                                                      \\
            NAME##_v acc[RB], z[RB], D[RB];                                                          \\
            for (q = 0; q < RB; q++) {  /* rows past the end read zeros and weigh 0 */               \\
                x[q] = (i0 + q < m) ? X1 + (i0 + q) * d1 : zeros;                                    \\
                acc[q] = (NAME##_v){0};                                                              \\
                tail[q] = 0;                                                                         \\
            }                                                                                        \\
            /* forward: relu(z) (ReLU) or z into buf, act(z) v into acc */                           \\
            for (j = 0; j < nv; j += L) {                                                            \\
                NAME##_v vv = *(const NAME##_vu*)(v + j);                                            \\
                for (q = 0; q < RB; q++) z[q] = (NAME##_v){0};                                       \\
                for (l = 0; l < d1; l++) {                                                           \\
                    NAME##_v w = *(const NAME##_vu*)(W1T + l * ldw + j);                               \\
                    for (q = 0; q < RB; q++) z[q] += x[q][l] * w;                                    \\
                }                                                                                    \\
                for (q = 0; q < RB; q++) {                                                           \\
                    NAME##_v up = (NAME##_v)((NAME##_m)z[q] & ~(NAME##_m)(z[q] <= 0));               \\
                    if (ACT == 0) {                                                                  \\
                        *(NAME##_vu*)(buf + q * ldb + j) = up;                                         \\
                        acc[q] += up * vv;                                                           \\
                    } else {                                                                         \\
                        NAME##_v down = (NAME##_v)((NAME##_m)z[q] & (NAME##_m)(z[q] < 0));           \\
                        *(NAME##_vu*)(buf + q * ldb + j) = z[q];                                       \\
                        acc[q] += (up * vpos + down * vneg) * vv;                                    \\
                    }                                                                                \\
                }                                                                                    \\
            }                                                                                        \\
            for (q = 0; q < RB; q++) {                                                               \\
                T sum = 0, zz, aa;                                                                   \\
                for (j = nv; j < n; j++) {                                                           \\
                    zz = 0;                                                                          \\
                    for (l = 0; l < d1; l++) zz += x[q][l] * W1T[l * ldw + j];                         \\
                    aa = (zz <= 0 ? 0 : zz);                                                         \\
                    if (ACT == 0) buf[q * ldb + j] = aa;                                               \\
                    else { buf[q * ldb + j] = zz; aa = aa * pos + (zz < 0 ? zz : 0) * neg; }           \\
                    tail[q] += aa * v[j];                                                            \\
                }                                                                                    \\
                for (e = 0; e < L; e++) sum += acc[q][e];                                            \\
                pr[q] = 0;                                                                           \\
                if (i0 + q < m) {                                                                    \\
                    T r = (sum + tail[q]) * s - shift[i0 + q];                                       \\
                    R[i0 + q] = r;                                                                   \\
                    pr[q] = r * p[i0 + q];                                                           \\
                    PR[i0 + q] = pr[q];                                                              \\
                }                                                                                    \\
            }                                                                                        \\
            for (q = 0; q < RB; q++)  /* rows past the end: relu(0 * inf) would be NaN */          \\
                if (i0 + q >= m) for (j = 0; j < n; j++) buf[q * ldb + j] = 0;                         \\
            /* backward: gv += act(z)^T pr, G1T += x1^T (pr act'(z)) */                              \\
            for (j = 0; j < nv; j += L) {                                                            \\
                NAME##_v g = *(NAME##_vu*)(gv + j);                                                  \\
                for (q = 0; q < RB; q++) {                                                           \\
                    NAME##_v b = *(NAME##_vu*)(buf + q * ldb + j);                                     \\
                    NAME##_v vpr = (NAME##_v){0} + pr[q];                                            \\
                    if (ACT == 0) {                                                                  \\
                        g += b * pr[q];                                                              \\
                        D[q] = (NAME##_v)((NAME##_m)vpr & (NAME##_m)(b > 0));                        \\
                    } else {                                                                         \\
                        NAME##_m above = (NAME##_m)(b > 0), below = (NAME##_m)(b < 0);               \\
                        NAME##_v up = (NAME##_v)((NAME##_m)b & ~(NAME##_m)(b <= 0));                 \\
                        NAME##_v down = (NAME##_v)((NAME##_m)b & below);                             \\
                        g += (up * vpos + down * vneg) * pr[q];                                      \\
                        D[q] = (NAME##_v)(((NAME##_m)vpos & above) | ((NAME##_m)vneg & below)        \\
                                          | ((NAME##_m)vzero & ~(above | below))) * vpr;           \\
                    }                                                                                \\
                }                                                                                    \\
                *(NAME##_vu*)(gv + j) = g;                                                           \\
                for (l = 0; l < d1; l++) {                                                           \\
                    NAME##_v G = *(NAME##_vu*)(G1T + l * ldg + j);                                     \\
                    for (q = 0; q < RB; q++) G += x[q][l] * D[q];                                    \\
                    *(NAME##_vu*)(G1T + l * ldg + j) = G;                                              \\
                }                                                                                    \\
            }                                                                                        \\
            for (j = nv; j < n; j++) {                                                               \\
                T g = 0, b, dq;                                                                      \\
                for (q = 0; q < RB; q++) {                                                           \\
                    b = buf[q * ldb + j];                                                              \\
                    if (ACT == 0) { g += b * pr[q]; dq = b > 0 ? pr[q] : 0; }  /* a selection */     \\
                    else {  /* a product */                                                          \\
                        g += ((b <= 0 ? 0 : b) * pos + (b < 0 ? b : 0) * neg) * pr[q];               \\
                        dq = (b > 0 ? pos : (b < 0 ? neg : zero)) * pr[q];                           \\
                    }                                                                                \\
                    for (l = 0; l < d1; l++) G1T[l * ldg + j] += x[q][l] * dq;                         \\
                }                                                                                    \\
                gv[j] += g;                                                                          \\
            }                                                                                        \\
        }                                                                                            \\
    }
    /* the two activations in both precisions for one instruction set */
    #define RK_SET(SUFFIX, VB, RB, ATTR)                                                             \\
        RK_DEFINE(rk_d0_##SUFFIX, double, long long, VB, RB, 0, ATTR)                              \\
        RK_DEFINE(rk_d1_##SUFFIX, double, long long, VB, RB, 1, ATTR)                              \\
        RK_DEFINE(rk_f0_##SUFFIX, float, int, VB, RB, 0, ATTR)                                     \\
        RK_DEFINE(rk_f1_##SUFFIX, float, int, VB, RB, 1, ATTR)
    RK_SET(base, 16, 4, )
    #ifdef SRL_X86  /* (_cpu.h) */
    #define RK_X86 1
    RK_SET(avx2, 32, 4, __attribute__((target("avx2,fma"))))
    RK_SET(avx512, 64, 8, __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))))
    #endif
    #ifdef RK_X86
    #define RK_CALL(F, LEVEL, ...) do {                                                              \\
        if ((LEVEL) == 3) F##_avx512(__VA_ARGS__);                                                   \\
        else if ((LEVEL) == 2) F##_avx2(__VA_ARGS__);                                                \\
        else F##_base(__VA_ARGS__); } while (0)
    #else
    #define RK_CALL(F, LEVEL, ...) F##_base(__VA_ARGS__)
    #endif
    #define RK_ENTRY(NAME, T, F0, F1)                                                                \\
    static void NAME(int level, int act, const T* X1, Py_ssize_t m, Py_ssize_t d1, const T* W1T,     \\
                     Py_ssize_t n, Py_ssize_t ldw, Py_ssize_t ldg, Py_ssize_t ldb, const T* v, const T* shift, const T* p, T s, T pos, T neg, T zero,\\
                     const T* zeros, T* R, T* PR, T* gv, T* G1T, T* buf) {                          \\
        if (act == 0)                                                                                \\
            RK_CALL(F0, level, X1, m, d1, W1T, n, ldw, ldg, ldb, v, shift, p, s, pos, neg, zero, zeros, R, PR, gv, G1T, buf); \\
        else                                                                                         \\
            RK_CALL(F1, level, X1, m, d1, W1T, n, ldw, ldg, ldb, v, shift, p, s, pos, neg, zero, zeros, R, PR, gv, G1T, buf); \\
    }
    RK_ENTRY(rk_rows_d, double, rk_d0, rk_d1)
    RK_ENTRY(rk_rows_f, float, rk_f0, rk_f1)
    #else
    #define RK_AVAILABLE 0
    #define RK_MAX_ROWS 1
    #define RK_ENTRY(NAME, T)                                                                        \\
    static void NAME(int level, int act, const T* X1, Py_ssize_t m, Py_ssize_t d1, const T* W1T,     \\
                     Py_ssize_t n, Py_ssize_t ldw, Py_ssize_t ldg, Py_ssize_t ldb, const T* v,            \\
                     const T* shift, const T* p, T s, T pos, T neg, T zero,                              \\
                     const T* zeros, T* R, T* PR, T* gv, T* G1T, T* buf) {}
    RK_ENTRY(rk_rows_d, double)
    RK_ENTRY(rk_rows_f, float)
    #endif
    """
    int RK_AVAILABLE
    int RK_MAX_ROWS
    void rk_rows_d(int level, int act, const double* X1, Py_ssize_t m, Py_ssize_t d1, const double* W1T,
                   Py_ssize_t n, Py_ssize_t ldw, Py_ssize_t ldg, Py_ssize_t ldb, const double* v, const double* shift, const double* p, double s, double pos,
                   double neg, double zero, const double* zeros, double* R, double* PR, double* gv,
                   double* G1T, double* buf) noexcept nogil
    void rk_rows_f(int level, int act, const float* X1, Py_ssize_t m, Py_ssize_t d1, const float* W1T,
                   Py_ssize_t n, Py_ssize_t ldw, Py_ssize_t ldg, Py_ssize_t ldb, const float* v, const float* shift, const float* p, float s, float pos,
                   float neg, float zero, const float* zeros, float* R, float* PR, float* gv,
                   float* G1T, float* buf) noexcept nogil


#: The instruction-set variants of :func:`linear_pieces_rows` this CPU runs (1:
#: 16-byte vectors, 2: AVX2, 3: AVX-512), the widest last; empty where the
#: compiler had no vector types.
_RK_BEST = srl_cpu_level() if RK_AVAILABLE else 0
ROWS_LEVELS = tuple(range(1, _RK_BEST + 1))


def padded_width(Py_ssize_t n, Py_ssize_t itemsize):
    """The smallest row length ``>= n`` whose rows take an odd number of 64-byte
    cache lines: the kernel reads a column of ``d + 1`` such rows at once, and
    with a row of a multiple of 2 KiB (a width of 256 or 512 in float64) they
    all fall in a few sets of the first-level cache and evict one another
    (measured on an AVX2 CPU at d = 10: width 512 1.9 to 3.8 times slower per
    unit than width 500 or 520; 4096 4.3 times slower than 4000)."""
    cdef Py_ssize_t lines = (n * itemsize + 63) // 64
    if lines % 2 == 0:
        lines += 1
    return max(n, lines * 64 // itemsize)


cdef struct _RowsPart:
    # one part's call of the row kernel: its rows' pointers and its own gradient and work array
    int dbl, level, act
    Py_ssize_t m, d1, n, ldw, ldg, ldb
    const void* X1
    const void* W1T
    const void* v
    const void* shift
    const void* p
    double s, pos, neg, zero
    const void* zeros
    void* R
    void* PR
    void* gv
    void* G1T
    void* buf
    double sq  # out: the part's sum of p r^2


cdef double residual_squares(const void* PR, const void* R, Py_ssize_t m, int dbl) noexcept nogil:
    """``sum_i PR_i R_i`` (``p r^2``) of one range, in double: the loss of a kernel's call
    without a BLAS dot product, whose threads (OpenBLAS splits dots of more than 10000
    entries) would then spin against the kernel's workers."""
    cdef double acc = 0
    cdef Py_ssize_t i
    if dbl:
        for i in range(m):
            acc += (<const double*>PR)[i] * (<const double*>R)[i]
    else:
        for i in range(m):
            acc += <double>(<const float*>PR)[i] * (<const float*>R)[i]
    return acc


cdef void _rows_part(void* ctx, int j) noexcept nogil:
    cdef _RowsPart* c = &(<_RowsPart*>ctx)[j]
    if c.dbl:
        rk_rows_d(c.level, c.act, <const double*>c.X1, c.m, c.d1, <const double*>c.W1T, c.n, c.ldw, c.ldg,
                  c.ldb, <const double*>c.v, <const double*>c.shift, <const double*>c.p, c.s, c.pos, c.neg,
                  c.zero, <const double*>c.zeros, <double*>c.R, <double*>c.PR, <double*>c.gv,
                  <double*>c.G1T, <double*>c.buf)
    else:  # the scalars were floats: exact in double and back
        rk_rows_f(c.level, c.act, <const float*>c.X1, c.m, c.d1, <const float*>c.W1T, c.n, c.ldw, c.ldg,
                  c.ldb, <const float*>c.v, <const float*>c.shift, <const float*>c.p, <float>c.s, <float>c.pos,
                  <float>c.neg, <float>c.zero, <const float*>c.zeros, <float*>c.R, <float*>c.PR,
                  <float*>c.gv, <float*>c.G1T, <float*>c.buf)
    c.sq = residual_squares(c.PR, c.R, c.m, c.dbl)


def linear_pieces_rows(const floating[:, ::1] X1, const floating[:, :] W1T, const floating[::1] v,
                       const floating[::1] shift, const floating[::1] p, floating s, floating[::1] R,
                       floating[::1] PR, floating[::1] gv, floating[:, :] G1T, floating pos=1,
                       floating neg=0, floating zero=0, int level=0, int threads=1):
    """The data term's step for one output, row by row (see above).

    With ``z = X1 W1T`` (``X1 = [X, 1]``), ``r = s act(z) v - shift`` into
    ``R`` and ``p r`` into ``PR`` (m,), and adds ``act(z)^T (p r)`` to ``gv``
    (n,) and ``X1^T ((p r) act'(z))`` to ``G1T`` (d + 1, n).  ``act(z) = pos
    z`` above 0 and ``neg z`` below, with slope ``zero`` at 0; the defaults are
    ReLU, whose own variant runs when ``neg`` and ``zero`` are 0.  ``level``:
    one of ``ROWS_LEVELS`` (0: the widest).  The rows of ``W1T`` and ``G1T``
    must each be contiguous, at any stride (the step pads them to
    :func:`padded_width`).  ``threads``: the rows go in that many ranges to as
    many threads (:mod:`._parts`; at most one per row), each range into its own
    gradient, and the ranges' gradients are added in order.  Returns ``sum_i
    p_i r_i^2`` (twice the loss), summed in float64.
    """
    cdef Py_ssize_t m = X1.shape[0], d1 = X1.shape[1], n = W1T.shape[1]
    cdef int act
    if not RK_AVAILABLE:
        raise RuntimeError("linear_pieces_rows was built without vector types: use the products and passes")
    if level == 0:
        level = _RK_BEST  # (not ROWS_LEVELS[-1]: this module does not wrap negative indices)
    if level not in ROWS_LEVELS:
        raise ValueError(f"level={level} is not among this CPU's {ROWS_LEVELS}")
    act = checked_variant(pos, neg, zero)
    if W1T.shape[0] != d1 or v.shape[0] != n or shift.shape[0] != m or p.shape[0] != m or R.shape[0] != m \
            or PR.shape[0] != m or gv.shape[0] != n or G1T.shape[0] != d1 or G1T.shape[1] != n:
        raise ValueError("inconsistent shapes")
    cdef int parts = row_parts(threads, m)
    if m == 0:
        return 0.0
    dt = np.float64 if floating is double else np.float32
    cdef floating[::1] zeros = np.zeros(d1, dtype=dt)
    cdef Py_ssize_t ldw = W1T.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t ldg = G1T.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t ldb = padded_width(n, sizeof(floating))
    if n > 1 and (W1T.strides[1] != sizeof(floating) or G1T.strides[1] != sizeof(floating)):
        raise ValueError("the rows of W1T and G1T must be contiguous")
    if d1 > 1 and (abs(ldw) < n or abs(ldg) < n):
        raise ValueError("the rows of W1T and G1T must not overlap")
    # part 0 adds into gv and G1T; the others into gradients of their own, added after
    cdef floating[:, ::1] bufs = np.empty((parts, max(1, RK_MAX_ROWS * ldb)), dtype=dt)  # width 0: r = -shift still
    gvs_arr = np.zeros((parts - 1, n), dtype=dt)
    Gs_arr = np.zeros((parts - 1, d1, ldb), dtype=dt)
    cdef floating[:, ::1] gvs = gvs_arr
    cdef floating[:, :, ::1] Gs = Gs_arr
    cdef _RowsPart calls[64]  # row_parts gives at most 64
    cdef Py_ssize_t j, lo, hi
    cdef floating* gv_j
    cdef floating* G_j
    for j in range(parts):
        lo, hi = m * j // parts, m * (j + 1) // parts
        gv_j, G_j = (&gv[0], &G1T[0, 0]) if j == 0 else (&gvs[j - 1, 0], &Gs[j - 1, 0, 0])
        calls[j] = _RowsPart(floating is double, level, act, hi - lo, d1, n, ldw, ldg if j == 0 else ldb, ldb,
                             &X1[lo, 0], &W1T[0, 0], &v[0], &shift[lo], &p[lo], s, pos, neg, zero, &zeros[0],
                             &R[lo], &PR[lo], gv_j, G_j, &bufs[j, 0], 0)
    with nogil:
        run_parts(_rows_part, calls, parts, threads)
    if parts > 1:
        np.asarray(gv)[...] += gvs_arr.sum(axis=0)
        np.asarray(G1T)[...] += Gs_arr[:, :, :n].sum(axis=0)
    return sum(calls[j].sq for j in range(parts))


cpdef int kernel_variant(double pos, double neg, double zero):
    """The variant of the row and tile kernels for the activation of slopes ``pos``,
    ``neg``, ``zero``: 0 for ReLU's own (1, 0, 0), 1 for the general pieces, and -1
    where they cannot take it: ``neg = 0`` other than ReLU, as they write ``act(z)``
    below 0 as ``neg z`` there, and ``-inf * 0`` would be NaN where ReLU has 0 (such
    an activation takes the blocks of products and passes)."""
    if neg == 0 and zero == 0 and pos == 1:
        return 0
    return -1 if neg == 0 else 1


cdef int checked_variant(double pos, double neg, double zero) except -1:
    """:func:`kernel_variant`, with ``ValueError`` where the kernels cannot take the activation."""
    cdef int variant = kernel_variant(pos, neg, zero)
    if variant < 0:
        raise ValueError("a piecewise-linear activation with neg = 0 other than ReLU (pos=1, zero=0)")
    return variant


def row_parts(threads, m):
    """The row ranges of a kernel's call of ``m`` rows on ``threads`` threads: one per
    thread, at most one per row and :data:`._parts.MAX_THREADS` (64; the result
    depends on this number at the level of rounding, not on which thread ran
    which range).  More ranges than threads, each taken by the next thread free,
    were measured no faster: each has its own gradient to clear and add (with 4 per
    thread, at (m, n, d) = (1e4, 64, 100) and (1e3, 4096, 10) float64 1.19 and 1.20
    times slower, elsewhere 0.96 to 1.21).  ``ValueError`` for fewer than one
    thread."""
    if threads < 1:
        raise ValueError(f"threads={threads} is not a positive number of threads")
    return max(1, min(threads, m, MAX_THREADS))
