"""The two-layer network as a function of its parameters: forward pass, loss,
gradient, the analytic Hessian-vector product and the sharpness.

``f(x) = s * sum_k v_k act(w_k . x + b_k) + c`` with output scale ``s`` (1 for
the standard parametrisation, ``1/sqrt(n)`` for NTK, ``1/n`` for mean field), and
loss ``L = sum_i p_i |f(x_i) - y_i|^2 / 2`` with ``p_i = w_i / sum(w)``: half the
weighted mean squared error, summed over outputs, so that the gradient-descent
stability threshold is ``2 / eta``; with weight decay (:class:`L2Penalty`) plus
``sum_g lambda_g |theta_g|^2 / 2`` over the penalised groups.  Shapes: ``W``
(n, d), ``b`` (n,), ``v`` (n, k), ``c`` (k,).
"""


import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from . import _linear_pieces, _linear_tiles, _sorted1d
from ._memory import working_memory_bytes
from ._validation import sums_finite

GROUPS = ("W", "b", "v", "c")
# Network.loss_and_grad goes through the rows in blocks of m x n work arrays of about this
# size, which stay in the CPU cache between the passes over them (measured: a 20 MB array
# does not, and a step costs 1.6x the time of 4 MB blocks; blocks below 1 MB pay more in
# per-call overhead than they gain), and of at most BLOCK_ROWS rows (on narrow networks longer
# blocks were slower: at width 64 to 128 and d = 2, 1.2 to 3.5 times the time of 1024-row
# blocks; at width 512 and more the bytes bound first)
BLOCK_BYTES = 1 << 22
BLOCK_ROWS = 1024
# ... but with many inputs the two matrix products dominate, and BLAS repacks the (d + 1) x n
# factor at every block: a block then takes at least ROWS_PER_INPUT (d + 1) rows, within
# WIDE_BLOCK_BYTES (width 8192, m = 1000, d = 100, loss and gradient alone: 83 ms with the
# 64 rows of 4 MB, 71 ms with 256 rows, 59 ms with 1000; at d = 2 and 10 the 4 MB blocks
# stay the faster)
ROWS_PER_INPUT = 4
WIDE_BLOCK_BYTES = 1 << 25


# With a piecewise-linear activation, one output and few inputs, a step takes the row kernel of
# _linear_pieces (linear_pieces_rows: forward and back a few rows at a time, no matrix products
# and no m x n array) where it was measured faster with ReLU than the blocks of products and
# passes (the other activations' passes are the slower ones: leaky ReLU and the absolute value
# were measured at eleven of the shapes below where the kernel is chosen, 1.3 to 2.6 times faster,
# and at (512, 32) float64, where it is not, 0.82):
# - for d <= ROWS_ANY_WIDTH at every width (m = 1e4, widths 64 to 4096, d = 2 and 5: 2 to 3.5
#   times faster; d = 10 at widths 256 to 4096 (m = 1e4) and 512 to 8192 (m = 1e3), [W, b] up to
#   704 KB: 1.09 to 3.4 times; at m = 1e5 and width 512, 3.0 in float32 and 0.96 in float64);
# - for d <= ROWS_MAX_D while the weights [W, b] take at most ROWS_WEIGHT_BYTES: the kernel reads
#   them and their gradient once per group of rows, so both must stay near the core.  At m = 1e4,
#   d = 15 to 32: [W, b] of 21 to 66 KB, 1.09 to 2.0 times faster; 84 KB and more, 0.5 to 0.86
#   times (slower), except one shape at 1.11;
# - not at d = 100: the two products then run near BLAS's peak on all threads, the kernel on one.
# Only with AVX2 and FMA or wider: with 16-byte vectors the kernel was 2.5 to 3 times slower.
# (Each the best of 3 fits of the benchmark's, kernel and blocks in turn, on a shared 2-CPU
# machine with AVX-512 at load 1.3 to 1.5.)
ROWS_ANY_WIDTH = 10
ROWS_MAX_D = 32
ROWS_WEIGHT_BYTES = 72 << 10
# With AVX2 the kernel takes 4 rows at once, not 8, and reads [W, b] and its gradient twice as
# often per row.  Measured on a 2-CPU AVX2 machine (loss and gradient, kernel with its threads
# against the blocks, in turn, best of 4 x 9, rows padded as _linear_pieces.padded_width): d <= 10
# at every width still wins (m = 1e4, widths 512 to 4096: 1.36 to 2.7; (1e3, 512, 10) 1.27 and
# 1.36; (1e5, 512, 10) 1.64 and 2.71); d = 12 to 20 with [W, b] of 4 to 52 KiB, 0.96 to 2.5;
# d = 32 was mixed (0.78 to 1.24) and (256, 15) float64, 32 KiB, even (1.00).
ROWS_AVX2_MAX_D = 20
ROWS_AVX2_WEIGHT_BYTES = 32 << 10

# On a CPU with AVX2 (not AVX-512) the tile kernel of _linear_tiles (linear_pieces_tiles: six
# rows or inputs by two vectors in registers, the passes fused) beat both the row kernel and the
# blocks of products and passes from d = 10 on.  Loss and gradient, blocks, row kernel and tiles
# in turn, best of 3 x 5 to 50, at load 0.6 to 2 (a shared 2-CPU machine; ratios move by 20%):
# - m = 1e3 to 1e5, d = 10 to 20, widths 64 to 4096: 1.4 to 3.1 times the blocks' speed, and 1.12
#   to 2.05 times the row kernel's, except at width 64 and d = 10 (float64 1.04 to 1.13, float32
#   0.88 to 1.14) and (4096, 16) float64 (0.97); so from d = 11 at every width, and at d = 10 from
#   rows of TILES_MIN_D_ROW_BYTES (widths 256 in float64, 512 in float32);
# - m = 1e4 and 1e5, d = 32 to 100, widths 64 and 512: 1.04 to 1.97 times the blocks' speed
#   (once 0.81, at (1e4, 64, 100) float32, in a run where the same shape gave 1.38 and 1.40
#   before); with [W, b] past TILES_WEIGHT_BYTES (widths 4096 and 8192), 0.5 to 0.9 in float64
#   (the gradient and the work array leave the second-level cache) but 1.28 once, 0.88 to 1.30
#   in float32;
# - m = 1e3 and d >= 32: 0.63 to 1.34, mostly behind the blocks, whose products use every
#   thread where the step is too small to split (row_threads); at d = 16, 1.54 and 1.55.  Again
#   with the ranges on the workers of _parts (fits, in turn, best of 7, both precisions):
#   (1e3, 64, 100) 0.76 and 0.93, (1e3, 64, 50) 1.06 and 0.95, (2e3, 64, 100) 0.85 and 0.88,
#   (1e3, 512, 100) 1.00 and 0.85;
# - d = 2 and 5: even with the row kernel or behind it (0.71 to 1.28), which keeps them.
# Not taken on AVX-512 CPUs, where the kernel's 32-byte vectors meet products with 64-byte
# ones: not measured.
TILES_MIN_D = 10
TILES_MIN_D_ROW_BYTES = 2 << 10
TILES_MIN_ROWS = 512
TILES_MANY_D = 32
TILES_MANY_D_MIN_ROWS = 4096
TILES_WEIGHT_BYTES = 1 << 20


# A step of the row or tile kernel with much work splits its rows into as many ranges as the loaded
# BLAS libraries may use threads (the most of any: the threads the user allows the products, with
# OPENBLAS_NUM_THREADS or threadpoolctl); the kernel runs them on the workers of _parts, which take
# a range within a microsecond (a Python thread pool took 85 to 130 us a step to wake its threads,
# so it split only steps of 32 MiB of work and more).  Fits of the benchmark, split (2 threads)
# against one range, in turn, best of 7, on a shared 2-CPU AVX2 machine at load 0.6 to 1.4 (ratios
# move by 20% between runs): (1e4, 64, 100) 1.40 to 1.72; (1e4, 64, 10) 1.0 to 1.63; (1e3, 512, 10)
# float64 1.12 to 1.24, float32 0.87 to 1.19; (1e5, 64, 2) 1.06 to 1.34; but (1e3, 64, 10) 0.79 to
# 1.07.  So a step splits from ROWS_SPLIT_BYTES of work (m (d + 1) n entries of the weights' dtype;
# (1e3, 64, 10) float64 has 5.6 MB), in ranges of at least ROWS_SPLIT_MIN_ROWS rows.  Each range
# sums its own gradient, so the result depends on the number of threads at the level of rounding.
ROWS_SPLIT_BYTES = 8 << 20
ROWS_SPLIT_MIN_ROWS = 256


def row_threads(m, n, d, itemsize):
    """The threads of a step of the row or tile kernel (see ``ROWS_SPLIT_BYTES``)."""
    if m * (d + 1) * n * itemsize < ROWS_SPLIT_BYTES:
        return 1
    return max(1, min(_blas_threads(), m // ROWS_SPLIT_MIN_ROWS))


_BLAS = []  # threadpoolctl's controllers of the BLAS libraries loaded, found at the first use


def _blas_threads():
    """The most threads any loaded BLAS may use now (a library call each, no scan)."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController  # scikit-learn's own dependency

        _BLAS.extend(lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas")
    return max((lib.num_threads for lib in _BLAS), default=1)


def rows_kernel_wins(n, d, itemsize):
    """Whether :func:`._linear_pieces.linear_pieces_rows` takes the step of a network
    with a piecewise-linear activation and one output (see ``ROWS_WEIGHT_BYTES``)."""
    if not _linear_pieces.ROWS_LEVELS or _linear_pieces.ROWS_LEVELS[-1] < 2:
        return False
    if _linear_pieces.ROWS_LEVELS[-1] == 2:  # AVX2: 4 rows at once (see ROWS_AVX2_MAX_D)
        max_d, weight_bytes = ROWS_AVX2_MAX_D, ROWS_AVX2_WEIGHT_BYTES
    else:
        max_d, weight_bytes = ROWS_MAX_D, ROWS_WEIGHT_BYTES
    return d <= ROWS_ANY_WIDTH or (d <= max_d and (d + 1) * n * itemsize <= weight_bytes)


def tiles_win(m, n, d, itemsize):
    """Whether :func:`._linear_tiles.linear_pieces_tiles` takes the step of a network
    with a piecewise-linear activation and one output (see ``TILES_MIN_D``)."""
    if not (_linear_tiles.TILES_AVAILABLE and _linear_tiles.CPU_LEVEL == 2):
        return False
    if m < TILES_MIN_ROWS or (d + 1) * n * itemsize > TILES_WEIGHT_BYTES:
        return False
    if d >= TILES_MANY_D and m < TILES_MANY_D_MIN_ROWS:
        return False
    return d > TILES_MIN_D or (d == TILES_MIN_D and n * itemsize >= TILES_MIN_D_ROW_BYTES)


def block_rows(m, n, d, itemsize):
    """Rows of a block of :meth:`Network.loss_and_grad` (see ``BLOCK_BYTES``)."""
    row = max(n, 1) * itemsize
    rows = max(BLOCK_BYTES // row, min(ROWS_PER_INPUT * (d + 1), WIDE_BLOCK_BYTES // row))
    return max(1, min(m, BLOCK_ROWS, rows))


# Peak memory of the curvature estimates, in float64 vectors of the parameters' size on
# top of the m x n activation cache (tracemalloc, n = 10^5, m = 60, d = 1 and 5, k = 1):
# a Hessian-vector product with the power iteration's one vector peaked at 8 to 9.1 (the
# flat in/out copies, the direction in the data's dtype, the stacked (n, k (d + 1)) blocks
# and their product with the cached derivatives), Lanczos (eigsh, k=1: its 20 basis
# vectors and ARPACK's work arrays) at 45 to 46; a margin is added to both
_LANCZOS_VECTORS = 40
_HVP_VECTORS = 12


def n_params(n, d, k):
    """Number of parameters of a network of width ``n``, ``d`` inputs and ``k`` outputs."""
    return n * (d + 1 + k) + k


def activation_cache_bytes(m, n, dtype, smooth=False):
    """Bytes of the ``m x n`` arrays of :meth:`Network._hvp_operator`.

    Piecewise-linear activations: the activation derivatives, kept when they fit in
    ``working_memory``, else recomputed in row chunks of at most that much.  Smooth
    activations keep ``act``, ``act'``, ``act''`` and form three more per product.
    """
    full = m * n * np.dtype(dtype).itemsize
    return 7 * full if smooth else min(full, working_memory_bytes())


def curvature_bytes(m, n, d, k, dtype, method="power", smooth=False):
    """Predicted peak memory (bytes) of :meth:`Network.sharpness` by ``method``.

    ``'power'`` keeps one vector, ``'lanczos'`` ``_LANCZOS_VECTORS`` of them, on top
    of the work arrays of a Hessian-vector product and the cached activations.
    """
    vectors = _HVP_VECTORS + (_LANCZOS_VECTORS if method == "lanczos" else 1)
    P = n_params(n, d, k)
    if method == "dense":
        return 8 * P * P + 8 * (_HVP_VECTORS + 1) * P + activation_cache_bytes(m, n, dtype, smooth)
    return 8 * vectors * P + activation_cache_bytes(m, n, dtype, smooth) + 8 * m * 4 * k * (d + 1)


def _tn_product(Y, A):
    """``Y^T A`` for a tall ``Y`` (m, c) and ``A`` (m, n): for c <= 3, one
    matrix-vector product per column of ``Y``, which BLAS runs faster than the
    thin matrix product."""
    if Y.shape[1] <= 3:
        return np.stack([y @ A for y in Y.T])
    return Y.T @ A


class Params:
    """The parameters ``(W, b, v, c)`` of a two-layer network."""

    __slots__ = GROUPS

    def __init__(self, W, b, v, c):
        self.W, self.b, self.v, self.c = W, b, v, c

    def copy(self):
        return Params(*(getattr(self, g).copy() for g in GROUPS))

    def arrays(self):
        return [getattr(self, g) for g in GROUPS]

    def flat(self):
        return np.concatenate([a.ravel() for a in self.arrays()])

    def like(self, flat):
        """Parameters shaped like ``self`` from a flat vector."""
        out, i = [], 0
        for a in self.arrays():
            out.append(flat[i : i + a.size].reshape(a.shape))
            i += a.size
        return Params(*out)

    def all_finite(self):
        # checked at every step of a descent: one float64 sum per array (sums_finite)
        return sums_finite(*self.arrays())


class L2Penalty:
    """Weight decay: ``sum_g lambda_g |theta_g|^2 / 2`` over some parameter groups.

    It adds ``lambda_g theta_g`` to the gradient and ``lambda_g`` to the
    Hessian's diagonal in group ``g``, so every trainer, the sharpness and
    the step rules see it.

    Parameters
    ----------
    strengths : dict
        ``lambda_g`` by group name (``GROUPS``); groups left out are not penalised.
    """

    def __init__(self, strengths):
        self.strengths = {g: float(lam) for g, lam in strengths.items() if lam != 0.0}

    @classmethod
    def weight_decay(cls, alpha, weight_sum, penalize_bias=False, output_scale=1.0):
        """The penalty of ``MLPRegressor``'s convention: the objective
        ``(sum_i w_i |r_i|^2 + alpha (|W|^2 + |v|^2)) / (2 sum_i w_i)`` (and
        ``|b|^2`` with ``penalize_bias``), so ``lambda = alpha / sum(w)``.
        ``output_scale``: the output weights are held as ``s v`` (the
        diagnostics fold ``s`` into them), so theirs is ``lambda / s^2``."""
        lam = alpha / weight_sum
        return cls({"W": lam, "b": lam if penalize_bias else 0.0, "v": lam / output_scale**2})

    def __bool__(self):
        return bool(self.strengths)

    def value(self, params):
        return 0.5 * sum(lam * float(np.vdot(a, a)) for a, lam in self._pairs(params))

    def add(self, params, out):
        """``out + lambda_g params_g`` in each penalised group (the gradient's or a
        Hessian-vector product's term: the same map); new arrays, ``out`` may be a view."""
        for g, lam in self.strengths.items():
            setattr(out, g, getattr(out, g) + lam * getattr(params, g))
        return out

    def _pairs(self, params):
        return [(getattr(params, g), lam) for g, lam in self.strengths.items()]


class Batch:
    """Inputs, targets and normalised weights ``p`` (summing to one) of a loss."""

    def __init__(self, X, Y, sample_weight):
        self.X, self.Y = X, Y
        self.weight_sum = float(np.sum(sample_weight))  # the weight decay's denominator
        self.p = (sample_weight / self.weight_sum).astype(X.dtype)
        self._X1 = None
        # the sorted path (_sorted1d) on 1-D inputs: the order that sorts them, and
        # the units' slots at the last parameters seen
        self._order1d = self._slots1d = None

    @property
    def X1(self):
        """``[X, 1]``: the bias folds into the matrix products."""
        if self._X1 is None:
            # C-ordered whatever the order of X: the row kernel (linear_pieces_rows) reads it by rows
            m, d = self.X.shape
            self._X1 = np.empty((m, d + 1), dtype=self.X.dtype)
            self._X1[:, :d], self._X1[:, d] = self.X, 1
        return self._X1


class Network:
    """Forward pass, loss, gradient and Hessian-vector products at fixed data.

    Parameters
    ----------
    activation : Activation
    scale : float
        Output scale ``s``.
    penalty : L2Penalty or None, default=None
        Weight decay added to the loss, its gradient and its Hessian.
    """

    def __init__(self, activation, scale, penalty=None):
        self.act, self.s = activation, scale
        self.penalty = penalty if penalty else None
        self._buffers = {}
        self._slope_scalars = {}

    def _buffer(self, name, shape, dtype):
        """A work array kept between calls: the m x n temporaries of a training step
        are reused instead of being allocated (and faulted in) at every step."""
        key = (name, shape, np.dtype(dtype))
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.empty(shape, dtype=dtype)
        return buf

    def pre(self, params, X):
        Z = X @ params.W.T
        Z += params.b
        return Z

    def predict(self, params, X):
        """Network output, through row blocks of ``BLOCK_BYTES``: the ``m x n``
        activations of a wide network are never formed at once (on 1-D inputs,
        by the sorted path of :mod:`._sorted1d` where it is faster)."""
        n, k = params.v.shape
        if _sorted1d.wins(self.act, X, n):
            return _sorted1d.predict(self.act, self.s, params, X)
        dt = np.result_type(X.dtype, params.W.dtype)
        out = np.empty((X.shape[0], k), dtype=dt)
        rows = max(1, BLOCK_BYTES // (max(n, 1) * dt.itemsize))
        fused = k == 1 and self.act.slopes is not None
        if fused:  # the forward pass of linear_pieces_pass: out = s act(Z) v + c
            v = np.ascontiguousarray(params.v[:, 0], dtype=dt)
            shift = np.full(X.shape[0], -params.c[0], dtype=dt)
            pos, neg, zero = self._slopes(dt)
        for i in range(0, X.shape[0], rows):
            Z = self.pre(params, X[i : i + rows])
            if fused:
                block = slice(i, i + Z.shape[0])
                _linear_pieces.linear_pieces_pass(np.ascontiguousarray(Z, dtype=dt), v, shift[block],
                                                  dt.type(self.s), out[block, 0], pos=pos, neg=neg, zero=zero)
            else:
                out[i : i + rows] = self.act.value(Z) @ params.v
        if not fused:
            out *= self.s
            out += params.c
        return out

    def loss(self, params, batch, penalized=True):
        """The loss; ``penalized=False`` leaves out the weight decay (the fit's error only)."""
        R = self.predict(params, batch.X) - batch.Y
        loss = 0.5 * float(batch.p @ np.sum(R * R, axis=1))
        if penalized and self.penalty is not None:
            loss += self.penalty.value(params)
        return loss

    def loss_and_grad(self, params, batch):
        """Loss and gradient (a Params), with the weight decay if any."""
        loss, grad = self._data_loss_and_grad(params, batch)
        if self.penalty is not None:
            loss += self.penalty.value(params)
            grad = self.penalty.add(params, grad)
        return loss, grad

    def _data_loss_and_grad(self, params, batch):
        """Loss and gradient of the data term by backpropagation.

        The rows go through in blocks whose m x n work arrays (reused between
        calls) stay in the CPU cache between the passes over them; the weight
        and bias gradients come from one product with ``X1 = [X, 1]``.  On 1-D
        inputs the sorted path of :mod:`._sorted1d` (``O((m + n) log(m + n))``)
        runs instead where it is faster, and with a piecewise-linear activation and
        one output a kernel that forms no ``m x n`` array: the tiles of
        :func:`._linear_tiles.linear_pieces_tiles` (see ``TILES_MIN_D``) or the row
        kernel :func:`._linear_pieces.linear_pieces_rows` (see ``ROWS_WEIGHT_BYTES``).
        """
        if _sorted1d.wins(self.act, batch.X, params.v.shape[0]):
            return _sorted1d.loss_and_grad(self.act, self.s, params, batch, Params)
        dt, s = batch.X.dtype, self.s
        (n, d), k = params.W.shape, params.v.shape[1]
        # an activation the kernels cannot take (kernel_variant: neg = 0 other than ReLU) takes the blocks
        slopes = self.act.slopes
        fused = k == 1 and slopes is not None and _linear_pieces.kernel_variant(*slopes) >= 0
        kernel = None
        if fused and tiles_win(batch.X.shape[0], n, d, dt.itemsize):
            kernel = _linear_tiles.linear_pieces_tiles
        elif fused and rows_kernel_wins(n, d, dt.itemsize):
            kernel = _linear_pieces.linear_pieces_rows
        # contiguous for BLAS (faster than on a transposed view); rows padded for the row kernel
        # (_linear_pieces.padded_width: rows of a multiple of 2 KiB evict one another from the cache)
        W1T = np.empty((d + 1, _linear_pieces.padded_width(n, dt.itemsize) if kernel else n), dtype=dt)[:, :n]
        W1T[:d], W1T[d] = params.W.T, params.b
        if kernel is not None:
            loss, PR, gv, G1T = self._rows(params, batch, W1T, kernel)
        else:
            loss, PR, gv, G1T = self._blocks(params, batch, W1T)
        if k == 1:
            G1T *= params.v[:, 0]
        if s != 1.0:
            gv *= s
            G1T *= s
        return loss, Params(G1T[:d].T, G1T[d], gv, PR.sum(axis=0))

    def _slopes(self, dtype):
        """The activation's ``slopes`` (piecewise-linear) as scalars of ``dtype`` (made once
        per dtype: a step asks for them every time)."""
        dtype = np.dtype(dtype)
        slopes = self._slope_scalars.get(dtype)
        if slopes is None:
            slopes = self._slope_scalars[dtype] = tuple(dtype.type(slope) for slope in self.act.slopes)
        return slopes

    def _blocks(self, params, batch, W1T):
        """The loss, ``p * residual`` (m, k), and ``gv`` and ``G1T`` as :meth:`_backprop`
        leaves them, through row blocks of ``BLOCK_BYTES``."""
        X1, dt = batch.X1, W1T.dtype
        m, (d1, n), k = X1.shape[0], W1T.shape, params.v.shape[1]
        rows = block_rows(m, n, d1 - 1, dt.itemsize)
        Z = self._buffer("Z", (rows, n), dt)
        if self.act.slopes is not None and k == 1:
            return self._linear_pieces_blocks(params, batch, W1T, Z)
        PR, gv, G1T = np.empty((m, k), dtype=dt), np.zeros((n, k), dtype=dt), np.zeros((d1, n), dtype=dt)
        loss = 0.0
        for i in range(0, m, rows):
            loss += self._backprop(params, W1T, batch, slice(i, i + rows), Z, (PR, gv, G1T))
        return loss, PR, gv, G1T

    def _rows(self, params, batch, W1T, kernel):
        """The step of a piecewise-linear network with one output in one pass of
        ``kernel``, :func:`._linear_pieces.linear_pieces_rows` (few inputs) or
        :func:`._linear_tiles.linear_pieces_tiles` (many), on as many row ranges as
        :func:`row_threads`; returns what :meth:`_linear_pieces_blocks` does."""
        X1, dt = batch.X1, W1T.dtype
        m, n = X1.shape[0], W1T.shape[1]
        v = np.ascontiguousarray(params.v[:, 0], dtype=dt)
        shift = np.asarray(batch.Y[:, 0] - params.c[0], dtype=dt)  # r = s act(Z) v - (y - c)
        R, PR = np.empty(m, dtype=dt), np.empty((m, 1), dtype=dt)
        gv = np.zeros((n, 1), dtype=dt)
        G1T = np.zeros((W1T.shape[0], _linear_pieces.padded_width(n, dt.itemsize)), dtype=dt)[:, :n]
        squares = kernel(X1, W1T, v, shift, batch.p, dt.type(self.s), R, PR[:, 0], gv[:, 0], G1T,
                         *self._slopes(dt), threads=row_threads(m, n, X1.shape[1] - 1, dt.itemsize))
        return 0.5 * squares, PR, gv, G1T

    def _linear_pieces_blocks(self, params, batch, W1T, Z):
        """The row blocks of :meth:`_data_loss_and_grad` for a piecewise-linear
        activation and one output, the passes between the two matrix products fused
        in :func:`._linear_pieces.linear_pieces_pass`; returns the loss, ``p *
        residual`` (m, 1), and ``gv`` and ``G1T`` as :meth:`_backprop` leaves them."""
        X1, dt, rows = batch.X1, Z.dtype, Z.shape[0]
        m, n = X1.shape[0], Z.shape[1]
        v = np.ascontiguousarray(params.v[:, 0], dtype=dt)
        R, PR, gv = np.empty(m, dtype=dt), np.empty((m, 1), dtype=dt), np.zeros(n, dtype=dt)
        shift = np.asarray(batch.Y[:, 0] - params.c[0], dtype=dt)  # r = s act(Z) v - (y - c)
        s, (pos, neg, zero) = dt.type(self.s), self._slopes(dt)
        squares, G1T = 0.0, None
        for i in range(0, m, rows):
            block = slice(i, i + rows)
            x1 = X1[block]
            A = np.matmul(x1, W1T, out=Z[: x1.shape[0]])
            # R = s act(Z) v - shift, PR = p R, gv += act(Z)^T PR; A becomes D = PR act'(Z)
            squares += _linear_pieces.linear_pieces_pass(A, v, shift[block], s, R[block], batch.p[block],
                                                         PR[block, 0], gv, pos=pos, neg=neg, zero=zero)
            # sum_i p_i r_i v_k act'(z_ik) x1_i = v_k (X1^T D)_k: the factor v_k comes after the sum
            part = x1.T @ A
            if G1T is None:
                G1T = part
            else:
                G1T += part
        return 0.5 * squares, PR, gv[:, None], G1T

    def _backprop(self, params, W1T, batch, block, Z, out):
        """The rows ``block`` of :meth:`loss_and_grad` for a smooth activation, or a
        piecewise-linear one with several outputs (one output:
        :meth:`_linear_pieces_blocks`): returns their share of the loss, writes
        ``p * residual`` into ``PR`` and adds their share of the gradient to ``gv``
        and to ``G1T`` (the transposed ``[W, b]`` gradient, without the factors
        ``v`` (one output) and ``s``); ``Z`` is a work array of at least the
        block's rows."""
        X1, Y, p, PR = batch.X1[block], batch.Y[block], batch.p[block], out[0][block]
        _, gv, G1T = out
        rows = X1.shape[0]
        slopes = self.act.slopes
        if slopes is not None:  # act(Z) in a second work array: the passes need Z's signs after it
            pos, neg, zero = self._slopes(Z.dtype)
            A = self._buffer("A", Z.shape, Z.dtype)[:rows]
        Z = np.matmul(X1, W1T, out=Z[:rows])
        if slopes is None:
            A, A1 = self.act.value(Z), self.act.first(Z)
        else:
            _linear_pieces.linear_pieces_value(Z, A, pos, neg)
        R = A @ params.v
        if self.s != 1.0:
            R *= self.s
        R += params.c
        R -= Y
        np.multiply(R, p[:, None], out=PR)
        gv += A.T @ PR
        if params.v.shape[1] == 1:
            # sum_i r_i v_k act'(z_ik) x1_i = v_k sum_i act'(z_ik) (r_i x1_i): the
            # m x n backpropagated signal r v^T * act'(Z) is never formed
            G1T += _tn_product(X1 * PR, A1)
        else:
            D = np.matmul(PR, params.v.T, out=A)  # A is no longer needed: its array takes D
            if slopes is None:
                D *= A1
            else:
                _linear_pieces.linear_pieces_times_slope(D, Z, pos, neg, zero)
            G1T += _tn_product(X1, D)
        return 0.5 * float(p @ np.sum(R * R, axis=1))

    def hvp(self, params, batch, direction, gauss_newton=False):
        """Hessian-vector product ``H p`` (a Params), analytic.

        ``H = J^T P J + sum_i p_i r_i . grad^2 f(x_i)``; the second term has the
        cross blocks between ``v_k`` and ``(w_k, b_k)`` and, for smooth
        activations, the ``act''`` terms of ``(w_k, b_k)``.  ``gauss_newton``
        keeps the first term only.  For many products at the same point use
        :meth:`_hvp_operator`, which does the forward pass once.
        """
        return self._hvp_operator(params, batch, gauss_newton)(direction)

    def sharpness(self, params, batch, gauss_newton=False, tol=1e-6, preconditioner=None, method="lanczos",
                  frozen=None, max_bytes=None, n_iter=30):
        """Top eigenvalue of the loss Hessian by Lanczos (``which='LA'``) on
        analytic Hessian-vector products; ``method='dense'`` forms the matrix.

        ``preconditioner``: a flat vector ``M`` (the potential's Hessian for
        mirror descent); then the top eigenvalue of ``M^{-1/2} H M^{-1/2}``.
        ``frozen``: names of parameter groups (``GROUPS``) that are not trained
        (e.g. ``('c',)`` without an output bias); their rows and columns of the
        Hessian are projected out.

        ``method='power'``: ``n_iter`` steps of the power iteration with one
        vector, which estimate the largest *absolute* eigenvalue from below
        (``|H x|`` for a unit ``x``); the memory of one vector instead of
        Lanczos' ``_LANCZOS_VECTORS``.  ``max_bytes``: if the predicted memory
        (:func:`curvature_bytes`) exceeds it, raise ``MemoryError`` before
        allocating anything.
        """
        m, (n, d), k = batch.X.shape[0], params.W.shape, params.v.shape[1]
        dim = n_params(n, d, k)
        if method != "dense" and dim < 3:
            method = "dense"
        need = curvature_bytes(m, n, d, k, batch.X.dtype, method, smooth=self.act.kink_jump is None)
        if max_bytes is not None and need > max_bytes:
            raise MemoryError(
                f"The {method} estimate of the sharpness of {dim} parameters on {m} samples needs about "
                f"{need / 2**20:.0f} MiB, more than the {max_bytes / 2**20:.0f} MiB allowed.")
        scale = None if preconditioner is None else 1.0 / np.sqrt(preconditioner)
        if frozen:
            keep = params.like(np.ones(dim))
            for group in frozen:
                getattr(keep, group)[...] = 0.0
            keep = keep.flat()
            scale = keep if scale is None else scale * keep
        hvp = self._hvp_operator(params, batch, gauss_newton)
        dtype = batch.X.dtype

        def mv(x):
            x = np.asarray(x, dtype=np.float64).ravel()
            if scale is not None:
                x = scale * x
            out = hvp(params.like(x.astype(dtype, copy=False))).flat().astype(np.float64, copy=False)
            return out if scale is None else scale * out

        if method == "dense":
            H = np.column_stack([mv(e) for e in np.eye(dim)])
            return float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
        v0 = np.random.RandomState(0).standard_normal(dim)
        if scale is not None:
            v0 *= scale != 0  # a start inside the frozen block would waste a Krylov direction
        if method == "power":
            return _power_iteration(mv, v0, n_iter)
        op = LinearOperator((dim, dim), matvec=mv, dtype=np.float64)
        return float(eigsh(op, k=1, which="LA", v0=v0, tol=tol, return_eigenvectors=False)[0])

    def _hvp_operator(self, params, batch, gauss_newton=False):
        """The map ``direction -> H direction`` (Params to Params) at fixed parameters and
        data, with the weight decay's diagonal if any (in the Gauss-Newton matrix too:
        it is the curvature of the penalty, not of the residuals)."""
        data = self._data_hvp_operator(params, batch, gauss_newton)
        if self.penalty is None:
            return data
        return lambda direction: self.penalty.add(direction, data(direction))

    def _data_hvp_operator(self, params, batch, gauss_newton=False, chunk=2**19):
        """:meth:`_hvp_operator` of the data term.

        The forward pass (pre-activations, ``act'``, residuals) is done here once:
        Lanczos needs dozens of products at the same point and the forward pass
        used to dominate each of them.  For the piecewise-linear activations
        (``act(z) = z act'(z)`` and ``act'' = 0`` off the kinks) every product is
        then two matrix products with the cached ``m x n`` matrix ``A1 = act'(Z)``
        and thin ``(d + 1) k``-column factors, so no ``m x n`` temporary is formed
        per product:

        ``J p = s rowdot(x, A1 (v dW1 + dv W1)) + dc`` and, with
        ``Q = A1^T [P J p * x, P r * x]``, ``(H p)_W1 = s (v Q_J + dv Q_R)``,
        ``(H p)_v = s (W1 . Q_J + dW1 . Q_R)`` (``W1 = [W | b]``, ``x = [x | 1]``).
        Smooth activations keep ``act``, ``act'`` and ``act''`` of the cached
        pre-activations and use the explicit formula.  ``chunk`` bounds the
        number of elements of the temporaries of the forward pass.
        """
        if _sorted1d.wins(self.act, batch.X, params.v.shape[0]):
            return _sorted1d.hvp_operator(self.act, self.s, params, batch, gauss_newton, Params)
        X1, dt, s = batch.X1, batch.X.dtype, self.s
        m, d1 = X1.shape
        n, k = params.v.shape
        W1 = np.empty((n, d1), dtype=dt)
        W1[:, :-1], W1[:, -1] = params.W, params.b
        v, p = params.v, batch.p[:, None]
        if self.act.kink_jump is None:
            return self._hvp_operator_smooth(params, batch, W1, gauss_newton)

        # act'(Z) for a block of rows: kept for all rows when m x n fits in working_memory
        # (every product then reuses it), recomputed block by block otherwise, so that
        # the memory stays bounded for any width
        cached = m * n * dt.itemsize <= working_memory_bytes()
        if cached:
            rows = m
        else:  # the block and its pre-activations: two m_block x n arrays
            rows = max(1, working_memory_bytes() // (2 * max(n, 1) * dt.itemsize))
        chunks = [slice(lo, min(lo + rows, m)) for lo in range(0, m, rows)]

        def derivative(block):
            out = np.empty((block.stop - block.start, n), dtype=dt)
            sub = max(1, chunk // max(n, 1))
            for lo in range(0, out.shape[0], sub):
                Z = X1[block.start + lo : min(block.start + lo + sub, block.stop)] @ W1.T
                if self.act.name == "relu":  # written straight as 0.0 / 1.0, no boolean temporary
                    np.greater(Z, 0, out=out[lo : lo + sub])
                else:
                    out[lo : lo + sub] = self.act.first(Z)
            return out

        A1_all = derivative(chunks[0]) if cached else None

        def A1_of(block):
            return A1_all if cached else derivative(block)

        def rowdot(A1, B, x1):
            """``sum_l x_il (A1 @ B)_i(j,l)`` for ``B`` of ``k`` blocks of ``d + 1`` columns."""
            if B.shape[1] <= 3:  # matrix-vector products beat the thin matrix product
                F = np.stack([A1 @ col for col in B.T], axis=1)
            else:
                F = A1 @ B
            return np.einsum("ijl,il->ij", F.reshape(x1.shape[0], k, d1), x1)

        def blocks(a, B):  # (n, k) times (n, d+1) -> (n, k (d+1)), block j = a[:, j] * B
            return (a[:, :, None] * B[:, None, :]).reshape(n, k * d1)

        PR = None
        if not gauss_newton:
            Bv = blocks(v, W1)
            R = np.empty((m, k), dtype=dt)
            for block in chunks:
                R[block] = s * rowdot(A1_of(block), Bv, X1[block])
            R += params.c - batch.Y
            PR = R * p
            del Bv

        def apply(direction):
            dW1 = np.empty_like(W1)
            dW1[:, :-1], dW1[:, -1] = direction.W, direction.b
            dv = direction.v
            B = blocks(v, dW1) + blocks(dv, W1)
            nf = 1 if gauss_newton else 2
            QT, PJ = None, np.empty((m, k), dtype=dt)
            for block in chunks:
                A1, x1 = A1_of(block), X1[block]
                PJ[block] = (s * rowdot(A1, B, x1) + direction.c) * p[block]
                factors = [PJ[block]] if gauss_newton else [PJ[block], PR[block]]
                C = np.concatenate([(F[:, :, None] * x1[:, None, :]).reshape(x1.shape[0], k * d1)
                                    for F in factors], axis=1)
                part = _tn_product(C, A1)
                QT = part if QT is None else QT + part
            Q = QT.T.reshape(n, nf, k, d1)
            G1 = s * np.einsum("nj,njl->nl", v, Q[:, 0])
            gv = s * np.einsum("njl,nl->nj", Q[:, 0], W1)
            if not gauss_newton:
                G1 += s * np.einsum("nj,njl->nl", dv, Q[:, 1])
                gv += s * np.einsum("njl,nl->nj", Q[:, 1], dW1)
            return Params(G1[:, :-1], G1[:, -1], gv, PJ.sum(axis=0))

        return apply

    def _hvp_operator_smooth(self, params, batch, W1, gauss_newton):
        """:meth:`_hvp_operator` for activations with a nonzero ``act''``: cached
        ``act``, ``act'``, ``act''`` and residuals, explicit products."""
        X, X1, s, v = batch.X, batch.X1, self.s, params.v
        Z = X1 @ W1.T
        A, A1 = self.act.value(Z), self.act.first(Z)
        A2 = None
        if not gauss_newton:
            PR = (s * (A @ v) + params.c - batch.Y) * batch.p[:, None]
            A2 = self.act.second(Z) * (PR @ v.T)  # the act'' term is A2 * dZ
        del Z

        def apply(direction):
            dZ = X @ direction.W.T + direction.b  # change of the pre-activations
            A1dZ = A1 * dZ
            Jp = s * (A1dZ @ v + A @ direction.v) + direction.c  # (m, k)
            PJ = Jp * batch.p[:, None]
            gv = s * (A.T @ PJ)
            D = (PJ @ v.T) * A1
            if not gauss_newton:
                gv += s * (A1dZ.T @ PR)
                D += A1 * (PR @ direction.v.T)
                D += A2 * dZ
            D *= s
            return Params(D.T @ X, D.sum(axis=0), gv, PJ.sum(axis=0))

        return apply


def _power_iteration(mv, x, n_iter):
    """``|H x_t|`` after ``n_iter`` power steps ``x_{t+1} = H x_t / |H x_t|`` from ``x``:
    a lower bound of the largest absolute eigenvalue that converges to it."""
    x = x / np.linalg.norm(x)
    top = 0.0
    for _ in range(n_iter):
        y = mv(x)
        top = float(np.linalg.norm(y))
        if not top > 0 or not np.isfinite(top):  # H x = 0: zero curvature along everything reached
            return top if np.isfinite(top) else np.inf
        x = y / top
    return top
