"""The fused passes of piecewise-linear activations (``_linear_pieces``) against
plain numpy, and the gradient that uses them against the same gradient written
out in numpy, over several row blocks, in float64 and float32.

Tolerances: the kernels sum ``act(Z) v`` and ``act(Z)^T pr`` in another order
than BLAS, so a sum of ``N`` terms agrees to ``N eps`` times the sum of the
terms' absolute values; every other entry is one rounded product or exact."""

import math
import multiprocessing
import os
import threading
import time

import numpy as np
import pytest

from sklearn_shallowrelu import _linear_pieces, _linear_tiles, _network, _parts
from sklearn_shallowrelu._network import Batch, Network, Params
from sklearn_shallowrelu.activations import ACTIVATIONS, Activation

EPS = {np.float64: float(np.finfo(np.float64).eps), np.float32: float(np.finfo(np.float32).eps)}
PIECEWISE = [name for name in sorted(ACTIVATIONS) if ACTIVATIONS[name].slopes is not None]


def test_the_piecewise_linear_activations_have_slopes():
    assert PIECEWISE == ["abs", "leaky_relu", "relu"]
    for name in PIECEWISE:
        act = ACTIVATIONS[name]
        z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
        pos, neg, zero = act.slopes
        np.testing.assert_array_equal(act.first(z), [neg, neg, zero, pos, pos])
        np.testing.assert_array_equal(act.value(z), z * act.first(z))


def _pass(name, Z, v, shift, s, p, gv, avx2=True):
    """``linear_pieces_pass`` of ``name`` in place on ``Z``; returns ``R``, ``PR``
    and the returned sum (forward only, without ``p``: ``R`` alone)."""
    dt = Z.dtype.type
    rows = Z.shape[0]
    R = np.empty(rows, Z.dtype)
    PR = None if p is None else np.empty(rows, Z.dtype)
    pos, neg, zero = (dt(slope) for slope in ACTIVATIONS[name].slopes)
    squares = _linear_pieces.linear_pieces_pass(Z, v, shift, dt(s), R, p, PR, gv, pos=pos, neg=neg, zero=zero,
                                                avx2=avx2)
    return (R, PR, squares) if p is not None else R


def _pass_inputs(rng, dtype, rows, n):
    Z = rng.standard_normal((rows, n)).astype(dtype)
    if n:
        Z[0, 0] = 0.0  # the derivative at the kink is the one act.first gives
    return (Z, rng.standard_normal(n).astype(dtype), rng.standard_normal(rows).astype(dtype),
            rng.uniform(0.5, 2.0, rows).astype(dtype))


@pytest.mark.parametrize("name", PIECEWISE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [0, 1, 3, 4, 7, 8, 17, 64])
@pytest.mark.parametrize("avx2", [True, False])
def test_the_pass_equals_numpy(name, dtype, n, avx2):
    """Both lane widths (``avx2=False``: 16 bytes; where the CPU lacks AVX2 both
    run those) and every tail length: ``R = s act(Z) v - shift`` is a sum of
    ``n`` terms and a rounded product and difference, ``gv`` adds 9 rows, ``D``
    and ``PR`` are one rounded product each, and the returned sum is
    ``sum p r^2`` of the returned entries, summed in float64."""
    act, eps, s = ACTIVATIONS[name], EPS[dtype], 0.75
    rng = np.random.default_rng(n)
    Z0, v, shift, p = _pass_inputs(rng, dtype, 9, n)
    A, A1 = act.value(Z0).astype(np.float64), act.first(Z0)
    gv = np.ones(n, dtype)  # accumulated into
    Z = Z0.copy()
    R, PR, squares = _pass(name, Z, v, shift, s, p, gv, avx2=avx2)
    terms = s * (np.abs(A) @ np.abs(v)) + np.abs(shift)
    assert np.all(np.abs(R - (s * (A @ v) - shift)) <= (n + 2) * eps * terms)
    np.testing.assert_array_equal(PR, p * R)
    np.testing.assert_array_equal(Z, PR[:, None] * A1.astype(dtype))
    bound = 10 * eps * (np.abs(A).T @ np.abs(PR) + 1)
    assert np.all(np.abs(gv - (1 + A.T @ PR)) <= bound)
    assert squares == pytest.approx(math.fsum(PR.astype(np.float64) * R), rel=20 * float(np.finfo(float).eps))
    # the forward pass alone: the same R, Z untouched, nothing summed
    Z = Z0.copy()
    np.testing.assert_array_equal(_pass(name, Z, v, shift, s, None, None, avx2=avx2), R)
    np.testing.assert_array_equal(Z, Z0)


@pytest.mark.parametrize("name", PIECEWISE)
def test_a_nan_pre_activation_gives_a_nan_output(name):
    """As numpy's passes have it, so a step that produced one shows a NaN loss."""
    Z = np.array([[np.nan, -1.0, 2.0, 0.5, -3.0]])
    R, _, squares = _pass(name, Z, np.ones(5), np.zeros(1), 1.0, np.ones(1), np.zeros(5))
    assert np.isnan(R[0]) and np.isnan(squares)


@pytest.mark.parametrize("name", PIECEWISE)
@pytest.mark.parametrize("avx2", [True, False])
def test_an_infinite_pre_activation_gives_numpys_value(name, avx2):
    """-inf is 0 for ReLU (not -inf * 0 = NaN), -inf for leaky ReLU and inf for abs,
    in the lanes (the first 4 entries) and in the tail (the last)."""
    z = np.array([-np.inf, 1.0, 2.0, 3.0, -np.inf])
    R = _pass(name, z[None].copy(), np.ones(5), np.zeros(1), 1.0, None, None, avx2=avx2)
    assert R[0] == ACTIVATIONS[name].value(z).sum()


def test_the_pass_refuses_inconsistent_shapes():
    Z, v, R = np.zeros((3, 4)), np.zeros(4), np.zeros(3)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        _linear_pieces.linear_pieces_pass(Z, v, np.zeros(2), 1.0, R)
    with pytest.raises(ValueError, match="needs p, PR"):
        _linear_pieces.linear_pieces_pass(Z, v, np.zeros(3), 1.0, R, np.ones(3), None, np.zeros(4))
    with pytest.raises(ValueError, match="needs p, PR"):
        _linear_pieces.linear_pieces_pass(Z, v, np.zeros(3), 1.0, R, np.ones(3), np.zeros(3), np.zeros(5))


def test_finite_float32_parameters_are_finite():
    """The finiteness check sums in float64: 1000 entries of 1e36 overflow a float32 sum."""
    big = np.full((1000, 1), 1e36, np.float32)
    params = Params(big, np.zeros(1000, np.float32), big, np.zeros(1, np.float32))
    assert params.all_finite()
    params.b[3] = np.inf
    assert not params.all_finite()


def _numpy_loss_and_grad(act, params, batch, s):
    """The loss and gradient of a network with one output, written out."""
    X, y, p = batch.X.astype(np.float64), batch.Y[:, 0].astype(np.float64), batch.p.astype(np.float64)
    W, b, v, c = (a.astype(np.float64) for a in params.arrays())
    Z = X @ W.T + b
    A = act.value(Z)
    r = s * (A @ v[:, 0]) + c[0] - y
    pr = p * r
    D = (pr[:, None] * act.first(Z)) * (s * v[:, 0])
    return 0.5 * pr @ r, [D.T @ X, D.sum(axis=0), s * (A.T @ pr)[:, None], np.array([pr.sum()])]


@pytest.mark.parametrize("name", PIECEWISE)
@pytest.mark.parametrize("kernel, threads", [("blocks", 1), ("rows", 1), ("rows", 3), ("rows", 64), ("tiles", 1), ("tiles", 3), ("tiles", 64)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_gradient_over_row_blocks_equals_numpy(name, kernel, threads, dtype, scale, monkeypatch):
    """Blocks of 16 rows over 50 samples: four blocks, the last one short; the row
    kernel (linear_pieces_rows) and the tile kernel (linear_pieces_tiles), each in
    one call or in three row ranges on threads, or in one range per row (64 threads
    asked for, 50 rows)."""
    if kernel == "rows" and not _linear_pieces.ROWS_LEVELS:
        pytest.skip("the row kernel was built without vector types (a compiler without them)")
    if kernel == "tiles" and not _linear_tiles.TILES_AVAILABLE:
        pytest.skip("the tile kernel needs AVX2 and FMA")
    monkeypatch.setattr(_network, "BLOCK_ROWS", 16)
    monkeypatch.setattr(_network, "rows_kernel_wins", lambda *shape: kernel == "rows")
    monkeypatch.setattr(_network, "tiles_win", lambda *shape: kernel == "tiles")
    monkeypatch.setattr(_network, "row_threads", lambda *shape: threads)
    rng = np.random.default_rng(7)
    m, n, d = 50, 13, 4
    X = rng.standard_normal((m, d)).astype(dtype)
    params = Params(*(a.astype(dtype) for a in (rng.standard_normal((n, d)), rng.standard_normal(n),
                                                 rng.standard_normal((n, 1)), rng.standard_normal(1))))
    batch = Batch(X, rng.standard_normal((m, 1)).astype(dtype), rng.uniform(0.5, 2.0, m))
    act = ACTIVATIONS[name]
    loss, grad = Network(act, scale)._data_loss_and_grad(params, batch)
    ref_loss, ref = _numpy_loss_and_grad(act, params, batch, scale)
    # every entry is a sum of at most m (n + d) terms, each rounded a few times
    tol = 4 * m * (n + d) * EPS[dtype]
    assert loss == pytest.approx(ref_loss, rel=tol)
    for got, want in zip(grad.arrays(), ref):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("name", PIECEWISE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_passes_of_several_outputs_equal_numpy(name, dtype):
    act = ACTIVATIONS[name]
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((9, 7)).astype(dtype)
    Z[0, :3] = [0.0, np.nan, -np.inf]
    pos, neg, zero = (Z.dtype.type(s) for s in act.slopes)
    A = np.empty_like(Z)
    _linear_pieces.linear_pieces_value(Z, A, pos, neg)
    np.testing.assert_array_equal(A[1:], act.value(Z[1:]))
    # 0 and -inf as numpy has them (ReLU's -inf gives 0, not -inf * 0 = NaN); NaN stays
    np.testing.assert_array_equal(A[0, [0, 2]], act.value(Z[0, [0, 2]]))
    assert np.isnan(A[0, 1])
    D = rng.standard_normal((9, 7)).astype(dtype)
    want = D * act.first(Z)
    _linear_pieces.linear_pieces_times_slope(D, Z, pos, neg, zero)
    np.testing.assert_array_equal(D[1:], want[1:])
    assert D[0, 0] == want[0, 0]


@pytest.mark.parametrize("name", PIECEWISE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_of_several_outputs_over_row_blocks_equals_numpy(name, dtype, monkeypatch):
    monkeypatch.setattr(_network, "BLOCK_ROWS", 16)
    rng = np.random.default_rng(8)
    m, n, d, k = 50, 13, 4, 3
    act = ACTIVATIONS[name]
    X = rng.standard_normal((m, d))
    Y = rng.standard_normal((m, k))
    W, b, V, c = rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal((n, k)), rng.standard_normal(k)
    p = rng.uniform(0.5, 2.0, m)
    params = Params(*(a.astype(dtype) for a in (W, b, V, c)))
    batch = Batch(X.astype(dtype), Y.astype(dtype), p)
    loss, grad = Network(act, 0.5)._data_loss_and_grad(params, batch)
    # the same in float64 from the float32-rounded inputs, written out
    X, Y, W, b, V, c = (a.astype(dtype).astype(np.float64) for a in (X, Y, W, b, V, c))
    p = p / p.sum()
    Z = X @ W.T + b
    A = act.value(Z)
    PR = p[:, None] * (0.5 * A @ V + c - Y)
    D = 0.5 * (PR @ V.T) * act.first(Z)
    ref = [D.T @ X, D.sum(axis=0), 0.5 * A.T @ PR, PR.sum(axis=0)]
    tol = 4 * m * (n + d) * k * EPS[dtype]
    assert loss == pytest.approx(0.5 * np.sum(PR * (PR / p[:, None])), rel=tol)
    for got, want in zip(grad.arrays(), ref):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


# ----------------------------------------------------------------- the row kernel

def _linear_pieces_rows_reference(act, X1, W1T, v, shift, p, s, eps):
    """``linear_pieces_rows`` in float64 from the same (rounded) inputs, with the
    bounds of its rounding in a precision of unit roundoff ``eps``: each entry of
    ``z`` is a sum of ``d + 1`` products, each ``r`` of ``n`` more, and each
    gradient entry of ``m`` more, so an entry may move by about (number of
    terms) eps times the sum of the terms' absolute values (written with the
    absolute values of every factor; 4 for the products inside each term).  A
    pre-activation within its own bound of 0 may take either side of the kink:
    its row's whole term counts into the bound of ``G1T``."""
    X1, W1T, v, shift, p = (a.astype(np.float64) for a in (X1, W1T, v, shift, p))
    s = float(s)
    m, d1, n = X1.shape[0], X1.shape[1], W1T.shape[1]
    Z = X1 @ W1T
    A = act.value(Z)
    R = s * (A @ v) - shift
    PR = p * R
    gv, G1T = A.T @ PR, X1.T @ (PR[:, None] * act.first(Z))
    slope = max(abs(t) for t in act.slopes)
    z_abs = slope * (np.abs(X1) @ np.abs(W1T))
    r_abs = s * (z_abs @ np.abs(v)) + np.abs(shift)
    terms = 4 * (d1 + n + m)
    near = np.abs(Z) <= terms * eps * z_abs
    kink = 2 * slope * np.abs(X1).T @ ((p * r_abs)[:, None] * near)
    bounds = (terms * eps * r_abs, terms * eps * p * r_abs, terms * eps * (z_abs.T @ (p * r_abs)),
              terms * eps * slope * (np.abs(X1).T @ (p * r_abs)[:, None]) + kink)
    return (R, PR, gv, G1T), bounds


def _rows_args(name, dtype):
    """The slopes of ``name`` for linear_pieces_rows (ReLU's are its defaults)."""
    return tuple(dtype(t) for t in ACTIVATIONS[name].slopes)


def _rows_kernel(level):
    return lambda *args: _linear_pieces.linear_pieces_rows(*args, level=level)


def _tiles_kernel(rb=0):
    return lambda *args: _linear_tiles.linear_pieces_tiles(*args, rb=rb)


# the kernels that take a whole step: the row kernel at each instruction set this CPU runs,
# and the tile kernel in blocks of 6 rows (every block a single tile) and of its own size
KERNELS = {f"rows{level}": _rows_kernel(level) for level in _linear_pieces.ROWS_LEVELS}
if _linear_tiles.TILES_AVAILABLE:
    KERNELS.update(tiles6=_tiles_kernel(6), tiles=_tiles_kernel())


def _check_rows(name, kernel, X1, W1T, v, shift, p, s):
    """A row kernel (``_rows_kernel`` or ``_tiles_kernel``) against the reference,
    each entry within its bound; the outputs sit inside sentinel-filled arrays,
    which must stay untouched."""
    dtype = X1.dtype.type
    eps = EPS[dtype]
    m, (d1, n) = X1.shape[0], W1T.shape
    outer = [np.full(m + 2, 7.0, dtype), np.full(m + 2, 7.0, dtype), np.full(n + 2, 7.0, dtype),
             np.full((d1, n + 2), 7.0, dtype)]
    got = (outer[0][1:-1], outer[1][1:-1], outer[2][1:-1], np.ascontiguousarray(outer[3][:, 1:-1]))
    for g in got[2:]:
        g[...] = 1  # gv and G1T are added to
    squares = kernel(X1, W1T, v, shift, p, s, *got, *_rows_args(name, dtype))
    for o in outer[:3]:
        assert o[0] == 7.0 and o[-1] == 7.0
    # the returned sum of p r^2, of the outputs' own entries: float64 products of floats are
    # exact, and a float64 sum of m non-negative terms is within m eps of the exact one
    terms = got[1].astype(np.float64) * got[0].astype(np.float64)
    assert abs(squares - math.fsum(terms)) <= 2 * (m + 1) * EPS[np.float64] * math.fsum(np.abs(terms))
    want, bounds = _linear_pieces_rows_reference(ACTIVATIONS[name], X1, W1T, v, shift, p, s, eps)
    want = (want[0], want[1], want[2] + 1, want[3] + 1)
    for part, g, w, b in zip(("R", "PR", "gv", "G1T"), got, want, bounds):
        assert g.dtype == dtype
        assert np.all(np.abs(g - w) <= b + 2 * eps * np.abs(w)), part


@pytest.mark.parametrize("name", PIECEWISE)
@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m, n, d", [(1, 1, 1), (5, 3, 2), (9, 17, 3), (16, 16, 0), (33, 40, 5), (250, 64, 10),
                                     (7, 129, 31), (20, 8, 100), (3, 0, 2), (61, 24, 13), (100, 70, 47)])
def test_linear_pieces_rows_equals_numpy(name, kernel, dtype, m, n, d):
    """Every instruction-set variant of the row kernel this CPU runs, and the tile
    kernel, for the three activations, on shapes with rows, columns and inputs
    left over from their groups (8 rows, 2 to 16 lanes; tiles of 6 rows or inputs
    by 2 vectors, blocks of rows), and without units (the residual is then
    ``-shift``)."""
    rng = np.random.default_rng(m + n + d)
    X1 = np.hstack([rng.uniform(-1, 1, (m, d)), np.ones((m, 1))]).astype(dtype)
    W1T = rng.standard_normal((d + 1, n)).astype(dtype)
    v, shift = rng.standard_normal(n).astype(dtype), rng.standard_normal(m).astype(dtype)
    p = rng.uniform(0.5, 2.0, m).astype(dtype)
    _check_rows(name, KERNELS[kernel], X1, W1T, v, shift, p, dtype(0.75))


@pytest.mark.parametrize("name", PIECEWISE)
@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_pieces_rows_at_the_kink(name, kernel, dtype):
    """Pre-activations that cancel exactly (``x_1 = x_0``, ``w_1 = -w_0``, no
    bias): with a fused multiply-add the kernel's ``z`` is the rounding error of
    ``x_0 w_0``, of either sign, where the reference has 0; the bound lets those
    rows take either slope."""
    rng = np.random.default_rng(3)
    m, n, d = 19, 17, 2
    X1 = np.hstack([rng.uniform(-1, 1, (m, d)), np.ones((m, 1))]).astype(dtype)
    X1[:, 1] = X1[:, 0]
    W1T = rng.standard_normal((d + 1, n)).astype(dtype)
    W1T[1] = -W1T[0]
    W1T[2] = 0
    v, shift, p = rng.standard_normal(n).astype(dtype), np.ones(m, dtype), np.full(m, 1 / m, dtype)
    _check_rows(name, KERNELS[kernel], X1, W1T, v, shift, p, dtype(1))


@pytest.mark.parametrize("name", PIECEWISE)
@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [3, 37])
def test_linear_pieces_rows_keeps_a_nan_and_the_slope_at_the_kink(name, kernel, dtype, n):
    """A NaN pre-activation gives a NaN residual and ``gv`` (a step that produced
    one shows a NaN loss) and the slope at 0, as the passes do; a pre-activation
    of exactly 0 takes that slope too.  With 3 units most lanes are left over,
    with 37 the vector code runs for all but a few."""
    act = ACTIVATIONS[name]
    X1 = np.array([[np.nan, 1.0], [0.5, 1.0], [2.0, 1.0]], dtype)
    # z of row 1: (0.5, 0, -1.5, then again), of row 2: (2, 1, -3, ...)
    W1T = np.ascontiguousarray(np.tile(np.array([[1.0, 2.0, -2.0], [0.0, -1.0, -0.5]], dtype), (1, n // 3 + 1))[:, :n])
    v, shift, p = np.ones(n, dtype), np.zeros(3, dtype), np.ones(3, dtype)
    R, PR, gv, G1T = np.empty(3, dtype), np.empty(3, dtype), np.zeros(n, dtype), np.zeros((2, n), dtype)
    KERNELS[kernel](X1, W1T, v, shift, p, dtype(1), R, PR, gv, G1T, *_rows_args(name, dtype))
    assert np.isnan(R[0]) and np.all(np.isnan(gv))
    Z = X1[1:].astype(float) @ W1T.astype(float)
    np.testing.assert_allclose(R[1:], act.value(Z).sum(axis=1), rtol=4 * n * EPS[dtype])
    # the weights' gradient takes NaN * 0 from the NaN row's input, as a BLAS product would
    assert np.all(np.isnan(G1T[0]))
    # the bias gradient (the input 1 of every row), as the passes have it: ReLU selects
    # p r where z > 0, so the NaN row adds nothing; the others multiply p r = NaN by the slope
    want = (R[1:, None].astype(float) * act.first(Z)).sum(axis=0)
    if name == "relu":
        np.testing.assert_allclose(G1T[1], want, rtol=4 * EPS[dtype])
    else:
        assert np.all(np.isnan(G1T[1]))


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("m", [1, 5, 8, 13])
def test_linear_pieces_rows_pads_its_last_rows_with_nothing(kernel, m):
    """The rows that fill the last group are not data: with an infinite weight
    (a ReLU unit that is off at every row, z = -inf) they must add nothing, where
    ``0 * inf`` would add NaN.  (For leaky ReLU and the absolute value such a unit
    makes every residual non-finite anyway.)"""
    X1 = np.ones((m, 2))
    W1T = np.array([[-np.inf, 1.0], [0.0, 1.0]])
    R, PR, gv, G1T = np.empty(m), np.empty(m), np.zeros(2), np.zeros((2, 2))
    KERNELS[kernel](X1, W1T, np.array([0.0, 1.0]), np.zeros(m), np.ones(m), 1.0, R, PR, gv, G1T)
    np.testing.assert_array_equal(R, np.full(m, 2.0))
    np.testing.assert_array_equal(gv, [0.0, 4.0 * m])
    np.testing.assert_array_equal(G1T, [[0.0, 2.0 * m], [0.0, 2.0 * m]])


def test_linear_pieces_rows_refuses_what_it_cannot_run():
    X1, W1T = np.ones((4, 3)), np.ones((3, 5))
    args = (np.ones(5), np.ones(4), np.ones(4), 1.0, np.empty(4), np.empty(4), np.zeros(5))
    if not _linear_pieces.ROWS_LEVELS:
        with pytest.raises(RuntimeError, match="without vector types"):
            _linear_pieces.linear_pieces_rows(X1, W1T, *args, np.zeros((3, 5)))
        return
    with pytest.raises(ValueError, match="inconsistent shapes"):
        _linear_pieces.linear_pieces_rows(X1, W1T, *args, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="not among"):
        _linear_pieces.linear_pieces_rows(X1, W1T, *args, np.zeros((3, 5)), level=99)
    with pytest.raises(ValueError, match="neg = 0"):  # -inf * 0 would be NaN where ReLU has 0
        _linear_pieces.linear_pieces_rows(X1, W1T, *args, np.zeros((3, 5)), 2.0, 0.0, 0.0)


def test_the_row_kernel_is_chosen_only_with_wide_vectors(monkeypatch):
    """The rule per instruction set; with 16-byte vectors only (level 1) the kernel
    was slower than the products and passes at every shape measured: never chosen."""
    monkeypatch.setattr(_linear_pieces, "ROWS_LEVELS", (1, 2, 3))  # AVX-512: 8 rows at once
    assert _network.rows_kernel_wins(64, 2, 8) and _network.rows_kernel_wins(4096, 10, 8)
    assert _network.rows_kernel_wins(256, 32, 8) and not _network.rows_kernel_wins(512, 20, 8)
    assert not _network.rows_kernel_wins(64, 100, 8) and not _network.rows_kernel_wins(4096, 11, 8)
    monkeypatch.setattr(_linear_pieces, "ROWS_LEVELS", (1, 2))  # AVX2: 4 rows, a smaller bound
    assert _network.rows_kernel_wins(64, 2, 8) and _network.rows_kernel_wins(4096, 10, 8)
    assert _network.rows_kernel_wins(128, 20, 8) and not _network.rows_kernel_wins(256, 20, 8)
    assert not _network.rows_kernel_wins(64, 32, 4) and not _network.rows_kernel_wins(4096, 11, 8)
    for levels in [(1,), ()]:
        monkeypatch.setattr(_linear_pieces, "ROWS_LEVELS", levels)
        assert not _network.rows_kernel_wins(64, 2, 8)


def test_row_ranges_follow_the_blas_threads_and_the_work(monkeypatch):
    """Ranges on threads only for a step with much work, as many as BLAS may use."""
    monkeypatch.setattr(_network, "_blas_threads", lambda: 2)
    assert _network.row_threads(10_000, 4096, 10, 8) == 2
    assert _network.row_threads(1_000, 64, 10, 8) == 1  # too little work: 5.6 MB
    assert _network.row_threads(10_000, 64, 2, 8) == 2  # 15.4 MB
    monkeypatch.setattr(_network, "_blas_threads", lambda: 1)  # e.g. threadpool_limits(1)
    assert _network.row_threads(10_000, 4096, 10, 8) == 1
    monkeypatch.setattr(_network, "_blas_threads", lambda: 64)
    assert _network.row_threads(10_000, 4096, 10, 8) == 10_000 // _network.ROWS_SPLIT_MIN_ROWS


@pytest.mark.skipif(not _linear_pieces.ROWS_LEVELS or not hasattr(os, "fork"),
                    reason="needs the row kernel and os.fork")
def test_a_forked_child_splits_rows_on_threads_of_its_own(monkeypatch):
    """A child forked after a split step has none of the workers' threads: it must make
    its own (a step there would otherwise wait for ever)."""
    monkeypatch.setattr(_network, "row_threads", lambda *shape: 2)
    monkeypatch.setattr(_network, "rows_kernel_wins", lambda *shape: True)
    rng = np.random.default_rng(5)
    m, n, d = 600, 32, 3
    params = Params(rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal((n, 1)),
                    rng.standard_normal(1))
    batch = Batch(rng.standard_normal((m, d)), rng.standard_normal((m, 1)), np.ones(m))
    net = Network(ACTIVATIONS["relu"], 1.0)
    want = net._data_loss_and_grad(params, batch)[0]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_child_loss, (params, batch)).get(timeout=60)
    assert got == want


def _child_loss(params, batch):
    from sklearn_shallowrelu import _network as net_module

    net_module.row_threads = lambda *shape: 2
    net_module.rows_kernel_wins = lambda *shape: True
    return Network(ACTIVATIONS["relu"], 1.0)._data_loss_and_grad(params, batch)[0]


def _kernel_or_skip(kernel):
    """The row kernel ("rows") or the tile kernel ("tiles"); the test is skipped where it cannot run."""
    if kernel == "rows" and not _linear_pieces.ROWS_LEVELS:
        pytest.skip("the row kernel was built without vector types (a compiler without them)")
    if kernel == "tiles" and not _linear_tiles.TILES_AVAILABLE:
        pytest.skip("the tile kernel needs AVX2 and FMA")
    return _linear_pieces.linear_pieces_rows if kernel == "rows" else _linear_tiles.linear_pieces_tiles


def _in_threads(target, args, timeout=300):
    """``target(a)`` for each ``a`` of ``args``, each on a Python thread of its own, all at
    once; returns what they raised."""
    errors = []

    def run(a):
        try:
            target(a)
        except Exception as exc:  # pragma: no cover - the failure the callers look for
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors


@pytest.mark.parametrize("parts, threads", [(1, 1), (2, 2), (3, 3), (8, 3), (5, 64)])
def test_parts_each_run_once(parts, threads):
    """run_parts: every part exactly once per call, on at most ``threads`` threads."""
    counts, ran, offered = _parts.record_parts(parts, threads, times=300, work_ns=2000)
    assert counts == [300] * parts
    assert offered == (min(parts, threads) if _parts.THREADS_AVAILABLE else 1)
    assert 1 <= len(ran) <= offered


@pytest.mark.skipif(not _parts.THREADS_AVAILABLE, reason="no POSIX threads: every part runs on the caller")
def test_parts_run_on_the_workers_too():
    """Parts long enough for the workers to come take some (each 1 ms; the caller alone
    would take 4 ms a call): over 20 calls more than one thread ran them."""
    seen = set()
    for _ in range(20):
        counts, ran, _ = _parts.record_parts(4, 2, work_ns=1_000_000)
        assert counts == [1] * 4
        seen |= ran
    assert len(seen) >= 2


def test_parts_on_threads_that_sleep_wake_up():
    """After a pause longer than their spin the workers sleep; the next call wakes them
    (or the caller runs their parts): every part still runs once."""
    _parts.record_parts(3, 3)
    time.sleep(0.05)
    counts, _, _ = _parts.record_parts(3, 3, times=2, work_ns=100_000)
    assert counts == [2, 2, 2]


def test_parts_called_from_several_threads_at_once_all_run_once():
    """One caller at a time has the workers, the others run their parts themselves: every
    part of every call runs exactly once, and none waits for ever."""
    results = []

    def calls(parts):
        for _ in range(200):
            results.append(_parts.record_parts(parts, parts, times=3, work_ns=1000)[0] == [3] * parts)

    assert not _in_threads(calls, (2, 3, 4, 5))
    assert len(results) == 800 and all(results)


@pytest.mark.parametrize("kernel", ["rows", "tiles"])
def test_kernel_calls_from_several_threads_give_the_bits_of_one_call(kernel):
    """Concurrent fits: whether a call's ranges ran on the workers or all on its own
    thread, each range has its own gradient and they are added in the same order, so
    every call gives the bits of a call made alone."""
    function = _kernel_or_skip(kernel)
    rng = np.random.default_rng(11)
    m, n, d = 700, 37, 12
    X1 = np.hstack([rng.standard_normal((m, d)), np.ones((m, 1))])
    W1T, v = rng.standard_normal((d + 1, n)), rng.standard_normal(n)
    shift, p = rng.standard_normal(m), rng.uniform(0.5, 2.0, m) / m

    def call(threads):
        R, PR, gv, G1T = np.empty(m), np.empty(m), np.zeros(n), np.zeros((d + 1, n))
        squares = function(X1, W1T, v, shift, p, 1.0, R, PR, gv, G1T, threads=threads)
        return np.concatenate([R, PR, gv, G1T.ravel(), [squares]])

    want = {threads: call(threads) for threads in (2, 3)}
    same = []

    def fit(threads):
        for _ in range(100):
            same.append(np.array_equal(call(threads), want[threads]))

    assert not _in_threads(fit, (2, 3, 2, 3))
    assert len(same) == 400 and all(same)


@pytest.mark.parametrize("kernel", ["rows", "tiles"])
def test_kernels_refuse_fewer_than_one_thread(kernel):
    function = _kernel_or_skip(kernel)
    m, n, d1 = 4, 3, 2
    with pytest.raises(ValueError, match="threads=0"):
        function(np.ones((m, d1)), np.ones((d1, n)), np.ones(n), np.ones(m), np.ones(m), 1.0, np.empty(m),
                 np.empty(m), np.zeros(n), np.zeros((d1, n)), threads=0)


@pytest.mark.skipif(not _linear_pieces.ROWS_LEVELS, reason="the row kernel was built without vector types")
@pytest.mark.parametrize("level", _linear_pieces.ROWS_LEVELS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [5, 64])
def test_linear_pieces_rows_reads_and_writes_padded_rows_as_contiguous_ones(level, dtype, n):
    """The step pads the rows of [W, b] and its gradient (padded_width): the kernel must
    follow their stride and touch no padding; the same operations, so the same bits."""
    rng = np.random.default_rng(3)
    m, d1 = 37, 4
    X1 = rng.standard_normal((m, d1)).astype(dtype)
    W1T, v, shift = (rng.standard_normal(shape).astype(dtype) for shape in ((d1, n), n, m))
    p = rng.uniform(0.5, 2.0, m).astype(dtype)
    ld = _linear_pieces.padded_width(n, np.dtype(dtype).itemsize)
    assert ld >= n and (ld * np.dtype(dtype).itemsize // 64) % 2 == 1
    out = {}
    for padded in (False, True):
        W = np.full((d1, ld if padded else n), np.nan, dtype=dtype)[:, :n]
        W[:] = W1T
        G = np.full((d1, ld if padded else n), 7.0, dtype=dtype)
        R, PR, gv = np.empty(m, dtype), np.empty(m, dtype), np.zeros(n, dtype)
        g = G[:, :n]
        g[:] = 0
        _linear_pieces.linear_pieces_rows(X1, W, v, shift, p, dtype(0.5), R, PR, gv, g, level=level)
        assert np.all(G[:, n:] == 7.0)  # the padding is left alone
        out[padded] = (R, PR, gv, g.copy())
    for a, b in zip(out[False], out[True]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="contiguous"):
        _linear_pieces.linear_pieces_rows(X1, np.asfortranarray(W1T), v, shift, p, dtype(0.5), R, PR, gv,
                                          np.zeros((d1, n), dtype), level=level)


# ---------------------------------------------------------------- the tile kernel

@pytest.mark.skipif(not _linear_tiles.TILES_AVAILABLE, reason="the tile kernel needs AVX2 and FMA")
def test_linear_pieces_tiles_refuses_what_it_cannot_run():
    X1, W1T = np.ones((4, 3)), np.ones((3, 5))
    args = (np.ones(5), np.ones(4), np.ones(4), 1.0, np.empty(4), np.empty(4), np.zeros(5))
    with pytest.raises(ValueError, match="inconsistent shapes"):
        _linear_tiles.linear_pieces_tiles(X1, W1T, *args, np.zeros((2, 5)))
    for rb in (-6, 4):
        with pytest.raises(ValueError, match="multiple of 6"):
            _linear_tiles.linear_pieces_tiles(X1, W1T, *args, np.zeros((3, 5)), rb=rb)
    with pytest.raises(ValueError, match="neg = 0"):
        _linear_tiles.linear_pieces_tiles(X1, W1T, *args, np.zeros((3, 5)), 2.0, 0.0, 0.0)


def test_linear_pieces_tiles_says_where_it_cannot_run(monkeypatch):
    monkeypatch.setattr(_linear_tiles, "TILES_AVAILABLE", False)
    with pytest.raises(RuntimeError, match="AVX2 and FMA"):
        _linear_tiles.linear_pieces_tiles(np.ones((4, 3)), np.ones((3, 5)), np.ones(5), np.ones(4), np.ones(4), 1.0,
                                          np.empty(4), np.empty(4), np.zeros(5), np.zeros((3, 5)))
    assert not _network.tiles_win(10_000, 64, 100, 4)


def test_the_tile_kernel_is_chosen_where_it_was_measured_faster(monkeypatch):
    """AVX2 CPUs only; from d = 10 (wide rows) or 11; with many inputs only on enough
    rows; never with [W, b] past TILES_WEIGHT_BYTES."""
    monkeypatch.setattr(_linear_tiles, "TILES_AVAILABLE", True)
    monkeypatch.setattr(_linear_tiles, "CPU_LEVEL", 2)
    tiles_win = _network.tiles_win
    assert tiles_win(10_000, 64, 100, 4) and tiles_win(100_000, 64, 100, 8) and tiles_win(10_000, 512, 50, 8)
    assert tiles_win(1_000, 64, 11, 4) and tiles_win(1_000, 512, 16, 8) and tiles_win(1_000, 256, 10, 8)
    assert not tiles_win(1_000, 256, 10, 4) and not tiles_win(10_000, 64, 10, 8)  # rows of 1 KiB, 512 B
    assert not tiles_win(10_000, 4096, 5, 4) and not tiles_win(10_000, 64, 2, 8)  # the row kernel's
    assert not tiles_win(1_000, 64, 100, 4) and not tiles_win(1_000, 512, 32, 8)  # the products'
    assert not tiles_win(256, 512, 16, 8)  # too few rows
    assert not tiles_win(10_000, 4096, 100, 4) and tiles_win(10_000, 2048, 100, 4)  # 1.65 MB, 827 KB
    monkeypatch.setattr(_linear_tiles, "CPU_LEVEL", 3)  # AVX-512: not measured
    assert not tiles_win(10_000, 64, 100, 4)


def test_tile_rows_keep_the_work_array_small():
    for n, itemsize in [(0, 4), (1, 8), (64, 4), (64, 8), (100, 8), (4096, 4), (8192, 8)]:
        rb = _linear_tiles.tile_rows(n, itemsize)
        assert rb % 6 == 0 and rb >= 24
        width = max(1, -(-n // (64 // itemsize))) * (64 // itemsize)
        assert rb == 24 or rb * width * itemsize <= _linear_tiles.TILE_BLOCK_BYTES


@pytest.mark.skipif(not _linear_tiles.TILES_AVAILABLE, reason="the tile kernel needs AVX2 and FMA")
@pytest.mark.parametrize("name", PIECEWISE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 3, 8, 16, 17])
def test_linear_pieces_tiles_keeps_an_infinite_input_as_the_row_kernel_does(name, dtype, n):
    """The tiles pad the columns to two vectors: ``x 0`` for an infinite ``x`` must not
    put a NaN into a row whose residual is infinite (widths 1 to 17 leave 0 to 15
    padded columns)."""
    X1 = np.array([[np.inf, 1.0], [-np.inf, 1.0], [0.5, 1.0]], dtype)
    W1T = np.vstack([np.ones(n), np.full(n, 0.5)]).astype(dtype)
    v, shift, p = np.ones(n, dtype), np.zeros(3, dtype), np.ones(3, dtype)
    R, PR, gv, G1T = np.empty(3, dtype), np.empty(3, dtype), np.zeros(n, dtype), np.zeros((2, n), dtype)
    _linear_tiles.linear_pieces_tiles(X1, W1T, v, shift, p, dtype(1), R, PR, gv, G1T, *_rows_args(name, dtype))
    act = ACTIVATIONS[name]
    # z = (inf, -inf, 1) in every column: act(z) summed over the units, infinite or n
    want = act.value(np.array([np.inf, -np.inf, 1.0])) * n
    np.testing.assert_array_equal(R, want.astype(dtype))
    if _linear_pieces.ROWS_LEVELS:
        out = np.empty(3, dtype), np.empty(3, dtype), np.zeros(n, dtype), np.zeros((2, n), dtype)
        _linear_pieces.linear_pieces_rows(X1, W1T, v, shift, p, dtype(1), *out, *_rows_args(name, dtype))
        for got, ref in zip((R, PR, gv, G1T), out):
            np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("kernel", ["rows", "tiles"])
def test_an_activation_the_kernels_cannot_take_goes_through_the_blocks(kernel, monkeypatch):
    """The kernels write act(z) below 0 as neg z, exact with neg = 0 for ReLU alone: an
    activation with neg = 0 and other slopes (here 2 z above 0) takes the blocks."""
    monkeypatch.setattr(_network, "rows_kernel_wins", lambda *shape: kernel == "rows")
    monkeypatch.setattr(_network, "tiles_win", lambda *shape: kernel == "tiles")
    relu = ACTIVATIONS["relu"]
    double = Activation("double_relu", lambda z: 2 * relu.value(z), lambda z: 2 * relu.first(z),
                        relu.second, slopes=(2.0, 0.0, 0.0))
    rng = np.random.default_rng(4)
    m, n, d = 40, 9, 3
    params = Params(rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal((n, 1)),
                    rng.standard_normal(1))
    batch = Batch(rng.standard_normal((m, d)), rng.standard_normal((m, 1)), np.ones(m))
    loss, grad = Network(double, 1.0)._data_loss_and_grad(params, batch)
    ref_loss, ref = _numpy_loss_and_grad(double, params, batch, 1.0)
    tol = 4 * m * (n + d) * EPS[np.float64]  # as in test_gradient_over_row_blocks_equals_numpy
    assert loss == pytest.approx(ref_loss, rel=tol)
    for got, want in zip(grad.arrays(), ref):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
