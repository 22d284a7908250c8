"""The spline baselines that several examples set beside ours (a helper, not an example)."""

from scipy.interpolate import make_smoothing_spline


def scipy_gcv(x, y):
    """scipy's GCV fit and the lam it chose.

    make_smoothing_spline does not return its lam; it is read off the
    ``minimize_scalar`` call of its (private) GCV helper, and reported as unknown
    if that private name ever moves.
    """
    import scipy.interpolate._bsplines as bs

    seen, original = [], getattr(bs, "minimize_scalar", None)
    if original is not None:
        def spy(*args, **kwargs):
            res = original(*args, **kwargs)
            seen.append(float(res.x))
            return res
        bs.minimize_scalar = spy
    try:
        spline = make_smoothing_spline(x, y)
    finally:
        if original is not None:
            bs.minimize_scalar = original
    return spline, (seen[-1] if seen else None)
