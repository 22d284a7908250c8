"""The records of what a fit computed: each lists its estimator's result
attributes in one place, and publishing it sets them all."""

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["FitResult", "ShallowResult", "SplineModeResult"]


class _Record:
    """What every record shares: its fields ending in ``_`` are fitted attributes
    of the same name, and :meth:`publish` sets them all at once."""

    #: What :meth:`publish` does with an attribute left None: set it to None, so
    #: that it exists after every fit, or remove it, so that it exists only
    #: after a fit in the mode that sets it.
    _remove_absent = False

    @classmethod
    def attributes(cls):
        """The names of the fitted attributes among the fields."""
        return tuple(f.name for f in fields(cls) if f.name.endswith("_"))

    def publish(self, est):
        """Set the fitted attributes on ``est`` (a refit leaves none of an earlier fit's)."""
        for name in self.attributes():
            value = getattr(self, name)
            if value is None and self._remove_absent:
                if hasattr(est, name):
                    delattr(est, name)
            else:
                setattr(est, name, value)


@dataclass
class FitResult(_Record):
    """What a training path of the random-feature estimators computed.

    Every path (the exact 1-D solver, ridge, the spectral GD path, the
    iterative descents, the leave-one-out selection) returns one;
    :meth:`RandomFeatureReLURegressor._publish` stores it.  The fields whose
    names end in ``_`` are fitted attributes of the same name, listed by
    :meth:`attributes`: :meth:`publish` sets every one of them, None included, so a
    refit leaves nothing of an earlier one.  A new fitted attribute is a new
    field here.

    Attributes
    ----------
    coef : ndarray of shape (n_hidden, n_targets)
        The output weights (float64).
    intercept : ndarray of shape (n_targets,)
    algorithm_ : str
    n_iter_, best_iteration_ : int or None
    loss_curve_, validation_loss_curve_ : ndarray or None
    learning_rate_ : float or None
    _path_ : tuple or None
        What ``staged_predict`` replays.
    presorted : tuple of ndarray or None
        ``(knots, jumps)`` from the exact 1-D solver, sorted: the knot
        attributes without another sort.
    piecewise : PiecewiseLinear or None
        The 1-D network the exact solver built, reused by ``predict``.
    """

    coef: np.ndarray = None
    intercept: np.ndarray = None
    algorithm_: str = None
    n_iter_: int = None
    best_iteration_: int = None
    loss_curve_: np.ndarray = None
    validation_loss_curve_: np.ndarray = None
    learning_rate_: float = None
    _path_: tuple = None
    presorted: tuple = None
    piecewise: object = None


@dataclass
class SplineModeResult(_Record):
    """The fitted attributes of ``SmoothingSplineEquivalent`` that one mode sets.

    An attribute left None is absent after :meth:`publish` (removed if an
    earlier fit set it), so that ``hasattr`` tells which mode fitted.  A new
    mode-specific attribute is a new field here.

    Attributes
    ----------
    n_iter_ : int or None
        Newton iterations (non-quadratic potential).
    learning_rate_, equivalent_alpha_ : float or None
        The gradient-descent limit (``n_steps`` set).
    cv_alphas_, cv_scores_ : ndarray or None
        The search of ``alpha='gcv'`` or ``'loo'``.
    """

    n_iter_: int = None
    learning_rate_: float = None
    equivalent_alpha_: float = None
    cv_alphas_: np.ndarray = None
    cv_scores_: np.ndarray = None

    _remove_absent = True


@dataclass
class ShallowResult(_Record):
    """The fitted attributes of ``ShallowReLURegressor``, set together by :meth:`publish`.

    Every field is an attribute of the same name (None where it does not
    apply), so a refit or a ``partial_fit`` leaves nothing of an earlier fit.
    A new fitted attribute is a new field here.  (``knots_`` and
    ``slope_jumps_`` are set by :func:`._exact1d.network.set_knot_attributes`,
    for 1-D networks with a kinked activation only.)

    Attributes
    ----------
    hidden_weights_, hidden_bias_, output_weights_, intercept_ : ndarray or float
        The parameters kept (the validation-best ones with early stopping).
    output_scale_ : float
        The parametrisation's output scale ``s``.
    learning_rate_ : float
        The step in use at the end.
    loss_curve_, validation_loss_curve_ : ndarray or None
    best_iteration_ : int or None
    n_iter_, t_ : int
        Iterations of the last call; iterations (or epochs) over all calls.
    sharpness_curve_, sharpness_iterations_ : ndarray or None
    param_history_ : dict or None
    """

    hidden_weights_: np.ndarray = None
    hidden_bias_: np.ndarray = None
    output_weights_: np.ndarray = None
    intercept_: object = None
    output_scale_: float = None
    learning_rate_: float = None
    loss_curve_: np.ndarray = None
    validation_loss_curve_: np.ndarray = None
    best_iteration_: int = None
    n_iter_: int = None
    t_: int = None
    sharpness_curve_: np.ndarray = None
    sharpness_iterations_: np.ndarray = None
    param_history_: dict = None
