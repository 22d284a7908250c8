"""Scorers that put the diagnostics into ``GridSearchCV`` results beside the error.

A diagnostic scorer diagnoses the fitted estimator it is given on the data it is
given (in ``GridSearchCV``: each validation fold; with ``return_train_score=True``
also each training fold).  The values are measurements, not goodness: pass them
in a ``scoring`` dict together with an error metric and ``refit`` on the error.
"""

from .curvature import CurvatureDiagnostics
from .rank import RankDiagnostics

__all__ = ["diagnostic_scorer", "diagnostic_scorers"]

#: fitted attribute -> the diagnostic that computes it
_SOURCES = {
    **{a: CurvatureDiagnostics for a in (
        "weighted_curvature_", "weighted_curvature_per_neuron_", "hessian_lower_bound_", "gn_sharpness_",
        "sharpness_", "training_loss_", "total_variation_derivative_", "n_linear_regions_")},
    **{a: RankDiagnostics for a in (
        "numerical_rank_", "stable_rank_", "effective_rank_", "nuclear_norm_", "max_angle_", "mean_angle_",
        "n_orientations_", "n_lines_", "lines_to_cover_80_", "balance_")},
}


def diagnostic_scorer(attribute, sign=1.0, **params):
    """A scorer ``(estimator, X, y) -> float`` reading one diagnostic.

    Parameters
    ----------
    attribute : str
        A fitted attribute of :class:`CurvatureDiagnostics` or
        :class:`RankDiagnostics` (for example ``'weighted_curvature_'`` or
        ``'effective_rank_'``).
    sign : float, default=1.0
        Multiplies the value.
    **params
        Parameters of the diagnostic (for example ``cos_threshold``).

    Returns
    -------
    callable
        ``scorer(estimator, X, y=None)``: fits the diagnostic with
        ``prefit=True`` on the fitted ``estimator`` and ``(X, y)`` and returns
        ``sign`` times the attribute, as a float.

    Raises
    ------
    ValueError
        If ``attribute`` is not a scalar diagnostic of either class.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_validate
    >>> from sklearn_shallowrelu import ShallowReLURegressor
    >>> X = np.linspace(-1, 1, 30).reshape(-1, 1)
    >>> cv = cross_validate(ShallowReLURegressor(n_hidden=5, max_iter=10, random_state=0), X, X[:, 0] ** 2,
    ...                     cv=3, scoring={"stable_rank": diagnostic_scorer("stable_rank_")})
    >>> cv["test_stable_rank"].shape
    (3,)
    """
    try:
        source = _SOURCES[attribute]
    except KeyError:
        raise ValueError(
            f"Unknown diagnostic attribute {attribute!r}; use one of {sorted(_SOURCES)}."
        ) from None

    def scorer(estimator, X, y=None):
        diag = source(estimator=estimator, prefit=True, **params).fit(X, y)
        return sign * float(getattr(diag, attribute))

    scorer.__name__ = f"diagnostic_scorer_{attribute}"
    return scorer


def diagnostic_scorers():
    """Named scorers for the scalar diagnostics, for ``GridSearchCV(scoring=...)``.

    Returns
    -------
    dict
        From a name (the attribute without its trailing underscore, e.g.
        ``'weighted_curvature'``, ``'sharpness'``, ``'effective_rank'``) to a
        scorer.  Use them beside an error metric and refit on the error:
        ``GridSearchCV(..., scoring={**diagnostic_scorers(), 'mse':
        'neg_mean_squared_error'}, refit='mse')``.  The curvature scorers need a
        ReLU-family activation.  For random-feature networks the Hessian
        scorers are about the trained output layer (``sharpness`` is the
        estimator's own ``lambda_max`` on the scored data) and
        ``hessian_lower_bound`` is NaN (see :class:`CurvatureDiagnostics`).
    """
    return {attribute.rstrip("_"): diagnostic_scorer(attribute) for attribute in _SOURCES}
