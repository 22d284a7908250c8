"""The descent's compiled update (``_update.move_groups``) against numpy's
``a - step * g``: the same bits (the module is built without fused multiply-adds,
and the product rounds to the parameters' dtype as numpy's does), the same
finiteness as ``np.isfinite``, each group's layout kept, and the groups it cannot
take in one loop through numpy."""

import numpy as np
import pytest

from sklearn_shallowrelu._update import move_groups


def _network_groups(rng, dtype, n=13, d=4, pad=5):
    """Parameters as the trainer keeps them (W in Fortran order) and a gradient as the
    network returns it: W and b views of a padded ``[W, b]^T``, v a column view of a
    vector, c a vector of one."""
    W = np.asfortranarray(rng.standard_normal((n, d))).astype(dtype, order="F")
    params = [W, rng.standard_normal(n).astype(dtype), rng.standard_normal((n, 1)).astype(dtype),
              rng.standard_normal(1).astype(dtype)]
    G1T = rng.standard_normal((d + 1, n + pad)).astype(dtype)[:, :n]
    gv = rng.standard_normal(n).astype(dtype)
    grads = [G1T[:d].T, G1T[d], gv[:, None], rng.standard_normal(1).astype(dtype)]
    return params, grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("step", [0.37, 1e-3, 0.0])
def test_the_update_gives_numpys_bits_and_keeps_the_layout(dtype, step):
    params, grads = _network_groups(np.random.default_rng(0), dtype)
    moved, finite = move_groups(params, grads, step)
    assert finite is True
    for new, a, g in zip(moved, params, grads):
        assert new.dtype == dtype and new.shape == a.shape
        assert new.flags.f_contiguous == a.flags.f_contiguous and new.flags.c_contiguous == a.flags.c_contiguous
        np.testing.assert_array_equal(new, a - step * g)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("group", range(4))
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, "overflow"])
def test_a_point_with_an_entry_not_finite_is_not_finite(dtype, group, bad):
    """In the parameters, in the gradient, or made by the step (two finite
    numbers whose difference overflows); the other groups are still moved."""
    params, grads = _network_groups(np.random.default_rng(1), dtype)
    last = tuple(size - 1 for size in params[group].shape)  # the last entry of a run, at any layout
    if bad == "overflow":
        big = np.finfo(dtype).max
        params[group][last], grads[group][last] = big, -big
    else:
        params[group][last] = bad
    moved, finite = move_groups(params, grads, 1.0)
    assert finite is False
    for new, a, g in zip(moved, params, grads):
        with np.errstate(over="ignore", invalid="ignore"):
            np.testing.assert_array_equal(new, a - 1.0 * g)


def test_groups_it_cannot_run_in_one_loop_go_through_numpy():
    rng = np.random.default_rng(2)
    a64 = rng.standard_normal((6, 8))
    cases = [
        (a64.astype(np.float32), a64),  # another dtype: numpy's promotion, to float64
        (a64[:, ::2], a64[:, ::2].copy()),  # a not contiguous
        (a64, np.asfortranarray(a64)),  # g's runs not contiguous
        (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))),  # three axes
        (a64.astype(np.int64), a64.astype(np.int64)),  # integers
    ]
    for a, g in cases:
        (new,), finite = move_groups([a], [g], 0.5)
        want = a - 0.5 * g
        assert new.dtype == want.dtype
        np.testing.assert_array_equal(new, want)
        assert finite is True
    (new,), finite = move_groups([a64[:, ::2]], [np.full((6, 4), np.nan)], 0.5)
    assert finite is False


def test_empty_and_single_entry_groups():
    empty = np.empty((0, 3))
    moved, finite = move_groups([empty, np.ones(1), np.ones((1, 1))], [empty, np.ones(1), np.ones((1, 1))], 2.0)
    assert finite is True
    assert moved[0].shape == (0, 3)
    np.testing.assert_array_equal(moved[1], [-1.0])
    np.testing.assert_array_equal(moved[2], [[-1.0]])
