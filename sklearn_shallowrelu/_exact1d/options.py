"""The engine's options and constants, in one place: the affine options, the
interpolation limit and the certificate's tolerance."""

#: The affine part of ``f``: ``'free_constant'`` an unpenalised output bias
#: (scikit-learn's intercept), ``'penalized'`` none (the plain network, whose
#: affine part comes from its units), ``'free'`` an unpenalised affine part (a
#: skip connection; the classical smoothing spline).
AFFINE = ("free_constant", "penalized", "free")

#: ``alpha = 0`` asks for the interpolation limit, which the systems reach
#: continuously (their data rows are shrunk by ``alpha``): the fit then meets
#: ``f(x_i) = y_i`` up to a relative ``alpha / (weights q)``, far below rounding, while
#: ``alpha^2`` stays above the smallest normal number.
INTERPOLATION_ALPHA = 1e-150

#: The relative discrepancy between a network rebuilt from its jumps and the
#: fitted values of the solve up to which a finite-width fit is accepted.  The
#: discrepancy tracks the true error closely (measured: within about 10%).
CERTIFICATE_TOL = 1e-8


def check_affine(affine):
    """Raise a ValueError naming the options unless ``affine`` is one of :data:`AFFINE`."""
    if affine not in AFFINE:
        raise ValueError(f"affine must be one of {AFFINE}; got {affine!r}.")
    return affine


def network_affine(fit_intercept):
    """The affine option of a network with (``'free_constant'``) or without
    (``'penalized'``) an output bias."""
    return "free_constant" if fit_intercept else "penalized"
