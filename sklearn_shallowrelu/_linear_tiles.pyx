# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The step of a network with a piecewise-linear activation and one output on
many inputs, in register tiles with the passes fused (see
:meth:`._network.Network._rows`).

With many inputs (``d`` of 50 or 100) and a narrow network the step is two
matrix products, ``Z = X1 W1T`` and ``X1^T D``, of about the same cost, with two
passes over ``Z`` between them.  BLAS runs the products near the CPU's peak,
but each block of rows is a separate call (the row blocks of
:meth:`._network.Network._linear_pieces_blocks`), and the passes run on one
core while the other threads wait.  The row kernel of :mod:`._linear_pieces`
fuses everything, but it keeps only four rows of ``z`` in registers and reads
the whole ``[W, b]`` and its gradient once per four rows: at ``d = 100`` it
took twice the products' time.

Here a block of ``rb`` rows goes forward and back with a matrix product's
register tiles, and nothing of size ``m x n`` is formed:

- forward, per panel of ``2 L`` columns (``L`` lanes of a 32-byte vector) and
  six rows at a time: twelve accumulators hold ``z`` for six rows by two
  vectors while the loop runs over the ``d + 1`` inputs, each step two loads
  of ``W1T``, six broadcasts of ``x1`` and twelve fused multiply-adds.  The
  panel's ``act(z)`` (ReLU) or ``z`` goes to a work array of ``rb`` rows, and
  ``act(z) v`` into one vector per row;
- the residuals ``r = s act(z) v - shift`` and ``p r`` of the block's rows;
- one pass over the work array: ``gv += act(z)^T (p r)``, and the array
  becomes ``D = (p r) act'(z)``;
- backward, per panel and six inputs at a time: twelve accumulators hold six
  rows of ``G1T`` by two vectors while the loop runs over the block's rows,
  each step two loads of ``D``, six broadcasts of ``x1``, twelve fused
  multiply-adds; then they are added to ``G1T``.

The weights are copied into zero-padded rows of a multiple of ``2 L``
columns, so the panels need no tails (a padded column has ``z`` set to 0, as
``x 0`` would be NaN for an infinite ``x``, and weight ``v = 0``; its gradient
is dropped).  Six rows and six inputs at a time fill
twelve of AVX2's sixteen registers; a block's last rows past ``m`` read a row
of zeros and are not carried back.  NaN as in :mod:`._linear_pieces`: the
comparisons that select ``act(z)`` fail for a NaN, which stays in ``r``; a NaN
``z`` has slope ``zero``, a selection for ReLU.

Built for 32-byte vectors (AVX2 and FMA) only: where the CPU lacks them,
:data:`TILES_AVAILABLE` is False and the products and passes serve.
"""

from cython cimport floating

from ._linear_pieces cimport checked_variant, residual_squares
from ._parts cimport run_parts

import numpy as np

from ._linear_pieces import padded_width, row_parts


cdef extern from "_cpu.h":
    int srl_cpu_level() noexcept nogil


cdef extern from *:
    """
    #if defined(SRL_X86) && (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)
    #define TK_AVAILABLE 1
    #define TK_MR 6  /* rows (forward) and inputs (backward) a tile holds */
    #define TK_DEFINE(NAME, T, IT, ACT)                                                             \\
    typedef T NAME##_v __attribute__((vector_size(32)));                                         \\
    typedef T NAME##_vu __attribute__((vector_size(32), aligned(sizeof(T)), may_alias));         \\
    typedef IT NAME##_m __attribute__((vector_size(32)));                                        \\
    /* G1T[l0:l0+MR, j0:j0+2L] += x1[rows, l0:l0+MR]^T D[rows, j0:j0+2L] */                      \\
    __attribute__((target("avx2,fma"), always_inline)) static inline void NAME##_back(           \\
            const int MR, const T* x, Py_ssize_t d1, Py_ssize_t rows, const T* D, Py_ssize_t ldb,   \\
            T* G, Py_ssize_t ldg) {                                                               \\
        const int L = 32 / (int)sizeof(T);                                                        \\
        NAME##_v a0[TK_MR], a1[TK_MR];                                                            \\
        Py_ssize_t r;                                                                             \\
        int t;                                                                                    \\
        _Pragma("GCC unroll 6") for (t = 0; t < MR; t++) { a0[t] = (NAME##_v){0}; a1[t] = (NAME##_v){0}; } \\
        for (r = 0; r < rows; r++) {                                                              \\
            NAME##_v e0 = *(const NAME##_vu*)(D + r * ldb), e1 = *(const NAME##_vu*)(D + r * ldb + L); \\
            const T* xr = x + r * d1;                                                             \\
            _Pragma("GCC unroll 6") for (t = 0; t < MR; t++) {                                    \\
                a0[t] += xr[t] * e0;                                                              \\
                a1[t] += xr[t] * e1;                                                              \\
            }                                                                                     \\
        }                                                                                         \\
        _Pragma("GCC unroll 6") for (t = 0; t < MR; t++) {                                        \\
            *(NAME##_vu*)(G + t * ldg) += a0[t];                                                  \\
            *(NAME##_vu*)(G + t * ldg + L) += a1[t];                                              \\
        }                                                                                         \\
    }                                                                                             \\
    __attribute__((target("avx2,fma"))) static void NAME(                                        \\
            const T* X1, Py_ssize_t m, Py_ssize_t d1, const T* W, Py_ssize_t n, Py_ssize_t nw,      \\
            Py_ssize_t ldw, Py_ssize_t rb, const T* v, const T* shift, const T* p, T s, T pos, T neg, T zero,      \\
            const T* zeros, T* R, T* PR, T* gv, T* G, T* buf, Py_ssize_t ldb, T* prs, NAME##_v* racc) { \\
        const int L = 32 / (int)sizeof(T);                                                        \\
        const NAME##_v vpos = (NAME##_v){0} + pos, vneg = (NAME##_v){0} + neg;                    \\
        const NAME##_v vzero = (NAME##_v){0} + zero;                                              \\
        Py_ssize_t i0, j0, r0, l, l0, rows, q, j;                                                 \\
        int t, e;                                                                                 \\
        for (i0 = 0; i0 < m; i0 += rb) {                                                          \\
            rows = m - i0 < rb ? m - i0 : rb;                                                     \\
            for (q = 0; q < rows; q++) racc[q] = (NAME##_v){0};                                   \\
            /* forward: act(z) (ReLU) or z into buf, act(z) v into racc */                        \\
            for (j0 = 0; j0 < nw; j0 += 2 * L) {                                                  \\
                NAME##_v v0 = *(const NAME##_vu*)(v + j0), v1 = *(const NAME##_vu*)(v + j0 + L);  \\
                for (r0 = 0; r0 < rows; r0 += TK_MR) {                                            \\
                    const T* x[TK_MR];                                                            \\
                    NAME##_v a0[TK_MR], a1[TK_MR];                                                \\
                    _Pragma("GCC unroll 6") for (t = 0; t < TK_MR; t++) {                         \\
                        x[t] = (r0 + t < rows) ? X1 + (i0 + r0 + t) * d1 : zeros;                 \\
                        a0[t] = (NAME##_v){0};                                                    \\
                        a1[t] = (NAME##_v){0};                                                    \\
                    }                                                                             \\
                    for (l = 0; l < d1; l++) {                                                    \\
                        NAME##_v w0 = *(const NAME##_vu*)(W + l * ldw + j0);                      \\
                        NAME##_v w1 = *(const NAME##_vu*)(W + l * ldw + j0 + L);                  \\
                        _Pragma("GCC unroll 6") for (t = 0; t < TK_MR; t++) {                     \\
                            a0[t] += x[t][l] * w0;                                                \\
                            a1[t] += x[t][l] * w1;                                                \\
                        }                                                                         \\
                    }                                                                             \\
                    _Pragma("GCC unroll 6") for (t = 0; t < TK_MR; t++) {                         \\
                        if (r0 + t >= rows) break;                                                \\
                        if (j0 + 2 * L > n) {  /* the padded columns: x 0 is NaN for an infinite x */ \\
                            NAME##_m k0, k1;                                                      \\
                            for (e = 0; e < L; e++) {                                             \\
                                k0[e] = j0 + e < n ? -1 : 0;                                      \\
                                k1[e] = j0 + L + e < n ? -1 : 0;                                  \\
                            }                                                                     \\
                            a0[t] = (NAME##_v)((NAME##_m)a0[t] & k0);                             \\
                            a1[t] = (NAME##_v)((NAME##_m)a1[t] & k1);                             \\
                        }                                                                         \\
                        NAME##_v u0 = (NAME##_v)((NAME##_m)a0[t] & ~(NAME##_m)(a0[t] <= 0));      \\
                        NAME##_v u1 = (NAME##_v)((NAME##_m)a1[t] & ~(NAME##_m)(a1[t] <= 0));      \\
                        T* b = buf + (r0 + t) * ldb + j0;                                         \\
                        if (ACT == 0) {                                                           \\
                            *(NAME##_vu*)b = u0;                                                  \\
                            *(NAME##_vu*)(b + L) = u1;                                            \\
                            racc[r0 + t] += u0 * v0 + u1 * v1;                                    \\
                        } else {                                                                  \\
                            NAME##_v w0 = (NAME##_v)((NAME##_m)a0[t] & (NAME##_m)(a0[t] < 0));    \\
                            NAME##_v w1 = (NAME##_v)((NAME##_m)a1[t] & (NAME##_m)(a1[t] < 0));    \\
                            *(NAME##_vu*)b = a0[t];                                               \\
                            *(NAME##_vu*)(b + L) = a1[t];                                         \\
                            racc[r0 + t] += (u0 * vpos + w0 * vneg) * v0 + (u1 * vpos + w1 * vneg) * v1; \\
                        }                                                                         \\
                    }                                                                             \\
                }                                                                                 \\
            }                                                                                     \\
            /* the residuals */                                                                   \\
            for (q = 0; q < rows; q++) {                                                          \\
                T sum = 0, r;                                                                     \\
                for (e = 0; e < L; e++) sum += racc[q][e];                                        \\
                r = sum * s - shift[i0 + q];                                                      \\
                R[i0 + q] = r;                                                                    \\
                prs[q] = r * p[i0 + q];                                                           \\
                PR[i0 + q] = prs[q];                                                              \\
            }                                                                                     \\
            /* gv += act(z)^T (p r); buf becomes D = (p r) act'(z) */                             \\
            for (q = 0; q < rows; q++) {                                                          \\
                const T pr = prs[q];                                                              \\
                const NAME##_v vpr = (NAME##_v){0} + pr;                                          \\
                T* b = buf + q * ldb;                                                             \\
                for (j = 0; j < nw; j += L) {                                                     \\
                    NAME##_v z = *(NAME##_vu*)(b + j);                                            \\
                    if (ACT == 0) {                                                               \\
                        *(NAME##_vu*)(gv + j) += z * vpr;                                         \\
                        *(NAME##_vu*)(b + j) = (NAME##_v)((NAME##_m)vpr & (NAME##_m)(z > 0));     \\
                    } else {                                                                      \\
                        NAME##_m above = (NAME##_m)(z > 0), below = (NAME##_m)(z < 0);            \\
                        NAME##_v up = (NAME##_v)((NAME##_m)z & ~(NAME##_m)(z <= 0));              \\
                        NAME##_v down = (NAME##_v)((NAME##_m)z & below);                          \\
                        *(NAME##_vu*)(gv + j) += (up * vpos + down * vneg) * vpr;                 \\
                        *(NAME##_vu*)(b + j) = (NAME##_v)(((NAME##_m)vpos & above) | ((NAME##_m)vneg & below) \\
                                                          | ((NAME##_m)vzero & ~(above | below))) * vpr; \\
                    }                                                                             \\
                }                                                                                 \\
            }                                                                                     \\
            /* backward: G += x1^T D, six inputs at a time */                                     \\
            for (j0 = 0; j0 < nw; j0 += 2 * L) {                                                  \\
                const T* x = X1 + i0 * d1;                                                        \\
                for (l0 = 0; l0 + TK_MR <= d1; l0 += TK_MR)                                       \\
                    NAME##_back(TK_MR, x + l0, d1, rows, buf + j0, ldb, G + l0 * ldw + j0, ldw);  \\
                switch (d1 - l0) {                                                                \\
                    case 5: NAME##_back(5, x + l0, d1, rows, buf + j0, ldb, G + l0 * ldw + j0, ldw); break; \\
                    case 4: NAME##_back(4, x + l0, d1, rows, buf + j0, ldb, G + l0 * ldw + j0, ldw); break; \\
                    case 3: NAME##_back(3, x + l0, d1, rows, buf + j0, ldb, G + l0 * ldw + j0, ldw); break; \\
                    case 2: NAME##_back(2, x + l0, d1, rows, buf + j0, ldb, G + l0 * ldw + j0, ldw); break; \\
                    case 1: NAME##_back(1, x + l0, d1, rows, buf + j0, ldb, G + l0 * ldw + j0, ldw); break; \\
                    default: break;                                                               \\
                }                                                                                 \\
            }                                                                                     \\
        }                                                                                         \\
    }
    TK_DEFINE(tk_d0, double, long long, 0)
    TK_DEFINE(tk_d1, double, long long, 1)
    TK_DEFINE(tk_f0, float, int, 0)
    TK_DEFINE(tk_f1, float, int, 1)
    #define TK_ENTRY(NAME, T, F0, F1)                                                             \\
    static void NAME(int act, const T* X1, Py_ssize_t m, Py_ssize_t d1, const T* W, Py_ssize_t n,  \\
                     Py_ssize_t nw, Py_ssize_t ldw, Py_ssize_t rb, const T* v, const T* shift, const T* p, T s, T pos, \\
                     T neg, T zero, const T* zeros, T* R, T* PR, T* gv, T* G, T* buf, Py_ssize_t ldb,  \\
                     T* prs, void* racc) {                                                        \\
        if (act == 0)                                                                             \\
            F0(X1, m, d1, W, n, nw, ldw, rb, v, shift, p, s, pos, neg, zero, zeros, R, PR, gv, G, buf, ldb, prs, racc); \\
        else                                                                                      \\
            F1(X1, m, d1, W, n, nw, ldw, rb, v, shift, p, s, pos, neg, zero, zeros, R, PR, gv, G, buf, ldb, prs, racc); \\
    }
    TK_ENTRY(tk_tiles_d, double, tk_d0, tk_d1)
    TK_ENTRY(tk_tiles_f, float, tk_f0, tk_f1)
    #else
    #define TK_AVAILABLE 0
    #define TK_ENTRY(NAME, T)                                                                     \\
    static void NAME(int act, const T* X1, Py_ssize_t m, Py_ssize_t d1, const T* W, Py_ssize_t n,  \\
                     Py_ssize_t nw, Py_ssize_t ldw, Py_ssize_t rb, const T* v, const T* shift, const T* p, T s, T pos, \\
                     T neg, T zero, const T* zeros, T* R, T* PR, T* gv, T* G, T* buf, Py_ssize_t ldb,  \\
                     T* prs, void* racc) {}
    TK_ENTRY(tk_tiles_d, double)
    TK_ENTRY(tk_tiles_f, float)
    #endif
    """
    int TK_AVAILABLE
    void tk_tiles_d(int act, const double* X1, Py_ssize_t m, Py_ssize_t d1, const double* W, Py_ssize_t n,
                    Py_ssize_t nw, Py_ssize_t ldw, Py_ssize_t rb, const double* v, const double* shift, const double* p,
                    double s, double pos, double neg, double zero, const double* zeros, double* R,
                    double* PR, double* gv, double* G, double* buf, Py_ssize_t ldb, double* prs,
                    void* racc) noexcept nogil
    void tk_tiles_f(int act, const float* X1, Py_ssize_t m, Py_ssize_t d1, const float* W, Py_ssize_t n,
                    Py_ssize_t nw, Py_ssize_t ldw, Py_ssize_t rb, const float* v, const float* shift, const float* p,
                    float s, float pos, float neg, float zero, const float* zeros, float* R,
                    float* PR, float* gv, float* G, float* buf, Py_ssize_t ldb, float* prs,
                    void* racc) noexcept nogil


#: The widest vector instruction set of this CPU (_cpu.h: 3 AVX-512, 2 AVX2, 1 other).
CPU_LEVEL = srl_cpu_level()
#: Whether :func:`linear_pieces_tiles` runs here: a CPU with AVX2 and FMA, and a
#: compiler with GCC's vector types.
TILES_AVAILABLE = bool(TK_AVAILABLE) and CPU_LEVEL >= 2
#: Bytes of the work array of a block of rows (``rb`` rows of the padded width):
#: it stays in the first-level cache between the forward and the backward tiles.
TILE_BLOCK_BYTES = 24 << 10


cdef Py_ssize_t _panel_width(Py_ssize_t n, Py_ssize_t itemsize):
    """The columns the kernel runs: ``n`` rounded up to whole panels of two
    32-byte vectors (64 bytes), at least one."""
    cdef Py_ssize_t panel = 64 // itemsize
    return max(panel, (n + panel - 1) // panel * panel)


def tile_rows(Py_ssize_t n, Py_ssize_t itemsize):
    """The rows ``rb`` of a block: a multiple of six, the work array within
    ``TILE_BLOCK_BYTES``, at least 24 rows."""
    return max(24, TILE_BLOCK_BYTES // (_panel_width(n, itemsize) * itemsize) // 6 * 6)


cdef struct _TilesPart:
    # one part's call of the tile kernel: its rows' pointers and its own gradient and work arrays
    int dbl, act
    Py_ssize_t m, d1, n, nw, ld, rb
    const void* X1
    const void* W
    const void* v
    const void* shift
    const void* p
    double s, pos, neg, zero
    const void* zeros
    void* R
    void* PR
    void* gv
    void* G
    void* buf
    void* prs
    void* racc
    double sq  # out: the part's sum of p r^2


cdef void _tiles_part(void* ctx, int j) noexcept nogil:
    cdef _TilesPart* c = &(<_TilesPart*>ctx)[j]
    if c.dbl:
        tk_tiles_d(c.act, <const double*>c.X1, c.m, c.d1, <const double*>c.W, c.n, c.nw, c.ld, c.rb,
                   <const double*>c.v, <const double*>c.shift, <const double*>c.p, c.s, c.pos, c.neg, c.zero,
                   <const double*>c.zeros, <double*>c.R, <double*>c.PR, <double*>c.gv, <double*>c.G,
                   <double*>c.buf, c.ld, <double*>c.prs, c.racc)
    else:  # the scalars were floats: exact in double and back
        tk_tiles_f(c.act, <const float*>c.X1, c.m, c.d1, <const float*>c.W, c.n, c.nw, c.ld, c.rb,
                   <const float*>c.v, <const float*>c.shift, <const float*>c.p, <float>c.s, <float>c.pos,
                   <float>c.neg, <float>c.zero, <const float*>c.zeros, <float*>c.R, <float*>c.PR,
                   <float*>c.gv, <float*>c.G, <float*>c.buf, c.ld, <float*>c.prs, c.racc)
    c.sq = residual_squares(c.PR, c.R, c.m, c.dbl)


def linear_pieces_tiles(const floating[:, ::1] X1, const floating[:, :] W1T, const floating[::1] v,
                        const floating[::1] shift, const floating[::1] p, floating s, floating[::1] R,
                        floating[::1] PR, floating[::1] gv, floating[:, :] G1T, floating pos=1,
                        floating neg=0, floating zero=0, Py_ssize_t rb=0, int threads=1):
    """The data term's step for one output, in register tiles (see above).

    The same as :func:`._linear_pieces.linear_pieces_rows`: with ``z = X1
    W1T``, ``r = s act(z) v - shift`` into ``R`` and ``p r`` into ``PR``
    (m,), and adds ``act(z)^T (p r)`` to ``gv`` (n,) and ``X1^T ((p r)
    act'(z))`` to ``G1T`` (d + 1, n).  ``rb``: rows of a block (a multiple of
    six; 0: :func:`tile_rows`).  ``threads``: the rows go in that many ranges
    to as many threads (:mod:`._parts`), each range into its own gradient,
    added in order.  Returns ``sum_i p_i r_i^2`` (twice the loss), summed in
    float64.
    """
    cdef Py_ssize_t m = X1.shape[0], d1 = X1.shape[1], n = W1T.shape[1]
    cdef int act
    if not TILES_AVAILABLE:
        raise RuntimeError("linear_pieces_tiles needs AVX2 and FMA: use the products and passes")
    act = checked_variant(pos, neg, zero)
    if W1T.shape[0] != d1 or v.shape[0] != n or shift.shape[0] != m or p.shape[0] != m or R.shape[0] != m \
            or PR.shape[0] != m or gv.shape[0] != n or G1T.shape[0] != d1 or G1T.shape[1] != n:
        raise ValueError("inconsistent shapes")
    if rb == 0:
        rb = tile_rows(n, sizeof(floating))
    if rb <= 0 or rb % 6:
        raise ValueError(f"rb={rb} is not a positive multiple of 6")
    cdef int parts = row_parts(threads, m)
    if m == 0:
        return 0.0
    dt = np.float64 if floating is double else np.float32
    cdef Py_ssize_t np_ = _panel_width(n, sizeof(floating))
    # rows of the weights, their gradient and the work array (padded_width: no cache aliasing)
    cdef Py_ssize_t ld = padded_width(np_, sizeof(floating))
    # the weights and v in zero-padded rows of np_ columns; each part's gradient of the same shape
    Wp_arr = np.zeros((d1, ld), dtype=dt)
    Wp_arr[:, :n] = W1T
    vp_arr = np.zeros(np_, dtype=dt)
    vp_arr[:n] = v
    Gp_arr = np.zeros((parts, d1, ld), dtype=dt)
    gvp_arr = np.zeros((parts, np_), dtype=dt)
    cdef floating[:, ::1] Wp = Wp_arr
    cdef floating[::1] vp = vp_arr
    cdef floating[:, :, ::1] Gp = Gp_arr
    cdef floating[:, ::1] gvp = gvp_arr
    cdef floating[::1] zeros = np.zeros(d1, dtype=dt)
    cdef floating[:, ::1] buf = np.empty((parts, rb * ld), dtype=dt)
    cdef floating[:, ::1] prs = np.empty((parts, rb), dtype=dt)
    cdef Py_ssize_t racc_len = rb * 4 + 4  # rb vectors of 32 bytes, and room to align them
    cdef double[::1] racc = np.empty(parts * racc_len, dtype=np.float64)
    cdef _TilesPart calls[64]  # row_parts gives at most 64
    cdef Py_ssize_t j, lo, hi
    for j in range(parts):
        lo, hi = m * j // parts, m * (j + 1) // parts
        calls[j] = _TilesPart(floating is double, act, hi - lo, d1, n, np_, ld, rb, &X1[lo, 0], &Wp[0, 0],
                              &vp[0], &shift[lo], &p[lo], s, pos, neg, zero, &zeros[0], &R[lo], &PR[lo],
                              &gvp[j, 0], &Gp[j, 0, 0], &buf[j, 0], &prs[j, 0],
                              <void*>((<size_t>&racc[j * racc_len] + 31) // 32 * 32), 0)
    with nogil:
        run_parts(_tiles_part, calls, parts, threads)
    G1T_arr = np.asarray(G1T)
    gv_arr = np.asarray(gv)
    for j in range(parts):
        G1T_arr += Gp_arr[j, :, :n]
        gv_arr += gvp_arr[j, :n]
    return sum(calls[j].sq for j in range(parts))
