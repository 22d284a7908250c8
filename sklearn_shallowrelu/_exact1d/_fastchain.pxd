"""The compiled kernel's declarations, shared with :mod:`._search` (which
scores and searches ``alpha`` on top of one :class:`Kernel`)."""

cdef enum:
    MAXT = 4              # parameter columns at most: the initial state (2) and the border (2)
    KB = 8                # output columns per pass (more go in blocks of KB)
    MAXC = MAXT + KB
    GAPCOLS = 7           # per gap: h, M2, M1, M0, ME1, ME2, det M
    LANE_COUNT = 4        # alphas per call of _evaluate_lanes


cdef struct Problem:
    Py_ssize_t m, k, nb, nt
    const double* gap     # (m, GAPCOLS), last row zero
    const double* forc    # (m, 2 nb): the border's forcing N_b[:, comp] per gap, last row zero
    const double* winv    # (m,) mean weight / weight
    const double* Y       # (m, k)
    double M00[4]         # nb x nb, the border's own block
    int comps[2]          # the initial-state component each border column pairs with


cdef struct Work:
    double* cov     # (m, 3): 1/F, g0 = P00/F, g1 = P01/F
    double* V       # (m, ld) innovations
    double* A0F     # (m, ld) filtered value means, or NULL (fitted values not wanted)
    double* A1F     # (m, ld) filtered slope means, or NULL (states not wanted)
    double* C11     # (m,) filtered slope variance, or NULL (states not wanted)
    Py_ssize_t ld   # nt + output columns per pass
    double lam      # the power of two that scaled the variances of the last evaluation
    double G[MAXT * MAXC]     # Gram of the parameter columns against all columns
    double theta[MAXT * KB]   # the parameters of each output column
    double Binv[MAXT * MAXT]


cdef struct Out:
    double* E          # (m, k) residuals y - f
    double* FIT        # (m, k) fitted values, or NULL
    double* SLOPE      # (m, k) smoothed slopes, or NULL (needs the states' arrays of Work)
    double* MULT       # (m, 2, k) the adjoint of the gap before each point (row 0 untouched), or NULL
    double* LEV        # (m,)
    double* OMH        # (m,) 1 - LEV, formed without cancellation
    const double* wts  # (m,) weights for the sums below, or NULL
    double rss[KB]     # sum of weights * residual^2 per column of the block
    double trace


cdef struct Lanes:
    double* cov        # (m, 3, LANE_COUNT) the filter's 1/F, g0, g1
    double* V          # (m, 3, LANE_COUNT) innovations
    double* E          # (m, LANE_COUNT) residuals y - f
    double* OMH        # (m, LANE_COUNT) 1 - leverages
    double trace[LANE_COUNT]
    double rss[LANE_COUNT]
    double lam[LANE_COUNT]
    int bad[LANE_COUNT]


cdef int lanes_for(const Problem* p) noexcept nogil
cdef int _evaluate_lanes(const Problem* p, Lanes* L, const double* Hs, const double* wts) noexcept nogil
cdef int _evaluate(const Problem* p, Work* w, double Hs, Py_ssize_t col0, int kc, Out* o) noexcept nogil
cdef int _evaluate_columns(const Problem* p, Work* w, double Hs, Out* o, double* rss) noexcept nogil


cdef class Kernel:
    cdef Problem p
    cdef Work w
    cdef object _keep
    cdef double[::1] _cov, _V, _A0F, _A1F, _C11
    cdef void _want(self, bint states)
