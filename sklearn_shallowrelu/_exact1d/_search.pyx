# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Choosing ``alpha`` in compiled code: the GCV and leave-one-out criteria of one
problem at any ``alpha`` (one pass of the kernel of :mod:`._fastchain` each), the
branch and bound that minimises them and the root finder of a target ``df``.

The rules (the ladder, the bound, when the first pass stops, which minima are
refined) are derived in :mod:`sklearn_shallowrelu._selection`, which also holds
their constants and passes them in; this module runs them without returning to
Python between evaluations, which at 100 points cost ten times the evaluations
themselves.
"""

import numpy as np

from libc.math cimport exp, fabs, log, pow, INFINITY, NAN
from ._fastchain cimport (LANE_COUNT, Kernel, Lanes, Out, Problem, Work, _evaluate_columns, _evaluate_lanes,
                          lanes_for)


cdef struct LaneSums:  # the sums of LANE_COUNT alphas (Criterion._sums_lanes), one lane each
    double rss[LANE_COUNT]
    double trace[LANE_COUNT]
    double free[LANE_COUNT]
    double loo[LANE_COUNT]
    double widest[LANE_COUNT]
    int bad[LANE_COUNT]


# The lanes' arrays take 8 doubles per point and lane, 256 bytes per point
# (:meth:`Criterion._lanes_ready`): beyond this many points one alpha at a time.
cdef Py_ssize_t _MAX_LANE_POINTS = 1 << 17
#: The most points whose alphas :class:`Criterion` evaluates in lanes (32 MB of arrays).
MAX_LANE_POINTS = _MAX_LANE_POINTS


cdef inline bint _finite(double x) noexcept nogil:
    return fabs(x) < INFINITY


# numpy's maximum and minimum: a nan in either argument is the result
cdef inline double _nmax(double a, double b) noexcept nogil:
    return a if (a > b or a != a) else b


cdef inline double _nmin(double a, double b) noexcept nogil:
    return a if (a < b or a != a) else b


cdef double _interval_bound(double lo, double hi, double num_lo, double num_hi,
                            double den_lo, double den_hi) noexcept nogil:
    """The least value ``num / den**2`` can take between ``alpha = lo < hi``
    (:func:`interval_bound`); ``-inf`` when an end is undefined (a nan)."""
    cdef double tl = log(lo), th = log(hi), out = INFINITY, t, num, den, val
    cdef double ts[4]
    cdef int q
    ts[0], ts[1] = tl, th
    ts[2] = th - 0.5 * log(num_hi / num_lo)  # where the numerator's two lower bounds cross
    ts[3] = tl + log(den_hi / den_lo)  # where the denominator's two upper bounds cross
    for q in range(4):
        t = ts[q]
        if t != t:  # a failed end (0 / 0): the end points alone are tried, which is what is known
            t = -INFINITY
        t = th if t > th else (tl if t < tl else t)
        num = _nmax(num_lo, num_hi * exp(-2.0 * (th - t)))
        den = _nmin(den_hi, den_lo * exp(t - tl))
        val = num / (den * den) if den > 0 else INFINITY
        out = _nmin(out, val)
    return -INFINITY if out != out else out


def interval_bound(lo, hi, num_lo, num_hi, den_lo, den_hi):
    """The least value that ``num / den**2`` can take between ``alpha = lo < hi``.

    In ``t = log(alpha)`` the numerator is at least ``max(num_lo, num_hi
    exp(-2 (t_hi - t)))`` and the denominator at most ``min(den_hi, den_lo
    exp(t - t_lo))``; the ratio of these is piecewise exponential, so its least
    value is at an end or where one of the two switches.  The arguments
    broadcast; ``-inf`` where an end is undefined.
    """
    args = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (lo, hi, num_lo, num_hi, den_lo, den_hi)))
    flat = [np.ascontiguousarray(a).ravel() for a in args]
    cdef double[::1] a0 = flat[0], a1 = flat[1], a2 = flat[2], a3 = flat[3], a4 = flat[4], a5 = flat[5]
    cdef double[::1] out = np.empty(a0.shape[0])
    cdef Py_ssize_t i
    for i in range(a0.shape[0]):
        out[i] = _interval_bound(a0[i], a1[i], a2[i], a3[i], a4[i], a5[i])
    return np.asarray(out).reshape(args[0].shape)


cdef class Criterion:
    """GCV and leave-one-out of one problem at any ``alpha``, and their minimisers.

    Built by :class:`.fastchain.Scanner` from a :class:`._fastchain.Kernel` and
    the original samples (see there for the arguments)."""

    cdef Kernel kernel
    cdef Problem* p
    cdef Work* w
    cdef double hscale, tiny, total, n_pos
    cdef Py_ssize_t m, n, k
    cdef double[::1] weights, sw, share, within, lev, omh, rss, loo
    cdef long[::1] group
    cdef double[:, ::1] dY, res
    cdef double trace, free, widest  # of the last evaluation
    # several alphas at once (:func:`._fastchain._evaluate_lanes`), where the
    # problem and the CPU allow: the lanes' arrays, allocated at the first use
    cdef int nlanes
    cdef bint lanes_on
    cdef Lanes lanes
    cdef double[::1] _lane_arrays

    def __init__(self, Kernel kernel, double hscale, double tiny, double[::1] weights, long[::1] group,
                 double[::1] sw, const double[:, :] Ys):
        """``weights`` (m,) the pooled weights, ``group`` (n,) the pooled index
        of each sample, ``sw`` (n,) and ``Ys`` (n, k) the samples' weights and
        targets (the pooled targets are the kernel's)."""
        cdef Py_ssize_t i, j, g, m = kernel.p.m, k = kernel.p.k, n = group.shape[0]
        cdef const double* Y = kernel.p.Y
        cdef double d
        if weights.shape[0] != m or sw.shape[0] != n or Ys.shape[0] != n or Ys.shape[1] != k:
            raise ValueError("inconsistent sample arrays")
        for i in range(n):
            if group[i] < 0 or group[i] >= m:
                raise ValueError("group index out of range")
        self.kernel = kernel
        self.p, self.w = &kernel.p, &kernel.w
        self.m, self.k, self.n = m, k, n
        self.hscale, self.tiny = hscale, tiny
        self.weights, self.group, self.sw = weights, group, sw
        # a sample's share of its pooled point, its target about the pooled mean
        # (exact zero for a sample alone in its group), and the spread of tied
        # samples around their means: the part of every residual sum of squares
        # that no fit changes
        self.share, self.dY, self.within = np.zeros(n), np.empty((n, k)), np.zeros(k)
        self.total, self.n_pos = 0.0, 0.0
        for i in range(n):
            g = group[i]
            self.total += sw[i]
            if sw[i] > 0:
                self.share[i] = sw[i] / weights[g]
                self.n_pos += 1.0
            for j in range(k):
                d = Ys[i, j] - Y[g * k + j]
                self.dY[i, j] = d
                self.within[j] += sw[i] * d * d
        self.res = np.empty((m, k))
        self.lev, self.omh = np.empty(m), np.empty(m)
        self.rss, self.loo = np.empty(k), np.empty(k)
        self.nlanes = lanes_for(self.p) if m <= _MAX_LANE_POINTS else 0
        self.lanes_on = False

    cdef bint _lanes_ready(self) noexcept:
        """Whether the lanes run here, their arrays allocated (8 doubles per
        point and lane: 32 MB at ``MAX_LANE_POINTS``)."""
        cdef Py_ssize_t m = self.m
        if self.nlanes == 0:
            return False
        if not self.lanes_on:
            self._lane_arrays = np.empty(8 * LANE_COUNT * m)
            self.lanes.cov = &self._lane_arrays[0]
            self.lanes.V = self.lanes.cov + 3 * LANE_COUNT * m
            self.lanes.E = self.lanes.V + 3 * LANE_COUNT * m
            self.lanes.OMH = self.lanes.E + LANE_COUNT * m
            self.lanes_on = True
        return True

    cdef void _lanes_release(self) noexcept:
        """Free the lanes' arrays at the end of a call: a fitted model keeps its
        criteria, and would keep 256 bytes per point with them."""
        self._lane_arrays = None
        self.lanes_on = False

    @property
    def lanes(self):
        """The alphas evaluated at once (``LANE_COUNT``), or 0 where this
        problem, its size or the CPU allows one at a time only; setting it to
        False turns the lanes off (the tests compare the two), True back on."""
        return self.nlanes

    @property
    def holds_lane_arrays(self):
        """Whether the lanes' arrays are allocated (only during a call)."""
        return bool(self.lanes_on)

    @lanes.setter
    def lanes(self, bint on):
        self.nlanes = lanes_for(self.p) if (on and self.m <= _MAX_LANE_POINTS) else 0
        self.lanes_on = False
        self._lane_arrays = None

    # ------------------------------------------------------------ one alpha
    cdef int _sums(self, double alpha, bint samples) noexcept nogil:
        """The sums behind the criteria at ``alpha`` (``<= 0``: the interpolation
        limit) into ``rss``, ``trace``, ``free`` and, if ``samples``, the
        leave-one-out sums over the original samples ``loo``, ``widest``
        (GCV needs no pass over the samples); returns 1 (and ``inf`` sums,
        ``free`` 0) where the kernel meets a singular or non-finite pivot."""
        cdef Py_ssize_t m = self.m, k = self.k, i, j, g
        cdef bint bad
        cdef double den, r, low = 1.0, high = 0.0
        cdef Out o
        if alpha <= 0:
            alpha = self.tiny
        o.E, o.FIT, o.LEV, o.OMH, o.wts = &self.res[0, 0], NULL, &self.lev[0], &self.omh[0], &self.weights[0]
        o.SLOPE, o.MULT = NULL, NULL
        bad = _evaluate_columns(self.p, self.w, alpha * self.hscale, &o, &self.rss[0]) != 0
        self.trace = o.trace
        if bad or not _finite(o.trace):
            self.trace, self.free, self.widest = INFINITY, 0.0, INFINITY
            for j in range(k):
                self.rss[j] = INFINITY
                self.loo[j] = INFINITY
            return 1
        # sum (1 - lev) from the 1 - lev formed directly: GCV's denominator
        # without the cancellation of m - trace near interpolation
        r = 0.0
        for g in range(m):
            r += self.omh[g]
        self.free = r
        if not samples:
            return 0
        for j in range(k):
            self.loo[j] = 0.0
        # 1 - share * lev formed from 1 - lev, exact near interpolation; a zero
        # weight has share 0 (denominator 1) and adds 0
        for i in range(self.n):
            g = self.group[i]
            den = (1.0 - self.share[i]) + self.share[i] * self.omh[g]
            if den < low:
                low = den
            if self.sw[i] > 0.0 and den > high:
                high = den
            for j in range(k):
                r = (self.dY[i, j] + self.res[g, j]) / den
                self.loo[j] += self.sw[i] * r * r
        self.widest = high
        for j in range(k):
            if not (low > 0.0) or self.loo[j] != self.loo[j]:
                self.loo[j] = INFINITY
        return 0

    cdef void _sums_lanes(self, const double* alphas, int count, bint samples, LaneSums* out) noexcept nogil:
        """:meth:`_sums` of ``alphas[:count]`` (``1 <= count <= LANE_COUNT``) at
        once, for a problem of one output column: each lane's sums into the
        ``l``-th entry of ``out``'s arrays (``bad`` 1 where it failed), in the
        same order of operations as :meth:`_sums`, so to the same bits.  The
        lanes past ``count`` repeat ``alphas[0]``."""
        cdef Py_ssize_t m = self.m, i, g
        cdef int l
        cdef double* rss = out.rss
        cdef double* trace = out.trace
        cdef double* free = out.free
        cdef double* loo = out.loo
        cdef double* widest = out.widest
        cdef int* bad = out.bad
        cdef double Hs[LANE_COUNT]
        cdef double low[LANE_COUNT]
        cdef double high[LANE_COUNT]
        cdef double den, r, a
        cdef const double* omh = self.lanes.OMH
        cdef const double* res = self.lanes.E
        for l in range(LANE_COUNT):
            a = alphas[l if l < count else 0]
            if a <= 0:
                a = self.tiny
            Hs[l] = a * self.hscale
        _evaluate_lanes(self.p, &self.lanes, Hs, &self.weights[0])
        for l in range(LANE_COUNT):
            bad[l] = self.lanes.bad[l] or not _finite(self.lanes.trace[l])
            trace[l], rss[l] = self.lanes.trace[l], self.lanes.rss[l]
            free[l], loo[l], low[l], high[l] = 0.0, 0.0, 1.0, 0.0
        for g in range(m):
            for l in range(LANE_COUNT):
                free[l] += omh[g * LANE_COUNT + l]
        if samples:
            for i in range(self.n):
                g = self.group[i]
                for l in range(LANE_COUNT):
                    den = (1.0 - self.share[i]) + self.share[i] * omh[g * LANE_COUNT + l]
                    if den < low[l]:
                        low[l] = den
                    if self.sw[i] > 0.0 and den > high[l]:
                        high[l] = den
                    r = (self.dY[i, 0] + res[g * LANE_COUNT + l]) / den
                    loo[l] += self.sw[i] * r * r
        for l in range(LANE_COUNT):
            widest[l] = high[l]
            if not (low[l] > 0.0) or loo[l] != loo[l]:
                loo[l] = INFINITY
            if bad[l]:
                trace[l], free[l], widest[l], rss[l], loo[l] = INFINITY, 0.0, INFINITY, INFINITY, INFINITY

    cdef void _score(self, double alpha, bint loo, bint shared, double* values, double* num,
                     double* den, double* df) noexcept nogil:
        """The criterion at ``alpha`` per column (one summed column if
        ``shared``) and its monotone parts (:class:`._selection.Scores`): a
        failed evaluation scores ``inf`` and bounds nothing (numerator 0,
        denominator ``inf``)."""
        cdef int bad = self._sums(alpha, loo)
        self._finish(bad, &self.rss[0], self.trace, self.free, &self.loo[0], self.widest, loo, shared,
                     values, num, den, df)

    cdef void _score_batch(self, const double* alphas, const Py_ssize_t* rows, Py_ssize_t count, bint loo,
                           bint shared, double* values, double* num, double* den, double* df) noexcept nogil:
        """:meth:`_score` at each of ``alphas[:count]``, into row ``rows[i]`` of
        ``values``, ``num`` (rows of ``ke`` entries), ``den`` and ``df``:
        ``LANE_COUNT`` at a time where the lanes run (the last group filled
        up with its first alpha), else one by one."""
        cdef Py_ssize_t i0 = 0, i, ke = 1 if shared else self.k, r
        cdef int l, nl
        cdef LaneSums sums
        cdef bint lanes = count > 1 and self.lanes_on  # (allocated by the caller, with the GIL)
        while i0 < count:
            nl = <int>min(count - i0, <Py_ssize_t>LANE_COUNT)
            if not lanes or nl == 1:
                r = rows[i0]
                self._score(alphas[i0], loo, shared, &values[r * ke], &num[r * ke], &den[r], &df[r])
                i0 += 1
                continue
            self._sums_lanes(&alphas[i0], nl, loo, &sums)
            for l in range(nl):
                r = rows[i0 + l]
                self._finish(sums.bad[l], &sums.rss[l], sums.trace[l], sums.free[l], &sums.loo[l], sums.widest[l],
                             loo, shared, &values[r * ke], &num[r * ke], &den[r], &df[r])
            i0 += nl

    cdef void _finish(self, int bad, const double* rss, double trace, double free, const double* loo_sums,
                      double widest, bint loo, bint shared, double* values, double* num, double* den,
                      double* df) noexcept nogil:
        """:meth:`_score` from the sums of :meth:`_sums` (``rss`` and
        ``loo_sums`` per column)."""
        cdef Py_ssize_t j, ke = 1 if shared else self.k
        cdef double d, d2, residual, v, sum_v = 0.0, sum_n = 0.0
        if bad:
            for j in range(ke):
                values[j], num[j] = INFINITY, 0.0
            den[0], df[0] = INFINITY, INFINITY
            return
        if loo:  # mean_w(r_i^2 / (1 - h_ii)^2) >= mean_w(r_i^2) / max(1 - h_ii)^2
            d = widest
        else:  # 1 - df / n = ((n - m) + sum (1 - lev)) / n: no cancellation near interpolation
            d = ((self.n_pos - self.m) + free) / self.n_pos
        d2 = d * d if d > 0 else 0.0
        for j in range(self.k):
            # the residuals' sum of squares grows with alpha by at most alpha^2,
            # and n - df and every 1 - h_ii by at most alpha
            residual = (rss[j] + self.within[j]) / self.total
            v = loo_sums[j] / self.total if loo else residual / d2
            if not _finite(v):  # at interpolation: inf, never chosen
                v = INFINITY
            if not _finite(residual):
                residual = 0.0
            if shared:
                sum_v += v
                sum_n += residual
            else:
                values[j], num[j] = v, residual
        if shared:
            values[0], num[0] = sum_v, sum_n
        den[0] = d if _finite(d) else INFINITY
        df[0] = trace

    def leverages(self, double alpha):
        """The leverages of the pooled points at ``alpha`` (m,), or None where
        the kernel meets a singular or non-finite pivot."""
        if self._sums(alpha, False):
            return None
        return np.array(self.lev)

    def scan(self, alphas):
        """``(rss (na, k), trace (na,), free (na,), loo (na, k), widest (na,))`` at
        each of ``alphas`` (see :meth:`.fastchain.Scanner.scan`)."""
        cdef double[::1] a = np.ascontiguousarray(alphas, dtype=float).ravel()
        cdef Py_ssize_t na = a.shape[0], i, j
        cdef double[:, ::1] rss = np.empty((na, self.k)), loo = np.empty((na, self.k))
        cdef double[::1] trace = np.empty(na), free = np.empty(na), widest = np.empty(na)
        with nogil:
            for i in range(na):
                self._sums(a[i], True)
                trace[i], free[i], widest[i] = self.trace, self.free, self.widest
                for j in range(self.k):
                    rss[i, j], loo[i, j] = self.rss[j], self.loo[j]
        return np.asarray(rss), np.asarray(trace), np.asarray(free), np.asarray(loo), np.asarray(widest)

    def scores(self, alphas, bint loo, bint shared):
        """``(values (na, ke), df (na,), num (na, ke), den (na,))`` at each of
        ``alphas`` (:class:`._selection.Scores`; ``ke`` is 1 if ``shared``)."""
        cdef double[::1] a = np.ascontiguousarray(alphas, dtype=float).ravel()
        cdef Py_ssize_t na = a.shape[0], ke = 1 if shared else self.k
        cdef double[:, ::1] values = np.empty((na, ke)), num = np.empty((na, ke))
        cdef double[::1] df = np.empty(na), den = np.empty(na)
        cdef Py_ssize_t[::1] rows = np.arange(na, dtype=np.intp)
        if na == 0:
            return np.asarray(values), np.asarray(df), np.asarray(num), np.asarray(den)
        if na > 1:
            self._lanes_ready()
        with nogil:
            self._score_batch(&a[0], &rows[0], na, loo, shared, &values[0, 0], &num[0, 0], &den[0], &df[0])
        self._lanes_release()
        return np.asarray(values), np.asarray(df), np.asarray(num), np.asarray(den)

    # -------------------------------------------------------- the searches
    def minimise(self, double top, bint loo, bint shared, double df_max, int per_decade, int last,
                 double near, double flat, double candidate, int coarse, int fine):
        """The branch and bound of :func:`._selection.minimise` on the rungs
        ``alpha_j = top 10**(-j / per_decade)``, ``0 <= j <= last``.

        Returns ``(best (ke,), best_values (ke,), keys (nr,), values (nr, ke))``:
        the minimisers, their criteria, the rungs evaluated (increasing ``j``)
        and the criterion on them."""
        if per_decade < 1 or last < 0 or coarse < 1 or fine < 0:
            raise ValueError(f"per_decade={per_decade}, coarse={coarse} must be >= 1, last={last} and "
                             f"fine={fine} >= 0")
        cdef Py_ssize_t ke = 1 if shared else self.k, nr = last + 1
        cdef double[:, ::1] V = np.full((nr, ke), np.inf), N = np.zeros((nr, ke))
        cdef double[::1] D = np.full(nr, np.inf), DF = np.full(nr, np.inf)
        cdef unsigned char[::1] seen = np.zeros(nr, np.uint8)
        cdef Py_ssize_t[::1] keys = np.empty(nr, np.intp), mids = np.empty(max(nr, fine, LANE_COUNT), np.intp)
        cdef double[::1] best = np.empty(ke), best_v = np.empty(ke), low = np.empty(ke)
        cdef double[::1] sv = np.empty(ke), sn = np.empty(ke)
        cdef double[::1] t = np.empty(fine + 2), v = np.empty(fine + 2)
        cdef double[::1] alphas = np.empty(max(nr, fine, LANE_COUNT))  # (also the local grid's)
        # the refinement's local grid: fine points, ke values each
        cdef double[::1] fv = np.empty(fine * ke), fn = np.empty(fine * ke), fd = np.empty(fine)
        cdef double[::1] fdf = np.empty(fine)
        cdef Py_ssize_t j, i, c, nk = 0, nopen, a, b, batch, q
        cdef double lo, hi, threshold, left, right, found, found_v
        cdef bint stop = False
        # the first pass evaluates the next LANE_COUNT rungs at once where the
        # lanes run (those past the rung where it stops are dropped: the search
        # is the same as one rung at a time)
        batch = LANE_COUNT if self._lanes_ready() else 1
        with nogil:
            # 1. one rung per `coarse` until df is near interpolation and every
            # column has settled or reached its rounding floor
            j = 0
            while j <= last and not stop:
                nopen = 0
                while nopen < batch and j + nopen * coarse <= last:
                    mids[nopen] = j + nopen * coarse
                    alphas[nopen] = _rung(top, mids[nopen], per_decade)
                    nopen += 1
                self._score_batch(&alphas[0], &mids[0], nopen, loo, shared, &V[0, 0], &N[0, 0], &D[0], &DF[0])
                for i in range(nopen):
                    if stop:  # evaluated past the end of the pass: as if never
                        for c in range(ke):
                            V[mids[i], c], N[mids[i], c] = INFINITY, 0.0
                        D[mids[i]], DF[mids[i]] = INFINITY, INFINITY
                        continue
                    seen[mids[i]] = 1
                    keys[nk] = mids[i]
                    nk += 1
                    stop = _settled(&V[0, 0], &DF[0], &keys[0], nk, ke, df_max, near, flat)
                j += nopen * coarse
            # 2. halve every gap that may hold the minimum, down to single rungs
            while True:
                nk = _collect(&seen[0], &keys[0], nr)
                for c in range(ke):
                    low[c] = INFINITY
                    for i in range(nk):
                        if V[keys[i], c] < low[c]:
                            low[c] = V[keys[i], c]
                nopen = 0
                for i in range(nk - 1):
                    a, b = keys[i], keys[i + 1]  # b: the smaller alpha
                    if b - a <= 1:
                        continue
                    lo, hi = _rung(top, b, per_decade), _rung(top, a, per_decade)
                    for c in range(ke):
                        if _interval_bound(lo, hi, N[b, c], N[a, c], D[b], D[a]) <= low[c]:
                            mids[nopen] = (a + b) // 2
                            nopen += 1
                            break
                if nopen == 0:
                    break
                for i in range(nopen):
                    alphas[i] = _rung(top, mids[i], per_decade)
                self._score_batch(&alphas[0], &mids[0], nopen, loo, shared, &V[0, 0], &N[0, 0], &D[0], &DF[0])
                for i in range(nopen):
                    seen[mids[i]] = 1
            # 3. refine every local minimum of each column within `candidate` of its best
            nk = _collect(&seen[0], &keys[0], nr)
            for c in range(ke):
                a = 0
                for i in range(1, nk):
                    if V[keys[i], c] < V[keys[a], c]:
                        a = i
                best[c], best_v[c] = _rung(top, keys[a], per_decade), V[keys[a], c]
                if not _finite(best_v[c]):
                    continue
                threshold = candidate * best_v[c]
                for i in range(nk):
                    left = V[keys[i - 1], c] if i > 0 else INFINITY
                    right = V[keys[i + 1], c] if i < nk - 1 else INFINITY
                    if V[keys[i], c] <= left and V[keys[i], c] <= right and V[keys[i], c] <= threshold:
                        found = self._refine(top, per_decade, &keys[0], nk, i, c, &V[0, 0], ke, loo, shared,
                                             fine, &t[0], &v[0], &sv[0], &sn[0], &alphas[0], &mids[0], &fv[0],
                                             &fn[0], &fd[0], &fdf[0], &found_v)
                        if found_v < best_v[c]:
                            best[c], best_v[c] = found, found_v
        self._lanes_release()
        order = np.asarray(keys[:nk]).copy()
        return np.asarray(best), np.asarray(best_v), order, np.asarray(V)[order]

    cdef double _refine(self, double top, int per_decade, const Py_ssize_t* keys, Py_ssize_t nk, Py_ssize_t i,
                        Py_ssize_t c, const double* V, Py_ssize_t ke, bint loo, bint shared, int fine, double* t,
                        double* v, double* sv, double* sn, double* alphas, Py_ssize_t* rows, double* fv,
                        double* fn, double* fd, double* fdf, double* out_v) noexcept nogil:
        """The minimum of column ``c`` between the neighbours of rung ``keys[i]``:
        a local grid of ``fine`` points (evaluated together, into ``fv``,
        ``fn``, ``fd``, ``fdf``), then the vertex of the parabola through the
        best of them and its neighbours.  Returns its ``alpha`` (its value in
        ``out_v``)."""
        cdef Py_ssize_t ilo = min(i + 1, nk - 1), ihi = max(i - 1, 0), q, b = 0
        cdef double lo = log(_rung(top, keys[ilo], per_decade)), hi = log(_rung(top, keys[ihi], per_decade))
        cdef double sd, sdf, best_t, best_v, t0, t1, t2, v0, v1, v2, pp, qq, vertex
        t[0], v[0] = lo, V[keys[ilo] * ke + c]
        t[fine + 1], v[fine + 1] = hi, V[keys[ihi] * ke + c]
        for q in range(1, fine + 1):
            t[q] = lo + (hi - lo) * q / (fine + 1.0)
            alphas[q - 1], rows[q - 1] = exp(t[q]), q - 1
        self._score_batch(alphas, rows, fine, loo, shared, fv, fn, fd, fdf)
        for q in range(1, fine + 1):
            v[q] = fv[(q - 1) * ke + c]
        for q in range(1, fine + 2):
            if v[q] < v[b]:
                b = q
        best_t, best_v = t[b], v[b]
        if 0 < b < fine + 1 and _finite(v[b - 1]) and _finite(v[b]) and _finite(v[b + 1]):
            t0, t1, t2, v0, v1, v2 = t[b - 1], t[b], t[b + 1], v[b - 1], v[b], v[b + 1]
            pp, qq = (t1 - t0) * (v1 - v2), (t1 - t2) * (v1 - v0)
            if qq - pp != 0:  # the vertex of the parabola through the three points
                vertex = t1 - 0.5 * ((t1 - t0) * pp - (t1 - t2) * qq) / (pp - qq)
                vertex = t2 if vertex > t2 else (t0 if vertex < t0 else vertex)
                self._score(exp(vertex), loo, shared, sv, sn, &sd, &sdf)
                if sv[c] < best_v:
                    best_t, best_v = vertex, sv[c]
        out_v[0] = best_v
        return exp(best_t)

    cdef double _df_gap(self, double log_alpha, double target) noexcept nogil:
        self._sums(exp(log_alpha), False)
        return self.trace - target

    def solve_df(self, double top, double target, int decades, double xtol, double rtol, int maxiter):
        """The ``alpha`` whose fit has ``target`` degrees of freedom
        (:func:`._selection.solve_df`): the first decade below ``top`` that
        reaches it, then Brent's method on ``log(alpha)``."""
        cdef int batch
        # the decades four at a time where the lanes run (their df as one at a time)
        batch = LANE_COUNT if self._lanes_ready() else 1
        try:
            return self._solve_df(top, target, decades, xtol, rtol, maxiter, batch)
        finally:
            self._lanes_release()

    cdef double _solve_df(self, double top, double target, int decades, double xtol, double rtol, int maxiter,
                          int batch) except? -1:
        """:meth:`solve_df` with ``batch`` decades at a time."""
        cdef double hi = log(top), lo, root, f_lo = 0.0, f_hi
        cdef int d, l, nb, status = 0
        cdef bint found = False
        cdef double ts[LANE_COUNT + 1]
        cdef double fs[LANE_COUNT + 1]
        ts[0] = hi
        self._df_gaps(ts, 1, target, fs)
        f_hi = fs[0]
        if f_hi >= 0:
            raise ValueError(f"df={target:g} is at or below the degrees of freedom of the affine fit.")
        lo = hi
        d = 0
        while d < decades and not found:
            nb = min(batch, decades - d)
            for l in range(nb):
                lo -= log(10.0)
                ts[l] = lo
            self._df_gaps(ts, nb, target, fs)
            for l in range(nb):
                lo = ts[l]
                if fs[l] >= 0:
                    found, f_lo = True, fs[l]
                    break
                hi, f_hi = lo, fs[l]
            d += nb
        if not found:
            raise ValueError(f"df={target:g} is not reached above {exp(lo):.3g}: too close to interpolation.")
        with nogil:
            root = self._brent(lo, hi, f_lo, f_hi, target, xtol, rtol, maxiter, &status)
        if status:
            raise RuntimeError(f"df={target:g}: Brent's method did not converge in {maxiter} iterations.")
        return exp(root)

    cdef void _df_gaps(self, const double* log_alphas, int count, double target, double* out) noexcept:
        """:meth:`_df_gap` at each of ``log_alphas[:count]``, in lanes where they run."""
        cdef double a[LANE_COUNT]
        cdef LaneSums sums
        cdef int l
        if count == 1 or not self.lanes_on:
            for l in range(count):
                out[l] = self._df_gap(log_alphas[l], target)
            return
        for l in range(count):
            a[l] = exp(log_alphas[l])
        self._sums_lanes(a, count, False, &sums)
        for l in range(count):
            out[l] = sums.trace[l] - target

    cdef double _brent(self, double xa, double xb, double fa, double fb, double target, double xtol,
                       double rtol, int maxiter, int* status) noexcept nogil:
        """A root of ``df(exp(t)) - target`` between ``xa`` and ``xb`` (of
        opposite signs): Brent's method, as scipy's ``brentq`` (inverse quadratic
        interpolation or the secant where it steps well inside the bracket,
        bisection otherwise), to ``xtol + rtol |t|``; ``fa``, ``fb`` its values
        at ``xa``, ``xb``."""
        cdef double xpre = xa, xcur = xb, xblk = 0.0, fblk = 0.0, spre = 0.0, scur = 0.0
        cdef double fpre = fa, fcur = fb  # (known from the bracket)
        cdef double sbis, stry, dpre, dblk, delta
        cdef int it
        status[0] = 0
        if fpre == 0:
            return xpre
        if fcur == 0:
            return xcur
        for it in range(maxiter):
            if fpre != 0 and fcur != 0 and ((fpre < 0) != (fcur < 0)):
                xblk, fblk = xpre, fpre
                spre = scur = xcur - xpre
            if fabs(fblk) < fabs(fcur):
                xpre, xcur, xblk = xcur, xblk, xcur
                fpre, fcur, fblk = fcur, fblk, fcur
            delta = (xtol + rtol * fabs(xcur)) / 2.0
            sbis = (xblk - xcur) / 2.0
            if fcur == 0 or fabs(sbis) < delta:
                return xcur
            if fabs(spre) > delta and fabs(fcur) < fabs(fpre):
                if xpre == xblk:  # the secant
                    stry = -fcur * (xcur - xpre) / (fcur - fpre)
                else:  # inverse quadratic interpolation
                    dpre = (fpre - fcur) / (xpre - xcur)
                    dblk = (fblk - fcur) / (xblk - xcur)
                    stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
                if 2.0 * fabs(stry) < min(fabs(spre), 3.0 * fabs(sbis) - delta):
                    spre, scur = scur, stry  # a good short step
                else:
                    spre, scur = sbis, sbis
            else:
                spre, scur = sbis, sbis
            xpre, fpre = xcur, fcur
            if fabs(scur) > delta:
                xcur += scur
            else:
                xcur += delta if sbis > 0 else -delta
            fcur = self._df_gap(xcur, target)
        status[0] = 1
        return xcur


cdef inline double _rung(double top, Py_ssize_t j, int per_decade) noexcept nogil:
    return top * pow(10.0, -(<double>j) / per_decade)


cdef Py_ssize_t _collect(const unsigned char* seen, Py_ssize_t* keys, Py_ssize_t nr) noexcept nogil:
    """The evaluated rungs in increasing order into ``keys``; returns their number."""
    cdef Py_ssize_t j, nk = 0
    for j in range(nr):
        if seen[j]:
            keys[nk] = j
            nk += 1
    return nk


cdef bint _settled(const double* V, const double* DF, const Py_ssize_t* keys, Py_ssize_t nk, Py_ssize_t ke,
                   double df_max, double near, double flat) noexcept nogil:
    """Whether the last of the first pass's rungs ``keys[:nk]`` ends the ladder
    (:func:`._selection._settled`): ``df`` near its maximum and, in every
    column, the criterion settled, at its rounding floor or undefined."""
    cdef Py_ssize_t c, r0, r1, r2
    cdef double last, change, before
    if nk < 3:
        return False
    r0, r1, r2 = keys[nk - 1], keys[nk - 2], keys[nk - 3]
    if not (DF[r0] >= df_max * (1.0 - near)):
        return False
    for c in range(ke):
        last = V[r0 * ke + c]
        change, before = fabs(last - V[r1 * ke + c]), fabs(V[r1 * ke + c] - V[r2 * ke + c])
        if not (change <= flat * fabs(last) or change >= before or not _finite(last)):
            return False
    return True
